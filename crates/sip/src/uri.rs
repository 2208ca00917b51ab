//! URIs: sip, sips, tel and other absolute URIs (RFC 3261 §19.1, §25.1;
//! RFC 3966). Parsed once into spans over the original bytes; %-escapes are
//! kept raw and decoded on access.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::Bytes;

use crate::text::{Param, is_escape_at, is_unreserved, percent_decode, text};
use crate::{ParseError, Part};

type Span = (u32, u32);

/// The URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:`.
    Sip,
    /// `sips:`.
    Sips,
    /// `tel:` (RFC 3966).
    Tel,
    /// Any other absolute URI; kept raw (RFC 4475 §3.3.2 `unkscm`).
    Other,
}

/// The host part of a SIP URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host<'a> {
    /// A domain name (case-insensitive).
    Domain(&'a str),
    /// A dotted IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 reference (written `[..]`).
    V6(Ipv6Addr),
}

/// A parsed URI. Cheap to clone (the bytes are shared).
#[derive(Clone)]
pub struct Uri {
    raw: Bytes,
    scheme: Scheme,
    scheme_end: u32,
    user: Option<Span>,
    password: Option<Span>,
    host: Span,
    port: Option<u16>,
    params: Span,
    headers: Option<Span>,
}

fn is_user_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/')
}
fn is_password_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',')
}
fn is_param_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}
fn is_header_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}
fn is_host_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')
}
/// Characters allowed in an opaque absolute URI we do not interpret
/// (`uric` of RFC 2396 plus `%`): anything visible but `<`, `>`, `"`.
fn is_opaque_char(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"')
}

fn err(reason: &'static str) -> ParseError {
    ParseError::invalid(Part::Uri, reason)
}

/// Validates `b[i..end]` as a run of `ok` characters or escapes.
fn run_ok(b: &[u8], i: usize, end: usize, ok: fn(u8) -> bool) -> bool {
    let mut j = i;
    while j < end {
        match b.get(j) {
            Some(&c) if ok(c) => j += 1,
            Some(b'%') if is_escape_at(b, j) => j += 3,
            _ => return false,
        }
    }
    j == end
}

impl Uri {
    /// Parses a URI from a string (copies it).
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::from_bytes(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// Parses a URI held in `raw` (zero-copy). `raw` must be UTF-8; a URI
    /// is ASCII, so any other byte is rejected.
    pub fn from_bytes(raw: Bytes) -> Result<Self, ParseError> {
        let b: &[u8] = &raw;
        let n = b.len();
        if n > u32::MAX as usize {
            return Err(err("too long"));
        }
        let colon = memchr::memchr(b':', b).ok_or_else(|| err("no scheme"))?;
        let scheme_b = b.get(..colon).unwrap_or_default();
        let scheme_ok = scheme_b.first().is_some_and(u8::is_ascii_alphabetic)
            && scheme_b
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(err("bad scheme"));
        }
        let scheme = if scheme_b.eq_ignore_ascii_case(b"sip") {
            Scheme::Sip
        } else if scheme_b.eq_ignore_ascii_case(b"sips") {
            Scheme::Sips
        } else if scheme_b.eq_ignore_ascii_case(b"tel") {
            Scheme::Tel
        } else {
            Scheme::Other
        };
        let rest = colon + 1;
        let mut uri = Self {
            raw: Bytes::new(),
            scheme,
            scheme_end: colon as u32,
            user: None,
            password: None,
            host: (rest as u32, rest as u32),
            port: None,
            params: (n as u32, n as u32),
            headers: None,
        };
        match scheme {
            Scheme::Sip | Scheme::Sips => uri.parse_sip(b, rest)?,
            Scheme::Tel => {
                let semi =
                    memchr::memchr(b';', b.get(rest..).unwrap_or_default()).map_or(n, |p| rest + p);
                let number = b.get(rest..semi).unwrap_or_default();
                let ok = !number.is_empty()
                    && number.iter().all(|&c| {
                        c.is_ascii_hexdigit()
                            || matches!(c, b'+' | b'-' | b'.' | b'(' | b')' | b'*' | b'#')
                    });
                if !ok {
                    return Err(err("bad telephone number"));
                }
                uri.user = Some((rest as u32, semi as u32));
                uri.params = (semi as u32, n as u32);
                uri.check_params(b)?;
            }
            Scheme::Other => {
                if rest >= n
                    || !b
                        .get(rest..)
                        .unwrap_or_default()
                        .iter()
                        .all(|&c| is_opaque_char(c))
                {
                    return Err(err("bad absolute URI"));
                }
                uri.host = (rest as u32, n as u32);
            }
        }
        uri.raw = raw;
        Ok(uri)
    }

