//! Each device reaches its own ICP, as configured (issue 12, acceptance),
//! end to end with real peers: two Kamailio iPBXs on the LAN, one reached
//! over UDP by IP address and one over TLS by host name (RFC 3263 through
//! the lab's dnsmasq, certificate issued for the name by a test CA that
//! Outpost is given); the TLS one black-holed while the other keeps
//! working and Outpost keeps answering; SRV failover to a second iPBX.
//!
//!   A (198.19.1.20), C (.21), C2 (.22), A2 (.23) ─ home ─ NAT (198.19.1.1 | 198.18.0.1) ─ inet ─
//!     prober (198.18.0.50), (198.18.0.10) Outpost (198.18.2.10) ─ lan ─
//!       udp-pbx (198.18.2.20): alice ↔ 1001, B = 1002
//!       tls-pbx (198.18.2.21, pbx.icp.test): carol ↔ 2001, D = 2002
//!       dnsmasq (198.18.2.53)
//!
//! The SRV test replaces the two iPBXs with pbx1 (198.18.2.21) and pbx2
//! (198.18.2.22), both `ha.icp.test` with the same users and certificate
//! name, SRV priorities 10 and 20, pbx1 black-holed.
//!
//! Needs root, iproute2, iptables, kamailio (+ tls modules), baresip,
//! dnsmasq and `ss` with socket destruction; `OUTPOST_SKIP_E2E=1` skips it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use outpost_testbed::dns::{Dns, DnsRecords};
use outpost_testbed::{
    DeviceSpec, EventKind, Host, IcpSpec, Ipbx, IpbxConfig, Lab, MediaEnc, Network, OutpostNode,
    OutpostSpec, Phone, PhoneConfig, Provisioning, TestCa, Transport, skip_e2e, wait_until,
};

/// Deadline for a SIP exchange on local bridges.
const SIP: Duration = Duration::from_secs(15);
/// Outpost's TCP connect timeout (transport/connect.rs).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Outpost's public FQDN, in its certificate and the home phones' hosts files.
const FQDN: &str = "sbc.outpost.test";
/// The TLS iPBX's name: the ICP's host, and what its certificate is for.
const TLS_NAME: &str = "pbx.icp.test";
/// The SRV target the name leads to (not what the certificate names:
/// RFC 5922 §4 checks the ICP's own name).
const TLS_SRV_TARGET: &str = "sip1.icp.test";

/// A device: set side (what the phone knows) → ICP side (what its iPBX knows).
type Device = (&'static str, &'static str, &'static str, &'static str);
const ALICE: Device = ("alice", "alice-Secret-1", "1001", "alpha-1001");
const CAROL: Device = ("carol", "carol-Secret-3", "2001", "charlie-2001");
/// Phones registered directly on each iPBX.
const BOB: (&str, &str) = ("1002", "bravo-1002");
const DAVE: (&str, &str) = ("2002", "delta-2002");

struct Bed {
    // Field order is drop order: processes before the lab.
    a: Phone,
    c: Phone,
    b: Phone,
    d: Phone,
    outpost: OutpostNode,
    udp_pbx: Ipbx,
    tls_pbx: Ipbx,
    dns: Dns,
    home: Vec<Host>,
    prober: Host,
    tls_host: Host,
    lab: Lab,
}

/// A phone at home registering to Outpost over TLS with set-side
/// credentials (as in bed/mod.rs).
fn home_phone(outpost: &OutpostNode, host: &Host, user: &str, password: &str) -> Phone {
    let mut config =
        PhoneConfig::new(user, password, outpost.public_tls()).transport(Transport::Tls);
    config.ca_file = Some(outpost.ca_file());
    config.domain = FQDN.to_owned();
    // The public side requires SRTP by default (MED-3).
    config.mediaenc = Some(MediaEnc::SrtpMandatory);
    Phone::start(host, config).unwrap()
}

/// `n` hosts at home behind the NAT router, each knowing Outpost's FQDN.
fn home_hosts(lab: &Lab, home: &Network, router: &Host, gw_public: &str, n: u8) -> Vec<Host> {
    (0..n)
        .map(|i| {
            let host = lab
                .host_behind(&format!("home-{i}"), home, 20 + i, router)
                .unwrap();
            host.add_hosts_entry(FQDN, gw_public.parse().unwrap())
                .unwrap();
            host
        })
        .collect()
}

