//! Login brute-force protection: failure counters per (account, source)
//! and per source, sans-IO (`now` is a parameter, Unix seconds).
//!
//! The rule (also in the crate docs and the README):
//! - A source is one IPv4 address or one IPv6 /64 (one customer line).
//! - [`ThrottleRule::max_failures`] (5) wrong passwords for one account from
//!   one source within [`ThrottleRule::window_secs`] (15 min) lock that
//!   source out of that account for [`ThrottleRule::first_lock_secs`]
//!   (1 min); each further lock of the same pair lasts twice as long as the
//!   previous one, up to [`ThrottleRule::max_lock_secs`] (1 h). While
//!   locked, attempts are answered 429 with `Retry-After` and the password
//!   is not even checked.
//! - [`ThrottleRule::source_max_failures`] (20) failures from one source
//!   over all names (unknown names included) within the window lock that
//!   source out of every account, growing the same way: a source spraying
//!   names is stopped too.
//! - The account as a whole is never locked: a source that has not failed
//!   is never refused, so the real administrator logging in from their own
//!   address still gets in while an attacker elsewhere is locked.
//! - A successful login clears its (account, source) pair; a pair or
//!   source without failures for [`ThrottleRule::forget_after_secs`] (24 h)
//!   starts afresh.
//! - Counters live in memory: a restart forgets them (an attacker cannot
//!   restart the server), and the table is bounded
//!   ([`ThrottleRule::max_entries`]); when full, idle entries go first,
//!   then the least recently failed.

use std::collections::HashMap;
use std::net::IpAddr;

/// The numbers of the rule; [`ThrottleRule::default`] is the documented one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    /// Failures of one (account, source) pair that lock it.
    pub max_failures: u32,
    /// Failures of one source over all accounts that lock it everywhere.
    pub source_max_failures: u32,
    /// The window failures are counted in, seconds.
    pub window_secs: i64,
    /// The first lock, seconds; each next one doubles.
    pub first_lock_secs: i64,
    /// The longest lock, seconds.
    pub max_lock_secs: i64,
    /// Quiet time after which an entry is forgotten, seconds.
    pub forget_after_secs: i64,
    /// The most entries kept.
    pub max_entries: usize,
}

impl Default for ThrottleRule {
    fn default() -> Self {
        Self {
            max_failures: 5,
            source_max_failures: 20,
            window_secs: 15 * 60,
            first_lock_secs: 60,
            max_lock_secs: 3600,
            forget_after_secs: 24 * 3600,
            max_entries: 65_536,
        }
    }
}

/// The source part of a key: an IPv4 address, or the /64 of an IPv6 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceKey(IpAddr);

impl SourceKey {
    /// The key of `addr`.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    Self(IpAddr::V6(bits.into()))
                }
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(String, SourceKey),
    Source(SourceKey),
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    failures: u32,
    window_start: i64,
    last_failure: i64,
    locks: u32,
    locked_until: i64,
}

/// The counters. Not thread-safe by itself: the service keeps it behind a
/// mutex, held only for a lookup or an update, never across hashing.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    rule: ThrottleRule,
    entries: HashMap<Key, Entry>,
}

impl LoginThrottle {
    /// Empty counters with `rule`.
    pub fn new(rule: ThrottleRule) -> Self {
        Self {
            rule,
            entries: HashMap::new(),
        }
    }

    /// Seconds until `account` may be tried from `source`, or `None` when
    /// it may be now.
    pub fn locked_for(&self, account: &str, source: IpAddr, now: i64) -> Option<u64> {
        let source = SourceKey::of(source);
        [
            Key::Pair(account.to_lowercase(), source),
            Key::Source(source),
        ]
        .iter()
        .filter_map(|k| self.entries.get(k))
        .map(|e| e.locked_until - now)
        .filter(|&left| left > 0)
        .max()
        .and_then(|left| u64::try_from(left).ok())
    }

    /// Records a wrong password (or an unknown name) for `account` from
    /// `source`; returns the lock it started, in seconds, if it did.
    pub fn record_failure(&mut self, account: &str, source: IpAddr, now: i64) -> Option<u64> {
        let source = SourceKey::of(source);
        let rule = self.rule;
        let pair = self.failure(
            Key::Pair(account.to_lowercase(), source),
            rule.max_failures,
            now,
        );
        let all = self.failure(Key::Source(source), rule.source_max_failures, now);
        pair.max(all)
    }

    /// Records a successful login: the pair starts afresh (the source's
    /// count over all accounts stays, so a correct password for one name
    /// does not wipe out a spray over others).
    pub fn record_success(&mut self, account: &str, source: IpAddr) {
        self.entries
            .remove(&Key::Pair(account.to_lowercase(), SourceKey::of(source)));
    }

