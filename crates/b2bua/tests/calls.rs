//! Calls through the B2BUA (SIG-7) on a virtual clock: both directions,
//! BYE either way, CANCEL and its race with 200, challenges from the iPBX,
//! re-INVITE both ways, the iPBX not answering.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::calls::{HOME, NAT, established, incoming, outcomes, setup, status};
use common::flows::{invite, registered_phone};
use common::ua::{cancel_of, dialog_from_request};
use common::{IPBX, IPBX_IP, PRIVATE_IP, PUBLIC_IP, SDP, Sim, config};
use outpost_b2bua::{B2buaEvent, CallOutcome, Transport};
use outpost_sip::auth::{Credentials, Secret};
use outpost_sip::{HeaderName, Method};

#[test]
fn call_from_the_phone_with_bye_from_the_phone() {
    let (mut sim, a) = setup();
    let (mut d, t, _) = invite(&mut sim, a, "alice", "alice-pw", "2001", &[]);
    let (it, inv) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    assert_eq!(
        inv.request_uri().unwrap().as_str(),
        format!("sip:2001@{IPBX_IP}")
    );
    let from = inv.from().unwrap();
    assert_eq!(from.uri().as_str(), format!("sip:4001@{IPBX_IP}"));
    assert_eq!(from.display_name().unwrap(), "Alice Home");
    assert_eq!(inv.to().unwrap().uri().user().unwrap(), "2001");
    let contact = inv.contacts().unwrap()[0].uri().clone();
    assert_eq!(contact.host(), PRIVATE_IP);
    assert_eq!(contact.user().unwrap().len(), 26);
    assert_ne!(inv.call_id().unwrap(), d.call_id);
    assert_ne!(from.tag().unwrap(), d.local_tag);
    assert_eq!(inv.body(), SDP.as_bytes());

    let ringing = sim.uas[IPBX].response(&inv, 180, "ipbx-tag", &[], None);
    sim.respond(IPBX, it, ringing);
    let r180 = sim.uas[a].last_response(t).cloned().unwrap();
    assert_eq!(status(&r180), 180);
    let our_tag = r180.to().unwrap().tag().unwrap().to_owned();
    assert_ne!(our_tag, "ipbx-tag");
    let ok = sim.uas[IPBX].response(&inv, 200, "ipbx-tag", &[], Some(("application/sdp", SDP)));
    sim.respond(IPBX, it, ok);
    let r200 = sim.uas[a].last_response(t).cloned().unwrap();
    assert_eq!(status(&r200), 200);
    assert_eq!(r200.to().unwrap().tag().unwrap(), our_tag);
    assert_eq!(r200.contacts().unwrap()[0].uri().host(), PUBLIC_IP);
    assert_eq!(r200.body(), SDP.as_bytes());
    d.learn(&r200);
    let ack = sim.uas[a].request(&mut d, Method::Ack, &[], None);
    sim.send_stateless(a, ack);
    let acks = &sim.uas[IPBX].acks;
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].cseq().unwrap().seq, inv.cseq().unwrap().seq);
    assert_eq!(acks[0].call_id().unwrap(), inv.call_id().unwrap());
    assert_eq!(acks[0].to().unwrap().tag(), Some("ipbx-tag"));

    let bye = sim.uas[a].request(&mut d, Method::Bye, &[], None);
    let tb = sim.send(a, bye);
    let (ib, bye_in) = sim.uas[IPBX].take_request(Method::Bye).unwrap();
    assert_eq!(bye_in.call_id().unwrap(), inv.call_id().unwrap());
    assert!(bye_in.cseq().unwrap().seq > inv.cseq().unwrap().seq);
    let ok = sim.uas[IPBX].response(&bye_in, 200, "ipbx-tag", &[], None);
    sim.respond(IPBX, ib, ok);
    assert_eq!(status(sim.uas[a].last_response(tb).unwrap()), 200);
    assert_eq!(outcomes(&sim), vec![CallOutcome::Completed]);
    assert!(
        sim.events
            .iter()
            .any(|e| matches!(e, B2buaEvent::CallAnswered { .. }))
    );
    let stats = sim.b2bua.stats();
    assert_eq!((stats.active_calls, stats.calls_completed), (0, 1));
    sim.advance(Duration::from_secs(40));
    assert_eq!(sim.b2bua.stats().tracked_transactions, 0);
    sim.assert_topology_hidden();
}

