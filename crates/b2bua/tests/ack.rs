//! The 2xx and its ACK on a virtual clock (RFC 3261 §13.3.1.4): Outpost,
//! as the UAS of the leg that sent the INVITE, re-sends its 2xx T1,
//! 2·T1, 4·T1... capped at T2 until the ACK, for 64·T1; then it ends the
//! dialog on both legs with BYE and reports `CallOutcome::NoAck`. The far
//! side's own 2xx retransmissions, which keep coming while Outpost waits
//! for the near side's ACK, are absorbed, never relayed or fatal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::calls::{incoming, outcomes, setup, status};
use common::flows::invite;
use common::{IPBX, SDP, Sim};
use outpost_b2bua::{CallOutcome, FailedSide, Side};
use outpost_sip::{Message, Method};

const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);

/// When Outpost sent a 200 to an INVITE on `side`, from `since` on.
fn invite_2xx_times(sim: &Sim, side: Side, since: Instant) -> Vec<Duration> {
    sim.sent
        .iter()
        .filter(|s| s.to.side == side && s.at >= since)
        .filter(|s| s.message.status().map(|s| s.0) == Some(200))
        .filter(|s| s.message.cseq().is_ok_and(|c| c.method == Method::Invite))
        .map(|s| s.at.duration_since(since))
        .collect()
}

/// The schedule §13.3.1.4 gives for 64·T1: 0, T1, 3·T1, 7·T1, then every
/// T2 once the interval reaches it.
fn expected_schedule() -> Vec<Duration> {
    let (mut at, mut interval, mut out) = (Duration::ZERO, T1, Vec::new());
    while at < T1 * 64 {
        out.push(at);
        at += interval;
        interval = (interval * 2).min(T2);
    }
    out
}

fn byes_to(sim: &Sim, side: Side) -> Vec<&Message> {
    sim.sent
        .iter()
        .filter(|s| s.to.side == side && s.message.method() == Some(&Method::Bye))
        .map(|s| &s.message)
        .collect()
}

#[test]
fn the_2xx_is_retransmitted_t1_doubling_to_t2_then_both_legs_get_bye() {
    let (mut sim, a) = setup();
    let (_pd, ti, pt, inv) = incoming(&mut sim, a);
    let ok = sim.uas[a].response(&inv, 200, "alice-tag", &[], Some(("application/sdp", SDP)));
    let answered = sim.now;
    sim.respond(a, pt, ok);
    assert_eq!(status(sim.uas[IPBX].last_response(ti).unwrap()), 200);
    // The iPBX never ACKs.
    sim.advance(T1 * 64 - Duration::from_millis(1));
    assert_eq!(
        invite_2xx_times(&sim, Side::Private, answered),
        expected_schedule()
    );
    assert!(byes_to(&sim, Side::Private).is_empty());
    assert!(outcomes(&sim).is_empty(), "the call ended before 64*T1");
    sim.advance(Duration::from_millis(2));
    // Both legs are ended: the phone's 2xx is ACKed, then BYE each way.
    assert_eq!(sim.uas[a].acks.len(), 1);
    assert!(sim.uas[a].take_request(Method::Bye).is_some());
    assert!(sim.uas[IPBX].take_request(Method::Bye).is_some());
    assert_eq!(
        outcomes(&sim),
        vec![CallOutcome::NoAck(FailedSide::Private)]
    );
    let stats = sim.b2bua.stats();
    assert_eq!((stats.calls_no_ack, stats.active_calls), (1, 0));
    assert_eq!(CallOutcome::NoAck(FailedSide::Private).as_str(), "no_ack");
    assert!(CallOutcome::LABELS.contains(&"no_ack"));
}

