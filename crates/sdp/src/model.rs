//! The line-based SDP model (RFC 8866 §5): every line is kept as bytes with
//! its own line ending, so `to_bytes(parse(x)) == x` for any accepted input;
//! typed views (origin, connection, m-line, attributes) are read on demand.

use std::fmt;
use std::net::IpAddr;

use crate::error::ParseError;

/// Most media sections accepted in one description (each one may cost a
/// port pair per side, SPEC MED-1).
pub const MAX_MEDIA: usize = 64;

/// How a line ended in the input (kept for byte-faithful output).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Eol {
    CrLf,
    Lf,
    /// The last line of the input had no line ending.
    Missing,
    /// A line we added: it takes the description's dominant ending.
    Inherit,
}

/// One `<type>=<value>` line (or a blank line), without its line ending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    text: Vec<u8>,
    eol: Eol,
}

impl Line {
    /// A new line from its full text (`"a=rtcp-mux"`), ending as the
    /// description's other lines do.
    pub fn new(text: impl Into<Vec<u8>>) -> Self {
        Self {
            text: text.into(),
            eol: Eol::Inherit,
        }
    }

    /// The whole line without its ending.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// The type letter (`v`, `o`, `c`, `m`, `a`...), `None` for a blank line.
    pub fn kind(&self) -> Option<u8> {
        match self.text.as_slice() {
            [k, b'=', ..] => Some(*k),
            _ => None,
        }
    }

    /// The bytes after `x=`.
    pub fn value(&self) -> &[u8] {
        self.text.get(2..).unwrap_or_default()
    }

    /// The value as text, when it is UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(self.value()).ok()
    }

    /// For an `a=` line: the attribute name and its value (`None` for a
    /// property attribute such as `a=rtcp-mux`).
    pub fn attribute(&self) -> Option<(&str, Option<&str>)> {
        if self.kind() != Some(b'a') {
            return None;
        }
        let v = self.value_str()?;
        Some(match v.split_once(':') {
            Some((name, value)) => (name, Some(value)),
            None => (v, None),
        })
    }

    fn is_attribute(&self, name: &str) -> bool {
        self.attribute().is_some_and(|(n, _)| n == name)
    }
}

/// The fields of an `m=` line (RFC 8866 §5.14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaLine {
    /// `audio`, `video`, `image`...
    pub media: String,
    /// The transport port; 0 means the stream is disabled or rejected.
    pub port: u16,
    /// The `/<number of ports>` suffix, if any.
    pub port_count: Option<u16>,
    /// The transport protocol (`RTP/AVP`, `RTP/SAVP`, `udptl`...).
    pub proto: String,
    /// The media formats (RTP payload types for RTP profiles).
    pub formats: Vec<String>,
}

impl MediaLine {
    fn parse(value: &str) -> Option<Self> {
        let mut it = value.split_ascii_whitespace();
        let media = it.next()?.to_owned();
        let port_field = it.next()?;
        let proto = it.next()?.to_owned();
        let formats = it.map(str::to_owned).collect();
        let (port, port_count) = match port_field.split_once('/') {
            Some((p, n)) => (p.parse().ok()?, Some(n.parse().ok()?)),
            None => (port_field.parse().ok()?, None),
        };
        Some(Self {
            media,
            port,
            port_count,
            proto,
            formats,
        })
    }
}

impl fmt::Display for MediaLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media, self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.proto)?;
        for format in &self.formats {
            write!(f, " {format}")?;
        }
        Ok(())
    }
}

/// An `o=` line (RFC 8866 §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The user name (`-` when there is none).
    pub username: String,
    /// The session id (digits; kept as text, some stacks exceed 64 bits).
    pub session_id: String,
    /// The session version (digits, as text).
    pub session_version: String,
    /// Network type, `IN`.
    pub nettype: String,
    /// Address type, `IP4` or `IP6`.
    pub addrtype: String,
    /// The originator's address.
    pub address: String,
}

