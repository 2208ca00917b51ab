//! The one extra file (template or certificate) that may be uploaded with a
//! deployment, and the checks on its name.
//!
//! Terminal management takes "un seul fichier" per operation in its "Autre
//! fichier, template, certificat" field, e.g. a template `6xxxi.cfg` or a
//! certificate `ca.crt` / `CA_Mitel.pem` (seed 004 §6.1, seed 001
//! §6.4.2.1), and checks its name: "ce fichier ne peut pas être un fichier
//! de données globales, donc le nom doit être différent de aastra.cfg"
//! (seed 004 §6.1). Outpost serves the file under the hash path next to
//! the generated ones, so the name must also:
//!
//! - not be the global file (`aastra.cfg`) nor its newer-firmware twin
//!   (`startup.cfg`), compared without regard to case because phones and
//!   some file systems do not tell case apart;
//! - not be a phone's own `<MAC>.cfg`, which the remote-worker import owns,
//!   nor `outpost-ca.pem`, the CA file Outpost serves from its certificate;
//! - stay in the directory: no `/` or `\`, no `..`, no leading `.` (hidden
//!   files, `.` and `..` themselves);
//! - use a portable charset: ASCII letters, digits, `.`, `_`, `-`, which
//!   covers the vendor's names and cannot carry URL or shell syntax;
//! - be at most [`MAX_EXTRA_FILE_NAME_LEN`] bytes.

use std::fmt;

use crate::mac::Mac;

use super::{GLOBAL_FILE_NAME, STARTUP_FILE_NAME};

/// Longest extra file name, in bytes.
pub const MAX_EXTRA_FILE_NAME_LEN: usize = 64;

/// Why a name cannot be used for the extra file. The message says what
/// names are allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtraFileNameError {
    /// No name.
    #[error("the file has no name; name it, e.g. CA_Mitel.pem or 6867i.cfg")]
    Empty,
    /// Longer than [`MAX_EXTRA_FILE_NAME_LEN`].
    #[error("the file name is {len} bytes long; names are at most {MAX_EXTRA_FILE_NAME_LEN}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A `/` or `\`: the file would land in another directory.
    #[error(
        "the file name contains a path separator; upload a plain file name, without directories"
    )]
    PathSeparator,
    /// `..` in the name.
    #[error("the file name contains '..'; upload a plain file name")]
    DotDot,
    /// A leading `.`.
    #[error("the file name starts with '.'; hidden files are not served, rename it")]
    Hidden,
    /// A character outside the portable set.
    #[error(
        "the file name contains {found:?}; use letters, digits, '.', '_' and '-' \
         (e.g. CA_Mitel.pem)"
    )]
    BadChar {
        /// The first character not allowed.
        found: char,
    },
    /// The global file's name.
    #[error(
        "{name} is the global configuration file; import it as the global CSV, or rename \
         the extra file"
    )]
    GlobalFile {
        /// The reserved name it matches.
        name: &'static str,
    },
    /// The CA file's name, which Outpost serves from its certificate.
    #[error(
        "{} is the CA file Outpost serves from its own certificate; rename the file",
        crate::device_file::CA_FILE_NAME
    )]
    CaFile,
    /// A phone's own file name.
    #[error(
        "{mac}.cfg is the configuration file of phone {mac}; import phone parameters with \
         the remote-worker CSV, or rename the extra file"
    )]
    PhoneFile {
        /// The phone.
        mac: Mac,
    },
}

/// A checked name for the extra file.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtraFileName(String);

