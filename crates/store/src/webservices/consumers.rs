//! Web services consumers: stored, listed, changed, removed (with their
//! tokens), each change audited in its own transaction.

use rusqlite::{OptionalExtension, Row, params};

use crate::audit::{self, AuditRecord};
use crate::{FieldProblem, Item, Store, StoreError};

/// Longest consumer ID, in characters (seed 001 §5.4.6.2).
pub const WS_CONSUMER_ID_MAX: usize = 40;
/// Longest consumer name, in characters.
pub const WS_CONSUMER_NAME_MAX: usize = 64;

/// A stored consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsConsumer {
    /// The consumer ID (OAuth `oauth_consumer_key`).
    pub consumer_id: String,
    /// What it is, e.g. "MiVoice Office Application Suite".
    pub name: String,
    /// The shared secret, sealed by the management plane.
    pub secret_sealed: Vec<u8>,
    /// Whether it may use the web services.
    pub active: bool,
    /// Its permissions, as the management plane wrote them.
    pub permissions: String,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
}

/// A new consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWsConsumer {
    /// The consumer ID.
    pub consumer_id: String,
    /// Its name.
    pub name: String,
    /// The sealed shared secret.
    pub secret_sealed: Vec<u8>,
    /// Active or not.
    pub active: bool,
    /// Permissions text.
    pub permissions: String,
    /// Creation time.
    pub created: i64,
}

/// Changes to a consumer; `None` keeps the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WsConsumerUpdate {
    /// New name.
    pub name: Option<String>,
    /// New active flag.
    pub active: Option<bool>,
    /// New permissions text.
    pub permissions: Option<String>,
    /// A new sealed secret (the old one stops working at once).
    pub secret_sealed: Option<Vec<u8>>,
}

const COLUMNS: &str = "consumer_id, name, secret, active, permissions, created";

impl Store {
    /// Stores a new consumer with its audit entry.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a bad ID or name;
    /// [`StoreError::Duplicate`] for an ID in use; [`StoreError::Database`].
    pub fn create_ws_consumer(
        &mut self,
        new: &NewWsConsumer,
        audit: &AuditRecord,
    ) -> Result<WsConsumer, StoreError> {
        let mut problems = Vec::new();
        check_id(&new.consumer_id, &mut problems);
        check_name(&new.name, &mut problems);
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems));
        }
        let tx = self.write_txn()?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM ws_consumers WHERE consumer_id = ?1)",
            [&new.consumer_id],
            |r| r.get(0),
        )?;
        if exists {
            return Err(StoreError::Duplicate {
                kind: Item::WsConsumer,
                name: new.consumer_id.clone(),
            });
        }
        tx.execute(
            "INSERT INTO ws_consumers (consumer_id, name, secret, active, permissions, created) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                new.consumer_id,
                new.name,
                new.secret_sealed,
                new.active,
                new.permissions,
                new.created
            ],
        )?;
        audit::insert(&tx, audit)?;
        tx.commit()?;
        Ok(WsConsumer {
            consumer_id: new.consumer_id.clone(),
            name: new.name.clone(),
            secret_sealed: new.secret_sealed.clone(),
            active: new.active,
            permissions: new.permissions.clone(),
            created: new.created,
        })
    }

    /// Every consumer, by ID.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn ws_consumers(&self) -> Result<Vec<WsConsumer>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM ws_consumers ORDER BY consumer_id"
        ))?;
        let rows = stmt.query_map([], consumer_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The consumer `consumer_id`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn ws_consumer(&self, consumer_id: &str) -> Result<Option<WsConsumer>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM ws_consumers WHERE consumer_id = ?1"
        ))?;
        Ok(stmt
            .query_row([consumer_id], consumer_from_row)
            .optional()?)
    }

    /// Changes a consumer; returns it before and after. The audit record's
    /// `before`/`after` are the caller's (without secrets).
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Invalid`] for a bad name;
    /// [`StoreError::Database`].
    pub fn update_ws_consumer(
        &mut self,
        consumer_id: &str,
        change: &WsConsumerUpdate,
        audit: &AuditRecord,
    ) -> Result<(WsConsumer, WsConsumer), StoreError> {
        if let Some(name) = &change.name {
            let mut problems = Vec::new();
            check_name(name, &mut problems);
            if !problems.is_empty() {
                return Err(StoreError::Invalid(problems));
            }
        }
        let tx = self.write_txn()?;
        let before = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM ws_consumers WHERE consumer_id = ?1"),
                [consumer_id],
                consumer_from_row,
            )
            .optional()?
            .ok_or_else(|| not_found(consumer_id))?;
        let after = WsConsumer {
            consumer_id: before.consumer_id.clone(),
            name: change.name.clone().unwrap_or_else(|| before.name.clone()),
            secret_sealed: change
                .secret_sealed
                .clone()
                .unwrap_or_else(|| before.secret_sealed.clone()),
            active: change.active.unwrap_or(before.active),
            permissions: change
                .permissions
                .clone()
                .unwrap_or_else(|| before.permissions.clone()),
            created: before.created,
        };
        tx.execute(
            "UPDATE ws_consumers SET name = ?1, secret = ?2, active = ?3, permissions = ?4 \
             WHERE consumer_id = ?5",
            params![
                after.name,
                after.secret_sealed,
                after.active,
                after.permissions,
                consumer_id
            ],
        )?;
        audit::insert(&tx, audit)?;
        tx.commit()?;
        Ok((before, after))
    }

    /// Removes a consumer and every token it holds.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Database`].
    pub fn delete_ws_consumer(
        &mut self,
        consumer_id: &str,
        audit: &AuditRecord,
    ) -> Result<WsConsumer, StoreError> {
        let tx = self.write_txn()?;
        let before = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM ws_consumers WHERE consumer_id = ?1"),
                [consumer_id],
                consumer_from_row,
            )
            .optional()?
            .ok_or_else(|| not_found(consumer_id))?;
        tx.execute(
            "DELETE FROM ws_tokens WHERE consumer_id = ?1",
            [consumer_id],
        )?;
        tx.execute(
            "DELETE FROM ws_consumers WHERE consumer_id = ?1",
            [consumer_id],
        )?;
        audit::insert(&tx, audit)?;
        tx.commit()?;
        Ok(before)
    }
}