impl Origin {
    /// Reads an `o=` value; `None` unless it has the six fields.
    pub fn parse(value: &str) -> Option<Self> {
        let f: Vec<&str> = value.split_ascii_whitespace().collect();
        let [username, id, version, nettype, addrtype, address] = f.as_slice() else {
            return None;
        };
        Some(Self {
            username: (*username).to_owned(),
            session_id: (*id).to_owned(),
            session_version: (*version).to_owned(),
            nettype: (*nettype).to_owned(),
            addrtype: (*addrtype).to_owned(),
            address: (*address).to_owned(),
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "o={} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.nettype,
            self.addrtype,
            self.address
        )
    }
}

/// A `c=` line (RFC 8866 §5.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// Network type, `IN`.
    pub nettype: String,
    /// Address type, `IP4` or `IP6`.
    pub addrtype: String,
    /// The connection address, possibly with `/ttl[/count]`.
    pub address: String,
}

impl Connection {
    /// Reads a `c=` value.
    pub fn parse(value: &str) -> Option<Self> {
        let f: Vec<&str> = value.split_ascii_whitespace().collect();
        let [nettype, addrtype, address] = f.as_slice() else {
            return None;
        };
        Some(Self {
            nettype: (*nettype).to_owned(),
            addrtype: (*addrtype).to_owned(),
            address: (*address).to_owned(),
        })
    }

    /// `IN IP4 <ip>` or `IN IP6 <ip>`.
    pub fn for_ip(ip: IpAddr) -> Self {
        Self {
            nettype: "IN".into(),
            addrtype: addrtype(ip).into(),
            address: ip.to_string(),
        }
    }

    /// The address as an IP address (without `/ttl`), `None` for an FQDN
    /// or garbage.
    pub fn ip(&self) -> Option<IpAddr> {
        let host = self.address.split('/').next().unwrap_or_default();
        host.parse().ok()
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c={} {} {}", self.nettype, self.addrtype, self.address)
    }
}

/// `IP4` or `IP6`.
pub(crate) fn addrtype(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "IP4" } else { "IP6" }
}

