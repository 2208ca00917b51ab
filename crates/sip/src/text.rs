//! Character classes and small scanners shared by the typed parsers
//! (RFC 3261 §25.1). Everything works on bytes and never panics: indexes
//! come from `get` or from positions found inside the same slice.

use std::borrow::Cow;

/// `token` characters: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" /
/// "`" / "'" / "~".
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// Linear white space inside a header value: SP, HTAB and the CR LF of an
/// obs-fold (RFC 3261 §7.3.1: a fold is equivalent to SP).
pub(crate) fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `unreserved` = alphanum / mark.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

/// Index of the first non-LWS byte at or after `i`.
pub(crate) fn skip_lws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&b| is_lws(b)) {
        i += 1;
    }
    i
}

/// `s[start..end]` with LWS trimmed on both sides, as a range.
pub(crate) fn trim_range(s: &[u8], mut start: usize, mut end: usize) -> (usize, usize) {
    end = end.min(s.len());
    while start < end && s.get(start).is_some_and(|&b| is_lws(b)) {
        start += 1;
    }
    while end > start && s.get(end - 1).is_some_and(|&b| is_lws(b)) {
        end -= 1;
    }
    (start, end)
}

/// End (exclusive, after the closing quote) of the quoted-string that
/// starts at `s[start] == '"'`, honouring quoted-pairs. `None` if it is
/// unterminated or contains a bare CR/LF that is not a fold.
pub(crate) fn quoted_end(s: &[u8], start: usize) -> Option<usize> {
    if s.get(start) != Some(&b'"') {
        return None;
    }
    let mut i = start + 1;
    while let Some(&b) = s.get(i) {
        match b {
            b'"' => return Some(i + 1),
            b'\\' => {
                // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
                match s.get(i + 1) {
                    Some(&n) if n != b'\r' && n != b'\n' && n < 0x80 => i += 2,
                    _ => return None,
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// The content of a quoted-string (without the quotes) with quoted-pairs
/// resolved. Input that is not quoted is returned as is.
pub fn unquote(s: &str) -> Cow<'_, str> {
    let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return Cow::Borrowed(s);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Decodes %-escapes (RFC 3261 §25.1 `escaped`). Malformed escapes are kept
/// literally; bytes that do not form UTF-8 are replaced (U+FFFD).
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&x| hex(x)),
                b.get(i + 2).and_then(|&x| hex(x)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Whether `s[i..]` starts a valid `escaped` (% HEX HEX).
pub(crate) fn is_escape_at(s: &[u8], i: usize) -> bool {
    s.get(i) == Some(&b'%')
        && s.get(i + 1).is_some_and(|b| b.is_ascii_hexdigit())
        && s.get(i + 2).is_some_and(|b| b.is_ascii_hexdigit())
}

/// Splits a header value at top-level commas: commas inside quoted strings
/// and inside `<...>` do not split. Yields trimmed ranges (possibly empty).
pub(crate) fn split_commas(s: &[u8]) -> CommaSplit<'_> {
    CommaSplit {
        s,
        pos: 0,
        done: false,
    }
}

pub(crate) struct CommaSplit<'a> {
    s: &'a [u8],
    pos: usize,
    done: bool,
}

impl Iterator for CommaSplit<'_> {
    type Item = (usize, usize);
    fn next(&mut self) -> Option<(usize, usize)> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let mut i = start;
        let mut angle = false;
        while let Some(&b) = self.s.get(i) {
            match b {
                b'"' => match quoted_end(self.s, i) {
                    Some(e) => i = e,
                    None => {
                        // Unterminated: the rest is one element; its parser
                        // reports the error.
                        i = self.s.len();
                    }
                },
                b'<' => {
                    angle = true;
                    i += 1;
                }
                b'>' => {
                    angle = false;
                    i += 1;
                }
                b',' if !angle => {
                    self.pos = i + 1;
                    return Some(trim_range(self.s, start, i));
                }
                _ => i += 1,
            }
        }
        self.done = true;
        Some(trim_range(self.s, start, self.s.len()))
    }
}

/// One `name[=value]` item of a parameter list. `value` is raw: a quoted
/// value keeps its quotes (see [`Param::unquoted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The parameter name.
    pub name: &'a str,
    /// The raw value, `None` for a flag parameter (`;lr`).
    pub value: Option<&'a str>,
}

impl<'a> Param<'a> {
    /// The value with surrounding quotes and quoted-pairs removed.
    pub fn unquoted(&self) -> Option<Cow<'a, str>> {
        self.value.map(unquote)
    }
}

/// Tokenizer for parameter lists: `name=value` items separated by
/// `separator` (`;` for generic-params, `,` for auth-params as in
/// `Digest realm="x", nonce="y"`), with LWS around separators and `=`,
/// values that are tokens, `[IPv6]` hosts or quoted strings (with escapes).
/// Yields an error item and stops at the first malformed parameter.
///
/// ```
/// let mut p = outpost_sip::params(r#"realm="a \"b\"", qop=auth"#, ',');
/// let first = p.next().unwrap().unwrap();
/// assert_eq!(first.name, "realm");
/// assert_eq!(first.unquoted().unwrap(), r#"a "b""#);
/// assert_eq!(p.next().unwrap().unwrap().value, Some("auth"));
/// assert!(p.next().is_none());
/// ```
pub fn params(input: &str, separator: char) -> Params<'_> {
    Params {
        s: input,
        pos: 0,
        sep: separator as u8,
        failed: false,
        more: false,
    }
}

