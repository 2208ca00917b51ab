//! Provisioning actions and their events (PRO-9): what was or will be
//! done, by whom, when, how far it got and how it ended.
//!
//! An action is `pending` until its runner starts it (`due` NULL means
//! "as soon as possible", otherwise a time), then `running`, then `done`
//! or `failed`. A process that dies while an action runs cannot finish it,
//! so the process that runs actions (`outpost serve`) marks every
//! `running` action `interrupted` when it starts, before it runs any
//! ([`Store::interrupt_running_actions`]): an action is never left
//! "running" by a crash. This is not done by every open of the store: the
//! CLI opens it while `serve` runs, and would cut serve's actions. The
//! store has no clock, so that event carries the action's last update
//! time, the last moment it was known to run.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::{AuditRecord, FieldProblem, Store, StoreError, audit};

/// What an action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActionKind {
    /// Files written from a CSV or an upload.
    Import,
    /// Configuration pushed to phones.
    Deploy,
    /// Files or inventory entries removed.
    Delete,
    /// A new hash key.
    HashChange,
}

impl ActionKind {
    /// The name in the database and in API answers.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Import => "import",
            Self::Deploy => "deploy",
            Self::Delete => "delete",
            Self::HashChange => "hash-change",
        }
    }

    fn from_db(s: &str) -> Option<Self> {
        match s {
            "import" => Some(Self::Import),
            "deploy" => Some(Self::Deploy),
            "delete" => Some(Self::Delete),
            "hash-change" => Some(Self::HashChange),
            _ => None,
        }
    }
}

/// Where an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActionState {
    /// Waiting for its time or its runner.
    Pending,
    /// Started and not finished.
    Running,
    /// Finished as intended.
    Done,
    /// Finished with an error (see its result).
    Failed,
    /// Cut by a stop or crash of Outpost while running.
    Interrupted,
}

impl ActionState {
    /// The name in the database and in API answers.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }

    fn from_db(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "running" => Some(Self::Running),
            "done" => Some(Self::Done),
            "failed" => Some(Self::Failed),
            "interrupted" => Some(Self::Interrupted),
            _ => None,
        }
    }
}

/// An action to schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAction {
    /// A name for people.
    pub name: String,
    /// Who asked for it (`account:alice`, `cli:root`).
    pub operator: String,
    /// What it does.
    pub kind: ActionKind,
    /// When to run it, seconds since the Unix epoch; `None` for at once.
    pub due: Option<i64>,
}

/// A stored action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Its id, increasing.
    pub id: i64,
    /// Name, operator, kind and due time as scheduled.
    pub action: NewAction,
    /// Where it is.
    pub state: ActionState,
    /// 0 to 100.
    pub progress: u8,
    /// How it ended, or why it failed.
    pub result: Option<String>,
    /// When it was created.
    pub created: i64,
    /// When its state or progress last changed.
    pub updated: i64,
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionEvent {
    /// Its id, increasing.
    pub id: i64,
    /// The action it is about, if any.
    pub action_id: Option<i64>,
    /// When, seconds since the Unix epoch.
    pub at: i64,
    /// What happened.
    pub text: String,
}

pub(super) const ACTION_COLUMNS: &str =
    "id, name, operator, kind, due, state, progress, result, created, updated";

impl Store {
    /// Schedules an action (`pending`) with the audit entry `audit` builds.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty name or operator or a refused
    /// audit entry; [`StoreError::Database`].
    pub fn add_action_audited(
        &mut self,
        new: &NewAction,
        at: i64,
        audit: impl FnOnce(&Action) -> Option<AuditRecord>,
    ) -> Result<Action, StoreError> {
        self.schedule_action_audited(new, None, at, audit)
    }

