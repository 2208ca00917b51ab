//! Call set-up helpers shared by the call tests: a registered UDP phone,
//! an established call from it, a call to it from the iPBX, outcomes.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use outpost_b2bua::{B2buaEvent, CallOutcome, Transport};
use outpost_sip::{Message, Method};
use outpost_txn::TransactionId;

use super::flows::{invite, registered_phone};
use super::ua::{UaDialog, dialog_from_request};
use super::{IPBX, IPBX_IP, SDP, Sim, config};

pub const HOME: &str = "192.168.1.20:5060";
pub const NAT: &str = "198.51.100.7:40000";

pub fn setup() -> (Sim, usize) {
    let mut sim = Sim::new(config());
    let (a, _) = registered_phone(&mut sim, "alice", "alice-pw", Transport::Udp, HOME, NAT);
    sim.take_events();
    (sim, a)
}

pub fn status(m: &Message) -> u16 {
    m.status().unwrap().0
}

/// Phone `a` calls 2001; the iPBX answers 180 then 200; the phone ACKs.
/// Returns the phone's dialog and the iPBX's.
pub fn established(sim: &mut Sim, a: usize) -> (UaDialog, UaDialog) {
    let (mut d, t, _) = invite(sim, a, "alice", "alice-pw", "2001", &[]);
    let (it, inv) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    let ringing = sim.uas[IPBX].response(&inv, 180, "ipbx-tag", &[], None);
    sim.respond(IPBX, it, ringing);
    let ok = sim.uas[IPBX].response(&inv, 200, "ipbx-tag", &[], Some(("application/sdp", SDP)));
    sim.respond(IPBX, it, ok);
    let resp = sim.uas[a].last_response(t).cloned().unwrap();
    assert_eq!(status(&resp), 200);
    d.learn(&resp);
    let ack = sim.uas[a].request(&mut d, Method::Ack, &[], None);
    sim.send_stateless(a, ack);
    assert_eq!(sim.uas[IPBX].acks.len(), 1);
    (d, dialog_from_request(&inv, "ipbx-tag"))
}

pub fn outcomes(sim: &Sim) -> Vec<CallOutcome> {
    sim.events
        .iter()
        .filter_map(|e| match e {
            B2buaEvent::CallEnded { outcome, .. } => Some(*outcome),
            _ => None,
        })
        .collect()
}

/// The iPBX calls the phone through its binding token.
pub fn incoming(sim: &mut Sim, a: usize) -> (UaDialog, TransactionId, TransactionId, Message) {
    let contact = sim.uas[IPBX]
        .registrar()
        .bindings
        .get("4001")
        .unwrap()
        .0
        .clone();
    let mut pd = sim.uas[IPBX].dialog(
        &format!("\"Bob Desk\" <sip:2001@{IPBX_IP}>"),
        &format!("<sip:4001@{IPBX_IP}>"),
        &contact,
    );
    let inv = sim.uas[IPBX].request(&mut pd, Method::Invite, &[], Some(("application/sdp", SDP)));
    let ti = sim.send(IPBX, inv);
    let (pt, at_phone) = sim.uas[a].take_request(Method::Invite).unwrap();
    (pd, ti, pt, at_phone)
}
