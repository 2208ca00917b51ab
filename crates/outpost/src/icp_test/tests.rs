//! The messages of `icps test`: each failure says what happened and what
//! to fix, naming the address, name or setting involved.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use time::OffsetDateTime;

use outpost_resolve::ResolveError;

use super::messages::*;
use super::probe::{CertInfo, ConnectError, OptionsError, TlsError};
use super::*;

fn target(transport: TransportKind, addr: &str, name: &str) -> Target {
    let addr: SocketAddr = addr.parse().unwrap();
    Target::new(addr, transport, name.to_owned())
}

fn cert(names: &[&str]) -> CertInfo {
    CertInfo {
        names: names.iter().map(|n| (*n).to_owned()).collect(),
        subject: "CN=a.test".to_owned(),
        issuer: "CN=Test CA".to_owned(),
        not_after: OffsetDateTime::UNIX_EPOCH,
    }
}

#[test]
fn dns_failures_name_the_host_and_the_dns_setting() {
    let f = dns_failure(
        "nope.test",
        &ResolveError::NoSuchName {
            host: "nope.test".into(),
        },
        "127.0.84.53:15353",
    );
    assert_eq!(f.summary, "no such DNS name: nope.test (NXDOMAIN)");
    assert!(f.fix.starts_with("check the name"), "{}", f.fix);
    assert!(f.fix.contains("[dns] servers (now: 127.0.84.53:15353)"));

    let f = dns_failure(
        "empty.test",
        &ResolveError::NoRecords {
            host: "empty.test".into(),
        },
        "system (/etc/resolv.conf)",
    );
    assert!(
        f.summary
            .contains("empty.test has no A, AAAA, SRV or NAPTR record")
    );
    assert!(f.fix.contains("check the name"));

    let f = dns_failure(
        "pbx.test",
        &ResolveError::Timeout {
            host: "pbx.test".into(),
            query: "NAPTR pbx.test".into(),
        },
        "192.0.2.53:53",
    );
    assert_eq!(f.summary, "no answer from the DNS server to NAPTR pbx.test");
    assert!(f.fix.contains("192.0.2.53:53"));
}

#[test]
fn connect_failures_say_where_nothing_listens_or_answers() {
    let t = target(TransportKind::Tcp, "127.0.84.2:5060", "127.0.84.2");
    let f = connect_failure(&t, &ConnectError::Refused, None);
    assert_eq!(f.summary, "connection refused");
    assert_eq!(
        f.fix,
        "nothing listens on 127.0.84.2:5060 over TCP; check the ICP's port and transports"
    );
    let f = connect_failure(&t, &ConnectError::TimedOut(Duration::from_secs(3)), None);
    assert_eq!(f.summary, "no answer to the TCP connect within 3 s");
    assert!(
        f.fix
            .starts_with("no answer from 127.0.84.2:5060: a firewall may drop it")
    );
    let unreachable = io::Error::from(io::ErrorKind::NetworkUnreachable);
    let f = connect_failure(
        &t,
        &ConnectError::Other(unreachable),
        Some("10.0.0.2".parse().unwrap()),
    );
    assert!(f.fix.contains("(private interface 10.0.0.2)"), "{}", f.fix);

    let tls = target(TransportKind::Tls, "127.0.84.2:5061", "b.test");
    let f = connect_failure(&tls, &ConnectError::Refused, None);
    assert!(f.fix.contains("over TLS (TCP)"));
}

#[test]
fn certificate_failures_list_the_names_it_covers_or_ask_for_the_ca() {
    let t = target(TransportKind::Tls, "127.0.84.3:5061", "b.test");
    let f = tls_failure(
        "pbx1",
        &t,
        &TlsError::NameMismatch(cert(&["a.test", "*.a.test"])),
        "checked with CA file ca.pem",
    );
    assert_eq!(
        f.summary,
        "certificate name mismatch: the certificate does not cover b.test"
    );
    assert_eq!(
        f.fix,
        "the certificate covers a.test, *.a.test but not b.test: use a name it covers \
         as the ICP host or reissue the certificate"
    );

    let f = tls_failure(
        "pbx1",
        &t,
        &TlsError::UnknownIssuer(Some(cert(&["b.test"]))),
        "no CA file given",
    );
    assert_eq!(
        f.summary,
        "certificate of an unknown issuer: CN=Test CA (no CA file given)"
    );
    assert!(f.fix.starts_with("give the CA with --ca-file"), "{}", f.fix);
    assert!(f.fix.contains("outpost icps test pbx1 --ca-file CA.pem"));

    let f = tls_failure("pbx1", &t, &TlsError::NotTls("corrupt message".into()), "");
    assert!(
        f.summary
            .starts_with("127.0.84.3:5061 does not answer in TLS")
    );
    assert!(f.fix.contains("plain SIP port"));
}

#[test]
fn options_failures_tell_silence_from_refusal() {
    let udp = target(TransportKind::Udp, "127.0.84.4:5060", "127.0.84.4");
    let f = options_failure(
        Duration::from_secs(3),
        &udp,
        &OptionsError::NoAnswer {
            sent: 4,
            provisional: None,
        },
    );
    assert_eq!(f.summary, "no answer to OPTIONS within 3 s (4 sent)");
    assert!(
        f.fix
            .starts_with("127.0.84.4:5060 does not answer SIP over UDP")
    );
    let f = options_failure(Duration::from_secs(3), &udp, &OptionsError::Refused);
    assert_eq!(f.summary, "port unreachable (ICMP)");
    assert!(
        f.fix
            .starts_with("nothing listens on 127.0.84.4:5060 over UDP")
    );

    let tcp = target(TransportKind::Tcp, "127.0.84.4:5060", "127.0.84.4");
    let f = options_failure(Duration::from_secs(3), &tcp, &OptionsError::Closed);
    assert!(
        f.summary
            .contains("closed the connection without answering")
    );
}

#[test]
fn exit_codes() {
    assert_eq!(Outcome::Passed.exit_code(), 0);
    assert_eq!(Outcome::Failed.exit_code(), 1);
    assert_eq!(Outcome::Error("x".into()).exit_code(), 1);
    assert_eq!(Outcome::Usage("x".into()).exit_code(), 2);
}
