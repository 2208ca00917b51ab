//! SIP transactions (RFC 3261 §17 with the RFC 6026 corrections), sans-IO.
//!
//! # What it does
//!
//! - Runs the four RFC 3261 state machines: INVITE client (§17.1.1),
//!   non-INVITE client (§17.1.2), INVITE server (§17.2.1), non-INVITE server
//!   (§17.2.2), with RFC 6026's Accepted state on both INVITE machines and
//!   its Timers L and M.
//! - Retransmits on unreliable transports: requests on Timer A (doubling,
//!   uncapped) and E (doubling, capped at T2; every T2 once Proceeding),
//!   non-2xx final responses to INVITE on Timer G (doubling, capped at T2),
//!   and the last response whenever a retransmitted request arrives.
//!   Reliable transports get no retransmissions and zero Timers D, I, J, K.
//! - Absorbs retransmitted requests and responses, so the TU sees each once
//!   (except 2xx to INVITE, below).
//! - Builds and sends the ACK for a non-2xx final response to an INVITE
//!   (§17.1.1.3), and re-sends it for each retransmission of that response.
//! - Sends 100 (Trying) for a new INVITE ([`Config::send_100_trying`]).
//! - Matches requests to server transactions by branch + sent-by + method
//!   (ACK counting as INVITE, CANCEL separate) with the RFC 2543 fallback
//!   when the branch lacks the magic cookie (§17.2.3), and responses to
//!   client transactions by branch + CSeq method (§17.1.3). A CANCEL is told
//!   which INVITE transaction it cancels ([`Event::RequestReceived`]).
//! - Reports timeouts (Timer B/F: the TU acts as on a 408; Timer H: no ACK)
//!   and transport errors, and removes terminated transactions, so memory
//!   stays bounded; [`Config::max_transactions`] caps the total and new
//!   requests beyond it are refused ([`Event::Refused`]; the driver sends 503).
//!
//! # What it does not do
//!
//! - **No clock, no sockets.** Time is the `now: Instant` passed to every
//!   `handle_*`/`send_*` call; output is pulled with
//!   [`TransactionLayer::poll_transmit`], [`TransactionLayer::poll_event`]
//!   and [`TransactionLayer::poll_timeout`] (the quinn-proto shape). The
//!   destination type `D` is the driver's: it comes back unchanged in
//!   [`Transmit::destination`], so a response goes out over the connection
//!   (flow) its request came in on (SIG-4, SIG-8).
//! - **No dialogs.** Dialogs, legs, Call-ID/tag/CSeq mapping are the B2BUA's
//!   (`outpost-b2bua`).
//! - **No 2xx retransmission for INVITE.** Per RFC 6026 §7.1 and RFC 3261
//!   §13.3.1.4 the UAS core — the B2BUA, i.e. the TU — retransmits its 2xx
//!   (T1 doubling to T2, until the ACK or 64·T1) by calling
//!   [`TransactionLayer::send_response`] again while the INVITE server
//!   transaction is Accepted; the ACK for a 2xx is passed to the TU
//!   ([`Event::AckReceived`]). Likewise on the client side the TU (the UAC
//!   core) sends the ACK for each 2xx ([`TransactionLayer::send_stateless`]);
//!   the Accepted INVITE client transaction forwards every 2xx to it.
//! - **No Timer C / CANCEL policy.** An INVITE client transaction in
//!   Proceeding has no timer of its own (RFC 3261 figure 5); the TU decides
//!   when to CANCEL and, per §9.1, may give up with
//!   [`TransactionLayer::terminate`].
//! - **No answer on the TU's behalf.** A server transaction in Trying or
//!   Proceeding has no timer (RFC 3261 figures 7 and 8): it lives until the
//!   TU sends a final response or calls [`TransactionLayer::terminate`]. The
//!   B2BUA always answers (at the latest when its own client transaction
//!   times out), and [`Config::max_transactions`] bounds the damage if not.
//! - **No Via handling.** The TU writes the top Via (with a unique
//!   magic-cookie branch from its seedable RNG) before
//!   [`TransactionLayer::send_request`]; the driver adds `received`/`rport`
//!   and picks where a response goes (§18.2.2, RFC 3581) when it builds `D`.
//! - **No parsing.** Messages arrive parsed ([`outpost_sip::Message`]); a
//!   message lacking what matching needs is an [`Error`].
//!
//! # Shape
//!
//! The state machines (`client`, `server`) know nothing of SIP syntax: they
//! take status codes, timer expiries and transport errors and return bytes
//! to send and what to tell the TU. Their timers are plain data, a
//! [`Timer`]-indexed table of `Option<Instant>` per transaction, whose
//! minimum is that transaction's next deadline. Where quinn has one
//! connection per table, a layer holds thousands of transactions, so rather
//! than scanning them all on every [`TransactionLayer::poll_timeout`] the
//! layer keeps a min-heap of (deadline, transaction) with lazy deletion
//! (an entry is stale once its transaction re-armed or ended): the next
//! deadline is the heap's top, still the minimum over all tables, at
//! O(log n) per change. A spurious [`TransactionLayer::handle_timeout`] is
//! a no-op. Timer D is a field of [`TimerConfig`] beside T1, T2 and T4
//! because RFC 3261 gives it as "at least 32 s", not as a multiple of T1.
//! All contact with `outpost-sip` is in one module (`message.rs`), so a
//! change of that API stays local.

#![forbid(unsafe_code)]

mod client;
mod error;
mod event;
mod key;
mod layer;
mod machine;
mod message;
mod server;
mod state;
mod timer;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod test_util;

pub use error::Error;
pub use event::{Event, RequestOutcome, ResponseKind, ResponseOutcome, TransactionId, Transmit};
pub use layer::{Config, TransactionLayer};
pub use state::{State, TransactionKind};
pub use timer::{Timer, TimerConfig};
