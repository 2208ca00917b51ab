//! RFC 3261 §17.1.3 and §17.2.3 matching, with the RFC 2543 fallback and
//! CANCEL.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

mod util;

use outpost_txn::{Config, Event, RequestOutcome, ResponseOutcome, State, TransactionLayer};
use util::{ALICE, BOB, Clock, Peer, Req, events, transmits};

fn layer() -> TransactionLayer<Peer> {
    TransactionLayer::new(Config {
        send_100_trying: false,
        ..Config::default()
    })
}

fn new(l: &mut TransactionLayer<Peer>, clock: Clock, req: &Req) -> outpost_txn::TransactionId {
    match l
        .handle_request(clock.ms(0), req.build(), ALICE, false)
        .unwrap()
    {
        RequestOutcome::New(id) => id,
        other => panic!("{other:?}"),
    }
}

#[test]
fn server_matching_uses_branch_sent_by_and_method() {
    let clock = Clock::new();
    let mut l = layer();
    let req = Req::new("OPTIONS");
    let id = new(&mut l, clock, &req);
    // Same branch, sent-by and method: the same transaction, whatever else.
    let mut same = req.clone();
    same.call_id = "something-else";
    same.uri = "sip:other@biloxi.example.com";
    same.transport = "TCP";
    let out = l
        .handle_request(clock.ms(1), same.build(), ALICE, false)
        .unwrap();
    assert_eq!(out, RequestOutcome::Absorbed(id));
    // Host names compare case-insensitively.
    let mut upper = req.clone();
    upper.sent_by = "PC33.Atlanta.Example.COM:5060";
    assert_eq!(
        l.handle_request(clock.ms(1), upper.build(), ALICE, false)
            .unwrap(),
        RequestOutcome::Absorbed(id)
    );
    // A different sent-by, method or branch is a new transaction.
    let mut moved = req.clone();
    moved.sent_by = "pc33.atlanta.example.com:5070";
    assert_ne!(new(&mut l, clock, &moved), id);
    let mut other_branch = req.clone();
    other_branch.branch = Some("z9hG4bK776asdhdt");
    assert_ne!(new(&mut l, clock, &other_branch), id);
    let info = req.clone().method("INFO");
    assert_ne!(new(&mut l, clock, &info), id);
    assert_eq!(l.len(), 4);
}

#[test]
fn cancel_is_its_own_transaction_related_to_its_invite() {
    let clock = Clock::new();
    let mut l = layer();
    let invite = Req::invite();
    let inv = new(&mut l, clock, &invite);
    let _ = events(&mut l);
    let cancel = invite.clone().method("CANCEL");
    let id = new(&mut l, clock, &cancel);
    assert_ne!(id, inv);
    let evs = events(&mut l);
    assert!(
        matches!(&evs[..], [Event::RequestReceived { transaction, cancels: Some(c), .. }] if *transaction == id && *c == inv),
        "{evs:?}"
    );
    assert_eq!(l.find_server_transaction(&cancel.build()), Some(inv));
    // The CANCEL's retransmission hits the CANCEL transaction, not the INVITE.
    l.send_response(clock.ms(1), id, cancel.response(200, Some("s")))
        .unwrap();
    let ok = transmits(&mut l).remove(0).bytes;
    assert_eq!(
        l.handle_request(clock.ms(2), cancel.build(), ALICE, false)
            .unwrap(),
        RequestOutcome::Absorbed(id)
    );
    assert_eq!(transmits(&mut l)[0].bytes, ok);
    assert_eq!(l.state(inv), Some(State::Proceeding));
    // A CANCEL for nothing says so (the TU answers 481).
    let stray = Req::new("CANCEL").branch(Some("z9hG4bKnothing"));
    let _ = new(&mut l, clock, &stray);
    assert!(matches!(
        &events(&mut l)[..],
        [Event::RequestReceived { cancels: None, .. }]
    ));
}

