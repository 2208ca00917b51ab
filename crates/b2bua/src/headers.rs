//! Which headers cross from one leg to the other, and how (SIG-5, SIG-7).
//!
//! Routing and dialog headers are never copied: each leg writes its own.
//! Headers on the pass-through list are copied; those that carry
//! addresses (P-Asserted-Identity, P-Preferred-Identity, Referred-By,
//! Refer-To, Diversion) are rewritten: the URI's host becomes the
//! destination side's domain and its user part is translated between
//! set-side and ICP-side usernames. Any other copied header whose value
//! contains something that must not cross (the other side's addresses,
//! host names, Call-ID) is dropped rather than sent: topology hiding wins
//! over pass-through. Replaces (header or inside Refer-To) is mapped to the
//! matching dialog on the destination side. Everything else is dropped.

use outpost_sip::{HeaderField, HeaderName, Message, NameAddr, Scheme, Uri, percent_decode};

use crate::sipmsg::escape_hvalue;

/// Never copied, whatever the configuration says.
fn never_copied(name: &HeaderName) -> bool {
    matches!(
        name,
        HeaderName::Via
            | HeaderName::Route
            | HeaderName::RecordRoute
            | HeaderName::Contact
            | HeaderName::From
            | HeaderName::To
            | HeaderName::CallId
            | HeaderName::CSeq
            | HeaderName::MaxForwards
            | HeaderName::ContentLength
            | HeaderName::Authorization
            | HeaderName::ProxyAuthorization
            | HeaderName::WwwAuthenticate
            | HeaderName::ProxyAuthenticate
            | HeaderName::AuthenticationInfo
            | HeaderName::Path
            | HeaderName::ServiceRoute
    )
}

fn is_address_header(name: &HeaderName) -> bool {
    matches!(
        name,
        HeaderName::PAssertedIdentity
            | HeaderName::PPreferredIdentity
            | HeaderName::ReferredBy
            | HeaderName::ReferTo
    ) || *name == HeaderName::new("Diversion")
}

/// How values are adapted for the destination side.
pub(crate) struct Rewriter<'a> {
    /// Host written into rewritten URIs (public domain, or the iPBX host).
    pub(crate) domain: &'a str,
    /// Username translation toward the destination side.
    pub(crate) users: &'a dyn Fn(&str) -> Option<String>,
    /// Substrings that must not reach the destination side.
    pub(crate) hidden: &'a [String],
    /// Maps a Replaces value (`call-id;to-tag=..;from-tag=..`) to the
    /// dialog on the destination side.
    pub(crate) replaces: &'a dyn Fn(&str) -> Option<String>,
}

impl Rewriter<'_> {
    fn leaks(&self, value: &str) -> bool {
        let lower = value.to_ascii_lowercase();
        self.hidden
            .iter()
            .any(|h| !h.is_empty() && lower.contains(&h.to_ascii_lowercase()))
    }

    /// A SIP URI for the destination side: translated user, our domain,
    /// `user=phone` kept, URI headers mapped (Replaces) or dropped.
    pub(crate) fn uri(&self, uri: &Uri) -> Option<String> {
        match uri.scheme() {
            Scheme::Tel => Some(uri.as_str().to_owned()),
            Scheme::Other => (!self.leaks(uri.as_str())).then(|| uri.as_str().to_owned()),
            Scheme::Sip | Scheme::Sips => {
                let mut out = format!("{}:", uri.scheme_str());
                if let Some(user) = uri.user() {
                    let user = (self.users)(&user).unwrap_or_else(|| user.into_owned());
                    out.push_str(&escape_user(&user));
                    out.push('@');
                }
                out.push_str(self.domain);
                if let Some(v) = uri.user_param() {
                    out.push_str(";user=");
                    out.push_str(v);
                }
                let mut sep = '?';
                for h in uri.headers().unwrap_or_default().split('&') {
                    let Some((name, value)) = h.split_once('=') else {
                        continue;
                    };
                    let value = if name.eq_ignore_ascii_case("replaces") {
                        match (self.replaces)(&percent_decode(value)) {
                            Some(v) => escape_hvalue(&v),
                            None => continue,
                        }
                    } else if self.leaks(value) {
                        continue;
                    } else {
                        value.to_owned()
                    };
                    out.push(sep);
                    sep = '&';
                    out.push_str(name);
                    out.push('=');
                    out.push_str(&value);
                }
                Some(out)
            }
        }
    }

    /// A name-addr for the destination side (display name and header
    /// parameters kept unless they leak).
    pub(crate) fn name_addr(&self, na: &NameAddr) -> Option<String> {
        let uri = self.uri(na.uri())?;
        let mut out = String::new();
        if let Some(d) = na.display_name_raw() {
            if !self.leaks(d) {
                out.push_str(d);
                out.push(' ');
            }
        }
        out.push('<');
        out.push_str(&uri);
        out.push('>');
        let params = na.params_str();
        if !params.is_empty() && !self.leaks(params) {
            out.push_str(params);
        }
        Some(out)
    }

    fn address_list(&self, value: &str) -> Option<String> {
        let mut out = Vec::new();
        for item in split_top_commas(value) {
            let na = NameAddr::parse(item.trim()).ok()?;
            out.push(self.name_addr(&na)?);
        }
        (!out.is_empty()).then(|| out.join(", "))
    }
}

