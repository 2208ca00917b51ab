//! Transaction timers as data (RFC 3261 §17, Table 4; RFC 6026 §8.11).
//!
//! Each transaction owns a [`TimerTable`]: one `Option<Instant>` per timer
//! name. Nothing here reads the clock; deadlines are computed from the `now`
//! the caller passes in.

use std::time::{Duration, Instant};

/// The RFC 3261 timers (plus RFC 6026's L and M), named as in the RFC.
///
/// | timer | transaction | meaning | default |
/// | --- | --- | --- | --- |
/// | A | INVITE client | request retransmission (unreliable only), doubling | T1 |
/// | B | INVITE client | transaction timeout in Calling | 64·T1 |
/// | D | INVITE client | wait for response retransmissions in Completed | 32 s, 0 reliable |
/// | E | non-INVITE client | request retransmission (unreliable only), doubling capped at T2 | T1 |
/// | F | non-INVITE client | transaction timeout | 64·T1 |
/// | G | INVITE server | final response retransmission (unreliable only), doubling capped at T2 | T1 |
/// | H | INVITE server | wait for ACK in Completed | 64·T1 |
/// | I | INVITE server | absorb ACK retransmissions in Confirmed | T4, 0 reliable |
/// | J | non-INVITE server | absorb request retransmissions in Completed | 64·T1, 0 reliable |
/// | K | non-INVITE client | absorb response retransmissions in Completed | T4, 0 reliable |
/// | L | INVITE server | absorb INVITE retransmissions in Accepted (RFC 6026) | 64·T1 |
/// | M | INVITE client | forward 2xx retransmissions in Accepted (RFC 6026) | 64·T1 |
///
/// A timer whose value is zero on a reliable transport is not armed at all:
/// the transaction goes to Terminated at once, which is what "fires after 0
/// seconds" means without a round trip through the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// INVITE request retransmission interval (RFC 3261 §17.1.1.2).
    A,
    /// INVITE transaction timeout (RFC 3261 §17.1.1.2).
    B,
    /// Wait time for response retransmissions (RFC 3261 §17.1.1.2).
    D,
    /// Non-INVITE request retransmission interval (RFC 3261 §17.1.2.2).
    E,
    /// Non-INVITE transaction timeout (RFC 3261 §17.1.2.2).
    F,
    /// INVITE final response retransmission interval (RFC 3261 §17.2.1).
    G,
    /// Wait time for ACK receipt (RFC 3261 §17.2.1).
    H,
    /// Wait time for ACK retransmissions (RFC 3261 §17.2.1).
    I,
    /// Wait time for non-INVITE request retransmissions (RFC 3261 §17.2.2).
    J,
    /// Wait time for non-INVITE response retransmissions (RFC 3261 §17.1.2.2).
    K,
    /// Wait time for accepted INVITE request retransmissions (RFC 6026 §7.1).
    L,
    /// Wait time for retransmission of 2xx to INVITE or additional 2xx from
    /// other branches of a forked INVITE (RFC 6026 §7.2).
    M,
}

impl Timer {
    /// Every timer, in table order.
    pub const ALL: [Self; 12] = [
        Self::A,
        Self::B,
        Self::D,
        Self::E,
        Self::F,
        Self::G,
        Self::H,
        Self::I,
        Self::J,
        Self::K,
        Self::L,
        Self::M,
    ];

    const fn index(self) -> usize {
        self as usize
    }
}

/// The RFC 3261 timer base values (§17.1.1.1, Table 4).
///
/// All other timers derive from these, except Timer D which the RFC gives as
/// "at least 32 seconds" for unreliable transports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate; initial retransmission interval. Default 500 ms.
    pub t1: Duration,
    /// Maximum retransmission interval for non-INVITE requests and INVITE
    /// responses. Default 4 s.
    pub t2: Duration,
    /// Maximum duration a message remains in the network. Default 5 s.
    pub t4: Duration,
    /// Timer D on unreliable transports. Default 32 s.
    pub d: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            d: Duration::from_secs(32),
        }
    }
}

