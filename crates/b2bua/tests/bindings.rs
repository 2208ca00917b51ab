//! Several clients registered as one device (a desk phone and a softphone
//! on one account), on a virtual clock: each has its own binding, its own
//! registration and contact at the iPBX, its own refreshes and expiry, its
//! own calls and its own status.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::flows::{invite, register, register_again, unregister};
use common::ua::UaDialog;
use common::{IPBX, IPBX_IP, PUBLIC_DOMAIN, SDP, Sim, config};
use outpost_b2bua::{B2bua, B2buaEvent, Config, DeviceStatus, Transport};
use outpost_sip::{HeaderName, Message, Method};

const DESK_HOME: &str = "192.168.1.20:5060";
const DESK_NAT: &str = "198.51.100.7:40000";
const SOFT_HOME: &str = "192.168.1.31:5061";
const SOFT_NAT: &str = "198.51.100.7:41000";

/// A client of device `alice` named `name` (its Contact user part, so the
/// two clients' Contacts, Call-IDs and branches differ).
fn client(sim: &mut Sim, name: &str, transport: Transport, home: &str, nat: &str) -> usize {
    let i = sim.add_phone("alice", transport, home, nat);
    sim.uas[i].name = name.to_owned();
    i
}

fn registered(sim: &mut Sim, i: usize) -> UaDialog {
    let (d, status, _) = register(sim, i, "alice", "alice-pw", 3600);
    assert_eq!(status, 200, "registration of {}", sim.uas[i].name);
    d
}

/// The desk phone (UDP) and the softphone (TLS), both registered.
fn two_clients(sim: &mut Sim) -> ((usize, UaDialog), (usize, UaDialog)) {
    let desk = client(sim, "desk", Transport::Udp, DESK_HOME, DESK_NAT);
    let soft = client(sim, "soft", Transport::Tls, SOFT_HOME, SOFT_NAT);
    let dd = registered(sim, desk);
    let sd = registered(sim, soft);
    ((desk, dd), (soft, sd))
}

fn last_status(sim: &Sim) -> DeviceStatus {
    sim.events
        .iter()
        .rev()
        .find_map(|e| match e {
            B2buaEvent::DeviceStatus(s) if s.setside_username == "alice" => Some(s.clone()),
            _ => None,
        })
        .expect("a status for alice")
}

/// The token (Contact user part) of each of 4001's contacts at the iPBX.
fn tokens(sim: &mut Sim) -> Vec<String> {
    sim.uas[IPBX]
        .registrar()
        .contacts_of("4001")
        .iter()
        .map(|c| {
            outpost_sip::Uri::parse(c)
                .unwrap()
                .user()
                .unwrap()
                .into_owned()
        })
        .collect()
}

/// The iPBX calls the contact whose token is `token`.
fn ipbx_calls(sim: &mut Sim, token: &str) -> outpost_txn::TransactionId {
    let contact = sim.uas[IPBX]
        .registrar()
        .contacts_of("4001")
        .into_iter()
        .find(|c| c.contains(token))
        .unwrap();
    let mut pd = sim.uas[IPBX].dialog(
        &format!("<sip:2001@{IPBX_IP}>"),
        &format!("<sip:4001@{IPBX_IP}>"),
        &contact,
    );
    let inv = sim.uas[IPBX].request(&mut pd, Method::Invite, &[], Some(("application/sdp", SDP)));
    sim.send(IPBX, inv)
}

