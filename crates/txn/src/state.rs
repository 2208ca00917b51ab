//! What the four state machines share: the public state and kind names, and
//! the internal [`Step`] each input produces.

use bytes::Bytes;

use crate::timer::Timer;

/// The state of a transaction (RFC 3261 §17 figures 5–8, RFC 6026 §7).
///
/// Each kind of transaction uses a subset:
///
/// | kind | states |
/// | --- | --- |
/// | INVITE client | Calling, Proceeding, Completed, Accepted, Terminated |
/// | non-INVITE client | Trying, Proceeding, Completed, Terminated |
/// | INVITE server | Proceeding, Completed, Confirmed, Accepted, Terminated |
/// | non-INVITE server | Trying, Proceeding, Completed, Terminated |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// INVITE client: request sent, no response yet.
    Calling,
    /// Non-INVITE client: request sent, no response yet; non-INVITE server:
    /// request received, no response sent yet.
    Trying,
    /// A provisional response was received (client) or sent (server).
    Proceeding,
    /// A final response (non-2xx for INVITE) was received or sent; waiting
    /// for retransmissions to die out.
    Completed,
    /// INVITE server: the ACK for a non-2xx final response arrived.
    Confirmed,
    /// INVITE only (RFC 6026): a 2xx was received (client) or sent (server);
    /// the 2xx/ACK exchange belongs to the TU.
    Accepted,
    /// The transaction is over and is removed from the layer.
    Terminated,
}

/// Which of the four RFC 3261 state machines a transaction runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransactionKind {
    /// RFC 3261 §17.1.1 (+ RFC 6026 §7.2).
    InviteClient,
    /// RFC 3261 §17.1.2.
    NonInviteClient,
    /// RFC 3261 §17.2.1 (+ RFC 6026 §7.1).
    InviteServer,
    /// RFC 3261 §17.2.2.
    NonInviteServer,
}

impl TransactionKind {
    /// Client transactions send requests and receive responses.
    pub fn is_client(self) -> bool {
        matches!(self, Self::InviteClient | Self::NonInviteClient)
    }

    /// Whether the transaction is for an INVITE.
    pub fn is_invite(self) -> bool {
        matches!(self, Self::InviteClient | Self::InviteServer)
    }
}

/// What a state machine tells the TU after one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Notify {
    /// Pass the message that was just handled up to the TU.
    Deliver,
    /// The named timer fired: client Timer B/F (the TU makes a 408), server
    /// Timer H (no ACK came).
    Timeout(Timer),
    /// The driver reported that sending failed.
    TransportError,
    /// INVITE server: the ACK for a non-2xx final response was absorbed
    /// (Completed → Confirmed).
    AckAbsorbed,
}

/// The outputs of one input to a state machine. Whether the transaction
/// terminated is read from its state afterwards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub(crate) struct Step {
    /// Bytes to transmit to the transaction's peer.
    pub(crate) send: Option<Bytes>,
    /// What to tell the TU.
    pub(crate) notify: Option<Notify>,
}

impl Step {
    pub(crate) fn send(bytes: Bytes) -> Self {
        Self {
            send: Some(bytes),
            notify: None,
        }
    }

    pub(crate) fn notify(notify: Notify) -> Self {
        Self {
            send: None,
            notify: Some(notify),
        }
    }

    /// Folds the step of a later timer into this one. A timeout discards a
    /// retransmission fired in the same call: the peer is given up on.
    pub(crate) fn merge(&mut self, later: Self) {
        if later.send.is_some() {
            self.send = later.send;
        }
        if later.notify.is_some() {
            self.notify = later.notify;
        }
        if matches!(self.notify, Some(Notify::Timeout(_))) {
            self.send = None;
        }
    }
}

/// A response the TU may not send in the transaction's current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) state: State,
    pub(crate) status: u16,
}

/// Classes of status codes as the state machines see them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Provisional,
    Success,
    Failure,
}

impl Class {
    /// `None` for codes outside 100–699, which no machine acts on.
    pub(crate) fn of(status: u16) -> Option<Self> {
        match status {
            100..=199 => Some(Self::Provisional),
            200..=299 => Some(Self::Success),
            300..=699 => Some(Self::Failure),
            _ => None,
        }
    }
}
