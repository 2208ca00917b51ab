//! The digest layer's single error type and what a server should answer.

use super::Algorithm;

/// Longest piece of peer-supplied text copied into an error message.
const MAX_ECHO: usize = 64;

/// Copies at most [`MAX_ECHO`] characters of peer-supplied text into an error,
/// so a hostile header cannot make log lines arbitrarily long.
pub(crate) fn clip(text: &str) -> String {
    text.chars().take(MAX_ECHO).collect()
}

/// Everything that can go wrong when parsing, rendering inputs for, verifying
/// or answering digest authentication.
///
/// Messages say what to do next. They never contain a password, an HA1 or the
/// expected response; peer-supplied text is clipped to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The header value is not a well-formed `Digest` auth-param list.
    #[error("malformed digest header at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset in the header value where parsing stopped.
        offset: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// The header uses another authentication scheme (Basic, Bearer, ...).
    #[error("authentication scheme {scheme:?} is not Digest; only Digest is supported")]
    NotDigest {
        /// The scheme that was received (clipped).
        scheme: String,
    },
    /// A parameter appears twice (RFC 7235 §2.1: each name at most once).
    #[error("digest parameter {name:?} appears more than once")]
    DuplicateParam {
        /// The repeated name (clipped).
        name: String,
    },
    /// A parameter value exceeds the length limit.
    #[error("digest parameter {name:?} is longer than {max} bytes")]
    ValueTooLong {
        /// The parameter name (clipped).
        name: String,
        /// The limit in bytes.
        max: usize,
    },
    /// More parameters than the limit.
    #[error("digest header has more than {max} parameters")]
    TooManyParams {
        /// The limit.
        max: usize,
    },
    /// A required parameter is absent.
    #[error("digest header lacks the required parameter {name:?}")]
    MissingParam {
        /// The missing parameter.
        name: &'static str,
    },
    /// A parameter is present but its value is not acceptable.
    #[error("digest parameter {name:?} is invalid: {reason}")]
    InvalidParam {
        /// The parameter (or input) name.
        name: &'static str,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An algorithm this implementation does not know.
    #[error(
        "digest algorithm {algorithm:?} is not supported (supported: MD5, MD5-sess, SHA-256, SHA-256-sess)"
    )]
    UnsupportedAlgorithm {
        /// The algorithm name received (clipped).
        algorithm: String,
    },
    /// A qop other than `auth` (for example `auth-int`, which needs the body).
    #[error("digest qop {qop:?} is not supported; only qop=auth is")]
    UnsupportedQop {
        /// The qop value received (clipped).
        qop: String,
    },
    /// The credentials are for another realm.
    #[error(
        "credentials are for realm {received:?} but this server's realm is {expected:?}; re-challenge"
    )]
    RealmMismatch {
        /// The realm in the credentials (clipped).
        received: String,
        /// This server's realm (clipped).
        expected: String,
    },
    /// The client used an algorithm known to us but not enabled on this server.
    #[error("digest algorithm {algorithm} is not enabled on this server; re-challenge")]
    AlgorithmNotOffered {
        /// The algorithm used by the client.
        algorithm: Algorithm,
    },
    /// The client did not send qop (RFC 2069 / RFC 2617 legacy digest) and
    /// the server does not accept that.
    #[error(
        "credentials carry no qop (legacy RFC 2069 digest without replay protection); \
         re-challenge, or set danger_accept_no_qop to accept such clients"
    )]
    MissingQop,
    /// The nonce was not issued by this server: bad encoding, bad signature,
    /// another realm, or another process's key.
    #[error(
        "nonce was not issued by this server (bad format or signature); send a fresh challenge, not stale"
    )]
    InvalidNonce,
    /// The `opaque` echoed by the client is not the one this server sends.
    #[error("opaque does not match the one this server issued; send a fresh challenge")]
    OpaqueMismatch,
    /// The nonce is genuine and the response correct, but the nonce expired
    /// (or its state was evicted): re-challenge with `stale=true`.
    #[error(
        "nonce is stale (expired or forgotten) but the response was correct; re-challenge with stale=true"
    )]
    Stale,
    /// The nonce count was already used with this nonce.
    #[error(
        "nonce count {nc:08x} was already used with this nonce (replay or reordering); send a fresh challenge"
    )]
    Replay {
        /// The nonce count received.
        nc: u32,
    },
    /// The response does not match: wrong password, wrong username, or a
    /// client computing the digest differently.
    #[error(
        "digest response does not match (wrong password or user); answer 403 and count a failed attempt"
    )]
    WrongResponse,
    /// The HA1 handed to [`super::DigestServer::verify`] is for another hash
    /// function than the one the client used.
    #[error(
        "the stored HA1 is for another hash than the client's algorithm {algorithm}; \
         pass the HA1 matching Credentials::effective_algorithm()"
    )]
    SecretAlgorithmMismatch {
        /// The algorithm the client used.
        algorithm: Algorithm,
    },
    /// None of the received challenges can be answered (client side).
    #[error(
        "none of the {offered} challenge(s) can be answered: need Digest with MD5/SHA-256 \
         (optionally -sess) and qop=auth or no qop"
    )]
    NoUsableChallenge {
        /// How many challenge header values were examined.
        offered: usize,
    },
    /// The nonce count for one nonce reached its maximum (client side).
    #[error("nonce count exhausted for this nonce; wait for a fresh challenge")]
    NonceCountExhausted,
    /// Invalid configuration or local input (realm, username, method, ...).
    #[error("invalid digest configuration or input {name:?}: {reason}")]
    InvalidInput {
        /// Which setting or argument.
        name: &'static str,
        /// Why it was refused.
        reason: &'static str,
    },
}

/// What a registrar or proxy should send back after a failed verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerReply {
    /// 400 Bad Request: the header cannot be understood.
    BadRequest,
    /// 401/407 with a fresh challenge (not stale).
    Challenge,
    /// 401/407 with a fresh challenge and `stale=true`: the client knows the
    /// password, only the nonce is too old.
    ChallengeStale,
    /// 403 Forbidden, and count a failed attempt for brute-force protection
    /// (SPEC SEC-6).
    Forbidden,
}

impl DigestError {
    /// What a server should answer when [`super::DigestServer::verify`] (or
    /// parsing an Authorization header) fails with this error.
    #[must_use]
    pub fn server_reply(&self) -> ServerReply {
        match self {
            Self::Malformed { .. }
            | Self::DuplicateParam { .. }
            | Self::ValueTooLong { .. }
            | Self::TooManyParams { .. }
            | Self::MissingParam { .. }
            | Self::InvalidParam { .. } => ServerReply::BadRequest,
            Self::Stale => ServerReply::ChallengeStale,
            Self::WrongResponse => ServerReply::Forbidden,
            _ => ServerReply::Challenge,
        }
    }

    /// Whether this failure should count toward brute-force detection
    /// (SPEC SEC-6): only a wrong response proves a bad guess. Unknown
    /// usernames are found by the caller's lookup and count as well.
    #[must_use]
    pub fn is_failed_attempt(&self) -> bool {
        matches!(self, Self::WrongResponse)
    }
}
