//! Phone provisioning data (SEC-7, PRO-5..PRO-9): the hash key, the files
//! phones download, the inventory of phones that downloaded, and the
//! actions and events log.
//!
//! Every administrator change here is also a PRO-9 action: the write
//! records a finished action and its event in its own transaction, next to
//! the audit entry, so the action log, the audit log and the data never
//! disagree. Downloads ([`Store::record_download`]) are phones' doings, not
//! administrators', and are not audited.
//!
//! The formats (MAC forms, configuration syntax, CSV) are
//! `outpost-provision`'s; this module stores bytes it was given under the
//! names a phone asks for, and checks only what keeps the tables coherent.

use rusqlite::Connection;

use crate::StoreError;

mod actions;
mod files;
mod hash;
mod inventory;
mod schedule;
mod uploads;

pub use actions::{Action, ActionEvent, ActionKind, ActionState, NewAction};
pub use files::{FileKind, FileReplacement, ProvisioningFile, ProvisioningFileInfo};
pub use inventory::{Download, InventoryEntry};
pub use schedule::{EventFilter, PhoneRemoval};

/// Who makes a provisioning change and when; the change is recorded as a
/// finished action under this operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeBy<'a> {
    /// When, seconds since the Unix epoch.
    pub at: i64,
    /// The operator, as the audit log names actors (`account:alice`,
    /// `cli:root`).
    pub operator: &'a str,
    /// The scheduled action this change carries out, if any: the change
    /// then finishes that `running` action (`done`, with its result) in
    /// its own transaction instead of recording a new finished one, so
    /// the files and the action's state commit together.
    pub action: Option<i64>,
}

/// Records a finished action with one event inside the caller's
/// transaction, for a change that ran at once; or, for a change made by a
/// scheduled action ([`ChangeBy::action`]), finishes that running action.
fn record_done(
    conn: &Connection,
    by: ChangeBy<'_>,
    kind: ActionKind,
    name: &str,
    result: &str,
) -> Result<i64, StoreError> {
    if let Some(id) = by.action {
        actions::finish_running_in(conn, id, result, by.at)?;
        return Ok(id);
    }
    conn.execute(
        "INSERT INTO provisioning_actions \
         (name, operator, kind, due, state, progress, result, created, updated) \
         VALUES (?1, ?2, ?3, NULL, 'done', 100, ?4, ?5, ?5)",
        rusqlite::params![name, by.operator, kind.as_str(), result, by.at],
    )?;
    let id = conn.last_insert_rowid();
    actions::insert_event(conn, Some(id), by.at, result)?;
    Ok(id)
}
