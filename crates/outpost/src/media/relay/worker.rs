//! A relay thread: an epoll loop over its sockets; each ready socket is
//! drained with `recvmmsg` into the thread's buffers, every datagram goes
//! through its session, and each run of forwards leaving by one socket is
//! sent with one `sendmmsg` (`sendto` for a run of one).

use std::io::{IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrIn, SockaddrIn6, SockaddrLike, recvmmsg};
use outpost_media::srtp::MAX_OVERHEAD;
use outpost_media::stream::Action;
use outpost_media::{LocalPort, SessionId};
use rustix::net::addr::SocketAddrArg;
use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny};
use tracing::{debug, error, trace, warn};

use super::table::Table;
use super::{BATCH, BUFFER, Shared, VISIT};

/// The poll token of the thread's waker (no socket's token reaches it).
pub(super) const WAKER: Token = Token(usize::MAX);

/// Readiness events fetched per `epoll_wait`.
const EVENTS: usize = 1024;

/// A poll timeout, so that a lost wake-up cannot keep a thread from
/// seeing its stop flag for long.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// A buffer: the receive room plus what SRTP protect may add in place.
const SLOT: usize = BUFFER + MAX_OVERHEAD;

/// One datagram of a `recvmmsg` batch.
#[derive(Clone, Copy, Default)]
struct Received {
    len: usize,
    from: Option<SocketAddr>,
    truncated: bool,
}

/// A packet to send: `len` bytes of buffer `buf`, to `to`, by socket `via`.
#[derive(Clone, Copy)]
struct Out {
    buf: usize,
    len: usize,
    to: SocketAddr,
    via: Token,
}

/// The thread's preallocated receive and send state: nothing here grows
/// after start.
struct Io {
    bufs: Box<[[u8; SLOT]; BATCH]>,
    got: [Received; BATCH],
    outs: Vec<Out>,
    recv4: MultiHeaders<SockaddrIn>,
    recv6: MultiHeaders<SockaddrIn6>,
}

/// Runs a relay thread until its stop flag is set.
pub(super) fn run(shared: &Shared, mut poll: Poll) {
    let mut events = Events::with_capacity(EVENTS);
    let mut io = Io::new();
    // Sockets left with data after a visit, served again after the others.
    let mut pending: Vec<Token> = Vec::with_capacity(EVENTS);
    let mut revisit: Vec<Token> = Vec::with_capacity(EVENTS);
    while !shared.stop.load(Ordering::Acquire) {
        let timeout = if pending.is_empty() {
            IDLE_POLL
        } else {
            Duration::ZERO
        };
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                warn!(error = %e, "media relay poll failed");
                std::thread::sleep(Duration::from_millis(10));
            }
            continue;
        }
        std::mem::swap(&mut pending, &mut revisit);
        for token in revisit
            .drain(..)
            .chain(events.iter().map(mio::event::Event::token))
        {
            if token == WAKER {
                continue;
            }
            let mut table = shared.lock();
            // A panic stays with the packet that caused it, as it stayed
            // with one socket's task before: the thread goes on.
            let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                io.serve(&mut table, token)
            }));
            match served {
                Ok(true) => pending.push(token),
                Ok(false) => {}
                Err(_) => error!("media relay: a packet's handling panicked; going on"),
            }
        }
    }
}

impl Io {
    fn new() -> Self {
        Self {
            bufs: Box::new([[0; SLOT]; BATCH]),
            got: [Received::default(); BATCH],
            outs: Vec::with_capacity(BATCH),
            recv4: MultiHeaders::preallocate(BATCH, None),
            recv6: MultiHeaders::preallocate(BATCH, None),
        }
    }

    /// Relays what waits on the socket behind `token`, up to [`VISIT`]
    /// batches; returns whether it may hold more.
    fn serve(&mut self, table: &mut Table, token: Token) -> bool {
        let Some(bound) = table.bound(token) else {
            // Closed since the event was fetched.
            return false;
        };
        let (fd, v6, id, at) = (bound.fd, bound.v6, bound.session, bound.at);
        for _ in 0..VISIT {
            let received = if v6 {
                recv_batch(fd, &mut self.recv6, &mut self.bufs, &mut self.got)
            } else {
                recv_batch(fd, &mut self.recv4, &mut self.bufs, &mut self.got)
            };
            let n = match received {
                Ok(n) => n,
                Err(Errno::EAGAIN) => return false,
                Err(e) => {
                    // A pending socket error (e.g. ICMP) is reported once;
                    // datagrams may still be queued behind it.
                    debug!(error = %e, "media receive error");
                    continue;
                }
            };
            self.relay(table, id, at, n);
            self.send(table);
            // Edge-triggered: a short batch means the queue was empty.
            if n < BATCH {
                return false;
            }
        }
        true
    }

