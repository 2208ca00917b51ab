//! Random event sequences never panic, and no list or table exceeds its cap.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use common::{Sim, T0_UNIX};
use outpost_guard::{
    ALLOW_LIST_MAX, DenyPeriod, Event, Guard, Level, List, Prefix, RequestFacts, SUSPECT_CAP,
    Settings,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Packet(u16),
    Burst(u16, u16),
    Request(u16, u8, bool, bool),
    AuthFailure(u16),
    Registration(u16, bool),
    Advance(u32),
    Allow(u16, u8),
    Unallow(u16, u8),
    Deny(u16),
    RemoveDenied(u16, u8),
    Clear(u8),
    Level(u8),
    Restore,
}

/// Sources: a small pool that collides a lot, IPv4 and IPv6.
fn source(n: u16) -> IpAddr {
    if n % 3 == 0 {
        IpAddr::V6(Ipv6Addr::from(
            (0x2001_0db8_u128 << 96) | (u128::from(n % 64) << 64) | u128::from(n),
        ))
    } else {
        IpAddr::V4(Ipv4Addr::from(0xc633_6400 + u32::from(n % 512)))
    }
}

fn prefix(n: u16, len: u8) -> Prefix {
    let ip = source(n);
    let len = if ip.is_ipv4() {
        8 + len % 25
    } else {
        16 + len % 49
    };
    let bits = match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX << (32 - u32::from(len));
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX << (128 - u32::from(len));
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    };
    Prefix::new(bits, len).unwrap()
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<u16>().prop_map(Op::Packet),
        3 => (any::<u16>(), 0..40u16).prop_map(|(s, n)| Op::Burst(s, n)),
        3 => (any::<u16>(), any::<u8>(), any::<bool>(), any::<bool>())
            .prop_map(|(s, u, a, k)| Op::Request(s, u, a, k)),
        2 => any::<u16>().prop_map(Op::AuthFailure),
        2 => (any::<u16>(), any::<bool>()).prop_map(|(s, l)| Op::Registration(s, l)),
        3 => (0..120_000u32).prop_map(Op::Advance),
        1 => (any::<u16>(), any::<u8>()).prop_map(|(s, l)| Op::Allow(s, l)),
        1 => (any::<u16>(), any::<u8>()).prop_map(|(s, l)| Op::Unallow(s, l)),
        1 => any::<u16>().prop_map(Op::Deny),
        1 => (any::<u16>(), any::<u8>()).prop_map(|(s, l)| Op::RemoveDenied(s, l)),
        1 => any::<u8>().prop_map(Op::Clear),
        1 => any::<u8>().prop_map(Op::Level),
        1 => Just(Op::Restore),
    ]
}

fn settings(period: u8, max: u8) -> Settings {
    Settings {
        dos_threshold: 10,
        dos_window: Duration::from_secs(2),
        ddos_threshold: 60,
        ddos_window: Duration::from_secs(2),
        deny_period: DenyPeriod::ALL[usize::from(period) % DenyPeriod::ALL.len()],
        deny_list_max: 10 + usize::from(max % 20),
        bruteforce_threshold: 3,
        enumeration_threshold: 3,
        max_tracked_sources: 1000,
        ..Settings::default()
    }
}

const USERS: [&str; 8] = [
    "100",
    "101",
    "2001",
    "+4930123456",
    "alice",
    "",
    "0044",
    "x",
];
const AGENTS: [&str; 4] = ["Yealink SIP-T54W", "friendly-scanner", "baresip", "sipcli"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_every_bound(
        period in any::<u8>(),
        max in any::<u8>(),
        ops in proptest::collection::vec(op(), 1..300),
    ) {
        let settings = settings(period, max);
        let cap = settings.deny_list_max;
        let mut sim = Sim::new(settings);
        for op in ops {
            let now = sim.now;
            match op {
                Op::Packet(s) => { let _ = sim.guard.check_source(now, source(s)); }
                Op::Burst(s, n) => {
                    for _ in 0..n { let _ = sim.guard.check_source(now, source(s)); }
                }
                Op::Request(s, u, authenticated, known) => {
                    let user = USERS[usize::from(u) % USERS.len()];
                    let agent = AGENTS[usize::from(u / 8) % AGENTS.len()];
                    let facts = RequestFacts {
                        method: if u % 2 == 0 { "INVITE" } else { "REGISTER" },
                        user_agent: Some(agent),
                        to_user: Some(user),
                        ruri_user: Some(user),
                        is_authenticated: authenticated,
                        target_is_known_user: known,
                        ..RequestFacts::default()
                    };
                    let _ = sim.guard.inspect_request(now, source(s), &facts);
                }
                Op::AuthFailure(s) => { let _ = sim.guard.record_auth_failure(now, source(s)); }
                Op::Registration(s, live) => sim.guard.record_registration(source(s), live),
                Op::Advance(ms) => sim.advance_ms(u64::from(ms)),
                Op::Allow(s, l) => { let _ = sim.guard.allow(now, prefix(s, l), String::new()); }
                Op::Unallow(s, l) => { let _ = sim.guard.remove_allowed(&prefix(s, l)); }
                Op::Deny(s) => {
                    let list = if s % 2 == 0 { List::Dos } else { List::BruteForce };
                    let _ = sim.guard.deny(now, source(s), list, String::new(), None);
                }
                Op::RemoveDenied(s, l) => { let _ = sim.guard.remove_denied(&[prefix(s, l)], None); }
                Op::Clear(l) => {
                    let list = [None, Some(List::Dos), Some(List::BruteForce)][usize::from(l) % 3];
                    let _ = sim.guard.clear_denied(list);
                }
                Op::Level(l) => {
                    let mut s = sim.guard.settings().clone();
                    s.level = Level::ALL[usize::from(l) % 3];
                    sim.guard.set_settings(s).unwrap();
                }
                Op::Restore => {
                    let entries = sim.guard.entries();
                    let restored = Guard::restore(
                        sim.guard.settings().clone(), entries.clone(), now, sim.unix_now(),
                    ).unwrap();
                    // Nothing is lost or invented by a round trip at the
                    // same instant, except entries already expired.
                    let mut back = restored.entries();
                    let mut want: Vec<_> = entries
                        .into_iter()
                        .filter(|e| e.expires_unix.is_none_or(|at| at > sim.unix_now()))
                        .collect();
                    back.sort_by_key(|e| (e.list, e.prefix));
                    want.sort_by_key(|e| (e.list, e.prefix));
                    prop_assert_eq!(back, want);
                }
            }
            let stats = sim.guard.stats();
            prop_assert!(stats.dos_list_size <= cap);
            prop_assert!(stats.bruteforce_list_size <= cap);
            prop_assert!(stats.allow_list_size <= ALLOW_LIST_MAX);
            prop_assert!(stats.tracked_sources <= 1000);
            prop_assert!(stats.registered_sources <= 1000);
            prop_assert!(SUSPECT_CAP >= 1000);
            for e in sim.guard.deny_list(None) {
                prop_assert!(e.prefix.is_source());
                prop_assert!(e.list.is_deny());
            }
            // Events are well-formed.
            while let Some(event) = sim.guard.poll_event() {
                if let Event::Denied(e) | Event::Expired(e) | Event::Evicted(e) = &event {
                    prop_assert!(e.list.is_deny());
                    prop_assert!(e.added_unix >= T0_UNIX);
                }
            }
        }
    }
}
