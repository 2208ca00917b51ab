//! Client state machines on a virtual clock, one test per behaviour.

use bytes::Bytes;

use super::*;
use crate::test_util::{Clock, drive, send_times};

const REQ: Bytes = Bytes::from_static(b"INVITE sip:bob@example.com SIP/2.0\r\n\r\n");
const ACK: Bytes = Bytes::from_static(b"ACK sip:bob@example.com SIP/2.0\r\n\r\n");

fn udp_invite(clock: Clock) -> InviteClient {
    let (m, step) = InviteClient::new(clock.t0, TimerConfig::default(), false, REQ);
    assert_eq!(step, Step::send(REQ), "the request is sent at once");
    assert_eq!(m.state(), State::Calling);
    m
}

#[test]
fn invite_calling_retransmits_at_t1_doubling_without_cap_until_timer_b() {
    let clock = Clock::new();
    let mut m = udp_invite(clock);
    let steps = drive(&mut m, clock, clock.ms(100_000));
    // Timer A: T1, 2·T1, 4·T1, ... from each firing; never capped at T2.
    assert_eq!(
        send_times(&steps),
        vec![500, 1_500, 3_500, 7_500, 15_500, 31_500]
    );
    assert!(
        steps[..6]
            .iter()
            .all(|(_, s)| s.send == Some(REQ) && s.notify.is_none())
    );
    // Timer B = 64·T1 = 32 s.
    assert_eq!(steps[6], (32_000, Step::notify(Notify::Timeout(Timer::B))));
    assert_eq!(steps.len(), 7);
    assert_eq!(m.state(), State::Terminated);
    assert_eq!(m.timers().next_deadline(), None);
}

