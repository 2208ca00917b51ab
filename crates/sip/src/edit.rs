//! The edit list (Kamailio "lumps", done so that edits are visible): span
//! operations recorded in any order, applied in one pass that also fixes
//! Content-Length, then re-parsed into a new [`Message`].

use bytes::Bytes;

use crate::message::Kind;
use crate::{HeaderName, Message, ParseError, Part, Uri};

#[derive(Debug)]
struct Op {
    start: u32,
    end: u32,
    data: Vec<u8>,
    seq: u32,
}

/// Records edits to a message; [`Editor::apply`] serialises them.
///
/// Header indexes are those of [`Message::headers`] on the original
/// message. Operations on a header that another operation removes are
/// dropped; several insertions at one place keep their call order.
#[derive(Debug)]
pub struct Editor {
    msg: Message,
    ops: Vec<Op>,
    removed: Vec<usize>,
    new_body: Option<Bytes>,
    error: Option<ParseError>,
}

fn line(name: &HeaderName, value: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.as_str().len() + value.len() + 4);
    v.extend_from_slice(name.as_str().as_bytes());
    v.extend_from_slice(b": ");
    v.extend_from_slice(value.as_bytes());
    v.extend_from_slice(b"\r\n");
    v
}

/// A value may not contain CR or LF: it would inject headers.
pub(crate) fn check_value(value: &str) -> Result<(), ParseError> {
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(ParseError::invalid(
            Part::HeaderSection,
            "CR, LF or NUL in an edited value",
        ));
    }
    Ok(())
}

impl Editor {
    pub(crate) fn new(msg: Message) -> Self {
        Self {
            msg,
            ops: Vec::new(),
            removed: Vec::new(),
            new_body: None,
            error: None,
        }
    }

    /// The message being edited (unchanged until [`Editor::apply`]).
    pub fn message(&self) -> &Message {
        &self.msg
    }

    fn push(&mut self, start: u32, end: u32, data: Vec<u8>) {
        let seq = self.ops.len() as u32;
        self.ops.push(Op {
            start,
            end,
            data,
            seq,
        });
    }

    fn fail(&mut self, e: ParseError) {
        self.error.get_or_insert(e);
    }

    fn entry_line(&mut self, index: usize) -> Option<(u32, u32)> {
        let l = self.msg.headers.get(index).map(|e| e.line);
        if l.is_none() {
            self.fail(ParseError::invalid(
                Part::HeaderSection,
                "edit refers to a header index that does not exist",
            ));
        }
        l
    }

    fn insert(&mut self, at: u32, name: &HeaderName, value: &str) {
        if let Err(e) = check_value(value) {
            return self.fail(e);
        }
        self.push(at, at, line(name, value));
    }

    /// Removes header `index`.
    pub fn remove(&mut self, index: usize) -> &mut Self {
        if let Some((s, e)) = self.entry_line(index) {
            self.removed.push(index);
            self.push(s, e, Vec::new());
        }
        self
    }

    /// Removes every header called `name`.
    pub fn remove_all(&mut self, name: &HeaderName) -> &mut Self {
        let idx: Vec<usize> = self
            .msg
            .headers()
            .filter(|h| h.is(name))
            .map(|h| h.index)
            .collect();
        for i in idx {
            self.remove(i);
        }
        self
    }

    /// Inserts a header line before header `index`.
    pub fn insert_before(&mut self, index: usize, name: &HeaderName, value: &str) -> &mut Self {
        if let Some((s, _)) = self.entry_line(index) {
            self.insert(s, name, value);
        }
        self
    }

    /// Inserts a header line after header `index`.
    pub fn insert_after(&mut self, index: usize, name: &HeaderName, value: &str) -> &mut Self {
        if let Some((_, e)) = self.entry_line(index) {
            self.insert(e, name, value);
        }
        self
    }

    /// Appends a header line at the end of the header section.
    pub fn append(&mut self, name: &HeaderName, value: &str) -> &mut Self {
        let at = self.msg.headers_end;
        self.insert(at, name, value);
        self
    }

