//! Tokenizer and renderer for the `Digest` auth-param list
//! (RFC 7235 §2.1, RFC 7616 §3.3–3.4, RFC 2617 §3.2, RFC 3261 §25.1).
//!
//! Own code rather than the message parser's, so the digest layer depends
//! only on header value strings. Limits: each value at most
//! [`MAX_VALUE_LEN`] bytes after unescaping, names at most
//! [`MAX_NAME_LEN`] bytes, at most [`MAX_PARAMS`] parameters; exceeding
//! them is an error, and work is linear in the input length.

use super::DigestError;
use super::error::clip;

/// Longest accepted parameter value, in bytes after removing escapes.
pub const MAX_VALUE_LEN: usize = 1024;
/// Longest accepted parameter name (and scheme), in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Most parameters accepted in one header value.
pub const MAX_PARAMS: usize = 32;

/// An auth-param the digest layer does not interpret, kept so it can be
/// passed on or rendered again (`domain`, `charset`, `userhash`, extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthParam {
    /// Parameter name as received; names compare case-insensitively.
    pub name: String,
    /// Value with quoted-string escapes removed.
    pub value: String,
    /// Whether the value was a quoted-string; rendering keeps the form
    /// (a value that is not a valid token is always quoted).
    pub quoted: bool,
}

/// RFC 7230 `tchar` and RFC 3261 `token` characters (their union).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// Whether `s` is a non-empty token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Control characters that may never appear in a value (HTAB is allowed).
pub(crate) fn is_forbidden_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// Linear whitespace between elements. CR and LF are tolerated so that a
/// folded header value (RFC 3261 §7.3.1) parses; they can never end up in a
/// value.
fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn malformed(&self, reason: &'static str) -> DigestError {
        DigestError::Malformed {
            offset: self.pos,
            reason,
        }
    }

    /// Skips whitespace; returns whether any was skipped.
    fn skip_lws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_lws) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Reads a token of at most `max` bytes; `None` if there is none.
    fn token(&mut self, max: usize) -> Result<Option<&'a str>, usize> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
            if self.pos - start > max {
                return Err(start);
            }
        }
        // Token bytes are ASCII, so both ends are char boundaries.
        Ok(self.text.get(start..self.pos).filter(|t| !t.is_empty()))
    }

    /// Reads a quoted-string (the cursor is on the opening quote) and
    /// returns its unescaped content.
    fn quoted(&mut self, name: &str) -> Result<String, DigestError> {
        let bytes = self.text.as_bytes();
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                return Err(self.malformed("unterminated quoted-string"));
            };
            let byte = match b {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    self.pos += 1;
                    match bytes.get(self.pos) {
                        None => return Err(self.malformed("unterminated quoted-string")),
                        Some(&e) if is_forbidden_ctl(e) => {
                            return Err(self.malformed("control character in quoted-string"));
                        }
                        Some(&e) => e,
                    }
                }
                _ if is_forbidden_ctl(b) => {
                    return Err(self.malformed("control character in quoted-string"));
                }
                _ => b,
            };
            if out.len() == MAX_VALUE_LEN {
                return Err(DigestError::ValueTooLong {
                    name: clip(name),
                    max: MAX_VALUE_LEN,
                });
            }
            out.push(byte);
            self.pos += 1;
        }
        // Only ASCII bytes were dropped (quotes and backslashes), so the
        // content is still UTF-8; the error arm is unreachable in practice.
        String::from_utf8(out).map_err(|_| self.malformed("invalid UTF-8 in quoted-string"))
    }
}

