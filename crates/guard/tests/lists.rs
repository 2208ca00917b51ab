//! Deny-list expiry for every period, size caps, operator operations,
//! snapshot and restore.

mod common;

use std::time::Duration;

use common::{Sim, T0_UNIX, ip};
use outpost_guard::{
    DenyPeriod, DropReason, Entry, Error, Event, Guard, List, Prefix, Reason, Settings, Verdict,
};

fn settings(period: DenyPeriod) -> Settings {
    Settings {
        dos_threshold: 10,
        dos_window: Duration::from_secs(2),
        deny_period: period,
        ..Settings::default()
    }
}

fn flood(sim: &mut Sim, source: &str) {
    sim.burst(source, 11);
    assert_eq!(sim.check(source), Verdict::Drop(DropReason::DeniedDos));
}

#[test]
fn every_deny_period_expires_on_time() {
    for period in DenyPeriod::ALL {
        let Some(length) = period.duration() else {
            continue;
        };
        let mut sim = Sim::new(settings(period));
        sim.advance(Duration::from_secs(7));
        flood(&mut sim, "203.0.113.5");
        let denied_at = sim.now;
        let entry = match sim.events().as_slice() {
            [Event::Denied(e)] => e.clone(),
            other => panic!("{period}: {other:?}"),
        };
        assert_eq!(
            entry.expires_unix,
            Some(entry.added_unix + length.as_secs())
        );
        assert_eq!(
            sim.guard.poll_timeout(),
            Some(denied_at + length),
            "{period}"
        );

        sim.advance(length - Duration::from_millis(1));
        assert_eq!(
            sim.check("203.0.113.5"),
            Verdict::Drop(DropReason::DeniedDos),
            "{period}: 1 ms early"
        );
        assert!(sim.events().is_empty());
        sim.advance_ms(1);
        assert_eq!(sim.events(), vec![Event::Expired(entry)], "{period}");
        assert_eq!(sim.check("203.0.113.5"), Verdict::Admit, "{period}");
        assert_eq!(sim.guard.poll_timeout(), None);
    }
}

#[test]
fn an_expired_entry_is_not_enforced_even_before_the_timer_runs() {
    let mut sim = Sim::new(settings(DenyPeriod::Secs30));
    flood(&mut sim, "203.0.113.5");
    // Jump without firing timers.
    sim.now += Duration::from_secs(30);
    assert_eq!(sim.check("203.0.113.5"), Verdict::Admit);
}

#[test]
fn never_means_never() {
    let mut sim = Sim::new(settings(DenyPeriod::Never));
    flood(&mut sim, "203.0.113.5");
    assert_eq!(sim.guard.poll_timeout(), None);
    sim.advance(Duration::from_secs(365 * 86_400));
    assert_eq!(
        sim.check("203.0.113.5"),
        Verdict::Drop(DropReason::DeniedDos)
    );
    let e = &sim.guard.deny_list(None)[0];
    assert_eq!(e.expires_unix, None);
}

