//! The OPTIONS request `outpost icps test` sends and how its response is
//! recognised (RFC 3261 §11 "Querying for Capabilities", §17.1.3
//! "Matching Responses to Client Transactions"). No I/O.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use outpost_sip::{HeaderName, Limits, Method, ParseError, Request, StatusCode, Uri};

use crate::transport::TransportKind;

/// One OPTIONS request: its Request-URI and the identifiers its response
/// must carry back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OptionsProbe {
    /// `sip:HOST[:PORT]`.
    pub(crate) uri: String,
    /// The Via branch (with the RFC 3261 magic cookie).
    pub(crate) branch: String,
    /// The Call-ID.
    pub(crate) call_id: String,
    /// The From tag.
    pub(crate) from_tag: String,
}

/// What a message received while waiting is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Our OPTIONS' final response.
    Final {
        /// Status code.
        status: u16,
        /// Reason phrase.
        reason: String,
        /// The `Server` (else `User-Agent`) header, naming the iPBX.
        server: Option<String>,
    },
    /// A provisional response to it (rare for OPTIONS): keep waiting.
    Provisional(u16),
    /// Not a response to it (another transaction, garbage).
    Unrelated,
}

impl OptionsProbe {
    /// A probe of `host` (an ICP's host, name or IP literal) at `port`
    /// when the port is fixed, with identifiers made from `random`.
    pub(crate) fn new(host: &str, port: Option<u16>, random: [u8; 24]) -> Self {
        let host = uri_host(host);
        let uri = match port {
            Some(port) => format!("sip:{host}:{port}"),
            None => format!("sip:{host}"),
        };
        Self {
            uri,
            branch: format!(
                "{}{}",
                outpost_sip::MAGIC_COOKIE,
                hex::encode(&random[..10])
            ),
            call_id: format!("{}@outpost.icps-test", hex::encode(&random[10..20])),
            from_tag: hex::encode(&random[20..]),
        }
    }

    /// The request, sent from `local` over `transport`.
    pub(crate) fn request(
        &self,
        transport: TransportKind,
        local: SocketAddr,
    ) -> Result<Bytes, ParseError> {
        let uri = Uri::parse(&self.uri)?;
        let local_host = uri_host(&local.ip().to_string());
        let contact_transport = match transport {
            TransportKind::Udp => String::new(),
            other => format!(";transport={}", other.as_str()),
        };
        let request = Request::builder(Method::Options, &uri)
            .header(
                HeaderName::Via,
                format!(
                    "SIP/2.0/{} {local_host}:{};branch={};rport",
                    transport.via_name(),
                    local.port(),
                    self.branch
                ),
            )
            .header(HeaderName::MaxForwards, "70")
            .header(
                HeaderName::From,
                format!("<sip:outpost@{local_host}>;tag={}", self.from_tag),
            )
            .header(HeaderName::To, format!("<{}>", self.uri))
            .header(HeaderName::CallId, self.call_id.clone())
            .header(HeaderName::CSeq, "1 OPTIONS")
            .header(
                HeaderName::Contact,
                format!(
                    "<sip:outpost@{local_host}:{}{contact_transport}>",
                    local.port()
                ),
            )
            .header(HeaderName::Accept, "application/sdp")
            .header(
                HeaderName::UserAgent,
                format!("Outpost/{} (icps test)", env!("CARGO_PKG_VERSION")),
            )
            .build()?;
        Ok(request.as_bytes().clone())
    }

    /// What `bytes` (one datagram, or one framed message) is to this
    /// probe: RFC 3261 §17.1.3 matches on the top Via's branch and the
    /// CSeq method; the Call-ID is checked too.
    pub(crate) fn classify(&self, bytes: Bytes) -> Reply {
        let Ok(message) = outpost_sip::parse(bytes, &Limits::default()) else {
            return Reply::Unrelated;
        };
        let Some(status) = message.status() else {
            return Reply::Unrelated;
        };
        let ours = message
            .top_via()
            .is_ok_and(|via| via.branch() == Some(self.branch.as_str()))
            && message.call_id().is_ok_and(|id| id == self.call_id)
            && message
                .cseq()
                .is_ok_and(|cseq| cseq.method == Method::Options);
        if !ours {
            return Reply::Unrelated;
        }
        if status.is_provisional() {
            return Reply::Provisional(status.as_u16());
        }
        let reason = message
            .reason()
            .map_or_else(|| canonical(status), str::to_owned);
        let server = message
            .header(&HeaderName::Server)
            .or_else(|| message.header(&HeaderName::UserAgent))
            .map(str::to_owned);
        Reply::Final {
            status: status.as_u16(),
            reason,
            server,
        }
    }
}

