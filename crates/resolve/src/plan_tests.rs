//! Tests of the RFC 3263 logic against an in-memory zone: no network.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use super::*;
use crate::Transport::{Tcp, Tls, Udp};
use crate::records::{Answer, Query, Record, RecordData, RecordKind};

const ALL: [Transport; 3] = [Udp, Tcp, Tls];

/// An in-memory DNS: records by (name, type); a missing type of a known
/// name is NODATA, an unknown name NXDOMAIN, unless an answer was forced.
#[derive(Default)]
struct Zone {
    records: HashMap<(String, RecordKind), Vec<Record>>,
    additionals: HashMap<(String, RecordKind), Vec<Record>>,
    forced: HashMap<(String, RecordKind), Answer>,
}

impl Zone {
    fn add(mut self, name: &str, ttl: u32, data: RecordData) -> Self {
        let kind = kind_of(&data);
        self.records
            .entry((key(name), kind))
            .or_default()
            .push(Record::new(name, ttl, data));
        self
    }

    fn naptr(self, owner: &str, order: u16, pref: u16, service: &str, repl: &str) -> Self {
        self.add(
            owner,
            300,
            RecordData::Naptr {
                order,
                preference: pref,
                flags: "s".into(),
                services: service.into(),
                replacement: repl.into(),
            },
        )
    }

    fn srv(self, owner: &str, priority: u16, weight: u16, port: u16, target: &str) -> Self {
        self.add(owner, 300, srv(priority, weight, port, target))
    }

    fn a(self, name: &str, ip: [u8; 4]) -> Self {
        self.add(name, 300, RecordData::A(Ipv4Addr::from(ip)))
    }

    fn additional(mut self, to: (&str, RecordKind), record: Record) -> Self {
        self.additionals
            .entry((key(to.0), to.1))
            .or_default()
            .push(record);
        self
    }

    fn force(mut self, name: &str, kind: RecordKind, answer: Answer) -> Self {
        self.forced.insert((key(name), kind), answer);
        self
    }

    fn answer(&self, q: &Query) -> Answer {
        let k = (key(&q.name), q.kind);
        if let Some(a) = self.forced.get(&k) {
            return a.clone();
        }
        match self.records.get(&k) {
            Some(answers) => Answer::Found {
                answers: answers.clone(),
                additionals: self.additionals.get(&k).cloned().unwrap_or_default(),
            },
            None if self.records.keys().any(|(n, _)| *n == k.0) => {
                Answer::NoRecords { negative_ttl: None }
            }
            None => Answer::NoSuchName { negative_ttl: None },
        }
    }
}

fn kind_of(data: &RecordData) -> RecordKind {
    match data {
        RecordData::A(_) => RecordKind::A,
        RecordData::Aaaa(_) => RecordKind::Aaaa,
        RecordData::Srv { .. } => RecordKind::Srv,
        RecordData::Naptr { .. } => RecordKind::Naptr,
    }
}

fn srv(priority: u16, weight: u16, port: u16, target: &str) -> RecordData {
    RecordData::Srv {
        priority,
        weight,
        port,
        target: target.into(),
    }
}

/// Drives a plan against the zone as the async driver would (each batch
/// answered in reverse, to show the order of answers does not matter);
/// returns the result and every query made.
fn run_with(
    zone: &Zone,
    host: &str,
    port: Option<u16>,
    transports: &[Transport],
    preferred: Option<Transport>,
    rng: &mut impl RngCore,
) -> (Result<Resolution, ResolveError>, Vec<Query>) {
    let mut plan = match Plan::new(host, port, transports, preferred) {
        Ok(plan) => plan,
        Err(e) => return (Err(e), Vec::new()),
    };
    let mut made = Vec::new();
    while !plan.is_done() {
        let batch = plan.poll_queries();
        assert!(!batch.is_empty(), "plan stalled: {plan:?}");
        for q in batch.iter().rev() {
            plan.handle_answer(q, zone.answer(q));
        }
        made.extend(batch);
    }
    (plan.finish(now(), rng), made)
}

fn run(
    zone: &Zone,
    host: &str,
    port: Option<u16>,
    transports: &[Transport],
    preferred: Option<Transport>,
) -> (Result<Resolution, ResolveError>, Vec<Query>) {
    run_with(
        zone,
        host,
        port,
        transports,
        preferred,
        &mut ChaCha8Rng::seed_from_u64(0),
    )
}

