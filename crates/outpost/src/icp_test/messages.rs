//! What each failure of `icps test` means and what to fix: every
//! message names the address, name or setting involved.

use std::net::IpAddr;
use std::time::Duration;

use outpost_resolve::ResolveError;

use super::probe::{ConnectError, OptionsError, TlsError};
use super::report::{Failure, format_duration};
use crate::certs::Timestamp;
use crate::core::directory::routes::Target;
use crate::transport::TransportKind;

pub(super) fn names_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none (no subject alternative name)".to_owned()
    } else {
        names.join(", ")
    }
}

fn transport_words(transport: TransportKind) -> &'static str {
    match transport {
        TransportKind::Udp => "UDP",
        TransportKind::Tcp => "TCP",
        TransportKind::Tls => "TLS (TCP)",
    }
}

/// What a DNS failure means and what to fix.
pub(super) fn dns_failure(host: &str, error: &ResolveError, servers: &str) -> Failure {
    let where_ = format!("the DNS server in [dns] servers (now: {servers})");
    match error {
        ResolveError::NoSuchName { .. } => Failure::new(
            format!("no such DNS name: {host} (NXDOMAIN)"),
            format!("check the name (the ICP's host), or {where_}"),
        ),
        ResolveError::NoRecords { .. } => Failure::new(
            format!("{host} has no A, AAAA, SRV or NAPTR record"),
            format!("check the name (the ICP's host), or {where_}"),
        ),
        ResolveError::Timeout { query, .. } => Failure::new(
            format!("no answer from the DNS server to {query}"),
            format!("check that {where_} is up and reachable from this machine"),
        ),
        other => Failure::new(format!("cannot resolve {host}"), other.to_string()),
    }
}

/// What a failed TCP connect means and what to fix.
pub(super) fn connect_failure(
    target: &Target,
    error: &ConnectError,
    bind: Option<IpAddr>,
) -> Failure {
    let peer = target.destination.peer;
    let over = transport_words(target.destination.transport);
    match error {
        ConnectError::Refused => Failure::new(
            "connection refused",
            format!("nothing listens on {peer} over {over}; check the ICP's port and transports"),
        ),
        ConnectError::TimedOut(t) => Failure::new(
            format!(
                "no answer to the TCP connect within {}",
                format_duration(*t)
            ),
            format!(
                "no answer from {peer}: a firewall may drop it, or the iPBX is down; \
                 check the route to it from this machine"
            ),
        ),
        ConnectError::Bind(ip, e) => Failure::new(
            format!("cannot connect from the private interface {ip}: {e}"),
            "check [private] interface: it must be an address of this machine",
        ),
        ConnectError::Other(e) => Failure::new(
            format!("cannot connect: {e}"),
            format!(
                "check the route to {peer} from this machine{}",
                bind.map_or_else(String::new, |ip| format!(" (private interface {ip})"))
            ),
        ),
    }
}

/// What a failed TLS handshake means and what to fix.
pub(super) fn tls_failure(icp: &str, target: &Target, error: &TlsError, trusted: &str) -> Failure {
    let name = &target.server_name;
    let peer = target.destination.peer;
    match error {
        TlsError::NameMismatch(cert) => Failure::new(
            format!("certificate name mismatch: the certificate does not cover {name}"),
            format!(
                "the certificate covers {} but not {name}: use a name it covers as the ICP host \
                 or reissue the certificate",
                names_or_none(&cert.names)
            ),
        ),
        TlsError::UnknownIssuer(cert) => Failure::new(
            format!(
                "certificate of an unknown issuer{} ({trusted})",
                cert.as_ref()
                    .map_or_else(String::new, |c| format!(": {}", c.issuer))
            ),
            format!(
                "give the CA with --ca-file (outpost icps test {} --ca-file CA.pem to try it; \
                 then as the ICP's CA file or [ipbx] ca_file for serve)",
                icp
            ),
        ),
        TlsError::Expired(cert) => Failure::new(
            format!(
                "the certificate is not valid now{}",
                cert.as_ref().map_or_else(String::new, |c| format!(
                    " (it expires {})",
                    Timestamp(c.not_after)
                ))
            ),
            "renew the iPBX's certificate, or check this machine's clock",
        ),
        TlsError::BadCertificate(why) => Failure::new(
            format!("certificate refused: {why}"),
            "check the iPBX's certificate and the CA file",
        ),
        TlsError::NotTls(why) => Failure::new(
            format!("{peer} does not answer in TLS ({why})"),
            "it may be a plain SIP port (5060); check the ICP's port and transports",
        ),
        TlsError::Refused(why) => Failure::new(
            format!("the iPBX ended the TLS handshake: {why}"),
            "check that it accepts TLS 1.2 or 1.3 and does not require a client certificate",
        ),
        TlsError::TimedOut(t) => Failure::new(
            format!("no TLS handshake within {}", format_duration(*t)),
            format!(
                "{peer} accepts TCP but does not answer TLS: check that it is the iPBX's TLS port"
            ),
        ),
    }
}

/// What a failed OPTIONS round trip means and what to fix.
pub(super) fn options_failure(timeout: Duration, target: &Target, error: &OptionsError) -> Failure {
    let peer = target.destination.peer;
    let over = transport_words(target.destination.transport);
    match error {
        OptionsError::NoAnswer { sent, provisional } => Failure::new(
            format!(
                "no answer to OPTIONS within {} ({sent} sent{})",
                format_duration(timeout),
                provisional.map_or_else(String::new, |c| format!(", only a {c}"))
            ),
            format!(
                "{peer} does not answer SIP over {over}: check that the iPBX listens there, \
                 that no firewall drops SIP, and that it accepts requests from this machine"
            ),
        ),
        OptionsError::Refused if target.destination.transport == TransportKind::Udp => {
            Failure::new(
                "port unreachable (ICMP)",
                format!("nothing listens on {peer} over UDP; check the ICP's port and transports"),
            )
        }
        OptionsError::Refused | OptionsError::Closed => Failure::new(
            "the iPBX closed the connection without answering OPTIONS",
            "it may refuse requests from this machine's address: check its trusted peers",
        ),
        OptionsError::Io(e) => Failure::new(
            format!("sending OPTIONS failed: {e}"),
            format!("check the route to {peer} from this machine"),
        ),
    }
}
