//! The per-call media model (MED-1, MED-2, MED-5, MED-7): a [`Session`]
//! holds one [`Stream`] per m-line, each with a [`Leg`] per [`Side`]; the
//! relay driver passes every datagram to [`Session::handle_packet`] and
//! sends what it returns.

mod stats;
#[cfg(test)]
mod tests;

pub use stats::{LegStats, RxStats, SessionStats, StreamStats, TxStats};

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::Error;
use crate::rtp::{
    PacketKind, RtpHeader, classify, first_reception_report, is_plain_rtcp, rtcp_sender_ssrc,
};
use crate::srtp::{CryptoSuite, MasterKey, SrtpContext, SrtpTransform};
use stats::RxState;

/// Identifies a call (the caller's choice; also the port-pool owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

/// The two sides Outpost stands between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The set side, facing phones on the Internet.
    Public,
    /// The ICP side, facing the iPBX.
    Private,
}

impl Side {
    /// The opposite side.
    #[must_use]
    pub const fn other(self) -> Self {
        match self {
            Self::Public => Self::Private,
            Self::Private => Self::Public,
        }
    }
}

/// RTP or RTCP: the kind of a packet, or which of a pair of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    /// RTP (with rtcp-mux, the one port carrying both).
    Rtp,
    /// RTCP.
    Rtcp,
}

/// A stream (m-line) of a session, numbered from 0 in the order added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub usize);

/// One of Outpost's own sockets for a session: the allocated port a packet
/// arrived on or must leave from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalPort {
    /// Which side's pool the port is from.
    pub side: Side,
    /// Which stream.
    pub stream: StreamId,
    /// The RTP or the RTCP port of the pair.
    pub component: Component,
}

/// Which source addresses a leg accepts (MED-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Latching {
    /// Symmetric RTP: learn the address from the first valid packet (after
    /// SRTP authentication when SRTP is used) and send there. Later packets
    /// from another address are dropped on plain RTP (no hijacking), and
    /// move the latch on SRTP once authenticated (NAT rebinding).
    #[default]
    Latch,
    /// Only the address signaled in SDP (the seeds' "symmetric RTP
    /// support" off).
    Strict,
}

/// SRTP keys of one leg, from the SDES exchange (RFC 4568).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpConfig {
    /// The negotiated suite.
    pub suite: CryptoSuite,
    /// The peer's key (from its `a=crypto`): unprotects what it sends.
    pub recv: MasterKey,
    /// Outpost's key for this leg (in the SDP Outpost sent it): protects
    /// what Outpost sends.
    pub send: MasterKey,
}

/// What SDP negotiated for one side of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideConfig {
    /// The peer's RTP address from SDP (`c=` and `m=` port); `None` when
    /// unknown (then only latching finds it).
    pub remote: Option<SocketAddr>,
    /// The peer's RTCP address (`a=rtcp`, RFC 3605); `None` means RTP port
    /// + 1. Ignored with rtcp-mux.
    pub remote_rtcp: Option<SocketAddr>,
    /// RTP and RTCP share one port (`a=rtcp-mux`, RFC 5761).
    pub rtcp_mux: bool,
    /// Source-address policy.
    pub latching: Latching,
    /// SRTP keys, or `None` for plain RTP.
    pub srtp: Option<SrtpConfig>,
    /// RTP clock rate for jitter (8000 for G.711, G.729, G.722 audio).
    pub clock_rate: u32,
}

impl Default for SideConfig {
    fn default() -> Self {
        Self {
            remote: None,
            remote_rtcp: None,
            rtcp_mux: false,
            latching: Latching::Latch,
            srtp: None,
            clock_rate: 8000,
        }
    }
}

impl SideConfig {
    /// Plain RTP to `remote`, other fields default.
    #[must_use]
    pub fn plain(remote: SocketAddr) -> Self {
        Self {
            remote: Some(remote),
            ..Self::default()
        }
    }

    /// SRTP to `remote` with `srtp` keys, other fields default.
    #[must_use]
    pub fn srtp(remote: SocketAddr, srtp: SrtpConfig) -> Self {
        Self {
            remote: Some(remote),
            srtp: Some(srtp),
            ..Self::default()
        }
    }

