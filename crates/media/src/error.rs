//! The crate's one error type.

/// What went wrong in a transform, a key, or a port pool.
///
/// Packet errors are cheap (`Copy`, no allocation): a relay sees thousands
/// of bad packets a second under attack and must only count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The packet is shorter than its headers (plus tag) need.
    #[error("packet too short")]
    TooShort,
    /// Not RTP/RTCP version 2, or a header field points past the packet.
    #[error("malformed RTP/RTCP packet")]
    Malformed,
    /// The SRTP/SRTCP authentication tag did not verify (RFC 3711 §3.4).
    #[error("SRTP authentication failed")]
    AuthFailed,
    /// The packet index was already seen or is older than the replay window
    /// (RFC 3711 §3.3.2). On protect: the same index would be encrypted twice.
    #[error("SRTP replayed or too old")]
    Replayed,
    /// The buffer has no room for the tag (protect), or the stated length
    /// exceeds the buffer.
    #[error("buffer too small")]
    BufferTooSmall,
    /// A context already tracks the maximum number of SSRCs
    /// ([`crate::srtp::MAX_SSRCS`]).
    #[error("too many SSRCs in one SRTP context")]
    TooManySsrcs,
    /// The 48-bit SRTP index or 31-bit SRTCP index is used up: the key must
    /// be renegotiated (RFC 3711 §9.2).
    #[error("SRTP packet index exhausted; rekey")]
    IndexExhausted,
    /// The SDES `inline:` key parameter is not valid (RFC 4568 §6.1).
    #[error("invalid SDES key: {0}")]
    InvalidKey(&'static str),
    /// The key parameter carries an MKI, which this transform does not put
    /// in packets; answer with another crypto line or refuse the offer.
    #[error("SDES key with MKI is not supported")]
    MkiUnsupported,
    /// Unknown crypto-suite name.
    #[error("unknown crypto suite")]
    UnknownSuite,
    /// The cryptographic library refused an operation (not expected).
    #[error("crypto library error")]
    Crypto,
    /// No free port (or pair) in the pool: the caller answers 503.
    #[error("port pool exhausted")]
    PoolExhausted,
    /// A port range is empty, reversed, or holds no even/odd pair.
    #[error("invalid port range")]
    InvalidRange,
}

impl From<aws_lc_rs::error::Unspecified> for Error {
    fn from(_: aws_lc_rs::error::Unspecified) -> Self {
        Self::Crypto
    }
}
