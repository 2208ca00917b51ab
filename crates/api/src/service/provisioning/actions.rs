//! Scheduled provisioning actions (PRO-9): schedule one (an import, a
//! deploy, a deletion of phones, a hash change) to run at once or at a
//! time, list them with filters, show one with its events, cancel a
//! pending one, and read the event log. `outpost serve`'s runner
//! ([`crate::action_runner`]) carries them out ([`super::action_run`]).
//!
//! What an action needs later (the CSV's text, the MAC list) is its
//! payload, stored with it and never shown (a remote-worker CSV holds SIP
//! passwords); it is cleared when the action ends. Inputs are checked when
//! the action is scheduled, as far as they can be: a CSV with problems is
//! recorded as a failed action whose result names the lines, and answered
//! 422 with every problem; a hash change checks the administrator's
//! password then (the runner has no one to ask later). The CSV is parsed
//! again when the action runs: the gateway's name and hash key, which
//! fill the system values, may have changed in between.
//!
//! A cancelled action ends `failed` with the result "cancelled by
//! <operator>" (see `outpost_store`'s schedule module).

use std::sync::Arc;

use outpost_provision::global_csv::MAX_GLOBAL_CSV_BYTES;
use outpost_provision::remote_worker_csv::{MAX_PHONES, MAX_REMOTE_WORKER_CSV_BYTES};
use outpost_provision::{
    CsvError, Mac, RemoteWorkerImport, SystemValues, parse_global_csv, parse_remote_worker_csv,
};
use outpost_store::{ActionKind, ActionState, EventFilter, NewAction, Store, StoreError};
use serde::{Deserialize, Serialize};
use tracing::info;
use utoipa::ToSchema;

use super::super::input::store_error;
use super::super::password::Password;
use super::super::{Access, Caller, NOTHING, Resource, Service, ServiceError};
use super::hash::{HashGenerateInput, REPROVISION_WARNING};
use super::import::CsvProblemReport;
use super::{ActionView, parse_macs, when};

/// Longest action name, characters.
pub const MAX_ACTION_NAME: usize = 100;
/// Most actions or events one list returns.
pub const MAX_LIST: u32 = 1000;
/// Actions or events a list returns unless told.
pub const DEFAULT_LIST: u32 = 100;

/// What a scheduled action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ActionRequestKind {
    /// Replace every phone file with those of a remote-worker CSV (`csv`).
    ImportPhones,
    /// Write the global file from a `PARAMETERS;VALUE` CSV (`csv`).
    ImportGlobal,
    /// Republish the files (all phones', or those of `macs`/a MAC-only
    /// `csv`): new ETags, so phones that check their copy fetch again.
    Deploy,
    /// Remove phones' files and inventory entries (`macs`, or a MAC-only
    /// `csv`).
    Delete,
    /// Replace the hash key (`admin` and `password` confirm).
    HashChange,
}

impl ActionRequestKind {
    const fn store_kind(self) -> ActionKind {
        match self {
            Self::ImportPhones | Self::ImportGlobal => ActionKind::Import,
            Self::Deploy => ActionKind::Deploy,
            Self::Delete => ActionKind::Delete,
            Self::HashChange => ActionKind::HashChange,
        }
    }

    const fn default_name(self) -> &'static str {
        match self {
            Self::ImportPhones => "remote-worker import",
            Self::ImportGlobal => "global file import",
            Self::Deploy => "deploy",
            Self::Delete => "delete phones",
            Self::HashChange => "hash key change",
        }
    }
}

/// `POST /api/v1/provisioning/actions`: an action to schedule.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleActionInput {
    /// What it does.
    pub kind: ActionRequestKind,
    /// A name for people (default: the kind's).
    #[serde(default)]
    pub name: Option<String>,
    /// When, RFC 3339 (`2026-12-07T02:00:00Z`); leave out with `in` for at
    /// once.
    #[serde(default)]
    pub at: Option<String>,
    /// When, as a delay from now (`30s`, `5m`, `1h30m`, `1d`).
    #[serde(default, rename = "in")]
    pub delay: Option<String>,
    /// The CSV's text: remote-worker (import-phones), global
    /// (import-global), or a MAC_ADDRESS-only file selecting phones
    /// (deploy, delete).
    #[serde(default)]
    pub csv: Option<String>,
    /// The phones (deploy, delete), any MAC form.
    #[serde(default)]
    pub macs: Option<Vec<String>>,
    /// hash-change: the administrator account whose password confirms
    /// (default: the session's own).
    #[serde(default)]
    pub admin: Option<String>,
    /// hash-change: that account's password.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<Password>,
}

