//! Small typed header values: CSeq, Content-Type, numbers, option tags,
//! Call-ID, Date.

use std::fmt;

use bytes::Bytes;

use crate::text::{
    Params, check_semi_params, find_param, is_lws, is_token, params, skip_lws, text, trim_range,
};
use crate::{HeaderName, Method, ParseError};

/// CSeq: sequence number and method (RFC 3261 §20.16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// The sequence number; RFC 3261 §8.1.1.5 requires it below 2**31.
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// Parses a CSeq value (`1*DIGIT LWS Method`).
    pub fn parse(v: &[u8]) -> Result<Self, ParseError> {
        let bad = |r| ParseError::header(HeaderName::CSeq, r);
        let s = skip_lws(v, 0);
        let mut i = s;
        while v.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let seq = crate::text::parse_digits(v.get(s..i).unwrap_or_default())
            .ok_or_else(|| bad("bad sequence number"))?;
        if seq >= 1 << 31 {
            return Err(bad("sequence number must be below 2**31"));
        }
        let m = skip_lws(v, i);
        if m == i {
            return Err(bad("expected whitespace after sequence number"));
        }
        let (ms, me) = trim_range(v, m, v.len());
        let method = Method::from_token(v.get(ms..me).unwrap_or_default())
            .ok_or_else(|| bad("bad method"))?;
        Ok(Self {
            seq: seq as u32,
            method,
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// A media type: `type/subtype;param=value` (RFC 3261 §20.15).
#[derive(Clone)]
pub struct MediaType {
    raw: Bytes,
    slash: u32,
    end: u32,
    params: (u32, u32),
}

impl MediaType {
    /// Parses a media type.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::from_bytes(
            Bytes::copy_from_slice(s.as_bytes()),
            HeaderName::ContentType,
        )
    }

    pub(crate) fn from_bytes(raw: Bytes, name: HeaderName) -> Result<Self, ParseError> {
        let b: &[u8] = &raw;
        let bad = |r| ParseError::header(name.clone(), r);
        let s = skip_lws(b, 0);
        let mut i = s;
        while b.get(i).is_some_and(|&c| is_token(c)) {
            i += 1;
        }
        let te = i;
        i = skip_lws(b, i);
        if te == s || b.get(i) != Some(&b'/') {
            return Err(bad("expected type/subtype"));
        }
        let ss = skip_lws(b, i + 1);
        let mut j = ss;
        while b.get(j).is_some_and(|&c| is_token(c)) {
            j += 1;
        }
        if j == ss {
            return Err(bad("empty subtype"));
        }
        check_semi_params(b, j).map_err(bad)?;
        let (ps, pe) = trim_range(b, j, b.len());
        // Keep "type/subtype" contiguous only when written without LWS.
        let slash = if b.get(te) == Some(&b'/') && ss == te + 1 {
            te
        } else {
            return Err(bad("LWS inside type/subtype is not supported"));
        };
        let _ = s;
        Ok(Self {
            slash: slash as u32,
            end: j as u32,
            params: (ps as u32, pe as u32),
            raw: raw.slice(s..),
        }
        .rebase(s))
    }

    fn rebase(mut self, s: usize) -> Self {
        let s = s as u32;
        self.slash -= s;
        self.end -= s;
        self.params = (self.params.0 - s, self.params.1 - s);
        self
    }

    fn span(&self, a: u32, b: u32) -> &str {
        text(self.raw.get(a as usize..b as usize).unwrap_or_default())
    }
    /// `type/subtype` as written.
    pub fn essence(&self) -> &str {
        self.span(0, self.end)
    }
    /// The top-level type (`application`).
    pub fn mtype(&self) -> &str {
        self.span(0, self.slash)
    }
    /// The subtype (`sdp`).
    pub fn subtype(&self) -> &str {
        self.span(self.slash + 1, self.end)
    }
    /// Case-insensitive comparison of `type/subtype`.
    pub fn is(&self, essence: &str) -> bool {
        self.essence().eq_ignore_ascii_case(essence)
    }
    /// The parameters.
    pub fn params(&self) -> Params<'_> {
        params(
            self.span(self.params.0, self.params.1)
                .strip_prefix(';')
                .unwrap_or_default(),
            ';',
        )
    }
    /// A parameter by name (case-insensitive), raw.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(self.span(self.params.0, self.params.1), name)
    }
    /// The value as written.
    pub fn as_str(&self) -> &str {
        text(&self.raw)
    }
}

