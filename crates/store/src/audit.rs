//! The audit log (SEC-9): who changed what, when, from where, with the
//! state before and after.
//!
//! Append-only: this module only inserts and reads, and the schema's
//! triggers abort any `UPDATE` or `DELETE` of `audit_log`, so not even a
//! hand-written statement edits history. Writers of a change append its
//! entry inside the change's own transaction ([`insert`]), so a change and
//! its entry are kept or lost together. The store has no clock: the time
//! comes in the [`AuditRecord`]. Before/after are JSON texts the caller
//! built with secrets already redacted; the database checks that they are
//! valid JSON.

use rusqlite::{Connection, Row, ToSql, params};

use crate::{FieldProblem, Store, StoreError};

/// Longest accepted actor, action, target or source, in characters.
const MAX_LABEL_CHARS: usize = 200;
/// Longest accepted before/after document, in bytes.
const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// The most entries one read returns.
pub const AUDIT_PAGE_MAX: u32 = 500;

/// One entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When, seconds since the Unix epoch.
    pub at: i64,
    /// Who, as `kind:identifier`: `account:alice`, `token:<id>`,
    /// `cli:root`, `setup-token`.
    pub actor: String,
    /// The actor's human name (the account name, the token's name).
    pub actor_name: String,
    /// From where: the client's address, or `local` for the CLI.
    pub source: String,
    /// What, as `object.verb`: `admin.create`, `token.revoke`...
    pub action: String,
    /// What it was done to: an account name, a token id...
    pub target: String,
    /// The state before, as JSON without secrets; `None` for a creation.
    pub before: Option<String>,
    /// The state after, as JSON without secrets; `None` for a removal.
    pub after: Option<String>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its position in the log; increases with every entry.
    pub id: i64,
    /// The entry as recorded.
    pub record: AuditRecord,
}

/// Which entries [`Store::audit_entries`] returns, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this actor (`account:alice`, `cli:root`...) or actor name.
    pub actor: Option<String>,
    /// Only this action (`admin.create`), or a family with a trailing dot
    /// (`admin.`).
    pub action: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<i64>,
    /// Only entries at or before this time.
    pub until: Option<i64>,
    /// Only entries older than this id (the previous page's `next_cursor`).
    pub before_id: Option<i64>,
    /// At most this many entries, 1 to [`AUDIT_PAGE_MAX`].
    pub limit: u32,
}

impl Store {
    /// Appends one entry on its own (for events that change nothing else,
    /// such as a login).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an over-long field or a document that is
    /// not JSON; [`StoreError::Database`].
    pub fn append_audit(&mut self, record: &AuditRecord) -> Result<i64, StoreError> {
        let tx = self.write_txn()?;
        let id = insert(&tx, record)?;
        tx.commit()?;
        Ok(id)
    }

    /// The entries matching `filter`, newest first.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a limit out of range;
    /// [`StoreError::Database`].
    pub fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        if filter.limit == 0 || filter.limit > AUDIT_PAGE_MAX {
            return Err(StoreError::Invalid(vec![FieldProblem::with_value(
                "limit",
                filter.limit.to_string(),
                format!("out of range; give 1 to {AUDIT_PAGE_MAX}"),
            )]));
        }
        let mut sql = String::from(
            "SELECT id, at, actor, actor_name, source, action, target, before, after \
             FROM audit_log WHERE 1 = 1",
        );
        let mut args: Vec<Box<dyn ToSql>> = Vec::new();
        if let Some(actor) = &filter.actor {
            args.push(Box::new(actor.clone()));
            sql.push_str(&format!(
                " AND (actor = ?{n} OR actor_name = ?{n})",
                n = args.len()
            ));
        }
        if let Some(action) = &filter.action {
            if action.ends_with('.') {
                // A family: `admin.` matches `admin.create`; LIKE's own
                // wildcards in the prefix are escaped.
                let escaped = action
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                args.push(Box::new(format!("{escaped}%")));
                sql.push_str(&format!(" AND action LIKE ?{} ESCAPE '\\'", args.len()));
            } else {
                args.push(Box::new(action.clone()));
                sql.push_str(&format!(" AND action = ?{}", args.len()));
            }
        }
        if let Some(since) = filter.since {
            args.push(Box::new(since));
            sql.push_str(&format!(" AND at >= ?{}", args.len()));
        }
        if let Some(until) = filter.until {
            args.push(Box::new(until));
            sql.push_str(&format!(" AND at <= ?{}", args.len()));
        }
        if let Some(before) = filter.before_id {
            args.push(Box::new(before));
            sql.push_str(&format!(" AND id < ?{}", args.len()));
        }
        args.push(Box::new(i64::from(filter.limit)));
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", args.len()));
        let mut stmt = self.conn.prepare(&sql)?;
        let refs: Vec<&dyn ToSql> = args.iter().map(AsRef::as_ref).collect();
        let rows = stmt.query_map(refs.as_slice(), entry_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Appends `record` inside the caller's transaction.
pub(crate) fn insert(conn: &Connection, record: &AuditRecord) -> Result<i64, StoreError> {
    check(record)?;
    conn.execute(
        "INSERT INTO audit_log (at, actor, actor_name, source, action, target, before, after) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            record.at,
            record.actor,
            record.actor_name,
            record.source,
            record.action,
            record.target,
            record.before,
            record.after,
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

fn check(record: &AuditRecord) -> Result<(), StoreError> {
    let mut problems = Vec::new();
    for (field, value) in [
        ("actor", &record.actor),
        ("actor_name", &record.actor_name),
        ("source", &record.source),
        ("action", &record.action),
        ("target", &record.target),
    ] {
        if value.chars().count() > MAX_LABEL_CHARS {
            problems.push(FieldProblem::without_value(
                field,
                format!("too long; at most {MAX_LABEL_CHARS} characters"),
            ));
        }
    }
    for (field, document) in [("before", &record.before), ("after", &record.after)] {
        if document
            .as_ref()
            .is_some_and(|d| d.len() > MAX_DOCUMENT_BYTES)
        {
            problems.push(FieldProblem::without_value(
                field,
                format!("too long; at most {MAX_DOCUMENT_BYTES} bytes"),
            ));
        }
    }
    if record.actor.is_empty() || record.action.is_empty() {
        problems.push(FieldProblem::without_value(
            "actor",
            "an audit entry needs an actor and an action",
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(problems))
    }
}

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: row.get(0)?,
        record: AuditRecord {
            at: row.get(1)?,
            actor: row.get(2)?,
            actor_name: row.get(3)?,
            source: row.get(4)?,
            action: row.get(5)?,
            target: row.get(6)?,
            before: row.get(7)?,
            after: row.get(8)?,
        },
    })
}