    /// The address signaled for `component`.
    fn signaled(&self, component: Component) -> Option<SocketAddr> {
        match component {
            Component::Rtcp if !self.rtcp_mux => self.remote_rtcp.or_else(|| {
                self.remote.and_then(|mut a| {
                    a.set_port(a.port().checked_add(1)?);
                    Some(a)
                })
            }),
            _ => self.remote,
        }
    }
}

/// Media timeout (MED-5) as data: how long a session may go without a valid
/// packet from either side before [`Event::MediaTimeout`].
///
/// A held call (sendonly/inactive) may legitimately be silent; the caller
/// marks it with [`Session::set_on_hold`] and `on_hold` applies instead:
/// `None` suspends the timeout while on hold, `Some` gives a longer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaTimeout {
    /// Timeout while active; `None` disables it.
    pub active: Option<Duration>,
    /// Timeout while on hold; `None` suspends it.
    pub on_hold: Option<Duration>,
}

impl Default for MediaTimeout {
    /// 60 s active, suspended on hold.
    fn default() -> Self {
        Self {
            active: Some(Duration::from_secs(60)),
            on_hold: None,
        }
    }
}

/// What a session reports through [`Session::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// No valid packet from either side for the configured time: end the
    /// call on both legs with BYE and record why (MED-5).
    MediaTimeout {
        /// The call.
        session: SessionId,
        /// The last valid packet, if any ever came.
        last_packet: Option<Instant>,
    },
}

/// Why a packet was not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// The stream does not exist (removed, or never added).
    UnknownStream,
    /// Not RTP/RTCP (STUN, DTLS, garbage) by its first bytes (RFC 7983).
    NotRtp,
    /// RTP/RTCP header unreadable, or the length exceeds the buffer.
    Malformed,
    /// Strict mode: not from the signaled address.
    UnexpectedSource,
    /// Plain RTP from an address other than the latched one.
    NotLatchedSource,
    /// SRTP/SRTCP unprotect failed: [`Error::AuthFailed`],
    /// [`Error::Replayed`], ...
    Unprotect(Error),
    /// Plain RTCP on an SRTP leg: a whole compound RTCP packet, a shape no
    /// SRTCP packet has ([`crate::rtp::is_plain_rtcp`]), so no key is
    /// tried and it is not an authentication failure. baresip sends one
    /// when a stream starts (before its keys) and one at hang-up (after
    /// dropping them).
    PlainRtcp,
    /// SRTCP that authenticates with the leg's key under the 32-bit tag of
    /// `AES_CM_128_HMAC_SHA1_32` instead of the 80-bit SRTCP tag (libre,
    /// i.e. baresip): authentic, not conformant
    /// ([`SrtpContext::authenticates_short_srtcp`]).
    ShortSrtcpTag,
    /// The other side's address is not known yet.
    NoDestination,
    /// SRTP/SRTCP protect toward the other side failed.
    Protect(Error),
}

/// A packet to send: `len` bytes of the buffer, from `via`, to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    /// The local socket to send from (the other side's port; its RTP port
    /// for RTCP with rtcp-mux).
    pub via: LocalPort,
    /// The peer address.
    pub to: SocketAddr,
    /// The packet's new length in the buffer.
    pub len: usize,
    /// RTP or RTCP (e.g. for DSCP or metrics).
    pub kind: Component,
}

/// The outcome of [`Session::handle_packet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Action {
    /// Send it.
    Forward(Forward),
    /// Drop it (already counted in the stats).
    Drop(DropReason),
}

/// One side of one stream: its negotiation, latched addresses, SRTP
/// contexts and counters.
#[derive(Debug)]
pub struct Leg {
    config: SideConfig,
    recv: Option<SrtpContext>,
    send: Option<SrtpContext>,
    latched_rtp: Option<SocketAddr>,
    latched_rtcp: Option<SocketAddr>,
    rx: RxState,
    tx: TxStats,
    peer_report: Option<crate::rtp::ReceptionReport>,
}

impl Leg {
    fn new(config: SideConfig) -> Result<Self, Error> {
        let (recv, send) = contexts(config.srtp.as_ref())?;
        Ok(Self {
            rx: RxState::new(config.clock_rate),
            config,
            recv,
            send,
            latched_rtp: None,
            latched_rtcp: None,
            tx: TxStats::default(),
            peer_report: None,
        })
    }

