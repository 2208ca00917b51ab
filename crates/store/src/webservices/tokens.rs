//! OAuth tokens of web services consumers: temporary ones waiting for an
//! administrator's approval, final ones used day to day.

use rusqlite::{OptionalExtension, Row, params};

use crate::audit::{self, AuditRecord};
use crate::{Item, Store, StoreError};

/// A temporary or a final token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsTokenKind {
    /// Issued by `initiate`, valid an hour, approved by an administrator.
    Temporary,
    /// Issued in exchange for an approved temporary token, valid a year.
    Final,
}

impl WsTokenKind {
    /// The name in the database and in API answers.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Temporary => "temporary",
            Self::Final => "final",
        }
    }
}

/// A stored token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsToken {
    /// The token (OAuth `oauth_token`), public.
    pub token: String,
    /// Whose.
    pub consumer_id: String,
    /// Temporary or final.
    pub kind: WsTokenKind,
    /// The token secret, sealed by the management plane.
    pub secret_sealed: Vec<u8>,
    /// The client's `oauth_callback` (`oob` for out of band).
    pub callback: Option<String>,
    /// The verifier given at approval (temporary tokens).
    pub verifier: Option<String>,
    /// Who approved it (an audit actor).
    pub approved_by: Option<String>,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// Expiry.
    pub expires: i64,
    /// When it was revoked, if it was.
    pub revoked: Option<i64>,
}

/// A new token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWsToken {
    /// The token.
    pub token: String,
    /// Whose.
    pub consumer_id: String,
    /// Temporary or final.
    pub kind: WsTokenKind,
    /// The sealed secret.
    pub secret_sealed: Vec<u8>,
    /// The callback, for a temporary token.
    pub callback: Option<String>,
    /// Creation time.
    pub created: i64,
    /// Expiry.
    pub expires: i64,
}

const COLUMNS: &str =
    "token, consumer_id, kind, secret, callback, verifier, approved_by, created, expires, revoked";

impl Store {
    /// Stores a token (an `initiate` or an administrator's action).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown consumer;
    /// [`StoreError::Database`].
    pub fn create_ws_token(
        &mut self,
        new: &NewWsToken,
        audit: &AuditRecord,
    ) -> Result<WsToken, StoreError> {
        let tx = self.write_txn()?;
        insert(&tx, new)?;
        audit::insert(&tx, audit)?;
        tx.commit()?;
        Ok(from_new(new))
    }

