//! Server transaction state machines: INVITE (RFC 3261 §17.2.1 with the
//! RFC 6026 §7.1 Accepted state) and non-INVITE (RFC 3261 §17.2.2).
//!
//! Like the client machines they are driven by status codes and abstract
//! events; the layer does the matching and the message handling.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::state::{Class, Notify, Refusal, State, Step};
use crate::timer::{Timer, TimerConfig, TimerTable};

/// RFC 3261 §17.2.1 figure 7, as amended by RFC 6026 §7.1 figure 3.
///
/// 2xx retransmission is not done here: RFC 6026 §7.1 leaves it to the TU
/// (the UAS core, RFC 3261 §13.3.1.4), which sends each retransmission
/// through [`send_response`](Self::send_response) while in Accepted.
#[derive(Debug)]
pub(crate) struct InviteServer {
    state: State,
    timers: TimerTable,
    config: TimerConfig,
    reliable: bool,
    /// The last provisional or non-2xx final response, re-sent when the
    /// INVITE is retransmitted and on Timer G.
    last_response: Option<Bytes>,
    /// The interval Timer G was last armed with.
    g_interval: Duration,
}

impl InviteServer {
    /// A new INVITE arrived: Proceeding (RFC 3261 §17.2.1). The layer passes
    /// the request up and may send a 100 (Trying) through
    /// [`send_response`](Self::send_response).
    pub(crate) fn new(config: TimerConfig, reliable: bool) -> Self {
        Self {
            state: State::Proceeding,
            timers: TimerTable::default(),
            config,
            reliable,
            last_response: None,
            g_interval: config.t1,
        }
    }

    pub(crate) fn state(&self) -> State {
        self.state
    }

    pub(crate) fn timers(&self) -> &TimerTable {
        &self.timers
    }

    /// A retransmission of the INVITE matched this transaction.
    pub(crate) fn handle_retransmission(&mut self) -> Step {
        match self.state {
            // §17.2.1: re-send the most recent provisional or final response.
            State::Proceeding | State::Completed => Step {
                send: self.last_response.clone(),
                notify: None,
            },
            // RFC 6026 §7.1: absorbed in Accepted; nothing to re-send in
            // Confirmed.
            _ => Step::default(),
        }
    }

    /// An ACK matched this transaction.
    pub(crate) fn handle_ack(&mut self, now: Instant) -> Step {
        match self.state {
            State::Completed => {
                self.state = State::Confirmed;
                // Confirmed re-sends nothing (§17.2.1).
                self.last_response = None;
                self.timers.clear();
                if self.reliable {
                    self.state = State::Terminated;
                } else {
                    self.timers.set(Timer::I, now + self.config.t4);
                }
                Step::notify(Notify::AckAbsorbed)
            }
            // RFC 6026 §7.1: the ACK for a 2xx belongs to the TU.
            State::Accepted => Step::notify(Notify::Deliver),
            // Confirmed absorbs ACK retransmissions; an ACK before any final
            // response is meaningless.
            _ => Step::default(),
        }
    }

    /// The TU sends a response with `status`.
    pub(crate) fn send_response(
        &mut self,
        now: Instant,
        status: u16,
        response: Bytes,
    ) -> Result<Step, Refusal> {
        let refuse = Refusal {
            state: self.state,
            status,
        };
        let class = Class::of(status).ok_or(refuse)?;
        match (self.state, class) {
            (State::Proceeding, Class::Provisional) => {
                self.last_response = Some(response.clone());
                Ok(Step::send(response))
            }
            (State::Proceeding, Class::Success) => {
                self.state = State::Accepted;
                self.last_response = None;
                self.timers.set(Timer::L, now + self.config.timeout());
                Ok(Step::send(response))
            }
            // RFC 6026 §7.1: the TU retransmits its 2xx (and may send 2xx
            // with other To tags) through the transaction while Accepted.
            (State::Accepted, Class::Success) => Ok(Step::send(response)),
            (State::Proceeding, Class::Failure) => {
                self.state = State::Completed;
                self.last_response = Some(response.clone());
                if !self.reliable {
                    self.g_interval = self.config.t1;
                    self.timers.set(Timer::G, now + self.g_interval);
                }
                self.timers.set(Timer::H, now + self.config.timeout());
                Ok(Step::send(response))
            }
            _ => Err(refuse),
        }
    }

