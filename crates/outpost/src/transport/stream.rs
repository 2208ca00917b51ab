//! The TCP and TLS driver: accept loops with connection limits, one task per
//! connection that frames the byte stream (RFC 3261 §18.3), answers
//! keep-alives (RFC 5626 §3.5.1), delivers messages and writes what the
//! core queues for it, until the peer closes, goes idle, or breaks framing.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use outpost_sip::framing::{self, Frame};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use super::ingress::{Ingress, Verdict};
use super::{ConnectionTable, Flow, TransportKind, TransportLimits};
use crate::config::Side;

/// Everything a connection task needs, shared by the accept loop.
#[derive(Clone)]
pub struct StreamContext {
    /// Side of the listener.
    pub side: Side,
    /// TCP or TLS.
    pub transport: TransportKind,
    /// TLS acceptor for TLS listeners.
    pub tls: Option<TlsAcceptor>,
    /// Open connections.
    pub table: ConnectionTable,
    /// Where parsed messages go.
    pub ingress: Ingress,
    /// Limits and timers.
    pub limits: TransportLimits,
}

/// Accepts connections until `shutdown` turns true.
pub async fn serve(listener: TcpListener, ctx: StreamContext, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // EMFILE and the like: back off instead of spinning.
                        warn!(side = %ctx.side, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(local) = stream.local_addr() else { continue };
                // The guard's check comes before any TLS work (SEC-1..SEC-4).
                let probe = Flow { side: ctx.side, transport: ctx.transport, local, peer, connection: None };
                if !ctx.ingress.admits(&probe) {
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let ctx = ctx.clone();
                let stop = shutdown.clone();
                connections.spawn(async move { connection(stream, peer, local, ctx, stop).await });
            }
        }
    }
    connections.abort_all();
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    ctx: StreamContext,
    shutdown: watch::Receiver<bool>,
) {
    let (outbox, inbox) = mpsc::channel(ctx.limits.connection_queue);
    let admission = match ctx
        .table
        .admit(ctx.side, ctx.transport, peer, local, outbox)
    {
        Ok(admission) => admission,
        Err(e) => {
            metrics::counter!("outpost_connections_refused_total", "side" => ctx.side.as_str(), "reason" => admit_reason(&e)).increment(1);
            debug!(side = %ctx.side, %peer, reason = %e, "connection refused");
            return;
        }
    };
    let flow = Flow {
        side: ctx.side,
        transport: ctx.transport,
        local,
        peer,
        connection: Some(admission.id()),
    };
    let gauge = metrics::gauge!("outpost_connections", "side" => ctx.side.as_str(), "transport" => ctx.transport.as_str());
    gauge.increment(1.0);
    match &ctx.tls {
        None => run(stream, flow, inbox, &ctx, shutdown).await,
        Some(acceptor) => {
            match tokio::time::timeout(ctx.limits.handshake_timeout, acceptor.accept(stream)).await
            {
                Ok(Ok(tls)) => {
                    debug!(side = %ctx.side, %peer, version = ?tls.get_ref().1.protocol_version(), "TLS handshake complete");
                    run(tls, flow, inbox, &ctx, shutdown).await;
                }
                Ok(Err(e)) => {
                    metrics::counter!("outpost_tls_handshake_failures_total", "side" => ctx.side.as_str()).increment(1);
                    debug!(side = %ctx.side, %peer, error = %e, "TLS handshake failed");
                }
                Err(_) => debug!(side = %ctx.side, %peer, "TLS handshake timed out"),
            }
        }
    }
    gauge.decrement(1.0);
    drop(admission);
}

fn admit_reason(e: &super::AdmitError) -> &'static str {
    match e {
        super::AdmitError::PerSource { .. } => "per_source",
        super::AdmitError::Total { .. } => "total",
    }
}

/// Why a connection ended, for the log (read through `Debug`).
#[derive(Debug)]
#[allow(dead_code)]
enum Closed {
    ByPeer,
    Idle,
    Shutdown,
    Framing(String),
    Io(std::io::Error),
    Verdict,
}

pub(super) async fn run<S>(
    stream: S,
    flow: Flow,
    mut inbox: mpsc::Receiver<Bytes>,
    ctx: &StreamContext,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let closed = loop {
        tokio::select! {
            _ = shutdown.changed() => break Closed::Shutdown,
            outgoing = inbox.recv() => {
                let Some(bytes) = outgoing else { break Closed::Shutdown };
                if let Err(e) = writer.write_all(&bytes).await {
                    break Closed::Io(e);
                }
            }
            read = tokio::time::timeout(ctx.limits.idle_timeout, reader.read_buf(&mut buf)) => {
                match read {
                    Err(_) => break Closed::Idle,
                    Ok(Ok(0)) => break Closed::ByPeer,
                    Ok(Err(e)) => break Closed::Io(e),
                    Ok(Ok(_)) => {}
                }
                match drain_frames(&mut buf, flow, ctx, &mut writer).await {
                    Ok(true) => {}
                    Ok(false) => break Closed::Verdict,
                    Err(closed) => break closed,
                }
            }
        }
    };
    let _ = writer.shutdown().await;
    ctx.ingress.flow_closed(flow);
    debug!(side = %flow.side, peer = %flow.peer, transport = flow.transport.as_str(), reason = ?closed, "connection closed");
    if let Closed::Framing(reason) = closed {
        info!(side = %flow.side, peer = %flow.peer, %reason, "connection closed: stream out of sync");
    }
}

/// Handles every complete frame in `buf`. `Ok(false)`: close the connection.
async fn drain_frames<W: AsyncWrite + Unpin>(
    buf: &mut BytesMut,
    flow: Flow,
    ctx: &StreamContext,
    writer: &mut W,
) -> Result<bool, Closed> {
    loop {
        let verdict = match framing::next_frame(buf, ctx.limits.max_message_size) {
            Ok(None) => return Ok(true),
            Ok(Some(Frame::Ping)) => Verdict::Pong,
            Ok(Some(Frame::Pong)) => continue,
            Ok(Some(Frame::Message(bytes))) => ctx.ingress.stream_message(flow, bytes),
            Err(e) => {
                let verdict = ctx.ingress.framing_error(flow, &e);
                if let Verdict::ReplyAndClose(reply) | Verdict::Reply(reply) = verdict {
                    writer.write_all(&reply).await.map_err(Closed::Io)?;
                }
                return Err(Closed::Framing(e.to_string()));
            }
        };
        match verdict {
            Verdict::Delivered | Verdict::Dropped => {}
            Verdict::Pong => writer.write_all(framing::PONG).await.map_err(Closed::Io)?,
            Verdict::Reply(reply) => writer.write_all(&reply).await.map_err(Closed::Io)?,
            Verdict::ReplyAndClose(reply) => {
                writer.write_all(&reply).await.map_err(Closed::Io)?;
                return Ok(false);
            }
            Verdict::Close => return Ok(false),
        }
    }
}
