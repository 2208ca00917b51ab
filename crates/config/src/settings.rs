//! Layered settings: every registry setting's effective value with the
//! layer it came from. The layers rank default < database < file <
//! environment: a value in the file or the environment is *pinned*, the
//! API cannot change it (see [`crate::Settings::set_from_api`]).
//!
//! A value stored in the database that is no longer valid (a file value
//! now conflicts with it, a range was tightened) does not stop the
//! gateway: it is left out, the default or the file applies, and
//! [`Settings::ignored`] says which and why (`serve` logs it). Otherwise
//! the API, which runs inside `serve`, could never repair it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::database::DatabaseLayer;
use crate::error::{ConfigErrors, ErrorKind, FieldError, Source};
use crate::extract::{self, Env, Extraction, Layers, Origin};
use crate::model::Config;
use crate::registry::{Access, Apply, Kind, Registry, Setting, Unit, to_json};
use crate::values::{self, Problem, Raw};
use crate::{relative_to_file, validate};

/// Where an effective value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ValueSource {
    /// The built-in default.
    Default,
    /// The database: changed through the API (or `outpost guard set`).
    Database,
    /// The configuration file; pins the value.
    File {
        /// The file.
        path: PathBuf,
        /// The line of the key, when found.
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<usize>,
    },
    /// An `OUTPOST_*` environment variable; pins the value.
    Environment {
        /// The variable.
        var: String,
    },
}

impl ValueSource {
    /// True for the file and the environment, which the API cannot
    /// override.
    pub fn pins(&self) -> bool {
        matches!(self, Self::File { .. } | Self::Environment { .. })
    }
}

impl fmt::Display for ValueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Database => f.write_str("database"),
            Self::File { path, line } => {
                if path.as_os_str().is_empty() {
                    f.write_str("the configuration text")?;
                } else {
                    write!(f, "the configuration file {}", path.display())?;
                }
                match line {
                    Some(line) => write!(f, " (line {line})"),
                    None => Ok(()),
                }
            }
            Self::Environment { var } => write!(f, "the environment variable {var}"),
        }
    }
}

/// One setting's effective value, as `outpost settings list` and the API
/// show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effective {
    /// The registry key.
    pub key: &'static str,
    /// The value in file form (strings, integers, booleans; an empty
    /// string for an optional value not set); `null` for a secret.
    pub value: serde_json::Value,
    /// Where it comes from.
    pub source: ValueSource,
    /// The default value (`null` for a secret).
    pub default: serde_json::Value,
    /// The unit of a number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
    /// Whether a change applies live or at the next start.
    pub apply: Apply,
    /// Whether the value is secret.
    pub secret: bool,
    /// Whether the API may change it now: not pinned by the file or the
    /// environment, and the database may hold it.
    pub editable: bool,
}

/// The configuration file as read: kept so that a proposed change can be
/// validated against the same file, and pinned values located by line.
#[derive(Debug, Clone)]
struct FileInput {
    path: PathBuf,
    text: String,
    table: toml::Table,
}

/// Every setting's effective value and where it came from.
#[derive(Debug, Clone)]
pub struct Settings {
    pub(crate) config: Config,
    pub(crate) guard: outpost_guard::Settings,
    pub(crate) sources: BTreeMap<&'static str, ValueSource>,
    file: Option<FileInput>,
    /// The `OUTPOST_*` variables that were set, read once at load.
    env: BTreeMap<String, String>,
    pub(crate) database: DatabaseLayer,
    ignored: Vec<FieldError>,
}

