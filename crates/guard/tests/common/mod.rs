//! Shared helpers: a virtual clock and a guard on it.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use outpost_guard::{Event, Guard, Settings, Verdict};

/// Unix time at the virtual origin (2024-05-01T00:00:00Z).
pub const T0_UNIX: u64 = 1_714_521_600;

/// A guard on a virtual clock that only moves when told.
pub struct Sim {
    pub t0: Instant,
    pub now: Instant,
    pub guard: Guard,
}

impl Sim {
    // The one clock read in these tests: an arbitrary origin for virtual
    // time, which only ever advances by explicit offsets.
    #[allow(clippy::disallowed_methods)]
    pub fn new(settings: Settings) -> Self {
        let t0 = Instant::now();
        let guard = Guard::new(settings, t0, T0_UNIX)
            .unwrap()
            .with_hash_seed(42);
        Self { t0, now: t0, guard }
    }

    pub fn defaults() -> Self {
        Self::new(Settings::default())
    }

    /// Advances virtual time, firing due timers on the way (as a driver
    /// sleeping on `poll_timeout` would).
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(at) = self.guard.poll_timeout() {
            if at > target {
                break;
            }
            self.now = self.now.max(at);
            self.guard.handle_timeout(self.now);
        }
        self.now = target;
        self.guard.handle_timeout(self.now);
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.advance(Duration::from_millis(ms));
    }

    pub fn check(&mut self, ip: &str) -> Verdict {
        self.guard.check_source(self.now, ip.parse().unwrap())
    }

    /// Sends `n` packets from `ip` at the current instant; returns how many
    /// were admitted.
    pub fn burst(&mut self, ip: &str, n: u32) -> u32 {
        let ip: IpAddr = ip.parse().unwrap();
        (0..n)
            .filter(|_| self.guard.check_source(self.now, ip).is_admit())
            .count() as u32
    }

    pub fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.guard.poll_event()).collect()
    }

    pub fn unix_now(&self) -> u64 {
        T0_UNIX + self.now.duration_since(self.t0).as_secs()
    }
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
