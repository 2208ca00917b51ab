//! One relay thread's sessions and sockets. The sockets sit in a slab whose
//! index and generation make up their poll token, so a readiness event
//! fetched before a socket was closed never reaches the socket that reuses
//! its slot.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, RawFd};

use mio::{Interest, Registry, Token};
use outpost_media::{LocalPort, Session, SessionId};
use tracing::debug;

use super::counts::Counts;

/// A served socket.
pub(super) struct Bound {
    socket: mio::net::UdpSocket,
    /// Its descriptor (the socket's own, kept to avoid a call per use).
    pub(super) fd: RawFd,
    /// Bound to an IPv6 address (decides the `sockaddr` family).
    pub(super) v6: bool,
    /// The session it belongs to and which of its ports it is.
    pub(super) session: SessionId,
    pub(super) at: LocalPort,
}

impl Bound {
    pub(super) const fn socket(&self) -> &mio::net::UdpSocket {
        &self.socket
    }
}

#[derive(Default)]
struct Slot {
    generation: u32,
    bound: Option<Bound>,
}

/// A session and the tokens of its sockets (a handful: linear search).
pub(super) struct Entry {
    pub(super) session: Session,
    pub(super) sockets: Vec<(LocalPort, Token)>,
    /// The session's counters as of the last [`Table::harvest`].
    reported: Counts,
}

impl Entry {
    fn new(session: Session) -> Self {
        Self {
            session,
            sockets: Vec::new(),
            reported: Counts::default(),
        }
    }
}

impl Entry {
    /// The token of the session's socket `at`.
    pub(super) fn token(&self, at: LocalPort) -> Option<Token> {
        self.sockets.iter().find(|(p, _)| *p == at).map(|(_, t)| *t)
    }
}

/// A relay thread's sessions and sockets.
#[derive(Default)]
pub(super) struct Table {
    pub(super) sessions: HashMap<SessionId, Entry>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    open: usize,
    /// What removed sessions counted after their last harvest.
    ended: Counts,
}

/// Slot index in the token's low 32 bits, generation above (the waker's
/// token, `usize::MAX`, has a generation no slot reaches).
fn token(index: usize, generation: u32) -> Token {
    Token((usize::try_from(generation).unwrap_or(0) << 32) | index)
}

fn split(token: Token) -> (usize, u32) {
    (
        token.0 & 0xFFFF_FFFF,
        u32::try_from(token.0 >> 32).unwrap_or(u32::MAX),
    )
}

impl Table {
    /// The live socket behind `token`, if any.
    pub(super) fn bound(&self, token: Token) -> Option<&Bound> {
        let (index, generation) = split(token);
        let slot = self.slots.get(index)?;
        if slot.generation != generation {
            return None;
        }
        slot.bound.as_ref()
    }

    /// Open sockets.
    pub(super) const fn sockets(&self) -> usize {
        self.open
    }

    pub(super) fn session(&mut self, id: SessionId) -> Option<&mut Session> {
        self.sessions.get_mut(&id).map(|e| &mut e.session)
    }

    pub(super) fn session_or_insert(
        &mut self,
        id: SessionId,
        create: impl FnOnce() -> Session,
    ) -> &mut Session {
        &mut self
            .sessions
            .entry(id)
            .or_insert_with(|| Entry::new(create()))
            .session
    }

    pub(super) fn insert(&mut self, registry: &Registry, session: Session) -> Option<Session> {
        let id = session.id();
        let old = self.remove(registry, id);
        self.sessions.insert(id, Entry::new(session));
        old
    }

    pub(super) fn for_each_session(&mut self, f: &mut impl FnMut(&mut Session)) {
        for entry in self.sessions.values_mut() {
            f(&mut entry.session);
        }
    }

    /// What every session, live or removed since, counted since the last
    /// harvest.
    pub(super) fn harvest(&mut self) -> Counts {
        let mut grown = std::mem::take(&mut self.ended);
        for entry in self.sessions.values_mut() {
            let now = Counts::of(&entry.session);
            grown += now - entry.reported;
            entry.reported = now;
        }
        grown
    }

    pub(super) fn add_socket(
        &mut self,
        registry: &Registry,
        id: SessionId,
        at: LocalPort,
        socket: std::net::UdpSocket,
    ) -> std::io::Result<()> {
        let Some(entry) = self.sessions.get_mut(&id) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such media session",
            ));
        };
        let v6 = socket.local_addr()?.is_ipv6();
        let mut socket = mio::net::UdpSocket::from_std(socket);
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            self.slots.len() - 1
        });
        let generation = self.slots[index].generation;
        let tok = token(index, generation);
        if let Err(e) = registry.register(&mut socket, tok, Interest::READABLE) {
            self.free.push(index);
            return Err(e);
        }
        self.slots[index].bound = Some(Bound {
            fd: socket.as_raw_fd(),
            socket,
            v6,
            session: id,
            at,
        });
        self.open += 1;
        let replaced = entry
            .sockets
            .iter()
            .position(|(p, _)| *p == at)
            .map(|i| entry.sockets.swap_remove(i).1);
        entry.sockets.push((at, tok));
        if let Some(old) = replaced {
            self.close(registry, old);
        }
        Ok(())
    }

    /// Removes a session, deregistering and closing its sockets.
    pub(super) fn remove(&mut self, registry: &Registry, id: SessionId) -> Option<Session> {
        let entry = self.sessions.remove(&id)?;
        self.ended += Counts::of(&entry.session) - entry.reported;
        for (_, tok) in entry.sockets {
            self.close(registry, tok);
        }
        Some(entry.session)
    }

    fn close(&mut self, registry: &Registry, tok: Token) {
        let (index, generation) = split(tok);
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        if slot.generation != generation {
            return;
        }
        if let Some(mut bound) = slot.bound.take() {
            if let Err(e) = registry.deregister(&mut bound.socket) {
                debug!(error = %e, "media socket deregistration failed");
            }
            // Dropping `bound` closes the descriptor (and the port).
            self.open -= 1;
        }
        // Generations wrap after 2^32 reuses of one slot; a stale event
        // that old is long gone.
        slot.generation = slot.generation.wrapping_add(1) & 0x7FFF_FFFF;
        self.free.push(index);
    }
}