fn two_icps(tag: &str) -> Bed {
    let lab = Lab::new(tag).unwrap();
    let home = lab.network("home", "198.19.1").unwrap();
    let inet = lab.network("inet", "198.18.0").unwrap();
    let lan = lab.network("lan", "198.18.2").unwrap();
    let router = lab.nat_router("nat", (&inet, 1), (&home, 1)).unwrap();
    let gw = lab
        .host_multi("outpost", &[(&inet, 10), (&lan, 10)])
        .unwrap();
    let prober = lab.host("prober", &inet, 50).unwrap();
    let udp_host = lab.host("udp-pbx", &lan, 20).unwrap();
    let tls_host = lab.host("tls-pbx", &lan, 21).unwrap();
    let dns_host = lab.host("dns", &lan, 53).unwrap();
    let b_host = lab.host("phone-b", &lan, 30).unwrap();
    let d_host = lab.host("phone-d", &lan, 31).unwrap();

    let udp_pbx = Ipbx::start(
        &udp_host,
        IpbxConfig::new([(ALICE.2, ALICE.3), BOB]).realm("udp.icp.test"),
    )
    .unwrap();
    let tls_pbx = Ipbx::start(
        &tls_host,
        IpbxConfig::new([(CAROL.2, CAROL.3), DAVE])
            .realm("tls.icp.test")
            .tls(TLS_NAME),
    )
    .unwrap();
    // RFC 3263 for an ICP supporting TLS only: NAPTR → SRV → A.
    let records = DnsRecords::new()
        .ttl(60)
        .a(TLS_NAME, tls_host.ip())
        .a(TLS_SRV_TARGET, tls_host.ip())
        .srv(
            &format!("_sips._tcp.{TLS_NAME}"),
            TLS_SRV_TARGET,
            5061,
            10,
            0,
        )
        .naptr(
            TLS_NAME,
            10,
            10,
            "SIPS+D2T",
            &format!("_sips._tcp.{TLS_NAME}"),
        );
    let dns = Dns::start(&dns_host, &records).unwrap();

    let mut outpost = OutpostNode::start_with(
        &gw,
        &OutpostSpec {
            binary: env!("CARGO_BIN_EXE_outpost").into(),
            public: inet.clone(),
            private: lan.clone(),
            ipbx: udp_pbx.addr(),
            devices: vec![
                DeviceSpec::translated(ALICE.0, ALICE.1, ALICE.2, ALICE.3).on_icp("udp-pbx"),
                DeviceSpec::translated(CAROL.0, CAROL.1, CAROL.2, CAROL.3).on_icp("tls-pbx"),
            ],
            allow_list: vec![],
            devices_csv: None,
            extra_toml: format!("fqdn = \"{FQDN}\"\n"),
            env: vec![],
        },
        &Provisioning {
            default_icp: Some("udp-pbx".into()),
            icps: vec![
                IcpSpec::new("tls-pbx", TLS_NAME, "tls").ca_file(tls_pbx.tls_ca_file().unwrap()),
            ],
            private_protocols: Some("tls+udp/tcp".into()),
            dns_servers: vec![SocketAddr::V4(dns.addr())],
        },
    )
    .unwrap();
    // Phones register once the ICP's name is resolved (a REGISTER before
    // that gets 503; see the SRV test for what a phone sees then).
    outpost
        .process()
        .wait_for_log("ICP resolved icp=\"tls-pbx\"", SIP)
        .unwrap();

    let homes = home_hosts(&lab, &home, &router, &outpost.public_ip().to_string(), 4);
    let b = Phone::start(&b_host, PhoneConfig::new(BOB.0, BOB.1, udp_pbx.addr())).unwrap();
    let d = Phone::start(&d_host, PhoneConfig::new(DAVE.0, DAVE.1, tls_pbx.addr())).unwrap();
    let a = home_phone(&outpost, &homes[0], ALICE.0, ALICE.1);
    let c = home_phone(&outpost, &homes[1], CAROL.0, CAROL.1);
    for phone in [&b, &d, &a, &c] {
        phone.wait_registered(SIP).unwrap();
    }
    Bed {
        a,
        c,
        b,
        d,
        outpost,
        udp_pbx,
        tls_pbx,
        dns,
        home: homes,
        prober,
        tls_host,
        lab,
    }
}