    /// Applies a renegotiated config (MED-4): new SRTP contexts only for
    /// keys that changed (so ROCs and replay windows survive a re-INVITE
    /// that repeats the keys), and a fresh latch only if the signaled
    /// address changed (a NATed phone repeats its private address).
    fn update(&mut self, config: SideConfig) -> Result<(), Error> {
        let old = self.config.srtp.as_ref();
        let new = config.srtp.as_ref();
        let same_suite = old.map(|s| s.suite) == new.map(|s| s.suite);
        let keep_recv = same_suite && old.map(|s| &s.recv) == new.map(|s| &s.recv);
        let keep_send = same_suite && old.map(|s| &s.send) == new.map(|s| &s.send);
        let (recv, send) = contexts(new)?;
        if !keep_recv {
            self.recv = recv;
        }
        if !keep_send {
            self.send = send;
        }
        if config.remote != self.config.remote
            || config.rtcp_mux != self.config.rtcp_mux
            || config.latching != self.config.latching
        {
            self.latched_rtp = None;
            self.latched_rtcp = None;
        }
        self.rx.set_clock_rate(config.clock_rate);
        self.config = config;
        Ok(())
    }

    /// The negotiated configuration.
    #[must_use]
    pub const fn config(&self) -> &SideConfig {
        &self.config
    }

    /// The latched RTP address (also RTCP with rtcp-mux).
    #[must_use]
    pub const fn latched_rtp(&self) -> Option<SocketAddr> {
        self.latched_rtp
    }

    /// The latched RTCP address (without rtcp-mux).
    #[must_use]
    pub const fn latched_rtcp(&self) -> Option<SocketAddr> {
        self.latched_rtcp
    }

    /// The last SSRC received from this side.
    #[must_use]
    pub const fn ssrc(&self) -> Option<u32> {
        self.rx.stats.ssrc
    }

    /// The receive context (unprotects this side's packets), if SRTP.
    #[must_use]
    pub const fn recv_context(&self) -> Option<&SrtpContext> {
        self.recv.as_ref()
    }

    /// The send context (protects packets toward this side), if SRTP.
    #[must_use]
    pub const fn send_context(&self) -> Option<&SrtpContext> {
        self.send.as_ref()
    }

    /// This side's counters.
    #[must_use]
    pub const fn stats(&self) -> LegStats {
        LegStats {
            received: self.rx.stats,
            sent: self.tx,
            peer_report: self.peer_report,
        }
    }

    fn latched(&mut self, kind: Component) -> &mut Option<SocketAddr> {
        if kind == Component::Rtcp && !self.config.rtcp_mux {
            &mut self.latched_rtcp
        } else {
            &mut self.latched_rtp
        }
    }

    /// Where to send a packet of `kind` to this side: latched, else
    /// signaled.
    fn destination(&mut self, kind: Component) -> Option<SocketAddr> {
        let latched = *self.latched(kind);
        latched.or_else(|| self.config.signaled(kind))
    }
}

fn contexts(
    srtp: Option<&SrtpConfig>,
) -> Result<(Option<SrtpContext>, Option<SrtpContext>), Error> {
    let Some(s) = srtp else {
        return Ok((None, None));
    };
    Ok((
        Some(SrtpContext::new(s.suite, &s.recv)?),
        Some(SrtpContext::new(s.suite, &s.send)?),
    ))
}

/// One m-line: its public and private legs.
#[derive(Debug)]
pub struct Stream {
    public: Leg,
    private: Leg,
}

impl Stream {
    /// One side.
    #[must_use]
    pub const fn leg(&self, side: Side) -> &Leg {
        match side {
            Side::Public => &self.public,
            Side::Private => &self.private,
        }
    }

    /// The receiving and the other leg, mutably.
    fn legs_mut(&mut self, from: Side) -> (&mut Leg, &mut Leg) {
        match from {
            Side::Public => (&mut self.public, &mut self.private),
            Side::Private => (&mut self.private, &mut self.public),
        }
    }

    fn stats(&self) -> StreamStats {
        StreamStats {
            public: self.public.stats(),
            private: self.private.stats(),
        }
    }
}

