//! OAuth tokens, administered (issue 16 item 3): temporary tokens listed
//! for approval (which gives the verifier the client must send) or
//! rejection; final tokens listed with their expiry, renewed by a year,
//! revoked.

use outpost_store::{WsToken, WsTokenKind};
use serde::Serialize;
use utoipa::ToSchema;

use super::WebServices;
use crate::service::tokens::{Access, Resource};
use crate::service::{Caller, NOTHING, ServiceError, random_hex};

/// A final token lasts a year, and each renewal adds one (seed 003).
pub const FINAL_TOKEN_SECS: i64 = 365 * 24 * 3600;
/// A temporary token lasts an hour (seed 001 §5.4.6.2).
pub const TEMPORARY_TOKEN_SECS: i64 = 3600;

/// A token as administrators see it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GrantView {
    /// The token (public).
    pub token: String,
    /// Whose.
    pub consumer_id: String,
    /// `temporary` or `final`.
    pub kind: &'static str,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// Expiry.
    pub expires: i64,
    /// Temporary tokens: approved or not.
    pub approved: bool,
    /// Temporary tokens: the verifier to give the client once approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verifier: Option<String>,
    /// Final tokens: when it was revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<i64>,
}

impl GrantView {
    pub(super) fn new(t: &WsToken) -> Self {
        Self {
            token: t.token.clone(),
            consumer_id: t.consumer_id.clone(),
            kind: t.kind.as_str(),
            created: t.created,
            expires: t.expires,
            approved: t.verifier.is_some(),
            verifier: t.verifier.clone(),
            revoked: t.revoked,
        }
    }
}

/// Both lists, as the vendor's page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GrantLists {
    /// Temporary tokens waiting for approval or exchange.
    pub temporary: Vec<GrantView>,
    /// Final tokens.
    pub final_tokens: Vec<GrantView>,
}

impl WebServices {
    /// Both token lists; expired temporary tokens are forgotten first.
    ///
    /// # Errors
    /// 403.
    pub fn grants(&self, caller: &Caller) -> Result<GrantLists, ServiceError> {
        caller.require(Resource::WebServices, Access::Read)?;
        self.service.with_store(|store| {
            store.purge_expired_ws_tokens(caller.now)?;
            Ok(GrantLists {
                temporary: store
                    .ws_tokens(WsTokenKind::Temporary)?
                    .iter()
                    .map(GrantView::new)
                    .collect(),
                final_tokens: store
                    .ws_tokens(WsTokenKind::Final)?
                    .iter()
                    .map(GrantView::new)
                    .collect(),
            })
        })
    }

    /// Approves a temporary token; the answer carries the verifier.
    ///
    /// # Errors
    /// 403; 404 for no such (unexpired) temporary token.
    pub fn approve(&self, caller: &Caller, token: &str) -> Result<GrantView, ServiceError> {
        caller.require(Resource::WebServices, Access::Write)?;
        let verifier = random_hex(10)?;
        let (actor, _) = caller.audit_actor();
        let audit = caller.audit("webservices.token.approve", token, NOTHING, NOTHING);
        self.service.with_store(|store| {
            store.purge_expired_ws_tokens(caller.now)?;
            let approved = store
                .approve_ws_token(token, &verifier, &actor, &audit)
                .map_err(|e| not_found_as(e, token, "temporary"))?;
            Ok(GrantView::new(&approved))
        })
    }

    /// Rejects (removes) a temporary token.
    ///
    /// # Errors
    /// 403, 404.
    pub fn reject(&self, caller: &Caller, token: &str) -> Result<GrantView, ServiceError> {
        caller.require(Resource::WebServices, Access::Write)?;
        let audit = caller.audit("webservices.token.reject", token, NOTHING, NOTHING);
        self.service.with_store(|store| {
            let removed = store
                .reject_ws_token(token, &audit)
                .map_err(|e| not_found_as(e, token, "temporary"))?;
            Ok(GrantView::new(&removed))
        })
    }

    /// Extends a final token's expiry by a year.
    ///
    /// # Errors
    /// 403, 404, 409 for a revoked token.
    pub fn renew(&self, caller: &Caller, token: &str) -> Result<GrantView, ServiceError> {
        caller.require(Resource::WebServices, Access::Write)?;
        let current = self.final_grant(token)?;
        if current.revoked.is_some() {
            return Err(ServiceError::Conflict(format!(
                "token {token} is revoked; the client must request a new one"
            )));
        }
        let expires = current.expires.saturating_add(FINAL_TOKEN_SECS);
        let before = GrantView::new(&current);
        let mut after = before.clone();
        after.expires = expires;
        let audit = caller.audit(
            "webservices.token.renew",
            token,
            Some(&before),
            Some(&after),
        );
        self.service.with_store(|store| {
            let (_, renewed) = store
                .renew_ws_token(token, expires, &audit)
                .map_err(|e| not_found_as(e, token, "final"))?;
            Ok(GrantView::new(&renewed))
        })
    }

    /// Revokes a final token: the next call with it gets 401.
    ///
    /// # Errors
    /// 403, 404.
    pub fn revoke(&self, caller: &Caller, token: &str) -> Result<GrantView, ServiceError> {
        caller.require(Resource::WebServices, Access::Write)?;
        let before = GrantView::new(&self.final_grant(token)?);
        let audit = caller.audit("webservices.token.revoke", token, Some(&before), NOTHING);
        self.service.with_store(|store| {
            let (_, revoked) = store
                .revoke_ws_token(token, caller.now, &audit)
                .map_err(|e| not_found_as(e, token, "final"))?;
            Ok(GrantView::new(&revoked))
        })
    }

    fn final_grant(&self, token: &str) -> Result<WsToken, ServiceError> {
        self.service.with_store(|store| {
            store
                .ws_token(token)?
                .filter(|t| t.kind == WsTokenKind::Final)
                .ok_or_else(|| unknown(token, "final"))
        })
    }
}

fn unknown(token: &str, kind: &str) -> ServiceError {
    ServiceError::NotFound(format!(
        "no {kind} web services token {token:?}; see `outpost webservices tokens list`"
    ))
}

fn not_found_as(e: outpost_store::StoreError, token: &str, kind: &str) -> ServiceError {
    match e {
        outpost_store::StoreError::NotFound { .. } => unknown(token, kind),
        other => other.into(),
    }
}
