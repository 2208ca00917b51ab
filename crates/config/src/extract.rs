//! Walks the registry's file settings table by table, takes each value
//! from the highest layer that has one (environment, file, database) and
//! collects every error instead of stopping at the first. serde's derive
//! would stop at the first bad field and could not say which layer a
//! value came from, hence this small extractor.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::{ErrorKind, FieldError, Source};
use crate::model::Config;
use crate::registry::{Access, Registry, Scope, Setting};
use crate::values::Raw;

/// Where a field's effective value came from and how it was written.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub(crate) source: Source,
    pub(crate) value: String,
}

/// The result of a walk: the configuration (defaults where a value was
/// missing or invalid), the errors, and what validation needs to blame the
/// right source.
#[derive(Debug)]
pub(crate) struct Extraction {
    pub(crate) config: Config,
    pub(crate) errors: Vec<FieldError>,
    pub(crate) origins: HashMap<String, Origin>,
    pub(crate) invalid: HashSet<String>,
}

/// Looks up an environment variable.
pub(crate) type Env<'e> = &'e dyn Fn(&str) -> Option<String>;

/// The layers above the defaults, lowest first: database, file,
/// environment.
pub(crate) struct Layers<'a> {
    /// Values stored through the API, by registry key, in file form.
    pub(crate) database: &'a BTreeMap<&'static str, toml::Value>,
    /// The configuration file's path (empty for text given directly).
    pub(crate) path: &'a Path,
    /// The environment.
    pub(crate) env: Env<'a>,
}

struct Walker<'e> {
    path: PathBuf,
    env: Env<'e>,
    database: &'e BTreeMap<&'static str, toml::Value>,
    errors: Vec<FieldError>,
    origins: HashMap<String, Origin>,
    invalid: HashSet<String>,
}

/// Parses `text` as TOML; the error names the file and the line.
pub(crate) fn parse(text: &str, path: &Path) -> Result<toml::Table, FieldError> {
    text.parse::<toml::Table>()
        .map_err(|e| toml_error(text, path, &e))
}

/// Parses `text` as TOML, then walks it without a database layer. A TOML
/// syntax error is the only file error reported in that case (nothing
/// else in the file can be trusted).
#[cfg(test)]
pub(crate) fn from_text(text: &str, path: &Path, env: Env<'_>) -> Extraction {
    let database = BTreeMap::new();
    let layers = Layers {
        database: &database,
        path,
        env,
    };
    match parse(text, path) {
        Ok(root) => walk(&root, &layers),
        Err(e) => {
            let mut extraction = walk(&toml::Table::new(), &layers);
            extraction.errors.insert(0, e);
            extraction
        }
    }
}

fn toml_error(text: &str, path: &Path, e: &toml::de::Error) -> FieldError {
    let location = e.span().map_or_else(String::new, |span| {
        let before = text.get(..span.start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!(" at line {line}, column {column}")
    });
    let file = if path.as_os_str().is_empty() {
        String::new()
    } else {
        format!(" in {}", path.display())
    };
    let detail = e.message().trim().replace('\n', "; ");
    if let Some(bare) = e.span().and_then(|span| unquoted_value(text, span.start)) {
        return FieldError {
            field: dotted(&bare.table, &bare.key),
            value: bare.value.clone(),
            source: Source::File(path.to_owned()),
            kind: ErrorKind::SyntaxError,
            message: format!(
                "not quoted{file} at line {}: addresses, names, ranges and other text are \
                 TOML strings; write {} = \"{}\" (TOML said: {detail})",
                bare.line, bare.key, bare.value
            ),
        };
    }
    FieldError {
        field: String::new(),
        value: String::new(),
        source: Source::File(path.to_owned()),
        kind: ErrorKind::SyntaxError,
        message: format!("invalid TOML{file}{location}: {detail}"),
    }
}

/// A `key = value` line whose value is bare text that TOML cannot read
/// (`address = 10.0.0.5`), the commonest TOML mistake.
struct Unquoted {
    table: String,
    key: String,
    value: String,
    line: usize,
}

/// Finds the unquoted value on the line holding byte `offset` of `text`,
/// with the table it is in, if that line is a `key = value` line whose
/// value is bare text (letters, digits, `.:-+/_*%`) that is not a TOML
/// value on its own (a number, a boolean, a date).
fn unquoted_value(text: &str, offset: usize) -> Option<Unquoted> {
    let before = text.get(..offset)?;
    let line_no = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1)?;
    let (key, value) = line.split_once('=')?;
    let key = key.trim();
    let value = value.split('#').next().unwrap_or_default().trim();
    let bare_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let bare_text = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".:-+/_*%".contains(c));
    if !bare_key || !bare_text || format!("v = {value}").parse::<toml::Table>().is_ok() {
        return None;
    }
    let table = before
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('[') && !l.starts_with("[["))
        .filter_map(|l| l.split(']').next()?.strip_prefix('['))
        .next_back()
        .map_or_else(String::new, |t| t.trim().to_owned());
    Some(Unquoted {
        table,
        key: key.to_owned(),
        value: value.to_owned(),
        line: line_no,
    })
}

