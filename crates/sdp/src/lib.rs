//! Outpost's SDP layer: a byte-faithful SDP model (RFC 8866), SDES
//! `a=crypto` (RFC 4568), the per-side RTP security policies of SPEC MED-3,
//! and the offer/answer rewriting the B2BUA's body hook calls so that every
//! stream is anchored on Outpost (SPEC MED-1) and renegotiations are
//! understood (MED-4).
//!
//! It does no I/O, reads no clock and draws no random numbers
//! (ARCHITECTURE.md rule 1): ports, addresses, session ids and SRTP master
//! keys are given by the caller. It does not allocate ports, run SRTP or
//! decide routing; it does not do ICE or DTLS-SRTP (streams with
//! `UDP/TLS/RTP/SAVPF` and other non-RTP transports such as `udptl` or
//! `TCP/BFCP` are disabled with port 0 on both legs).
//!
//! # Why not the `sdp` crate
//!
//! ARCHITECTURE.md names webrtc-rs `sdp`; its latest release (0.17.2) was
//! measured before use and found lossy and strict for an SBC that must pass
//! descriptions through: it rewrites bare-LF input with CRLF, collapses
//! repeated spaces and trims values, moves `k=` before the attributes, and
//! *rejects* whole descriptions with `TCP/BFCP` or `TCP/MRCPv2` m-lines,
//! unknown media types, unknown line types (`y=`), lines out of RFC order
//! and `b=` values that are not numbers. A desk phone's or an iPBX's SDP must
//! not fail a call for any of these. So [`Sdp`] is a small line model of
//! our own: each line is kept as bytes with its own line ending, typed
//! views are read on demand, and only lines Outpost changes are rewritten
//! (`to_bytes(parse(x)) == x` for every accepted `x`, checked by tests and
//! a property test). It also keeps the dependency tree small (no `rand`,
//! `url`).
//!
//! # Policies
//!
//! [`SetSideInbound`], [`SetSideOutbound`], [`IcpSideInbound`],
//! [`IcpSideOutbound`] are the settings with the seeds' spellings
//! (`srtp-only`, `srtp-or-rtp`, `avp+crypto`, `rtp`) and defaults (set
//! side SRTP only both ways, ICP side inbound `srtp-or-rtp`, outbound
//! `avp+crypto`); they convert into [`InboundPolicy`] (applied by
//! [`analyze_offer`] to offers received on that side) and
//! [`OutboundPolicy`] (applied by [`build_offer`] to offers sent there).
//!
//! # Offer/answer flow (B2BUA body hook)
//!
//! With leg A the offerer's leg and leg B the other one:
//!
//! ```text
//! offer from A ──▶ analyze_offer(sdp_a, inbound(A))      -> OfferPlan   (488 on violation)
//!                   allocate B ports/keys for plan.active()
//!                  build_offer(sdp_a, plan, local_b, outbound(B), origin_b)
//!                                                        -> (body to B, SentOffer)
//! answer from B ─▶ analyze_answer(sdp_b, sent_offer)     -> AnswerPlan  (488 if it breaks the offer)
//!                   allocate A ports/keys
//!                  build_answer(sdp_b, plan, answer_plan, local_a, origin_a)
//!                                                        -> (body to A, SentAnswer)
//! ```
//!
//! The media relay then has, per m-line: on A, the peer [`RemoteStream`]
//! from the [`OfferPlan`] (where to send, the key to decrypt with) and our
//! key from [`SentAnswerStream::local_srtp`]; on B, the peer from
//! [`AnsweredStream::remote`] and our key from
//! [`AnsweredStream::local_srtp`]. A stream flows when it is active in
//! both. The same calls serve a delayed offer (INVITE without SDP: the
//! offer comes in the 200 from B, the answer in the ACK from A) with the
//! roles swapped, and re-INVITE/UPDATE, where [`diff_streams`] against the
//! previous plan of the same leg tells which ports to keep, allocate or
//! release ([`StreamDiff::port_action`]) and which SRTP contexts to renew.
//! One [`OriginState`] per leg keeps `o=` stable with a rising version.
//!
//! # API
//!
//! ```text
//! Sdp::{parse, to_bytes, lines, session_lines, media, media_mut, origin,
//!       set_origin, connection, replace_connection, session_direction,
//!       remove_session_attributes}
//! MediaSection::{media_line, lines, set_port, set_proto, connection,
//!       set_connection, direction, attribute_values, has_attribute,
//!       remove_attributes, push_attribute}
//! CryptoAttribute::{parse, usable}   SrtpParams::{local, to_attribute_value}
//! analyze_offer(&Sdp, InboundPolicy) -> Result<OfferPlan, Reject488>
//! build_offer(&Sdp, &OfferPlan, &LocalSide, OutboundPolicy, &mut OriginState)
//!     -> Result<(Vec<u8>, SentOffer), SdpError>
//! analyze_answer(&Sdp, &SentOffer) -> Result<AnswerPlan, Reject488>
//! build_answer(&Sdp, &OfferPlan, &AnswerPlan, &LocalSide, &mut OriginState)
//!     -> Result<(Vec<u8>, SentAnswer), SdpError>
//! diff_streams(&[RemoteStream], &[RemoteStream]) -> Vec<StreamDiff>
//! StreamDiff::port_action(change_port_on_renegotiation) -> PortAction
//! ```

#![forbid(unsafe_code)]

mod answer;
mod crypto;
mod error;
mod model;
mod offer;
mod policy;
mod reneg;
mod rewrite;
mod stream;

pub use answer::{
    AnswerPlan, AnsweredStream, SentAnswer, SentAnswerStream, analyze_answer, build_answer,
};
pub use crypto::{CryptoAttribute, CryptoSuite, KeyParam, MasterKey, Mki, SrtpParams};
pub use error::{CryptoError, ParseError, Reject488, SdpError};
pub use model::{Connection, Direction, Line, MAX_MEDIA, MediaLine, MediaSection, Origin, Sdp};
pub use offer::{OfferPlan, SentOffer, SentStream, analyze_offer, build_offer};
pub use policy::{
    IcpSideInbound, IcpSideOutbound, InboundPolicy, OutboundPolicy, PolicyParseError,
    SetSideInbound, SetSideOutbound,
};
pub use reneg::{PortAction, StreamChange, StreamDiff, diff_streams};
pub use rewrite::{LocalSide, LocalStream, OriginState};
pub use stream::{MediaKind, Profile, RemoteStream};
