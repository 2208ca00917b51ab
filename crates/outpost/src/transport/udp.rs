//! The UDP driver: one task per socket, one datagram one message.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tracing::{debug, warn};

use super::ingress::{Ingress, Verdict};
use super::{Flow, TransportKind};
use crate::config::Side;

/// Largest datagram read; bigger ones are truncated by the kernel and then
/// refused by the parser's size limit.
const DATAGRAM_BUFFER: usize = 65_535;

/// Receives on `socket` until `shutdown` turns true.
pub async fn serve(
    socket: Arc<UdpSocket>,
    side: Side,
    local: SocketAddr,
    ingress: Ingress,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; DATAGRAM_BUFFER];
    loop {
        let (len, peer) = tokio::select! {
            _ = shutdown.changed() => return,
            received = socket.recv_from(&mut buf) => match received {
                Ok(pair) => pair,
                Err(e) => {
                    // ICMP errors from earlier sends surface here on Linux;
                    // they concern one peer, not the socket.
                    debug!(%side, error = %e, "UDP receive error");
                    continue;
                }
            },
        };
        let flow = Flow {
            side,
            transport: TransportKind::Udp,
            local,
            peer,
            connection: None,
        };
        let bytes = Bytes::copy_from_slice(buf.get(..len).unwrap_or_default());
        match ingress.datagram(flow, bytes) {
            Verdict::Reply(reply) | Verdict::ReplyAndClose(reply) => {
                if let Err(e) = socket.send_to(&reply, peer).await {
                    warn!(%side, %peer, error = %e, "UDP send failed");
                }
            }
            Verdict::Delivered | Verdict::Dropped | Verdict::Pong | Verdict::Close => {}
        }
    }
}
