//! The accept loop both challenge responders share: at most
//! [`MAX_CONNECTIONS`] connections at once (one more is closed at once),
//! each bounded by a time-out, all owned by the loop's task so that
//! aborting it (the responder dropped) ends every connection too.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Connections a responder serves at once.
pub(crate) const MAX_CONNECTIONS: usize = 64;

/// Accepts on `listener` until aborted, running `serve` on each
/// connection within `timeout`; `name` names the responder in the logs.
pub(crate) async fn accept_loop<F, Fut>(
    listener: TcpListener,
    name: &'static str,
    timeout: Duration,
    serve: F,
) where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer): (TcpStream, SocketAddr) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and the like: back off briefly instead of spinning.
                tracing::warn!(error = %e, "{name} responder: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::warn!(%peer, "{name} responder: too many connections, closing one");
            continue;
        };
        let served = serve(stream);
        connections.spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(timeout, served).await {
                Ok(Ok(())) => tracing::debug!(%peer, "{name} responder: answered"),
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "{name} responder: connection"),
                Err(_) => tracing::debug!(%peer, "{name} responder: timed out"),
            }
        });
    }
}