#[test]
fn bye_from_the_ipbx() {
    let (mut sim, a) = setup();
    let (_, mut pd) = established(&mut sim, a);
    let bye = sim.uas[IPBX].request(&mut pd, Method::Bye, &[], None);
    let tb = sim.send(IPBX, bye);
    let (pb, bye_in) = sim.uas[a].take_request(Method::Bye).unwrap();
    assert_eq!(
        bye_in.request_uri().unwrap().as_str(),
        format!("sip:alice@{HOME}")
    );
    let ok = sim.uas[a].response(&bye_in, 200, "x", &[], None);
    sim.respond(a, pb, ok);
    assert_eq!(status(sim.uas[IPBX].last_response(tb).unwrap()), 200);
    assert_eq!(outcomes(&sim), vec![CallOutcome::Completed]);
    sim.assert_topology_hidden();
}

#[test]
fn call_to_the_phone_by_token() {
    let (mut sim, a) = setup();
    let (mut pd, ti, pt, inv) = incoming(&mut sim, a);
    assert_eq!(
        inv.request_uri().unwrap().as_str(),
        format!("sip:alice@{HOME}")
    );
    assert_eq!(
        inv.to().unwrap().uri().as_str(),
        format!("sip:alice@{}", common::PUBLIC_DOMAIN)
    );
    let from = inv.from().unwrap();
    assert_eq!(from.uri().user().unwrap(), "2001");
    assert_eq!(from.display_name().unwrap(), "Bob Desk");
    assert_ne!(inv.call_id().unwrap(), pd.call_id);
    let ring = sim.uas[a].response(&inv, 180, "alice-tag", &[], None);
    sim.respond(a, pt, ring);
    let ok = sim.uas[a].response(&inv, 200, "alice-tag", &[], Some(("application/sdp", SDP)));
    sim.respond(a, pt, ok);
    let r = sim.uas[IPBX].last_response(ti).cloned().unwrap();
    assert_eq!(status(&r), 200);
    assert_eq!(r.contacts().unwrap()[0].uri().host(), PRIVATE_IP);
    pd.learn(&r);
    let ack = sim.uas[IPBX].request(&mut pd, Method::Ack, &[], None);
    sim.send_stateless(IPBX, ack);
    assert_eq!(sim.uas[a].acks.len(), 1);
    assert_eq!(
        sim.uas[a].acks[0].cseq().unwrap().seq,
        inv.cseq().unwrap().seq
    );
    assert!(
        sim.events
            .iter()
            .any(|e| matches!(e, B2buaEvent::DeviceStatus(s) if s.in_call))
    );
    // The phone hangs up.
    let mut ad = dialog_from_request(&inv, "alice-tag");
    let bye = sim.uas[a].request(&mut ad, Method::Bye, &[], None);
    let tb = sim.send(a, bye);
    let (ib, b) = sim.uas[IPBX].take_request(Method::Bye).unwrap();
    let ok = sim.uas[IPBX].response(&b, 200, "x", &[], None);
    sim.respond(IPBX, ib, ok);
    assert_eq!(status(sim.uas[a].last_response(tb).unwrap()), 200);
    assert_eq!(outcomes(&sim), vec![CallOutcome::Completed]);
    assert!(
        sim.events
            .iter()
            .any(|e| matches!(e, B2buaEvent::DeviceStatus(s) if !s.in_call))
    );
    sim.assert_topology_hidden();
}

#[test]
fn unknown_token_gets_404() {
    let (mut sim, _) = setup();
    let mut pd = sim.uas[IPBX].dialog(
        "<sip:2001@10.0.0.50>",
        "<sip:x@10.0.0.1>",
        "sip:nosuchtoken@10.0.0.1",
    );
    let inv = sim.uas[IPBX].request(&mut pd, Method::Invite, &[], None);
    let t = sim.send(IPBX, inv);
    assert_eq!(status(sim.uas[IPBX].last_response(t).unwrap()), 404);
}

