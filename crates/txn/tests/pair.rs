//! A client layer and a server layer talking over an in-memory lossy link
//! on a virtual clock (the quinn `Pair` idea): the first N packets in each
//! direction are dropped, retransmissions recover, and both sides end clean.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

mod util;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use outpost_sip::{Limits, Message, Response, StatusCode, parse};
use outpost_txn::{Config, Event, ResponseKind, TransactionId, TransactionLayer};
use util::{ALICE, BOB, Clock, Peer, Req};

const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);

struct Pair {
    clock: Clock,
    now: Instant,
    latency: Duration,
    client: TransactionLayer<Peer>,
    server: TransactionLayer<Peer>,
    /// (arrival, to_server, bytes); constant latency keeps it in order.
    link: VecDeque<(Instant, bool, Bytes)>,
    drop_to_server: usize,
    drop_to_client: usize,
    sent_to_server: usize,
    sent_to_client: usize,
    /// What the server's TU answers to an INVITE (after a 180).
    invite_answer: u16,
    /// The server TU's own 2xx retransmission (RFC 6026 §7.1 leaves it to
    /// the TU): transaction, response, next time, interval.
    retransmit_2xx: Option<(TransactionId, Message, Instant, Duration)>,
    server_tu_requests: Vec<String>,
    server_tu_acks: usize,
    server_acks_absorbed: usize,
    server_2xx_retransmissions: usize,
    client_finals: Vec<u16>,
    client_acks_sent: usize,
    timeouts: usize,
}

impl Pair {
    fn new(drop_to_server: usize, drop_to_client: usize) -> Self {
        let clock = Clock::new();
        Self {
            clock,
            now: clock.t0,
            latency: Duration::from_millis(10),
            client: TransactionLayer::new(Config::default()),
            server: TransactionLayer::new(Config::default()),
            link: VecDeque::new(),
            drop_to_server,
            drop_to_client,
            sent_to_server: 0,
            sent_to_client: 0,
            invite_answer: 486,
            retransmit_2xx: None,
            server_tu_requests: Vec::new(),
            server_tu_acks: 0,
            server_acks_absorbed: 0,
            server_2xx_retransmissions: 0,
            client_finals: Vec::new(),
            client_acks_sent: 0,
            timeouts: 0,
        }
    }

    /// Moves queued transmits onto the link and lets both TUs react to
    /// events, until nothing is left.
    fn flush(&mut self) {
        loop {
            let mut progress = false;
            while let Some(x) = self.client.poll_transmit() {
                progress = true;
                assert_eq!(x.destination, BOB);
                self.sent_to_server += 1;
                if self.sent_to_server > self.drop_to_server {
                    self.link
                        .push_back((self.now + self.latency, true, x.bytes));
                }
            }
            while let Some(x) = self.server.poll_transmit() {
                progress = true;
                assert_eq!(
                    x.destination, ALICE,
                    "responses go back where the request came from"
                );
                self.sent_to_client += 1;
                if self.sent_to_client > self.drop_to_client {
                    self.link
                        .push_back((self.now + self.latency, false, x.bytes));
                }
            }
            while let Some(e) = self.server.poll_event() {
                progress = true;
                self.server_tu(e);
            }
            while let Some(e) = self.client.poll_event() {
                progress = true;
                self.client_tu(e);
            }
            if !progress {
                return;
            }
        }
    }

    fn server_tu(&mut self, event: Event<Peer>) {
        match event {
            Event::RequestReceived {
                transaction,
                request,
                ..
            } => {
                let method = request.method().unwrap().as_str().to_owned();
                self.server_tu_requests.push(method.clone());
                let request = request.into_request().unwrap();
                let respond = |status| {
                    Response::for_request(&request, StatusCode(status), "", Some("srv"))
                        .into_message()
                };
                if method == "INVITE" {
                    self.server
                        .send_response(self.now, transaction, respond(180))
                        .unwrap();
                    let answer = respond(self.invite_answer);
                    self.server
                        .send_response(self.now, transaction, answer.clone())
                        .unwrap();
                    if self.invite_answer < 300 {
                        self.retransmit_2xx = Some((transaction, answer, self.now + T1, T1));
                    }
                } else {
                    self.server
                        .send_response(self.now, transaction, respond(200))
                        .unwrap();
                }
            }
            Event::AckReceived { .. } => {
                self.server_tu_acks += 1;
                self.retransmit_2xx = None;
            }
            Event::AckForNon2xxAbsorbed { .. } => self.server_acks_absorbed += 1,
            Event::Timeout { .. } => self.timeouts += 1,
            Event::Terminated { transaction } => {
                if self
                    .retransmit_2xx
                    .as_ref()
                    .is_some_and(|r| r.0 == transaction)
                {
                    self.retransmit_2xx = None;
                }
            }
            other => panic!("server TU did not expect {other:?}"),
        }
    }

    fn client_tu(&mut self, event: Event<Peer>) {
        match event {
            Event::ResponseReceived {
                response,
                kind: ResponseKind::Final,
                ..
            } => {
                let status = response.status().unwrap().0;
                self.client_finals.push(status);
                let is_invite = response.cseq().unwrap().method.as_str() == "INVITE";
                if is_invite && (200..300).contains(&status) {
                    // The UAC core ACKs each 2xx, outside any transaction.
                    let ack = Req::invite()
                        .method("ACK")
                        .branch(Some("z9hG4bKack2xx"))
                        .with_to_tag(Some("srv"))
                        .build();
                    self.client.send_stateless(&ack, BOB);
                    self.client_acks_sent += 1;
                }
            }
            Event::ResponseReceived { .. } | Event::Terminated { .. } => {}
            Event::Timeout { .. } => self.timeouts += 1,
            other => panic!("client TU did not expect {other:?}"),
        }
    }

