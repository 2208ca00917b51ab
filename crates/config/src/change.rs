//! Validating a change proposed through the API: the key must exist, the
//! database must be allowed to hold it, the file or the environment must
//! not pin it, and the whole configuration with the new value must pass
//! the same checks as the file. Nothing is written here: the service layer
//! persists the [`Change`] ([`Change::persist`]) and audits it.
//!
//! A `null` value is a reset: the stored value is removed and the setting
//! falls back to the next layer down. Since a file or environment value
//! pins a setting (and a pinned one is refused, reset or not), that is the
//! default; the configuration without the stored value is checked like any
//! other change (a reset can break a cross-field rule another stored value
//! relies on).

use std::collections::BTreeMap;

use outpost_store::{Store, StoreError};
use serde::Serialize;

use crate::database::{json_to_toml, stored_key};
use crate::error::{ConfigErrors, ErrorKind, FieldError, Source};
use crate::registry::{Access, Apply, Registry, Scope, Setting, to_json};
use crate::settings::{Settings, ValueSource, check};
use crate::values::Raw;

/// A change the API may make, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The registry key.
    pub key: &'static str,
    /// The effective value before the change (`null` for a secret).
    pub before: serde_json::Value,
    /// The new value, normalised (`"TLS"` becomes `"tls"`); `null` for a
    /// secret.
    pub after: serde_json::Value,
    /// False when the new value is the effective one already; for a
    /// reset, false when no value was stored (nothing to remove).
    pub changed: bool,
    /// Whether it applies live or at the next start.
    pub apply: Apply,
    /// Whether the value is secret (audit it redacted).
    pub secret: bool,
    /// True for a reset (`null`): the stored value is removed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
    /// What to write, and where.
    #[serde(skip)]
    pub stored: Stored,
}

impl Change {
    /// True when the change takes effect only at the next start.
    pub fn restart_needed(&self) -> bool {
        self.apply == Apply::Restart
    }

    /// Writes the change to the database (nothing else: no audit entry).
    ///
    /// # Errors
    /// [`StoreError`] when the database refuses the write.
    pub fn persist(&self, store: &mut Store) -> Result<(), StoreError> {
        match &self.stored {
            Stored::Settings { key, value } => store.set_setting(key, value),
            Stored::Guard { key, value } => store.set_guard_settings(&[(key, value.as_str())]),
            Stored::RemoveSetting { key } => store.remove_setting(key).map(drop),
            Stored::RemoveGuard { key } => store.unset_guard_setting(key).map(drop),
        }
    }
}

/// Where a change is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stored {
    /// A row of the key/value `settings` table: `config.<key>` and the
    /// value's JSON text.
    Settings {
        /// `config.sip.t1_ms`.
        key: String,
        /// `500`, `"tls"`...
        value: String,
    },
    /// A row of the guard's settings table, as `outpost guard set` writes
    /// it.
    Guard {
        /// The guard's key (`dos_threshold`).
        key: &'static str,
        /// The value's text (`200`, `auto-protection`).
        value: String,
    },
    /// A reset: the row `config.<key>` of the key/value table goes.
    RemoveSetting {
        /// `config.sip.t1_ms`.
        key: String,
    },
    /// A reset of a guard setting: its row in the guard's table goes.
    RemoveGuard {
        /// The guard's key (`dos_threshold`).
        key: &'static str,
    },
}

/// Why the API cannot make a change; every message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingError {
    /// No setting has this key.
    #[error(
        "unknown setting {key:?}{suggestion}; `outpost settings list` (or GET /api/v1/settings) \
         lists every setting"
    )]
    UnknownKey {
        /// The key as given.
        key: String,
        /// ` (did you mean "sip.t1_ms"?)` or empty.
        suggestion: String,
    },
    /// The file or the environment sets it, and they win over the
    /// database.
    #[error("{key} is pinned by {pinned_by}: {}", fix(pinned_by))]
    Pinned {
        /// The registry key.
        key: &'static str,
        /// The file (and line) or the variable.
        pinned_by: ValueSource,
    },
    /// Only the file may set it.
    #[error("{key} cannot be changed through the API: {reason}")]
    NotChangeable {
        /// The registry key.
        key: &'static str,
        /// Why, and where to set it instead.
        reason: &'static str,
    },
    /// The value, or the configuration with it, is invalid: each error
    /// names the key, the value, what is allowed and the fix.
    #[error("{0}")]
    Invalid(ConfigErrors),
    /// The same setting was given twice in one request.
    #[error("{key} is given twice; give each setting once")]
    Duplicate {
        /// The registry key.
        key: &'static str,
    },
    /// No setting was given.
    #[error("no setting to change; give one or more {{\"KEY\": value}} pairs")]
    NothingToChange,
}

