//! SEC-1..SEC-4 on a virtual clock: per-source windows, the allow-list,
//! levels, the DDoS filter, shared NAT and bounded memory.

mod common;

use std::time::Duration;

use common::{Sim, ip};
use outpost_guard::{DropReason, Event, Level, List, Reason, Settings, Verdict};

fn small() -> Settings {
    Settings {
        dos_threshold: 10,
        dos_window: Duration::from_secs(2),
        ..Settings::default()
    }
}

#[test]
fn exactly_at_threshold_is_admitted_one_above_is_denied() {
    let mut sim = Sim::new(small());
    assert_eq!(sim.burst("203.0.113.5", 10), 10);
    assert_eq!(sim.check("203.0.113.5"), Verdict::Drop(DropReason::Flood));
    assert_eq!(
        sim.check("203.0.113.5"),
        Verdict::Drop(DropReason::DeniedDos)
    );
    let events = sim.events();
    let [Event::Denied(entry)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(entry.prefix.to_string(), "203.0.113.5");
    assert_eq!((entry.list, entry.reason), (List::Dos, Reason::Flood));
    assert_eq!(entry.added_unix, common::T0_UNIX);
    assert_eq!(entry.expires_unix, Some(common::T0_UNIX + 3600));
    assert!(
        entry.detail.contains("11 requests in 2 s (limit 10)"),
        "{}",
        entry.detail
    );
    // Other sources are not affected.
    assert_eq!(sim.check("203.0.113.6"), Verdict::Admit);
    let stats = sim.guard.stats();
    assert_eq!(stats.dropped(DropReason::Flood), 1);
    assert_eq!(stats.dropped(DropReason::DeniedDos), 1);
    assert_eq!(stats.dos_list_size, 1);
}

#[test]
fn window_rolls_over() {
    let mut sim = Sim::new(small());
    sim.advance_ms(500);
    assert_eq!(sim.burst("203.0.113.5", 10), 10);
    // Still inside the window anchored at the first request (t = 0.5 s).
    sim.advance_ms(1_999);
    assert_eq!(sim.check("203.0.113.5"), Verdict::Drop(DropReason::Flood));

    let mut sim = Sim::new(small());
    sim.advance_ms(500);
    assert_eq!(sim.burst("203.0.113.5", 10), 10);
    sim.advance_ms(2_000);
    assert_eq!(sim.burst("203.0.113.5", 10), 10, "a new window starts");
    assert!(sim.events().is_empty());
}

#[test]
fn steady_traffic_under_the_threshold_is_never_denied() {
    let mut sim = Sim::new(small());
    // 4 requests per second = 8 per 2 s window, for an hour.
    for _ in 0..(3600 * 4) {
        assert_eq!(sim.check("198.51.100.9"), Verdict::Admit);
        sim.advance_ms(250);
    }
    assert!(sim.events().is_empty());
}

#[test]
fn allow_listed_sources_are_never_denied_for_flooding() {
    let mut sim = Sim::new(small());
    // Tracked before being allow-listed: the cached answer is refreshed.
    assert_eq!(sim.burst("198.51.100.7", 5), 5);
    let now = sim.now;
    sim.guard
        .allow(now, "198.51.100.0/24".parse().unwrap(), "HQ".into())
        .unwrap();
    sim.guard
        .allow(now, "192.0.2.10".parse().unwrap(), "trunk".into())
        .unwrap();
    assert_eq!(sim.burst("198.51.100.7", 10_000), 10_000);
    assert_eq!(sim.burst("198.51.100.200", 10_000), 10_000);
    assert_eq!(sim.burst("192.0.2.10", 10_000), 10_000);
    assert_eq!(
        sim.burst("192.0.2.11", 20),
        10,
        "a /32 entry is one address"
    );
    // Removing the entry ends the exemption.
    sim.guard
        .remove_allowed(&"198.51.100.0/24".parse().unwrap())
        .unwrap();
    sim.advance(Duration::from_secs(2));
    assert_eq!(sim.burst("198.51.100.7", 11), 10);
}

#[test]
fn ipv6_sources_are_grouped_by_64() {
    let mut sim = Sim::new(small());
    // Eleven requests from eleven addresses of one /64: one source.
    for n in 1..=10 {
        assert_eq!(sim.check(&format!("2001:db8:1:2::{n:x}")), Verdict::Admit);
    }
    assert_eq!(
        sim.check("2001:db8:1:2:dead:beef::1"),
        Verdict::Drop(DropReason::Flood)
    );
    assert_eq!(
        sim.check("2001:db8:1:2::ffff"),
        Verdict::Drop(DropReason::DeniedDos)
    );
    assert_eq!(sim.check("2001:db8:1:3::1"), Verdict::Admit, "next /64");
    let denied = sim.guard.deny_list(Some(List::Dos));
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].prefix.to_string(), "2001:db8:1:2::/64");

    // An allow-listed IPv6 prefix covers every /64 inside it.
    let now = sim.now;
    sim.guard
        .allow(now, "2001:db8:aa::/48".parse().unwrap(), String::new())
        .unwrap();
    assert_eq!(sim.burst("2001:db8:aa:5::1", 1000), 1000);
    // A bare IPv6 address on the allow-list means its /64.
    sim.guard
        .allow(now, "2001:db8:bb:1::7".parse().unwrap(), String::new())
        .unwrap();
    assert_eq!(sim.burst("2001:db8:bb:1::9999", 1000), 1000);
    assert_eq!(sim.burst("2001:db8:bb:2::1", 11), 10);
}

