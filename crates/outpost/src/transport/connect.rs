//! Outgoing TCP and TLS connections (SIG-1, SIG-4) without ever making the
//! SIP core wait (issue 12): when the core sends to a peer over a stream
//! transport and no connection to it is open, the message is queued for that
//! peer (a bounded queue) and a task of its own connects (TCP, then the TLS
//! handshake, verified against the peer's name); once up, the connection
//! is registered in the connection table, the queue is flushed onto it in
//! order and it is served by the same connection task as accepted ones. A
//! failed connect comes back to the core as a [`ConnectEvent`], so the
//! transactions waiting on it fail at once (503/408 as RFC 3261 says)
//! instead of the core freezing for the connect timeout.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use rustls::pki_types::ServerName;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsConnector;
use tracing::{debug, info, warn};

use super::ingress::Ingress;
use super::stream::{StreamContext, run};
use super::{ConnectionTable, Flow, SendError, TransportKind, TransportLimits};
use crate::config::Side;

/// How long a TCP connect may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Messages held for one peer while its connection is being made: a few
/// transactions' worth; beyond it sends fail (the peer is not answering).
pub const MAX_QUEUED_PER_PEER: usize = 32;

/// Peers being connected at once: bounds the tasks and queues an
/// unreachable network can make us hold.
pub const MAX_CONNECTING_PEERS: usize = 1024;

/// One peer of the connector: a side, a stream transport, an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerKey {
    /// Side of the connection.
    pub side: Side,
    /// TCP or TLS.
    pub transport: TransportKind,
    /// The peer's address.
    pub peer: SocketAddr,
}

impl PeerKey {
    /// The peer a flow names.
    pub fn of(flow: &Flow) -> Self {
        Self {
            side: flow.side,
            transport: flow.transport,
            peer: flow.peer,
        }
    }
}

/// What became of a connection attempt (for the core's waiting
/// transactions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectEvent {
    /// The connection is up and the queued messages were handed to it.
    Connected(PeerKey),
    /// The connection could not be made; queued messages were dropped.
    Failed {
        /// The peer.
        peer: PeerKey,
        /// Why, for logs.
        error: String,
    },
}

/// How a send went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Handed to the socket or the connection's writer.
    Sent,
    /// Waiting for a connection being made; a [`ConnectEvent`] follows.
    Queued,
}

/// Opens outgoing connections for the [`super::Sender`].
#[derive(Clone)]
pub struct Connector {
    inner: Arc<Inner>,
}

struct Inner {
    table: ConnectionTable,
    ingress: Ingress,
    limits: TransportLimits,
    tls: TlsConnector,
    /// Local address to bind per side (its `interface`), if configured.
    bind: [(Side, Option<IpAddr>); 2],
    shutdown: watch::Receiver<bool>,
    /// Messages waiting for a connection being made, per peer. Taken for
    /// a few instructions only, never across an await.
    pending: Mutex<HashMap<PeerKey, Vec<Bytes>>>,
    /// How a TLS peer is checked, by address: the name its certificate
    /// must cover (RFC 5922 §4) and the CA file it is checked with; peers
    /// not listed are checked against their IP address and the default
    /// trust anchors.
    peer_tls: RwLock<HashMap<SocketAddr, PeerTls>>,
    /// Builds the client configuration for a CA file (read in the connect
    /// task, never on the core's).
    ca_loader: Option<CaLoader>,
    /// Connectors built per CA file.
    ca_connectors: Mutex<HashMap<PathBuf, TlsConnector>>,
    events: mpsc::Sender<ConnectEvent>,
}

/// How one TLS peer's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PeerTls {
    name: String,
    ca_file: Option<PathBuf>,
}

/// Makes a TLS client configuration trusting a CA file.
pub type CaLoader =
    Box<dyn Fn(&Path) -> Result<Arc<rustls::ClientConfig>, String> + Send + Sync + 'static>;

