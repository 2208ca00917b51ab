//! Names of the files an operator uploads next to the generated ones
//! (issue 15 item 2, SPEC PRO-5): `startup.cfg` (the global file of newer
//! firmware), per-model files (`<model>.cfg`, e.g. `6867i.cfg`) and
//! firmware images (e.g. `6867i.st`).
//!
//! The rules are the extra file's ([`ExtraFileName`]: a plain, portable
//! name of at most 64 bytes that is not `aastra.cfg` nor a phone's
//! `<MAC>.cfg`), plus: a startup file is named `startup.cfg`; a model file
//! ends in `.cfg` and is not `startup.cfg`. (Like the extra file, nothing
//! takes the CA file's name, `outpost-ca.pem`, which Outpost generates
//! from its certificate.)

use crate::global_csv::{ExtraFileName, ExtraFileNameError, STARTUP_FILE_NAME};

/// Largest firmware image accepted, in bytes.
pub const MAX_FIRMWARE_BYTES: usize = 64 * 1024 * 1024;
/// Largest startup or model file accepted, in bytes.
pub const MAX_TEXT_UPLOAD_BYTES: usize = 1024 * 1024;

/// What an uploaded file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    /// `startup.cfg`.
    Startup,
    /// A per-model file, `<model>.cfg`.
    Model,
    /// A firmware image.
    Firmware,
}

impl UploadKind {
    /// `startup`, `model` or `firmware`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Startup => "startup",
            Self::Model => "model",
            Self::Firmware => "firmware",
        }
    }

    /// The kind named `startup`, `model` or `firmware` (any case).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Startup, Self::Model, Self::Firmware]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The largest file of this kind, in bytes.
    #[must_use]
    pub const fn max_bytes(self) -> usize {
        match self {
            Self::Firmware => MAX_FIRMWARE_BYTES,
            Self::Startup | Self::Model => MAX_TEXT_UPLOAD_BYTES,
        }
    }
}

/// Why a name cannot be used for an upload. Messages say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UploadNameError {
    /// A rule shared with the extra file.
    #[error("{0}")]
    Name(#[from] ExtraFileNameError),
    /// A startup file under another name.
    #[error("a startup file is named {STARTUP_FILE_NAME}, not {given:?}; leave --name out")]
    StartupName {
        /// The name given.
        given: String,
    },
    /// A model file not ending in `.cfg`.
    #[error("a model file is named <model>.cfg (e.g. 6867i.cfg), not {given:?}")]
    ModelSuffix {
        /// The name given.
        given: String,
    },
}

/// A checked upload name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadName(String);

impl UploadName {
    /// Checks `name` for a file of `kind` (rules in the module docs).
    ///
    /// # Errors
    /// The first rule broken, as an [`UploadNameError`].
    pub fn parse(kind: UploadKind, name: &str) -> Result<Self, UploadNameError> {
        if kind == UploadKind::Startup {
            return if name.eq_ignore_ascii_case(STARTUP_FILE_NAME) {
                Ok(Self(STARTUP_FILE_NAME.to_owned()))
            } else {
                Err(UploadNameError::StartupName {
                    given: name.chars().take(80).collect(),
                })
            };
        }
        let checked = ExtraFileName::parse(name)?;
        let lower = name.to_ascii_lowercase();
        if kind == UploadKind::Model && (!lower.ends_with(".cfg") || lower == ".cfg") {
            return Err(UploadNameError::ModelSuffix {
                given: name.to_owned(),
            });
        }
        Ok(Self(checked.as_str().to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_names() {
        assert_eq!(UploadKind::parse("Firmware"), Some(UploadKind::Firmware));
        assert_eq!(UploadKind::parse("phone"), None);
        assert_eq!(
            UploadName::parse(UploadKind::Startup, "STARTUP.cfg")
                .unwrap()
                .as_str(),
            "startup.cfg"
        );
        assert!(UploadName::parse(UploadKind::Model, "6867i.cfg").is_ok());
        assert!(UploadName::parse(UploadKind::Firmware, "6867i.st").is_ok());
    }

    #[test]
    fn refused_names() {
        use UploadKind::{Firmware, Model, Startup};
        for (kind, name) in [
            (Startup, "aastra.cfg"),
            (Model, "6867i.st"),
            (Model, "startup.cfg"),
            (Model, "aastra.cfg"),
            (Model, "00085D237429.cfg"),
            (Firmware, "../x.st"),
            (Firmware, "a/b.st"),
            (Firmware, ".hidden"),
            (Firmware, "OUTPOST-CA.pem"),
            (Firmware, ""),
            (Firmware, "a b.st"),
        ] {
            assert!(UploadName::parse(kind, name).is_err(), "{kind:?} {name:?}");
        }
        assert_eq!(
            UploadName::parse(Firmware, "../x"),
            Err(UploadNameError::Name(ExtraFileNameError::PathSeparator))
        );
    }
}
