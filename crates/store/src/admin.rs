//! Administrator accounts (SEC-9) and their login sessions.
//!
//! The store keeps what the management plane decides: a password arrives
//! here already hashed (an argon2id PHC string, which the schema checks the
//! prefix of), a session arrives as the SHA-256 of its id. Neither a
//! password nor a session id is ever stored, so a copy of the database
//! logs no one in. Every change takes the [`AuditRecord`] that describes it
//! and writes both in one transaction.
//!
//! The first account can only be created together with spending the setup
//! token ([`Store::create_first_admin`]); [`Store::create_admin`] refuses
//! while no account exists, and the last account with the `admin` role can
//! be neither removed nor demoted.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use crate::audit::{self, AuditRecord};
use crate::{FieldProblem, Item, Store, StoreError};

/// Settings key holding the hex SHA-256 of the pending administrator setup
/// token; removed when the first account is created (the token is spent).
pub const SETUP_TOKEN_SETTING: &str = "admin.setup_token_sha256";

/// Longest accepted account name, in characters.
pub const ADMIN_NAME_MAX: usize = 64;

/// What an administrator account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminRole {
    /// Read and change everything.
    Admin,
    /// Read everything, change nothing but its own password.
    ReadOnly,
}

impl AdminRole {
    /// The stored and displayed name: `admin` or `read-only`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::ReadOnly => "read-only",
        }
    }

    /// Parses `admin` or `read-only`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "read-only" => Some(Self::ReadOnly),
            _ => None,
        }
    }
}

impl std::fmt::Display for AdminRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored administrator account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAccount {
    /// Row id (sessions refer to it).
    pub id: i64,
    /// Login name, unique regardless of case.
    pub name: String,
    /// What it may do.
    pub role: AdminRole,
    /// When it was created, seconds since the Unix epoch.
    pub created: i64,
    /// When its password was last set, seconds since the Unix epoch.
    pub password_changed: i64,
}

/// A new account: the password is already hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAdmin {
    /// Login name: 1 to [`ADMIN_NAME_MAX`] letters, digits, `.`, `_`, `-`, `@`.
    pub name: String,
    /// What it may do.
    pub role: AdminRole,
    /// An argon2id PHC string (`$argon2id$v=19$...`).
    pub password_hash: String,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
}

/// What [`Store::create_first_admin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstAdmin {
    /// The account was created and the setup token spent.
    Created(AdminAccount),
    /// An account exists already: the setup token is of no use any more.
    AlreadySetUp,
    /// No setup token is pending (none was issued yet).
    NoTokenPending,
    /// The presented token is not the pending one; nothing changed.
    TokenRefused,
}

/// A login session as stored: its id is only known as a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    /// Hex SHA-256 of the session id (the cookie value).
    pub id_sha256: String,
    /// The account it logs in.
    pub account: AdminAccount,
    /// The address it was created from.
    pub source: String,
    /// When it was created, seconds since the Unix epoch.
    pub created: i64,
    /// When it was last used.
    pub last_seen: i64,
    /// Absolute expiry: it ends then however active it is.
    pub expires: i64,
}

/// A new session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Hex SHA-256 of the session id.
    pub id_sha256: String,
    /// The account's row id.
    pub account_id: i64,
    /// The client's address.
    pub source: String,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// Absolute expiry.
    pub expires: i64,
}

const ACCOUNT_COLUMNS: &str = "id, name, role, created, password_changed";

