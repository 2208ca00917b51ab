//! Remote workers through the B2BUA, end to end with real peers (issue
//! "Remote workers through the B2BUA"): phone A at home behind a NAT box
//! speaks TLS to Outpost's public side with its set-side credentials;
//! Outpost's private side faces Kamailio (the iPBX) and phone B on the LAN,
//! both plain UDP.
//!
//!   A (198.19.1.20) ─ home ─ NAT (198.19.1.1 | 198.18.0.1) ─ inet ─
//!     (198.18.0.10) Outpost (198.18.2.10) ─ lan ─ Kamailio (198.18.2.20), B (198.18.2.30)
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::time::{Duration, Instant};

mod bed;

use bed::{ALICE, BOB_ICP, FQDN, SIP, a, bed, phone_a_config, start_a, wait_location};
use outpost_testbed::capture::{Capture, sip_messages};
use outpost_testbed::{EventKind, Phone, Transport, skip_e2e, wait_until};

#[test]
fn registration_is_translated_and_wrong_passwords_never_reach_the_ipbx() {
    if skip_e2e() {
        return;
    }
    let mut bed = bed("rwreg", "");
    // A wrong password first: 403, and Kamailio sees no REGISTER at all.
    let wrong = Phone::start(&bed.a_host, phone_a_config(&bed, "not-the-password")).unwrap();
    let outcome = wrong
        .wait_any(&[EventKind::RegisterOk, EventKind::RegisterFail], SIP)
        .unwrap();
    assert_eq!(
        outcome.kind,
        EventKind::RegisterFail,
        "{:?}",
        wrong.events()
    );
    assert!(outcome.param.contains("403"), "{}", outcome.param);
    drop(wrong);
    assert!(
        !bed.ipbx.log_text().contains("REGISTER from 198.18.2.10"),
        "the iPBX saw a REGISTER for a phone that failed authentication:\n{}",
        bed.ipbx.log_text()
    );

    start_a(&mut bed);
    let private_ip = bed.outpost.private_ip().to_string();
    let contacts = wait_location(&bed.ipbx, ALICE.2, SIP, |c| !c.is_empty());
    assert!(
        contacts
            .iter()
            .all(|c| c.contains(&private_ip) && !c.contains(ALICE.0) && !c.contains("198.19.")),
        "the iPBX must see the ICP-side user bound to Outpost's private address only: {contacts:?}"
    );
    assert!(
        bed.ipbx
            .location()
            .unwrap()
            .iter()
            .all(|b| b.aor != ALICE.0),
        "set-side name leaked to the iPBX"
    );
    let _ = &bed.lan;
    let _ = &bed.inet;
    let _ = &bed.lab;
}

#[test]
fn calls_both_ways_cancel_and_hold() {
    if skip_e2e() {
        return;
    }
    let mut bed = bed("rwcall", "");
    start_a(&mut bed);
    let a_phone = a(&bed);
    let b = &bed.b;

    // A calls B; A hangs up.
    for a_hangs_up in [true, false] {
        a_phone
            .dial(&format!("sip:{}@{}", BOB_ICP.0, bed.outpost.public_ip()))
            .unwrap();
        b.wait_event(EventKind::CallIncoming, SIP).unwrap();
        b.answer().unwrap();
        a_phone.wait_event(EventKind::CallEstablished, SIP).unwrap();
        b.wait_event(EventKind::CallEstablished, SIP).unwrap();
        if a_hangs_up {
            a_phone.hangup().unwrap();
        } else {
            b.hangup().unwrap();
        }
        a_phone.wait_event(EventKind::CallClosed, SIP).unwrap();
        b.wait_event(EventKind::CallClosed, SIP).unwrap();
    }

    // B calls A through the iPBX (A's ICP-side number), A answers; hold and
    // resume from each side.
    b.dial(&format!("sip:{}@{}", ALICE.2, bed.ipbx.ip()))
        .unwrap();
    let incoming = a_phone.wait_event(EventKind::CallIncoming, SIP).unwrap();
    assert!(
        !incoming.peer_uri.contains("198.18.2."),
        "private address shown to the phone: {incoming:?}"
    );
    a_phone.answer().unwrap();
    a_phone.wait_event(EventKind::CallEstablished, SIP).unwrap();
    b.wait_event(EventKind::CallEstablished, SIP).unwrap();
    let remote_sdp = EventKind::Other("CALL_REMOTE_SDP".into());
    for (holder, held) in [(a_phone, b), (b, a_phone)] {
        for step in ["hold", "resume"] {
            holder.command(step, "").unwrap();
            held.wait_event(remote_sdp.clone(), SIP)
                .unwrap_or_else(|e| panic!("{step}: the other phone got no re-INVITE: {e}"));
            holder
                .wait_event(remote_sdp.clone(), SIP)
                .unwrap_or_else(|e| panic!("{step}: no answer to the re-INVITE: {e}"));
        }
    }
    b.hangup().unwrap();
    a_phone.wait_event(EventKind::CallClosed, SIP).unwrap();
    b.wait_event(EventKind::CallClosed, SIP).unwrap();

    // CANCEL before answer: B gives up while A rings.
    b.dial(&format!("sip:{}@{}", ALICE.2, bed.ipbx.ip()))
        .unwrap();
    a_phone.wait_event(EventKind::CallIncoming, SIP).unwrap();
    b.hangup().unwrap();
    a_phone.wait_event(EventKind::CallClosed, SIP).unwrap();
    b.wait_event(EventKind::CallClosed, SIP).unwrap();
}

