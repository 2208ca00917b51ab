//! Client transactions through the layer, on a virtual clock.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

mod util;

use outpost_sip::{Limits, parse};
use outpost_txn::{
    Config, Error, Event, ResponseKind, ResponseOutcome, State, Timer, TransactionKind,
    TransactionLayer,
};
use util::{BOB, Clock, Peer, Req, events, run_until, start_line, transmits};

fn layer() -> TransactionLayer<Peer> {
    TransactionLayer::new(Config::default())
}

#[test]
fn invite_retransmits_at_t1_doubling_until_timer_b_then_times_out() {
    let clock = Clock::new();
    let mut l = layer();
    let req = Req::invite();
    let id = l
        .send_request(clock.ms(0), req.build(), BOB, false)
        .unwrap();
    assert_eq!(l.kind(id), Some(TransactionKind::InviteClient));
    assert_eq!(l.state(id), Some(State::Calling));
    let first = transmits(&mut l);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].destination, BOB);
    assert_eq!(first[0].bytes, *req.build().as_bytes());
    assert_eq!(l.poll_timeout(), Some(clock.ms(500)));

    let (sent, seen) = run_until(&mut l, clock, clock.ms(100_000));
    let times: Vec<u64> = sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![500, 1_500, 3_500, 7_500, 15_500, 31_500]);
    assert!(
        sent.iter()
            .all(|(_, x)| x.bytes == first[0].bytes && x.destination == BOB)
    );
    assert!(
        matches!(&seen[..], [(32_000, Event::Timeout { transaction: a, timer: Timer::B }), (32_000, Event::Terminated { transaction: b })] if *a == id && *b == id),
        "{seen:?}"
    );
    assert!(l.is_empty());
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn non_invite_retransmits_capped_at_t2_and_every_t2_when_proceeding() {
    let clock = Clock::new();
    let mut l = layer();
    let req = Req::new("REGISTER");
    let id = l
        .send_request(clock.ms(0), req.build(), BOB, false)
        .unwrap();
    assert_eq!(l.state(id), Some(State::Trying));
    let _ = transmits(&mut l);
    let (sent, _) = run_until(&mut l, clock, clock.ms(12_000));
    let times: Vec<u64> = sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![500, 1_500, 3_500, 7_500, 11_500]);

    let out = l
        .handle_response(clock.ms(12_000), req.response(100, None))
        .unwrap();
    assert_eq!(out, ResponseOutcome::Delivered(id));
    assert_eq!(l.state(id), Some(State::Proceeding));
    assert!(matches!(
        &events(&mut l)[..],
        [Event::ResponseReceived {
            kind: ResponseKind::Provisional,
            ..
        }]
    ));
    let (sent, seen) = run_until(&mut l, clock, clock.ms(100_000));
    let times: Vec<u64> = sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![15_500, 19_500, 23_500, 27_500, 31_500]);
    assert!(matches!(
        &seen[0],
        (
            32_000,
            Event::Timeout {
                timer: Timer::F,
                ..
            }
        )
    ));
}

#[test]
fn non_invite_final_completes_absorbs_retransmissions_and_ends_on_timer_k() {
    let clock = Clock::new();
    let mut l = layer();
    let req = Req::new("BYE").with_to_tag(Some("b1"));
    let id = l
        .send_request(clock.ms(0), req.build(), BOB, false)
        .unwrap();
    let _ = transmits(&mut l);
    assert!(l.request(id).is_some(), "kept while it may be re-sent");
    let out = l
        .handle_response(clock.ms(100), req.response(200, None))
        .unwrap();
    assert_eq!(out, ResponseOutcome::Delivered(id));
    assert_eq!(l.state(id), Some(State::Completed));
    assert!(
        l.request(id).is_none(),
        "Completed keeps a compact record, not the request (issue 13)"
    );
    let evs = events(&mut l);
    assert!(
        matches!(&evs[..], [Event::ResponseReceived { kind: ResponseKind::Final, response, .. }] if response.status().map(|s| s.0) == Some(200))
    );
    assert_eq!(
        l.handle_response(clock.ms(200), req.response(200, None))
            .unwrap(),
        ResponseOutcome::Absorbed(id)
    );
    assert!(events(&mut l).is_empty());
    let (sent, seen) = run_until(&mut l, clock, clock.ms(100_000));
    assert!(sent.is_empty(), "Completed stops retransmissions");
    assert!(matches!(&seen[..], [(5_100, Event::Terminated { .. })]));
}

