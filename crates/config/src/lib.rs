//! Outpost's settings: one [`Registry`] of every setting (key, type,
//! allowed values, default, unit, description, live or restart, secret,
//! where it may be set), the typed [`Config`] the gateway reads, and
//! loading in layers — default < database < file < environment — with
//! validation that reports every problem at once, each naming the field,
//! the value, its source and the fix (NET-3, OPS-1).
//!
//! The TOML loader, the `OUTPOST_*` overrides, `outpost check-config`,
//! `outpost settings list` and the API all go through the registry, so a
//! rule is written once. [`Settings::effective`] gives each value with
//! where it comes from; [`Settings::set_from_api`] validates a change and
//! refuses one the file or the environment pins.
//!
//! Keys are named as installers know them from the vendor's gateway
//! settings: a `[public]` (set) side with IP1 `address` and IP2 `interface`,
//! a `[private]` (ICP) side with IP3 `interface` and IP4 `address`, and the
//! `[ipbx]` (IP5). `outpost.example.toml` at the repository root documents
//! every key of the file; a test keeps it valid. The guard's settings
//! (`guard.*`) live in the database only.
//!
//! What this crate does not do: write anything but a validated
//! [`Change`] it is asked to persist (no audit log: the service layer's),
//! apply a change to a running gateway, resolve the iPBX name (RFC 3263,
//! done when connecting), check the `log.level` directive syntax (the
//! logger does), or read `OUTPOST_DATA_DIR` (the CLI owns the data
//! directory's precedence).
//!
//! Why not `#[derive(Deserialize)]`: serde stops at the first error and
//! cannot tell a file value from an environment one; a small extractor
//! over [`toml::Table`], driven by the registry, reports all of them with
//! their source.

mod change;
mod database;
mod error;
mod extract;
mod model;
mod registry;
mod settings;
mod summary;
mod validate;
mod values;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use change::{Change, SettingError, Stored};
pub use database::{DatabaseLayer, KEY_PREFIX};
pub use error::{ConfigErrors, ErrorKind, FieldError, Source};
pub use model::{
    AdminConfig, Config, DeploymentMode, DnsConfig, IpbxConfig, IpbxHost, IpbxTransport, LogConfig,
    LogFormat, MediaConfig, ParseEnumError, PortRange, PortRangeError, Protocols,
    RegistrationConfig, Side, SideConfig, SipConfig, WebConfig,
};
pub use registry::{Apply, Format, Kind, Registry, Scope, Setting, Unit};
pub use settings::{Effective, Settings, ValueSource};

impl Config {
    /// Parses a TOML document, applies environment overrides and validates
    /// the result. `env` looks up environment variables: [`process_env`] in
    /// the binary, a map in tests. File values have an empty path as source
    /// (use [`Config::load`] for a file).
    ///
    /// # Errors
    /// Every problem found, see [`ConfigErrors`].
    pub fn from_toml_str(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigErrors> {
        Settings::from_toml_str(text, env, DatabaseLayer::new()).map(Settings::into_config)
    }

    /// Loads the file at `path` (or only defaults when `None`), applies
    /// environment overrides and validates, without the database layer
    /// (see [`Settings::load`] for it). A file that cannot be read is one
    /// error naming the path and the OS error. A relative `data_dir` is
    /// relative to the file's directory, not to the working directory: the
    /// data belongs to the installation, wherever the command is run.
    ///
    /// # Errors
    /// Every problem found, see [`ConfigErrors`].
    pub fn load(
        path: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigErrors> {
        Settings::load(path, env, DatabaseLayer::new()).map(Settings::into_config)
    }
}

/// `dir` if absolute, else `dir` under the directory of `file` (the file's
/// canonical path, so `..` and symbolic links do not show in messages).
fn relative_to_file(file: &Path, dir: PathBuf) -> PathBuf {
    if dir.is_absolute() {
        return dir;
    }
    let file = std::fs::canonicalize(file)
        .or_else(|_| std::path::absolute(file))
        .unwrap_or_else(|_| file.to_path_buf());
    file.parent().map_or(dir.clone(), |base| base.join(&dir))
}

/// Reads a variable from the process environment; a value that is not
/// valid UTF-8 counts as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Every field of the configuration file as a dotted name (`mode`,
/// `public.sip_tls_port`...), in file order.
pub fn field_names() -> Vec<String> {
    Registry::file_settings()
        .map(|s| s.key.to_owned())
        .collect()
}

/// The environment variable overriding a dotted field name, e.g.
/// `OUTPOST_PUBLIC_SIP_TLS_PORT` for `public.sip_tls_port`; `None` for an
/// unknown field, for `data_dir` (the CLI reads `OUTPOST_DATA_DIR`) and
/// for the settings kept in the database only.
pub fn env_var_name(field: &str) -> Option<String> {
    Registry::get(field).and_then(Setting::env_var)
}

/// Every environment variable the configuration reads, in file order.
pub fn env_var_names() -> Vec<String> {
    Registry::settings().filter_map(Setting::env_var).collect()
}