    /// The token `token`, whatever its state.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn ws_token(&self, token: &str) -> Result<Option<WsToken>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM ws_tokens WHERE token = ?1"))?;
        Ok(stmt.query_row([token], token_from_row).optional()?)
    }

    /// Every token of `kind`, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn ws_tokens(&self, kind: WsTokenKind) -> Result<Vec<WsToken>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM ws_tokens WHERE kind = ?1 ORDER BY created, token"
        ))?;
        let rows = stmt.query_map([kind.as_str()], token_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Approves temporary token `token` with `verifier`; approving twice
    /// keeps the first verifier. Returns the token as approved.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when no such temporary token exists;
    /// [`StoreError::Database`].
    pub fn approve_ws_token(
        &mut self,
        token: &str,
        verifier: &str,
        approved_by: &str,
        audit: &AuditRecord,
    ) -> Result<WsToken, StoreError> {
        let tx = self.write_txn()?;
        let changed = tx.execute(
            "UPDATE ws_tokens SET verifier = ?1, approved_by = ?2 \
             WHERE token = ?3 AND kind = 'temporary' AND verifier IS NULL",
            params![verifier, approved_by, token],
        )?;
        let after = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM ws_tokens WHERE token = ?1 AND kind = 'temporary'"),
                [token],
                token_from_row,
            )
            .optional()?
            .ok_or_else(|| not_found(token))?;
        if changed > 0 {
            audit::insert(&tx, audit)?;
        }
        tx.commit()?;
        Ok(after)
    }

    /// Replaces the approved temporary token `temporary` by the final
    /// token `new`, in one transaction: a temporary token is used once.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when `temporary` is gone (used, removed or
    /// never approved); [`StoreError::Database`].
    pub fn exchange_ws_token(
        &mut self,
        temporary: &str,
        new: &NewWsToken,
        audit: &AuditRecord,
    ) -> Result<WsToken, StoreError> {
        let tx = self.write_txn()?;
        let removed = tx.execute(
            "DELETE FROM ws_tokens WHERE token = ?1 AND kind = 'temporary' \
             AND verifier IS NOT NULL AND consumer_id = ?2",
            params![temporary, new.consumer_id],
        )?;
        if removed == 0 {
            return Err(not_found(temporary));
        }
        insert(&tx, new)?;
        audit::insert(&tx, audit)?;
        tx.commit()?;
        Ok(from_new(new))
    }

    /// Sets a final token's expiry (renewal); returns it before and after.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Database`].
    pub fn renew_ws_token(
        &mut self,
        token: &str,
        expires: i64,
        audit: &AuditRecord,
    ) -> Result<(WsToken, WsToken), StoreError> {
        self.change_final(token, audit, |tx| {
            tx.execute(
                "UPDATE ws_tokens SET expires = ?1 WHERE token = ?2",
                params![expires, token],
            )
        })
    }

    /// Revokes a final token at `now` (kept listed, never usable again).
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Database`].
    pub fn revoke_ws_token(
        &mut self,
        token: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<(WsToken, WsToken), StoreError> {
        self.change_final(token, audit, |tx| {
            tx.execute(
                "UPDATE ws_tokens SET revoked = coalesce(revoked, ?1) WHERE token = ?2",
                params![now, token],
            )
        })
    }

    /// Removes a temporary token (an administrator rejecting it).
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Database`].
    pub fn reject_ws_token(
        &mut self,
        token: &str,
        audit: &AuditRecord,
    ) -> Result<WsToken, StoreError> {
        let tx = self.write_txn()?;
        let before = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM ws_tokens WHERE token = ?1 AND kind = 'temporary'"),
                [token],
                token_from_row,
            )
            .optional()?
            .ok_or_else(|| not_found(token))?;
        tx.execute("DELETE FROM ws_tokens WHERE token = ?1", [token])?;
        audit::insert(&tx, audit)?;
        tx.commit()?;
        Ok(before)
    }

    /// Forgets temporary tokens that expired before `now`; returns how
    /// many.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn purge_expired_ws_tokens(&mut self, now: i64) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "DELETE FROM ws_tokens WHERE kind = 'temporary' AND expires < ?1",
            [now],
        )?)
    }

    fn change_final(
        &mut self,
        token: &str,
        audit: &AuditRecord,
        change: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<usize>,
    ) -> Result<(WsToken, WsToken), StoreError> {
        let tx = self.write_txn()?;
        let select = format!("SELECT {COLUMNS} FROM ws_tokens WHERE token = ?1 AND kind = 'final'");
        let before = tx
            .query_row(&select, [token], token_from_row)
            .optional()?
            .ok_or_else(|| not_found(token))?;
        change(&tx)?;
        let after = tx.query_row(&select, [token], token_from_row)?;
        audit::insert(&tx, audit)?;
        tx.commit()?;
        Ok((before, after))
    }
}

fn insert(tx: &rusqlite::Transaction<'_>, new: &NewWsToken) -> Result<(), StoreError> {
    let consumer_exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM ws_consumers WHERE consumer_id = ?1)",
        [&new.consumer_id],
        |r| r.get(0),
    )?;
    if !consumer_exists {
        return Err(StoreError::NotFound {
            kind: Item::WsConsumer,
            name: new.consumer_id.clone(),
        });
    }
    tx.execute(
        "INSERT INTO ws_tokens (token, consumer_id, kind, secret, callback, created, expires) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            new.token,
            new.consumer_id,
            new.kind.as_str(),
            new.secret_sealed,
            new.callback,
            new.created,
            new.expires
        ],
    )?;
    Ok(())
}

fn from_new(new: &NewWsToken) -> WsToken {
    WsToken {
        token: new.token.clone(),
        consumer_id: new.consumer_id.clone(),
        kind: new.kind,
        secret_sealed: new.secret_sealed.clone(),
        callback: new.callback.clone(),
        verifier: None,
        approved_by: None,
        created: new.created,
        expires: new.expires,
        revoked: None,
    }
}

fn not_found(token: &str) -> StoreError {
    StoreError::NotFound {
        kind: Item::WsToken,
        name: token.to_owned(),
    }
}

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<WsToken> {
    let kind: String = row.get(2)?;
    let kind = match kind.as_str() {
        "temporary" => WsTokenKind::Temporary,
        "final" => WsTokenKind::Final,
        other => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("unknown web services token kind {other:?}").into(),
            ));
        }
    };
    Ok(WsToken {
        token: row.get(0)?,
        consumer_id: row.get(1)?,
        kind,
        secret_sealed: row.get(3)?,
        callback: row.get(4)?,
        verifier: row.get(5)?,
        approved_by: row.get(6)?,
        created: row.get(7)?,
        expires: row.get(8)?,
        revoked: row.get(9)?,
    })
}
