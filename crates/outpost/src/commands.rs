//! The store-management subcommands: `outpost icps ...` and
//! `outpost devices ...`. They work on the same database `serve` uses and
//! never print passwords.

use std::io::Write;
use std::path::Path;

use outpost_store::{Device, DeviceStatusRecord, Icp, NewDevice, NewIcp, Secret, Store};

use crate::cli::{DeviceAddArgs, DeviceCommand, IcpAddArgs, IcpCommand, ListArgs, SipTransportArg};

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
                writeln!(
                    out,
                    "{:<20} {:<30} {:<14} {:<12} {:<7} {:>8} {:>8}",
                    "NAME", "HOST", "TYPE", "SIP", "DEFAULT", "XML-LSN", "XML-DST"
                )
                .map_err(io)?;
                for icp in &icps {
                    writeln!(
                        out,
                        "{:<20} {:<30} {:<14} {:<12} {:<7} {:>8} {:>8}",
                        icp.name,
                        icp.host,
                        icp.kind,
                        transports(icp),
                        if icp.is_default { "yes" } else { "no" },
                        icp.xml_listen_port,
                        icp.xml_destination_port
                    )
                    .map_err(io)?;
                }
            }
        }
        IcpCommand::Remove { name } => {
            store.remove_icp(&name)?;
            tracing::info!(%name, "ICP removed");
            writeln!(out, "removed ICP {name}").map_err(io)?;
        }
    }
    Ok(())
}

/// Runs `outpost devices ...`.
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
        DeviceCommand::List(ListArgs { json }) => {
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
            } else {
                writeln!(
                    out,
                    "{:<20} {:<20} {:<16} {:<8} {:<13} {:<12} {:<10} {:<22} DESCRIPTION",
                    "SET-SIDE USER",
                    "ICP-SIDE USER",
                    "ICP",
                    "ENABLED",
                    "MAC",
                    "LOCATION",
                    "STATUS",
                    "LAST ADDRESS"
                )
                .map_err(io)?;
                for d in &devices {
                    let status = status_of(d);
                    writeln!(
                        out,
                        "{:<20} {:<20} {:<16} {:<8} {:<13} {:<12} {:<10} {:<22} {}",
                        d.setside_username,
                        d.effective_icpside_username(),
                        d.icp,
                        if d.enabled { "yes" } else { "no" },
                        d.mac.as_deref().unwrap_or("-"),
                        d.location.as_deref().unwrap_or("-"),
                        status_word(&status),
                        status.last_address.as_deref().unwrap_or("-"),
                        d.description
                    )
                    .map_err(io)?;
                }
            }
        }
        DeviceCommand::Remove { username } => {
            store.remove_device(&username)?;
            tracing::info!(%username, "device removed");
            writeln!(out, "removed device {username}").map_err(io)?;
        }
        DeviceCommand::Import { file } => {
            let input = std::fs::File::open(&file)
                .map_err(|e| CommandError(format!("{}: {e}", file.display())))?;
            let report = store
                .import_devices_csv(input)
                .map_err(|e| import_error(&file, e))?;
            tracing::info!(file = %file.display(), added = report.added, "devices imported");
            writeln!(
                out,
                "imported {} devices from {}",
                report.added,
                file.display()
            )
            .map_err(io)?;
        }
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
    })
    .to_string()
}