/// A scheduled action and what the operator must know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ScheduledAction {
    /// The action as stored.
    pub action: ActionView,
    /// A warning (a hash change breaks every deployed phone's URL).
    pub warning: Option<String>,
}

/// Why an action was not scheduled.
#[derive(Debug)]
pub enum ScheduleFailure {
    /// Its CSV has problems: the action is recorded as failed with them.
    Rejected {
        /// The failed action.
        action: Box<ActionView>,
        /// Every problem, by line and column.
        errors: Vec<CsvError>,
    },
    /// Refused or failed otherwise (nothing recorded).
    Service(ServiceError),
}

impl ScheduleFailure {
    /// The per-problem report (empty unless rejected).
    pub fn problems(&self) -> Vec<CsvProblemReport> {
        match self {
            Self::Rejected { errors, .. } => errors.iter().map(CsvProblemReport::from).collect(),
            Self::Service(_) => Vec::new(),
        }
    }
}

impl std::fmt::Display for ScheduleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rejected { action, .. } => write!(
                f,
                "action #{} failed: {}",
                action.id,
                action.result.as_deref().unwrap_or("")
            ),
            Self::Service(e) => write!(f, "{e}"),
        }
    }
}

impl From<ServiceError> for ScheduleFailure {
    fn from(e: ServiceError) -> Self {
        Self::Service(e)
    }
}

/// What an action carries to its run (stored as JSON, never shown).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub(super) enum Payload {
    ImportPhones { csv: String },
    ImportGlobal { csv: String },
    Deploy { macs: Option<Vec<String>> },
    Delete { macs: Vec<String> },
    HashChange { confirmed_by: String },
}

/// Filters of the action list (`GET /api/v1/provisioning/actions?...`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActionQuery {
    /// Only actions in this state (pending, running, done, failed,
    /// interrupted).
    pub state: Option<String>,
    /// Only actions of this kind (import, deploy, delete, hash-change).
    pub kind: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// Filters of the event log (`GET /api/v1/provisioning/events?...`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only this action's events.
    pub action: Option<i64>,
    /// Only events at or after this time, Unix seconds.
    pub since: Option<i64>,
    /// At most this many, the newest (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LogEventView {
    /// Its id, increasing.
    pub id: i64,
    /// The action it is about.
    pub action_id: Option<i64>,
    /// When, Unix seconds.
    pub at: i64,
    /// What happened.
    pub text: String,
}

fn limit(asked: Option<u32>, field: &str) -> Result<u32, ServiceError> {
    match asked {
        None => Ok(DEFAULT_LIST),
        Some(n) if (1..=MAX_LIST).contains(&n) => Ok(n),
        Some(_) => Err(ServiceError::invalid(
            field,
            format!("give a number from 1 to {MAX_LIST}"),
        )),
    }
}

/// The store's action errors as the API's: an unknown id is 404, a move
/// the state does not allow 409.
pub(super) fn action_error(e: StoreError) -> ServiceError {
    match e {
        e @ StoreError::ActionNotFound { .. } => ServiceError::NotFound(e.to_string()),
        e @ StoreError::ActionState { .. } => ServiceError::Conflict(e.to_string()),
        other => store_error(other),
    }
}

fn one_view(store: &Store, id: i64) -> Result<ActionView, ServiceError> {
    let action = store
        .action(id)
        .map_err(store_error)?
        .ok_or_else(|| action_error(StoreError::ActionNotFound { id }))?;
    let events = store.action_events(Some(id)).map_err(store_error)?;
    Ok(ActionView::new(&action, events.iter()))
}

/// The MACs of a deploy or delete: a list, or a MAC-only CSV (a CSV with
/// parameters gives its MACs too).
fn selected_macs(input: &ScheduleActionInput) -> Result<Option<Vec<String>>, Refusal> {
    match (&input.macs, &input.csv) {
        (Some(_), Some(_)) => Err(ServiceError::invalid(
            "macs",
            "give the phones either as macs or as a MAC_ADDRESS csv, not both",
        )
        .into()),
        (Some(list), None) => {
            if list.len() > MAX_PHONES {
                return Err(ServiceError::invalid(
                    "macs",
                    format!("at most {MAX_PHONES} phones per action; split the list"),
                )
                .into());
            }
            let macs = parse_macs(list)?;
            Ok(Some(macs.iter().map(ToString::to_string).collect()))
        }
        (None, Some(csv)) => {
            let macs: Vec<Mac> = match parse_remote_worker_csv(csv.as_bytes(), None) {
                Ok(RemoteWorkerImport::Selection(macs)) => macs,
                Ok(RemoteWorkerImport::Phones(files)) => files.iter().map(|f| f.mac()).collect(),
                Err(errors) => return Err(rejected_marker(errors)),
            };
            Ok(Some(macs.iter().map(ToString::to_string).collect()))
        }
        (None, None) => Ok(None),
    }
}

