//! The message model: a `Bytes` buffer, the start line, an index of header
//! spans and lazily parsed, cached typed values.

use std::ops::Deref;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::error::Context;
use crate::text::{split_commas, text};
use crate::values::{self, MediaType};
use crate::{
    CSeq, Editor, HeaderName, Limit, Limits, Method, NameAddr, ParseError, Part, StatusCode, Uri,
    Via,
};

/// One header line (or folded lines) in the index.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Resolved name; `None` for an extension header.
    pub(crate) name: Option<HeaderName>,
    /// From the first byte of the name to just after the final LF.
    pub(crate) line: (u32, u32),
    /// End of the (right-trimmed) name.
    pub(crate) name_end: u32,
    /// The value, LWS-trimmed; may contain folds.
    pub(crate) value: (u32, u32),
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Request {
        method: Method,
        uri: Uri,
        uri_span: (u32, u32),
    },
    Response {
        status: StatusCode,
        reason: (u32, u32),
    },
}

type Cached<T> = OnceLock<Result<T, ParseError>>;

#[derive(Debug, Clone, Default)]
pub(crate) struct Cache {
    call_id: Cached<(u32, u32)>,
    cseq: Cached<CSeq>,
    vias: Cached<Vec<Via>>,
    from: Cached<NameAddr>,
    to: Cached<NameAddr>,
    contacts: Cached<(bool, Vec<NameAddr>)>,
    routes: Cached<Vec<NameAddr>>,
    record_routes: Cached<Vec<NameAddr>>,
    content_type: Cached<Option<MediaType>>,
}

/// A parsed SIP request or response. See the crate documentation.
#[derive(Debug, Clone)]
pub struct Message {
    pub(crate) buf: Bytes,
    pub(crate) limits: Limits,
    pub(crate) kind: Kind,
    pub(crate) headers: Vec<Entry>,
    pub(crate) headers_end: u32,
    pub(crate) body: (u32, u32),
    /// Boxed: the typed values take about a kilobyte inline, which every
    /// table, queue and struct holding a `Message` would pay per slot,
    /// filled or not (issue 13).
    pub(crate) cache: Box<Cache>,
}

/// One header as seen by [`Message::headers`].
#[derive(Debug, Clone, Copy)]
pub struct HeaderField<'a> {
    /// The resolved name, `None` for an extension header.
    pub known: Option<&'a HeaderName>,
    /// The name as written (`v`, `VIA`, `X-Foo`).
    pub raw_name: &'a str,
    /// The value as written, LWS-trimmed; an obs-fold stays in it as CRLF
    /// followed by whitespace (typed parsers treat it as whitespace).
    pub value: &'a str,
    /// The index of this header, for [`Editor`] operations.
    pub index: usize,
}

impl HeaderField<'_> {
    /// Whether this header is `name` (compact forms resolved).
    pub fn is(&self, name: &HeaderName) -> bool {
        name.same(self.known, self.raw_name.as_bytes())
    }
}

fn cached<T>(
    cell: &Cached<T>,
    f: impl FnOnce() -> Result<T, ParseError>,
) -> Result<&T, ParseError> {
    cell.get_or_init(f).as_ref().map_err(Clone::clone)
}

impl Message {
    fn slice(&self, s: (u32, u32)) -> &[u8] {
        self.buf.get(s.0 as usize..s.1 as usize).unwrap_or_default()
    }