/// Iterator returned by [`params`].
#[derive(Debug, Clone)]
pub struct Params<'a> {
    s: &'a str,
    pos: usize,
    sep: u8,
    failed: bool,
    more: bool,
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<Param<'a>, crate::ParseError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let b = self.s.as_bytes();
        let start = skip_lws(b, self.pos);
        if start >= b.len() {
            if self.more {
                // A trailing separator with nothing after it.
                self.failed = true;
                return Some(Err(crate::ParseError::invalid(
                    crate::Part::Params,
                    "empty parameter",
                )));
            }
            return None;
        }
        self.more = false;
        match param_at(b, start, self.sep) {
            Ok((name, value, next)) => {
                let next = skip_lws(b, next);
                match b.get(next) {
                    None => self.pos = b.len(),
                    Some(&c) if c == self.sep => {
                        self.pos = next + 1;
                        self.more = true;
                    }
                    Some(_) => {
                        self.failed = true;
                        return Some(Err(crate::ParseError::invalid(
                            crate::Part::Params,
                            "unexpected character",
                        )));
                    }
                }
                let name = self.s.get(name.0..name.1).unwrap_or("");
                let value = value.and_then(|v| self.s.get(v.0..v.1));
                Some(Ok(Param { name, value }))
            }
            Err(reason) => {
                self.failed = true;
                Some(Err(crate::ParseError::invalid(crate::Part::Params, reason)))
            }
        }
    }
}

pub(crate) type Range2 = (usize, usize);

/// Parses `name [= value]` starting at `i` (LWS already skipped). Returns
/// the name and value ranges and the index just after the value.
pub(crate) fn param_at(
    b: &[u8],
    i: usize,
    sep: u8,
) -> Result<(Range2, Option<Range2>, usize), &'static str> {
    let mut j = i;
    while b.get(j).is_some_and(|&c| is_token(c)) {
        j += 1;
    }
    if j == i {
        return Err("empty parameter name");
    }
    let name = (i, j);
    let k = skip_lws(b, j);
    if b.get(k) != Some(&b'=') {
        return Ok((name, None, j));
    }
    let v = skip_lws(b, k + 1);
    let end = match b.get(v) {
        Some(b'"') => quoted_end(b, v).ok_or("unterminated quoted string")?,
        Some(b'[') => {
            let close = b
                .get(v..)
                .and_then(|r| memchr::memchr(b']', r))
                .ok_or("unterminated IPv6 reference")?;
            v + close + 1
        }
        _ => {
            let mut e = v;
            // gen-value = token / host / quoted-string; `:` appears in
            // some real-world values (e.g. +sip.instance URNs are quoted,
            // but ;ob or ;reg-id are plain) so allow it outside quotes.
            while b.get(e).is_some_and(|&c| {
                c != sep && (is_token(c) || c == b':' || c == b'/' || c == b'[' || c == b']')
            }) {
                e += 1;
            }
            e
        }
    };
    if end == v {
        return Err("empty parameter value");
    }
    Ok((name, Some((v, end)), end))
}

/// Parses a `;`-separated generic-param list that starts at `i` (which is at
/// a `;` or at the end). Returns the end of the list (LWS-trimmed) or an
/// error. The list must run to the end of `b`.
pub(crate) fn check_semi_params(b: &[u8], mut i: usize) -> Result<(), &'static str> {
    loop {
        i = skip_lws(b, i);
        match b.get(i) {
            None => return Ok(()),
            Some(b';') => {
                let s = skip_lws(b, i + 1);
                let (_, _, next) = param_at(b, s, b';')?;
                i = next;
            }
            Some(_) => return Err("unexpected character after value"),
        }
    }
}

/// Finds parameter `name` (case-insensitive) in a `;`-list that was already
/// validated by [`check_semi_params`]. `Some(None)` for a flag.
pub(crate) fn find_param<'a>(list: &'a str, name: &str) -> Option<Option<&'a str>> {
    params(
        list.trim_start_matches(|c: char| c == ';' || (c as u32) < 0x80 && is_lws(c as u8)),
        ';',
    )
    .map_while(Result::ok)
    .find(|p| p.name.eq_ignore_ascii_case(name))
    .map(|p| p.value)
}

/// Parses 1*DIGIT into a u64; `None` on a non-digit or overflow.
pub(crate) fn parse_digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let nz = s.iter().position(|&c| c != b'0').unwrap_or(s.len());
    let sig = s.get(nz..)?;
    if sig.len() > 20 {
        return None;
    }
    sig.iter().try_fold(0u64, |v, &c| {
        v.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

/// `std::str::from_utf8` for spans known to lie on ASCII boundaries of a
/// validated UTF-8 buffer; never fails in practice, empty if it did.
pub(crate) fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}
