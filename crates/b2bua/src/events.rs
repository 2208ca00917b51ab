//! What the B2BUA reports to the core: device status for the store, auth
//! failures for brute-force protection, registration and call events for
//! logs and metrics, and counters.

use std::net::SocketAddr;
use std::time::Duration;

use outpost_sip::StatusCode;

use crate::error::FailedSide;

/// How a client transaction failed without a response (the transaction
/// layer's [`outpost_txn::Event::Timeout`] / [`outpost_txn::Event::TransportError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Timer B/F (client) or H (server) fired: acts as a 408.
    Timeout,
    /// The driver could not send: acts as a 503.
    TransportError,
}

/// A device's status (SIG-8, PRO-3 read-only fields), emitted when it
/// changes. A device may have several clients registered (a desk phone
/// and a softphone on one account), each with a binding of its own: the
/// device-level fields aggregate them, [`bindings`](Self::bindings) has
/// each one's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStatus {
    /// The device.
    pub setside_username: String,
    /// Registered through Outpost (some binding alive, with its iPBX
    /// registration in place).
    pub registered: bool,
    /// Reachable: some binding is connected (see
    /// [`BindingStatus::connected`]).
    pub connected: bool,
    /// At least one call up or being set up.
    pub in_call: bool,
    /// The address (after NAT) of the client that registered last; kept
    /// when none is left.
    pub last_address: Option<SocketAddr>,
    /// Whether the client that registered last is behind NAT.
    pub natted: bool,
    /// Each registered client, by binding number.
    pub bindings: Vec<BindingStatus>,
    /// Only the bindings' expiries changed (a routine re-REGISTER): worth
    /// storing, not worth logging.
    pub refresh_only: bool,
}

/// One client's binding: what [`DeviceStatus`] says of the device, for
/// this client alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingStatus {
    /// Names the binding for as long as it lives (numbers are not reused
    /// by one B2BUA; not the token toward the iPBX, which stays secret).
    pub binding: u64,
    /// The client's Contact URI as it registered it.
    pub contact: String,
    /// The transport it registered over.
    pub transport: crate::Transport,
    /// Its User-Agent header, if it sent one (control characters removed,
    /// at most 80 characters).
    pub user_agent: Option<String>,
    /// Its iPBX registration is in place.
    pub registered: bool,
    /// The last heartbeat (UDP) was answered, or its connection (TCP/TLS)
    /// is open.
    pub connected: bool,
    /// A call to or from this client is up or being set up.
    pub in_call: bool,
    /// Its Via sent-by differs from the observed address.
    pub natted: bool,
    /// Its address as observed (after NAT).
    pub last_address: SocketAddr,
    /// When its registration expires unless refreshed (seconds since the
    /// Unix epoch, from the `unix_secs` given with the REGISTER).
    pub expires_unix: u64,
}

/// Why an authentication failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFailure {
    /// No such device.
    UnknownUser,
    /// The digest response was wrong (wrong password).
    WrongPassword,
    /// The device is disabled.
    Disabled,
}

/// Direction of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From a phone toward the iPBX.
    FromPhone,
    /// From the iPBX toward a phone.
    ToPhone,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallOutcome {
    /// Answered, then hung up.
    Completed,
    /// Cancelled by the caller before an answer.
    Cancelled,
    /// Refused by the callee (or its side) with this final status.
    Rejected(StatusCode),
    /// The far side never answered (transaction timeout).
    NoAnswer,
    /// A transport failure or an internal error.
    Failed(FailedSide),
    /// Ended by Outpost because no media flowed for too long (MED-5).
    MediaTimeout,
    /// Answered, but the side that sent the INVITE never acknowledged the
    /// 2xx within 64·T1 (RFC 3261 §13.3.1.4): both legs got BYE.
    NoAck(FailedSide),
}

