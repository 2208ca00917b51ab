//! Outpost's SIP listeners on the wire (issue "SIP core"): OPTIONS answered
//! over UDP, TCP and TLS; RFC 4475 invalid messages answered or dropped as
//! the RFC says, with Outpost still serving afterwards; stream framing
//! errors; keep-alives; connection and transaction limits.
//!
//! Each test runs its own `outpost serve` on a loopback address of its own
//! (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{Outpost, options, status_of};

const IO_TIMEOUT: Duration = Duration::from_secs(5);
const RFC4475: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sip/testdata/rfc4475");

fn torture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{RFC4475}/{name}.dat")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// What Outpost must do with each invalid (and semantically refused)
/// RFC 4475 message, on UDP: `Some(status)` answered, `None` silently
/// dropped (responses are never answered).
const UDP_EXPECT: &[(&str, Option<u16>)] = &[
    ("badinv01", Some(400)),
    ("clerr", Some(400)),
    ("ncl", Some(400)),
    ("scalar02", Some(400)),
    ("scalarlg", None),
    ("quotbal", Some(400)),
    ("ltgtruri", Some(400)),
    ("lwsruri", Some(400)),
    ("lwsstart", Some(400)),
    ("trws", Some(400)),
    ("escruri", Some(400)),
    ("baddate", Some(400)),
    ("regbadct", Some(400)),
    ("badaspec", Some(400)),
    ("baddn", Some(400)),
    ("badvers", Some(505)),
    ("mismatch01", Some(400)),
    ("mismatch02", Some(400)),
    ("bigcode", None),
    ("insuf", Some(400)),
    ("unkscm", Some(416)),
    ("novelsc", Some(416)),
    // To a user: the B2BUA authenticates the phone first (407); after
    // that the Require travels to the iPBX, whose 420 comes back. Outpost's
    // own 420 for requests addressed to itself is checked below (TLS).
    ("bext01", Some(407)),
];

/// Collects datagrams until the 200 for the barrier OPTIONS `call_id`
/// arrives; returns the statuses of everything else received before it.
fn until_barrier(socket: &UdpSocket, call_id: &str) -> Vec<u16> {
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut others = Vec::new();
    let mut buf = vec![0u8; 65_535];
    loop {
        assert!(
            Instant::now() < deadline,
            "no answer to barrier {call_id}; got {others:?}"
        );
        let (len, _) = socket
            .recv_from(&mut buf)
            .expect("barrier answer within the timeout");
        let datagram = &buf[..len];
        if String::from_utf8_lossy(datagram).contains(&format!("Call-ID: {call_id}\r\n")) {
            assert_eq!(
                status_of(datagram),
                Some(200),
                "{}",
                String::from_utf8_lossy(datagram)
            );
            return others;
        }
        others.extend(status_of(datagram));
    }
}