#[test]
fn two_clients_of_one_device_are_two_contacts_at_the_ipbx() {
    let mut sim = Sim::new(config());
    let ((desk, _), (soft, _)) = two_clients(&mut sim);
    let contacts = sim.uas[IPBX].registrar().contacts_of("4001");
    assert_eq!(contacts.len(), 2, "{contacts:?}");
    let t = tokens(&mut sim);
    assert_ne!(t[0], t[1]);
    // Two registrations toward the iPBX, each with its own Call-ID.
    let mut call_ids: Vec<String> = sim.uas[IPBX]
        .registrar()
        .log
        .iter()
        .map(|m| m.call_id().unwrap().to_owned())
        .collect();
    call_ids.sort();
    call_ids.dedup();
    assert_eq!(call_ids.len(), 2);
    assert_eq!(sim.b2bua.stats().registrations, 2);

    // Each client got 200 with its own Contact only.
    for (i, home) in [(desk, DESK_HOME), (soft, SOFT_HOME)] {
        let ok = sim.uas[i]
            .responses
            .iter()
            .rev()
            .find(|(_, m)| m.status().map(|s| s.0) == Some(200))
            .map(|(_, m)| m.clone())
            .unwrap();
        let c = ok.contacts().unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].uri().as_str().contains(home));
    }

    // Status: one line per client, the device aggregate over both, the
    // last address being the softphone's (it registered last).
    let s = last_status(&sim);
    assert!(s.registered && s.connected && !s.in_call);
    assert_eq!(s.last_address, Some(SOFT_NAT.parse().unwrap()));
    assert_eq!(s.bindings.len(), 2);
    let (d, f) = (&s.bindings[0], &s.bindings[1]);
    assert!(d.binding < f.binding);
    assert_eq!(d.contact, format!("sip:desk@{DESK_HOME}"));
    assert_eq!(
        (d.transport, d.last_address),
        (Transport::Udp, DESK_NAT.parse().unwrap())
    );
    assert_eq!(
        (f.transport, f.last_address),
        (Transport::Tls, SOFT_NAT.parse().unwrap())
    );
    assert!(d.registered && f.registered && d.natted && f.natted);
    assert!(d.expires_unix > sim.unix() && d.expires_unix <= sim.unix() + 120);
    // Nothing secret: no token in the status.
    for b in &s.bindings {
        assert!(t.iter().all(|tok| !b.contact.contains(tok.as_str())));
    }
    sim.assert_topology_hidden();
}

#[test]
fn each_client_refreshes_on_its_own_and_one_expiring_leaves_the_other() {
    let mut sim = Sim::new(config());
    let ((desk, mut dd), (_soft, _)) = two_clients(&mut sim);
    let before = tokens(&mut sim);
    let log_len = sim.uas[IPBX].registrar().log.len();
    // The desk phone refreshes every 100 s; the softphone goes silent.
    sim.advance(Duration::from_secs(100));
    let (_, status, _) = register_again(&mut sim, desk, &mut dd, "alice", "alice-pw", 3600);
    assert_eq!(status, 200);
    // A phone refresh is local: nothing new toward the iPBX.
    assert_eq!(sim.uas[IPBX].registrar().log.len(), log_len);
    assert_eq!(tokens(&mut sim).len(), 2);
    // 120 s + 5 s grace after its REGISTER, the softphone's binding goes,
    // and only its contact is removed at the iPBX.
    sim.advance(Duration::from_secs(30));
    let after = tokens(&mut sim);
    assert_eq!(after, vec![before[0].clone()], "the desk phone's stays");
    let unregister = sim.uas[IPBX].registrar().log.last().unwrap().clone();
    assert_eq!(unregister.expires().unwrap(), Some(0));
    assert_eq!(
        unregister.contacts().unwrap()[0].uri().user().unwrap(),
        before[1]
    );
    let s = last_status(&sim);
    assert!(s.registered);
    assert_eq!(s.bindings.len(), 1);
    assert_eq!(s.last_address, Some(DESK_NAT.parse().unwrap()));
    assert_eq!(sim.b2bua.stats().bindings, 1);
    // The desk phone goes on refreshing.
    sim.advance(Duration::from_secs(60));
    let (_, status, _) = register_again(&mut sim, desk, &mut dd, "alice", "alice-pw", 3600);
    assert_eq!(status, 200);
    assert_eq!(tokens(&mut sim), vec![before[0].clone()]);
}