impl Store {
    /// How many administrator accounts exist.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn admin_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM admin_accounts", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Every account, by name.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn admins(&self) -> Result<Vec<AdminAccount>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM admin_accounts ORDER BY name COLLATE NOCASE"
        ))?;
        let rows = stmt.query_map([], account_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The account named `name` (any case).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn admin(&self, name: &str) -> Result<Option<AdminAccount>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM admin_accounts WHERE name = ?1"
        ))?;
        Ok(stmt.query_row([name], account_from_row).optional()?)
    }

    /// The account named `name` with its password hash, to check a login.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn admin_with_hash(
        &self,
        name: &str,
    ) -> Result<Option<(AdminAccount, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ACCOUNT_COLUMNS}, password_hash FROM admin_accounts WHERE name = ?1"
        ))?;
        Ok(stmt
            .query_row([name], |r| Ok((account_from_row(r)?, r.get(5)?)))
            .optional()?)
    }

    /// Creates the first account if `verify_token` accepts the pending
    /// setup token's stored digest, and spends the token (removes the
    /// setting), all in one transaction: of two racing calls one creates
    /// the account and the other finds [`FirstAdmin::AlreadySetUp`].
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a bad name; [`StoreError::Database`].
    pub fn create_first_admin(
        &mut self,
        verify_token: impl FnOnce(&str) -> bool,
        new: &NewAdmin,
        audit: &AuditRecord,
    ) -> Result<FirstAdmin, StoreError> {
        check_name(&new.name)?;
        let tx = self.write_txn()?;
        let count: i64 = tx.query_row("SELECT count(*) FROM admin_accounts", [], |r| r.get(0))?;
        if count > 0 {
            return Ok(FirstAdmin::AlreadySetUp);
        }
        let digest: Option<String> = tx
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                [SETUP_TOKEN_SETTING],
                |r| r.get(0),
            )
            .optional()?;
        let Some(digest) = digest else {
            return Ok(FirstAdmin::NoTokenPending);
        };
        if !verify_token(&digest) {
            return Ok(FirstAdmin::TokenRefused);
        }
        let account = insert_account(&tx, new)?;
        tx.execute("DELETE FROM settings WHERE key = ?1", [SETUP_TOKEN_SETTING])?;
        audit::insert(&tx, audit)?;
        tx.commit()?;
        Ok(FirstAdmin::Created(account))
    }

    /// Creates a further account.
    ///
    /// # Errors
    /// [`StoreError::NotSetUp`] while no account exists (the first one needs
    /// the setup token); [`StoreError::Duplicate`] for a name in use (any
    /// case); [`StoreError::Invalid`]; [`StoreError::Database`].
    pub fn create_admin(
        &mut self,
        new: &NewAdmin,
        audit: &AuditRecord,
    ) -> Result<AdminAccount, StoreError> {
        check_name(&new.name)?;
        let tx = self.write_txn()?;
        let count: i64 = tx.query_row("SELECT count(*) FROM admin_accounts", [], |r| r.get(0))?;
        if count == 0 {
            return Err(StoreError::NotSetUp);
        }
        let account = insert_account(&tx, new)?;
        audit::insert(&tx, audit)?;
        tx.commit()?;
        Ok(account)
    }

    /// Removes the account `name` and its sessions.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::LastAdministrator`] for the
    /// last account with the `admin` role; [`StoreError::Database`].
    pub fn delete_admin(
        &mut self,
        name: &str,
        audit: &AuditRecord,
    ) -> Result<AdminAccount, StoreError> {
        let tx = self.write_txn()?;
        let account = account_in(&tx, name)?;
        if account.role == AdminRole::Admin && admin_role_count(&tx)? <= 1 {
            return Err(StoreError::LastAdministrator { name: account.name });
        }
        tx.execute("DELETE FROM admin_accounts WHERE id = ?1", [account.id])?;
        audit::insert(&tx, audit)?;
        tx.commit()?;
        Ok(account)
    }

    /// Replaces the password hash of `name` and ends its sessions, except
    /// the one whose digest is `keep_session` (the session that made the
    /// change stays logged in).
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Database`].
    pub fn set_admin_password(
        &mut self,
        name: &str,
        password_hash: &str,
        changed: i64,
        keep_session: Option<&str>,
        audit: &AuditRecord,
    ) -> Result<AdminAccount, StoreError> {
        let tx = self.write_txn()?;
        let account = account_in(&tx, name)?;
        tx.execute(
            "UPDATE admin_accounts SET password_hash = ?1, password_changed = ?2 WHERE id = ?3",
            params![password_hash, changed, account.id],
        )?;
        tx.execute(
            "DELETE FROM admin_sessions WHERE account_id = ?1 AND id_sha256 IS NOT ?2",
            params![account.id, keep_session],
        )?;
        audit::insert(&tx, audit)?;
        tx.commit()?;
        Ok(AdminAccount {
            password_changed: changed,
            ..account
        })
    }

    /// Records a new login session and its audit entry; also forgets every
    /// session that has expired by `session.created`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn create_session(
        &mut self,
        session: &NewSession,
        idle_secs: i64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let tx = self.write_txn()?;
        purge_sessions(&tx, session.created, idle_secs)?;
        tx.execute(
            "INSERT INTO admin_sessions (id_sha256, account_id, source, created, last_seen, expires) \
             VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
            params![
                session.id_sha256,
                session.account_id,
                session.source,
                session.created,
                session.expires
            ],
        )?;
        audit::insert(&tx, audit)?;
        tx.commit()?;
        Ok(())
    }

    /// The live session with digest `id_sha256` at `now`: one that is past
    /// its absolute expiry or idle for `idle_secs` or more is removed and
    /// `None` is returned. A live session's `last_seen` moves to `now`
    /// when it is at least `touch_after_secs` old (fewer writes).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn session(
        &mut self,
        id_sha256: &str,
        now: i64,
        idle_secs: i64,
        touch_after_secs: i64,
    ) -> Result<Option<AdminSession>, StoreError> {
        let found = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT s.id_sha256, s.source, s.created, s.last_seen, s.expires, \
                        a.id, a.name, a.role, a.created, a.password_changed \
                 FROM admin_sessions s JOIN admin_accounts a ON a.id = s.account_id \
                 WHERE s.id_sha256 = ?1",
            )?;
            stmt.query_row([id_sha256], session_from_row).optional()?
        };
        let Some(mut session) = found else {
            return Ok(None);
        };
        if now >= session.expires || now >= session.last_seen.saturating_add(idle_secs) {
            self.conn.execute(
                "DELETE FROM admin_sessions WHERE id_sha256 = ?1",
                [id_sha256],
            )?;
            return Ok(None);
        }
        if now >= session.last_seen.saturating_add(touch_after_secs) {
            self.conn.execute(
                "UPDATE admin_sessions SET last_seen = ?1 WHERE id_sha256 = ?2",
                params![now, id_sha256],
            )?;
            session.last_seen = now;
        }
        Ok(Some(session))
    }

    /// Ends the session with digest `id_sha256` (logout); returns whether
    /// it existed. The audit entry is written only if it did.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn delete_session(
        &mut self,
        id_sha256: &str,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let tx = self.write_txn()?;
        let removed = tx.execute(
            "DELETE FROM admin_sessions WHERE id_sha256 = ?1",
            [id_sha256],
        )?;
        if removed > 0 {
            audit::insert(&tx, audit)?;
        }
        tx.commit()?;
        Ok(removed > 0)
    }
}

fn insert_account(tx: &Transaction<'_>, new: &NewAdmin) -> Result<AdminAccount, StoreError> {
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM admin_accounts WHERE name = ?1)",
        [&new.name],
        |r| r.get(0),
    )?;
    if exists {
        return Err(StoreError::Duplicate {
            kind: Item::Administrator,
            name: new.name.clone(),
        });
    }
    tx.execute(
        "INSERT INTO admin_accounts (name, role, password_hash, created, password_changed) \
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![new.name, new.role.as_str(), new.password_hash, new.created],
    )?;
    Ok(AdminAccount {
        id: tx.last_insert_rowid(),
        name: new.name.clone(),
        role: new.role,
        created: new.created,
        password_changed: new.created,
    })
}

fn account_in(tx: &Transaction<'_>, name: &str) -> Result<AdminAccount, StoreError> {
    tx.query_row(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM admin_accounts WHERE name = ?1"),
        [name],
        account_from_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        kind: Item::Administrator,
        name: name.to_owned(),
    })
}

fn admin_role_count(tx: &Transaction<'_>) -> Result<i64, StoreError> {
    Ok(tx.query_row(
        "SELECT count(*) FROM admin_accounts WHERE role = 'admin'",
        [],
        |r| r.get(0),
    )?)
}

fn purge_sessions(tx: &Transaction<'_>, now: i64, idle_secs: i64) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM admin_sessions WHERE expires <= ?1 OR last_seen + ?2 <= ?1",
        params![now, idle_secs],
    )?;
    Ok(())
}

/// Checks an account name: 1 to [`ADMIN_NAME_MAX`] characters among ASCII
/// letters, digits, `.`, `_`, `-` and `@` (safe in URLs, logs and shells).
pub fn check_admin_name(name: &str) -> Result<(), FieldProblem> {
    if name.is_empty() {
        return Err(FieldProblem::without_value(
            "name",
            "empty; an account needs a login name",
        ));
    }
    if name.chars().count() > ADMIN_NAME_MAX {
        return Err(FieldProblem::with_value(
            "name",
            name,
            format!("too long; at most {ADMIN_NAME_MAX} characters"),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(FieldProblem::with_value(
            "name",
            name,
            "use only letters, digits, '.', '_', '-' and '@'",
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), StoreError> {
    check_admin_name(name).map_err(|p| StoreError::Invalid(vec![p]))
}

fn role_from(row: &Row<'_>, index: usize) -> rusqlite::Result<AdminRole> {
    let text: String = row.get(index)?;
    AdminRole::parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown administrator role {text:?}").into(),
        )
    })
}

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<AdminAccount> {
    Ok(AdminAccount {
        id: row.get(0)?,
        name: row.get(1)?,
        role: role_from(row, 2)?,
        created: row.get(3)?,
        password_changed: row.get(4)?,
    })
}

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<AdminSession> {
    Ok(AdminSession {
        id_sha256: row.get(0)?,
        source: row.get(1)?,
        created: row.get(2)?,
        last_seen: row.get(3)?,
        expires: row.get(4)?,
        account: AdminAccount {
            id: row.get(5)?,
            name: row.get(6)?,
            role: role_from(row, 7)?,
            created: row.get(8)?,
            password_changed: row.get(9)?,
        },
    })
}