impl fmt::Debug for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaType({:?})", self.as_str())
    }
}

/// Parses a bounded unsigned number header (`Max-Forwards`, `Expires`,
/// `Content-Length`...), LWS-trimmed.
pub(crate) fn number(v: &[u8], name: HeaderName, max: u64) -> Result<u64, ParseError> {
    let (s, e) = trim_range(v, 0, v.len());
    crate::text::parse_digits(v.get(s..e).unwrap_or_default())
        .filter(|&n| n <= max)
        .ok_or_else(|| ParseError::header(name, "not a number in range"))
}

/// Validates a Call-ID: `word ["@" word]` (RFC 3261 §25.1).
pub(crate) fn call_id(v: &[u8]) -> Result<(usize, usize), ParseError> {
    let (s, e) = trim_range(v, 0, v.len());
    let word = |c: u8| {
        is_token(c)
            || matches!(
                c,
                b'(' | b')'
                    | b'<'
                    | b'>'
                    | b':'
                    | b'\\'
                    | b'"'
                    | b'/'
                    | b'['
                    | b']'
                    | b'?'
                    | b'{'
                    | b'}'
            )
    };
    let body = v.get(s..e).unwrap_or_default();
    let ok = !body.is_empty()
        && body.iter().filter(|&&c| c == b'@').count() <= 1
        && body.first() != Some(&b'@')
        && body.last() != Some(&b'@')
        && body.iter().all(|&c| c == b'@' || word(c));
    if ok {
        Ok((s, e))
    } else {
        Err(ParseError::header(HeaderName::CallId, "invalid Call-ID"))
    }
}

/// Validates an rfc1123-date as SIP requires it (RFC 3261 §20.17): the
/// time zone must be GMT (RFC 4475 §3.1.2.12 `baddate`).
pub(crate) fn check_date(v: &[u8]) -> Result<(), ParseError> {
    let bad = || ParseError::header(HeaderName::Date, "not an RFC 1123 date in GMT");
    let (s, e) = trim_range(v, 0, v.len());
    let d = text(v.get(s..e).unwrap_or_default());
    // wkday "," SP 2DIGIT SP month SP 4DIGIT SP 2DIGIT ":" 2DIGIT ":" 2DIGIT SP "GMT"
    let parts: Vec<&str> = d.split(' ').collect();
    let [wk, day, mon, year, time, zone] = parts.as_slice() else {
        return Err(bad());
    };
    let wk_ok = ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"].contains(wk);
    let mon_ok = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .contains(mon);
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|c| c.is_ascii_digit());
    let t: Vec<&str> = time.split(':').collect();
    let time_ok = t.len() == 3 && t.iter().all(|x| digits(x, 2));
    if wk_ok && digits(day, 2) && mon_ok && digits(year, 4) && time_ok && *zone == "GMT" {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Splits a comma list of tokens (option-tags, methods), merged across
/// header lines by the caller.
pub(crate) fn tokens<'a>(
    v: &'a [u8],
    name: &HeaderName,
    out: &mut Vec<&'a str>,
) -> Result<(), ParseError> {
    for (s, e) in crate::text::split_commas(v) {
        let t = v.get(s..e).unwrap_or_default();
        if t.is_empty() {
            // An empty element (`a, , b` or an empty header) is tolerated.
            continue;
        }
        if !t.iter().all(|&c| is_token(c)) || t.iter().any(|&c| is_lws(c)) {
            return Err(ParseError::header(name.clone(), "expected a token list"));
        }
        out.push(text(t));
    }
    Ok(())
}
