//! Building new messages: request and response builders, and the response
//! to a request (RFC 3261 §8.2.6) or to a request that failed to parse.

use bytes::{BufMut, Bytes, BytesMut};

use crate::edit::check_value;
use crate::text::is_token;
use crate::{HeaderName, Limits, Message, Method, ParseError, Request, Response, StatusCode, Uri};

fn push_header(out: &mut BytesMut, name: &str, value: &[u8]) {
    out.put_slice(name.as_bytes());
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

fn sanitize_reason(reason: &str) -> String {
    reason.chars().filter(|c| !c.is_control()).collect()
}

fn valid_status(status: StatusCode) -> StatusCode {
    if status.is_valid() {
        status
    } else {
        StatusCode::SERVER_INTERNAL_ERROR
    }
}

/// Headers and body shared by both builders.
#[derive(Debug, Default)]
struct Parts {
    headers: Vec<(HeaderName, String)>,
    body: Option<(String, Bytes)>,
}

impl Parts {
    fn finish(&self, mut out: BytesMut) -> Result<Message, ParseError> {
        for (name, value) in &self.headers {
            check_value(value)?;
            if matches!(name, HeaderName::ContentLength) {
                continue;
            }
            push_header(&mut out, name.as_str(), value.as_bytes());
        }
        let body = match &self.body {
            Some((ct, body)) => {
                check_value(ct)?;
                push_header(&mut out, "Content-Type", ct.as_bytes());
                body.clone()
            }
            None => Bytes::new(),
        };
        push_header(
            &mut out,
            "Content-Length",
            body.len().to_string().as_bytes(),
        );
        out.put_slice(b"\r\n");
        out.put_slice(&body);
        crate::parse(out.freeze(), &Limits::relaxed())
    }
}

/// Builds a request; see [`Request::builder`].
#[derive(Debug)]
pub struct RequestBuilder {
    method: Method,
    uri: Uri,
    parts: Parts,
}

impl RequestBuilder {
    /// Adds a header line (Content-Length is computed, never taken).
    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.parts.headers.push((name, value.into()));
        self
    }
    /// Sets the body and its Content-Type.
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.parts.body = Some((content_type.to_owned(), body.into()));
        self
    }
    /// Serialises and parses the request.
    pub fn build(self) -> Result<Request, ParseError> {
        let mut out = BytesMut::with_capacity(512);
        out.put_slice(self.method.as_str().as_bytes());
        out.put_u8(b' ');
        out.put_slice(self.uri.as_str().as_bytes());
        out.put_slice(b" SIP/2.0\r\n");
        let msg = self.parts.finish(out)?;
        msg.into_request().map_err(|_| {
            ParseError::invalid(crate::Part::StartLine, "built request parsed as a response")
        })
    }
}

/// Builds a response; see [`Response::builder`].
#[derive(Debug)]
pub struct ResponseBuilder {
    status: StatusCode,
    reason: Option<String>,
    parts: Parts,
}

impl ResponseBuilder {
    /// Sets the reason phrase (default: the RFC 3261 one).
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }
    /// Adds a header line (Content-Length is computed, never taken).
    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.parts.headers.push((name, value.into()));
        self
    }
    /// Sets the body and its Content-Type.
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.parts.body = Some((content_type.to_owned(), body.into()));
        self
    }
    /// Serialises and parses the response.
    pub fn build(self) -> Result<Response, ParseError> {
        let status = valid_status(self.status);
        let reason = sanitize_reason(self.reason.as_deref().unwrap_or(status.canonical_reason()));
        let mut out = BytesMut::with_capacity(512);
        out.put_slice(format!("SIP/2.0 {:03} {}\r\n", status.0, reason).as_bytes());
        let msg = self.parts.finish(out)?;
        msg.into_response().map_err(|_| {
            ParseError::invalid(crate::Part::StartLine, "built response parsed as a request")
        })
    }
}

impl Request {
    /// Starts a request: `Request::builder(Method::Options, &uri).header(..).build()`.
    pub fn builder(method: Method, uri: &Uri) -> RequestBuilder {
        RequestBuilder {
            method,
            uri: uri.clone(),
            parts: Parts::default(),
        }
    }
}

/// The To value with `;tag=` added when it has none (RFC 3261 §8.2.6.2).
fn to_with_tag(to: &[u8], has_tag: bool, tag: Option<&str>, status: StatusCode) -> Vec<u8> {
    let mut v = to.to_vec();
    if let Some(tag) = tag {
        let tag: String = tag
            .bytes()
            .filter(|&b| is_token(b))
            .map(char::from)
            .collect();
        if !has_tag && status.0 > 100 && !tag.is_empty() {
            v.extend_from_slice(b";tag=");
            v.extend_from_slice(tag.as_bytes());
        }
    }
    v
}

