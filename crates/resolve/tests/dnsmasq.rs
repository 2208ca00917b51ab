//! `outpost-resolve` against a real DNS server: dnsmasq on a loopback
//! address of its own (127.0.77.N, port 15353, so neither root nor a free
//! port 53 is needed), serving NAPTR, SRV and A records with a known TTL.
//!
//! Needs `/usr/sbin/dnsmasq` (Debian `dnsmasq-base`, installed by
//! `scripts/test.sh`); without it each test prints `skipped: ...` and
//! returns.

// Tests run against a real server, so they read the real clock.
#![allow(clippy::disallowed_methods)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use outpost_resolve::{Options, ResolveError, Resolver, Transport};
use outpost_testbed::local_dns::LocalDnsmasq;

const PORT: u16 = 15353;
const TTL: u64 = 17;

/// dnsmasq on 127.0.77.`n`:15353 (the test bed's [`LocalDnsmasq`]), with
/// a resolver asking it.
struct Dnsmasq(LocalDnsmasq);

impl Dnsmasq {
    /// Starts dnsmasq with these record options, or returns `None` when
    /// the test is skipped (no dnsmasq).
    fn start(n: u8, records: &[&str]) -> Option<Self> {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 77, n)), PORT);
        LocalDnsmasq::start(addr, TTL as u32, records).map(Self)
    }

    fn log_text(&self) -> String {
        self.0.log_text()
    }

    fn resolver(&self) -> Resolver {
        Resolver::with_servers(&[self.0.addr()]).expect("resolver")
    }
}

fn targets(r: &outpost_resolve::Resolution) -> Vec<String> {
    r.targets
        .iter()
        .map(|t| format!("{} {}", t.transport, t.addr))
        .collect()
}

