//! The guard's persistent state (SEC-2, SEC-3, SEC-6, SEC-10): the
//! allow-list, the DoS and brute-force deny-lists, the guard settings, and
//! a revision counter.
//!
//! Addresses are stored in one canonical text form, the one
//! `outpost-guard` displays: `a.b.c.d` for one IPv4 address, `a.b.c.d/n`
//! for an IPv4 prefix, `x::/n` for an IPv6 prefix of at most /64 (the
//! guard groups IPv6 sources by /64; a bare IPv6 address means its /64).
//! Deny entries are always one source (an IPv4 address or an IPv6 /64).
//! Reasons and settings are stored as given: the guard defines and
//! validates them; this module only checks shapes and sizes.
//!
//! Every write runs in one transaction and, unless it certainly changed
//! nothing, bumps [`Store::guard_revision`] in the same transaction: a
//! running server polls the revision and reloads the lists when another
//! process (the CLI) changed them (its own writes cost it one harmless
//! reload).

use outpost_guard::Prefix;
use rusqlite::{OptionalExtension, Row, Transaction, params};

use crate::audit::{self, AuditRecord};
use crate::{FieldProblem, Store, StoreError};

/// SEC-2: at most 100 allow-list entries.
pub const GUARD_ALLOW_MAX: usize = 100;
/// Longest accepted note or detail, in characters.
const MAX_TEXT_CHARS: usize = 500;
/// Longest accepted reason or setting key, in characters.
const MAX_NAME_CHARS: usize = 64;

/// One of the two deny-lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DenyList {
    /// SEC-3/SEC-5: flooders and malicious-call sources.
    Dos,
    /// SEC-6: digest brute force.
    BruteForce,
}

impl DenyList {
    /// The stored name: `dos` or `bruteforce`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dos => "dos",
            Self::BruteForce => "bruteforce",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "dos" => Some(Self::Dos),
            "bruteforce" => Some(Self::BruteForce),
            _ => None,
        }
    }
}

impl std::fmt::Display for DenyList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    /// Address or prefix, canonical form.
    pub address: String,
    /// The operator's note.
    pub note: String,
    /// When it was added, seconds since the Unix epoch.
    pub added_unix: i64,
}

/// A deny-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyEntry {
    /// The source: an IPv4 address or an IPv6 /64, canonical form.
    pub address: String,
    /// Which list.
    pub list: DenyList,
    /// Why (the guard's reason name: `flood`, `scanner`, `brute-force`...).
    pub reason: String,
    /// Details for the operator.
    pub detail: String,
    /// When it was added, seconds since the Unix epoch.
    pub added_unix: i64,
    /// When it expires, seconds since the Unix epoch; `None` for never.
    pub expires_unix: Option<i64>,
}

/// One change to apply with [`Store::apply_guard_changes`] (the binary
/// maps the guard's events to these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardChange {
    /// Insert or replace a deny entry (same list and address).
    PutDeny(DenyEntry),
    /// Remove a deny entry if present.
    RemoveDeny {
        /// The source, in any accepted form.
        address: String,
        /// Which list.
        list: DenyList,
    },
    /// Insert or replace an allow entry.
    PutAllow(AllowEntry),
    /// Remove an allow entry if present.
    RemoveAllow {
        /// The address or prefix, in any accepted form.
        address: String,
    },
}

/// A parsed address or prefix: the guard's own type, so the store and the
/// running guard agree on what an address means (IPv4-mapped IPv6 is IPv4,
/// a bare IPv6 address is its /64, host bits are refused).
struct Net;

impl Net {
    fn parse(field: &'static str, input: &str) -> Result<Prefix, FieldProblem> {
        input.parse::<Prefix>().map_err(|e| {
            let reason = match e {
                outpost_guard::Error::Prefix { reason, .. } => reason,
                other => other.to_string(),
            };
            FieldProblem::with_value(field, input, &reason)
        })
    }
}

/// The canonical stored form of an address or prefix as the operator
/// typed it (`192.0.2.7/32` → `192.0.2.7`, `2001:db8:1:2::9` →
/// `2001:db8:1:2::/64`), to compare it with stored entries.
///
/// # Errors
/// [`StoreError::Invalid`] saying what is wrong with it.
pub fn canonical_guard_address(input: &str) -> Result<String, StoreError> {
    Net::parse("address", input)
        .map(|p| p.to_string())
        .map_err(|p| StoreError::Invalid(vec![p]))
}