fn now() -> Instant {
    static NOW: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    // The tests' clock: any fixed instant will do (this is not library
    // code, but the crate's clippy.toml applies to tests too).
    #[allow(clippy::disallowed_methods)]
    *NOW.get_or_init(Instant::now)
}

/// `transport addr` of each target.
fn list(r: &Resolution) -> Vec<String> {
    r.targets
        .iter()
        .map(|t| format!("{} {}", t.transport, t.addr))
        .collect()
}

fn queries(made: &[Query]) -> Vec<String> {
    made.iter().map(ToString::to_string).collect()
}

#[test]
fn ipv4_literal_one_target_per_transport_without_lookups() {
    let (r, made) = run(&Zone::default(), "192.0.2.10", None, &ALL, None);
    let r = r.unwrap();
    assert!(made.is_empty());
    assert!(r.steps.is_empty());
    assert_eq!(
        list(&r),
        [
            "tls 192.0.2.10:5061",
            "tcp 192.0.2.10:5060",
            "udp 192.0.2.10:5060"
        ]
    );
    assert!(r.targets.iter().all(|t| t.server_name == "192.0.2.10"));
    assert_eq!(r.valid_until, now() + MAX_VALIDITY);
}

#[test]
fn ipv6_literal_bracketed_or_not_with_port_and_preference() {
    for host in ["[2001:db8::1]", "2001:db8::1"] {
        let (r, _) = run(&Zone::default(), host, Some(5070), &[Udp, Tls], Some(Udp));
        let r = r.unwrap();
        assert_eq!(
            list(&r),
            ["udp [2001:db8::1]:5070", "tls [2001:db8::1]:5070"],
            "{host}"
        );
        assert!(r.targets.iter().all(|t| t.server_name == "2001:db8::1"));
    }
}

#[test]
fn preferred_transport_not_supported_is_ignored() {
    assert_eq!(transport_order(&[Udp, Tcp], Some(Tls)), [Tcp, Udp]);
    assert_eq!(transport_order(&[Udp, Tcp, Tcp], Some(Udp)), [Udp, Tcp]);
    assert_eq!(transport_order(&[], Some(Udp)), []);
}

#[test]
fn name_with_port_looks_up_addresses_only() {
    let zone = Zone::default()
        .naptr(
            "ipbx.example.com",
            10,
            10,
            "SIP+D2U",
            "_sip._udp.ipbx.example.com",
        )
        .a("ipbx.example.com", [192, 0, 2, 20])
        .add(
            "ipbx.example.com",
            300,
            RecordData::Aaaa("2001:db8::20".parse().unwrap()),
        );
    let (r, made) = run(&zone, "ipbx.example.com", Some(5080), &[Udp, Tls], None);
    assert_eq!(
        queries(&made),
        ["A ipbx.example.com", "AAAA ipbx.example.com"]
    );
    let r = r.unwrap();
    // Transport-major, IPv4 before IPv6.
    assert_eq!(
        list(&r),
        [
            "tls 192.0.2.20:5080",
            "tls [2001:db8::20]:5080",
            "udp 192.0.2.20:5080",
            "udp [2001:db8::20]:5080"
        ]
    );
    assert!(
        r.targets
            .iter()
            .all(|t| t.server_name == "ipbx.example.com")
    );
}

fn naptr_zone() -> Zone {
    Zone::default()
        .naptr("example.com", 10, 10, "SIPS+D2T", "_sips._tcp.example.com.")
        .naptr("example.com", 20, 10, "SIP+D2U", "_sip._udp.example.com.")
        .naptr("example.com", 20, 20, "SIP+D2T", "_sip._tcp.example.com.")
        .naptr(
            "example.com",
            5,
            10,
            "E2U+sip",
            "!^.*$!sip:info@example.com!",
        )
        .srv("_sips._tcp.example.com", 10, 0, 5061, "pbx1.example.com.")
        .srv("_sip._udp.example.com", 10, 0, 5060, "pbx2.example.com.")
        .srv("_sip._tcp.example.com", 10, 0, 5060, "pbx2.example.com.")
        .a("pbx1.example.com", [192, 0, 2, 1])
        .a("pbx2.example.com", [192, 0, 2, 2])
}

