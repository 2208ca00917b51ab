//! Outgoing TCP and TLS connections: the first send to a peer queues the
//! message and opens a connection in a task of its own (TLS verified
//! against Outpost's certificate or `ipbx.ca_file`, and against the peer's
//! name when one is set), without the sender waiting; queued messages go
//! out in order once it is up, later sends reuse it, what the peer sends
//! back reaches the core like any inbound message, and a failed connect is
//! reported as an event.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use outpost::certs;
use outpost::config::Side;
use outpost::transport::connect::Connector;
use outpost::transport::ingress::{Inbound, Ingress};
use outpost::transport::{
    ConnectEvent, ConnectionTable, Delivery, Flow, PeerKey, Sender, TransportKind, TransportLimits,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

const TIMEOUT: Duration = Duration::from_secs(5);

const OPTIONS: &str = "OPTIONS sip:198.18.9.9 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.61.1:5064;branch=z9hG4bKout1\r\nFrom: <sip:outpost@127.0.61.1>;tag=o1\r\nTo: <sip:198.18.9.9>\r\nCall-ID: out-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

fn response_to_options(call_id: &str) -> String {
    format!(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.61.1:5064;branch=z9hG4bKout1\r\nFrom: <sip:outpost@127.0.61.1>;tag=o1\r\nTo: <sip:198.18.9.9>;tag=p1\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

struct Harness {
    sender: Sender,
    events: mpsc::Receiver<ConnectEvent>,
    table: ConnectionTable,
    core: mpsc::Receiver<Inbound>,
    _stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
    identity: certs::TlsIdentity,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let identity = certs::load_or_generate(dir.path(), &["127.0.61.2".to_string()]).unwrap();
    let limits = TransportLimits::default();
    let table = ConnectionTable::new(16, 16);
    let (core_tx, core) = mpsc::channel(16);
    let ingress = Ingress::new(outpost_sip::Limits::default(), core_tx, 5);
    let (stop, stop_rx) = watch::channel(false);
    let (events_tx, events) = mpsc::channel(16);
    let connector = Connector::new(
        table.clone(),
        ingress,
        limits,
        certs::client_config(&identity, None).unwrap(),
        [
            (Side::Public, None),
            (Side::Private, Some("127.0.61.1".parse().unwrap())),
        ],
        stop_rx,
        events_tx,
    );
    let sender = Sender::new(HashMap::new(), table.clone(), Some(connector));
    Harness {
        sender,
        events,
        table,
        core,
        _stop: stop,
        _dir: dir,
        identity,
    }
}

impl Harness {
    async fn next_event(&mut self) -> ConnectEvent {
        tokio::time::timeout(TIMEOUT, self.events.recv())
            .await
            .expect("a connect event in time")
            .expect("connector alive")
    }
}

fn flow_to(peer: SocketAddr, transport: TransportKind) -> Flow {
    Flow {
        side: Side::Private,
        transport,
        local: "0.0.0.0:0".parse().unwrap(),
        peer,
        connection: None,
    }
}

async fn read_message(stream: &mut (impl AsyncReadExt + Unpin)) -> String {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(TIMEOUT, stream.read(&mut byte))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 1, "closed after {:?}", String::from_utf8_lossy(&got));
        got.push(byte[0]);
    }
    String::from_utf8(got).unwrap()
}

#[tokio::test]
async fn tcp_connection_is_opened_reused_and_carries_answers_back() {
    let mut h = harness();
    let peer = TcpListener::bind("127.0.61.2:0").await.unwrap();
    let flow = flow_to(peer.local_addr().unwrap(), TransportKind::Tcp);

    // The first send only queues: the connect runs in its own task.
    assert_eq!(
        h.sender
            .send(&flow, Bytes::from_static(OPTIONS.as_bytes()))
            .unwrap(),
        Delivery::Queued
    );
    let (mut conn, from) = tokio::time::timeout(TIMEOUT, peer.accept())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        from.ip().to_string(),
        "127.0.61.1",
        "bound to the side's interface"
    );
    assert!(
        read_message(&mut conn)
            .await
            .starts_with("OPTIONS sip:198.18.9.9")
    );

    assert_eq!(
        h.next_event().await,
        ConnectEvent::Connected(PeerKey::of(&flow))
    );
    // A second send reuses the connection: no new accept, same table entry.
    assert_eq!(
        h.sender
            .send(&flow, Bytes::from_static(OPTIONS.as_bytes()))
            .unwrap(),
        Delivery::Sent
    );
    assert!(read_message(&mut conn).await.contains("Call-ID: out-1"));
    assert_eq!(h.table.len(), 1);

    // The peer's answer comes back through ingress, on that connection.
    conn.write_all(response_to_options("out-1").as_bytes())
        .await
        .unwrap();
    let inbound = tokio::time::timeout(TIMEOUT, h.core.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inbound.message.status().map(|s| s.as_u16()), Some(200));
    assert_eq!(inbound.flow.transport, TransportKind::Tcp);
    assert!(inbound.flow.connection.is_some());
    assert_eq!(inbound.flow.peer, flow.peer);
}

