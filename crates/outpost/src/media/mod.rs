//! Media anchoring (MED-1..MED-7): the B2BUA's body hook rewrites every SDP
//! offer and answer so that each stream goes through Outpost — ports from
//! each side's pool, the side's advertised address (NET-2), SRTP keys per
//! side and direction under the per-side policies — and the relay
//! ([`relay`]) carries the packets, decrypting and re-encrypting between
//! sides. A call's ports are released when it ends, whatever the reason.
//!
//! Offer/answer follows RFC 3264: the first SDP of an exchange is an offer
//! (INVITE, re-INVITE, UPDATE, or a 200 answering an INVITE without SDP),
//! the next one in the other direction its answer.

pub mod relay;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use outpost_b2bua::{BodyContext, BodyRewriter, CallRef, Side as CallSide};
use outpost_media::stream::{Latching, MediaTimeout, SideConfig, SrtpConfig};
use outpost_media::{
    AllocationId, Component, LocalPort, PortKind, PortPool, PortRange, Session, SessionId, Side,
    StreamId,
};
use outpost_sdp::{
    AnswerPlan, InboundPolicy, LocalSide, LocalStream, OfferPlan, OriginState, OutboundPolicy, Sdp,
    SentAnswer, SentOffer, SrtpParams,
};
use outpost_sip::StatusCode;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::config::Config;
use relay::Relay;

/// What media needs from the configuration.
#[derive(Clone, Debug)]
pub struct MediaSettings {
    /// Advertised (SDP) and bind address per side.
    pub public: SideAddresses,
    /// Same for the private side.
    pub private: SideAddresses,
    /// Inbound policy of each side.
    pub inbound: [InboundPolicy; 2],
    /// Outbound policy of each side.
    pub outbound: [OutboundPolicy; 2],
    /// Media timeout (`None`: off).
    pub timeout: Option<Duration>,
    /// Only the signalled address (strict) or latching.
    pub strict_source: bool,
    /// DSCP for audio and video.
    pub dscp: (u32, u32),
    /// Suites Outpost offers, in order.
    pub suites: Vec<outpost_sdp::CryptoSuite>,
}

/// A side's addresses for media.
#[derive(Clone, Copy, Debug)]
pub struct SideAddresses {
    /// Written in SDP (`c=`, `o=`).
    pub advertised: IpAddr,
    /// Bound locally.
    pub bind: IpAddr,
}

impl MediaSettings {
    /// From the configuration; `None` when a side has no usable address.
    pub fn from_config(config: &Config) -> Option<Self> {
        let side = |s: &crate::config::SideConfig| {
            s.advertised_address().map(|advertised| SideAddresses {
                advertised,
                bind: s.bind_address(),
            })
        };
        let m = &config.media;
        Some(Self {
            public: side(&config.public)?,
            private: side(&config.private)?,
            inbound: [m.set_side_inbound.into(), m.icp_side_inbound.into()],
            outbound: [m.set_side_outbound.into(), m.icp_side_outbound.into()],
            timeout: (m.timeout_secs > 0).then(|| Duration::from_secs(u64::from(m.timeout_secs))),
            strict_source: m.strict_source,
            dscp: (m.dscp_audio, m.dscp_video),
            suites: m.srtp_suites.clone(),
        })
    }

    fn addresses(&self, side: Side) -> SideAddresses {
        match side {
            Side::Public => self.public,
            Side::Private => self.private,
        }
    }
}

fn idx(side: Side) -> usize {
    match side {
        Side::Public => 0,
        Side::Private => 1,
    }
}

fn media_side(side: CallSide) -> Side {
    match side {
        CallSide::Public => Side::Public,
        CallSide::Private => Side::Private,
    }
}

/// An offer sent on, waiting for its answer.
struct PendingOffer {
    from: Side,
    plan: OfferPlan,
    sent: SentOffer,
    /// Ports and keys for the answer toward the offerer, per m-line.
    offerer_streams: Vec<Option<LocalStream>>,
}