/// A stream direction attribute (RFC 3264 §5.1, RFC 8866 §6.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// `a=sendrecv`, the default.
    #[default]
    SendRecv,
    /// `a=sendonly` (typically: the sender puts the call on hold).
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// The direction an attribute name stands for.
    pub fn from_attribute(name: &str) -> Option<Self> {
        Some(match name {
            "sendrecv" => Self::SendRecv,
            "sendonly" => Self::SendOnly,
            "recvonly" => Self::RecvOnly,
            "inactive" => Self::Inactive,
            _ => return None,
        })
    }

    fn of_lines(lines: &[Line]) -> Option<Self> {
        lines.iter().find_map(|l| match l.attribute() {
            Some((name, None)) => Self::from_attribute(name),
            _ => None,
        })
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One media section: its `m=` line and the lines up to the next one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaSection {
    /// `lines[0]` is the `m=` line.
    lines: Vec<Line>,
    mline: MediaLine,
}

impl MediaSection {
    /// The parsed `m=` line.
    pub fn media_line(&self) -> &MediaLine {
        &self.mline
    }

    /// All lines, the `m=` line first.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    fn set_media_line(&mut self, mline: MediaLine) {
        if let Some(first) = self.lines.first_mut() {
            first.text = mline.to_string().into_bytes();
        }
        self.mline = mline;
    }

    /// Sets the port (and drops any `/count`), rewriting the `m=` line.
    pub fn set_port(&mut self, port: u16) {
        let mut m = self.mline.clone();
        m.port = port;
        m.port_count = None;
        if m != self.mline {
            self.set_media_line(m);
        }
    }

    /// Sets the transport protocol, rewriting the `m=` line.
    pub fn set_proto(&mut self, proto: &str) {
        if self.mline.proto != proto {
            let mut m = self.mline.clone();
            m.proto = proto.to_owned();
            self.set_media_line(m);
        }
    }

    /// The media-level `c=` line, if any.
    pub fn connection(&self) -> Option<Connection> {
        connection_of(&self.lines)
    }

    /// Replaces the media-level `c=` line (every one, should there be
    /// several), or inserts one where RFC 8866 §5 puts it (after `m=` and
    /// `i=`).
    pub fn set_connection(&mut self, c: &Connection) {
        let text = c.to_string().into_bytes();
        if replace_all(&mut self.lines, b'c', &text) {
            return;
        }
        let at = 1 + self
            .lines
            .iter()
            .skip(1)
            .take_while(|l| l.kind() == Some(b'i'))
            .count();
        self.lines.insert(at.min(self.lines.len()), Line::new(text));
    }

    /// The effective media-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        Direction::of_lines(&self.lines)
    }

    /// The values of every `a=<name>` line (`""` for a property attribute).
    pub fn attribute_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lines.iter().filter_map(move |l| match l.attribute() {
            Some((n, v)) if n == name => Some(v.unwrap_or("")),
            _ => None,
        })
    }

    /// Whether an `a=<name>` line is present.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.lines.iter().any(|l| l.is_attribute(name))
    }

    /// Removes every attribute line whose name satisfies `drop`.
    pub fn remove_attributes(&mut self, mut drop: impl FnMut(&str) -> bool) {
        let mut first = true;
        self.lines.retain(|l| {
            let keep = first || !l.attribute().is_some_and(|(n, _)| drop(n));
            first = false;
            keep
        });
    }

    /// Removes every line of type `kind` except the `m=` line itself.
    pub(crate) fn remove_kind(&mut self, kind: u8) {
        let mut first = true;
        self.lines.retain(|l| {
            let keep = first || l.kind() != Some(kind);
            first = false;
            keep
        });
    }

    /// Appends `a=<name>[:<value>]` at the end of the section.
    pub fn push_attribute(&mut self, name: &str, value: Option<&str>) {
        let text = match value {
            Some(v) => format!("a={name}:{v}"),
            None => format!("a={name}"),
        };
        // Keep trailing blank lines (if any) last.
        let at = self
            .lines
            .iter()
            .rposition(|l| l.kind().is_some())
            .map_or(self.lines.len(), |i| i + 1);
        self.lines.insert(at, Line::new(text));
    }
}

/// Sets the text of every line of type `kind`; false when there is none.
fn replace_all(lines: &mut [Line], kind: u8, text: &[u8]) -> bool {
    let mut found = false;
    for line in lines.iter_mut().filter(|l| l.kind() == Some(kind)) {
        line.text = text.to_vec();
        found = true;
    }
    found
}

fn connection_of(lines: &[Line]) -> Option<Connection> {
    lines
        .iter()
        .find(|l| l.kind() == Some(b'c'))
        .and_then(|l| Connection::parse(l.value_str()?))
}

/// A session description: the session-level lines and the media sections,
/// every byte of the input kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sdp {
    session: Vec<Line>,
    media: Vec<MediaSection>,
}