#[test]
fn allow_list_only_admits_only_allow_listed_sources() {
    let mut sim = Sim::new(Settings {
        level: Level::AllowListOnly,
        ..small()
    });
    let now = sim.now;
    sim.guard
        .allow(now, "192.0.2.0/28".parse().unwrap(), String::new())
        .unwrap();
    assert_eq!(
        sim.check("203.0.113.1"),
        Verdict::Drop(DropReason::NotAllowListed)
    );
    assert_eq!(sim.burst("192.0.2.3", 1000), 1000);
    assert_eq!(
        sim.check("192.0.2.16"),
        Verdict::Drop(DropReason::NotAllowListed)
    );
    assert_eq!(sim.guard.stats().tracked_sources, 0, "nothing tracked");
}

#[test]
fn level_none_does_not_rate_limit_but_enforces_deny_lists() {
    let mut sim = Sim::new(Settings {
        level: Level::None,
        ..small()
    });
    assert_eq!(sim.burst("203.0.113.9", 10_000), 10_000);
    let now = sim.now;
    sim.guard
        .deny(now, ip("203.0.113.9"), List::Dos, "by hand".into(), None)
        .unwrap();
    assert_eq!(
        sim.check("203.0.113.9"),
        Verdict::Drop(DropReason::DeniedDos)
    );
}

fn ddos_settings() -> Settings {
    Settings {
        ddos_threshold: 100,
        ddos_window: Duration::from_secs(2),
        ..Settings::default()
    }
}

fn spoofed(n: u32) -> String {
    let [a, b, c, d] = (0x0a00_0000 + n).to_be_bytes();
    format!("{a}.{b}.{c}.{d}")
}