/// Waits until `number`'s contacts in `ipbx`'s location table are all on
/// Outpost's private address (and there is one), and returns them.
fn wait_bound_to_outpost(ipbx: &Ipbx, number: &str, outpost: &OutpostNode) -> Vec<String> {
    let private = format!("@{}:", outpost.private_ip());
    wait_until(
        &format!("{number} bound to Outpost's private address at the iPBX"),
        SIP,
        || {
            let contacts: Vec<String> = ipbx
                .location()?
                .into_iter()
                .filter(|b| b.aor == number)
                .map(|b| b.contact)
                .collect();
            Ok(
                (!contacts.is_empty() && contacts.iter().all(|c| c.contains(&private)))
                    .then_some(contacts),
            )
        },
    )
    .unwrap()
}

/// `caller` dials `uri`, `callee` answers, both see the call established,
/// `caller` hangs up and both see it closed.
fn call(caller: &Phone, callee: &Phone, uri: &str) {
    caller.dial(uri).unwrap();
    callee.wait_event(EventKind::CallIncoming, SIP).unwrap();
    callee.answer().unwrap();
    caller.wait_event(EventKind::CallEstablished, SIP).unwrap();
    callee.wait_event(EventKind::CallEstablished, SIP).unwrap();
    caller.hangup().unwrap();
    caller.wait_event(EventKind::CallClosed, SIP).unwrap();
    callee.wait_event(EventKind::CallClosed, SIP).unwrap();
}

#[test]
fn each_device_registers_and_calls_through_its_own_icp_udp_by_ip_and_tls_by_name() {
    if skip_e2e() {
        return;
    }
    let mut bed = two_icps("icproute");
    let from_outpost = format!("from {}:", bed.outpost.private_ip());

    // Registration: each ICP-side user is bound to Outpost's private
    // address at its own iPBX only, over the ICP's transport.
    let alice = wait_bound_to_outpost(&bed.udp_pbx, ALICE.2, &bed.outpost);
    let carol = wait_bound_to_outpost(&bed.tls_pbx, CAROL.2, &bed.outpost);
    println!("udp-pbx location of {}: {alice:?}", ALICE.2);
    println!("tls-pbx location of {}: {carol:?}", CAROL.2);
    let line = bed
        .udp_pbx
        .wait_log_line(
            &[
                "REGISTER",
                &from_outpost,
                "proto=udp",
                "user=1001",
                "-> 200",
            ],
            SIP,
        )
        .unwrap();
    println!("udp-pbx: {line}");
    let line = bed
        .tls_pbx
        .wait_log_line(
            &[
                "REGISTER",
                &from_outpost,
                "proto=tls",
                "user=2001",
                "-> 200",
            ],
            SIP,
        )
        .unwrap();
    println!("tls-pbx: {line}");
    for (ipbx, foreign) in [(&bed.udp_pbx, CAROL.2), (&bed.tls_pbx, ALICE.2)] {
        assert!(
            ipbx.location().unwrap().iter().all(|b| b.aor != foreign),
            "{foreign} registered at the wrong iPBX"
        );
        assert!(
            !ipbx.log_lines().iter().any(|l| l.contains(foreign)),
            "{foreign} reached the wrong iPBX: {:#?}",
            ipbx.log_lines()
        );
    }
    // The TLS iPBX was found through DNS (RFC 3263), not configured by IP.
    let dns_log = bed.dns.log_text();
    for query in [
        format!("query[NAPTR] {TLS_NAME}"),
        format!("query[SRV] _sips._tcp.{TLS_NAME}"),
    ] {
        assert!(
            dns_log.contains(&query),
            "Outpost never asked `{query}`:\n{dns_log}"
        );
    }

    // Calls both ways on each ICP, answered on both ends.
    let cursor_udp = bed.udp_pbx.log_cursor();
    call(&bed.a, &bed.b, &format!("sip:{}@{FQDN}", BOB.0));
    bed.udp_pbx
        .wait_log_line_after(
            cursor_udp,
            &["INVITE", &from_outpost, "proto=udp", "-> 1002 relayed"],
            SIP,
        )
        .unwrap();
    call(
        &bed.b,
        &bed.a,
        &format!("sip:{}@{}", ALICE.2, bed.udp_pbx.ip()),
    );

    let cursor_tls = bed.tls_pbx.log_cursor();
    call(&bed.c, &bed.d, &format!("sip:{}@{FQDN}", DAVE.0));
    let line = bed
        .tls_pbx
        .wait_log_line_after(
            cursor_tls,
            &["INVITE", &from_outpost, "proto=tls", "-> 2002 relayed"],
            SIP,
        )
        .unwrap();
    println!("tls-pbx: {line}");
    call(
        &bed.d,
        &bed.c,
        &format!("sip:{}@{}", CAROL.2, bed.tls_pbx.ip()),
    );
    let _ = (&bed.home, &bed.prober, &bed.tls_host, &bed.lab);
}