    /// Replaces the value of header `index` (its name is kept as written).
    pub fn replace_value(&mut self, index: usize, value: &str) -> &mut Self {
        if let Err(e) = check_value(value) {
            self.fail(e);
            return self;
        }
        match self.msg.headers.get(index).map(|e| e.value) {
            Some((s, e)) => self.push(s, e, value.as_bytes().to_vec()),
            None => self.fail(ParseError::invalid(
                Part::HeaderSection,
                "edit refers to a header index that does not exist",
            )),
        }
        self
    }

    /// Adds a Via above the current top Via (a proxy forwarding a request,
    /// RFC 3261 §16.6 step 8); `value` is e.g. `SIP/2.0/UDP host;branch=z9hG4bK..`.
    pub fn prepend_via(&mut self, value: &str) -> &mut Self {
        let at = self
            .msg
            .headers
            .iter()
            .find(|e| e.name == Some(HeaderName::Via))
            .map_or(self.first_header_start(), |e| e.line.0);
        self.insert(at, &HeaderName::Via, value);
        self
    }

    fn first_header_start(&self) -> u32 {
        self.msg
            .headers
            .first()
            .map_or(self.msg.headers_end, |e| e.line.0)
    }

    /// Replaces the Request-URI (ignored with an error on a response).
    pub fn set_request_uri(&mut self, uri: &Uri) -> &mut Self {
        match &self.msg.kind {
            Kind::Request { uri_span, .. } => {
                let (s, e) = *uri_span;
                self.push(s, e, uri.as_str().as_bytes().to_vec());
            }
            Kind::Response { .. } => self.fail(ParseError::invalid(
                Part::RequestUri,
                "a response has no Request-URI",
            )),
        }
        self
    }

    /// Replaces the body. `content_type` sets (or with `None` removes) the
    /// Content-Type header; Content-Length is fixed by [`Editor::apply`].
    pub fn set_body(&mut self, content_type: Option<&str>, body: impl Into<Bytes>) -> &mut Self {
        let existing: Vec<usize> = self
            .msg
            .headers()
            .filter(|h| h.is(&HeaderName::ContentType))
            .map(|h| h.index)
            .collect();
        match content_type {
            Some(ct) => match existing.first() {
                Some(&i) => {
                    self.replace_value(i, ct);
                }
                None => {
                    self.append(&HeaderName::ContentType, ct);
                }
            },
            None => {
                for i in existing {
                    self.remove(i);
                }
            }
        }
        self.new_body = Some(body.into());
        self
    }

    /// Serialises the edits in one pass, fixes Content-Length (adding it if
    /// missing) and re-parses the result with the message's limits.
    pub fn apply(mut self) -> Result<Message, ParseError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let body_len = self
            .new_body
            .as_ref()
            .map_or(self.msg.body().len(), Bytes::len);
        if let Some(b) = self.new_body.take() {
            let (s, e) = self.msg.body;
            self.push(s, e, b.to_vec());
        }
        let cl = self
            .msg
            .headers
            .iter()
            .enumerate()
            .find(|(i, e)| e.name == Some(HeaderName::ContentLength) && !self.removed.contains(i))
            .map(|(_, e)| e.value);
        let n = body_len.to_string();
        match cl {
            Some((s, e)) => {
                // Drop any user edit of that value: the length is ours.
                self.ops.retain(|o| !(o.start == s && o.end == e));
                self.push(s, e, n.into_bytes());
            }
            None => {
                let at = self.msg.headers_end;
                self.push(at, at, line(&HeaderName::ContentLength, &n));
            }
        }
        let buf = &self.msg.buf;
        self.ops.sort_by_key(|o| (o.start, o.end > o.start, o.seq));
        let extra: usize = self.ops.iter().map(|o| o.data.len()).sum();
        let mut out = Vec::with_capacity(buf.len() + extra);
        let mut cursor = 0u32;
        for op in &self.ops {
            if op.start < cursor {
                // Inside a region an earlier operation removed or replaced.
                continue;
            }
            out.extend_from_slice(
                buf.get(cursor as usize..op.start as usize)
                    .unwrap_or_default(),
            );
            out.extend_from_slice(&op.data);
            cursor = op.end.max(op.start);
        }
        out.extend_from_slice(buf.get(cursor as usize..).unwrap_or_default());
        crate::parse(Bytes::from(out), &self.msg.limits)
    }
}
