//! Server side: challenges with signed, self-describing nonces, and
//! verification with stale detection and nonce-count replay protection.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use super::algorithm::{DigestInput, QopInput, request_digest};
use super::error::clip;
use super::params::{MAX_VALUE_LEN, is_forbidden_ctl};
use super::replay::{NonceKey, NonceTable, Refused};
use super::{Algorithm, Challenge, Credentials, DigestError, Qop, Secret};

type HmacSha256 = Hmac<Sha256>;

/// Nonce layout before base64url: issue time (u64 BE), 16 random bytes,
/// HMAC-SHA256 tag over domain, realm, time and random.
const TIME_LEN: usize = 8;
const RANDOM_LEN: usize = 16;
const TAG_LEN: usize = 32;
const NONCE_RAW_LEN: usize = TIME_LEN + RANDOM_LEN + TAG_LEN;
/// base64url without padding of [`NONCE_RAW_LEN`] bytes.
const NONCE_TEXT_LEN: usize = (NONCE_RAW_LEN * 4).div_ceil(3);
const NONCE_DOMAIN: &[u8] = b"outpost digest nonce v1\0";
const OPAQUE_DOMAIN: &[u8] = b"outpost digest opaque v1\0";

/// Settings of a [`DigestServer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestServerConfig {
    /// The realm put in challenges and required in credentials.
    pub realm: String,
    /// How long a nonce stays valid, in seconds (default
    /// [`Self::DEFAULT_NONCE_LIFETIME_SECS`]).
    pub nonce_lifetime_secs: u64,
    /// Algorithms offered, one challenge each, in preference order
    /// (default SHA-256 then MD5, RFC 7616 §3.7).
    pub algorithms: Vec<Algorithm>,
    /// Most nonces whose count is tracked at once (default
    /// [`Self::DEFAULT_MAX_TRACKED_NONCES`]).
    pub max_tracked_nonces: usize,
    /// Accept credentials without qop (RFC 2069 / RFC 2617 legacy form).
    /// Such credentials carry no nonce count, so each nonce is then usable
    /// once only. Off by default.
    pub danger_accept_no_qop: bool,
}

impl DigestServerConfig {
    /// 300 s: phones reuse the nonce for later requests (INVITE after
    /// REGISTER, refreshes), and each reuse after expiry costs a 401 round
    /// trip; replay within the lifetime is stopped by nonce-count tracking,
    /// so a longer lifetime only widens the window for a captured nonce to
    /// be tried for offline guessing, which a sniffed response allows
    /// anyway. 30 s would re-challenge nearly every request.
    pub const DEFAULT_NONCE_LIFETIME_SECS: u64 = 300;
    /// 10 000 entries (about 0.5 MB): one live nonce per registered phone
    /// per lifetime, so room for ~10 000 phones before live entries are
    /// evicted; eviction only makes clients re-authenticate (stale), never
    /// accepts a replay.
    pub const DEFAULT_MAX_TRACKED_NONCES: usize = 10_000;

    /// Defaults for `realm`: 300 s nonces, SHA-256 and MD5, 10 000 tracked
    /// nonces, qop required.
    #[must_use]
    pub fn new(realm: impl Into<String>) -> Self {
        Self {
            realm: realm.into(),
            nonce_lifetime_secs: Self::DEFAULT_NONCE_LIFETIME_SECS,
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            max_tracked_nonces: Self::DEFAULT_MAX_TRACKED_NONCES,
            danger_accept_no_qop: false,
        }
    }
}

/// A successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The authenticated username.
    pub username: String,
    /// The algorithm the client used.
    pub algorithm: Algorithm,
    /// The nonce count accepted (`None` for legacy no-qop credentials).
    pub nonce_count: Option<u32>,
    /// When the nonce was issued (the `now_unix_secs` given to `challenge`).
    pub nonce_issued_at: u64,
}

/// Digest authentication server (registrar or proxy side), sans-IO: time
/// and random bytes are arguments.
///
/// Nonces are stateless and self-verifying (signed with the process key);
/// only nonces that have been used successfully take room, in a bounded
/// table of highest nonce counts.
pub struct DigestServer {
    config: DigestServerConfig,
    mac: HmacSha256,
    opaque: String,
    nonces: NonceTable,
}

impl fmt::Debug for DigestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestServer")
            .field("config", &self.config)
            .field("key", &"<redacted>")
            .field("tracked_nonces", &self.nonces.len())
            .finish_non_exhaustive()
    }
}

