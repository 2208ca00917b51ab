//! Server transactions through the layer, on a virtual clock.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

mod util;

use outpost_txn::{Config, Event, RequestOutcome, State, Timer, TransactionKind, TransactionLayer};
use util::{ALICE, Clock, Peer, Req, events, run_until, start_line, transmits};

fn layer() -> TransactionLayer<Peer> {
    TransactionLayer::new(Config::default())
}

fn quiet_layer() -> TransactionLayer<Peer> {
    TransactionLayer::new(Config {
        send_100_trying: false,
        ..Config::default()
    })
}

#[test]
fn non_invite_new_request_reaches_the_tu_and_retransmissions_are_absorbed() {
    let clock = Clock::new();
    let mut l = layer();
    let req = Req::new("OPTIONS");
    let out = l
        .handle_request(clock.ms(0), req.build(), ALICE, false)
        .unwrap();
    let RequestOutcome::New(id) = out else {
        panic!("{out:?}")
    };
    assert_eq!(l.kind(id), Some(TransactionKind::NonInviteServer));
    assert_eq!(l.state(id), Some(State::Trying));
    let evs = events(&mut l);
    assert!(
        matches!(&evs[..], [Event::RequestReceived { transaction, source, cancels: None, .. }]
            if *transaction == id && *source == ALICE)
    );
    assert!(transmits(&mut l).is_empty(), "no 100 for non-INVITE");

    // Trying: the retransmission is absorbed and there is nothing to re-send.
    let out = l
        .handle_request(clock.ms(500), req.build(), ALICE, false)
        .unwrap();
    assert_eq!(out, RequestOutcome::Absorbed(id));
    assert!(events(&mut l).is_empty());
    assert!(transmits(&mut l).is_empty());

    // Proceeding: the provisional is re-sent.
    l.send_response(clock.ms(600), id, req.response(180, Some("s1")))
        .unwrap();
    assert_eq!(l.state(id), Some(State::Proceeding));
    let first = transmits(&mut l);
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].destination, ALICE,
        "responses go back to the source flow"
    );
    assert_eq!(first[0].transaction, Some(id));
    let _ = l
        .handle_request(clock.ms(700), req.build(), ALICE, false)
        .unwrap();
    assert_eq!(transmits(&mut l)[0].bytes, first[0].bytes);

    // Completed: the final is re-sent; the TU never sees a duplicate.
    l.send_response(clock.ms(800), id, req.response(200, Some("s1")))
        .unwrap();
    assert_eq!(l.state(id), Some(State::Completed));
    let final_bytes = transmits(&mut l)[0].bytes.clone();
    assert!(start_line(&final_bytes).starts_with("SIP/2.0 200"));
    assert_eq!(
        l.handle_request(clock.ms(900), req.build(), ALICE, false)
            .unwrap(),
        RequestOutcome::Absorbed(id)
    );
    assert_eq!(transmits(&mut l)[0].bytes, final_bytes);
    assert!(events(&mut l).is_empty());

    // Timer J = 64·T1 after the final response, then the transaction is gone.
    assert_eq!(l.poll_timeout(), Some(clock.ms(800 + 32_000)));
    let (sent, seen) = run_until(&mut l, clock, clock.ms(100_000));
    assert!(sent.is_empty());
    assert!(
        matches!(&seen[..], [(32_800, Event::Terminated { transaction })] if *transaction == id)
    );
    assert!(l.is_empty());
    assert_eq!(l.state(id), None);
}

#[test]
fn invite_gets_100_trying_at_once_and_it_is_resent_on_retransmission() {
    let clock = Clock::new();
    let mut l = layer();
    let req = Req::invite();
    let RequestOutcome::New(id) = l
        .handle_request(clock.ms(0), req.build(), ALICE, false)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(l.kind(id), Some(TransactionKind::InviteServer));
    assert_eq!(l.state(id), Some(State::Proceeding));
    let sent = transmits(&mut l);
    assert_eq!(sent.len(), 1);
    assert_eq!(start_line(&sent[0].bytes), "SIP/2.0 100 Trying");
    let trying =
        outpost_sip::parse(sent[0].bytes.clone(), &outpost_sip::Limits::default()).unwrap();
    assert_eq!(trying.call_id().unwrap(), req.call_id);
    assert_eq!(trying.top_via().unwrap().branch(), req.branch);
    assert_eq!(
        trying.to().unwrap().tag(),
        None,
        "100 Trying carries no To tag"
    );
    let _ = events(&mut l);
    let _ = l
        .handle_request(clock.ms(500), req.build(), ALICE, false)
        .unwrap();
    assert_eq!(transmits(&mut l)[0].bytes, sent[0].bytes);
}

