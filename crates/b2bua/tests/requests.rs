//! Other requests through the B2BUA (SIG-7): REFER + NOTIFY, SUBSCRIBE +
//! NOTIFY (NOTIFY before the 2xx), MESSAGE, INFO, UPDATE, OPTIONS in and
//! out of dialog, and header pass-through.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::flows::{invite, registered_phone};
use common::ua::{UaDialog, dialog_from_request};
use common::{IPBX, IPBX_IP, PUBLIC_DOMAIN, SDP, Sim, config};
use outpost_b2bua::Transport;
use outpost_sip::{HeaderName, Message, Method};

const HOME: &str = "192.168.1.20:5060";
const NAT: &str = "198.51.100.7:40000";

fn status(m: &Message) -> u16 {
    m.status().unwrap().0
}

fn setup() -> (Sim, usize) {
    let mut sim = Sim::new(config());
    let (a, _) = registered_phone(&mut sim, "alice", "alice-pw", Transport::Udp, HOME, NAT);
    (sim, a)
}

fn established(
    sim: &mut Sim,
    a: usize,
    extra: &[(HeaderName, String)],
) -> (UaDialog, UaDialog, Message) {
    let (mut d, t, _) = invite(sim, a, "alice", "alice-pw", "2001", extra);
    let (it, inv) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    let ok = sim.uas[IPBX].response(&inv, 200, "ipbx-tag", &[], Some(("application/sdp", SDP)));
    sim.respond(IPBX, it, ok);
    let resp = sim.uas[a].last_response(t).cloned().unwrap();
    d.learn(&resp);
    let ack = sim.uas[a].request(&mut d, Method::Ack, &[], None);
    sim.send_stateless(a, ack);
    (d, dialog_from_request(&inv, "ipbx-tag"), inv)
}

#[test]
fn pass_through_headers_and_unknown_headers_dropped() {
    let (mut sim, a) = setup();
    let extra = vec![
        (HeaderName::new("X-Aastra-Id"), "dect-42".to_owned()),
        (HeaderName::new("X-Secret-Internal"), "drop me".to_owned()),
        (
            HeaderName::PAssertedIdentity,
            format!("<sip:bob@{PUBLIC_DOMAIN}>"),
        ),
        (HeaderName::UserAgent, "Phone 6867i".to_owned()),
        (HeaderName::Warning, "399 192.168.1.20 \"home\"".to_owned()),
    ];
    let (_, _, inv) = established(&mut sim, a, &extra);
    assert_eq!(inv.header(&HeaderName::new("X-Aastra-Id")), Some("dect-42"));
    assert_eq!(inv.header(&HeaderName::new("X-Secret-Internal")), None);
    assert_eq!(inv.header(&HeaderName::Warning), None);
    assert_eq!(inv.header(&HeaderName::UserAgent), Some("Phone 6867i"));
    // A phone cannot assert another identity: it becomes its own.
    assert_eq!(
        inv.header(&HeaderName::PAssertedIdentity).unwrap(),
        format!("<sip:4001@{IPBX_IP}>")
    );
    sim.assert_topology_hidden();
}

#[test]
fn refer_and_notify_in_a_call() {
    let (mut sim, a) = setup();
    let (mut d, mut pd, _) = established(&mut sim, a, &[]);
    let h = vec![
        (HeaderName::ReferTo, format!("<sip:2002@{PUBLIC_DOMAIN}>")),
        (
            HeaderName::ReferredBy,
            format!("<sip:alice@{PUBLIC_DOMAIN}>"),
        ),
    ];
    let refer = sim.uas[a].request(&mut d, Method::Refer, &h, None);
    let t = sim.send(a, refer);
    let (ir, refer_in) = sim.uas[IPBX].take_request(Method::Refer).unwrap();
    assert_eq!(
        refer_in.header(&HeaderName::ReferTo).unwrap(),
        format!("<sip:2002@{IPBX_IP}>")
    );
    assert_eq!(
        refer_in.header(&HeaderName::ReferredBy).unwrap(),
        format!("<sip:4001@{IPBX_IP}>")
    );
    let accepted = sim.uas[IPBX].response(&refer_in, 202, "ipbx-tag", &[], None);
    sim.respond(IPBX, ir, accepted);
    assert_eq!(status(sim.uas[a].last_response(t).unwrap()), 202);
    let h = vec![
        (HeaderName::Event, "refer".to_owned()),
        (
            HeaderName::SubscriptionState,
            "active;expires=60".to_owned(),
        ),
    ];
    let notify = sim.uas[IPBX].request(
        &mut pd,
        Method::Notify,
        &h,
        Some(("message/sipfrag", "SIP/2.0 100 Trying\r\n")),
    );
    let tn = sim.send(IPBX, notify);
    let (pn, notify_in) = sim.uas[a].take_request(Method::Notify).unwrap();
    assert_eq!(notify_in.header(&HeaderName::Event), Some("refer"));
    assert_eq!(notify_in.body(), b"SIP/2.0 100 Trying\r\n");
    assert_eq!(notify_in.call_id().unwrap(), d.call_id);
    let ok = sim.uas[a].response(&notify_in, 200, &d.local_tag.clone(), &[], None);
    sim.respond(a, pn, ok);
    assert_eq!(status(sim.uas[IPBX].last_response(tn).unwrap()), 200);
    sim.assert_topology_hidden();
}

