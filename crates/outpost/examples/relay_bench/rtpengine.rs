//! The rtpengine side of the relay benchmark (issue 7, P3): a client for
//! rtpengine's ng control protocol that sets up one call per stream the way
//! Kamailio's `rtpengine_offer`/`rtpengine_answer` would, so that the load
//! generator's streams go phone → rtpengine `pub` → rtpengine `priv` → far
//! end, SRTP (AES_CM_128_HMAC_SHA1_80, the phone's key) or RTP in, plain RTP
//! out.
//!
//! The ng protocol is one UDP datagram per request, `<cookie> <bencoded
//! dict>`, answered by `<cookie> <bencoded dict>`; rtpengine caches replies
//! by cookie, so a retransmission reuses its cookie and every new request
//! gets a fresh one. Bencode is small enough to write here (four types, no
//! floats) instead of adding a crate to `outpost`'s dev-dependencies for a
//! benchmark.

use std::collections::BTreeMap;
use std::error::Error;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use outpost_media::MasterKey;
use tokio::net::UdpSocket;

/// A bencoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bencode {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Self>),
    /// Keys sorted as bencode requires (raw byte order).
    Dict(BTreeMap<Vec<u8>, Self>),
}

impl From<&str> for Bencode {
    fn from(s: &str) -> Self {
        Self::Bytes(s.as_bytes().to_vec())
    }
}

impl From<String> for Bencode {
    fn from(s: String) -> Self {
        Self::Bytes(s.into_bytes())
    }
}

impl<const N: usize> From<[&str; N]> for Bencode {
    fn from(items: [&str; N]) -> Self {
        Self::List(items.into_iter().map(Self::from).collect())
    }
}

/// A dictionary from `(key, value)` pairs.
pub(crate) fn dict<const N: usize>(pairs: [(&str, Bencode); N]) -> Bencode {
    Bencode::Dict(
        pairs
            .into_iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v))
            .collect(),
    )
}