#[test]
fn cancel_before_answer() {
    let (mut sim, a) = setup();
    let (_, t, sent) = invite(&mut sim, a, "alice", "alice-pw", "2001", &[]);
    let (it, inv) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    let ring = sim.uas[IPBX].response(&inv, 180, "ipbx-tag", &[], None);
    sim.respond(IPBX, it, ring);
    let tc = sim.send(a, cancel_of(&sent));
    assert_eq!(status(sim.uas[a].last_response(tc).unwrap()), 200);
    assert_eq!(status(sim.uas[a].last_response(t).unwrap()), 487);
    let (ic, cancel) = sim.uas[IPBX].take_request(Method::Cancel).unwrap();
    assert_eq!(
        cancel.top_via().unwrap().branch(),
        inv.top_via().unwrap().branch()
    );
    let ok = sim.uas[IPBX].response(&cancel, 200, "ipbx-tag", &[], None);
    sim.respond(IPBX, ic, ok);
    let terminated = sim.uas[IPBX].response(&inv, 487, "ipbx-tag", &[], None);
    sim.respond(IPBX, it, terminated);
    assert_eq!(outcomes(&sim), vec![CallOutcome::Cancelled]);
    // The iPBX got the ACK for its 487 (from the transaction layer).
    assert_eq!(
        sim.uas[IPBX].acks.len(),
        0,
        "ACK for non-2xx is absorbed by its transaction"
    );
    sim.advance(Duration::from_secs(40));
    let stats = sim.b2bua.stats();
    assert_eq!((stats.active_dialogs, stats.tracked_transactions), (0, 0));
    sim.assert_topology_hidden();
}

#[test]
fn cancel_before_any_provisional_waits_for_one() {
    let (mut sim, a) = setup();
    let (_, t, sent) = invite(&mut sim, a, "alice", "alice-pw", "2001", &[]);
    let (it, inv) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    sim.send(a, cancel_of(&sent));
    assert_eq!(status(sim.uas[a].last_response(t).unwrap()), 487);
    // The iPBX's transaction layer sent 100 Trying automatically, so the
    // CANCEL may go at once; in any case it reaches the iPBX.
    let ring = sim.uas[IPBX].response(&inv, 180, "ipbx-tag", &[], None);
    sim.respond(IPBX, it, ring);
    assert!(sim.uas[IPBX].take_request(Method::Cancel).is_some());
    let terminated = sim.uas[IPBX].response(&inv, 487, "ipbx-tag", &[], None);
    sim.respond(IPBX, it, terminated);
    assert_eq!(outcomes(&sim), vec![CallOutcome::Cancelled]);
}

#[test]
fn cancel_racing_with_200_hangs_up_the_private_leg() {
    let (mut sim, a) = setup();
    let (_, t, sent) = invite(&mut sim, a, "alice", "alice-pw", "2001", &[]);
    let (it, inv) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    let ring = sim.uas[IPBX].response(&inv, 180, "ipbx-tag", &[], None);
    sim.respond(IPBX, it, ring);
    sim.send(a, cancel_of(&sent));
    // The iPBX answered before it saw the CANCEL.
    let ok = sim.uas[IPBX].response(&inv, 200, "ipbx-tag", &[], Some(("application/sdp", SDP)));
    sim.respond(IPBX, it, ok);
    assert_eq!(sim.uas[IPBX].acks.len(), 1);
    let (ib, bye) = sim.uas[IPBX].take_request(Method::Bye).unwrap();
    assert_eq!(bye.call_id().unwrap(), inv.call_id().unwrap());
    assert_eq!(bye.to().unwrap().tag(), Some("ipbx-tag"));
    let ok = sim.uas[IPBX].response(&bye, 200, "ipbx-tag", &[], None);
    sim.respond(IPBX, ib, ok);
    assert_eq!(sim.uas[a].statuses(t).last(), Some(&487));
    assert!(!sim.uas[a].statuses(t).contains(&200));
    assert_eq!(outcomes(&sim), vec![CallOutcome::Cancelled]);
    sim.assert_topology_hidden();
}