#[test]
fn the_far_2xx_retransmitted_before_the_near_ack_is_absorbed() {
    // The installer's trace: the phone re-sent its 200 (no ACK yet, since
    // the iPBX's ACK was lost); Outpost relayed nothing, hung up the phone
    // only and left the iPBX's leg up.
    let (mut sim, a) = setup();
    let (mut pd, ti, pt, inv) = incoming(&mut sim, a);
    let ok = sim.uas[a].response(&inv, 200, "alice-tag", &[], Some(("application/sdp", SDP)));
    let answered = sim.now;
    sim.respond(a, pt, ok.clone());
    for _ in 0..2 {
        sim.advance(T1);
        sim.send_stateless(a, ok.clone());
    }
    assert!(byes_to(&sim, Side::Public).is_empty(), "phone hung up");
    assert!(byes_to(&sim, Side::Private).is_empty(), "iPBX hung up");
    assert!(sim.uas[a].acks.is_empty(), "ACKed before the iPBX did");
    assert_eq!(sim.b2bua.stats().active_calls, 1);
    // Two ACKs were "lost": the iPBX saw 200 at 0, T1 and 3·T1; it ACKs
    // the third.
    sim.advance(T1 * 3 - T1 * 2 + Duration::from_millis(1));
    let sent = invite_2xx_times(&sim, Side::Private, answered);
    assert_eq!(sent, vec![Duration::ZERO, T1, T1 * 3], "{sent:?}");
    pd.learn(sim.uas[IPBX].last_response(ti).unwrap());
    let ack = sim.uas[IPBX].request(&mut pd, Method::Ack, &[], None);
    sim.send_stateless(IPBX, ack);
    assert_eq!(sim.uas[a].acks.len(), 1);
    // The phone's late copy gets the same ACK again; nothing else moves.
    sim.send_stateless(a, ok);
    assert_eq!(sim.uas[a].acks.len(), 2);
    assert_eq!(sim.uas[a].acks[0].as_bytes(), sim.uas[a].acks[1].as_bytes());
    sim.advance(T1 * 70);
    assert_eq!(invite_2xx_times(&sim, Side::Private, answered).len(), 3);
    assert!(outcomes(&sim).is_empty(), "{:?}", outcomes(&sim));
    assert_eq!(sim.b2bua.stats().active_calls, 1);
}

#[test]
fn a_phone_that_never_acks_gets_bye_and_so_does_the_ipbx() {
    let (mut sim, a) = setup();
    let (_, t, _) = invite(&mut sim, a, "alice", "alice-pw", "2001", &[]);
    let (it, inv) = sim.uas[IPBX].take_request(Method::Invite).unwrap();
    let ok = sim.uas[IPBX].response(&inv, 200, "ipbx-tag", &[], Some(("application/sdp", SDP)));
    let answered = sim.now;
    sim.respond(IPBX, it, ok.clone());
    assert_eq!(status(sim.uas[a].last_response(t).unwrap()), 200);
    // The iPBX keeps re-sending its 200 while the phone stays silent.
    for _ in 0..4 {
        sim.advance(T1);
        sim.send_stateless(IPBX, ok.clone());
    }
    assert_eq!(sim.b2bua.stats().active_calls, 1);
    assert!(sim.uas[IPBX].acks.is_empty());
    sim.advance(T1 * 64);
    assert_eq!(
        invite_2xx_times(&sim, Side::Public, answered),
        expected_schedule()
    );
    assert_eq!(sim.uas[IPBX].acks.len(), 1);
    assert!(sim.uas[IPBX].take_request(Method::Bye).is_some());
    assert!(sim.uas[a].take_request(Method::Bye).is_some());
    assert_eq!(outcomes(&sim), vec![CallOutcome::NoAck(FailedSide::Public)]);
}

#[test]
fn a_reinvite_2xx_never_acked_ends_the_call_on_both_legs() {
    let (mut sim, a) = setup();
    let (mut pd, ti, pt, inv) = incoming(&mut sim, a);
    let ok = sim.uas[a].response(&inv, 200, "alice-tag", &[], Some(("application/sdp", SDP)));
    sim.respond(a, pt, ok);
    pd.learn(sim.uas[IPBX].last_response(ti).unwrap());
    let ack = sim.uas[IPBX].request(&mut pd, Method::Ack, &[], None);
    sim.send_stateless(IPBX, ack);
    assert_eq!(sim.uas[a].acks.len(), 1);
    // The iPBX re-INVITEs (hold); the phone answers; the iPBX's ACK never
    // comes.
    let reinvite =
        sim.uas[IPBX].request(&mut pd, Method::Invite, &[], Some(("application/sdp", SDP)));
    sim.send(IPBX, reinvite);
    let (pt2, at_phone) = sim.uas[a].take_request(Method::Invite).unwrap();
    let ok2 = sim.uas[a].response(
        &at_phone,
        200,
        "alice-tag",
        &[],
        Some(("application/sdp", SDP)),
    );
    sim.respond(a, pt2, ok2);
    sim.advance(T1 * 64 + Duration::from_millis(1));
    assert_eq!(
        sim.uas[a].acks.len(),
        2,
        "the phone's re-INVITE 2xx is ACKed"
    );
    assert!(sim.uas[a].take_request(Method::Bye).is_some());
    assert!(sim.uas[IPBX].take_request(Method::Bye).is_some());
    assert_eq!(
        outcomes(&sim),
        vec![CallOutcome::NoAck(FailedSide::Private)]
    );
}
