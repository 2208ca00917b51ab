//! Arbitrary bytes into SRTP/SRTCP unprotect with a fixed key, both suites,
//! and through a relay session (SRTP public leg with rtcp-mux, plain
//! private leg): nothing may panic. The input is a sequence of packets,
//! each one length byte then that many bytes, so state (ROC, replay
//! windows, latches) carries across packets. Also, every packet that
//! protects must unprotect to itself with a receiver that has seen the same
//! packets, since sender and receiver windows then agree.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use outpost_media::srtp::{MASTER_LEN, MAX_OVERHEAD};
use outpost_media::{
    Component, CryptoSuite, LocalPort, MasterKey, MediaTimeout, Session, SessionId, Side,
    SideConfig, SrtpConfig, SrtpContext, SrtpTransform,
};

const SUITES: [CryptoSuite; 2] = [
    CryptoSuite::AesCm128HmacSha1_80,
    CryptoSuite::AesCm128HmacSha1_32,
];

fn key(b: u8) -> MasterKey {
    MasterKey::generate([b; MASTER_LEN])
}

fn ctx(suite: CryptoSuite) -> SrtpContext {
    SrtpContext::new(suite, &key(1)).expect("fixed key")
}

fn packets(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (&n, rest) = data.split_first()?;
        let n = usize::from(n).min(rest.len());
        let (p, rest) = rest.split_at(n);
        data = rest;
        Some(p)
    })
}

fuzz_target!(|data: &[u8]| {
    let mut buf = [0u8; 256 + MAX_OVERHEAD];
    for suite in SUITES {
        let (mut rx, mut tx, mut rx_rt) = (ctx(suite), ctx(suite), ctx(suite));
        for p in packets(data) {
            for rtcp in [false, true] {
                buf[..p.len()].copy_from_slice(p);
                let r = if rtcp {
                    rx.unprotect_rtcp(&mut buf, p.len())
                } else {
                    rx.unprotect_rtp(&mut buf, p.len())
                };
                if let Ok(n) = r {
                    assert!(n < p.len());
                }
                if rtcp {
                    let _ = rx.authenticates_short_srtcp(p);
                    let _ = outpost_media::rtp::is_plain_rtcp(p);
                }

                buf[..p.len()].copy_from_slice(p);
                let protected = if rtcp {
                    tx.protect_rtcp(&mut buf, p.len())
                } else {
                    tx.protect_rtp(&mut buf, p.len())
                };
                if let Ok(n) = protected {
                    // No SRTCP packet of valid RTCP looks like plain RTCP
                    // (the relay never tries a key on those).
                    if rtcp && outpost_media::rtp::is_plain_rtcp(p) {
                        assert!(!outpost_media::rtp::is_plain_rtcp(&buf[..n]));
                    }
                    let back = if rtcp {
                        rx_rt.unprotect_rtcp(&mut buf, n)
                    } else {
                        rx_rt.unprotect_rtp(&mut buf, n)
                    };
                    assert_eq!(back, Ok(p.len()), "round trip");
                    assert_eq!(&buf[..p.len()], p);
                }
            }
        }
    }

    let peer: SocketAddr = "192.0.2.1:4000".parse().expect("literal");
    let pbx: SocketAddr = "10.0.0.2:30000".parse().expect("literal");
    #[allow(clippy::disallowed_methods)]
    let t0 = Instant::now();
    let mut session = Session::new(SessionId(1), t0, MediaTimeout::default());
    let public = SideConfig {
        rtcp_mux: true,
        ..SideConfig::srtp(
            peer,
            SrtpConfig {
                suite: CryptoSuite::AesCm128HmacSha1_80,
                recv: key(1),
                send: key(2),
            },
        )
    };
    let stream = session
        .add_stream(public, SideConfig::plain(pbx))
        .expect("fixed keys");
    for (i, p) in packets(data).enumerate() {
        let side = if i % 2 == 0 {
            Side::Public
        } else {
            Side::Private
        };
        let component = if i % 3 == 0 {
            Component::Rtcp
        } else {
            Component::Rtp
        };
        let from = if side == Side::Public { peer } else { pbx };
        buf[..p.len()].copy_from_slice(p);
        let at = LocalPort {
            side,
            stream,
            component,
        };
        let now = t0 + Duration::from_millis(20 * i as u64);
        let _ = session.handle_packet(now, at, from, &mut buf, p.len());
        session.handle_timeout(now);
    }
    let _ = session.stats();
});
