//! Administrator accounts (SEC-9): the first one with the setup token,
//! further ones by an administrator, removal, password change.

use std::net::IpAddr;

use outpost_store::{AdminAccount, AdminRole, FirstAdmin, NewAdmin, SETUP_TOKEN_SETTING};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tracing::info;
use utoipa::ToSchema;

use super::password::{self, Password};
use super::tokens::Resource;
use super::{Access, Actor, Caller, NOTHING, Service, ServiceError, sha256_hex};

/// An account as shown: never its password or hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AdminView {
    /// Login name.
    pub name: String,
    /// `admin` or `read-only`.
    pub role: String,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// When the password was last set, Unix seconds.
    pub password_changed: i64,
}

impl From<&AdminAccount> for AdminView {
    fn from(a: &AdminAccount) -> Self {
        Self {
            name: a.name.clone(),
            role: a.role.as_str().to_owned(),
            created: a.created,
            password_changed: a.password_changed,
        }
    }
}

/// `POST /api/v1/setup`: the first administrator, with the setup token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupInput {
    /// The token `outpost serve` printed on its first start.
    #[schema(value_type = String, format = Password)]
    pub setup_token: Password,
    /// The first administrator's login name.
    pub name: String,
    /// Its password.
    #[schema(value_type = String, format = Password)]
    pub password: Password,
}

/// Whether the installation still needs its first administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct SetupStatus {
    /// True until the first administrator account exists.
    pub setup_required: bool,
}

/// `POST /api/v1/admins`: a further account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdminInput {
    /// Login name.
    pub name: String,
    /// Its password.
    #[schema(value_type = String, format = Password)]
    pub password: Password,
    /// `admin` or `read-only`; default `admin`.
    #[serde(default)]
    pub role: Option<String>,
}

/// `POST /api/v1/admins/{name}/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeInput {
    /// The current password: required to change one's own.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub old_password: Option<Password>,
    /// The new password.
    #[schema(value_type = String, format = Password)]
    pub new_password: Password,
}

/// The throttle's account key for setup-token attempts (not a valid
/// account name, so it never collides with one).
const SETUP_THROTTLE_KEY: &str = "<setup token>";

fn parse_role(role: Option<&str>) -> Result<AdminRole, ServiceError> {
    match role {
        None => Ok(AdminRole::Admin),
        Some(text) => AdminRole::parse(text).ok_or_else(|| {
            ServiceError::invalid(
                "role",
                format!("{text:?} is not a role; use \"admin\" or \"read-only\""),
            )
        }),
    }
}

fn check_name(name: &str) -> Result<(), ServiceError> {
    outpost_store::check_admin_name(name).map_err(|p| {
        let message = match &p.value {
            Some(value) => format!("{value:?}: {}", p.message),
            None => p.message.clone(),
        };
        ServiceError::invalid(p.field, message)
    })
}

impl Service {
    /// Whether the first administrator is still to be created.
    ///
    /// # Errors
    /// [`ServiceError::Internal`] if the database fails.
    pub fn setup_status(&self) -> Result<SetupStatus, ServiceError> {
        self.with_store(|s| {
            Ok(SetupStatus {
                setup_required: s.admin_count()? == 0,
            })
        })
    }

