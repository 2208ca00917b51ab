//! Lost ACKs, end to end (issue 11 item 1, RFC 3261 §13.3.1.4): iptables
//! in Outpost's namespace drops the ACKs that answer its 2xx, from the
//! iPBX (a call from B on the LAN to phone A) or from the phone (a call
//! from A, here on UDP so that its ACKs can be told apart on the wire).
//! With the first two ACKs dropped, Outpost's 2xx is retransmitted, the
//! third ACK gets through and the call carries audio; with every ACK
//! dropped, both legs get BYE after 64·T1 and the reason is logged and
//! counted.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod bed;

use std::time::{Duration, Instant};

use bed::{ALICE, BOB_ICP, Bed, FQDN, SIP, bed, phone_a_config};
use outpost_testbed::tone::assert_tone;
use outpost_testbed::{
    Direction, EventKind, Host, LogCursor, Phone, Transport, metric_sum, metrics, skip_e2e,
};

/// Outpost's T1 here, so that 64·T1 is 12.8 s.
const T1_MS: u64 = 200;
const AUDIO: Duration = Duration::from_secs(15);

/// An iptables rule in Outpost's namespace dropping SIP ACKs that arrive
/// on `interface`: the first `first` of them, or all with `None`.
struct AckDrop<'a> {
    host: &'a Host,
    rule: Vec<String>,
}

impl<'a> AckDrop<'a> {
    fn insert(host: &'a Host, interface: &str, first: Option<u32>) -> Self {
        let mut rule: Vec<String> = [
            "INPUT", "-i", interface, "-p", "udp", "--dport", "5060", "-m", "string", "--string",
            "ACK sip:", "--algo", "bm",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        if let Some(n) = first {
            // `limit` matches its burst at once, then one packet a day:
            // exactly the first `n` ACKs.
            rule.extend(
                [
                    "-m",
                    "limit",
                    "--limit",
                    "1/day",
                    "--limit-burst",
                    &n.to_string(),
                ]
                .map(str::to_owned),
            );
        }
        rule.extend(["-j", "DROP"].map(str::to_owned));
        let mut args = vec!["iptables", "-I"];
        args.extend(rule.iter().map(String::as_str));
        host.run(&args).unwrap();
        Self { host, rule }
    }

    /// Packets the rule dropped so far.
    fn dropped(&self) -> u64 {
        let out = self
            .host
            .run(&["iptables", "-L", "INPUT", "-v", "-x", "-n"])
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.contains("DROP") && l.contains("ACK sip:"))
            .and_then(|l| l.split_whitespace().next().map(str::to_owned))
            .and_then(|n| n.parse().ok())
            .expect("the ACK rule is listed")
    }
}

impl Drop for AckDrop<'_> {
    fn drop(&mut self) {
        let mut args = vec!["iptables", "-D"];
        args.extend(self.rule.iter().map(String::as_str));
        let _ = self.host.run(&args);
    }
}

fn no_ack_calls(gw: &Host) -> f64 {
    metric_sum(
        &metrics(gw).unwrap(),
        "outpost_calls_total{outcome=\"no_ack\"}",
    )
}

/// Both phones hear each other: A's 1000 Hz at B, B's 700 Hz at A.
fn assert_audio(a: &mut Phone, b: &mut Phone) {
    let b_heard = b.wait_recording(Direction::Received, 2.0, AUDIO).unwrap();
    let a_heard = a.wait_recording(Direction::Received, 2.0, AUDIO).unwrap();
    println!(
        "B heard {:?}; A heard {:?}",
        assert_tone(&b_heard, 1000.0, 15.0).unwrap(),
        assert_tone(&a_heard, 700.0, 15.0).unwrap()
    );
}