/// Walks a parsed file (an empty table when there is none) with the other
/// layers, in the registry's order.
pub(crate) fn walk(root: &toml::Table, layers: &Layers<'_>) -> Extraction {
    let mut w = Walker {
        path: layers.path.to_owned(),
        env: layers.env,
        database: layers.database,
        errors: Vec::new(),
        origins: HashMap::new(),
        invalid: HashSet::new(),
    };
    let mut config = Config::default();
    w.check_top_level(root);
    for (table, _) in Registry::file_tables() {
        let file = if table.is_empty() {
            Some(root)
        } else {
            w.table(root, table)
        };
        for setting in Registry::file_settings().filter(|s| s.split().0 == table) {
            w.take(&mut config, file, setting);
        }
    }
    Extraction {
        config,
        errors: w.errors,
        origins: w.origins,
        invalid: w.invalid,
    }
}

/// `public.sip_port`, or `mode` at the top level.
pub(crate) fn dotted(table: &str, key: &str) -> String {
    if table.is_empty() {
        key.to_owned()
    } else {
        format!("{table}.{key}")
    }
}

impl Walker<'_> {
    /// The sub-table `name`, after reporting its unknown keys. A value of
    /// another type was already reported by `check_top_level`.
    fn table<'t>(&mut self, root: &'t toml::Table, name: &str) -> Option<&'t toml::Table> {
        let table = root.get(name).and_then(toml::Value::as_table)?;
        let known = keys_of(name);
        for (key, value) in table {
            if !known.contains(&key.as_str()) {
                let valid = known.join(", ");
                let message = format!(
                    "[{name}] has no key {key:?}{}; valid keys: {valid}",
                    did_you_mean(key, &known)
                );
                self.file_error(&dotted(name, key), value, ErrorKind::UnknownKey, message);
            }
        }
        Some(table)
    }

    fn check_top_level(&mut self, root: &toml::Table) {
        let top_keys = keys_of("");
        let tables: Vec<&str> = Registry::file_tables()
            .into_iter()
            .map(|(t, _)| t)
            .filter(|t| !t.is_empty())
            .collect();
        for (key, value) in root {
            if top_keys.contains(&key.as_str()) {
                continue;
            }
            if tables.contains(&key.as_str()) {
                if !value.is_table() {
                    let message = format!("expected a table, written [{key}] on its own line");
                    self.file_error(key, value, ErrorKind::WrongType, message);
                }
                continue;
            }
            if let Some(message) = database_only(key) {
                self.file_error(key, value, ErrorKind::UnknownKey, message);
                continue;
            }
            let mut candidates = top_keys.clone();
            candidates.extend(&tables);
            let message = format!(
                "the configuration has no key {key:?}{}; valid top-level keys: {}; tables: [{}]",
                did_you_mean(key, &candidates),
                top_keys.join(", "),
                tables.join("], [")
            );
            self.file_error(key, value, ErrorKind::UnknownKey, message);
        }
    }

    /// Stores the effective value of `setting` in `config`: the
    /// environment variable when set (a file value it overrides is not
    /// checked), else the file, else the database. An invalid value is
    /// recorded as an error and the default stays.
    fn take(&mut self, config: &mut Config, file: Option<&toml::Table>, setting: &Setting) {
        let Access::Config { load, .. } = setting.access else {
            return;
        };
        let field = setting.key;
        let var = setting.env_var();
        let env_value = var.as_deref().and_then(|v| (self.env)(v));
        let key = setting.split().1;
        let file_value = file
            .and_then(|t| t.get(key))
            .filter(|_| setting.scope.file());
        let stored = self
            .database
            .get(field)
            .filter(|_| setting.scope.database());
        let (result, origin) = match (env_value, file_value, stored) {
            (Some(text), _, _) => {
                let result = load(setting, config, Raw::Env(&text));
                let source = Source::Env(var.unwrap_or_default());
                (
                    result,
                    Origin {
                        source,
                        value: text,
                    },
                )
            }
            (None, Some(value), _) => {
                let result = load(setting, config, Raw::Typed(value));
                let source = Source::File(self.path.clone());
                let value = render(value);
                (result, Origin { source, value })
            }
            (None, None, Some(value)) => {
                let result = load(setting, config, Raw::Typed(value));
                let value = render(value);
                (
                    result,
                    Origin {
                        source: Source::Database,
                        value,
                    },
                )
            }
            (None, None, None) => return,
        };
        match result {
            Ok(()) => {
                self.origins.insert(field.to_owned(), origin);
            }
            Err(problem) => {
                self.errors.push(FieldError {
                    field: field.to_owned(),
                    value: origin.value,
                    source: origin.source,
                    kind: problem.kind,
                    message: problem.message,
                });
                self.invalid.insert(field.to_owned());
            }
        }
    }

    fn file_error(&mut self, field: &str, value: &toml::Value, kind: ErrorKind, message: String) {
        self.errors.push(FieldError {
            field: field.to_owned(),
            value: render(value),
            source: Source::File(self.path.clone()),
            kind,
            message,
        });
        self.invalid.insert(field.to_owned());
    }
}