    /// Fires every timer due at `now`; a spurious call is a no-op.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Step {
        let mut step = Step::default();
        while self.state != State::Terminated {
            let Some(timer) = self.timers.pop_expired(now) else {
                break;
            };
            step.merge(self.fire(now, timer));
        }
        step
    }

    fn fire(&mut self, now: Instant, timer: Timer) -> Step {
        match (self.state, timer) {
            (State::Completed, Timer::G) => {
                self.g_interval = self.g_interval.saturating_mul(2).min(self.config.t2);
                self.timers.set(Timer::G, now + self.g_interval);
                Step {
                    send: self.last_response.clone(),
                    notify: None,
                }
            }
            (State::Completed, Timer::H) => {
                // §17.2.1: the ACK never came; the TU is told of the failure.
                self.terminate();
                Step::notify(Notify::Timeout(Timer::H))
            }
            (State::Confirmed, Timer::I) | (State::Accepted, Timer::L) => {
                self.terminate();
                Step::default()
            }
            _ => Step::default(),
        }
    }

    /// The driver failed to send for this transaction (RFC 3261 §17.2.4).
    pub(crate) fn handle_transport_error(&mut self) -> Step {
        if self.state == State::Terminated {
            return Step::default();
        }
        self.terminate();
        Step::notify(Notify::TransportError)
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timers.clear();
        self.last_response = None;
    }
}

/// RFC 3261 §17.2.2 figure 8.
#[derive(Debug)]
pub(crate) struct NonInviteServer {
    state: State,
    timers: TimerTable,
    config: TimerConfig,
    reliable: bool,
    last_response: Option<Bytes>,
}

impl NonInviteServer {
    /// A new request arrived: Trying (RFC 3261 §17.2.2).
    pub(crate) fn new(config: TimerConfig, reliable: bool) -> Self {
        Self {
            state: State::Trying,
            timers: TimerTable::default(),
            config,
            reliable,
            last_response: None,
        }
    }

    pub(crate) fn state(&self) -> State {
        self.state
    }

    pub(crate) fn timers(&self) -> &TimerTable {
        &self.timers
    }

    /// A retransmission of the request matched this transaction.
    pub(crate) fn handle_retransmission(&mut self) -> Step {
        match self.state {
            // Proceeding and Completed re-send the last response; Trying has
            // none and discards the request.
            State::Proceeding | State::Completed => Step {
                send: self.last_response.clone(),
                notify: None,
            },
            _ => Step::default(),
        }
    }

    /// The TU sends a response with `status`.
    pub(crate) fn send_response(
        &mut self,
        now: Instant,
        status: u16,
        response: Bytes,
    ) -> Result<Step, Refusal> {
        let refuse = Refusal {
            state: self.state,
            status,
        };
        let class = Class::of(status).ok_or(refuse)?;
        match (self.state, class) {
            (State::Trying | State::Proceeding, Class::Provisional) => {
                self.state = State::Proceeding;
                self.last_response = Some(response.clone());
                Ok(Step::send(response))
            }
            (State::Trying | State::Proceeding, Class::Success | Class::Failure) => {
                self.state = State::Completed;
                self.last_response = Some(response.clone());
                if self.reliable {
                    self.terminate();
                } else {
                    self.timers.set(Timer::J, now + self.config.timeout());
                }
                Ok(Step::send(response))
            }
            _ => Err(refuse),
        }
    }

    /// Fires every timer due at `now`; a spurious call is a no-op.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Step {
        if self.state == State::Completed && self.timers.pop_expired(now) == Some(Timer::J) {
            self.terminate();
        }
        Step::default()
    }

    /// The driver failed to send for this transaction (RFC 3261 §17.2.4).
    pub(crate) fn handle_transport_error(&mut self) -> Step {
        if self.state == State::Terminated {
            return Step::default();
        }
        self.terminate();
        Step::notify(Notify::TransportError)
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timers.clear();
        self.last_response = None;
    }
}

#[cfg(test)]
mod tests;
