//! The one-time setup token for the first administrator (SEC-9: no default
//! password). It is printed once, on the first start that succeeds, or taken
//! from `OUTPOST_SETUP_TOKEN`; only its SHA-256 digest is stored, so it can
//! never be shown again and never appears in a log.
//!
//! A start [`prepare`]s the token before binding its listeners and
//! [`commit`]s it (stores the digest, then prints the token) only once the
//! service is up: a start that fails, on a port conflict say, spends nothing
//! and the next start prints a new one. The commit is atomic, so of two
//! starts racing on one data directory exactly one prints a token.
//!
//! While no administrator account exists, whoever can open the database
//! (the user owning the data directory: root or the service user) can
//! [`issue_new`] a token, which replaces the stored digest so the previous
//! token stops working (`outpost admin setup-token --new`).

use outpost_store::{Store, StoreError};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Settings key holding the hex SHA-256 of the setup token (the store's,
/// which spends it when the first account is created).
pub const SETTING_KEY: &str = outpost_store::SETUP_TOKEN_SETTING;

/// Shortest token accepted from the environment: shorter ones are guessable.
pub const MIN_ENV_TOKEN_LEN: usize = 20;

/// Random bytes in a generated token (printed as twice as many hex digits).
const TOKEN_BYTES: usize = 24;

/// A token a start has prepared and not stored yet.
pub struct PendingToken {
    digest: String,
    /// The generated token; `None` for the environment's, which the
    /// installer already knows and which is never printed.
    generated: Option<String>,
}

impl std::fmt::Debug for PendingToken {
    // The token itself must not end up in a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.generated {
            Some(_) => "PendingToken(generated, ********)",
            None => "PendingToken(from environment)",
        })
    }
}

/// What a start found before binding its listeners.
#[derive(Debug)]
pub enum Prepared {
    /// A token to store and print once the service is up ([`commit`]).
    Pending(PendingToken),
    /// A token was issued earlier and is still pending; nothing to print.
    AlreadyIssued,
    /// An administrator account exists: no setup token is needed.
    NotNeeded,
}

/// What [`commit`] did.
#[derive(PartialEq, Eq)]
pub enum SetupToken {
    /// The generated token was stored; the caller prints it, once.
    Issued(String),
    /// The token given in the environment was recorded.
    FromEnvironment,
    /// Another start (or `outpost admin setup-token --new`) stored a token
    /// in the meantime; this one is dropped unprinted.
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

/// Whether a setup token is waiting to be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// A token was issued (its digest is stored) and not used yet.
    Pending,
    /// None yet: the first successful `outpost serve` prints one.
    NotIssued,
    /// An administrator account exists: no setup token is needed.
    NotNeeded,
}

/// Why no setup token could be prepared or issued.
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
    /// An administrator account exists, so a setup token would be useless.
    #[error(
        "an administrator account exists, so no setup token is issued; sign in as an administrator instead"
    )]
    AdministratorExists,
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

