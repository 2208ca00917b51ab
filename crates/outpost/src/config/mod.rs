//! Gateway configuration: the typed model, loading from a TOML file plus
//! `OUTPOST_*` environment overrides (OPS-1), and validation that reports
//! every problem at once, each naming the field, the value and its source
//! (NET-3).
//!
//! Keys are named as installers know them from the vendor's gateway
//! settings: a `[public]` (set) side with IP1 `address` and IP2 `interface`,
//! a `[private]` (ICP) side with IP3 `interface` and IP4 `address`, and the
//! `[ipbx]` (IP5). `outpost.example.toml` at the repository root documents
//! every key; a test keeps it valid.
//!
//! What this module does not do: resolve the iPBX name (RFC 3263, done when
//! connecting), check the `log.level` directive syntax (the logger does), or
//! read `OUTPOST_DATA_DIR` (the CLI owns the data directory's precedence).
//!
//! Why not `#[derive(Deserialize)]`: serde stops at the first error and
//! cannot tell a file value from an environment one; a small extractor over
//! [`toml::Table`] reports all of them with their source.

mod error;
mod extract;
mod model;
mod summary;
mod validate;
mod values;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use error::{ConfigErrors, ErrorKind, FieldError, Source};
pub use model::{
    AdminConfig, Config, DeploymentMode, IpbxConfig, IpbxHost, IpbxTransport, LogConfig, LogFormat,
    MediaConfig, ParseEnumError, PortRange, PortRangeError, Protocols, RegistrationConfig, Side,
    SideConfig, SipConfig, WebConfig,
};

impl Config {
    /// Parses a TOML document, applies environment overrides and validates
    /// the result. `env` looks up environment variables: [`process_env`] in
    /// the binary, a map in tests. File values have an empty path as source
    /// (use [`Config::load`] for a file).
    pub fn from_toml_str(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigErrors> {
        finish(extract::from_text(text, Path::new(""), env))
    }

    /// Loads the file at `path` (or only defaults when `None`), applies
    /// environment overrides and validates. A file that cannot be read is
    /// one error naming the path and the OS error. A relative `data_dir`
    /// is relative to the file's directory, not to the working directory:
    /// the data belongs to the installation, wherever the command is run.
    pub fn load(
        path: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigErrors> {
        let Some(path) = path else {
            return finish(extract::walk(&toml::Table::new(), Path::new(""), env));
        };
        match std::fs::read_to_string(path) {
            Ok(text) => finish(extract::from_text(&text, path, env)).map(|mut config| {
                config.data_dir = config.data_dir.map(|dir| relative_to_file(path, dir));
                config
            }),
            Err(e) => Err(ConfigErrors(vec![FieldError {
                field: String::new(),
                value: path.display().to_string(),
                source: Source::File(path.to_owned()),
                kind: ErrorKind::Unreadable,
                message: format!("cannot read configuration file {}: {e}", path.display()),
            }])),
        }
    }
}

fn finish(mut extraction: extract::Extraction) -> Result<Config, ConfigErrors> {
    validate::validate(&mut extraction);
    if extraction.errors.is_empty() {
        Ok(extraction.config)
    } else {
        Err(ConfigErrors(extraction.errors))
    }
}

/// `dir` if absolute, else `dir` under the directory of `file` (the file's
/// canonical path, so `..` and symbolic links do not show in messages).
fn relative_to_file(file: &Path, dir: std::path::PathBuf) -> std::path::PathBuf {
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

/// Every configuration field as a dotted name (`mode`,
/// `public.sip_tls_port`...), in file order.
pub fn field_names() -> Vec<String> {
    extract::SCHEMA
        .iter()
        .flat_map(|(table, keys)| keys.iter().map(|key| extract::dotted(table, key)))
        .collect()
}

/// The environment variable overriding a dotted field name, e.g.
/// `OUTPOST_PUBLIC_SIP_TLS_PORT` for `public.sip_tls_port`; `None` for an
/// unknown field and for `data_dir` (the CLI reads `OUTPOST_DATA_DIR`).
pub fn env_var_name(field: &str) -> Option<String> {
    let (table, key) = field.split_once('.').unwrap_or(("", field));
    let known = extract::SCHEMA
        .iter()
        .any(|(t, keys)| *t == table && keys.contains(&key));
    if known {
        extract::env_var(table, key)
    } else {
        None
    }
}

/// Every environment variable the configuration reads, in file order.
pub fn env_var_names() -> Vec<String> {
    field_names()
        .iter()
        .filter_map(|field| env_var_name(field))
        .collect()
}