#[test]
fn naptr_then_srv_then_addresses_in_naptr_order() {
    let (r, made) = run(&naptr_zone(), "example.com", None, &ALL, None);
    assert_eq!(
        queries(&made),
        [
            "NAPTR example.com",
            "SRV _sips._tcp.example.com.",
            "SRV _sip._udp.example.com.",
            "SRV _sip._tcp.example.com.",
            "A pbx1.example.com.",
            "AAAA pbx1.example.com.",
            "A pbx2.example.com.",
            "AAAA pbx2.example.com.",
        ]
    );
    let r = r.unwrap();
    // Order 10 (TLS), then order 20 by preference: UDP before TCP.
    assert_eq!(
        list(&r),
        [
            "tls 192.0.2.1:5061",
            "udp 192.0.2.2:5060",
            "tcp 192.0.2.2:5060"
        ]
    );
    // RFC 5922 §4: the certificate must cover the configured domain, not
    // the SRV target.
    assert!(r.targets.iter().all(|t| t.server_name == "example.com"));
    assert_eq!(r.steps.len(), made.len());
}

#[test]
fn naptr_order_beats_our_default_but_not_the_preferred_transport() {
    let zone = Zone::default()
        .naptr("example.com", 10, 10, "SIP+D2U", "_sip._udp.example.com.")
        .naptr("example.com", 20, 10, "SIPS+D2T", "_sips._tcp.example.com.")
        .srv("_sip._udp.example.com", 10, 0, 5060, "pbx.example.com.")
        .srv("_sips._tcp.example.com", 10, 0, 5061, "pbx.example.com.")
        .a("pbx.example.com", [192, 0, 2, 1]);
    let (r, _) = run(&zone, "example.com", None, &ALL, None);
    assert_eq!(
        list(&r.unwrap()),
        ["udp 192.0.2.1:5060", "tls 192.0.2.1:5061"]
    );
    let (r, _) = run(&zone, "example.com", None, &ALL, Some(Tls));
    assert_eq!(
        list(&r.unwrap()),
        ["tls 192.0.2.1:5061", "udp 192.0.2.1:5060"]
    );
}

#[test]
fn naptr_services_are_filtered_by_the_icp_transports() {
    let (r, made) = run(&naptr_zone(), "example.com", None, &[Udp], None);
    assert_eq!(list(&r.unwrap()), ["udp 192.0.2.2:5060"]);
    let made = queries(&made);
    assert!(
        !made
            .iter()
            .any(|q| q.contains("_sips") || q.contains("_tcp")),
        "{made:?}"
    );
}

#[test]
fn naptr_without_a_common_transport_is_an_error() {
    let zone = Zone::default()
        .naptr("example.com", 10, 10, "SIPS+D2T", "_sips._tcp.example.com.")
        .naptr("example.com", 10, 20, "SIP+D2S", "_sip._sctp.example.com.");
    let (r, made) = run(&zone, "example.com", None, &[Udp, Tcp], None);
    let err = r.unwrap_err();
    assert_eq!(
        err,
        ResolveError::NoCommonTransport {
            host: "example.com".into(),
            offered: vec!["SIPS+D2T".into(), "SIP+D2S".into()],
            configured: vec![Tcp, Udp],
        }
    );
    assert_eq!(
        err.to_string(),
        "example.com: its NAPTR records offer only SIPS+D2T, SIP+D2S but the ICP is \
         configured for tcp, udp; enable one of the offered transports on the ICP, \
         or fix the NAPTR records"
    );
    assert_eq!(made.len(), 1);
}

#[test]
fn srv_without_naptr_queries_each_supported_transport() {
    let zone = Zone::default()
        .srv("_sip._udp.example.com", 10, 0, 5070, "pbx.example.com.")
        .srv("_sip._tcp.example.com", 10, 0, 5071, "pbx.example.com.")
        .a("pbx.example.com", [192, 0, 2, 7])
        .a("example.com", [192, 0, 2, 99]);
    let (r, made) = run(&zone, "example.com", None, &[Udp, Tcp], None);
    assert_eq!(
        queries(&made)[..3],
        [
            "NAPTR example.com",
            "SRV _sip._tcp.example.com",
            "SRV _sip._udp.example.com"
        ]
    );
    assert_eq!(
        list(&r.unwrap()),
        ["tcp 192.0.2.7:5071", "udp 192.0.2.7:5070"]
    );
}

#[test]
fn no_srv_falls_back_to_addresses_on_default_ports() {
    let zone = Zone::default().a("pbx.example.com", [192, 0, 2, 5]).add(
        "pbx.example.com",
        300,
        RecordData::Aaaa(Ipv6Addr::LOCALHOST),
    );
    let (r, made) = run(&zone, "pbx.example.com", None, &ALL, Some(Udp));
    assert_eq!(made.len(), 1 + 3 + 2);
    assert_eq!(
        list(&r.unwrap()),
        [
            "udp 192.0.2.5:5060",
            "udp [::1]:5060",
            "tls 192.0.2.5:5061",
            "tls [::1]:5061",
            "tcp 192.0.2.5:5060",
            "tcp [::1]:5060",
        ]
    );
}

