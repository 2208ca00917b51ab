//! Settings: defaults, validation messages (field, value, allowed range),
//! the persisted string form.

mod common;

use std::time::Duration;

use common::{Sim, T0_UNIX};
use outpost_guard::{DenyPeriod, Error, Guard, KEYS, Level, SettingError, Settings};

fn problems(e: Error) -> Vec<SettingError> {
    match e {
        Error::Settings(p) => p,
        other => panic!("expected Settings, got {other:?}"),
    }
}

#[test]
fn defaults_are_valid_and_match_the_seed() {
    let s = Settings::default();
    s.validate().unwrap();
    assert_eq!(s.level, Level::AutoProtection, "first installation");
    assert_eq!(s.deny_period, DenyPeriod::Hour1);
    assert_eq!(
        DenyPeriod::ALL.map(|p| p.as_str()),
        ["30s", "5min", "30min", "1h", "1d", "1w", "never"]
    );
}

#[test]
fn every_out_of_range_field_is_reported_with_its_value_and_range() {
    let bad = Settings {
        level: Level::None,
        dos_threshold: 9,
        dos_window: Duration::from_millis(2500),
        deny_period: DenyPeriod::Never,
        deny_list_max: 9,
        ddos_threshold: 5001,
        ddos_window: Duration::from_secs(11),
        bruteforce_threshold: 2,
        bruteforce_window: Duration::from_secs(3601),
        enumeration_threshold: 101,
        enumeration_window: Duration::from_secs(9),
        registered_allowance: 0,
        max_tracked_sources: 999,
    };
    let p = problems(bad.validate().unwrap_err());
    let shown: Vec<String> = p.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "dos_threshold = 9: out of range; allowed 10..=5000",
            "dos_window = 2.5s: out of range; allowed 2..=10 whole seconds",
            "deny_list_max = 9: out of range; allowed 10..=100000",
            "ddos_threshold = 5001: out of range; allowed 10..=5000",
            "ddos_window = 11: out of range; allowed 2..=10 whole seconds",
            "bruteforce_threshold = 2: out of range; allowed 3..=1000",
            "bruteforce_window = 3601: out of range; allowed 10..=3600 whole seconds",
            "enumeration_threshold = 101: out of range; allowed 3..=100",
            "enumeration_window = 9: out of range; allowed 10..=3600 whole seconds",
            "registered_allowance = 0: out of range; allowed 10..=5000",
            "max_tracked_sources = 999: out of range; allowed 1000..=10000000",
        ]
    );
    let err = Error::Settings(p).to_string();
    assert!(
        err.starts_with("invalid guard settings (11 problem(s)):\n  - dos_threshold"),
        "{err}"
    );
}

#[test]
fn bounds_are_inclusive() {
    for (threshold, window) in [(10, 2), (5000, 10)] {
        let s = Settings {
            dos_threshold: threshold,
            dos_window: Duration::from_secs(window),
            ddos_threshold: threshold,
            ddos_window: Duration::from_secs(window),
            ..Settings::default()
        };
        s.validate().unwrap();
    }
}

#[test]
fn pairs_round_trip_and_missing_keys_take_defaults() {
    let s = Settings {
        level: Level::AllowListOnly,
        dos_threshold: 42,
        dos_window: Duration::from_secs(3),
        deny_period: DenyPeriod::Week1,
        ..Settings::default()
    };
    let pairs = s.to_pairs();
    assert_eq!(pairs.iter().map(|(k, _)| *k).collect::<Vec<_>>(), KEYS);
    assert_eq!(Settings::from_pairs(&pairs).unwrap(), s);
    let partial = [("level", "none"), ("deny_period", "never")];
    let read = Settings::from_pairs(&partial).unwrap();
    assert_eq!(read.level, Level::None);
    assert_eq!(read.deny_period, DenyPeriod::Never);
    assert_eq!(read.dos_threshold, Settings::default().dos_threshold);
    let empty: [(&str, &str); 0] = [];
    assert_eq!(Settings::from_pairs(&empty).unwrap(), Settings::default());
}

#[test]
fn bad_pairs_are_all_reported() {
    let pairs = [
        ("level", "paranoid"),
        ("deny_period", "2h"),
        ("dos_threshold", "lots"),
        ("dos_window", "20"),
        ("colour", "blue"),
    ];
    let shown: Vec<String> = problems(Settings::from_pairs(&pairs).unwrap_err())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        [
            "level = \"paranoid\": allowed: \"none\", \"auto-protection\", \"allow-list-only\"",
            "deny_period = \"2h\": allowed: \"30s\", \"5min\", \"30min\", \"1h\", \"1d\", \"1w\", \"never\"",
            "dos_threshold = \"lots\": not a whole number; allowed 10..=5000",
            "colour = \"blue\": unknown key; known keys: level, dos_threshold, dos_window, deny_period, \
             deny_list_max, ddos_threshold, ddos_window, bruteforce_threshold, bruteforce_window, \
             enumeration_threshold, enumeration_window, registered_allowance, max_tracked_sources",
            "dos_window = 20: out of range; allowed 2..=10 whole seconds",
        ]
    );
}

#[test]
fn the_guard_refuses_invalid_settings_and_keeps_the_old_ones() {
    let bad = Settings {
        dos_threshold: 1,
        ..Settings::default()
    };
    let sim = Sim::defaults();
    assert!(matches!(
        Guard::new(bad.clone(), sim.now, T0_UNIX),
        Err(Error::Settings(_))
    ));
    let mut sim = Sim::defaults();
    assert!(sim.guard.set_settings(bad).is_err());
    assert_eq!(sim.guard.settings(), &Settings::default());
}