#[test]
fn rfc4475_invalid_messages_over_udp_then_still_serving() {
    let outpost = Outpost::start(41, &[]);
    let socket = UdpSocket::bind("127.0.41.10:0").unwrap();
    socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let target = outpost.addr(5060);
    let local = socket.local_addr().unwrap();
    let mut failures = Vec::new();
    for (i, (name, expected)) in UDP_EXPECT.iter().enumerate() {
        socket.send_to(&torture(name), target).unwrap();
        let barrier = format!("barrier-{i}");
        socket
            .send_to(options("UDP", local, &barrier).as_bytes(), target)
            .unwrap();
        let got = until_barrier(&socket, &barrier);
        let want: Vec<u16> = expected.iter().copied().collect();
        if got != want {
            failures.push(format!("{name}: expected {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}\n{}", outpost.log_text());
}

/// Sends `bytes` on a new TCP connection, half-closes, and returns the
/// statuses Outpost sent before it closed its side.
fn tcp_exchange(target: SocketAddr, bytes: &[u8]) -> Vec<u16> {
    let mut stream = TcpStream::connect(target).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.write_all(bytes).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut received = Vec::new();
    stream
        .read_to_end(&mut received)
        .expect("Outpost closes within the timeout");
    split_responses(&received)
}

fn split_responses(bytes: &[u8]) -> Vec<u16> {
    String::from_utf8_lossy(bytes)
        .split("SIP/2.0 ")
        .skip(1)
        .filter_map(|r| r.get(..3)?.parse().ok())
        .collect()
}

#[test]
fn rfc4475_invalid_messages_over_tcp_then_still_serving() {
    let outpost = Outpost::start(42, &[]);
    let target = outpost.addr(5060);
    let mut failures = Vec::new();
    for (name, udp) in UDP_EXPECT {
        // Answers that come from the transaction user (416, 420) need the
        // connection to stay open for the core's reply; on a half-closed
        // connection only what ingress answers inline is seen, so those are
        // checked over UDP and TLS. On a stream, a Content-Length longer
        // than the bytes sent means the message never completes (clerr).
        let expected: Vec<u16> = match (*name, udp) {
            ("unkscm" | "novelsc" | "bext01", _) => continue,
            ("clerr", _) => vec![],
            (_, Some(status)) => vec![*status],
            (_, None) => vec![],
        };
        let got = tcp_exchange(target, &torture(name));
        if got != expected {
            failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}\n{}", outpost.log_text());

    let mut stream = TcpStream::connect(target).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let local = stream.local_addr().unwrap();
    stream
        .write_all(options("TCP", local, "alive").as_bytes())
        .unwrap();
    assert_eq!(read_response(&mut stream), 200);
}

/// Reads one response from a stream (header section + Content-Length body).
fn read_response(stream: &mut impl Read) -> u16 {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("response within the timeout");
        assert_eq!(
            n,
            1,
            "connection closed after {:?}",
            String::from_utf8_lossy(&got)
        );
        got.push(byte[0]);
    }
    status_of(&got).unwrap_or_else(|| panic!("not a response: {}", String::from_utf8_lossy(&got)))
}

#[test]
fn framing_errors_on_streams_get_400_and_close() {
    let outpost = Outpost::start(43, &[]);
    let target = outpost.addr(5060);
    for (what, head) in [
        (
            "missing",
            "OPTIONS sip:outpost SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.43.10:5060;branch=z9hG4bKm\r\nFrom: <sip:p@x>;tag=1\r\nTo: <sip:outpost>\r\nCall-ID: m\r\nCSeq: 1 OPTIONS\r\n\r\n",
        ),
        (
            "invalid",
            "OPTIONS sip:outpost SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.43.10:5060;branch=z9hG4bKi\r\nFrom: <sip:p@x>;tag=1\r\nTo: <sip:outpost>\r\nCall-ID: i\r\nCSeq: 1 OPTIONS\r\nContent-Length: ten\r\n\r\n",
        ),
    ] {
        let mut stream = TcpStream::connect(target).unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        // No half-close from us: Outpost must close by itself.
        let mut received = Vec::new();
        stream
            .read_to_end(&mut received)
            .expect("Outpost closes the connection");
        assert_eq!(
            split_responses(&received),
            vec![400],
            "{what} Content-Length"
        );
    }
}

#[test]
fn keepalive_ping_gets_pong_on_tcp() {
    let outpost = Outpost::start(44, &[]);
    let mut stream = TcpStream::connect(outpost.addr(5060)).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.write_all(b"\r\n\r\n").unwrap();
    let mut pong = [0u8; 2];
    stream.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"\r\n");
    // The connection is still usable for SIP.
    let local = stream.local_addr().unwrap();
    stream
        .write_all(options("TCP", local, "after-ping").as_bytes())
        .unwrap();
    assert_eq!(read_response(&mut stream), 200);
}

fn tls_client(outpost: &Outpost) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    use rustls::pki_types::pem::PemObject;
    let cert = outpost.data_dir().join("tls/default.crt");
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(&cert).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    // The self-signed certificate names the advertised public address.
    let name = rustls::pki_types::ServerName::IpAddress(outpost.ip.into());
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(outpost.addr(5063)).unwrap();
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

#[test]
fn tls_options_keepalive_and_application_answers() {
    let outpost = Outpost::start(45, &[]);
    let mut tls = tls_client(&outpost);
    let local = tls.sock.local_addr().unwrap();
    tls.write_all(options("TLS", local, "tls-1").as_bytes())
        .unwrap();
    assert_eq!(read_response(&mut tls), 200);
    tls.write_all(b"\r\n\r\n").unwrap();
    let mut pong = [0u8; 2];
    tls.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"\r\n");
    for (name, status) in [("unkscm", 416), ("badvers", 505)] {
        tls.write_all(&torture(name)).unwrap();
        assert_eq!(read_response(&mut tls), status, "{name} over TLS");
        // Bodies of these answers are empty (Content-Length: 0).
    }
    // An unknown Require on a request to Outpost itself: 420 + Unsupported.
    let require = options("TLS", local, "tls-require").replace(
        "Max-Forwards: 70\r\n",
        "Max-Forwards: 70\r\nRequire: nothingweknow\r\n",
    );
    tls.write_all(require.as_bytes()).unwrap();
    assert_eq!(read_response(&mut tls), 420);
    tls.write_all(options("TLS", local, "tls-2").as_bytes())
        .unwrap();
    assert_eq!(read_response(&mut tls), 200);
}

#[test]
fn connections_per_source_are_limited() {
    let outpost = Outpost::start(46, &[("OUTPOST_SIP_MAX_CONNECTIONS_PER_SOURCE", "2")]);
    let target = outpost.addr(5060);
    let mut kept: Vec<TcpStream> = (0..2)
        .map(|_| {
            let s = TcpStream::connect(target).unwrap();
            s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            s
        })
        .collect();
    // Both admitted connections answer, which also proves the server
    // accepted them before the third arrives.
    for (i, stream) in kept.iter_mut().enumerate() {
        let local = stream.local_addr().unwrap();
        stream
            .write_all(options("TCP", local, &format!("kept-{i}")).as_bytes())
            .unwrap();
        assert_eq!(read_response(stream), 200);
    }
    let mut third = TcpStream::connect(target).unwrap();
    third.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut buf = [0u8; 16];
    let n = third.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the third connection from one source must be closed");
    drop(kept);
}

#[test]
fn transaction_limit_gives_503_with_retry_after() {
    // Non-INVITE server transactions on UDP stay in Completed for Timer J
    // (64·T1 = 32 s), so 100 OPTIONS fill a table of 100.
    let outpost = Outpost::start(47, &[("OUTPOST_SIP_MAX_TRANSACTIONS", "100")]);
    let socket = UdpSocket::bind("127.0.47.10:0").unwrap();
    socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let local = socket.local_addr().unwrap();
    let target = outpost.addr(5060);
    let mut buf = vec![0u8; 65_535];
    for i in 0..100 {
        socket
            .send_to(
                options("UDP", local, &format!("fill-{i}")).as_bytes(),
                target,
            )
            .unwrap();
        let (len, _) = socket.recv_from(&mut buf).unwrap();
        assert_eq!(status_of(&buf[..len]), Some(200), "fill-{i}");
    }
    socket
        .send_to(options("UDP", local, "one-too-many").as_bytes(), target)
        .unwrap();
    let (len, _) = socket.recv_from(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..len]);
    assert_eq!(status_of(&buf[..len]), Some(503), "{text}");
    assert!(text.contains("Retry-After: "), "{text}");
    // A retransmission of an admitted request is still absorbed and
    // answered from its transaction.
    socket
        .send_to(options("UDP", local, "fill-0").as_bytes(), target)
        .unwrap();
    let (len, _) = socket.recv_from(&mut buf).unwrap();
    assert_eq!(status_of(&buf[..len]), Some(200));
}

#[test]
fn idle_connections_are_closed() {
    let outpost = Outpost::start(48, &[("OUTPOST_SIP_IDLE_TIMEOUT_SECS", "10")]);
    let mut stream = TcpStream::connect(outpost.addr(5060)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    assert_eq!(
        stream.read(&mut buf).unwrap(),
        0,
        "Outpost closes an idle connection"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "closed too early: {:?}",
        started.elapsed()
    );
}
