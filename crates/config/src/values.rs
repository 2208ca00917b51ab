//! Parsers for single values, each taking a raw value from the file (a TOML
//! value, whose type matters) or the environment (always a string) and
//! returning the typed value or a [`Problem`] saying what is allowed.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::error::ErrorKind;
use crate::model::{IpbxHost, ParseEnumError, PortRange, PortRangeError, Protocols, Side};

/// A value as found, before parsing.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    /// From the TOML file, the database or the API: its type is checked.
    Typed(&'a toml::Value),
    /// From an environment variable: parsed from text.
    Env(&'a str),
}

/// What is wrong with one value; the caller adds field, value and source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
}

impl Problem {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

const PORT_BOUNDS: &str = "1..65535";

/// A string value; `expected` describes it for the wrong-type message.
pub(crate) fn text<'a>(raw: Raw<'a>, expected: &str) -> Result<&'a str, Problem> {
    match raw {
        Raw::Env(s) => Ok(s),
        Raw::Typed(toml::Value::String(s)) => Ok(s),
        Raw::Typed(other) => Err(Problem::new(
            ErrorKind::WrongType,
            format!("expected {expected}, got {}", type_name(other)),
        )),
    }
}

fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date-time",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// A TCP/UDP port, 1..65535.
pub(crate) fn port(raw: Raw<'_>) -> Result<u16, Problem> {
    let number = match raw {
        Raw::Typed(toml::Value::Integer(n)) => *n,
        Raw::Typed(toml::Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
            return Err(Problem::new(
                ErrorKind::WrongType,
                format!(
                    "expected an integer port {PORT_BOUNDS}, got a string (write {} without quotes)",
                    s.trim()
                ),
            ));
        }
        Raw::Typed(other) => {
            return Err(Problem::new(
                ErrorKind::WrongType,
                format!(
                    "expected an integer port {PORT_BOUNDS}, got {}",
                    type_name(other)
                ),
            ));
        }
        Raw::Env(s) => s.trim().parse::<i64>().map_err(|_| {
            Problem::new(
                ErrorKind::SyntaxError,
                format!("not an integer; expected a port {PORT_BOUNDS}"),
            )
        })?,
    };
    check_port(number)
}

fn check_port(number: i64) -> Result<u16, Problem> {
    u16::try_from(number)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| {
            Problem::new(
                ErrorKind::OutOfBounds,
                format!("{number} is not a port number, allowed {PORT_BOUNDS}"),
            )
        })
}

/// An integer within `min..=max` (bounds given in the message).
pub(crate) fn bounded_integer(raw: Raw<'_>, min: u32, max: u32) -> Result<u32, Problem> {
    let number = match raw {
        Raw::Typed(toml::Value::Integer(n)) => *n,
        Raw::Typed(other) => {
            return Err(Problem::new(
                ErrorKind::WrongType,
                format!("expected an integer {min}..{max}, got {}", type_name(other)),
            ));
        }
        Raw::Env(s) => s.trim().parse::<i64>().map_err(|_| {
            Problem::new(
                ErrorKind::SyntaxError,
                format!("not an integer; expected {min}..{max}"),
            )
        })?,
    };
    u32::try_from(number)
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            Problem::new(
                ErrorKind::OutOfBounds,
                format!("{number} is out of bounds, allowed {min}..{max}"),
            )
        })
}

/// The digest algorithms Outpost offers phones (RFC 7616 names): the
/// `-sess` variants are not offered.
pub(crate) const DIGEST_ALGORITHMS: &[&str] = &["MD5", "SHA-256"];

/// The SRTP suites Outpost can use (RFC 4568 names).
pub(crate) const SRTP_SUITES: &[&str] = &["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"];

/// A comma-separated list of digest algorithms, e.g. "MD5" or
/// "SHA-256, MD5"; at least one, no repeats.
pub(crate) fn digest_algorithms(
    raw: Raw<'_>,
) -> Result<Vec<outpost_sip::auth::Algorithm>, Problem> {
    use outpost_sip::auth::Algorithm;
    let s = text(raw, "a string such as \"MD5\" or \"SHA-256, MD5\"")?;
    let mut out = Vec::new();
    for name in s.split(',').map(str::trim) {
        let algorithm = Algorithm::from_name(name)
            .filter(|a| DIGEST_ALGORITHMS.contains(&a.as_str()))
            .ok_or_else(|| {
                Problem::new(
                    ErrorKind::NotAllowed,
                    format!(
                        "unknown digest algorithm {name:?}; allowed: {} (comma-separated, in the order offered)",
                        DIGEST_ALGORITHMS.join(", ")
                    ),
                )
            })?;
        if out.contains(&algorithm) {
            return Err(Problem::new(
                ErrorKind::NotAllowed,
                format!("{name} is listed twice"),
            ));
        }
        out.push(algorithm);
    }
    Ok(out)
}

