//! Typed `WWW-Authenticate`/`Proxy-Authenticate` ([`Challenge`]) and
//! `Authorization`/`Proxy-Authorization` ([`Credentials`]) header values.

use std::fmt;
use std::str::FromStr;

use super::params::{AuthParam, Writer, is_token, parse_digest};
use super::{Algorithm, DigestError, Qop};

/// A parsed or to-be-rendered digest challenge: the value of a
/// `WWW-Authenticate` or `Proxy-Authenticate` header (RFC 7616 §3.3).
///
/// Rendering puts known parameters first in a fixed order and then the
/// others in their received order; `Challenge::parse(&c.to_header_value())`
/// gives back `c` for every value `parse` produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`, echoed by the client.
    pub opaque: Option<String>,
    /// `algorithm`; `None` means MD5 (see [`Self::effective_algorithm`]).
    pub algorithm: Option<Algorithm>,
    /// The `qop` options offered, as received (`auth`, `auth-int`, ...);
    /// empty means a legacy RFC 2069 challenge without qop.
    pub qop: Vec<String>,
    /// `stale=true`: the previous nonce expired but the password was right.
    pub stale: bool,
    /// Other parameters (`domain`, `charset`, `userhash`, extensions).
    pub other: Vec<AuthParam>,
}

impl Challenge {
    /// Parses a `WWW-Authenticate` / `Proxy-Authenticate` header value.
    ///
    /// Requires `realm` and `nonce`; refuses unknown algorithms
    /// ([`DigestError::UnsupportedAlgorithm`]) so callers can skip such
    /// challenges when several are offered.
    pub fn parse(value: &str) -> Result<Self, DigestError> {
        let mut realm = None;
        let mut nonce = None;
        let mut opaque = None;
        let mut algorithm = None;
        let mut qop = Vec::new();
        let mut stale = false;
        let mut other = Vec::new();
        for param in parse_digest(value)? {
            let name = param.name.as_str();
            if name.eq_ignore_ascii_case("realm") {
                realm = Some(param.value);
            } else if name.eq_ignore_ascii_case("nonce") {
                nonce = Some(param.value);
            } else if name.eq_ignore_ascii_case("opaque") {
                opaque = Some(param.value);
            } else if name.eq_ignore_ascii_case("algorithm") {
                algorithm = Some(param.value.parse()?);
            } else if name.eq_ignore_ascii_case("qop") {
                qop = parse_qop_options(&param.value)?;
            } else if name.eq_ignore_ascii_case("stale") {
                // RFC 7616 §3.3: any value other than "true" means false.
                stale = param.value.eq_ignore_ascii_case("true");
            } else {
                other.push(param);
            }
        }
        Ok(Self {
            realm: realm.ok_or(DigestError::MissingParam { name: "realm" })?,
            nonce: nonce.ok_or(DigestError::MissingParam { name: "nonce" })?,
            opaque,
            algorithm,
            qop,
            stale,
            other,
        })
    }

    /// Renders the header value (without the header name).
    #[must_use]
    pub fn to_header_value(&self) -> String {
        let mut w = Writer::new();
        w.quoted("realm", &self.realm);
        w.quoted("nonce", &self.nonce);
        if let Some(opaque) = &self.opaque {
            w.quoted("opaque", opaque);
        }
        if self.stale {
            w.token("stale", "true");
        }
        if let Some(algorithm) = self.algorithm {
            w.token("algorithm", algorithm.as_str());
        }
        if !self.qop.is_empty() {
            w.quoted("qop", &self.qop.join(","));
        }
        for param in &self.other {
            w.other(param);
        }
        w.finish()
    }

    /// Whether the server said the previous nonce was merely stale: retry
    /// with this challenge's nonce without treating it as a wrong password.
    #[must_use]
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// The algorithm to use: the one named, or MD5 when absent (RFC 7616 §3.3).
    #[must_use]
    pub fn effective_algorithm(&self) -> Algorithm {
        self.algorithm.unwrap_or(Algorithm::Md5)
    }

    /// Whether `qop=auth` is among the options offered.
    #[must_use]
    pub fn offers_qop_auth(&self) -> bool {
        self.qop.iter().any(|q| q.eq_ignore_ascii_case("auth"))
    }

    /// Whether a client of this crate can answer it: qop `auth` offered, or
    /// no qop at all (legacy) with a non-`-sess` algorithm.
    #[must_use]
    pub fn is_answerable(&self) -> bool {
        if self.qop.is_empty() {
            !self.effective_algorithm().is_session()
        } else {
            self.offers_qop_auth()
        }
    }
}

