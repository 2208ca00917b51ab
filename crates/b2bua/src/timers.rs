//! The B2BUA's own timers as data (ARCHITECTURE.md rule 2): an ordered map
//! of deadlines to what is due. Owners keep the handle and cancel it when
//! they go; a timer whose owner is gone when it fires is ignored, so a
//! missed cancel costs one no-op, never a wrong action.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::call::CallKey;
use crate::registration::BindingId;

/// What a timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The phone's registration expired (plus grace): unregister upstream.
    PhoneExpiry(BindingId),
    /// Refresh the registration toward the iPBX.
    UpstreamRefresh(BindingId),
    /// Send an OPTIONS heartbeat to a phone on UDP.
    Heartbeat(BindingId),
    /// Retransmit the 2xx to an INVITE (RFC 3261 §13.3.1.4).
    Retransmit2xx(CallKey),
    /// No ACK for the 2xx within 64·T1: confirm and hang up.
    AckTimeout(CallKey),
    /// A cancelled INVITE got no final response within 64·T1 (§9.1).
    CancelGiveUp(CallKey),
    /// The call or subscription reached its lifetime.
    Lifetime(CallKey),
}

/// A scheduled timer, for cancelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Handle(Instant, u64);

#[derive(Debug, Default)]
pub(crate) struct Timers {
    due: BTreeMap<Handle, Timer>,
    next: u64,
}

impl Timers {
    pub(crate) fn schedule(&mut self, at: Instant, timer: Timer) -> Handle {
        self.next += 1;
        let h = Handle(at, self.next);
        self.due.insert(h, timer);
        h
    }

    pub(crate) fn cancel(&mut self, handle: Option<Handle>) {
        if let Some(h) = handle {
            self.due.remove(&h);
        }
    }

    /// Replaces `slot`'s timer with a new one at `at`.
    pub(crate) fn reschedule(&mut self, slot: &mut Option<Handle>, at: Instant, timer: Timer) {
        self.cancel(slot.take());
        *slot = Some(self.schedule(at, timer));
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.due.keys().next().map(|h| h.0)
    }

    /// The next timer due at `now`, removed from the map.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Handle, Timer)> {
        let (&h, _) = self.due.iter().next()?;
        if h.0 > now {
            return None;
        }
        self.due.remove(&h).map(|t| (h, t))
    }

    pub(crate) fn len(&self) -> usize {
        self.due.len()
    }
}