#[tokio::test]
async fn naptr_then_srv_then_a_with_the_ttl() {
    let Some(dns) = Dnsmasq::start(
        1,
        &[
            "--naptr-record=ipbx.test,10,10,s,SIPS+D2T,,_sips._tcp.ipbx.test",
            "--naptr-record=ipbx.test,20,10,s,SIP+D2U,,_sip._udp.ipbx.test",
            "--naptr-record=ipbx.test,30,10,s,SIP+D2T,,_sip._tcp.ipbx.test",
            "--srv-host=_sips._tcp.ipbx.test,pbx1.test,5061,10,0",
            "--srv-host=_sip._udp.ipbx.test,pbx1.test,5060,10,0",
            "--srv-host=_sip._tcp.ipbx.test,pbx1.test,5060,10,0",
            "--host-record=pbx1.test,127.0.88.1",
        ],
    ) else {
        return;
    };
    let now = Instant::now();
    let r = dns
        .resolver()
        .resolve(
            "ipbx.test",
            None,
            &[Transport::Udp, Transport::Tls],
            None,
            now,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", dns.log_text()));
    assert_eq!(
        targets(&r),
        ["tls 127.0.88.1:5061", "udp 127.0.88.1:5060"],
        "{:#?}",
        r.steps
    );
    assert!(r.targets.iter().all(|t| t.server_name == "ipbx.test"));
    let validity = r.valid_until - now;
    assert!(
        validity <= Duration::from_secs(TTL) && validity >= Duration::from_secs(TTL - 1),
        "{validity:?}"
    );
    let steps: Vec<String> = r.steps.iter().map(ToString::to_string).collect();
    assert!(steps[0].starts_with("NAPTR ipbx.test: "), "{steps:#?}");
    assert!(
        steps[0].contains("ipbx.test. 17 NAPTR 10 10 \"s\" \"SIPS+D2T\" _sips._tcp.ipbx.test."),
        "{steps:#?}"
    );
    // dnsmasq sends the SRV targets' addresses as additional records: no
    // A/AAAA query was needed.
    assert_eq!(steps.len(), 3, "{steps:#?}");
    assert!(
        steps[1].contains("(additional: pbx1.test. 17 A 127.0.88.1)"),
        "{steps:#?}"
    );
    // The TCP service was not enabled on the ICP, so never asked for.
    let log = dns.log_text();
    assert!(log.contains("query[NAPTR] ipbx.test"), "{log}");
    assert!(log.contains("query[SRV] _sips._tcp.ipbx.test"), "{log}");
    assert!(!log.contains("_sip._tcp.ipbx.test"), "{log}");
}

#[tokio::test]
async fn srv_with_two_targets_in_priority_order() {
    let Some(dns) = Dnsmasq::start(
        2,
        &[
            // Listed backup first: the order must come from the priorities.
            "--srv-host=_sip._udp.pair.test,backup.test,5070,20,0",
            "--srv-host=_sip._udp.pair.test,main.test,5060,10,0",
            "--host-record=main.test,127.0.88.10",
            "--host-record=backup.test,127.0.88.20",
        ],
    ) else {
        return;
    };
    let now = Instant::now();
    let r = dns
        .resolver()
        .resolve("pair.test", None, &[Transport::Udp], None, now)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", dns.log_text()));
    assert_eq!(
        targets(&r),
        ["udp 127.0.88.10:5060", "udp 127.0.88.20:5070"]
    );
    assert_eq!(
        r.targets.iter().map(|t| t.priority).collect::<Vec<_>>(),
        [10, 20]
    );
    assert!(r.valid_until > now && r.valid_until <= now + Duration::from_secs(TTL));
}

#[tokio::test]
async fn plain_a_record_and_a_given_port() {
    let Some(dns) = Dnsmasq::start(3, &["--host-record=pbx.test,127.0.88.30"]) else {
        return;
    };
    let resolver = dns.resolver();
    let now = Instant::now();
    let r = resolver
        .resolve("pbx.test", Some(5099), &[Transport::Tcp], None, now)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", dns.log_text()));
    assert_eq!(targets(&r), ["tcp 127.0.88.30:5099"]);
    assert!(
        !dns.log_text().contains("query[SRV]"),
        "a port means no SRV"
    );
    // Without a port: no NAPTR, no SRV, so the default port.
    let r = resolver
        .resolve("pbx.test", None, &[Transport::Tls], None, now)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", dns.log_text()));
    assert_eq!(targets(&r), ["tls 127.0.88.30:5061"]);
}

#[tokio::test]
async fn an_unknown_name_is_nxdomain() {
    let Some(dns) = Dnsmasq::start(4, &["--host-record=pbx.test,127.0.88.40"]) else {
        return;
    };
    let err = dns
        .resolver()
        .resolve("nosuch.test", None, &[Transport::Udp], None, Instant::now())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ResolveError::NoSuchName {
            host: "nosuch.test".into()
        }
    );
    assert!(
        err.to_string().contains("check the ICP's host name"),
        "{err}"
    );

    // Traced (`outpost icps test`): the lookups made are kept, each with
    // its time, even though the resolution failed.
    let trace = dns
        .resolver()
        .resolve_traced("nosuch.test", None, &[Transport::Udp], None, &Instant::now)
        .await;
    assert_eq!(trace.outcome.unwrap_err(), err);
    let steps: Vec<String> = trace.steps.iter().map(|s| s.step.to_string()).collect();
    assert_eq!(steps[0], "NAPTR nosuch.test: no such name (NXDOMAIN)");
    assert!(steps.len() > 1, "SRV and A lookups follow: {steps:?}");
    assert!(
        trace
            .steps
            .iter()
            .all(|s| s.elapsed < Duration::from_secs(2)),
        "{:?}",
        trace.steps
    );
}

#[tokio::test]
async fn a_silent_server_times_out_within_the_configured_time() {
    // A socket that never answers (no dnsmasq needed).
    let silent = UdpSocket::bind("127.0.77.5:0").expect("UDP socket");
    let options = Options::default()
        .timeout(Duration::from_millis(200))
        .attempts(1);
    let resolver =
        Resolver::with_servers_and(&[silent.local_addr().unwrap()], options).expect("resolver");
    let start = Instant::now();
    let err = resolver
        .resolve("ipbx.test", None, &[Transport::Udp], None, start)
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::Timeout { .. }), "{err:?}");
    assert!(
        err.to_string().contains("NAPTR ipbx.test timed out"),
        "{err}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn the_system_configuration_loads() {
    if !std::path::Path::new("/etc/resolv.conf").is_file() {
        println!("skipped: no /etc/resolv.conf");
        return;
    }
    Resolver::system().unwrap();
    // An IP literal needs no server at all.
    let r = Resolver::system()
        .unwrap()
        .resolve("192.0.2.1", None, &[Transport::Udp], None, Instant::now())
        .await
        .unwrap();
    assert_eq!(targets(&r), ["udp 192.0.2.1:5060"]);
}
