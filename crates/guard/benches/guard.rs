//! Cost of the guard's per-packet check (`Guard::check_source`) for a
//! denied source, for admitted sources, and under a spoofed flood; and of
//! `Guard::inspect_request` on a legitimate REGISTER.
//!
//! `cargo bench -p outpost-guard`; "packets per second one core can drop"
//! is `1 / time` of `check_source/denied_10k`, which cycles through 10 000
//! denied sources so the tables do not all sit in L1.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use outpost_guard::{DenyPeriod, Guard, List, RequestFacts, Settings};

const UNIX: u64 = 1_714_521_600;

fn v4(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
}

// The benchmark's clock origin; virtual time advances by explicit steps.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

fn guard(settings: Settings) -> (Guard, Instant) {
    let t0 = origin();
    (
        Guard::new(settings, t0, UNIX).unwrap().with_hash_seed(7),
        t0,
    )
}

fn check_source(c: &mut Criterion) {
    let mut group = c.benchmark_group("check_source");
    group.throughput(Throughput::Elements(1));

    // Denied: 10 000 sources on the DoS list, cycled through.
    let (mut g, t0) = guard(Settings {
        deny_period: DenyPeriod::Never,
        ..Settings::default()
    });
    for n in 0..10_000 {
        g.deny(t0, v4(n), List::Dos, String::new(), None).unwrap();
    }
    while g.poll_event().is_some() {}
    let mut n = 0u32;
    group.bench_function("denied_10k", |b| {
        b.iter(|| {
            n = (n + 1) % 10_000;
            black_box(g.check_source(t0, black_box(v4(n))))
        });
    });
    let one = v4(1);
    group.bench_function("denied_one", |b| {
        b.iter(|| black_box(g.check_source(t0, black_box(one))));
    });

    // Allow-listed: a /24 and a few /32s on the list; the source floods.
    let (mut g, t0) = guard(Settings::default());
    g.allow(t0, "192.0.2.0/24".parse().unwrap(), String::new())
        .unwrap();
    for n in 0..50 {
        g.allow(
            t0,
            format!("198.51.100.{n}").parse().unwrap(),
            String::new(),
        )
        .unwrap();
    }
    let allowed: IpAddr = "192.0.2.77".parse().unwrap();
    group.bench_function("allow_listed", |b| {
        b.iter(|| black_box(g.check_source(t0, black_box(allowed))));
    });

    // Admitted, registered: 1024 sources with live registrations (the
    // phones), round robin, plenty of allowance.
    let (mut g, t0) = guard(Settings::default());
    for n in 0..1024 {
        g.record_registration(v4(n), true);
    }
    let mut now = t0;
    let mut n = 0u32;
    group.bench_function("admitted_registered_1k", |b| {
        b.iter(|| {
            n = (n + 1) % 1024;
            now += Duration::from_micros(50);
            black_box(g.check_source(now, black_box(v4(n))))
        });
    });

    // Admitted, unknown: one tracked source under its threshold (one
    // request per 25 ms = 400 per 10 s), counted by the global window.
    let (mut g, t0) = guard(Settings::default());
    let mut now = t0;
    let src = v4(5);
    group.bench_function("admitted_unknown", |b| {
        b.iter(|| {
            now += Duration::from_millis(25);
            black_box(g.check_source(now, black_box(src)))
        });
    });

    // Spoofed flood: every packet from a new source while the DDoS filter
    // is on (dropped untracked).
    let (mut g, t0) = guard(Settings::default());
    for n in 0..6000 {
        let _ = g.check_source(t0, v4(1_000_000 + n));
    }
    assert!(g.stats().ddos_active);
    let mut n = 0u32;
    group.bench_function("spoofed_during_ddos", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            black_box(g.check_source(t0, black_box(v4(2_000_000 + (n & 0x3f_ffff)))))
        });
    });

    // Spoofed flood below the DDoS threshold: every packet inserts a new
    // source and evicts the least recently seen (table at its cap).
    let (mut g, t0) = guard(Settings {
        max_tracked_sources: 100_000,
        ..Settings::default()
    });
    let mut now = t0;
    let mut n = 0u32;
    group.bench_function("new_source_with_eviction", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            // 2.5 ms apart: 4000 per 10 s, under the DDoS threshold.
            now += Duration::from_micros(2500);
            black_box(g.check_source(now, black_box(v4(n & 0x00ff_ffff))))
        });
    });
    group.finish();
}

fn inspect_request(c: &mut Criterion) {
    let (mut g, t0) = guard(Settings::default());
    let src: IpAddr = "198.51.100.9".parse().unwrap();
    g.record_registration(src, true);
    let facts = RequestFacts {
        method: "REGISTER",
        user_agent: Some("Yealink SIP-T54W 96.86.0.70"),
        from: Some("\"Alice\" <sip:1001@sbc.example.com>;tag=1529418113"),
        from_user: Some("1001"),
        from_tag: Some("1529418113"),
        to: Some("\"Alice\" <sip:1001@sbc.example.com>"),
        to_user: Some("1001"),
        contact: Some("<sip:1001@192.168.1.23:5062;transport=TLS>"),
        call_id: Some("0_2823648416@192.168.1.23"),
        via_branch: Some("z9hG4bK2059398476"),
        target_is_known_user: true,
        from_is_known_user: true,
        ..RequestFacts::default()
    };
    c.bench_function("inspect_request/legitimate_register", |b| {
        b.iter(|| black_box(g.inspect_request(t0, src, black_box(&facts))));
    });
}

criterion_group!(benches, check_source, inspect_request);
criterion_main!(benches);