/// A call's media: its streams, the media timeout, and the last packet.
///
/// Sans-IO: the driver owns sockets and clock, and calls
/// [`Self::handle_packet`] per datagram, [`Self::handle_timeout`] when
/// [`Self::poll_timeout`] is due, and drains [`Self::poll_event`].
#[derive(Debug)]
pub struct Session {
    id: SessionId,
    epoch: Instant,
    streams: Vec<Option<Stream>>,
    removed: Vec<StreamStats>,
    timeout: MediaTimeout,
    on_hold: bool,
    /// Start of each side's current silence (public, private): creation,
    /// its last packet, or a hold change. One silent side is enough for a
    /// timeout: a phone that vanished behind its NAT leaves the other side
    /// talking into the void (MED-5).
    quiet_since: [Instant; 2],
    last_packet: Option<Instant>,
    timed_out: bool,
    events: VecDeque<Event>,
}

impl Session {
    /// A session with no streams; the timeout runs from `now`.
    #[must_use]
    pub fn new(id: SessionId, now: Instant, timeout: MediaTimeout) -> Self {
        Self {
            id,
            epoch: now,
            streams: Vec::new(),
            removed: Vec::new(),
            timeout,
            on_hold: false,
            quiet_since: [now, now],
            last_packet: None,
            timed_out: false,
            events: VecDeque::new(),
        }
    }

    /// The call.
    #[must_use]
    pub const fn id(&self) -> SessionId {
        self.id
    }

    /// Adds a stream (an m-line) with both sides' negotiation.
    ///
    /// # Errors
    /// [`Error::Crypto`] if an SRTP key is refused (not expected).
    pub fn add_stream(
        &mut self,
        public: SideConfig,
        private: SideConfig,
    ) -> Result<StreamId, Error> {
        let stream = Stream {
            public: Leg::new(public)?,
            private: Leg::new(private)?,
        };
        self.streams.push(Some(stream));
        Ok(StreamId(self.streams.len() - 1))
    }

    /// Renegotiates one side of a stream (re-INVITE/UPDATE, MED-4). Keeps
    /// SRTP state for unchanged keys and the latch for an unchanged
    /// address. Returns `Ok(false)` if the stream does not exist.
    ///
    /// # Errors
    /// [`Error::Crypto`] if an SRTP key is refused (not expected).
    pub fn update_side(
        &mut self,
        stream: StreamId,
        side: Side,
        config: SideConfig,
    ) -> Result<bool, Error> {
        let Some(s) = self.streams.get_mut(stream.0).and_then(Option::as_mut) else {
            return Ok(false);
        };
        match side {
            Side::Public => s.public.update(config)?,
            Side::Private => s.private.update(config)?,
        }
        Ok(true)
    }

    /// Removes a stream (m-line rejected or dropped in a re-offer); its
    /// id is not reused and its figures stay in [`Self::stats`]. Returns
    /// whether it existed.
    pub fn remove_stream(&mut self, stream: StreamId) -> bool {
        match self.streams.get_mut(stream.0).and_then(Option::take) {
            Some(s) => {
                self.removed.push(s.stats());
                true
            }
            None => false,
        }
    }

    /// A stream, if it exists.
    #[must_use]
    pub fn stream(&self, stream: StreamId) -> Option<&Stream> {
        self.streams.get(stream.0).and_then(Option::as_ref)
    }

    /// Marks the call held (sendonly/inactive) or resumed: the timeout
    /// switches between [`MediaTimeout::active`] and
    /// [`MediaTimeout::on_hold`] and restarts from `now`.
    pub fn set_on_hold(&mut self, now: Instant, on_hold: bool) {
        if self.on_hold != on_hold {
            self.on_hold = on_hold;
            self.quiet_since = [now, now];
            self.timed_out = false;
        }
    }

    /// Whether the call is marked held.
    #[must_use]
    pub const fn on_hold(&self) -> bool {
        self.on_hold
    }

    /// Replaces the timeout configuration; the silence so far still counts.
    pub fn set_timeout(&mut self, timeout: MediaTimeout) {
        self.timeout = timeout;
    }

