//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)] // test helpers: a failure is a test failure

use std::net::IpAddr;

use outpost_sdp::{LocalSide, LocalStream, MasterKey, OriginState, Sdp};

/// The bytes of `testdata/<name>`.
pub fn bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `testdata/<name>` parsed.
pub fn sdp(name: &str) -> Sdp {
    Sdp::parse(&bytes(name)).unwrap()
}

/// Every file in `testdata/`.
pub fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/testdata", env!("CARGO_MANIFEST_DIR"));
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// A 30-byte master key filled with `b`.
pub fn key(b: u8) -> MasterKey {
    MasterKey::new(vec![b; 30])
}

pub const PUBLIC: &str = "203.0.113.5"; // IP1
pub const PRIVATE: &str = "10.20.0.5"; // IP4

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A local side with ports `base + 10*i` (RTP) and +1 (RTCP) and keys for
/// each of `streams` m-lines.
pub fn local(address: &str, streams: usize, base: u16, key_byte: u8, mux: bool) -> LocalSide {
    let mut side = LocalSide::new(ip(address));
    for i in 0..streams {
        let rtp = base + 10 * i as u16;
        side = side.with_stream(
            i,
            LocalStream {
                rtp_port: rtp,
                rtcp_port: rtp + 1,
                rtcp_mux: mux,
                keys: vec![key(key_byte + 2 * i as u8), key(key_byte + 2 * i as u8 + 1)],
            },
        );
    }
    side
}

pub fn origin() -> OriginState {
    OriginState::new("outpost", 4242)
}

pub fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// The `a=<name>` values of m-line `index` in `body`.
pub fn attrs(body: &[u8], index: usize, name: &str) -> Vec<String> {
    let sdp = Sdp::parse(body).unwrap();
    sdp.media()[index]
        .attribute_values(name)
        .map(str::to_owned)
        .collect()
}

/// Every IP address found in `c=`, `o=`, `a=rtcp` and `a=candidate` lines.
pub fn addresses(body: &[u8]) -> Vec<String> {
    let sdp = Sdp::parse(body).unwrap();
    let mut out = Vec::new();
    for line in sdp.lines() {
        let Some(v) = line.value_str() else { continue };
        for word in v.split_ascii_whitespace() {
            let word = word.split('/').next().unwrap();
            if word.parse::<IpAddr>().is_ok() {
                out.push(word.to_owned());
            }
        }
    }
    out
}
