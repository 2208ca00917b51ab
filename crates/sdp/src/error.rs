//! Errors: one crate enum ([`SdpError`]) over a parse error, a media
//! rejection (488 with a Warning) and a caller mistake; each knows the SIP
//! status to answer with.

use thiserror::Error;

/// The SDP body is not SDP (answer 400 Bad Request).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Empty body.
    #[error("empty session description")]
    Empty,
    /// The first line is not `v=`.
    #[error("session description does not start with v=")]
    NoVersion,
    /// A line is neither blank nor `<letter>=...`.
    #[error("line {number} is not <type>=<value>")]
    BadLine {
        /// 1-based line number.
        number: usize,
    },
    /// An `m=` line without media, numeric port and protocol.
    #[error("line {number}: malformed m= line")]
    BadMediaLine {
        /// 1-based line number.
        number: usize,
    },
    /// More than [`crate::MAX_MEDIA`] media sections.
    #[error("too many media sections")]
    TooManyMedia,
}

/// An `a=crypto` value that does not follow RFC 4568 §9.1.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A required field is missing.
    #[error("a=crypto: missing {0}")]
    Missing(&'static str),
    /// The tag is not 1 to 9 digits.
    #[error("a=crypto: bad tag")]
    BadTag,
    /// The key method is not `inline:`.
    #[error("a=crypto: unsupported key method")]
    KeyMethod,
    /// The key is not base64.
    #[error("a=crypto: key is not base64")]
    Base64,
    /// The lifetime is not `2^n` or a number, or is misplaced.
    #[error("a=crypto: bad lifetime")]
    Lifetime,
    /// The MKI is not `value:length` with length 1..=128.
    #[error("a=crypto: bad MKI")]
    Mki,
}

/// Why a description is not acceptable (RFC 3261 §21.4.26 "488 Not
/// Acceptable Here", with a Warning header, RFC 3261 §20.43).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Reject488 {
    /// Plain RTP offered where the inbound policy is `srtp-only`.
    #[error("m-line {index}: plain RTP refused, SRTP required")]
    PlainRtpRefused {
        /// 0-based m-line index.
        index: usize,
    },
    /// SRTP (RTP/SAVP) offered where the inbound policy is `rtp`.
    #[error("m-line {index}: SRTP refused, plain RTP required")]
    SrtpRefused {
        /// 0-based m-line index.
        index: usize,
    },
    /// SRTP required but no offered crypto line is usable.
    #[error("m-line {index}: no supported crypto suite")]
    NoSupportedCrypto {
        /// 0-based m-line index.
        index: usize,
    },
    /// An active stream without any `c=` line.
    #[error("m-line {index}: no connection address")]
    NoConnection {
        /// 0-based m-line index.
        index: usize,
    },
    /// Streams were offered but none can be relayed.
    #[error("no supported media stream")]
    NoSupportedMedia,
    /// The answer does not have as many m-lines as the offer (RFC 3264 §6).
    #[error("answer has {answered} m-lines, offer had {offered}")]
    StreamCount {
        /// m-lines in the offer.
        offered: usize,
        /// m-lines in the answer.
        answered: usize,
    },
    /// The answer's protocol or crypto does not match what was offered.
    #[error("m-line {index}: answer does not match the offer ({detail})")]
    AnswerMismatch {
        /// 0-based m-line index.
        index: usize,
        /// What did not match.
        detail: &'static str,
    },
}

impl Reject488 {
    /// The SIP status code: 488.
    pub fn status_code(&self) -> u16 {
        488
    }

    /// The Warning code (RFC 3261 §20.43).
    pub fn warning_code(&self) -> u16 {
        match self {
            // 302 Incompatible transport protocol.
            Self::PlainRtpRefused { .. } | Self::SrtpRefused { .. } => 302,
            // 305 Incompatible media format.
            Self::NoSupportedCrypto { .. } | Self::AnswerMismatch { .. } => 305,
            // 304 Media type not available.
            Self::NoSupportedMedia => 304,
            Self::NoConnection { .. } | Self::StreamCount { .. } => 399,
        }
    }

    /// The Warning header value: `<code> <agent> "<text>"`, with `agent`
    /// the host name or pseudonym the B2BUA shows on this side.
    pub fn warning_value(&self, agent: &str) -> String {
        let text = self.to_string().replace(['"', '\\'], "");
        format!("{} {agent} \"{text}\"", self.warning_code())
    }
}

/// Every failure of this crate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The body is not SDP.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The description is not acceptable.
    #[error(transparent)]
    NotAcceptable(#[from] Reject488),
    /// The plans or local parameters passed in do not fit the description
    /// (a caller bug: answer 500).
    #[error("internal: {0}")]
    Internal(&'static str),
    /// An SRTP stream needs a key and the caller gave none of the right
    /// length for that m-line (a caller bug: answer 500).
    #[error("internal: no usable local key for m-line {index}")]
    MissingKey {
        /// 0-based m-line index.
        index: usize,
    },
}

impl SdpError {
    /// The SIP status to answer with: 400, 488 or 500.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Parse(_) => 400,
            Self::NotAcceptable(r) => r.status_code(),
            Self::Internal(_) | Self::MissingKey { .. } => 500,
        }
    }
}
