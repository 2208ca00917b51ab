//! Outpost media core (SPEC MED-1..MED-7), sans-IO: SRTP/SRTCP transforms,
//! UDP port pools, and the per-call stream model a relay driver feeds
//! datagrams to.
//!
//! # What it does
//!
//! - [`srtp`]: SRTP and SRTCP (RFC 3711) for `AES_CM_128_HMAC_SHA1_80` and
//!   `AES_CM_128_HMAC_SHA1_32` (RFC 4568 names, [`CryptoSuite`]): key
//!   derivation (§4.3, key derivation rate 0), AES-CM (§4.1.1), HMAC-SHA1
//!   tags (80 or 32 bits for SRTP, always 80 for SRTCP), ROC estimation
//!   across sequence wrap (§3.3.1), 64-packet replay windows for SRTP and
//!   SRTCP (§3.3.2), per-SSRC state, constant-time tag comparison. The
//!   [`SrtpTransform`] trait works in place on a buffer and a length, with
//!   no allocation per packet. [`MasterKey`] parses and prints the SDES
//!   `inline:` key parameter and is built from caller-supplied random bytes.
//! - [`pool`]: per-side [`PortPool`]s over a configured range handing out
//!   even/odd pairs or single (rtcp-mux) ports, tracked by allocation id and
//!   owner so a call's ports are freed in one call however it ends;
//!   exhaustion is an error (the caller answers 503).
//! - [`stream`]: a [`Session`] per call with one [`Stream`] per m-line and a
//!   [`Leg`] per [`Side`]: signaled and latched addresses (latching after
//!   SRTP authentication, optional strict mode), SSRC, SRTP contexts per
//!   direction, counters. [`Session::handle_packet`] turns one received
//!   datagram into a [`Forward`] (which socket, which address, new length)
//!   or a [`DropReason`], translating SRTP ↔ RTP and SRTCP ↔ RTCP in place,
//!   with rtcp-mux demultiplexing (RFC 5761 §4).
//! - Media timeout as data: [`Session::poll_timeout`] /
//!   [`Session::handle_timeout`] / [`Session::poll_event`] yield
//!   [`Event::MediaTimeout`] after the configured silence from both sides;
//!   [`Session::set_on_hold`] switches to a hold timeout or suspends it.
//! - Statistics (MED-7): [`SessionStats`] per stream, side and direction:
//!   packets, bytes, loss from sequence gaps (RFC 3550 A.3), interarrival
//!   jitter (A.8), SRTP authentication failures and replays, and the
//!   peer's own RTCP reception report. Two phone mistakes are counted
//!   apart from authentication failures, so that counter stays a signal
//!   of forgery: RTCP sent in clear on an SRTP leg (recognised by its
//!   shape, which no SRTCP packet has, and never tried against the key)
//!   and libre's 32-bit SRTCP tags under `AES_CM_128_HMAC_SHA1_32` (only
//!   when that tag verifies with the key). Both are dropped.
//!
//! # What it does not do
//!
//! - **No sockets, no clock, no randomness.** Time is the `now: Instant`
//!   passed in; keys and pool seeds come from the caller's CSPRNG. The
//!   relay driver (UDP sockets, batched I/O, DSCP) lives in the binary.
//! - **No SDP.** The B2BUA reads and writes `a=crypto`, `a=rtcp`,
//!   `a=rtcp-mux` and passes the outcome in as [`SideConfig`].
//! - **No MKI, no key lifetime enforcement, no rekeying, no AEAD/GCM, no
//!   DTLS-SRTP** (MED-3 lists GCM and MED-8 DTLS as later). SDES keys with
//!   an MKI are refused ([`Error::MkiUnsupported`]).
//! - **No RTP rewriting.** SSRC, sequence numbers and timestamps pass
//!   through; a peer that restarts its sequence numbers far backwards
//!   without changing SSRC is dropped by the sender-side replay check until
//!   it catches up (re-encrypting an index would reuse keystream).
//!
//! # Choices
//!
//! The SRTP transform is our own, not `webrtc-srtp` as ARCHITECTURE.md
//! suggested starting with: it works in place on the caller's buffer
//! (webrtc-srtp returns a new `Bytes` per packet), and it is checked
//! against the RFC 3711 Appendix B vectors and libsrtp's reference packets
//! (`testdata/`). AES-128 counter mode runs on `aws-lc-rs` (its `cipher`
//! API, AES-NI), the library rustls already links. HMAC-SHA1 runs on
//! RustCrypto `hmac` + `sha1` (SHA-NI, already in the lock file for OAuth):
//! measured in `benches/srtp.rs` (`parts/*`), aws-lc-rs spends more on
//! copying its HMAC context per call than on hashing a 176-byte packet
//! (about 290 vs 190 ns), and in an A/B run under the same load switching
//! the tag to RustCrypto halved the whole transform (about 500 → 250 ns
//! per G.711 packet). Tags are compared in constant time with
//! `aws_lc_rs::constant_time`. RTP/RTCP headers are read by the small
//! [`rtp`] module rather than `rtp-types`: the relay needs five fields and
//! the report blocks.

#![forbid(unsafe_code)]

mod error;
pub mod pool;
pub mod rtp;
pub mod srtp;
pub mod stream;

pub use error::Error;
pub use pool::{Allocation, AllocationId, PortKind, PortPool, PortRange};
pub use srtp::{CryptoSuite, MasterKey, SrtpContext, SrtpTransform};
pub use stream::{
    Action, Component, DropReason, Event, Forward, Latching, Leg, LegStats, LocalPort,
    MediaTimeout, RxStats, Session, SessionId, SessionStats, Side, SideConfig, SrtpConfig, Stream,
    StreamId, StreamStats, TxStats,
};
