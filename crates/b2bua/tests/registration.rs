//! Registration through the B2BUA (SIG-6) on a virtual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::flows::{register, register_again, registered_phone, unregister};
use common::{IPBX, PRIVATE_IP, Sim, config};
use outpost_b2bua::{AuthFailure, B2buaEvent, Transport};
use outpost_sip::auth::Credentials;
use outpost_sip::{HeaderName, Method};

const HOME: &str = "192.168.1.20:5060";
const NAT: &str = "198.51.100.7:40000";

#[test]
fn register_translates_credentials_and_answers_both_challenges() {
    let mut sim = Sim::new(config());
    let i = sim.add_phone("alice", Transport::Udp, HOME, NAT);
    let (_, status, resp) = register(&mut sim, i, "alice", "alice-pw", 3600);
    assert_eq!(status, 200);
    let resp = resp.unwrap();
    // The phone's own Contact, with the phone-side expiry (120 s default).
    let contact = resp.contacts().unwrap().first().unwrap().clone();
    assert_eq!(contact.uri().as_str(), format!("sip:alice@{HOME}"));
    assert_eq!(contact.expires(), Some(120));

    // The iPBX saw an unauthenticated REGISTER (401) then an authorized one.
    let log = sim.uas[IPBX].registrar().log.clone();
    assert_eq!(log.len(), 2);
    let (first, second) = (&log[0], &log[1]);
    for m in [first, second] {
        assert_eq!(m.from().unwrap().uri().user().unwrap(), "4001");
        assert_eq!(m.to().unwrap().uri().user().unwrap(), "4001");
        assert_eq!(m.from().unwrap().uri().host(), common::IPBX_IP);
        assert_eq!(
            m.request_uri().unwrap().as_str(),
            format!("sip:{}", common::IPBX_IP)
        );
        let c = m.contacts().unwrap().first().unwrap().clone();
        assert_eq!(c.uri().host(), PRIVATE_IP);
        assert_eq!(c.uri().user().unwrap().len(), 26, "binding token");
        assert_eq!(m.expires().unwrap(), Some(3600));
        assert!(
            m.top_via()
                .unwrap()
                .branch()
                .unwrap()
                .starts_with("z9hG4bK")
        );
    }
    assert_eq!(first.call_id().unwrap(), second.call_id().unwrap());
    assert_eq!(first.cseq().unwrap().seq + 1, second.cseq().unwrap().seq);
    assert_ne!(
        first.top_via().unwrap().branch(),
        second.top_via().unwrap().branch()
    );
    let creds = Credentials::parse(second.header(&HeaderName::Authorization).unwrap()).unwrap();
    assert_eq!(creds.username, "4001");
    assert!(sim.uas[IPBX].registrar().bindings.contains_key("4001"));
    // Status: registered, natted (Via says 192.168.1.20:5060, seen from the NAT).
    let status = sim
        .events
        .iter()
        .rev()
        .find_map(|e| match e {
            B2buaEvent::DeviceStatus(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert!(status.registered && status.connected && status.natted && !status.in_call);
    assert_eq!(status.last_address, Some(NAT.parse().unwrap()));
    assert_eq!(sim.b2bua.stats().registrations, 1);
    sim.assert_topology_hidden();
}

#[test]
fn wrong_password_unknown_user_and_disabled_get_403_and_the_ipbx_sees_nothing() {
    let mut sim = Sim::new(config());
    sim.dir.devices.get_mut("bob").unwrap().enabled = false;
    let i = sim.add_phone("alice", Transport::Udp, HOME, NAT);
    let (_, status, _) = register(&mut sim, i, "alice", "wrong", 3600);
    assert_eq!(status, 403);
    let (_, status, _) = register(&mut sim, i, "mallory", "x", 3600);
    assert_eq!(status, 403);
    let (_, status, _) = register(&mut sim, i, "bob", "bob-pw", 3600);
    assert_eq!(status, 403);
    assert!(sim.uas[IPBX].registrar().log.is_empty());
    let reasons: Vec<AuthFailure> = sim
        .events
        .iter()
        .filter_map(|e| match e {
            B2buaEvent::AuthFailed {
                reason, address, ..
            } => {
                assert_eq!(*address, NAT.parse().unwrap());
                Some(*reason)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            AuthFailure::WrongPassword,
            AuthFailure::UnknownUser,
            AuthFailure::Disabled
        ]
    );
    assert_eq!(sim.b2bua.stats().bindings, 0);
    assert_eq!(sim.b2bua.stats().auth_failures, 3);
}

#[test]
fn refreshes_are_local_and_the_ipbx_registration_is_refreshed_on_its_own() {
    let mut c = config();
    c.icp_expiry = Duration::from_secs(300);
    let mut sim = Sim::new(c);
    let (i, mut d) = registered_phone(&mut sim, "alice", "alice-pw", Transport::Udp, HOME, NAT);
    assert_eq!(sim.uas[IPBX].registrar().log.len(), 2);
    let token = sim.uas[IPBX].registrar().log[1].contacts().unwrap()[0]
        .uri()
        .user()
        .unwrap()
        .into_owned();
    for _ in 0..5 {
        sim.advance(Duration::from_secs(100));
        let (_, status, resp) = register_again(&mut sim, i, &mut d, "alice", "alice-pw", 3600);
        assert_eq!(status, 200);
        assert!(resp.unwrap().contacts().unwrap()[0].expires().unwrap() <= 120);
    }
    // 500 s: the 300 s iPBX registration was refreshed at 240 s and 480 s,
    // with the same Call-ID, a higher CSeq and the same token.
    let log = sim.uas[IPBX].registrar().log.clone();
    assert!(log.len() >= 4, "refreshes sent: {}", log.len());
    let call_id = log[0].call_id().unwrap().to_owned();
    let mut last = 0;
    for m in &log {
        assert_eq!(m.call_id().unwrap(), call_id);
        assert!(m.cseq().unwrap().seq > last);
        last = m.cseq().unwrap().seq;
        assert_eq!(m.contacts().unwrap()[0].uri().user().unwrap(), token);
    }
    assert!(sim.uas[IPBX].registrar().bindings.contains_key("4001"));
    sim.assert_topology_hidden();
}

#[test]
fn unregister_removes_the_ipbx_binding() {
    let mut sim = Sim::new(config());
    let (i, mut d) = registered_phone(&mut sim, "alice", "alice-pw", Transport::Udp, HOME, NAT);
    assert_eq!(unregister(&mut sim, i, &mut d, "alice", "alice-pw"), 200);
    assert!(!sim.uas[IPBX].registrar().bindings.contains_key("4001"));
    let last = sim.uas[IPBX].registrar().log.last().unwrap().clone();
    assert_eq!(last.expires().unwrap(), Some(0));
    let stats = sim.b2bua.stats();
    assert_eq!(
        (stats.bindings, stats.registrations, stats.timers),
        (0, 0, 0)
    );
}

#[test]
fn a_phone_that_stops_refreshing_is_unregistered_at_expiry() {
    let mut sim = Sim::new(config());
    registered_phone(&mut sim, "alice", "alice-pw", Transport::Udp, HOME, NAT);
    sim.advance(Duration::from_secs(100));
    assert!(sim.uas[IPBX].registrar().bindings.contains_key("4001"));
    // 120 s + 5 s grace.
    sim.advance(Duration::from_secs(30));
    assert!(!sim.uas[IPBX].registrar().bindings.contains_key("4001"));
    let stats = sim.b2bua.stats();
    assert_eq!((stats.bindings, stats.timers), (0, 0));
    assert!(
        sim.events
            .iter()
            .any(|e| matches!(e, B2buaEvent::DeviceStatus(s) if !s.registered))
    );
}

#[test]
fn ipbx_refusal_is_passed_as_403_and_nothing_stays() {
    let mut sim = Sim::new(config());
    sim.ipbx().registrar().fail_with = Some(403);
    let i = sim.add_phone("alice", Transport::Udp, HOME, NAT);
    let (_, status, _) = register(&mut sim, i, "alice", "alice-pw", 3600);
    assert_eq!(status, 403);
    assert!(
        sim.events
            .iter()
            .any(|e| matches!(e, B2buaEvent::RegistrationFailed { .. }))
    );
    assert_eq!(sim.b2bua.stats().bindings, 0);
    // A wrong ICP-side password: the iPBX challenges twice, still 403.
    sim.ipbx().registrar().fail_with = None;
    sim.ipbx()
        .registrar()
        .passwords
        .insert("4001".into(), "other".into());
    let (_, status, _) = register(&mut sim, i, "alice", "alice-pw", 3600);
    assert_eq!(status, 403);
    assert_eq!(sim.b2bua.stats().bindings, 0);
}

#[test]
fn an_ipbx_that_never_answers_gives_408_and_leaves_nothing() {
    let mut sim = Sim::new(config());
    sim.ipbx().registrar().silent = true;
    let i = sim.add_phone("alice", Transport::Udp, HOME, NAT);
    let aor = format!("<sip:alice@{}>", common::PUBLIC_DOMAIN);
    let mut d = sim.uas[i].dialog(&aor, &aor, &format!("sip:{}", common::PUBLIC_DOMAIN));
    let first = sim.uas[i].request(&mut d, Method::Register, &[], None);
    let t = sim.send(i, first.clone());
    let resp = sim.uas[i].last_response(t).cloned().unwrap();
    let auth = sim.uas[i].authorize(&resp, &first, "alice", "alice-pw");
    let second = sim.uas[i].request(&mut d, Method::Register, &[auth], None);
    sim.send(i, second);
    sim.advance(Duration::from_secs(40));
    let answered_408 = sim
        .sent
        .iter()
        .any(|s| s.message.status().map(|s| s.0) == Some(408));
    assert!(answered_408, "Outpost answered 408 to the phone");
    // A cleanup un-REGISTER follows, then nothing is left.
    sim.advance(Duration::from_secs(40));
    let log = sim.uas[IPBX].registrar().log.clone();
    assert!(log.iter().any(|m| m.expires().unwrap() == Some(0)));
    let stats = sim.b2bua.stats();
    assert_eq!(
        (stats.bindings, stats.timers, stats.tracked_transactions),
        (0, 0, 0)
    );
}

#[test]
fn several_phones_get_distinct_bindings() {
    let mut sim = Sim::new(config());
    registered_phone(&mut sim, "alice", "alice-pw", Transport::Udp, HOME, NAT);
    registered_phone(
        &mut sim,
        "bob",
        "bob-pw",
        Transport::Tls,
        "192.168.7.3:5061",
        "198.51.100.8:41000",
    );
    let reg = sim.uas[IPBX].registrar();
    let a = reg.bindings.get("4001").unwrap().0.clone();
    let b = reg.bindings.get("4002").unwrap().0.clone();
    assert_ne!(a, b);
    assert!(b.contains(PRIVATE_IP));
    assert_eq!(sim.b2bua.stats().registrations, 2);
    sim.assert_topology_hidden();
}

#[test]
fn expiry_is_capped_by_what_the_ipbx_grants_and_too_brief_is_refused() {
    let mut sim = Sim::new(config());
    sim.ipbx().registrar().grant = Some(60);
    let i = sim.add_phone("alice", Transport::Udp, HOME, NAT);
    let (mut d, status, resp) = register(&mut sim, i, "alice", "alice-pw", 3600);
    assert_eq!(status, 200);
    assert_eq!(resp.unwrap().contacts().unwrap()[0].expires(), Some(60));
    let (_, status, resp) = register_again(&mut sim, i, &mut d, "alice", "alice-pw", 5);
    assert_eq!(status, 423);
    assert_eq!(resp.unwrap().header(&HeaderName::MinExpires), Some("20"));
}

#[test]
fn heartbeats_mark_a_silent_udp_phone_disconnected() {
    let mut sim = Sim::new(config());
    let (i, _) = registered_phone(&mut sim, "alice", "alice-pw", Transport::Udp, HOME, NAT);
    sim.advance(Duration::from_secs(31));
    let options = sim
        .sent
        .iter()
        .filter(|s| s.message.method() == Some(&Method::Options))
        .count();
    assert_eq!(options, 1);
    sim.uas[i].deaf = true;
    sim.take_events();
    sim.advance(Duration::from_secs(30 + 33));
    let disconnected = sim
        .events
        .iter()
        .any(|e| matches!(e, B2buaEvent::DeviceStatus(s) if s.registered && !s.connected));
    assert!(disconnected);
}
