//! Via header values (RFC 3261 §20.42, RFC 3581 rport).

use std::fmt;

use bytes::Bytes;

use crate::text::{
    Params, check_semi_params, find_param, is_token, params, skip_lws, text, trim_range,
};
use crate::{HeaderName, ParseError};

type Span = (u32, u32);

/// The RFC 3261 branch magic cookie (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// One Via value: `SIP/2.0/UDP host:port;branch=z9hG4bK...;rport`.
#[derive(Clone)]
pub struct Via {
    raw: Bytes,
    protocol: Span,
    version: Span,
    transport: Span,
    host: Span,
    port: Option<u16>,
    params: Span,
}

fn bad(reason: &'static str) -> ParseError {
    ParseError::header(HeaderName::Via, reason)
}

fn token_at(b: &[u8], i: usize) -> Result<(usize, usize), ParseError> {
    let mut j = i;
    while b.get(j).is_some_and(|&c| is_token(c)) {
        j += 1;
    }
    if j == i {
        return Err(bad("expected a token"));
    }
    Ok((i, j))
}

impl Via {
    /// Parses one Via value (not a comma list).
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::from_bytes(Bytes::copy_from_slice(s.as_bytes()))
    }

    pub(crate) fn from_bytes(raw: Bytes) -> Result<Self, ParseError> {
        let b: &[u8] = &raw;
        // sent-protocol = protocol-name SLASH protocol-version SLASH transport
        // with SLASH = SWS "/" SWS, so folds may sit around the slashes.
        let protocol = token_at(b, skip_lws(b, 0))?;
        let mut i = skip_lws(b, protocol.1);
        if b.get(i) != Some(&b'/') {
            return Err(bad("expected '/'"));
        }
        let version = token_at(b, skip_lws(b, i + 1))?;
        i = skip_lws(b, version.1);
        if b.get(i) != Some(&b'/') {
            return Err(bad("expected '/'"));
        }
        let transport = token_at(b, skip_lws(b, i + 1))?;
        i = skip_lws(b, transport.1);
        if i == transport.1 {
            return Err(bad("expected whitespace before sent-by"));
        }
        // sent-by = host [ COLON port ]
        let hs = i;
        if b.get(i) == Some(&b'[') {
            let close = memchr::memchr(b']', b.get(i..).unwrap_or_default())
                .ok_or_else(|| bad("unterminated IPv6 reference"))?;
            if text(b.get(i + 1..i + close).unwrap_or_default())
                .parse::<std::net::Ipv6Addr>()
                .is_err()
            {
                return Err(bad("bad IPv6 reference"));
            }
            i += close + 1;
        } else {
            while b
                .get(i)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
            {
                i += 1;
            }
        }
        if i == hs {
            return Err(bad("empty sent-by host"));
        }
        let host = (hs, i);
        let mut port = None;
        let j = skip_lws(b, i);
        if b.get(j) == Some(&b':') {
            let ps = skip_lws(b, j + 1);
            let mut pe = ps;
            while b.get(pe).is_some_and(u8::is_ascii_digit) {
                pe += 1;
            }
            let p = crate::text::parse_digits(b.get(ps..pe).unwrap_or_default())
                .filter(|&p| p <= u64::from(u16::MAX))
                .ok_or_else(|| bad("bad port"))?;
            port = Some(p as u16);
            i = pe;
        }
        check_semi_params(b, i).map_err(bad)?;
        let (ps, pe) = trim_range(b, i, b.len());
        let via = Self {
            protocol: (protocol.0 as u32, protocol.1 as u32),
            version: (version.0 as u32, version.1 as u32),
            transport: (transport.0 as u32, transport.1 as u32),
            host: (host.0 as u32, host.1 as u32),
            port,
            params: (ps as u32, pe as u32),
            raw,
        };
        if let Some(r) = via.param("rport") {
            if r.is_some_and(|v| v.parse::<u16>().is_err()) {
                return Err(bad("bad rport"));
            }
        }
        if via
            .param("ttl")
            .flatten()
            .is_some_and(|v| v.parse::<u8>().is_err())
        {
            return Err(bad("bad ttl"));
        }
        if via.param("branch").is_some_and(|v| v.is_none()) {
            return Err(bad("branch without value"));
        }
        Ok(via)
    }

    fn span(&self, s: Span) -> &str {
        text(self.raw.get(s.0 as usize..s.1 as usize).unwrap_or_default())
    }

    /// The value as written.
    pub fn as_str(&self) -> &str {
        text(&self.raw)
    }
    /// Protocol name, normally `SIP`.
    pub fn protocol(&self) -> &str {
        self.span(self.protocol)
    }
    /// Protocol version, normally `2.0`.
    pub fn version(&self) -> &str {
        self.span(self.version)
    }
    /// Transport as written (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`...).
    pub fn transport(&self) -> &str {
        self.span(self.transport)
    }
    /// sent-by host as written (an IPv6 reference keeps its brackets).
    pub fn host(&self) -> &str {
        self.span(self.host)
    }
    /// sent-by port.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
    /// The raw parameter section (`;branch=...;rport`).
    pub fn params_str(&self) -> &str {
        self.span(self.params)
    }
    /// The parameters.
    pub fn params(&self) -> Params<'_> {
        params(self.params_str().strip_prefix(';').unwrap_or_default(), ';')
    }
    /// A parameter by name (case-insensitive).
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(self.params_str(), name)
    }
    /// `branch` (the transaction id).
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }
    /// `received` (RFC 3261 §18.2.1).
    pub fn received(&self) -> Option<&str> {
        self.param("received").flatten()
    }
    /// `rport` (RFC 3581): `Some(None)` when present without a value.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport").map(|v| v.and_then(|p| p.parse().ok()))
    }
    /// `maddr`.
    pub fn maddr(&self) -> Option<&str> {
        self.param("maddr").flatten()
    }
    /// `ttl`.
    pub fn ttl(&self) -> Option<u8> {
        self.param("ttl").flatten().and_then(|t| t.parse().ok())
    }
    /// Whether the branch carries the RFC 3261 magic cookie followed by
    /// something unique. A branch that is exactly `z9hG4bK` does not count
    /// (RFC 4475 §3.2.1 `badbranch`): it must be matched with the RFC 2543
    /// rules.
    pub fn has_magic_cookie(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.len() > MAGIC_COOKIE.len() && b.starts_with(MAGIC_COOKIE))
    }
}

impl fmt::Debug for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Via({:?})", self.as_str())
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
