//! What scheduled provisioning actions need beyond their states
//! ([`super::actions`]): their payload, the next due time (the runner
//! sleeps until it), cancelling a pending one, the event log with
//! filters, and the changes only actions make (removing phones by MAC
//! list, deploying).
//!
//! A cancelled action ends `failed` with the result "cancelled by
//! <operator>": the state CHECK of migration 7 has no `cancelled`, and
//! widening it means rebuilding the table its events refer to.

use outpost_provision::Mac;
use rusqlite::{OptionalExtension, params};

use super::actions::{by_id, insert_event};
use super::files::remove_phone_files;
use super::{ActionKind, ActionState, ChangeBy, ProvisioningFileInfo, record_done};
use crate::{ActionEvent, AuditRecord, Store, StoreError, audit};

/// Which events to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this action's.
    pub action_id: Option<i64>,
    /// Only events at or after this time, Unix seconds.
    pub since: Option<i64>,
    /// At most this many (the newest), at least 1.
    pub limit: u32,
}

/// What removing phones by MAC list did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneRemoval {
    /// Phone files removed.
    pub files: Vec<ProvisioningFileInfo>,
    /// Inventory entries removed.
    pub inventory: usize,
    /// MACs with neither a file nor an inventory entry.
    pub missing: Vec<Mac>,
}