/// SRTP suites, comma-separated, in order of preference.
pub(crate) fn srtp_suites(raw: Raw<'_>) -> Result<Vec<outpost_sdp::CryptoSuite>, Problem> {
    use outpost_sdp::CryptoSuite;
    let s = text(
        raw,
        "a string such as \"AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32\"",
    )?;
    let mut out = Vec::new();
    for name in s.split(',').map(str::trim) {
        let suite = CryptoSuite::parse(name);
        if !suite.is_supported() || !SRTP_SUITES.contains(&suite.name()) {
            return Err(Problem::new(
                ErrorKind::NotAllowed,
                format!(
                    "unknown SRTP suite {name:?}; allowed: {}",
                    SRTP_SUITES.join(", ")
                ),
            ));
        }
        if out.contains(&suite) {
            return Err(Problem::new(
                ErrorKind::NotAllowed,
                format!("{name} is listed twice"),
            ));
        }
        out.push(suite);
    }
    Ok(out)
}

/// DNS servers, comma-separated: IP addresses, each with an optional
/// port (`198.51.100.53`, `[2001:db8::53]:5353`); port 53 by default.
pub(crate) fn dns_servers(raw: Raw<'_>) -> Result<Vec<SocketAddr>, Problem> {
    let s = text(raw, "a string such as \"10.0.0.53, 10.0.0.54\"")?;
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let addr = item
            .parse::<SocketAddr>()
            .or_else(|_| {
                strip_brackets(item)
                    .parse::<IpAddr>()
                    .map(|ip| (ip, 53).into())
            })
            .map_err(|_| {
                Problem::new(
                    ErrorKind::SyntaxError,
                    format!("{item:?} is not an IP address (optionally with :port)"),
                )
            })?;
        check_reachable(addr.ip())?;
        if addr.port() == 0 {
            return Err(Problem::new(
                ErrorKind::OutOfBounds,
                format!("{item}: port 0; use 1..65535 or leave the port out (53)"),
            ));
        }
        out.push(addr);
    }
    Ok(out)
}

/// An SRTP policy name of one of the four MED-3 settings.
pub(crate) fn media_policy<T>(raw: Raw<'_>) -> Result<T, Problem>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let s = text(raw, "a policy name in quotes")?;
    s.trim()
        .parse::<T>()
        .map_err(|e| Problem::new(ErrorKind::NotAllowed, e.to_string()))
}

/// A boolean; the environment also accepts 1/0, yes/no, on/off.
pub(crate) fn boolean(raw: Raw<'_>) -> Result<bool, Problem> {
    match raw {
        Raw::Typed(toml::Value::Boolean(b)) => Ok(*b),
        Raw::Typed(other) => Err(Problem::new(
            ErrorKind::WrongType,
            format!("expected true or false, got {}", type_name(other)),
        )),
        Raw::Env(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(Problem::new(
                ErrorKind::SyntaxError,
                "expected true or false (or 1/0, yes/no, on/off)",
            )),
        },
    }
}

/// An optional address of a side; an empty string means "not set".
pub(crate) fn optional_ip(raw: Raw<'_>) -> Result<Option<IpAddr>, Problem> {
    let s = text(raw, "an IP address in quotes")?;
    if s.is_empty() {
        return Ok(None);
    }
    configured_ip(s).map(Some)
}

/// An IPv4 or IPv6 address a peer could reach (NET-3). Brackets around an
/// IPv6 address are tolerated, since installers copy them from URIs.
pub(crate) fn configured_ip(s: &str) -> Result<IpAddr, Problem> {
    let ip = IpAddr::from_str(strip_brackets(s)).map_err(|_| {
        let hint = if has_port_suffix(s) {
            "; the port goes in its own field"
        } else {
            ""
        };
        Problem::new(
            ErrorKind::SyntaxError,
            format!("not an IPv4 or IPv6 address{hint}"),
        )
    })?;
    check_reachable(ip)?;
    Ok(ip)
}

/// Refuses addresses no peer can send to: wildcard, broadcast, multicast.
pub(crate) fn check_reachable(ip: IpAddr) -> Result<(), Problem> {
    let refused = if ip.is_unspecified() {
        format!(
            "{ip} is not an address a peer can reach; leave the field out to bind all interfaces"
        )
    } else if ip == IpAddr::from([255, 255, 255, 255]) {
        format!("{ip} is the broadcast address, not the address of a host")
    } else if ip.is_multicast() {
        format!("{ip} is a multicast address, not the address of a host")
    } else {
        return Ok(());
    };
    Err(Problem::new(ErrorKind::NotAllowed, refused))
}

