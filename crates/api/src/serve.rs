//! Serving the admin router on a bound listener: plain HTTP (loopback
//! only, when configured so) or HTTPS with a rustls configuration (the
//! gateway's certificate). Both give handlers the client's address
//! (`ConnectInfo<SocketAddr>`) and stop accepting when `shutdown`
//! completes, letting requests in progress finish.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tracing::debug;

/// How long a client may take for its TLS handshake or request headers.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long requests in progress get after `shutdown`.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `app` over plain HTTP/1.1 on `listener` until `shutdown`.
///
/// # Errors
/// The listener's I/O error.
pub async fn serve_http(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Serves `app` over HTTPS (HTTP/1.1 in TLS 1.2/1.3 as `tls` allows) on
/// `listener` until `shutdown`. A client that fails its handshake is
/// dropped and logged at debug level; it never stops the listener.
///
/// # Errors
/// None today: accept errors (out of file descriptors...) are retried
/// after a short pause.
pub async fn serve_https(
    listener: TcpListener,
    app: Router,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_https_admitting(listener, app, tls, |_| true, shutdown).await
}

/// [`serve_https`] that first asks `admit` about each connection's source
/// and closes a refused one before its TLS handshake, so that a source the
/// guard denies gets nothing (the phone configuration service).
///
/// # Errors
/// As [`serve_https`].
pub async fn serve_https_admitting(
    listener: TcpListener,
    app: Router,
    tls: Arc<rustls::ServerConfig>,
    admit: impl Fn(IpAddr) -> bool + Send + 'static,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    debug!(error = %e, "admin listener accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        if !admit(peer.ip()) {
            debug!(%peer, "connection refused by the guard");
            drop(stream);
            continue;
        }
        let acceptor = acceptor.clone();
        let service = app
            .clone()
            .map_request(move |req: hyper::Request<hyper::body::Incoming>| {
                let mut req = req.map(axum::body::Body::new);
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    debug!(%peer, error = %e, "admin listener: TLS handshake failed");
                    return;
                }
                Err(_) => {
                    debug!(%peer, "admin listener: TLS handshake timed out");
                    return;
                }
            };
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HANDSHAKE_TIMEOUT)
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service));
            if let Err(e) = watcher.watch(connection).await {
                debug!(%peer, error = %e, "admin listener: connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
    Ok(())
}
