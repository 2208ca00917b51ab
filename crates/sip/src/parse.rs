//! The scanner: start line (eager), header section split into spans with
//! names resolved through the table, body located by Content-Length.
//! One pass with memchr, one allocation (the header index).

use bytes::Bytes;

use crate::error::Context;
use crate::message::{Entry, Kind, Message};
use crate::text::{is_token, trim_range};
use crate::values::number;
use crate::{HeaderName, Limit, Limits, Method, ParseError, Part, StatusCode, Uri};

/// Parses one SIP message from a datagram or a framed stream buffer.
///
/// The start line and the header index are built here; typed header values
/// are parsed on first access. Octets after the Content-Length body are
/// discarded (RFC 3261 §18.3, RFC 4475 §3.1.1.8 `dblreq`); without
/// Content-Length the body runs to the end of `buf` (datagram rule).
/// Leading CRLFs (keep-alives, RFC 5626 §3.5.1) are skipped. The header
/// section must be UTF-8 (RFC 3261 §25.1 TEXT-UTF8); the body is not
/// inspected.
pub fn parse(buf: Bytes, limits: &Limits) -> Result<Message, ParseError> {
    if buf.len() > limits.max_message_size {
        return Err(ParseError::Limit {
            limit: Limit::MessageSize,
            value: buf.len(),
            max: limits.max_message_size,
            context: None,
        });
    }
    let skip = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let buf = if skip > 0 { buf.slice(skip..) } else { buf };
    if buf.is_empty() {
        return Err(ParseError::NotSip("empty"));
    }
    if buf.len() > u32::MAX as usize {
        return Err(ParseError::NotSip("too large"));
    }
    let b: &[u8] = &buf;
    let nl = memchr::memchr(b'\n', b).ok_or(ParseError::Truncated("no end of start line"))?;
    if nl + 1 > limits.max_line_length {
        return Err(ParseError::Limit {
            limit: Limit::LineLength,
            value: nl + 1,
            max: limits.max_line_length,
            context: None,
        });
    }
    let line_end = if nl > 0 && b.get(nl - 1) == Some(&b'\r') {
        nl - 1
    } else {
        nl
    };
    let line = b.get(..line_end).unwrap_or_default();
    let StartLine {
        is_request,
        method,
        kind: start_kind,
    } = StartLine::read(line)?;

    let scan = scan_headers(b, nl + 1, limits);
    let ctx_of = |entries: &[Entry]| context(b, &buf, entries, is_request, &method);
    let (entries, headers_end, body_start) = match scan {
        Ok(v) => v,
        Err((e, entries)) => return Err(e.with_context(|| ctx_of(&entries))),
    };
    let fail = |e: ParseError| e.with_context(|| ctx_of(&entries));
    if std::str::from_utf8(b.get(..headers_end).unwrap_or_default()).is_err() {
        return Err(fail(ParseError::invalid(Part::HeaderSection, "not UTF-8")));
    }

    // Content-Length frames the body; it is needed now, not lazily.
    let mut cl = None;
    for e in entries
        .iter()
        .filter(|e| e.name == Some(HeaderName::ContentLength))
    {
        if cl.is_some() {
            return Err(fail(ParseError::header(
                HeaderName::ContentLength,
                "more than one Content-Length",
            )));
        }
        let v = b
            .get(e.value.0 as usize..e.value.1 as usize)
            .unwrap_or_default();
        cl = Some(number(v, HeaderName::ContentLength, u32::MAX.into()).map_err(fail)? as usize);
    }
    let available = b.len() - body_start;
    let body_end = match cl {
        Some(n) if n > available => {
            return Err(fail(ParseError::invalid(
                Part::Body,
                "shorter than Content-Length",
            )));
        }
        Some(n) => body_start + n,
        None => b.len(),
    };

    let kind = match start_kind {
        Ok(k) => k,
        Err(e) => return Err(fail(e)),
    };
    let kind = match kind {
        StartKind::Request {
            method,
            uri: (us, ue),
        } => {
            if ue - us > limits.max_uri_length {
                return Err(fail(ParseError::Limit {
                    limit: Limit::UriLength,
                    value: ue - us,
                    max: limits.max_uri_length,
                    context: None,
                }));
            }
            let uri = Uri::from_bytes(buf.slice(us..ue))
                .map_err(|_| fail(ParseError::invalid(Part::RequestUri, "invalid Request-URI")))?;
            Kind::Request {
                method,
                uri,
                uri_span: (us as u32, ue as u32),
            }
        }
        StartKind::Response { status, reason } => Kind::Response {
            status,
            reason: (reason.0 as u32, reason.1 as u32),
        },
    };
    let buf = if body_end < b.len() {
        buf.slice(..body_end)
    } else {
        buf
    };
    Ok(Message {
        buf,
        limits: *limits,
        kind,
        headers: entries,
        headers_end: headers_end as u32,
        body: (body_start as u32, body_end as u32),
        cache: Box::default(),
    })
}

