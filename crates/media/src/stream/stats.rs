//! Per-call statistics (MED-7): counters per side and direction, loss from
//! RTP sequence gaps (RFC 3550 A.1, A.3), interarrival jitter (RFC 3550
//! A.8), SRTP failures, and the peer's own view from its RTCP reports.

use std::time::{Duration, Instant};

use super::{SessionId, Side};
use crate::rtp::{ReceptionReport, RtpHeader};

/// What Outpost received from one side of one stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RxStats {
    /// RTP packets accepted (authenticated when SRTP is used).
    pub packets: u64,
    /// Bytes of those packets as received (with SRTP tag).
    pub bytes: u64,
    /// RTCP packets accepted.
    pub rtcp_packets: u64,
    /// Bytes of those packets as received.
    pub rtcp_bytes: u64,
    /// Packets lost, from sequence-number gaps of the current and earlier
    /// SSRCs (RFC 3550 A.3; never negative here).
    pub lost: u64,
    /// Interarrival jitter of the current SSRC in timestamp units
    /// (RFC 3550 A.8); see [`Self::jitter_ms`].
    pub jitter: u32,
    /// The RTP clock rate used for jitter.
    pub clock_rate: u32,
    /// SRTP/SRTCP packets whose tag did not verify.
    pub srtp_auth_failures: u64,
    /// SRTP/SRTCP packets replayed or older than the window.
    pub srtp_replayed: u64,
    /// Plain RTCP received on an SRTP leg, dropped without trying a key
    /// (not an authentication failure: see
    /// [`super::DropReason::PlainRtcp`]).
    pub plain_rtcp: u64,
    /// SRTCP authentic under a 32-bit tag instead of the 80-bit SRTCP tag,
    /// dropped (see [`super::DropReason::ShortSrtcpTag`]).
    pub short_srtcp_tag: u64,
    /// Other packets dropped on arrival: malformed, not RTP, wrong source.
    pub dropped: u64,
    /// Times the latched address moved (an authenticated SRTP packet from
    /// a new address, e.g. a NAT rebinding).
    pub relatched: u64,
    /// The last SSRC seen.
    pub ssrc: Option<u32>,
}

impl RxStats {
    /// Jitter in milliseconds.
    #[must_use]
    pub fn jitter_ms(&self) -> f64 {
        if self.clock_rate == 0 {
            return 0.0;
        }
        f64::from(self.jitter) * 1000.0 / f64::from(self.clock_rate)
    }
}

/// What Outpost sent toward one side of one stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TxStats {
    /// RTP packets sent.
    pub packets: u64,
    /// Bytes sent (with SRTP tag).
    pub bytes: u64,
    /// RTCP packets sent.
    pub rtcp_packets: u64,
    /// RTCP bytes sent.
    pub rtcp_bytes: u64,
    /// Packets SRTP protect refused (replayed index, buffer too small).
    pub srtp_protect_failures: u64,
    /// Packets not sent because this side's address is not known yet.
    pub no_destination: u64,
}

/// Both directions of one side of a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegStats {
    /// Received from this side.
    pub received: RxStats,
    /// Sent toward this side.
    pub sent: TxStats,
    /// The last RTCP reception report this side's peer sent: its view of
    /// what it receives from Outpost (loss and jitter "from RTCP").
    pub peer_report: Option<ReceptionReport>,
}

/// One stream (m-line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamStats {
    /// The public (set) side.
    pub public: LegStats,
    /// The private (ICP) side.
    pub private: LegStats,
}

impl StreamStats {
    /// One side.
    #[must_use]
    pub const fn leg(&self, side: Side) -> &LegStats {
        match side {
            Side::Public => &self.public,
            Side::Private => &self.private,
        }
    }
}

/// A call's statistics, for CDRs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionStats {
    /// The call.
    pub session: SessionId,
    /// Per stream, in stream-id order (removed streams keep their last
    /// figures).
    pub streams: Vec<StreamStats>,
    /// When the last valid packet arrived, from either side.
    pub last_packet: Option<Instant>,
}