/// Round trips of OPTIONS sent to Outpost itself over UDP.
struct Probe {
    /// Answered probes' round trips, in sending order.
    rtts: Vec<Duration>,
    /// When each answered probe was sent.
    sent_at: Vec<Instant>,
    /// Probes with no answer within a second.
    lost: usize,
    /// Answers other than 200.
    not_ok: Vec<String>,
}

impl Probe {
    /// min / median / p95 / max, in milliseconds.
    fn figures(&self) -> (f64, f64, f64, f64) {
        let mut sorted = self.rtts.clone();
        sorted.sort();
        assert!(!sorted.is_empty(), "no OPTIONS answered at all");
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let p95 = sorted[(sorted.len() * 95).div_ceil(100) - 1];
        (
            ms(sorted[0]),
            ms(sorted[sorted.len() / 2]),
            ms(p95),
            ms(sorted[sorted.len() - 1]),
        )
    }

    fn report(&self, what: &str) -> f64 {
        let (min, median, p95, max) = self.figures();
        println!(
            "OPTIONS {what}: {} answered, {} lost; RTT min {min:.2} ms, median {median:.2} ms, \
             p95 {p95:.2} ms, max {max:.2} ms",
            self.rtts.len(),
            self.lost
        );
        median
    }
}

/// Sends `count` OPTIONS for Outpost itself from `host` to `target`, one
/// every `every` (paced against the start, at most a second each), each
/// waiting for its own answer, in a thread of its own.
fn probe_options(
    host: &Host,
    target: SocketAddr,
    count: usize,
    every: Duration,
) -> std::thread::JoinHandle<Probe> {
    let local = SocketAddr::from((host.ip(), 0));
    let socket = host.in_netns(move || UdpSocket::bind(local)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let local = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut probe = Probe {
            rtts: Vec::new(),
            sent_at: Vec::new(),
            lost: 0,
            not_ok: Vec::new(),
        };
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        for i in 0..count {
            let due = start + every * u32::try_from(i).unwrap();
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                // Pacing of the load, not a wait for an event.
                std::thread::sleep(wait);
            }
            let call_id = format!("probe-{i}-{}@icp-routing-test", std::process::id());
            let request = format!(
                "OPTIONS sip:{ip} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-probe{i}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:prober@{ip}>;tag=p{i}\r\nTo: <sip:{ip}>\r\n\
                 Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
                ip = target.ip()
            );
            let sent = Instant::now();
            socket.send_to(request.as_bytes(), target).unwrap();
            let answered = loop {
                if sent.elapsed() > Duration::from_secs(1) {
                    break None;
                }
                let Ok(n) = socket.recv(&mut buf) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&buf[..n]);
                if text.contains(&call_id) {
                    break Some((sent.elapsed(), text.lines().next().unwrap_or("").to_owned()));
                }
            };
            match answered {
                Some((rtt, status)) => {
                    if !status.starts_with("SIP/2.0 200") {
                        probe.not_ok.push(status);
                    }
                    probe.rtts.push(rtt);
                    probe.sent_at.push(sent);
                }
                None => probe.lost += 1,
            }
        }
        probe
    })
}