impl Settings {
    /// Loads the layers: the file at `path` (none: defaults), the
    /// environment through `env` ([`crate::process_env`] in the binary),
    /// and `database` ([`DatabaseLayer::read`], or an empty layer). A
    /// relative `data_dir` is relative to the file.
    ///
    /// # Errors
    /// Every problem of the file and the environment, each naming the
    /// field, the value, its source and what is allowed. Invalid database
    /// values are not errors (see [`Settings::ignored`]).
    pub fn load(
        path: Option<&Path>,
        env: Env<'_>,
        database: DatabaseLayer,
    ) -> Result<Self, ConfigErrors> {
        let Some(path) = path else {
            return Self::build(None, None, env, database);
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![FieldError {
                field: String::new(),
                value: path.display().to_string(),
                source: Source::File(path.to_owned()),
                kind: ErrorKind::Unreadable,
                message: format!("cannot read configuration file {}: {e}", path.display()),
            }])
        })?;
        let mut settings = Self::build(Some(path), Some(text), env, database)?;
        settings.config.data_dir = settings
            .config
            .data_dir
            .take()
            .map(|dir| relative_to_file(path, dir));
        Ok(settings)
    }

    /// Like [`Settings::load`] with the file's text given directly (its
    /// values' source is an empty path; `data_dir` stays as written).
    ///
    /// # Errors
    /// As [`Settings::load`].
    pub fn from_toml_str(
        text: &str,
        env: Env<'_>,
        database: DatabaseLayer,
    ) -> Result<Self, ConfigErrors> {
        Self::build(Some(Path::new("")), Some(text.to_owned()), env, database)
    }

    fn build(
        path: Option<&Path>,
        text: Option<String>,
        env: Env<'_>,
        mut database: DatabaseLayer,
    ) -> Result<Self, ConfigErrors> {
        let mut syntax_error = None;
        let file = match (path, text) {
            (Some(path), Some(text)) => {
                let table = extract::parse(&text, path).unwrap_or_else(|e| {
                    syntax_error = Some(e);
                    toml::Table::new()
                });
                Some(FileInput {
                    path: path.to_owned(),
                    text,
                    table,
                })
            }
            _ => None,
        };
        // Each variable is read once, in the registry's order.
        let env: BTreeMap<String, String> = crate::env_var_names()
            .into_iter()
            .filter_map(|var| env(&var).map(|value| (var, value)))
            .collect();
        let mut ignored = std::mem::take(&mut database.unreadable);
        let mut extraction = run(file.as_ref(), &env, &database.config);
        if syntax_error.is_some() || !extraction.errors.is_empty() {
            let without = if database.config.is_empty() {
                extraction
            } else {
                run(file.as_ref(), &env, &BTreeMap::new())
            };
            if syntax_error.is_some() || !without.errors.is_empty() {
                // The file's or the environment's own problems, exactly as
                // `check-config` reports them.
                return Err(ConfigErrors(
                    syntax_error.into_iter().chain(without.errors).collect(),
                ));
            }
            extraction = keep_valid(file.as_ref(), &env, &mut database, &mut ignored);
        }
        let guard = guard_layer(&mut database, &mut ignored);
        let Extraction {
            config, origins, ..
        } = extraction;
        let mut settings = Self {
            config,
            guard,
            sources: BTreeMap::new(),
            file,
            env,
            database,
            ignored,
        };
        settings.sources = settings.locate(&origins);
        Ok(settings)
    }

    /// The source of every setting.
    fn locate(&self, origins: &HashMap<String, Origin>) -> BTreeMap<&'static str, ValueSource> {
        let mut sources = BTreeMap::new();
        for setting in Registry::settings() {
            let source = match setting.access {
                Access::Guard { key } => {
                    if self.database.guard.iter().any(|(k, _)| k == key) {
                        ValueSource::Database
                    } else {
                        ValueSource::Default
                    }
                }
                Access::Config { .. } => match origins.get(setting.key) {
                    Some(origin) => match &origin.source {
                        Source::File(path) => ValueSource::File {
                            path: path.clone(),
                            line: self.file.as_ref().and_then(|f| key_line(&f.text, setting)),
                        },
                        Source::Env(var) => ValueSource::Environment { var: var.clone() },
                        Source::Database => ValueSource::Database,
                        _ => ValueSource::Default,
                    },
                    None => ValueSource::Default,
                },
            };
            sources.insert(setting.key, source);
        }
        sources
    }

    /// The same file and environment (as read at load: the file is not
    /// read again, its changes apply at the next start) over another
    /// database layer: what a running gateway and its API see once a value
    /// was changed through the API.
    ///
    /// # Errors
    /// The file's or the environment's own problems, as at load (in
    /// practice none: they were valid then). Invalid stored values are
    /// left out, see [`Settings::ignored`].
    pub fn reload(&self, database: DatabaseLayer) -> Result<Self, ConfigErrors> {
        let env = |var: &str| self.env.get(var).cloned();
        let (path, text) = match &self.file {
            Some(file) => (Some(file.path.as_path()), Some(file.text.clone())),
            None => (None, None),
        };
        let mut settings = Self::build(path, text, &env, database)?;
        // `data_dir` comes from the file only, made absolute at load.
        settings.config.data_dir.clone_from(&self.config.data_dir);
        Ok(settings)
    }

    /// The typed configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The typed configuration, consuming the settings.
    pub fn into_config(self) -> Config {
        self.config
    }

    /// The guard's settings (the `guard.*` keys): its defaults with the
    /// database's values.
    pub fn guard(&self) -> &outpost_guard::Settings {
        &self.guard
    }

    /// Database values left out because they are invalid, each naming the
    /// key, the value and why.
    pub fn ignored(&self) -> &[FieldError] {
        &self.ignored
    }

    /// Where the value of `key` comes from; `None` for an unknown key.
    pub fn source(&self, key: &str) -> Option<&ValueSource> {
        self.sources.get(key)
    }

    /// The effective value of `key` in file form; `None` for an unknown
    /// key.
    pub fn value(&self, key: &str) -> Option<toml::Value> {
        let setting = Registry::get(key)?;
        Some(match setting.access {
            Access::Config { show, .. } => show(&self.config),
            Access::Guard { key } => crate::registry::guard_value(&self.guard, setting, key),
        })
    }

    /// Every setting's effective value with its source, in registry order.
    pub fn effective(&self) -> Vec<Effective> {
        Registry::settings()
            .map(|setting| {
                let source = self
                    .source(setting.key)
                    .cloned()
                    .unwrap_or(ValueSource::Default);
                let (value, default) = if setting.secret {
                    (serde_json::Value::Null, serde_json::Value::Null)
                } else {
                    let value = self
                        .value(setting.key)
                        .map_or(serde_json::Value::Null, |v| to_json(&v));
                    (value, to_json(&setting.default_value()))
                };
                Effective {
                    key: setting.key,
                    value,
                    editable: setting.scope.database() && !source.pins(),
                    source,
                    default,
                    unit: setting.unit,
                    apply: setting.apply,
                    secret: setting.secret,
                }
            })
            .collect()
    }

    /// Runs the loader again over the same file and environment with
    /// other database values (to validate a proposed change).
    pub(crate) fn rerun(&self, database: &BTreeMap<&'static str, toml::Value>) -> Extraction {
        run(self.file.as_ref(), &self.env, database)
    }
}