#[test]
fn rfc_2543_requests_match_on_uri_tags_call_id_cseq_and_via() {
    let clock = Clock::new();
    let mut l = layer();
    let old = Req::invite().branch(None);
    let id = new(&mut l, clock, &old);
    assert_eq!(
        l.handle_request(clock.ms(1), old.build(), ALICE, false)
            .unwrap(),
        RequestOutcome::Absorbed(id)
    );
    // A branch without the magic cookie is also RFC 2543.
    let cookieless = Req::invite().branch(Some("776asdhds"));
    let other = new(&mut l, clock, &cookieless);
    assert_ne!(other, id, "the top Via differs (branch)");
    let mut from = old.clone();
    from.from_tag = "different";
    assert_ne!(new(&mut l, clock, &from), id);
    let mut cseq = old.clone();
    cseq.cseq += 1;
    assert_ne!(new(&mut l, clock, &cseq), id);
    let mut uri = old.clone();
    uri.uri = "sip:carol@chicago.example.com";
    assert_ne!(new(&mut l, clock, &uri), id);
    let mut call_id = old.clone();
    call_id.call_id = "other-call";
    assert_ne!(new(&mut l, clock, &call_id), id);
    let tagged = old.clone().with_to_tag(Some("t"));
    assert_ne!(new(&mut l, clock, &tagged), id);
}

#[test]
fn rfc_2543_ack_matches_by_the_to_tag_of_the_response_sent() {
    let clock = Clock::new();
    let mut l = layer();
    let old = Req::invite().branch(None);
    let id = new(&mut l, clock, &old);
    let _ = events(&mut l);
    l.send_response(clock.ms(1), id, old.response(486, Some("srv")))
        .unwrap();
    let _ = transmits(&mut l);
    // An ACK with the wrong To tag is not for this transaction.
    let wrong = old.ack(Some("nope"));
    assert_eq!(
        l.handle_request(clock.ms(2), wrong, ALICE, false).unwrap(),
        RequestOutcome::Ack(None)
    );
    assert_eq!(l.state(id), Some(State::Completed));
    let _ = events(&mut l);
    // The right one confirms it.
    let ack = old.ack(Some("srv"));
    assert_eq!(
        l.handle_request(clock.ms(3), ack, ALICE, false).unwrap(),
        RequestOutcome::Absorbed(id)
    );
    assert_eq!(l.state(id), Some(State::Confirmed));
}

#[test]
fn client_matching_uses_branch_and_cseq_method() {
    let clock = Clock::new();
    let mut l = layer();
    let invite = Req::invite().branch(Some("z9hG4bKclient1"));
    let inv = l
        .send_request(clock.ms(0), invite.build(), BOB, false)
        .unwrap();
    // CANCEL: same branch, its own client transaction.
    let cancel = invite.clone().method("CANCEL");
    let can = l
        .send_request(clock.ms(1), cancel.build(), BOB, false)
        .unwrap();
    assert_ne!(inv, can);
    let _ = transmits(&mut l);
    assert_eq!(
        l.handle_response(clock.ms(2), cancel.response(200, Some("b")))
            .unwrap(),
        ResponseOutcome::Delivered(can)
    );
    assert_eq!(
        l.state(inv),
        Some(State::Calling),
        "the CANCEL's 200 is not the INVITE's"
    );
    assert_eq!(
        l.handle_response(clock.ms(3), invite.response(487, Some("b")))
            .unwrap(),
        ResponseOutcome::Delivered(inv)
    );
    assert_eq!(l.state(inv), Some(State::Completed));
    // Unknown branch: stray, dropped (RFC 6026 §8.9).
    let stray = Req::invite()
        .branch(Some("z9hG4bKunknown"))
        .response(200, Some("b"));
    assert_eq!(
        l.handle_response(clock.ms(4), stray).unwrap(),
        ResponseOutcome::Stray
    );
    // Same branch, other method: stray too.
    let bye = invite.clone().method("BYE").response(200, Some("b"));
    assert_eq!(
        l.handle_response(clock.ms(5), bye).unwrap(),
        ResponseOutcome::Stray
    );
}

#[test]
fn ids_are_not_reused_after_termination() {
    let clock = Clock::new();
    let mut l = layer();
    let req = Req::new("OPTIONS");
    let first = l.send_request(clock.ms(0), req.build(), BOB, true).unwrap();
    let _ = l
        .handle_response(clock.ms(1), req.response(200, Some("x")))
        .unwrap();
    assert!(l.is_empty());
    let second = l.send_request(clock.ms(2), req.build(), BOB, true).unwrap();
    assert_ne!(first, second);
    assert_eq!(
        l.handle_response(clock.ms(3), req.response(200, Some("x")))
            .unwrap(),
        ResponseOutcome::Delivered(second)
    );
}