/// Why a request's inputs are refused before the action exists.
enum Refusal {
    /// The CSV has problems ([`Service::schedule_action`] records them as
    /// a failed action).
    Csv(Vec<CsvError>),
    /// Anything else (nothing recorded).
    Service(ServiceError),
}

impl From<ServiceError> for Refusal {
    fn from(e: ServiceError) -> Self {
        Self::Service(e)
    }
}

fn rejected_marker(errors: Vec<CsvError>) -> Refusal {
    Refusal::Csv(errors)
}

/// The result text of a refused CSV: the first problems with their lines.
pub(super) fn csv_result(errors: &[CsvError]) -> String {
    let shown: Vec<String> = errors.iter().take(5).map(ToString::to_string).collect();
    let more = errors.len().saturating_sub(5);
    let mut text = format!(
        "CSV refused, nothing was written; {} problem(s): {}",
        errors.len(),
        shown.join("; ")
    );
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    text
}

impl Service {
    /// The notifier that wakes the action runner; scheduling through this
    /// service notifies it (a CLI process's schedule is seen at the
    /// runner's next periodic check).
    pub fn action_wakeup(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.action_wakeup)
    }

    /// Checks and schedules an action.
    ///
    /// # Errors
    /// [`ScheduleFailure::Rejected`] for a CSV with problems (recorded as a
    /// failed action); otherwise 403, 422 naming the field (time, CSV
    /// size, MACs, kind-specific fields), 401/429 for a hash change's
    /// password, as [`Service::generate_provisioning_hash`].
    pub fn schedule_action(
        &self,
        caller: &Caller,
        input: &ScheduleActionInput,
    ) -> Result<ScheduledAction, ScheduleFailure> {
        caller.require(Resource::Provisioning, Access::Write)?;
        let due = when::due(input.at.as_deref(), input.delay.as_deref(), caller.now)?;
        let name = input
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(input.kind.default_name())
            .to_owned();
        if name.chars().count() > MAX_ACTION_NAME || name.chars().any(char::is_control) {
            return Err(ServiceError::invalid(
                "name",
                format!("at most {MAX_ACTION_NAME} characters, no control characters"),
            )
            .into());
        }
        let (payload, warning) = match self.check_payload(caller, input) {
            Ok(checked) => checked,
            Err(Refusal::Csv(errors)) => {
                let action = self.record_refused(caller, input.kind, &name, due, &errors)?;
                return Err(ScheduleFailure::Rejected {
                    action: Box::new(action),
                    errors,
                });
            }
            Err(Refusal::Service(e)) => return Err(e.into()),
        };
        let payload = serde_json::to_string(&payload)
            .map_err(|e| ServiceError::Internal(format!("action payload: {e}")))?;
        let (actor, _) = caller.audit_actor();
        let new = NewAction {
            name,
            operator: actor,
            kind: input.kind.store_kind(),
            due,
        };
        let view = self.with_store(|s| {
            let stored = s
                .schedule_action_audited(&new, Some(&payload), caller.now, |a| {
                    let after = serde_json::json!({
                        "id": a.id, "name": a.action.name, "kind": input.kind, "due": a.action.due,
                    });
                    Some(caller.audit(
                        "provisioning.action.schedule",
                        &a.id.to_string(),
                        NOTHING,
                        Some(&after),
                    ))
                })
                .map_err(store_error)?;
            one_view(s, stored.id)
        })?;
        info!(action = view.id, kind = %view.kind, due = ?view.due, "provisioning action scheduled");
        self.action_wakeup.notify_one();
        Ok(ScheduledAction {
            action: view,
            warning,
        })
    }

    /// The payload of a valid request, and its warning.
    fn check_payload(
        &self,
        caller: &Caller,
        input: &ScheduleActionInput,
    ) -> Result<(Payload, Option<String>), Refusal> {
        let kind = input.kind;
        let no = |field: &str, why: &str| -> Refusal {
            ServiceError::invalid(field, format!("{why} for a {} action", kind.default_name()))
                .into()
        };
        if kind != ActionRequestKind::HashChange
            && (input.admin.is_some() || input.password.is_some())
        {
            return Err(no(
                "password",
                "only a hash change takes admin and password",
            ));
        }
        if matches!(
            kind,
            ActionRequestKind::ImportPhones | ActionRequestKind::ImportGlobal
        ) && input.macs.is_some()
        {
            return Err(no("macs", "not taken (the CSV names the phones)"));
        }
        let csv_limit = match kind {
            ActionRequestKind::ImportGlobal => MAX_GLOBAL_CSV_BYTES,
            _ => MAX_REMOTE_WORKER_CSV_BYTES,
        };
        if input.csv.as_ref().is_some_and(|c| c.len() > csv_limit) {
            return Err(ServiceError::invalid(
                "csv",
                format!("larger than {csv_limit} bytes; split the file"),
            )
            .into());
        }
        match kind {
            ActionRequestKind::ImportPhones => {
                let csv = input
                    .csv
                    .clone()
                    .ok_or_else(|| no("csv", "a CSV is needed"))?;
                let system = self.system_values()?;
                match parse_remote_worker_csv(csv.as_bytes(), system.as_ref()) {
                    Ok(RemoteWorkerImport::Phones(_)) => Ok((Payload::ImportPhones { csv }, None)),
                    Ok(RemoteWorkerImport::Selection(_)) => Err(no(
                        "csv",
                        "this CSV has only MAC_ADDRESS and writes no file; it selects phones \
                         for a deploy or delete action, not",
                    )),
                    Err(errors) => Err(rejected_marker(errors)),
                }
            }
            ActionRequestKind::ImportGlobal => {
                let csv = input
                    .csv
                    .clone()
                    .ok_or_else(|| no("csv", "a CSV is needed"))?;
                parse_global_csv(csv.as_bytes()).map_err(rejected_marker)?;
                Ok((Payload::ImportGlobal { csv }, None))
            }
            ActionRequestKind::Deploy => Ok((
                Payload::Deploy {
                    macs: selected_macs(input)?,
                },
                None,
            )),
            ActionRequestKind::Delete => {
                let macs = selected_macs(input)?
                    .filter(|m| !m.is_empty())
                    .ok_or_else(|| {
                        no("macs", "the phones (macs, or a MAC_ADDRESS csv) are needed")
                    })?;
                Ok((Payload::Delete { macs }, None))
            }
            ActionRequestKind::HashChange => {
                if input.csv.is_some() || input.macs.is_some() {
                    return Err(no("csv", "no csv or macs"));
                }
                let password = input
                    .password
                    .clone()
                    .ok_or_else(|| no("password", "an administrator's password is needed"))?;
                let confirm = HashGenerateInput {
                    admin: input.admin.clone(),
                    password,
                };
                let confirmed_by = self.confirm_hash_change(caller, &confirm)?;
                Ok((
                    Payload::HashChange { confirmed_by },
                    Some(REPROVISION_WARNING.to_owned()),
                ))
            }
        }
    }

    /// The system values imports fill in, when the gateway's name and key
    /// are known.
    pub(super) fn system_values(&self) -> Result<Option<SystemValues>, ServiceError> {
        let hash = self.with_store(|s| s.provisioning_hash().map_err(store_error))?;
        Ok(match (&self.public_name, &hash) {
            (Some(name), Some(hash)) => SystemValues::new(name.as_str(), hash.expose()).ok(),
            _ => None,
        })
    }

    /// Records a refused request as an action that failed at once, its
    /// result naming the CSV's problems.
    fn record_refused(
        &self,
        caller: &Caller,
        kind: ActionRequestKind,
        name: &str,
        due: Option<i64>,
        errors: &[CsvError],
    ) -> Result<ActionView, ServiceError> {
        let (actor, _) = caller.audit_actor();
        let new = NewAction {
            name: name.to_owned(),
            operator: actor,
            kind: kind.store_kind(),
            due,
        };
        let result = csv_result(errors);
        self.with_store(|s| {
            let stored = s
                .schedule_action_audited(&new, None, caller.now, |a| {
                    let after = serde_json::json!({
                        "id": a.id, "name": a.action.name, "kind": kind, "refused": errors.len(),
                    });
                    Some(caller.audit(
                        "provisioning.action.schedule",
                        &a.id.to_string(),
                        NOTHING,
                        Some(&after),
                    ))
                })
                .map_err(store_error)?;
            s.start_action(stored.id, caller.now)
                .map_err(action_error)?;
            s.finish_action(stored.id, false, &result, caller.now)
                .map_err(action_error)?;
            one_view(s, stored.id)
        })
    }

    /// Actions, newest first, with their events, filtered.
    ///
    /// # Errors
    /// 403 without read access; 422 for a bad filter.
    pub fn list_actions(
        &self,
        caller: &Caller,
        query: &ActionQuery,
    ) -> Result<Vec<ActionView>, ServiceError> {
        caller.require(Resource::Provisioning, Access::Read)?;
        const STATES: [&str; 5] = ["pending", "running", "done", "failed", "interrupted"];
        const KINDS: [&str; 4] = ["import", "deploy", "delete", "hash-change"];
        if let Some(state) = query.state.as_deref().filter(|s| !STATES.contains(s)) {
            return Err(ServiceError::invalid(
                "state",
                format!("{state:?} is not a state; use one of {}", STATES.join(", ")),
            ));
        }
        if let Some(kind) = query.kind.as_deref().filter(|k| !KINDS.contains(k)) {
            return Err(ServiceError::invalid(
                "kind",
                format!("{kind:?} is not a kind; use one of {}", KINDS.join(", ")),
            ));
        }
        let limit = limit(query.limit, "limit")? as usize;
        let all = self.provisioning_actions(caller)?;
        Ok(all
            .into_iter()
            .filter(|a| query.state.as_deref().is_none_or(|s| a.state == s))
            .filter(|a| query.kind.as_deref().is_none_or(|k| a.kind == k))
            .take(limit)
            .collect())
    }

    /// One action with its events.
    ///
    /// # Errors
    /// 403; 404.
    pub fn show_action(&self, caller: &Caller, id: i64) -> Result<ActionView, ServiceError> {
        caller.require(Resource::Provisioning, Access::Read)?;
        self.with_store(|s| one_view(s, id))
    }

    /// Cancels a pending action (it ends failed, "cancelled by ...").
    ///
    /// # Errors
    /// 403; 404; 409 unless it is pending.
    pub fn cancel_action(&self, caller: &Caller, id: i64) -> Result<ActionView, ServiceError> {
        caller.require(Resource::Provisioning, Access::Write)?;
        let (actor, _) = caller.audit_actor();
        let view = self.with_store(|s| {
            s.cancel_action_audited(id, super::change_by(caller, &actor), |a| {
                let before = serde_json::json!({ "id": a.id, "name": a.action.name });
                Some(caller.audit(
                    "provisioning.action.cancel",
                    &a.id.to_string(),
                    Some(&before),
                    NOTHING,
                ))
            })
            .map_err(action_error)?;
            one_view(s, id)
        })?;
        info!(action = id, "provisioning action cancelled");
        Ok(view)
    }

    /// The event log, oldest first (the newest `limit`).
    ///
    /// # Errors
    /// 403; 422 for a bad limit.
    pub fn provisioning_events(
        &self,
        caller: &Caller,
        query: &EventQuery,
    ) -> Result<Vec<LogEventView>, ServiceError> {
        caller.require(Resource::Provisioning, Access::Read)?;
        let filter = EventFilter {
            action_id: query.action,
            since: query.since,
            limit: limit(query.limit, "limit")?,
        };
        let events = self.with_store(|s| s.events(&filter).map_err(store_error))?;
        Ok(events
            .into_iter()
            .map(|e| LogEventView {
                id: e.id,
                action_id: e.action_id,
                at: e.at,
                text: e.text,
            })
            .collect())
    }

    /// Ids of the pending actions due at `now`, oldest first (the runner).
    ///
    /// # Errors
    /// A database error.
    pub fn due_action_ids(&self, now: i64) -> Result<Vec<i64>, ServiceError> {
        let due = self.with_store(|s| s.due_actions(now).map_err(store_error))?;
        Ok(due
            .iter()
            .filter(|a| a.state == ActionState::Pending)
            .map(|a| a.id)
            .collect())
    }

    /// The earliest due time of the pending actions (`i64::MIN` for one
    /// that runs at once), if any is pending (the runner).
    ///
    /// # Errors
    /// A database error.
    pub fn next_action_due(&self) -> Result<Option<i64>, ServiceError> {
        self.with_store(|s| s.next_due_action().map_err(store_error))
    }
}