#[test]
fn a_call_from_the_ipbx_to_each_token_reaches_its_own_client() {
    let mut sim = Sim::new(config());
    let ((desk, _), (soft, _)) = two_clients(&mut sim);
    let t = tokens(&mut sim);
    // The first call is still up when the second comes.
    for (token, to, other, in_call) in [
        (&t[0], desk, soft, [true, false]),
        (&t[1], soft, desk, [true, true]),
    ] {
        sim.take_events();
        ipbx_calls(&mut sim, token);
        let (pt, inv) = sim.uas[to].take_request(Method::Invite).expect("rings");
        assert!(sim.uas[other].take_request(Method::Invite).is_none());
        assert!(inv.request_uri().unwrap().as_str().contains(if to == desk {
            DESK_HOME
        } else {
            SOFT_HOME
        }));
        // In call: this client's binding, and the device.
        let s = last_status(&sim);
        assert!(s.in_call);
        let got: Vec<bool> = s.bindings.iter().map(|b| b.in_call).collect();
        assert_eq!(got, in_call);
        // The answer reaches the iPBX with this client's token as Contact.
        let ok = sim.uas[to].response(&inv, 200, "ans", &[], Some(("application/sdp", SDP)));
        sim.respond(to, pt, ok);
        let answered = sim.uas[IPBX]
            .responses
            .iter()
            .rev()
            .find(|(_, m)| m.status().map(|s| s.0) == Some(200))
            .map(|(_, m)| m.clone())
            .unwrap();
        let contact = answered.contacts().unwrap()[0].uri().user().unwrap();
        assert_eq!(contact, token.as_str());
    }
    sim.assert_topology_hidden();
}

#[test]
fn a_call_from_a_client_carries_that_clients_token() {
    let mut sim = Sim::new(config());
    let ((_, _), (soft, _)) = two_clients(&mut sim);
    let t = tokens(&mut sim);
    invite(&mut sim, soft, "alice", "alice-pw", "2001", &[]);
    let (_, inv) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    let contact = inv.contacts().unwrap()[0]
        .uri()
        .user()
        .unwrap()
        .into_owned();
    assert_eq!(contact, t[1], "the softphone's token, not the desk phone's");
    let s = last_status(&sim);
    let in_call: Vec<bool> = s.bindings.iter().map(|b| b.in_call).collect();
    assert_eq!(in_call, vec![false, true]);
}

#[test]
fn the_same_client_from_a_new_nat_address_keeps_one_binding() {
    let mut sim = Sim::new(config());
    let desk = client(&mut sim, "desk", Transport::Udp, DESK_HOME, DESK_NAT);
    let mut d = registered(&mut sim, desk);
    let log_len = sim.uas[IPBX].registrar().log.len();
    // The NAT maps the phone to a new port: same Contact, new source.
    let rebound = "198.51.100.7:40999";
    sim.uas[desk].observed = rebound.parse().unwrap();
    sim.advance(Duration::from_secs(60));
    let (_, status, _) = register_again(&mut sim, desk, &mut d, "alice", "alice-pw", 3600);
    assert_eq!(status, 200);
    assert_eq!(tokens(&mut sim).len(), 1);
    assert_eq!(sim.uas[IPBX].registrar().log.len(), log_len);
    let s = last_status(&sim);
    assert_eq!(s.bindings.len(), 1);
    assert_eq!(s.last_address, Some(rebound.parse().unwrap()));
    // Calls go to the new address.
    let t = tokens(&mut sim);
    ipbx_calls(&mut sim, &t[0]);
    let sent = sim
        .sent
        .iter()
        .rev()
        .find(|s| s.message.method() == Some(&Method::Invite))
        .unwrap();
    assert_eq!(sent.to.peer, rebound.parse().unwrap());
    assert!(sim.uas[desk].take_request(Method::Invite).is_some());
}

