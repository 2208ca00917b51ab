//! The provisioning hash key (SEC-7): show it, and replace it after an
//! administrator's password confirms the change.
//!
//! A new key breaks every deployed phone's configuration URL, so the
//! change needs more than a session or token: the password of an account
//! with the admin role (the caller's own for a session; named with
//! `admin` for a token or the CLI). Wrong passwords from an address are
//! throttled like logins. The key is in no log line and no audit entry.

use serde::{Deserialize, Serialize};
use tracing::{info, warn};
use utoipa::ToSchema;

use super::super::password::{self, Password};
use super::super::{Actor, Caller, NOTHING, Service, ServiceError};
use super::change_by;
use crate::service::{Access, Resource};
use outpost_store::AdminRole;

/// The warning every new key comes with.
pub const REPROVISION_WARNING: &str = "every deployed phone must be re-provisioned: its \
     configuration URL holds the old hash key, which now gets 404";

/// The hash key and the path phones fetch their files under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HashView {
    /// The key, hex.
    pub hash: String,
    /// `/<hash>/`, the path of every configuration file.
    pub path: String,
}

/// A new key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HashGenerated {
    /// The new key and its path.
    #[serde(flatten)]
    pub key: HashView,
    /// What the operator must do now.
    pub warning: String,
}

/// `POST /api/v1/provisioning/hash`: the confirmation a new key needs.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HashGenerateInput {
    /// The administrator account whose password confirms; defaults to the
    /// session's own account (required with an API token or the CLI).
    #[serde(default)]
    pub admin: Option<String>,
    /// That account's password.
    #[schema(value_type = String, format = Password)]
    pub password: Password,
}

fn view(hash: &str) -> HashView {
    HashView {
        hash: hash.to_owned(),
        path: format!("/{hash}/"),
    }
}

impl Service {
    /// The hash key (write access needed: it opens every phone's file).
    ///
    /// # Errors
    /// 403; 404 before the key exists (`outpost init` or the first start
    /// generates it).
    pub fn provisioning_hash(&self, caller: &Caller) -> Result<HashView, ServiceError> {
        caller.require(Resource::Provisioning, Access::Write)?;
        let hash = self.with_store(|s| Ok(s.provisioning_hash()?))?;
        hash.map(|h| view(h.expose())).ok_or_else(|| {
            ServiceError::NotFound(
                "no provisioning hash key yet; `outpost init` or the first start of `outpost \
                 serve` generates it, or POST /api/v1/provisioning/hash"
                    .to_owned(),
            )
        })
    }

    /// Replaces the hash key after checking an administrator's password.
    ///
    /// # Errors
    /// 403; 422 without an account name where one is needed, or naming
    /// another account than the session's; 401 for a wrong password or an
    /// account without the admin role (one message for both); 429 while
    /// the address is throttled.
    pub fn generate_provisioning_hash(
        &self,
        caller: &Caller,
        input: &HashGenerateInput,
    ) -> Result<HashGenerated, ServiceError> {
        let name = self.confirm_hash_change(caller, input)?;
        self.replace_provisioning_hash(caller, &name)
    }

    /// Checks that `input` holds the password of an administrator account
    /// (admin role) for a hash change; returns the account's name. A
    /// scheduled hash change checks it when it is scheduled.
    ///
    /// # Errors
    /// As [`Service::generate_provisioning_hash`].
    pub(super) fn confirm_hash_change(
        &self,
        caller: &Caller,
        input: &HashGenerateInput,
    ) -> Result<String, ServiceError> {
        caller.require(Resource::Provisioning, Access::Write)?;
        let name = confirming_account(caller, input.admin.as_deref())?;
        if let Some(source) = caller.source {
            if let Some(retry_after_secs) = self.throttle()?.locked_for(&name, source, caller.now) {
                return Err(ServiceError::TooManyRequests { retry_after_secs });
            }
        }
        let found = self.with_store(|s| Ok(s.admin_with_hash(&name)?))?;
        let confirmed = match &found {
            Some((account, stored)) => {
                password::verify(&input.password, stored) && account.role == AdminRole::Admin
            }
            None => {
                password::verify_dummy(&input.password);
                false
            }
        };
        if !confirmed {
            if let Some(source) = caller.source {
                self.throttle()?.record_failure(&name, source, caller.now);
            }
            warn!(account = %name, "provisioning hash change refused: wrong administrator password");
            return Err(ServiceError::Unauthorized(
                "password: not the password of an administrator account with the admin role; \
                 the hash key is unchanged"
                    .to_owned(),
            ));
        }
        if let Some(source) = caller.source {
            self.throttle()?.record_success(&name, source);
        }
        Ok(name)
    }

    /// Replaces the hash key once `confirmed_by`'s password was checked.
    pub(super) fn replace_provisioning_hash(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<HashGenerated, ServiceError> {
        caller.require(Resource::Provisioning, Access::Write)?;
        let (actor, _) = caller.audit_actor();
        let confirmed_by = serde_json::json!({ "confirmed_by": name });
        let hash = self.with_store(|s| {
            Ok(
                s.generate_provisioning_hash_audited(change_by(caller, &actor), || {
                    Some(caller.audit(
                        "provisioning.hash.generate",
                        "hash",
                        NOTHING,
                        Some(&confirmed_by),
                    ))
                })?,
            )
        })?;
        info!(confirmed_by = %name, "new provisioning hash key generated; deployed phones must be re-provisioned");
        Ok(HashGenerated {
            key: view(hash.expose()),
            warning: REPROVISION_WARNING.to_owned(),
        })
    }
}

/// The account whose password must confirm: a session's own (another
/// account's name is refused), else the one named.
fn confirming_account(caller: &Caller, named: Option<&str>) -> Result<String, ServiceError> {
    match (&caller.actor, named) {
        (Actor::Account { name, .. }, None) => Ok(name.clone()),
        (Actor::Account { name, .. }, Some(other)) if other.eq_ignore_ascii_case(name) => {
            Ok(name.clone())
        }
        (Actor::Account { .. }, Some(_)) => Err(ServiceError::invalid(
            "admin",
            "confirm with your own password: leave admin out or give your own account's name",
        )),
        (_, Some(name)) if !name.trim().is_empty() => Ok(name.trim().to_owned()),
        (_, _) => Err(ServiceError::invalid(
            "admin",
            "missing; name the administrator account whose password confirms the new hash key",
        )),
    }
}
