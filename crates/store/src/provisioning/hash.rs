//! The provisioning hash key (SEC-7): part of every configuration-download
//! URL, so whoever does not know it cannot fetch a phone's file.
//!
//! 128 random bits from the operating system, as 32 lower-case hex
//! characters. It travels as [`Secret`] so that it never prints itself in
//! a log line or an error; the audit entry of a change must not carry it
//! either (the caller builds that entry).

use rusqlite::{Connection, OptionalExtension, params};

use super::{ActionKind, ChangeBy, record_done};
use crate::{AuditRecord, Secret, Store, StoreError, audit};

/// Random bytes in a new hash key: 128 bits, SEC-7's minimum.
const HASH_BYTES: usize = 16;

impl Store {
    /// The hash key, if one was generated.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn provisioning_hash(&self) -> Result<Option<Secret>, StoreError> {
        read(&self.conn)
    }

    /// Generates the hash key unless there is one (first start, `init`);
    /// returns `true` if it generated one. Not audited and not an action:
    /// no operator asked for it.
    ///
    /// # Errors
    /// [`StoreError::Random`] without random bytes; [`StoreError::Database`].
    pub fn ensure_provisioning_hash(&mut self, at: i64) -> Result<bool, StoreError> {
        let hash = new_hash()?;
        let tx = self.write_txn()?;
        if read(&tx)?.is_some() {
            return Ok(false);
        }
        write(&tx, &hash, at)?;
        tx.commit()?;
        Ok(true)
    }

    /// Replaces the hash key with a new random one and records the change
    /// as a `hash-change` action and the audit entry `audit` builds, all in
    /// one transaction; returns the new key. Every deployed phone must then
    /// be re-provisioned: its configured URL holds the old key.
    ///
    /// # Errors
    /// [`StoreError::Random`]; [`StoreError::Invalid`] for a refused audit
    /// entry; [`StoreError::Database`]. Nothing changes on error.
    pub fn generate_provisioning_hash_audited(
        &mut self,
        by: ChangeBy<'_>,
        audit: impl FnOnce() -> Option<AuditRecord>,
    ) -> Result<Secret, StoreError> {
        let hash = new_hash()?;
        let tx = self.write_txn()?;
        let had = read(&tx)?.is_some();
        write(&tx, &hash, by.at)?;
        let result = if had {
            "generated a new hash key; every deployed phone must be re-provisioned"
        } else {
            "generated the hash key"
        };
        record_done(&tx, by, ActionKind::HashChange, "hash key", result)?;
        if let Some(record) = audit() {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(Secret::new(hash))
    }
}

fn new_hash() -> Result<String, StoreError> {
    let mut bytes = [0u8; HASH_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(hex::encode(bytes))
}

fn read(conn: &Connection) -> Result<Option<Secret>, StoreError> {
    Ok(conn
        .query_row("SELECT hash FROM provisioning_hash WHERE id = 1", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .map(Secret::new))
}

fn write(conn: &Connection, hash: &str, at: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO provisioning_hash (id, hash, created) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, created = excluded.created",
        params![hash, at],
    )?;
    Ok(())
}
