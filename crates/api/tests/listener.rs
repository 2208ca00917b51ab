//! The admin listener over real loopback sockets: HTTPS with a rustls
//! configuration, and plain HTTP; both hand handlers the client address.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use outpost_api::serve::{serve_http, serve_https};
use outpost_api::{Clock, ManualClock, Service, router};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn app() -> axum::Router {
    let service = Service::new(outpost_store::Store::open_in_memory().unwrap());
    router(
        Arc::new(|| "outpost_up 1\n".to_owned()),
        Some((service, Arc::new(ManualClock::new(1)) as Arc<dyn Clock>)),
    )
}

const REQUEST: &[u8] =
    b"GET /api/v1/setup HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

async fn exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
) -> String {
    stream.write_all(REQUEST).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn https_serves_the_api_with_the_given_certificate() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let der = CertificateDer::from(cert.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_https(listener, app(), Arc::new(server), async move {
        let _ = stop_rx.await;
    }));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let response = exchange(tls).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains(r#"{"setup_required":true}"#),
        "{response}"
    );

    // Plain HTTP to the HTTPS port gets no API answer.
    let plain = exchange(TcpStream::connect(addr).await.unwrap()).await;
    assert!(!plain.contains("setup_required"), "{plain}");

    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn plain_http_serves_metrics_and_the_api() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_http(listener, app(), async move {
        let _ = stop_rx.await;
    }));
    // The API needs the client address: a 200 shows connect info is set.
    let response = exchange(TcpStream::connect(addr).await.unwrap()).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body = r#"{"name":"a","password":"aaaaaaaaaaaaaa"}"#;
    let request = format!(
        "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    assert!(String::from_utf8_lossy(&response).contains("outpost_up 1"));
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