    fn parse_sip(&mut self, b: &[u8], rest: usize) -> Result<(), ParseError> {
        let n = b.len();
        let mut i = rest;
        if let Some(at) = memchr::memchr(b'@', b.get(rest..).unwrap_or_default()) {
            let at = rest + at;
            let (user_end, pw) = match memchr::memchr(b':', b.get(rest..at).unwrap_or_default()) {
                Some(c) => (rest + c, Some((rest + c + 1, at))),
                None => (at, None),
            };
            if user_end == rest || !run_ok(b, rest, user_end, is_user_char) {
                return Err(err("bad user part"));
            }
            self.user = Some((rest as u32, user_end as u32));
            if let Some((ps, pe)) = pw {
                if !run_ok(b, ps, pe, is_password_char) {
                    return Err(err("bad password"));
                }
                self.password = Some((ps as u32, pe as u32));
            }
            i = at + 1;
        }
        // host
        let host_start = i;
        if b.get(i) == Some(&b'[') {
            let close = memchr::memchr(b']', b.get(i..).unwrap_or_default())
                .ok_or_else(|| err("unterminated IPv6 reference"))?;
            let inner = b.get(i + 1..i + close).unwrap_or_default();
            if text(inner).parse::<Ipv6Addr>().is_err() {
                return Err(err("bad IPv6 reference"));
            }
            i += close + 1;
        } else {
            while b.get(i).is_some_and(|&c| is_host_char(c)) {
                i += 1;
            }
        }
        if i == host_start {
            return Err(err("empty host"));
        }
        self.host = (host_start as u32, i as u32);
        if b.get(i) == Some(&b':') {
            let ps = i + 1;
            let mut pe = ps;
            while b.get(pe).is_some_and(u8::is_ascii_digit) {
                pe += 1;
            }
            let port = crate::text::parse_digits(b.get(ps..pe).unwrap_or_default())
                .filter(|&p| p <= u64::from(u16::MAX) && pe - ps <= 5)
                .ok_or_else(|| err("bad port"))?;
            self.port = Some(port as u16);
            i = pe;
        }
        let q = memchr::memchr(b'?', b.get(i..).unwrap_or_default()).map_or(n, |p| i + p);
        self.params = (i as u32, q as u32);
        self.check_params(b)?;
        if q < n {
            self.headers = Some((q as u32 + 1, n as u32));
            let mut j = q + 1;
            loop {
                let amp = memchr::memchr(b'&', b.get(j..).unwrap_or_default()).map_or(n, |p| j + p);
                let item = b.get(j..amp).unwrap_or_default();
                let eq = memchr::memchr(b'=', item).ok_or_else(|| err("header without '='"))?;
                if eq == 0
                    || !run_ok(b, j, j + eq, is_header_char)
                    || !run_ok(b, j + eq + 1, amp, is_header_char)
                {
                    return Err(err("bad header"));
                }
                if amp >= n {
                    break;
                }
                j = amp + 1;
            }
        }
        Ok(())
    }

    fn check_params(&self, b: &[u8]) -> Result<(), ParseError> {
        let (s, e) = (self.params.0 as usize, self.params.1 as usize);
        let mut i = s;
        while i < e {
            if b.get(i) != Some(&b';') {
                return Err(err("unexpected character"));
            }
            let ps = i + 1;
            let pe = memchr::memchr(b';', b.get(ps..e).unwrap_or_default()).map_or(e, |p| ps + p);
            let item = b.get(ps..pe).unwrap_or_default();
            let (ne, ok) = match memchr::memchr(b'=', item) {
                Some(eq) => (
                    ps + eq,
                    run_ok(b, ps + eq + 1, pe, is_param_char) && eq + 1 < item.len(),
                ),
                None => (pe, true),
            };
            if ne == ps || !ok || !run_ok(b, ps, ne, is_param_char) {
                return Err(err("bad parameter"));
            }
            i = pe;
        }
        Ok(())
    }

    fn span(&self, s: Span) -> &str {
        text(self.raw.get(s.0 as usize..s.1 as usize).unwrap_or_default())
    }