/// Splits at commas outside `<>` and quotes.
fn split_top_commas(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut angle, mut quote, mut start) = (false, false, 0);
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        match c {
            '"' if prev != '\\' => quote = !quote,
            '<' if !quote => angle = true,
            '>' if !quote => angle = false,
            ',' if !quote && !angle => {
                out.push(s.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
        prev = c;
    }
    out.push(s.get(start..).unwrap_or_default());
    out
}

/// Escapes a username for a URI user part (RFC 3261 §25.1).
pub(crate) fn escape_user(user: &str) -> String {
    let mut out = String::with_capacity(user.len());
    for b in user.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,;?/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The configured pass-through list, resolved once.
#[derive(Debug, Clone)]
pub(crate) struct PassList(Vec<HeaderName>);

impl PassList {
    pub(crate) fn new(names: &[String]) -> Self {
        Self(
            names
                .iter()
                .map(|n| HeaderName::new(n.trim()))
                .filter(|n| !never_copied(n) && !n.as_str().is_empty())
                .collect(),
        )
    }

    fn allows(&self, field: &HeaderField<'_>) -> Option<HeaderName> {
        self.0.iter().find(|n| field.is(n)).cloned()
    }

    /// The headers of `message` to send on the other leg, adapted by `rw`.
    /// Content-Type goes with the body and RAck is the caller's (its CSeq
    /// number is the leg's), so both are left out.
    pub(crate) fn copy(&self, message: &Message, rw: &Rewriter<'_>) -> Vec<(HeaderName, String)> {
        let mut out = Vec::new();
        for field in message.headers() {
            let Some(name) = self.allows(&field) else {
                continue;
            };
            if matches!(name, HeaderName::ContentType | HeaderName::RAck) {
                continue;
            }
            let value = if name == HeaderName::Replaces {
                (rw.replaces)(field.value)
            } else if is_address_header(&name) {
                rw.address_list(field.value)
            } else if rw.leaks(field.value) {
                None
            } else {
                Some(field.value.to_owned())
            };
            if let Some(v) = value {
                out.push((name, v));
            }
        }
        out
    }
}

/// A Replaces value split into (Call-ID, to-tag, from-tag, rest of the
/// parameters), RFC 3891 §6.1.
pub(crate) fn parse_replaces(value: &str) -> Option<(String, String, String, Vec<String>)> {
    let mut parts = value.split(';');
    let call_id = parts.next()?.trim().to_owned();
    let (mut to, mut from, mut rest) = (None, None, Vec::new());
    for p in parts {
        let p = p.trim();
        match p.split_once('=') {
            Some((n, v)) if n.trim().eq_ignore_ascii_case("to-tag") => {
                to = Some(v.trim().to_owned())
            }
            Some((n, v)) if n.trim().eq_ignore_ascii_case("from-tag") => {
                from = Some(v.trim().to_owned());
            }
            _ if !p.is_empty() => rest.push(p.to_owned()),
            _ => {}
        }
    }
    Some((call_id, to?, from?, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw<'a>(hidden: &'a [String]) -> Rewriter<'a> {
        Rewriter {
            domain: "gw.example.com",
            users: &|u| (u == "4001").then(|| "alice".to_owned()),
            hidden,
            replaces: &|v| Some(format!("X{v}")),
        }
    }

    #[test]
    fn address_headers_are_rewritten() {
        let hidden = vec!["10.0.0.5".to_owned()];
        let r = rw(&hidden);
        let na =
            NameAddr::parse("\"Alice\" <sip:4001@10.0.0.5:5060;transport=udp;user=phone>").unwrap();
        assert_eq!(
            r.name_addr(&na).unwrap(),
            "\"Alice\" <sip:alice@gw.example.com;user=phone>"
        );
        let refer = NameAddr::parse("<sip:2001@10.0.0.5?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2>")
            .unwrap();
        assert_eq!(
            r.name_addr(&refer).unwrap(),
            "<sip:2001@gw.example.com?Replaces=Xabc%3Bto-tag%3D1%3Bfrom-tag%3D2>"
        );
        assert_eq!(
            r.address_list("<sip:1@a>;reason=busy, <tel:+331>").unwrap(),
            "<sip:1@gw.example.com>;reason=busy, <tel:+331>"
        );
    }

    #[test]
    fn replaces_parses() {
        let (c, t, f, rest) = parse_replaces("abc@h;to-tag=1;from-tag=2;early-only").unwrap();
        assert_eq!((c.as_str(), t.as_str(), f.as_str()), ("abc@h", "1", "2"));
        assert_eq!(rest, vec!["early-only".to_owned()]);
        assert!(parse_replaces("abc;to-tag=1").is_none());
    }

    #[test]
    fn never_copied_even_if_listed() {
        let list = PassList::new(&["Via".to_owned(), "X-Aastra-Id".to_owned()]);
        assert_eq!(list.0.len(), 1);
    }
}
