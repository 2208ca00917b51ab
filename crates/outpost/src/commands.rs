//! The store-management subcommands: `outpost icps ...` and
//! `outpost devices ...`. They work on the same database `serve` uses and
//! never print passwords.

use std::io::Write;
use std::path::Path;

use outpost_store::{
    Device, DeviceStatusRecord, DeviceUpdate, Icp, ImportMode, NewDevice, NewIcp, Secret, Store,
};

use crate::cli::{
    DeviceAddArgs, DeviceCommand, DeviceListArgs, DeviceUpdateArgs, IcpAddArgs, IcpCommand,
    ImportModeArg, ListArgs, SipTransportArg,
};

/// Environment variable `devices update --password-from-env` reads.
pub const PASSWORD_ENV: &str = "OUTPOST_DEVICE_PASSWORD";
/// Environment variable `devices update --icp-password-from-env` reads.
pub const ICP_PASSWORD_ENV: &str = "OUTPOST_DEVICE_ICP_PASSWORD";

/// A failed management command: the message is what the operator reads.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CommandError(pub String);

impl From<outpost_store::StoreError> for CommandError {
    fn from(e: outpost_store::StoreError) -> Self {
        Self(e.to_string())
    }
}

/// Runs `outpost icps ...`.
pub fn icps(
    store: &mut Store,
    command: IcpCommand,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    match command {
        IcpCommand::Add(args) => {
            let icp = store.add_icp(&new_icp(args))?;
            tracing::info!(name = %icp.name, host = %icp.host, "ICP added");
            writeln!(
                out,
                "added ICP {} ({}), guid {}",
                icp.name, icp.host, icp.guid
            )
            .map_err(io)?;
        }
        IcpCommand::List(ListArgs { json }) => {
            let icps = store.icps()?;
            if json {
                for icp in &icps {
                    writeln!(out, "{}", icp_json(icp)).map_err(io)?;
                }
            } else {
                let rows: Vec<Vec<String>> = icps
                    .iter()
                    .map(|icp| {
                        vec![
                            icp.name.clone(),
                            icp.host.clone(),
                            icp.sip_port
                                .map_or_else(|| "-".to_owned(), |p| p.to_string()),
                            icp.kind.clone(),
                            transports(icp),
                            if icp.is_default { "yes" } else { "no" }.to_owned(),
                            icp.xml_listen_port.to_string(),
                            icp.xml_destination_port.to_string(),
                        ]
                    })
                    .collect();
                write_table(
                    out,
                    &[
                        "NAME", "HOST", "PORT", "TYPE", "SIP", "DEFAULT", "XML-LSN", "XML-DST",
                    ],
                    &rows,
                )
                .map_err(io)?;
            }
        }
        IcpCommand::Test(_) => {
            return Err(CommandError(
                "`icps test` runs from main (it needs the configuration)".to_owned(),
            ));
        }
        IcpCommand::Remove { name } => {
            store.remove_icp(&name)?;
            tracing::info!(%name, "ICP removed");
            writeln!(out, "removed ICP {name}").map_err(io)?;
        }
    }
    Ok(())
}

