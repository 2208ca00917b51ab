//! The OAuth 1.0a endpoints and request authentication of the web
//! services (issue 16 item 3; seed 001 §5.4.6.2, seed 003 step 2):
//! `initiate` gives a temporary token (an hour) for an active consumer
//! with `base/managetoken` write; an administrator approves it, which
//! gives a verifier; `token` with the verifier replaces it by a final
//! token (a year); every resource call is signed with a final token.
//!
//! Refusals are [`OAuthError`]s (401, with a reason for the client's
//! developer); an unknown consumer, token or wrong secret all read as
//! "unknown or invalid", never which part was wrong.

use std::net::IpAddr;

use outpost_oauth1::{
    Credentials, OAuthError, SignedRequest, TIMESTAMP_WINDOW_SECS, Verified, verify,
};
use outpost_store::{NewWsToken, WsToken, WsTokenKind};
use subtle::ConstantTimeEq;
use tracing::warn;

use super::consumers::consumer_label;
use super::grants::{FINAL_TOKEN_SECS, TEMPORARY_TOKEN_SECS};
use super::{MslResource, WebServices, WsPermissions};
use crate::service::{Actor, Caller, NOTHING, ServiceError, random_hex};

/// Why a web services request was refused.
#[derive(Debug, thiserror::Error)]
pub enum MslError {
    /// The OAuth check failed (401; 503 when the nonce memory is full).
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// Signed correctly, but the consumer lacks the permission (403).
    #[error("{0}")]
    Forbidden(String),
    /// Anything else (the service's own status).
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl MslError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::OAuth(OAuthError::NonceMemoryFull) => 503,
            Self::OAuth(_) => 401,
            Self::Forbidden(_) => 403,
            Self::Service(e) => e.status(),
        }
    }
}

/// A token given to a client, with its secret (the body of the
/// `initiate` and `token` answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// `oauth_token`.
    pub token: String,
    /// `oauth_token_secret`.
    pub secret: String,
    /// For `initiate`: `oauth_callback_confirmed=true`.
    pub callback_confirmed: bool,
    /// Expiry, seconds since the Unix epoch.
    pub expires: i64,
}

impl TokenGrant {
    /// The `application/x-www-form-urlencoded` answer (RFC 5849 §2.1, §2.3).
    pub fn form_body(&self) -> String {
        let mut body = format!(
            "oauth_token={}&oauth_token_secret={}",
            outpost_oauth1::percent_encode(&self.token),
            outpost_oauth1::percent_encode(&self.secret)
        );
        if self.callback_confirmed {
            body.push_str("&oauth_callback_confirmed=true");
        }
        body
    }
}

/// How much of the request a lookup found, for the checks after the
/// signature.
struct Found {
    consumer_name: String,
    permissions: WsPermissions,
    token: Option<WsToken>,
}

impl WebServices {
    /// `POST /mslrest/initiate`.
    ///
    /// # Errors
    /// [`MslError`].
    pub fn initiate(
        &self,
        request: &SignedRequest<'_>,
        source: Option<IpAddr>,
        now: i64,
    ) -> Result<TokenGrant, MslError> {
        let (verified, found) = self.check(request, now, TokenUse::None)?;
        require(
            &found.permissions,
            MslResource::ManageToken,
            true,
            &verified.consumer_key,
        )?;
        let callback = verified
            .callback
            .clone()
            .ok_or(OAuthError::MissingParameter {
                name: "oauth_callback".into(),
            })?;
        let (grant, new) = self.new_token(
            &verified.consumer_key,
            WsTokenKind::Temporary,
            Some(callback),
            now,
        )?;
        let caller = consumer_caller(&verified, found, source, now);
        let audit = caller.audit("webservices.initiate", &grant.token, NOTHING, NOTHING);
        self.service
            .with_store(|store| Ok(store.create_ws_token(&new, &audit)?))?;
        Ok(grant)
    }