impl SessionStats {
    /// One side's figures over all streams: counters summed, jitter the
    /// largest (with the clock rate of the stream it came from).
    #[must_use]
    pub fn total(&self, side: Side) -> LegStats {
        let mut t = LegStats::default();
        for s in &self.streams {
            let l = s.leg(side);
            let (r, tr) = (&l.received, &mut t.received);
            tr.packets += r.packets;
            tr.bytes += r.bytes;
            tr.rtcp_packets += r.rtcp_packets;
            tr.rtcp_bytes += r.rtcp_bytes;
            tr.lost += r.lost;
            if r.jitter_ms() >= tr.jitter_ms() {
                tr.jitter = r.jitter;
                tr.clock_rate = r.clock_rate;
            }
            tr.srtp_auth_failures += r.srtp_auth_failures;
            tr.srtp_replayed += r.srtp_replayed;
            tr.plain_rtcp += r.plain_rtcp;
            tr.short_srtcp_tag += r.short_srtcp_tag;
            tr.dropped += r.dropped;
            tr.relatched += r.relatched;
            tr.ssrc = tr.ssrc.or(r.ssrc);
            let (s, ts) = (&l.sent, &mut t.sent);
            ts.packets += s.packets;
            ts.bytes += s.bytes;
            ts.rtcp_packets += s.rtcp_packets;
            ts.rtcp_bytes += s.rtcp_bytes;
            ts.srtp_protect_failures += s.srtp_protect_failures;
            ts.no_destination += s.no_destination;
            t.peer_report = t.peer_report.or(l.peer_report);
        }
        t
    }
}

/// RFC 3550 A.1 sequence tracking, without the probation period (packets
/// here are already validated, and authenticated with SRTP).
#[derive(Debug, Clone, Copy, Default)]
struct SeqTracker {
    started: bool,
    base: u32,
    max: u16,
    cycles: u32,
    received: u64,
    bad_seq: Option<u16>,
}

const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;

impl SeqTracker {
    fn restart(&mut self, seq: u16) {
        *self = Self {
            started: true,
            base: u32::from(seq),
            max: seq,
            received: 1,
            ..Self::default()
        };
    }

    /// Returns true if the stream restarted (a big jump confirmed by the
    /// next packet), so the caller can bank the loss so far.
    fn update(&mut self, seq: u16) -> bool {
        if !self.started {
            self.restart(seq);
            return false;
        }
        let delta = seq.wrapping_sub(self.max);
        if delta < MAX_DROPOUT {
            if seq < self.max {
                self.cycles = self.cycles.wrapping_add(1 << 16);
            }
            self.max = seq;
        } else if delta <= u16::MAX - MAX_MISORDER {
            // A big jump: believe it when the next packet follows it.
            if self.bad_seq == Some(seq) {
                return true;
            }
            self.bad_seq = Some(seq.wrapping_add(1));
            return false;
        }
        // else: duplicate or reordered within MAX_MISORDER, counted below.
        self.bad_seq = None;
        self.received += 1;
        false
    }

    /// RFC 3550 A.3: expected − received, floored at zero.
    fn lost(&self) -> u64 {
        if !self.started {
            return 0;
        }
        let extended_max = u64::from(self.cycles) + u64::from(self.max);
        let expected = (extended_max + 1).saturating_sub(u64::from(self.base));
        expected.saturating_sub(self.received)
    }
}

/// RFC 3550 A.8, in the fixed-point form: `jitter_q4` is 16 × J.
#[derive(Debug, Clone, Copy, Default)]
struct Jitter {
    transit: Option<u32>,
    jitter_q4: u64,
}

impl Jitter {
    fn update(&mut self, arrival: u32, timestamp: u32) {
        let transit = arrival.wrapping_sub(timestamp);
        if let Some(prev) = self.transit {
            // The difference of two wrapping transits, as a signed distance.
            let d = u64::from((transit.wrapping_sub(prev) as i32).unsigned_abs());
            self.jitter_q4 = (self.jitter_q4 + d).saturating_sub((self.jitter_q4 + 8) >> 4);
        }
        self.transit = Some(transit);
    }

    fn value(&self) -> u32 {
        u32::try_from(self.jitter_q4 >> 4).unwrap_or(u32::MAX)
    }
}

/// Receive-side state of one leg.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RxState {
    pub(super) stats: RxStats,
    seq: SeqTracker,
    jitter: Jitter,
    banked_lost: u64,
}

impl RxState {
    pub(super) fn new(clock_rate: u32) -> Self {
        let mut s = Self::default();
        s.stats.clock_rate = clock_rate;
        s
    }

