//! Key/value settings: plain strings the binary interprets (listen
//! addresses, the one-time setup token, ...), and settings changed through
//! the management API with their audit entries, in one transaction.

use rusqlite::{OptionalExtension, params};

use crate::{AuditRecord, FieldProblem, Store, StoreError};

/// Longest accepted setting key, in characters.
const MAX_KEY_CHARS: usize = 128;

impl Store {
    /// The value of setting `key`, if set.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?;
        Ok(stmt.query_row([key], |r| r.get(0)).optional()?)
    }

    /// Sets `key` to `value`, replacing any previous value.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty or over-long key;
    /// [`StoreError::Database`].
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        check_key(key)?;
        let tx = self.write_txn()?;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Removes the value of `key`; returns whether one was set.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn remove_setting(&mut self, key: &str) -> Result<bool, StoreError> {
        let tx = self.write_txn()?;
        let removed = tx.execute("DELETE FROM settings WHERE key = ?1", [key])?;
        tx.commit()?;
        Ok(removed > 0)
    }

    /// Sets `key` to `value` only if it has no value yet; returns whether it
    /// was written. Atomic, so of two processes racing to create a one-time
    /// token exactly one wins.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty or over-long key;
    /// [`StoreError::Database`].
    pub fn set_setting_if_absent(&mut self, key: &str, value: &str) -> Result<bool, StoreError> {
        check_key(key)?;
        let tx = self.write_txn()?;
        let written = tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
            params![key, value],
        )?;
        tx.commit()?;
        Ok(written == 1)
    }
}

/// What a change of settings through the management API writes, in one
/// transaction: values set and values removed (a reset: the setting falls
/// back to the next layer down), in the key/value table and the guard's.
#[derive(Debug, Clone, Copy, Default)]
pub struct SettingsWrite<'a> {
    /// Rows of the key/value table to set, `(key, value)`.
    pub set: &'a [(&'a str, &'a str)],
    /// Rows of the key/value table to remove.
    pub remove: &'a [&'a str],
    /// The guard's settings to set, `(key, value)`.
    pub set_guard: &'a [(&'a str, &'a str)],
    /// The guard's settings to remove.
    pub remove_guard: &'a [&'a str],
}

impl Store {
    /// Writes settings changed through the management API, all or
    /// nothing, with their audit entries in the same transaction:
    /// `settings` are rows of the key/value table (as
    /// [`Store::set_setting`] writes them), `guard` the guard's settings
    /// (as [`Store::set_guard_settings`] writes them, bumping the guard's
    /// revision so a running gateway reloads them).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty or over-long key, or an audit
    /// field the audit log refuses; [`StoreError::Database`]. Nothing is
    /// written then.
    pub fn change_settings(
        &mut self,
        settings: &[(&str, &str)],
        guard: &[(&str, &str)],
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let write = SettingsWrite {
            set: settings,
            set_guard: guard,
            ..SettingsWrite::default()
        };
        self.write_settings(&write, audit)
    }

    /// [`Store::change_settings`] with removals too (resets), all or
    /// nothing, with the audit entries in the same transaction; a guard
    /// setting set or removed bumps the guard's revision.
    ///
    /// # Errors
    /// As [`Store::change_settings`].
    pub fn write_settings(
        &mut self,
        write: &SettingsWrite<'_>,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let set = write.set.iter().chain(write.set_guard).map(|(k, _)| *k);
        for key in set
            .chain(write.remove.iter().copied())
            .chain(write.remove_guard.iter().copied())
        {
            check_key(key)?;
        }
        let tx = self.write_txn()?;
        for (key, value) in write.set {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
        }
        for key in write.remove {
            tx.execute("DELETE FROM settings WHERE key = ?1", [key])?;
        }
        for (key, value) in write.set_guard {
            tx.execute(
                "INSERT INTO guard_settings (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
        }
        for key in write.remove_guard {
            tx.execute("DELETE FROM guard_settings WHERE key = ?1", [key])?;
        }
        if !write.set_guard.is_empty() || !write.remove_guard.is_empty() {
            // As every guard write does (see guard.rs): the running
            // gateway polls this counter.
            tx.execute(
                "UPDATE guard_revision SET revision = revision + 1 WHERE id = 1",
                [],
            )?;
        }
        for record in audit {
            crate::audit::insert(&tx, record)?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn check_key(key: &str) -> Result<(), StoreError> {
    let problem = if key.trim().is_empty() {
        FieldProblem::without_value("key", "empty; a setting needs a name")
    } else if key.chars().count() > MAX_KEY_CHARS {
        FieldProblem::with_value(
            "key",
            key,
            format!("too long; at most {MAX_KEY_CHARS} characters"),
        )
    } else {
        return Ok(());
    };
    Err(StoreError::Invalid(vec![problem]))
}
