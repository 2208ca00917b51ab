//! Replacing the public certificate during a call, end to end with real
//! peers (issue 17, acceptance "Rotation during a call"): phone A at home
//! (baresip behind its NAT box) is registered to Outpost over SIP/TLS and in
//! a call through Outpost with phone B behind Kamailio (the remote-worker
//! bed, `bed/mod.rs`) when `outpost certs import` installs a new public
//! certificate. Then:
//! - Outpost logs that its TLS listeners present the new certificate;
//! - the call stays up: no BYE on either side, media still relayed;
//! - the phone's TLS connection stays the same one (same addresses on both
//!   ends, and on the wire every SIP message of the test, before and after,
//!   travels in one TCP stream), and its registration refresh after the
//!   switch, on that connection, gets 200 OK;
//! - a new TLS connection from the phone's home gets the new certificate,
//!   where one before the switch got the old one;
//! - hanging up works: the phone's BYE is answered with 200 OK.
//!
//! Both certificates are issued by one test CA, the phone's `sip_cafile`
//! (instead of the self-signed default certificate the other tests give
//! it); the first one is imported before the phone starts. The probe
//! connections (`openssl s_client` from the phone's host) verify the chain
//! and the name with that CA.
//!
//! The lab's namespaces are its own (`opt<pid>-<n>`, see
//! `outpost_testbed::netns`), so this runs in parallel with the other tests.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod bed;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bed::{ALICE, BOB_ICP, Bed, FQDN, SIP, bed, phone_a_config};
use outpost_testbed::capture::Capture;
use outpost_testbed::{
    Event, EventKind, Host, LogCursor, Phone, TestCa, metric_sum, metrics, skip_e2e, wait_until,
};
use sha2::{Digest as _, Sha256};

/// The expiry Outpost grants phones here (the least the setting allows):
/// the phone refreshes its registration within the test.
const PHONE_EXPIRY_SECS: u32 = 20;
/// What Outpost logs once new handshakes get the new certificate.
const SWITCHED: &str = "TLS listeners now present this certificate";
/// A changed certificate is taken within `certs::FILE_CHECK_INTERVAL`
/// (5 s), or one interval later if the pair was caught half written.
const SWITCH: Duration = Duration::from_secs(15);
/// How long a registration refresh may take to come: baresip refreshes at
/// 90 % of the granted expiry.
const REFRESH: Duration = Duration::from_secs(PHONE_EXPIRY_SECS as u64 + 15);

const PUBLIC_PACKETS: &str = "outpost_media_packets_total{side=\"public\"}";
const PRIVATE_PACKETS: &str = "outpost_media_packets_total{side=\"private\"}";

/// A certificate to import: its chain file (leaf, then the CA), its key
/// file, and the leaf's DER.
struct Cert {
    chain: PathBuf,
    key: PathBuf,
    leaf: Vec<u8>,
}

/// The DER of the first certificate in PEM `text`.
fn first_certificate(text: &str) -> Option<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    let start = text.find(BEGIN)? + BEGIN.len();
    let end = start + text[start..].find("-----END CERTIFICATE-----")?;
    let b64: String = text[start..end].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// SHA-256 fingerprint, for messages.
fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// A leaf for Outpost's FQDN and public address from `ca`, with its chain.
fn issue(ca: &TestCa, dir: &Path, stem: &str, public_ip: &str) -> Cert {
    let issued = ca.issue(&[FQDN, public_ip], dir, stem).unwrap();
    let leaf = std::fs::read_to_string(&issued.cert_file).unwrap();
    let ca_pem = std::fs::read_to_string(ca.ca_file()).unwrap();
    let chain = dir.join(format!("{stem}-chain.pem"));
    std::fs::write(&chain, format!("{leaf}{ca_pem}")).unwrap();
    Cert {
        chain,
        key: issued.key_file,
        leaf: first_certificate(&leaf).unwrap(),
    }
}

