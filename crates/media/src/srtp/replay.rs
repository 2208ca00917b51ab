//! Packet-index estimation (RFC 3711 §3.3.1, Appendix A) and the 64-packet
//! replay window (§3.3.2), shared by SRTP (48-bit index = ROC · 2^16 + SEQ)
//! and SRTCP (31-bit explicit index).

use crate::Error;

/// Replay window size in packets (RFC 3711 §3.3.2 asks for at least 64).
pub const REPLAY_WINDOW: u64 = 64;

/// Highest index accepted so far plus a bitmap of the 64 below it.
///
/// Bit `k` of `seen` set means index `highest - k` was accepted. A new
/// window starts at the first packet's index with nothing seen, so that
/// packet passes [`Self::check`]; state changes only in [`Self::accept`],
/// which the transforms call after authentication succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplayWindow {
    highest: u64,
    seen: u64,
}

impl ReplayWindow {
    pub(crate) const fn new(first_index: u64) -> Self {
        Self {
            highest: first_index,
            seen: 0,
        }
    }

    /// The rollover counter of the highest index (SRTP).
    pub(crate) const fn roc(&self) -> u32 {
        // A 48-bit index keeps the ROC within 32 bits.
        (self.highest >> 16) as u32
    }

    /// Estimates the 48-bit SRTP index of a packet with sequence number
    /// `seq` (RFC 3711 §3.3.1): the candidate among ROC−1, ROC, ROC+1
    /// closest to the highest sequence number seen, `s_l`.
    ///
    /// # Errors
    /// [`Error::Replayed`] if the guess is ROC−1 while ROC is 0 (a packet
    /// from before the stream began), [`Error::IndexExhausted`] past 2^48.
    pub(crate) fn estimate(&self, seq: u16) -> Result<u64, Error> {
        let roc = i64::from(self.roc());
        let s_l = i64::from(self.highest as u16);
        let seq = i64::from(seq);
        let v = if s_l < 32_768 {
            if seq - s_l > 32_768 { roc - 1 } else { roc }
        } else if s_l - 32_768 > seq {
            roc + 1
        } else {
            roc
        };
        if v < 0 {
            return Err(Error::Replayed);
        }
        if v > i64::from(u32::MAX) {
            return Err(Error::IndexExhausted);
        }
        // v and seq are non-negative and v < 2^32: the index fits 48 bits.
        Ok(((v as u64) << 16) | seq as u64)
    }

    /// Whether `index` may be accepted: newer than the highest, or within
    /// the window and not yet seen.
    ///
    /// # Errors
    /// [`Error::Replayed`] if seen or older than the window.
    pub(crate) const fn check(&self, index: u64) -> Result<(), Error> {
        if index > self.highest {
            return Ok(());
        }
        let behind = self.highest - index;
        if behind >= REPLAY_WINDOW || self.seen & (1 << behind) != 0 {
            return Err(Error::Replayed);
        }
        Ok(())
    }

    /// Records `index` as received; call only after [`Self::check`] and
    /// authentication.
    pub(crate) const fn accept(&mut self, index: u64) {
        if index > self.highest {
            let ahead = index - self.highest;
            self.seen = if ahead >= REPLAY_WINDOW {
                0
            } else {
                self.seen << ahead
            };
            self.seen |= 1;
            self.highest = index;
        } else {
            let behind = self.highest - index;
            if behind < REPLAY_WINDOW {
                self.seen |= 1 << behind;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(index: u64) -> ReplayWindow {
        let mut w = ReplayWindow::new(index);
        w.accept(index);
        w
    }

    #[test]
    fn estimate_follows_rfc3711_3_3_1() {
        // Near the top of the sequence space, a small SEQ is the next cycle.
        assert_eq!(at(0xfff0).estimate(0x0002), Ok(0x1_0002));
        assert_eq!(at(0xfff0).estimate(0xfff5), Ok(0xfff5));
        // Just after a wrap, a large SEQ is the previous cycle.
        assert_eq!(at(0x1_0003).estimate(0xfffe), Ok(0xfffe));
        assert_eq!(at(0x1_0003).estimate(0x0004), Ok(0x1_0004));
        // ROC 0 and a SEQ far above s_l: "ROC − 1" does not exist.
        assert_eq!(at(10).estimate(40_000), Err(Error::Replayed));
        assert_eq!(at(10).estimate(30_000), Ok(30_000));
        // The end of the 48-bit index space.
        let top = (u64::from(u32::MAX) << 16) | 0xfff0;
        assert_eq!(at(top).estimate(1), Err(Error::IndexExhausted));
    }

    #[test]
    fn window_rejects_duplicates_and_old() {
        let mut w = at(100);
        assert_eq!(w.check(100), Err(Error::Replayed));
        assert_eq!(w.check(101), Ok(()));
        assert_eq!(w.check(99), Ok(()));
        w.accept(99);
        assert_eq!(w.check(99), Err(Error::Replayed));
        assert_eq!(w.check(100 - 63), Ok(()));
        assert_eq!(w.check(100 - 64), Err(Error::Replayed));
        w.accept(300);
        assert_eq!(w.check(100), Err(Error::Replayed));
        assert_eq!(w.check(299), Ok(()));
        assert_eq!(w.check(300), Err(Error::Replayed));
        w.accept(310);
        assert_eq!(w.check(300), Err(Error::Replayed));
        assert_eq!(w.check(301), Ok(()));
    }

    #[test]
    fn fresh_window_accepts_first_packet() {
        let w = ReplayWindow::new(5);
        assert_eq!(w.check(5), Ok(()));
        assert_eq!(w.check(4), Ok(()));
    }
}
