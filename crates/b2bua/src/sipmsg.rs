//! Building the messages each leg sends: requests from scratch (every
//! routing and dialog header is the leg's own), responses to a received
//! request, ACKs for 2xx and CANCELs.

use std::net::SocketAddr;

use bytes::Bytes;
use outpost_sip::{HeaderName, Message, Method, NameAddr, Request, Response, StatusCode, Uri};

use crate::error::Error;

/// A request to build.
pub(crate) struct Outgoing<'a> {
    pub(crate) method: Method,
    pub(crate) uri: &'a Uri,
    pub(crate) via: String,
    pub(crate) routes: &'a [String],
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) call_id: &'a str,
    pub(crate) cseq: u32,
    pub(crate) contact: Option<&'a str>,
    pub(crate) max_forwards: u8,
    pub(crate) headers: Vec<(HeaderName, String)>,
    pub(crate) body: Option<(String, Bytes)>,
}

pub(crate) fn build_request(o: Outgoing<'_>) -> Result<Message, Error> {
    let mut b = Request::builder(o.method.clone(), o.uri)
        .header(HeaderName::Via, o.via)
        .header(HeaderName::MaxForwards, o.max_forwards.to_string());
    for r in o.routes {
        b = b.header(HeaderName::Route, r.as_str());
    }
    b = b
        .header(HeaderName::From, o.from)
        .header(HeaderName::To, o.to)
        .header(HeaderName::CallId, o.call_id)
        .header(HeaderName::CSeq, format!("{} {}", o.cseq, o.method));
    if let Some(c) = o.contact {
        b = b.header(HeaderName::Contact, c);
    }
    for (name, value) in o.headers {
        b = b.header(name, value);
    }
    if let Some((ct, body)) = o.body {
        b = b.body(&ct, body);
    }
    Ok(b.build()?.into_message())
}

/// The response to `request` (RFC 3261 §8.2.6): its Vias, From, To (plus
/// `to_tag` if it had none and the status is above 100), Call-ID and CSeq,
/// then `headers` and the body. `observed` adds RFC 3581 `received` and
/// `rport` to the top Via. The reason phrase is always the standard one:
/// the far side's could name its hosts.
pub(crate) fn build_response(
    request: &Message,
    status: StatusCode,
    to_tag: Option<&str>,
    observed: Option<SocketAddr>,
    headers: Vec<(HeaderName, String)>,
    body: Option<(String, Bytes)>,
) -> Result<Message, Error> {
    let mut b = Response::builder(status);
    for (i, via) in request.vias()?.iter().enumerate() {
        let value = match (i, observed) {
            (0, Some(addr)) => with_received(via.as_str(), via.host(), via.rport().is_some(), addr),
            _ => via.as_str().to_owned(),
        };
        b = b.header(HeaderName::Via, value);
    }
    let to = request.to()?;
    let to_value = match to_tag {
        Some(tag) if to.tag().is_none() && status.0 > 100 => format!("{};tag={tag}", to.as_str()),
        _ => to.as_str().to_owned(),
    };
    b = b
        .header(HeaderName::From, request.from()?.as_str())
        .header(HeaderName::To, to_value)
        .header(HeaderName::CallId, request.call_id()?)
        .header(HeaderName::CSeq, request.cseq()?.to_string());
    for (name, value) in headers {
        b = b.header(name, value);
    }
    if let Some((ct, body)) = body {
        b = b.body(&ct, body);
    }
    Ok(b.build()?.into_message())
}

/// RFC 3261 §18.2.1 and RFC 3581 §4: `received` when the sent-by host is
/// not the observed address, and `rport` filled in when the client asked.
fn with_received(via: &str, host: &str, rport: bool, addr: SocketAddr) -> String {
    let ip = addr.ip().to_string();
    let same_host = host.trim_start_matches('[').trim_end_matches(']') == ip;
    if same_host && !rport {
        return via.to_owned();
    }
    let mut out = String::with_capacity(via.len() + 48);
    // Drop existing received/rport parameters, keep the rest in order.
    let mut parts = via.split(';');
    out.push_str(parts.next().unwrap_or_default());
    for p in parts {
        let name = p.split('=').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("received") || name.eq_ignore_ascii_case("rport") {
            continue;
        }
        out.push(';');
        out.push_str(p);
    }
    out.push_str(";received=");
    out.push_str(&ip);
    if rport {
        out.push_str(";rport=");
        out.push_str(&addr.port().to_string());
    }
    out
}