#[test]
fn an_instance_id_keeps_one_binding_when_the_contact_changes() {
    let mut sim = Sim::new(config());
    let soft = client(&mut sim, "soft", Transport::Tls, SOFT_HOME, SOFT_NAT);
    sim.uas[soft].instance = Some("urn:uuid:0C3C2A8E-1B7F-4A52-9E0B-6B0C5F1E2D33".into());
    let mut d = registered(&mut sim, soft);
    // The laptop moves to another network: new address in its Contact,
    // new NAT, same instance (RFC 5626 §4.1), here written in lower case.
    sim.uas[soft].local = "10.20.0.9:5061".parse().unwrap();
    sim.uas[soft].observed = "203.0.113.77:45000".parse().unwrap();
    sim.uas[soft].instance = Some("urn:uuid:0c3c2a8e-1b7f-4a52-9e0b-6b0c5f1e2d33".into());
    let (_, status, resp) = register_again(&mut sim, soft, &mut d, "alice", "alice-pw", 3600);
    assert_eq!(status, 200);
    assert!(
        resp.unwrap().contacts().unwrap()[0]
            .uri()
            .as_str()
            .contains("10.20.0.9")
    );
    assert_eq!(tokens(&mut sim).len(), 1);
    let s = last_status(&sim);
    assert_eq!(s.bindings.len(), 1);
    assert_eq!(
        s.bindings[0].contact,
        "sip:soft@10.20.0.9:5061;transport=tls"
    );
}

#[test]
fn beyond_the_limit_the_binding_that_expires_first_makes_room() {
    let mut c = config();
    c.max_bindings_per_device = 2;
    let mut sim = Sim::new(c);
    let ((_, _), (_, _)) = two_clients(&mut sim);
    let before = tokens(&mut sim);
    sim.advance(Duration::from_secs(10));
    let third = client(
        &mut sim,
        "tablet",
        Transport::Udp,
        "192.168.1.40:5060",
        "198.51.100.7:42000",
    );
    registered(&mut sim, third);
    // The desk phone registered first, so expires first: its contact is
    // removed at the iPBX, the others stay.
    let after = tokens(&mut sim);
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(!after.contains(&before[0]));
    assert!(after.contains(&before[1]));
    assert_eq!(sim.b2bua.stats().bindings, 2);
    let s = last_status(&sim);
    let contacts: Vec<&str> = s.bindings.iter().map(|b| b.contact.as_str()).collect();
    assert_eq!(
        contacts,
        vec![
            format!("sip:soft@{SOFT_HOME};transport=tls").as_str(),
            "sip:tablet@192.168.1.40:5060"
        ]
    );
}

#[test]
fn the_limit_is_validated() {
    for bad in [0, outpost_b2bua::MAX_BINDINGS_PER_DEVICE + 1] {
        let mut c: Config = config();
        c.max_bindings_per_device = bad;
        assert!(B2bua::<common::Flow>::new(c, 1, [0; 32]).is_err(), "{bad}");
    }
    assert_eq!(config().max_bindings_per_device, 4);
}

#[test]
fn expires_zero_removes_only_the_binding_it_names_and_star_removes_all() {
    let mut sim = Sim::new(config());
    let ((desk, mut dd), (soft, mut sd)) = two_clients(&mut sim);
    let t = tokens(&mut sim);
    // The desk phone unregisters its own Contact.
    let (_, status, _) = register_again(&mut sim, desk, &mut dd, "alice", "alice-pw", 0);
    assert_eq!(status, 200);
    assert_eq!(tokens(&mut sim), vec![t[1].clone()]);
    assert_eq!(last_status(&sim).bindings.len(), 1);
    // It registers again (a new binding, a new token), then the softphone
    // sends `Contact: *`: every binding of the device goes.
    registered(&mut sim, desk);
    assert_eq!(tokens(&mut sim).len(), 2);
    assert_eq!(
        unregister(&mut sim, soft, &mut sd, "alice", "alice-pw"),
        200
    );
    assert!(tokens(&mut sim).is_empty());
    let s = last_status(&sim);
    assert!(!s.registered && s.bindings.is_empty());
    let stats = sim.b2bua.stats();
    assert_eq!((stats.bindings, stats.registrations), (0, 0));
}

