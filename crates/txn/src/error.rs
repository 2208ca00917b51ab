//! The crate's one error type.

use outpost_sip::{ParseError, StatusCode};

use crate::event::TransactionId;
use crate::state::State;

/// Why the transaction layer refused an input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A header that transaction matching needs (top Via, Call-ID, CSeq,
    /// From, To) is missing or malformed. Drivers answer a request with 400.
    #[error("cannot match the message to a transaction: {0}")]
    Malformed(#[from] ParseError),
    /// The top Via of a response has no branch parameter, so no client
    /// transaction can match it (RFC 3261 §17.1.3).
    #[error("the top Via has no branch parameter")]
    MissingBranch,
    /// The CSeq method of a request differs from its request method
    /// (RFC 3261 §8.1.1.5).
    #[error("CSeq method {cseq} does not match request method {method}")]
    CSeqMethodMismatch {
        /// The request method.
        method: String,
        /// The CSeq method.
        cseq: String,
    },
    /// A response was given where a request was expected.
    #[error("expected a request, got a response")]
    NotARequest,
    /// A request was given where a response was expected.
    #[error("expected a response, got a request")]
    NotAResponse,
    /// ACK is never sent in a client transaction: the INVITE client
    /// transaction sends the ACK for a non-2xx itself, and the TU sends the
    /// ACK for a 2xx with [`send_stateless`](crate::TransactionLayer::send_stateless)
    /// (RFC 3261 §17.1.1.3, §13.2.2.4).
    #[error("an ACK is not sent in a client transaction")]
    AckIsNotATransaction,
    /// A request to send has a top Via branch without the RFC 3261 magic
    /// cookie `z9hG4bK` (§8.1.1.7); the TU generates branches (with its
    /// seedable RNG) and must use the cookie.
    #[error("the top Via branch {branch:?} lacks the z9hG4bK magic cookie")]
    BranchWithoutMagicCookie {
        /// The offending branch.
        branch: String,
    },
    /// A client transaction with the same branch and method already exists.
    #[error("{0} already uses this branch and method")]
    DuplicateTransaction(TransactionId),
    /// The layer holds [`Config::max_transactions`](crate::Config::max_transactions).
    #[error("too many transactions (limit {limit})")]
    TooManyTransactions {
        /// The configured limit.
        limit: usize,
    },
    /// No live transaction has this id (it may have terminated).
    #[error("unknown transaction {0}")]
    UnknownTransaction(TransactionId),
    /// Responses are sent by server transactions only.
    #[error("{0} is a client transaction")]
    NotAServerTransaction(TransactionId),
    /// The transaction's state does not allow this response, e.g. a
    /// second final response, or a non-2xx after a 2xx to an INVITE.
    #[error("{transaction} in state {state:?} cannot send a {status} response")]
    ResponseNotAllowed {
        /// The transaction.
        transaction: TransactionId,
        /// Its state.
        state: State,
        /// The status code refused.
        status: u16,
    },
    /// The ACK for a non-2xx final response could not be built (RFC 3261
    /// §17.1.1.3); the response is dropped as if it had not arrived.
    #[error("cannot build the ACK: {0}")]
    AckBuild(#[source] ParseError),
}

impl From<&Error> for StatusCode {
    /// The response that goes on the wire for an input the layer refused:
    /// 400 (or the parser's own choice) for a request that cannot be
    /// matched, 503 when the layer is full, 500 for a TU mistake that
    /// reached the wire side. Never answer an ACK or a response.
    fn from(e: &Error) -> Self {
        match e {
            Error::Malformed(parse) | Error::AckBuild(parse) => Self::from(parse),
            Error::MissingBranch
            | Error::CSeqMethodMismatch { .. }
            | Error::NotARequest
            | Error::NotAResponse => Self::BAD_REQUEST,
            Error::TooManyTransactions { .. } => Self::SERVICE_UNAVAILABLE,
            Error::AckIsNotATransaction
            | Error::BranchWithoutMagicCookie { .. }
            | Error::DuplicateTransaction(_)
            | Error::UnknownTransaction(_)
            | Error::NotAServerTransaction(_)
            | Error::ResponseNotAllowed { .. } => Self::SERVER_INTERNAL_ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_the_status_sent() {
        let parse = ParseError::Missing(outpost_sip::HeaderName::CSeq, None);
        assert_eq!(
            StatusCode::from(&Error::Malformed(parse)),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            StatusCode::from(&Error::MissingBranch),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            StatusCode::from(&Error::TooManyTransactions { limit: 1 }),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            StatusCode::from(&Error::UnknownTransaction(TransactionId(1))),
            StatusCode::SERVER_INTERNAL_ERROR
        );
        assert_eq!(
            Error::TooManyTransactions { limit: 7 }.to_string(),
            "too many transactions (limit 7)"
        );
    }
}
