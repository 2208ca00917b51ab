//! The service layer: plain Rust calls with typed inputs and `Serialize`
//! outputs, shared by the REST API and the CLI (ARCHITECTURE: "The
//! management plane").
//!
//! Every call is synchronous and may block (SQLite, argon2): the REST API
//! runs it on Tokio's blocking pool ([`Service::run`]), the CLI calls it
//! directly. The database is one connection of its own behind a mutex,
//! held only for the store calls, never while a password is hashed: the
//! admin API is low-rate and SQLite has one writer anyway, so a pool buys
//! nothing, and the SIP core, the guard and the status writer each have
//! their own connection, so nothing here can make them wait.
//!
//! Every call that changes something takes a [`Caller`] (who, from where,
//! when) and writes its audit entry in the change's own transaction.
//! Time is always a parameter (`Caller::now`, Unix seconds).

mod accounts;
mod audit;
pub mod certificates;
pub mod device_export;
pub mod device_import;
pub mod device_list;
pub mod devices;
mod error;
pub mod gateway;
pub mod guard;
mod guard_settings;
pub mod icps;
mod input;
pub mod password;
pub mod provisioning;
mod sessions;
pub mod settings;
pub mod sip;
pub mod throttle;
mod tokens;
pub mod webservices;

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use outpost_store::{AdminRole, AuditRecord, Store};
use serde::Serialize;

pub use accounts::{AdminView, NewAdminInput, PasswordChangeInput, SetupInput, SetupStatus};
pub use audit::{AuditEntryView, AuditPage, AuditQuery, DEFAULT_AUDIT_LIMIT, REDACTED, redact};
pub use error::ServiceError;
pub use password::Password;
pub use sessions::{LoginInput, LoginOutcome, SessionView, csrf_matches, csrf_token};
pub use throttle::{LoginThrottle, ThrottleRule};
pub use tokens::{
    Access, CreatedToken, DEFAULT_TOKEN_DAYS, MAX_ALLOWED_SOURCES, MAX_TOKEN_DAYS, NewTokenInput,
    Resource, Scopes, TOKEN_PREFIX, TokenView,
};

/// Session lifetimes (issue 14: idle 30 min, absolute 12 h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long ends, seconds.
    pub idle_secs: i64,
    /// A session ends this long after login whatever its use, seconds.
    pub absolute_secs: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_secs: 30 * 60,
            absolute_secs: 12 * 3600,
        }
    }
}

/// The management plane's services over one store connection.
#[derive(Clone)]
pub struct Service {
    store: Arc<Mutex<Store>>,
    throttle: Arc<Mutex<LoginThrottle>>,
    /// Wakes the provisioning action runner when an action is scheduled
    /// (see [`Service::action_wakeup`]).
    action_wakeup: Arc<tokio::sync::Notify>,
    sessions: SessionPolicy,
    /// The file and environment `outpost serve` started with (see
    /// [`Service::with_settings`]).
    settings: Option<Arc<outpost_config::Settings>>,
    /// The running gateway (see [`Service::with_gateway`]).
    gateway: Option<Arc<dyn gateway::Gateway>>,
    /// The gateway's public name, for provisioning's system values (see
    /// [`Service::with_public_name`]).
    public_name: Option<String>,
    /// The certificate store in the data directory's `tls/` (see
    /// [`Service::with_tls_dir`]).
    tls: Option<Arc<certificates::TlsDir>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Services over `store` (a connection of their own) with the
    /// documented session lifetimes and login throttle.
    pub fn new(store: Store) -> Self {
        Self::with_policy(store, SessionPolicy::default(), ThrottleRule::default())
    }

    /// Services with other lifetimes or throttle numbers (tests).
    pub fn with_policy(store: Store, sessions: SessionPolicy, rule: ThrottleRule) -> Self {
        Self {
            store: Arc::new(Mutex::new(store)),
            throttle: Arc::new(Mutex::new(LoginThrottle::new(rule))),
            action_wakeup: Arc::new(tokio::sync::Notify::new()),
            sessions,
            settings: None,
            gateway: None,
            public_name: None,
            tls: None,
        }
    }

    /// Runs `call` on Tokio's blocking pool, so that SQLite and argon2
    /// never stall an async worker thread.
    ///
    /// # Errors
    /// What `call` returns; [`ServiceError::Internal`] if it panicked.
    pub async fn run<T, F>(&self, call: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&Self) -> Result<T, ServiceError> + Send + 'static,
    {
        let service = self.clone();
        tokio::task::spawn_blocking(move || call(&service))
            .await
            .map_err(|e| ServiceError::Internal(format!("service call failed: {e}")))?
    }

