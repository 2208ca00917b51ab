//! Why a request was refused. Each message helps a client's developer fix
//! their signing code without telling an attacker which secret was close:
//! a wrong signature and an unknown token secret read the same.

/// A refused OAuth request; every variant is a 401 except where noted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// No `Authorization: OAuth` header.
    #[error("missing Authorization header with the OAuth scheme")]
    MissingHeader,
    /// The header could not be read.
    #[error("malformed OAuth Authorization header: {reason}")]
    MalformedHeader {
        /// What was wrong, e.g. "unterminated quoted value".
        reason: String,
    },
    /// A `%` escape or UTF-8 problem.
    #[error("bad percent-encoding in {what}")]
    BadEncoding {
        /// Which value.
        what: String,
    },
    /// A protocol parameter given twice (header, query or body).
    #[error("parameter {name} appears more than once")]
    DuplicateParameter {
        /// The parameter.
        name: String,
    },
    /// A required protocol parameter is absent.
    #[error("missing parameter {name}")]
    MissingParameter {
        /// The parameter.
        name: String,
    },
    /// Only HMAC-SHA1 is supported (as by the vendor's web services).
    #[error("unsupported oauth_signature_method {method:?}: use HMAC-SHA1")]
    UnsupportedSignatureMethod {
        /// What the client sent.
        method: String,
    },
    /// `oauth_version` other than `1.0`.
    #[error("unsupported oauth_version {version:?}: use 1.0 or leave it out")]
    UnsupportedVersion {
        /// What the client sent.
        version: String,
    },
    /// `oauth_timestamp` not a number or outside the window.
    #[error(
        "oauth_timestamp is not within {window} seconds of the server's time; check the client's clock"
    )]
    StaleTimestamp {
        /// The window in seconds.
        window: u64,
    },
    /// The nonce was used before with this timestamp.
    #[error("oauth_nonce was already used; use a new nonce for every request")]
    ReplayedNonce,
    /// Too many nonces remembered: the request cannot be checked for
    /// replay, so it is refused (503 rather than 401).
    #[error("too many requests in the timestamp window; retry later")]
    NonceMemoryFull,
    /// Unknown or inactive consumer key.
    #[error("unknown or inactive consumer key")]
    UnknownConsumer,
    /// Unknown, expired or revoked token.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The signature does not match.
    #[error(
        "invalid signature: check the signature base string (RFC 5849 section 3.4.1) and the secrets"
    )]
    InvalidSignature,
}
