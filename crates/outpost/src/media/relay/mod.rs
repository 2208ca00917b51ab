//! The media relay driver (MED-1, MED-6): one UDP socket per allocated
//! port, bound on its side's interface and marked with the side's DSCP,
//! served by a small fixed set of relay threads that hand every datagram to
//! the call's sans-IO [`Session`] and send what it returns from the socket
//! it names.
//!
//! # Design
//!
//! - **Threads, not tasks.** [`Relay::start`] runs `n` plain OS threads
//!   (default [`default_threads`]: the CPUs, at most 4), each an epoll loop
//!   (`mio`) over its own sockets. One `epoll_wait` returns readiness for
//!   many sockets at once: that, not the per-socket queue depth (at most one
//!   packet per 20 ms at 50 packets/s), is where the batching is.
//! - **Sharded by call.** Every socket of a session lives on the thread
//!   `shard(SessionId)` picks, next to the session itself, in that thread's
//!   table behind a per-thread mutex. The thread takes it once per ready
//!   socket; the media manager takes it only to add, update or remove a
//!   session, to read statistics, to check timeouts and to harvest the
//!   counters for `/metrics` (twice a second, [`Relay::harvest`]), so it is
//!   uncontended on the packet path.
//! - **Batched syscalls.** A ready socket is drained with `recvmmsg` (up to
//!   [`BATCH`] datagrams per call; sockets are edge-triggered and a short
//!   read means drained, so there is no trailing `EAGAIN` read), the
//!   packets are handled in place, and each run of packets leaving by the
//!   same socket goes out with one `sendmmsg`. A socket that still has data
//!   after [`VISIT`] batches is revisited after the others (a flood on one
//!   port cannot starve the rest of the thread's calls).
//! - **No allocation per packet.** Each thread owns [`BATCH`] buffers of
//!   [`BUFFER`] bytes and preallocated `mmsghdr` arrays (`nix`
//!   `MultiHeaders`), reused for every batch; the clock is read once per
//!   batch.
//! - **Closing is synchronous.** [`Relay::remove`] deregisters and closes a
//!   session's sockets under the thread's mutex before it returns, so the
//!   caller may hand the ports out again at once; a readiness event already
//!   fetched for a closed socket is recognised by its token's generation
//!   and ignored.
//! - **Stopping.** Dropping the [`Relay`] sets each thread's stop flag,
//!   wakes its poll (`mio::Waker`) and joins it.
//!
//! `unsafe_code` is forbidden in this crate: epoll goes through `mio`,
//! `recvmmsg` through `nix` (preallocated `MultiHeaders`, one per address
//! family so the kernel never truncates a peer address), `sendmmsg` and
//! `sendto` through `rustix` (nix's `sendmmsg` reports how many datagrams
//! went out only by reading address slots it never initialised).
//!
//! # Measured
//!
//! `scripts/bench/media.sh` at 500 streams: about 8 µs of CPU per packet,
//! against about 10 µs with the previous driver (a tokio task per socket,
//! each packet a task wake-up, a `recv_from`, a second `recv_from` ending
//! in `EAGAIN`, a global session lock and a `send_to`); 15 against 23 µs at
//! 50 streams. At one packet per port per 20 ms, `recvmmsg`/`sendmmsg`
//! rarely carry more than one datagram; what remains is one receive and
//! one send syscall per packet (over 60% of the relay's CPU, `perf`), the
//! readiness events, and the sans-IO step (SRTP included, about 10%).
//!
//! # What it does not do
//!
//! - No queueing on a full send buffer: a datagram the kernel refuses
//!   (`EAGAIN`, unreachable, ...) is dropped and logged at debug, as a
//!   router would.
//! - No GSO/GRO: consecutive packets of a socket go to one peer but rarely
//!   come in bursts worth coalescing at telephony rates.
//! - The timestamp given to [`Session::handle_packet`] is taken once per
//!   `recvmmsg` batch, not per datagram.

mod counts;
mod table;
mod worker;

#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use outpost_media::{LocalPort, Session, SessionId};
use tracing::{debug, warn};

use table::Table;

pub use counts::Counts;

/// Receive room per datagram; larger datagrams are dropped as truncated.
pub const BUFFER: usize = 2048;

/// Datagrams per `recvmmsg`/`sendmmsg` call.
pub const BATCH: usize = 32;

/// Batches read from one socket before the thread turns to the others.
pub const VISIT: usize = 4;

/// Most relay threads [`default_threads`] suggests.
const MAX_DEFAULT_THREADS: usize = 4;

/// The default number of relay threads: one per CPU, at most 4.
#[must_use]
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, MAX_DEFAULT_THREADS)
}

