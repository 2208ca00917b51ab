//! The guard's settings (SEC-1..SEC-6) as `guard.*` keys. They live in the
//! database only (the guard's settings table, where `outpost guard set`
//! writes them) and a running gateway applies them within seconds. Their
//! ranges and spellings are the guard crate's constants, not copies.

use outpost_guard::{
    BRUTEFORCE_THRESHOLD_RANGE, DENY_LIST_MAX_RANGE, DenyPeriod, ENUMERATION_THRESHOLD_RANGE,
    Level, MAX_TRACKED_RANGE, REGISTERED_ALLOWANCE_RANGE, SLOW_WINDOW_SECS_RANGE, THRESHOLD_RANGE,
    WINDOW_SECS_RANGE,
};

use super::{Access, Kind, Scope, Setting, Unit};

/// The prefix of the guard's keys in the registry.
pub(crate) const PREFIX: &str = "guard.";

pub(super) fn settings() -> Vec<Setting> {
    let guard = |key: &'static str, kind: Kind, unit: Option<Unit>, description| {
        let mut setting = Setting::new(
            key,
            kind,
            description,
            Access::Guard {
                key: key.strip_prefix(PREFIX).unwrap_or(key),
            },
        )
        .scope(Scope::DatabaseOnly)
        .live();
        setting.unit = unit;
        setting
    };
    let windows = Kind::range(&WINDOW_SECS_RANGE);
    let slow_windows = Kind::range(&SLOW_WINDOW_SECS_RANGE);
    let secs = Some(Unit::Seconds);
    let requests = Some(Unit::Requests);
    vec![
        guard(
            "guard.level",
            Kind::Choice {
                values: Level::ALL.map(Level::as_str).to_vec(),
            },
            None,
            "Security level (SEC-1): none, auto-protection (rate limits and deny-lists) or \
             allow-list-only.",
        ),
        guard(
            "guard.dos_threshold",
            Kind::range(&THRESHOLD_RANGE),
            requests,
            "Requests one source may send per DoS window before it is put on the DoS deny-list \
             (SEC-3).",
        ),
        guard(
            "guard.dos_window",
            windows.clone(),
            secs,
            "The DoS counting window (SEC-3).",
        ),
        guard(
            "guard.deny_period",
            Kind::Choice {
                values: DenyPeriod::ALL.map(DenyPeriod::as_str).to_vec(),
            },
            None,
            "How long an automatic deny-list entry lasts (SEC-3).",
        ),
        guard(
            "guard.deny_list_max",
            Kind::range(&DENY_LIST_MAX_RANGE),
            Some(Unit::Entries),
            "Size of each deny-list; the oldest entry makes room (SEC-3).",
        ),
        guard(
            "guard.ddos_threshold",
            Kind::range(&THRESHOLD_RANGE),
            requests,
            "Requests per DDoS window from sources neither allow-listed nor registered above \
             which only those are served (SEC-4).",
        ),
        guard(
            "guard.ddos_window",
            windows,
            secs,
            "The DDoS counting window (SEC-4).",
        ),
        guard(
            "guard.bruteforce_threshold",
            Kind::range(&BRUTEFORCE_THRESHOLD_RANGE),
            Some(Unit::Failures),
            "Digest failures from one source per brute-force window that put it on the \
             brute-force list (SEC-6).",
        ),
        guard(
            "guard.bruteforce_window",
            slow_windows.clone(),
            secs,
            "The brute-force counting window (SEC-6).",
        ),
        guard(
            "guard.enumeration_threshold",
            Kind::range(&ENUMERATION_THRESHOLD_RANGE),
            Some(Unit::Users),
            "Distinct unknown users one unauthenticated source may address per enumeration \
             window before it is put on the DoS deny-list (SEC-5).",
        ),
        guard(
            "guard.enumeration_window",
            slow_windows,
            secs,
            "The enumeration counting window (SEC-5).",
        ),
        guard(
            "guard.registered_allowance",
            Kind::range(&REGISTERED_ALLOWANCE_RANGE),
            requests,
            "Extra requests per DoS window granted to a source per live registration, so an \
             office behind one NAT is never banned (SEC-3).",
        ),
        guard(
            "guard.max_tracked_sources",
            Kind::range(&MAX_TRACKED_RANGE),
            Some(Unit::Sources),
            "Sources tracked for rate counting; the least recently seen is forgotten first.",
        ),
    ]
}

/// The persisted text of the guard's `key` in `settings`.
pub(crate) fn value_of(settings: &outpost_guard::Settings, key: &str) -> Option<String> {
    settings
        .to_pairs()
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}