    /// The message bytes: exactly the input (minus leading CRLFs and octets
    /// past the Content-Length body).
    pub fn as_bytes(&self) -> &Bytes {
        &self.buf
    }
    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.kind, Kind::Request { .. })
    }
    /// The request method (`None` for a response: see [`Message::cseq`]).
    pub fn method(&self) -> Option<&Method> {
        match &self.kind {
            Kind::Request { method, .. } => Some(method),
            Kind::Response { .. } => None,
        }
    }
    /// The Request-URI of a request.
    pub fn request_uri(&self) -> Option<&Uri> {
        match &self.kind {
            Kind::Request { uri, .. } => Some(uri),
            Kind::Response { .. } => None,
        }
    }
    /// The status code of a response.
    pub fn status(&self) -> Option<StatusCode> {
        match &self.kind {
            Kind::Response { status, .. } => Some(*status),
            Kind::Request { .. } => None,
        }
    }
    /// The reason phrase of a response (may be empty).
    pub fn reason(&self) -> Option<&str> {
        match &self.kind {
            Kind::Response { reason, .. } => Some(text(self.slice(*reason))),
            Kind::Request { .. } => None,
        }
    }
    /// The limits this message was parsed with (edits re-parse with them).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
    /// The body (never UTF-8 checked).
    pub fn body(&self) -> &[u8] {
        self.slice(self.body)
    }
    /// The body as a shared slice.
    pub fn body_bytes(&self) -> Bytes {
        self.buf.slice(self.body.0 as usize..self.body.1 as usize)
    }

    /// All headers in order.
    pub fn headers(&self) -> impl Iterator<Item = HeaderField<'_>> {
        self.headers
            .iter()
            .enumerate()
            .map(|(index, e)| HeaderField {
                known: e.name.as_ref(),
                raw_name: text(self.slice((e.line.0, e.name_end))),
                value: text(self.slice(e.value)),
                index,
            })
    }
    /// Number of header lines.
    pub fn header_count(&self) -> usize {
        self.headers.len()
    }
    fn entries<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a Entry> + 'a {
        self.headers
            .iter()
            .filter(move |e| name.same(e.name.as_ref(), self.slice((e.line.0, e.name_end))))
    }
    /// The first value of header `name`, raw.
    pub fn header(&self, name: &HeaderName) -> Option<&str> {
        self.entries(name).next().map(|e| text(self.slice(e.value)))
    }
    /// Every value of header `name`, one item per header line, raw (comma
    /// lists are not split: use the typed accessors or [`crate::params`]).
    pub fn header_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.entries(name).map(|e| text(self.slice(e.value)))
    }
    /// Whether header `name` is present.
    pub fn has_header(&self, name: &HeaderName) -> bool {
        self.entries(name).next().is_some()
    }

    /// The single value of a header that may appear once (RFC 4475
    /// §3.3.8 `multi01`: several is an error).
    fn single<'a>(&'a self, name: &'a HeaderName) -> Result<&'a Entry, ParseError> {
        let mut it = self.entries(name);
        let first = it
            .next()
            .ok_or_else(|| ParseError::Missing(name.clone(), None))?;
        if it.next().is_some() {
            return Err(ParseError::header(name.clone(), "appears more than once"));
        }
        Ok(first)
    }

    /// Call-ID.
    pub fn call_id(&self) -> Result<&str, ParseError> {
        let span = cached(&self.cache.call_id, || {
            let e = self.single(&HeaderName::CallId)?;
            let (s, t) = values::call_id(self.slice(e.value))?;
            Ok((e.value.0 + s as u32, e.value.0 + t as u32))
        })?;
        Ok(text(self.slice(*span)))
    }
    /// CSeq.
    pub fn cseq(&self) -> Result<&CSeq, ParseError> {
        cached(&self.cache.cseq, || {
            CSeq::parse(self.slice(self.single(&HeaderName::CSeq)?.value))
        })
    }
    /// All Via values, top first (several lines and comma lists merged).
    pub fn vias(&self) -> Result<&[Via], ParseError> {
        cached(&self.cache.vias, || {
            let mut out = Vec::with_capacity(4);
            for e in self.entries(&HeaderName::Via) {
                for (s, t) in split_commas(self.slice(e.value)) {
                    if s == t {
                        return Err(ParseError::header(HeaderName::Via, "empty value"));
                    }
                    if out.len() >= self.limits.max_vias {
                        return Err(ParseError::Limit {
                            limit: Limit::ViaCount,
                            value: out.len() + 1,
                            max: self.limits.max_vias,
                            context: None,
                        });
                    }
                    let base = e.value.0 as usize;
                    out.push(Via::from_bytes(self.buf.slice(base + s..base + t))?);
                }
            }
            Ok(out)
        })
        .map(Vec::as_slice)
    }
    /// The topmost Via.
    pub fn top_via(&self) -> Result<&Via, ParseError> {
        self.vias()?
            .first()
            .ok_or(ParseError::Missing(HeaderName::Via, None))
    }
    fn name_addr(&self, name: HeaderName) -> Result<NameAddr, ParseError> {
        let e = self.single(&name)?;
        NameAddr::from_bytes(
            self.buf.slice(e.value.0 as usize..e.value.1 as usize),
            name,
            self.limits.max_uri_length,
        )
    }
    /// From.
    pub fn from(&self) -> Result<&NameAddr, ParseError> {
        cached(&self.cache.from, || self.name_addr(HeaderName::From))
    }
    /// To.
    pub fn to(&self) -> Result<&NameAddr, ParseError> {
        cached(&self.cache.to, || self.name_addr(HeaderName::To))
    }
    /// Parses every value of a comma-list address header (uncached; for
    /// Path, P-Asserted-Identity, Service-Route...).
    pub fn name_addrs(&self, name: &HeaderName) -> Result<Vec<NameAddr>, ParseError> {
        let mut out = Vec::new();
        for e in self.entries(name) {
            for (s, t) in split_commas(self.slice(e.value)) {
                if s == t {
                    return Err(ParseError::header(name.clone(), "empty value"));
                }
                let base = e.value.0 as usize;
                out.push(NameAddr::from_bytes(
                    self.buf.slice(base + s..base + t),
                    name.clone(),
                    self.limits.max_uri_length,
                )?);
            }
        }
        Ok(out)
    }
    fn contact_list(&self) -> Result<&(bool, Vec<NameAddr>), ParseError> {
        cached(&self.cache.contacts, || {
            let star = self
                .entries(&HeaderName::Contact)
                .any(|e| self.slice(e.value) == b"*");
            if star {
                if self.entries(&HeaderName::Contact).count() > 1 {
                    return Err(ParseError::header(
                        HeaderName::Contact,
                        "'*' must be the only Contact",
                    ));
                }
                return Ok((true, Vec::new()));
            }
            Ok((false, self.name_addrs(&HeaderName::Contact)?))
        })
    }
    /// Contact values (empty for `Contact: *`, see
    /// [`Message::is_contact_wildcard`]).
    pub fn contacts(&self) -> Result<&[NameAddr], ParseError> {
        self.contact_list().map(|c| c.1.as_slice())
    }
    /// Whether the message carries `Contact: *` (RFC 3261 §10.2.2).
    pub fn is_contact_wildcard(&self) -> bool {
        self.contact_list().is_ok_and(|c| c.0)
    }
    /// Route values, in order.
    pub fn routes(&self) -> Result<&[NameAddr], ParseError> {
        cached(&self.cache.routes, || self.name_addrs(&HeaderName::Route)).map(Vec::as_slice)
    }
    /// Record-Route values, in order.
    pub fn record_routes(&self) -> Result<&[NameAddr], ParseError> {
        cached(&self.cache.record_routes, || {
            self.name_addrs(&HeaderName::RecordRoute)
        })
        .map(Vec::as_slice)
    }
    /// Content-Type, if present.
    pub fn content_type(&self) -> Result<Option<&MediaType>, ParseError> {
        cached(&self.cache.content_type, || {
            match self.entries(&HeaderName::ContentType).next() {
                None => Ok(None),
                Some(e) => MediaType::from_bytes(
                    self.buf.slice(e.value.0 as usize..e.value.1 as usize),
                    HeaderName::ContentType,
                )
                .map(Some),
            }
        })
        .map(Option::as_ref)
    }
    /// Content-Length as written (`None` if absent); parsing already
    /// checked it against the body.
    pub fn content_length(&self) -> Option<usize> {
        self.header(&HeaderName::ContentLength)
            .and_then(|v| v.trim().parse().ok())
    }
    /// Max-Forwards (0..=255), if present.
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        self.optional_number(HeaderName::MaxForwards, 255)
            .map(|v| v.map(|n| n as u8))
    }
    /// Expires (delta-seconds), if present.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.optional_number(HeaderName::Expires, u32::MAX.into())
            .map(|v| v.map(|n| n as u32))
    }
    fn optional_number(&self, name: HeaderName, max: u64) -> Result<Option<u64>, ParseError> {
        match self.entries(&name).next() {
            None => Ok(None),
            Some(_) => {
                values::number(self.slice(self.single(&name)?.value), name.clone(), max).map(Some)
            }
        }
    }
    /// The option-tags of Supported, Require, Proxy-Require or Unsupported
    /// (or any token-list header), merged across lines.
    pub fn option_tags(&self, name: &HeaderName) -> Result<Vec<&str>, ParseError> {
        let mut out = Vec::new();
        for e in self.entries(name) {
            values::tokens(self.slice(e.value), name, &mut out)?;
        }
        Ok(out)
    }
    /// Require option-tags.
    pub fn require(&self) -> Result<Vec<&str>, ParseError> {
        self.option_tags(&HeaderName::Require)
    }
    /// Proxy-Require option-tags.
    pub fn proxy_require(&self) -> Result<Vec<&str>, ParseError> {
        self.option_tags(&HeaderName::ProxyRequire)
    }
    /// Supported option-tags.
    pub fn supported(&self) -> Result<Vec<&str>, ParseError> {
        self.option_tags(&HeaderName::Supported)
    }
    /// Unsupported option-tags.
    pub fn unsupported(&self) -> Result<Vec<&str>, ParseError> {
        self.option_tags(&HeaderName::Unsupported)
    }
    /// Allow methods.
    pub fn allow(&self) -> Result<Vec<Method>, ParseError> {
        Ok(self
            .option_tags(&HeaderName::Allow)?
            .into_iter()
            .filter_map(|m| Method::from_token(m.as_bytes()))
            .collect())
    }

    /// The partial information an error response needs.
    pub(crate) fn context(&self) -> Context {
        let raw = |name: HeaderName| {
            self.entries(&name)
                .next()
                .map(|e| self.buf.slice(e.value.0 as usize..e.value.1 as usize))
        };
        Context {
            method: self.method().cloned(),
            is_request: self.is_request(),
            via: self
                .entries(&HeaderName::Via)
                .map(|e| self.buf.slice(e.value.0 as usize..e.value.1 as usize))
                .collect(),
            from: raw(HeaderName::From),
            to: raw(HeaderName::To),
            call_id: raw(HeaderName::CallId),
            cseq: raw(HeaderName::CSeq),
        }
    }

    /// Parses and checks what every UAS and proxy relies on (RFC 3261
    /// §8.1.1, §8.2, §16.3): Via, From, To, Call-ID and CSeq present once and
    /// valid, the CSeq method equal to the request method, no headers in
    /// the Request-URI (§19.1.1 table 1), valid Contact / Route /
    /// Record-Route / Content-Type and a GMT Date. Errors carry the
    /// [`Context`] needed for the 400 (see [`ParseError::is_request_recognised`]).
    ///
    /// Max-Forwards and Expires are not checked: RFC 4475 §3.1.2.4 lets an
    /// element treat bad values as absent. Extensions (Require, schemes,
    /// content types) are policy, not syntax: see the crate docs.
    pub fn validate(&self) -> Result<(), ParseError> {
        self.validate_inner()
            .map_err(|e| e.with_context(|| self.context()))
    }

    fn validate_inner(&self) -> Result<(), ParseError> {
        if self.vias()?.is_empty() {
            return Err(ParseError::Missing(HeaderName::Via, None));
        }
        self.from()?;
        self.to()?;
        self.call_id()?;
        let cseq = self.cseq()?;
        if let Kind::Request { method, uri, .. } = &self.kind {
            if &cseq.method != method {
                return Err(ParseError::MethodMismatch {
                    method: method.clone(),
                    cseq: cseq.method.clone(),
                    context: None,
                });
            }
            if uri.headers().is_some() {
                return Err(ParseError::invalid(
                    Part::RequestUri,
                    "headers are not allowed in a Request-URI",
                ));
            }
        }
        self.contacts()?;
        self.routes()?;
        self.record_routes()?;
        self.content_type()?;
        if let Some(e) = self.entries(&HeaderName::Date).next() {
            values::check_date(self.slice(e.value))?;
        }
        Ok(())
    }

    /// Turns this message into a [`Request`] (or gives it back).
    // The "error" is the message itself, handed back unchanged.
    #[allow(clippy::result_large_err)]
    pub fn into_request(self) -> Result<Request, Self> {
        if self.is_request() {
            Ok(Request(self))
        } else {
            Err(self)
        }
    }
    /// Turns this message into a [`Response`] (or gives it back).
    #[allow(clippy::result_large_err)]
    pub fn into_response(self) -> Result<Response, Self> {
        if self.is_request() {
            Err(self)
        } else {
            Ok(Response(self))
        }
    }
    /// Starts an edit list; [`Editor::apply`] gives the edited message.
    pub fn edit(self) -> Editor {
        Editor::new(self)
    }
}