impl Store {
    /// A pending or running action's payload (JSON), if it has one.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn action_payload(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT payload FROM provisioning_actions WHERE id = ?1",
                [id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    /// The earliest due time of the pending actions: `Some(i64::MIN)` when
    /// one runs at once, `None` when none is pending.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn next_due_action(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT min(coalesce(due, -9223372036854775808)) FROM provisioning_actions \
             WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Cancels a pending action: it ends `failed` with the result
    /// "cancelled by <operator>", its payload cleared, with an event and
    /// the audit entry `audit` builds.
    ///
    /// # Errors
    /// [`StoreError::ActionNotFound`]; [`StoreError::ActionState`] unless
    /// it is pending; [`StoreError::Database`].
    pub fn cancel_action_audited(
        &mut self,
        id: i64,
        by: ChangeBy<'_>,
        audit: impl FnOnce(&crate::Action) -> Option<AuditRecord>,
    ) -> Result<crate::Action, StoreError> {
        let tx = self.write_txn()?;
        let current = by_id(&tx, id)?.ok_or(StoreError::ActionNotFound { id })?;
        if current.state != ActionState::Pending {
            return Err(StoreError::ActionState {
                id,
                state: current.state.as_str(),
                needed: ActionState::Pending.as_str(),
            });
        }
        let result = format!("cancelled by {}", by.operator);
        tx.execute(
            "UPDATE provisioning_actions SET state = 'failed', result = ?2, updated = ?3, \
             payload = NULL WHERE id = ?1",
            params![id, result, by.at],
        )?;
        insert_event(&tx, Some(id), by.at, &result)?;
        let stored = by_id(&tx, id)?.ok_or(StoreError::ActionNotFound { id })?;
        if let Some(record) = audit(&stored) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(stored)
    }

    /// The event log, oldest first, as `filter` says.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<ActionEvent>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, action_id, at, text FROM provisioning_events \
             WHERE (?1 IS NULL OR action_id = ?1) AND (?2 IS NULL OR at >= ?2) \
             ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![filter.action_id, filter.since, filter.limit.max(1)],
            |r| {
                Ok(ActionEvent {
                    id: r.get(0)?,
                    action_id: r.get(1)?,
                    at: r.get(2)?,
                    text: r.get(3)?,
                })
            },
        )?;
        let mut events: Vec<ActionEvent> = rows.collect::<Result<_, _>>()?;
        events.reverse();
        Ok(events)
    }

    /// Removes these phones' files and inventory entries, whichever they
    /// have, in one transaction with the `delete` action's end and the
    /// audit entry `audit` builds. A MAC with neither is reported, not
    /// refused: a deferred deletion meets the data as it is then.
    ///
    /// # Errors
    /// [`StoreError::Database`]; the action errors of
    /// [`ChangeBy::action`].
    pub fn remove_phones_audited(
        &mut self,
        macs: &[Mac],
        by: ChangeBy<'_>,
        audit: impl FnOnce(&PhoneRemoval) -> Option<AuditRecord>,
    ) -> Result<PhoneRemoval, StoreError> {
        let tx = self.write_txn()?;
        let files = remove_phone_files(&tx, macs, false)?;
        let mut inventory = 0;
        let mut missing = Vec::new();
        for mac in macs {
            let gone = tx.execute(
                "DELETE FROM provisioning_inventory WHERE mac = ?1",
                [mac.to_string()],
            )?;
            inventory += gone;
            if gone == 0 && !files.iter().any(|f| f.mac == Some(*mac)) {
                missing.push(*mac);
            }
        }
        let done = PhoneRemoval {
            files,
            inventory,
            missing,
        };
        let mut result = format!(
            "removed {} phone file(s) and {} inventory entr(ies)",
            done.files.len(),
            done.inventory
        );
        if !done.missing.is_empty() {
            result.push_str(&format!(
                "; {} MAC(s) had neither: {}",
                done.missing.len(),
                list(&done.missing)
            ));
        }
        record_done(&tx, by, ActionKind::Delete, "phones", &result)?;
        if let Some(record) = audit(&done) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(done)
    }

    /// Deploys: gives the global, startup and model files and the phone
    /// files of `macs` (every phone's with `None`) a new revision and
    /// modification time, so a phone that revalidates its copy
    /// (`If-None-Match`, `If-Modified-Since`) gets the file again instead
    /// of 304. Returns the files touched and the MACs without a file, in
    /// one transaction with the `deploy` action's end and the audit entry.
    ///
    /// # Errors
    /// [`StoreError::Database`]; the action errors of
    /// [`ChangeBy::action`].
    pub fn deploy_files_audited(
        &mut self,
        macs: Option<&[Mac]>,
        by: ChangeBy<'_>,
        audit: impl FnOnce(usize, &[Mac]) -> Option<AuditRecord>,
    ) -> Result<(usize, Vec<Mac>), StoreError> {
        let tx = self.write_txn()?;
        let revision: i64 = tx.query_row(
            "UPDATE provisioning_revision SET revision = revision + 1 WHERE id = 1 \
             RETURNING revision",
            [],
            |r| r.get(0),
        )?;
        let mut touched = tx.execute(
            "UPDATE provisioning_files SET revision = ?1, modified = ?2 \
             WHERE kind IN ('global', 'startup', 'model') OR (?3 AND kind = 'phone')",
            params![revision, by.at, macs.is_none()],
        )?;
        let mut missing = Vec::new();
        for mac in macs.unwrap_or_default() {
            let one = tx.execute(
                "UPDATE provisioning_files SET revision = ?1, modified = ?2 \
                 WHERE kind = 'phone' AND mac = ?3",
                params![revision, by.at, mac.to_string()],
            )?;
            if one == 0 {
                missing.push(*mac);
            }
            touched += one;
        }
        let mut result = format!(
            "republished {touched} file(s) under revision {revision}: phones that check their \
             copy fetch them again; no phone was told to resync (Outpost sends no SIP NOTIFY \
             check-sync), they fetch at their next check or reboot"
        );
        if !missing.is_empty() {
            result.push_str(&format!(
                "; {} MAC(s) have no phone file: {}",
                missing.len(),
                list(&missing)
            ));
        }
        record_done(&tx, by, ActionKind::Deploy, "deploy", &result)?;
        if let Some(record) = audit(touched, &missing) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok((touched, missing))
    }
}

/// Up to ten MACs, then how many more.
fn list(macs: &[Mac]) -> String {
    let mut text: Vec<String> = macs.iter().take(10).map(ToString::to_string).collect();
    if macs.len() > 10 {
        text.push(format!("and {} more", macs.len() - 10));
    }
    text.join(", ")
}
