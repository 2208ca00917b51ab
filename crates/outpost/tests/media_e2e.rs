//! Media anchoring end to end (issue "Media anchoring and SRTP ↔ RTP"):
//! phone A at home (SRTP required, 1000 Hz) and phone B on the LAN (plain
//! RTP, 700 Hz) hear each other through Outpost, in both call directions;
//! a phone offering plain RTP is refused with 488; a call whose media stops
//! is ended by Outpost; ports return to the pool.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod bed;
mod media_capture;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bed::{ALICE, BOB_ICP, FQDN, SIP, bed, phone_a_config, start_a};
use media_capture::{Directions, announced_keys, open_public_rtp};
use outpost_testbed::capture::Capture;
use outpost_testbed::tone::assert_tone;
use outpost_testbed::{
    Direction, EventKind, Host, LogCursor, Phone, metric_sum, metrics, skip_e2e,
};

const AUDIO: Duration = Duration::from_secs(15);
/// Phone A as the public side sees it (its NAT box).
const A_PUBLIC: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
/// Phone B on the LAN.
const B_LAN: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 2, 30));

/// Once both phones recorded two seconds, each must carry the other's tone.
fn assert_tones(a: &mut Phone, b: &mut Phone) {
    let b_heard = b.wait_recording(Direction::Received, 2.0, AUDIO).unwrap();
    let a_heard = a.wait_recording(Direction::Received, 2.0, AUDIO).unwrap();
    let at_b = assert_tone(&b_heard, 1000.0, 15.0).unwrap();
    let at_a = assert_tone(&a_heard, 700.0, 15.0).unwrap();
    println!("B heard {at_b:?}; A heard {at_a:?}");
}

/// Waits until Outpost logged a line containing `needle` after `cursor`
/// (taken before the step that should log it: the first call's lines must
/// not satisfy a wait for the second's).
fn wait_outpost_log(bed: &mut bed::Bed, cursor: LogCursor, needle: &str) {
    bed.outpost
        .process()
        .wait_for_log_after(cursor, needle, SIP)
        .unwrap_or_else(|e| panic!("{needle}: {e}"));
}

/// The relay's ports in use, from Outpost's metrics (inside its namespace).
fn ports_in_use(bed: &bed::Bed) -> u64 {
    metric_sum(&metrics(&bed.gw).unwrap(), "outpost_media_ports_in_use{") as u64
}

/// A counter's value (summed over the series whose line starts with
/// `series`), read from Outpost's `/metrics`.
fn counter(bed: &bed::Bed, series: &str) -> f64 {
    metric_sum(&metrics(&bed.gw).unwrap(), series)
}

const PUBLIC_PACKETS: &str = "outpost_media_packets_total{side=\"public\"}";
const PRIVATE_PACKETS: &str = "outpost_media_packets_total{side=\"private\"}";
const AUTH_FAILURES: &str = "outpost_media_srtp_auth_failures_total";