#[test]
fn additional_records_save_queries() {
    let pbx = |ip| Record::new("pbx.example.com.", 300, RecordData::A(Ipv4Addr::from(ip)));
    let zone = Zone::default()
        .naptr("example.com", 10, 10, "SIP+D2U", "_sip._udp.example.com.")
        .additional(
            ("example.com", RecordKind::Naptr),
            Record::new(
                "_sip._udp.example.com.",
                300,
                srv(10, 0, 5060, "pbx.example.com."),
            ),
        )
        .additional(("example.com", RecordKind::Naptr), pbx([192, 0, 2, 8]))
        .naptr("example.org", 10, 10, "SIP+D2U", "_sip._udp.example.org.")
        .srv("_sip._udp.example.org", 10, 0, 5062, "pbx.example.com.")
        .additional(
            ("_sip._udp.example.org", RecordKind::Srv),
            pbx([192, 0, 2, 9]),
        );
    let (r, made) = run(&zone, "example.com", None, &[Udp], None);
    assert_eq!(queries(&made), ["NAPTR example.com"]);
    assert_eq!(list(&r.unwrap()), ["udp 192.0.2.8:5060"]);
    let (r, made) = run(&zone, "example.org", None, &[Udp], None);
    assert_eq!(
        queries(&made),
        ["NAPTR example.org", "SRV _sip._udp.example.org."]
    );
    assert_eq!(list(&r.unwrap()), ["udp 192.0.2.9:5062"]);
}

#[test]
fn srv_priority_then_weight_with_a_seeded_rng() {
    let zone = Zone::default()
        .srv("_sip._udp.example.com", 20, 0, 5060, "backup.example.com.")
        .srv("_sip._udp.example.com", 10, 10, 5060, "a.example.com.")
        .srv("_sip._udp.example.com", 10, 90, 5060, "b.example.com.")
        .a("backup.example.com", [192, 0, 2, 30])
        .a("a.example.com", [192, 0, 2, 10])
        .a("b.example.com", [192, 0, 2, 11]);
    let mut counts: HashMap<Vec<String>, usize> = HashMap::new();
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    for _ in 0..400 {
        let (r, _) = run_with(&zone, "example.com", None, &[Udp], None, &mut rng);
        let r = r.unwrap();
        assert_eq!(r.targets[2].addr.to_string(), "192.0.2.30:5060");
        assert_eq!((r.targets[2].priority, r.targets[2].weight), (20, 0));
        *counts.entry(list(&r)).or_default() += 1;
    }
    // Two orders only; b (weight 90) first about 90% of the time.
    assert_eq!(counts.len(), 2, "{counts:?}");
    let b_first = counts
        .iter()
        .find(|(k, _)| k[0] == "udp 192.0.2.11:5060")
        .map_or(0, |(_, n)| *n);
    assert!((320..390).contains(&b_first), "{counts:?}");
    // The same seed gives the same order.
    let once = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        list(
            &run_with(&zone, "example.com", None, &[Udp], None, &mut rng)
                .0
                .unwrap(),
        )
    };
    assert_eq!(once(7), once(7));
}

#[test]
fn valid_until_is_the_smallest_ttl_used() {
    let zone = Zone::default()
        .add(
            "example.com",
            600,
            naptr_data("SIP+D2U", "_sip._udp.example.com."),
        )
        .add(
            "_sip._udp.example.com",
            120,
            srv(10, 0, 5060, "pbx.example.com."),
        )
        .add(
            "pbx.example.com",
            45,
            RecordData::A(Ipv4Addr::new(192, 0, 2, 1)),
        )
        // Not used: the other transport's SRV target.
        .add(
            "_sip._tcp.example.com",
            5,
            srv(10, 0, 5060, "other.example.com."),
        );
    let (r, _) = run(&zone, "example.com", None, &[Udp], None);
    assert_eq!(r.unwrap().valid_until, now() + Duration::from_secs(45));

    // A negative answer that steered the lookup counts too; TTL 0 is
    // raised to one second.
    let zone = Zone::default()
        .force(
            "example.com",
            RecordKind::Naptr,
            Answer::NoRecords {
                negative_ttl: Some(30),
            },
        )
        .add(
            "_sip._udp.example.com",
            120,
            srv(10, 0, 5060, "pbx.example.com."),
        )
        .add(
            "pbx.example.com",
            300,
            RecordData::A(Ipv4Addr::new(192, 0, 2, 1)),
        );
    let (r, _) = run(&zone, "example.com", None, &[Udp], None);
    assert_eq!(r.unwrap().valid_until, now() + Duration::from_secs(30));
    let zone = Zone::default().add("pbx.example.com", 0, RecordData::A(Ipv4Addr::LOCALHOST));
    let (r, _) = run(&zone, "pbx.example.com", Some(5060), &[Udp], None);
    assert_eq!(r.unwrap().valid_until, now() + MIN_VALIDITY);
}