#[tokio::test]
async fn tls_connection_verifies_the_peer_certificate() {
    let mut h = harness();
    let acceptor = tokio_rustls::TlsAcceptor::from(certs::server_config(&h.identity).unwrap());
    let peer = TcpListener::bind("127.0.61.2:0").await.unwrap();
    let flow = flow_to(peer.local_addr().unwrap(), TransportKind::Tls);
    h.sender
        .send(&flow, Bytes::from_static(OPTIONS.as_bytes()))
        .unwrap();
    let (conn, _) = tokio::time::timeout(TIMEOUT, peer.accept())
        .await
        .unwrap()
        .unwrap();
    let mut tls = tokio::time::timeout(TIMEOUT, acceptor.accept(conn))
        .await
        .unwrap()
        .unwrap();
    assert!(
        read_message(&mut tls)
            .await
            .starts_with("OPTIONS sip:198.18.9.9")
    );
    tls.write_all(response_to_options("out-1").as_bytes())
        .await
        .unwrap();
    let inbound = tokio::time::timeout(TIMEOUT, h.core.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inbound.flow.transport, TransportKind::Tls);
}

#[tokio::test]
async fn tls_to_an_untrusted_peer_fails_and_frees_the_table() {
    let mut h = harness();
    // A peer with another self-signed certificate: not trusted.
    let other = tempfile::tempdir().unwrap();
    let stranger = certs::load_or_generate(other.path(), &["127.0.61.2".to_string()]).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(certs::server_config(&stranger).unwrap());
    let peer = TcpListener::bind("127.0.61.2:0").await.unwrap();
    let flow = flow_to(peer.local_addr().unwrap(), TransportKind::Tls);
    h.sender
        .send(&flow, Bytes::from_static(OPTIONS.as_bytes()))
        .unwrap();
    let (conn, _) = tokio::time::timeout(TIMEOUT, peer.accept())
        .await
        .unwrap()
        .unwrap();
    assert!(
        tokio::time::timeout(TIMEOUT, acceptor.accept(conn))
            .await
            .unwrap()
            .is_err()
    );
    match h.next_event().await {
        ConnectEvent::Failed { peer, error } => {
            assert_eq!(peer, PeerKey::of(&flow));
            assert!(error.contains("TLS handshake"), "{error}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(
        h.table.is_empty(),
        "a failed handshake never enters the table"
    );
}

#[tokio::test]
async fn tls_verifies_the_name_set_for_the_peer() {
    let mut h = harness();
    // Outpost's certificate covers 127.0.61.2 but not this name.
    let acceptor = tokio_rustls::TlsAcceptor::from(certs::server_config(&h.identity).unwrap());
    let peer = TcpListener::bind("127.0.61.2:0").await.unwrap();
    let addr = peer.local_addr().unwrap();
    h.sender
        .connector()
        .unwrap()
        .set_server_name(addr, "ipbx.example.net");
    let flow = flow_to(addr, TransportKind::Tls);
    h.sender
        .send(&flow, Bytes::from_static(OPTIONS.as_bytes()))
        .unwrap();
    let (conn, _) = tokio::time::timeout(TIMEOUT, peer.accept())
        .await
        .unwrap()
        .unwrap();
    let _ = tokio::time::timeout(TIMEOUT, acceptor.accept(conn)).await;
    match h.next_event().await {
        ConnectEvent::Failed { error, .. } => {
            assert!(error.contains("ipbx.example.net"), "{error}");
        }
        other => panic!("a certificate for another name was accepted: {other:?}"),
    }
}

#[tokio::test]
async fn messages_queued_while_connecting_go_out_in_order() {
    let mut h = harness();
    let peer = TcpListener::bind("127.0.61.2:0").await.unwrap();
    let flow = flow_to(peer.local_addr().unwrap(), TransportKind::Tcp);
    for i in 1..=3 {
        let message = OPTIONS.replace("Call-ID: out-1", &format!("Call-ID: out-{i}"));
        h.sender.send(&flow, Bytes::from(message)).unwrap();
    }
    let (mut conn, _) = tokio::time::timeout(TIMEOUT, peer.accept())
        .await
        .unwrap()
        .unwrap();
    for i in 1..=3 {
        let got = read_message(&mut conn).await;
        assert!(got.contains(&format!("Call-ID: out-{i}\r\n")), "{got}");
    }
    assert_eq!(
        h.next_event().await,
        ConnectEvent::Connected(PeerKey::of(&flow))
    );
}

#[tokio::test]
async fn connect_failure_is_reported_as_an_event() {
    let mut h = harness();
    // Bind then drop: nothing listens there any more.
    let addr = TcpListener::bind("127.0.61.2:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let flow = flow_to(addr, TransportKind::Tcp);
    assert_eq!(
        h.sender.send(&flow, Bytes::from_static(b"x")).unwrap(),
        Delivery::Queued
    );
    match h.next_event().await {
        ConnectEvent::Failed { peer, error } => {
            assert_eq!(peer.peer, addr);
            assert!(error.contains(&addr.to_string()), "{error}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(h.sender.connector().unwrap().connecting(), 0);
}

#[tokio::test]
async fn a_peer_being_connected_holds_a_bounded_queue() {
    let h = harness();
    // The test's runtime has one thread: the connect task cannot run
    // before the test awaits, so the peer stays "being connected".
    let addr = TcpListener::bind("127.0.61.2:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let flow = flow_to(addr, TransportKind::Tcp);
    let max = outpost::transport::connect::MAX_QUEUED_PER_PEER;
    for _ in 0..max {
        assert_eq!(
            h.sender.send(&flow, Bytes::from_static(b"x")).unwrap(),
            Delivery::Queued
        );
    }
    let err = h.sender.send(&flow, Bytes::from_static(b"x")).unwrap_err();
    assert!(err.to_string().contains("being connected"), "{err}");
}
