//! Outpost's guard: security levels, per-source and global rate limits,
//! the allow-list, the DoS and brute-force deny-lists, and scanner,
//! enumeration and toll-fraud detection (SPEC SEC-1..SEC-6, SIG-10).
//!
//! # What it does
//!
//! - [`Guard::check_source`] is paid by every UDP datagram, stream message
//!   and new TCP/TLS connection **before parsing**, on the source address
//!   only: deny-lists first (O(1) hash lookup, no allocation), then the
//!   level ([`Level`]), then the per-source DoS window, then the global
//!   DDoS window.
//! - [`Guard::inspect_request`] runs on parsed requests (SEC-5, always on,
//!   allow-listed sources included): scanner fingerprints
//!   ([`Fingerprint`]), toll fraud, enumeration. [`Guard::record_auth_failure`]
//!   counts digest failures (SEC-6). [`Guard::record_registration`] tells
//!   the guard which sources have live authenticated registrations.
//! - Lists: the allow-list (up to 100 addresses or prefixes), the DoS
//!   deny-list and the brute-force deny-list, each entry with its reason,
//!   date and expiry ([`Entry`]); size caps with oldest eviction; expiry as
//!   timers-as-data ([`Guard::poll_timeout`], [`Guard::handle_timeout`]);
//!   list, remove one, remove a series (addresses or prefixes), clear.
//!   Every change comes out of [`Guard::poll_event`] so the binary persists
//!   and logs it; [`Guard::entries`] and [`Guard::restore`] round-trip the
//!   lists through the store.
//! - Counters for metrics ([`Stats`]): `outpost_guard_dropped_total{reason}`
//!   ([`DropReason::as_str`]), `outpost_guard_list_size{list}`,
//!   `outpost_guard_global_rate`.
//!
//! # What it does not do
//!
//! - **No clock, no sockets** (ARCHITECTURE rule 1): time is the `now:
//!   Instant` of each call; dates shown to the operator derive from the
//!   Unix time given at construction ([`Guard::set_unix_time`] re-anchors).
//! - **No parsing**: the ingress fills [`RequestFacts`] from the parsed
//!   message; the B2BUA reports authentication failures and registrations.
//! - **No persistence**: `outpost-store` keeps the lists and settings; the
//!   binary applies the events to it.
//! - **No locking**: one `Guard` is `&mut`; a multi-threaded driver wraps
//!   it in a mutex (an uncontended lock costs about what a check costs) or
//!   shards it.
//!
//! # Design choices
//!
//! - **Sources** are IPv4 addresses or IPv6 /64s ([`Prefix`]): a host owns
//!   a whole /64 and could otherwise pose as 2^64 sources.
//! - **Fixed windows anchored at a source's first request** rather than
//!   sliding windows: one timestamp and one counter per source, the exact
//!   semantics of the seed ("requests allowed per window", a "sampling
//!   period"), and an exact test (threshold admitted, threshold + 1
//!   denied). A fixed window lets through at most twice the threshold
//!   across a boundary, but the sustained rate a source can keep without
//!   being denied is the same `threshold / window` as with a sliding one.
//!   The global window is aligned on multiples of its length so that its
//!   rate is a plain per-window figure.
//! - **Bounded memory**: tracked sources are capped
//!   ([`Settings::max_tracked_sources`]) with least-recently-seen eviction
//!   in O(1) (an intrusive list over a slab); sources with live
//!   registrations are pinned apart (same cap again); brute-force and
//!   enumeration suspects have their own cap ([`SUSPECT_CAP`]); deny-lists
//!   have [`Settings::deny_list_max`] each; the event queue is bounded.
//!   While the DDoS filter is on, unknown sources are dropped without
//!   being tracked, so a spoofed flood cannot churn the table.
//! - **Shared NAT (SEC-3)**: a source with `n` live authenticated
//!   registrations may send `dos_threshold + n × registered_allowance`
//!   requests per window and fail digest `bruteforce_threshold × (n + 1)`
//!   times per window; it also passes the DDoS filter (SEC-4) and is never
//!   evicted from the table. Only the B2BUA, after checking credentials,
//!   can make a source "registered", so an attacker cannot claim it.
//! - **DDoS (SEC-4)** counts requests from sources that are neither
//!   allow-listed nor registered — exactly those the filter would drop —
//!   including the ones it drops, so it stays on while the attack lasts
//!   and ends after one whole window under the threshold. Denied sources
//!   are not counted: they already cost nothing.
//! - **Level `none`** turns off rate limiting and the allow-list but keeps
//!   SEC-5 and SEC-6 and enforces the deny-lists they fill: the seed keeps
//!   the "Deny-List DoS" tab at that level because malicious-call control
//!   "is always done".
//! - **Deny beats allow**: an allow-listed source is never denied for
//!   flooding (SEC-2), but a scanner signature or toll fraud from it denies
//!   it like any other (SEC-5), and then the deny-list wins.
//! - **Tables are keyed** with a seed from the binary
//!   ([`Guard::with_hash_seed`]) so colliding sources cannot be chosen.

#![forbid(unsafe_code)]

mod addr;
mod entry;
mod fingerprint;
mod guard;
mod hash;
mod lists;
mod settings;
mod table;
mod verdict;

pub use addr::Prefix;
pub use entry::{Entry, List, Reason};
pub use fingerprint::{
    EXTERNAL_NUMBER_MIN_DIGITS, Fingerprint, RequestFacts, looks_like_external_number,
    scanner_fingerprint,
};
pub use guard::{Guard, SUSPECT_CAP};
pub use settings::{
    ALLOW_LIST_MAX, BRUTEFORCE_THRESHOLD_RANGE, DENY_LIST_MAX_RANGE, DenyPeriod,
    ENUMERATION_THRESHOLD_RANGE, KEYS, Level, MAX_TRACKED_RANGE, REGISTERED_ALLOWANCE_RANGE,
    SLOW_WINDOW_SECS_RANGE, SettingError, Settings, THRESHOLD_RANGE, WINDOW_SECS_RANGE,
};
pub use verdict::{DropReason, Event, Stats, Verdict};

/// Everything the guard refuses.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Settings out of range or unparsable; every problem is listed.
    #[error("invalid guard settings ({} problem(s)):{}", .0.len(), bulleted(.0))]
    Settings(Vec<SettingError>),
    /// Not a usable address or prefix.
    #[error("{input:?} is not a usable address or prefix: {reason}")]
    Prefix {
        /// What was given.
        input: String,
        /// Why it was refused, and what would do.
        reason: String,
    },
    /// The allow-list holds its maximum (SEC-2: 100 entries).
    #[error("the allow-list is full ({max} entries); remove an entry first")]
    AllowListFull {
        /// The maximum.
        max: usize,
    },
    /// The address or source is already on a list.
    #[error("{prefix} is already on the {list} list")]
    AlreadyListed {
        /// The entry's address or prefix.
        prefix: Prefix,
        /// The list it is on.
        list: List,
    },
    /// A deny operation named the allow-list.
    #[error("{list} is not a deny-list (use `dos` or `bruteforce`)")]
    NotADenyList {
        /// The list given.
        list: List,
    },
}

fn bulleted(errors: &[SettingError]) -> String {
    errors.iter().map(|e| format!("\n  - {e}")).collect()
}
