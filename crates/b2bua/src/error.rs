//! The crate's errors, mapped to the status sent (ARCHITECTURE.md rule 5).

use outpost_sip::{ParseError, StatusCode};

use crate::flow::Side;

/// A configuration the B2BUA refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field has an unusable value.
    #[error("invalid B2BUA setting {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The digest realm was refused.
    #[error("invalid digest realm: {0}")]
    Realm(#[from] outpost_sip::auth::DigestError),
}

/// Which side a failure is attributed to, so the right status is sent and
/// logs say where to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedSide {
    /// Toward the phone (public leg).
    Public,
    /// Toward the iPBX (private leg).
    Private,
    /// Inside Outpost.
    Internal,
}

impl From<Side> for FailedSide {
    fn from(side: Side) -> Self {
        match side {
            Side::Public => Self::Public,
            Side::Private => Self::Private,
        }
    }
}

/// Why the B2BUA could not handle a message. Never leaves the crate as a
/// panic: each is answered with [`StatusCode::from`] or dropped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Error {
    /// A message lacks something the B2BUA needs, or a value taken from
    /// it does not fit in the message being built.
    #[error("malformed message: {0}")]
    Malformed(#[from] ParseError),
    /// The transaction layer refused an operation.
    #[error("transaction layer: {0}")]
    Txn(#[from] outpost_txn::Error),
}

impl From<&Error> for StatusCode {
    fn from(e: &Error) -> Self {
        match e {
            Error::Malformed(_) => Self::BAD_REQUEST,
            Error::Txn(outpost_txn::Error::TooManyTransactions { .. }) => Self::SERVICE_UNAVAILABLE,
            Error::Txn(_) => Self::SERVER_INTERNAL_ERROR,
        }
    }
}
