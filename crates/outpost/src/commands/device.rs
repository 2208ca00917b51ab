//! `outpost devices add|list|show|update|remove|import` over the service
//! layer (`outpost_api::service::{devices, device_list, device_import}`).

use std::io::Write;

use outpost_api::service::device_import;
use outpost_api::service::device_list::{self, DeviceQuery};
use outpost_api::service::devices::{self, DevicePatch, DeviceView, NewDeviceInput};
use outpost_api::service::{Caller, Password};
use outpost_store::{ImportMode, Store};

use super::{
    CommandError, ICP_PASSWORD_ENV, PASSWORD_ENV, caller, io, write_fields, write_table, yes_no,
};
use crate::cli::{DeviceAddArgs, DeviceCommand, DeviceListArgs, DeviceUpdateArgs, ImportModeArg};

mod export;

/// Runs `outpost devices ...`. `update --...-from-env` reads the process
/// environment.
pub fn devices(
    store: &mut Store,
    command: DeviceCommand,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let caller = caller();
    match command {
        DeviceCommand::Add(args) => {
            let device = devices::create(store, &caller, &new_device(args))?;
            writeln!(
                out,
                "added device {}, guid {}",
                device.setside_username, device.guid
            )
            .map_err(io)?;
        }
        DeviceCommand::List(args) => list(store, &caller, args, out)?,
        DeviceCommand::Show { username, json } => {
            let device = devices::show(store, &caller, &username)?;
            if json {
                writeln!(out, "{}", device_json(&device)).map_err(io)?;
            } else {
                show(&device, out).map_err(io)?;
            }
        }
        DeviceCommand::Remove { username } => {
            devices::remove(store, &caller, &username)?;
            writeln!(out, "removed device {username}").map_err(io)?;
        }
        DeviceCommand::Update(args) => update_device(store, args, &process_env, out)?,
        DeviceCommand::ExportMbg { file, icp } => {
            export::export_mbg(store, &caller, file.as_deref(), icp.as_deref(), out)?;
        }
        DeviceCommand::Import { file, mode } => {
            let input = std::fs::File::open(&file)
                .map_err(|e| CommandError(format!("{}: {e}", file.display())))?;
            let mode = match mode {
                ImportModeArg::Create => ImportMode::Create,
                ImportModeArg::Update => ImportMode::Update,
                ImportModeArg::Upsert => ImportMode::Upsert,
            };
            let report = device_import::import(store, &caller, input, mode)
                .map_err(|e| CommandError(format!("{}: {e}", file.display())))?;
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

fn list(
    store: &Store,
    caller: &Caller,
    args: DeviceListArgs,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let query = DeviceQuery {
        q: args.search,
        icp: args.icp,
        status: args.status,
        sort: args.sort,
        ..DeviceQuery::default()
    };
    let devices = device_list::list(store, caller, &query)?.items;
    if args.json {
        for device in &devices {
            writeln!(out, "{}", device_json(device)).map_err(io)?;
        }
    } else if args.bindings {
        write_bindings(out, &devices, unix_now()).map_err(io)?;
    } else {
        let rows: Vec<Vec<String>> = devices
            .iter()
            .map(|d| {
                let status = d.status.clone().unwrap_or_else(never_seen);
                vec![
                    d.setside_username.clone(),
                    d.effective_icpside_username.clone(),
                    d.icp.clone(),
                    yes_no(d.enabled),
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
    Ok(())
}

fn never_seen() -> devices::DeviceStatusView {
    devices::DeviceStatusView::from_record(None)
}

/// `devices show`: the device's fields, then one line per client.
fn show(d: &DeviceView, out: &mut dyn Write) -> std::io::Result<()> {
    let status = d.status.clone().unwrap_or_else(never_seen);
    let none = || "-".to_owned();
    let rows = [
        ("set-side user", d.setside_username.clone()),
        ("guid", d.guid.clone()),
        ("icp-side user", d.effective_icpside_username.clone()),
        (
            "icp-side password",
            if d.icpside_password.set {
                "set"
            } else {
                "same as the set side"
            }
            .to_owned(),
        ),
        ("icp", d.icp.clone()),
        ("enabled", yes_no(d.enabled)),
        ("mac", d.mac.clone().unwrap_or_else(none)),
        ("location", d.location.clone().unwrap_or_else(none)),
        ("description", d.description.clone()),
        ("status", status_word(&status)),
        ("clients", status.bindings.len().to_string()),
        (
            "last address",
            status.last_address.clone().unwrap_or_else(none),
        ),
    ];
    write_fields(out, &rows)?;
    if !status.bindings.is_empty() {
        writeln!(out)?;
        write_bindings(out, std::slice::from_ref(d), unix_now())?;
    }
    Ok(())
}

/// `outpost devices update`: applies the flags given, reading passwords
/// from `env` only when a `--...-from-env` flag asks for them.
///
/// # Errors
/// A [`CommandError`] naming the refused field, or the variable to set.
pub fn update_device(
    store: &mut Store,
    args: DeviceUpdateArgs,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let username = args.username.clone();
    let patch = device_patch(args, env)?;
    let updated = devices::update(store, &caller(), &username, &patch)?;
    if updated.changed.is_empty() {
        writeln!(
            out,
            "device {username} unchanged: the values given are the current ones"
        )
        .map_err(io)?;
    } else {
        let changed = updated.changed.join(", ");
        writeln!(out, "updated device {username}: {changed}").map_err(io)?;
    }
    Ok(())
}

fn device_patch(
    args: DeviceUpdateArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<DevicePatch, CommandError> {
    let from_env = |flag: &str, var: &str| {
        env(var)
            .filter(|v| !v.is_empty())
            .map(Password::new)
            .ok_or_else(|| {
                CommandError(format!(
                    "{flag}: the environment variable {var} is not set or empty; export the \
                     new password in it first"
                ))
            })
    };
    let setside_password = if args.password_from_env {
        Some(from_env("--password-from-env", PASSWORD_ENV)?)
    } else {
        args.password.map(Password::new)
    };
    let icpside_password = if args.icp_password_from_env {
        Some(Some(from_env("--icp-password-from-env", ICP_PASSWORD_ENV)?))
    } else if args.clear_icp_password {
        Some(None)
    } else {
        args.icp_password.map(|p| Some(Password::new(p)))
    };
    let enabled = match (args.enable, args.disable) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    Ok(DevicePatch {
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

/// One word for the table: in-call > registered > connected > off, with
/// `+nat` when the phone is behind NAT.
fn status_word(s: &devices::DeviceStatusView) -> String {
    if s.natted {
        format!("{}+nat", s.state)
    } else {
        s.state.clone()
    }
}

/// `devices list --bindings`: one line per client registered as a device
/// (a desk phone and a softphone on one account are two lines).
fn write_bindings(out: &mut dyn Write, devices: &[DeviceView], now: u64) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = devices
        .iter()
        .filter_map(|d| d.status.as_ref().map(|s| (d, s)))
        .flat_map(|(d, s)| s.bindings.iter().map(move |b| (d, b)))
        .map(|(d, b)| {
            vec![
                d.setside_username.clone(),
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

fn new_device(args: DeviceAddArgs) -> NewDeviceInput {
    NewDeviceInput {
        enabled: !args.disabled,
        description: args.description,
        icp: args.icp,
        setside_username: args.username,
        setside_password: Password::new(args.password),
        icpside_username: args.icp_username,
        icpside_password: args.icp_password.map(Password::new),
        mac: args.mac,
        location: args.location,
    }
}

fn device_json(d: &DeviceView) -> String {
    let status = d.status.clone().unwrap_or_else(never_seen);
    // Field names follow the vendor REST API (PRO-3); passwords are omitted.
    serde_json::json!({
        "guid": d.guid,
        "enabled": d.enabled,
        "description": d.description,
        "icp": d.icp,
        "setside_username": d.setside_username,
        "icpside_username": d.effective_icpside_username,
        "clientid": d.mac,
        "location": d.location,
        "registered": status.registered,
        "connected": status.connected,
        "in_call": status.in_call,
        "natted": status.natted,
        "last_address": status.last_address,
        // Each client registered as the device (not in the vendor API).
        "bindings": status.bindings,
    })
    .to_string()
}

#[cfg(test)]
mod tests;