#[test]
fn a_dead_phone_is_unregistered_from_the_ipbx() {
    if skip_e2e() {
        return;
    }
    // Phones get 30 s bindings here so the test stays short.
    let mut bed = bed("rwdead", "[registration]\nphone_expiry_secs = 30\n");
    start_a(&mut bed);
    wait_location(&bed.ipbx, ALICE.2, SIP, |c| !c.is_empty());
    let mut a = bed.a.take().unwrap();
    let pid = a.process().pid();
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let killed = Instant::now();
    wait_location(&bed.ipbx, ALICE.2, Duration::from_secs(30 + 15), |c| {
        c.is_empty()
    });
    println!(
        "binding removed {:?} after the phone died",
        killed.elapsed()
    );
    drop(a);
}

#[test]
fn topology_is_hidden_on_both_sides() {
    if skip_e2e() {
        return;
    }
    let mut bed = bed("rwtopo", "");
    let public_if = bed.gw.interface_on(&bed.inet).unwrap().name.clone();
    let private_if = bed.gw.interface_on(&bed.lan).unwrap().name.clone();
    let public_cap =
        Capture::start(&bed.gw, &public_if, Some("tcp port 5063 or udp port 5060")).unwrap();
    let private_cap = Capture::start(&bed.gw, &private_if, Some("port 5060")).unwrap();
    bed::live_captures(&bed, &public_cap, &private_cap, 5060);

    start_a(&mut bed);
    let a_phone = a(&bed);
    let b = &bed.b;
    a_phone
        .dial(&format!("sip:{}@{}", BOB_ICP.0, FQDN))
        .unwrap();
    b.wait_event(EventKind::CallIncoming, SIP).unwrap();
    b.answer().unwrap();
    a_phone.wait_event(EventKind::CallEstablished, SIP).unwrap();
    a_phone.hangup().unwrap();
    b.wait_event(EventKind::CallClosed, SIP).unwrap();
    b.dial(&format!("sip:{}@{}", ALICE.2, bed.ipbx.ip()))
        .unwrap();
    a_phone.wait_event(EventKind::CallIncoming, SIP).unwrap();
    a_phone.answer().unwrap();
    b.wait_event(EventKind::CallEstablished, SIP).unwrap();
    b.hangup().unwrap();
    a_phone.wait_event(EventKind::CallClosed, SIP).unwrap();

    let keys = bed.lab.dir().join("outpost-tls-keys.txt");
    let public = sip_messages(&public_cap.stop(), Some(&keys)).unwrap();
    let private = sip_messages(&private_cap.stop(), None).unwrap();
    // The captures really hold the exchanges (TLS decrypted on the public side).
    for (side, messages) in [("public", &public), ("private", &private)] {
        for needle in ["REGISTER", "INVITE", "BYE", "SIP/2.0 200"] {
            assert!(
                messages.iter().any(|m| m.contains(needle)),
                "no {needle} on the {side} side: {messages:#?}"
            );
        }
    }
    let call_ids = |messages: &[String]| -> Vec<String> {
        messages
            .iter()
            .flat_map(|m| {
                m.split(['\t', ',', '\r', '\n'])
                    .map(str::trim)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .filter_map(|h| {
                h.strip_prefix("Call-ID: ")
                    .or_else(|| h.strip_prefix("i: "))
                    .map(str::to_owned)
            })
            .collect()
    };
    // Each side does show its own addresses: the checks below are not
    // passing on empty decodes.
    assert!(
        public
            .iter()
            .any(|m| m.contains("198.18.0.10") || m.contains(FQDN))
    );
    assert!(private.iter().any(|m| m.contains("198.18.2.10")));
    let (public_ids, private_ids) = (call_ids(&public), call_ids(&private));
    assert!(
        !public_ids.is_empty() && !private_ids.is_empty(),
        "no Call-ID decoded"
    );
    let lan_prefix = "198.18.2.";
    let home_prefix = "198.19.1.";
    let nat_public = "198.18.0.1:";
    for m in &public {
        assert!(
            !m.contains(lan_prefix),
            "private address on the public side: {m}"
        );
        assert!(
            !m.contains(ALICE.2) && !m.contains("ipbx.test"),
            "ICP-side identity on the public side: {m}"
        );
        for id in &private_ids {
            assert!(
                !m.contains(id.as_str()),
                "private Call-ID {id} on the public side: {m}"
            );
        }
    }
    for m in &private {
        assert!(
            !m.contains(home_prefix) && !m.contains(nat_public),
            "the phone's network on the private side: {m}"
        );
        assert!(
            !m.contains(ALICE.0),
            "set-side username on the private side: {m}"
        );
        for id in &public_ids {
            assert!(
                !m.contains(id.as_str()),
                "public Call-ID {id} on the private side: {m}"
            );
        }
    }
}

/// The `bindings` of `alice` in `outpost devices list --json` once `check`
/// holds for them (the status is written by a thread of its own).
fn wait_bindings(
    bed: &bed::Bed,
    what: &str,
    check: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    wait_until(what, SIP, || {
        let out = bed.outpost.cli(&["devices", "list", "--json"])?;
        let alice = out
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|d| d["setside_username"] == ALICE.0);
        let bindings = alice
            .and_then(|d| d["bindings"].as_array().cloned())
            .unwrap_or_default();
        Ok(check(&bindings).then_some(bindings))
    })
    .unwrap()
}

#[test]
fn two_clients_of_one_device_both_register_and_both_ring() {
    if skip_e2e() {
        return;
    }
    let mut bed = bed("rwtwo", "");
    // The desk phone: TLS from behind the NAT.
    start_a(&mut bed);
    // A softphone on the same account from the same home: UDP, its own
    // SIP, control and RTP ports (SRTP still required).
    let mut config = phone_a_config(&bed, ALICE.1);
    config.server = bed.outpost.public_plain();
    let mut config = config.transport(Transport::Udp).tone(600);
    config.ca_file = None;
    config.sip_port = 5070;
    config.ctrl_port = 4445;
    config.rtp_ports = (11000, 11999);
    let soft = Phone::start(&bed.a_host, config).unwrap();
    soft.wait_registered(SIP).unwrap();

    // Two contacts for the ICP-side user at Kamailio, both Outpost's.
    let private_ip = bed.outpost.private_ip().to_string();
    let contacts = wait_location(&bed.ipbx, ALICE.2, SIP, |c| c.len() == 2);
    assert!(
        contacts.iter().all(|c| c.contains(&private_ip)) && contacts[0] != contacts[1],
        "{contacts:?}"
    );

    // Two bindings in `devices list`, one per client, both natted, both
    // seen from the NAT's public address.
    let bindings = wait_bindings(&bed, "two bindings for alice", |b| {
        b.len() == 2 && b.iter().all(|b| b["registered"] == true)
    });
    let mut transports: Vec<&str> = bindings
        .iter()
        .filter_map(|b| b["transport"].as_str())
        .collect();
    transports.sort_unstable();
    assert_eq!(transports, ["tls", "udp"], "{bindings:?}");
    for b in &bindings {
        assert_eq!(b["natted"], true, "{b}");
        assert!(
            b["last_address"]
                .as_str()
                .is_some_and(|a| a.starts_with("198.18.0.1:")),
            "{b}"
        );
        assert!(
            b["contact"]
                .as_str()
                .is_some_and(|c| c.contains("198.19.1.20")),
            "{b}"
        );
    }
    let table = bed.outpost.cli(&["devices", "list", "--bindings"]).unwrap();
    assert_eq!(
        table.lines().filter(|l| l.starts_with("alice ")).count(),
        2,
        "{table}"
    );

    // B calls the device: the iPBX forks to both contacts, both ring; the
    // one that answers gets the call, the other stops ringing. Twice, so
    // each client answers once.
    let desk = a(&bed);
    let b = &bed.b;
    for (answers, other) in [(&soft, desk), (desk, &soft)] {
        b.dial(&format!("sip:{}@{}", ALICE.2, bed.ipbx.ip()))
            .unwrap();
        desk.wait_event(EventKind::CallIncoming, SIP).unwrap();
        soft.wait_event(EventKind::CallIncoming, SIP).unwrap();
        answers.answer().unwrap();
        answers.wait_event(EventKind::CallEstablished, SIP).unwrap();
        b.wait_event(EventKind::CallEstablished, SIP).unwrap();
        other.wait_event(EventKind::CallClosed, SIP).unwrap();
        wait_bindings(&bed, "the answering client in call", |bs| {
            let in_call: Vec<bool> = bs.iter().map(|b| b["in_call"] == true).collect();
            in_call.iter().filter(|c| **c).count() == 1
        });
        b.hangup().unwrap();
        answers.wait_event(EventKind::CallClosed, SIP).unwrap();
        b.wait_event(EventKind::CallClosed, SIP).unwrap();
    }

    // The softphone leaves (baresip unregisters on exit): the desk phone's
    // binding and contact stay.
    drop(soft);
    wait_location(&bed.ipbx, ALICE.2, SIP, |c| c.len() == 1);
    let left = wait_bindings(&bed, "one binding left", |b| b.len() == 1);
    assert_eq!(left[0]["transport"], "tls", "{left:?}");
}