#[test]
fn invite_non_2xx_is_acked_by_the_transaction_with_rfc_3261_contents() {
    let clock = Clock::new();
    let mut l = layer();
    let mut req = Req::invite();
    req.routes = &["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"];
    req.body = "v=0\r\n";
    let invite = req.build();
    let id = l
        .send_request(clock.ms(0), invite.clone(), BOB, false)
        .unwrap();
    let _ = transmits(&mut l);
    let _ = l
        .handle_response(clock.ms(50), req.response(180, Some("bob1")))
        .unwrap();
    let _ = events(&mut l);
    assert_eq!(l.state(id), Some(State::Proceeding));

    let out = l
        .handle_response(clock.ms(100), req.response(486, Some("bob1")))
        .unwrap();
    assert_eq!(out, ResponseOutcome::Delivered(id));
    assert_eq!(l.state(id), Some(State::Completed));
    assert!(matches!(
        &events(&mut l)[..],
        [Event::ResponseReceived {
            kind: ResponseKind::Final,
            ..
        }]
    ));
    let sent = transmits(&mut l);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].destination, BOB,
        "the ACK goes where the INVITE went"
    );
    let ack = parse(sent[0].bytes.clone(), &Limits::default()).unwrap();

    // RFC 3261 §17.1.1.3.
    assert_eq!(
        start_line(&sent[0].bytes),
        format!("ACK {} SIP/2.0", req.uri)
    );
    assert_eq!(ack.call_id().unwrap(), invite.call_id().unwrap());
    assert_eq!(
        ack.from().unwrap().as_str(),
        invite.from().unwrap().as_str()
    );
    assert_eq!(
        ack.to().unwrap().tag(),
        Some("bob1"),
        "To comes from the response"
    );
    assert_eq!(ack.cseq().unwrap().seq, req.cseq);
    assert_eq!(ack.cseq().unwrap().method.as_str(), "ACK");
    let vias: Vec<String> = ack
        .vias()
        .unwrap()
        .iter()
        .map(|v| v.as_str().to_owned())
        .collect();
    assert_eq!(vias, vec![req.via()], "only the INVITE's top Via");
    let text = String::from_utf8_lossy(&sent[0].bytes).into_owned();
    let routes: Vec<&str> = text.lines().filter(|l| l.starts_with("Route:")).collect();
    assert_eq!(
        routes,
        vec![
            "Route: <sip:p1.example.com;lr>",
            "Route: <sip:p2.example.com;lr>"
        ]
    );
    assert!(ack.body().is_empty(), "no body in the ACK");
    assert!(!text.contains("X-Custom"), "nothing else from the INVITE");

    // The retransmitted 486 is answered with the same ACK; the TU sees nothing.
    let out = l
        .handle_response(clock.ms(600), req.response(486, Some("bob1")))
        .unwrap();
    assert_eq!(out, ResponseOutcome::Absorbed(id));
    assert_eq!(transmits(&mut l)[0].bytes, sent[0].bytes);
    assert!(events(&mut l).is_empty());

    // Timer D: 32 s on UDP.
    let (_, seen) = run_until(&mut l, clock, clock.ms(100_000));
    assert!(matches!(&seen[..], [(32_100, Event::Terminated { .. })]));
}

#[test]
fn invite_2xx_goes_to_the_tu_with_its_retransmissions_and_no_ack_from_the_layer() {
    let clock = Clock::new();
    let mut l = layer();
    let req = Req::invite();
    let id = l
        .send_request(clock.ms(0), req.build(), BOB, false)
        .unwrap();
    let _ = transmits(&mut l);
    let ok = req.response(200, Some("bob1"));
    assert_eq!(
        l.handle_response(clock.ms(100), ok.clone()).unwrap(),
        ResponseOutcome::Delivered(id)
    );
    assert_eq!(l.state(id), Some(State::Accepted));
    assert!(transmits(&mut l).is_empty(), "the TU ACKs a 2xx");
    let _ = events(&mut l);
    // RFC 6026 §7.2: retransmissions and forked 2xx reach the TU.
    assert_eq!(
        l.handle_response(clock.ms(600), ok).unwrap(),
        ResponseOutcome::Delivered(id)
    );
    let forked = req.response(200, Some("bob2"));
    assert_eq!(
        l.handle_response(clock.ms(700), forked).unwrap(),
        ResponseOutcome::Delivered(id)
    );
    let evs = events(&mut l);
    assert_eq!(evs.len(), 2);
    assert!(transmits(&mut l).is_empty());
    // Provisional and non-2xx in Accepted are absorbed.
    assert_eq!(
        l.handle_response(clock.ms(800), req.response(486, Some("bob3")))
            .unwrap(),
        ResponseOutcome::Absorbed(id)
    );
    assert!(transmits(&mut l).is_empty());

    // The TU sends its ACK outside any transaction.
    let ack = Req::invite()
        .method("ACK")
        .branch(Some("z9hG4bKack"))
        .with_to_tag(Some("bob1"))
        .build();
    assert!(matches!(
        l.send_request(clock.ms(900), ack.clone(), BOB, false),
        Err(Error::AckIsNotATransaction)
    ));
    l.send_stateless(&ack, BOB);
    let x = transmits(&mut l);
    assert_eq!(x.len(), 1);
    assert_eq!(x[0].transaction, None);

    // Timer M = 64·T1 after the first 2xx.
    let (_, seen) = run_until(&mut l, clock, clock.ms(100_000));
    assert!(matches!(&seen[..], [(32_100, Event::Terminated { .. })]));
}