impl Connector {
    /// A connector; `tls` is the client configuration (trust anchors) for
    /// TLS peers, `bind` the local address of each side; what becomes of
    /// each connection attempt goes to `events`.
    pub fn new(
        table: ConnectionTable,
        ingress: Ingress,
        limits: TransportLimits,
        tls: Arc<rustls::ClientConfig>,
        bind: [(Side, Option<IpAddr>); 2],
        shutdown: watch::Receiver<bool>,
        events: mpsc::Sender<ConnectEvent>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                table,
                ingress,
                limits,
                tls: TlsConnector::from(tls),
                bind,
                shutdown,
                pending: Mutex::new(HashMap::new()),
                peer_tls: RwLock::new(HashMap::new()),
                ca_loader: None,
                ca_connectors: Mutex::new(HashMap::new()),
                events,
            }),
        }
    }

    /// Lets peers have CA files of their own, loaded with `loader`.
    /// Call before the connector is shared.
    #[must_use]
    pub fn with_ca_loader(mut self, loader: CaLoader) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.ca_loader = Some(loader);
        }
        self
    }

    /// TLS connections to `addr` verify the peer's certificate against
    /// `name` (an ICP's host name) instead of the address.
    pub fn set_server_name(&self, addr: SocketAddr, name: &str) {
        self.set_peer_tls(addr, name, None);
    }

    /// TLS connections to `addr` verify the peer's certificate against
    /// `name`, trusting `ca_file` (when given) besides the default anchors.
    pub fn set_peer_tls(&self, addr: SocketAddr, name: &str, ca_file: Option<&Path>) {
        let tls = PeerTls {
            name: name.to_owned(),
            ca_file: ca_file.map(Path::to_path_buf),
        };
        self.inner
            .peer_tls
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(addr, tls);
    }

    /// Sends `bytes` over the open connection to `flow.peer`, or queues
    /// them while one is made. Never waits: must be called from a tokio
    /// runtime (the connect runs in a task of its own).
    pub fn send_or_queue(&self, flow: &Flow, bytes: Bytes) -> Result<Delivery, SendError> {
        let key = PeerKey::of(flow);
        let mut pending = self.inner.pending();
        if let Some(queue) = pending.get_mut(&key) {
            if queue.len() >= MAX_QUEUED_PER_PEER {
                return Err(SendError::PeerQueueFull(flow.peer));
            }
            queue.push(bytes);
            return Ok(Delivery::Queued);
        }
        // Looked up under the lock: a connect that finishes registers its
        // connection under it too, so no message can overtake the queue.
        if let Some(id) = self
            .inner
            .table
            .find_by_peer(flow.side, flow.transport, flow.peer)
        {
            drop(pending);
            return super::send_on(&self.inner.table, id, bytes).map(|()| Delivery::Sent);
        }
        if pending.len() >= MAX_CONNECTING_PEERS {
            return Err(SendError::TooManyConnects(flow.peer));
        }
        pending.insert(key, vec![bytes]);
        drop(pending);
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move { inner.establish(key).await });
        Ok(Delivery::Queued)
    }

    /// Peers being connected now.
    pub fn connecting(&self) -> usize {
        self.inner.pending().len()
    }
}