    /// The URI exactly as written.
    pub fn as_str(&self) -> &str {
        text(&self.raw)
    }
    /// The raw bytes (shared with the message).
    pub fn as_bytes(&self) -> &Bytes {
        &self.raw
    }
    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }
    /// The scheme as written.
    pub fn scheme_str(&self) -> &str {
        self.span((0, self.scheme_end))
    }
    /// sip or sips.
    pub fn is_sip(&self) -> bool {
        matches!(self.scheme, Scheme::Sip | Scheme::Sips)
    }
    /// The user part (for tel: the number) with %-escapes decoded.
    pub fn user(&self) -> Option<Cow<'_, str>> {
        self.user.map(|s| percent_decode(self.span(s)))
    }
    /// The user part as written.
    pub fn user_raw(&self) -> Option<&str> {
        self.user.map(|s| self.span(s))
    }
    /// The password, decoded.
    pub fn password(&self) -> Option<Cow<'_, str>> {
        self.password.map(|s| percent_decode(self.span(s)))
    }
    /// The host as written (an IPv6 reference keeps its brackets); for an
    /// opaque URI, everything after the scheme; empty for tel:.
    pub fn host(&self) -> &str {
        self.span(self.host)
    }
    /// The host, classified.
    pub fn host_kind(&self) -> Host<'_> {
        let h = self.host();
        if let Some(v6) = h.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            if let Ok(a) = v6.parse() {
                return Host::V6(a);
            }
        }
        match h.parse() {
            Ok(a) => Host::V4(a),
            Err(_) => Host::Domain(h),
        }
    }
    /// The host as an IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.host_kind() {
            Host::V4(a) => Some(IpAddr::V4(a)),
            Host::V6(a) => Some(IpAddr::V6(a)),
            Host::Domain(_) => None,
        }
    }
    /// The explicit port.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
    /// The raw parameter section, including the leading `;` (empty if none).
    pub fn params_str(&self) -> &str {
        self.span(self.params)
    }
    /// The uri-parameters, raw (names and values may contain escapes).
    pub fn params(&self) -> impl Iterator<Item = Param<'_>> {
        self.params_str()
            .split(';')
            .filter(|s| !s.is_empty())
            .map(|item| match item.split_once('=') {
                Some((name, value)) => Param {
                    name,
                    value: Some(value),
                },
                None => Param {
                    name: item,
                    value: None,
                },
            })
    }
    /// A parameter by name (case-insensitive, escapes in names decoded):
    /// `Some(None)` for a flag like `lr`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params()
            .find(|p| percent_decode(p.name).eq_ignore_ascii_case(name))
            .map(|p| p.value)
    }
    /// `transport=` parameter.
    pub fn transport(&self) -> Option<&str> {
        self.param("transport").flatten()
    }
    /// `user=` parameter (e.g. `phone`).
    pub fn user_param(&self) -> Option<&str> {
        self.param("user").flatten()
    }
    /// `method=` parameter.
    pub fn method_param(&self) -> Option<&str> {
        self.param("method").flatten()
    }
    /// `maddr=` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.param("maddr").flatten()
    }
    /// `ttl=` parameter, if valid (0..=255).
    pub fn ttl(&self) -> Option<u8> {
        self.param("ttl").flatten().and_then(|t| t.parse().ok())
    }
    /// Whether the `lr` flag is present (loose routing, RFC 3261 §16.12).
    pub fn lr(&self) -> bool {
        self.param("lr").is_some()
    }
    /// The raw header section after `?`.
    pub fn headers(&self) -> Option<&str> {
        self.headers.map(|s| self.span(s))
    }

    /// URI equivalence per RFC 3261 §19.1.4 for sip/sips: scheme, user and
    /// password (case-sensitive, after unescaping), host (case-insensitive),
    /// port (an absent port differs from an explicit 5060), the parameters
    /// transport, user, ttl, method and maddr when present in either, other
    /// parameters when present in both, and headers. Other schemes compare
    /// as case-insensitive scheme plus exact rest.
    pub fn equivalent(&self, other: &Self) -> bool {
        if self.scheme != other.scheme {
            return false;
        }
        if !self.is_sip() {
            return self.scheme_str().eq_ignore_ascii_case(other.scheme_str())
                && self.span((self.scheme_end, self.raw.len() as u32))
                    == other.span((other.scheme_end, other.raw.len() as u32));
        }
        if self.user() != other.user() || self.password() != other.password() {
            return false;
        }
        if !self.host().eq_ignore_ascii_case(other.host()) || self.port != other.port {
            return false;
        }
        for special in ["transport", "user", "ttl", "method", "maddr"] {
            let (a, b) = (self.param(special), other.param(special));
            if (a.is_some() || b.is_some()) && !eq_opt_ci(a, b) {
                return false;
            }
        }
        for p in self.params() {
            // Duplicate names: the first occurrence is the one that counts,
            // on both sides.
            let name = percent_decode(p.name);
            if let Some(v) = other.param(&name) {
                if !eq_opt_ci(self.param(&name), Some(v)) {
                    return false;
                }
            }
        }
        let mut ha: Vec<_> = self
            .headers()
            .unwrap_or_default()
            .split('&')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        let mut hb: Vec<_> = other
            .headers()
            .unwrap_or_default()
            .split('&')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        ha.sort();
        hb.sort();
        ha == hb
    }
}

fn eq_opt_ci(a: Option<Option<&str>>, b: Option<Option<&str>>) -> bool {
    match (a, b) {
        (Some(Some(x)), Some(Some(y))) => {
            percent_decode(x).eq_ignore_ascii_case(&percent_decode(y))
        }
        (Some(None), Some(None)) => true,
        _ => false,
    }
}

impl PartialEq for Uri {
    /// See [`Uri::equivalent`].
    fn eq(&self, other: &Self) -> bool {
        self.equivalent(other)
    }
}

impl fmt::Debug for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uri({:?})", self.as_str())
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Uri {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Self::parse(s)
    }
}