fn naptr_data(service: &str, replacement: &str) -> RecordData {
    RecordData::Naptr {
        order: 10,
        preference: 10,
        flags: "S".into(),
        services: service.into(),
        replacement: replacement.into(),
    }
}

#[test]
fn a_partial_failure_keeps_the_targets_but_retries_soon() {
    let zone = Zone::default()
        .force("_sips._tcp.example.com", RecordKind::Srv, Answer::TimedOut)
        .srv("_sip._udp.example.com", 10, 0, 5060, "pbx.example.com.")
        .a("pbx.example.com", [192, 0, 2, 1]);
    let (r, _) = run(&zone, "example.com", None, &[Udp, Tls], None);
    let r = r.unwrap();
    assert_eq!(list(&r), ["udp 192.0.2.1:5060"]);
    assert_eq!(r.valid_until, now() + RETRY_AFTER_FAILURE);
    assert!(r.steps.iter().any(|s| s.answer == Answer::TimedOut));
}

#[test]
fn names_match_without_case_or_final_dot_and_duplicates_go() {
    let zone = Zone::default()
        .srv("_sip._udp.Example.COM.", 10, 0, 5060, "PBX.example.com")
        .srv("_sip._udp.example.com", 20, 0, 5060, "pbx.example.com.")
        .a("pbx.EXAMPLE.com.", [192, 0, 2, 1]);
    let (r, made) = run(&zone, "Example.com.", None, &[Udp], None);
    assert_eq!(queries(&made)[0], "NAPTR Example.com.");
    let r = r.unwrap();
    assert_eq!(list(&r), ["udp 192.0.2.1:5060"]);
    assert_eq!(r.targets[0].server_name, "Example.com");
}

#[test]
fn a_dot_srv_target_means_not_available() {
    let zone = Zone::default()
        .srv("_sips._tcp.example.com", 10, 0, 0, ".")
        .srv("_sip._udp.example.com", 10, 0, 5060, "pbx.example.com.")
        .a("pbx.example.com", [192, 0, 2, 1])
        .a("example.com", [192, 0, 2, 99]);
    let (r, _) = run(&zone, "example.com", None, &[Udp, Tls], None);
    assert_eq!(list(&r.unwrap()), ["udp 192.0.2.1:5060"]);
}

#[test]
fn nxdomain_is_no_such_name() {
    let (r, made) = run(&Zone::default(), "nope.example.com", None, &ALL, None);
    let err = r.unwrap_err();
    assert_eq!(
        err,
        ResolveError::NoSuchName {
            host: "nope.example.com".into()
        }
    );
    assert!(err.to_string().contains("NXDOMAIN"), "{err}");
    // NAPTR, three SRV, A and AAAA: a sloppy server's NXDOMAIN on the host
    // does not hide SRV records below it.
    assert_eq!(made.len(), 6);
}

#[test]
fn an_existing_name_without_records_is_no_records() {
    let zone = Zone::default().add(
        "ipbx.example.com",
        300,
        RecordData::Srv {
            priority: 0,
            weight: 0,
            port: 0,
            target: "unrelated.".into(),
        },
    );
    let (r, _) = run(&zone, "ipbx.example.com", Some(5060), &ALL, None);
    assert_eq!(
        r.unwrap_err().to_string(),
        "ipbx.example.com: no A/AAAA/SRV/NAPTR records; check the name or use an IP address"
    );
}

#[test]
fn srv_targets_without_addresses() {
    let zone = Zone::default()
        .srv("_sip._udp.example.com", 10, 0, 5060, "gone.example.com.")
        .a("example.com", [192, 0, 2, 99]);
    let (r, _) = run(&zone, "example.com", None, &[Udp], None);
    let err = r.unwrap_err();
    assert_eq!(
        err,
        ResolveError::NoAddresses {
            host: "example.com".into(),
            targets: vec!["gone.example.com".into()],
        }
    );
    assert!(err.to_string().contains("add address records"), "{err}");
}