#[test]
fn challenge_from_the_ipbx_is_answered_with_icp_credentials() {
    let (mut sim, a) = setup();
    let (mut d, t, _) = invite(&mut sim, a, "alice", "alice-pw", "2001", &[]);
    let (it, inv) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    let unix = sim.unix();
    let challenges = sim.uas[IPBX]
        .registrar()
        .server
        .challenge(unix, [8; 16], false);
    let h: Vec<(HeaderName, String)> = challenges
        .iter()
        .map(|c| (HeaderName::ProxyAuthenticate, c.to_header_value()))
        .collect();
    let r407 = sim.uas[IPBX].response(&inv, 407, "ipbx-tag", &h, None);
    sim.respond(IPBX, it, r407);
    let (it2, inv2) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    assert_eq!(inv2.call_id().unwrap(), inv.call_id().unwrap());
    assert_eq!(inv2.from().unwrap().tag(), inv.from().unwrap().tag());
    assert_eq!(inv2.cseq().unwrap().seq, inv.cseq().unwrap().seq + 1);
    assert_ne!(
        inv2.top_via().unwrap().branch(),
        inv.top_via().unwrap().branch()
    );
    let creds = Credentials::parse(inv2.header(&HeaderName::ProxyAuthorization).unwrap()).unwrap();
    assert_eq!(creds.username, "4001");
    sim.uas[IPBX]
        .registrar()
        .server
        .verify(&creds, "INVITE", Secret::Password("icp-secret-1"), unix)
        .unwrap();
    // The phone never saw the 407.
    assert!(!sim.uas[a].statuses(t).contains(&407));
    let ok = sim.uas[IPBX].response(&inv2, 200, "ipbx-tag", &[], Some(("application/sdp", SDP)));
    sim.respond(IPBX, it2, ok);
    let r = sim.uas[a].last_response(t).cloned().unwrap();
    assert_eq!(status(&r), 200);
    d.learn(&r);
    let ack = sim.uas[a].request(&mut d, Method::Ack, &[], None);
    sim.send_stateless(a, ack);
    assert_eq!(
        sim.uas[IPBX].acks[0].cseq().unwrap().seq,
        inv2.cseq().unwrap().seq
    );
}

#[test]
fn reinvite_both_ways() {
    let (mut sim, a) = setup();
    let (mut d, mut pd) = established(&mut sim, a);
    // Hold from the phone.
    let hold = sim.uas[a].request(&mut d, Method::Invite, &[], Some(("application/sdp", SDP)));
    let t = sim.send(a, hold);
    let (it, re) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    assert_eq!(re.to().unwrap().tag(), Some("ipbx-tag"));
    assert_eq!(re.call_id().unwrap(), pd.call_id);
    assert_eq!(re.cseq().unwrap().seq, 2);
    let ok = sim.uas[IPBX].response(&re, 200, "ipbx-tag", &[], Some(("application/sdp", SDP)));
    sim.respond(IPBX, it, ok);
    assert_eq!(status(sim.uas[a].last_response(t).unwrap()), 200);
    let ack = sim.uas[a].request(&mut d, Method::Ack, &[], None);
    sim.send_stateless(a, ack);
    assert_eq!(sim.uas[IPBX].acks.len(), 2);
    assert_eq!(sim.uas[IPBX].acks[1].cseq().unwrap().seq, 2);
    // Resume from the iPBX.
    let resume =
        sim.uas[IPBX].request(&mut pd, Method::Invite, &[], Some(("application/sdp", SDP)));
    let ti = sim.send(IPBX, resume);
    let (pt, re2) = sim.uas[a].take_request(Method::Invite).unwrap();
    assert_eq!(re2.to().unwrap().tag(), Some(d.local_tag.as_str()));
    assert_eq!(re2.call_id().unwrap(), d.call_id);
    let ok = sim.uas[a].response(
        &re2,
        200,
        &d.local_tag.clone(),
        &[],
        Some(("application/sdp", SDP)),
    );
    sim.respond(a, pt, ok);
    let r = sim.uas[IPBX].last_response(ti).cloned().unwrap();
    assert_eq!(status(&r), 200);
    let ack = sim.uas[IPBX].request(&mut pd, Method::Ack, &[], None);
    sim.send_stateless(IPBX, ack);
    assert_eq!(sim.uas[a].acks.len(), 1);
    assert_eq!(
        sim.uas[a].acks[0].cseq().unwrap().seq,
        re2.cseq().unwrap().seq
    );
    sim.assert_topology_hidden();
}

