//! What the guard answers, what it reports, and what it counts.

use std::fmt;

use crate::{Entry, List};

/// The guard's answer for one packet, connection or request.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Go on.
    Admit,
    /// Drop without an answer (UDP), refuse or close (TCP/TLS).
    Drop(DropReason),
}

impl Verdict {
    /// True for [`Verdict::Admit`].
    pub fn is_admit(self) -> bool {
        matches!(self, Self::Admit)
    }
}

/// Why something was dropped: the `reason` label of
/// `outpost_guard_dropped_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The source is on the DoS deny-list.
    DeniedDos,
    /// The source is on the brute-force deny-list.
    DeniedBruteForce,
    /// This request took the source over its DoS threshold (SEC-3); it is
    /// now on the DoS deny-list.
    Flood,
    /// The global (DDoS) threshold is exceeded and the source is neither
    /// allow-listed nor registered (SEC-4).
    Ddos,
    /// Level allow-list-only and the source is not on the allow-list.
    NotAllowListed,
    /// A scanner signature (SEC-5).
    Scanner,
    /// Too many distinct unknown users (SEC-5).
    Enumeration,
    /// An unauthenticated INVITE to an external number (SEC-5).
    TollFraud,
    /// Too many digest failures (SEC-6).
    BruteForce,
}

impl DropReason {
    /// Every reason, in label order.
    pub const ALL: [Self; 9] = [
        Self::DeniedDos,
        Self::DeniedBruteForce,
        Self::Flood,
        Self::Ddos,
        Self::NotAllowListed,
        Self::Scanner,
        Self::Enumeration,
        Self::TollFraud,
        Self::BruteForce,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeniedDos => "denied_dos",
            Self::DeniedBruteForce => "denied_bruteforce",
            Self::Flood => "flood",
            Self::Ddos => "ddos",
            Self::NotAllowListed => "not_allow_listed",
            Self::Scanner => "scanner",
            Self::Enumeration => "enumeration",
            Self::TollFraud => "toll_fraud",
            Self::BruteForce => "brute_force",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn denied(list: List) -> Self {
        match list {
            List::BruteForce => Self::DeniedBruteForce,
            _ => Self::DeniedDos,
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change the binary persists and logs ([`crate::Guard::poll_event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A source was put on a deny-list (automatically or by the operator).
    Denied(Entry),
    /// A deny-list entry reached its expiry and was removed.
    Expired(Entry),
    /// A deny-list entry was dropped to make room (the list was full), or
    /// because the list's maximum was lowered.
    Evicted(Entry),
    /// The operator removed an entry (from any list).
    Removed(Entry),
    /// The operator added an allow-list entry.
    Allowed(Entry),
    /// [`crate::Guard::restore`] or [`crate::Guard::replace_entries`] could
    /// not take this entry; the binary should delete it from the store.
    Skipped {
        /// The entry.
        entry: Entry,
        /// Why, for the log.
        why: String,
    },
    /// The DDoS filter turned on (SEC-4): only allow-listed and registered
    /// sources are served.
    DdosStarted {
        /// Requests counted in the window that tripped it.
        count: u32,
    },
    /// The DDoS filter turned off: the rate fell back under the threshold
    /// for a whole window.
    DdosEnded,
}

/// Counters for metrics. `dropped` is indexed by [`DropReason`].
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Packets, connections and requests admitted by [`crate::Guard::check_source`].
    pub admitted: u64,
    dropped: [u64; DropReason::ALL.len()],
    /// `outpost_guard_list_size{list="allow"}`.
    pub allow_list_size: usize,
    /// `outpost_guard_list_size{list="dos"}`.
    pub dos_list_size: usize,
    /// `outpost_guard_list_size{list="bruteforce"}`.
    pub bruteforce_list_size: usize,
    /// Sources tracked for rate counting (evictable).
    pub tracked_sources: usize,
    /// Sources with live registrations (never evicted).
    pub registered_sources: usize,
    /// `outpost_guard_global_rate`: requests per second from sources that
    /// are neither allow-listed nor registered, over the last complete
    /// DDoS window (the quantity SEC-4 compares with its threshold).
    pub global_rate: f64,
    /// True while the DDoS filter is on.
    pub ddos_active: bool,
    /// Events discarded because nobody polled them (the queue is bounded).
    pub events_lost: u64,
}

impl Stats {
    pub(crate) fn new() -> Self {
        Self {
            admitted: 0,
            dropped: [0; DropReason::ALL.len()],
            allow_list_size: 0,
            dos_list_size: 0,
            bruteforce_list_size: 0,
            tracked_sources: 0,
            registered_sources: 0,
            global_rate: 0.0,
            ddos_active: false,
            events_lost: 0,
        }
    }

    /// `outpost_guard_dropped_total{reason}`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped.get(reason.index()).copied().unwrap_or(0)
    }

    /// Every drop, all reasons together.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }

    #[inline]
    pub(crate) fn count_drop(&mut self, reason: DropReason) {
        if let Some(c) = self.dropped.get_mut(reason.index()) {
            *c += 1;
        }
    }
}