#[test]
fn invite_non_2xx_is_retransmitted_on_timer_g_until_the_ack_confirms() {
    let clock = Clock::new();
    let mut l = quiet_layer();
    let req = Req::invite();
    let RequestOutcome::New(id) = l
        .handle_request(clock.ms(0), req.build(), ALICE, false)
        .unwrap()
    else {
        panic!()
    };
    let _ = events(&mut l);
    assert!(l.request(id).is_some());
    l.send_response(clock.ms(0), id, req.response(486, Some("s1")))
        .unwrap();
    assert_eq!(l.state(id), Some(State::Completed));
    assert!(l.request(id).is_none(), "a compact record once final");
    let busy = transmits(&mut l).remove(0).bytes;
    let timers: Vec<_> = l.timers(id).into_iter().map(|(t, _)| t).collect();
    assert_eq!(timers, vec![Timer::G, Timer::H]);

    let (sent, seen) = run_until(&mut l, clock, clock.ms(8_000));
    let times: Vec<u64> = sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![500, 1_500, 3_500, 7_500]);
    assert!(sent.iter().all(|(_, x)| x.bytes == busy));
    assert!(seen.is_empty());

    // A retransmitted INVITE gets the final response again.
    let _ = l
        .handle_request(clock.ms(8_000), req.build(), ALICE, false)
        .unwrap();
    assert_eq!(transmits(&mut l)[0].bytes, busy);

    // The ACK (same branch) is absorbed: Confirmed.
    let out = l
        .handle_request(clock.ms(8_100), req.ack(Some("s1")), ALICE, false)
        .unwrap();
    assert_eq!(out, RequestOutcome::Absorbed(id));
    assert_eq!(l.state(id), Some(State::Confirmed));
    assert!(
        matches!(&events(&mut l)[..], [Event::AckForNon2xxAbsorbed { transaction }] if *transaction == id)
    );
    // ACK retransmissions are absorbed silently.
    let out = l
        .handle_request(clock.ms(8_200), req.ack(Some("s1")), ALICE, false)
        .unwrap();
    assert_eq!(out, RequestOutcome::Absorbed(id));
    assert!(events(&mut l).is_empty());
    assert!(transmits(&mut l).is_empty());
    // So are INVITE retransmissions: Confirmed has nothing to re-send.
    let out = l
        .handle_request(clock.ms(8_300), req.build(), ALICE, false)
        .unwrap();
    assert_eq!(out, RequestOutcome::Absorbed(id));
    assert!(transmits(&mut l).is_empty());

    // Timer I = T4 after the ACK, and no more retransmissions.
    let (sent, seen) = run_until(&mut l, clock, clock.ms(100_000));
    assert!(sent.is_empty());
    assert!(matches!(&seen[..], [(13_100, Event::Terminated { .. })]));
    assert!(l.is_empty());
}

#[test]
fn invite_without_ack_times_out_on_timer_h() {
    let clock = Clock::new();
    let mut l = quiet_layer();
    let req = Req::invite();
    let RequestOutcome::New(id) = l
        .handle_request(clock.ms(0), req.build(), ALICE, false)
        .unwrap()
    else {
        panic!()
    };
    let _ = events(&mut l);
    l.send_response(clock.ms(1_000), id, req.response(404, Some("s1")))
        .unwrap();
    let _ = transmits(&mut l);
    let (sent, seen) = run_until(&mut l, clock, clock.ms(100_000));
    assert_eq!(
        sent.len(),
        10,
        "G at 0.5, 1.5, 3.5, 7.5 s then every T2 up to 31.5 s"
    );
    assert_eq!(sent.last().unwrap().0, 32_500);
    let seen: Vec<_> = seen
        .into_iter()
        .map(|(t, e)| (t, format!("{e:?}")))
        .collect();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, 33_000);
    assert!(
        seen[0].1.starts_with("Timeout") && seen[0].1.contains("timer: H"),
        "{seen:?}"
    );
    assert!(seen[1].1.starts_with("Terminated"));
}