#[test]
fn a_full_deny_list_evicts_its_oldest_entry() {
    let mut sim = Sim::new(Settings {
        deny_list_max: 10,
        ..settings(DenyPeriod::Hour1)
    });
    for n in 0..10 {
        flood(&mut sim, &format!("203.0.113.{n}"));
        sim.advance_ms(100);
    }
    sim.events();
    flood(&mut sim, "203.0.113.10");
    let events = sim.events();
    let [Event::Evicted(oldest), Event::Denied(newest)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(oldest.prefix.to_string(), "203.0.113.0");
    assert_eq!(newest.prefix.to_string(), "203.0.113.10");
    assert_eq!(sim.guard.stats().dos_list_size, 10);
    sim.advance(Duration::from_secs(2));
    assert_eq!(sim.check("203.0.113.0"), Verdict::Admit, "evicted");
    assert_eq!(
        sim.check("203.0.113.1"),
        Verdict::Drop(DropReason::DeniedDos)
    );
    // The brute-force list has its own cap: DoS entries are not evicted
    // for it.
    let now = sim.now;
    sim.guard
        .deny(
            now,
            ip("198.51.100.1"),
            List::BruteForce,
            String::new(),
            None,
        )
        .unwrap();
    assert_eq!(sim.guard.stats().dos_list_size, 10);
    assert_eq!(sim.guard.stats().bruteforce_list_size, 1);

    // Lowering the maximum evicts the oldest at once.
    let mut sim2 = Sim::new(Settings {
        deny_list_max: 20,
        ..settings(DenyPeriod::Hour1)
    });
    for n in 0..20 {
        flood(&mut sim2, &format!("192.0.2.{n}"));
    }
    sim2.events();
    let mut lower = sim2.guard.settings().clone();
    lower.deny_list_max = 10;
    sim2.guard.set_settings(lower).unwrap();
    let evicted: Vec<String> = sim2
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Evicted(e) => Some(e.prefix.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(evicted.len(), 10);
    assert_eq!(evicted[0], "192.0.2.0");
    assert_eq!(evicted[9], "192.0.2.9");
}

#[test]
fn operator_removes_one_a_series_a_prefix_or_everything() {
    let mut sim = Sim::new(settings(DenyPeriod::Hour1));
    for n in 1..=6 {
        flood(&mut sim, &format!("203.0.113.{n}"));
    }
    flood(&mut sim, "2001:db8:5:6::1");
    let now = sim.now;
    sim.guard
        .deny(
            now,
            ip("198.51.100.9"),
            List::BruteForce,
            "svcrack".into(),
            None,
        )
        .unwrap();
    sim.events();

    let one: Prefix = "203.0.113.1".parse().unwrap();
    let gone = sim.guard.remove_denied(&[one], None);
    assert_eq!(gone.len(), 1);
    assert_eq!(sim.events(), vec![Event::Removed(gone[0].clone())]);
    assert_eq!(sim.check("203.0.113.1"), Verdict::Admit);

    let series: Vec<Prefix> = ["203.0.113.2", "203.0.113.3", "192.0.2.99"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(sim.guard.remove_denied(&series, None).len(), 2);

    // A prefix covering the rest of the IPv4 entries, on the DoS list only.
    let net: Prefix = "203.0.113.0/24".parse().unwrap();
    assert_eq!(
        sim.guard
            .remove_denied(&[net], Some(List::BruteForce))
            .len(),
        0
    );
    assert_eq!(sim.guard.remove_denied(&[net], Some(List::Dos)).len(), 3);
    // An IPv6 /32 covers the denied /64.
    let v6: Prefix = "2001:db8::/32".parse().unwrap();
    assert_eq!(sim.guard.remove_denied(&[v6], None).len(), 1);

    assert_eq!(sim.guard.deny_list(Some(List::Dos)).len(), 0);
    assert_eq!(sim.guard.clear_denied(Some(List::Dos)).len(), 0);
    let cleared = sim.guard.clear_denied(None);
    assert_eq!(cleared.len(), 1);
    assert_eq!(cleared[0].detail, "svcrack");
    assert_eq!(sim.check("198.51.100.9"), Verdict::Admit);
}

#[test]
fn allow_list_holds_100_entries_without_duplicates() {
    let mut sim = Sim::defaults();
    let now = sim.now;
    for n in 0..100 {
        let p: Prefix = format!("10.0.{n}.0/24").parse().unwrap();
        sim.guard.allow(now, p, format!("site {n}")).unwrap();
    }
    let extra: Prefix = "192.0.2.1".parse().unwrap();
    let err = sim.guard.allow(now, extra, String::new()).unwrap_err();
    assert_eq!(err, Error::AllowListFull { max: 100 });
    assert!(err.to_string().contains("100 entries"), "{err}");
    let dup: Prefix = "10.0.5.0/24".parse().unwrap();
    assert!(sim.guard.remove_allowed(&dup).is_some());
    sim.guard.allow(now, dup, String::new()).unwrap();
    let err = sim.guard.allow(now, dup, String::new()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::AlreadyListed {
                list: List::Allow,
                ..
            }
        ),
        "{err}"
    );
    let everything: Prefix = "0.0.0.0/0".parse().unwrap();
    assert!(matches!(
        sim.guard.allow(now, everything, String::new()),
        Err(Error::Prefix { .. })
    ));
    assert_eq!(sim.guard.allow_list().len(), 100);
}

#[test]
fn snapshot_and_restore_keep_lists_dates_and_remaining_time() {
    let mut sim = Sim::new(settings(DenyPeriod::Mins30));
    let now = sim.now;
    sim.guard
        .allow(now, "198.51.100.0/24".parse().unwrap(), "HQ".into())
        .unwrap();
    flood(&mut sim, "203.0.113.5"); // expires at +30 min
    sim.advance(Duration::from_secs(600));
    flood(&mut sim, "203.0.113.6"); // expires at +40 min
    sim.guard
        .deny(
            sim.now,
            ip("192.0.2.66"),
            List::BruteForce,
            "x".into(),
            None,
        )
        .unwrap();
    let snapshot = sim.guard.entries();
    assert_eq!(snapshot.len(), 4);
    assert_eq!(snapshot[0].list, List::Allow);

    // The process restarts 25 minutes after the start, with a new
    // monotonic origin.
    let later = sim.now + Duration::from_secs(900);
    let later_unix = T0_UNIX + 1500;
    let mut restored = Guard::restore(
        sim.guard.settings().clone(),
        snapshot.clone(),
        later,
        later_unix,
    )
    .unwrap();
    assert!(restored.poll_event().is_none());
    assert_eq!(restored.entries(), snapshot);
    assert_eq!(
        restored.poll_timeout(),
        Some(later + Duration::from_secs(300)),
        "5 minutes left on the first entry"
    );
    assert_eq!(
        restored.check_source(later, ip("203.0.113.5")),
        Verdict::Drop(DropReason::DeniedDos)
    );
    assert_eq!(
        restored.check_source(later, ip("192.0.2.66")),
        Verdict::Drop(DropReason::DeniedBruteForce)
    );
    for _ in 0..1000 {
        assert!(restored.check_source(later, ip("198.51.100.1")).is_admit());
    }

    // Restarting 35 minutes after the start: the first entry is over.
    let mut restored = Guard::restore(
        sim.guard.settings().clone(),
        snapshot.clone(),
        later,
        T0_UNIX + 2100,
    )
    .unwrap();
    let expired = restored.poll_event();
    assert!(
        matches!(&expired, Some(Event::Expired(e)) if e.prefix.to_string() == "203.0.113.5"),
        "{expired:?}"
    );
    assert!(restored.check_source(later, ip("203.0.113.5")).is_admit());
}

#[test]
fn restore_skips_what_it_cannot_take() {
    let entry = |prefix: &str, list: List| Entry {
        prefix: prefix.parse().unwrap(),
        list,
        reason: if list == List::Allow {
            Reason::Operator
        } else {
            Reason::Flood
        },
        detail: String::new(),
        added_unix: T0_UNIX,
        expires_unix: None,
    };
    let mut entries = vec![
        entry("203.0.113.0/24", List::Dos),
        entry("203.0.113.1", List::Dos),
        entry("203.0.113.1", List::BruteForce),
    ];
    entries.extend((0..101).map(|n| entry(&format!("10.{n}.0.0/16"), List::Allow)));
    let sim = Sim::defaults();
    let mut guard = Guard::restore(Settings::default(), entries, sim.now, T0_UNIX).unwrap();
    let skipped: Vec<String> = std::iter::from_fn(|| guard.poll_event())
        .map(|e| match e {
            Event::Skipped { entry, why } => format!("{} {}: {why}", entry.list, entry.prefix),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:#?}");
    assert!(skipped[0].contains("one source"), "{}", skipped[0]);
    assert!(skipped[1].contains("already denied"), "{}", skipped[1]);
    assert!(skipped[2].contains("allow-list is full"), "{}", skipped[2]);
    assert_eq!(guard.allow_list().len(), 100);
}

#[test]
fn replace_entries_swaps_the_lists_and_keeps_counters() {
    let mut sim = Sim::new(settings(DenyPeriod::Hour1));
    sim.burst("203.0.113.7", 10);
    flood(&mut sim, "203.0.113.8");
    let now = sim.now;
    let entry = Entry {
        prefix: "192.0.2.1".parse().unwrap(),
        list: List::Dos,
        reason: Reason::Operator,
        detail: "from the CLI".into(),
        added_unix: sim.unix_now(),
        expires_unix: None,
    };
    sim.guard
        .replace_entries(vec![entry.clone()], now, sim.unix_now());
    assert_eq!(sim.guard.entries(), vec![entry]);
    assert_eq!(
        sim.check("203.0.113.7"),
        Verdict::Drop(DropReason::Flood),
        "count kept"
    );
    sim.advance(Duration::from_secs(2));
    assert_eq!(sim.check("203.0.113.8"), Verdict::Admit, "no longer denied");
    assert_eq!(sim.check("192.0.2.1"), Verdict::Drop(DropReason::DeniedDos));
}