/// `qop="auth,auth-int"` (RFC 7616 §3.3); a bare token is accepted too.
fn parse_qop_options(value: &str) -> Result<Vec<String>, DigestError> {
    let mut options = Vec::new();
    for option in value.split(',').map(|o| o.trim_matches([' ', '\t'])) {
        if option.is_empty() {
            continue;
        }
        if !is_token(option) {
            return Err(DigestError::InvalidParam {
                name: "qop",
                reason: "options must be comma-separated tokens",
            });
        }
        options.push(option.to_owned());
    }
    if options.is_empty() {
        return Err(DigestError::InvalidParam {
            name: "qop",
            reason: "empty option list",
        });
    }
    Ok(options)
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

impl FromStr for Challenge {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Parsed or to-be-rendered digest credentials: the value of an
/// `Authorization` or `Proxy-Authorization` header (RFC 7616 §3.4).
///
/// `username` is available before verification so the caller can look up
/// the password. `Credentials::parse(&c.to_header_value())` gives back `c`
/// for every value `parse` produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`, as received in the challenge.
    pub nonce: String,
    /// `uri`, the digest-uri (normally the Request-URI).
    pub uri: String,
    /// `response`, the request-digest in hex.
    pub response: String,
    /// `algorithm`; `None` means MD5.
    pub algorithm: Option<Algorithm>,
    /// `cnonce`.
    pub cnonce: Option<String>,
    /// `opaque`, echoed from the challenge.
    pub opaque: Option<String>,
    /// `qop`; `None` is the legacy RFC 2069 form.
    pub qop: Option<Qop>,
    /// `nc`, the nonce count (8 hex digits on the wire; RFC 7616 says
    /// lowercase, and the digest is computed over the lowercase form).
    pub nc: Option<u32>,
    /// Other parameters (`userhash`, extensions).
    pub other: Vec<AuthParam>,
}

impl Credentials {
    /// Parses an `Authorization` / `Proxy-Authorization` header value.
    ///
    /// Requires `username`, `realm`, `nonce`, `uri` and `response`; refuses
    /// unknown algorithms and any qop but `auth`.
    pub fn parse(value: &str) -> Result<Self, DigestError> {
        let mut username = None;
        let mut realm = None;
        let mut nonce = None;
        let mut uri = None;
        let mut response = None;
        let mut algorithm = None;
        let mut cnonce = None;
        let mut opaque = None;
        let mut qop = None;
        let mut nc = None;
        let mut other = Vec::new();
        for param in parse_digest(value)? {
            let name = param.name.as_str();
            if name.eq_ignore_ascii_case("username") {
                username = Some(param.value);
            } else if name.eq_ignore_ascii_case("realm") {
                realm = Some(param.value);
            } else if name.eq_ignore_ascii_case("nonce") {
                nonce = Some(param.value);
            } else if name.eq_ignore_ascii_case("uri") {
                uri = Some(param.value);
            } else if name.eq_ignore_ascii_case("response") {
                response = Some(param.value);
            } else if name.eq_ignore_ascii_case("algorithm") {
                algorithm = Some(param.value.parse()?);
            } else if name.eq_ignore_ascii_case("cnonce") {
                cnonce = Some(param.value);
            } else if name.eq_ignore_ascii_case("opaque") {
                opaque = Some(param.value);
            } else if name.eq_ignore_ascii_case("qop") {
                qop = Some(param.value.parse()?);
            } else if name.eq_ignore_ascii_case("nc") {
                nc = Some(parse_nc(&param.value)?);
            } else {
                other.push(param);
            }
        }
        Ok(Self {
            username: username.ok_or(DigestError::MissingParam { name: "username" })?,
            realm: realm.ok_or(DigestError::MissingParam { name: "realm" })?,
            nonce: nonce.ok_or(DigestError::MissingParam { name: "nonce" })?,
            uri: uri.ok_or(DigestError::MissingParam { name: "uri" })?,
            response: response.ok_or(DigestError::MissingParam { name: "response" })?,
            algorithm,
            cnonce,
            opaque,
            qop,
            nc,
            other,
        })
    }

    /// Renders the header value (without the header name).
    #[must_use]
    pub fn to_header_value(&self) -> String {
        let mut w = Writer::new();
        w.quoted("username", &self.username);
        w.quoted("realm", &self.realm);
        w.quoted("nonce", &self.nonce);
        w.quoted("uri", &self.uri);
        w.quoted("response", &self.response);
        if let Some(algorithm) = self.algorithm {
            w.token("algorithm", algorithm.as_str());
        }
        if let Some(cnonce) = &self.cnonce {
            w.quoted("cnonce", cnonce);
        }
        if let Some(opaque) = &self.opaque {
            w.quoted("opaque", opaque);
        }
        if let Some(qop) = self.qop {
            w.token("qop", qop.as_str());
        }
        if let Some(nc) = self.nc {
            w.token("nc", &format!("{nc:08x}"));
        }
        for param in &self.other {
            w.other(param);
        }
        w.finish()
    }

    /// The username, for looking up the secret before verification.
    #[must_use]
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The algorithm used: the one named, or MD5 when absent.
    #[must_use]
    pub fn effective_algorithm(&self) -> Algorithm {
        self.algorithm.unwrap_or(Algorithm::Md5)
    }
}

/// `nc`: exactly 8 hex digits (RFC 7616 §3.4).
fn parse_nc(value: &str) -> Result<u32, DigestError> {
    const INVALID: DigestError = DigestError::InvalidParam {
        name: "nc",
        reason: "must be exactly 8 hex digits",
    };
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(INVALID);
    }
    u32::from_str_radix(value, 16).map_err(|_| INVALID)
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

impl FromStr for Credentials {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
