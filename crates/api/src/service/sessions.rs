//! Login sessions (for the admin UI and interactive use): server-side, the
//! database knows only the SHA-256 of a session id, with an idle and an
//! absolute expiry both enforced here, and a CSRF token derived from the
//! session id.

use std::net::IpAddr;

use outpost_store::NewSession;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tracing::{info, warn};
use utoipa::ToSchema;

use super::accounts::AdminView;
use super::password::{self, Password};
use super::{Actor, Caller, NOTHING, Service, ServiceError, random_hex, sha256_hex};

/// `POST /api/v1/session`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    /// Login name.
    pub name: String,
    /// Password.
    #[schema(value_type = String, format = Password)]
    pub password: Password,
}

/// Who is logged in, and the CSRF token to send back with every
/// state-changing request (`X-CSRF-Token`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SessionView {
    /// The account.
    pub account: AdminView,
    /// Equal to the value of the `X-CSRF-Token` header that every
    /// state-changing request authenticated by this session must carry.
    pub csrf_token: String,
    /// The session ends at this time at the latest, Unix seconds.
    pub expires: i64,
    /// It ends earlier if unused this long, seconds.
    pub idle_timeout_secs: i64,
}

/// A successful login: the session id goes into the cookie and nowhere
/// else (its `Debug` hides it).
pub struct LoginOutcome {
    /// The session id (64 hex digits), for the `outpost_session` cookie.
    pub session_id: Password,
    /// What `GET /api/v1/session` shows.
    pub view: SessionView,
}

impl std::fmt::Debug for LoginOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginOutcome")
            .field("session_id", &"********")
            .field("view", &self.view)
            .finish()
    }
}

/// The CSRF token of the session whose id is `session_id`: a digest with
/// its own prefix, so it reveals nothing of the id nor of the id's stored
/// digest, and needs no storage.
pub fn csrf_token(session_id: &str) -> String {
    sha256_hex(format!("outpost csrf\0{session_id}").as_bytes())
}

/// Whether `presented` is the CSRF token of `session_id` (constant time).
pub fn csrf_matches(session_id: &str, presented: &str) -> bool {
    bool::from(
        csrf_token(session_id)
            .as_bytes()
            .ct_eq(presented.as_bytes()),
    )
}

/// Generic, so a failed login does not say whether the name exists.
const WRONG_CREDENTIALS: &str = "wrong name or password";

impl Service {
    /// Checks a name and password from `source` at `now` and opens a
    /// session. Throttled per (account, source) and per source: see
    /// [`super::throttle`].
    ///
    /// # Errors
    /// 429 while this source is locked for this account; 401 for a wrong
    /// name or password (the same message for both).
    pub fn login(
        &self,
        input: &LoginInput,
        source: IpAddr,
        now: i64,
    ) -> Result<LoginOutcome, ServiceError> {
        if let Some(retry_after_secs) = self.throttle()?.locked_for(&input.name, source, now) {
            return Err(ServiceError::TooManyRequests { retry_after_secs });
        }
        let found = self.with_store(|s| Ok(s.admin_with_hash(&input.name)?))?;
        let account = match found {
            Some((account, stored)) if password::verify(&input.password, &stored) => account,
            found => {
                if found.is_none() {
                    password::verify_dummy(&input.password);
                }
                let lock = self.throttle()?.record_failure(&input.name, source, now);
                match lock {
                    Some(secs) => {
                        warn!(name = %input.name, %source, lock_secs = secs, "failed administrator login; source locked for this account")
                    }
                    None => warn!(name = %input.name, %source, "failed administrator login"),
                }
                return Err(ServiceError::Unauthorized(WRONG_CREDENTIALS.to_owned()));
            }
        };
        self.throttle()?.record_success(&input.name, source);
        let session_id = random_hex(32)?;
        let id_sha256 = sha256_hex(session_id.as_bytes());
        let session = NewSession {
            id_sha256,
            account_id: account.id,
            source: source.to_string(),
            created: now,
            expires: now + self.sessions.absolute_secs,
        };
        let caller = Caller {
            actor: Actor::Account {
                id: account.id,
                name: account.name.clone(),
                role: account.role,
                session_sha256: None,
            },
            source: Some(source),
            now,
        };
        let audit = caller.audit("session.login", &account.name, NOTHING, NOTHING);
        let idle = self.sessions.idle_secs;
        self.with_store(|s| Ok(s.create_session(&session, idle, &audit)?))?;
        info!(name = %account.name, %source, "administrator logged in");
        Ok(LoginOutcome {
            view: SessionView {
                account: AdminView::from(&account),
                csrf_token: csrf_token(&session_id),
                expires: session.expires,
                idle_timeout_secs: idle,
            },
            session_id: Password::new(session_id),
        })
    }

    /// The caller a session cookie stands for, at `now`.
    ///
    /// # Errors
    /// 401 for an unknown, ended, idle or expired session.
    pub fn authenticate_session(
        &self,
        session_id: &str,
        source: IpAddr,
        now: i64,
    ) -> Result<(Caller, SessionView), ServiceError> {
        let digest = sha256_hex(session_id.as_bytes());
        let idle = self.sessions.idle_secs;
        let session = self
            .with_store(|s| Ok(s.session(&digest, now, idle, TOUCH_AFTER_SECS)?))?
            .ok_or_else(|| {
                ServiceError::Unauthorized(
                    "the session has ended (logged out, idle for 30 minutes, 12 hours old, or \
                     password changed); log in again with POST /api/v1/session"
                        .to_owned(),
                )
            })?;
        let view = SessionView {
            account: AdminView::from(&session.account),
            csrf_token: csrf_token(session_id),
            expires: session.expires,
            idle_timeout_secs: idle,
        };
        let caller = Caller {
            actor: Actor::Account {
                id: session.account.id,
                name: session.account.name,
                role: session.account.role,
                session_sha256: Some(digest),
            },
            source: Some(source),
            now,
        };
        Ok((caller, view))
    }

    /// Ends the caller's session (logout).
    ///
    /// # Errors
    /// 400 when the caller is not logged in with a session.
    pub fn logout(&self, caller: &Caller) -> Result<(), ServiceError> {
        let Actor::Account {
            session_sha256: Some(digest),
            name,
            ..
        } = &caller.actor
        else {
            return Err(ServiceError::BadRequest {
                field: None,
                message: "not logged in with a session: an API token is revoked with DELETE \
                          /api/v1/tokens/{id}, not logged out"
                    .to_owned(),
            });
        };
        let audit = caller.audit("session.logout", name, NOTHING, NOTHING);
        self.with_store(|s| Ok(s.delete_session(digest, &audit)?))?;
        info!(name = %name, "administrator logged out");
        Ok(())
    }
}

/// A live session's last use is written at most once a minute.
const TOUCH_AFTER_SECS: i64 = 60;