/// The message for a table of settings the file cannot hold (`[guard]`).
fn database_only(table: &str) -> Option<String> {
    let keys: Vec<&str> = Registry::settings()
        .filter(|s| s.scope == Scope::DatabaseOnly && s.split().0 == table)
        .map(|s| s.split().1)
        .collect();
    if keys.is_empty() {
        return None;
    }
    Some(format!(
        "[{table}] settings are kept in the database, not in the file: change them with \
         `outpost {table} set KEY VALUE` (or the API); `outpost settings list` shows them \
         ({})",
        keys.join(", ")
    ))
}

fn keys_of(table: &str) -> Vec<&'static str> {
    Registry::file_tables()
        .into_iter()
        .find(|(name, _)| *name == table)
        .map_or_else(Vec::new, |(_, keys)| keys)
}

/// A value as written in TOML, shortened: a whole table would drown the
/// message.
pub(crate) fn render(value: &toml::Value) -> String {
    match value {
        toml::Value::Table(_) => "{...}".to_owned(),
        other => {
            let text = other.to_string();
            if text.chars().count() > 80 {
                let short: String = text.chars().take(77).collect();
                format!("{short}...")
            } else {
                text
            }
        }
    }
}

/// " (did you mean \"sip_tls_port\"?)" when a valid key is a typo away.
pub(crate) fn did_you_mean(key: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (edit_distance(key, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map_or_else(String::new, |(_, c)| format!(" (did you mean {c:?}?)"))
}

/// Levenshtein distance on characters, case-insensitive.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_typos() {
        assert_eq!(edit_distance("sip_tls_prot", "sip_tls_port"), 2);
        assert_eq!(edit_distance("adress", "address"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("video", "video"), 0);
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        let side_keys = keys_of("public");
        assert_eq!(
            did_you_mean("adress", &side_keys),
            " (did you mean \"address\"?)"
        );
        assert_eq!(did_you_mean("colour", &side_keys), "");
    }

    #[test]
    fn env_var_names_follow_table_and_key() {
        let env_var = |key: &str| Registry::get(key).and_then(Setting::env_var);
        assert_eq!(
            env_var("public.sip_tls_port").as_deref(),
            Some("OUTPOST_PUBLIC_SIP_TLS_PORT")
        );
        assert_eq!(env_var("mode").as_deref(), Some("OUTPOST_MODE"));
        assert_eq!(env_var("data_dir"), None);
        assert_eq!(env_var("guard.dos_threshold"), None);
    }

    #[test]
    fn an_unquoted_value_names_its_key_and_asks_for_quotes() {
        for (text, field, value, line) in [
            (
                "[ipbx]\naddress = 10.0.0.5\nport = 5060\n",
                "ipbx.address",
                "10.0.0.5",
                2,
            ),
            (
                "fqdn = \"a.example\"\n\n[public]\n# IP2\ninterface = 203.0.113.10 # the NIC\n",
                "public.interface",
                "203.0.113.10",
                5,
            ),
            (
                "[private]\naddress = fd00::2\n",
                "private.address",
                "fd00::2",
                2,
            ),
            (
                "fqdn = sbc.example.com\n[public]\n",
                "fqdn",
                "sbc.example.com",
                1,
            ),
            (
                "[public]\nrtp_ports = 20000-20999\n",
                "public.rtp_ports",
                "20000-20999",
                2,
            ),
        ] {
            let e = from_text(text, Path::new("/etc/outpost.toml"), &|_| None);
            assert_eq!(e.errors.len(), 1, "{text}: {:?}", e.errors);
            let error = &e.errors[0];
            assert_eq!(error.field, field, "{error}");
            assert_eq!(error.value, value, "{error}");
            assert_eq!(error.kind, ErrorKind::SyntaxError);
            let shown = error.to_string();
            let key = field.rsplit('.').next().unwrap_or(field);
            for needle in [
                format!("{field} = {value}: syntax error: not quoted in /etc/outpost.toml"),
                format!("line {line}"),
                format!("write {key} = \"{value}\""),
            ] {
                assert!(shown.contains(&needle), "{needle:?} missing: {shown}");
            }
        }
    }

    #[test]
    fn toml_error_has_line_and_column() {
        let text = "mode = \"standard\"\n[public]\naddress = = 1\n";
        let e = from_text(text, Path::new(""), &|_| None);
        assert_eq!(e.errors.len(), 1);
        let message = &e.errors[0].message;
        assert!(message.contains("line 3, column"), "{message}");
        assert_eq!(e.errors[0].kind, ErrorKind::SyntaxError);
    }
}
