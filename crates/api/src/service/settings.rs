//! Settings through the service layer (issue 14 item 2): every setting of
//! the registry with its effective value and where it comes from, and
//! changes validated together, stored with their audit entries in one
//! transaction, then handed to the running gateway when they apply live.
//!
//! The layers are the ones `outpost serve` started with — its file and
//! environment, as read then ([`Service::with_settings`]) — over the values
//! stored in the database now, so a value the file or the environment sets
//! is refused by name ([`outpost_config::SettingError::Pinned`]). A service
//! without them (the CLI, tests) sees the defaults under the database.

use std::sync::Arc;

use outpost_config::{
    Apply, Change, DatabaseLayer, Kind, Registry, SettingError, Settings, Stored, Unit, ValueSource,
};
use outpost_store::{SettingsWrite, Store};
use serde::Serialize;
use serde_json::{Map, Value};
use tracing::{info, warn};
use utoipa::ToSchema;

use super::gateway::LiveApply;
use super::tokens::{Access, Resource};
use super::{Caller, Service, ServiceError};

/// One setting as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SettingView {
    /// The registry key (`registration.phone_expiry_secs`).
    pub key: &'static str,
    /// The effective value in file form; `null` for a secret.
    #[schema(value_type = Object)]
    pub value: Value,
    /// Where it comes from: default, database, file (path, line) or
    /// environment (variable): `{"kind": "file", "path", "line"}`,
    /// `{"kind": "environment", "var"}`...
    #[schema(value_type = Object)]
    pub source: ValueSource,
    /// For a value the file or the environment sets: which, in words
    /// (`the environment variable OUTPOST_WEB_PORT`); the API cannot
    /// change it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned_by: Option<String>,
    /// Whether the API may change it now.
    pub editable: bool,
    /// The default value; `null` for a secret.
    #[schema(value_type = Object)]
    pub default: Value,
    /// Type and allowed values: `"type": "integer"` with `min`/`max`,
    /// `boolean`, `choice` or `list` with `values`, `text` with `format`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub kind: &'static Kind,
    /// The unit of a number (`s`, `ms`, `bytes`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub unit: Option<Unit>,
    /// `live` (the running gateway takes a change at once) or `restart`.
    #[schema(value_type = String)]
    pub apply: Apply,
    /// Whether the value is secret (never shown).
    pub secret: bool,
    /// What it does.
    pub description: &'static str,
    /// The environment variable that would pin it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

/// A stored value left out because it is no longer valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IgnoredValue {
    /// The key.
    pub key: String,
    /// The stored value.
    pub value: String,
    /// Why it is left out, and what to do.
    pub message: String,
}

/// `GET /api/v1/settings`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SettingsList {
    /// Every setting, in the configuration file's order (the guard's
    /// last).
    pub settings: Vec<SettingView>,
    /// Stored values left out (a file value now conflicts with them...).
    pub ignored: Vec<IgnoredValue>,
}

/// What became of one key of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeResult {
    /// Stored, and the running gateway uses it now.
    AppliedLive,
    /// Stored; the SIP service is stopped and starts with it.
    AppliesAtStart,
    /// Stored; the running gateway picks it up from the database within
    /// seconds (the guard's settings, which the guard reloads itself; or a
    /// live change the gateway did not confirm).
    Pending,
    /// Stored; it takes effect at the next start of `outpost serve`.
    RestartNeeded,
    /// The value was the effective one already: nothing stored.
    Unchanged,
}

/// One key of a change.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChangeView {
    /// The key.
    pub key: &'static str,
    /// The effective value before; `null` for a secret.
    #[schema(value_type = Object)]
    pub before: Value,
    /// The new value, normalised (`"TLS"` becomes `"tls"`); `null` for a
    /// secret.
    #[schema(value_type = Object)]
    pub after: Value,
    /// False when the value was the effective one already; for a reset,
    /// false when no value was stored.
    pub changed: bool,
    /// True for a reset (`null`): the stored value is removed and the
    /// setting falls back to its default (absent otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
    /// Whether it applies live or at the next start.
    #[schema(value_type = String)]
    pub apply: Apply,
    /// What happened (absent for a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ChangeResult>,
}

