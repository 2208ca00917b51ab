//! Outgoing TCP and TLS connections (SIG-1, SIG-4): when the core sends to a
//! peer over a stream transport and no connection to it is open, one is
//! made, registered in the connection table and served by the same
//! connection task as accepted ones, so the peer's requests and responses
//! come back through ingress like any others.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsConnector;
use tracing::{debug, info};

use super::ingress::Ingress;
use super::stream::{StreamContext, run};
use super::{ConnectionTable, Flow, FlowId, SendError, TransportKind, TransportLimits};
use crate::config::Side;

/// How long a TCP connect may take before the send fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens outgoing connections for the [`super::Sender`].
pub struct Connector {
    table: ConnectionTable,
    ingress: Ingress,
    limits: TransportLimits,
    tls: TlsConnector,
    /// Local address to bind per side (its `interface`), if configured.
    bind: [(Side, Option<IpAddr>); 2],
    shutdown: watch::Receiver<bool>,
}

impl Connector {
    /// A connector; `tls` is the client configuration (trust anchors) for
    /// TLS peers, `bind` the local address of each side.
    pub fn new(
        table: ConnectionTable,
        ingress: Ingress,
        limits: TransportLimits,
        tls: Arc<rustls::ClientConfig>,
        bind: [(Side, Option<IpAddr>); 2],
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            table,
            ingress,
            limits,
            tls: TlsConnector::from(tls),
            bind,
            shutdown,
        }
    }

    /// The open connection to `flow.peer` on `flow.side`, or a new one.
    pub async fn connection_for(&self, flow: &Flow) -> Result<FlowId, SendError> {
        if let Some(id) = self
            .table
            .find_by_peer(flow.side, flow.transport, flow.peer)
        {
            return Ok(id);
        }
        let stream = self.dial(flow).await?;
        let local = stream.local_addr().map_err(|source| SendError::Io {
            peer: flow.peer,
            source,
        })?;
        let (outbox, inbox) = mpsc::channel(self.limits.connection_queue);
        let admission = self
            .table
            .admit(flow.side, flow.transport, flow.peer, local, outbox)
            .map_err(|e| SendError::Io {
                peer: flow.peer,
                source: std::io::Error::other(e.to_string()),
            })?;
        let id = admission.id();
        let connected = Flow {
            local,
            connection: Some(id),
            ..*flow
        };
        let ctx = StreamContext {
            side: flow.side,
            transport: flow.transport,
            tls: None,
            table: self.table.clone(),
            ingress: self.ingress.clone(),
            limits: self.limits.clone(),
        };
        let tls = (flow.transport == TransportKind::Tls).then(|| self.tls.clone());
        let shutdown = self.shutdown.clone();
        info!(side = %flow.side, peer = %flow.peer, transport = flow.transport.as_str(), "outgoing connection");
        tokio::spawn(async move {
            let gauge = metrics::gauge!("outpost_connections", "side" => ctx.side.as_str(), "transport" => ctx.transport.as_str());
            gauge.increment(1.0);
            match tls {
                None => run(stream, connected, inbox, &ctx, shutdown).await,
                Some(connector) => {
                    let name = ServerName::IpAddress(connected.peer.ip().into());
                    match tokio::time::timeout(
                        ctx.limits.handshake_timeout,
                        connector.connect(name, stream),
                    )
                    .await
                    {
                        Ok(Ok(tls)) => run(tls, connected, inbox, &ctx, shutdown).await,
                        Ok(Err(e)) => {
                            metrics::counter!("outpost_tls_handshake_failures_total", "side" => ctx.side.as_str()).increment(1);
                            info!(side = %ctx.side, peer = %connected.peer, error = %e, "outgoing TLS handshake failed (is ipbx.ca_file right?)");
                        }
                        Err(_) => {
                            info!(side = %ctx.side, peer = %connected.peer, "outgoing TLS handshake timed out")
                        }
                    }
                }
            }
            gauge.decrement(1.0);
            drop(admission);
        });
        Ok(id)
    }

    async fn dial(&self, flow: &Flow) -> Result<TcpStream, SendError> {
        let io = |source| SendError::Io {
            peer: flow.peer,
            source,
        };
        let socket = match flow.peer {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .map_err(io)?;
        let bind = self
            .bind
            .iter()
            .find(|(side, _)| *side == flow.side)
            .and_then(|(_, ip)| *ip)
            .filter(|ip| ip.is_ipv4() == flow.peer.is_ipv4());
        if let Some(ip) = bind {
            socket.bind(SocketAddr::new(ip, 0)).map_err(io)?;
        }
        match tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(flow.peer)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                Ok(stream)
            }
            Ok(Err(e)) => {
                debug!(peer = %flow.peer, error = %e, "connect failed");
                Err(io(e))
            }
            Err(_) => Err(io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no TCP connection within {CONNECT_TIMEOUT:?}"),
            ))),
        }
    }
}
