//! Outpost's own user-agent server: what it answers for requests addressed
//! to itself (no user part in the Request-URI). For now that is OPTIONS,
//! the keep-alive and capability probe of phones, trunks and monitoring
//! (RFC 3261 §11); the B2BUA takes the requests addressed to users.

use outpost_sip::{HeaderName, Message, Method, Request, StatusCode};

use crate::replies::reply;

/// Methods Outpost accepts today, for the Allow header.
pub const ALLOW: &str = "OPTIONS, ACK, CANCEL";
/// Option tags Outpost supports (RFC 3261 §20.37). None yet: 100rel and
/// friends arrive with the B2BUA.
pub const SUPPORTED: &[&str] = &[];
/// Bodies Outpost accepts.
pub const ACCEPT: &str = "application/sdp";

/// Answers requests addressed to Outpost itself.
pub struct LocalUas {
    tag_prefix: String,
    tag_counter: u64,
}

impl LocalUas {
    /// `random` seeds the To tags, so tags differ between restarts.
    pub fn new(random: u64) -> Self {
        Self {
            tag_prefix: format!("{random:x}"),
            tag_counter: 0,
        }
    }

    fn next_tag(&mut self) -> String {
        self.tag_counter += 1;
        format!("op{}.{:x}", self.tag_prefix, self.tag_counter)
    }

    /// The response to `request`. `cancels_live_invite` is, for a CANCEL,
    /// whether it matched an INVITE transaction still alive.
    pub fn respond(&mut self, request: &Request, cancels_live_invite: bool) -> Message {
        let tag = self.next_tag();
        if let Err(error) = request.check_scheme() {
            // RFC 3261 §8.2.2.1 / RFC 4475 §3.3.12.
            return reply(
                request,
                StatusCode::from(&error),
                "Unsupported URI Scheme",
                Some(&tag),
                &[],
            );
        }
        if let Ok(required) = request.require() {
            // Nothing is supported yet, so every Require is unknown
            // (RFC 3261 §8.2.2.3); CANCEL and ACK are exempt.
            let unknown: Vec<&str> = required
                .into_iter()
                .filter(|t| !SUPPORTED.contains(t))
                .collect();
            if !unknown.is_empty() && !matches!(request.method(), Method::Cancel | Method::Ack) {
                let list = unknown.join(", ");
                return reply(
                    request,
                    StatusCode(420),
                    "Bad Extension",
                    Some(&tag),
                    &[(HeaderName::Unsupported, &list)],
                );
            }
        }
        let for_a_user = request.uri().is_some_and(|uri| uri.user().is_some());
        match request.method() {
            Method::Cancel if cancels_live_invite => {
                reply(request, StatusCode(200), "OK", Some(&tag), &[])
            }
            Method::Cancel => reply(
                request,
                StatusCode(481),
                "Call/Transaction Does Not Exist",
                Some(&tag),
                &[],
            ),
            _ if for_a_user => reply(request, StatusCode(404), "Not Found", Some(&tag), &[]),
            Method::Options => {
                let supported = SUPPORTED.join(", ");
                reply(
                    request,
                    StatusCode(200),
                    "OK",
                    Some(&tag),
                    &[
                        (HeaderName::Allow, ALLOW),
                        (HeaderName::Supported, &supported),
                        (HeaderName::Accept, ACCEPT),
                    ],
                )
            }
            _ => reply(
                request,
                StatusCode(405),
                "Method Not Allowed",
                Some(&tag),
                &[(HeaderName::Allow, ALLOW)],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use outpost_sip::{Limits, parse};

    fn request(text: &str) -> Request {
        parse(Bytes::from(text.replace('\n', "\r\n")), &Limits::default())
            .unwrap()
            .into_request()
            .unwrap()
    }

    const OPTIONS: &str = "OPTIONS sip:198.18.0.1 SIP/2.0\nVia: SIP/2.0/UDP 198.18.0.2:5060;branch=z9hG4bKa\nFrom: <sip:probe@198.18.0.2>;tag=1\nTo: <sip:198.18.0.1>\nCall-ID: c1\nCSeq: 7 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n";

    fn answer(text: &str) -> Message {
        let mut uas = LocalUas::new(42);
        let response = uas.respond(&request(text), false);
        // What goes on the wire parses back the same.
        parse(response.as_bytes().clone(), &Limits::default()).unwrap()
    }

    #[test]
    fn options_gets_200_with_capabilities() {
        let r = answer(OPTIONS);
        assert_eq!(r.status(), Some(StatusCode(200)));
        assert_eq!(r.header(&HeaderName::Allow), Some(ALLOW));
        assert_eq!(r.header(&HeaderName::Accept), Some(ACCEPT));
        assert!(r.has_header(&HeaderName::Supported));
        assert_eq!(r.cseq().unwrap().seq, 7);
        assert!(r.to().unwrap().tag().is_some());
        assert_eq!(r.call_id().unwrap(), "c1");
    }

    #[test]
    fn other_methods_users_schemes_and_extensions() {
        let invite = OPTIONS
            .replace("OPTIONS sip", "INVITE sip")
            .replace("7 OPTIONS", "7 INVITE");
        let r = answer(&invite);
        assert_eq!(r.status(), Some(StatusCode(405)));
        assert_eq!(r.header(&HeaderName::Allow), Some(ALLOW));
        let r = answer(&OPTIONS.replace("OPTIONS sip:198", "OPTIONS sip:alice@198"));
        assert_eq!(r.status(), Some(StatusCode(404)));
        let r = answer(&OPTIONS.replace("OPTIONS sip:198.18.0.1", "OPTIONS nobarsip:198.18.0.1"));
        assert_eq!(r.status(), Some(StatusCode(416)));
        let r = answer(&OPTIONS.replace("Max-Forwards", "Require: nothingweknow\nMax-Forwards"));
        assert_eq!(r.status(), Some(StatusCode(420)));
        assert_eq!(r.header(&HeaderName::Unsupported), Some("nothingweknow"));
        let cancel = OPTIONS
            .replace("OPTIONS sip", "CANCEL sip")
            .replace("7 OPTIONS", "7 CANCEL");
        assert_eq!(answer(&cancel).status(), Some(StatusCode(481)));
    }
}