    /// How many entries are kept (for tests and metrics).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn failure(&mut self, key: Key, max: u32, now: i64) -> Option<u64> {
        let rule = self.rule;
        if !self.entries.contains_key(&key) {
            self.make_room(now);
        }
        let entry = self.entries.entry(key).or_default();
        if now - entry.last_failure >= rule.forget_after_secs {
            *entry = Entry::default();
        }
        if entry.failures == 0 || now - entry.window_start >= rule.window_secs {
            entry.failures = 0;
            entry.window_start = now;
        }
        entry.failures += 1;
        entry.last_failure = now;
        if entry.failures < max {
            return None;
        }
        entry.failures = 0;
        entry.locks = entry.locks.saturating_add(1);
        let doublings = entry.locks.saturating_sub(1).min(30);
        let lock = rule
            .first_lock_secs
            .saturating_mul(1i64 << doublings)
            .min(rule.max_lock_secs);
        entry.locked_until = now + lock;
        u64::try_from(lock).ok()
    }

    fn make_room(&mut self, now: i64) {
        if self.entries.len() < self.rule.max_entries {
            return;
        }
        let rule = self.rule;
        self.entries.retain(|_, e| {
            e.locked_until > now
                || (now - e.window_start < rule.window_secs
                    && now - e.last_failure < rule.forget_after_secs)
        });
        if self.entries.len() >= rule.max_entries {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_failure)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn five_failures_lock_the_pair_and_locks_grow() {
        let mut t = LoginThrottle::new(ThrottleRule::default());
        let attacker = ip("198.51.100.7");
        let mut now = 1_000_000;
        for _ in 0..4 {
            assert_eq!(t.record_failure("Alice", attacker, now), None);
            now += 1;
        }
        assert_eq!(t.locked_for("alice", attacker, now), None);
        assert_eq!(t.record_failure("alice", attacker, now), Some(60));
        assert_eq!(t.locked_for("ALICE", attacker, now), Some(60));
        assert_eq!(t.locked_for("alice", attacker, now + 59), Some(1));
        assert_eq!(t.locked_for("alice", attacker, now + 60), None);
        // The real administrator from elsewhere is never locked.
        assert_eq!(t.locked_for("alice", ip("203.0.113.5"), now), None);
        // Another account from the attacker's address is not locked yet.
        assert_eq!(t.locked_for("bob", attacker, now), None);
        // Next round: 120 s, then 240 s ... up to an hour.
        now += 60;
        let mut lock = None;
        for _ in 0..5 {
            lock = t.record_failure("alice", attacker, now);
        }
        assert_eq!(lock, Some(120));
        for _ in 0..10 {
            now += 4000;
            for _ in 0..5 {
                lock = t.record_failure("alice", attacker, now);
            }
        }
        assert_eq!(lock, Some(3600));
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let mut t = LoginThrottle::new(ThrottleRule::default());
        let source = ip("198.51.100.7");
        for i in 0..20 {
            // One failure every 4 minutes: never 5 in 15 minutes.
            assert_eq!(
                t.record_failure(&format!("user{}", i % 2), source, i * 240 * 2),
                None
            );
        }
    }

    #[test]
    fn success_clears_the_pair() {
        let mut t = LoginThrottle::new(ThrottleRule::default());
        let source = ip("192.0.2.1");
        for _ in 0..4 {
            t.record_failure("alice", source, 10);
        }
        t.record_success("alice", source);
        assert_eq!(t.record_failure("alice", source, 11), None);
    }

    #[test]
    fn a_source_spraying_names_is_locked_everywhere() {
        let mut t = LoginThrottle::new(ThrottleRule::default());
        let source = ip("2001:db8:1:2::99");
        let mut lock = None;
        for i in 0..20 {
            lock = t.record_failure(&format!("name{i}"), source, 100);
        }
        assert_eq!(lock, Some(60));
        // The same /64 is the same source; another /64 is not.
        assert_eq!(t.locked_for("anyone", ip("2001:db8:1:2::1"), 100), Some(60));
        assert_eq!(t.locked_for("anyone", ip("2001:db8:1:3::1"), 100), None);
    }

    #[test]
    fn the_table_is_bounded() {
        let rule = ThrottleRule {
            max_entries: 8,
            ..ThrottleRule::default()
        };
        let mut t = LoginThrottle::new(rule);
        for i in 0..100u32 {
            let source = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            t.record_failure("alice", source, i64::from(i));
            assert!(t.len() <= 8);
        }
    }
}
