//! Server state machines on a virtual clock, one test per behaviour.

use bytes::Bytes;

use super::*;
use crate::state::Refusal;
use crate::test_util::{Clock, drive, send_times};

const R100: Bytes = Bytes::from_static(b"SIP/2.0 100 Trying\r\n\r\n");
const R180: Bytes = Bytes::from_static(b"SIP/2.0 180 Ringing\r\n\r\n");
const R200: Bytes = Bytes::from_static(b"SIP/2.0 200 OK\r\n\r\n");
const R486: Bytes = Bytes::from_static(b"SIP/2.0 486 Busy Here\r\n\r\n");

fn udp_invite() -> InviteServer {
    let m = InviteServer::new(TimerConfig::default(), false);
    assert_eq!(m.state(), State::Proceeding);
    assert_eq!(m.timers().next_deadline(), None);
    m
}

#[test]
fn invite_proceeding_resends_the_last_provisional_on_retransmission() {
    let clock = Clock::new();
    let mut m = udp_invite();
    assert_eq!(
        m.handle_retransmission(),
        Step::default(),
        "nothing sent yet"
    );
    assert_eq!(
        m.send_response(clock.ms(0), 100, R100),
        Ok(Step::send(R100))
    );
    assert_eq!(m.handle_retransmission(), Step::send(R100));
    assert_eq!(
        m.send_response(clock.ms(10), 180, R180),
        Ok(Step::send(R180))
    );
    assert_eq!(m.handle_retransmission(), Step::send(R180));
    assert_eq!(m.state(), State::Proceeding);
    assert_eq!(m.timers().next_deadline(), None, "no timer in Proceeding");
}

