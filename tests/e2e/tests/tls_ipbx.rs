//! Kamailio as an iPBX reached over TLS by host name (issue 12's
//! acceptance needs one): its certificate is issued for a DNS name by a test
//! CA; a client trusting that CA completes a handshake verifying the name,
//! a client expecting another name or trusting another CA does not, and SIP
//! OPTIONS over TLS gets 200. Black-holing the TLS port leaves new
//! connections unanswered (a timeout, not a refusal) and stalls established
//! ones until it is lifted.
//!
//! Needs root, iproute2, iptables and kamailio with `kamailio-tls-modules`;
//! `OUTPOST_SKIP_E2E=1` skips it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use outpost_testbed::{Host, Ipbx, IpbxConfig, Lab, TestCa, skip_e2e, wait_until};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// The iPBX's host name (what its certificate is issued for).
const NAME: &str = "pbx.icp.test";
/// Deadline for a TLS handshake or a SIP answer on a local bridge.
const SIP: Duration = Duration::from_secs(10);

type Tls = StreamOwned<ClientConnection, TcpStream>;

fn client_config(ca_file: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    Arc::new(
        ClientConfig::builder_with_provider(
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// Connects from `host` to `addr` and completes a TLS handshake expecting
/// `name`; the error is rustls' when the certificate is refused.
fn connect(
    host: &Host,
    addr: SocketAddr,
    name: &str,
    config: &Arc<ClientConfig>,
) -> std::io::Result<Tls> {
    let mut tcp = host.connect_tcp(addr, SIP)?;
    tcp.set_read_timeout(Some(SIP))?;
    tcp.set_write_timeout(Some(SIP))?;
    let server = ServerName::try_from(name.to_owned()).unwrap();
    let mut conn = ClientConnection::new(Arc::clone(config), server).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)?;
    }
    Ok(StreamOwned::new(conn, tcp))
}

/// The certificate error inside a failed handshake's I/O error.
fn certificate_error(e: &std::io::Error) -> Option<&CertificateError> {
    match e.get_ref()?.downcast_ref::<rustls::Error>()? {
        rustls::Error::InvalidCertificate(c) => Some(c),
        _ => None,
    }
}

/// An OPTIONS for the server itself, sent from `local` over `transport`.
fn options_request(transport: &str, local: SocketAddr, tag: &str) -> String {
    format!(
        "OPTIONS sip:{NAME} SIP/2.0\r\nVia: SIP/2.0/{transport} {local};branch=z9hG4bK-{tag}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@{NAME}>;tag={tag}\r\nTo: <sip:{NAME}>\r\n\
         Call-ID: {tag}@tls-ipbx-test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

/// Sends an OPTIONS for the server itself over `tls` and returns the
/// response's head (up to the blank line).
fn options(tls: &mut Tls, tag: &str) -> String {
    let request = options_request("TLS", tls.sock.local_addr().unwrap(), tag);
    tls.write_all(request.as_bytes()).unwrap();
    tls.flush().unwrap();
    read_head(tls, tag)
}

/// Reads a response's head (up to the blank line).
fn read_head(tls: &mut Tls, tag: &str) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tls
            .read(&mut byte)
            .unwrap_or_else(|e| panic!("no answer to OPTIONS ({tag}): {e}"));
        assert_eq!(n, 1, "connection closed before the answer to {tag}");
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[test]
fn ipbx_over_tls_by_name_verifies_answers_options_and_can_be_black_holed() {
    if skip_e2e() {
        return;
    }
    let lab = Lab::new("ipbxtls").unwrap();
    let lan = lab.network("lan", "198.18.1").unwrap();
    let pbx_host = lab.host("ipbx", &lan, 10).unwrap();
    let client = lab.host("client", &lan, 11).unwrap();
    let mut ipbx = Ipbx::start(
        &pbx_host,
        IpbxConfig::new([("1001", "alpha-1001")]).tls(NAME),
    )
    .unwrap();
    let tls_addr = ipbx.tls_addr().expect("TLS configured");
    assert_eq!(tls_addr, SocketAddr::from((pbx_host.ip(), 5061)));
    let config = client_config(ipbx.tls_ca_file().unwrap());

    // A handshake verifying NAME with the CA file, then OPTIONS over it.
    let cursor = ipbx.log_cursor();
    let mut tls = connect(&client, tls_addr, NAME, &config).unwrap();
    println!(
        "handshake with {NAME}: {:?} {:?}",
        tls.conn.protocol_version(),
        tls.conn.negotiated_cipher_suite()
    );
    let answer = options(&mut tls, "first");
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    assert!(answer.contains("branch=z9hG4bK-first"), "{answer}");
    let line = ipbx
        .wait_log_line_after(cursor, &["OPTIONS from 198.18.1.11:", "proto=tls"], SIP)
        .unwrap();
    assert!(line.ends_with("-> 200"), "{line}");

    // The certificate is for NAME only, and only this CA vouches for it.
    let err = connect(&client, tls_addr, "other.icp.test", &config).unwrap_err();
    assert!(
        matches!(
            certificate_error(&err),
            Some(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            )
        ),
        "a certificate for {NAME} accepted for another name: {err}"
    );
    let stranger = TestCa::new(&lab.dir().join("stranger-ca"), "Stranger CA").unwrap();
    let err = connect(&client, tls_addr, NAME, &client_config(stranger.ca_file())).unwrap_err();
    assert!(
        matches!(
            certificate_error(&err),
            Some(CertificateError::UnknownIssuer)
        ),
        "a certificate from an unknown CA accepted: {err}"
    );

    // Black-holed: SYNs get no answer at all (a timeout, not a refusal),
    // while the plain-UDP side still answers. Lifted: it answers again.
    let block = pbx_host.block_tcp_syn(tls_addr.port()).unwrap();
    let err = client
        .connect_tcp(tls_addr, Duration::from_millis(500))
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert!(block.dropped().unwrap() >= 1);
    let local = SocketAddr::from((client.ip(), 0));
    let udp = client.in_netns(move || UdpSocket::bind(local)).unwrap();
    udp.set_read_timeout(Some(SIP)).unwrap();
    let request = options_request("UDP", udp.local_addr().unwrap(), "udp");
    udp.send_to(request.as_bytes(), ipbx.addr()).unwrap();
    let mut buf = [0u8; 2048];
    let n = udp.recv(&mut buf).unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    block.unblock().unwrap();
    let mut again = connect(&client, tls_addr, NAME, &config).unwrap();
    assert!(options(&mut again, "after-unblock").starts_with("SIP/2.0 200"));

    // Every packet to the port dropped: the connection already up stalls
    // (the request is dropped, the iPBX sees nothing) and carries on once
    // the block is lifted (TCP retransmits).
    let cursor = ipbx.log_cursor();
    let block = pbx_host.block_tcp_port(tls_addr.port()).unwrap();
    let request = "OPTIONS sip:pbx.icp.test SIP/2.0\r\n";
    assert!(request.contains(NAME));
    tls.write_all(request.as_bytes()).unwrap();
    tls.flush().unwrap();
    wait_until("the stalled request to be dropped", SIP, || {
        Ok((block.dropped()? >= 1).then_some(()))
    })
    .unwrap();
    assert!(ipbx.log_lines_after(cursor).is_empty());
    drop(block);
    // The rest of the request; the iPBX answers the whole of it.
    let whole = options_request("TLS", tls.sock.local_addr().unwrap(), "stalled");
    let rest = whole.strip_prefix(request).unwrap();
    tls.write_all(rest.as_bytes()).unwrap();
    tls.flush().unwrap();
    let head = read_head(&mut tls, "stalled");
    assert!(head.starts_with("SIP/2.0 200"), "{head}");
    assert!(head.contains("branch=z9hG4bK-stalled"), "{head}");
    ipbx.wait_log_line_after(cursor, &["OPTIONS from 198.18.1.11:", "proto=tls"], SIP)
        .unwrap();
}
