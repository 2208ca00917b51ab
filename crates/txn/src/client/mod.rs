//! Client transaction state machines: INVITE (RFC 3261 §17.1.1 with the
//! RFC 6026 §7.2 Accepted state) and non-INVITE (RFC 3261 §17.1.2).
//!
//! The machines know nothing of SIP syntax: they are driven by status codes,
//! timer expiries and transport errors, and hand back the bytes to send. The
//! layer builds the ACK (RFC 3261 §17.1.1.3) and passes it in.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::state::{Class, Notify, State, Step};
use crate::timer::{Timer, TimerConfig, TimerTable};

/// RFC 3261 §17.1.1 figure 5, as amended by RFC 6026 §7.2 figure 4.
#[derive(Debug)]
pub(crate) struct InviteClient {
    state: State,
    timers: TimerTable,
    config: TimerConfig,
    reliable: bool,
    request: Bytes,
    ack: Option<Bytes>,
    /// The interval Timer A was last armed with; doubles on each firing.
    a_interval: Duration,
}

impl InviteClient {
    /// Starts in Calling and sends the request (RFC 3261 §17.1.1.2).
    pub(crate) fn new(
        now: Instant,
        config: TimerConfig,
        reliable: bool,
        request: Bytes,
    ) -> (Self, Step) {
        let mut timers = TimerTable::default();
        if !reliable {
            timers.set(Timer::A, now + config.t1);
        }
        timers.set(Timer::B, now + config.timeout());
        let step = Step::send(request.clone());
        let machine = Self {
            state: State::Calling,
            timers,
            config,
            reliable,
            request,
            ack: None,
            a_interval: config.t1,
        };
        (machine, step)
    }

    pub(crate) fn state(&self) -> State {
        self.state
    }

    pub(crate) fn timers(&self) -> &TimerTable {
        &self.timers
    }

    /// Whether a response with `status` would make this machine send a new
    /// ACK, so the caller must build one and pass it to
    /// [`handle_response`](Self::handle_response).
    pub(crate) fn wants_ack(&self, status: u16) -> bool {
        Class::of(status) == Some(Class::Failure)
            && matches!(self.state, State::Calling | State::Proceeding)
    }

    /// A response matched this transaction (RFC 3261 §17.1.3).
    ///
    /// `ack` is the ACK for a non-2xx final response; it is used when
    /// [`wants_ack`](Self::wants_ack) said so, and ignored otherwise.
    pub(crate) fn handle_response(
        &mut self,
        now: Instant,
        status: u16,
        ack: Option<Bytes>,
    ) -> Step {
        let Some(class) = Class::of(status) else {
            return Step::default();
        };
        match (self.state, class) {
            (State::Calling | State::Proceeding, Class::Provisional) => {
                // §17.1.1.2: no more retransmissions; Timer B belongs to Calling.
                self.state = State::Proceeding;
                self.timers.stop(Timer::A);
                self.timers.stop(Timer::B);
                Step::notify(Notify::Deliver)
            }
            (State::Calling | State::Proceeding, Class::Success) => {
                // RFC 6026 §7.2: Accepted, not Terminated, so that 2xx
                // retransmissions and forked 2xx still reach the TU.
                self.state = State::Accepted;
                self.request = Bytes::new();
                self.timers.clear();
                self.timers.set(Timer::M, now + self.config.timeout());
                Step::notify(Notify::Deliver)
            }
            (State::Calling | State::Proceeding, Class::Failure) => {
                self.ack = ack;
                self.state = State::Completed;
                self.request = Bytes::new();
                self.timers.clear();
                if self.reliable {
                    self.state = State::Terminated;
                } else {
                    self.timers.set(Timer::D, now + self.config.d);
                }
                Step {
                    send: self.ack.clone(),
                    notify: Some(Notify::Deliver),
                }
            }
            // RFC 6026 §7.2: every 2xx in Accepted goes up; the TU ACKs it.
            (State::Accepted, Class::Success) => Step::notify(Notify::Deliver),
            // §17.1.1.2: a retransmitted final response is answered with the
            // same ACK and not passed up.
            (State::Completed, Class::Failure) => Step {
                send: self.ack.clone(),
                notify: None,
            },
            _ => Step::default(),
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
            (State::Calling, Timer::A) => {
                // §17.1.1.2: doubling with no cap (unlike Timer E and G).
                self.a_interval = self.a_interval.saturating_mul(2);
                self.timers.set(Timer::A, now + self.a_interval);
                Step::send(self.request.clone())
            }
            (State::Calling, Timer::B) => {
                self.terminate();
                Step::notify(Notify::Timeout(Timer::B))
            }
            (State::Completed, Timer::D) | (State::Accepted, Timer::M) => {
                self.terminate();
                Step::default()
            }
            _ => Step::default(),
        }
    }