#[test]
fn reliable_provisional_and_prack() {
    let (mut sim, a) = setup();
    let supported = vec![(HeaderName::Supported, "100rel".to_owned())];
    let (mut d, t, sent) = invite(&mut sim, a, "alice", "alice-pw", "2001", &supported);
    let (it, inv) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    assert_eq!(inv.header(&HeaderName::Supported), Some("100rel"));
    let h = vec![
        (HeaderName::Require, "100rel".to_owned()),
        (HeaderName::RSeq, "1".to_owned()),
    ];
    let early = sim.uas[IPBX].response(&inv, 183, "ipbx-tag", &h, Some(("application/sdp", SDP)));
    sim.respond(IPBX, it, early);
    let r183 = sim.uas[a].last_response(t).cloned().unwrap();
    assert_eq!(status(&r183), 183);
    assert_eq!(r183.header(&HeaderName::RSeq), Some("1"));
    assert_eq!(r183.header(&HeaderName::Require), Some("100rel"));
    d.learn(&r183);
    let rack = vec![(
        HeaderName::RAck,
        format!("1 {} INVITE", sent.cseq().unwrap().seq),
    )];
    let prack = sim.uas[a].request(&mut d, Method::Prack, &rack, None);
    let tp = sim.send(a, prack);
    let (ip, prack_in) = sim.uas[IPBX].take_request(Method::Prack).unwrap();
    assert_eq!(
        prack_in.header(&HeaderName::RAck).unwrap(),
        format!("1 {} INVITE", inv.cseq().unwrap().seq)
    );
    assert_eq!(prack_in.to().unwrap().tag(), Some("ipbx-tag"));
    let ok = sim.uas[IPBX].response(&prack_in, 200, "ipbx-tag", &[], None);
    sim.respond(IPBX, ip, ok);
    assert_eq!(status(sim.uas[a].last_response(tp).unwrap()), 200);
    let ok = sim.uas[IPBX].response(&inv, 200, "ipbx-tag", &[], None);
    sim.respond(IPBX, it, ok);
    assert_eq!(status(sim.uas[a].last_response(t).unwrap()), 200);
}

#[test]
fn the_ipbx_not_answering_an_invite_gives_408() {
    let (mut sim, a) = setup();
    sim.uas[IPBX].deaf = true;
    let (_, t, _) = invite(&mut sim, a, "alice", "alice-pw", "2001", &[]);
    sim.advance(Duration::from_secs(33));
    assert_eq!(sim.uas[a].statuses(t).last(), Some(&408));
    assert_eq!(outcomes(&sim), vec![CallOutcome::NoAnswer]);
    assert_eq!(sim.b2bua.stats().active_dialogs, 0);
}

#[test]
fn the_phone_not_acking_hangs_up_after_64_t1() {
    let (mut sim, a) = setup();
    let (_, t, _) = invite(&mut sim, a, "alice", "alice-pw", "2001", &[]);
    let (it, inv) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    let ok = sim.uas[IPBX].response(&inv, 200, "ipbx-tag", &[], None);
    sim.respond(IPBX, it, ok);
    sim.advance(Duration::from_secs(5));
    // Our 2xx was retransmitted to the phone (UDP).
    let oks = sim
        .sent
        .iter()
        .filter(|s| {
            s.to.side == outpost_b2bua::Side::Public && s.message.status().map(|s| s.0) == Some(200)
        })
        .count();
    assert!(oks > 1, "2xx retransmitted: {oks}");
    assert_eq!(status(sim.uas[a].last_response(t).unwrap()), 200);
    sim.advance(Duration::from_secs(30));
    assert_eq!(sim.uas[IPBX].acks.len(), 1);
    assert!(sim.uas[IPBX].take_request(Method::Bye).is_some());
    assert_eq!(sim.b2bua.stats().active_dialogs, 0);
}