fn canonical(status: StatusCode) -> String {
    status.canonical_reason().to_owned()
}

/// A host as written in a SIP URI: IPv6 literals in brackets.
pub(crate) fn uri_host(host: &str) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe() -> OptionsProbe {
        OptionsProbe::new("pbx.example.com", Some(5070), [7; 24])
    }

    fn response_to(request: &[u8], status: &str, extra: &str) -> Bytes {
        let text = std::str::from_utf8(request).unwrap();
        let mut out = format!("SIP/2.0 {status}\r\n");
        for line in text.split("\r\n") {
            let lower = line.to_ascii_lowercase();
            if ["via:", "from:", "call-id:", "cseq:"]
                .iter()
                .any(|h| lower.starts_with(h))
            {
                out.push_str(line);
                out.push_str("\r\n");
            } else if lower.starts_with("to:") {
                out.push_str(line);
                out.push_str(";tag=pbx\r\n");
            }
        }
        out.push_str(extra);
        out.push_str("Content-Length: 0\r\n\r\n");
        Bytes::from(out)
    }

    #[test]
    fn request_is_a_valid_options_with_fresh_identifiers() {
        let local: SocketAddr = "10.0.0.2:40000".parse().unwrap();
        let bytes = probe().request(TransportKind::Udp, local).unwrap();
        let message = outpost_sip::parse(bytes.clone(), &Limits::default()).unwrap();
        message.validate().unwrap();
        assert_eq!(message.method(), Some(&Method::Options));
        assert_eq!(
            message.request_uri().unwrap().as_str(),
            "sip:pbx.example.com:5070"
        );
        let via = message.top_via().unwrap();
        assert_eq!(via.transport(), "UDP");
        assert_eq!(via.host(), "10.0.0.2");
        assert_eq!(via.port(), Some(40000));
        assert!(via.has_magic_cookie());
        assert_eq!(message.max_forwards().unwrap(), Some(70));
        assert_eq!(message.cseq().unwrap().seq, 1);
        assert!(message.from().unwrap().tag().is_some());
        assert!(message.to().unwrap().tag().is_none());

        let other = OptionsProbe::new("pbx.example.com", None, [8; 24]);
        assert_ne!(other.branch, probe().branch);
        assert_ne!(other.call_id, probe().call_id);
        assert_eq!(other.uri, "sip:pbx.example.com");
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        let p = OptionsProbe::new("2001:db8::5", None, [1; 24]);
        assert_eq!(p.uri, "sip:[2001:db8::5]");
        let local: SocketAddr = "[2001:db8::2]:5060".parse().unwrap();
        let bytes = p.request(TransportKind::Tls, local).unwrap();
        let message = outpost_sip::parse(bytes, &Limits::default()).unwrap();
        assert_eq!(message.top_via().unwrap().host(), "[2001:db8::2]");
        assert!(
            message
                .header(&HeaderName::Contact)
                .unwrap()
                .contains(";transport=tls")
        );
    }

    #[test]
    fn any_final_response_to_our_request_matches() {
        let p = probe();
        let local: SocketAddr = "10.0.0.2:40000".parse().unwrap();
        let request = p.request(TransportKind::Tcp, local).unwrap();
        for (status, code) in [
            ("200 OK", 200),
            ("404 Not Found", 404),
            ("405 Method Not Allowed", 405),
            ("483 Too Many Hops", 483),
        ] {
            match p.classify(response_to(&request, status, "Server: Kamailio\r\n")) {
                Reply::Final { status, server, .. } => {
                    assert_eq!(status, code);
                    assert_eq!(server.as_deref(), Some("Kamailio"));
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        assert_eq!(
            p.classify(response_to(&request, "100 Trying", "")),
            Reply::Provisional(100)
        );
    }

    #[test]
    fn other_transactions_and_garbage_do_not_match() {
        let p = probe();
        let local: SocketAddr = "10.0.0.2:40000".parse().unwrap();
        let request = p.request(TransportKind::Udp, local).unwrap();
        let other = OptionsProbe::new("pbx.example.com", Some(5070), [9; 24])
            .request(TransportKind::Udp, local)
            .unwrap();
        assert_eq!(
            p.classify(response_to(&other, "200 OK", "")),
            Reply::Unrelated
        );
        // Our own request echoed back is not a response.
        assert_eq!(p.classify(request.clone()), Reply::Unrelated);
        assert_eq!(
            p.classify(Bytes::from_static(b"\x00\x01garbage")),
            Reply::Unrelated
        );
        // Same branch but another method in CSeq.
        let text = String::from_utf8(response_to(&request, "200 OK", "").to_vec())
            .unwrap()
            .replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
        assert_eq!(p.classify(Bytes::from(text)), Reply::Unrelated);
    }
}
