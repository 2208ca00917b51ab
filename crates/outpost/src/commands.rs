//! The store-management subcommands: `outpost icps ...` and
//! `outpost devices ...`. They work on the same database `serve` uses,
//! through the same service layer as the REST API
//! (`outpost_api::service::{icps, devices, device_list, device_import}`)
//! as the actor `cli:<unix user>` from `local`, so every change is checked
//! by the same rules and lands in the audit log in its own transaction.
//! They never print passwords.
//!
//! Output and exit statuses are the CLI's own: text tables or JSON lines,
//! exit status 1 for any refusal (printed by `main`).

mod device;

use std::io::Write;

use outpost_api::service::icps::{self, IcpPatch, IcpView, NewIcpInput};
use outpost_api::service::{Caller, ServiceError};
use outpost_store::Store;

use crate::cli::{IcpAddArgs, IcpCommand, IcpUpdateArgs, ListArgs, SipTransportArg};

pub use device::{devices, update_device};

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

impl From<ServiceError> for CommandError {
    fn from(e: ServiceError) -> Self {
        match e {
            // The message already names the field and the value.
            ServiceError::Invalid { message, .. } => Self(message),
            other => Self(other.to_string()),
        }
    }
}

/// The CLI as the service layer's caller.
pub(crate) fn caller() -> Caller {
    crate::api_commands::cli_caller()
}

