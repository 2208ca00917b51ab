//! The database layer: values changed through the API, read from
//! outpost-store. Configuration settings are rows of the key/value
//! `settings` table under [`KEY_PREFIX`] (`config.sip.t1_ms`), their value
//! the JSON text of the file-form value (`500`, `"tls"`, `true`); the
//! guard's settings stay in the guard's own table, where `outpost guard
//! set` writes them and a running gateway polls them.
//!
//! This module reads, and writes only what [`crate::Change::persist`] is
//! asked to write; it never adds tables (no migration).

use std::collections::BTreeMap;

use outpost_store::{Store, StoreError};

use crate::error::{ErrorKind, FieldError, Source};
use crate::registry::{Access, Registry};
use crate::values::Problem;

/// Prefix of the configuration settings' keys in the `settings` table.
pub const KEY_PREFIX: &str = "config.";

/// The values stored in the database, before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatabaseLayer {
    /// Configuration settings by registry key, in file form.
    pub(crate) config: BTreeMap<&'static str, toml::Value>,
    /// The guard's settings as stored (its own keys and texts).
    pub(crate) guard: Vec<(String, String)>,
    /// Stored texts that are not JSON or name no setting.
    pub(crate) unreadable: Vec<FieldError>,
}

impl DatabaseLayer {
    /// No stored value: defaults, file and environment only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads every stored setting: the `config.*` keys the registry
    /// knows, and the guard's settings.
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be read.
    pub fn read(store: &Store) -> Result<Self, StoreError> {
        let mut layer = Self::new();
        for setting in Registry::settings().filter(|s| s.scope.database()) {
            if !matches!(setting.access, Access::Config { .. }) {
                continue;
            }
            if let Some(text) = store.setting(&stored_key(setting.key))? {
                layer = layer.with_stored(setting.key, &text);
            }
        }
        for (key, value) in store.guard_settings()? {
            layer = layer.with_guard(&key, &value);
        }
        Ok(layer)
    }

    /// Adds a configuration setting's stored JSON text, as found under
    /// `config.<key>` (a row [`DatabaseLayer::read`] would return).
    #[must_use]
    pub fn with_stored(mut self, key: &str, json: &str) -> Self {
        let setting = Registry::get(key)
            .filter(|s| s.scope.database() && matches!(s.access, Access::Config { .. }));
        let parsed = serde_json::from_str::<serde_json::Value>(json)
            .map_err(|e| {
                Problem::new(
                    ErrorKind::SyntaxError,
                    format!("the stored value is not JSON ({e}); set the setting again"),
                )
            })
            .and_then(|value| json_to_toml(&value));
        match (setting, parsed) {
            (Some(setting), Ok(value)) => {
                self.config.insert(setting.key, value);
            }
            (None, _) => self.unreadable.push(FieldError {
                field: key.to_owned(),
                value: json.to_owned(),
                source: Source::Database,
                kind: ErrorKind::UnknownKey,
                message: "no such setting can be stored in the database".to_owned(),
            }),
            (Some(setting), Err(problem)) => self.unreadable.push(FieldError {
                field: setting.key.to_owned(),
                value: json.to_owned(),
                source: Source::Database,
                kind: problem.kind,
                message: problem.message,
            }),
        }
        self
    }

    /// Adds a guard setting as the guard's table stores it
    /// (`dos_threshold`, `"200"`).
    #[must_use]
    pub fn with_guard(mut self, key: &str, value: &str) -> Self {
        self.guard.retain(|(k, _)| k != key);
        self.guard.push((key.to_owned(), value.to_owned()));
        self
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.config.is_empty() && self.guard.is_empty() && self.unreadable.is_empty()
    }
}

/// The `settings` table key of a configuration setting.
pub(crate) fn stored_key(key: &str) -> String {
    format!("{KEY_PREFIX}{key}")
}

/// A JSON value (from the API or the database) in file form: strings,
/// whole numbers and booleans; anything else is refused with what to send
/// instead.
pub(crate) fn json_to_toml(value: &serde_json::Value) -> Result<toml::Value, Problem> {
    use serde_json::Value as Json;
    let wrong = |got: &str| {
        Problem::new(
            ErrorKind::WrongType,
            format!(
                "expected a string, a number or a boolean, got {got}; lists are comma-separated \
                 strings such as \"SHA-256, MD5\", and an empty string clears an optional setting"
            ),
        )
    };
    match value {
        Json::String(s) => Ok(toml::Value::String(s.clone())),
        Json::Bool(b) => Ok(toml::Value::Boolean(*b)),
        Json::Number(n) => Ok(n.as_i64().map_or_else(
            || toml::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            toml::Value::Integer,
        )),
        Json::Null => Err(wrong("null")),
        Json::Array(_) => Err(wrong("an array")),
        Json::Object(_) => Err(wrong("an object")),
    }
}