/// A message known to be a request. Derefs to [`Message`].
#[derive(Debug, Clone)]
pub struct Request(pub(crate) Message);

/// A message known to be a response. Derefs to [`Message`].
#[derive(Debug, Clone)]
pub struct Response(pub(crate) Message);

impl Deref for Request {
    type Target = Message;
    fn deref(&self) -> &Message {
        &self.0
    }
}
impl Deref for Response {
    type Target = Message;
    fn deref(&self) -> &Message {
        &self.0
    }
}
impl From<Request> for Message {
    fn from(r: Request) -> Self {
        r.0
    }
}
impl From<Response> for Message {
    fn from(r: Response) -> Self {
        r.0
    }
}

static UNREACHABLE_METHOD: Method = Method::Ack;

impl Request {
    /// The method.
    pub fn method(&self) -> &Method {
        match &self.0.kind {
            Kind::Request { method, .. } => method,
            // A Request is only built from a request message.
            Kind::Response { .. } => &UNREACHABLE_METHOD,
        }
    }
    /// The Request-URI.
    pub fn uri(&self) -> Option<&Uri> {
        self.0.request_uri()
    }
    /// The message.
    pub fn into_message(self) -> Message {
        self.0
    }
    /// Starts an edit list.
    pub fn edit(self) -> Editor {
        Editor::new(self.0)
    }
    /// RFC 3261 §8.2.2.1: a UAS or proxy that serves only sip, sips and
    /// tel answers other Request-URI schemes with 416 (RFC 4475 §3.3.2).
    pub fn check_scheme(&self) -> Result<(), ParseError> {
        match self.uri() {
            Some(u) if u.scheme() == crate::Scheme::Other => Err(ParseError::UnsupportedScheme(
                u.scheme_str().to_owned(),
                Some(Box::new(self.0.context())),
            )),
            _ => Ok(()),
        }
    }
}

impl Response {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.0.status().unwrap_or(StatusCode(0))
    }
    /// The message.
    pub fn into_message(self) -> Message {
        self.0
    }
    /// Starts an edit list.
    pub fn edit(self) -> Editor {
        Editor::new(self.0)
    }
}

#[cfg(test)]
mod size_tests {
    /// Tables and queues pay a message's inline size per slot: keep it
    /// small (the typed cache lives behind a box).
    #[test]
    fn a_message_is_small_inline() {
        let size = size_of::<super::Message>();
        assert!(size <= 256, "Message is {size} bytes inline");
        let cache = size_of::<super::Cache>();
        assert!(cache > 512, "the cache is {cache} bytes: unbox it again");
    }
}