impl Inner {
    fn pending(&self) -> MutexGuard<'_, HashMap<PeerKey, Vec<Bytes>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The name to check `peer`'s certificate against and the connector
    /// (trust anchors) to check it with.
    fn peer_tls(&self, peer: SocketAddr) -> Result<(ServerName<'static>, TlsConnector), String> {
        let tls = self
            .peer_tls
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&peer)
            .cloned();
        let name = tls
            .as_ref()
            .and_then(|t| ServerName::try_from(t.name.clone()).ok())
            .unwrap_or_else(|| ServerName::IpAddress(peer.ip().into()));
        let Some(ca_file) = tls.and_then(|t| t.ca_file) else {
            return Ok((name, self.tls.clone()));
        };
        let mut cache = self
            .ca_connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(connector) = cache.get(&ca_file) {
            return Ok((name, connector.clone()));
        }
        let loader = self
            .ca_loader
            .as_ref()
            .ok_or_else(|| format!("no CA loader for {}", ca_file.display()))?;
        let connector = TlsConnector::from(loader(&ca_file)?);
        cache.insert(ca_file, connector.clone());
        Ok((name, connector))
    }

    /// Connects to `key`, then serves the connection until it ends.
    async fn establish(&self, key: PeerKey) {
        let stream = match self.dial(key).await {
            Ok(stream) => stream,
            Err(error) => return self.failed(key, "connect", error),
        };
        if key.transport == TransportKind::Tls {
            let (name, connector) = match self.peer_tls(key.peer) {
                Ok(tls) => tls,
                Err(error) => return self.failed(key, "tls", error),
            };
            let handshake = tokio::time::timeout(
                self.limits.handshake_timeout,
                connector.connect(name.clone(), stream),
            )
            .await;
            match handshake {
                Ok(Ok(tls)) => self.serve(key, tls).await,
                Ok(Err(e)) => {
                    metrics::counter!("outpost_tls_handshake_failures_total", "side" => key.side.as_str()).increment(1);
                    let error = format!(
                        "TLS handshake with {} (certificate checked for {}) failed: {e}; is the ICP's CA file right and does its certificate cover that name?",
                        key.peer,
                        name.to_str()
                    );
                    self.failed(key, "tls", error);
                }
                Err(_) => self.failed(
                    key,
                    "tls",
                    format!(
                        "no TLS handshake from {} within {:?}",
                        key.peer, self.limits.handshake_timeout
                    ),
                ),
            }
        } else {
            self.serve(key, stream).await;
        }
    }

    /// Registers the connection, flushes the peer's queue onto it, tells
    /// the core, and runs it.
    async fn serve<S>(&self, key: PeerKey, stream: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
        S: LocalAddr,
    {
        let local = match stream.local() {
            Ok(local) => local,
            Err(e) => return self.failed(key, "connect", e.to_string()),
        };
        let (outbox, inbox) = mpsc::channel(self.limits.connection_queue);
        let (admission, queued) = {
            let mut pending = self.pending();
            let admission =
                self.table
                    .admit(key.side, key.transport, key.peer, local, outbox.clone());
            let queued = pending.remove(&key).unwrap_or_default();
            (admission, queued)
        };
        let admission = match admission {
            Ok(admission) => admission,
            Err(e) => {
                return self.emit(ConnectEvent::Failed {
                    peer: key,
                    error: e.to_string(),
                });
            }
        };
        for bytes in queued {
            // The queue is far smaller than the connection's writer queue.
            if outbox.try_send(bytes).is_err() {
                debug!(peer = %key.peer, "queued message dropped: connection writer full");
            }
        }
        drop(outbox);
        self.emit(ConnectEvent::Connected(key));
        let connected = Flow {
            side: key.side,
            transport: key.transport,
            local,
            peer: key.peer,
            connection: Some(admission.id()),
        };
        let ctx = StreamContext {
            side: key.side,
            transport: key.transport,
            tls: None,
            table: self.table.clone(),
            ingress: self.ingress.clone(),
            limits: self.limits.clone(),
        };
        info!(side = %key.side, peer = %key.peer, transport = key.transport.as_str(), "outgoing connection");
        let gauge = metrics::gauge!("outpost_connections", "side" => key.side.as_str(), "transport" => key.transport.as_str());
        gauge.increment(1.0);
        run(stream, connected, inbox, &ctx, self.shutdown.clone()).await;
        gauge.decrement(1.0);
        drop(admission);
    }

    fn failed(&self, key: PeerKey, stage: &'static str, error: impl Into<String>) {
        let error = error.into();
        let dropped = self.pending().remove(&key).map_or(0, |q| q.len());
        metrics::counter!("outpost_connect_failures_total", "side" => key.side.as_str(), "stage" => stage).increment(1);
        warn!(side = %key.side, peer = %key.peer, transport = key.transport.as_str(), dropped, %error, "outgoing connection failed");
        self.emit(ConnectEvent::Failed { peer: key, error });
    }

    fn emit(&self, event: ConnectEvent) {
        // A full queue only delays the waiting transactions' failure to
        // their own timers; it never blocks a connect task.
        if let Err(e) = self.events.try_send(event) {
            debug!(error = %e, "connect event not delivered to the core");
        }
    }

    async fn dial(&self, key: PeerKey) -> Result<TcpStream, String> {
        let socket = match key.peer {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .map_err(|e| format!("socket for {}: {e}", key.peer))?;
        let bind = self
            .bind
            .iter()
            .find(|(side, _)| *side == key.side)
            .and_then(|(_, ip)| *ip)
            .filter(|ip| ip.is_ipv4() == key.peer.is_ipv4());
        if let Some(ip) = bind {
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| format!("binding {ip} to reach {}: {e}", key.peer))?;
        }
        match tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(key.peer)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                Ok(stream)
            }
            Ok(Err(e)) => Err(format!("connecting to {}: {e}", key.peer)),
            Err(_) => Err(format!(
                "no TCP connection to {} within {CONNECT_TIMEOUT:?} (is it up, and not filtered?)",
                key.peer
            )),
        }
    }
}

/// The local address of a connected stream, plain or TLS.
trait LocalAddr {
    fn local(&self) -> std::io::Result<SocketAddr>;
}

impl LocalAddr for TcpStream {
    fn local(&self) -> std::io::Result<SocketAddr> {
        self.local_addr()
    }
}

impl LocalAddr for tokio_rustls::client::TlsStream<TcpStream> {
    fn local(&self) -> std::io::Result<SocketAddr> {
        self.get_ref().0.local_addr()
    }
}
