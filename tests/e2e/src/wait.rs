//! Waiting with a deadline.
//!
//! The project forbids fixed sleeps in tests: a sleep long enough for a slow
//! CI machine wastes time everywhere else, and a short one is flaky. Every
//! wait here polls a condition every [`POLL_INTERVAL`] until it holds or a
//! deadline passes, and a timeout says what was awaited.

use std::time::{Duration, Instant};

use crate::{Result, TestbedError};

/// How often [`wait_until`] polls.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Polls `poll` until it returns `Ok(Some(value))` and returns that value.
///
/// An `Err` from `poll` ends the wait at once with that error (a process
/// that died is not worth waiting for). When `timeout` passes first, the
/// error is [`TestbedError::Timeout`] naming `what`.
///
/// ```no_run
/// # use std::time::Duration;
/// # use outpost_testbed::wait_until;
/// let n = wait_until("the answer", Duration::from_secs(1), || Ok(Some(42)))?;
/// # Ok::<(), outpost_testbed::TestbedError>(())
/// ```
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    poll: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let mut poll = poll;
    wait_until_or(what, timeout, |_| poll(), String::new)
}

/// Like [`wait_until`] with diagnostics for the timeout error: `poll` may
/// write what it last saw into its `&mut String` argument ("file holds
/// 1.2 s"), and `detail` is called once at the deadline (a log tail).
pub fn wait_until_or<T>(
    what: &str,
    timeout: Duration,
    mut poll: impl FnMut(&mut String) -> Result<Option<T>>,
    detail: impl FnOnce() -> String,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    let mut note = String::new();
    loop {
        if let Some(value) = poll(&mut note)? {
            return Ok(value);
        }
        let now = Instant::now();
        if now >= deadline {
            let extra = detail();
            let detail = match (note.is_empty(), extra.is_empty()) {
                (true, _) => extra,
                (false, true) => note,
                (false, false) => format!("{note}\n{extra}"),
            };
            return Err(TestbedError::Timeout {
                what: what.to_owned(),
                timeout,
                detail,
            });
        }
        std::thread::sleep(POLL_INTERVAL.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_first_value() {
        let mut calls = 0;
        let v = wait_until("three calls", Duration::from_secs(5), || {
            calls += 1;
            Ok((calls == 3).then_some(calls))
        })
        .unwrap();
        assert_eq!(v, 3);
    }

    #[test]
    fn times_out_with_message_and_detail() {
        let start = Instant::now();
        let err = wait_until_or(
            "godot",
            Duration::from_millis(100),
            |note| {
                *note = "last seen: nothing".to_owned();
                Ok(None::<()>)
            },
            || "still waiting".to_owned(),
        )
        .unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(100));
        let text = err.to_string();
        assert!(text.contains("godot"), "{text}");
        assert!(text.contains("still waiting"), "{text}");
        assert!(text.contains("last seen: nothing"), "{text}");
    }

    #[test]
    fn poll_error_ends_the_wait() {
        let err = wait_until("x", Duration::from_secs(30), || -> Result<Option<()>> {
            Err(TestbedError::Config("boom".into()))
        })
        .unwrap_err();
        assert!(err.to_string().contains("boom"));
    }
}
