//! Errors of the configuration syntax: a parameter that cannot be written
//! ([`ParameterError`]) and a file that cannot be read ([`ConfigError`]).
//!
//! Messages name the line and what to change. They never quote a value:
//! values include passwords (`sip line1 password`), and errors end up in
//! API answers and logs.

use super::{MAX_CONFIG_BYTES, MAX_NAME_LEN, MAX_VALUE_LEN};

/// Why a name, value or comment cannot be put in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParameterError {
    /// The name is empty.
    #[error("the parameter name is empty; write it before the ':' (e.g. sip proxy ip: ...)")]
    EmptyName,
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    #[error("the parameter name is {len} bytes long; names are at most {MAX_NAME_LEN}")]
    NameTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The name does not start with a letter or digit (a space after `!`,
    /// a stray quote, a `^` prefix...).
    #[error(
        "the parameter name {name:?} starts with {found:?}; a name starts with a letter or \
         digit, right after the '!' that locks it"
    )]
    NameStart {
        /// The name as written.
        name: String,
        /// Its first character.
        found: char,
    },
    /// The name contains a character outside letters, digits, spaces and
    /// `- _ . /`.
    #[error(
        "the parameter name {name:?} contains {found:?}; names are made of letters, digits, \
         spaces and - _ . / (e.g. sip line1 user name)"
    )]
    NameChar {
        /// The name as written.
        name: String,
        /// The first character not allowed.
        found: char,
    },
    /// The name ends with white space (a programming error; the reader
    /// trims it).
    #[error("the parameter name {name:?} ends with white space; remove it")]
    NameTrailingSpace {
        /// The name as written.
        name: String,
    },
    /// The value is longer than [`MAX_VALUE_LEN`] bytes.
    #[error("the value of {name:?} is {len} bytes long; values are at most {MAX_VALUE_LEN}")]
    ValueTooLong {
        /// The parameter's name.
        name: String,
        /// The value's length in bytes.
        len: usize,
    },
    /// The value contains a line break or another control character, which
    /// would split or corrupt the line (a spreadsheet cell may hold one).
    #[error(
        "the value of {name:?} contains a line break or control character (U+{code:04X}); \
         a value is one line of text"
    )]
    ValueControl {
        /// The parameter's name.
        name: String,
        /// The character's code point.
        code: u32,
    },
    /// A comment contains a line break or another control character.
    #[error(
        "a comment contains a line break or control character (U+{code:04X}); a comment is one line"
    )]
    CommentControl {
        /// The character's code point.
        code: u32,
    },
}

/// Why a configuration file cannot be read. Lines are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file is larger than [`MAX_CONFIG_BYTES`].
    #[error("the file is {size} bytes; configuration files are at most {MAX_CONFIG_BYTES} bytes")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
    },
    /// The line is not UTF-8.
    #[error("line {line}: not valid UTF-8 text; save the file as UTF-8")]
    NotUtf8 {
        /// The line.
        line: usize,
    },
    /// A line that is neither blank, a `#` comment nor `name: value`.
    #[error(
        "line {line}: no ':' after the parameter name; write 'parameter name: value', or start \
         the line with '#' to make it a comment"
    )]
    MissingColon {
        /// The line.
        line: usize,
    },
    /// A value that opens a double quote and does not close it at the end
    /// of the line.
    #[error(
        "line {line}: the value opens a double quote that does not close at the end of the \
         line; end the line with '\"' (comments after a quoted value are not allowed, put \
         them on their own line)"
    )]
    UnterminatedQuote {
        /// The line.
        line: usize,
    },
    /// The name, value or comment on the line is not allowed.
    #[error("line {line}: {problem}")]
    Parameter {
        /// The line.
        line: usize,
        /// What is wrong with it.
        problem: ParameterError,
    },
}

impl ConfigError {
    /// The 1-based line the problem is on, if it is on one.
    #[must_use]
    pub const fn line(&self) -> Option<usize> {
        match self {
            Self::TooLarge { .. } => None,
            Self::NotUtf8 { line }
            | Self::MissingColon { line }
            | Self::UnterminatedQuote { line }
            | Self::Parameter { line, .. } => Some(*line),
        }
    }
}