/// The SIP transports of a side; `udp/tcp` is refused on the public side
/// (SIG-1).
pub(crate) fn protocols(raw: Raw<'_>, side: Side) -> Result<Protocols, Problem> {
    let protocols: Protocols = enum_value(raw)?;
    let allowed = Protocols::allowed_on(side);
    if allowed.contains(&protocols.as_str()) {
        Ok(protocols)
    } else {
        Err(Problem::new(
            ErrorKind::NotAllowed,
            format!(
                "{protocols} is not allowed on the {side} side, which must keep TLS; allowed: {}",
                allowed.join(", ")
            ),
        ))
    }
}

/// One of an enum's TOML spellings.
pub(crate) fn enum_value<T: FromStr<Err = ParseEnumError>>(raw: Raw<'_>) -> Result<T, Problem> {
    let s = text(raw, "a string in quotes")?;
    s.parse::<T>().map_err(|e| {
        Problem::new(
            ErrorKind::NotAllowed,
            format!("expected one of: {}", e.allowed.join(", ")),
        )
    })
}

/// An RTP range `FIRST-LAST` within 1024..65535. Its size depends on
/// `video`, another key, so it is checked in validation.
pub(crate) fn rtp_range(raw: Raw<'_>) -> Result<PortRange, Problem> {
    let s = text(raw, "a string \"FIRST-LAST\" such as \"20000-27999\"")?;
    let range = s.parse::<PortRange>().map_err(|e| {
        let kind = match e {
            PortRangeError::PortOutOfBounds(_) => ErrorKind::OutOfBounds,
            _ => ErrorKind::SyntaxError,
        };
        Problem::new(
            kind,
            format!("{e}; an RTP range lies within {}", rtp_bounds()),
        )
    })?;
    if range.first < PortRange::RTP_MIN_PORT {
        return Err(Problem::new(
            ErrorKind::OutOfBounds,
            format!(
                "an RTP range must lie within {}; {} is a system port",
                rtp_bounds(),
                range.first
            ),
        ));
    }
    Ok(range)
}

/// The allowed bounds of an RTP range, for messages.
pub(crate) fn rtp_bounds() -> String {
    format!("{}..65535", PortRange::RTP_MIN_PORT)
}

/// The optional iPBX address: an IP or a host name; empty means not set.
pub(crate) fn ipbx_host(raw: Raw<'_>) -> Result<Option<IpbxHost>, Problem> {
    let s = text(raw, "an IP address or host name in quotes")?;
    if s.is_empty() {
        return Ok(None);
    }
    let looks_ip = s.starts_with('[') || s.contains(':') || looks_numeric(s);
    if !looks_ip {
        return host_name(s).map(|()| Some(IpbxHost::Name(s.to_owned())));
    }
    let ip = IpAddr::from_str(strip_brackets(s)).map_err(|_| {
        let hint = if has_port_suffix(s) {
            " (the port goes in ipbx.port)"
        } else {
            ""
        };
        Problem::new(
            ErrorKind::SyntaxError,
            format!("not an IPv4 or IPv6 address nor a host name{hint}"),
        )
    })?;
    check_reachable(ip)?;
    Ok(Some(IpbxHost::Ip(ip)))
}

fn strip_brackets(s: &str) -> &str {
    s.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(s)
}

/// `10.0.0.1:5060`, `[2001:db8::1]:5060` or `host:5060`: an address with a
/// port where only the address belongs.
fn has_port_suffix(s: &str) -> bool {
    if SocketAddr::from_str(s).is_ok() {
        return true;
    }
    s.split_once(':').is_some_and(|(host, port)| {
        !host.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
    })
}

