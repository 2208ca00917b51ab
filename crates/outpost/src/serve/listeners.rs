//! SIP listeners per side (SIG-1): TLS on the side's TLS port, UDP and TCP on
//! the plain SIP port when the side's protocols include them.
//!
//! This is the transport skeleton: sockets are bound, TLS handshakes are
//! completed (TLS 1.2/1.3 only) and connection counts are bounded. Bytes read
//! are not yet handed to a SIP stack — the SIP core (transactions, framing,
//! OPTIONS) plugs in here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::telemetry::listener_state;

/// Longest time a peer may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection that sends nothing for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Upper bound on simultaneous stream connections per listener.
const MAX_CONNECTIONS: usize = 10_000;

/// Which transport a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// SIP over TLS.
    Tls,
    /// SIP over TCP.
    Tcp,
    /// SIP over UDP.
    Udp,
}

impl Transport {
    /// Lower-case name as used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls => "tls",
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// A bound socket waiting to be served.
pub enum Bound {
    /// TLS or TCP listener.
    Stream(TcpListener, Option<TlsAcceptor>),
    /// UDP socket.
    Datagram(UdpSocket),
}

/// A bound SIP listener.
pub struct Listener {
    /// "public" or "private".
    pub side: &'static str,
    /// Transport served.
    pub transport: Transport,
    /// Actual local address.
    pub local: SocketAddr,
    /// The socket.
    pub bound: Bound,
}

/// Why a listener could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("{side} SIP {transport} listener on {addr}: {source}{hint}")]
pub struct BindError {
    /// Side of the listener.
    pub side: &'static str,
    /// Transport name.
    pub transport: &'static str,
    /// Address asked for.
    pub addr: SocketAddr,
    /// The OS error.
    pub source: std::io::Error,
    /// What to do about it.
    pub hint: &'static str,
}

fn hint(err: &std::io::Error) -> &'static str {
    match err.kind() {
        std::io::ErrorKind::AddrInUse => {
            " (another program uses this port: stop it or change the port in the configuration)"
        }
        std::io::ErrorKind::AddrNotAvailable => {
            " (this address is not on any local interface: fix the side's `interface`)"
        }
        std::io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        }
        _ => "",
    }
}

/// Binds one listener.
pub async fn bind(
    side: &'static str,
    transport: Transport,
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
) -> Result<Listener, BindError> {
    let err = |source: std::io::Error| BindError {
        side,
        transport: transport.as_str(),
        addr,
        hint: hint(&source),
        source,
    };
    let (bound, local) = match transport {
        Transport::Udp => {
            let socket = UdpSocket::bind(addr).await.map_err(err)?;
            let local = socket.local_addr().map_err(err)?;
            (Bound::Datagram(socket), local)
        }
        Transport::Tcp | Transport::Tls => {
            let listener = TcpListener::bind(addr).await.map_err(err)?;
            let local = listener.local_addr().map_err(err)?;
            (Bound::Stream(listener, tls), local)
        }
    };
    Ok(Listener {
        side,
        transport,
        local,
        bound,
    })
}

impl Listener {
    /// Serves until `shutdown` turns true.
    pub async fn serve(self, mut shutdown: watch::Receiver<bool>) {
        let address = self.local.to_string();
        listener_state(self.side, self.transport.as_str(), &address, true);
        info!(side = self.side, transport = self.transport.as_str(), %address, "SIP listener up");
        match self.bound {
            Bound::Datagram(socket) => serve_datagrams(socket, &mut shutdown).await,
            Bound::Stream(listener, tls) => {
                serve_streams(listener, tls, self.side, &mut shutdown).await;
            }
        }
        listener_state(self.side, self.transport.as_str(), &address, false);
        info!(side = self.side, transport = self.transport.as_str(), %address, "SIP listener stopped");
    }
}

async fn serve_datagrams(socket: UdpSocket, shutdown: &mut watch::Receiver<bool>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            received = socket.recv_from(&mut buf) => match received {
                Ok((len, peer)) => debug!(%peer, len, "UDP datagram received (no SIP stack yet)"),
                Err(e) => warn!(error = %e, "UDP receive failed"),
            },
        }
    }
}

async fn serve_streams(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    side: &'static str,
    shutdown: &mut watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        warn!(side, error = %e, "accept failed");
                        continue;
                    }
                };
                let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                    warn!(side, %peer, limit = MAX_CONNECTIONS, "connection refused: listener at its connection limit");
                    continue;
                };
                let tls = tls.clone();
                let stop = shutdown.clone();
                connections.spawn(async move {
                    serve_connection(stream, peer, tls, side, stop).await;
                    drop(permit);
                });
            }
        }
    }
    connections.abort_all();
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    side: &'static str,
    shutdown: watch::Receiver<bool>,
) {
    match tls {
        None => drain(stream, peer, shutdown).await,
        Some(acceptor) => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls_stream)) => {
                    let (_, session) = tls_stream.get_ref();
                    debug!(
                        side,
                        %peer,
                        version = ?session.protocol_version(),
                        "TLS handshake complete"
                    );
                    drain(tls_stream, peer, shutdown).await;
                }
                Ok(Err(e)) => debug!(side, %peer, error = %e, "TLS handshake failed"),
                Err(_) => debug!(side, %peer, "TLS handshake timed out"),
            }
        }
    }
}

/// Reads and discards until the peer closes, goes idle, or the service stops.
async fn drain<S: tokio::io::AsyncRead + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            read = tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut buf)) => match read {
                Ok(Ok(0)) | Err(_) => return,
                Ok(Ok(len)) => debug!(%peer, len, "stream bytes received (no SIP stack yet)"),
                Ok(Err(e)) => {
                    debug!(%peer, error = %e, "stream read failed");
                    return;
                }
            },
        }
    }
}