/// Takes the stored values one by one, in registry order, keeping each
/// one the configuration stays valid with; the others go to `ignored`
/// with the problems they cause (theirs, or a conflict blamed on a file
/// value). Called only when the file and the environment alone are valid.
fn keep_valid(
    file: Option<&FileInput>,
    env: &BTreeMap<String, String>,
    database: &mut DatabaseLayer,
    ignored: &mut Vec<FieldError>,
) -> Extraction {
    let mut kept = BTreeMap::new();
    let mut extraction = run(file, env, &kept);
    for (key, value) in std::mem::take(&mut database.config) {
        let mut trial = kept.clone();
        trial.insert(key, value.clone());
        let attempt = run(file, env, &trial);
        match attempt.errors.first() {
            None => {
                kept = trial;
                extraction = attempt;
            }
            Some(first) => {
                let message = attempt
                    .errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                ignored.push(FieldError {
                    field: key.to_owned(),
                    value: extract::render(&value),
                    source: Source::Database,
                    kind: first.kind,
                    message,
                });
            }
        }
    }
    database.config = kept;
    extraction
}

/// One pass of the loader and the cross-field checks.
fn run(
    file: Option<&FileInput>,
    env: &BTreeMap<String, String>,
    database: &BTreeMap<&'static str, toml::Value>,
) -> Extraction {
    let empty = toml::Table::new();
    let lookup = |var: &str| env.get(var).cloned();
    let layers = Layers {
        database,
        path: file.map_or(Path::new(""), |f| f.path.as_path()),
        env: &lookup,
    };
    let mut extraction = extract::walk(file.map_or(&empty, |f| &f.table), &layers);
    validate::validate(&mut extraction);
    extraction
}

