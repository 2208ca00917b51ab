//! Property test on the whole layer: random requests, responses, TU answers,
//! transport errors and clock jumps never panic, keep the bookkeeping
//! consistent, and leave no transaction alive past its final timer.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

mod util;

use std::collections::BTreeSet;
use std::time::Duration;

use outpost_txn::{
    Config, Event, RequestOutcome, State, TimerConfig, TransactionId, TransactionKind,
    TransactionLayer,
};
use proptest::prelude::*;
use util::{ALICE, BOB, Peer, Req};

const BRANCHES: [Option<&str>; 4] = [Some("z9hG4bKa"), Some("z9hG4bKb"), Some("z9hG4bKc"), None];
const METHODS: [&str; 4] = ["INVITE", "OPTIONS", "ACK", "CANCEL"];
const STATUSES: [u16; 7] = [100, 180, 200, 202, 404, 486, 603];

#[derive(Clone, Debug)]
enum Op {
    ClientSend {
        method: usize,
        branch: usize,
        reliable: bool,
    },
    ServerReceive {
        method: usize,
        branch: usize,
        to_tag: bool,
        reliable: bool,
    },
    ResponseIn {
        method: usize,
        branch: usize,
        status: usize,
    },
    TuRespond {
        pick: usize,
        status: usize,
    },
    TransportError {
        pick: usize,
    },
    Advance(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..4usize, 0..3usize, any::<bool>())
            .prop_map(|(method, branch, reliable)| Op::ClientSend { method, branch, reliable }),
        3 => (0..4usize, 0..4usize, any::<bool>(), any::<bool>())
            .prop_map(|(method, branch, to_tag, reliable)| Op::ServerReceive { method, branch, to_tag, reliable }),
        3 => (0..4usize, 0..3usize, 0..STATUSES.len())
            .prop_map(|(method, branch, status)| Op::ResponseIn { method, branch, status }),
        3 => (any::<usize>(), 0..STATUSES.len()).prop_map(|(pick, status)| Op::TuRespond { pick, status }),
        1 => any::<usize>().prop_map(|pick| Op::TransportError { pick }),
        4 => (0u32..40_000).prop_map(Op::Advance),
    ]
}

fn req(method: usize, branch: usize) -> Req {
    Req::new(METHODS[method]).branch(BRANCHES[branch])
}

fn waits_without_timer(kind: TransactionKind, state: State) -> bool {
    matches!(
        (kind, state),
        (TransactionKind::InviteClient, State::Proceeding)
            | (TransactionKind::InviteServer, State::Proceeding)
            | (
                TransactionKind::NonInviteServer,
                State::Trying | State::Proceeding
            )
    )
}

struct World {
    layer: TransactionLayer<Peer>,
    live: BTreeSet<TransactionId>,
    /// Server transactions and the request template that created them.
    servers: Vec<(TransactionId, Req)>,
}

impl World {
    fn drain(&mut self) -> Result<(), TestCaseError> {
        while let Some(x) = self.layer.poll_transmit() {
            prop_assert!(!x.bytes.is_empty());
        }
        while let Some(e) = self.layer.poll_event() {
            if let Event::Terminated { transaction } = e {
                prop_assert!(
                    self.live.remove(&transaction),
                    "terminated twice or unknown"
                );
                prop_assert_eq!(self.layer.state(transaction), None);
            }
        }
        prop_assert_eq!(self.layer.len(), self.live.len());
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn layer_never_keeps_a_transaction_past_its_final_timer(ops in proptest::collection::vec(op(), 0..40)) {
        let t0 = util::Clock::new().t0;
        let mut now = t0;
        let config = Config { max_transactions: 6, ..Config::default() };
        let mut w = World { layer: TransactionLayer::new(config), live: BTreeSet::new(), servers: Vec::new() };
        for op in &ops {
            match op {
                Op::ClientSend { method, branch, reliable } => {
                    if let Ok(id) = w.layer.send_request(now, req(*method, *branch).build(), BOB, *reliable) {
                        w.live.insert(id);
                    }
                }
                Op::ServerReceive { method, branch, to_tag, reliable } => {
                    let r = req(*method, *branch).with_to_tag(to_tag.then_some("srv"));
                    if let Ok(RequestOutcome::New(id)) = w.layer.handle_request(now, r.build(), ALICE, *reliable) {
                        w.live.insert(id);
                        w.servers.push((id, r));
                    }
                }
                Op::ResponseIn { method, branch, status } => {
                    let r = req(*method, *branch);
                    let _ = w.layer.handle_response(now, r.response(STATUSES[*status], Some("srv")));
                }
                Op::TuRespond { pick, status } => {
                    if !w.servers.is_empty() {
                        let (id, r) = w.servers[pick % w.servers.len()].clone();
                        let _ = w.layer.send_response(now, id, r.response(STATUSES[*status], Some("srv")));
                    }
                }
                Op::TransportError { pick } => {
                    if let Some(id) = w.live.iter().nth(pick % w.live.len().max(1)).copied() {
                        w.layer.handle_transport_error(now, id);
                    }
                }
                Op::Advance(ms) => {
                    now += Duration::from_millis(u64::from(*ms));
                    w.layer.handle_timeout(now);
                    prop_assert!(w.layer.poll_timeout().is_none_or(|t| t > now), "a due timer was left");
                }
            }
            w.drain()?;
        }
        let timers = TimerConfig::default();
        let bound = now + timers.longest_wait();
        while let Some(at) = w.layer.poll_timeout() {
            prop_assert!(at <= bound, "a timer at +{:?} after the last input", at - now);
            w.layer.handle_timeout(at);
            w.drain()?;
        }
        for id in &w.live {
            let kind = w.layer.kind(*id).unwrap();
            let state = w.layer.state(*id).unwrap();
            prop_assert!(waits_without_timer(kind, state), "{:?} stuck in {:?}", kind, state);
            prop_assert!(w.layer.timers(*id).is_empty());
        }
    }
}
