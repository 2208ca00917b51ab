//! One enum over the four state machines, for the layer's map.

use std::time::Instant;

use crate::client::{InviteClient, NonInviteClient};
use crate::server::{InviteServer, NonInviteServer};
use crate::state::{State, Step, TransactionKind};
use crate::timer::TimerTable;

#[derive(Debug)]
pub(crate) enum Machine {
    InviteClient(InviteClient),
    NonInviteClient(NonInviteClient),
    InviteServer(InviteServer),
    NonInviteServer(NonInviteServer),
}

impl Machine {
    pub(crate) fn kind(&self) -> TransactionKind {
        match self {
            Self::InviteClient(_) => TransactionKind::InviteClient,
            Self::NonInviteClient(_) => TransactionKind::NonInviteClient,
            Self::InviteServer(_) => TransactionKind::InviteServer,
            Self::NonInviteServer(_) => TransactionKind::NonInviteServer,
        }
    }

    pub(crate) fn state(&self) -> State {
        match self {
            Self::InviteClient(m) => m.state(),
            Self::NonInviteClient(m) => m.state(),
            Self::InviteServer(m) => m.state(),
            Self::NonInviteServer(m) => m.state(),
        }
    }

    pub(crate) fn timers(&self) -> &TimerTable {
        match self {
            Self::InviteClient(m) => m.timers(),
            Self::NonInviteClient(m) => m.timers(),
            Self::InviteServer(m) => m.timers(),
            Self::NonInviteServer(m) => m.timers(),
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers().next_deadline()
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Step {
        match self {
            Self::InviteClient(m) => m.handle_timeout(now),
            Self::NonInviteClient(m) => m.handle_timeout(now),
            Self::InviteServer(m) => m.handle_timeout(now),
            Self::NonInviteServer(m) => m.handle_timeout(now),
        }
    }

    pub(crate) fn handle_transport_error(&mut self) -> Step {
        match self {
            Self::InviteClient(m) => m.handle_transport_error(),
            Self::NonInviteClient(m) => m.handle_transport_error(),
            Self::InviteServer(m) => m.handle_transport_error(),
            Self::NonInviteServer(m) => m.handle_transport_error(),
        }
    }
}
