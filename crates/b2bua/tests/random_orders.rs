//! Random interleavings of registrations, calls, answers, cancels, hang-ups,
//! silences and clock jumps: the B2BUA never panics, and once everyone
//! stops and every timer has run, no dialog, binding, transaction or
//! timer is left.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::flows::{invite, register};
use common::ua::{UaDialog, cancel_of, dialog_from_request};
use common::{IPBX, IPBX_IP, PUBLIC_DOMAIN, SDP, Sim, config};
use outpost_b2bua::Transport;
use outpost_sip::{HeaderName, Message, Method, Request};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Register(usize),
    Unregister(usize),
    Call(usize),
    IpbxCalls(usize),
    Subscribe(usize),
    Answer(usize, u16),
    Cancel(usize),
    Bye(usize),
    Advance(u64),
    Deaf(usize, bool),
    RegistrarSilent(bool),
}

fn op() -> impl Strategy<Value = Op> {
    let ua = 0usize..3;
    let phone = 1usize..3;
    prop_oneof![
        phone.clone().prop_map(Op::Register),
        phone.clone().prop_map(Op::Unregister),
        phone.clone().prop_map(Op::Call),
        phone.clone().prop_map(Op::IpbxCalls),
        phone.clone().prop_map(Op::Subscribe),
        (
            ua.clone(),
            prop_oneof![Just(180u16), Just(183), Just(200), Just(486), Just(503)]
        )
            .prop_map(|(u, s)| Op::Answer(u, s)),
        phone.clone().prop_map(Op::Cancel),
        ua.clone().prop_map(Op::Bye),
        (0u64..90).prop_map(Op::Advance),
        (ua, any::<bool>()).prop_map(|(u, d)| Op::Deaf(u, d)),
        any::<bool>().prop_map(Op::RegistrarSilent),
    ]
}

struct World {
    sim: Sim,
    users: Vec<(&'static str, &'static str)>,
    /// Per UA: INVITEs sent (for CANCEL), confirmed dialogs (for BYE),
    /// responses already looked at (for ACKs).
    invites: Vec<Vec<Message>>,
    confirmed: Vec<Vec<UaDialog>>,
    seen: Vec<usize>,
    reg: Vec<Option<UaDialog>>,
}

impl World {
    fn new() -> Self {
        let mut sim = Sim::new(config());
        sim.add_phone(
            "alice",
            Transport::Udp,
            "192.168.1.20:5060",
            "198.51.100.7:40000",
        );
        sim.add_phone(
            "bob",
            Transport::Tls,
            "192.168.7.3:5061",
            "198.51.100.8:41000",
        );
        Self {
            sim,
            users: vec![("ipbx", ""), ("alice", "alice-pw"), ("bob", "bob-pw")],
            invites: vec![Vec::new(); 3],
            confirmed: vec![Vec::new(); 3],
            seen: vec![0; 3],
            reg: vec![None; 3],
        }
    }

