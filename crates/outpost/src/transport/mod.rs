//! SIP transport drivers (SIG-1, SIG-4, SIG-8, SIG-10): UDP sockets and
//! TCP/TLS listeners per side, stream framing, RFC 5626 keep-alives, the
//! connection table that sends responses back over the phone's own
//! connection, idle timeouts, connection limits and bounded queues.
//!
//! Drivers turn bytes into parsed messages tagged with their [`Flow`] and
//! hand them to the SIP core through a bounded queue; when that queue is
//! full the driver itself answers 503 with Retry-After (see [`ingress`]).
//! They never interpret SIP beyond that.

pub mod connect;
pub mod ingress;
pub mod stream;
pub mod table;
pub mod udp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::UdpSocket;

use crate::config::Side;
pub use connect::{ConnectEvent, Delivery, PeerKey};
pub use table::{AdmitError, ConnectionTable};

/// Transport protocol of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS.
    Tls,
}

impl TransportKind {
    /// Lower-case name, for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }

    /// Upper-case name as in a Via header (`SIP/2.0/TLS`).
    pub fn via_name(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
        }
    }

    /// True for stream transports (no retransmissions, RFC 3261 §17).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Self::Udp)
    }
}

/// Identifies one TCP/TLS connection for as long as it is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub u64);

/// Where a message came from or goes to: enough to send a reply the way
/// the request came (same socket, same connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Side of the socket.
    pub side: Side,
    /// Transport.
    pub transport: TransportKind,
    /// Our address.
    pub local: SocketAddr,
    /// The peer's address as seen on the socket (after any NAT).
    pub peer: SocketAddr,
    /// The connection, for stream transports.
    pub connection: Option<FlowId>,
}

impl outpost_b2bua::Destination for Flow {
    fn side(&self) -> outpost_b2bua::Side {
        match self.side {
            Side::Public => outpost_b2bua::Side::Public,
            Side::Private => outpost_b2bua::Side::Private,
        }
    }

    fn transport(&self) -> outpost_b2bua::Transport {
        match self.transport {
            TransportKind::Udp => outpost_b2bua::Transport::Udp,
            TransportKind::Tcp => outpost_b2bua::Transport::Tcp,
            TransportKind::Tls => outpost_b2bua::Transport::Tls,
        }
    }

    fn remote_addr(&self) -> SocketAddr {
        self.peer
    }
}

/// Limits and timers of the transport layer.
#[derive(Debug, Clone)]
pub struct TransportLimits {
    /// Largest message accepted, header section plus body.
    pub max_message_size: usize,
    /// Open TCP/TLS connections in total.
    pub max_connections: usize,
    /// Open TCP/TLS connections from one source address.
    pub max_connections_per_source: usize,
    /// A connection with no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// Time allowed for a TLS handshake.
    pub handshake_timeout: Duration,
    /// Messages queued for writing on one connection.
    pub connection_queue: usize,
    /// Parsed messages queued toward the SIP core.
    pub core_queue: usize,
    /// Seconds in the Retry-After of a 503 sent when saturated.
    pub retry_after_secs: u32,
}