    /// `POST /mslrest/token`.
    ///
    /// # Errors
    /// [`MslError`]; an unapproved token or a wrong verifier is a 401.
    pub fn exchange(
        &self,
        request: &SignedRequest<'_>,
        source: Option<IpAddr>,
        now: i64,
    ) -> Result<TokenGrant, MslError> {
        let (verified, found) = self.check(request, now, TokenUse::Temporary)?;
        require(
            &found.permissions,
            MslResource::ManageToken,
            true,
            &verified.consumer_key,
        )?;
        let Some(temporary) = found.token.clone() else {
            return Err(OAuthError::InvalidToken.into());
        };
        let given = verified.verifier.clone().unwrap_or_default();
        let expected = temporary.verifier.clone().unwrap_or_default();
        if expected.is_empty() || !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(OAuthError::MalformedHeader {
                reason: "oauth_verifier does not match an approved temporary token; ask the \
                         gateway's administrator to approve it and send the verifier shown"
                    .into(),
            }
            .into());
        }
        let (grant, new) = self.new_token(&verified.consumer_key, WsTokenKind::Final, None, now)?;
        let caller = consumer_caller(&verified, found, source, now);
        let audit = caller.audit("webservices.token", &grant.token, NOTHING, NOTHING);
        self.service.with_store(|store| {
            store
                .exchange_ws_token(&temporary.token, &new, &audit)
                .map_err(|e| match e {
                    outpost_store::StoreError::NotFound { .. } => {
                        ServiceError::Unauthorized("the temporary token was already used".into())
                    }
                    other => other.into(),
                })
        })?;
        Ok(grant)
    }

    /// Authenticates a resource request signed with a final token and
    /// checks the consumer's permission on `resource`.
    ///
    /// # Errors
    /// [`MslError`].
    pub fn authenticate(
        &self,
        request: &SignedRequest<'_>,
        resource: MslResource,
        write: bool,
        source: Option<IpAddr>,
        now: i64,
    ) -> Result<Caller, MslError> {
        let (verified, found) = self.check(request, now, TokenUse::Final)?;
        require(&found.permissions, resource, write, &verified.consumer_key)?;
        Ok(consumer_caller(&verified, found, source, now))
    }

    /// A new token of `kind` for `consumer`: what the client is given and
    /// what is stored (its secret sealed).
    fn new_token(
        &self,
        consumer: &str,
        kind: WsTokenKind,
        callback: Option<String>,
        now: i64,
    ) -> Result<(TokenGrant, NewWsToken), ServiceError> {
        let (lifetime, confirmed) = match kind {
            WsTokenKind::Temporary => (TEMPORARY_TOKEN_SECS, true),
            WsTokenKind::Final => (FINAL_TOKEN_SECS, false),
        };
        let grant = new_grant(now + lifetime, confirmed)?;
        let new = NewWsToken {
            token: grant.token.clone(),
            consumer_id: consumer.to_owned(),
            kind,
            secret_sealed: self.key.seal(&token_label(&grant.token), &grant.secret)?,
            callback,
            created: now,
            expires: grant.expires,
        };
        Ok((grant, new))
    }

    /// Verifies the signature with the secrets the request names.
    fn check(
        &self,
        request: &SignedRequest<'_>,
        now: i64,
        token_use: TokenUse,
    ) -> Result<(Verified, Found), MslError> {
        let mut found = None;
        let now_secs = u64::try_from(now).unwrap_or(0);
        let mut nonces = self
            .nonces
            .lock()
            .map_err(|_| ServiceError::Internal("nonce memory lock poisoned".into()))?;
        let verified = verify(
            request,
            now_secs,
            TIMESTAMP_WINDOW_SECS,
            &mut nonces,
            |key, token| {
                let (credentials, what) = self.lookup(key, token, token_use, now)?;
                found = Some(what);
                Ok(credentials)
            },
        )?;
        let found = found.ok_or(OAuthError::UnknownConsumer)?;
        Ok((verified, found))
    }

    fn lookup(
        &self,
        consumer_id: &str,
        token: Option<&str>,
        token_use: TokenUse,
        now: i64,
    ) -> Result<(Credentials, Found), OAuthError> {
        let looked_up = self.service.with_store(|store| {
            let consumer = store.ws_consumer(consumer_id)?;
            let token = match token {
                Some(t) => store.ws_token(t)?,
                None => None,
            };
            Ok((consumer, token))
        });
        let (consumer, stored_token) = looked_up.map_err(|e| {
            warn!(error = %e, "web services: looking up a consumer failed");
            OAuthError::UnknownConsumer
        })?;
        let consumer = consumer
            .filter(|c| c.active)
            .ok_or(OAuthError::UnknownConsumer)?;
        let client_secret = self
            .key
            .open(&consumer_label(consumer_id), &consumer.secret_sealed)
            .map_err(|e| {
                warn!(consumer = consumer_id, error = %e, "web services: consumer secret unusable");
                OAuthError::UnknownConsumer
            })?;
        let wanted = match token_use {
            TokenUse::None if token.is_some() => return Err(OAuthError::InvalidToken),
            TokenUse::None => None,
            TokenUse::Temporary => Some(WsTokenKind::Temporary),
            TokenUse::Final => Some(WsTokenKind::Final),
        };
        let token_secret = match wanted {
            None => String::new(),
            Some(kind) => {
                let t = stored_token
                    .as_ref()
                    .filter(|t| {
                        t.kind == kind
                            && t.consumer_id == consumer_id
                            && t.revoked.is_none()
                            && t.expires > now
                    })
                    .ok_or(OAuthError::InvalidToken)?;
                self.key.open(&token_label(&t.token), &t.secret_sealed).map_err(|e| {
                    warn!(consumer = consumer_id, error = %e, "web services: token secret unusable");
                    OAuthError::InvalidToken
                })?
            }
        };
        let permissions = WsPermissions::parse([consumer.permissions.as_str()]).unwrap_or_default();
        Ok((
            Credentials {
                client_secret,
                token_secret,
            },
            Found {
                consumer_name: consumer.name,
                permissions,
                token: stored_token,
            },
        ))
    }
}

#[derive(Debug, Clone, Copy)]
enum TokenUse {
    None,
    Temporary,
    Final,
}

fn token_label(token: &str) -> String {
    format!("token:{token}")
}

fn new_grant(expires: i64, callback_confirmed: bool) -> Result<TokenGrant, ServiceError> {
    Ok(TokenGrant {
        token: random_hex(16)?,
        secret: random_hex(20)?,
        callback_confirmed,
        expires,
    })
}

fn require(
    permissions: &WsPermissions,
    resource: MslResource,
    write: bool,
    consumer: &str,
) -> Result<(), MslError> {
    if permissions.allows(resource, write) {
        return Ok(());
    }
    let access = if write { "rw" } else { "r" };
    Err(MslError::Forbidden(format!(
        "consumer {consumer:?} has no permission {}={access}; ask the gateway's administrator",
        resource.as_str()
    )))
}

fn consumer_caller(verified: &Verified, found: Found, source: Option<IpAddr>, now: i64) -> Caller {
    Caller {
        actor: Actor::WsConsumer {
            consumer_id: verified.consumer_key.clone(),
            name: found.consumer_name,
            permissions: found.permissions,
        },
        source,
        now,
    }
}