    /// Runs `f` with the store locked. Never hash while holding it.
    fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        let mut guard = lock(&self.store)?;
        f(&mut guard)
    }

    fn throttle(&self) -> Result<MutexGuard<'_, LoginThrottle>, ServiceError> {
        lock(&self.throttle)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> Result<MutexGuard<'_, T>, ServiceError> {
    mutex
        .lock()
        .map_err(|_| ServiceError::Internal("a previous call panicked holding the lock".into()))
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An administrator logged in with a session.
    Account {
        /// The account's row id.
        id: i64,
        /// Its name.
        name: String,
        /// Its role.
        role: AdminRole,
        /// The digest of the session used (kept by a password change).
        session_sha256: Option<String>,
    },
    /// An API token.
    Token {
        /// Its id.
        id: String,
        /// Its name.
        name: String,
        /// What it may do.
        scopes: Scopes,
    },
    /// A web services consumer, signed in with a final OAuth token.
    WsConsumer {
        /// Its consumer ID.
        consumer_id: String,
        /// Its name.
        name: String,
        /// What it may do.
        permissions: webservices::WsPermissions,
    },
    /// The CLI on the gateway's own machine, as the Unix user named.
    Cli {
        /// The Unix user name (or `uid N`).
        user: String,
    },
    /// A scheduled provisioning action carried out by the runner of
    /// `outpost serve` for the operator who scheduled it (whose access
    /// was checked then).
    Scheduled {
        /// The action's id.
        action: i64,
        /// The operator, as the audit log names actors (`account:alice`).
        operator: String,
    },
}

/// A call's context: who, from where, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who.
    pub actor: Actor,
    /// The client's address; `None` for the CLI (recorded as `local`).
    pub source: Option<IpAddr>,
    /// When, seconds since the Unix epoch.
    pub now: i64,
}

impl Caller {
    /// The CLI as Unix user `user`, at `now`.
    pub fn cli(user: impl Into<String>, now: i64) -> Self {
        Self {
            actor: Actor::Cli { user: user.into() },
            source: None,
            now,
        }
    }

    /// The audit log's `actor` (`account:alice`, `token:<id>`, `cli:root`)
    /// and `actor_name`.
    pub fn audit_actor(&self) -> (String, String) {
        match &self.actor {
            Actor::Account { name, .. } => (format!("account:{name}"), name.clone()),
            Actor::Token { id, name, .. } => (format!("token:{id}"), name.clone()),
            Actor::Cli { user } => (format!("cli:{user}"), user.clone()),
            Actor::WsConsumer {
                consumer_id, name, ..
            } => (format!("consumer:{consumer_id}"), name.clone()),
            Actor::Scheduled { action, operator } => {
                (operator.clone(), format!("scheduled action #{action}"))
            }
        }
    }

    /// The audit log's `source`.
    pub fn audit_source(&self) -> String {
        source_label(self.source)
    }

    /// Fails with 403 unless the caller may `access` `resource`.
    pub fn require(&self, resource: Resource, access: Access) -> Result<(), ServiceError> {
        match &self.actor {
            Actor::Cli { .. } | Actor::Scheduled { .. } => Ok(()),
            Actor::Account {
                role: AdminRole::Admin,
                ..
            } => Ok(()),
            Actor::Account {
                role: AdminRole::ReadOnly,
                name,
                ..
            } => match access {
                Access::Read => Ok(()),
                Access::Write => Err(ServiceError::Forbidden(format!(
                    "account {name:?} is read-only: it can read everything but change \
                     nothing except its own password; ask an administrator"
                ))),
            },
            Actor::WsConsumer {
                consumer_id,
                permissions,
                ..
            } => {
                let msl = match resource {
                    Resource::Devices => Some(webservices::MslResource::Devices),
                    Resource::Icps => Some(webservices::MslResource::Icps),
                    _ => None,
                };
                if msl.is_some_and(|r| permissions.allows(r, access == Access::Write)) {
                    Ok(())
                } else {
                    Err(ServiceError::Forbidden(format!(
                        "web services consumer {consumer_id:?} has no {access} access to \
                         {resource}"
                    )))
                }
            }
            Actor::Token { name, scopes, .. } => {
                if scopes.allows(resource, access) {
                    Ok(())
                } else {
                    Err(ServiceError::Forbidden(format!(
                        "API token {name:?} has no {access} access to {resource}; create a \
                         token with the scope \"{resource}:{access}\""
                    )))
                }
            }
        }
    }

    /// Builds the audit record of a change.
    pub(crate) fn audit(
        &self,
        action: &str,
        target: &str,
        before: Option<&impl Serialize>,
        after: Option<&impl Serialize>,
    ) -> AuditRecord {
        let (actor, actor_name) = self.audit_actor();
        AuditRecord {
            at: self.now,
            actor,
            actor_name,
            source: self.audit_source(),
            action: action.to_owned(),
            target: target.to_owned(),
            before: before.map(audit::document),
            after: after.map(audit::document),
        }
    }
}

/// How a source is written in the audit log: the address, or `local`.
pub(crate) fn source_label(source: Option<IpAddr>) -> String {
    source.map_or_else(|| "local".to_owned(), |ip| ip.to_string())
}

/// Nothing to record as a before or after state.
pub(crate) const NOTHING: Option<&()> = None;

/// Hex SHA-256 of `value`.
pub(crate) fn sha256_hex(value: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(value))
}

/// `n` random bytes from the operating system, as lower-case hex.
pub(crate) fn random_hex(n: usize) -> Result<String, ServiceError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServiceError::Internal(format!("no random bytes from the OS: {e}")))?;
    Ok(hex::encode(bytes))
}
