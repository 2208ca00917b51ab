//! Client side: answering a 401/407 challenge (the B2BUA toward the iPBX).

use std::fmt;

use super::algorithm::{DigestInput, QopInput, request_digest};
use super::params::{MAX_VALUE_LEN, is_forbidden_ctl, is_token};
use super::{Challenge, Credentials, DigestError, Qop, Secret};

/// Picks the challenge to answer among the values of the `WWW-Authenticate`
/// (or `Proxy-Authenticate`) headers of one response.
///
/// Values that do not parse (other schemes, unknown algorithms) or cannot be
/// answered (only `auth-int`) are skipped; among the rest the strongest hash
/// wins (SHA-256 over MD5), ties going to the first offered, as the server
/// lists them in its order of preference (RFC 7616 §3.7).
pub fn select_challenge<'a, I>(header_values: I) -> Result<Challenge, DigestError>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut offered = 0;
    let mut best: Option<Challenge> = None;
    for value in header_values {
        offered += 1;
        let Ok(challenge) = Challenge::parse(value) else {
            continue;
        };
        if !challenge.is_answerable() {
            continue;
        }
        let stronger = best.as_ref().is_none_or(|b| {
            challenge.effective_algorithm().strength() > b.effective_algorithm().strength()
        });
        if stronger {
            best = Some(challenge);
        }
    }
    best.ok_or(DigestError::NoUsableChallenge { offered })
}

/// Where the client is in the nonce-count sequence of one nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NonceUse {
    challenge: Challenge,
    nc: u32,
}

/// Answers digest challenges for one account (username and password),
/// keeping the nonce count: answering the same nonce again increments `nc`,
/// a new nonce restarts at 1.
///
/// A response to a request that carried credentials is a real rejection
/// (wrong password) unless the new challenge [`Challenge::is_stale`]: then
/// answer it once more, as the password was right and only the nonce aged.
///
/// `Debug` never shows the password.
#[derive(Clone)]
pub struct DigestClient {
    username: String,
    password: String,
    last: Option<NonceUse>,
}

impl fmt::Debug for DigestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestClient")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("last", &self.last)
            .finish()
    }
}

impl DigestClient {
    /// A client for `username` (at most 1024 bytes, no control characters,
    /// since it goes on the wire) and `password`.
    pub fn new(
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Result<Self, DigestError> {
        let username = username.into();
        check_wire_text("username", &username)?;
        Ok(Self {
            username,
            password: password.into(),
            last: None,
        })
    }

    /// The username.
    #[must_use]
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Answers `challenge` for a request with `method` and digest-uri `uri`
    /// (the Request-URI), with a cnonce made from 16 random bytes (hex).
    ///
    /// Uses qop=auth when offered, otherwise the legacy RFC 2069 form
    /// (RFC 2617 §3.2.2.1) that older servers still send; `auth-int` alone
    /// is refused with [`DigestError::UnsupportedQop`].
    pub fn respond(
        &mut self,
        challenge: &Challenge,
        method: &str,
        uri: &str,
        cnonce_random: [u8; 16],
    ) -> Result<Credentials, DigestError> {
        self.respond_with_cnonce(challenge, method, uri, &hex::encode(cnonce_random))
    }

    /// [`Self::respond`] with a given cnonce string (for test vectors or a
    /// caller that makes its own cnonces).
    pub fn respond_with_cnonce(
        &mut self,
        challenge: &Challenge,
        method: &str,
        uri: &str,
        cnonce: &str,
    ) -> Result<Credentials, DigestError> {
        let nc = match &self.last {
            Some(last)
                if last.challenge.nonce == challenge.nonce
                    && last.challenge.realm == challenge.realm =>
            {
                last.nc
                    .checked_add(1)
                    .ok_or(DigestError::NonceCountExhausted)?
            }
            _ => 1,
        };
        let credentials = self.answer(challenge, method, uri, cnonce, nc)?;
        self.last = Some(NonceUse {
            challenge: challenge.clone(),
            nc,
        });
        Ok(credentials)
    }

    /// Answers with the last challenge's nonce again, without waiting for a
    /// new challenge (pre-emptive authentication of a refresh or a request
    /// to the same server); `None` if nothing was answered yet. If the
    /// server replies with a challenge, answer that one.
    pub fn respond_again(
        &mut self,
        method: &str,
        uri: &str,
        cnonce_random: [u8; 16],
    ) -> Option<Result<Credentials, DigestError>> {
        let challenge = self.last.as_ref()?.challenge.clone();
        Some(self.respond(&challenge, method, uri, cnonce_random))
    }

    /// Forgets the remembered nonce (after a rejection, or a server change).
    pub fn forget_nonce(&mut self) {
        self.last = None;
    }

    fn answer(
        &self,
        challenge: &Challenge,
        method: &str,
        uri: &str,
        cnonce: &str,
        nc: u32,
    ) -> Result<Credentials, DigestError> {
        if !is_token(method) {
            return Err(DigestError::InvalidInput {
                name: "method",
                reason: "must be a token",
            });
        }
        check_wire_text("uri", uri)?;
        check_wire_text("cnonce", cnonce)?;
        let algorithm = challenge.effective_algorithm();
        let qop = if challenge.qop.is_empty() {
            None
        } else if challenge.offers_qop_auth() {
            Some(Qop::Auth)
        } else {
            return Err(DigestError::UnsupportedQop {
                qop: challenge.qop.join(","),
            });
        };
        if qop.is_none() && algorithm.is_session() {
            return Err(DigestError::InvalidParam {
                name: "algorithm",
                reason: "a -sess algorithm needs qop, which the challenge does not offer",
            });
        }
        let response = request_digest(
            &DigestInput {
                algorithm,
                username: &self.username,
                realm: &challenge.realm,
                nonce: &challenge.nonce,
                method,
                uri,
                qop: qop.map(|_| QopInput { cnonce, nc }),
                cnonce: qop.map(|_| cnonce),
            },
            Secret::Password(&self.password),
        )?;
        Ok(Credentials {
            username: self.username.clone(),
            realm: challenge.realm.clone(),
            nonce: challenge.nonce.clone(),
            uri: uri.to_owned(),
            response,
            algorithm: challenge.algorithm,
            cnonce: qop.map(|_| cnonce.to_owned()),
            opaque: challenge.opaque.clone(),
            qop,
            nc: qop.map(|_| nc),
            other: Vec::new(),
        })
    }
}

/// Text that will be rendered into a header: bounded, no control characters.
fn check_wire_text(name: &'static str, value: &str) -> Result<(), DigestError> {
    if value.len() > MAX_VALUE_LEN || value.bytes().any(is_forbidden_ctl) {
        return Err(DigestError::InvalidInput {
            name,
            reason: "must be at most 1024 bytes without control characters",
        });
    }
    Ok(())
}
