//! The rewriting shared by offers and answers: our origin, our connection
//! address and ports, our `a=rtcp`/`a=rtcp-mux`/`a=crypto`, and nothing of
//! the peer's addresses or keys (topology hiding, SPEC MED-1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::crypto::{CryptoSuite, MasterKey, SrtpParams};
use crate::model::{Connection, MediaSection, Origin, Sdp, addrtype};

/// Attributes never forwarded from one leg to the other: they carry the
/// peer's addresses or keys, or ICE state Outpost does not terminate.
const PEER_ONLY: &[&str] = &[
    "crypto",
    "rtcp",
    "rtcp-mux",
    "rtcp-mux-only",
    "candidate",
    "remote-candidates",
    "end-of-candidates",
    "ice-ufrag",
    "ice-pwd",
    "ice-options",
    "ice-lite",
    "ice-mismatch",
    "ice-pacing",
];

/// Our `o=` line for one leg of a dialog (RFC 3264 §8: same username and
/// session id for the whole dialog, version incremented when the
/// description changes). The caller keeps one per leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginState {
    username: String,
    session_id: u64,
    version: u64,
    last: Option<Vec<u8>>,
}

impl OriginState {
    /// A fresh state; `session_id` comes from the caller's RNG. Whitespace
    /// in `username` is replaced (the field is a token).
    pub fn new(username: &str, session_id: u64) -> Self {
        let username: String = username
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '-' })
            .collect();
        let username = if username.is_empty() {
            "-".to_owned()
        } else {
            username
        };
        Self {
            username,
            session_id,
            version: 0,
            last: None,
        }
    }

    /// The session id.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// The version of the last description stamped (0 before the first).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Writes our `o=` into `sdp`; bumps the version unless the rest of the
    /// description is the same as the last one stamped.
    pub(crate) fn stamp(&mut self, sdp: &mut Sdp, address: IpAddr) {
        let body = sdp.body_without_origin();
        if self.last.as_ref() != Some(&body) {
            self.version = self.version.wrapping_add(1);
            self.last = Some(body);
        }
        sdp.set_origin(&Origin {
            username: self.username.clone(),
            session_id: self.session_id.to_string(),
            session_version: self.version.to_string(),
            nettype: "IN".into(),
            addrtype: addrtype(address).into(),
            address: address.to_string(),
        });
    }
}

/// Our side of one leg: the advertised address (NET-2: IP1 on the public
/// side, IP4 on the private side, never a bind address) and, per m-line,
/// the ports and keys the media manager allocated.
#[derive(Clone, Debug)]
pub struct LocalSide {
    /// The address written in `c=` and `o=`.
    pub address: IpAddr,
    /// One entry per m-line, by index. `None` (or a missing entry, or an
    /// RTP port of 0) disables that stream on this leg (port 0).
    pub streams: Vec<Option<LocalStream>>,
    /// Suites offered, in order, by `build_offer` (default: `_80`, `_32`).
    pub suites: Vec<CryptoSuite>,
}

impl LocalSide {
    /// No streams yet, default suites.
    pub fn new(address: IpAddr) -> Self {
        Self {
            address,
            streams: Vec::new(),
            suites: CryptoSuite::offered_default(),
        }
    }

    /// Sets m-line `index`'s local stream (growing the list as needed).
    pub fn with_stream(mut self, index: usize, stream: LocalStream) -> Self {
        if self.streams.len() <= index {
            self.streams.resize(index + 1, None);
        }
        if let Some(slot) = self.streams.get_mut(index) {
            *slot = Some(stream);
        }
        self
    }

    pub(crate) fn stream(&self, index: usize) -> Option<&LocalStream> {
        self.streams
            .get(index)
            .and_then(Option::as_ref)
            .filter(|s| s.rtp_port != 0)
    }
}

/// Ports and keys for one m-line on one leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalStream {
    /// Our RTP port.
    pub rtp_port: u16,
    /// Our RTCP port (allocate one even when offering rtcp-mux: the answer
    /// may decline it, RFC 5761 §5.1.1).
    pub rtcp_port: u16,
    /// Offer rtcp-mux (offers) / accept it when offered (answers).
    pub rtcp_mux: bool,
    /// Fresh master key || salt from a CSPRNG: in an offer one per suite of
    /// [`LocalSide::suites`] (in order; lines without a key of the suite's
    /// length are not offered); in an answer the first one is used. Pass
    /// the same keys again on renegotiation to keep the SRTP context.
    pub keys: Vec<MasterKey>,
}

/// How one m-line is written on the outgoing leg.
pub(crate) struct StreamOut<'a> {
    pub(crate) active: bool,
    pub(crate) proto: &'a str,
    pub(crate) local: Option<&'a LocalStream>,
    pub(crate) rtcp_mux: bool,
    /// Our RTCP port for `a=rtcp`; `None`: no `a=rtcp` (mux agreed).
    pub(crate) rtcp_port: Option<u16>,
    pub(crate) null_address: bool,
    pub(crate) crypto: &'a [SrtpParams],
}

fn unspecified(ip: IpAddr) -> IpAddr {
    if ip.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    }
}

fn has_connection(section: &MediaSection) -> bool {
    section.lines().iter().any(|l| l.kind() == Some(b'c'))
}

/// Rewrites `original` (one peer's description) into what Outpost sends on
/// the other leg. `out` has one entry per media section.
pub(crate) fn rewrite(
    original: &Sdp,
    address: IpAddr,
    out: &[StreamOut<'_>],
    origin: &mut OriginState,
) -> Vec<u8> {
    let mut sdp = original.clone();
    sdp.remove_session_attributes(|n| PEER_ONLY.contains(&n));
    let ours = Connection::for_ip(address);
    let null = Connection::for_ip(unspecified(address));
    let session_null = sdp
        .connection()
        .as_ref()
        .and_then(Connection::ip)
        .is_some_and(|ip| ip.is_unspecified());
    // Every c= line is ours, well formed or not.
    let session_conn = sdp.replace_connection(if session_null { &null } else { &ours });
    for (section, s) in sdp.media_mut().iter_mut().zip(out) {
        let had_rtcp = section.has_attribute("rtcp");
        section.remove_attributes(|n| PEER_ONLY.contains(&n));
        // An o= line has no place here (RFC 8866 §5); it would carry the
        // peer's address through.
        section.remove_kind(b'o');
        section.set_proto(s.proto);
        let local = match s.local {
            Some(local) if s.active => local,
            _ => {
                section.set_port(0);
                if has_connection(section) {
                    section.set_connection(&ours);
                }
                continue;
            }
        };
        section.set_port(local.rtp_port);
        if s.null_address {
            if !session_null || has_connection(section) {
                section.set_connection(&null);
            }
        } else if has_connection(section) || !session_conn || session_null {
            section.set_connection(&ours);
        }
        if let Some(rtcp) = s.rtcp_port {
            if had_rtcp || Some(rtcp) != local.rtp_port.checked_add(1) {
                section.push_attribute("rtcp", Some(&rtcp.to_string()));
            }
        }
        if s.rtcp_mux {
            section.push_attribute("rtcp-mux", None);
        }
        for c in s.crypto {
            section.push_attribute("crypto", Some(&c.to_attribute_value()));
        }
    }
    origin.stamp(&mut sdp, address);
    sdp.to_bytes()
}
