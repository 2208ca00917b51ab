//! API tokens for automation (SEC-9, issue 14): only the SHA-256 of a token
//! is stored, so the token is shown once, at creation, and a copy of the
//! database authenticates no one.
//!
//! The scope and the source allow-list are stored as the management plane
//! wrote them (`devices:write,audit:read`; `192.0.2.0/24,2001:db8::/32`):
//! it defines and checks their syntax, this module only their shape. A
//! revoked token stays listed (with when it was revoked) and in the audit
//! log; it is never deleted, so its id cannot be reused.

use rusqlite::{OptionalExtension, Row, params};

use crate::audit::{self, AuditRecord};
use crate::{FieldProblem, Item, Store, StoreError};

/// Longest accepted token name, in characters.
pub const API_TOKEN_NAME_MAX: usize = 64;

/// A stored API token (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Public identifier: 32 hex digits.
    pub id: String,
    /// Unique name (any case), e.g. what uses it.
    pub name: String,
    /// The scope, as the management plane wrote it.
    pub scopes: String,
    /// Allowed source prefixes, comma-separated; empty means anywhere.
    pub allowed_sources: String,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// Who created it (an audit actor such as `account:alice`).
    pub created_by: String,
    /// Expiry, or `None` for never.
    pub expires: Option<i64>,
    /// When it was revoked, if it was.
    pub revoked: Option<i64>,
    /// When it was last used, if ever (updated at most once a minute).
    pub last_used: Option<i64>,
}

/// A new token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// Public identifier: 32 hex digits, random (see [`crate::new_token_id`]).
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Hex SHA-256 of the token value.
    pub secret_sha256: String,
    /// The scope text.
    pub scopes: String,
    /// Allowed source prefixes, comma-separated; empty means anywhere.
    pub allowed_sources: String,
    /// Creation time.
    pub created: i64,
    /// Who creates it.
    pub created_by: String,
    /// Expiry, if any.
    pub expires: Option<i64>,
}

const COLUMNS: &str =
    "id, name, scopes, allowed_sources, created, created_by, expires, revoked, last_used";

impl Store {
    /// Stores a new token with its audit entry; returns it with its new id.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a bad name or digest;
    /// [`StoreError::Duplicate`] for a name in use (any case, revoked
    /// tokens included); [`StoreError::Database`].
    pub fn create_api_token(
        &mut self,
        new: &NewApiToken,
        audit: &AuditRecord,
    ) -> Result<ApiToken, StoreError> {
        check(new)?;
        let id = new.id.clone();
        let tx = self.write_txn()?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE name = ?1)",
            [&new.name],
            |r| r.get(0),
        )?;
        if exists {
            return Err(StoreError::Duplicate {
                kind: Item::ApiToken,
                name: new.name.clone(),
            });
        }
        tx.execute(
            "INSERT INTO api_tokens (id, name, secret_sha256, scopes, allowed_sources, created, \
             created_by, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id,
                new.name,
                new.secret_sha256,
                new.scopes,
                new.allowed_sources,
                new.created,
                new.created_by,
                new.expires
            ],
        )?;
        audit::insert(&tx, audit)?;
        tx.commit()?;
        Ok(ApiToken {
            id,
            name: new.name.clone(),
            scopes: new.scopes.clone(),
            allowed_sources: new.allowed_sources.clone(),
            created: new.created,
            created_by: new.created_by.clone(),
            expires: new.expires,
            revoked: None,
            last_used: None,
        })
    }

    /// Every token, revoked ones included, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM api_tokens ORDER BY created, name"
        ))?;
        let rows = stmt.query_map([], token_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The token with id `id`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn api_token(&self, id: &str) -> Result<Option<ApiToken>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = ?1"))?;
        Ok(stmt.query_row([id], token_from_row).optional()?)
    }

    /// The token whose value has the hex SHA-256 `secret_sha256`, revoked
    /// or expired ones included (the caller decides and says why).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn api_token_by_digest(&self, secret_sha256: &str) -> Result<Option<ApiToken>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE secret_sha256 = ?1"
        ))?;
        Ok(stmt.query_row([secret_sha256], token_from_row).optional()?)
    }

    /// Revokes the token `id` at `now`; returns it as it was before. A
    /// token revoked earlier keeps its first revocation time.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Database`].
    pub fn revoke_api_token(
        &mut self,
        id: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<ApiToken, StoreError> {
        let tx = self.write_txn()?;
        let before = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM api_tokens WHERE id = ?1"),
                [id],
                token_from_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound {
                kind: Item::ApiToken,
                name: id.to_owned(),
            })?;
        if before.revoked.is_none() {
            tx.execute(
                "UPDATE api_tokens SET revoked = max(?1, created) WHERE id = ?2",
                params![now, id],
            )?;
            audit::insert(&tx, audit)?;
        }
        tx.commit()?;
        Ok(before)
    }

    /// Records that token `id` was used at `now`, when its last use is at
    /// least `touch_after_secs` old (so a busy script does not write at
    /// every request).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn touch_api_token(
        &mut self,
        id: &str,
        now: i64,
        touch_after_secs: i64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE api_tokens SET last_used = ?1 \
             WHERE id = ?2 AND (last_used IS NULL OR last_used + ?3 <= ?1)",
            params![now, id, touch_after_secs],
        )?;
        Ok(())
    }
}

fn check(new: &NewApiToken) -> Result<(), StoreError> {
    let mut problems = Vec::new();
    let name_len = new.name.chars().count();
    if new.name.trim().is_empty() {
        problems.push(FieldProblem::without_value(
            "name",
            "empty; a token needs a name saying what uses it",
        ));
    } else if name_len > API_TOKEN_NAME_MAX {
        problems.push(FieldProblem::with_value(
            "name",
            new.name.clone(),
            format!("too long; at most {API_TOKEN_NAME_MAX} characters"),
        ));
    } else if new.name.chars().any(char::is_control) {
        problems.push(FieldProblem::without_value(
            "name",
            "contains control characters",
        ));
    }
    if new.id.len() != 32 || !new.id.bytes().all(|b| b.is_ascii_hexdigit()) {
        problems.push(FieldProblem::with_value(
            "id",
            new.id.clone(),
            "not a token id (32 hex digits)",
        ));
    }
    if new.secret_sha256.len() != 64 || !new.secret_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        problems.push(FieldProblem::without_value(
            "secret_sha256",
            "not a hex SHA-256 digest (64 hex digits)",
        ));
    }
    if new.scopes.is_empty() {
        problems.push(FieldProblem::without_value(
            "scopes",
            "empty; a token needs at least one scope",
        ));
    }
    if new.expires.is_some_and(|e| e <= new.created) {
        problems.push(FieldProblem::without_value(
            "expires",
            "must be later than the creation time",
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(problems))
    }
}

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: row.get(0)?,
        name: row.get(1)?,
        scopes: row.get(2)?,
        allowed_sources: row.get(3)?,
        created: row.get(4)?,
        created_by: row.get(5)?,
        expires: row.get(6)?,
        revoked: row.get(7)?,
        last_used: row.get(8)?,
    })
}
