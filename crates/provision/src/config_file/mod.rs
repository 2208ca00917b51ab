//! The phone configuration syntax (SPEC PRO-5): a model of a configuration
//! file, its writer and its strict reader.
//!
//! ```text
//! # comment
//! sip proxy ip: gateway.example.com
//! !sip line1 user name: 7000          <- '!' locks the parameter on the phone
//! sip line1 screen name: "Desk #2"    <- a value with '#' or '|' is quoted
//! ```
//!
//! The seeds show the files only by name (`aastra.cfg`, `mac.cfg`: seed 001
//! §2 and §6.4.2.1, seed 004 §9.4) and the `!` lock in CSV column names
//! (seed 001 §6.3: `!sip line1 user name`); the line syntax and the quoting
//! rule come from SPEC PRO-5. Where neither says, this module decides, and
//! the decisions are written here so that writer, reader and tests agree:
//!
//! - One `name: value` per line; `!` directly before the name locks it.
//!   Names are ASCII letters, digits, spaces and `- _ . /`, start with a
//!   letter or digit, at most [`MAX_NAME_LEN`] bytes. The phone compares
//!   names without regard to case, so [`ConfigFile::get`] does too.
//! - The writer quotes a value in double quotes when it contains `#` or `|`
//!   (PRO-5), when it starts or ends with white space (an unquoted value is
//!   trimmed) or when it starts with `"` (it would read as quoted). There is
//!   no escape: a quoted value runs from the first `"` to the last `"` of
//!   the line, so it may itself contain quotes.
//! - The reader takes an unquoted value up to the first `#` (the rest of
//!   the line is a comment, as the phone reads it) and trims it; it accepts
//!   an unquoted `|`, because the vendor's own examples lock
//!   `emergency dial plan: 911|999` unquoted. After a quoted value only
//!   white space may follow.
//! - `#` starts a comment line; blank lines are kept as blank lines, so that
//!   a file the writer produced reads back to the same [`ConfigFile`].
//! - Values are one line of text: no line breaks or other control
//!   characters except tab, at most [`MAX_VALUE_LEN`] bytes. The writer
//!   cannot produce a line the reader refuses, because [`Parameter::new`]
//!   refuses what cannot be written.
//! - LF line ends on output; LF or CRLF on input, and a leading UTF-8 byte
//!   order mark is skipped. Files are at most
//!   [`MAX_CONFIG_BYTES`] (a generated phone file is well under 1 KiB, a
//!   vendor global file tens of KiB).
//!
//! Duplicate names are allowed in a file (the phone keeps the last one);
//! the CSV importers refuse duplicates before they get here.

mod error;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;

pub use error::{ConfigError, ParameterError};

/// Longest parameter name, in bytes (the vendor's longest are around 40).
pub const MAX_NAME_LEN: usize = 128;
/// Longest value, in bytes (URLs and certificate file lists fit easily).
pub const MAX_VALUE_LEN: usize = 4096;
/// Largest configuration file the reader accepts, in bytes.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// One `name: value` setting.
#[derive(Clone, PartialEq, Eq)]
pub struct Parameter {
    name: String,
    value: String,
    locked: bool,
}

impl Parameter {
    /// An unlocked parameter.
    ///
    /// # Errors
    /// A [`ParameterError`] if the name or value cannot be written (see the
    /// module docs).
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Result<Self, ParameterError> {
        let name = name.into();
        let value = value.into();
        check_name(&name)?;
        check_value(&name, &value)?;
        Ok(Self {
            name,
            value,
            locked: false,
        })
    }

    /// A parameter locked on the phone (`!name: value`): the user cannot
    /// change it from the phone's menus or web interface.
    ///
    /// # Errors
    /// As [`Parameter::new`].
    pub fn new_locked(
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, ParameterError> {
        Ok(Self {
            locked: true,
            ..Self::new(name, value)?
        })
    }

    /// The name, as written (without the `!`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value, unquoted.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether the parameter is locked (`!`).
    #[must_use]
    pub const fn is_locked(&self) -> bool {
        self.locked
    }

    /// Whether this parameter has `name`, compared as the phone does
    /// (ASCII case-insensitive).
    #[must_use]
    pub fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// Values of parameters whose name says they hold a secret are not shown by
/// `Debug`, so that a logged file or a failed test does not print them.
impl fmt::Debug for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = if is_secret_name(&self.name) {
            &"<redacted>"
        } else {
            &self.value
        };
        f.debug_struct("Parameter")
            .field("name", &self.name)
            .field("value", value)
            .field("locked", &self.locked)
            .finish()
    }
}

/// Whether a parameter name holds a secret (`sip line1 password`,
/// `admin password`...): such values are never shown in errors or `Debug`.
#[must_use]
pub fn is_secret_name(name: &str) -> bool {
    name.to_ascii_lowercase().contains("password")
}

/// One line of a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `[!]name: value`.
    Parameter(Parameter),
    /// `#text`; the text is what follows the `#`, spaces included.
    Comment(String),
    /// An empty line.
    Blank,
}

