//! Binding the SIP sockets of each side (SIG-1) and starting their drivers:
//! TLS on the side's TLS port, UDP and TCP on the plain SIP port when the
//! side's protocols include them. The TLS settings of each side (its
//! acceptor, mutual TLS on the private side) are [`SideAcceptors`].

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::info;

use crate::certs::mtls::ClientIdentity;
use crate::config::{Side, SideConfig};
use crate::telemetry::listener_state;
use crate::transport::ingress::Ingress;
use crate::transport::stream::{self, StreamContext};
use crate::transport::{ConnectionTable, TransportKind, TransportLimits, udp};

/// Why a listener could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("{side} SIP {transport} listener on {addr}: {source}{hint}")]
pub struct BindError {
    /// Side of the listener.
    pub side: Side,
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

/// A bound socket whose driver has not started yet.
enum Bound {
    Stream(TcpListener, TransportKind),
    Datagram(Arc<UdpSocket>),
}

/// Every SIP socket of both sides, bound.
pub struct SipSockets {
    bound: Vec<(Side, SocketAddr, Bound)>,
}

impl SipSockets {
    /// Binds the sockets the sides' protocols call for. Nothing is served
    /// until [`SipSockets::start`], so a bind failure leaves nothing running.
    pub async fn bind(sides: [&SideConfig; 2]) -> Result<Self, BindError> {
        let mut bound = Vec::new();
        for side in sides {
            let ip = side.bind_address();
            if side.tls_enabled() {
                let addr = SocketAddr::new(ip, side.sip_tls_port);
                let listener = bind_err(side.side, "tls", addr, TcpListener::bind(addr).await)?;
                let local = bind_err(side.side, "tls", addr, listener.local_addr())?;
                bound.push((
                    side.side,
                    local,
                    Bound::Stream(listener, TransportKind::Tls),
                ));
            }
            if side.plain_enabled() {
                let addr = SocketAddr::new(ip, side.sip_port);
                let socket = bind_err(side.side, "udp", addr, UdpSocket::bind(addr).await)?;
                let local = bind_err(side.side, "udp", addr, socket.local_addr())?;
                bound.push((side.side, local, Bound::Datagram(Arc::new(socket))));
                let listener = bind_err(side.side, "tcp", addr, TcpListener::bind(addr).await)?;
                let local = bind_err(side.side, "tcp", addr, listener.local_addr())?;
                bound.push((
                    side.side,
                    local,
                    Bound::Stream(listener, TransportKind::Tcp),
                ));
            }
        }
        Ok(Self { bound })
    }

    /// Each socket as `side/transport address` (`public/tls 0.0.0.0:5063`),
    /// as the API's service state lists them.
    pub fn describe(&self) -> Vec<String> {
        self.bound
            .iter()
            .map(|(side, local, bound)| {
                let transport = match bound {
                    Bound::Stream(_, kind) => kind.as_str(),
                    Bound::Datagram(_) => TransportKind::Udp.as_str(),
                };
                format!("{}/{transport} {local}", side.as_str())
            })
            .collect()
    }

    /// The UDP sockets by (side, local address), for the [`crate::transport::Sender`].
    pub fn udp_sockets(&self) -> HashMap<(Side, SocketAddr), Arc<UdpSocket>> {
        self.bound
            .iter()
            .filter_map(|(side, local, bound)| match bound {
                Bound::Datagram(socket) => Some(((*side, *local), Arc::clone(socket))),
                Bound::Stream(..) => None,
            })
            .collect()
    }

    /// Starts a driver per socket on `tasks`; each logs its address and
    /// keeps `outpost_listener_up` current.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        self,
        tasks: &mut JoinSet<()>,
        tls: &SideAcceptors,
        table: &ConnectionTable,
        ingress: &Ingress,
        limits: &TransportLimits,
        shutdown: &watch::Receiver<bool>,
    ) {
        for (side, local, bound) in self.bound {
            let transport = match &bound {
                Bound::Stream(_, kind) => *kind,
                Bound::Datagram(_) => TransportKind::Udp,
            };
            let address = local.to_string();
            listener_state(side.as_str(), transport.as_str(), &address, true);
            info!(side = side.as_str(), transport = transport.as_str(), %address, "SIP listener up");
            let stop = shutdown.clone();
            let ingress = ingress.clone();
            let driver: Pin<Box<dyn Future<Output = ()> + Send>> = match bound {
                Bound::Datagram(socket) => Box::pin(udp::serve(socket, side, local, ingress, stop)),
                Bound::Stream(listener, kind) => {
                    let ctx = StreamContext {
                        side,
                        transport: kind,
                        tls: (kind == TransportKind::Tls).then(|| tls.for_side(side).clone()),
                        table: table.clone(),
                        ingress,
                        limits: limits.clone(),
                    };
                    Box::pin(stream::serve(listener, ctx, stop))
                }
            };
            tasks.spawn(async move {
                driver.await;
                listener_state(side.as_str(), transport.as_str(), &address, false);
                info!(side = side.as_str(), transport = transport.as_str(), %address, "SIP listener stopped");
            });
        }
    }
}

/// The TLS acceptor of each side: each presents its usage's certificates
/// (SEC-8: `sip-public`, `sip-private`), renewed live; the private side's
/// requires client certificates when `private.mtls` is on (SIG-2), and
/// Outpost then presents its own toward the iPBX.
#[derive(Clone)]
pub struct SideAcceptors {
    /// The public side's (phones).
    pub public: TlsAcceptor,
    /// The private side's (the iPBX).
    pub private: TlsAcceptor,
    /// Outpost's client certificate for outgoing TLS toward the iPBX and
    /// the ICPs (the `sip-private` set) when `private.mtls` is on; `None`:
    /// no client certificate is presented.
    pub client_identity: Option<Arc<ClientIdentity>>,
}

impl SideAcceptors {
    /// The acceptor of `side`.
    pub fn for_side(&self, side: Side) -> &TlsAcceptor {
        match side {
            Side::Public => &self.public,
            Side::Private => &self.private,
        }
    }
}

fn bind_err<T>(
    side: Side,
    transport: &'static str,
    addr: SocketAddr,
    result: std::io::Result<T>,
) -> Result<T, BindError> {
    result.map_err(|source| BindError {
        side,
        transport,
        addr,
        hint: hint(&source),
        source,
    })
}