impl Default for TransportLimits {
    fn default() -> Self {
        Self {
            max_message_size: 65_535,
            max_connections: 20_000,
            max_connections_per_source: 256,
            idle_timeout: Duration::from_secs(600),
            handshake_timeout: Duration::from_secs(10),
            connection_queue: 256,
            core_queue: 8_192,
            retry_after_secs: 5,
        }
    }
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closed (the phone went away): the transaction
    /// layer reports a transport error.
    #[error("connection {0:?} is closed")]
    ConnectionClosed(FlowId),
    /// The connection's write queue is full (the peer does not read).
    #[error("connection {0:?} is not reading; message dropped")]
    ConnectionSaturated(FlowId),
    /// No socket bound for that side and local address.
    #[error("no {transport} socket on the {side} side at {local}")]
    NoSocket {
        /// Side.
        side: Side,
        /// Transport.
        transport: &'static str,
        /// Local address asked for.
        local: SocketAddr,
    },
    /// Too many messages wait for the connection being made to this peer
    /// (it does not answer).
    #[error("{0} is being connected and {max} messages already wait for it", max = connect::MAX_QUEUED_PER_PEER)]
    PeerQueueFull(SocketAddr),
    /// Too many peers are being connected at once.
    #[error("cannot connect to {0}: {max} connections are already being made", max = connect::MAX_CONNECTING_PEERS)]
    TooManyConnects(SocketAddr),
    /// The operating system refused the datagram.
    #[error("sending to {peer}: {source}")]
    Io {
        /// Destination.
        peer: SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
}

/// Hands `bytes` to connection `id`'s writer without waiting.
pub(crate) fn send_on(table: &ConnectionTable, id: FlowId, bytes: Bytes) -> Result<(), SendError> {
    let entry = table.get(id).ok_or(SendError::ConnectionClosed(id))?;
    entry.outbox.try_send(bytes).map_err(|e| match e {
        tokio::sync::mpsc::error::TrySendError::Full(_) => SendError::ConnectionSaturated(id),
        tokio::sync::mpsc::error::TrySendError::Closed(_) => SendError::ConnectionClosed(id),
    })
}

/// Sends bytes over flows: the SIP core's only way out.
#[derive(Clone)]
pub struct Sender {
    udp: Arc<HashMap<(Side, SocketAddr), Arc<UdpSocket>>>,
    connections: ConnectionTable,
    connector: Option<connect::Connector>,
}

impl Sender {
    /// A sender over the given UDP sockets and connection table; with a
    /// connector it also opens TCP/TLS connections on demand.
    pub fn new(
        udp: HashMap<(Side, SocketAddr), Arc<UdpSocket>>,
        connections: ConnectionTable,
        connector: Option<connect::Connector>,
    ) -> Self {
        Self {
            udp: Arc::new(udp),
            connections,
            connector,
        }
    }

    /// The connector, when this sender opens connections.
    pub fn connector(&self) -> Option<&connect::Connector> {
        self.connector.as_ref()
    }

    /// The connection table.
    pub fn connections(&self) -> &ConnectionTable {
        &self.connections
    }

    /// Sends `bytes` the way `flow` names, without waiting: over its
    /// connection; over an open connection to `flow.peer` for TCP/TLS
    /// without one, or queued while one is made ([`Delivery::Queued`]:
    /// a [`connect::ConnectEvent`] follows); or from the UDP socket of
    /// `flow.side` to `flow.peer`. A datagram the kernel has no room for is
    /// dropped and counted (`outpost_sip_send_dropped_total`): on UDP
    /// retransmissions recover it, and waiting here would stall the core.
    pub fn send(&self, flow: &Flow, bytes: Bytes) -> Result<Delivery, SendError> {
        match (flow.connection, flow.transport, &self.connector) {
            (Some(id), _, _) => send_on(&self.connections, id, bytes).map(|()| Delivery::Sent),
            (None, TransportKind::Tcp | TransportKind::Tls, Some(connector)) => {
                connector.send_or_queue(flow, bytes)
            }
            (None, TransportKind::Tcp | TransportKind::Tls, None) => Err(SendError::NoSocket {
                side: flow.side,
                transport: flow.transport.as_str(),
                local: flow.local,
            }),
            (None, TransportKind::Udp, _) => {
                let socket = self.udp_socket(flow).ok_or(SendError::NoSocket {
                    side: flow.side,
                    transport: "udp",
                    local: flow.local,
                })?;
                match socket.try_send_to(&bytes, flow.peer) {
                    Ok(_) => Ok(Delivery::Sent),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        metrics::counter!("outpost_sip_send_dropped_total", "side" => flow.side.as_str()).increment(1);
                        Ok(Delivery::Sent)
                    }
                    Err(source) => Err(SendError::Io {
                        peer: flow.peer,
                        source,
                    }),
                }
            }
        }
    }

    /// The UDP socket a datagram on `flow` leaves from: the one at
    /// `flow.local`, or, for a flow the core made up (a request to the
    /// iPBX), the side's socket of the peer's address family.
    fn udp_socket(&self, flow: &Flow) -> Option<&Arc<UdpSocket>> {
        self.udp.get(&(flow.side, flow.local)).or_else(|| {
            self.udp
                .iter()
                .find(|((side, local), _)| {
                    *side == flow.side && local.is_ipv4() == flow.peer.is_ipv4()
                })
                .map(|(_, socket)| socket)
        })
    }
}