/// One call's media state.
struct CallMedia {
    session: SessionId,
    pending: Option<PendingOffer>,
    origins: [OriginState; 2],
    /// Per m-line: our local stream on each side (ports, keys).
    locals: [Vec<Option<LocalStream>>; 2],
    /// m-line index → relay stream.
    streams: HashMap<usize, StreamId>,
    allocations: Vec<(Side, AllocationId)>,
    /// Sockets bound when their ports were allocated, before the ports were
    /// advertised, waiting for the exchange to complete.
    bound: HashMap<(Side, u16), std::net::UdpSocket>,
}

/// Pairs tried for one stream before the call gets 503 because every pair
/// handed out was taken by another program on the machine.
const BIND_ATTEMPTS: usize = 8;

struct State {
    settings: MediaSettings,
    pools: [PortPool; 2],
    calls: HashMap<CallRef, CallMedia>,
}

/// The media manager: the B2BUA's [`BodyRewriter`] and the owner of the
/// relay (its threads stop when the last clone is dropped).
#[derive(Clone)]
pub struct Media {
    state: Arc<Mutex<State>>,
    relay: Arc<Relay>,
}

/// Why the media manager could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A port range is invalid.
    #[error(transparent)]
    Ports(#[from] outpost_media::Error),
    /// The relay threads could not start.
    #[error("relay threads: {0}")]
    Relay(#[from] std::io::Error),
}

impl Media {
    /// A manager with one pool per side (`public`, `private` port ranges,
    /// already validated by the configuration) and `relay_threads` relay
    /// threads ([`relay::default_threads`] is a good number).
    pub fn new(
        settings: MediaSettings,
        public: (u16, u16),
        private: (u16, u16),
        seed: u64,
        relay_threads: usize,
    ) -> Result<Self, StartError> {
        let pools = [
            PortPool::new(PortRange::new(public.0, public.1)?, seed),
            PortPool::new(PortRange::new(private.0, private.1)?, seed.rotate_left(17)),
        ];
        Ok(Self {
            state: Arc::new(Mutex::new(State {
                settings,
                pools,
                calls: HashMap::new(),
            })),
            relay: Arc::new(Relay::start(relay_threads)?),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes the media policies of `settings` (settings changed through
    /// the API): SRTP policies and suites, timeout, strict source, DSCP.
    /// They apply to the next offer/answer exchange (a new call or a
    /// renegotiation); the addresses stay the ones the manager started
    /// with (their ports and sockets are bound).
    pub fn update_policies(&self, settings: &MediaSettings) {
        let mut state = self.lock();
        let current = &mut state.settings;
        current.inbound = settings.inbound;
        current.outbound = settings.outbound;
        current.timeout = settings.timeout;
        current.strict_source = settings.strict_source;
        current.dscp = settings.dscp;
        current.suites.clone_from(&settings.suites);
    }

    /// The settings in force (tests).
    #[cfg(test)]
    pub(crate) fn settings(&self) -> MediaSettings {
        self.lock().settings.clone()
    }

    /// Ports in use on each side (port accounting).
    pub fn ports_in_use(&self) -> (usize, usize) {
        let s = self.lock();
        (s.pools[0].in_use(), s.pools[1].in_use())
    }

    /// Calls whose media timed out (MED-5); checked by a ticking task.
    pub fn timed_out(&self, now: Instant) -> Vec<CallRef> {
        let mut out = Vec::new();
        self.relay.for_each_session(|session| {
            if session.poll_timeout().is_some_and(|t| t <= now) {
                session.handle_timeout(now);
            }
            while let Some(event) = session.poll_event() {
                if matches!(event, outpost_media::stream::Event::MediaTimeout { .. }) {
                    out.push(CallRef(session.id().0));
                }
            }
        });
        out
    }

    /// Runs the media timeout check every half second, reporting calls to
    /// hang up on `timeouts`, and exports the relay's counters
    /// ([`Self::export_counts`]) and port gauges, until the receiver is
    /// gone.
    pub async fn watch_timeouts(self, timeouts: mpsc::Sender<CallRef>) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            // Ends with the receiver (the core at shutdown), releasing this
            // clone of the manager and so the relay threads.
            tokio::select! {
                _ = tick.tick() => {}
                () = timeouts.closed() => return,
            }
            for call in self.timed_out(Instant::now()) {
                warn!(
                    ?call,
                    "no media in either direction: ending the call (media timeout)"
                );
                metrics::counter!("outpost_media_timeouts_total").increment(1);
                if timeouts.send(call).await.is_err() {
                    return;
                }
            }
            self.export_counts();
            let (public, private) = self.ports_in_use();
            metrics::gauge!("outpost_media_ports_in_use", "side" => "public").set(public as f64);
            metrics::gauge!("outpost_media_ports_in_use", "side" => "private").set(private as f64);
        }
    }

    /// Adds what the relay counted since the last call to the media
    /// counters: live, while calls last (a call's last figures follow at
    /// the next call after it ended).
    pub fn export_counts(&self) {
        let grown = self.relay.harvest();
        metrics::counter!("outpost_media_packets_total", "side" => "public")
            .increment(grown.public_packets);
        metrics::counter!("outpost_media_packets_total", "side" => "private")
            .increment(grown.private_packets);
        metrics::counter!("outpost_media_srtp_auth_failures_total")
            .increment(grown.srtp_auth_failures);
        metrics::counter!("outpost_media_srtp_nonconformant_total", "reason" => "plain_rtcp")
            .increment(grown.plain_rtcp);
        metrics::counter!("outpost_media_srtp_nonconformant_total", "reason" => "short_srtcp_tag")
            .increment(grown.short_srtcp_tag);
    }

    /// Allocates a pair on `side` and binds both ports before they can be
    /// advertised. A pair another program holds stays with this call (so
    /// the pool does not hand it out again at once; it returns at call end)
    /// and the next pair is tried.
    fn allocate_bound(
        pool: &mut PortPool,
        entry: &mut CallMedia,
        side: Side,
        bind_ip: IpAddr,
        dscp: u32,
    ) -> Result<outpost_media::Allocation, StatusCode> {
        for _ in 0..BIND_ATTEMPTS {
            let alloc = pool
                .allocate(entry.session, PortKind::Pair)
                .map_err(|_| StatusCode(503))?;
            entry.allocations.push((side, alloc.id));
            let rtcp = alloc.rtcp.unwrap_or(alloc.rtp);
            let rtp_socket = relay::bind(bind_ip, alloc.rtp, dscp);
            let rtcp_socket = if rtcp == alloc.rtp {
                None
            } else {
                Some(relay::bind(bind_ip, rtcp, dscp))
            };
            match (rtp_socket, rtcp_socket) {
                (Ok(rtp_socket), None) => {
                    entry.bound.insert((side, alloc.rtp), rtp_socket);
                    return Ok(alloc);
                }
                (Ok(rtp_socket), Some(Ok(rtcp_socket))) => {
                    entry.bound.insert((side, alloc.rtp), rtp_socket);
                    entry.bound.insert((side, rtcp), rtcp_socket);
                    return Ok(alloc);
                }
                (Err(e), _) | (_, Some(Err(e))) => {
                    warn!(
                        %bind_ip,
                        rtp = alloc.rtp,
                        rtcp,
                        error = %e,
                        "media port pair in use by another program; trying the next \
                         (keep other programs out of rtp_ports)"
                    );
                }
            }
        }
        Err(StatusCode(503))
    }

    fn random_key() -> outpost_sdp::MasterKey {
        let mut bytes = [0u8; 30];
        // The OS CSPRNG failing is not recoverable here; an all-zero key
        // would be worse than a refused call, so the caller checks length.
        if getrandom::fill(&mut bytes).is_err() {
            return outpost_sdp::MasterKey::new(Vec::new());
        }
        outpost_sdp::MasterKey::new(bytes.to_vec())
    }

    fn handle_offer(
        state: &mut State,
        call: CallRef,
        from: Side,
        sdp: &Sdp,
    ) -> Result<Vec<u8>, StatusCode> {
        let to = from.other();
        let plan = outpost_sdp::analyze_offer(sdp, state.settings.inbound[idx(from)]).map_err(|reject| {
            info!(?call, side = ?from, reason = %reject.warning_value("outpost"), "offer refused");
            StatusCode(reject.status_code())
        })?;
        let entry = state.calls.entry(call).or_insert_with(|| CallMedia {
            session: SessionId(call.0),
            pending: None,
            origins: [
                OriginState::new("outpost", call.0),
                OriginState::new("outpost", call.0.rotate_left(7)),
            ],
            locals: [Vec::new(), Vec::new()],
            streams: HashMap::new(),
            allocations: Vec::new(),
            bound: HashMap::new(),
        });
        let mut to_side = LocalSide::new(state.settings.addresses(to).advertised);
        to_side.suites = state.settings.suites.clone();
        let mut offerer_streams = Vec::new();
        for stream in &plan.streams {
            if !stream.active {
                offerer_streams.push(None);
                continue;
            }
            let i = stream.index;
            let dscp = if stream.kind == outpost_sdp::MediaKind::Video {
                state.settings.dscp.1
            } else {
                state.settings.dscp.0
            };
            let mut local = |side: Side| -> Result<LocalStream, StatusCode> {
                if let Some(Some(existing)) = entry.locals[idx(side)].get(i) {
                    return Ok(existing.clone());
                }
                let bind_ip = state.settings.addresses(side).bind;
                let alloc =
                    Self::allocate_bound(&mut state.pools[idx(side)], entry, side, bind_ip, dscp)?;
                let keys = vec![Self::random_key(), Self::random_key()];
                if keys.iter().any(|k| k.as_bytes().len() != 30) {
                    return Err(StatusCode(500));
                }
                Ok(LocalStream {
                    rtp_port: alloc.rtp,
                    rtcp_port: alloc.rtcp.unwrap_or(alloc.rtp),
                    rtcp_mux: false,
                    keys,
                })
            };
            let towards = local(to)?;
            let back = local(from)?;
            to_side = to_side.with_stream(i, towards);
            while offerer_streams.len() < i {
                offerer_streams.push(None);
            }
            offerer_streams.push(Some(back));
        }
        let outbound = state.settings.outbound[idx(to)];
        let (body, sent) =
            outpost_sdp::build_offer(sdp, &plan, &to_side, outbound, &mut entry.origins[idx(to)])
                .map_err(|e| StatusCode(e.status_code()))?;
        entry.locals[idx(to)] = to_side.streams.clone();
        entry.pending = Some(PendingOffer {
            from,
            plan,
            sent,
            offerer_streams,
        });
        Ok(body)
    }

    fn handle_answer(
        &self,
        state: &mut State,
        call: CallRef,
        from: Side,
        sdp: &Sdp,
    ) -> Result<Vec<u8>, StatusCode> {
        let settings = state.settings.clone();
        let Some(entry) = state.calls.get_mut(&call) else {
            return Err(StatusCode(500));
        };
        let Some(pending) = entry.pending.take() else {
            return Err(StatusCode(500));
        };
        let offerer = pending.from;
        let answer_plan = outpost_sdp::analyze_answer(sdp, &pending.sent)
            .map_err(|r| StatusCode(r.status_code()))?;
        let mut back = LocalSide::new(settings.addresses(offerer).advertised);
        back.streams = pending.offerer_streams.clone();
        let (body, sent_answer) = outpost_sdp::build_answer(
            sdp,
            &pending.plan,
            &answer_plan,
            &back,
            &mut entry.origins[idx(offerer)],
        )
        .map_err(|e| StatusCode(e.status_code()))?;
        entry.locals[idx(offerer)] = back.streams;
        self.apply(
            entry,
            &settings,
            offerer,
            from,
            &pending,
            &answer_plan,
            &sent_answer,
        );
        Ok(body)
    }

    /// Creates or updates the relay session once an exchange completed.
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        entry: &mut CallMedia,
        settings: &MediaSettings,
        offerer: Side,
        answerer: Side,
        pending: &PendingOffer,
        answer: &AnswerPlan,
        sent_answer: &SentAnswer,
    ) {
        let timeout = MediaTimeout {
            active: settings.timeout,
            on_hold: None,
        };
        let id = entry.session;
        // Sockets are bound after the session is updated, outside the relay
        // thread's lock.
        let mut binds = Vec::new();
        self.relay.with_session(
            id,
            || Session::new(id, Instant::now(), timeout),
            |session| {
                Self::update_session(
                    session,
                    entry,
                    settings,
                    offerer,
                    pending,
                    answer,
                    sent_answer,
                    &mut binds,
                );
            },
        );
        let _ = answerer;
        // Every allocated port was bound by `allocate_bound`; the new
        // streams' sockets move from the call into the relay.
        for (at, port) in binds {
            let Some(socket) = entry.bound.remove(&(at.side, port)) else {
                warn!(port, side = ?at.side, "no socket bound for a media port");
                continue;
            };
            if let Err(e) = self.relay.add_socket(id, at, socket) {
                warn!(port, error = %e, "cannot relay on a media port");
            }
        }
    }

    /// Adds or renegotiates the session's streams from a completed
    /// exchange; `binds` gets the ports new streams relay on.
    #[allow(clippy::too_many_arguments)]
    fn update_session(
        session: &mut Session,
        entry: &mut CallMedia,
        settings: &MediaSettings,
        offerer: Side,
        pending: &PendingOffer,
        answer: &AnswerPlan,
        sent_answer: &SentAnswer,
        binds: &mut Vec<(LocalPort, u16)>,
    ) {
        let latching = if settings.strict_source {
            Latching::Strict
        } else {
            Latching::Latch
        };
        let mut on_hold = true;
        for answered in &answer.streams {
            let i = answered.remote.index;
            let Some(offered) = pending.plan.streams.get(i) else {
                continue;
            };
            let sent = sent_answer.streams.iter().find(|s| s.index == i);
            if !answered.remote.active || !offered.active || sent.is_none_or(|s| !s.active) {
                continue;
            }
            let sendrecv = outpost_sdp::Direction::SendRecv;
            if offered.direction == sendrecv && answered.remote.direction == sendrecv {
                on_hold = false;
            }
            let offerer_cfg = SideConfig {
                remote: offered.rtp,
                remote_rtcp: offered.rtcp,
                rtcp_mux: sent.is_some_and(|s| s.rtcp_mux),
                latching,
                srtp: srtp_config(
                    offered.srtp.as_ref(),
                    sent.and_then(|s| s.local_srtp.as_ref()),
                ),
                clock_rate: 8000,
            };
            let answerer_cfg = SideConfig {
                remote: answered.remote.rtp,
                remote_rtcp: answered.remote.rtcp,
                rtcp_mux: answered.rtcp_mux,
                latching,
                srtp: srtp_config(answered.remote.srtp.as_ref(), answered.local_srtp.as_ref()),
                clock_rate: 8000,
            };
            let (public, private) = match offerer {
                Side::Public => (offerer_cfg, answerer_cfg),
                Side::Private => (answerer_cfg, offerer_cfg),
            };
            let suite = |c: &SideConfig| c.srtp.as_ref().map_or("rtp", |s| s.suite.name());
            info!(
                session = entry.session.0,
                stream = i,
                public = suite(&public),
                private = suite(&private),
                public_remote = ?public.remote,
                private_remote = ?private.remote,
                "media stream"
            );
            if let Some(&stream) = entry.streams.get(&i) {
                let _ = session.update_side(stream, Side::Public, public);
                let _ = session.update_side(stream, Side::Private, private);
                continue;
            }
            let stream = match session.add_stream(public, private) {
                Ok(stream) => stream,
                Err(e) => {
                    warn!(error = %e, "media stream refused");
                    continue;
                }
            };
            entry.streams.insert(i, stream);
            for side in [Side::Public, Side::Private] {
                let Some(Some(local)) = entry.locals[idx(side)].get(i) else {
                    continue;
                };
                for (component, port) in [
                    (Component::Rtp, local.rtp_port),
                    (Component::Rtcp, local.rtcp_port),
                ] {
                    let at = LocalPort {
                        side,
                        stream,
                        component,
                    };
                    binds.push((at, port));
                }
            }
        }
        session.set_on_hold(Instant::now(), on_hold);
    }
}

fn srtp_config(peer: Option<&SrtpParams>, ours: Option<&SrtpParams>) -> Option<SrtpConfig> {
    let (peer, ours) = (peer?, ours?);
    let suite = match peer.suite {
        outpost_sdp::CryptoSuite::AesCm128HmacSha1_80 => {
            outpost_media::CryptoSuite::AesCm128HmacSha1_80
        }
        outpost_sdp::CryptoSuite::AesCm128HmacSha1_32 => {
            outpost_media::CryptoSuite::AesCm128HmacSha1_32
        }
        _ => return None,
    };
    let key = |k: &outpost_sdp::MasterKey| {
        let bytes: [u8; 30] = k.as_bytes().try_into().ok()?;
        Some(outpost_media::MasterKey::generate(bytes))
    };
    Some(SrtpConfig {
        suite,
        recv: key(&peer.key)?,
        send: key(&ours.key)?,
    })
}

impl BodyRewriter for Media {
    fn rewrite(
        &mut self,
        context: &BodyContext,
        content_type: &str,
        body: Bytes,
    ) -> Result<Bytes, StatusCode> {
        if !content_type.eq_ignore_ascii_case("application/sdp") {
            return Ok(body);
        }
        let Some(call) = context.call else {
            return Ok(body);
        };
        let sdp = Sdp::parse(&body).map_err(|_| StatusCode(400))?;
        let from = media_side(context.from);
        let mut state = self.lock();
        let is_answer = state
            .calls
            .get(&call)
            .and_then(|c| c.pending.as_ref())
            .is_some_and(|p| p.from != from);
        let out = if is_answer {
            self.handle_answer(&mut state, call, from, &sdp)?
        } else {
            Self::handle_offer(&mut state, call, from, &sdp)?
        };
        Ok(Bytes::from(out))
    }

    fn call_ended(&mut self, call: CallRef) {
        let (released, session) = {
            let mut state = self.lock();
            let Some(media) = state.calls.remove(&call) else {
                return;
            };
            // Sockets closed before their ports return to the pool, under
            // the lock that hands ports out: a port is never bound twice.
            let owner = media.session;
            let session = self.relay.remove(owner);
            // Sockets bound but never wired into the relay close here.
            drop(media);
            let released =
                state.pools[0].release_owner(owner) + state.pools[1].release_owner(owner);
            (released, session)
        };
        // The metrics have counted this call's packets as they came
        // (`export_counts`); its last figures go out at the next tick.
        if let Some(session) = session {
            let stats = session.stats();
            let (public, private) = (stats.total(Side::Public), stats.total(Side::Private));
            info!(
                ?call,
                ports_released = released,
                public_rx_packets = public.received.packets,
                public_rx_lost = public.received.lost,
                public_jitter_ms = public.received.jitter_ms(),
                public_srtp_auth_failures = public.received.srtp_auth_failures,
                public_plain_rtcp = public.received.plain_rtcp,
                public_short_srtcp_tag = public.received.short_srtcp_tag,
                private_rx_packets = private.received.packets,
                private_rx_lost = private.received.lost,
                private_jitter_ms = private.received.jitter_ms(),
                private_srtp_auth_failures = private.received.srtp_auth_failures,
                "call media ended"
            );
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