    fn deliver(&mut self, to_server: bool, bytes: Bytes) {
        let msg = parse(bytes, &Limits::default()).unwrap();
        if to_server {
            assert!(msg.is_request());
            self.server
                .handle_request(self.now, msg, ALICE, false)
                .unwrap();
        } else {
            assert!(!msg.is_request());
            self.client.handle_response(self.now, msg).unwrap();
        }
    }

    /// Runs until nothing is scheduled or `limit` is reached.
    fn run(&mut self, limit: Duration) {
        let end = self.clock.t0 + limit;
        loop {
            self.flush();
            let next = [
                self.client.poll_timeout(),
                self.server.poll_timeout(),
                self.link.front().map(|p| p.0),
                self.retransmit_2xx.as_ref().map(|r| r.2),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next else { return };
            if next > end {
                return;
            }
            self.now = next;
            while self.link.front().is_some_and(|p| p.0 <= self.now) {
                let (_, to_server, bytes) = self.link.pop_front().unwrap();
                self.deliver(to_server, bytes);
            }
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
            if self
                .retransmit_2xx
                .as_ref()
                .is_some_and(|r| r.2 <= self.now)
            {
                let (id, response, _, interval) = self.retransmit_2xx.take().unwrap();
                self.server_2xx_retransmissions += 1;
                if self
                    .server
                    .send_response(self.now, id, response.clone())
                    .is_ok()
                {
                    let interval = (interval * 2).min(T2);
                    self.retransmit_2xx = Some((id, response, self.now + interval, interval));
                }
            }
        }
    }
}

#[test]
fn non_invite_survives_the_loss_of_the_first_three_requests() {
    let mut pair = Pair::new(3, 0);
    let req = Req::new("OPTIONS");
    pair.client
        .send_request(pair.now, req.build(), BOB, false)
        .unwrap();
    pair.run(Duration::from_secs(200));
    // Sent at 0, 0.5, 1.5 (lost) and 3.5 s (arrives); answered once.
    assert_eq!(pair.sent_to_server, 4);
    assert_eq!(pair.server_tu_requests, vec!["OPTIONS"]);
    assert_eq!(pair.client_finals, vec![200]);
    assert_eq!(pair.sent_to_client, 1);
    assert_eq!(pair.timeouts, 0);
    assert!(
        pair.client.is_empty() && pair.server.is_empty(),
        "Timers K and J ended both"
    );
}

#[test]
fn invite_rejected_with_lost_request_and_lost_responses_is_acked() {
    let mut pair = Pair::new(1, 3);
    let req = Req::invite();
    pair.client
        .send_request(pair.now, req.build(), BOB, false)
        .unwrap();
    pair.run(Duration::from_secs(200));
    // The first INVITE is lost; the retransmission at 0.5 s gets 100, 180,
    // 486, all lost; Timer G re-sends the 486 at 1.01 s; the client ACKs.
    assert_eq!(
        pair.server_tu_requests,
        vec!["INVITE"],
        "the TU saw the INVITE once"
    );
    assert_eq!(
        pair.client_finals,
        vec![486],
        "the client TU saw the 486 once"
    );
    assert_eq!(
        pair.server_acks_absorbed, 1,
        "the ACK reached the server transaction"
    );
    assert_eq!(
        pair.server_tu_acks, 0,
        "the ACK for a non-2xx never reaches the TU"
    );
    assert_eq!(pair.timeouts, 0);
    assert!(pair.client.is_empty() && pair.server.is_empty());
}

#[test]
fn invite_accepted_with_lost_2xx_is_recovered_by_the_tu() {
    let mut pair = Pair::new(0, 3);
    pair.invite_answer = 200;
    let req = Req::invite();
    pair.client
        .send_request(pair.now, req.build(), BOB, false)
        .unwrap();
    pair.run(Duration::from_secs(200));
    // 100, 180 and the first 200 are lost; the client's INVITE
    // retransmission is absorbed by the Accepted server transaction; the
    // server TU's own 2xx retransmission gets through and is ACKed.
    assert_eq!(pair.server_tu_requests, vec!["INVITE"]);
    assert_eq!(pair.server_2xx_retransmissions, 1);
    assert_eq!(pair.client_finals, vec![200]);
    assert_eq!(pair.client_acks_sent, 1);
    assert_eq!(pair.server_tu_acks, 1);
    assert_eq!(pair.timeouts, 0);
    assert!(
        pair.client.is_empty() && pair.server.is_empty(),
        "Timers L and M ended both"
    );
}

#[test]
fn a_dead_link_times_out_with_the_rfc_number_of_retransmissions() {
    let mut pair = Pair::new(usize::MAX, 0);
    pair.client
        .send_request(pair.now, Req::invite().build(), BOB, false)
        .unwrap();
    pair.client
        .send_request(
            pair.now,
            Req::new("OPTIONS").branch(Some("z9hG4bKo")).build(),
            BOB,
            false,
        )
        .unwrap();
    pair.run(Duration::from_secs(200));
    // INVITE: 1 + 6 (Timer A) ; OPTIONS: 1 + 10 (Timer E).
    assert_eq!(pair.sent_to_server, 7 + 11);
    assert_eq!(pair.timeouts, 2);
    assert!(pair.client.is_empty());
}