/// A dotted name whose last label is all digits is an address attempt
/// (RFC 1123 §2.1: a top-level label is never numeric).
fn looks_numeric(s: &str) -> bool {
    s.trim_end_matches('.')
        .rsplit('.')
        .next()
        .is_some_and(|last| !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

/// Host name syntax (RFC 1123 §2.1): dot-separated labels of letters,
/// digits and hyphens, 1..63 characters, not starting or ending with a
/// hyphen, 253 characters at most; a final dot is allowed.
pub(crate) fn host_name(s: &str) -> Result<(), Problem> {
    let name = s.strip_suffix('.').unwrap_or(s);
    let fail = |why: String| {
        Err(Problem::new(
            ErrorKind::SyntaxError,
            format!("not a host name: {why}"),
        ))
    };
    if name.is_empty() {
        return fail("empty".to_owned());
    }
    if name.len() > 253 {
        return fail(format!("{} characters, at most 253 allowed", name.len()));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return fail("empty label (two dots in a row or a leading dot)".to_owned());
        }
        if label.len() > 63 {
            return fail(format!(
                "label {label:?} has {} characters, at most 63 allowed",
                label.len()
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && *c != '-')
        {
            return fail(format!(
                "{c:?} is not allowed; only letters, digits, hyphens and dots"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return fail(format!("label {label:?} starts or ends with a hyphen"));
        }
    }
    if looks_numeric(name) {
        return fail(
            "the last label is numeric; an IP address goes in an address field".to_owned(),
        );
    }
    Ok(())
}

/// The optional public FQDN (NET-5); empty means not set.
pub(crate) fn fqdn(raw: Raw<'_>) -> Result<Option<String>, Problem> {
    let s = text(raw, "a host name in quotes")?;
    if s.is_empty() {
        return Ok(None);
    }
    host_name(s).map(|()| Some(s.to_owned()))
}

/// The optional name a peer's client certificate must carry (MTLS): a
/// host name or an IP address (written without brackets); empty means
/// any name.
pub(crate) fn peer_name(raw: Raw<'_>) -> Result<Option<String>, Problem> {
    let s = text(raw, "a host name or an IP address in quotes")?;
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(ip) = IpAddr::from_str(strip_brackets(s)) {
        return Ok(Some(ip.to_string()));
    }
    host_name(s).map(|()| Some(s.to_owned()))
}

/// A firmware server URL (`http`, `https`, `ftp` or `tftp`), at most
/// 1024 bytes, without spaces or control characters; empty: none.
pub(crate) fn firmware_url(raw: Raw<'_>) -> Result<Option<String>, Problem> {
    let s = text(
        raw,
        "a URL in quotes such as \"https://fw.example.com/6867i\"",
    )?;
    if s.is_empty() {
        return Ok(None);
    }
    let scheme_ok = ["http://", "https://", "ftp://", "tftp://"]
        .iter()
        .any(|p| s.len() > p.len() && s.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes()));
    if !scheme_ok || s.len() > 1024 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Problem::new(
            ErrorKind::SyntaxError,
            "expected an http://, https://, ftp:// or tftp:// URL of at most 1024 characters \
             without spaces, e.g. \"https://fw.example.com/6867i\"; empty for none",
        ));
    }
    Ok(Some(s.to_owned()))
}

/// The admin listener: a socket address with a port 1..65535. The
/// wildcard is allowed: this is where Outpost binds, not an address given
/// to peers.
pub(crate) fn listen_addr(raw: Raw<'_>) -> Result<SocketAddr, Problem> {
    let s = text(raw, "a socket address in quotes such as \"127.0.0.1:9464\"")?;
    let addr = SocketAddr::from_str(s).map_err(|_| {
        Problem::new(
            ErrorKind::SyntaxError,
            "not a socket address; write IP:PORT, e.g. \"127.0.0.1:9464\" or \"[::1]:9464\"",
        )
    })?;
    if addr.port() == 0 {
        return Err(Problem::new(
            ErrorKind::OutOfBounds,
            format!("port 0 is not a port number, allowed {PORT_BOUNDS}"),
        ));
    }
    if addr.ip() == IpAddr::from([255, 255, 255, 255]) || addr.ip().is_multicast() {
        return Err(Problem::new(
            ErrorKind::NotAllowed,
            format!("{} is not an address a listener can bind", addr.ip()),
        ));
    }
    Ok(addr)
}

/// A non-empty `tracing` filter directive; its syntax is checked when the
/// logger is installed.
pub(crate) fn log_level(raw: Raw<'_>) -> Result<String, Problem> {
    let s = text(raw, "a filter directive in quotes such as \"info\"")?;
    if s.trim().is_empty() {
        return Err(Problem::new(
            ErrorKind::SyntaxError,
            "empty; use e.g. \"info\" or \"outpost=debug,info\"",
        ));
    }
    Ok(s.to_owned())
}

/// An optional directory path; empty means not set.
pub(crate) fn optional_path(raw: Raw<'_>) -> Result<Option<std::path::PathBuf>, Problem> {
    let s = text(raw, "a path in quotes")?;
    Ok((!s.is_empty()).then(|| s.into()))
}

#[cfg(test)]
mod firmware_url_tests {
    use super::*;

    #[test]
    fn a_multibyte_character_where_the_scheme_would_end_is_refused_not_a_panic() {
        // Found by the config_toml fuzz target: "   F\u{539}" sliced at byte 6.
        let v = toml::Value::String("   F\u{539}".to_owned());
        assert!(firmware_url(Raw::Typed(&v)).is_err());
        let ok = toml::Value::String("HTTPS://fw.example.com/6867i".to_owned());
        assert!(firmware_url(Raw::Typed(&ok)).is_ok());
    }
}