    /// Creates the first administrator (role `admin`) if `input.setup_token`
    /// is the pending setup token, and spends the token. `source` is the
    /// client's address (`None`: the CLI as `cli_user`).
    ///
    /// # Errors
    /// 422 for a bad name or password; 409 once an account exists (the
    /// token is spent); 401 for a wrong token or none pending.
    pub fn setup(
        &self,
        input: &SetupInput,
        source: Option<IpAddr>,
        cli_user: Option<&str>,
        now: i64,
    ) -> Result<AdminView, ServiceError> {
        check_name(&input.name)?;
        password::check_policy("password", &input.password)?;
        if let Some(ip) = source {
            if let Some(retry_after_secs) = self.throttle()?.locked_for(SETUP_THROTTLE_KEY, ip, now)
            {
                return Err(ServiceError::TooManyRequests { retry_after_secs });
            }
        }
        let presented = sha256_hex(input.setup_token.expose().trim().as_bytes());
        let verify = |stored: &str| bool::from(presented.as_bytes().ct_eq(stored.as_bytes()));
        // Checked before hashing (cheap), so that nobody without the token
        // makes the server spend argon2's time and memory; checked again
        // atomically with the creation below.
        let pending = self.with_store(|s| {
            if s.admin_count()? > 0 {
                return Err(already_set_up());
            }
            Ok(s.setting(SETUP_TOKEN_SETTING)?)
        })?;
        let outcome = match pending {
            None => FirstAdmin::NoTokenPending,
            Some(stored) if !verify(&stored) => FirstAdmin::TokenRefused,
            Some(_) => {
                let password_hash = password::hash(&input.password)?;
                self.create_first(input, password_hash, source, cli_user, now, verify)?
            }
        };
        match outcome {
            FirstAdmin::Created(account) => {
                info!(name = %account.name, "first administrator account created; setup token spent");
                Ok(AdminView::from(&account))
            }
            FirstAdmin::AlreadySetUp => Err(already_set_up()),
            FirstAdmin::NoTokenPending => Err(ServiceError::Unauthorized(format!(
                "no setup token is pending (setting {SETUP_TOKEN_SETTING} is empty); issue \
                 one on the gateway with `outpost admin setup-token --new`"
            ))),
            FirstAdmin::TokenRefused => {
                if let Some(ip) = source {
                    self.throttle()?.record_failure(SETUP_THROTTLE_KEY, ip, now);
                }
                Err(ServiceError::Unauthorized(
                    "setup_token: this is not the pending setup token; use the one `outpost \
                     serve` printed on its first start, or issue a new one on the gateway with \
                     `outpost admin setup-token --new`"
                        .to_owned(),
                ))
            }
        }
    }

    fn create_first(
        &self,
        input: &SetupInput,
        password_hash: String,
        source: Option<IpAddr>,
        cli_user: Option<&str>,
        now: i64,
        verify: impl FnOnce(&str) -> bool,
    ) -> Result<FirstAdmin, ServiceError> {
        let new = NewAdmin {
            name: input.name.clone(),
            role: AdminRole::Admin,
            password_hash,
            created: now,
        };
        let view = AdminView {
            name: new.name.clone(),
            role: new.role.as_str().to_owned(),
            created: now,
            password_changed: now,
        };
        let (actor, actor_name) = match cli_user {
            Some(user) => (format!("cli:{user}"), user.to_owned()),
            None => ("setup-token".to_owned(), new.name.clone()),
        };
        let audit = outpost_store::AuditRecord {
            at: now,
            actor,
            actor_name,
            source: super::source_label(source),
            action: "admin.setup".to_owned(),
            target: new.name.clone(),
            before: None,
            after: Some(super::audit::document(&view)),
        };
        self.with_store(|s| Ok(s.create_first_admin(verify, &new, &audit)?))
    }

    /// Every account.
    ///
    /// # Errors
    /// 403 without read access to `admins`.
    pub fn list_admins(&self, caller: &Caller) -> Result<Vec<AdminView>, ServiceError> {
        caller.require(Resource::Admins, Access::Read)?;
        self.with_store(|s| Ok(s.admins()?.iter().map(AdminView::from).collect()))
    }