/// Runs `outpost devices ...`. `update --...-from-env` reads the process
/// environment.
pub fn devices(
    store: &mut Store,
    command: DeviceCommand,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    match command {
        DeviceCommand::Add(args) => {
            let device = store.add_device(&new_device(args))?;
            tracing::info!(username = %device.setside_username, "device added");
            writeln!(
                out,
                "added device {}, guid {}",
                device.setside_username, device.guid
            )
            .map_err(io)?;
        }
        DeviceCommand::List(DeviceListArgs { json, bindings }) => {
            let devices = store.devices()?;
            let statuses: std::collections::HashMap<String, DeviceStatusRecord> = store
                .device_statuses()?
                .into_iter()
                .map(|s| (s.setside_username.clone(), s))
                .collect();
            let status_of = |d: &Device| {
                statuses
                    .get(&d.setside_username)
                    .cloned()
                    .unwrap_or_default()
            };
            if json {
                for device in &devices {
                    writeln!(out, "{}", device_json(device, &status_of(device))).map_err(io)?;
                }
            } else if bindings {
                let statuses: Vec<DeviceStatusRecord> = devices.iter().map(status_of).collect();
                write_bindings(out, &statuses, unix_now()).map_err(io)?;
            } else {
                let rows: Vec<Vec<String>> = devices
                    .iter()
                    .map(|d| {
                        let status = status_of(d);
                        vec![
                            d.setside_username.clone(),
                            d.effective_icpside_username().to_owned(),
                            d.icp.clone(),
                            if d.enabled { "yes" } else { "no" }.to_owned(),
                            d.mac.clone().unwrap_or_else(|| "-".to_owned()),
                            d.location.clone().unwrap_or_else(|| "-".to_owned()),
                            status_word(&status),
                            status.bindings.len().to_string(),
                            status.last_address.unwrap_or_else(|| "-".to_owned()),
                            d.description.clone(),
                        ]
                    })
                    .collect();
                write_table(
                    out,
                    &[
                        "SET-SIDE USER",
                        "ICP-SIDE USER",
                        "ICP",
                        "ENABLED",
                        "MAC",
                        "LOCATION",
                        "STATUS",
                        "CLIENTS",
                        "LAST ADDRESS",
                        "DESCRIPTION",
                    ],
                    &rows,
                )
                .map_err(io)?;
            }
        }
        DeviceCommand::Remove { username } => {
            store.remove_device(&username)?;
            tracing::info!(%username, "device removed");
            writeln!(out, "removed device {username}").map_err(io)?;
        }
        DeviceCommand::Update(args) => update_device(store, args, &process_env, out)?,
        DeviceCommand::Import { file, mode } => {
            let input = std::fs::File::open(&file)
                .map_err(|e| CommandError(format!("{}: {e}", file.display())))?;
            let mode = match mode {
                ImportModeArg::Create => ImportMode::Create,
                ImportModeArg::Update => ImportMode::Update,
                ImportModeArg::Upsert => ImportMode::Upsert,
            };
            let report = store
                .import_devices_csv_with_mode(input, mode)
                .map_err(|e| import_error(&file, e))?;
            for change in &report.changes {
                tracing::info!(
                    username = %change.setside_username,
                    changed = %change.fields.join(","),
                    file = %file.display(),
                    "device updated by import"
                );
            }
            tracing::info!(
                file = %file.display(),
                added = report.added,
                updated = report.updated,
                unchanged = report.unchanged,
                "devices imported"
            );
            writeln!(
                out,
                "imported {}: {} added, {} updated, {} unchanged",
                file.display(),
                report.added,
                report.updated,
                report.unchanged
            )
            .map_err(io)?;
        }
    }
    Ok(())
}

/// Reads an environment variable; a value that is not UTF-8 counts as unset.
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `outpost devices update`: applies the flags given, reading passwords
/// from `env` only when a `--...-from-env` flag asks for them.
pub fn update_device(
    store: &mut Store,
    args: DeviceUpdateArgs,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let username = args.username.clone();
    let change = device_update(args, env)?;
    let updated = store.update_device(&username, &change)?;
    if updated.changed.is_empty() {
        tracing::info!(%username, "device unchanged (the values given are the current ones)");
        writeln!(
            out,
            "device {username} unchanged: the values given are the current ones"
        )
        .map_err(io)?;
    } else {
        let changed = updated.changed.join(", ");
        tracing::info!(%username, changed = %updated.changed.join(","), "device updated");
        writeln!(out, "updated device {username}: {changed}").map_err(io)?;
    }
    Ok(())
}