    /// Hands the batch's `n` datagrams, received at `at`, to the session;
    /// queues the forwards in `outs`.
    fn relay(&mut self, table: &mut Table, id: SessionId, at: LocalPort, n: usize) {
        self.outs.clear();
        let Some(entry) = table.sessions.get_mut(&id) else {
            return;
        };
        let now = Instant::now();
        for (i, (got, buf)) in self.got[..n].iter().zip(self.bufs.iter_mut()).enumerate() {
            let Some(from) = got.from else {
                continue;
            };
            if got.truncated {
                trace!(port = ?at, %from, "media datagram dropped: larger than {BUFFER} bytes");
                continue;
            }
            match entry.session.handle_packet(now, at, from, buf, got.len) {
                Action::Forward(fwd) => match entry.token(fwd.via) {
                    Some(via) => self.outs.push(Out {
                        buf: i,
                        len: fwd.len,
                        to: fwd.to,
                        via,
                    }),
                    None => trace!(via = ?fwd.via, "media packet dropped: no socket for its port"),
                },
                Action::Drop(reason) => {
                    trace!(?reason, port = ?at, %from, "media packet dropped");
                }
            }
        }
    }

    /// Sends `outs`, one call per run of packets leaving by one socket.
    fn send(&self, table: &Table) {
        let mut start = 0;
        while let Some(first) = self.outs.get(start) {
            let run = self.outs[start..]
                .iter()
                .take_while(|o| o.via == first.via)
                .count();
            if let Some(bound) = table.bound(first.via) {
                send_run(
                    bound.socket(),
                    bound.v6,
                    &self.bufs,
                    &self.outs[start..start + run],
                );
            }
            start += run;
        }
    }
}

/// A received address in the standard library's form.
trait Peer: SockaddrLike + Copy {
    fn std(self) -> SocketAddr;
}

impl Peer for SockaddrIn {
    fn std(self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::from(self))
    }
}

impl Peer for SockaddrIn6 {
    fn std(self) -> SocketAddr {
        SocketAddr::V6(SocketAddrV6::from(self))
    }
}

/// One `recvmmsg` into `bufs`; fills `got` and returns the count.
fn recv_batch<S: Peer>(
    fd: RawFd,
    headers: &mut MultiHeaders<S>,
    bufs: &mut [[u8; SLOT]; BATCH],
    got: &mut [Received; BATCH],
) -> nix::Result<usize> {
    let mut iovs = bufs.each_mut().map(|b| [IoSliceMut::new(&mut b[..BUFFER])]);
    let results = recvmmsg(fd, headers, iovs.iter_mut(), MsgFlags::MSG_DONTWAIT, None)?;
    let mut n = 0;
    for (msg, slot) in results.zip(got.iter_mut()) {
        *slot = Received {
            len: msg.bytes,
            from: msg.address.map(Peer::std),
            truncated: msg.flags.contains(MsgFlags::MSG_TRUNC),
        };
        n += 1;
    }
    Ok(n)
}

/// `to` in the family of the sending socket: IPv4-mapped on an IPv6
/// socket; `None` for an IPv6 peer on an IPv4 socket.
fn for_socket(to: SocketAddr, v6: bool) -> Option<SocketAddr> {
    match (to, v6) {
        (SocketAddr::V4(a), true) => Some(SocketAddr::V6(SocketAddrV6::new(
            a.ip().to_ipv6_mapped(),
            a.port(),
            0,
            0,
        ))),
        (SocketAddr::V6(a), false) => a
            .ip()
            .to_ipv4_mapped()
            .map(|ip| SocketAddr::V4(SocketAddrV4::new(ip, a.port()))),
        (to, _) => Some(to),
    }
}

/// Sends packets that all leave by `socket`: `sendto` for one, `sendmmsg`
/// for more. A datagram the kernel refuses is dropped (logged at debug).
fn send_run(socket: &mio::net::UdpSocket, v6: bool, bufs: &[[u8; SLOT]; BATCH], run: &[Out]) {
    if let [one] = run {
        let Some(to) = for_socket(one.to, v6) else {
            debug!(to = %one.to, "media send skipped: address family");
            return;
        };
        if let Err(e) =
            rustix::net::sendto(socket, &bufs[one.buf][..one.len], SendFlags::DONTWAIT, &to)
        {
            debug!(%to, error = %e, "media send error");
        }
        return;
    }
    let mut addrs: [Option<SocketAddrAny>; BATCH] = [const { None }; BATCH];
    let mut iovs: [[IoSlice<'_>; 1]; BATCH] = [[IoSlice::new(&[])]; BATCH];
    let mut k = 0;
    for out in run {
        match for_socket(out.to, v6) {
            Some(to) => {
                addrs[k] = Some(to.as_any());
                iovs[k] = [IoSlice::new(&bufs[out.buf][..out.len])];
                k += 1;
            }
            None => debug!(to = %out.to, "media send skipped: address family"),
        }
    }
    let mut controls: [SendAncillaryBuffer<'_, '_, '_>; BATCH] = Default::default();
    let mut parts = controls.each_mut().into_iter().zip(addrs.iter().zip(&iovs));
    let mut msgs: [MMsgHdr<'_>; BATCH] = std::array::from_fn(|_| {
        let (control, (addr, iov)) = parts
            .next()
            .expect("from_fn takes exactly BATCH elements, one per part");
        match addr {
            Some(addr) => MMsgHdr::new_with_addr(addr, iov, control),
            None => MMsgHdr::new(iov, control),
        }
    });
    let mut start = 0;
    while start < k {
        match rustix::net::sendmmsg(socket, &mut msgs[start..k], SendFlags::DONTWAIT) {
            // Stopped before message `start + sent`: it failed; retrying
            // reports why.
            Ok(sent) if sent > 0 => start += sent,
            Ok(_) => start += 1,
            Err(e) => {
                debug!(error = %e, "media send error");
                start += 1;
            }
        }
    }
}