#[test]
fn a_black_holed_tls_icp_gets_503_while_the_other_icp_and_outpost_keep_answering() {
    if skip_e2e() {
        return;
    }
    let mut bed = two_icps("icpdown");
    let tls_peer = format!("{}:5061", bed.tls_host.ip());
    let options_target = bed.outpost.public_plain();

    // Before the outage: Outpost's own OPTIONS latency.
    let before = probe_options(&bed.prober, options_target, 20, Duration::from_millis(50))
        .join()
        .unwrap();
    assert_eq!(before.lost, 0, "OPTIONS lost before the outage");
    let median_before = before.report("before the outage");

    // The outage: SYNs to the TLS iPBX dropped (connects time out, no
    // refusal), and the connection Outpost had to it torn down, as when
    // the iPBX reboots behind a dead link: anything for it needs a new
    // connection now.
    let cursor = bed.outpost.process().log_cursor();
    let block = bed.tls_host.block_tcp_syn(5061).unwrap();
    let killed = bed.tls_host.kill_tcp_connections(5061).unwrap();
    assert!(
        killed >= 1,
        "Outpost had no TLS connection to the iPBX to tear down"
    );
    let log = |bed: &mut Bed| bed.outpost.process().log_text_after(cursor);
    wait_until("Outpost to see its iPBX connection closed", SIP, || {
        Ok(log(&mut bed)
            .lines()
            .any(|l| l.contains("connection closed") && l.contains(&tls_peer))
            .then_some(()))
    })
    .unwrap();

    // During the outage, at once: OPTIONS to Outpost every 100 ms; carol
    // calls (the INVITE waits for a connect that never completes) and a
    // second client of carol's registers (same); alice's side registers a
    // new client and makes a full call through the UDP iPBX.
    let during = probe_options(&bed.prober, options_target, 50, Duration::from_millis(100));
    let outage_start = Instant::now();
    bed.c.dial(&format!("sip:{}@{FQDN}", DAVE.0)).unwrap();
    let c2 = home_phone(&bed.outpost, &bed.home[2], CAROL.0, CAROL.1);
    let a2 = home_phone(&bed.outpost, &bed.home[3], ALICE.0, ALICE.1);
    a2.wait_registered(SIP).unwrap();
    let a_registered = outage_start.elapsed();
    call(&bed.a, &bed.b, &format!("sip:{}@{FQDN}", BOB.0));
    let a_called = outage_start.elapsed();

    // The black-holed ICP's phones get a clear SIP error, not silence.
    let deadline = CONNECT_TIMEOUT + Duration::from_secs(5);
    let closed = bed.c.wait_event(EventKind::CallClosed, deadline).unwrap();
    let call_failed = closed.at - outage_start;
    assert!(
        closed.param.contains("503"),
        "carol's call to the black-holed iPBX should end with 503, got {closed:?}"
    );
    assert!(
        !bed.c
            .events()
            .iter()
            .any(|e| e.kind == EventKind::CallEstablished && e.at > outage_start),
        "carol's call was established during the outage"
    );
    let failed = c2
        .wait_any(&[EventKind::RegisterOk, EventKind::RegisterFail], deadline)
        .unwrap();
    let register_failed = failed.at - outage_start;
    assert_eq!(failed.kind, EventKind::RegisterFail, "{failed:?}");
    assert!(failed.param.contains("503"), "{failed:?}");
    let log_text = log(&mut bed);
    assert!(
        log_text
            .lines()
            .any(|l| l.contains("outgoing connection failed") && l.contains(&tls_peer)),
        "no failed connect to {tls_peer} in Outpost's log"
    );
    assert!(block.dropped().unwrap() >= 1, "no SYN was black-holed");

    let during = during.join().unwrap();
    let median_during = during.report("during the outage");
    // The measurement counts only if connects were pending meanwhile.
    let pending_until = outage_start + call_failed.max(register_failed);
    let overlapping = during
        .sent_at
        .iter()
        .filter(|t| **t >= outage_start && **t <= pending_until)
        .count();
    println!(
        "{overlapping} of the {} answered OPTIONS were sent while connects to the black-holed \
         iPBX were pending ({:.2} s)",
        during.rtts.len(),
        (pending_until - outage_start).as_secs_f64()
    );
    println!(
        "during the outage: carol's call got {:?} after {:.2} s, carol's new client's REGISTER \
         got {:?} after {:.2} s; alice's new client registered after {:.2} s and her call \
         completed after {:.2} s",
        closed.param,
        call_failed.as_secs_f64(),
        failed.param,
        register_failed.as_secs_f64(),
        a_registered.as_secs_f64(),
        a_called.as_secs_f64()
    );
    println!("median OPTIONS RTT: {median_before:.2} ms before, {median_during:.2} ms during");
    assert!(during.not_ok.is_empty(), "{:?}", during.not_ok);
    assert_eq!(during.lost, 0, "OPTIONS to Outpost lost during the outage");
    assert!(
        overlapping >= 20,
        "too few OPTIONS overlapped the pending connects"
    );
    assert!(
        median_during < 50.0,
        "OPTIONS median {median_during:.2} ms during the outage (50 ms allowed)"
    );
    assert!(
        call_failed <= deadline && register_failed <= deadline,
        "503 too late"
    );

    // The iPBX comes back: carol's phone recovers (a call, and a new
    // client's registration, go through).
    drop(c2);
    block.unblock().unwrap();
    let back = Instant::now();
    bed.c.dial(&format!("sip:{}@{FQDN}", DAVE.0)).unwrap();
    bed.d.wait_event(EventKind::CallIncoming, SIP).unwrap();
    bed.d.answer().unwrap();
    let established = bed.c.wait_event(EventKind::CallEstablished, SIP).unwrap();
    let call_recovered = established.at - back;
    bed.d.wait_event(EventKind::CallEstablished, SIP).unwrap();
    bed.c.hangup().unwrap();
    bed.c.wait_event(EventKind::CallClosed, SIP).unwrap();
    bed.d.wait_event(EventKind::CallClosed, SIP).unwrap();
    let c3 = home_phone(&bed.outpost, &bed.home[2], CAROL.0, CAROL.1);
    let registered = c3.wait_registered(SIP).unwrap();
    println!(
        "after the iPBX returned: carol's call established after {:.2} s, a new client \
         registered after {:.2} s",
        call_recovered.as_secs_f64(),
        (registered.at - back).as_secs_f64()
    );
    let _ = (&bed.udp_pbx, &bed.tls_pbx, &bed.dns, &bed.lab);
}