    /// Creates a further account.
    ///
    /// # Errors
    /// 403 without write access to `admins`; 422 for a bad field; 409 for
    /// a name in use, or before the first account exists.
    pub fn create_admin(
        &self,
        caller: &Caller,
        input: &NewAdminInput,
    ) -> Result<AdminView, ServiceError> {
        caller.require(Resource::Admins, Access::Write)?;
        check_name(&input.name)?;
        let role = parse_role(input.role.as_deref())?;
        password::check_policy("password", &input.password)?;
        let password_hash = password::hash(&input.password)?;
        let new = NewAdmin {
            name: input.name.clone(),
            role,
            password_hash,
            created: caller.now,
        };
        let view = AdminView {
            name: new.name.clone(),
            role: role.as_str().to_owned(),
            created: caller.now,
            password_changed: caller.now,
        };
        let audit = caller.audit("admin.create", &new.name, NOTHING, Some(&view));
        let account = self.with_store(|s| Ok(s.create_admin(&new, &audit)?))?;
        info!(name = %account.name, role = %account.role, "administrator account created");
        Ok(AdminView::from(&account))
    }

    /// Removes an account and ends its sessions.
    ///
    /// # Errors
    /// 403 without write access to `admins`; 404; 409 for the last account
    /// with the `admin` role.
    pub fn delete_admin(&self, caller: &Caller, name: &str) -> Result<AdminView, ServiceError> {
        caller.require(Resource::Admins, Access::Write)?;
        self.with_store(|s| {
            let before = s.admin(name)?.ok_or_else(|| not_found(name))?;
            let view = AdminView::from(&before);
            let audit = caller.audit("admin.delete", &before.name, Some(&view), NOTHING);
            s.delete_admin(name, &audit)?;
            info!(name = %before.name, "administrator account removed");
            Ok(view)
        })
    }

    /// Changes a password. One's own needs the current password (any role
    /// may change its own); another account's is a reset that needs write
    /// access to `admins`. Every other session of the account ends.
    ///
    /// # Errors
    /// 422 for a weak new password or a missing current one; 401 for a
    /// wrong current password; 403; 404.
    pub fn change_password(
        &self,
        caller: &Caller,
        name: &str,
        input: &PasswordChangeInput,
    ) -> Result<AdminView, ServiceError> {
        let own = matches!(&caller.actor, Actor::Account { name: own, .. } if own.eq_ignore_ascii_case(name));
        if !own {
            caller.require(Resource::Admins, Access::Write)?;
        }
        password::check_policy("new_password", &input.new_password)?;
        let (account, stored) =
            self.with_store(|s| s.admin_with_hash(name)?.ok_or_else(|| not_found(name)))?;
        if own {
            let Some(old) = &input.old_password else {
                return Err(ServiceError::invalid(
                    "old_password",
                    "missing; give your current password to change it",
                ));
            };
            if !password::verify(old, &stored) {
                return Err(ServiceError::Unauthorized(
                    "old_password: this is not the account's current password".to_owned(),
                ));
            }
        }
        let hash = password::hash(&input.new_password)?;
        let before = AdminView::from(&account);
        let after = AdminView {
            password_changed: caller.now,
            ..before.clone()
        };
        let action = if own {
            "admin.password.change"
        } else {
            "admin.password.reset"
        };
        let audit = caller.audit(action, &account.name, Some(&before), Some(&after));
        let keep = match &caller.actor {
            Actor::Account { session_sha256, .. } if own => session_sha256.clone(),
            _ => None,
        };
        let changed = self.with_store(|s| {
            Ok(s.set_admin_password(&account.name, &hash, caller.now, keep.as_deref(), &audit)?)
        })?;
        info!(name = %changed.name, "administrator password changed; its other sessions ended");
        Ok(AdminView::from(&changed))
    }
}

fn already_set_up() -> ServiceError {
    ServiceError::Conflict(
        "setup is done: an administrator account exists and the setup token is spent; \
         log in (POST /api/v1/session) and create further accounts with POST /api/v1/admins"
            .to_owned(),
    )
}

fn not_found(name: &str) -> ServiceError {
    ServiceError::NotFound(format!(
        "no administrator account named {name:?}; list them with GET /api/v1/admins or \
         `outpost admin list`"
    ))
}