/// `outpost certs import --pem CHAIN KEY` beside the running Outpost, then
/// waits until it logged that SIP over TLS on the public side (usage
/// `sip-public`) presents it; returns when it did (Unix seconds, from that
/// log line).
fn import(bed: &mut Bed, cert: &Cert) -> f64 {
    let cursor = bed.outpost.process().log_cursor();
    let chain = cert.chain.display().to_string();
    let key = cert.key.display().to_string();
    bed.outpost
        .cli(&["certs", "import", "--pem", &chain, &key])
        .unwrap();
    let outpost = bed.outpost.process();
    let line = wait_until(
        "Outpost to present the imported certificate on the public side",
        SWITCH,
        || {
            outpost.ensure_running("waiting for the certificate switch")?;
            Ok(outpost
                .log_text_after(cursor)
                .lines()
                .find(|l| l.contains(SWITCHED) && l.contains("sip-public"))
                .map(str::to_owned))
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", outpost.log_tail()));
    log_time(&line).unwrap_or_else(|| panic!("no time stamp in {line:?}"))
}

/// The time stamp opening an Outpost log line
/// (`2026-12-07T02:26:38.653366Z ...`, UTC), as Unix seconds.
fn log_time(line: &str) -> Option<f64> {
    let stamp = line.split_whitespace().next()?.strip_suffix('Z')?;
    let (date, time) = stamp.split_once('T')?;
    let ymd: Vec<i64> = date
        .split('-')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [y, m, d] = ymd[..] else { return None };
    let hms: Vec<f64> = time
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [h, min, sec] = hms[..] else { return None };
    // Days since 1970-01-01 of a proleptic Gregorian date.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some(days as f64 * 86_400.0 + h * 3_600.0 + min * 60.0 + sec)
}

/// The leaf certificate a new TLS connection from `host` to `target`
/// gets; the handshake must verify with `ca` for Outpost's FQDN.
fn served_leaf(host: &Host, target: &str, ca: &Path) -> Vec<u8> {
    let ca = ca.display().to_string();
    let out = host
        .run(&[
            "openssl",
            "s_client",
            "-connect",
            target,
            "-servername",
            FQDN,
            "-CAfile",
            &ca,
            "-verify_hostname",
            FQDN,
            "-verify_return_error",
        ])
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    first_certificate(&text).unwrap_or_else(|| panic!("no certificate from {target}: {text}"))
}

/// The established TCP connections in `host` matching the `ss` filter, as
/// (local, remote) addresses.
fn connections(host: &Host, filter: &str) -> Vec<(String, String)> {
    let out = host
        .run(&["ss", "-Htn", "state", "established", filter])
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            Some(((*fields.get(2)?).to_owned(), (*fields.get(3)?).to_owned()))
        })
        .collect()
}

/// The phone's connections to Outpost's SIP/TLS port, seen from its host.
fn phone_connections(bed: &Bed) -> Vec<(String, String)> {
    connections(&bed.a_host, "( dport = :5063 )")
}

/// The connections Outpost holds on its SIP/TLS port.
fn outpost_connections(bed: &Bed) -> Vec<(String, String)> {
    connections(&bed.gw, "( sport = :5063 )")
}

/// Alice's bindings in `outpost devices list --json`.
fn bindings(bed: &Bed) -> Vec<serde_json::Value> {
    let out = bed.outpost.cli(&["devices", "list", "--json"]).unwrap();
    out.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|d| d["setside_username"] == ALICE.0)
        .and_then(|d| d["bindings"].as_array().cloned())
        .unwrap_or_default()
}

/// Waits until Outpost relayed more media packets on both sides than
/// `since` (public, private); returns the new counts.
fn media_moves(bed: &Bed, since: (f64, f64), when: &str) -> (f64, f64) {
    wait_until(&format!("media relayed {when}"), SIP, || {
        let text = metrics(&bed.gw)?;
        let now = (
            metric_sum(&text, PUBLIC_PACKETS),
            metric_sum(&text, PRIVATE_PACKETS),
        );
        Ok((now.0 > since.0 && now.1 > since.1).then_some(now))
    })
    .unwrap()
}

