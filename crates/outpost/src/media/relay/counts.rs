//! What the relay adds to the media counters of `/metrics` while calls
//! last: per-session figures are read from the sessions under their
//! thread's lock every tick ([`super::Relay::harvest`]), and only the
//! growth since the previous read is exported. The packet path is not
//! touched: no atomic per packet, no shared cache line.

use std::ops::{AddAssign, Sub};

use outpost_media::{Session, Side};

/// Media counters summed over sessions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// RTP packets accepted from the public side (authenticated if SRTP).
    pub public_packets: u64,
    /// RTP packets accepted from the private side.
    pub private_packets: u64,
    /// SRTP/SRTCP packets whose tag did not verify, both sides.
    pub srtp_auth_failures: u64,
    /// Plain RTCP dropped on SRTP legs (not authentication failures).
    pub plain_rtcp: u64,
    /// SRTCP with a 32-bit tag dropped on SRTP legs (not authentication
    /// failures).
    pub short_srtcp_tag: u64,
}

impl Counts {
    /// A session's figures so far (its removed streams included).
    pub(super) fn of(session: &Session) -> Self {
        let stats = session.stats();
        let (public, private) = (
            stats.total(Side::Public).received,
            stats.total(Side::Private).received,
        );
        Self {
            public_packets: public.packets,
            private_packets: private.packets,
            srtp_auth_failures: public.srtp_auth_failures + private.srtp_auth_failures,
            plain_rtcp: public.plain_rtcp + private.plain_rtcp,
            short_srtcp_tag: public.short_srtcp_tag + private.short_srtcp_tag,
        }
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, other: Self) {
        self.public_packets += other.public_packets;
        self.private_packets += other.private_packets;
        self.srtp_auth_failures += other.srtp_auth_failures;
        self.plain_rtcp += other.plain_rtcp;
        self.short_srtcp_tag += other.short_srtcp_tag;
    }
}

/// The growth from `earlier` (a session's counters only grow; saturating
/// all the same).
impl Sub for Counts {
    type Output = Self;
    fn sub(self, earlier: Self) -> Self {
        Self {
            public_packets: self.public_packets.saturating_sub(earlier.public_packets),
            private_packets: self.private_packets.saturating_sub(earlier.private_packets),
            srtp_auth_failures: self
                .srtp_auth_failures
                .saturating_sub(earlier.srtp_auth_failures),
            plain_rtcp: self.plain_rtcp.saturating_sub(earlier.plain_rtcp),
            short_srtcp_tag: self.short_srtcp_tag.saturating_sub(earlier.short_srtcp_tag),
        }
    }
}