impl CallOutcome {
    /// Short name for metrics labels.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Rejected(_) => "rejected",
            Self::NoAnswer => "no_answer",
            Self::Failed(_) => "failed",
            Self::MediaTimeout => "media_timeout",
            Self::NoAck(_) => "no_ack",
        }
    }

    /// Every label [`as_str`](Self::as_str) can give, so that counters can
    /// be exported at 0 before the first call ends.
    pub const LABELS: &'static [&'static str] = &[
        "completed",
        "cancelled",
        "rejected",
        "no_answer",
        "failed",
        "media_timeout",
        "no_ack",
    ];
}

impl std::fmt::Display for CallOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = |s: &FailedSide| match s {
            FailedSide::Public => "the phone",
            FailedSide::Private => "the iPBX",
            FailedSide::Internal => "Outpost",
        };
        match self {
            Self::Completed => f.write_str("completed"),
            Self::Cancelled => f.write_str("cancelled by the caller"),
            Self::Rejected(status) => write!(f, "rejected with {}", status.0),
            Self::NoAnswer => f.write_str("no answer (transaction timeout)"),
            Self::Failed(s) => write!(f, "failed toward {}", side(s)),
            Self::MediaTimeout => f.write_str("no media (media timeout)"),
            Self::NoAck(s) => write!(
                f,
                "no ACK from {} for the 2xx within 64*T1 (RFC 3261 13.3.1.4)",
                side(s)
            ),
        }
    }
}

/// Identifies a call in events (never reused by one B2BUA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallRef(pub u64);

/// Something the core should know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum B2buaEvent {
    /// A device's status changed (store it; `outpost devices list`).
    DeviceStatus(DeviceStatus),
    /// A failed authentication from the public side: counts toward
    /// brute-force protection (SEC-6).
    AuthFailed {
        /// The username tried.
        username: String,
        /// Where from (observed).
        address: SocketAddr,
        /// Why.
        reason: AuthFailure,
    },
    /// A registration toward the iPBX failed; the phone was answered with
    /// `status`.
    RegistrationFailed {
        /// The device.
        setside_username: String,
        /// The status sent to the phone (or that would have been).
        status: StatusCode,
        /// Where it failed.
        side: FailedSide,
    },
    /// A call started.
    CallStarted {
        /// The call.
        call: CallRef,
        /// Its direction.
        direction: Direction,
        /// The remote-worker device involved.
        setside_username: String,
    },
    /// A call was answered.
    CallAnswered {
        /// The call.
        call: CallRef,
    },
    /// A call ended (its legs are gone).
    CallEnded {
        /// The call.
        call: CallRef,
        /// How.
        outcome: CallOutcome,
        /// Time from answer to end (zero if never answered).
        duration: Duration,
    },
}

/// Counters and gauges for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Bindings (clients; a device may have several) whose registration
    /// is in place toward the iPBX.
    pub registrations: usize,
    /// Bindings held (including ones being set up or removed).
    pub bindings: usize,
    /// Calls alive (INVITE dialog pairs).
    pub active_calls: usize,
    /// Dialog pairs alive (calls and subscriptions).
    pub active_dialogs: usize,
    /// Client and server transactions the B2BUA is tracking.
    pub tracked_transactions: usize,
    /// Timers armed.
    pub timers: usize,
    /// Calls ended, by outcome: completed.
    pub calls_completed: u64,
    /// Calls ended, by outcome: cancelled.
    pub calls_cancelled: u64,
    /// Calls ended, by outcome: rejected.
    pub calls_rejected: u64,
    /// Calls ended, by outcome: no answer.
    pub calls_no_answer: u64,
    /// Calls ended, by outcome: failed.
    pub calls_failed: u64,
    /// Calls ended, by outcome: the 2xx was never acknowledged.
    pub calls_no_ack: u64,
    /// Failed authentications (unknown user, wrong password, disabled).
    pub auth_failures: u64,
    /// Registrations the iPBX refused or never answered.
    pub registration_failures: u64,
    /// Requests refused with 503 because of `max_dialogs`/`max_bindings`.
    pub overload_rejections: u64,
}