#[test]
fn reliable_transport_sends_the_request_once() {
    let clock = Clock::new();
    let mut l = layer();
    for method in ["INVITE", "OPTIONS"] {
        let req = Req::new(method);
        let id = l.send_request(clock.ms(0), req.build(), BOB, true).unwrap();
        assert_eq!(transmits(&mut l).len(), 1);
        let (sent, seen) = run_until(&mut l, clock, clock.ms(100_000));
        assert!(
            sent.is_empty(),
            "{method}: no retransmission on a reliable transport"
        );
        assert!(
            matches!(&seen[0], (32_000, Event::Timeout { transaction, .. }) if *transaction == id)
        );
    }
    // Final responses end reliable transactions at once (Timers D and K zero).
    let req = Req::invite();
    let id = l.send_request(clock.ms(0), req.build(), BOB, true).unwrap();
    let _ = transmits(&mut l);
    let _ = l
        .handle_response(clock.ms(10), req.response(404, Some("t")))
        .unwrap();
    assert_eq!(transmits(&mut l).len(), 1, "the ACK still goes out");
    assert_eq!(l.state(id), None);
    let req = Req::new("OPTIONS");
    let id = l.send_request(clock.ms(0), req.build(), BOB, true).unwrap();
    let _ = l
        .handle_response(clock.ms(10), req.response(200, Some("t")))
        .unwrap();
    assert_eq!(l.state(id), None);
}

#[test]
fn transport_error_on_a_client_transaction_is_reported() {
    let clock = Clock::new();
    let mut l = layer();
    let id = l
        .send_request(clock.ms(0), Req::new("OPTIONS").build(), BOB, true)
        .unwrap();
    let x = transmits(&mut l).remove(0);
    l.handle_transport_error(clock.ms(0), x.transaction.unwrap());
    let evs = events(&mut l);
    assert!(
        matches!(&evs[..], [Event::TransportError { transaction: a }, Event::Terminated { transaction: b }] if *a == id && *b == id)
    );
}

#[test]
fn send_request_checks_its_input() {
    let clock = Clock::new();
    let mut l = layer();
    let cookieless = Req::new("OPTIONS").branch(Some("abc"));
    assert!(matches!(
        l.send_request(clock.ms(0), cookieless.build(), BOB, false),
        Err(Error::BranchWithoutMagicCookie { branch }) if branch == "abc"
    ));
    let none = Req::new("OPTIONS").branch(None);
    assert!(matches!(
        l.send_request(clock.ms(0), none.build(), BOB, false),
        Err(Error::MissingBranch)
    ));
    let req = Req::new("OPTIONS");
    let id = l
        .send_request(clock.ms(0), req.build(), BOB, false)
        .unwrap();
    assert!(
        matches!(l.send_request(clock.ms(0), req.build(), BOB, false), Err(Error::DuplicateTransaction(d)) if d == id)
    );
    assert!(matches!(
        l.send_request(clock.ms(0), req.response(200, None), BOB, false),
        Err(Error::NotARequest)
    ));
    assert!(
        matches!(l.send_response(clock.ms(0), id, req.response(200, None)), Err(Error::NotAServerTransaction(d)) if d == id)
    );
    let mut small: TransactionLayer<Peer> = TransactionLayer::new(Config {
        max_transactions: 0,
        ..Config::default()
    });
    assert!(matches!(
        small.send_request(clock.ms(0), req.build(), BOB, false),
        Err(Error::TooManyTransactions { limit: 0 })
    ));
}

#[test]
fn terminate_lets_the_tu_give_up_on_a_proceeding_invite() {
    let clock = Clock::new();
    let mut l = layer();
    let req = Req::invite();
    let id = l
        .send_request(clock.ms(0), req.build(), BOB, false)
        .unwrap();
    let _ = l
        .handle_response(clock.ms(10), req.response(180, Some("b")))
        .unwrap();
    assert_eq!(l.poll_timeout(), None, "Proceeding has no timer of its own");
    assert!(l.terminate(id));
    assert!(!l.terminate(id));
    assert!(
        matches!(events(&mut l).last(), Some(Event::Terminated { transaction }) if *transaction == id)
    );
    assert_eq!(
        l.handle_response(clock.ms(20), req.response(486, Some("b")))
            .unwrap(),
        ResponseOutcome::Stray
    );
}

#[test]
fn poll_timeout_is_the_minimum_over_transactions_and_spurious_timeouts_do_nothing() {
    let clock = Clock::new();
    let mut l = layer();
    let _a = l.send_request(
        clock.ms(0),
        Req::new("OPTIONS").branch(Some("z9hG4bKa")).build(),
        BOB,
        false,
    );
    let _b = l.send_request(
        clock.ms(200),
        Req::new("OPTIONS").branch(Some("z9hG4bKb")).build(),
        BOB,
        false,
    );
    let _ = transmits(&mut l);
    assert_eq!(l.poll_timeout(), Some(clock.ms(500)));
    l.handle_timeout(clock.ms(499));
    assert!(transmits(&mut l).is_empty());
    assert!(events(&mut l).is_empty());
    l.handle_timeout(clock.ms(500));
    assert_eq!(transmits(&mut l).len(), 1);
    assert_eq!(l.poll_timeout(), Some(clock.ms(700)));
    // Repeating the same instant is a no-op.
    l.handle_timeout(clock.ms(500));
    assert!(transmits(&mut l).is_empty());
}