#[test]
fn lookup_failures_name_the_query() {
    let zone = Zone::default().force("example.com", RecordKind::Naptr, Answer::TimedOut);
    let (r, made) = run(&zone, "example.com", None, &ALL, None);
    let err = r.unwrap_err();
    assert_eq!(made.len(), 1, "nothing more after a NAPTR timeout");
    assert_eq!(
        err.to_string(),
        "example.com: the DNS query NAPTR example.com timed out; check that the DNS \
         servers (`[dns] servers`, or /etc/resolv.conf) are reachable from Outpost"
    );
    let failed = Answer::Failed("the server answered SERVFAIL".into());
    let zone = Zone::default()
        .force("pbx.example.com", RecordKind::A, failed.clone())
        .force("pbx.example.com", RecordKind::Aaaa, failed);
    let (r, _) = run(&zone, "pbx.example.com", Some(5060), &ALL, None);
    let text = r.unwrap_err().to_string();
    assert!(
        text.starts_with(
            "pbx.example.com: the DNS query A pbx.example.com failed (the server answered SERVFAIL)"
        ),
        "{text}"
    );
}

#[test]
fn configuration_errors() {
    let (r, _) = run(&Zone::default(), "ipbx.example.com", None, &[], Some(Udp));
    assert_eq!(
        r.unwrap_err().to_string(),
        "ipbx.example.com: no SIP transport is enabled for this ICP; enable at least \
         one of UDP, TCP or TLS"
    );
    for (host, why) in [
        ("", "empty"),
        ("ipbx.example.com:5060", "give the port separately"),
        ("ipbx..example.com", "1 to 63"),
        ("ip bx.example.com", "character ` `"),
        ("192.0.2.300", "looks like an IPv4 address"),
    ] {
        let err = Plan::new(host, None, &ALL, None).unwrap_err();
        assert!(
            matches!(err, ResolveError::InvalidHost { .. }),
            "{host}: {err}"
        );
        assert!(err.to_string().contains(why), "{host}: {err}");
    }
    assert_eq!(
        "TLS".parse::<Transport>().unwrap(),
        Tls,
        "transport names are case-insensitive"
    );
    assert!(
        "sctp"
            .parse::<Transport>()
            .unwrap_err()
            .to_string()
            .contains("udp, tcp or tls")
    );
}

#[test]
fn steps_read_like_zone_lines() {
    let (r, _) = run(&naptr_zone(), "example.com", None, &[Tls], None);
    let steps: Vec<String> = r.unwrap().steps.iter().map(ToString::to_string).collect();
    assert_eq!(
        steps[..2],
        [
            "NAPTR example.com: example.com 300 NAPTR 10 10 \"s\" \"SIPS+D2T\" _sips._tcp.example.com.; \
             example.com 300 NAPTR 20 10 \"s\" \"SIP+D2U\" _sip._udp.example.com.; \
             example.com 300 NAPTR 20 20 \"s\" \"SIP+D2T\" _sip._tcp.example.com.; \
             example.com 300 NAPTR 5 10 \"s\" \"E2U+sip\" !^.*$!sip:info@example.com!",
            "SRV _sips._tcp.example.com.: _sips._tcp.example.com 300 SRV 10 0 5061 pbx1.example.com."
        ]
    );
    assert_eq!(steps[3], "AAAA pbx1.example.com.: no records");
}

#[test]
fn late_or_unknown_answers_are_ignored() {
    let mut plan = Plan::new("example.com", Some(5060), &[Udp], None).unwrap();
    let batch = plan.poll_queries();
    let stray = Query {
        name: "other.example.com".into(),
        kind: RecordKind::A,
    };
    plan.handle_answer(&stray, Answer::TimedOut);
    assert!(plan.steps().is_empty());
    for q in &batch {
        plan.handle_answer(
            q,
            Answer::found(vec![Record::new(
                &q.name,
                60,
                RecordData::A(Ipv4Addr::LOCALHOST),
            )]),
        );
        plan.handle_answer(q, Answer::TimedOut);
    }
    assert!(plan.is_done());
    assert_eq!(plan.steps().len(), 2);
    let r = plan
        .finish(now(), &mut ChaCha8Rng::seed_from_u64(0))
        .unwrap();
    assert_eq!(list(&r), ["udp 127.0.0.1:5060"]);
}