    /// The last valid packet from either side.
    #[must_use]
    pub const fn last_packet(&self) -> Option<Instant> {
        self.last_packet
    }

    /// When [`Self::handle_timeout`] should next be called, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.timed_out {
            return None;
        }
        let period = if self.on_hold {
            self.timeout.on_hold
        } else {
            self.timeout.active
        }?;
        self.quiet_since.iter().min()?.checked_add(period)
    }

    /// Fires [`Event::MediaTimeout`] once if its deadline has passed; a
    /// packet or hold change re-arms it. Early or repeated calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            self.timed_out = true;
            self.events.push_back(Event::MediaTimeout {
                session: self.id,
                last_packet: self.last_packet,
            });
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Statistics of every stream, removed ones included (MED-7).
    #[must_use]
    pub fn stats(&self) -> SessionStats {
        let mut streams: Vec<StreamStats> = self.removed.clone();
        streams.extend(self.streams.iter().flatten().map(Stream::stats));
        SessionStats {
            session: self.id,
            streams,
            last_packet: self.last_packet,
        }
    }

    /// Relays one datagram: `buf[..len]` arrived `at` one of the session's
    /// ports `from` a peer. Checks the source (strict mode / latch),
    /// unprotects if the arriving side uses SRTP, latches, counts, and
    /// protects for the other side if it uses SRTP — all in place in `buf`,
    /// which needs [`crate::srtp::MAX_OVERHEAD`] spare bytes after the
    /// packet. RTP and RTCP are told apart by content (RFC 5761 §4), so
    /// rtcp-mux ports need nothing special.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        at: LocalPort,
        from: SocketAddr,
        buf: &mut [u8],
        len: usize,
    ) -> Action {
        let Some(stream) = self.streams.get_mut(at.stream.0).and_then(Option::as_mut) else {
            return Action::Drop(DropReason::UnknownStream);
        };
        let (input, output) = stream.legs_mut(at.side);
        let accepted = match accept(input, from, buf, len) {
            Ok(accepted) => accepted,
            Err(reason) => {
                count_drop(&mut input.rx.stats, reason);
                return Action::Drop(reason);
            }
        };
        self.last_packet = Some(now);
        self.quiet_since[match at.side {
            Side::Public => 0,
            Side::Private => 1,
        }] = now;
        self.timed_out = false;
        let (kind, plain_len) = accepted;
        match kind {
            Component::Rtp => {
                if let Ok(header) = RtpHeader::parse(&buf[..plain_len]) {
                    input
                        .rx
                        .record_rtp(now.saturating_duration_since(self.epoch), &header, len);
                }
            }
            Component::Rtcp => {
                input.rx.record_rtcp(len);
                if let Some(report) = first_reception_report(&buf[..plain_len]) {
                    input.peer_report = Some(report);
                }
            }
        }
        forward(output, at, kind, buf, plain_len)
    }
}

/// Source checks, unprotect and latching for a packet arriving on `leg`.
/// Returns its kind and plaintext length.
fn accept(
    leg: &mut Leg,
    from: SocketAddr,
    buf: &mut [u8],
    len: usize,
) -> Result<(Component, usize), DropReason> {
    let packet = buf.get(..len).ok_or(DropReason::Malformed)?;
    let kind = match classify(packet) {
        PacketKind::Rtp => Component::Rtp,
        PacketKind::Rtcp => Component::Rtcp,
        _ => return Err(DropReason::NotRtp),
    };
    let strict = leg.config.latching == Latching::Strict;
    if strict
        && leg
            .config
            .signaled(kind)
            .is_none_or(|a| !same_addr(a, from))
    {
        return Err(DropReason::UnexpectedSource);
    }
    let latched = *leg.latched(kind);
    let moved = latched.is_some_and(|a| !same_addr(a, from));
    let plain_len = match (&mut leg.recv, kind) {
        (None, _) if moved => return Err(DropReason::NotLatchedSource),
        (None, Component::Rtp) => RtpHeader::parse(packet)
            .map(|_| len)
            .map_err(|_| DropReason::Malformed),
        (None, Component::Rtcp) => rtcp_sender_ssrc(packet)
            .map(|_| len)
            .map_err(|_| DropReason::Malformed),
        (Some(ctx), Component::Rtp) => ctx.unprotect_rtp(buf, len).map_err(DropReason::Unprotect),
        (Some(ctx), Component::Rtcp) => unprotect_srtcp(ctx, buf, len),
    }?;
    if latched.is_none() || moved {
        *leg.latched(kind) = Some(from);
        if moved {
            leg.rx.stats.relatched += 1;
        }
    }
    Ok((kind, plain_len))
}