#[test]
fn a_query_lists_every_client_of_the_device() {
    let mut sim = Sim::new(config());
    let ((desk, mut dd), (_, _)) = two_clients(&mut sim);
    let exp = vec![(HeaderName::Expires, "3600".to_owned())];
    let first = without_contact(sim.uas[desk].request(&mut dd, Method::Register, &exp, None));
    let tx = sim.send(desk, first.clone());
    let challenge = sim.uas[desk].last_response(tx).cloned().unwrap();
    let auth = sim.uas[desk].authorize(&challenge, &first, "alice", "alice-pw");
    let second = without_contact(sim.uas[desk].request(&mut dd, Method::Register, &[auth], None));
    let tx = sim.send(desk, second);
    let resp: Message = sim.uas[desk].last_response(tx).cloned().unwrap();
    assert_eq!(resp.status().unwrap().0, 200);
    let listed: Vec<String> = resp
        .contacts()
        .unwrap()
        .iter()
        .map(|c| c.uri().as_str().to_owned())
        .collect();
    assert_eq!(
        listed,
        vec![
            format!("sip:desk@{DESK_HOME}"),
            format!("sip:soft@{SOFT_HOME};transport=tls")
        ]
    );
}

#[test]
fn disabling_the_device_unregisters_every_client() {
    let mut sim = Sim::new(config());
    two_clients(&mut sim);
    sim.dir.devices.get_mut("alice").unwrap().enabled = false;
    let (now, unix) = (sim.now, sim.unix());
    sim.b2bua
        .handle_device_update(now, unix, &mut sim.txn, "alice", &sim.dir);
    sim.pump();
    assert!(tokens(&mut sim).is_empty());
    assert_eq!(sim.b2bua.stats().bindings, 0);
    assert!(!last_status(&sim).registered);
}

#[test]
fn identities_are_translated_with_several_clients() {
    // The iPBX's From 4001 (alice's ICP-side name) becomes alice for the
    // softphone, as with one client.
    let mut sim = Sim::new(config());
    let ((_, _), (soft, _)) = two_clients(&mut sim);
    let contact = sim.uas[IPBX].registrar().contacts_of("4001")[1].clone();
    let mut pd = sim.uas[IPBX].dialog(
        &format!("<sip:4001@{IPBX_IP}>"),
        &format!("<sip:4001@{IPBX_IP}>"),
        &contact,
    );
    let msg = sim.uas[IPBX].request(&mut pd, Method::Message, &[], Some(("text/plain", "hi")));
    sim.send(IPBX, msg);
    let (_, got) = sim.uas[soft].take_request(Method::Message).unwrap();
    assert_eq!(got.from().unwrap().uri().user().unwrap(), "alice");
    assert_eq!(got.from().unwrap().uri().host(), PUBLIC_DOMAIN);
}

fn without_contact(m: Message) -> Message {
    let idx: Vec<usize> = m
        .headers()
        .filter(|f| f.is(&HeaderName::Contact))
        .map(|f| f.index)
        .collect();
    let mut e = m.edit();
    for i in idx {
        e.remove(i);
    }
    e.apply().unwrap()
}

#[test]
fn beyond_max_bindings_a_new_client_gets_503_with_retry_after_and_refreshes_pass() {
    let mut c = config();
    c.max_bindings = 1;
    c.retry_after_secs = 7;
    let mut sim = Sim::new(c);
    let desk = client(&mut sim, "desk", Transport::Udp, DESK_HOME, DESK_NAT);
    let mut dd = registered(&mut sim, desk);
    let soft = client(&mut sim, "soft", Transport::Tls, SOFT_HOME, SOFT_NAT);
    let (_, status, response) = register(&mut sim, soft, "alice", "alice-pw", 3600);
    assert_eq!(status, 503, "the registration budget is spent");
    let response = response.unwrap();
    assert_eq!(response.header(&HeaderName::RetryAfter), Some("7"));
    assert_eq!(sim.b2bua.stats().overload_rejections, 1);
    assert_eq!(tokens(&mut sim).len(), 1, "only the desk phone at the iPBX");

    // A registered client's refresh is not a new binding.
    let (_, status, _) = register_again(&mut sim, desk, &mut dd, "alice", "alice-pw", 3600);
    assert_eq!(status, 200);
    assert_eq!(sim.b2bua.stats().overload_rejections, 1);
}