#[test]
fn dialog_limit_gives_503() {
    let mut c = config();
    c.max_dialogs = 1;
    let mut sim = Sim::new(c);
    let (a, _) = registered_phone(&mut sim, "alice", "alice-pw", Transport::Udp, HOME, NAT);
    invite(&mut sim, a, "alice", "alice-pw", "2001", &[]);
    let (_, t, _) = invite(&mut sim, a, "alice", "alice-pw", "2002", &[]);
    assert_eq!(sim.uas[a].statuses(t).last(), Some(&503));
    assert_eq!(sim.b2bua.stats().overload_rejections, 1);
}

#[test]
fn requests_to_the_gateway_itself_stay_with_the_core() {
    let (mut sim, a) = setup();
    let gw = format!("sip:{}", common::PUBLIC_DOMAIN);
    let mut d = sim.uas[a].dialog("<sip:alice@gw.example.com>", "<sip:gw.example.com>", &gw);
    let options = sim.uas[a].request(&mut d, Method::Options, &[], None);
    let t = sim.send(a, options);
    assert_eq!(status(sim.uas[a].last_response(t).unwrap()), 200);
    assert_eq!(sim.core_requests.len(), 1);
    assert_eq!(sim.uas[IPBX].requests.len(), 0);
}

#[test]
fn trusted_tls_connection_skips_the_challenge() {
    let mut c = config();
    c.trust_registered_connection = true;
    let mut sim = Sim::new(c);
    let (a, _) = registered_phone(&mut sim, "alice", "alice-pw", Transport::Tls, HOME, NAT);
    let mut d = sim.uas[a].dialog(
        "<sip:alice@gw.example.com>",
        "<sip:2001@gw.example.com>",
        "sip:2001@gw.example.com",
    );
    let inv = sim.uas[a].request(&mut d, Method::Invite, &[], Some(("application/sdp", SDP)));
    let t = sim.send(a, inv);
    assert!(!sim.uas[a].statuses(t).contains(&407));
    let (_, at_ipbx) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    assert_eq!(at_ipbx.from().unwrap().uri().user().unwrap(), "4001");
}

#[test]
fn calls_to_a_tls_phone_reuse_its_connection_and_translate_identities() {
    let mut sim = Sim::new(config());
    registered_phone(&mut sim, "alice", "alice-pw", Transport::Udp, HOME, NAT);
    let (b, _) = registered_phone(
        &mut sim,
        "bob",
        "bob-pw",
        Transport::Tls,
        "192.168.7.3:5061",
        "198.51.100.8:41000",
    );
    let contact = sim.uas[IPBX]
        .registrar()
        .bindings
        .get("4002")
        .unwrap()
        .0
        .clone();
    // Alice (ICP-side 4001) calls Bob from a desk phone behind the iPBX.
    let mut pd = sim.uas[IPBX].dialog(
        &format!("<sip:4001@{IPBX_IP}>"),
        &format!("<sip:4002@{IPBX_IP}>"),
        &contact,
    );
    let pai = vec![(
        HeaderName::PAssertedIdentity,
        format!("\"Alice\" <sip:4001@{IPBX_IP}>"),
    )];
    let inv = sim.uas[IPBX].request(
        &mut pd,
        Method::Invite,
        &pai,
        Some(("application/sdp", SDP)),
    );
    sim.send(IPBX, inv);
    let (_, at_phone) = sim.uas[b].take_request(Method::Invite).unwrap();
    assert_eq!(at_phone.from().unwrap().uri().user().unwrap(), "alice");
    assert_eq!(
        at_phone.header(&HeaderName::PAssertedIdentity).unwrap(),
        format!("\"Alice\" <sip:alice@{}>", common::PUBLIC_DOMAIN)
    );
    let via = at_phone.top_via().unwrap();
    assert_eq!(via.transport(), "TLS");
    assert_eq!(via.port(), Some(5063));
    assert_eq!(
        at_phone.contacts().unwrap()[0].uri().transport(),
        Some("tls")
    );
    let sent = sim
        .sent
        .iter()
        .find(|s| s.message.method() == Some(&Method::Invite))
        .unwrap();
    assert_eq!(sent.to.transport, Transport::Tls);
    assert_eq!(sent.to.conn, sim.uas[b].conn);
    sim.assert_topology_hidden();
}

