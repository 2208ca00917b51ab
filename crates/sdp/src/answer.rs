//! Answers: checking the answer to an offer Outpost sent
//! ([`analyze_answer`]) and writing the answer Outpost returns to the
//! offerer on its leg ([`build_answer`]).

use crate::crypto::SrtpParams;
use crate::error::{Reject488, SdpError};
use crate::model::Sdp;
use crate::offer::{OfferPlan, SentOffer};
use crate::policy::OutboundPolicy;
use crate::rewrite::{LocalSide, OriginState, StreamOut, rewrite};
use crate::stream::{RemoteStream, read_stream};

/// An answer received on a leg, checked against what Outpost offered there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerPlan {
    /// Per m-line, in order.
    pub streams: Vec<AnsweredStream>,
}

impl AnswerPlan {
    /// The peer's view of each stream (for [`crate::diff_streams`]).
    pub fn remote_streams(&self) -> Vec<RemoteStream> {
        self.streams.iter().map(|s| s.remote.clone()).collect()
    }
}

/// One m-line of a received answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnsweredStream {
    /// The answerer's address, ports, direction and, when SRTP was agreed,
    /// its own key (`remote.srtp`). `remote.active` is false when the
    /// stream was rejected (port 0) or not offered.
    pub remote: RemoteStream,
    /// Our crypto line the answerer chose (same tag): the key Outpost
    /// encrypts with toward this peer. `None`: plain RTP on this leg.
    pub local_srtp: Option<SrtpParams>,
    /// rtcp-mux offered and accepted: RTCP goes to the RTP address/port.
    pub rtcp_mux: bool,
}

/// Checks an answer against the offer Outpost sent on that leg (RFC 3264
/// §6, RFC 4568 §7.1.3): same number of m-lines; for SRTP, a crypto line
/// whose tag and suite are one we offered. An RTP/AVP answer without crypto
/// to an `avp+crypto` offer means plain RTP (best effort); an RTP/SAVP
/// answer to it is accepted as SRTP.
pub fn analyze_answer(answer: &Sdp, offer: &SentOffer) -> Result<AnswerPlan, Reject488> {
    let answered = answer.media().len();
    if answered != offer.streams.len() {
        return Err(Reject488::StreamCount {
            offered: offer.streams.len(),
            answered,
        });
    }
    let mut streams = Vec::with_capacity(answered);
    for (sent, section) in offer.streams.iter().zip(answer.media()) {
        let index = sent.index;
        let (mut remote, crypto) = read_stream(answer, index, section)?;
        remote.active &= sent.active;
        let mut local_srtp = None;
        if let (true, Some(profile)) = (remote.active, remote.profile) {
            let chosen = crypto.iter().find_map(|c| {
                let ours = sent
                    .crypto
                    .iter()
                    .find(|o| o.tag == c.tag && o.suite == c.suite)?;
                Some((c.usable()?, ours.clone()))
            });
            let mismatch = |detail| Reject488::AnswerMismatch { index, detail };
            match (sent.policy, chosen) {
                (OutboundPolicy::Rtp, _) if profile.is_secure() => {
                    return Err(mismatch("SRTP answer to RTP offer"));
                }
                (OutboundPolicy::Rtp, _) => {}
                (_, Some((theirs, ours))) => {
                    remote.srtp = Some(theirs);
                    local_srtp = Some(ours);
                }
                (OutboundPolicy::SrtpOnly, None) => {
                    return Err(mismatch("no matching crypto line"));
                }
                (OutboundPolicy::AvpCrypto, None) if profile.is_secure() || !crypto.is_empty() => {
                    return Err(mismatch("no matching crypto line"));
                }
                (OutboundPolicy::AvpCrypto, None) => {}
            }
        }
        let rtcp_mux = remote.active && sent.rtcp_mux && remote.rtcp_mux;
        streams.push(AnsweredStream {
            remote,
            local_srtp,
            rtcp_mux,
        });
    }
    Ok(AnswerPlan { streams })
}

/// What Outpost answered on the offerer's leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentAnswer {
    /// Per m-line, in order.
    pub streams: Vec<SentAnswerStream>,
}

/// One m-line of an answer Outpost sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentAnswerStream {
    /// 0-based m-line index.
    pub index: usize,
    /// Accepted (non-zero port).
    pub active: bool,
    /// Our RTP port (0 when rejected).
    pub rtp_port: u16,
    /// Our RTCP port (the RTP port when rtcp-mux was accepted).
    pub rtcp_port: u16,
    /// rtcp-mux accepted.
    pub rtcp_mux: bool,
    /// Our crypto line (the offerer's chosen tag and suite, our key): the
    /// key Outpost encrypts with toward the offerer. `None`: plain RTP.
    pub local_srtp: Option<SrtpParams>,
}

/// Writes the answer Outpost returns to the offerer from `original` (the
/// answer received on the other leg): the offer's m-line protocols
/// mirrored, our address and ports, our crypto line (same tag and suite as
/// the line chosen from the offer, our key) when the offer's stream is
/// SRTP, `a=rtcp-mux` when offered and `local` accepts it; codecs,
/// direction and other attributes from `original`. A stream is accepted
/// when it is active in `offer` and `answer` and `local` has ports for it.
pub fn build_answer(
    original: &Sdp,
    offer: &OfferPlan,
    answer: &AnswerPlan,
    local: &LocalSide,
    origin: &mut OriginState,
) -> Result<(Vec<u8>, SentAnswer), SdpError> {
    let n = original.media().len();
    if offer.streams.len() != n || answer.streams.len() != n {
        return Err(SdpError::Internal("answer does not match the offer plan"));
    }
    let mut sent = Vec::with_capacity(n);
    for (o, a) in offer.streams.iter().zip(&answer.streams) {
        let index = o.index;
        let ls = local.stream(index).filter(|_| o.active && a.remote.active);
        let rtcp_mux = ls.is_some_and(|l| l.rtcp_mux) && o.rtcp_mux;
        let local_srtp = match (&o.srtp, ls) {
            (Some(theirs), Some(ls)) => {
                let key = ls
                    .keys
                    .iter()
                    .find(|k| theirs.suite.key_salt_len() == Some(k.as_bytes().len()))
                    .ok_or(SdpError::MissingKey { index })?;
                Some(SrtpParams::local(
                    theirs.tag,
                    theirs.suite.clone(),
                    key.clone(),
                ))
            }
            _ => None,
        };
        sent.push(SentAnswerStream {
            index,
            active: ls.is_some(),
            rtp_port: ls.map_or(0, |l| l.rtp_port),
            rtcp_port: ls.map_or(0, |l| if rtcp_mux { l.rtp_port } else { l.rtcp_port }),
            rtcp_mux,
            local_srtp,
        });
    }
    let out: Vec<StreamOut<'_>> = offer
        .streams
        .iter()
        .zip(&answer.streams)
        .zip(&sent)
        .map(|((o, a), s)| StreamOut {
            active: s.active,
            proto: &o.proto,
            local: local.stream(s.index),
            rtcp_mux: s.rtcp_mux,
            rtcp_port: (!s.rtcp_mux).then_some(s.rtcp_port),
            null_address: a.remote.null_address,
            crypto: s.local_srtp.as_slice(),
        })
        .collect();
    let body = rewrite(original, local.address, &out, origin);
    Ok((body, SentAnswer { streams: sent }))
}