enum StartKind {
    Request {
        method: Method,
        uri: (usize, usize),
    },
    Response {
        status: StatusCode,
        reason: (usize, usize),
    },
}

struct StartLine {
    is_request: bool,
    method: Option<Method>,
    kind: Result<StartKind, ParseError>,
}

fn is_sip_version(v: &[u8]) -> bool {
    v.len() >= 4 && v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

impl StartLine {
    /// Reads the start line. Errors that leave no doubt the input is a SIP
    /// request are deferred (`kind`), so that the header section can still
    /// be scanned for the context of a 400/505; anything else is `NotSip`.
    fn read(line: &[u8]) -> Result<Self, ParseError> {
        if is_sip_version(line) {
            return Self::status_line(line);
        }
        let sp1 = memchr::memchr(b' ', line).ok_or(ParseError::NotSip("no space in start line"))?;
        let method_b = line.get(..sp1).unwrap_or_default();
        let method =
            Method::from_token(method_b).ok_or(ParseError::NotSip("method is not a token"))?;
        let trimmed = line
            .get(..trim_range(line, 0, line.len()).1)
            .unwrap_or_default();
        let last = trimmed.rsplit(|&c| c == b' ').next().unwrap_or_default();
        if !is_sip_version(last) {
            return Err(ParseError::NotSip("no SIP-Version in request line"));
        }
        let bad = |r| Err(ParseError::invalid(Part::StartLine, r));
        let kind = (|| {
            let rest = line.get(sp1 + 1..).unwrap_or_default();
            let sp2 = memchr::memchr(b' ', rest)
                .map(|p| sp1 + 1 + p)
                .ok_or(ParseError::invalid(Part::StartLine, "missing SIP-Version"))?;
            let version = line.get(sp2 + 1..).unwrap_or_default();
            if sp2 == sp1 + 1 {
                return bad("more than one SP between method and Request-URI");
            }
            if version.iter().any(|&c| c == b' ' || c == b'\t') {
                return bad("extra SP in request line");
            }
            if line.get(sp1 + 1) == Some(&b'<') {
                return Err(ParseError::invalid(
                    Part::RequestUri,
                    "Request-URI enclosed in <>",
                ));
            }
            if !version.eq_ignore_ascii_case(b"SIP/2.0") {
                return Err(ParseError::Version {
                    version: String::from_utf8_lossy(version).into_owned(),
                    context: None,
                });
            }
            Ok(StartKind::Request {
                method: method.clone(),
                uri: (sp1 + 1, sp2),
            })
        })();
        Ok(Self {
            is_request: true,
            method: Some(method),
            kind,
        })
    }

    fn status_line(line: &[u8]) -> Result<Self, ParseError> {
        // SIP-Version SP Status-Code SP Reason-Phrase; a missing SP before
        // an empty reason is tolerated.
        let sp = memchr::memchr(b' ', line).ok_or(ParseError::NotSip("no space in status line"))?;
        let version = line.get(..sp).unwrap_or_default();
        let kind = (|| {
            if !version.eq_ignore_ascii_case(b"SIP/2.0") {
                return Err(ParseError::Version {
                    version: String::from_utf8_lossy(version).into_owned(),
                    context: None,
                });
            }
            let code = line
                .get(sp + 1..(sp + 4).min(line.len()))
                .unwrap_or_default();
            let after = line.get(sp + 4);
            if code.len() != 3
                || !code.iter().all(u8::is_ascii_digit)
                || after.is_some_and(|&c| c != b' ')
            {
                return Err(ParseError::invalid(
                    Part::Status,
                    "status code is not three digits",
                ));
            }
            let status = code.iter().fold(0u16, |v, &c| v * 10 + u16::from(c - b'0'));
            if !(100..700).contains(&status) {
                return Err(ParseError::invalid(
                    Part::Status,
                    "status code out of range",
                ));
            }
            let rs = (sp + 5).min(line.len());
            if line
                .get(rs..)
                .unwrap_or_default()
                .iter()
                .any(|&c| c < 0x20 && c != b'\t')
            {
                return Err(ParseError::invalid(
                    Part::StartLine,
                    "control character in reason phrase",
                ));
            }
            Ok(StartKind::Response {
                status: StatusCode(status),
                reason: (rs, line.len()),
            })
        })();
        Ok(Self {
            is_request: false,
            method: None,
            kind,
        })
    }
}

type ScanOk = (Vec<Entry>, usize, usize);

/// Splits the header section into entries. Returns the entries, the offset
/// of the empty line and the offset of the body.
fn scan_headers(
    b: &[u8],
    mut pos: usize,
    limits: &Limits,
) -> Result<ScanOk, (ParseError, Vec<Entry>)> {
    let mut entries: Vec<Entry> = Vec::with_capacity(20);
    let mut vias = 0usize;
    loop {
        let rest = b.get(pos..).unwrap_or_default();
        let Some(nl) = memchr::memchr(b'\n', rest) else {
            return Err((
                ParseError::Truncated("no empty line after the header section"),
                entries,
            ));
        };
        if nl + 1 > limits.max_line_length {
            let e = ParseError::Limit {
                limit: Limit::LineLength,
                value: nl + 1,
                max: limits.max_line_length,
                context: None,
            };
            return Err((e, entries));
        }
        let next = pos + nl + 1;
        let mut end = pos + nl;
        if end > pos && b.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        if end == pos {
            finish(b, &mut entries);
            return Ok((entries, pos, next));
        }
        match b.get(pos) {
            Some(b' ' | b'\t') => {
                // obs-fold: continuation of the previous header's value.
                let Some(last) = entries.last_mut() else {
                    return Err((
                        ParseError::invalid(
                            Part::HeaderSection,
                            "continuation line before the first header",
                        ),
                        entries,
                    ));
                };
                last.line.1 = next as u32;
                last.value.1 = end as u32;
            }
            _ => {
                let line = b.get(pos..end).unwrap_or_default();
                let Some(colon) = memchr::memchr(b':', line) else {
                    return Err((
                        ParseError::invalid(Part::HeaderSection, "header line without ':'"),
                        entries,
                    ));
                };
                let name_b = line.get(..colon).unwrap_or_default();
                let name_len = name_b
                    .iter()
                    .rposition(|&c| c != b' ' && c != b'\t')
                    .map_or(0, |p| p + 1);
                let name_b = name_b.get(..name_len).unwrap_or_default();
                if name_b.is_empty() || !name_b.iter().all(|&c| is_token(c)) {
                    return Err((
                        ParseError::invalid(Part::HeaderSection, "invalid header name"),
                        entries,
                    ));
                }
                if entries.len() >= limits.max_headers {
                    let e = ParseError::Limit {
                        limit: Limit::HeaderCount,
                        value: entries.len() + 1,
                        max: limits.max_headers,
                        context: None,
                    };
                    return Err((e, entries));
                }
                let name = HeaderName::lookup(name_b);
                if name == Some(HeaderName::Via) {
                    vias += 1;
                    if vias > limits.max_vias {
                        let e = ParseError::Limit {
                            limit: Limit::ViaCount,
                            value: vias,
                            max: limits.max_vias,
                            context: None,
                        };
                        return Err((e, entries));
                    }
                }
                entries.push(Entry {
                    name,
                    line: (pos as u32, next as u32),
                    name_end: (pos + name_len) as u32,
                    value: ((pos + colon + 1) as u32, end as u32),
                });
            }
        }
        pos = next;
    }
}

/// Trims LWS (including folds) around each value.
fn finish(b: &[u8], entries: &mut [Entry]) {
    for e in entries {
        let (s, t) = trim_range(b, e.value.0 as usize, e.value.1 as usize);
        e.value = (s as u32, t as u32);
    }
}

/// The partial information kept in an error (RFC 3261 §8.2.6 headers).
fn context(
    b: &[u8],
    buf: &Bytes,
    entries: &[Entry],
    is_request: bool,
    method: &Option<Method>,
) -> Context {
    let mut ctx = Context {
        method: method.clone(),
        is_request,
        ..Context::default()
    };
    for e in entries {
        let (s, t) = trim_range(b, e.value.0 as usize, e.value.1 as usize);
        let v = || buf.slice(s..t);
        match e.name {
            Some(HeaderName::Via) => ctx.via.push(v()),
            Some(HeaderName::From) if ctx.from.is_none() => ctx.from = Some(v()),
            Some(HeaderName::To) if ctx.to.is_none() => ctx.to = Some(v()),
            Some(HeaderName::CallId) if ctx.call_id.is_none() => ctx.call_id = Some(v()),
            Some(HeaderName::CSeq) if ctx.cseq.is_none() => ctx.cseq = Some(v()),
            _ => {}
        }
    }
    ctx
}