/// The answer to `PATCH /api/v1/settings` and `POST
/// /api/v1/settings/validate`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChangeReport {
    /// True for a dry run: nothing was stored.
    pub dry_run: bool,
    /// Each key given, in key order.
    pub changes: Vec<ChangeView>,
    /// True when a stored change waits for the next start of `outpost
    /// serve`.
    pub restart_needed: bool,
    /// Said when the running gateway did not confirm a live change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl Service {
    /// Serves settings over the layers `outpost serve` started with: its
    /// file and environment (as `settings` read them) under which the
    /// database's values are read at each call.
    #[must_use]
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = Some(Arc::new(settings));
        self
    }

    /// Every setting with its value, source, range, unit and whether it
    /// applies live (`settings:read`).
    ///
    /// # Errors
    /// 403 without read access; 500 when the database cannot be read.
    pub fn settings(&self, caller: &Caller) -> Result<SettingsList, ServiceError> {
        caller.require(Resource::Settings, Access::Read)?;
        let settings = self.with_store(|store| self.current_settings(store))?;
        Ok(SettingsList {
            settings: views(&settings),
            ignored: settings
                .ignored()
                .iter()
                .map(|e| IgnoredValue {
                    key: e.field.clone(),
                    value: e.value.clone(),
                    message: e.message.clone(),
                })
                .collect(),
        })
    }

    /// One setting (`settings:read`).
    ///
    /// # Errors
    /// 403 without read access; 404 for an unknown key (with the nearest
    /// one).
    pub fn setting(&self, caller: &Caller, key: &str) -> Result<SettingView, ServiceError> {
        caller.require(Resource::Settings, Access::Read)?;
        let settings = self.with_store(|store| self.current_settings(store))?;
        if Registry::get(key).is_none() {
            // The registry's own message, with the nearest key.
            let message = settings
                .set_from_api(key, &Value::Null)
                .err()
                .map_or_else(|| format!("unknown setting {key:?}"), |e| e.to_string());
            return Err(ServiceError::NotFound(message));
        }
        views(&settings)
            .into_iter()
            .find(|v| v.key == key)
            .ok_or_else(|| ServiceError::Internal(format!("setting {key} not listed")))
    }

    /// Validates `changes` (`{"key": value, ...}`; `null` resets a key:
    /// its stored value is removed) together and, unless `dry_run`, stores
    /// them with one audit entry per changed key (`setting.change`, or
    /// `setting.reset`) in one transaction, then has the running gateway
    /// apply the live ones.
    /// A dry run needs `settings:read` (it changes nothing), a change
    /// `settings:write`.
    ///
    /// # Errors
    /// 403 without the access; 409 when the file or the environment pins a
    /// key (naming the file and line or the variable), or for `data_dir`;
    /// 422 for an unknown key or an invalid value, naming each problem;
    /// nothing is stored then.
    pub fn change_settings(
        &self,
        caller: &Caller,
        changes: &Map<String, Value>,
        dry_run: bool,
    ) -> Result<ChangeReport, ServiceError> {
        let access = if dry_run { Access::Read } else { Access::Write };
        caller.require(Resource::Settings, access)?;
        let proposed: Vec<(&str, Value)> = changes
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let validated = self.with_store(|store| {
            let settings = self.current_settings(store)?;
            let validated = settings.set_many_from_api(&proposed).map_err(refusal)?;
            if !dry_run {
                persist(store, caller, &validated)?;
            }
            Ok(validated)
        })?;
        let mut report = ChangeReport {
            dry_run,
            changes: validated
                .iter()
                .map(|c| ChangeView {
                    key: c.key,
                    before: c.before.clone(),
                    after: c.after.clone(),
                    changed: c.changed,
                    reset: c.reset,
                    apply: c.apply,
                    result: None,
                })
                .collect(),
            restart_needed: validated.iter().any(|c| c.changed && c.restart_needed()),
            warning: None,
        };
        if dry_run {
            report.restart_needed = false;
            return Ok(report);
        }
        // The guard's settings are the guard's to reload (it polls the
        // database every 2 s); the others go to the gateway now.
        let live_changed = validated
            .iter()
            .any(|c| c.changed && !c.restart_needed() && !is_guard(c.key));
        let live = if live_changed {
            self.apply_live(&mut report)
        } else {
            ChangeResult::AppliedLive
        };
        for view in &mut report.changes {
            view.result = Some(match (view.changed, view.apply) {
                (false, _) => ChangeResult::Unchanged,
                (true, Apply::Restart) => ChangeResult::RestartNeeded,
                (true, Apply::Live) if is_guard(view.key) => ChangeResult::Pending,
                (true, Apply::Live) => live,
            });
        }
        info!(
            actor = %caller.audit_actor().0,
            keys = ?report.changes.iter().filter(|c| c.changed).map(|c| c.key).collect::<Vec<_>>(),
            "settings changed"
        );
        Ok(report)
    }

    /// Asks the running gateway to take the live values just stored.
    fn apply_live(&self, report: &mut ChangeReport) -> ChangeResult {
        let Some(gateway) = &self.gateway else {
            // No gateway in this process (the CLI): a running `outpost
            // serve` polls the database.
            return ChangeResult::Pending;
        };
        match gateway.apply_settings() {
            Ok(LiveApply::Applied) => ChangeResult::AppliedLive,
            Ok(LiveApply::NotRunning) => ChangeResult::AppliesAtStart,
            Err(e) => {
                warn!(error = %e, "the gateway did not confirm the new settings");
                report.warning = Some(format!(
                    "stored, but the running gateway did not confirm it applied them ({e}); it \
                     reads the database every few seconds"
                ));
                ChangeResult::Pending
            }
        }
    }

    /// The serve process's file and environment over the database's
    /// values now.
    pub(crate) fn current_settings(&self, store: &Store) -> Result<Settings, ServiceError> {
        let database = DatabaseLayer::read(store)?;
        let loaded = match &self.settings {
            Some(base) => base.reload(database),
            None => Settings::load(None, &|_| None, database),
        };
        loaded.map_err(|e| ServiceError::Internal(format!("settings do not load: {e}")))
    }
}

