//! Property tests on the bare state machines: any sequence of inputs and
//! clock jumps never panics, never leaves a due timer unfired, never keeps
//! timers after Terminated, and never leaves a transaction alive past its
//! final timer unless it is waiting for the peer or the TU in a state the
//! RFC gives no timer.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;

use crate::client::{InviteClient, NonInviteClient};
use crate::machine::Machine;
use crate::server::{InviteServer, NonInviteServer};
use crate::state::{State, TransactionKind};
use crate::timer::TimerConfig;

#[derive(Clone, Debug)]
enum Op {
    Advance(u32),
    Response(u16),
    Retransmission,
    Ack,
    TuResponse(u16),
    TransportError,
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(100u16),
        Just(180),
        Just(200),
        Just(202),
        Just(302),
        Just(486),
        Just(503),
        Just(699),
        0u16..1000,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..70_000).prop_map(Op::Advance),
        3 => status().prop_map(Op::Response),
        2 => Just(Op::Retransmission),
        2 => Just(Op::Ack),
        3 => status().prop_map(Op::TuResponse),
        1 => Just(Op::TransportError),
    ]
}

fn kind() -> impl Strategy<Value = TransactionKind> {
    prop_oneof![
        Just(TransactionKind::InviteClient),
        Just(TransactionKind::NonInviteClient),
        Just(TransactionKind::InviteServer),
        Just(TransactionKind::NonInviteServer),
    ]
}

fn config() -> impl Strategy<Value = TimerConfig> {
    (1u64..1_000, 1u64..8, 1u64..10, 0u64..40).prop_map(|(t1, t2, t4, d)| TimerConfig {
        t1: Duration::from_millis(t1),
        t2: Duration::from_millis(t1 * t2),
        t4: Duration::from_secs(t4),
        d: Duration::from_secs(d),
    })
}

const BYTES: Bytes = Bytes::from_static(b"x");

fn new_machine(
    kind: TransactionKind,
    now: Instant,
    config: TimerConfig,
    reliable: bool,
) -> Machine {
    match kind {
        TransactionKind::InviteClient => {
            Machine::InviteClient(InviteClient::new(now, config, reliable, BYTES).0)
        }
        TransactionKind::NonInviteClient => {
            Machine::NonInviteClient(NonInviteClient::new(now, config, reliable, BYTES).0)
        }
        TransactionKind::InviteServer => Machine::InviteServer(InviteServer::new(config, reliable)),
        TransactionKind::NonInviteServer => {
            Machine::NonInviteServer(NonInviteServer::new(config, reliable))
        }
    }
}

fn apply(m: &mut Machine, now: Instant, op: &Op) {
    let _ = match (m, op) {
        (m, Op::Advance(_)) => m.handle_timeout(now),
        (m, Op::TransportError) => m.handle_transport_error(),
        (Machine::InviteClient(m), Op::Response(s)) => {
            let ack = m.wants_ack(*s).then_some(BYTES);
            m.handle_response(now, *s, ack)
        }
        (Machine::NonInviteClient(m), Op::Response(s)) => m.handle_response(now, *s),
        (Machine::InviteServer(m), Op::Retransmission) => m.handle_retransmission(),
        (Machine::NonInviteServer(m), Op::Retransmission) => m.handle_retransmission(),
        (Machine::InviteServer(m), Op::Ack) => m.handle_ack(now),
        (Machine::InviteServer(m), Op::TuResponse(s)) => {
            m.send_response(now, *s, BYTES).unwrap_or_default()
        }
        (Machine::NonInviteServer(m), Op::TuResponse(s)) => {
            m.send_response(now, *s, BYTES).unwrap_or_default()
        }
        _ => Default::default(),
    };
}

/// States in which the RFC leaves the transaction waiting, with no timer,
/// for the peer (INVITE client after a 1xx) or the TU (servers before
/// their final response).
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn machines_never_outlive_their_final_timer(
        kind in kind(),
        reliable in any::<bool>(),
        config in config(),
        ops in proptest::collection::vec(op(), 0..40),
    ) {
        let t0 = crate::test_util::Clock::new().t0;
        let mut now = t0;
        let mut m = new_machine(kind, now, config, reliable);
        for op in &ops {
            if let Op::Advance(ms) = op {
                now += Duration::from_millis(u64::from(*ms));
            }
            apply(&mut m, now, op);
            if let Op::Advance(_) = op {
                prop_assert!(m.next_deadline().is_none_or(|d| d > now), "a due timer was left unfired");
            }
            if m.state() == State::Terminated {
                prop_assert_eq!(m.next_deadline(), None);
            }
            prop_assert_eq!(m.kind(), kind);
        }
        // No more input: the transaction must end by its own timers within
        // the longest single final timer, or be waiting without a timer.
        let bound = now + config.longest_wait();
        while let Some(at) = m.next_deadline() {
            prop_assert!(at <= bound, "{:?} in {:?} still has a timer at +{:?}", kind, m.state(), at - now);
            let _ = m.handle_timeout(at);
        }
        let state = m.state();
        prop_assert!(
            state == State::Terminated || waits_without_timer(kind, state),
            "{:?} stuck in {:?} without a timer", kind, state
        );
    }
}
