//! name-addr / addr-spec with header parameters (RFC 3261 §20.10, §25.1):
//! From, To, Contact, Route, Record-Route, Reply-To, Refer-To...

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;

use crate::text::{
    Params, check_semi_params, find_param, is_lws, is_token, params, quoted_end, skip_lws, text,
    trim_range, unquote,
};
use crate::{HeaderName, Limit, ParseError, Uri};

type Span = (u32, u32);

/// An address with optional display name and header parameters, e.g.
/// `"Alice" <sip:alice@example.com>;tag=1928301774`.
///
/// Per RFC 3261 §20.10, in the addr-spec form (no `<>`) everything after
/// the first `;` is a header parameter, not a URI parameter, and a URI
/// containing `?` (or `,`) must be enclosed in `<>`.
#[derive(Clone)]
pub struct NameAddr {
    raw: Bytes,
    display: Option<Span>,
    uri: Uri,
    angle: bool,
    params: Span,
}

impl NameAddr {
    /// Parses one address (not a comma list) from a string.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::from_bytes(
            Bytes::copy_from_slice(s.as_bytes()),
            HeaderName::From,
            usize::MAX,
        )
    }

    /// Parses one address held in `raw`; errors name `header`.
    pub(crate) fn from_bytes(
        raw: Bytes,
        header: HeaderName,
        max_uri: usize,
    ) -> Result<Self, ParseError> {
        let b: &[u8] = &raw;
        let bad = |reason| ParseError::header(header.clone(), reason);
        let n = b.len();
        let mut i = skip_lws(b, 0);
        let mut display = None;
        let lt = if b.get(i) == Some(&b'"') {
            let e = quoted_end(b, i).ok_or_else(|| bad("unterminated quoted display name"))?;
            display = Some((i as u32, e as u32));
            let j = skip_lws(b, e);
            if b.get(j) != Some(&b'<') {
                return Err(bad("expected '<' after display name"));
            }
            Some(j)
        } else {
            let mut j = i;
            while b.get(j).is_some_and(|&c| is_token(c) || is_lws(c)) {
                j += 1;
            }
            if b.get(j) == Some(&b'<') {
                let (ds, de) = trim_range(b, i, j);
                if de > ds {
                    display = Some((ds as u32, de as u32));
                }
                Some(j)
            } else {
                None
            }
        };
        let (uri_s, uri_e, params_start, angle) = match lt {
            Some(lt) => {
                let gt = memchr::memchr(b'>', b.get(lt..).unwrap_or_default())
                    .map(|p| lt + p)
                    .ok_or_else(|| bad("missing '>'"))?;
                (lt + 1, gt, gt + 1, true)
            }
            None => {
                let s = i;
                while b.get(i).is_some_and(|&c| c != b';' && !is_lws(c)) {
                    i += 1;
                }
                if b.get(s..i).unwrap_or_default().contains(&b'?') {
                    return Err(bad("a URI with '?' must be enclosed in <>"));
                }
                (s, i, i, false)
            }
        };
        if uri_e - uri_s > max_uri {
            return Err(ParseError::Limit {
                limit: Limit::UriLength,
                value: uri_e - uri_s,
                max: max_uri,
                context: None,
            });
        }
        let uri = Uri::from_bytes(raw.slice(uri_s..uri_e)).map_err(|_| bad("invalid URI"))?;
        check_semi_params(b, params_start).map_err(bad)?;
        let (ps, pe) = trim_range(b, params_start, n);
        Ok(Self {
            display,
            uri,
            angle,
            params: (ps as u32, pe as u32),
            raw,
        })
    }

    fn span(&self, s: Span) -> &str {
        text(self.raw.get(s.0 as usize..s.1 as usize).unwrap_or_default())
    }

    /// The value as written.
    pub fn as_str(&self) -> &str {
        text(&self.raw)
    }
    /// The URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }
    /// Whether the URI was written in `<>` (name-addr form).
    pub fn is_name_addr(&self) -> bool {
        self.angle
    }
    /// The display name, unquoted, or `None` when absent.
    pub fn display_name(&self) -> Option<Cow<'_, str>> {
        self.display.map(|s| unquote(self.span(s)))
    }
    /// The display name as written (quotes kept).
    pub fn display_name_raw(&self) -> Option<&str> {
        self.display.map(|s| self.span(s))
    }
    /// The raw header parameters (`;tag=x;expires=60`).
    pub fn params_str(&self) -> &str {
        self.span(self.params)
    }
    /// The header parameters.
    pub fn params(&self) -> Params<'_> {
        params(self.params_str().strip_prefix(';').unwrap_or_default(), ';')
    }
    /// A header parameter by name (case-insensitive).
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(self.params_str(), name)
    }
    /// The `tag` parameter (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }
    /// The Contact `expires` parameter; `None` if absent or not a valid
    /// delta-seconds (RFC 4475 §3.1.2.4: treat an overlarge value as if
    /// the default applied).
    pub fn expires(&self) -> Option<u32> {
        self.param("expires").flatten().and_then(|v| v.parse().ok())
    }
    /// The Contact `q` parameter, if valid (0 to 1).
    pub fn q(&self) -> Option<f32> {
        self.param("q")
            .flatten()
            .and_then(|v| v.parse::<f32>().ok())
            .filter(|q| (0.0..=1.0).contains(q))
    }
}

impl fmt::Debug for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NameAddr({:?})", self.as_str())
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