fn device_update(
    args: DeviceUpdateArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<DeviceUpdate, CommandError> {
    let from_env =
        |flag: &str, var: &str| {
            env(var).filter(|v| !v.is_empty()).map(Secret::new).ok_or_else(|| {
            CommandError(format!(
                "{flag}: the environment variable {var} is not set or empty; export the new \
                 password in it first"
            ))
        })
        };
    let setside_password = if args.password_from_env {
        Some(from_env("--password-from-env", PASSWORD_ENV)?)
    } else {
        args.password.map(Secret::new)
    };
    let icpside_password = if args.icp_password_from_env {
        Some(from_env("--icp-password-from-env", ICP_PASSWORD_ENV)?)
    } else if args.clear_icp_password {
        Some(Secret::default())
    } else {
        args.icp_password.map(Secret::new)
    };
    let enabled = match (args.enable, args.disable) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    Ok(DeviceUpdate {
        enabled,
        description: args.description,
        icp: args.icp,
        setside_password,
        icpside_username: args.icp_username,
        icpside_password,
        mac: if args.clear_mac {
            Some(None)
        } else {
            args.mac.map(Some)
        },
        location: if args.clear_location {
            Some(None)
        } else {
            args.location.map(Some)
        },
    })
}

/// Writes `rows` under `header` as columns two spaces apart, each as wide
/// as its widest cell (counted in characters); the last column is not
/// padded.
fn write_table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (cell, width)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            if i + 1 < widths.len() {
                let pad = width.saturating_sub(cell.chars().count());
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(&mut header.iter().copied())?;
    for row in rows {
        line(&mut row.iter().map(String::as_str))?;
    }
    Ok(())
}

/// One word for the table: in-call > registered > connected > off, with
/// `+nat` when the phone is behind NAT.
fn status_word(s: &DeviceStatusRecord) -> String {
    let word = if s.in_call {
        "in-call"
    } else if s.registered {
        "registered"
    } else if s.connected {
        "connected"
    } else {
        "off"
    };
    if s.natted {
        format!("{word}+nat")
    } else {
        word.to_owned()
    }
}

/// `devices list --bindings`: one line per client registered as a device
/// (a desk phone and a softphone on one account are two lines).
fn write_bindings(
    out: &mut dyn Write,
    statuses: &[DeviceStatusRecord],
    now: u64,
) -> std::io::Result<()> {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let rows: Vec<Vec<String>> = statuses
        .iter()
        .flat_map(|s| s.bindings.iter().map(move |b| (s, b)))
        .map(|(s, b)| {
            vec![
                s.setside_username.clone(),
                b.binding.to_string(),
                b.last_address.clone(),
                b.transport.clone(),
                yes_no(b.natted),
                yes_no(b.registered),
                yes_no(b.connected),
                yes_no(b.in_call),
                match b.expires.checked_sub(now) {
                    Some(left) if left > 0 => format!("{left} s"),
                    _ => "expired".to_owned(),
                },
                b.contact.clone(),
                b.user_agent.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            "SET-SIDE USER",
            "BINDING",
            "ADDRESS",
            "TRANSPORT",
            "NAT",
            "REGISTERED",
            "CONNECTED",
            "IN CALL",
            "EXPIRES",
            "CONTACT",
            "USER-AGENT",
        ],
        &rows,
    )
}

/// Seconds since the Unix epoch, for the time left on a binding.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn import_error(file: &Path, e: outpost_store::StoreError) -> CommandError {
    CommandError(format!("{}: {e}", file.display()))
}

fn io(e: std::io::Error) -> CommandError {
    CommandError(format!("writing output: {e}"))
}

fn new_icp(args: IcpAddArgs) -> NewIcp {
    let mut icp = NewIcp::new(args.name, args.host);
    icp.kind = args.kind;
    icp.sip_udp = args.transports.contains(&SipTransportArg::Udp);
    icp.sip_tcp = args.transports.contains(&SipTransportArg::Tcp);
    icp.sip_tls = args.transports.contains(&SipTransportArg::Tls);
    icp.is_default = args.default;
    icp.xml_listen_port = args.xml_listen_port;
    icp.xml_destination_port = args.xml_destination_port;
    icp.sip_port = args.port;
    icp.ca_file = args
        .ca_file
        .map(|f| std::path::absolute(&f).unwrap_or(f).display().to_string());
    icp
}

fn new_device(args: DeviceAddArgs) -> NewDevice {
    NewDevice {
        enabled: !args.disabled,
        description: args.description,
        icp: args.icp,
        setside_username: args.username,
        setside_password: Secret::new(args.password),
        icpside_username: args.icp_username,
        icpside_password: args.icp_password.map(Secret::new),
        mac: args.mac,
        location: args.location,
    }
}

fn transports(icp: &Icp) -> String {
    let mut names = Vec::new();
    if icp.sip_udp {
        names.push("udp");
    }
    if icp.sip_tcp {
        names.push("tcp");
    }
    if icp.sip_tls {
        names.push("tls");
    }
    names.join(",")
}

fn icp_json(icp: &Icp) -> String {
    serde_json::json!({
        "guid": icp.guid,
        "name": icp.name,
        "host": icp.host,
        "type": icp.kind,
        "sip_udp": icp.sip_udp,
        "sip_tcp": icp.sip_tcp,
        "sip_tls": icp.sip_tls,
        "default": icp.is_default,
        "xml_listen_port": icp.xml_listen_port,
        "xml_destination_port": icp.xml_destination_port,
        "sip_port": icp.sip_port,
        "ca_file": icp.ca_file,
    })
    .to_string()
}

fn device_json(d: &Device, status: &DeviceStatusRecord) -> String {
    // Field names follow the vendor REST API (PRO-3); passwords are omitted.
    serde_json::json!({
        "guid": d.guid,
        "enabled": d.enabled,
        "description": d.description,
        "icp": d.icp,
        "setside_username": d.setside_username,
        "icpside_username": d.effective_icpside_username(),
        "clientid": d.mac,
        "location": d.location,
        "registered": status.registered,
        "connected": status.connected,
        "in_call": status.in_call,
        "natted": status.natted,
        "last_address": status.last_address,
        // Each client registered as the device (not in the vendor API).
        "bindings": status.bindings.iter().map(|b| serde_json::json!({
            "binding": b.binding,
            "contact": b.contact,
            "transport": b.transport,
            "user_agent": b.user_agent,
            "registered": b.registered,
            "connected": b.connected,
            "in_call": b.in_call,
            "natted": b.natted,
            "last_address": b.last_address,
            "expires": b.expires,
        })).collect::<Vec<_>>(),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::DeviceListArgs;

    fn listed(store: &mut Store) -> String {
        let mut out = Vec::new();
        devices(
            store,
            DeviceCommand::List(DeviceListArgs {
                json: false,
                bindings: false,
            }),
            &mut out,
        )
        .expect("list");
        String::from_utf8(out).expect("UTF-8")
    }

    /// The character offset where `word` starts on `line`.
    fn column_of(line: &str, word: &str) -> usize {
        let byte = line
            .find(word)
            .unwrap_or_else(|| panic!("{word:?} not in {line:?}"));
        line[..byte].chars().count()
    }

    #[test]
    fn device_table_columns_line_up_whatever_the_content() {
        let mut store = Store::open_in_memory().expect("store");
        store
            .add_icp(&NewIcp::new("a-rather-long-icp-name", "192.0.2.1"))
            .expect("icp");
        let mut long = NewDevice::new(
            "a-very-long-set-side-user-name-4001",
            Secret::from("Xq7-very-secret"),
        );
        long.description = "Ålice à la maison".to_owned();
        long.location = Some("Zürich".to_owned());
        store.add_device(&long).expect("device");
        store
            .add_device(&NewDevice::new("b", Secret::from("Xq7-other-secret")))
            .expect("device");
        store
            .set_device_status(&DeviceStatusRecord {
                setside_username: "a-very-long-set-side-user-name-4001".to_owned(),
                registered: true,
                connected: true,
                in_call: false,
                natted: true,
                last_address: Some("[2001:db8:ffff:1234:5678:9abc:def0:1]:65000".to_owned()),
                updated: 0,
                bindings: Vec::new(),
            })
            .expect("status");
        let text = listed(&mut store);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        for (header, cells) in [
            ("STATUS", ["registered+nat", "off"]),
            ("LAST ADDRESS", ["[2001:db8", "-"]),
            ("DESCRIPTION", ["Ålice", ""]),
            ("LOCATION", ["Zürich", "-"]),
        ] {
            let at = column_of(lines[0], header);
            for (line, cell) in lines[1..].iter().zip(cells) {
                if cell.is_empty() {
                    assert!(line.chars().count() <= at, "{text}");
                } else {
                    let from: String = line.chars().skip(at - 2).collect();
                    assert!(from.starts_with(&format!("  {cell}")), "{header}:\n{text}");
                }
            }
        }
        assert!(
            lines.iter().all(|l| l.trim_end() == *l),
            "no trailing blanks"
        );
        assert!(!text.contains("Xq7"), "no passwords: {text}");
    }

    #[test]
    fn each_client_of_a_device_is_listed_with_bindings_and_in_json() {
        use outpost_store::BindingStatusRecord;
        let mut store = Store::open_in_memory().expect("store");
        store
            .add_icp(&NewIcp::new("pbx", "192.0.2.1"))
            .expect("icp");
        store
            .add_device(&NewDevice::new("alice", Secret::from("Xq7-very-secret")))
            .expect("device");
        let client = |n: u64, transport: &str, address: &str| BindingStatusRecord {
            binding: n,
            contact: format!("sip:alice@{address}"),
            transport: transport.to_owned(),
            user_agent: Some(format!("phone {n}")),
            registered: true,
            connected: true,
            natted: n == 2,
            last_address: address.to_owned(),
            expires: unix_now() + 100,
            ..BindingStatusRecord::default()
        };
        store
            .set_device_status(&DeviceStatusRecord {
                setside_username: "alice".to_owned(),
                registered: true,
                connected: true,
                last_address: Some("198.51.100.7:41000".to_owned()),
                bindings: vec![
                    client(1, "udp", "198.51.100.9:5060"),
                    client(2, "tls", "198.51.100.7:41000"),
                ],
                ..DeviceStatusRecord::default()
            })
            .expect("status");
        let list = |store: &mut Store, json: bool, bindings: bool| {
            let mut out = Vec::new();
            devices(
                store,
                DeviceCommand::List(DeviceListArgs { json, bindings }),
                &mut out,
            )
            .expect("list");
            String::from_utf8(out).expect("UTF-8")
        };
        let text = list(&mut store, false, false);
        let at = column_of(text.lines().next().unwrap_or_default(), "CLIENTS");
        let row = text.lines().nth(1).unwrap_or_default();
        assert!(
            row.chars().skip(at).collect::<String>().starts_with('2'),
            "{text}"
        );

        let text = list(&mut store, false, true);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        for (line, (address, transport, nat)) in lines[1..].iter().zip([
            ("198.51.100.9:5060", "udp", "no"),
            ("198.51.100.7:41000", "tls", "yes"),
        ]) {
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(
                words[..5],
                ["alice", words[1], address, transport, nat],
                "{text}"
            );
            let left: u64 = words[8].parse().expect("seconds left");
            assert!((98..=100).contains(&left) && words[9] == "s", "{text}");
        }

        let text = list(&mut store, true, false);
        let json: serde_json::Value = serde_json::from_str(text.trim()).expect("JSON");
        let bindings = json["bindings"].as_array().expect("bindings array");
        assert_eq!(bindings.len(), 2);
        assert_eq!(bindings[1]["transport"], "tls");
        assert_eq!(bindings[1]["natted"], true);
        assert_eq!(bindings[0]["user_agent"], "phone 1");
        assert!(!text.contains("Xq7"), "no passwords: {text}");
    }
}