fn packets(bed: &Bed) -> (f64, f64) {
    let text = metrics(&bed.gw).unwrap();
    (
        metric_sum(&text, PUBLIC_PACKETS),
        metric_sum(&text, PRIVATE_PACKETS),
    )
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn closed(events: &[Event]) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::CallClosed)
        .collect()
}

/// Neither phone saw its call end (a BYE, or a failure), and Outpost
/// logged no call end since `call_start`.
fn assert_call_up(bed: &mut Bed, a: &Phone, call_start: LogCursor, when: &str) {
    assert!(
        closed(&a.events()).is_empty(),
        "{when}: phone A's call ended: {:?}",
        a.events()
    );
    assert!(
        closed(&bed.b.events()).is_empty(),
        "{when}: phone B's call ended: {:?}",
        bed.b.events()
    );
    let log = bed.outpost.process().log_text_after(call_start);
    assert!(
        !log.contains("call ended"),
        "{when}: Outpost ended the call:\n{log}"
    );
}

/// The phone's TLS connection is the one seen before the switch, from
/// both ends: `phone_flow` in the phone's host, from `nat_address` in
/// Outpost's.
fn assert_same_connection(
    bed: &Bed,
    phone_flow: &[(String, String)],
    nat_address: &str,
    when: &str,
) {
    assert_eq!(
        phone_connections(bed),
        phone_flow,
        "{when}: the phone's connection to Outpost changed"
    );
    let held = outpost_connections(bed);
    assert!(
        held.iter().any(|(_, peer)| peer == nat_address),
        "{when}: Outpost's connection from {nat_address} is gone: {held:?}"
    );
}

/// The SIP content of one captured TCP segment on Outpost's TLS port.
#[derive(Debug)]
struct SipSegment {
    /// Capture time, Unix seconds.
    time: f64,
    /// tshark's TCP stream index: one per connection.
    stream: u64,
    /// Sent by Outpost (else by the phone).
    from_outpost: bool,
    /// Request methods.
    requests: Vec<String>,
    /// (status code, CSeq method) of each response, when the segment holds
    /// responses only (so the two lists pair up).
    responses: Vec<(String, String)>,
}

/// The SIP over TLS captured so far on port 5063, decrypted with Outpost's
/// key log.
fn sip_segments(file: &Path, keylog: &Path) -> Vec<SipSegment> {
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-n", "-o"])
        .arg(format!("tls.keylog_file:{}", keylog.display()))
        .args([
            "-d",
            "tcp.port==5063,tls",
            "-d",
            "tls.port==5063,sip",
            "-Y",
            "sip",
            "-T",
            "fields",
            "-E",
            "separator=/t",
            "-E",
            "aggregator=|",
            "-e",
            "frame.time_epoch",
            "-e",
            "tcp.stream",
            "-e",
            "tcp.srcport",
            "-e",
            "sip.Method",
            "-e",
            "sip.Status-Code",
            "-e",
            "sip.CSeq.method",
        ])
        .output()
        .unwrap();
    let list = |s: &str| -> Vec<String> {
        s.split('|')
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let requests = list(f.get(3)?);
            let statuses = list(f.get(4).unwrap_or(&""));
            let cseqs = list(f.get(5).unwrap_or(&""));
            let responses = if requests.is_empty() && statuses.len() == cseqs.len() {
                statuses.into_iter().zip(cseqs).collect()
            } else {
                Vec::new()
            };
            Some(SipSegment {
                time: f.first()?.parse().ok()?,
                stream: f.get(1)?.parse().ok()?,
                from_outpost: *f.get(2)? == "5063",
                requests,
                responses,
            })
        })
        .collect()
}

