//! The [`Guard`]: counting and deciding; the operator's list operations
//! are in [`operator`].

mod operator;

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::addr::Key;
use crate::fingerprint::{RequestFacts, looks_like_external_number, scanner_fingerprint};
use crate::hash::Seeded;
use crate::lists::{AllowList, DenyLists};
use crate::table::LruTable;
use crate::{DropReason, Entry, Error, Event, Level, List, Reason, Settings, Stats, Verdict};

/// Cap on sources remembered for brute-force and enumeration counting.
/// Only sources that failed a digest or addressed an unknown user get a
/// slot, so this is much smaller than the tracked-source cap.
pub const SUSPECT_CAP: usize = 16_384;

/// Seed used until [`Guard::with_hash_seed`] is called (tests, benches).
const DEFAULT_SEED: u64 = 0x5eed_0f0a_7b05_f00d;

/// Longest user or number quoted in an entry's detail.
const DETAIL_MAX: usize = 40;

/// Monotonic time as milliseconds since the guard's creation, and the Unix
/// time at that moment (for the `added`/`expires` fields).
#[derive(Debug, Clone, Copy)]
struct Clock {
    epoch: Instant,
    epoch_unix: u64,
}

impl Clock {
    #[inline]
    fn ms(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    fn unix(&self, now: Instant) -> u64 {
        self.epoch_unix
            .saturating_add(now.saturating_duration_since(self.epoch).as_secs())
    }

    fn instant(&self, ms: u64) -> Option<Instant> {
        self.epoch.checked_add(Duration::from_millis(ms))
    }
}

/// Per-source rate state.
#[derive(Debug, Clone, Copy)]
struct Source {
    window_start: u64,
    count: u32,
    registrations: u32,
    allow_generation: u32,
    allowed: bool,
}

/// A fixed window counter anchored at the source's first event.
#[derive(Debug, Clone, Copy)]
struct Counter {
    start: u64,
    count: u32,
}

#[derive(Debug)]
struct Enumeration {
    start: u64,
    users: Vec<u64>,
}

/// The global (DDoS) counter: fixed windows aligned on multiples of the
/// window length.
#[derive(Debug, Clone, Copy, Default)]
struct Global {
    index: u64,
    count: u32,
    previous: u32,
    active: bool,
}

/// The guard. See the crate documentation for what it decides and why.
#[derive(Debug)]
pub struct Guard {
    settings: Settings,
    clock: Clock,
    hasher: Seeded,
    sources: LruTable<Source>,
    auth_failures: LruTable<Counter>,
    enumeration: LruTable<Enumeration>,
    allow: AllowList,
    deny: DenyLists,
    global: Global,
    events: VecDeque<Event>,
    stats: Stats,
}

impl Guard {
    /// A guard with empty lists. `now_unix` is the wall-clock time (seconds
    /// since the Unix epoch) at `now`; entries' dates derive from it.
    ///
    /// # Errors
    /// [`Error::Settings`] when a setting is out of range.
    pub fn new(settings: Settings, now: Instant, now_unix: u64) -> Result<Self, Error> {
        settings.validate()?;
        let hasher = Seeded::new(DEFAULT_SEED);
        Ok(Self {
            clock: Clock {
                epoch: now,
                epoch_unix: now_unix,
            },
            hasher,
            sources: LruTable::new(settings.max_tracked_sources, hasher),
            auth_failures: LruTable::new(SUSPECT_CAP, hasher),
            enumeration: LruTable::new(SUSPECT_CAP, hasher),
            allow: AllowList::new(hasher),
            deny: DenyLists::new(hasher),
            global: Global::default(),
            events: VecDeque::new(),
            stats: Stats::new(),
            settings,
        })
    }

    /// A guard with the persisted `entries` (from [`Guard::entries`]).
    /// Deny entries already expired at `now_unix` are reported as
    /// [`Event::Expired`]; entries that cannot be taken (an allow-list past
    /// 100 entries, a deny entry that is not a single source, duplicates)
    /// as [`Event::Skipped`]; deny entries beyond the list's maximum evict
    /// the oldest ([`Event::Evicted`]). Drain [`Guard::poll_event`] and
    /// apply those to the store.
    ///
    /// # Errors
    /// [`Error::Settings`] when a setting is out of range.
    pub fn restore(
        settings: Settings,
        entries: Vec<Entry>,
        now: Instant,
        now_unix: u64,
    ) -> Result<Self, Error> {
        let mut guard = Self::new(settings, now, now_unix)?;
        guard.load(entries, now, now_unix);
        Ok(guard)
    }

