//! Offers: checking a received offer against the side's inbound policy
//! ([`analyze_offer`]) and writing the offer sent on the other leg
//! ([`build_offer`]).

use crate::crypto::SrtpParams;
use crate::error::{Reject488, SdpError};
use crate::model::Sdp;
use crate::policy::{InboundPolicy, OutboundPolicy};
use crate::rewrite::{LocalSide, OriginState, StreamOut, rewrite};
use crate::stream::{Profile, RemoteStream, read_stream};

/// A received offer, checked: one entry per m-line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferPlan {
    /// Per m-line, in order. For an active stream, `srtp` is the offered
    /// line Outpost chose (the first usable one in offer order, RFC 4568
    /// §7.1.2): the answer on this leg repeats its tag and suite.
    pub streams: Vec<RemoteStream>,
}

impl OfferPlan {
    /// The active streams (those that need local ports on both legs).
    pub fn active(&self) -> impl Iterator<Item = &RemoteStream> {
        self.streams.iter().filter(|s| s.active)
    }
}

/// Checks an offer received on a side against that side's inbound policy
/// (SPEC MED-3). Streams with a transport Outpost does not relay stay in
/// the plan as inactive (they are disabled on the other leg); any active
/// RTP stream that violates the policy rejects the whole offer with 488.
pub fn analyze_offer(sdp: &Sdp, policy: InboundPolicy) -> Result<OfferPlan, Reject488> {
    let mut streams = Vec::with_capacity(sdp.media().len());
    let mut offered_any = false;
    for (index, section) in sdp.media().iter().enumerate() {
        offered_any |= section.media_line().port != 0;
        let (mut stream, crypto) = read_stream(sdp, index, section)?;
        if let (true, Some(profile)) = (stream.active, stream.profile) {
            let usable = crypto.iter().find_map(|c| c.usable());
            stream.srtp = decide(policy, profile, usable, !crypto.is_empty(), index)?;
        }
        streams.push(stream);
    }
    if offered_any && !streams.iter().any(|s| s.active) {
        return Err(Reject488::NoSupportedMedia);
    }
    Ok(OfferPlan { streams })
}

fn decide(
    policy: InboundPolicy,
    profile: Profile,
    usable: Option<SrtpParams>,
    has_crypto: bool,
    index: usize,
) -> Result<Option<SrtpParams>, Reject488> {
    match policy {
        InboundPolicy::SrtpOnly => match usable {
            Some(c) => Ok(Some(c)),
            None if profile.is_secure() || has_crypto => {
                Err(Reject488::NoSupportedCrypto { index })
            }
            None => Err(Reject488::PlainRtpRefused { index }),
        },
        InboundPolicy::SrtpOrRtp => match usable {
            Some(c) => Ok(Some(c)),
            None if profile.is_secure() => Err(Reject488::NoSupportedCrypto { index }),
            // RTP/AVP with only unusable crypto lines: best effort, plain RTP.
            None => Ok(None),
        },
        InboundPolicy::Rtp if profile.is_secure() => Err(Reject488::SrtpRefused { index }),
        InboundPolicy::Rtp => Ok(None),
    }
}

/// What Outpost offered on a leg: one entry per m-line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentOffer {
    /// Per m-line, in order.
    pub streams: Vec<SentStream>,
}

/// One m-line of an offer Outpost sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentStream {
    /// 0-based m-line index.
    pub index: usize,
    /// Offered with a non-zero port.
    pub active: bool,
    /// The profile offered (for active streams).
    pub profile: Option<Profile>,
    /// The outbound policy it was offered under.
    pub policy: OutboundPolicy,
    /// Our crypto lines (tag, suite, our key), in offer order; empty for
    /// plain RTP.
    pub crypto: Vec<SrtpParams>,
    /// Our RTP port (0 when inactive).
    pub rtp_port: u16,
    /// Our RTCP port (used unless the answer accepts rtcp-mux).
    pub rtcp_port: u16,
    /// rtcp-mux offered.
    pub rtcp_mux: bool,
}

/// Writes the offer Outpost sends on the other leg from `original` (the
/// offer received) and its `plan`: our address and ports, `a=rtcp` and
/// `a=rtcp-mux` as configured per stream, `a=crypto` per `policy` (RTP/SAVP
/// with crypto, RTP/AVP with crypto, or none), the peer's addresses, keys
/// and ICE attributes removed, everything else (codecs, fmtp, direction, ptime,
/// unknown attributes) kept; `o=` from `origin`.
///
/// Streams inactive in the plan, or without a local stream in `local`,
/// are written with port 0. Returns the body and what was offered (keep it
/// for [`crate::analyze_answer`]).
pub fn build_offer(
    original: &Sdp,
    plan: &OfferPlan,
    local: &LocalSide,
    policy: OutboundPolicy,
    origin: &mut OriginState,
) -> Result<(Vec<u8>, SentOffer), SdpError> {
    if plan.streams.len() != original.media().len() {
        return Err(SdpError::Internal(
            "offer plan does not match the description",
        ));
    }
    let mut sent = Vec::with_capacity(plan.streams.len());
    for stream in &plan.streams {
        let index = stream.index;
        let ls = local.stream(index).filter(|_| stream.active);
        let profile = stream
            .profile
            .map(|p| p.with_secure(policy == OutboundPolicy::SrtpOnly));
        let mut crypto = Vec::new();
        if let Some(ls) = ls {
            if policy != OutboundPolicy::Rtp {
                let mut tag = 0;
                for (suite, key) in local.suites.iter().zip(&ls.keys) {
                    if suite.key_salt_len() == Some(key.as_bytes().len()) {
                        tag += 1;
                        crypto.push(SrtpParams::local(tag, suite.clone(), key.clone()));
                    }
                }
                if crypto.is_empty() {
                    return Err(SdpError::MissingKey { index });
                }
            }
        }
        sent.push(SentStream {
            index,
            active: ls.is_some(),
            profile,
            policy,
            crypto,
            rtp_port: ls.map_or(0, |l| l.rtp_port),
            rtcp_port: ls.map_or(0, |l| l.rtcp_port),
            rtcp_mux: ls.is_some_and(|l| l.rtcp_mux),
        });
    }
    let out: Vec<StreamOut<'_>> = plan
        .streams
        .iter()
        .zip(&sent)
        .map(|(stream, s)| StreamOut {
            active: s.active,
            proto: match (s.active, s.profile) {
                (true, Some(p)) => p.as_str(),
                _ => &stream.proto,
            },
            local: local.stream(s.index),
            rtcp_mux: s.rtcp_mux,
            rtcp_port: Some(s.rtcp_port),
            null_address: stream.null_address,
            crypto: &s.crypto,
        })
        .collect();
    let body = rewrite(original, local.address, &out, origin);
    Ok((body, SentOffer { streams: sent }))
}