const DENY_COLUMNS: &str = "address, list, reason, detail, added, expires";

impl DenyEntry {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        let list: String = row.get(1)?;
        Ok(Self {
            address: row.get(0)?,
            // The CHECK constraint admits only the two names.
            list: DenyList::parse(&list).unwrap_or(DenyList::Dos),
            reason: row.get(2)?,
            detail: row.get(3)?,
            added_unix: row.get(4)?,
            expires_unix: row.get(5)?,
        })
    }
}

impl AllowEntry {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            address: row.get(0)?,
            note: row.get(1)?,
            added_unix: row.get(2)?,
        })
    }
}

impl Store {
    /// The allow-list, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn guard_allow_list(&self) -> Result<Vec<AllowEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT address, note, added FROM guard_allow ORDER BY added, id")?;
        let rows = stmt.query_map([], AllowEntry::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds `address` (an address or prefix) to the allow-list and returns
    /// the stored entry (address in canonical form).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a malformed address, a `/0`, a duplicate,
    /// an over-long note, or a full list ([`GUARD_ALLOW_MAX`]);
    /// [`StoreError::Database`].
    pub fn add_guard_allow(
        &mut self,
        address: &str,
        note: &str,
        added_unix: i64,
    ) -> Result<AllowEntry, StoreError> {
        self.add_guard_allow_audited(address, note, added_unix, |_| None)
    }

    /// [`Store::add_guard_allow`], appending the audit entry `audit` builds
    /// from the stored entry in the same transaction.
    ///
    /// # Errors
    /// As [`Store::add_guard_allow`].
    pub fn add_guard_allow_audited(
        &mut self,
        address: &str,
        note: &str,
        added_unix: i64,
        audit: impl FnOnce(&AllowEntry) -> Option<AuditRecord>,
    ) -> Result<AllowEntry, StoreError> {
        let entry = checked_allow(&AllowEntry {
            address: address.to_owned(),
            note: note.to_owned(),
            added_unix,
        })?;
        let tx = self.write_txn()?;
        let exists: Option<i64> = tx
            .query_row(
                "SELECT id FROM guard_allow WHERE address = ?1",
                [&entry.address],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_some() {
            return Err(invalid(
                "address",
                &entry.address,
                "already on the allow-list",
            ));
        }
        let count: i64 = tx.query_row("SELECT count(*) FROM guard_allow", [], |r| r.get(0))?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= GUARD_ALLOW_MAX {
            return Err(invalid(
                "address",
                &entry.address,
                &format!(
                    "the allow-list is full ({GUARD_ALLOW_MAX} entries); remove an entry first"
                ),
            ));
        }
        put_allow(&tx, &entry)?;
        bump(&tx)?;
        if let Some(record) = audit(&entry) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(entry)
    }

    /// Removes `address` from the allow-list and returns the entry.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a malformed address or one that is not
    /// on the list; [`StoreError::Database`].
    pub fn remove_guard_allow(&mut self, address: &str) -> Result<AllowEntry, StoreError> {
        self.remove_guard_allow_audited(address, |_| None)
    }

    /// [`Store::remove_guard_allow`], appending the audit entry `audit`
    /// builds from the removed entry in the same transaction.
    ///
    /// # Errors
    /// As [`Store::remove_guard_allow`].
    pub fn remove_guard_allow_audited(
        &mut self,
        address: &str,
        audit: impl FnOnce(&AllowEntry) -> Option<AuditRecord>,
    ) -> Result<AllowEntry, StoreError> {
        let canonical = Net::parse("address", address)
            .map_err(|p| StoreError::Invalid(vec![p]))?
            .to_string();
        let tx = self.write_txn()?;
        let entry = tx
            .query_row(
                "SELECT address, note, added FROM guard_allow WHERE address = ?1",
                [&canonical],
                AllowEntry::from_row,
            )
            .optional()?;
        let Some(entry) = entry else {
            return Err(invalid(
                "address",
                &canonical,
                "not on the allow-list; list it with `outpost guard allow list`",
            ));
        };
        tx.execute("DELETE FROM guard_allow WHERE address = ?1", [&canonical])?;
        bump(&tx)?;
        if let Some(record) = audit(&entry) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(entry)
    }

    /// The deny entries of `list` (or both lists), oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn guard_deny_list(&self, list: Option<DenyList>) -> Result<Vec<DenyEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {DENY_COLUMNS} FROM guard_deny \
             WHERE ?1 IS NULL OR list = ?1 ORDER BY added, id"
        ))?;
        let rows = stmt.query_map([list.map(DenyList::as_str)], DenyEntry::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Inserts or replaces one deny entry.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an address that is not one source, an
    /// empty or over-long reason, an over-long detail, a negative time or
    /// an expiry before the addition; [`StoreError::Database`].
    pub fn put_guard_deny(&mut self, entry: &DenyEntry) -> Result<(), StoreError> {
        self.apply_guard_changes(std::slice::from_ref(&GuardChange::PutDeny(entry.clone())))
    }

    /// Removes the deny entries (of `list`, or both lists) that lie inside
    /// any of `addresses`: each an address (one entry) or a prefix (a
    /// series). Returns what was removed, oldest first, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] listing every malformed address (nothing is
    /// removed); [`StoreError::Database`].
    pub fn remove_guard_deny(
        &mut self,
        addresses: &[&str],
        list: Option<DenyList>,
    ) -> Result<Vec<DenyEntry>, StoreError> {
        self.remove_guard_deny_audited(addresses, list, |_| None)
    }

    /// [`Store::remove_guard_deny`], appending the audit entry `audit`
    /// builds from the removed entries in the same transaction.
    ///
    /// # Errors
    /// As [`Store::remove_guard_deny`].
    pub fn remove_guard_deny_audited(
        &mut self,
        addresses: &[&str],
        list: Option<DenyList>,
        audit: impl FnOnce(&[DenyEntry]) -> Option<AuditRecord>,
    ) -> Result<Vec<DenyEntry>, StoreError> {
        let mut nets = Vec::new();
        let mut problems = Vec::new();
        for a in addresses {
            match Net::parse("address", a) {
                Ok(n) => nets.push(n),
                Err(p) => problems.push(p),
            }
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems));
        }
        let tx = self.write_txn()?;
        let doomed: Vec<DenyEntry> = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {DENY_COLUMNS} FROM guard_deny \
                 WHERE ?1 IS NULL OR list = ?1 ORDER BY added, id"
            ))?;
            let rows = stmt.query_map([list.map(DenyList::as_str)], DenyEntry::from_row)?;
            let all: Vec<DenyEntry> = rows.collect::<Result<_, _>>()?;
            all.into_iter()
                .filter(|e| {
                    Net::parse("address", &e.address)
                        .is_ok_and(|stored| nets.iter().any(|n| n.covers(&stored)))
                })
                .collect()
        };
        for e in &doomed {
            tx.execute(
                "DELETE FROM guard_deny WHERE list = ?1 AND address = ?2",
                params![e.list.as_str(), e.address],
            )?;
        }
        if !doomed.is_empty() {
            bump(&tx)?;
        }
        if let Some(record) = audit(&doomed) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(doomed)
    }

    /// Removes every deny entry (of `list`, or both lists); returns how many.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn clear_guard_deny(&mut self, list: Option<DenyList>) -> Result<usize, StoreError> {
        self.clear_guard_deny_audited(list, |_| None)
    }

    /// [`Store::clear_guard_deny`], appending the audit entry `audit`
    /// builds from the number of entries removed in the same transaction.
    ///
    /// # Errors
    /// As [`Store::clear_guard_deny`].
    pub fn clear_guard_deny_audited(
        &mut self,
        list: Option<DenyList>,
        audit: impl FnOnce(usize) -> Option<AuditRecord>,
    ) -> Result<usize, StoreError> {
        let tx = self.write_txn()?;
        let n = tx.execute(
            "DELETE FROM guard_deny WHERE ?1 IS NULL OR list = ?1",
            [list.map(DenyList::as_str)],
        )?;
        if n > 0 {
            bump(&tx)?;
        }
        if let Some(record) = audit(n) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Removes the deny entries expired at `now_unix`; returns how many.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn remove_expired_guard_deny(&mut self, now_unix: i64) -> Result<usize, StoreError> {
        let tx = self.write_txn()?;
        let n = tx.execute(
            "DELETE FROM guard_deny WHERE expires IS NOT NULL AND expires <= ?1",
            [now_unix],
        )?;
        if n > 0 {
            bump(&tx)?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Applies `changes` in order, all or nothing, in one transaction (the
    /// binary persists a batch of guard events this way).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] listing every bad change (nothing is
    /// written); [`StoreError::Database`].
    pub fn apply_guard_changes(&mut self, changes: &[GuardChange]) -> Result<(), StoreError> {
        let mut checked = Vec::with_capacity(changes.len());
        let mut problems = Vec::new();
        for change in changes {
            match check_change(change) {
                Ok(c) => checked.push(c),
                Err(StoreError::Invalid(p)) => problems.extend(p),
                Err(other) => return Err(other),
            }
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems));
        }
        if checked.is_empty() {
            return Ok(());
        }
        let tx = self.write_txn()?;
        for change in &checked {
            match change {
                GuardChange::PutDeny(e) => {
                    tx.execute(
                        "INSERT INTO guard_deny (address, list, reason, detail, added, expires) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                         ON CONFLICT (list, address) DO UPDATE SET reason = excluded.reason, \
                         detail = excluded.detail, added = excluded.added, \
                         expires = excluded.expires",
                        params![
                            e.address,
                            e.list.as_str(),
                            e.reason,
                            e.detail,
                            e.added_unix,
                            e.expires_unix
                        ],
                    )?;
                }
                GuardChange::RemoveDeny { address, list } => {
                    tx.execute(
                        "DELETE FROM guard_deny WHERE list = ?1 AND address = ?2",
                        params![list.as_str(), address],
                    )?;
                }
                GuardChange::PutAllow(e) => {
                    tx.execute(
                        "INSERT INTO guard_allow (address, note, added) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (address) DO UPDATE SET note = excluded.note, \
                         added = excluded.added",
                        params![e.address, e.note, e.added_unix],
                    )?;
                }
                GuardChange::RemoveAllow { address } => {
                    tx.execute("DELETE FROM guard_allow WHERE address = ?1", [address])?;
                }
            }
        }
        let allowed: i64 = tx.query_row("SELECT count(*) FROM guard_allow", [], |r| r.get(0))?;
        if usize::try_from(allowed).unwrap_or(usize::MAX) > GUARD_ALLOW_MAX {
            // Dropping `tx` rolls the whole batch back.
            return Err(StoreError::Invalid(vec![FieldProblem::without_value(
                "address",
                format!("the allow-list would hold {allowed} entries; at most {GUARD_ALLOW_MAX}"),
            )]));
        }
        bump(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// The stored guard settings as `(key, value)` pairs, sorted by key.
    /// Keys not stored take the guard's defaults.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn guard_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, value FROM guard_settings ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores `pairs` (replacing the values of those keys), all or nothing.
    /// The values are the guard's to validate.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty or over-long key or value;
    /// [`StoreError::Database`].
    pub fn set_guard_settings(&mut self, pairs: &[(&str, &str)]) -> Result<(), StoreError> {
        self.set_guard_settings_audited(pairs, |_| None)
    }

    /// [`Store::set_guard_settings`], appending the audit entry `audit`
    /// builds from the stored settings as they were before, in the same
    /// transaction.
    ///
    /// # Errors
    /// As [`Store::set_guard_settings`].
    pub fn set_guard_settings_audited(
        &mut self,
        pairs: &[(&str, &str)],
        audit: impl FnOnce(&[(String, String)]) -> Option<AuditRecord>,
    ) -> Result<(), StoreError> {
        let mut problems = Vec::new();
        for (key, value) in pairs {
            if key.trim().is_empty() || key.chars().count() > MAX_NAME_CHARS {
                problems.push(FieldProblem::with_value(
                    "key",
                    *key,
                    format!("a setting name is 1 to {MAX_NAME_CHARS} characters"),
                ));
            }
            if value.chars().count() > MAX_TEXT_CHARS {
                problems.push(FieldProblem::without_value(
                    "value",
                    format!("the value of {key:?} is longer than {MAX_TEXT_CHARS} characters"),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems));
        }
        let tx = self.write_txn()?;
        let before: Vec<(String, String)> = {
            let mut stmt =
                tx.prepare_cached("SELECT key, value FROM guard_settings ORDER BY key")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (key, value) in pairs {
            tx.execute(
                "INSERT INTO guard_settings (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
        }
        if !pairs.is_empty() {
            bump(&tx)?;
        }
        if let Some(record) = audit(&before) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes the stored value of `key` (back to the guard's default);
    /// returns whether one was stored.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn unset_guard_setting(&mut self, key: &str) -> Result<bool, StoreError> {
        let tx = self.write_txn()?;
        let n = tx.execute("DELETE FROM guard_settings WHERE key = ?1", [key])?;
        if n > 0 {
            bump(&tx)?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// A counter bumped by every guard write that changed something.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn guard_revision(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT revision FROM guard_revision WHERE id = 1",
            [],
            |r| r.get(0),
        )?)
    }
}

fn bump(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE guard_revision SET revision = revision + 1 WHERE id = 1",
        [],
    )?;
    Ok(())
}

fn put_allow(tx: &Transaction<'_>, e: &AllowEntry) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO guard_allow (address, note, added) VALUES (?1, ?2, ?3)",
        params![e.address, e.note, e.added_unix],
    )?;
    Ok(())
}

fn invalid(field: &'static str, value: &str, message: &str) -> StoreError {
    StoreError::Invalid(vec![FieldProblem::with_value(field, value, message)])
}

/// Validates a change and puts its address in canonical form.
fn check_change(change: &GuardChange) -> Result<GuardChange, StoreError> {
    let one = |p: FieldProblem| StoreError::Invalid(vec![p]);
    Ok(match change {
        GuardChange::PutDeny(e) => GuardChange::PutDeny(checked_deny(e)?),
        GuardChange::RemoveDeny { address, list } => GuardChange::RemoveDeny {
            address: Net::parse("address", address).map_err(one)?.to_string(),
            list: *list,
        },
        GuardChange::PutAllow(e) => GuardChange::PutAllow(checked_allow(e)?),
        GuardChange::RemoveAllow { address } => GuardChange::RemoveAllow {
            address: Net::parse("address", address).map_err(one)?.to_string(),
        },
    })
}

fn checked_allow(e: &AllowEntry) -> Result<AllowEntry, StoreError> {
    let mut problems = Vec::new();
    let address = match Net::parse("address", &e.address) {
        Ok(n) if n.is_empty() => {
            problems.push(FieldProblem::with_value(
                "address",
                &e.address,
                "a /0 would allow every address; set the security level to none instead",
            ));
            String::new()
        }
        Ok(n) => n.to_string(),
        Err(p) => {
            problems.push(p);
            String::new()
        }
    };
    check_text(&mut problems, "note", &e.note, MAX_TEXT_CHARS);
    check_time(&mut problems, "added", e.added_unix);
    if problems.is_empty() {
        Ok(AllowEntry {
            address,
            note: e.note.clone(),
            added_unix: e.added_unix,
        })
    } else {
        Err(StoreError::Invalid(problems))
    }
}

fn checked_deny(e: &DenyEntry) -> Result<DenyEntry, StoreError> {
    let mut problems = Vec::new();
    let address = match Net::parse("address", &e.address) {
        Ok(n) if n.is_source() => n.to_string(),
        Ok(_) => {
            problems.push(FieldProblem::with_value(
                "address",
                &e.address,
                "a deny entry is one source: an IPv4 address or an IPv6 /64",
            ));
            String::new()
        }
        Err(p) => {
            problems.push(p);
            String::new()
        }
    };
    if e.reason.trim().is_empty() {
        problems.push(FieldProblem::without_value("reason", "empty"));
    }
    check_text(&mut problems, "reason", &e.reason, MAX_NAME_CHARS);
    check_text(&mut problems, "detail", &e.detail, MAX_TEXT_CHARS);
    check_time(&mut problems, "added", e.added_unix);
    if let Some(expires) = e.expires_unix {
        if expires < e.added_unix {
            problems.push(FieldProblem::with_value(
                "expires",
                expires.to_string(),
                format!("before the entry was added ({})", e.added_unix),
            ));
        }
    }
    if problems.is_empty() {
        Ok(DenyEntry {
            address,
            ..e.clone()
        })
    } else {
        Err(StoreError::Invalid(problems))
    }
}

fn check_text(problems: &mut Vec<FieldProblem>, field: &'static str, value: &str, max: usize) {
    if value.chars().count() > max {
        problems.push(FieldProblem::without_value(
            field,
            format!("longer than {max} characters"),
        ));
    }
}

fn check_time(problems: &mut Vec<FieldProblem>, field: &'static str, value: i64) {
    if value < 0 {
        problems.push(FieldProblem::with_value(
            field,
            value.to_string(),
            "a time is seconds since 1970 and cannot be negative",
        ));
    }
}
