//! Helpers for the unit tests: a virtual clock and a timer driver.

use std::time::{Duration, Instant};

/// A virtual clock: a fixed origin plus offsets in milliseconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    pub(crate) t0: Instant,
}

impl Clock {
    // The one clock read in the tests: an arbitrary origin for virtual
    // time, which only ever advances by explicit offsets.
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn new() -> Self {
        Self { t0: Instant::now() }
    }

    pub(crate) fn ms(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    /// Milliseconds since the origin.
    pub(crate) fn offset(&self, at: Instant) -> u64 {
        u64::try_from(at.duration_since(self.t0).as_millis()).expect("test offsets fit in u64")
    }
}

use crate::client::{InviteClient, NonInviteClient};
use crate::server::{InviteServer, NonInviteServer};
use crate::state::Step;

/// A state machine with timers.
pub(crate) trait Timed {
    fn next_deadline(&self) -> Option<Instant>;
    fn fire(&mut self, now: Instant) -> Step;
}

macro_rules! timed {
    ($($t:ty),*) => {$(
        impl Timed for $t {
            fn next_deadline(&self) -> Option<Instant> {
                self.timers().next_deadline()
            }
            fn fire(&mut self, now: Instant) -> Step {
                self.handle_timeout(now)
            }
        }
    )*};
}
timed!(InviteClient, NonInviteClient, InviteServer, NonInviteServer);

/// Jumps the clock from deadline to deadline up to `until`, firing timers,
/// and returns each non-empty step with its time in ms since `clock.t0`.
pub(crate) fn drive<M: Timed>(m: &mut M, clock: Clock, until: Instant) -> Vec<(u64, Step)> {
    let mut out = Vec::new();
    while let Some(at) = m.next_deadline() {
        if at > until {
            break;
        }
        let step = m.fire(at);
        if step != Step::default() {
            out.push((clock.offset(at), step));
        }
    }
    out
}

/// The times (ms) at which `steps` sent something.
pub(crate) fn send_times(steps: &[(u64, Step)]) -> Vec<u64> {
    steps
        .iter()
        .filter(|(_, s)| s.send.is_some())
        .map(|(t, _)| *t)
        .collect()
}