/// The guard's settings from its defaults and the stored pairs; stored
/// pairs that are unknown or invalid are left out (and reported).
fn guard_layer(
    database: &mut DatabaseLayer,
    ignored: &mut Vec<FieldError>,
) -> outpost_guard::Settings {
    database.guard.retain(|(key, value)| {
        let registry_key = format!("{}{key}", crate::registry::GUARD_PREFIX);
        let problem = match Registry::get(&registry_key) {
            None => Some(Problem::new(
                ErrorKind::UnknownKey,
                format!(
                    "the guard has no setting {key:?}; known: {}",
                    outpost_guard::KEYS.join(", ")
                ),
            )),
            Some(setting) => check(setting, Raw::Typed(&setting.kind.typed(value))).err(),
        };
        let keep = problem.is_none();
        if let Some(problem) = problem {
            ignored.push(stored_error(&registry_key, value, problem));
        }
        keep
    });
    loop {
        match outpost_guard::Settings::from_pairs(&database.guard) {
            Ok(settings) => return settings,
            Err(outpost_guard::Error::Settings(errors)) if !errors.is_empty() => {
                for e in errors {
                    database.guard.retain(|(key, _)| *key != e.field);
                    let key = format!("{}{}", crate::registry::GUARD_PREFIX, e.field);
                    let problem = Problem::new(ErrorKind::NotAllowed, e.message);
                    ignored.push(stored_error(&key, &e.value, problem));
                }
            }
            Err(_) => return outpost_guard::Settings::default(),
        }
    }
}

fn stored_error(key: &str, value: &str, problem: Problem) -> FieldError {
    FieldError {
        field: key.to_owned(),
        value: value.to_owned(),
        source: Source::Database,
        kind: problem.kind,
        message: problem.message,
    }
}

/// Checks a value against a setting's [`Kind`] alone (the guard's
/// settings, whose parser is the guard crate's); returns it in file form.
pub(crate) fn check(setting: &Setting, raw: Raw<'_>) -> Result<toml::Value, Problem> {
    match &setting.kind {
        Kind::Integer { .. } => setting.integer(raw).map(|n| toml::Value::Integer(n.into())),
        Kind::Boolean => values::boolean(raw).map(toml::Value::Boolean),
        Kind::Choice { values: allowed } => {
            let text = values::text(raw, "a string in quotes")?;
            if allowed.contains(&text) {
                Ok(toml::Value::String(text.to_owned()))
            } else {
                Err(Problem::new(
                    ErrorKind::NotAllowed,
                    format!("expected one of: {}", allowed.join(", ")),
                ))
            }
        }
        Kind::List { .. } | Kind::Text { .. } => {
            values::text(raw, "a string in quotes").map(|s| toml::Value::String(s.to_owned()))
        }
    }
}

/// The 1-based line of `setting`'s key in the TOML `text`, when written
/// as `key = ...` under its table header (not for inline tables or dotted
/// keys).
fn key_line(text: &str, setting: &Setting) -> Option<usize> {
    let (table, key) = setting.split();
    let mut current = "";
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            current = header.split(']').next().unwrap_or_default().trim();
            continue;
        }
        let written = line
            .split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"'));
        if current == table && written == Some(key) {
            return Some(index + 1);
        }
    }
    None
}