/// After both phones report the call up: it must still be up once 64·T1
/// (and a margin) has passed since the answer, then end normally.
fn assert_survives(bed: &Bed, a: &Phone, answered: Instant) {
    let until = answered + Duration::from_millis(64 * T1_MS + 2000);
    while Instant::now() < until {
        for (name, phone) in [("A", a), ("B", &bed.b)] {
            assert!(
                !phone
                    .events()
                    .iter()
                    .any(|e| e.kind == EventKind::CallClosed),
                "phone {name}'s call was closed: {:?}",
                phone.events()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(no_ack_calls(&bed.gw), 0.0);
}

/// Every ACK dropped: both phones get BYE 64·T1 after the answer, not
/// before, and Outpost says why (logged after `cursor`, taken before the
/// call: the line must be this call's).
fn assert_both_hung_up_for_no_ack(
    bed: &mut Bed,
    a: &Phone,
    cursor: LogCursor,
    answered: Instant,
    who: &str,
) {
    let limit = Duration::from_millis(64 * T1_MS) + SIP;
    a.wait_event(EventKind::CallClosed, limit).unwrap();
    bed.b.wait_event(EventKind::CallClosed, limit).unwrap();
    let took = answered.elapsed();
    assert!(
        took >= Duration::from_millis(64 * T1_MS - 500),
        "hung up after {took:?}, before 64*T1"
    );
    println!("both legs ended {took:?} after the answer");
    bed.outpost
        .process()
        .wait_for_log_after(cursor, &format!("no ACK from {who}"), SIP)
        .unwrap();
    assert_eq!(no_ack_calls(&bed.gw), 1.0);
}

#[test]
fn lost_acks_from_the_ipbx() {
    if skip_e2e() {
        return;
    }
    let mut bed = bed("ackpbx", &format!("[sip]\nt1_ms = {T1_MS}\n"));
    let private_if = bed.gw.interface_on(&bed.lan).unwrap().name.clone();
    let mut a = Phone::start(&bed.a_host, phone_a_config(&bed, ALICE.1)).unwrap();
    a.wait_registered(SIP).unwrap();
    let call_a = format!("sip:{}@{}", ALICE.2, bed.ipbx.ip());

    // The first two ACKs from the iPBX are lost.
    {
        let drop = AckDrop::insert(&bed.gw, &private_if, Some(2));
        bed.b.dial(&call_a).unwrap();
        a.wait_event(EventKind::CallIncoming, SIP).unwrap();
        a.answer().unwrap();
        let answered = Instant::now();
        a.wait_event(EventKind::CallEstablished, SIP).unwrap();
        bed.b.wait_event(EventKind::CallEstablished, SIP).unwrap();
        assert_audio(&mut a, &mut bed.b);
        assert_survives(&bed, &a, answered);
        assert_eq!(drop.dropped(), 2, "the rule must have dropped two ACKs");
        bed.b.hangup().unwrap();
        a.wait_event(EventKind::CallClosed, SIP).unwrap();
        bed.b.wait_event(EventKind::CallClosed, SIP).unwrap();
    }

    // Every ACK from the iPBX is lost.
    let gw = bed.gw.clone();
    let drop = AckDrop::insert(&gw, &private_if, None);
    let cursor = bed.outpost.process().log_cursor();
    bed.b.dial(&call_a).unwrap();
    a.wait_event(EventKind::CallIncoming, SIP).unwrap();
    a.answer().unwrap();
    let answered = Instant::now();
    assert_both_hung_up_for_no_ack(&mut bed, &a, cursor, answered, "the iPBX");
    assert!(
        drop.dropped() >= 3,
        "Outpost must have retransmitted its 2xx"
    );
}

#[test]
fn lost_acks_from_the_phone() {
    if skip_e2e() {
        return;
    }
    let mut bed = bed("ackphone", &format!("[sip]\nt1_ms = {T1_MS}\n"));
    let public_if = bed.gw.interface_on(&bed.inet).unwrap().name.clone();
    // A speaks UDP (SRTP still required): its ACKs are visible to iptables.
    let mut config = phone_a_config(&bed, ALICE.1);
    config.server = bed.outpost.public_plain();
    let mut config = config.transport(Transport::Udp);
    config.ca_file = None;
    let mut a = Phone::start(&bed.a_host, config).unwrap();
    a.wait_registered(SIP).unwrap();
    let call_b = format!("sip:{}@{FQDN}", BOB_ICP.0);

    {
        let drop = AckDrop::insert(&bed.gw, &public_if, Some(2));
        a.dial(&call_b).unwrap();
        bed.b.wait_event(EventKind::CallIncoming, SIP).unwrap();
        bed.b.answer().unwrap();
        let answered = Instant::now();
        a.wait_event(EventKind::CallEstablished, SIP).unwrap();
        bed.b.wait_event(EventKind::CallEstablished, SIP).unwrap();
        assert_audio(&mut a, &mut bed.b);
        assert_survives(&bed, &a, answered);
        assert_eq!(drop.dropped(), 2, "the rule must have dropped two ACKs");
        a.hangup().unwrap();
        a.wait_event(EventKind::CallClosed, SIP).unwrap();
        bed.b.wait_event(EventKind::CallClosed, SIP).unwrap();
    }

    let gw = bed.gw.clone();
    let drop = AckDrop::insert(&gw, &public_if, None);
    let cursor = bed.outpost.process().log_cursor();
    a.dial(&call_b).unwrap();
    bed.b.wait_event(EventKind::CallIncoming, SIP).unwrap();
    bed.b.answer().unwrap();
    let answered = Instant::now();
    assert_both_hung_up_for_no_ack(&mut bed, &a, cursor, answered, "the phone");
    assert!(
        drop.dropped() >= 3,
        "Outpost must have retransmitted its 2xx"
    );
}