    /// Re-keys every table with `seed` (draw it at random once per process:
    /// it keeps attackers from choosing colliding sources). Call it right
    /// after [`Guard::new`] or [`Guard::restore`]: lists are kept, but rate
    /// counters and registrations start over.
    #[must_use]
    pub fn with_hash_seed(mut self, seed: u64) -> Self {
        let hasher = Seeded::new(seed);
        let entries = self.entries();
        let (epoch, epoch_unix) = (self.clock.epoch, self.clock.epoch_unix);
        self.hasher = hasher;
        self.sources = LruTable::new(self.settings.max_tracked_sources, hasher);
        self.auth_failures = LruTable::new(SUSPECT_CAP, hasher);
        self.enumeration = LruTable::new(SUSPECT_CAP, hasher);
        self.allow = AllowList::new(hasher);
        self.deny = DenyLists::new(hasher);
        // Reloading at the epoch keeps every expiry exactly where it was
        // relative to the Unix anchor.
        let events = self.events.len();
        self.load(entries, epoch, epoch_unix);
        self.events.truncate(events);
        self
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Replaces the settings. New windows and thresholds apply from the
    /// next request; a lower `deny_list_max` evicts the oldest entries
    /// ([`Event::Evicted`]); a new `deny_period` applies to new entries.
    ///
    /// # Errors
    /// [`Error::Settings`]; nothing changes.
    pub fn set_settings(&mut self, settings: Settings) -> Result<(), Error> {
        settings.validate()?;
        self.sources.set_cap(settings.max_tracked_sources);
        self.settings = settings;
        for list in [List::Dos, List::BruteForce] {
            for e in self.deny.shrink(list, self.settings.deny_list_max) {
                self.push_event(Event::Evicted(e));
            }
        }
        Ok(())
    }

    /// Re-anchors the Unix time used for entry dates (call it when the wall
    /// clock was stepped, or now and then against drift).
    pub fn set_unix_time(&mut self, now: Instant, now_unix: u64) {
        let elapsed = now.saturating_duration_since(self.clock.epoch).as_secs();
        self.clock.epoch_unix = now_unix.saturating_sub(elapsed);
    }

    // ---- the hot path -------------------------------------------------

    /// The check every UDP datagram, every framed stream message and every
    /// new TCP/TLS connection pays **before parsing**: O(1), and no
    /// allocation for a source already tracked or denied.
    ///
    /// Order: deny-lists (every level) → level → per-source window →
    /// global (DDoS) window. A [`DropReason::Flood`] verdict has just put
    /// the source on the DoS deny-list ([`Event::Denied`]).
    #[inline]
    pub fn check_source(&mut self, now: Instant, ip: IpAddr) -> Verdict {
        let key = Key::of(ip);
        let t = self.clock.ms(now);
        let verdict = if let Some(list) = self.deny.check(key, t) {
            Verdict::Drop(DropReason::denied(list))
        } else {
            match self.settings.level {
                Level::None => Verdict::Admit,
                Level::AllowListOnly if self.allow.contains(key) => Verdict::Admit,
                Level::AllowListOnly => Verdict::Drop(DropReason::NotAllowListed),
                Level::AutoProtection => self.count(key, t, now),
            }
        };
        match verdict {
            Verdict::Admit => self.stats.admitted += 1,
            Verdict::Drop(reason) => self.stats.count_drop(reason),
        }
        verdict
    }

    /// Whether `ip` is refused now (a deny-list, or not allow-listed at
    /// [`Level::AllowListOnly`]) without counting anything: for a later
    /// request on a connection [`Guard::check_source`] already admitted
    /// (HTTP keep-alive), which must not spend the source's or the
    /// gateway's rate budget a second time.
    pub fn is_refused(&self, now: Instant, ip: IpAddr) -> bool {
        let key = Key::of(ip);
        if self.deny.check(key, self.clock.ms(now)).is_some() {
            return true;
        }
        matches!(self.settings.level, Level::AllowListOnly) && !self.allow.contains(key)
    }

    fn count(&mut self, key: Key, t: u64, now: Instant) -> Verdict {
        self.roll_global(t);
        let slot = match self.sources.find(key) {
            Some(i) => {
                self.sources.touch(i);
                i
            }
            None => {
                let allowed = self.allow.contains(key);
                if self.global.active && !allowed {
                    // Registered sources are always in the table, so this
                    // one is unknown: drop it without tracking it, which
                    // also keeps a spoofed flood from churning the table.
                    self.count_global();
                    return Verdict::Drop(DropReason::Ddos);
                }
                let state = Source {
                    window_start: t,
                    count: 0,
                    registrations: 0,
                    allow_generation: self.allow.generation(),
                    allowed,
                };
                self.sources.insert(key, state)
            }
        };
        let window = duration_ms(self.settings.dos_window);
        let generation = self.allow.generation();
        let Some(s) = self.sources.value_mut(slot) else {
            return Verdict::Admit;
        };
        if s.allow_generation != generation {
            s.allowed = self.allow.contains(key);
            s.allow_generation = generation;
        }
        if t.saturating_sub(s.window_start) >= window {
            s.window_start = t;
            s.count = 0;
        }
        s.count = s.count.saturating_add(1);
        let Source {
            count,
            registrations,
            allowed,
            ..
        } = *s;
        let known = allowed || registrations > 0;
        if !known {
            self.count_global();
        }
        let limit = u64::from(self.settings.dos_threshold)
            + u64::from(registrations) * u64::from(self.settings.registered_allowance);
        if u64::from(count) > limit && !allowed {
            let detail = format!(
                "{count} requests in {} s (limit {limit}{})",
                self.settings.dos_window.as_secs(),
                if registrations > 0 {
                    format!(" with {registrations} live registrations")
                } else {
                    String::new()
                }
            );
            self.deny_key(key, t, now, Reason::Flood, detail);
            return Verdict::Drop(DropReason::Flood);
        }
        if !known && self.global.active {
            return Verdict::Drop(DropReason::Ddos);
        }
        Verdict::Admit
    }

    fn roll_global(&mut self, t: u64) {
        let window = duration_ms(self.settings.ddos_window).max(1);
        let index = t / window;
        if index == self.global.index {
            return;
        }
        let previous = if index == self.global.index + 1 {
            self.global.count
        } else {
            0
        };
        self.global.previous = previous;
        self.global.count = 0;
        self.global.index = index;
        self.stats.global_rate = f64::from(previous) / self.settings.ddos_window.as_secs_f64();
        if self.global.active && previous <= self.settings.ddos_threshold {
            self.global.active = false;
            self.push_event(Event::DdosEnded);
        }
    }

    fn count_global(&mut self) {
        self.global.count = self.global.count.saturating_add(1);
        if !self.global.active && self.global.count > self.settings.ddos_threshold {
            self.global.active = true;
            self.push_event(Event::DdosStarted {
                count: self.global.count,
            });
        }
    }

    // ---- after parsing ------------------------------------------------

    /// SEC-5 malicious-call protection for one parsed request from `ip`,
    /// at every level and for allow-listed sources too. A drop verdict has
    /// put the source on the DoS deny-list (the brute-force list for
    /// svcrack, [`DropReason::BruteForce`]): send nothing back.
    ///
    /// Checks, in order: scanner signatures (From tag, User-Agent, default
    /// addresses, Call-ID + branch shapes: see [`crate::Fingerprint`]);
    /// toll fraud (an INVITE without authentication, from a source with no
    /// live registration and a From user that is no configured device, to a
    /// Request-URI user that is no configured device and looks like a
    /// public number); enumeration (more than `enumeration_threshold`
    /// distinct unknown target users from an unauthenticated, unregistered
    /// source within `enumeration_window`).
    pub fn inspect_request(
        &mut self,
        now: Instant,
        ip: IpAddr,
        facts: &RequestFacts<'_>,
    ) -> Verdict {
        let key = Key::of(ip);
        let t = self.clock.ms(now);
        if let Some(list) = self.deny.check(key, t) {
            return self.drop(DropReason::denied(list));
        }
        if let Some(fingerprint) = scanner_fingerprint(facts) {
            let reason = fingerprint.reason();
            self.deny_key(key, t, now, reason, fingerprint.to_string());
            return self.drop(match reason {
                Reason::BruteForce => DropReason::BruteForce,
                _ => DropReason::Scanner,
            });
        }
        let registered = self.registrations(key) > 0;
        if facts.is_authenticated || registered {
            return Verdict::Admit;
        }
        if facts.method == "INVITE" && !facts.from_is_known_user && !facts.target_is_known_user {
            if let Some(number) = facts.ruri_user.filter(|u| looks_like_external_number(u)) {
                let detail = format!("unauthenticated INVITE to {}", truncate(number, DETAIL_MAX));
                self.deny_key(key, t, now, Reason::TollFraud, detail);
                return self.drop(DropReason::TollFraud);
            }
        }
        if !facts.target_is_known_user {
            if let Some(user) = facts.target_user() {
                return self.count_unknown_user(key, t, now, user);
            }
        }
        Verdict::Admit
    }

    fn count_unknown_user(&mut self, key: Key, t: u64, now: Instant, user: &str) -> Verdict {
        let window = duration_ms(self.settings.enumeration_window);
        let threshold = self.settings.enumeration_threshold;
        let hash = self.hasher.hash_bytes(user.as_bytes());
        let slot = match self.enumeration.find(key) {
            Some(i) => {
                self.enumeration.touch(i);
                i
            }
            None => self.enumeration.insert(
                key,
                Enumeration {
                    start: t,
                    users: Vec::new(),
                },
            ),
        };
        let Some(e) = self.enumeration.value_mut(slot) else {
            return Verdict::Admit;
        };
        if t.saturating_sub(e.start) >= window {
            e.start = t;
            e.users.clear();
        }
        if !e.users.contains(&hash) {
            e.users.push(hash);
        }
        let distinct = e.users.len();
        if distinct > threshold as usize {
            e.users = Vec::new();
            let detail = format!(
                "{distinct} distinct unknown users in {} s, last {}",
                self.settings.enumeration_window.as_secs(),
                truncate(user, DETAIL_MAX)
            );
            self.deny_key(key, t, now, Reason::Enumeration, detail);
            return self.drop(DropReason::Enumeration);
        }
        Verdict::Admit
    }

    /// SEC-6: one digest failure (wrong password or unknown user, not a
    /// stale nonce) from `ip`. A drop verdict has put the source on the
    /// brute-force list: send nothing back.
    pub fn record_auth_failure(&mut self, now: Instant, ip: IpAddr) -> Verdict {
        let key = Key::of(ip);
        let t = self.clock.ms(now);
        if let Some(list) = self.deny.check(key, t) {
            return self.drop(DropReason::denied(list));
        }
        let window = duration_ms(self.settings.bruteforce_window);
        let slot = match self.auth_failures.find(key) {
            Some(i) => {
                self.auth_failures.touch(i);
                i
            }
            None => self
                .auth_failures
                .insert(key, Counter { start: t, count: 0 }),
        };
        let Some(c) = self.auth_failures.value_mut(slot) else {
            return Verdict::Admit;
        };
        if t.saturating_sub(c.start) >= window {
            *c = Counter { start: t, count: 0 };
        }
        c.count = c.count.saturating_add(1);
        let count = c.count;
        let registrations = self.registrations(key);
        let limit = u64::from(self.settings.bruteforce_threshold) * (1 + u64::from(registrations));
        if u64::from(count) > limit {
            let detail = format!(
                "{count} digest failures in {} s (limit {limit})",
                self.settings.bruteforce_window.as_secs()
            );
            self.deny_key(key, t, now, Reason::BruteForce, detail);
            return self.drop(DropReason::BruteForce);
        }
        Verdict::Admit
    }

    /// One authenticated registration from `ip` became live (`true`) or
    /// ended (`false`: expired, removed, refused by the iPBX). Sources with
    /// live registrations get the shared-NAT allowance, pass the DDoS
    /// filter and are never forgotten by the tracked-source table.
    pub fn record_registration(&mut self, ip: IpAddr, live: bool) {
        let key = Key::of(ip);
        let slot = match self.sources.find(key) {
            Some(i) => i,
            None if live => {
                let state = Source {
                    window_start: 0,
                    count: 0,
                    registrations: 0,
                    allow_generation: self.allow.generation(),
                    allowed: self.allow.contains(key),
                };
                self.sources.insert(key, state)
            }
            None => return,
        };
        let Some(s) = self.sources.value_mut(slot) else {
            return;
        };
        s.registrations = if live {
            s.registrations.saturating_add(1)
        } else {
            s.registrations.saturating_sub(1)
        };
        let pin = s.registrations > 0;
        // When the pinned cap is full the source keeps its count but may be
        // forgotten like any other; the cap is as large as the tracked one.
        self.sources.set_pinned(slot, pin);
    }

    /// Live registrations counted for `ip`'s source.
    pub fn registrations_of(&self, ip: IpAddr) -> u32 {
        self.registrations(Key::of(ip))
    }

    fn registrations(&self, key: Key) -> u32 {
        self.sources.peek(key).map_or(0, |s| s.registrations)
    }

    // ---- timers and events --------------------------------------------

    /// The next deadline: the earliest deny-list expiry, or the end of the
    /// current DDoS window while the filter is on. `None`: nothing to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ddos = self.global.active.then(|| {
            let window = duration_ms(self.settings.ddos_window).max(1);
            (self.global.index + 1).saturating_mul(window)
        });
        let next = match (self.deny.next_expiry(), ddos) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        self.clock.instant(next)
    }

    /// Expires deny-list entries and rolls the DDoS window. Calling it
    /// early or twice is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        let t = self.clock.ms(now);
        for e in self.deny.expire(t) {
            self.push_event(Event::Expired(e));
        }
        self.roll_global(t);
    }

    /// The next change to persist or log.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Counters and sizes for metrics.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.allow_list_size = self.allow.len();
        s.dos_list_size = self.deny.len(List::Dos);
        s.bruteforce_list_size = self.deny.len(List::BruteForce);
        s.tracked_sources = self.sources.unpinned_len();
        s.registered_sources = self.sources.pinned_len();
        s.ddos_active = self.global.active;
        s
    }

    fn push_event(&mut self, event: Event) {
        let cap = self.settings.deny_list_max.saturating_mul(2).max(4096);
        while self.events.len() >= cap {
            self.events.pop_front();
            self.stats.events_lost += 1;
        }
        self.events.push_back(event);
    }

    fn drop(&mut self, reason: DropReason) -> Verdict {
        self.stats.count_drop(reason);
        Verdict::Drop(reason)
    }

    // ---- lists --------------------------------------------------------

    fn deny_key(&mut self, key: Key, t: u64, now: Instant, reason: Reason, detail: String) {
        if self.deny.get(key).is_some() {
            if self.deny.check(key, t).is_some() {
                return;
            }
            if let Some(old) = self.deny.remove(key) {
                self.push_event(Event::Expired(old));
            }
        }
        let period = self.settings.deny_period.duration();
        let added_unix = self.clock.unix(now);
        let entry = Entry {
            prefix: key.prefix(),
            list: reason.list(),
            reason,
            detail,
            added_unix,
            expires_unix: period.map(|d| added_unix.saturating_add(d.as_secs())),
        };
        let expires_ms = period.map(|d| t.saturating_add(duration_ms(d)));
        self.insert_deny(key, entry, expires_ms);
    }

    fn insert_deny(&mut self, key: Key, entry: Entry, expires_ms: Option<u64>) {
        let evicted = self
            .deny
            .insert(key, entry.clone(), expires_ms, self.settings.deny_list_max);
        for e in evicted {
            self.push_event(Event::Evicted(e));
        }
        self.push_event(Event::Denied(entry));
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or(s)),
        None => s.to_owned(),
    }
}
