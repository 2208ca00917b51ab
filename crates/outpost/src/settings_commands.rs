//! `outpost settings list [--json]`: every setting of the registry with
//! its effective value, where it comes from (default, database, file,
//! environment), its unit, and whether a change applies live or needs a
//! restart. `outpost settings set KEY VALUE` and `reset KEY...`: changes
//! through the service layer, as the API makes them (see [`change`]).
//! Also the database layer `serve` starts with.
//!
//! What this module does not do: create a database.

mod change;

use std::io::Write;
use std::path::Path;

use clap::Subcommand;
use outpost_config::{ConfigErrors, DatabaseLayer, Effective, Settings, ValueSource};
use outpost_store::StoreError;
use tracing::warn;

use crate::cli::ListArgs;
use crate::config::Config;
use crate::data_dir::{DataDir, DataDirError};

/// `outpost settings ...`
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// List every setting: its value, where it comes from (default,
    /// database, file with its line, environment variable), its unit, and
    /// whether a change applies live or needs a restart. Values from the
    /// file or the environment are pinned: the API cannot change them.
    List(ListArgs),
    /// Change a setting, as `PATCH /api/v1/settings` does: checked with the
    /// file and the environment given (use the same -c and environment as
    /// `serve`: a value they pin is refused, naming them), stored in the
    /// database with an audit entry. A running `outpost serve` applies a
    /// live setting within 2 s; the others at its next start. Numbers and
    /// booleans as such (`60`, `true`), ranges and lists as text
    /// (`30000-30999`, "SHA-256, MD5"); "" clears an optional setting.
    Set {
        /// The setting, as `outpost settings list` names it.
        key: String,
        /// Its new value.
        #[arg(allow_hyphen_values = true)]
        value: String,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Remove the values stored in the database for these settings (as
    /// `PATCH /api/v1/settings` with `null`): each falls back to its
    /// default, audited, applied like a change. A value the file or the
    /// environment sets cannot be reset here: edit the file or the
    /// environment.
    Reset {
        /// The settings to reset.
        #[arg(required = true)]
        keys: Vec<String>,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Why a settings command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsCommandError {
    /// The configuration file or the environment is invalid.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// The database exists but cannot be read.
    #[error("reading the settings stored in the database: {0}")]
    Store(#[from] StoreError),
    /// Writing the listing failed.
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
    /// A change needs the installation's database, which cannot be
    /// opened (the message says where it was looked for and how to create
    /// it).
    #[error("{0}")]
    Open(String),
    /// The service layer refused or failed a change.
    #[error("{0}")]
    Service(#[from] outpost_api::service::ServiceError),
}

impl SettingsCommandError {
    /// The exit status: the service's (2 bad input, 3 not allowed, 4 not
    /// found, 5 conflict such as a pinned value), 2 for an invalid file or
    /// environment, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Service(e) => e.exit_code(),
            Self::Config(_) => 2,
            Self::Store(_) | Self::Output(_) | Self::Open(_) => 1,
        }
    }
}

/// Runs a settings command on the configuration file (if any), the
/// environment (`env`) and the installation's database, if it exists.
/// Without a database the listing says so (on `err`) and shows the other
/// layers.
///
/// # Errors
/// A [`SettingsCommandError`].
pub fn run(
    config_file: Option<&Path>,
    location: &DataDir,
    env: &dyn Fn(&str) -> Option<String>,
    command: SettingsCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), SettingsCommandError> {
    match command {
        SettingsCommand::List(ListArgs { json }) => {
            list(config_file, location, env, json, out, err)
        }
        SettingsCommand::Set { key, value, json } => {
            let changes = [(key.as_str(), Some(value.as_str()))];
            change::change(config_file, location, env, &changes, json, out)
        }
        SettingsCommand::Reset { keys, json } => {
            let changes: Vec<(&str, Option<&str>)> =
                keys.iter().map(|k| (k.as_str(), None)).collect();
            change::change(config_file, location, env, &changes, json, out)
        }
    }
}

/// `outpost settings list`: without a database, the other layers (and a
/// note on `err`).
fn list(
    config_file: Option<&Path>,
    location: &DataDir,
    env: &dyn Fn(&str) -> Option<String>,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), SettingsCommandError> {
    let database = match location.open_existing() {
        Ok(store) => DatabaseLayer::read(&store)?,
        Err(DataDirError::Missing { database, .. }) => {
            writeln!(
                err,
                "note: no database at {} yet: values changed through the API are not shown",
                database.display()
            )?;
            DatabaseLayer::new()
        }
        Err(DataDirError::Store(e)) => return Err(e.into()),
    };
    let settings = Settings::load(config_file, env, database)?;
    for ignored in settings.ignored() {
        writeln!(err, "warning: stored value ignored: {ignored}")?;
    }
    let written = if json {
        settings.effective().iter().try_for_each(|entry| {
            let line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
            writeln!(out, "{line}")
        })
    } else {
        table(&settings.effective(), out)
    };
    match written {
        // `outpost settings list | head` is not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// The configuration `serve` runs with, and what to log about the
/// stored values once logging is set up.
#[derive(Debug, Clone)]
pub struct StoredValues {
    /// The file's and the environment's values over the stored ones.
    pub config: Config,
    warnings: Vec<String>,
}

impl StoredValues {
    /// `config` as it is, without stored values (commands other than
    /// `serve`).
    pub fn none(config: Config) -> Self {
        Self {
            config,
            warnings: Vec::new(),
        }
    }

    /// Logs the stored values left out, and a database that could not be
    /// read, at warn level.
    pub fn log_warnings(&self) {
        for warning in &self.warnings {
            warn!("{warning}");
        }
    }
}

/// The configuration `serve` runs with: `config` (file and environment,
/// already validated) with the values stored in the database underneath.
/// Without a database (a first start) or when it cannot be read, `config`
/// as given: `serve` reports a database it cannot open itself. Stored
/// values that are invalid are left out, with a warning.
///
/// # Errors
/// The file's or the environment's problems (already reported when
/// `config` was loaded, so in practice none).
pub fn with_stored_values(
    config_file: Option<&Path>,
    location: &DataDir,
    env: &dyn Fn(&str) -> Option<String>,
    config: Config,
) -> Result<StoredValues, ConfigErrors> {
    if !location.database().exists() {
        return Ok(StoredValues::none(config));
    }
    let read = location
        .open_existing()
        .map_err(|e| e.to_string())
        .and_then(|store| DatabaseLayer::read(&store).map_err(|e| e.to_string()));
    let database = match read {
        Ok(database) if database.is_empty() => return Ok(StoredValues::none(config)),
        Ok(database) => database,
        Err(e) => {
            let mut stored = StoredValues::none(config);
            stored.warnings.push(format!(
                "cannot read the settings stored in the database ({e}); using the file and the \
                 environment only"
            ));
            return Ok(stored);
        }
    };
    let settings = Settings::load(config_file, env, database)?;
    let warnings = settings
        .ignored()
        .iter()
        .map(|e| format!("stored setting ignored: {e}"))
        .collect();
    Ok(StoredValues {
        config: settings.into_config(),
        warnings,
    })
}

/// One line per setting, in aligned columns.
fn table(entries: &[Effective], out: &mut dyn Write) -> std::io::Result<()> {
    let rows: Vec<[String; 5]> = entries
        .iter()
        .map(|e| {
            [
                e.key.to_owned(),
                shown(e),
                e.unit.map_or_else(String::new, |u| u.to_string()),
                source(&e.source),
                e.apply.to_string(),
            ]
        })
        .collect();
    let header = ["KEY", "VALUE", "UNIT", "SOURCE", "APPLY"].map(str::to_owned);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// The value as an operator reads it: text unquoted, `(not set)` for an
/// empty optional value, `(secret)` for a secret.
fn shown(entry: &Effective) -> String {
    match &entry.value {
        _ if entry.secret => "(secret)".to_owned(),
        serde_json::Value::String(s) if s.is_empty() => "(not set)".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The source column: `default`, `database`, `file PATH:LINE`, `env VAR`.
fn source(source: &ValueSource) -> String {
    match source {
        ValueSource::Default => "default".to_owned(),
        ValueSource::Database => "database".to_owned(),
        ValueSource::File { path, line } => match line {
            Some(line) => format!("file {}:{line}", path.display()),
            None => format!("file {}", path.display()),
        },
        ValueSource::Environment { var } => format!("env {var}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(file: Option<&Path>, data: &Path, env: &[(&str, &str)], json: bool) -> String {
        let location = DataDir::resolve(Some(data), file, None);
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let command = SettingsCommand::List(ListArgs { json });
        run(file, &location, &lookup, command, &mut out, &mut err).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_table_shows_value_source_unit_and_apply() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("outpost.toml");
        std::fs::write(&file, "fqdn = \"sbc.example.com\"\n\n[sip]\nt1_ms = 800\n").unwrap();
        let data = dir.path().join("data");
        DataDir::resolve(Some(&data), None, None)
            .init(&mut Vec::new())
            .unwrap();
        let mut store = outpost_store::Store::open_existing(&data.join("outpost.db")).unwrap();
        store
            .set_setting("config.registration.phone_expiry_secs", "90")
            .unwrap();
        store
            .set_guard_settings(&[("dos_threshold", "200")])
            .unwrap();
        drop(store);

        let text = listing(Some(&file), &data, &[("OUTPOST_WEB_PORT", "4446")], false);
        let line = |key: &str| {
            text.lines()
                .find(|l| l.split_whitespace().next() == Some(key))
                .unwrap_or_else(|| panic!("{key} missing:\n{text}"))
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(text.starts_with("KEY "), "{text}");
        let path = file.display();
        assert_eq!(
            line("sip.t1_ms"),
            format!("sip.t1_ms 800 ms file {path}:4 restart")
        );
        assert_eq!(
            line("fqdn"),
            format!("fqdn sbc.example.com file {path}:1 restart")
        );
        assert_eq!(
            line("web.port"),
            "web.port 4446 env OUTPOST_WEB_PORT restart"
        );
        assert_eq!(
            line("registration.phone_expiry_secs"),
            "registration.phone_expiry_secs 90 s database live"
        );
        assert_eq!(
            line("guard.dos_threshold"),
            "guard.dos_threshold 200 requests database live"
        );
        assert_eq!(
            line("ipbx.address"),
            "ipbx.address (not set) default restart"
        );

        let json = listing(Some(&file), &data, &[], true);
        let entries: Vec<serde_json::Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(entries.len(), outpost_config::Registry::settings().count());
        let t1 = entries.iter().find(|e| e["key"] == "sip.t1_ms").unwrap();
        assert_eq!(t1["value"], 800);
        assert_eq!(t1["source"]["kind"], "file");
        assert_eq!(t1["source"]["line"], 4);
        assert_eq!(t1["editable"], false);
        assert_eq!(t1["apply"], "restart");
    }

    #[test]
    fn without_a_database_the_other_layers_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let text = listing(None, &dir.path().join("none"), &[], false);
        assert!(text.contains("sip.t1_ms"), "{text}");
        assert!(!dir.path().join("none").exists());
    }

    #[test]
    fn serve_starts_with_the_stored_values_under_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let location = DataDir::resolve(Some(&data), None, None);
        let none = |_: &str| None;
        // No database yet: the configuration as given.
        let stored = with_stored_values(None, &location, &none, Config::default()).unwrap();
        assert_eq!(stored.config, Config::default());

        location.init(&mut Vec::new()).unwrap();
        let mut store = location.open_existing().unwrap();
        store
            .set_setting("config.registration.phone_expiry_secs", "90")
            .unwrap();
        store.set_setting("config.sip.t1_ms", "5").unwrap();
        drop(store);
        let stored = with_stored_values(None, &location, &none, Config::default()).unwrap();
        assert_eq!(stored.config.registration.phone_expiry_secs, 90);
        assert_eq!(
            stored.config.sip.t1_ms, 500,
            "an invalid stored value is left out"
        );
        assert_eq!(stored.warnings.len(), 1, "{:?}", stored.warnings);
        assert!(
            stored.warnings[0].contains("sip.t1_ms = 5"),
            "{:?}",
            stored.warnings
        );
    }
}