/// Polls the capture until `check` finds what it looks for in it, for at
/// most `timeout`.
fn wait_capture<T>(
    capture: &Capture,
    keylog: &Path,
    what: &str,
    timeout: Duration,
    check: impl Fn(&[SipSegment]) -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let segments = sip_segments(capture.path(), keylog);
        if let Some(found) = check(&segments) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "not in the capture after {timeout:?}: {what}; decoded: {segments:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Whether `segments` hold a request `method` from the phone on `stream`
/// after `after` answered by Outpost with 200 on the same stream.
fn answered_on(segments: &[SipSegment], stream: u64, method: &str, after: f64) -> bool {
    let Some(request) = segments.iter().find(|s| {
        !s.from_outpost
            && s.stream == stream
            && s.time > after
            && s.requests.iter().any(|m| m == method)
    }) else {
        return false;
    };
    segments.iter().any(|s| {
        s.from_outpost
            && s.stream == stream
            && s.time >= request.time
            && s.responses
                .iter()
                .any(|(code, m)| code == "200" && m == method)
    })
}

#[test]
fn replacing_the_certificate_keeps_the_call_the_connection_and_the_registration() {
    if skip_e2e() {
        return;
    }
    let started = Instant::now();
    let mut bed = bed(
        "certrot",
        &format!("[registration]\nphone_expiry_secs = {PHONE_EXPIRY_SECS}\n"),
    );
    let public_ip = bed.outpost.public_ip().to_string();
    let tls = bed.outpost.public_tls();
    let target = tls.to_string();
    let pki = bed.lab.dir().join("pki");
    let ca = TestCa::new(&pki, "Outpost rotation test CA").unwrap();
    let old = issue(&ca, &pki, "old", &public_ip);
    let new = issue(&ca, &pki, "new", &public_ip);
    assert_ne!(old.leaf, new.leaf);
    import(&mut bed, &old);

    // Everything on the public TLS port, decrypted with Outpost's key log
    // (the bed sets SSLKEYLOGFILE): from before the phone's handshake.
    let keylog = bed.lab.dir().join("outpost-tls-keys.txt");
    let public_if = bed.gw.interface_on(&bed.inet).unwrap().name.clone();
    let capture = Capture::start(&bed.gw, &public_if, Some("tcp port 5063")).unwrap();
    capture
        .wait_live(SIP, || {
            bed.a_host
                .connect_tcp(tls, Duration::from_millis(500))
                .map(drop)
        })
        .unwrap();

    let mut config = phone_a_config(&bed, ALICE.1);
    config.ca_file = Some(ca.ca_file().to_path_buf());
    config.regint = PHONE_EXPIRY_SECS;
    let a = Phone::start(&bed.a_host, config).unwrap();
    a.wait_registered(SIP).unwrap();
    let served = served_leaf(&bed.a_host, &target, ca.ca_file());
    assert!(
        served == old.leaf,
        "before the switch a new connection got {}, not the imported {}",
        fingerprint(&served),
        fingerprint(&old.leaf)
    );

    // A calls B through Outpost; media flows.
    let call_start = bed.outpost.process().log_cursor();
    a.dial(&format!("sip:{}@{FQDN}", BOB_ICP.0)).unwrap();
    bed.b.wait_event(EventKind::CallIncoming, SIP).unwrap();
    bed.b.answer().unwrap();
    a.wait_event(EventKind::CallEstablished, SIP).unwrap();
    bed.b.wait_event(EventKind::CallEstablished, SIP).unwrap();
    media_moves(&bed, packets(&bed), "once the call is up");

    // The phone's one TLS connection, from both ends, and its binding.
    let phone_flow = phone_connections(&bed);
    assert_eq!(phone_flow.len(), 1, "{phone_flow:?}");
    let before = bindings(&bed);
    assert_eq!(before.len(), 1, "{before:?}");
    let nat_address = before[0]["last_address"].as_str().unwrap().to_owned();
    assert!(
        outpost_connections(&bed)
            .iter()
            .any(|(_, peer)| *peer == nat_address),
        "Outpost holds no connection from the phone's {nat_address}: {:?}",
        outpost_connections(&bed)
    );
    let expires_before = before[0]["expires"].as_u64().unwrap();

    // The certificate is replaced during the call.
    let switched_at = Instant::now();
    let switched = import(&mut bed, &new);
    println!("certificate switched {:?} into the test", started.elapsed());

    // Media still relayed after the switch, both ways; the call and the
    // phone's connection still up.
    let after_switch = media_moves(&bed, packets(&bed), "after the switch");
    assert_call_up(&mut bed, &a, call_start, "after the switch");
    assert_same_connection(&bed, &phone_flow, &nat_address, "after the switch");

    // A new connection gets the new certificate.
    let served = served_leaf(&bed.a_host, &target, ca.ca_file());
    assert!(
        served == new.leaf,
        "after the switch a new connection got {}, not the new {}",
        fingerprint(&served),
        fingerprint(&new.leaf)
    );

    // The phone refreshes its registration after the switch, over its
    // connection, and gets 200 OK: on the wire, the REGISTER sent after the
    // switch and its 200 OK travel in the TCP stream of the INVITE.
    let stream = wait_capture(
        &capture,
        &keylog,
        "a REGISTER after the switch answered 200 OK in the INVITE's stream",
        REFRESH,
        |s| {
            let invite = s
                .iter()
                .find(|s| !s.from_outpost && s.requests.iter().any(|m| m == "INVITE"))?;
            answered_on(s, invite.stream, "REGISTER", switched).then_some(invite.stream)
        },
    );
    // The phone took it: REGISTER_OK, never REGISTER_FAIL.
    let refreshed = wait_until("the phone's REGISTER_OK after the switch", SIP, || {
        Ok(a.events()
            .into_iter()
            .find(|e| e.kind == EventKind::RegisterOk && e.at > switched_at))
    })
    .unwrap();
    assert!(refreshed.param.starts_with("200"), "{refreshed:?}");
    assert!(
        a.events().iter().all(|e| e.kind != EventKind::RegisterFail),
        "{:?}",
        a.events()
    );
    // Outpost recorded the refresh on the same binding, from the same
    // address and port, still in the call.
    let after = wait_until("the refreshed binding", SIP, || {
        let b = bindings(&bed);
        Ok((b.len() == 1 && b[0]["expires"].as_u64() > Some(expires_before)).then_some(b))
    })
    .unwrap();
    assert_eq!(after[0]["binding"], before[0]["binding"], "{after:?}");
    assert_eq!(after[0]["last_address"], nat_address.as_str(), "{after:?}");
    assert_eq!(after[0]["in_call"], true, "{after:?}");

    assert_same_connection(&bed, &phone_flow, &nat_address, "after the refresh");

    // The call is still up: no BYE anywhere, media still relayed.
    media_moves(&bed, after_switch, "after the registration refresh");
    assert_call_up(&mut bed, &a, call_start, "after the refresh");

    // Hang-up: A's BYE is answered, B is hung up.
    let hangup_epoch = unix_now();
    let hangup = bed.outpost.process().log_cursor();
    a.hangup().unwrap();
    bed.b.wait_event(EventKind::CallClosed, SIP).unwrap();
    a.wait_event(EventKind::CallClosed, SIP).unwrap();
    let ended = bed
        .outpost
        .process()
        .wait_for_log_after(hangup, "call ended", SIP)
        .unwrap();
    assert!(ended.contains("outcome=completed"), "{ended}");
    wait_capture(
        &capture,
        &keylog,
        "A's BYE answered with 200 OK",
        SIP,
        |s| answered_on(s, stream, "BYE", hangup_epoch).then_some(()),
    );
    let segments = sip_segments(capture.path(), &keylog);
    let streams: std::collections::BTreeSet<u64> = segments.iter().map(|s| s.stream).collect();
    assert_eq!(
        streams,
        [stream].into(),
        "SIP went over more than one TLS connection: {segments:#?}"
    );
    let early_bye: Vec<&SipSegment> = segments
        .iter()
        .filter(|s| s.time < hangup_epoch && s.requests.iter().any(|m| m == "BYE"))
        .collect();
    assert!(
        early_bye.is_empty(),
        "BYE before the hang-up: {early_bye:#?}"
    );
    drop(capture);
    println!("took {:?}", started.elapsed());
}
