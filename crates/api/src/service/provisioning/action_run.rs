//! Carrying out one scheduled action (PRO-9), for the runner of `outpost
//! serve` ([`crate::action_runner`]) and for `outpost provisioning actions
//! schedule` without a time (the CLI runs it at once itself).
//!
//! The action moves `pending` → `running` in its own transaction (only one
//! process can win that move, so the CLI and serve never both run it),
//! then the change is made by the same service calls as an immediate
//! change, as [`Actor::Scheduled`]: the change's transaction ends the
//! action `done` with its result (so files and state commit together; a
//! crash before the commit leaves the previous files and a `running`
//! action, which the next start of serve marks `interrupted`). A failure
//! ends it `failed` with the reason (a refused CSV names its lines).
//!
//! Progress: a remote-worker import is one transaction (all or nothing),
//! so what others can see of it is the steps around it: 10% when the
//! payload is read, then done. Deletions and deploys are one transaction
//! each too.

use outpost_provision::Mac;
use outpost_store::{Action, ActionState, StoreError};
use tracing::{info, warn};

use super::super::input::store_error;
use super::super::{Actor, Caller, NOTHING, Service, ServiceError};
use super::actions::{Payload, action_error};
use super::{ActionView, parse_macs};

impl Service {
    /// Runs the pending action `id` now, unless another process took it
    /// first (`Ok(None)`); returns it as it ended.
    ///
    /// # Errors
    /// A database error around the run (the action's own failure is its
    /// `failed` state, not an error here).
    pub fn run_action(&self, id: i64, now: i64) -> Result<Option<ActionView>, ServiceError> {
        let started = self.with_store(|s| match s.start_action(id, now) {
            Ok(action) => Ok(Some(action)),
            Err(StoreError::ActionState { .. } | StoreError::ActionNotFound { .. }) => Ok(None),
            Err(e) => Err(store_error(e)),
        })?;
        let Some(action) = started else {
            return Ok(None);
        };
        let caller = Caller {
            actor: Actor::Scheduled {
                action: id,
                operator: action.action.operator.clone(),
            },
            source: None,
            now,
        };
        let outcome = self.carry_out(&caller, &action);
        self.with_store(|s| {
            let current = s.action(id).map_err(store_error)?;
            if current.is_some_and(|a| a.state == ActionState::Running) {
                let (ok, result) = match &outcome {
                    Ok(()) => (true, "nothing to do".to_owned()),
                    Err(reason) => (false, reason.clone()),
                };
                s.finish_action(id, ok, &result, now)
                    .map_err(action_error)?;
            }
            Ok(())
        })?;
        let view = self.show_action(&caller, id)?;
        match &outcome {
            Ok(()) => info!(action = id, kind = %view.kind, "provisioning action done"),
            Err(reason) => {
                warn!(action = id, kind = %view.kind, reason = %reason, "provisioning action failed");
            }
        }
        Ok(Some(view))
    }

    /// Makes the action's change; `Err` is the failure's result text.
    fn carry_out(&self, caller: &Caller, action: &Action) -> Result<(), String> {
        let id = action.id;
        let text = self
            .with_store(|s| s.action_payload(id).map_err(store_error))
            .map_err(|e| e.public_message())?
            .ok_or_else(|| {
                "the action has no payload (scheduled by an older Outpost?); schedule it again"
                    .to_owned()
            })?;
        let payload: Payload = serde_json::from_str(&text)
            .map_err(|e| format!("the action's payload cannot be read ({e}); schedule it again"))?;
        self.with_store(|s| {
            s.set_action_progress(id, 10, caller.now)
                .map_err(store_error)
        })
        .map_err(|e| e.public_message())?;
        let failed = |e: ServiceError| e.public_message();
        match payload {
            Payload::ImportPhones { csv } => self
                .import_phones(caller, csv.as_bytes())
                .map(drop)
                .map_err(|f| f.to_string()),
            Payload::ImportGlobal { csv } => self
                .import_global(caller, csv.as_bytes())
                .map(drop)
                .map_err(|f| f.to_string()),
            Payload::Deploy { macs } => {
                let macs = macs.map(|m| parse_macs(&m)).transpose().map_err(failed)?;
                self.deploy_phones(caller, macs.as_deref()).map_err(failed)
            }
            Payload::Delete { macs } => {
                let macs = parse_macs(&macs).map_err(failed)?;
                self.delete_phones(caller, &macs).map_err(failed)
            }
            Payload::HashChange { confirmed_by } => self
                .replace_provisioning_hash(caller, &confirmed_by)
                .map(drop)
                .map_err(failed),
        }
    }

    fn delete_phones(&self, caller: &Caller, macs: &[Mac]) -> Result<(), ServiceError> {
        let (actor, _) = caller.audit_actor();
        let done = self.with_store(|s| {
            s.remove_phones_audited(macs, super::change_by(caller, &actor), |done| {
                let files: Vec<&str> = done.files.iter().map(|f| f.name.as_str()).collect();
                let missing: Vec<String> = done.missing.iter().map(ToString::to_string).collect();
                let before = serde_json::json!({
                    "files": files, "inventory": done.inventory, "missing": missing,
                });
                Some(caller.audit(
                    "provisioning.phones.delete",
                    &format!("{} phone(s)", macs.len()),
                    Some(&before),
                    NOTHING,
                ))
            })
            .map_err(action_error)
        })?;
        info!(
            files = done.files.len(),
            inventory = done.inventory,
            missing = done.missing.len(),
            "phones removed by a provisioning action"
        );
        Ok(())
    }

    fn deploy_phones(&self, caller: &Caller, macs: Option<&[Mac]>) -> Result<(), ServiceError> {
        let (actor, _) = caller.audit_actor();
        let (touched, missing) = self.with_store(|s| {
            s.deploy_files_audited(
                macs,
                super::change_by(caller, &actor),
                |touched, missing| {
                    let missing: Vec<String> = missing.iter().map(ToString::to_string).collect();
                    let after = serde_json::json!({ "files": touched, "missing": missing });
                    Some(caller.audit(
                        "provisioning.deploy",
                        macs.map_or("all phones", |_| "selected phones"),
                        NOTHING,
                        Some(&after),
                    ))
                },
            )
            .map_err(action_error)
        })?;
        info!(
            files = touched,
            missing = missing.len(),
            "provisioning files republished"
        );
        Ok(())
    }
}