/// Parses `Digest name=value, ...` into its parameters, in order.
///
/// The scheme is matched case-insensitively; names are kept as received;
/// duplicate names (case-insensitive) are an error.
pub(crate) fn parse_digest(text: &str) -> Result<Vec<AuthParam>, DigestError> {
    let mut c = Cursor { text, pos: 0 };
    c.skip_lws();
    let scheme = match c.token(MAX_NAME_LEN) {
        Ok(Some(scheme)) => scheme,
        Ok(None) => return Err(c.malformed("expected an authentication scheme")),
        Err(offset) => {
            return Err(DigestError::Malformed {
                offset,
                reason: "authentication scheme too long",
            });
        }
    };
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(DigestError::NotDigest {
            scheme: clip(scheme),
        });
    }
    let mut params: Vec<AuthParam> = Vec::new();
    if !c.skip_lws() {
        return match c.peek() {
            None => Ok(params),
            Some(_) => Err(c.malformed("expected whitespace after the scheme")),
        };
    }
    loop {
        // Empty list elements are allowed (RFC 7230 §7).
        loop {
            c.skip_lws();
            if c.peek() == Some(b',') {
                c.pos += 1;
            } else {
                break;
            }
        }
        if c.peek().is_none() {
            break;
        }
        if params.len() == MAX_PARAMS {
            return Err(DigestError::TooManyParams { max: MAX_PARAMS });
        }
        let name = match c.token(MAX_NAME_LEN) {
            Ok(Some(name)) => name,
            Ok(None) => return Err(c.malformed("expected a parameter name")),
            Err(offset) => {
                return Err(DigestError::Malformed {
                    offset,
                    reason: "parameter name too long",
                });
            }
        };
        c.skip_lws();
        if c.peek() != Some(b'=') {
            return Err(c.malformed("expected '=' after the parameter name"));
        }
        c.pos += 1;
        c.skip_lws();
        let (value, quoted) = if c.peek() == Some(b'"') {
            (c.quoted(name)?, true)
        } else {
            match c.token(MAX_VALUE_LEN) {
                Ok(Some(value)) => (value.to_owned(), false),
                Ok(None) => return Err(c.malformed("expected a token or quoted-string value")),
                Err(_) => {
                    return Err(DigestError::ValueTooLong {
                        name: clip(name),
                        max: MAX_VALUE_LEN,
                    });
                }
            }
        };
        if params.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            return Err(DigestError::DuplicateParam { name: clip(name) });
        }
        params.push(AuthParam {
            name: name.to_owned(),
            value,
            quoted,
        });
        c.skip_lws();
        match c.peek() {
            None => break,
            Some(b',') => c.pos += 1,
            Some(_) => return Err(c.malformed("expected ',' between parameters")),
        }
    }
    Ok(params)
}

/// Builds `Digest a="x", b=y` header values. Values are escaped so the
/// output is always one well-formed header line: control characters other
/// than HTAB (which no parsed value contains) are dropped, never emitted.
pub(crate) struct Writer {
    out: String,
    first: bool,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self {
            out: String::from("Digest"),
            first: true,
        }
    }

    fn name(&mut self, name: &str) {
        self.out.push_str(if self.first { " " } else { ", " });
        self.first = false;
        self.out.push_str(name);
        self.out.push('=');
    }

    /// Appends `name="value"` with `"` and `\` escaped.
    pub(crate) fn quoted(&mut self, name: &str, value: &str) {
        self.name(name);
        self.out.push('"');
        for ch in value.chars() {
            if ch == '"' || ch == '\\' {
                self.out.push('\\');
            } else if ch.is_ascii() && is_forbidden_ctl(ch as u8) {
                continue;
            }
            self.out.push(ch);
        }
        self.out.push('"');
    }

    /// Appends `name=value` for a value known to be a token.
    pub(crate) fn token(&mut self, name: &str, value: &str) {
        if is_token(value) {
            self.name(name);
            self.out.push_str(value);
        } else {
            self.quoted(name, value);
        }
    }

    /// Appends an uninterpreted parameter in its original form; a name that
    /// is not a valid token cannot be rendered and is skipped.
    pub(crate) fn other(&mut self, param: &AuthParam) {
        if !is_token(&param.name) || param.name.len() > MAX_NAME_LEN {
            return;
        }
        if param.quoted {
            self.quoted(&param.name, &param.value);
        } else {
            self.token(&param.name, &param.value);
        }
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}
