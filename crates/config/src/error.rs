//! Configuration errors: every problem found in one load, each naming the
//! field, the value as given and where it came from (NET-3).

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// Every problem found while loading a configuration, in the order found.
/// Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", render_all(.0))]
pub struct ConfigErrors(pub Vec<FieldError>);

impl ConfigErrors {
    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no error (never the case for a returned error).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The errors in the order found.
    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.0.iter()
    }

    /// The errors about one field (e.g. `public.address`).
    pub fn for_field<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a FieldError> + 'a {
        self.0.iter().filter(move |e| e.field == field)
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

fn render_all(errors: &[FieldError]) -> String {
    let mut out = match errors.len() {
        1 => "invalid configuration (1 error):".to_owned(),
        n => format!("invalid configuration ({n} errors):"),
    };
    for error in errors {
        out.push_str("\n  ");
        out.push_str(&error.to_string());
    }
    out
}

/// One problem with one field.
///
/// `Display` and `Error` are written by hand rather than derived with
/// `thiserror`: `thiserror` takes a field named `source` as the error's
/// cause, and here `source` is where the value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted field name, e.g. `public.address`; empty for errors about the
    /// whole file (unreadable, TOML syntax).
    pub field: String,
    /// The value as given: TOML syntax for file values (strings quoted),
    /// the raw string for environment values, empty when the field is not
    /// set.
    pub value: String,
    /// Where the value came from.
    pub source: Source,
    /// The class of problem.
    pub kind: ErrorKind,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            field,
            value,
            source,
            kind,
            message,
        } = self;
        match source {
            Source::Env(var) => {
                write!(f, "{var}={} (environment, {field})", quote_if_needed(value))?;
            }
            _ if field.is_empty() => return write!(f, "{kind}: {message}"),
            Source::File(_) | Source::Api => write!(f, "{field} = {value}")?,
            Source::Database => write!(f, "{field} = {value} (stored in the database)")?,
            Source::Default if value.is_empty() => write!(f, "{field} (not set)")?,
            Source::Default => write!(f, "{field} = {value} (default)")?,
        }
        write!(f, ": {kind}: {message}")
    }
}

impl std::error::Error for FieldError {}

/// Environment values are shown raw, unless blanks would hide in them.
fn quote_if_needed(value: &str) -> String {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"');
    if plain {
        value.to_owned()
    } else {
        format!("{value:?}")
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The configuration file at this path (empty when the text was given
    /// directly, see [`crate::Config::from_toml_str`]).
    File(PathBuf),
    /// This environment variable (OPS-1 overrides).
    Env(String),
    /// The built-in default.
    Default,
    /// A value stored in the database (changed through the API).
    Database,
    /// A value proposed through the API, not stored yet.
    Api,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) if path.as_os_str().is_empty() => f.write_str("configuration text"),
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Env(var) => write!(f, "environment variable {var}"),
            Self::Default => f.write_str("default"),
            Self::Database => f.write_str("database"),
            Self::Api => f.write_str("API request"),
        }
    }
}

/// The class of a configuration problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Malformed: not an address, not `FIRST-LAST`, invalid TOML...
    SyntaxError,
    /// A number outside its allowed bounds (the message gives them).
    OutOfBounds,
    /// Well-formed but refused (0.0.0.0, udp/tcp on the public side, an
    /// unknown enum value...).
    NotAllowed,
    /// A key the configuration does not have (a typo, usually).
    UnknownKey,
    /// A value of the wrong TOML type (a string where a port number goes).
    WrongType,
    /// Fields that do not fit together (daisy chain without a peer).
    Inconsistent,
    /// Two listeners or ranges that would bind the same port.
    Conflict,
    /// The configuration file cannot be read.
    Unreadable,
}

impl ErrorKind {
    /// The words used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SyntaxError => "syntax error",
            Self::OutOfBounds => "out of bounds",
            Self::NotAllowed => "not allowed",
            Self::UnknownKey => "unknown key",
            Self::WrongType => "wrong type",
            Self::Inconsistent => "inconsistent",
            Self::Conflict => "conflict",
            Self::Unreadable => "unreadable",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