fn generate() -> Result<String, SetupTokenError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| SetupTokenError::Random(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// Whether an administrator account exists: then the setup token has been
/// spent and no new one is issued.
pub fn administrator_exists(store: &Store) -> Result<bool, StoreError> {
    Ok(store.admin_count()? > 0)
}

/// Decides, before the listeners bind, what this start does about the
/// token; stores nothing.
pub fn prepare(store: &Store, from_env: Option<&str>) -> Result<Prepared, SetupTokenError> {
    if let Some(token) = from_env {
        if token.len() < MIN_ENV_TOKEN_LEN {
            return Err(SetupTokenError::TooShort { len: token.len() });
        }
    }
    if administrator_exists(store)? {
        return Ok(Prepared::NotNeeded);
    }
    if let Some(token) = from_env {
        return Ok(Prepared::Pending(PendingToken {
            digest: digest_hex(token),
            generated: None,
        }));
    }
    if store.setting(SETTING_KEY)?.is_some() {
        return Ok(Prepared::AlreadyIssued);
    }
    let token = generate()?;
    Ok(Prepared::Pending(PendingToken {
        digest: digest_hex(&token),
        generated: Some(token),
    }))
}

/// Stores a prepared token once the service is up. A generated token is
/// stored only if none is, atomically: two starts racing on the same data
/// directory cannot both print one. The environment's replaces any stored
/// token, as it did at every start.
pub fn commit(store: &mut Store, pending: PendingToken) -> Result<SetupToken, SetupTokenError> {
    match pending.generated {
        None => {
            store.set_setting(SETTING_KEY, &pending.digest)?;
            Ok(SetupToken::FromEnvironment)
        }
        Some(token) => {
            if store.set_setting_if_absent(SETTING_KEY, &pending.digest)? {
                Ok(SetupToken::Issued(token))
            } else {
                Ok(SetupToken::AlreadyIssued)
            }
        }
    }
}

/// Issues a new token now, replacing the stored one (which stops working),
/// while no administrator account exists. The caller prints it, once.
pub fn issue_new(store: &mut Store) -> Result<String, SetupTokenError> {
    if administrator_exists(store)? {
        return Err(SetupTokenError::AdministratorExists);
    }
    let token = generate()?;
    store.set_setting(SETTING_KEY, &digest_hex(&token))?;
    Ok(token)
}

/// Whether a token is pending.
pub fn status(store: &Store) -> Result<TokenStatus, StoreError> {
    if administrator_exists(store)? {
        Ok(TokenStatus::NotNeeded)
    } else if store.setting(SETTING_KEY)?.is_some() {
        Ok(TokenStatus::Pending)
    } else {
        Ok(TokenStatus::NotIssued)
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

    fn pending(store: &Store, from_env: Option<&str>) -> PendingToken {
        match prepare(store, from_env).unwrap() {
            Prepared::Pending(pending) => pending,
            other => panic!("expected a pending token, got {other:?}"),
        }
    }

    #[test]
    fn issued_once_and_verifiable() {
        let mut store = Store::open_in_memory().unwrap();
        let prepared = pending(&store, None);
        let SetupToken::Issued(token) = commit(&mut store, prepared).unwrap() else {
            panic!("first start must issue a token");
        };
        assert!(token.len() >= 40);
        assert!(matches!(
            prepare(&store, None).unwrap(),
            Prepared::AlreadyIssued
        ));
        assert!(verify(&store, &token).unwrap());
        assert!(!verify(&store, "wrong").unwrap());
        assert!(!format!("{:?}", SetupToken::Issued(token.clone())).contains(&token));
        assert_eq!(status(&store).unwrap(), TokenStatus::Pending);
    }

    #[test]
    fn a_prepared_token_is_not_spent_until_committed() {
        let mut store = Store::open_in_memory().unwrap();
        // A start that fails after preparing: nothing stored, nothing valid.
        let lost = pending(&store, None);
        let Some(lost_token) = lost.generated.clone() else {
            panic!("a generated token");
        };
        assert!(!format!("{lost:?}").contains(&lost_token));
        drop(lost);
        assert_eq!(status(&store).unwrap(), TokenStatus::NotIssued);
        assert!(!verify(&store, &lost_token).unwrap());
        // The next start prepares and commits another, which verifies.
        let next = pending(&store, None);
        let SetupToken::Issued(token) = commit(&mut store, next).unwrap() else {
            panic!("the next start must issue a token");
        };
        assert_ne!(token, lost_token);
        assert!(verify(&store, &token).unwrap());
    }

    #[test]
    fn of_two_racing_starts_only_one_prints_a_token() {
        let mut store = Store::open_in_memory().unwrap();
        let first = pending(&store, None);
        let second = pending(&store, None);
        let SetupToken::Issued(token) = commit(&mut store, second).unwrap() else {
            panic!("the first commit issues");
        };
        assert_eq!(
            commit(&mut store, first).unwrap(),
            SetupToken::AlreadyIssued
        );
        assert!(verify(&store, &token).unwrap());
    }

    #[test]
    fn a_new_token_replaces_the_old_one() {
        let mut store = Store::open_in_memory().unwrap();
        let prepared = pending(&store, None);
        let SetupToken::Issued(old) = commit(&mut store, prepared).unwrap() else {
            panic!("issued");
        };
        let new = issue_new(&mut store).unwrap();
        assert_ne!(new, old);
        assert!(verify(&store, &new).unwrap());
        assert!(!verify(&store, &old).unwrap());
        // A start that prepared before the new token was issued prints nothing.
        let mut fresh = Store::open_in_memory().unwrap();
        let racing = pending(&fresh, None);
        let issued = issue_new(&mut fresh).unwrap();
        assert_eq!(
            commit(&mut fresh, racing).unwrap(),
            SetupToken::AlreadyIssued
        );
        assert!(verify(&fresh, &issued).unwrap());
    }

    #[test]
    fn environment_token_is_recorded_on_commit_and_short_ones_refused() {
        let mut store = Store::open_in_memory().unwrap();
        let err = prepare(&store, Some("short")).unwrap_err();
        assert!(err.to_string().contains("OUTPOST_SETUP_TOKEN"));
        let token = "0123456789abcdef0123456789";
        let prepared = pending(&store, Some(token));
        assert!(!format!("{prepared:?}").contains(token));
        assert!(!verify(&store, token).unwrap(), "stored before commit");
        assert_eq!(
            commit(&mut store, prepared).unwrap(),
            SetupToken::FromEnvironment
        );
        assert!(verify(&store, token).unwrap());
    }
}