/// A guard setting (`guard.*`), which the running guard reloads itself.
fn is_guard(key: &str) -> bool {
    key.starts_with("guard.")
}

/// Every setting's view, in registry order.
fn views(settings: &Settings) -> Vec<SettingView> {
    settings
        .effective()
        .into_iter()
        .filter_map(|e| {
            let setting = Registry::get(e.key)?;
            Some(SettingView {
                key: e.key,
                pinned_by: e.source.pins().then(|| e.source.to_string()),
                value: e.value,
                source: e.source,
                editable: e.editable,
                default: e.default,
                kind: &setting.kind,
                unit: e.unit,
                apply: e.apply,
                secret: e.secret,
                description: setting.description,
                env: setting.env_var(),
            })
        })
        .collect()
}

/// Stores the changed keys with one audit entry each, in one transaction:
/// values set, and stored values removed by a reset (`setting.reset`).
fn persist(store: &mut Store, caller: &Caller, changes: &[Change]) -> Result<(), ServiceError> {
    let changed: Vec<&Change> = changes.iter().filter(|c| c.changed).collect();
    if changed.is_empty() {
        return Ok(());
    }
    let (mut set, mut remove, mut set_guard, mut remove_guard) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for change in &changed {
        match &change.stored {
            Stored::Settings { key, value } => set.push((key.as_str(), value.as_str())),
            Stored::Guard { key, value } => set_guard.push((*key, value.as_str())),
            Stored::RemoveSetting { key } => remove.push(key.as_str()),
            Stored::RemoveGuard { key } => remove_guard.push(*key),
            _ => {
                return Err(ServiceError::Internal(format!(
                    "{}: no place to store it",
                    change.key
                )));
            }
        }
    }
    let audit: Vec<_> = changed
        .iter()
        .map(|c| {
            let before = serde_json::json!({"value": c.before});
            let after = serde_json::json!({"value": c.after, "apply": c.apply});
            let action = if c.reset {
                "setting.reset"
            } else {
                "setting.change"
            };
            caller.audit(action, c.key, Some(&before), Some(&after))
        })
        .collect();
    let write = SettingsWrite {
        set: &set,
        remove: &remove,
        set_guard: &set_guard,
        remove_guard: &remove_guard,
    };
    store.write_settings(&write, &audit)?;
    Ok(())
}

/// The service error for refused changes: 409 when the file or the
/// environment pins a key (or it is `data_dir`), else 422; the message
/// lists every problem.
fn refusal(errors: Vec<SettingError>) -> ServiceError {
    let message = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let conflict = errors.iter().any(|e| {
        matches!(
            e,
            SettingError::Pinned { .. } | SettingError::NotChangeable { .. }
        )
    });
    if conflict {
        return ServiceError::Conflict(message);
    }
    let field = errors
        .iter()
        .find_map(SettingError::key)
        .unwrap_or_default()
        .to_owned();
    ServiceError::Invalid { field, message }
}