impl TimerConfig {
    /// 64·T1: Timers B, F, H, J (unreliable), L and M.
    pub fn timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// The longest a transaction waits on its timers after its last input
    /// before it terminates: max(64·T1, D, T4). (Retransmission timers never
    /// extend it; INVITE client Proceeding and server Trying/Proceeding have
    /// no timer and wait for the peer or the TU instead.)
    pub fn longest_wait(&self) -> Duration {
        self.timeout().max(self.d).max(self.t4)
    }
}

/// A table of deadlines, one slot per [`Timer`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerTable {
    slots: [Option<Instant>; 12],
}

impl TimerTable {
    /// Arms `timer` to fire at `deadline`, replacing any earlier setting.
    pub(crate) fn set(&mut self, timer: Timer, deadline: Instant) {
        self.slots[timer.index()] = Some(deadline);
    }

    /// Disarms `timer`.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.slots[timer.index()] = None;
    }

    /// Disarms every timer.
    pub(crate) fn clear(&mut self) {
        self.slots = [None; 12];
    }

    /// The deadline of `timer`, if armed.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.slots[timer.index()]
    }

    /// The earliest armed deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Disarms and returns the earliest timer due at `now`; ties go to the
    /// timer listed first in [`Timer::ALL`].
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let mut best: Option<(Instant, Timer)> = None;
        for timer in Timer::ALL {
            if let Some(at) = self.get(timer)
                && at <= now
                && best.is_none_or(|(b, _)| at < b)
            {
                best = Some((at, timer));
            }
        }
        let (_, timer) = best?;
        self.stop(timer);
        Some(timer)
    }

    /// Which timers are armed (for tests and introspection).
    pub(crate) fn armed(&self) -> impl Iterator<Item = Timer> + '_ {
        Timer::ALL.into_iter().filter(|t| self.get(*t).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_rfc_3261_table_4() {
        let c = TimerConfig::default();
        assert_eq!(c.t1, Duration::from_millis(500));
        assert_eq!(c.t2, Duration::from_secs(4));
        assert_eq!(c.t4, Duration::from_secs(5));
        assert_eq!(c.timeout(), Duration::from_secs(32));
        assert_eq!(c.longest_wait(), Duration::from_secs(32));
        let slow = TimerConfig {
            t1: Duration::from_secs(1),
            ..c
        };
        assert_eq!(slow.longest_wait(), Duration::from_secs(64));
    }

    #[test]
    fn next_deadline_is_the_minimum_and_pop_is_ordered() {
        let t0 = crate::test_util::Clock::new().t0;
        let mut table = TimerTable::default();
        assert_eq!(table.next_deadline(), None);
        table.set(Timer::B, t0 + Duration::from_secs(32));
        table.set(Timer::A, t0 + Duration::from_millis(500));
        assert_eq!(table.next_deadline(), Some(t0 + Duration::from_millis(500)));
        // Nothing is due before its deadline: a spurious call is a no-op.
        assert_eq!(table.pop_expired(t0), None);
        assert_eq!(table.armed().collect::<Vec<_>>(), vec![Timer::A, Timer::B]);
        let late = t0 + Duration::from_secs(40);
        assert_eq!(table.pop_expired(late), Some(Timer::A));
        assert_eq!(table.pop_expired(late), Some(Timer::B));
        assert_eq!(table.pop_expired(late), None);
        assert_eq!(table.next_deadline(), None);
    }

    #[test]
    fn earlier_deadline_wins_over_table_order() {
        let t0 = crate::test_util::Clock::new().t0;
        let mut table = TimerTable::default();
        table.set(Timer::A, t0 + Duration::from_secs(2));
        table.set(Timer::K, t0 + Duration::from_secs(1));
        assert_eq!(
            table.pop_expired(t0 + Duration::from_secs(3)),
            Some(Timer::K)
        );
        table.clear();
        assert_eq!(table.next_deadline(), None);
    }
}