#[test]
fn attended_transfer_maps_replaces_to_the_private_dialog() {
    let (mut sim, a) = setup();
    let (mut d1, _, _) = established(&mut sim, a, &[]);
    let (d2, pd2, _) = {
        let (mut d, t, _) = invite(&mut sim, a, "alice", "alice-pw", "2002", &[]);
        let (it, inv) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
        let ok = sim.uas[IPBX].response(&inv, 200, "ipbx-tag2", &[], None);
        sim.respond(IPBX, it, ok);
        d.learn(&sim.uas[a].last_response(t).cloned().unwrap());
        let ack = sim.uas[a].request(&mut d, Method::Ack, &[], None);
        sim.send_stateless(a, ack);
        (d, dialog_from_request(&inv, "ipbx-tag2"), inv)
    };
    let replaces = format!(
        "{}%3Bto-tag%3D{}%3Bfrom-tag%3D{}",
        d2.call_id,
        d2.remote_tag.clone().unwrap(),
        d2.local_tag
    );
    let h = vec![(
        HeaderName::ReferTo,
        format!("<sip:2002@{PUBLIC_DOMAIN}?Replaces={replaces}>"),
    )];
    let refer = sim.uas[a].request(&mut d1, Method::Refer, &h, None);
    sim.send(a, refer);
    let (_, refer_in) = sim.uas[IPBX].take_request(Method::Refer).unwrap();
    let expected = format!(
        "<sip:2002@{IPBX_IP}?Replaces={}%3Bto-tag%3Dipbx-tag2%3Bfrom-tag%3D{}>",
        pd2.call_id,
        pd2.remote_tag.unwrap()
    );
    assert_eq!(refer_in.header(&HeaderName::ReferTo).unwrap(), expected);
    sim.assert_topology_hidden();
}