#[test]
fn invite_completed_retransmits_with_timer_g_capped_at_t2_until_timer_h() {
    let clock = Clock::new();
    let mut m = udp_invite();
    assert_eq!(
        m.send_response(clock.ms(0), 486, R486),
        Ok(Step::send(R486))
    );
    assert_eq!(m.state(), State::Completed);
    let steps = drive(&mut m, clock, clock.ms(100_000));
    assert_eq!(
        send_times(&steps),
        vec![
            500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
        ]
    );
    assert!(
        steps
            .iter()
            .filter(|(_, s)| s.send.is_some())
            .all(|(_, s)| s.send == Some(R486))
    );
    assert_eq!(
        steps.last(),
        Some(&(32_000, Step::notify(Notify::Timeout(Timer::H))))
    );
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn invite_completed_resends_final_on_invite_retransmission() {
    let clock = Clock::new();
    let mut m = udp_invite();
    let _ = m.send_response(clock.ms(0), 180, R180);
    let _ = m.send_response(clock.ms(5), 486, R486);
    assert_eq!(m.handle_retransmission(), Step::send(R486));
    assert_eq!(m.state(), State::Completed);
}

#[test]
fn invite_ack_confirms_then_absorbs_until_timer_i() {
    let clock = Clock::new();
    let mut m = udp_invite();
    let _ = m.send_response(clock.ms(0), 486, R486);
    assert_eq!(m.handle_timeout(clock.ms(500)), Step::send(R486));
    assert_eq!(
        m.handle_ack(clock.ms(600)),
        Step::notify(Notify::AckAbsorbed)
    );
    assert_eq!(m.state(), State::Confirmed);
    assert_eq!(m.timers().armed().collect::<Vec<_>>(), vec![Timer::I]);
    // ACK and INVITE retransmissions are absorbed without a word.
    assert_eq!(m.handle_ack(clock.ms(700)), Step::default());
    assert_eq!(m.handle_retransmission(), Step::default());
    assert_eq!(
        m.timers().get(Timer::I),
        Some(clock.ms(5_600)),
        "Timer I = T4"
    );
    assert_eq!(drive(&mut m, clock, clock.ms(100_000)), vec![]);
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn invite_on_reliable_transport_sends_no_retransmissions_and_i_is_zero() {
    let clock = Clock::new();
    let mut m = InviteServer::new(TimerConfig::default(), true);
    let _ = m.send_response(clock.ms(0), 486, R486);
    assert_eq!(
        m.timers().armed().collect::<Vec<_>>(),
        vec![Timer::H],
        "no Timer G"
    );
    assert_eq!(
        m.handle_ack(clock.ms(10)),
        Step::notify(Notify::AckAbsorbed)
    );
    assert_eq!(m.state(), State::Terminated);

    let mut m = InviteServer::new(TimerConfig::default(), true);
    let _ = m.send_response(clock.ms(0), 486, R486);
    let steps = drive(&mut m, clock, clock.ms(100_000));
    assert_eq!(
        steps,
        vec![(32_000, Step::notify(Notify::Timeout(Timer::H)))]
    );
}

#[test]
fn invite_2xx_moves_to_accepted_where_the_tu_owns_the_2xx_and_ack() {
    let clock = Clock::new();
    let mut m = udp_invite();
    let _ = m.send_response(clock.ms(0), 180, R180);
    assert_eq!(
        m.send_response(clock.ms(100), 200, R200),
        Ok(Step::send(R200))
    );
    assert_eq!(m.state(), State::Accepted);
    assert_eq!(m.timers().armed().collect::<Vec<_>>(), vec![Timer::L]);
    // RFC 6026 §7.1: INVITE retransmissions are absorbed; the TU re-sends the
    // 2xx itself, through the transaction.
    assert_eq!(m.handle_retransmission(), Step::default());
    assert_eq!(
        m.send_response(clock.ms(600), 200, R200),
        Ok(Step::send(R200))
    );
    // The ACK for the 2xx goes to the TU.
    assert_eq!(m.handle_ack(clock.ms(700)), Step::notify(Notify::Deliver));
    assert_eq!(m.state(), State::Accepted);
    // Only 2xx may follow a 2xx.
    let refused = Refusal {
        state: State::Accepted,
        status: 486,
    };
    assert_eq!(m.send_response(clock.ms(800), 486, R486), Err(refused));
    assert_eq!(
        m.send_response(clock.ms(800), 180, R180).map(|_| ()),
        Err(Refusal {
            status: 180,
            ..refused
        })
    );
    // Timer L = 64·T1 from entering Accepted.
    assert_eq!(m.handle_timeout(clock.ms(32_099)), Step::default());
    assert_eq!(m.handle_timeout(clock.ms(32_100)), Step::default());
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn invite_refuses_responses_after_completion() {
    let clock = Clock::new();
    let mut m = udp_invite();
    let _ = m.send_response(clock.ms(0), 486, R486);
    for status in [180, 200, 500] {
        assert_eq!(
            m.send_response(clock.ms(1), status, R200),
            Err(Refusal {
                state: State::Completed,
                status
            })
        );
    }
    let _ = m.handle_ack(clock.ms(2));
    assert!(m.send_response(clock.ms(3), 200, R200).is_err());
    assert!(m.send_response(clock.ms(3), 99, R200).is_err());
}

#[test]
fn invite_ack_before_a_final_response_is_ignored() {
    let clock = Clock::new();
    let mut m = udp_invite();
    assert_eq!(m.handle_ack(clock.ms(1)), Step::default());
    assert_eq!(m.state(), State::Proceeding);
}

#[test]
fn invite_transport_error_terminates_and_informs_the_tu() {
    let clock = Clock::new();
    let mut m = udp_invite();
    let _ = m.send_response(clock.ms(0), 486, R486);
    assert_eq!(
        m.handle_transport_error(),
        Step::notify(Notify::TransportError)
    );
    assert_eq!(m.state(), State::Terminated);
    assert_eq!(m.handle_retransmission(), Step::default());
    assert_eq!(m.handle_timeout(clock.ms(100_000)), Step::default());
}

fn udp_non_invite() -> NonInviteServer {
    let m = NonInviteServer::new(TimerConfig::default(), false);
    assert_eq!(m.state(), State::Trying);
    m
}

#[test]
fn non_invite_trying_discards_retransmissions() {
    let mut m = udp_non_invite();
    assert_eq!(m.handle_retransmission(), Step::default());
    assert_eq!(m.state(), State::Trying);
    assert_eq!(m.timers().next_deadline(), None);
}

#[test]
fn non_invite_proceeding_and_completed_resend_the_last_response() {
    let clock = Clock::new();
    let mut m = udp_non_invite();
    assert_eq!(
        m.send_response(clock.ms(0), 100, R100),
        Ok(Step::send(R100))
    );
    assert_eq!(m.state(), State::Proceeding);
    assert_eq!(m.handle_retransmission(), Step::send(R100));
    assert_eq!(
        m.send_response(clock.ms(10), 180, R180),
        Ok(Step::send(R180))
    );
    assert_eq!(m.handle_retransmission(), Step::send(R180));
    assert_eq!(
        m.send_response(clock.ms(20), 200, R200),
        Ok(Step::send(R200))
    );
    assert_eq!(m.state(), State::Completed);
    assert_eq!(m.handle_retransmission(), Step::send(R200));
    assert_eq!(
        m.send_response(clock.ms(30), 500, R486),
        Err(Refusal {
            state: State::Completed,
            status: 500
        })
    );
    // Timer J = 64·T1 from entering Completed; it sends nothing.
    assert_eq!(m.timers().get(Timer::J), Some(clock.ms(32_020)));
    assert_eq!(drive(&mut m, clock, clock.ms(100_000)), vec![]);
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn non_invite_final_straight_from_trying() {
    let clock = Clock::new();
    let mut m = udp_non_invite();
    assert_eq!(
        m.send_response(clock.ms(0), 404, R486),
        Ok(Step::send(R486))
    );
    assert_eq!(m.state(), State::Completed);
    assert_eq!(m.handle_timeout(clock.ms(31_999)), Step::default());
    assert_eq!(m.state(), State::Completed);
    assert_eq!(m.handle_timeout(clock.ms(32_000)), Step::default());
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn non_invite_on_reliable_transport_terminates_when_the_final_is_sent() {
    let clock = Clock::new();
    let mut m = NonInviteServer::new(TimerConfig::default(), true);
    assert_eq!(
        m.send_response(clock.ms(0), 200, R200),
        Ok(Step::send(R200))
    );
    assert_eq!(m.state(), State::Terminated, "Timer J is zero");
}

#[test]
fn non_invite_transport_error_terminates_and_informs_the_tu() {
    let clock = Clock::new();
    let mut m = udp_non_invite();
    let _ = m.send_response(clock.ms(0), 100, R100);
    assert_eq!(
        m.handle_transport_error(),
        Step::notify(Notify::TransportError)
    );
    assert_eq!(m.state(), State::Terminated);
    assert!(m.send_response(clock.ms(1), 200, R200).is_err());
}