#[test]
fn invite_2xx_moves_to_accepted_and_the_tu_owns_retransmission_and_ack() {
    let clock = Clock::new();
    let mut l = layer();
    let req = Req::invite();
    let RequestOutcome::New(id) = l
        .handle_request(clock.ms(0), req.build(), ALICE, false)
        .unwrap()
    else {
        panic!()
    };
    let _ = (events(&mut l), transmits(&mut l));
    let ok = req.response(200, Some("s1"));
    l.send_response(clock.ms(100), id, ok.clone()).unwrap();
    assert_eq!(l.state(id), Some(State::Accepted));
    assert_eq!(transmits(&mut l).len(), 1);

    // No retransmission by the transaction, none on INVITE retransmission.
    let (sent, _) = run_until(&mut l, clock, clock.ms(10_000));
    assert!(sent.is_empty());
    let _ = l
        .handle_request(clock.ms(10_000), req.build(), ALICE, false)
        .unwrap();
    assert!(transmits(&mut l).is_empty());
    assert!(events(&mut l).is_empty());

    // The TU retransmits its 2xx through the transaction.
    l.send_response(clock.ms(10_100), id, ok.clone()).unwrap();
    assert_eq!(transmits(&mut l).len(), 1);
    // ...but may not change its mind.
    assert!(
        l.send_response(clock.ms(10_200), id, req.response(486, Some("s1")))
            .is_err()
    );

    // The ACK for the 2xx has its own branch and matches no transaction.
    let ack = Req::invite()
        .method("ACK")
        .branch(Some("z9hG4bKack2xx"))
        .with_to_tag(Some("s1"))
        .build();
    let out = l
        .handle_request(clock.ms(10_300), ack, ALICE, false)
        .unwrap();
    assert_eq!(out, RequestOutcome::Ack(None));
    assert!(matches!(
        &events(&mut l)[..],
        [Event::AckReceived {
            transaction: None,
            ..
        }]
    ));
    // One that re-uses the INVITE branch matches and goes to the TU too.
    let out = l
        .handle_request(clock.ms(10_400), req.ack(Some("s1")), ALICE, false)
        .unwrap();
    assert_eq!(out, RequestOutcome::Ack(Some(id)));
    assert!(
        matches!(&events(&mut l)[..], [Event::AckReceived { transaction: Some(t), .. }] if *t == id)
    );

    // Timer L = 64·T1 after the 2xx.
    let (_, seen) = run_until(&mut l, clock, clock.ms(100_000));
    assert!(matches!(&seen[..], [(32_100, Event::Terminated { .. })]));
}

#[test]
fn reliable_transport_sends_no_retransmissions_and_ends_at_once() {
    let clock = Clock::new();
    let mut l = quiet_layer();
    let req = Req::invite();
    let RequestOutcome::New(id) = l
        .handle_request(clock.ms(0), req.build(), ALICE, true)
        .unwrap()
    else {
        panic!()
    };
    let _ = events(&mut l);
    l.send_response(clock.ms(0), id, req.response(486, Some("s1")))
        .unwrap();
    let _ = transmits(&mut l);
    let (sent, _) = run_until(&mut l, clock, clock.ms(20_000));
    assert!(sent.is_empty(), "no Timer G on a reliable transport");
    let _ = l
        .handle_request(clock.ms(20_000), req.ack(Some("s1")), ALICE, true)
        .unwrap();
    assert_eq!(l.state(id), None, "Timer I is zero");
    let evs = events(&mut l);
    assert!(matches!(
        &evs[..],
        [Event::AckForNon2xxAbsorbed { .. }, Event::Terminated { .. }]
    ));

    let opt = Req::new("OPTIONS");
    let RequestOutcome::New(id) = l
        .handle_request(clock.ms(0), opt.build(), ALICE, true)
        .unwrap()
    else {
        panic!()
    };
    l.send_response(clock.ms(0), id, opt.response(200, Some("s2")))
        .unwrap();
    assert_eq!(l.state(id), None, "Timer J is zero");
    assert!(l.is_empty());
}