impl DigestServer {
    /// Builds a server. `secret_key` must be random and private to this
    /// process (a restart invalidates outstanding nonces, which clients
    /// recover from with one more challenge).
    pub fn new(config: DigestServerConfig, secret_key: [u8; 32]) -> Result<Self, DigestError> {
        let realm = &config.realm;
        if realm.is_empty() || realm.len() > MAX_VALUE_LEN || realm.bytes().any(is_forbidden_ctl) {
            return Err(DigestError::InvalidInput {
                name: "realm",
                reason: "must be 1 to 1024 bytes without control characters",
            });
        }
        if config.nonce_lifetime_secs == 0 {
            return Err(DigestError::InvalidInput {
                name: "nonce_lifetime_secs",
                reason: "must be at least 1",
            });
        }
        if config.max_tracked_nonces == 0 {
            return Err(DigestError::InvalidInput {
                name: "max_tracked_nonces",
                reason: "must be at least 1",
            });
        }
        let algorithms = &config.algorithms;
        if algorithms.is_empty()
            || algorithms
                .iter()
                .enumerate()
                .any(|(i, a)| algorithms[..i].contains(a))
        {
            return Err(DigestError::InvalidInput {
                name: "algorithms",
                reason: "must list at least one algorithm, each once",
            });
        }
        let mac =
            HmacSha256::new_from_slice(&secret_key).map_err(|_| DigestError::InvalidInput {
                name: "secret_key",
                reason: "rejected by HMAC",
            })?;
        let mut opaque_mac = mac.clone();
        opaque_mac.update(OPAQUE_DOMAIN);
        opaque_mac.update(realm.as_bytes());
        let opaque_tag = opaque_mac.finalize().into_bytes();
        let opaque = URL_SAFE_NO_PAD.encode(&opaque_tag[..16]);
        let nonces = NonceTable::new(config.max_tracked_nonces);
        Ok(Self {
            config,
            mac,
            opaque,
            nonces,
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &DigestServerConfig {
        &self.config
    }

    /// The realm.
    #[must_use]
    pub fn realm(&self) -> &str {
        &self.config.realm
    }

    /// How many nonces currently have a tracked nonce count (at most
    /// `max_tracked_nonces`).
    #[must_use]
    pub fn tracked_nonces(&self) -> usize {
        self.nonces.len()
    }

    /// One challenge per configured algorithm, in preference order, all with
    /// the same fresh nonce, `qop="auth"` and the opaque; send each as its
    /// own `WWW-Authenticate` (401) or `Proxy-Authenticate` (407) header.
    /// `random` must come from a cryptographic RNG; `stale` is set after
    /// [`DigestError::Stale`].
    #[must_use]
    pub fn challenge(&self, now_unix_secs: u64, random: [u8; 16], stale: bool) -> Vec<Challenge> {
        let nonce = self.make_nonce(now_unix_secs, random);
        self.config
            .algorithms
            .iter()
            .map(|&algorithm| Challenge {
                realm: self.config.realm.clone(),
                nonce: nonce.clone(),
                opaque: Some(self.opaque.clone()),
                algorithm: Some(algorithm),
                qop: vec![Qop::Auth.as_str().to_owned()],
                stale,
                other: Vec::new(),
            })
            .collect()
    }

    /// Verifies credentials for a request with `method`, against the
    /// `secret` the caller looked up for `credentials.username`.
    ///
    /// Checks, in order: realm, algorithm enabled, qop (`auth` with cnonce
    /// and nc, or legacy if enabled), nonce signature, opaque, the response
    /// (constant time), then nonce age (a correct response on an expired
    /// nonce is [`DigestError::Stale`], RFC 7616 §3.3) and the nonce count
    /// (a count not above the last accepted one is [`DigestError::Replay`]).
    /// Only a correct response updates the nonce-count table, so a guesser
    /// cannot burn a legitimate client's nonce.
    ///
    /// The caller should also check that `credentials.uri` matches the
    /// Request-URI (RFC 7616 §3.4.6).
    pub fn verify(
        &mut self,
        credentials: &Credentials,
        method: &str,
        secret: Secret<'_>,
        now_unix_secs: u64,
    ) -> Result<Verified, DigestError> {
        if credentials.realm != self.config.realm {
            return Err(DigestError::RealmMismatch {
                received: clip(&credentials.realm),
                expected: clip(&self.config.realm),
            });
        }
        let algorithm = credentials.effective_algorithm();
        if !self.config.algorithms.contains(&algorithm) {
            return Err(DigestError::AlgorithmNotOffered { algorithm });
        }
        let nc = match credentials.qop {
            Some(Qop::Auth) => {
                if credentials.cnonce.is_none() {
                    return Err(DigestError::MissingParam { name: "cnonce" });
                }
                match credentials.nc {
                    None => return Err(DigestError::MissingParam { name: "nc" }),
                    Some(0) => {
                        return Err(DigestError::InvalidParam {
                            name: "nc",
                            reason: "counts start at 00000001",
                        });
                    }
                    Some(nc) => nc,
                }
            }
            None if self.config.danger_accept_no_qop => 0,
            None => return Err(DigestError::MissingQop),
        };
        let key = self.open_nonce(&credentials.nonce)?;
        if credentials
            .opaque
            .as_ref()
            .is_some_and(|o| o.as_bytes().ct_eq(self.opaque.as_bytes()).unwrap_u8() == 0)
        {
            return Err(DigestError::OpaqueMismatch);
        }
        check_response(credentials, method, secret)?;
        let issued = key.0;
        let lifetime = self.config.nonce_lifetime_secs;
        // A nonce from the future means the clock stepped back: its age is
        // unknown, so ask for a new one rather than trust it.
        if issued > now_unix_secs || now_unix_secs - issued > lifetime {
            return Err(DigestError::Stale);
        }
        match self
            .nonces
            .record(key, nc, now_unix_secs.saturating_sub(lifetime))
        {
            Ok(()) => {}
            Err(Refused::Replay) => return Err(DigestError::Replay { nc }),
            Err(Refused::Forgotten) => return Err(DigestError::Stale),
        }
        Ok(Verified {
            username: credentials.username.clone(),
            algorithm,
            nonce_count: credentials.qop.map(|_| nc),
            nonce_issued_at: issued,
        })
    }

    fn tag(&self, issued: u64, random: &[u8; RANDOM_LEN]) -> [u8; TAG_LEN] {
        let mut mac = self.mac.clone();
        mac.update(NONCE_DOMAIN);
        let realm = self.config.realm.as_bytes();
        mac.update(&(realm.len() as u64).to_be_bytes());
        mac.update(realm);
        mac.update(&issued.to_be_bytes());
        mac.update(random);
        mac.finalize().into_bytes().into()
    }

    fn make_nonce(&self, issued: u64, random: [u8; RANDOM_LEN]) -> String {
        let mut raw = [0u8; NONCE_RAW_LEN];
        raw[..TIME_LEN].copy_from_slice(&issued.to_be_bytes());
        raw[TIME_LEN..TIME_LEN + RANDOM_LEN].copy_from_slice(&random);
        raw[TIME_LEN + RANDOM_LEN..].copy_from_slice(&self.tag(issued, &random));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Decodes a nonce and checks its tag in constant time.
    fn open_nonce(&self, nonce: &str) -> Result<NonceKey, DigestError> {
        if nonce.len() != NONCE_TEXT_LEN {
            return Err(DigestError::InvalidNonce);
        }
        let mut raw = [0u8; NONCE_RAW_LEN];
        match URL_SAFE_NO_PAD.decode_slice(nonce, &mut raw) {
            Ok(NONCE_RAW_LEN) => {}
            _ => return Err(DigestError::InvalidNonce),
        }
        let (time, rest) = raw.split_at(TIME_LEN);
        let (random, tag) = rest.split_at(RANDOM_LEN);
        let issued = u64::from_be_bytes(time.try_into().map_err(|_| DigestError::InvalidNonce)?);
        let random: [u8; RANDOM_LEN] = random.try_into().map_err(|_| DigestError::InvalidNonce)?;
        if self.tag(issued, &random).ct_eq(tag).unwrap_u8() != 1 {
            return Err(DigestError::InvalidNonce);
        }
        Ok((issued, random))
    }
}

/// Compares the response in `credentials` with the one `secret` gives, in
/// constant time, without looking at the nonce's validity.
///
/// Internal step of [`DigestServer::verify`]; tests use it to check
/// published vectors whose nonces this server did not sign.
pub(crate) fn check_response(
    credentials: &Credentials,
    method: &str,
    secret: Secret<'_>,
) -> Result<(), DigestError> {
    let qop = match (
        credentials.qop,
        credentials.cnonce.as_deref(),
        credentials.nc,
    ) {
        (Some(Qop::Auth), Some(cnonce), Some(nc)) => Some(QopInput { cnonce, nc }),
        (Some(Qop::Auth), None, _) => return Err(DigestError::MissingParam { name: "cnonce" }),
        (Some(Qop::Auth), _, None) => return Err(DigestError::MissingParam { name: "nc" }),
        (None, ..) => None,
    };
    let expected = request_digest(
        &DigestInput {
            algorithm: credentials.effective_algorithm(),
            username: &credentials.username,
            realm: &credentials.realm,
            nonce: &credentials.nonce,
            method,
            uri: &credentials.uri,
            qop,
            cnonce: credentials.cnonce.as_deref(),
        },
        secret,
    )?;
    let received = credentials.response.to_ascii_lowercase();
    if expected.as_bytes().ct_eq(received.as_bytes()).unwrap_u8() == 1 {
        Ok(())
    } else {
        Err(DigestError::WrongResponse)
    }
}