/// Runs `outpost icps ...`.
pub fn icps(
    store: &mut Store,
    command: IcpCommand,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let caller = caller();
    match command {
        IcpCommand::Add(args) => {
            let icp = icps::create(store, &caller, &new_icp(args))?;
            writeln!(
                out,
                "added ICP {} ({}), guid {}",
                icp.name, icp.host, icp.guid
            )
            .map_err(io)?;
        }
        IcpCommand::List(ListArgs { json }) => {
            let icps = icps::list(store, &caller)?;
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
                            yes_no(icp.is_default),
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
        IcpCommand::Show { name, json } => {
            let icp = icps::show(store, &caller, &name)?;
            if json {
                writeln!(out, "{}", icp_json(&icp)).map_err(io)?;
            } else {
                let none = || "-".to_owned();
                let rows = [
                    ("name", icp.name.clone()),
                    ("guid", icp.guid.clone()),
                    ("host", icp.host.clone()),
                    ("port", icp.sip_port.map_or_else(none, |p| p.to_string())),
                    ("type", icp.kind.clone()),
                    ("sip", transports(&icp)),
                    ("default", yes_no(icp.is_default)),
                    ("xml listen port", icp.xml_listen_port.to_string()),
                    ("xml destination port", icp.xml_destination_port.to_string()),
                    ("ca file", icp.ca_file.clone().unwrap_or_else(none)),
                ];
                write_fields(out, &rows).map_err(io)?;
            }
        }
        IcpCommand::Update(args) => {
            let name = args.name.clone();
            let changed = icps::update(store, &caller, &name, &icp_patch(args))?;
            if changed.changed.is_empty() {
                writeln!(
                    out,
                    "ICP {name} unchanged: the values given are the current ones"
                )
                .map_err(io)?;
            } else {
                writeln!(out, "updated ICP {name}: {}", changed.changed.join(", ")).map_err(io)?;
            }
        }
        IcpCommand::Test(_) => {
            return Err(CommandError(
                "`icps test` runs from main (it needs the configuration)".to_owned(),
            ));
        }
        IcpCommand::Remove { name } => {
            icps::remove(store, &caller, &name)?;
            writeln!(out, "removed ICP {name}").map_err(io)?;
        }
    }
    Ok(())
}

/// Writes `rows` under `header` as columns two spaces apart, each as wide
/// as its widest cell (counted in characters); the last column is not
/// padded.
pub(crate) fn write_table(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
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

/// `name: value` lines, the names aligned (`icps show`, `devices show`).
pub(crate) fn write_fields(out: &mut dyn Write, rows: &[(&str, String)]) -> std::io::Result<()> {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in rows {
        let line = format!("{:<width$}  {value}", format!("{key}:"), width = width + 1);
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

pub(crate) fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

pub(crate) fn io(e: std::io::Error) -> CommandError {
    CommandError(format!("writing output: {e}"))
}

fn absolute(file: std::path::PathBuf) -> String {
    std::path::absolute(&file)
        .unwrap_or(file)
        .display()
        .to_string()
}

fn new_icp(args: IcpAddArgs) -> NewIcpInput {
    NewIcpInput {
        kind: args.kind,
        sip_udp: args.transports.contains(&SipTransportArg::Udp),
        sip_tcp: args.transports.contains(&SipTransportArg::Tcp),
        sip_tls: args.transports.contains(&SipTransportArg::Tls),
        is_default: args.default,
        xml_listen_port: args.xml_listen_port,
        xml_destination_port: args.xml_destination_port,
        sip_port: args.port,
        ca_file: args.ca_file.map(absolute),
        ..NewIcpInput::new(args.name, args.host)
    }
}

fn icp_patch(args: IcpUpdateArgs) -> IcpPatch {
    let has = |t: SipTransportArg| args.transports.as_ref().map(|ts| ts.contains(&t));
    IcpPatch {
        host: args.host.clone(),
        kind: args.kind.clone(),
        sip_udp: has(SipTransportArg::Udp),
        sip_tcp: has(SipTransportArg::Tcp),
        sip_tls: has(SipTransportArg::Tls),
        is_default: args.default.then_some(true),
        xml_listen_port: args.xml_listen_port,
        xml_destination_port: args.xml_destination_port,
        sip_port: if args.clear_port {
            Some(None)
        } else {
            args.port.map(Some)
        },
        ca_file: if args.clear_ca_file {
            Some(None)
        } else {
            args.ca_file.map(|f| Some(absolute(f)))
        },
    }
}

fn transports(icp: &IcpView) -> String {
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

fn icp_json(icp: &IcpView) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::IcpUpdateArgs;

    fn run(store: &mut Store, command: IcpCommand) -> Result<String, CommandError> {
        let mut out = Vec::new();
        icps(store, command, &mut out)?;
        Ok(String::from_utf8(out).expect("UTF-8"))
    }

    #[test]
    fn icp_changes_are_audited_as_the_cli() {
        let mut store = Store::open_in_memory().expect("store");
        let args = IcpAddArgs {
            name: "pbx".into(),
            host: "192.0.2.1".into(),
            kind: "generic".into(),
            transports: vec![SipTransportArg::Tls],
            default: false,
            xml_listen_port: 4445,
            xml_destination_port: 4443,
            port: None,
            ca_file: None,
        };
        let out = run(&mut store, IcpCommand::Add(args)).expect("add");
        assert!(out.starts_with("added ICP pbx (192.0.2.1), guid "), "{out}");
        let update = IcpUpdateArgs {
            name: "pbx".into(),
            host: Some("pbx.example.test".into()),
            kind: None,
            transports: Some(vec![SipTransportArg::Udp, SipTransportArg::Tls]),
            default: false,
            xml_listen_port: None,
            xml_destination_port: None,
            port: Some(5070),
            clear_port: false,
            ca_file: None,
            clear_ca_file: false,
        };
        let out = run(&mut store, IcpCommand::Update(update)).expect("update");
        assert_eq!(out, "updated ICP pbx: host, sip_udp, sip_port\n");
        let shown = run(
            &mut store,
            IcpCommand::Show {
                name: "pbx".into(),
                json: false,
            },
        )
        .expect("show");
        assert!(shown.contains("port:                  5070"), "{shown}");
        assert!(shown.contains("sip:                   udp,tls"), "{shown}");
        let entries = store
            .audit_entries(&outpost_store::AuditFilter {
                limit: 10,
                ..Default::default()
            })
            .expect("audit");
        let actions: Vec<&str> = entries.iter().map(|e| e.record.action.as_str()).collect();
        assert_eq!(actions, ["icp.update", "icp.create"]);
        assert!(entries.iter().all(|e| e.record.actor.starts_with("cli:")));
        assert!(entries.iter().all(|e| e.record.source == "local"));
    }
}