    /// The driver failed to send for this transaction (RFC 3261 §17.1.4).
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
    }
}

/// RFC 3261 §17.1.2 figure 6.
#[derive(Debug)]
pub(crate) struct NonInviteClient {
    state: State,
    timers: TimerTable,
    config: TimerConfig,
    reliable: bool,
    request: Bytes,
    /// The interval Timer E was last armed with.
    e_interval: Duration,
}

impl NonInviteClient {
    /// Starts in Trying and sends the request (RFC 3261 §17.1.2.2).
    pub(crate) fn new(
        now: Instant,
        config: TimerConfig,
        reliable: bool,
        request: Bytes,
    ) -> (Self, Step) {
        let mut timers = TimerTable::default();
        if !reliable {
            timers.set(Timer::E, now + config.t1);
        }
        timers.set(Timer::F, now + config.timeout());
        let step = Step::send(request.clone());
        let machine = Self {
            state: State::Trying,
            timers,
            config,
            reliable,
            request,
            e_interval: config.t1,
        };
        (machine, step)
    }

    pub(crate) fn state(&self) -> State {
        self.state
    }

    pub(crate) fn timers(&self) -> &TimerTable {
        &self.timers
    }

    /// A response matched this transaction (RFC 3261 §17.1.3).
    pub(crate) fn handle_response(&mut self, now: Instant, status: u16) -> Step {
        let Some(class) = Class::of(status) else {
            return Step::default();
        };
        match (self.state, class) {
            (State::Trying | State::Proceeding, Class::Provisional) => {
                // Timer E keeps running; from now on it is reset to T2.
                self.state = State::Proceeding;
                Step::notify(Notify::Deliver)
            }
            (State::Trying | State::Proceeding, Class::Success | Class::Failure) => {
                self.state = State::Completed;
                // Never sent again: Completed only absorbs (§17.1.2.2).
                self.request = Bytes::new();
                self.timers.clear();
                if self.reliable {
                    self.state = State::Terminated;
                } else {
                    self.timers.set(Timer::K, now + self.config.t4);
                }
                Step::notify(Notify::Deliver)
            }
            // Completed absorbs retransmitted responses.
            _ => Step::default(),
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
            (State::Trying, Timer::E) => {
                self.e_interval = self.e_interval.saturating_mul(2).min(self.config.t2);
                self.timers.set(Timer::E, now + self.e_interval);
                Step::send(self.request.clone())
            }
            (State::Proceeding, Timer::E) => {
                self.e_interval = self.config.t2;
                self.timers.set(Timer::E, now + self.e_interval);
                Step::send(self.request.clone())
            }
            (State::Trying | State::Proceeding, Timer::F) => {
                self.terminate();
                Step::notify(Notify::Timeout(Timer::F))
            }
            (State::Completed, Timer::K) => {
                self.terminate();
                Step::default()
            }
            _ => Step::default(),
        }
    }

    /// The driver failed to send for this transaction (RFC 3261 §17.1.4).
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
    }
}

#[cfg(test)]
mod tests;