impl ExtraFileName {
    /// Checks `name` (rules in the module docs).
    ///
    /// # Errors
    /// The first rule it breaks, as an [`ExtraFileNameError`].
    pub fn parse(name: &str) -> Result<Self, ExtraFileNameError> {
        if name.is_empty() {
            return Err(ExtraFileNameError::Empty);
        }
        // Escaping the directory is checked before anything else so that
        // the error names the real danger.
        if name.contains(['/', '\\']) {
            return Err(ExtraFileNameError::PathSeparator);
        }
        if name.contains("..") {
            return Err(ExtraFileNameError::DotDot);
        }
        if name.starts_with('.') {
            return Err(ExtraFileNameError::Hidden);
        }
        if name.len() > MAX_EXTRA_FILE_NAME_LEN {
            return Err(ExtraFileNameError::TooLong { len: name.len() });
        }
        if let Some(found) = name
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(ExtraFileNameError::BadChar { found });
        }
        for reserved in [GLOBAL_FILE_NAME, STARTUP_FILE_NAME] {
            if name.eq_ignore_ascii_case(reserved) {
                return Err(ExtraFileNameError::GlobalFile { name: reserved });
            }
        }
        if name.eq_ignore_ascii_case(crate::device_file::CA_FILE_NAME) {
            return Err(ExtraFileNameError::CaFile);
        }
        let lower = name.to_ascii_lowercase();
        if let Some(mac) = Mac::from_file_name(&lower) {
            return Err(ExtraFileNameError::PhoneFile { mac });
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExtraFileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ExtraFileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExtraFileName({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_files_name_is_outposts() {
        assert_eq!(
            ExtraFileName::parse("Outpost-CA.pem"),
            Err(ExtraFileNameError::CaFile)
        );
    }

    #[test]
    fn the_seeds_names_are_accepted() {
        for name in [
            "CA_Mitel.pem",
            "ca.crt",
            "6867i.cfg",
            "modele.cfg",
            "6xxxi.cfg",
            "a",
        ] {
            assert_eq!(ExtraFileName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn the_global_file_cannot_be_replaced() {
        for name in ["aastra.cfg", "AASTRA.CFG", "startup.cfg", "Startup.Cfg"] {
            assert!(
                matches!(
                    ExtraFileName::parse(name),
                    Err(ExtraFileNameError::GlobalFile { .. })
                ),
                "{name}"
            );
        }
        let message = ExtraFileName::parse("aastra.cfg").unwrap_err().to_string();
        assert!(message.starts_with("aastra.cfg is the global"), "{message}");
    }

    #[test]
    fn a_phone_file_cannot_be_replaced() {
        let mac = Mac::parse("00085D237429").unwrap();
        for name in ["00085D237429.cfg", "00085d237429.cfg", "00085D237429.CFG"] {
            assert_eq!(
                ExtraFileName::parse(name),
                Err(ExtraFileNameError::PhoneFile { mac }),
                "{name}"
            );
        }
    }

    #[test]
    fn names_stay_in_the_directory() {
        let cases: &[(&str, ExtraFileNameError)] = &[
            ("", ExtraFileNameError::Empty),
            ("../aastra.cfg", ExtraFileNameError::PathSeparator),
            ("certs/ca.pem", ExtraFileNameError::PathSeparator),
            ("..\\ca.pem", ExtraFileNameError::PathSeparator),
            ("/etc/passwd", ExtraFileNameError::PathSeparator),
            ("..", ExtraFileNameError::DotDot),
            ("ca..pem", ExtraFileNameError::DotDot),
            (".", ExtraFileNameError::Hidden),
            (".htaccess", ExtraFileNameError::Hidden),
            ("ca pem", ExtraFileNameError::BadChar { found: ' ' }),
            ("ca%2fpem", ExtraFileNameError::BadChar { found: '%' }),
            ("café.pem", ExtraFileNameError::BadChar { found: 'é' }),
            ("ca\0.pem", ExtraFileNameError::BadChar { found: '\0' }),
        ];
        for (name, expected) in cases {
            assert_eq!(
                ExtraFileName::parse(name).as_ref(),
                Err(expected),
                "{name:?}"
            );
        }
        let long = "a".repeat(MAX_EXTRA_FILE_NAME_LEN + 1);
        assert_eq!(
            ExtraFileName::parse(&long),
            Err(ExtraFileNameError::TooLong {
                len: MAX_EXTRA_FILE_NAME_LEN + 1
            })
        );
        assert!(ExtraFileName::parse(&"a".repeat(MAX_EXTRA_FILE_NAME_LEN)).is_ok());
    }
}