#[test]
fn a_disabled_device_is_unregistered_at_once() {
    let (mut sim, _) = setup();
    assert!(sim.uas[IPBX].registrar().bindings.contains_key("4001"));
    sim.dir.devices.get_mut("alice").unwrap().enabled = false;
    let (now, unix) = (sim.now, sim.unix());
    sim.b2bua
        .handle_device_update(now, unix, &mut sim.txn, "alice", &sim.dir);
    sim.pump();
    assert!(!sim.uas[IPBX].registrar().bindings.contains_key("4001"));
    assert_eq!(sim.b2bua.stats().bindings, 0);
}

#[test]
fn shutdown_hangs_up_and_unregisters() {
    let (mut sim, a) = setup();
    let _ = established(&mut sim, a);
    let (now, unix) = (sim.now, sim.unix());
    sim.b2bua.shutdown(now, unix, &mut sim.txn);
    sim.pump();
    assert!(sim.uas[IPBX].take_request(Method::Bye).is_some());
    assert!(sim.uas[a].take_request(Method::Bye).is_some());
    assert!(!sim.uas[IPBX].registrar().bindings.contains_key("4001"));
    assert_eq!(sim.b2bua.stats().active_calls, 0);
}

#[test]
fn retransmitted_2xx_gets_the_same_ack_and_another_fork_is_hung_up() {
    let (mut sim, a) = setup();
    let (_, t, _) = invite(&mut sim, a, "alice", "alice-pw", "2001", &[]);
    let (it, inv) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    let ok = sim.uas[IPBX].response(&inv, 200, "ipbx-tag", &[], None);
    sim.respond(IPBX, it, ok.clone());
    let r = sim.uas[a].last_response(t).cloned().unwrap();
    let mut phone = sim.uas[a].dialog(
        "<sip:alice@gw.example.com>",
        "<sip:2001@gw.example.com>",
        "sip:x@y",
    );
    phone.call_id = r.call_id().unwrap().to_owned();
    phone.local_tag = r.from().unwrap().tag().unwrap().to_owned();
    phone.invite_cseq = r.cseq().unwrap().seq;
    phone.learn(&r);
    let ack = sim.uas[a].request(&mut phone, Method::Ack, &[], None);
    sim.send_stateless(a, ack);
    assert_eq!(sim.uas[IPBX].acks.len(), 1);
    // The iPBX re-sends its 2xx (its ACK was "lost"): the same ACK again.
    sim.send_stateless(IPBX, ok);
    assert_eq!(sim.uas[IPBX].acks.len(), 2);
    assert_eq!(
        sim.uas[IPBX].acks[0].as_bytes(),
        sim.uas[IPBX].acks[1].as_bytes()
    );
    // A 2xx from another fork (another To tag): ACKed and hung up.
    let fork = sim.uas[IPBX].response(&inv, 200, "fork-tag", &[], None);
    sim.send_stateless(IPBX, fork);
    assert_eq!(sim.uas[IPBX].acks.len(), 3);
    let (_, bye) = sim.uas[IPBX].take_request(Method::Bye).unwrap();
    assert_eq!(bye.to().unwrap().tag(), Some("fork-tag"));
    assert_eq!(sim.b2bua.stats().active_calls, 1);
}

#[test]
fn the_b2bua_can_live_in_a_tokio_task() {
    fn send<T: Send>() {}
    send::<outpost_b2bua::B2bua<common::Flow>>();
}