impl SettingError {
    /// The setting concerned, when one is (the first invalid one for
    /// [`SettingError::Invalid`]).
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::UnknownKey { key, .. } => Some(key),
            Self::Pinned { key, .. }
            | Self::NotChangeable { key, .. }
            | Self::Duplicate { key } => Some(key),
            Self::Invalid(errors) => errors.0.first().map(|e| e.field.as_str()),
            Self::NothingToChange => None,
        }
    }
}

fn fix(pinned_by: &ValueSource) -> &'static str {
    match pinned_by {
        ValueSource::Environment { .. } => {
            "the environment wins over values set through the API; unset the variable in the \
             service's environment and restart Outpost to manage it here"
        }
        _ => {
            "the file wins over values set through the API; remove the line from the file (or \
             change it there) and restart Outpost to manage it here"
        }
    }
}

impl Settings {
    /// Validates setting `key` to `value` (a JSON string, number or
    /// boolean, in file form: `"20000-20999"`, `5070`, `true`; an empty
    /// string clears an optional setting; `null` resets it, removing the
    /// stored value), as the API would, against these settings. Writes
    /// nothing.
    ///
    /// # Errors
    /// A [`SettingError`] naming the key and what to do.
    pub fn set_from_api(
        &self,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<Change, SettingError> {
        let mut changes = self
            .set_many_from_api(&[(key, value.clone())])
            .map_err(|mut errors| errors.swap_remove(0))?;
        // One key in, one change out.
        Ok(changes.swap_remove(0))
    }

    /// Validates several changes together, as one `PATCH` proposes them:
    /// each key on its own as [`Settings::set_from_api`] does, then the
    /// whole configuration with every new value at once (so raising
    /// `registration.phone_expiry_secs` and `registration.icp_expiry_secs`
    /// together passes where either alone would not). Writes nothing.
    ///
    /// # Errors
    /// Every [`SettingError`] found (never empty): the keys' own problems
    /// (unknown, pinned, not a string, number or boolean), then those of
    /// the configuration with the other values.
    pub fn set_many_from_api(
        &self,
        changes: &[(&str, serde_json::Value)],
    ) -> Result<Vec<Change>, Vec<SettingError>> {
        if changes.is_empty() {
            return Err(vec![SettingError::NothingToChange]);
        }
        let mut errors = Vec::new();
        let mut proposed: Vec<(&'static Setting, Proposed)> = Vec::new();
        for (key, value) in changes {
            match self.proposal(key, value) {
                Ok((setting, _)) if proposed.iter().any(|(s, _)| s.key == setting.key) => {
                    errors.push(SettingError::Duplicate { key: setting.key });
                }
                Ok(pair) => proposed.push(pair),
                Err(e) => errors.push(e),
            }
        }
        // The values that passed are checked even when others did not, so
        // one answer lists every problem.
        let config_keys: Vec<(&'static Setting, Proposed)> = proposed
            .iter()
            .filter(|(s, _)| matches!(s.access, Access::Config { .. }))
            .cloned()
            .collect();
        let config = if config_keys.is_empty() {
            Ok(self.config.clone())
        } else {
            self.validate_config(&config_keys)
        };
        let guard_keys: Vec<(&'static Setting, &'static str, Proposed)> = proposed
            .iter()
            .filter_map(|(s, v)| match s.access {
                Access::Guard { key } => Some((*s, key, v.clone())),
                Access::Config { .. } => None,
            })
            .collect();
        let guard_values = self.validate_guard(&guard_keys);
        let (config, mut guard_values) = match (config, guard_values) {
            (Ok(config), Ok(guard)) if errors.is_empty() => (config, guard),
            (config, guard) => {
                errors.extend(config.err());
                errors.extend(guard.err());
                return Err(errors);
            }
        };
        Ok(proposed
            .iter()
            .map(|(setting, value)| {
                let reset = value.is_none();
                let (after, stored) = match setting.access {
                    Access::Config { show, .. } => {
                        let after = show(&config);
                        let stored = if reset {
                            Stored::RemoveSetting {
                                key: stored_key(setting.key),
                            }
                        } else {
                            Stored::Settings {
                                key: stored_key(setting.key),
                                value: to_json(&after).to_string(),
                            }
                        };
                        (after, stored)
                    }
                    Access::Guard { key } => {
                        let (value, text) = guard_values
                            .remove(key)
                            .expect("validate_guard returns every proposed guard key or fails");
                        let stored = match text {
                            Some(value) => Stored::Guard { key, value },
                            None => Stored::RemoveGuard { key },
                        };
                        (value, stored)
                    }
                };
                self.change(setting, &after, stored, reset)
            })
            .collect())
    }

    /// Whether the database holds a value for `setting`, valid or left
    /// out as invalid (a reset removes either).
    fn stored(&self, setting: &Setting) -> bool {
        let held = match setting.access {
            Access::Config { .. } => self.database.config.contains_key(setting.key),
            Access::Guard { key } => self.database.guard.iter().any(|(k, _)| k == key),
        };
        held || self.ignored().iter().any(|e| e.field == setting.key)
    }

    /// The setting `key` names and `value` in file form (`None`: a reset),
    /// if the API may set it at all.
    fn proposal(
        &self,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(&'static Setting, Proposed), SettingError> {
        let setting = Registry::get(key).ok_or_else(|| SettingError::UnknownKey {
            key: key.to_owned(),
            suggestion: suggestion(key),
        })?;
        if setting.scope == Scope::FileOnly {
            return Err(SettingError::NotChangeable {
                key: setting.key,
                reason: "it says where the database is; set it in the configuration file, or \
                         give --data-dir or OUTPOST_DATA_DIR to every command",
            });
        }
        if let Some(source) = self.source(setting.key).filter(|s| s.pins()) {
            return Err(SettingError::Pinned {
                key: setting.key,
                pinned_by: source.clone(),
            });
        }
        // After the pin check: a pinned value cannot be reset either, and
        // is refused with the same message.
        if value.is_null() {
            return Ok((setting, None));
        }
        let proposed = json_to_toml(value).map_err(|problem| {
            invalid(FieldError {
                field: setting.key.to_owned(),
                value: value.to_string(),
                source: Source::Api,
                kind: problem.kind,
                message: problem.message,
            })
        })?;
        Ok((setting, Some(proposed)))
    }

    /// The [`Change`] of `setting` to `after` (file form); a `reset`
    /// changes something when a value was stored.
    fn change(
        &self,
        setting: &'static Setting,
        after: &toml::Value,
        stored: Stored,
        reset: bool,
    ) -> Change {
        let before = self
            .value(setting.key)
            .map_or(serde_json::Value::Null, |v| to_json(&v));
        let after = to_json(after);
        let changed = if reset {
            self.stored(setting)
        } else {
            before != after
        };
        let (before, after) = if setting.secret {
            (serde_json::Value::Null, serde_json::Value::Null)
        } else {
            (before, after)
        };
        Change {
            key: setting.key,
            before,
            after,
            changed,
            apply: setting.apply,
            secret: setting.secret,
            reset,
            stored,
        }
    }

    /// The configuration with the `proposed` values stored (a reset's
    /// removed), or every error they cause (in their fields or across
    /// fields).
    fn validate_config(
        &self,
        proposed: &[(&'static Setting, Proposed)],
    ) -> Result<crate::Config, SettingError> {
        let mut database: BTreeMap<&'static str, toml::Value> = self.database.config.clone();
        for (setting, value) in proposed {
            match value {
                Some(value) => database.insert(setting.key, value.clone()),
                None => database.remove(setting.key),
            };
        }
        let extraction = self.rerun(&database);
        if extraction.errors.is_empty() {
            return Ok(extraction.config);
        }
        let errors = extraction
            .errors
            .into_iter()
            .map(|mut e| {
                let ours = proposed.iter().any(|(s, _)| s.key == e.field);
                if ours && e.source == Source::Database {
                    e.source = Source::Api;
                }
                e
            })
            .collect();
        Err(SettingError::Invalid(ConfigErrors(errors)))
    }

    /// Each proposed guard setting's key, new value and stored text (none
    /// for a reset, whose value is then the guard's default), after the
    /// guard's own checks on all its settings together.
    fn validate_guard(
        &self,
        proposed: &[(&'static Setting, &'static str, Proposed)],
    ) -> Result<GuardChecked, SettingError> {
        let mut values = Vec::new();
        let mut resets = Vec::new();
        let mut problems = Vec::new();
        for (setting, key, value) in proposed {
            let Some(value) = value else {
                resets.push((*setting, *key));
                continue;
            };
            match check(setting, Raw::Typed(value)) {
                Ok(value) => {
                    let text = match &value {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    values.push((*key, value, text));
                }
                Err(problem) => problems.push(FieldError {
                    field: setting.key.to_owned(),
                    value: crate::extract::render(value),
                    source: Source::Api,
                    kind: problem.kind,
                    message: problem.message,
                }),
            }
        }
        if !problems.is_empty() {
            return Err(SettingError::Invalid(ConfigErrors(problems)));
        }
        if values.is_empty() && resets.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut pairs = self.database.guard.clone();
        pairs.retain(|(k, _)| {
            !values.iter().any(|(key, _, _)| k == key) && !resets.iter().any(|(_, key)| k == key)
        });
        pairs.extend(values.iter().map(|(k, _, t)| ((*k).to_owned(), t.clone())));
        let guard = match outpost_guard::Settings::from_pairs(&pairs) {
            Ok(guard) => guard,
            Err(outpost_guard::Error::Settings(errors)) => {
                let errors = errors
                    .into_iter()
                    .map(|e| FieldError {
                        field: format!("{}{}", crate::registry::GUARD_PREFIX, e.field),
                        value: e.value,
                        source: Source::Api,
                        kind: ErrorKind::NotAllowed,
                        message: e.message,
                    })
                    .collect();
                return Err(SettingError::Invalid(ConfigErrors(errors)));
            }
            // The settings parser fails only with `Settings` errors; any
            // other is reported on the first key rather than lost.
            Err(other) => {
                let field = proposed.first().map_or("guard", |(s, _, _)| s.key);
                return Err(invalid(FieldError {
                    field: field.to_owned(),
                    value: String::new(),
                    source: Source::Api,
                    kind: ErrorKind::NotAllowed,
                    message: other.to_string(),
                }));
            }
        };
        let mut checked: GuardChecked = values
            .into_iter()
            .map(|(k, v, t)| (k, (v, Some(t))))
            .collect();
        for (setting, key) in resets {
            let value = crate::registry::guard_value(&guard, setting, key);
            checked.insert(key, (value, None));
        }
        Ok(checked)
    }
}

/// A proposed value in file form; `None` resets the setting.
type Proposed = Option<toml::Value>;

/// Each checked guard setting's value and the text to store (`None`: its
/// stored value is removed).
type GuardChecked = BTreeMap<&'static str, (toml::Value, Option<String>)>;

fn invalid(error: FieldError) -> SettingError {
    SettingError::Invalid(ConfigErrors(vec![error]))
}

/// ` (did you mean "KEY"?)` for a near miss among every key.
fn suggestion(key: &str) -> String {
    let keys: Vec<&str> = Registry::settings().map(|s| s.key).collect();
    crate::extract::did_you_mean(key, &keys)
}