impl Sdp {
    /// Splits `input` into lines (CRLF or bare LF, RFC 8866 §5) and media
    /// sections. Accepts any line `<letter>=<anything>` and blank lines; the
    /// first line must be `v=`; every `m=` line must have a media, a numeric
    /// port and a protocol. Everything else is checked where it is used.
    pub fn parse(input: &[u8]) -> Result<Self, ParseError> {
        if input.is_empty() {
            return Err(ParseError::Empty);
        }
        let mut session = Vec::new();
        let mut media: Vec<MediaSection> = Vec::new();
        let mut rest = input;
        let mut number = 0usize;
        while !rest.is_empty() {
            number += 1;
            let (text, eol, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let line = rest.get(..i).unwrap_or_default();
                    let next = rest.get(i + 1..).unwrap_or_default();
                    match line.strip_suffix(b"\r") {
                        Some(t) => (t, Eol::CrLf, next),
                        None => (line, Eol::Lf, next),
                    }
                }
                None => (rest, Eol::Missing, &[][..]),
            };
            rest = next;
            let line = Line {
                text: text.to_vec(),
                eol,
            };
            match line.kind() {
                None if text.is_empty() => {}
                Some(k) if k.is_ascii_alphabetic() => {}
                _ => return Err(ParseError::BadLine { number }),
            }
            if number == 1 && line.kind() != Some(b'v') {
                return Err(ParseError::NoVersion);
            }
            if line.kind() == Some(b'm') {
                if media.len() == MAX_MEDIA {
                    return Err(ParseError::TooManyMedia);
                }
                let Some(mline) = line.value_str().and_then(MediaLine::parse) else {
                    return Err(ParseError::BadMediaLine { number });
                };
                media.push(MediaSection {
                    lines: vec![line],
                    mline,
                });
            } else if let Some(section) = media.last_mut() {
                section.lines.push(line);
            } else {
                session.push(line);
            }
        }
        Ok(Self { session, media })
    }

    /// The description as bytes: the input's bytes where nothing was
    /// changed; added lines take the ending of the first line.
    pub fn to_bytes(&self) -> Vec<u8> {
        let default = match self.session.first().map(|l| l.eol) {
            Some(Eol::Lf) => &b"\n"[..],
            _ => &b"\r\n"[..],
        };
        let all: Vec<&Line> = self.lines().collect();
        let mut out = Vec::with_capacity(all.iter().map(|l| l.text.len() + 2).sum());
        for (i, line) in all.iter().enumerate() {
            out.extend_from_slice(&line.text);
            match line.eol {
                Eol::CrLf => out.extend_from_slice(b"\r\n"),
                Eol::Lf => out.push(b'\n'),
                Eol::Missing if i + 1 == all.len() => {}
                Eol::Missing | Eol::Inherit => out.extend_from_slice(default),
            }
        }
        out
    }

    /// Every line in order.
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.session
            .iter()
            .chain(self.media.iter().flat_map(|m| m.lines.iter()))
    }

    /// The session-level lines (before the first `m=`).
    pub fn session_lines(&self) -> &[Line] {
        &self.session
    }

    /// The media sections in order.
    pub fn media(&self) -> &[MediaSection] {
        &self.media
    }

    /// The media sections, to edit.
    pub fn media_mut(&mut self) -> &mut [MediaSection] {
        &mut self.media
    }

    /// The `o=` line, if present and well formed.
    pub fn origin(&self) -> Option<Origin> {
        self.session
            .iter()
            .find(|l| l.kind() == Some(b'o'))
            .and_then(|l| Origin::parse(l.value_str()?))
    }

    /// Replaces the `o=` line (every one, should there be several), or
    /// inserts one after `v=`.
    pub fn set_origin(&mut self, origin: &Origin) {
        let text = origin.to_string().into_bytes();
        if !replace_all(&mut self.session, b'o', &text) {
            self.session
                .insert(1.min(self.session.len()), Line::new(text));
        }
    }

    /// The session-level `c=` line, if any.
    pub fn connection(&self) -> Option<Connection> {
        connection_of(&self.session)
    }

    /// Replaces the session-level `c=` line (every one, should there be
    /// several); returns false when there is none (nothing is inserted).
    pub fn replace_connection(&mut self, c: &Connection) -> bool {
        replace_all(&mut self.session, b'c', c.to_string().as_bytes())
    }

    /// The session-level direction attribute, if any.
    pub fn session_direction(&self) -> Option<Direction> {
        Direction::of_lines(&self.session)
    }

    /// Removes every session-level attribute whose name satisfies `drop`.
    pub fn remove_session_attributes(&mut self, mut drop: impl FnMut(&str) -> bool) {
        self.session
            .retain(|l| !l.attribute().is_some_and(|(n, _)| drop(n)));
    }

    /// The serialized description without its `o=` line (to tell whether
    /// anything but the origin changed, RFC 3264 §8).
    pub(crate) fn body_without_origin(&self) -> Vec<u8> {
        let mut copy = self.clone();
        copy.session.retain(|l| l.kind() != Some(b'o'));
        copy.to_bytes()
    }
}

impl std::str::FromStr for Sdp {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.as_bytes())
    }
}