#[test]
fn ddos_filter_serves_only_allow_listed_and_registered_sources() {
    let mut sim = Sim::new(ddos_settings());
    let now = sim.now;
    sim.guard
        .allow(now, "192.0.2.1".parse().unwrap(), String::new())
        .unwrap();
    sim.guard.record_registration(ip("198.51.100.50"), true);
    // A new phone that has not registered yet, seen before the attack: it
    // counts (it is unknown), the allow-listed and registered ones do not.
    assert_eq!(sim.check("198.51.100.60"), Verdict::Admit);
    assert_eq!(sim.check("192.0.2.1"), Verdict::Admit);
    assert_eq!(sim.check("198.51.100.50"), Verdict::Admit);
    for n in 0..99 {
        assert_eq!(sim.check(&spoofed(n)), Verdict::Admit);
    }
    // 100 unknown requests were admitted; the 101st trips the filter.
    assert_eq!(sim.check(&spoofed(99)), Verdict::Drop(DropReason::Ddos));
    assert!(sim.events().contains(&Event::DdosStarted { count: 101 }));
    assert!(sim.guard.stats().ddos_active);
    assert_eq!(sim.check(&spoofed(100)), Verdict::Drop(DropReason::Ddos));
    assert_eq!(sim.check("198.51.100.60"), Verdict::Drop(DropReason::Ddos));
    assert_eq!(sim.check("192.0.2.1"), Verdict::Admit, "allow-listed");
    assert_eq!(sim.check("198.51.100.50"), Verdict::Admit, "registered");

    // The attack goes on for 10 s: the filter stays on.
    for s in 0..10u32 {
        sim.advance_ms(500);
        for n in 0..200 {
            let _ = sim.check(&spoofed(1000 + s * 200 + n));
        }
        assert!(sim.guard.stats().ddos_active, "second {s}");
        assert_eq!(sim.check("198.51.100.50"), Verdict::Admit);
    }
    // It stops: after one whole quiet window the filter turns off by itself.
    sim.advance(Duration::from_secs(5));
    assert!(!sim.guard.stats().ddos_active);
    assert!(sim.events().contains(&Event::DdosEnded));
    assert_eq!(sim.check("198.51.100.60"), Verdict::Admit);
    assert!(sim.guard.stats().dropped(DropReason::Ddos) >= 2000);
}

#[test]
fn global_rate_is_reported_per_second() {
    let mut sim = Sim::new(ddos_settings());
    for n in 0..80 {
        let _ = sim.check(&spoofed(n));
    }
    sim.advance(Duration::from_secs(2));
    let stats = sim.guard.stats();
    assert!(
        (stats.global_rate - 40.0).abs() < 1e-9,
        "{}",
        stats.global_rate
    );
    assert!(!stats.ddos_active);
}

/// SEC-3: 50 phones behind one NAT, registering at the same moment, then
/// living an office day: never banned with the default settings.
#[test]
fn fifty_phones_behind_one_nat_are_never_denied() {
    let mut sim = Sim::defaults();
    let nat = ip("203.0.113.77");
    let send = |sim: &mut Sim, n: u32| {
        for _ in 0..n {
            let verdict = sim.guard.check_source(sim.now, nat);
            assert!(verdict.is_admit(), "{verdict:?} at {:?}", sim.now - sim.t0);
        }
    };
    // Power comes back: every phone sends REGISTER, and its retransmission
    // at 500 ms and 1.5 s, before Outpost answers (worst case).
    send(&mut sim, 50);
    sim.advance_ms(500);
    send(&mut sim, 50);
    sim.advance_ms(1000);
    send(&mut sim, 50);
    // Each phone answers the challenge and its registration goes live.
    for _ in 0..50 {
        send(&mut sim, 1);
        sim.guard.record_registration(nat, true);
    }
    // Within the same second: MWI SUBSCRIBE (challenged: 2), 20 BLF
    // SUBSCRIBEs (challenged: 40), 21 200 OKs to the initial NOTIFYs.
    send(&mut sim, 50 * 63);
    // An office hour: every phone re-registers every 60 s (2 requests),
    // sends an OPTIONS keep-alive every 30 s, answers 10 BLF NOTIFYs a
    // minute; 10 calls a minute with 12 INFO DTMF each and 6 other
    // messages.
    for _minute in 0..60 {
        for second in 0..60 {
            sim.advance_ms(1000);
            let mut n = 50 * 10 / 60 + 1; // NOTIFY 200s, spread
            if second % 30 == 0 {
                n += 50; // keep-alives, all in step
            }
            if second == 0 {
                n += 100; // re-registrations, all in step
            }
            if second % 6 == 0 {
                n += 18; // one call
            }
            send(&mut sim, n);
        }
    }
    assert!(sim.events().is_empty());
    assert_eq!(sim.guard.registrations_of(nat), 50);

    // The same opening burst from a source with no live registration is a
    // flood: the allowance is what saves the office.
    let mut sim = Sim::defaults();
    assert_eq!(sim.burst("203.0.113.78", 150 + 50 * 64), 500);
}