/// SRTCP → RTCP, telling a peer's benign mistakes from failed
/// authentication.
///
/// Why (issue 11): every call a baresip phone hung up counted one SRTP
/// authentication failure. Captures showed baresip (libre) sending RTCP in
/// clear twice per stream: an APP "PING" when the stream starts, before
/// its SRTP is set up, and a BYE + SDES at hang-up, after it dropped its
/// keys; that BYE often arrives before the SIP BYE has ended the call here,
/// and 56 bytes of plain RTCP read as SRTCP fail the tag check. With
/// `AES_CM_128_HMAC_SHA1_32`, libre also tags SRTCP with 32 bits instead of
/// the 80 RFC 4568 prescribes. Outpost's keys and timing were right.
///
/// So: plain RTCP is never given to the key (no SRTCP packet has its
/// shape, so it cannot be a forgery that might verify), and a packet that
/// fails the 80-bit check counts as a short-tag packet only if it verifies
/// under the 32-bit tag. Both are dropped. Every packet an attacker forges
/// without the key still ends as [`Error::AuthFailed`] (or as plain RTCP,
/// which is never accepted).
fn unprotect_srtcp(ctx: &mut SrtpContext, buf: &mut [u8], len: usize) -> Result<usize, DropReason> {
    if is_plain_rtcp(buf.get(..len).ok_or(DropReason::Malformed)?) {
        return Err(DropReason::PlainRtcp);
    }
    match ctx.unprotect_rtcp(buf, len) {
        // On failure the packet bytes are unchanged: check them again.
        Err(Error::AuthFailed) if ctx.authenticates_short_srtcp(&buf[..len]) => {
            Err(DropReason::ShortSrtcpTag)
        }
        result => result.map_err(DropReason::Unprotect),
    }
}

/// Protects (if SRTP) and addresses an accepted packet for `leg`.
fn forward(leg: &mut Leg, at: LocalPort, kind: Component, buf: &mut [u8], len: usize) -> Action {
    let Some(to) = leg.destination(kind) else {
        leg.tx.no_destination += 1;
        return Action::Drop(DropReason::NoDestination);
    };
    let len = match (&mut leg.send, kind) {
        (None, _) => Ok(len),
        (Some(ctx), Component::Rtp) => ctx.protect_rtp(buf, len),
        (Some(ctx), Component::Rtcp) => ctx.protect_rtcp(buf, len),
    };
    let len = match len {
        Ok(len) => len,
        Err(e) => {
            leg.tx.srtp_protect_failures += 1;
            return Action::Drop(DropReason::Protect(e));
        }
    };
    match kind {
        Component::Rtp => {
            leg.tx.packets += 1;
            leg.tx.bytes += len as u64;
        }
        Component::Rtcp => {
            leg.tx.rtcp_packets += 1;
            leg.tx.rtcp_bytes += len as u64;
        }
    }
    let component = if leg.config.rtcp_mux {
        Component::Rtp
    } else {
        kind
    };
    Action::Forward(Forward {
        via: LocalPort {
            side: at.side.other(),
            stream: at.stream,
            component,
        },
        to,
        len,
        kind,
    })
}

fn count_drop(stats: &mut RxStats, reason: DropReason) {
    match reason {
        DropReason::Unprotect(Error::AuthFailed) => stats.srtp_auth_failures += 1,
        DropReason::Unprotect(Error::Replayed) => stats.srtp_replayed += 1,
        DropReason::PlainRtcp => stats.plain_rtcp += 1,
        DropReason::ShortSrtcpTag => stats.short_srtcp_tag += 1,
        _ => stats.dropped += 1,
    }
}

/// Address equality that treats an IPv4-mapped IPv6 address as the IPv4
/// one (a dual-stack socket reports those).
fn same_addr(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && a.ip().to_canonical() == b.ip().to_canonical()
}
