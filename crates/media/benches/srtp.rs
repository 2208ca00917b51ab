//! Cost of the SRTP transform and of the per-packet relay step.
//!
//! `cargo bench -p outpost-media --bench srtp`. Every packet is a 172-byte
//! RTP packet (12-byte header, 160 bytes of G.711: 20 ms at 8 kHz).
//! Packets per second per core is `1 / time` (criterion also prints it as
//! "thrpt" in elements/s).
//!
//! - `srtp/protect/*`, `srtp/unprotect/*`: the transform alone, both suites.
//! - `relay/srtp_to_rtp`: `Session::handle_packet` from an SRTP public leg
//!   to a plain private leg (unprotect + latch check + stats).
//! - `relay/rtp_to_srtp`: the other direction (protect).
//! - `relay/rtp_to_rtp`: plain both sides (the relay's bookkeeping alone).
//! - `parts/*`: the primitives alone, and aws-lc-rs HMAC-SHA1 for comparison.
//!
//! Unprotect needs a fresh packet index every time (the replay window
//! rejects repeats), so those benches protect a packet in the untimed setup
//! of `iter_batched`.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use outpost_media::srtp::{MASTER_LEN, MAX_OVERHEAD};
use outpost_media::{
    Action, Component, CryptoSuite, LocalPort, MasterKey, MediaTimeout, Session, SessionId, Side,
    SideConfig, SrtpConfig, SrtpContext, SrtpTransform, StreamId,
};

const RTP_LEN: usize = 172;
const SUITES: [(CryptoSuite, &str); 2] = [
    (CryptoSuite::AesCm128HmacSha1_80, "sha1_80"),
    (CryptoSuite::AesCm128HmacSha1_32, "sha1_32"),
];

/// A buffer with a G.711 RTP packet of sequence `seq` and room for a tag.
fn packet(seq: u16) -> [u8; RTP_LEN + MAX_OVERHEAD] {
    let mut p = [0xd5u8; RTP_LEN + MAX_OVERHEAD];
    p[..12].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]);
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p
}

fn key(b: u8) -> MasterKey {
    MasterKey::generate([b; MASTER_LEN])
}

fn srtp(c: &mut Criterion) {
    let mut group = c.benchmark_group("srtp");
    group.throughput(Throughput::Elements(1));
    for (suite, name) in SUITES {
        let mut tx = SrtpContext::new(suite, &key(1)).unwrap();
        let mut seq = 0u16;
        group.bench_function(format!("protect/{name}"), |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                let mut buf = packet(seq);
                black_box(tx.protect_rtp(black_box(&mut buf), RTP_LEN).unwrap());
            });
        });

        let mut tx = SrtpContext::new(suite, &key(1)).unwrap();
        let mut rx = SrtpContext::new(suite, &key(1)).unwrap();
        let mut seq = 0u16;
        group.bench_function(format!("unprotect/{name}"), |b| {
            b.iter_batched_ref(
                || {
                    seq = seq.wrapping_add(1);
                    let mut buf = packet(seq);
                    let len = tx.protect_rtp(&mut buf, RTP_LEN).unwrap();
                    (buf, len)
                },
                |(buf, len)| black_box(rx.unprotect_rtp(buf, *len).unwrap()),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

// The benchmark's clock origin; virtual time advances by explicit steps.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn session(public_srtp: bool) -> Session {
    let mut s = Session::new(SessionId(1), origin(), MediaTimeout::default());
    let public = if public_srtp {
        SideConfig::srtp(
            addr("192.0.2.1:4000"),
            SrtpConfig {
                suite: CryptoSuite::AesCm128HmacSha1_80,
                recv: key(1),
                send: key(2),
            },
        )
    } else {
        SideConfig::plain(addr("192.0.2.1:4000"))
    };
    s.add_stream(public, SideConfig::plain(addr("10.0.0.2:30000")))
        .unwrap();
    s
}

fn port(side: Side) -> LocalPort {
    LocalPort {
        side,
        stream: StreamId(0),
        component: Component::Rtp,
    }
}

fn relay(c: &mut Criterion) {
    let mut group = c.benchmark_group("relay");
    group.throughput(Throughput::Elements(1));
    let phone = addr("203.0.113.5:61000");
    let pbx = addr("10.0.0.2:30000");

    let mut s = session(true);
    let mut phone_tx = SrtpContext::new(CryptoSuite::AesCm128HmacSha1_80, &key(1)).unwrap();
    let t0 = origin();
    let mut seq = 0u16;
    let mut now = t0;
    group.bench_function("srtp_to_rtp", |b| {
        b.iter_batched_ref(
            || {
                seq = seq.wrapping_add(1);
                now += Duration::from_millis(20);
                let mut buf = packet(seq);
                let len = phone_tx.protect_rtp(&mut buf, RTP_LEN).unwrap();
                (buf, len, now)
            },
            |(buf, len, now)| {
                let a = s.handle_packet(*now, port(Side::Public), phone, buf, *len);
                assert!(matches!(a, Action::Forward(_)));
            },
            BatchSize::SmallInput,
        );
    });

    let mut s = session(true);
    let mut seq = 0u16;
    group.bench_function("rtp_to_srtp", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            now += Duration::from_millis(20);
            let mut buf = packet(seq);
            let a = s.handle_packet(now, port(Side::Private), pbx, &mut buf, RTP_LEN);
            assert!(matches!(black_box(a), Action::Forward(_)));
        });
    });

    let mut s = session(false);
    let mut seq = 0u16;
    group.bench_function("rtp_to_rtp", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            now += Duration::from_millis(20);
            let mut buf = packet(seq);
            let a = s.handle_packet(now, port(Side::Private), pbx, &mut buf, RTP_LEN);
            assert!(matches!(black_box(a), Action::Forward(_)));
        });
    });
    group.finish();
}

/// The two primitives on their own, and the HMAC-SHA1 of aws-lc-rs that
/// the transform does not use: at RTP sizes its per-call context copy
/// costs more than the RustCrypto `hmac` + `sha1` (SHA-NI) pair.
fn parts(c: &mut Criterion) {
    use ::hmac::{Hmac, Mac};
    use aws_lc_rs::cipher::{AES_128, EncryptingKey, EncryptionContext, UnboundCipherKey};
    use aws_lc_rs::iv::FixedLength;

    let mut group = c.benchmark_group("parts");
    group.throughput(Throughput::Elements(1));
    // An SRTP packet's authenticated portion plus the ROC.
    let data = [0x5au8; RTP_LEN + 4];
    let lc = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &[7; 20]);
    group.bench_function("hmac_sha1_176/aws_lc", |b| {
        b.iter(|| black_box(aws_lc_rs::hmac::sign(&lc, black_box(&data))));
    });
    let rc: Hmac<sha1::Sha1> = Hmac::new_from_slice(&[7; 20]).unwrap();
    group.bench_function("hmac_sha1_176/rustcrypto", |b| {
        b.iter(|| {
            let mut m = rc.clone();
            m.update(black_box(&data));
            black_box(m.finalize().into_bytes())
        });
    });
    let aes = EncryptingKey::ctr(UnboundCipherKey::new(&AES_128, &[1; 16]).unwrap()).unwrap();
    let mut payload = [0u8; RTP_LEN - 12];
    group.bench_function("aes_ctr_160/aws_lc", |b| {
        b.iter(|| {
            let iv = EncryptionContext::Iv128(FixedLength::from([3u8; 16]));
            aes.less_safe_encrypt(black_box(&mut payload), iv).unwrap();
        });
    });
    group.finish();
}

criterion_group!(benches, srtp, relay, parts);
criterion_main!(benches);
