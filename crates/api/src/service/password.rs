//! Administrator passwords: the policy, argon2id hashing and checking, and
//! [`Password`], an input string that never prints itself.
//!
//! Hashes are argon2id (RFC 9106) PHC strings with the `argon2` crate's
//! default parameters, which are OWASP's recommendation: m = 19 MiB
//! (19456 KiB), t = 2 iterations, p = 1 lane, a random 16-byte salt and a
//! 32-byte output. The parameters are written into each hash, so raising
//! them later still verifies old hashes.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Deserializer};

use super::ServiceError;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password, in characters (hashing is costly enough).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// A password (or other secret) from a request or a prompt.
///
/// `Debug` prints `********`; there is no `Serialize` and no `Display`, so
/// it cannot reach a log, a response or the audit log by accident.
#[derive(Clone, Default)]
pub struct Password(String);

impl Password {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("********")
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// Checks the policy: at least [`MIN_PASSWORD_CHARS`] characters, at most
/// [`MAX_PASSWORD_CHARS`], not only white space. `field` names it in the
/// error.
pub fn check_policy(field: &str, password: &Password) -> Result<(), ServiceError> {
    let chars = password.0.chars().count();
    if password.0.trim().is_empty() {
        return Err(ServiceError::invalid(
            field,
            format!("empty; choose a password of at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if chars < MIN_PASSWORD_CHARS {
        return Err(ServiceError::invalid(
            field,
            format!(
                "too short ({chars} characters); use at least {MIN_PASSWORD_CHARS} \
                 characters, e.g. four or five random words"
            ),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(ServiceError::invalid(
            field,
            format!("too long; at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Hashes `password` with argon2id and a fresh random salt.
///
/// # Errors
/// [`ServiceError::Internal`] if the random source or the hasher fails.
pub fn hash(password: &Password) -> Result<String, ServiceError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| ServiceError::Internal(format!("no random bytes for a salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| ServiceError::Internal(format!("encoding a salt: {e}")))?;
    argon2()
        .hash_password(password.0.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("hashing a password: {e}")))
}

/// Whether `password` matches the PHC string `stored` (constant time in
/// the password, as argon2's verifier compares outputs in constant time).
/// A stored value that does not parse matches nothing.
pub fn verify(password: &Password, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        argon2()
            .verify_password(password.0.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Spends the time of one verification against a hash nobody knows the
/// password of, so that a login for an unknown name takes as long as one
/// for a known name with a wrong password (no name enumeration by timing).
pub fn verify_dummy(password: &Password) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(stored) = DUMMY.get_or_init(|| hash(&Password::new("dummy password!")).ok()) {
        let _ = verify(password, stored);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_with_default_parameters_and_verifies() {
        let password = Password::new("correct horse battery");
        let stored = hash(&password).unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(!stored.contains("correct horse"));
        assert!(verify(&password, &stored));
        assert!(!verify(&Password::new("correct horse batterY"), &stored));
        assert!(!verify(&password, "not a hash"));
        assert_ne!(stored, hash(&password).unwrap(), "salted");
    }

    #[test]
    fn policy_names_the_field_and_the_minimum() {
        let err = check_policy("new_password", &Password::new("short")).unwrap_err();
        assert_eq!(err.field(), Some("new_password"));
        assert!(err.to_string().contains("at least 12"), "{err}");
        assert!(check_policy("password", &Password::new("            ")).is_err());
        assert!(check_policy("password", &Password::new("twelve chars")).is_ok());
        assert_eq!(format!("{:?}", Password::new("secret")), "********");
    }
}