    pub(super) fn set_clock_rate(&mut self, clock_rate: u32) {
        if clock_rate != self.stats.clock_rate {
            self.stats.clock_rate = clock_rate;
            self.jitter = Jitter::default();
        }
    }

    /// Records an accepted RTP packet; `elapsed` is its arrival time since
    /// the session began.
    pub(super) fn record_rtp(&mut self, elapsed: Duration, header: &RtpHeader, wire_len: usize) {
        let s = &mut self.stats;
        s.packets += 1;
        s.bytes += wire_len as u64;
        if s.ssrc != Some(header.ssrc) {
            // A new source: bank the old one's loss, start over.
            self.banked_lost += self.seq.lost();
            self.seq = SeqTracker::default();
            self.jitter = Jitter::default();
            s.ssrc = Some(header.ssrc);
        }
        if self.seq.update(header.sequence) {
            self.banked_lost += self.seq.lost();
            self.seq.restart(header.sequence);
            self.jitter = Jitter::default();
        }
        // Arrival in timestamp units; truncation to 32 bits is the wrap
        // RTP timestamps have too.
        let ticks = elapsed.as_nanos() * u128::from(s.clock_rate) / 1_000_000_000;
        self.jitter.update(ticks as u32, header.timestamp);
        s.jitter = self.jitter.value();
        s.lost = self.banked_lost + self.seq.lost();
    }

    pub(super) fn record_rtcp(&mut self, wire_len: usize) {
        self.stats.rtcp_packets += 1;
        self.stats.rtcp_bytes += wire_len as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(sequence: u16, timestamp: u32, ssrc: u32) -> RtpHeader {
        RtpHeader {
            payload_type: 0,
            marker: false,
            sequence,
            timestamp,
            ssrc,
            len: 12,
        }
    }

    #[test]
    fn loss_from_gaps_across_wrap() {
        let mut rx = RxState::new(8000);
        let mut t = Duration::ZERO;
        for seq in (65_530u16..=65_535).chain(0..10) {
            if seq == 65_533 || seq == 2 || seq == 3 {
                continue;
            }
            rx.record_rtp(t, &header(seq, u32::from(seq) * 160, 1), 172);
            t += Duration::from_millis(20);
        }
        assert_eq!(rx.stats.lost, 3);
        assert_eq!(rx.stats.packets, 13);
        // A late arrival of a lost packet lowers the count.
        rx.record_rtp(t, &header(3, 480, 1), 172);
        assert_eq!(rx.stats.lost, 2);
    }

    #[test]
    fn ssrc_change_banks_loss() {
        let mut rx = RxState::new(8000);
        for seq in [1u16, 2, 5] {
            rx.record_rtp(Duration::ZERO, &header(seq, 0, 1), 172);
        }
        assert_eq!(rx.stats.lost, 2);
        for seq in [40_000u16, 40_001, 40_003] {
            rx.record_rtp(Duration::ZERO, &header(seq, 0, 2), 172);
        }
        assert_eq!(rx.stats.lost, 3);
        assert_eq!(rx.stats.ssrc, Some(2));
    }

    #[test]
    fn big_jump_confirmed_restarts() {
        let mut rx = RxState::new(8000);
        for seq in [10u16, 11, 30_000, 30_001, 30_002] {
            rx.record_rtp(Duration::ZERO, &header(seq, 0, 1), 172);
        }
        assert_eq!(rx.stats.lost, 0);
    }

    #[test]
    fn jitter_zero_for_perfect_pacing_and_grows_with_delay() {
        let mut rx = RxState::new(8000);
        for i in 0..50u32 {
            let at = Duration::from_millis(u64::from(i) * 20);
            rx.record_rtp(at, &header(i as u16, 1000 + i * 160, 1), 172);
        }
        assert_eq!(rx.stats.jitter, 0);
        // Alternate 0 and 10 ms late: |D| = 80 ticks each packet; J → 80.
        for i in 50..2000u32 {
            let late = if i % 2 == 0 { 10 } else { 0 };
            let at = Duration::from_millis(u64::from(i) * 20 + late);
            rx.record_rtp(at, &header(i as u16, 1000 + i * 160, 1), 172);
        }
        assert!((78..=80).contains(&rx.stats.jitter), "{}", rx.stats.jitter);
        assert!((rx.stats.jitter_ms() - 10.0).abs() < 0.3);
    }
}