/// Polls `/metrics` until `done` holds for `series`, failing at a deadline.
fn wait_counter(bed: &bed::Bed, series: &str, what: &str, done: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + SIP;
    loop {
        let value = counter(bed, series);
        if done(value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{series} = {value}: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Issue 11: the media packet counters move while a call is up, not only
/// when it ends.
fn assert_packets_counted_live(bed: &bed::Bed) {
    let (public, private) = (counter(bed, PUBLIC_PACKETS), counter(bed, PRIVATE_PACKETS));
    wait_counter(
        bed,
        PUBLIC_PACKETS,
        "public packets not counted during the call",
        |v| v > public,
    );
    wait_counter(
        bed,
        PRIVATE_PACKETS,
        "private packets not counted during the call",
        |v| v > private,
    );
}

/// Outpost's public media port pairs in use (even RTP ports), read from its
/// sockets.
fn public_rtp_ports(bed: &bed::Bed) -> Vec<u16> {
    let out = bed.gw.run(&["ss", "-Huln"]).unwrap();
    let public = bed.outpost.public_ip().to_string();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(3)?.rsplit_once(':'))
        .filter(|(ip, _)| *ip == public)
        .filter_map(|(_, port)| port.parse::<u16>().ok())
        .filter(|port| (20000..28000).contains(port) && port % 2 == 0)
        .collect()
}

/// An attacker on the Internet sends `count` SRTP packets with a made-up
/// authentication tag to each of Outpost's public RTP ports.
fn send_forged_srtp(bed: &bed::Bed, attacker: &Host, count: usize) -> usize {
    let ports = public_rtp_ports(bed);
    assert!(!ports.is_empty(), "no public RTP port found");
    // RTP header (version 2, PT 0, SSRC 0x0badf00d), 20 bytes of payload
    // and a 10-byte "tag".
    let packet = format!(
        "\\x80\\x00\\x12\\x34\\x00\\x00\\x10\\x00\\x0b\\xad\\xf0\\x0d{}{}",
        "\\xd5".repeat(20),
        "\\xee".repeat(10)
    );
    let ip = bed.outpost.public_ip();
    for port in &ports {
        for _ in 0..count {
            attacker
                .run(&[
                    "bash",
                    "-c",
                    &format!("printf '{packet}' > /dev/udp/{ip}/{port}"),
                ])
                .unwrap();
        }
    }
    ports.len() * count
}

/// The `field=value` numbers of Outpost's "call media ended" lines, in
/// order, once there are at least `calls` of them.
fn media_ended(bed: &mut bed::Bed, calls: usize, field: &str) -> Vec<u64> {
    let deadline = Instant::now() + SIP;
    loop {
        let log = bed.outpost.process().log_text();
        let values: Vec<u64> = log
            .lines()
            .filter(|l| l.contains("call media ended"))
            .map(|l| {
                l.split_whitespace()
                    .find_map(|kv| kv.strip_prefix(&format!("{field}=")))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("no {field} in {l}"))
            })
            .collect();
        if values.len() >= calls {
            return values;
        }
        assert!(
            Instant::now() < deadline,
            "{calls} calls' media never ended"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_ports_free(bed: &bed::Bed) {
    let deadline = Instant::now() + SIP;
    loop {
        let used = ports_in_use(bed);
        if used == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{used} media ports still in use");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn srtp_phone_and_rtp_phone_hear_each_other_both_directions() {
    if skip_e2e() {
        return;
    }
    // Outpost offers _32 first, so the call toward A uses it, while A's
    // own offers (baresip lists _80 first) give _80: both suites are used.
    let mut bed = bed(
        "mdtone",
        "[media]\ntimeout_secs = 5\nsrtp_suites = \"AES_CM_128_HMAC_SHA1_32, AES_CM_128_HMAC_SHA1_80\"\n",
    );
    let public_if = bed.gw.interface_on(&bed.inet).unwrap().name.clone();
    let private_if = bed.gw.interface_on(&bed.lan).unwrap().name.clone();
    let media_ports = "udp portrange 20000-27999";
    // The public capture also takes SIP over TLS, decrypted with Outpost's
    // key log, to read the SRTP keys each side announced.
    let public_cap = Capture::start(
        &bed.gw,
        &public_if,
        Some("udp portrange 20000-27999 or tcp port 5063"),
    )
    .unwrap();
    let private_cap = Capture::start(&bed.gw, &private_if, Some(media_ports)).unwrap();
    bed::live_captures(&bed, &public_cap, &private_cap, 27999);
    start_a(&mut bed);
    let mut a_phone = bed.a.take().unwrap();

    // A calls B: baresip offers AES_CM_128_HMAC_SHA1_80 first, which
    // Outpost takes (first supported line in offer order).
    let call_start = bed.outpost.process().log_cursor();
    a_phone.dial(&format!("sip:{}@{FQDN}", BOB_ICP.0)).unwrap();
    bed.b.wait_event(EventKind::CallIncoming, SIP).unwrap();
    bed.b.answer().unwrap();
    a_phone.wait_event(EventKind::CallEstablished, SIP).unwrap();
    bed.b.wait_event(EventKind::CallEstablished, SIP).unwrap();
    wait_outpost_log(
        &mut bed,
        call_start,
        "public=\"AES_CM_128_HMAC_SHA1_80\" private=\"rtp\"",
    );
    assert_packets_counted_live(&bed);
    assert_tones(&mut a_phone, &mut bed.b);

    // Forged SRTP during the call is dropped and counted at once (issue 11
    // item 7: what baresip gets wrong must not hide a real attack).
    let failures = counter(&bed, AUTH_FAILURES);
    // From an address of its own, so that the capture checks below keep
    // to the phone's packets.
    let attacker = bed.lab.host("attacker", &bed.inet, 66).unwrap();
    let forged = send_forged_srtp(&bed, &attacker, 3);
    wait_counter(&bed, AUTH_FAILURES, "forged SRTP not counted", |v| {
        v >= failures + forged as f64
    });

    // Hold and resume from A (re-INVITEs): audio flows again both ways.
    let before_hold = bed.outpost.process().log_cursor();
    let remote_sdp = EventKind::Other("CALL_REMOTE_SDP".into());
    for step in ["hold", "resume"] {
        a_phone.command(step, "").unwrap();
        bed.b.wait_event(remote_sdp.clone(), SIP).unwrap();
        a_phone.wait_event(remote_sdp.clone(), SIP).unwrap();
    }
    let resumed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    // Both re-INVITEs went through Outpost and were answered; the media
    // session kept its ports (one stream, updated in place).
    bed.outpost
        .process()
        .wait_for_log_count_after(before_hold, "media stream session=1 stream=0", 2, SIP)
        .unwrap_or_else(|e| panic!("the re-INVITEs did not update the media session: {e}"));
    // Audio flows again after resume, both ways, on both sides of Outpost.
    // Read from the wires, not the phones' recordings: baresip 1.0.0 stops
    // writing its decoded-audio recording at hold (its null player is not
    // restarted) although RTP resumes.
    let keylog = bed.lab.dir().join("outpost-tls-keys.txt");
    let deadline = Instant::now() + AUDIO;
    let after_resume = loop {
        let directions = Directions::read(
            public_cap.path(),
            private_cap.path(),
            &keylog,
            A_PUBLIC,
            B_LAN,
            resumed,
        );
        // One second (8000 samples) in every direction.
        if directions.least() >= 8000 {
            break directions;
        }
        assert!(
            Instant::now() < deadline,
            "after resume: A→ {} B← {} B→ {} A← {} samples",
            directions.from_a.len(),
            directions.to_b.len(),
            directions.from_b.len(),
            directions.to_a.len()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    after_resume.assert_tones(public_cap.path(), 1000.0, 700.0);
    a_phone.hangup().unwrap();
    bed.b.wait_event(EventKind::CallClosed, SIP).unwrap();
    a_phone.wait_event(EventKind::CallClosed, SIP).unwrap();
    wait_ports_free(&bed);
    // Only the forged packets failed authentication: baresip's RTCP sent
    // in clear (an APP packet at stream start, BYE at hang-up, often
    // arriving before the SIP BYE) is counted apart, as plain RTCP.
    assert_eq!(
        media_ended(&mut bed, 1, "public_srtp_auth_failures"),
        [forged as u64]
    );

    // B calls A: Outpost offers AES_CM_128_HMAC_SHA1_32 first, A takes it.
    let call_start = bed.outpost.process().log_cursor();
    bed.b
        .dial(&format!("sip:{}@{}", ALICE.2, bed.ipbx.ip()))
        .unwrap();
    a_phone.wait_event(EventKind::CallIncoming, SIP).unwrap();
    a_phone.answer().unwrap();
    a_phone.wait_event(EventKind::CallEstablished, SIP).unwrap();
    bed.b.wait_event(EventKind::CallEstablished, SIP).unwrap();
    wait_outpost_log(
        &mut bed,
        call_start,
        "public=\"AES_CM_128_HMAC_SHA1_32\" private=\"rtp\"",
    );
    let b_before = recorded(&bed.b);
    let deadline = Instant::now() + AUDIO;
    while recorded(&bed.b) < b_before + 2.0 {
        assert!(
            Instant::now() < deadline,
            "no audio from A in the second call"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Media timeout: A's media is dropped at its NAT box; Outpost ends the
    // call on B (BYE) within the 5 s timeout plus 2 s.
    bed.nat_router
        .run(&["iptables", "-I", "FORWARD", "-p", "udp", "-j", "DROP"])
        .unwrap();
    let dropped_at = Instant::now();
    bed.b
        .wait_event(EventKind::CallClosed, Duration::from_secs(5 + 2 + 1))
        .unwrap();
    let took = dropped_at.elapsed();
    assert!(
        took <= Duration::from_secs(7) + Duration::from_millis(900),
        "BYE after {took:?}"
    );
    wait_ports_free(&bed);
    // A normal call toward A, with _32 (baresip tags its SRTCP with 32 bits
    // there; dropped, counted apart): no authentication failure.
    assert_eq!(
        media_ended(&mut bed, 2, "public_srtp_auth_failures")[1],
        0,
        "{}",
        bed.outpost.process().log_text()
    );
    println!(
        "plain RTCP per call: {:?}; short SRTCP tags per call: {:?}",
        media_ended(&mut bed, 2, "public_plain_rtcp"),
        media_ended(&mut bed, 2, "public_short_srtcp_tag")
    );

    // No plaintext audio on the public side: no 16-byte run of any G.711
    // payload seen on the private side appears in a public-side packet.
    let public_file = public_cap.stop();
    let public = udp_payloads(&public_file);
    let private = udp_payloads(&private_cap.stop());
    srtp_packets_verify_only_with_their_keys(
        &public_file,
        &bed.lab.dir().join("outpost-tls-keys.txt"),
    );
    assert!(
        public.len() > 100 && private.len() > 100,
        "captures too small: {} {}",
        public.len(),
        private.len()
    );
    let public_hex: String = public.join("|");
    let mut checked = 0;
    for payload in private.iter().filter(|p| p.len() > 24 + 64) {
        let sample = &payload[24..24 + 32];
        assert!(
            !public_hex.contains(sample),
            "private RTP payload bytes seen in clear on the public side"
        );
        checked += 1;
    }
    assert!(checked > 100, "only {checked} private packets checked");
    a_phone.hangup().ok();
}

/// Every RTP packet on the public side authenticates with exactly one of
/// the SRTP keys announced in the direction it travels (the phone's keys
/// for packets from the phone, Outpost's for packets to it), and with none
/// of the other direction's.
fn srtp_packets_verify_only_with_their_keys(capture: &Path, keylog: &Path) {
    let keys = announced_keys(capture, keylog, A_PUBLIC);
    let opened = open_public_rtp(capture, &keys, A_PUBLIC);
    for packet in &opened {
        let src = packet.datagram.src;
        assert_eq!(
            packet.own_keys, 1,
            "a public packet from {src} does not verify with exactly one announced key"
        );
        assert_eq!(
            packet.other_keys, 0,
            "a public packet from {src} verifies with the other direction's key"
        );
    }
    assert!(
        opened.len() > 100,
        "only {} public SRTP packets checked",
        opened.len()
    );
}

/// Seconds of audio recorded so far.
fn recorded(phone: &Phone) -> f64 {
    phone
        .recording(Direction::Received)
        .ok()
        .and_then(|p| outpost_testbed::tone::wav_seconds(&p).ok())
        .unwrap_or(0.0)
}

/// The UDP payloads of a capture, as hex strings.
fn udp_payloads(file: &Path) -> Vec<String> {
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-n", "-T", "fields", "-e", "udp.payload"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.replace(':', ""))
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn plain_rtp_offer_from_a_phone_gets_488() {
    if skip_e2e() {
        return;
    }
    let bed = bed("md488", "");
    let mut config = phone_a_config(&bed, ALICE.1);
    config.mediaenc = None;
    let plain = Phone::start(&bed.a_host, config).unwrap();
    plain.wait_registered(SIP).unwrap();
    plain.dial(&format!("sip:{}@{FQDN}", BOB_ICP.0)).unwrap();
    let closed = plain.wait_event(EventKind::CallClosed, SIP).unwrap();
    assert!(closed.param.contains("488"), "{closed:?}");
    assert!(
        bed.b
            .events()
            .iter()
            .all(|e| e.kind != EventKind::CallIncoming),
        "B must not ring for a refused offer"
    );
}