#[test]
fn invite_calling_on_reliable_transport_never_retransmits() {
    let clock = Clock::new();
    let (mut m, _) = InviteClient::new(clock.t0, TimerConfig::default(), true, REQ);
    assert_eq!(m.timers().armed().collect::<Vec<_>>(), vec![Timer::B]);
    let steps = drive(&mut m, clock, clock.ms(100_000));
    assert_eq!(
        steps,
        vec![(32_000, Step::notify(Notify::Timeout(Timer::B)))]
    );
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn invite_timer_values_follow_the_configuration() {
    let clock = Clock::new();
    let config = TimerConfig {
        t1: Duration::from_millis(100),
        ..TimerConfig::default()
    };
    let (mut m, _) = InviteClient::new(clock.t0, config, false, REQ);
    let steps = drive(&mut m, clock, clock.ms(100_000));
    assert_eq!(send_times(&steps), vec![100, 300, 700, 1_500, 3_100, 6_300]);
    assert_eq!(
        steps.last(),
        Some(&(6_400, Step::notify(Notify::Timeout(Timer::B))))
    );
}

#[test]
fn invite_late_timeout_call_fires_b_without_a_last_retransmission() {
    let clock = Clock::new();
    let mut m = udp_invite(clock);
    // The driver slept through everything: A and B are both due.
    let step = m.handle_timeout(clock.ms(40_000));
    assert_eq!(step, Step::notify(Notify::Timeout(Timer::B)));
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn invite_spurious_timeout_is_a_no_op() {
    let clock = Clock::new();
    let mut m = udp_invite(clock);
    assert_eq!(m.handle_timeout(clock.ms(499)), Step::default());
    assert_eq!(m.state(), State::Calling);
    assert_eq!(m.timers().get(Timer::A), Some(clock.ms(500)));
}

#[test]
fn invite_provisional_moves_to_proceeding_and_stops_retransmissions() {
    let clock = Clock::new();
    let mut m = udp_invite(clock);
    assert_eq!(m.handle_timeout(clock.ms(500)), Step::send(REQ));
    assert_eq!(
        m.handle_response(clock.ms(600), 100, None),
        Step::notify(Notify::Deliver)
    );
    assert_eq!(m.state(), State::Proceeding);
    assert_eq!(m.timers().next_deadline(), None, "no A, no B in Proceeding");
    assert_eq!(
        m.handle_response(clock.ms(700), 180, None),
        Step::notify(Notify::Deliver)
    );
    assert_eq!(
        m.handle_response(clock.ms(800), 183, None),
        Step::notify(Notify::Deliver)
    );
    assert_eq!(drive(&mut m, clock, clock.ms(1_000_000)), vec![]);
    assert_eq!(m.state(), State::Proceeding);
}

#[test]
fn invite_non_2xx_final_sends_ack_completes_and_absorbs_retransmissions() {
    let clock = Clock::new();
    let mut m = udp_invite(clock);
    assert!(!m.wants_ack(180));
    assert!(!m.wants_ack(200));
    assert!(m.wants_ack(486));
    let step = m.handle_response(clock.ms(100), 486, Some(ACK));
    assert_eq!(
        step,
        Step {
            send: Some(ACK),
            notify: Some(Notify::Deliver)
        }
    );
    assert_eq!(m.state(), State::Completed);
    assert!(!m.wants_ack(486), "the stored ACK is re-used");
    assert_eq!(m.timers().armed().collect::<Vec<_>>(), vec![Timer::D]);
    // A retransmitted final response: same ACK again, the TU sees nothing.
    assert_eq!(m.handle_response(clock.ms(600), 486, None), Step::send(ACK));
    // Stray provisional or 2xx in Completed are dropped.
    assert_eq!(m.handle_response(clock.ms(700), 180, None), Step::default());
    assert_eq!(m.handle_response(clock.ms(700), 200, None), Step::default());
    // Timer D = 32 s after entering Completed.
    assert_eq!(m.handle_timeout(clock.ms(32_099)), Step::default());
    assert_eq!(m.state(), State::Completed);
    assert_eq!(m.handle_timeout(clock.ms(32_100)), Step::default());
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn invite_non_2xx_from_proceeding_also_acks() {
    let clock = Clock::new();
    let mut m = udp_invite(clock);
    let _ = m.handle_response(clock.ms(100), 180, None);
    assert!(m.wants_ack(603));
    let step = m.handle_response(clock.ms(200), 603, Some(ACK));
    assert_eq!(step.send, Some(ACK));
    assert_eq!(m.state(), State::Completed);
}

#[test]
fn invite_non_2xx_on_reliable_transport_terminates_at_once_after_ack() {
    let clock = Clock::new();
    let (mut m, _) = InviteClient::new(clock.t0, TimerConfig::default(), true, REQ);
    let step = m.handle_response(clock.ms(100), 404, Some(ACK));
    assert_eq!(
        step.send,
        Some(ACK),
        "Timer D is zero but the ACK still goes out"
    );
    assert_eq!(step.notify, Some(Notify::Deliver));
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn invite_2xx_moves_to_accepted_and_forwards_retransmissions_until_timer_m() {
    let clock = Clock::new();
    let mut m = udp_invite(clock);
    let _ = m.handle_response(clock.ms(100), 180, None);
    assert_eq!(
        m.handle_response(clock.ms(1_000), 200, None),
        Step::notify(Notify::Deliver)
    );
    assert_eq!(m.state(), State::Accepted);
    assert_eq!(m.timers().armed().collect::<Vec<_>>(), vec![Timer::M]);
    // RFC 6026 §7.2: 2xx retransmissions (and forked 2xx) go to the TU; no ACK
    // from the transaction.
    assert_eq!(
        m.handle_response(clock.ms(1_500), 200, None),
        Step::notify(Notify::Deliver)
    );
    assert_eq!(
        m.handle_response(clock.ms(1_600), 202, None),
        Step::notify(Notify::Deliver)
    );
    // Anything else is dropped.
    assert_eq!(
        m.handle_response(clock.ms(1_700), 180, None),
        Step::default()
    );
    assert_eq!(
        m.handle_response(clock.ms(1_700), 500, Some(ACK)),
        Step::default()
    );
    assert_eq!(m.handle_timeout(clock.ms(32_999)), Step::default());
    assert_eq!(m.state(), State::Accepted);
    assert_eq!(m.handle_timeout(clock.ms(33_000)), Step::default());
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn invite_accepted_on_reliable_transport_still_waits_for_timer_m() {
    let clock = Clock::new();
    let (mut m, _) = InviteClient::new(clock.t0, TimerConfig::default(), true, REQ);
    let _ = m.handle_response(clock.ms(0), 200, None);
    assert_eq!(m.state(), State::Accepted);
    assert_eq!(m.timers().get(Timer::M), Some(clock.ms(32_000)));
}

#[test]
fn invite_transport_error_terminates_and_informs_the_tu() {
    let clock = Clock::new();
    let mut m = udp_invite(clock);
    assert_eq!(
        m.handle_transport_error(),
        Step::notify(Notify::TransportError)
    );
    assert_eq!(m.state(), State::Terminated);
    assert_eq!(m.timers().next_deadline(), None);
    assert_eq!(m.handle_transport_error(), Step::default(), "only once");
    assert_eq!(m.handle_response(clock.ms(1), 200, None), Step::default());
}

#[test]
fn invite_ignores_status_codes_outside_100_to_699() {
    let clock = Clock::new();
    let mut m = udp_invite(clock);
    assert_eq!(m.handle_response(clock.ms(1), 99, None), Step::default());
    assert_eq!(m.handle_response(clock.ms(1), 700, None), Step::default());
    assert_eq!(m.state(), State::Calling);
}

fn udp_non_invite(clock: Clock) -> NonInviteClient {
    let (m, step) = NonInviteClient::new(clock.t0, TimerConfig::default(), false, REQ);
    assert_eq!(step, Step::send(REQ));
    assert_eq!(m.state(), State::Trying);
    m
}

#[test]
fn non_invite_trying_retransmits_doubling_capped_at_t2_until_timer_f() {
    let clock = Clock::new();
    let mut m = udp_non_invite(clock);
    let steps = drive(&mut m, clock, clock.ms(100_000));
    assert_eq!(
        send_times(&steps),
        vec![
            500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
        ]
    );
    assert_eq!(
        steps.last(),
        Some(&(32_000, Step::notify(Notify::Timeout(Timer::F))))
    );
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn non_invite_proceeding_retransmits_every_t2() {
    let clock = Clock::new();
    let mut m = udp_non_invite(clock);
    assert_eq!(m.handle_timeout(clock.ms(500)), Step::send(REQ));
    assert_eq!(
        m.handle_response(clock.ms(600), 100),
        Step::notify(Notify::Deliver)
    );
    assert_eq!(m.state(), State::Proceeding);
    assert_eq!(
        m.handle_response(clock.ms(700), 180),
        Step::notify(Notify::Deliver)
    );
    let steps = drive(&mut m, clock, clock.ms(100_000));
    // The Timer E already armed (1.5 s) fires, then every T2.
    assert_eq!(
        send_times(&steps),
        vec![1_500, 5_500, 9_500, 13_500, 17_500, 21_500, 25_500, 29_500]
    );
    assert_eq!(
        steps.last(),
        Some(&(32_000, Step::notify(Notify::Timeout(Timer::F))))
    );
}

#[test]
fn non_invite_final_completes_absorbs_and_ends_on_timer_k() {
    let clock = Clock::new();
    for status in [200, 404] {
        let mut m = udp_non_invite(clock);
        let _ = m.handle_response(clock.ms(100), 100);
        assert_eq!(
            m.handle_response(clock.ms(200), status),
            Step::notify(Notify::Deliver)
        );
        assert_eq!(m.state(), State::Completed);
        assert_eq!(m.timers().armed().collect::<Vec<_>>(), vec![Timer::K]);
        assert_eq!(m.handle_response(clock.ms(300), status), Step::default());
        assert_eq!(m.handle_response(clock.ms(300), 180), Step::default());
        assert_eq!(drive(&mut m, clock, clock.ms(100_000)), vec![]);
        assert_eq!(m.state(), State::Terminated);
        // Timer K = T4 after entering Completed.
        let mut m = udp_non_invite(clock);
        let _ = m.handle_response(clock.ms(200), status);
        assert_eq!(m.timers().get(Timer::K), Some(clock.ms(5_200)));
    }
}

#[test]
fn non_invite_final_straight_from_trying() {
    let clock = Clock::new();
    let mut m = udp_non_invite(clock);
    assert_eq!(
        m.handle_response(clock.ms(10), 503),
        Step::notify(Notify::Deliver)
    );
    assert_eq!(m.state(), State::Completed);
}

#[test]
fn non_invite_on_reliable_transport_has_no_timer_e_and_no_timer_k() {
    let clock = Clock::new();
    let (mut m, _) = NonInviteClient::new(clock.t0, TimerConfig::default(), true, REQ);
    assert_eq!(m.timers().armed().collect::<Vec<_>>(), vec![Timer::F]);
    assert_eq!(
        m.handle_response(clock.ms(10), 200),
        Step::notify(Notify::Deliver)
    );
    assert_eq!(m.state(), State::Terminated);

    let (mut m, _) = NonInviteClient::new(clock.t0, TimerConfig::default(), true, REQ);
    let steps = drive(&mut m, clock, clock.ms(100_000));
    assert_eq!(
        steps,
        vec![(32_000, Step::notify(Notify::Timeout(Timer::F)))]
    );
}

#[test]
fn non_invite_transport_error_terminates_and_informs_the_tu() {
    let clock = Clock::new();
    let mut m = udp_non_invite(clock);
    let _ = m.handle_response(clock.ms(10), 100);
    assert_eq!(
        m.handle_transport_error(),
        Step::notify(Notify::TransportError)
    );
    assert_eq!(m.state(), State::Terminated);
    assert_eq!(m.handle_timeout(clock.ms(100_000)), Step::default());
}
