//! `outpost settings set KEY VALUE` and `outpost settings reset KEY...`:
//! the CLI twins of `PATCH /api/v1/settings` with `{"KEY": value}` and
//! `{"KEY": null}`, through the same service layer, as the actor
//! `cli:<unix user>`. The values are checked with the file and the
//! environment given (give the same `-c` and environment as `serve`, so a
//! value they pin is refused by name) and stored with their audit entries
//! in one transaction. This process has no gateway to hand them to: a
//! running `outpost serve` reads the database every 2 s and applies the
//! live ones then; the others wait for its next start (or, for the SIP
//! settings, a restart of the SIP service through the API).

use std::io::Write;
use std::path::Path;

use outpost_api::Service;
use outpost_api::service::settings::{ChangeReport, ChangeResult, ChangeView};
use outpost_config::{DatabaseLayer, Kind, Registry, Settings};
use serde_json::{Map, Value};

use super::SettingsCommandError;
use crate::data_dir::DataDir;

/// Stores `changes` (`(key, Some(value))` to set, `(key, None)` to reset)
/// together, all or none, and writes what became of each key (one JSON
/// object with `json`).
///
/// # Errors
/// [`SettingsCommandError::Open`] without a database; the file's or the
/// environment's problems; the service's refusal (a pinned key, an unknown
/// key or a value out of range, each named).
pub(super) fn change(
    config_file: Option<&Path>,
    location: &DataDir,
    env: &dyn Fn(&str) -> Option<String>,
    changes: &[(&str, Option<&str>)],
    json: bool,
    out: &mut dyn Write,
) -> Result<(), SettingsCommandError> {
    let store = location
        .open_existing()
        .map_err(|e| SettingsCommandError::Open(e.to_string()))?;
    // The layers over which the database's values are read at the call,
    // as `serve` holds them.
    let settings = Settings::load(config_file, env, DatabaseLayer::new())?;
    let service = Service::new(store).with_settings(settings);
    let proposed: Map<String, Value> = changes
        .iter()
        .map(|(key, value)| {
            let value = value.map_or(Value::Null, |text| typed(key, text));
            ((*key).to_owned(), value)
        })
        .collect();
    let report = service.change_settings(&crate::api_commands::cli_caller(), &proposed, false)?;
    if json {
        let line = serde_json::to_string(&report).map_err(std::io::Error::other)?;
        writeln!(out, "{line}")?;
    } else {
        write_report(&report, out)?;
    }
    Ok(())
}

/// A command-line value as the API takes it: a number for an integer
/// setting and `true`/`false` for a boolean one (when they parse; anything
/// else stays text, which the checks then refuse by name), text otherwise.
fn typed(key: &str, text: &str) -> Value {
    match Registry::get(key).map(|s| &s.kind) {
        Some(Kind::Integer { .. }) => text
            .trim()
            .parse::<i64>()
            .map_or_else(|_| Value::String(text.to_owned()), Value::from),
        Some(Kind::Boolean) => match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_owned()),
        },
        _ => Value::String(text.to_owned()),
    }
}

/// One line per key: `KEY: BEFORE -> AFTER (what happens now)`.
fn write_report(report: &ChangeReport, out: &mut dyn Write) -> std::io::Result<()> {
    for change in &report.changes {
        let values = if change.changed {
            format!("{} -> {}", shown(&change.before), shown(&change.after))
        } else {
            shown(&change.after)
        };
        let reset = if change.reset && change.changed {
            ", reset to its default"
        } else {
            ""
        };
        writeln!(out, "{}: {values}{reset} ({})", change.key, outcome(change))?;
    }
    Ok(())
}

/// What became of a key, in words.
fn outcome(change: &ChangeView) -> &'static str {
    match change.result {
        Some(ChangeResult::Unchanged) if change.reset => "unchanged: no stored value to remove",
        Some(ChangeResult::Unchanged) => "unchanged: already the value in force",
        Some(ChangeResult::RestartNeeded) => {
            "stored; applies at the next start of `outpost serve`, or for a SIP setting at a \
             restart of the SIP service through the API"
        }
        Some(ChangeResult::AppliedLive) => "stored and applied",
        Some(ChangeResult::AppliesAtStart) => "stored; applies when the SIP service starts",
        Some(ChangeResult::Pending) | None => {
            "stored; a running `outpost serve` applies it within 2 s"
        }
    }
}

/// A value as an operator reads it: text unquoted, `(not set)` for an
/// empty optional value, `(secret)` for a secret's `null`.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "(secret)".to_owned(),
        Value::String(s) if s.is_empty() => "(not set)".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