/// A configuration file: lines in the order they are written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigFile {
    lines: Vec<Line>,
}

impl ConfigFile {
    /// An empty file.
    #[must_use]
    pub const fn new() -> Self {
        Self { lines: Vec::new() }
    }

    /// Reads a file (syntax in the module docs), refusing anything the
    /// writer would not produce except comments after unquoted values,
    /// leading white space, an unquoted `|` and CRLF line ends.
    ///
    /// # Errors
    /// The first problem, as a [`ConfigError`] naming its line.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        parse::parse(text)
    }

    /// [`ConfigFile::parse`] on bytes, reporting the line of the first
    /// bytes that are not UTF-8.
    ///
    /// # Errors
    /// As [`ConfigFile::parse`], plus [`ConfigError::NotUtf8`].
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, ConfigError> {
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge { size: bytes.len() });
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => parse::parse(text),
            Err(e) => {
                let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
                let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
                Err(ConfigError::NotUtf8 { line })
            }
        }
    }

    /// Appends a parameter.
    pub fn push(&mut self, parameter: Parameter) {
        self.lines.push(Line::Parameter(parameter));
    }

    /// Appends a comment line (`#` then `text`).
    ///
    /// # Errors
    /// [`ParameterError::CommentControl`] if `text` has a line break or
    /// another control character.
    pub fn push_comment(&mut self, text: impl Into<String>) -> Result<(), ParameterError> {
        let text = text.into();
        if let Some(c) = text.chars().find(|&c| is_forbidden_control(c)) {
            return Err(ParameterError::CommentControl { code: u32::from(c) });
        }
        self.lines.push(Line::Comment(text));
        Ok(())
    }

    /// Appends an empty line.
    pub fn push_blank(&mut self) {
        self.lines.push(Line::Blank);
    }

    /// Every line, in order.
    #[must_use]
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The parameters, in order.
    pub fn parameters(&self) -> impl Iterator<Item = &Parameter> {
        self.lines.iter().filter_map(|line| match line {
            Line::Parameter(p) => Some(p),
            Line::Comment(_) | Line::Blank => None,
        })
    }

    /// The parameter the phone would apply for `name`: the last one with
    /// that name, compared without regard to ASCII case.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Parameter> {
        self.parameters().filter(|p| p.is_named(name)).last()
    }

    /// The file's text, deterministic: the lines in the order given, each
    /// ending with LF.
    #[must_use]
    pub fn render(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            match line {
                Line::Parameter(p) => {
                    if p.locked {
                        f.write_str("!")?;
                    }
                    f.write_str(&p.name)?;
                    f.write_str(":")?;
                    if !p.value.is_empty() {
                        f.write_str(" ")?;
                        if needs_quotes(&p.value) {
                            write!(f, "\"{}\"", p.value)?;
                        } else {
                            f.write_str(&p.value)?;
                        }
                    }
                }
                Line::Comment(text) => write!(f, "#{text}")?,
                Line::Blank => {}
            }
            f.write_str("\n")?;
        }
        Ok(())
    }
}

impl FromIterator<Parameter> for ConfigFile {
    fn from_iter<I: IntoIterator<Item = Parameter>>(iter: I) -> Self {
        Self {
            lines: iter.into_iter().map(Line::Parameter).collect(),
        }
    }
}

/// Whether the writer must quote `value` (rules in the module docs).
fn needs_quotes(value: &str) -> bool {
    value.contains(['#', '|'])
        || value.starts_with('"')
        || value.starts_with([' ', '\t'])
        || value.ends_with([' ', '\t'])
}

/// Control characters other than tab break a line or the phone's parser.
fn is_forbidden_control(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// Name rules (module docs).
fn check_name(name: &str) -> Result<(), ParameterError> {
    let Some(first) = name.chars().next() else {
        return Err(ParameterError::EmptyName);
    };
    if name.len() > MAX_NAME_LEN {
        return Err(ParameterError::NameTooLong { len: name.len() });
    }
    if !first.is_ascii_alphanumeric() {
        return Err(ParameterError::NameStart {
            name: name.to_owned(),
            found: first,
        });
    }
    if let Some(found) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '/')))
    {
        return Err(ParameterError::NameChar {
            name: name.to_owned(),
            found,
        });
    }
    if name.ends_with(' ') {
        return Err(ParameterError::NameTrailingSpace {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Checks a parameter name alone (the CSV importers check column names
/// with it before any row is read).
///
/// # Errors
/// As [`Parameter::new`] for the name.
pub fn check_parameter_name(name: &str) -> Result<(), ParameterError> {
    check_name(name)
}

/// Value rules (module docs).
fn check_value(name: &str, value: &str) -> Result<(), ParameterError> {
    if value.len() > MAX_VALUE_LEN {
        return Err(ParameterError::ValueTooLong {
            name: name.to_owned(),
            len: value.len(),
        });
    }
    if let Some(c) = value.chars().find(|&c| is_forbidden_control(c)) {
        return Err(ParameterError::ValueControl {
            name: name.to_owned(),
            code: u32::from(c),
        });
    }
    Ok(())
}