    /// Schedules an action (`pending`) with what it needs to run later
    /// (`payload`, JSON: a CSV's text, a MAC list), in one transaction
    /// with the audit entry `audit` builds. The payload is never in an
    /// [`Action`]: it may hold SIP passwords; [`Store::action_payload`]
    /// reads it, and it is cleared when the action ends.
    ///
    /// # Errors
    /// As [`Store::add_action_audited`]; [`StoreError::Invalid`] for a
    /// payload that is not JSON.
    pub fn schedule_action_audited(
        &mut self,
        new: &NewAction,
        payload: Option<&str>,
        at: i64,
        audit: impl FnOnce(&Action) -> Option<AuditRecord>,
    ) -> Result<Action, StoreError> {
        let mut problems = Vec::new();
        if new.name.trim().is_empty() {
            problems.push(FieldProblem::without_value(
                "name",
                "give the action a name",
            ));
        }
        if new.operator.is_empty() {
            problems.push(FieldProblem::without_value(
                "operator",
                "an action needs an operator",
            ));
        }
        if let Some(p) = payload {
            let valid: bool = self
                .conn
                .query_row("SELECT json_valid(?1)", [p], |r| r.get(0))?;
            if !valid {
                problems.push(FieldProblem::without_value(
                    "payload",
                    "an action's payload must be JSON",
                ));
            }
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems));
        }
        let tx = self.write_txn()?;
        tx.execute(
            "INSERT INTO provisioning_actions \
             (name, operator, kind, due, state, progress, result, created, updated, payload) \
             VALUES (?1, ?2, ?3, ?4, 'pending', 0, NULL, ?5, ?5, ?6)",
            params![
                new.name,
                new.operator,
                new.kind.as_str(),
                new.due,
                at,
                payload
            ],
        )?;
        let id = tx.last_insert_rowid();
        let when = new
            .due
            .map_or_else(|| "to run at once".to_owned(), |d| format!("to run at {d}"));
        insert_event(
            &tx,
            Some(id),
            at,
            &format!("scheduled by {} {when}", new.operator),
        )?;
        let stored = by_id(&tx, id)?.ok_or(StoreError::ActionNotFound { id })?;
        if let Some(record) = audit(&stored) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(stored)
    }

    /// All actions, newest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn actions(&self) -> Result<Vec<Action>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ACTION_COLUMNS} FROM provisioning_actions ORDER BY id DESC"
        ))?;
        let rows = stmt.query_map([], action_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The action with this id.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn action(&self, id: i64) -> Result<Option<Action>, StoreError> {
        by_id(&self.conn, id)
    }

    /// Pending actions whose time has come (or that run at once), oldest
    /// first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn due_actions(&self, now: i64) -> Result<Vec<Action>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ACTION_COLUMNS} FROM provisioning_actions \
             WHERE state = 'pending' AND (due IS NULL OR due <= ?1) ORDER BY id"
        ))?;
        let rows = stmt.query_map([now], action_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The events of one action, or of all (`None`), oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn action_events(&self, action_id: Option<i64>) -> Result<Vec<ActionEvent>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, action_id, at, text FROM provisioning_events \
             WHERE ?1 IS NULL OR action_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([action_id], |r| {
            Ok(ActionEvent {
                id: r.get(0)?,
                action_id: r.get(1)?,
                at: r.get(2)?,
                text: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Moves a pending action to `running`.
    ///
    /// # Errors
    /// [`StoreError::ActionNotFound`]; [`StoreError::ActionState`] unless
    /// it is pending; [`StoreError::Database`].
    pub fn start_action(&mut self, id: i64, at: i64) -> Result<Action, StoreError> {
        self.move_action(
            id,
            ActionState::Pending,
            ActionState::Running,
            0,
            None,
            at,
            "started",
        )
    }

    /// Records a running action's progress (0 to 100, clamped).
    ///
    /// # Errors
    /// As [`Store::start_action`], unless it is running.
    pub fn set_action_progress(
        &mut self,
        id: i64,
        progress: u8,
        at: i64,
    ) -> Result<Action, StoreError> {
        let progress = progress.min(100);
        let text = format!("progress {progress}%");
        self.move_action(
            id,
            ActionState::Running,
            ActionState::Running,
            progress,
            None,
            at,
            &text,
        )
    }

    /// Finishes a running action as `done` (`ok`) or `failed`, with its
    /// result.
    ///
    /// # Errors
    /// As [`Store::start_action`], unless it is running.
    pub fn finish_action(
        &mut self,
        id: i64,
        ok: bool,
        result: &str,
        at: i64,
    ) -> Result<Action, StoreError> {
        let (to, progress) = if ok {
            (ActionState::Done, 100)
        } else {
            (
                ActionState::Failed,
                self.action(id)?.map_or(0, |a| a.progress),
            )
        };
        let text = format!("{}: {result}", to.as_str());
        self.move_action(
            id,
            ActionState::Running,
            to,
            progress,
            Some(result),
            at,
            &text,
        )
    }

    #[allow(clippy::too_many_arguments)] // one private helper for three public moves
    fn move_action(
        &mut self,
        id: i64,
        from: ActionState,
        to: ActionState,
        progress: u8,
        result: Option<&str>,
        at: i64,
        event: &str,
    ) -> Result<Action, StoreError> {
        let tx = self.write_txn()?;
        let current = by_id(&tx, id)?.ok_or(StoreError::ActionNotFound { id })?;
        if current.state != from {
            return Err(StoreError::ActionState {
                id,
                state: current.state.as_str(),
                needed: from.as_str(),
            });
        }
        // An ended action's payload (a CSV with passwords) goes with it.
        let ended = matches!(to, ActionState::Done | ActionState::Failed);
        tx.execute(
            "UPDATE provisioning_actions SET state = ?2, progress = ?3, \
             result = coalesce(?4, result), updated = ?5, \
             payload = CASE WHEN ?6 THEN NULL ELSE payload END WHERE id = ?1",
            params![id, to.as_str(), progress, result, at, ended],
        )?;
        insert_event(&tx, Some(id), at, event)?;
        let stored = by_id(&tx, id)?.ok_or(StoreError::ActionNotFound { id })?;
        tx.commit()?;
        Ok(stored)
    }
}

impl Store {
    /// Marks every `running` action `interrupted`, with an event; returns
    /// how many. Call it where actions run, at start, before running any:
    /// a `running` action then was cut by the previous process's stop or
    /// crash.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn interrupt_running_actions(&mut self) -> Result<usize, StoreError> {
        interrupt_running(&mut self.conn)
    }
}

fn interrupt_running(conn: &mut Connection) -> Result<usize, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO provisioning_events (action_id, at, text) \
         SELECT id, updated, 'interrupted: Outpost stopped while this action ran (last known \
         progress ' || progress || '%); check its result and run it again if needed' \
         FROM provisioning_actions WHERE state = 'running'",
        [],
    )?;
    let cut = tx.execute(
        "UPDATE provisioning_actions SET state = 'interrupted', payload = NULL, \
         result = coalesce(result, 'interrupted by a stop of Outpost') WHERE state = 'running'",
        [],
    )?;
    tx.commit()?;
    Ok(cut)
}

/// Finishes the running action `id` as `done` with `result`, inside the
/// caller's transaction (the change it made commits with it).
pub(super) fn finish_running_in(
    conn: &Connection,
    id: i64,
    result: &str,
    at: i64,
) -> Result<(), StoreError> {
    let current = by_id(conn, id)?.ok_or(StoreError::ActionNotFound { id })?;
    if current.state != ActionState::Running {
        return Err(StoreError::ActionState {
            id,
            state: current.state.as_str(),
            needed: ActionState::Running.as_str(),
        });
    }
    conn.execute(
        "UPDATE provisioning_actions SET state = 'done', progress = 100, result = ?2, \
         updated = ?3, payload = NULL WHERE id = ?1",
        params![id, result, at],
    )?;
    insert_event(conn, Some(id), at, &format!("done: {result}"))
}

pub(super) fn insert_event(
    conn: &Connection,
    action_id: Option<i64>,
    at: i64,
    text: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO provisioning_events (action_id, at, text) VALUES (?1, ?2, ?3)",
        params![action_id, at, text],
    )?;
    Ok(())
}

pub(super) fn by_id(conn: &Connection, id: i64) -> Result<Option<Action>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ACTION_COLUMNS} FROM provisioning_actions WHERE id = ?1"
    ))?;
    Ok(stmt.query_row([id], action_from_row).optional()?)
}

pub(super) fn action_from_row(row: &Row<'_>) -> rusqlite::Result<Action> {
    use super::files::bad_column;
    let kind: String = row.get(3)?;
    let kind = ActionKind::from_db(&kind).ok_or_else(|| bad_column(3, "action kind", &kind))?;
    let state: String = row.get(5)?;
    let state =
        ActionState::from_db(&state).ok_or_else(|| bad_column(5, "action state", &state))?;
    let progress: i64 = row.get(6)?;
    Ok(Action {
        id: row.get(0)?,
        action: NewAction {
            name: row.get(1)?,
            operator: row.get(2)?,
            kind,
            due: row.get(4)?,
        },
        state,
        progress: u8::try_from(progress).unwrap_or(100),
        result: row.get(7)?,
        created: row.get(8)?,
        updated: row.get(9)?,
    })
}