fn not_found(consumer_id: &str) -> StoreError {
    StoreError::NotFound {
        kind: Item::WsConsumer,
        name: consumer_id.to_owned(),
    }
}

fn check_id(id: &str, problems: &mut Vec<FieldProblem>) {
    if id.is_empty() {
        problems.push(FieldProblem::without_value(
            "consumer_id",
            "empty; the consumer ID is what the client sends as its OAuth consumer key",
        ));
    } else if id.chars().count() > WS_CONSUMER_ID_MAX {
        problems.push(FieldProblem::with_value(
            "consumer_id",
            id.to_owned(),
            format!("too long; at most {WS_CONSUMER_ID_MAX} characters"),
        ));
    } else if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        problems.push(FieldProblem::with_value(
            "consumer_id",
            id.to_owned(),
            "use letters, digits, '-', '_' and '.' only",
        ));
    }
}

fn check_name(name: &str, problems: &mut Vec<FieldProblem>) {
    if name.trim().is_empty() {
        problems.push(FieldProblem::without_value(
            "name",
            "empty; name the application server or iPBX that uses this consumer",
        ));
    } else if name.chars().count() > WS_CONSUMER_NAME_MAX {
        problems.push(FieldProblem::with_value(
            "name",
            name.to_owned(),
            format!("too long; at most {WS_CONSUMER_NAME_MAX} characters"),
        ));
    } else if name.chars().any(char::is_control) {
        problems.push(FieldProblem::without_value(
            "name",
            "contains control characters",
        ));
    }
}

fn consumer_from_row(row: &Row<'_>) -> rusqlite::Result<WsConsumer> {
    Ok(WsConsumer {
        consumer_id: row.get(0)?,
        name: row.get(1)?,
        secret_sealed: row.get(2)?,
        active: row.get(3)?,
        permissions: row.get(4)?,
        created: row.get(5)?,
    })
}
