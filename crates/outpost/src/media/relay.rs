//! The media relay driver (MED-1, MED-6): one UDP socket per allocated port,
//! bound on its side's interface and marked with the side's DSCP; one task
//! per socket hands every datagram to the call's sans-IO [`Session`] and
//! sends what it returns from the socket it names. The receive buffer is
//! reused: no allocation per packet.
//!
//! Not yet batched (`recvmmsg`/`sendmmsg`): one syscall per packet.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use outpost_media::{LocalPort, Session, SessionId, stream::Action};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tracing::debug;

/// Largest datagram relayed, plus room for the SRTP tag added on protect.
const BUFFER: usize = 2048;

/// One call's media: the sans-IO session and the sockets of its ports.
pub struct SessionEntry {
    /// The session.
    pub session: Session,
    /// Outpost's sockets by local port.
    pub sockets: HashMap<LocalPort, Arc<UdpSocket>>,
    /// The receive tasks, aborted when the call ends.
    pub tasks: Vec<JoinHandle<()>>,
}

impl Drop for SessionEntry {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Every live session, shared by the relay tasks and the media manager.
#[derive(Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<SessionId, SessionEntry>>>);

impl Sessions {
    /// The table; held for a packet's processing only, never across `.await`.
    pub fn lock(&self) -> MutexGuard<'_, HashMap<SessionId, SessionEntry>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Binds a media socket on `ip:port` with DSCP `dscp` (IP TOS = DSCP << 2).
pub fn bind(ip: IpAddr, port: u16, dscp: u32) -> std::io::Result<UdpSocket> {
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
    UdpSocket::from_std(socket.into())
}

/// Receives on `socket` (the session's `port`) until aborted.
pub async fn serve(sessions: Sessions, id: SessionId, port: LocalPort, socket: Arc<UdpSocket>) {
    let mut buf = vec![0u8; BUFFER];
    loop {
        let (len, from) = match socket.recv_from(&mut buf).await {
            Ok(pair) => pair,
            Err(e) => {
                // ICMP errors from earlier sends surface here; keep going.
                debug!(error = %e, "media receive error");
                continue;
            }
        };
        let out = {
            let mut table = sessions.lock();
            let Some(entry) = table.get_mut(&id) else {
                return;
            };
            match entry
                .session
                .handle_packet(Instant::now(), port, from, &mut buf, len)
            {
                Action::Forward(fwd) => entry
                    .sockets
                    .get(&fwd.via)
                    .cloned()
                    .map(|s| (s, fwd.to, fwd.len)),
                Action::Drop(reason) => {
                    tracing::trace!(?reason, ?port, %from, "media packet dropped");
                    None
                }
            }
        };
        if let Some((out_socket, to, len)) = out {
            if let Some(packet) = buf.get(..len) {
                if let Err(e) = out_socket.send_to(packet, to).await {
                    debug!(%to, error = %e, "media send error");
                }
            }
        }
    }
}
