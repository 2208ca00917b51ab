//! Where the REST API gets the time: the one place in this crate that
//! reads the system clock ([`SystemClock`]); tests use [`ManualClock`].

use std::sync::atomic::{AtomicI64, Ordering};

/// The current time in seconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    /// Now, Unix seconds.
    fn now(&self) -> i64;
}

/// The operating system's clock (the driver's; `serve` uses it).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the driver's clock: see clippy.toml
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A clock that moves only when told (tests: session expiry, token
/// expiry, the login throttle).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: i64) -> Self {
        Self(AtomicI64::new(now))
    }

    /// Moves the clock forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