/// Binds a media socket on `ip:port` with DSCP `dscp` (IP TOS = DSCP << 2),
/// non-blocking, ready for [`Relay::add_socket`].
pub fn bind(ip: IpAddr, port: u16, dscp: u32) -> std::io::Result<std::net::UdpSocket> {
    let addr = SocketAddr::new(ip, port);
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if addr.is_ipv4() {
        socket.set_tos_v4(dscp << 2)?;
    } else {
        socket.set_tclass_v6(dscp << 2)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// What a relay thread shares with the manager.
struct Shared {
    table: Mutex<Table>,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One relay thread as the manager sees it.
struct Shard {
    shared: Arc<Shared>,
    /// Registers and deregisters the thread's sockets (epoll_ctl is safe
    /// from any thread).
    registry: mio::Registry,
    waker: mio::Waker,
    thread: Option<JoinHandle<()>>,
}

/// The relay threads and every live session, by call.
pub struct Relay {
    shards: Vec<Shard>,
}

impl Relay {
    /// Starts `threads` relay threads (at least one).
    ///
    /// # Errors
    /// If epoll or a thread cannot be created.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let mut relay = Self {
            shards: Vec::with_capacity(threads.max(1)),
        };
        for i in 0..threads.max(1) {
            let poll = mio::Poll::new()?;
            let registry = poll.registry().try_clone()?;
            let waker = mio::Waker::new(poll.registry(), worker::WAKER)?;
            let shared = Arc::new(Shared {
                table: Mutex::new(Table::default()),
                stop: AtomicBool::new(false),
            });
            let thread = std::thread::Builder::new()
                .name(format!("outpost-relay-{i}"))
                .spawn({
                    let shared = Arc::clone(&shared);
                    move || worker::run(&shared, poll)
                })?;
            relay.shards.push(Shard {
                shared,
                registry,
                waker,
                thread: Some(thread),
            });
        }
        Ok(relay)
    }

    /// How many relay threads run.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.shards.len()
    }

    /// The shard of a call: a multiplicative hash of its id, so that
    /// consecutive ids spread evenly.
    fn shard(&self, id: SessionId) -> &Shard {
        let hash = id.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        let i = usize::try_from(hash).unwrap_or(0) % self.shards.len();
        &self.shards[i]
    }

    /// Adds `session`, replacing (and closing the sockets of) any session
    /// with its id; returns the replaced one.
    pub fn insert(&self, session: Session) -> Option<Session> {
        let shard = self.shard(session.id());
        shard.shared.lock().insert(&shard.registry, session)
    }

    /// Runs `f` on the session `id`, created by `create` if absent.
    pub fn with_session<R>(
        &self,
        id: SessionId,
        create: impl FnOnce() -> Session,
        f: impl FnOnce(&mut Session) -> R,
    ) -> R {
        let shard = self.shard(id);
        let mut table = shard.shared.lock();
        f(table.session_or_insert(id, create))
    }

    /// Runs `f` on the session `id`, if it exists.
    pub fn session<R>(&self, id: SessionId, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
        self.shard(id).shared.lock().session(id).map(f)
    }

    /// Serves `socket` (from [`bind`]) as the session's `at` port, replacing
    /// (and closing) a socket already there.
    ///
    /// # Errors
    /// [`std::io::ErrorKind::NotFound`] if the session does not exist;
    /// registration errors.
    pub fn add_socket(
        &self,
        id: SessionId,
        at: LocalPort,
        socket: std::net::UdpSocket,
    ) -> std::io::Result<()> {
        let shard = self.shard(id);
        shard
            .shared
            .lock()
            .add_socket(&shard.registry, id, at, socket)
    }

    /// Removes a session: its sockets are deregistered and closed before
    /// this returns (their ports may be bound again at once).
    pub fn remove(&self, id: SessionId) -> Option<Session> {
        let shard = self.shard(id);
        shard.shared.lock().remove(&shard.registry, id)
    }

    /// Runs `f` on every session, one thread's table at a time.
    pub fn for_each_session(&self, mut f: impl FnMut(&mut Session)) {
        for shard in &self.shards {
            shard.shared.lock().for_each_session(&mut f);
        }
    }

    /// What the sessions counted since the previous call, those removed
    /// since included (each session's figures are read under its thread's
    /// lock, once per call: the packet path pays nothing).
    pub fn harvest(&self) -> Counts {
        let mut total = Counts::default();
        for shard in &self.shards {
            total += shard.shared.lock().harvest();
        }
        total
    }

    /// Sockets open (port accounting).
    #[must_use]
    pub fn sockets(&self) -> usize {
        self.shards.iter().map(|s| s.shared.lock().sockets()).sum()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        for shard in &self.shards {
            shard.shared.stop.store(true, Ordering::Release);
            if let Err(e) = shard.waker.wake() {
                warn!(error = %e, "cannot wake a relay thread to stop it");
            }
        }
        for shard in &mut self.shards {
            if let Some(thread) = shard.thread.take() {
                if thread.join().is_err() {
                    warn!("a relay thread panicked");
                }
            }
        }
        // The sockets close with the tables, after their threads are gone.
        debug!(threads = self.shards.len(), "media relay threads stopped");
    }
}