#[test]
fn subscribe_with_notify_before_the_2xx() {
    let (mut sim, a) = setup();
    let from = format!("<sip:alice@{PUBLIC_DOMAIN}>");
    let mut d = sim.uas[a].dialog(&from, &from, &format!("sip:alice@{PUBLIC_DOMAIN}"));
    let h = vec![
        (HeaderName::Event, "message-summary".to_owned()),
        (HeaderName::Expires, "3600".to_owned()),
    ];
    let first = sim.uas[a].request(&mut d, Method::Subscribe, &h, None);
    let t = sim.send(a, first.clone());
    let r = sim.uas[a].last_response(t).cloned().unwrap();
    assert_eq!(status(&r), 407);
    let mut h2 = h.clone();
    h2.push(sim.uas[a].authorize(&r, &first, "alice", "alice-pw"));
    let sub = sim.uas[a].request(&mut d, Method::Subscribe, &h2, None);
    let t = sim.send(a, sub);
    let (is, sub_in) = sim.uas[IPBX].take_request(Method::Subscribe).unwrap();
    assert_eq!(
        sub_in.request_uri().unwrap().as_str(),
        format!("sip:4001@{IPBX_IP}")
    );
    assert_eq!(sub_in.header(&HeaderName::Event), Some("message-summary"));
    // NOTIFY first.
    let mut pd = dialog_from_request(&sub_in, "mwi-tag");
    let nh = vec![
        (HeaderName::Event, "message-summary".to_owned()),
        (
            HeaderName::SubscriptionState,
            "active;expires=3600".to_owned(),
        ),
    ];
    let notify = sim.uas[IPBX].request(
        &mut pd,
        Method::Notify,
        &nh,
        Some((
            "application/simple-message-summary",
            "Messages-Waiting: yes\r\n",
        )),
    );
    let tn = sim.send(IPBX, notify);
    let (pn, notify_in) = sim.uas[a].take_request(Method::Notify).unwrap();
    assert_eq!(notify_in.call_id().unwrap(), d.call_id);
    assert_eq!(notify_in.to().unwrap().tag(), Some(d.local_tag.as_str()));
    let our_tag = notify_in.from().unwrap().tag().unwrap().to_owned();
    let ok = sim.uas[a].response(&notify_in, 200, &d.local_tag.clone(), &[], None);
    sim.respond(a, pn, ok);
    assert_eq!(status(sim.uas[IPBX].last_response(tn).unwrap()), 200);
    // Then the 2xx to the SUBSCRIBE, with the same tag as the NOTIFY.
    let ok = sim.uas[IPBX].response(
        &sub_in,
        200,
        "mwi-tag",
        &[(HeaderName::Expires, "3600".to_owned())],
        None,
    );
    sim.respond(IPBX, is, ok);
    let r = sim.uas[a].last_response(t).cloned().unwrap();
    assert_eq!(status(&r), 200);
    assert_eq!(r.to().unwrap().tag(), Some(our_tag.as_str()));
    assert_eq!(sim.b2bua.stats().active_dialogs, 1);
    // The final NOTIFY ends it.
    let nh = vec![
        (HeaderName::Event, "message-summary".to_owned()),
        (
            HeaderName::SubscriptionState,
            "terminated;reason=timeout".to_owned(),
        ),
    ];
    let notify = sim.uas[IPBX].request(&mut pd, Method::Notify, &nh, None);
    sim.send(IPBX, notify);
    let (pn, notify_in) = sim.uas[a].take_request(Method::Notify).unwrap();
    let ok = sim.uas[a].response(&notify_in, 200, &d.local_tag.clone(), &[], None);
    sim.respond(a, pn, ok);
    assert_eq!(sim.b2bua.stats().active_dialogs, 0);
    sim.assert_topology_hidden();
}

#[test]
fn message_both_ways_and_unsolicited_notify() {
    let (mut sim, a) = setup();
    let from = format!("<sip:alice@{PUBLIC_DOMAIN}>");
    let mut d = sim.uas[a].dialog(
        &from,
        &format!("<sip:2001@{PUBLIC_DOMAIN}>"),
        &format!("sip:2001@{PUBLIC_DOMAIN}"),
    );
    let first = sim.uas[a].request(&mut d, Method::Message, &[], Some(("text/plain", "hello")));
    let t = sim.send(a, first.clone());
    let r = sim.uas[a].last_response(t).cloned().unwrap();
    let auth = sim.uas[a].authorize(&r, &first, "alice", "alice-pw");
    let msg = sim.uas[a].request(
        &mut d,
        Method::Message,
        &[auth],
        Some(("text/plain", "hello")),
    );
    let t = sim.send(a, msg);
    let (im, msg_in) = sim.uas[IPBX].take_request(Method::Message).unwrap();
    assert_eq!(msg_in.body(), b"hello");
    assert!(msg_in.contacts().unwrap().is_empty());
    let ok = sim.uas[IPBX].response(&msg_in, 200, "m", &[], None);
    sim.respond(IPBX, im, ok);
    assert_eq!(status(sim.uas[a].last_response(t).unwrap()), 200);

    let contact = sim.uas[IPBX]
        .registrar()
        .bindings
        .get("4001")
        .unwrap()
        .0
        .clone();
    for (method, ct, body) in [
        (Method::Message, "text/plain", "from the pbx"),
        (
            Method::Notify,
            "application/simple-message-summary",
            "Messages-Waiting: yes\r\n",
        ),
    ] {
        let mut pd = sim.uas[IPBX].dialog(
            &format!("<sip:2001@{IPBX_IP}>"),
            &format!("<sip:4001@{IPBX_IP}>"),
            &contact,
        );
        let h = vec![(HeaderName::Event, "message-summary".to_owned())];
        let m = sim.uas[IPBX].request(&mut pd, method.clone(), &h, Some((ct, body)));
        let t = sim.send(IPBX, m);
        let (pm, m_in) = sim.uas[a].take_request(method).unwrap();
        assert_eq!(m_in.body(), body.as_bytes());
        assert_eq!(
            m_in.request_uri().unwrap().as_str(),
            format!("sip:alice@{HOME}")
        );
        let ok = sim.uas[a].response(&m_in, 200, "p", &[], None);
        sim.respond(a, pm, ok);
        assert_eq!(status(sim.uas[IPBX].last_response(t).unwrap()), 200);
    }
    assert_eq!(sim.b2bua.stats().active_dialogs, 0);
    sim.assert_topology_hidden();
}