    /// Every UA ACKs the 2xx responses to its INVITEs.
    fn auto_ack(&mut self) {
        for u in 0..3 {
            let fresh: Vec<Message> = self.sim.uas[u].responses[self.seen[u]..]
                .iter()
                .map(|(_, m)| m.clone())
                .collect();
            self.seen[u] = self.sim.uas[u].responses.len();
            for r in fresh {
                let is_invite_2xx = r.cseq().is_ok_and(|c| c.method == Method::Invite)
                    && r.status().is_some_and(|s| s.is_success());
                if !is_invite_2xx {
                    continue;
                }
                let Some(target) = r.contacts().ok().and_then(|c| c.first().cloned()) else {
                    continue;
                };
                let via = self.sim.uas[u].via();
                let ack = Request::builder(Method::Ack, target.uri())
                    .header(HeaderName::Via, via)
                    .header(HeaderName::MaxForwards, "70")
                    .header(HeaderName::From, r.from().unwrap().as_str())
                    .header(HeaderName::To, r.to().unwrap().as_str())
                    .header(HeaderName::CallId, r.call_id().unwrap())
                    .header(HeaderName::CSeq, format!("{} ACK", r.cseq().unwrap().seq))
                    .build()
                    .unwrap()
                    .into_message();
                self.sim.send_stateless(u, ack);
                let from = r.from().unwrap();
                let to = r.to().unwrap();
                self.confirmed[u].push(UaDialog {
                    call_id: r.call_id().unwrap().to_owned(),
                    local_tag: from.tag().unwrap_or_default().to_owned(),
                    remote_tag: to.tag().map(str::to_owned),
                    local_uri: format!("<{}>", from.uri().as_str()),
                    remote_uri: format!("<{}>", to.uri().as_str()),
                    cseq: 50,
                    target: target.uri().as_str().to_owned(),
                    invite_cseq: 0,
                });
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        match op.clone() {
            Op::Register(p) => {
                let (user, pw) = self.users[p];
                let (d, _, _) = register(&mut self.sim, p, user, pw, 3600);
                self.reg[p] = Some(d);
            }
            Op::Unregister(p) => {
                if let Some(mut d) = self.reg[p].take() {
                    let (user, pw) = self.users[p];
                    common::flows::unregister(&mut self.sim, p, &mut d, user, pw);
                }
            }
            Op::Call(p) => {
                let (user, pw) = self.users[p];
                let (_, _, sent) = invite(&mut self.sim, p, user, pw, "2001", &[]);
                self.invites[p].push(sent);
            }
            Op::IpbxCalls(p) => {
                let icp = if p == 1 { "4001" } else { "4002" };
                let Some(contact) = self.sim.uas[IPBX]
                    .registrar()
                    .bindings
                    .get(icp)
                    .map(|b| b.0.clone())
                else {
                    return;
                };
                let mut d = self.sim.uas[IPBX].dialog(
                    &format!("<sip:2001@{IPBX_IP}>"),
                    &format!("<sip:{icp}@{IPBX_IP}>"),
                    &contact,
                );
                let inv = self.sim.uas[IPBX].request(
                    &mut d,
                    Method::Invite,
                    &[],
                    Some(("application/sdp", SDP)),
                );
                self.sim.send(IPBX, inv.clone());
                self.invites[IPBX].push(inv);
            }
            Op::Subscribe(p) => {
                let (user, pw) = self.users[p];
                let aor = format!("<sip:{user}@{PUBLIC_DOMAIN}>");
                let mut d =
                    self.sim.uas[p].dialog(&aor, &aor, &format!("sip:{user}@{PUBLIC_DOMAIN}"));
                let h = vec![
                    (HeaderName::Event, "dialog".to_owned()),
                    (HeaderName::Expires, "600".to_owned()),
                ];
                let first = self.sim.uas[p].request(&mut d, Method::Subscribe, &h, None);
                let t = self.sim.send(p, first.clone());
                if let Some(r) = self.sim.uas[p].last_response(t).cloned() {
                    if r.status().map(|s| s.0) == Some(407) {
                        let mut h2 = h.clone();
                        h2.push(self.sim.uas[p].authorize(&r, &first, user, pw));
                        let sub = self.sim.uas[p].request(&mut d, Method::Subscribe, &h2, None);
                        self.sim.send(p, sub);
                    }
                }
            }
            Op::Answer(u, status) => {
                let Some((t, req)) = self.sim.uas[u].requests.pop_front() else {
                    return;
                };
                let is_invite = req.method() == Some(&Method::Invite);
                let status = if is_invite { status } else { 200 };
                let tag = format!("t{u}x{}", req.cseq().map_or(0, |c| c.seq));
                let body = (is_invite && status == 200).then_some(("application/sdp", SDP));
                let resp = self.sim.uas[u].response(&req, status, &tag, &[], body);
                self.sim.respond(u, t, resp);
                if status < 200 && is_invite {
                    self.sim.uas[u].requests.push_back((t, req));
                } else if status == 200 && is_invite && req.to().unwrap().tag().is_none() {
                    self.confirmed[u].push(dialog_from_request(&req, &tag));
                }
            }
            Op::Cancel(p) => {
                if let Some(inv) = self.invites[p].pop() {
                    self.sim.send(p, cancel_of(&inv));
                }
            }
            Op::Bye(u) => {
                if let Some(mut d) = self.confirmed[u].pop() {
                    let bye = self.sim.uas[u].request(&mut d, Method::Bye, &[], None);
                    self.sim.send(u, bye);
                }
            }
            Op::Advance(s) => self.sim.advance(Duration::from_secs(s)),
            Op::Deaf(u, d) => self.sim.uas[u].deaf = d,
            Op::RegistrarSilent(s) => self.sim.uas[IPBX].registrar().silent = s,
        }
        self.auto_ack();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_orders_leave_nothing_behind(ops in proptest::collection::vec(op(), 1..50)) {
        let mut w = World::new();
        for op in &ops {
            w.apply(op);
        }
        // Everyone stops; the iPBX keeps answering REGISTERs so bindings
        // can be removed cleanly, or stays silent and they time out.
        for u in 1..3 {
            w.sim.uas[u].deaf = true;
        }
        w.sim.advance(Duration::from_secs(13 * 3600));
        w.sim.advance(Duration::from_secs(120));
        let stats = w.sim.b2bua.stats();
        if std::env::var("B2BUA_PROPTEST_STATS").is_ok() {
            eprintln!("{} {} {} {} {} {}", stats.calls_completed, stats.calls_cancelled, stats.calls_rejected, stats.calls_no_answer, stats.calls_failed, stats.registration_failures);
        }
        prop_assert_eq!(stats.active_dialogs, 0, "{:?}", stats);
        prop_assert_eq!(stats.bindings, 0, "{:?}", stats);
        prop_assert_eq!(stats.tracked_transactions, 0, "{:?}", stats);
        prop_assert_eq!(stats.timers, 0, "{:?}", stats);
        prop_assert_eq!(w.sim.txn.len(), 0);
        prop_assert!(w.sim.b2bua.poll_timeout().is_none());
        w.sim.assert_topology_hidden();
    }
}