impl Response {
    /// Starts a response.
    pub fn builder(status: StatusCode) -> ResponseBuilder {
        ResponseBuilder {
            status,
            reason: None,
            parts: Parts::default(),
        }
    }

    /// The response to `request` per RFC 3261 §8.2.6: Via(s), From, To
    /// (with `to_tag` added if the request had no tag and the status is
    /// above 100), Call-ID and CSeq copied byte for byte, Content-Length 0.
    /// `reason` empty means the RFC 3261 reason phrase.
    pub fn for_request(
        request: &Request,
        status: StatusCode,
        reason: &str,
        to_tag: Option<&str>,
    ) -> Self {
        let has_tag = request.to().is_ok_and(|t| t.tag().is_some());
        let raw = |name: HeaderName| {
            request
                .header_all(&name)
                .map(|v| Bytes::copy_from_slice(v.as_bytes()))
                .collect::<Vec<_>>()
        };
        let first = |name: HeaderName| raw(name).into_iter().next();
        let out = head(
            status,
            reason,
            &raw(HeaderName::Via),
            first(HeaderName::From).as_deref(),
            first(HeaderName::To)
                .map(|t| to_with_tag(&t, has_tag, to_tag, status))
                .as_deref(),
            first(HeaderName::CallId).as_deref(),
            first(HeaderName::CSeq).as_deref(),
        );
        let msg = crate::parse(out, &Limits::relaxed());
        // The copied values come from a parsed request (UTF-8, no bare CR
        // or LF), the tag is reduced to token characters, the status is
        // clamped to 100..=699 and the reason has no control characters,
        // so the response always parses; the fallback is never taken.
        match msg.map(Message::into_response) {
            Ok(Ok(r)) => r,
            _ => minimal(status),
        }
    }

    /// The response to a request that failed to parse or validate, when
    /// [`ParseError::is_request_recognised`]: the status from
    /// `StatusCode::from(err)`, the headers the error kept, and a
    /// `Warning: 399` carrying the error text. `None` when nothing should
    /// be sent (garbage, responses).
    pub fn for_error(err: &ParseError, to_tag: Option<&str>) -> Option<Self> {
        if !err.is_request_recognised() {
            return None;
        }
        let ctx = err.context()?;
        let status = StatusCode::from(err);
        let has_tag = ctx
            .to
            .as_ref()
            .is_some_and(|t| crate::text::text(t).contains(";tag="));
        let mut out = BytesMut::from(
            &head(
                status,
                "",
                &ctx.via,
                ctx.from.as_deref(),
                ctx.to
                    .as_ref()
                    .map(|t| to_with_tag(t, has_tag, to_tag, status))
                    .as_deref(),
                ctx.call_id.as_deref(),
                ctx.cseq.as_deref(),
            )[..],
        );
        // Insert the Warning before the final "Content-Length: 0\r\n\r\n".
        let tail = out.split_off(out.len() - b"Content-Length: 0\r\n\r\n".len());
        let text: String = err
            .to_string()
            .chars()
            .map(|c| {
                if c == '"' || c == '\\' || c.is_control() {
                    '\''
                } else {
                    c
                }
            })
            .collect();
        push_header(&mut out, "Warning", format!("399 - \"{text}\"").as_bytes());
        out.unsplit(tail);
        crate::parse(out.freeze(), &Limits::relaxed())
            .ok()?
            .into_response()
            .ok()
    }
}

fn head(
    status: StatusCode,
    reason: &str,
    via: &[Bytes],
    from: Option<&[u8]>,
    to: Option<&[u8]>,
    call_id: Option<&[u8]>,
    cseq: Option<&[u8]>,
) -> Bytes {
    let status = valid_status(status);
    let reason = if reason.is_empty() {
        status.canonical_reason().to_owned()
    } else {
        sanitize_reason(reason)
    };
    let mut out = BytesMut::with_capacity(512);
    out.put_slice(format!("SIP/2.0 {:03} {}\r\n", status.0, reason).as_bytes());
    for v in via {
        push_header(&mut out, "Via", v);
    }
    for (name, v) in [
        ("From", from),
        ("To", to),
        ("Call-ID", call_id),
        ("CSeq", cseq),
    ] {
        if let Some(v) = v {
            push_header(&mut out, name, v);
        }
    }
    out.put_slice(b"Content-Length: 0\r\n\r\n");
    out.freeze()
}

fn minimal(status: StatusCode) -> Response {
    let status = valid_status(status);
    let msg = Message {
        buf: Bytes::from(format!("SIP/2.0 {:03} \r\n\r\n", status.0)),
        limits: Limits::relaxed(),
        kind: crate::message::Kind::Response {
            status,
            reason: (12, 12),
        },
        headers: Vec::new(),
        headers_end: 14,
        body: (16, 16),
        cache: Default::default(),
    };
    Response(msg)
}