#[test]
fn transport_error_terminates_and_informs_the_tu() {
    let clock = Clock::new();
    let mut l = quiet_layer();
    let req = Req::invite();
    let RequestOutcome::New(id) = l
        .handle_request(clock.ms(0), req.build(), ALICE, false)
        .unwrap()
    else {
        panic!()
    };
    let _ = events(&mut l);
    l.send_response(clock.ms(0), id, req.response(486, Some("s1")))
        .unwrap();
    let x = transmits(&mut l).remove(0);
    l.handle_transport_error(clock.ms(1), x.transaction.unwrap());
    let evs = events(&mut l);
    assert!(
        matches!(&evs[..], [Event::TransportError { transaction: a }, Event::Terminated { transaction: b }] if *a == id && *b == id)
    );
    assert!(l.is_empty());
    assert_eq!(l.poll_timeout(), None);
    // A late report for a gone transaction is harmless.
    l.handle_transport_error(clock.ms(2), id);
    assert!(events(&mut l).is_empty());
}

#[test]
fn responses_the_state_forbids_are_errors() {
    let clock = Clock::new();
    let mut l = quiet_layer();
    let req = Req::new("OPTIONS");
    let RequestOutcome::New(id) = l
        .handle_request(clock.ms(0), req.build(), ALICE, false)
        .unwrap()
    else {
        panic!()
    };
    l.send_response(clock.ms(0), id, req.response(200, Some("s1")))
        .unwrap();
    let err = l
        .send_response(clock.ms(0), id, req.response(404, Some("s1")))
        .unwrap_err();
    assert!(matches!(
        err,
        outpost_txn::Error::ResponseNotAllowed {
            state: State::Completed,
            status: 404,
            ..
        }
    ));
    let err = l.send_response(clock.ms(0), id, req.build()).unwrap_err();
    assert!(matches!(err, outpost_txn::Error::NotAResponse));
}

#[test]
fn beyond_max_transactions_new_requests_are_refused_for_a_503() {
    let clock = Clock::new();
    let mut l: TransactionLayer<Peer> = TransactionLayer::new(Config {
        max_transactions: 1,
        send_100_trying: false,
        ..Config::default()
    });
    let first = Req::new("OPTIONS");
    let RequestOutcome::New(id) = l
        .handle_request(clock.ms(0), first.build(), ALICE, false)
        .unwrap()
    else {
        panic!()
    };
    let _ = events(&mut l);
    let second = Req::new("OPTIONS").branch(Some("z9hG4bKsecond"));
    assert_eq!(
        l.handle_request(clock.ms(1), second.build(), ALICE, false)
            .unwrap(),
        RequestOutcome::Refused
    );
    assert!(matches!(&events(&mut l)[..], [Event::Refused { source, .. }] if *source == ALICE));
    // Retransmissions of the existing one still match.
    assert_eq!(
        l.handle_request(clock.ms(2), first.build(), ALICE, false)
            .unwrap(),
        RequestOutcome::Absorbed(id)
    );
    assert_eq!(l.len(), 1);
    // Once it is gone there is room again.
    l.send_response(clock.ms(3), id, first.response(200, Some("x")))
        .unwrap();
    let _ = run_until(&mut l, clock, clock.ms(100_000));
    assert!(l.is_empty());
    assert!(matches!(
        l.handle_request(clock.ms(100_000), second.build(), ALICE, false),
        Ok(RequestOutcome::New(_))
    ));
}

#[test]
fn malformed_requests_are_errors_not_transactions() {
    let clock = Clock::new();
    let mut l = layer();
    let no_cseq = util::msg(
        "OPTIONS sip:bob@biloxi.example.com SIP/2.0\n\
         Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKx\n\
         From: <sip:alice@atlanta.example.com>;tag=1\n\
         To: <sip:bob@biloxi.example.com>\n\
         Call-ID: abc\n\
         Content-Length: 0\n\n",
    );
    assert!(
        l.handle_request(clock.ms(0), no_cseq, ALICE, false)
            .is_err()
    );
    assert!(l.is_empty());
    assert!(events(&mut l).is_empty());
    let response = Req::new("OPTIONS").response(200, None);
    assert!(matches!(
        l.handle_request(clock.ms(0), response, ALICE, false),
        Err(outpost_txn::Error::NotARequest)
    ));
}
