//! [`Secret`]: a password that does not print itself.

use std::fmt;

/// A password or other secret string.
///
/// `Debug` and `Display` print `********`, so a secret inside a struct that
/// is logged or shown in an error stays hidden; [`Secret::expose`] is the one
/// way to read it, which makes every use easy to find. Deliberately not
/// `PartialEq`: comparing secrets belongs to code that can do it in
/// constant time.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret value. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True if the secret is empty or only white space (PRO-2: a blank
    /// ICP-side password means "same as the set side").
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}
