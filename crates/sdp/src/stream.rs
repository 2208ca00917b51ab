//! What a peer's description says about each stream: kind, transport
//! profile, where to send RTP and RTCP, direction, and its SRTP key.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::crypto::{CryptoAttribute, SrtpParams};
use crate::error::Reject488;
use crate::model::{Direction, MediaSection, Sdp};

/// The media type of an m-line.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `text`.
    Text,
    /// `image` (T.38 fax).
    Image,
    /// `application`.
    Application,
    /// Anything else, verbatim.
    Other(String),
}

impl MediaKind {
    /// From the first field of an `m=` line.
    pub fn parse(media: &str) -> Self {
        match media {
            "audio" => Self::Audio,
            "video" => Self::Video,
            "text" => Self::Text,
            "image" => Self::Image,
            "application" => Self::Application,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The `m=` spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Text => "text",
            Self::Image => "image",
            Self::Application => "application",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The RTP profiles Outpost relays (RFC 3551, RFC 3711, RFC 4585, RFC 5124).
/// Other transports (`UDP/TLS/RTP/SAVPF`, `udptl`, `TCP/BFCP`...) are kept
/// in the description but the stream is disabled (port 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// `RTP/AVP`.
    Avp,
    /// `RTP/SAVP`.
    Savp,
    /// `RTP/AVPF`.
    Avpf,
    /// `RTP/SAVPF`.
    Savpf,
}

impl Profile {
    /// Reads an `m=` protocol (ASCII case-insensitive).
    pub fn from_proto(proto: &str) -> Option<Self> {
        const ALL: [Profile; 4] = [Profile::Avp, Profile::Savp, Profile::Avpf, Profile::Savpf];
        ALL.into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(proto))
    }

    /// The `m=` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Avp => "RTP/AVP",
            Self::Savp => "RTP/SAVP",
            Self::Avpf => "RTP/AVPF",
            Self::Savpf => "RTP/SAVPF",
        }
    }

    /// Whether the profile is SRTP (`S` profiles).
    pub fn is_secure(self) -> bool {
        matches!(self, Self::Savp | Self::Savpf)
    }

    /// Whether the profile carries RTCP feedback (`F` profiles).
    pub fn has_feedback(self) -> bool {
        matches!(self, Self::Avpf | Self::Savpf)
    }

    /// The same feedback flavour, secure or not.
    pub fn with_secure(self, secure: bool) -> Self {
        match (self.has_feedback(), secure) {
            (false, false) => Self::Avp,
            (false, true) => Self::Savp,
            (true, false) => Self::Avpf,
            (true, true) => Self::Savpf,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One m-line of a peer's offer or answer, as the media relay needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteStream {
    /// 0-based m-line index (the same on both legs).
    pub index: usize,
    /// Media type.
    pub kind: MediaKind,
    /// The `m=` protocol, verbatim (answers mirror it, RFC 3264 §6).
    pub proto: String,
    /// The RTP profile; `None` for a transport Outpost does not relay.
    pub profile: Option<Profile>,
    /// The stream is in use: port not 0, relayable transport, and (in an
    /// answer) accepted for an active offered stream.
    pub active: bool,
    /// Where to send RTP; `None` when the address is `0.0.0.0`/`::`
    /// (hold, RFC 3264 §8.4) or not an IP address (latching finds it).
    pub rtp: Option<SocketAddr>,
    /// Where to send RTCP without rtcp-mux: `a=rtcp` (RFC 3605) or RTP
    /// port + 1.
    pub rtcp: Option<SocketAddr>,
    /// `a=rtcp-mux` present (RFC 5761).
    pub rtcp_mux: bool,
    /// The connection address is unspecified (`c=IN IP4 0.0.0.0` hold);
    /// passed through on the other leg.
    pub null_address: bool,
    /// Effective direction: media level, else session level, else sendrecv.
    pub direction: Direction,
    /// The media formats (payload types), for codec-change detection.
    pub formats: Vec<String>,
    /// The SRTP parameters this peer sends with (its key): set when SRTP is
    /// in use on this stream on this leg, `None` for plain RTP.
    pub srtp: Option<SrtpParams>,
}

/// Reads everything but the security decision; `crypto` lists the parsed
/// `a=crypto` lines (malformed ones dropped) for the caller to decide.
pub(crate) fn read_stream(
    sdp: &Sdp,
    index: usize,
    section: &MediaSection,
) -> Result<(RemoteStream, Vec<CryptoAttribute>), Reject488> {
    let m = section.media_line();
    let profile = Profile::from_proto(&m.proto);
    let active = m.port != 0 && profile.is_some();
    let mut stream = RemoteStream {
        index,
        kind: MediaKind::parse(&m.media),
        proto: m.proto.clone(),
        profile,
        active,
        rtp: None,
        rtcp: None,
        rtcp_mux: section.has_attribute("rtcp-mux"),
        null_address: false,
        direction: section
            .direction()
            .or_else(|| sdp.session_direction())
            .unwrap_or_default(),
        formats: m.formats.clone(),
        srtp: None,
    };
    let crypto = section
        .attribute_values("crypto")
        .filter_map(|v| CryptoAttribute::parse(v).ok())
        .collect();
    if !active {
        return Ok((stream, crypto));
    }
    let conn = section
        .connection()
        .or_else(|| sdp.connection())
        .ok_or(Reject488::NoConnection { index })?;
    let ip = conn.ip();
    stream.null_address = ip.is_some_and(|ip| ip.is_unspecified());
    let ip = ip.filter(|ip| !ip.is_unspecified());
    stream.rtp = ip.map(|ip| SocketAddr::new(ip, m.port));
    stream.rtcp = rtcp_address(section, ip, m.port);
    Ok((stream, crypto))
}

/// `a=rtcp:<port> [IN IP4 <addr>]` (RFC 3605), else RTP port + 1.
fn rtcp_address(section: &MediaSection, ip: Option<IpAddr>, rtp_port: u16) -> Option<SocketAddr> {
    if let Some(value) = section.attribute_values("rtcp").next() {
        let mut f = value.split_ascii_whitespace();
        let port: u16 = f.next()?.parse().ok()?;
        let addr = match (f.next(), f.next(), f.next()) {
            (Some(_), Some(_), Some(a)) => a.parse::<IpAddr>().ok().filter(|a| !a.is_unspecified()),
            _ => ip,
        };
        return addr.map(|a| SocketAddr::new(a, port));
    }
    Some(SocketAddr::new(ip?, rtp_port.checked_add(1)?))
}