impl Bencode {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Int(i) => out.extend_from_slice(format!("i{i}e").as_bytes()),
            Self::Bytes(b) => {
                out.extend_from_slice(format!("{}:", b.len()).as_bytes());
                out.extend_from_slice(b);
            }
            Self::List(items) => {
                out.push(b'l');
                items.iter().for_each(|v| v.encode(out));
                out.push(b'e');
            }
            Self::Dict(map) => {
                out.push(b'd');
                for (k, v) in map {
                    Self::Bytes(k.clone()).encode(out);
                    v.encode(out);
                }
                out.push(b'e');
            }
        }
    }

    /// Decodes one value that must fill `input` exactly.
    pub(crate) fn decode(input: &[u8]) -> Result<Self, Box<dyn Error>> {
        let (value, rest) = Self::decode_prefix(input, 0)?;
        if !rest.is_empty() {
            return Err("bencode: trailing bytes".into());
        }
        Ok(value)
    }

    fn decode_prefix(input: &[u8], depth: u32) -> Result<(Self, &[u8]), Box<dyn Error>> {
        if depth > 64 {
            return Err("bencode: nested too deeply".into());
        }
        match input.first() {
            Some(b'i') => {
                let end = input
                    .iter()
                    .position(|&b| b == b'e')
                    .ok_or("bencode: open int")?;
                let digits = std::str::from_utf8(input.get(1..end).ok_or("bencode: int")?)?;
                Ok((
                    Self::Int(digits.parse()?),
                    input.get(end + 1..).unwrap_or_default(),
                ))
            }
            Some(b'l') => {
                let mut rest = input.get(1..).unwrap_or_default();
                let mut items = Vec::new();
                while rest.first() != Some(&b'e') {
                    let (item, after) = Self::decode_prefix(rest, depth + 1)?;
                    items.push(item);
                    rest = after;
                }
                Ok((Self::List(items), rest.get(1..).unwrap_or_default()))
            }
            Some(b'd') => {
                let mut rest = input.get(1..).unwrap_or_default();
                let mut map = BTreeMap::new();
                while rest.first() != Some(&b'e') {
                    let (Self::Bytes(key), after) = Self::decode_prefix(rest, depth + 1)? else {
                        return Err("bencode: dictionary key is not a string".into());
                    };
                    let (value, after) = Self::decode_prefix(after, depth + 1)?;
                    map.insert(key, value);
                    rest = after;
                }
                Ok((Self::Dict(map), rest.get(1..).unwrap_or_default()))
            }
            Some(b'0'..=b'9') => {
                let colon = input
                    .iter()
                    .position(|&b| b == b':')
                    .ok_or("bencode: string")?;
                let len: usize =
                    std::str::from_utf8(input.get(..colon).unwrap_or_default())?.parse()?;
                let body = input
                    .get(colon + 1..colon + 1 + len)
                    .ok_or("bencode: string past the end")?;
                Ok((
                    Self::Bytes(body.to_vec()),
                    input.get(colon + 1 + len..).unwrap_or_default(),
                ))
            }
            Some(other) => Err(format!("bencode: unexpected byte {other:#04x}").into()),
            None => Err("bencode: unexpected end".into()),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Self::Dict(map) => map.get(key.as_bytes()),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// An ng protocol client on one UDP socket, one request at a time.
pub(crate) struct Ng {
    socket: UdpSocket,
    server: SocketAddr,
    cookie_prefix: String,
    next_cookie: u64,
}

impl Ng {
    pub(crate) async fn connect(server: SocketAddr) -> Result<Self, Box<dyn Error>> {
        let local = SocketAddr::new(server.ip(), 0);
        let socket = UdpSocket::bind(local).await?;
        socket.connect(server).await?;
        Ok(Self {
            socket,
            server,
            cookie_prefix: format!("p3-{}-", std::process::id()),
            next_cookie: 0,
        })
    }

    /// Sends one command and returns rtpengine's reply dictionary; fails on
    /// `"result": "error"` with rtpengine's reason, or after 3 unanswered
    /// tries of 1 s each.
    pub(crate) async fn request(&mut self, command: &Bencode) -> Result<Bencode, Box<dyn Error>> {
        self.next_cookie += 1;
        let cookie = format!("{}{}", self.cookie_prefix, self.next_cookie);
        let mut datagram = format!("{cookie} ").into_bytes();
        command.encode(&mut datagram);
        let name = command
            .get("command")
            .and_then(Bencode::as_str)
            .unwrap_or("?")
            .to_owned();
        let mut buf = vec![0u8; 65_535];
        for _ in 0..3 {
            self.socket.send(&datagram).await?;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
            while let Ok(got) = tokio::time::timeout_at(deadline, self.socket.recv(&mut buf)).await
            {
                let len = got?;
                let reply = buf.get(..len).unwrap_or_default();
                // A late reply to an earlier, retransmitted request: skip it.
                let Some(body) = reply
                    .strip_prefix(cookie.as_bytes())
                    .and_then(|r| r.strip_prefix(b" "))
                else {
                    continue;
                };
                let reply = Bencode::decode(body)?;
                return match reply.get("result").and_then(Bencode::as_str) {
                    Some("ok" | "pong") => Ok(reply),
                    other => Err(format!(
                        "rtpengine {name}: result {:?}: {}",
                        other.unwrap_or("missing"),
                        reply
                            .get("error-reason")
                            .and_then(Bencode::as_str)
                            .unwrap_or("no reason given")
                    )
                    .into()),
                };
            }
        }
        Err(format!(
            "rtpengine {name}: no answer from {} (is rtpengine running?)",
            self.server
        )
        .into())
    }
}

/// What one call through rtpengine looks like from outside.
pub(crate) struct Call {
    pub(crate) call_id: String,
    pub(crate) from_tag: String,
    /// Where the phone sends: rtpengine's `pub` port from the answer SDP.
    pub(crate) send_to: SocketAddr,
    /// Where the far end hears it from: rtpengine's `priv` port from the
    /// offer SDP (rtpengine sends from the port it advertises).
    pub(crate) relays_from: SocketAddr,
}

/// The media description of an SDP body: connection address, audio port,
/// transport protocol and the first `a=crypto` line's suite and key.
pub(crate) struct Media {
    pub(crate) addr: SocketAddr,
    pub(crate) proto: String,
    pub(crate) crypto: Option<(String, String)>,
}

pub(crate) fn parse_sdp(sdp: &str) -> Result<Media, Box<dyn Error>> {
    let mut ip: Option<IpAddr> = None;
    let mut media: Option<(u16, String)> = None;
    let mut crypto = None;
    for line in sdp.lines().map(str::trim) {
        if let Some(c) = line.strip_prefix("c=IN IP4 ") {
            // Session level first; a media-level line overrides it.
            ip = Some(c.split('/').next().unwrap_or_default().parse()?);
        } else if let Some(m) = line.strip_prefix("m=audio ") {
            let mut parts = m.split_whitespace();
            let port = parts.next().ok_or("m= port")?.parse()?;
            media = Some((port, parts.next().ok_or("m= proto")?.to_owned()));
        } else if let Some(a) = line.strip_prefix("a=crypto:") {
            let mut parts = a.split_whitespace().skip(1);
            if crypto.is_none() {
                if let (Some(suite), Some(key)) = (parts.next(), parts.next()) {
                    crypto = Some((suite.to_owned(), key.to_owned()));
                }
            }
        }
    }
    let (port, proto) = media.ok_or("no m=audio line")?;
    Ok(Media {
        addr: SocketAddr::new(ip.ok_or("no c= line")?, port),
        proto,
        crypto,
    })
}

const SUITE: &str = "AES_CM_128_HMAC_SHA1_80";

/// Sets up stream `s` through rtpengine: `offer` with the phone's SDP (SRTP
/// with `key` or RTP), toward the private side as plain RTP/AVP without ICE
/// or DTLS, direction `pub` → `priv`; then `answer` with the far end's RTP
/// SDP. Checks that rtpengine took the phone's crypto and offers plain RTP
/// on the private side.
pub(crate) async fn setup(
    ng: &mut Ng,
    s: u16,
    key: Option<&MasterKey>,
    phone: SocketAddr,
    far_end: SocketAddr,
) -> Result<Call, Box<dyn Error>> {
    let call_id = format!("outpost-p3-{}-{s}", std::process::id());
    let from_tag = format!("phone-{s}");
    let to_tag = format!("far-{s}");
    let (proto, crypto_line) = match key {
        Some(key) => (
            "RTP/SAVP",
            format!("a=crypto:1 {SUITE} {}\r\n", key.to_inline()),
        ),
        None => ("RTP/AVP", String::new()),
    };
    let sdp = |who: SocketAddr, version: u16, proto: &str, crypto: &str| {
        format!(
            "v=0\r\no=- {s}{version} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
             m=audio {port} {proto} 0\r\na=rtpmap:0 PCMU/8000\r\n{crypto}a=sendrecv\r\n",
            ip = who.ip(),
            port = who.port(),
        )
    };
    let offer = ng
        .request(&dict([
            ("command", "offer".into()),
            ("call-id", call_id.as_str().into()),
            ("from-tag", from_tag.as_str().into()),
            ("sdp", sdp(phone, 1, proto, &crypto_line).into()),
            ("transport-protocol", "RTP/AVP".into()),
            ("ICE", "remove".into()),
            ("DTLS", "off".into()),
            ("direction", ["pub", "priv"].into()),
        ]))
        .await?;
    let toward_far = parse_sdp(
        offer
            .get("sdp")
            .and_then(Bencode::as_str)
            .ok_or("offer: no sdp")?,
    )?;
    if toward_far.proto != "RTP/AVP" || toward_far.crypto.is_some() {
        return Err(format!(
            "rtpengine offered {} toward the private side, not plain RTP/AVP",
            toward_far.proto
        )
        .into());
    }
    let answer = ng
        .request(&dict([
            ("command", "answer".into()),
            ("call-id", call_id.as_str().into()),
            ("from-tag", from_tag.as_str().into()),
            ("to-tag", to_tag.as_str().into()),
            ("sdp", sdp(far_end, 2, "RTP/AVP", "").into()),
            ("ICE", "remove".into()),
            ("DTLS", "off".into()),
        ]))
        .await?;
    let toward_phone = parse_sdp(
        answer
            .get("sdp")
            .and_then(Bencode::as_str)
            .ok_or("answer: no sdp")?,
    )?;
    if toward_phone.proto != proto {
        return Err(format!(
            "rtpengine answered the phone with {}, not {proto}",
            toward_phone.proto
        )
        .into());
    }
    if key.is_some() {
        // rtpengine's own key, for the direction this benchmark leaves idle.
        match &toward_phone.crypto {
            Some((suite, inline)) if suite == SUITE && MasterKey::from_inline(inline).is_ok() => {}
            other => {
                return Err(
                    format!("rtpengine did not accept {SUITE} (answer crypto: {other:?})").into(),
                );
            }
        }
    }
    Ok(Call {
        call_id,
        from_tag,
        send_to: toward_phone.addr,
        relays_from: toward_far.addr,
    })
}

/// rtpengine's own count of a call's RTP traffic, from its `delete` reply.
#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct Totals {
    pub(crate) packets: u64,
    pub(crate) errors: u64,
}

/// Deletes a call; returns rtpengine's RTP totals for it.
pub(crate) async fn delete(ng: &mut Ng, call: &Call) -> Result<Totals, Box<dyn Error>> {
    let reply = ng
        .request(&dict([
            ("command", "delete".into()),
            ("call-id", call.call_id.as_str().into()),
            ("from-tag", call.from_tag.as_str().into()),
        ]))
        .await?;
    let rtp = reply.get("totals").and_then(|t| t.get("RTP"));
    let count = |name| {
        rtp.and_then(|r| r.get(name))
            .and_then(Bencode::as_int)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0)
    };
    Ok(Totals {
        packets: count("packets"),
        errors: count("errors"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bencode_round_trip() {
        let value = dict([
            ("command", "offer".into()),
            ("direction", ["pub", "priv"].into()),
            ("n", Bencode::Int(-3)),
        ]);
        let mut out = Vec::new();
        value.encode(&mut out);
        assert_eq!(out, b"d7:command5:offer9:directionl3:pub4:prive1:ni-3ee");
        assert_eq!(Bencode::decode(&out).ok(), Some(value));
        assert!(Bencode::decode(b"d3:abc").is_err());
        assert!(Bencode::decode(b"5:ab").is_err());
    }

    #[test]
    fn sdp_media() -> Result<(), Box<dyn Error>> {
        let m = parse_sdp(
            "v=0\r\nc=IN IP4 127.0.20.1\r\nm=audio 40014 RTP/SAVP 0\r\n\
             a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:YpBbSNEHQPd+wwf8f6OgXeg5u2wr+LQt+l7ALMQC\r\n",
        )?;
        assert_eq!(m.addr, "127.0.20.1:40014".parse()?);
        assert_eq!(m.proto, "RTP/SAVP");
        assert_eq!(m.crypto.map(|c| c.0).as_deref(), Some(SUITE));
        Ok(())
    }
}