#[test]
fn a_registered_source_is_still_denied_beyond_its_allowance() {
    let mut sim = Sim::new(small());
    let src = ip("203.0.113.80");
    for _ in 0..3 {
        sim.guard.record_registration(src, true);
    }
    // 10 + 3 × 100 = 310 per window.
    assert_eq!(sim.burst("203.0.113.80", 400), 310);
    let denied = sim.guard.deny_list(None);
    assert!(
        denied[0].detail.contains("with 3 live registrations"),
        "{denied:?}"
    );
    // Registrations ending lowers the allowance again.
    let mut sim = Sim::new(small());
    sim.guard.record_registration(src, true);
    sim.guard.record_registration(src, false);
    sim.guard.record_registration(src, false); // spurious: stays at 0
    assert_eq!(sim.guard.registrations_of(src), 0);
    assert_eq!(sim.burst("203.0.113.80", 20), 10);
}

#[test]
fn memory_stays_bounded_with_a_million_sources() {
    let mut sim = Sim::new(Settings {
        max_tracked_sources: 10_000,
        ddos_threshold: 5000,
        ..Settings::default()
    });
    let phone = ip("192.0.2.200");
    sim.guard.record_registration(phone, true);
    // 1 000 000 distinct sources, 4000 per 10 s (under the DDoS filter),
    // so every one of them is tracked and the cap has to do the work.
    for n in 0..1_000_000u32 {
        let v4 = std::net::Ipv4Addr::from(0x0b00_0000 + n);
        let _ = sim.guard.check_source(sim.now, v4.into());
        if n % 400 == 0 {
            sim.advance_ms(1000);
        }
    }
    let stats = sim.guard.stats();
    assert_eq!(stats.tracked_sources, 10_000);
    assert_eq!(stats.registered_sources, 1);
    assert_eq!(sim.guard.registrations_of(phone), 1, "pinned, not evicted");

    // The same with IPv6 /64s, all at once: the DDoS filter trips and the
    // rest is not even tracked.
    let mut sim = Sim::new(Settings {
        max_tracked_sources: 10_000,
        ..Settings::default()
    });
    for n in 0..1_000_000u128 {
        let v6 = std::net::Ipv6Addr::from((0x2001_0db8_u128 << 96) | (n << 64) | 1);
        let _ = sim.guard.check_source(sim.now, v6.into());
    }
    let stats = sim.guard.stats();
    assert!(stats.tracked_sources <= 10_000, "{}", stats.tracked_sources);
    assert!(stats.ddos_active);
}

#[test]
fn is_refused_counts_nothing_and_sees_denials() {
    let mut sim = Sim::new(small());
    assert_eq!(sim.burst("203.0.113.5", 10), 10);
    let ip: std::net::IpAddr = "203.0.113.5".parse().unwrap();
    for _ in 0..100 {
        assert!(
            !sim.guard.is_refused(sim.now, ip),
            "asking spends no budget"
        );
    }
    assert_eq!(sim.check("203.0.113.5"), Verdict::Drop(DropReason::Flood));
    assert!(sim.guard.is_refused(sim.now, ip), "denied from now on");
    let other: std::net::IpAddr = "203.0.113.6".parse().unwrap();
    assert!(!sim.guard.is_refused(sim.now, other));
}
