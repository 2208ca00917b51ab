//! What the layer hands out: transaction ids, datagrams to send, events for
//! the TU, and the outcome of each input.

use std::fmt;

use bytes::Bytes;
use outpost_sip::Message;

use crate::timer::Timer;

/// Names one transaction for as long as it lives in a
/// [`TransactionLayer`](crate::TransactionLayer). Ids are never reused by a
/// layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub(crate) u64);

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "txn#{}", self.0)
    }
}

/// Bytes for the driver to send.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a transmit that is not sent is a lost message"]
pub struct Transmit<D> {
    /// Where to: the destination given to
    /// [`send_request`](crate::TransactionLayer::send_request), or the source
    /// the request of a server transaction came from, so a response goes back
    /// over the connection (flow) the request arrived on.
    pub destination: D,
    /// The whole message, ready for the wire.
    pub bytes: Bytes,
    /// The transaction that sent it; report a failure to send with
    /// [`handle_transport_error`](crate::TransactionLayer::handle_transport_error).
    /// `None` for [`send_stateless`](crate::TransactionLayer::send_stateless).
    pub transaction: Option<TransactionId>,
}

/// Whether a response passed to the TU is provisional or final.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseKind {
    /// 1xx.
    Provisional,
    /// 2xx–6xx. For an INVITE in the Accepted state this includes 2xx
    /// retransmissions and 2xx from other forks: the TU ACKs each one.
    Final,
}

/// What the transaction layer tells the TU (or, for
/// [`Event::Refused`], the driver).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event<D> {
    /// A request created a new server transaction. The TU answers it with
    /// [`send_response`](crate::TransactionLayer::send_response).
    RequestReceived {
        /// The new server transaction.
        transaction: TransactionId,
        /// The request.
        request: Message,
        /// Where it came from (as the driver gave it).
        source: D,
        /// For a CANCEL: the INVITE server transaction it matches by the
        /// RFC 3261 §9.2 rule, if that one is still alive. The CANCEL itself
        /// is a separate non-INVITE transaction the TU must answer (200, or
        /// 481 when this is `None`).
        cancels: Option<TransactionId>,
    },
    /// An ACK the TU must handle: the ACK for a 2xx, which either matched an
    /// INVITE server transaction in the Accepted state (RFC 6026 §7.1) or no
    /// transaction at all (the usual case: the ACK for a 2xx carries a new
    /// branch, RFC 3261 §17.1.1.3). The TU matches it to its dialog.
    AckReceived {
        /// The INVITE server transaction it matched, if any.
        transaction: Option<TransactionId>,
        /// The ACK.
        request: Message,
        /// Where it came from.
        source: D,
    },
    /// The ACK for a non-2xx final response arrived and was absorbed by the
    /// INVITE server transaction (Completed → Confirmed). Informational.
    AckForNon2xxAbsorbed {
        /// The INVITE server transaction.
        transaction: TransactionId,
    },
    /// A response for a client transaction. Retransmissions are absorbed,
    /// except 2xx to INVITE (RFC 6026 §7.2).
    ResponseReceived {
        /// The client transaction.
        transaction: TransactionId,
        /// The response.
        response: Message,
        /// Provisional or final.
        kind: ResponseKind,
    },
    /// A transaction timed out: client Timer B or F (no final response; the
    /// TU acts as if a 408 had arrived, RFC 3261 §8.1.3.1), or server
    /// Timer H (the ACK for a non-2xx final never came).
    Timeout {
        /// The transaction, which is then terminated.
        transaction: TransactionId,
        /// Which timer fired.
        timer: Timer,
    },
    /// The driver reported a failure to send for this transaction (RFC 3261
    /// §17.1.4, §17.2.4); for a client transaction the TU treats it like a
    /// 503 (RFC 3261 §8.1.3.1).
    TransportError {
        /// The transaction, which is then terminated.
        transaction: TransactionId,
    },
    /// The transaction is over and has been removed; its id is now unknown.
    Terminated {
        /// The transaction.
        transaction: TransactionId,
    },
    /// A new request was refused because the layer holds
    /// [`Config::max_transactions`](crate::Config::max_transactions). The
    /// driver answers it statelessly with 503 (unless it is an ACK, which is
    /// never refused).
    Refused {
        /// The request.
        request: Message,
        /// Where it came from.
        source: D,
    },
}

/// What [`handle_request`](crate::TransactionLayer::handle_request) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestOutcome {
    /// A new server transaction; [`Event::RequestReceived`] is queued.
    New(TransactionId),
    /// A retransmission (or an ACK for a non-2xx final) absorbed by this
    /// transaction; the last response may have been queued again.
    Absorbed(TransactionId),
    /// An ACK for the TU; [`Event::AckReceived`] is queued.
    Ack(Option<TransactionId>),
    /// Too many transactions; [`Event::Refused`] is queued.
    Refused,
}

/// What [`handle_response`](crate::TransactionLayer::handle_response) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseOutcome {
    /// Passed to the TU as [`Event::ResponseReceived`].
    Delivered(TransactionId),
    /// Absorbed by the transaction (a retransmission); an ACK may have been
    /// queued again.
    Absorbed(TransactionId),
    /// Matched no client transaction. RFC 6026 §8.9 (amending RFC 3261
    /// §18.1.2): an element other than a stateless proxy discards it.
    Stray,
}