/// The HA ICP's name (both iPBXs' certificates are for it).
const HA_NAME: &str = "ha.icp.test";
const ERIN: Device = ("erin", "erin-Secret-5", "3001", "echo-3001");

#[test]
fn srv_failover_registers_through_the_second_target_when_the_first_does_not_answer() {
    if skip_e2e() {
        return;
    }
    let lab = Lab::new("icpsrv").unwrap();
    let home = lab.network("home", "198.19.1").unwrap();
    let inet = lab.network("inet", "198.18.0").unwrap();
    let lan = lab.network("lan", "198.18.2").unwrap();
    let router = lab.nat_router("nat", (&inet, 1), (&home, 1)).unwrap();
    let gw = lab
        .host_multi("outpost", &[(&inet, 10), (&lan, 10)])
        .unwrap();
    let pbx1_host = lab.host("pbx1", &lan, 21).unwrap();
    let pbx2_host = lab.host("pbx2", &lan, 22).unwrap();
    let dns_host = lab.host("dns", &lan, 53).unwrap();
    let ca = TestCa::new(&lab.dir().join("ha-ca"), "HA iPBX test CA").unwrap();
    let config = || {
        IpbxConfig::new([(ERIN.2, ERIN.3)])
            .realm(HA_NAME)
            .tls(HA_NAME)
            .tls_ca(&ca)
    };
    let pbx1 = Ipbx::start(&pbx1_host, config()).unwrap();
    let pbx2 = Ipbx::start(&pbx2_host, config()).unwrap();
    // The first target does not answer at all (SYNs dropped).
    let block = pbx1_host.block_tcp_syn(5061).unwrap();
    // No NAPTR: RFC 3263 §4.1 SRV for the ICP's transport (TLS).
    let srv = format!("_sips._tcp.{HA_NAME}");
    let records = DnsRecords::new()
        .ttl(60)
        .a("pbx1.icp.test", pbx1_host.ip())
        .a("pbx2.icp.test", pbx2_host.ip())
        .srv(&srv, "pbx1.icp.test", 5061, 10, 0)
        .srv(&srv, "pbx2.icp.test", 5061, 20, 0);
    let dns = Dns::start(&dns_host, &records).unwrap();
    let mut outpost = OutpostNode::start_with(
        &gw,
        &OutpostSpec {
            binary: env!("CARGO_BIN_EXE_outpost").into(),
            public: inet.clone(),
            private: lan.clone(),
            // The default ICP (unused here): pbx2 over UDP by address.
            ipbx: pbx2.addr(),
            devices: vec![DeviceSpec::translated(ERIN.0, ERIN.1, ERIN.2, ERIN.3).on_icp("ha-pbx")],
            allow_list: vec![],
            devices_csv: None,
            extra_toml: format!("fqdn = \"{FQDN}\"\n"),
            env: vec![],
        },
        &Provisioning {
            default_icp: Some("pbx2-udp".into()),
            icps: vec![IcpSpec::new("ha-pbx", HA_NAME, "tls").ca_file(ca.ca_file())],
            private_protocols: Some("tls+udp/tcp".into()),
            dns_servers: vec![SocketAddr::V4(dns.addr())],
        },
    )
    .unwrap();
    outpost
        .process()
        .wait_for_log("ICP resolved icp=\"ha-pbx\"", SIP)
        .unwrap();
    let homes = home_hosts(&lab, &home, &router, &outpost.public_ip().to_string(), 2);
    let cursor = outpost.process().log_cursor();

    let start = Instant::now();
    let e = home_phone(&outpost, &homes[0], ERIN.0, ERIN.1);
    let first = e
        .wait_any(
            &[EventKind::RegisterOk, EventKind::RegisterFail],
            CONNECT_TIMEOUT + SIP,
        )
        .unwrap();
    let first_after = first.at - start;
    println!(
        "the phone's first REGISTER: {:?} {:?} after {:.2} s",
        first.kind,
        first.param,
        first_after.as_secs_f64()
    );
    // The REGISTER that finds the first target dead is sent again, as a
    // new transaction, to the next one (RFC 3263 §4.3): the phone's first
    // REGISTER succeeds, after the connect timeout.
    assert_eq!(first.kind, EventKind::RegisterOk, "{first:?}");
    let registered_after = first_after;
    let contacts = wait_bound_to_outpost(&pbx2, ERIN.2, &outpost);
    println!("pbx2 location of {}: {contacts:?}", ERIN.2);
    assert!(
        pbx1.location().unwrap().is_empty() && pbx1.log_lines().is_empty(),
        "the black-holed pbx1 saw SIP: {:#?}",
        pbx1.log_lines()
    );
    // pbx1 (priority 10) was tried first, and given up for pbx2.
    assert!(block.dropped().unwrap() >= 1, "pbx1 was never tried");
    let log = outpost.process().log_text_after(cursor);
    let pbx1_peer = format!("{}:5061", pbx1_host.ip());
    assert!(
        log.lines()
            .any(|l| l.contains("ICP target failed; using the next one") && l.contains(&pbx1_peer)),
        "no failover logged:\n{log}"
    );
    assert!(
        dns.log_text().contains(&format!("query[SRV] {srv}")),
        "{}",
        dns.log_text()
    );
    println!(
        "SRV failover: registered through pbx2 {:.2} s after the phone started (pbx1 black-holed, \
         connect timeout {} s)",
        registered_after.as_secs_f64(),
        CONNECT_TIMEOUT.as_secs()
    );
    drop(e);
}