/// A name-addr without its `tag` parameter (the leg keeps tags apart).
pub(crate) fn without_tag(na: &NameAddr) -> String {
    let mut out = String::new();
    if let Some(d) = na.display_name_raw() {
        out.push_str(d);
        out.push(' ');
    }
    out.push('<');
    out.push_str(na.uri().as_str());
    out.push('>');
    for p in na.params() {
        let Ok(p) = p else { break };
        if p.name.eq_ignore_ascii_case("tag") {
            continue;
        }
        out.push(';');
        out.push_str(p.name);
        if let Some(v) = p.value {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// `name-addr;tag=tag`.
pub(crate) fn with_tag(na: &str, tag: Option<&str>) -> String {
    match tag {
        Some(t) => format!("{na};tag={t}"),
        None => na.to_owned(),
    }
}

/// A display name as it may be copied: quoted-string or tokens, as written.
pub(crate) fn display_prefix(na: &NameAddr) -> String {
    na.display_name_raw()
        .map(|d| format!("{d} "))
        .unwrap_or_default()
}

/// A Max-Forwards for a relayed request: one less than received, at most
/// 70; `None` when it reached zero (RFC 3261 §16.3: 483).
pub(crate) fn next_max_forwards(request: &Message) -> Option<u8> {
    match request.max_forwards() {
        Ok(Some(0)) => None,
        Ok(Some(n)) => Some((n - 1).min(70)),
        _ => Some(70),
    }
}

/// The body of `message` with its Content-Type, if it has one.
pub(crate) fn body_of(message: &Message) -> Option<(String, Bytes)> {
    let body = message.body_bytes();
    if body.is_empty() {
        return None;
    }
    let ct = message
        .header(&HeaderName::ContentType)
        .map_or_else(|| "application/octet-stream".to_owned(), str::to_owned);
    Some((ct, body))
}

/// The Record-Route values of a message, one per route (comma lists split).
pub(crate) fn record_routes(message: &Message) -> Vec<String> {
    message
        .record_routes()
        .map(|r| r.iter().map(|na| na.as_str().to_owned()).collect())
        .unwrap_or_default()
}

/// The first Contact URI of a message.
pub(crate) fn contact_uri(message: &Message) -> Option<Uri> {
    message.contacts().ok()?.first().map(|c| c.uri().clone())
}

/// Replaces the top Via, the CSeq number and the credentials of a request
/// we sent, for re-sending it after a challenge (RFC 3261 §22.2: same
/// Call-ID and tags, CSeq + 1, new branch).
pub(crate) fn resend_with(
    sent: &Message,
    via: &str,
    cseq: u32,
    auth: (HeaderName, String),
) -> Result<Message, Error> {
    let method = sent.cseq()?.method.clone();
    let top_via = sent
        .headers()
        .find(|h| h.is(&HeaderName::Via))
        .map(|h| h.index);
    let cseq_idx = sent
        .headers()
        .find(|h| h.is(&HeaderName::CSeq))
        .map(|h| h.index);
    let mut e = sent.clone().edit();
    if let Some(i) = top_via {
        e.replace_value(i, via);
    }
    if let Some(i) = cseq_idx {
        e.replace_value(i, &format!("{cseq} {method}"));
    }
    e.remove_all(&HeaderName::Authorization);
    e.remove_all(&HeaderName::ProxyAuthorization);
    e.append(&auth.0, &auth.1);
    Ok(e.apply()?)
}

/// The CANCEL for a request we sent (RFC 3261 §9.1): same Request-URI,
/// top Via, Call-ID, From, To, Route and CSeq number.
pub(crate) fn cancel_for(sent: &Message) -> Result<Message, Error> {
    let uri = sent
        .request_uri()
        .ok_or(outpost_sip::ParseError::Missing(HeaderName::Via, None))?;
    let mut b = Request::builder(Method::Cancel, uri)
        .header(HeaderName::Via, sent.top_via()?.as_str())
        .header(HeaderName::MaxForwards, "70");
    for r in sent.header_all(&HeaderName::Route) {
        b = b.header(HeaderName::Route, r);
    }
    b = b
        .header(HeaderName::From, sent.from()?.as_str())
        .header(HeaderName::To, sent.to()?.as_str())
        .header(HeaderName::CallId, sent.call_id()?)
        .header(HeaderName::CSeq, format!("{} CANCEL", sent.cseq()?.seq));
    Ok(b.build()?.into_message())
}

/// Percent-encodes for a URI header value (RFC 3261 §25.1 `hvalue`).
pub(crate) fn escape_hvalue(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()[]/?:+$".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