#[test]
fn info_update_and_options_in_dialog() {
    let (mut sim, a) = setup();
    let (mut d, mut pd, _) = established(&mut sim, a, &[]);
    let info = sim.uas[a].request(
        &mut d,
        Method::Info,
        &[],
        Some(("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")),
    );
    let t = sim.send(a, info);
    let (ii, info_in) = sim.uas[IPBX].take_request(Method::Info).unwrap();
    assert_eq!(info_in.body(), b"Signal=5\r\nDuration=160\r\n");
    assert_eq!(
        info_in.header(&HeaderName::ContentType),
        Some("application/dtmf-relay")
    );
    let ok = sim.uas[IPBX].response(&info_in, 200, "ipbx-tag", &[], None);
    sim.respond(IPBX, ii, ok);
    assert_eq!(status(sim.uas[a].last_response(t).unwrap()), 200);

    let update =
        sim.uas[IPBX].request(&mut pd, Method::Update, &[], Some(("application/sdp", SDP)));
    let t = sim.send(IPBX, update);
    let (pu, upd) = sim.uas[a].take_request(Method::Update).unwrap();
    let ok = sim.uas[a].response(
        &upd,
        200,
        &d.local_tag.clone(),
        &[],
        Some(("application/sdp", SDP)),
    );
    sim.respond(a, pu, ok);
    let r = sim.uas[IPBX].last_response(t).cloned().unwrap();
    assert_eq!(status(&r), 200);
    assert_eq!(r.contacts().unwrap()[0].uri().host(), common::PRIVATE_IP);

    let options = sim.uas[a].request(&mut d, Method::Options, &[], None);
    let t = sim.send(a, options);
    let (io, opt) = sim.uas[IPBX].take_request(Method::Options).unwrap();
    let ok = sim.uas[IPBX].response(&opt, 200, "ipbx-tag", &[], None);
    sim.respond(IPBX, io, ok);
    assert_eq!(status(sim.uas[a].last_response(t).unwrap()), 200);

    // A request in an unknown dialog.
    let mut bogus = d.clone();
    bogus.call_id = "nope".into();
    let bye = sim.uas[a].request(&mut bogus, Method::Bye, &[], None);
    let t = sim.send(a, bye);
    assert_eq!(status(sim.uas[a].last_response(t).unwrap()), 481);
    sim.assert_topology_hidden();
}

#[test]
fn out_of_dialog_options_to_a_user_is_relayed() {
    let (mut sim, a) = setup();
    let from = format!("<sip:alice@{PUBLIC_DOMAIN}>");
    let mut d = sim.uas[a].dialog(
        &from,
        &format!("<sip:2001@{PUBLIC_DOMAIN}>"),
        &format!("sip:2001@{PUBLIC_DOMAIN}"),
    );
    let first = sim.uas[a].request(&mut d, Method::Options, &[], None);
    let t = sim.send(a, first.clone());
    let r = sim.uas[a].last_response(t).cloned().unwrap();
    let auth = sim.uas[a].authorize(&r, &first, "alice", "alice-pw");
    let opt = sim.uas[a].request(&mut d, Method::Options, &[auth], None);
    let t = sim.send(a, opt);
    let (io, o) = sim.uas[IPBX].take_request(Method::Options).unwrap();
    let ok = sim.uas[IPBX].response(
        &o,
        200,
        "o",
        &[(HeaderName::Allow, "INVITE, ACK, BYE".to_owned())],
        None,
    );
    sim.respond(IPBX, io, ok);
    let r = sim.uas[a].last_response(t).cloned().unwrap();
    assert_eq!(status(&r), 200);
    assert_eq!(r.header(&HeaderName::Allow), Some("INVITE, ACK, BYE"));
}
