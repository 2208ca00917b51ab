//! The one-time setup token for the first administrator (SEC-9: no default
//! password). It is printed once, on the first start, or taken from
//! `OUTPOST_SETUP_TOKEN`; only its SHA-256 digest is stored, so it can never
//! be shown again and never appears in a log.

use outpost_store::{Store, StoreError};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Settings key holding the hex SHA-256 of the setup token.
pub const SETTING_KEY: &str = "admin.setup_token_sha256";

/// Shortest token accepted from the environment: shorter ones are guessable.
pub const MIN_ENV_TOKEN_LEN: usize = 20;

/// What `ensure` did.
#[derive(PartialEq, Eq)]
pub enum SetupToken {
    /// A new token was generated; the caller prints it once.
    Issued(String),
    /// The token given in the environment was recorded.
    FromEnvironment,
    /// A token was issued by an earlier start; nothing to print.
    AlreadyIssued,
}

impl std::fmt::Debug for SetupToken {
    // The token itself must not end up in a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Issued(_) => f.write_str("Issued(********)"),
            Self::FromEnvironment => f.write_str("FromEnvironment"),
            Self::AlreadyIssued => f.write_str("AlreadyIssued"),
        }
    }
}

/// Why no setup token could be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupTokenError {
    /// `OUTPOST_SETUP_TOKEN` is too short.
    #[error(
        "OUTPOST_SETUP_TOKEN (environment): too short ({len} characters); use at least {MIN_ENV_TOKEN_LEN} random characters, or unset it to have one generated"
    )]
    TooShort {
        /// Its length.
        len: usize,
    },
    /// The operating system's random source failed.
    #[error("no random bytes from the operating system: {0}")]
    Random(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn digest_hex(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Makes sure a setup token exists, atomically: two starts racing on the same
/// data directory cannot both print a token.
pub fn ensure(store: &mut Store, from_env: Option<&str>) -> Result<SetupToken, SetupTokenError> {
    if let Some(token) = from_env {
        if token.len() < MIN_ENV_TOKEN_LEN {
            return Err(SetupTokenError::TooShort { len: token.len() });
        }
        store.set_setting(SETTING_KEY, &digest_hex(token))?;
        return Ok(SetupToken::FromEnvironment);
    }
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| SetupTokenError::Random(e.to_string()))?;
    let token = hex::encode(bytes);
    if store.set_setting_if_absent(SETTING_KEY, &digest_hex(&token))? {
        Ok(SetupToken::Issued(token))
    } else {
        Ok(SetupToken::AlreadyIssued)
    }
}

/// Checks a presented token in constant time.
pub fn verify(store: &Store, presented: &str) -> Result<bool, StoreError> {
    let Some(expected) = store.setting(SETTING_KEY)? else {
        return Ok(false);
    };
    let presented = digest_hex(presented);
    Ok(bool::from(presented.as_bytes().ct_eq(expected.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_once_and_verifiable() {
        let mut store = Store::open_in_memory().unwrap();
        let SetupToken::Issued(token) = ensure(&mut store, None).unwrap() else {
            panic!("first start must issue a token");
        };
        assert!(token.len() >= 40);
        assert_eq!(ensure(&mut store, None).unwrap(), SetupToken::AlreadyIssued);
        assert!(verify(&store, &token).unwrap());
        assert!(!verify(&store, "wrong").unwrap());
        assert!(!format!("{:?}", SetupToken::Issued(token.clone())).contains(&token));
    }

    #[test]
    fn environment_token_is_recorded_and_short_ones_refused() {
        let mut store = Store::open_in_memory().unwrap();
        let err = ensure(&mut store, Some("short")).unwrap_err();
        assert!(err.to_string().contains("OUTPOST_SETUP_TOKEN"));
        let token = "0123456789abcdef0123456789";
        assert_eq!(
            ensure(&mut store, Some(token)).unwrap(),
            SetupToken::FromEnvironment
        );
        assert!(verify(&store, token).unwrap());
    }
}
