//! SRTP tests: RFC 3711 Appendix B vectors, libsrtp reference packets,
//! round trips, replay, ROC wrap, tampering, SRTCP.

use super::key::{Kdf, Label, aes_cm, aes_ctr_key, packet_iv};
use super::*;
use proptest::prelude::*;

const B2: &str = include_str!("../../testdata/rfc3711/b2_aes_cm.txt");
const B3: &str = include_str!("../../testdata/rfc3711/b3_key_derivation.txt");
const LIBSRTP: &str = include_str!("../../testdata/libsrtp/srtp_validate.txt");

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `name value...` lines; a repeated name concatenates its values.
fn field(file: &str, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for line in file.lines().filter(|l| !l.starts_with('#')) {
        let mut words = line.split_whitespace();
        if words.next() == Some(name) {
            out.extend(hex(&words.collect::<String>()));
        }
    }
    assert!(!out.is_empty(), "no field {name}");
    out
}

fn rows<'a>(file: &'a str, name: &'a str) -> impl Iterator<Item = Vec<&'a str>> + 'a {
    file.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(move |w| w.first() == Some(&name))
}

fn master(file: &str) -> MasterKey {
    MasterKey::new(
        field(file, "master_key").try_into().unwrap(),
        field(file, "master_salt").try_into().unwrap(),
    )
}

fn ctx(suite: CryptoSuite) -> SrtpContext {
    SrtpContext::new(suite, &master(LIBSRTP)).unwrap()
}

const SUITES: [CryptoSuite; 2] = [
    CryptoSuite::AesCm128HmacSha1_80,
    CryptoSuite::AesCm128HmacSha1_32,
];

/// A G.711-sized RTP packet.
fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..160).map(|i| (i as u8) ^ (seq as u8)));
    p
}

fn rtcp_rr(ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x81, 201, 0, 7];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xab; 24]);
    p
}

#[test]
fn rfc3711_b2_aes_cm_keystream() {
    let key: [u8; 16] = field(B2, "session_key").try_into().unwrap();
    let salt: [u8; 14] = field(B2, "session_salt").try_into().unwrap();
    let ssrc = u32::from_be_bytes(field(B2, "ssrc").try_into().unwrap());
    let roc = u32::from_be_bytes(field(B2, "roc").try_into().unwrap());
    let seq = u16::from_be_bytes(field(B2, "seq").try_into().unwrap());
    let offset: [u8; 16] = field(B2, "offset").try_into().unwrap();
    let index = (u64::from(roc) << 16) | u64::from(seq);
    assert_eq!(packet_iv(&salt, ssrc, index), offset);

    let len: usize = rows(B2, "segment_len").next().unwrap()[1].parse().unwrap();
    let mut stream = vec![0u8; len];
    aes_cm(&aes_ctr_key(&key).unwrap(), offset, &mut stream).unwrap();
    let mut checked = 0;
    for row in rows(B2, "block") {
        let counter = hex(row[1]);
        let block = usize::from(u16::from_be_bytes([counter[14], counter[15]]));
        assert_eq!(counter[..14], offset[..14]);
        assert_eq!(
            stream[block * 16..block * 16 + 16],
            hex(row[2])[..],
            "block {block:#x}"
        );
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn rfc3711_b3_key_derivation() {
    let kdf = Kdf::new(&master(B3)).unwrap();
    let mut cipher_key = [0u8; 16];
    kdf.derive(Label::RtpCipher, &mut cipher_key).unwrap();
    assert_eq!(cipher_key[..], field(B3, "cipher_key")[..]);
    let mut salt = [0u8; 14];
    kdf.derive(Label::RtpSalt, &mut salt).unwrap();
    assert_eq!(salt[..], field(B3, "cipher_salt")[..]);
    let expected = field(B3, "auth_key");
    assert_eq!(expected.len(), 94);
    let mut auth = vec![0u8; 94];
    kdf.derive(Label::RtpAuth, &mut auth).unwrap();
    assert_eq!(auth, expected);
}

#[test]
fn libsrtp_reference_packets() {
    let plain = field(LIBSRTP, "rtp_plain");
    for (suite, name) in [(SUITES[0], "srtp_80"), (SUITES[1], "srtp_32")] {
        let cipher = field(LIBSRTP, name);
        let mut p = plain.clone();
        ctx(suite).protect_rtp_vec(&mut p).unwrap();
        assert_eq!(p, cipher, "{suite} protect");
        ctx(suite).unprotect_rtp_vec(&mut p).unwrap();
        assert_eq!(p, plain, "{suite} unprotect");
    }
    let mut p = field(LIBSRTP, "srtcp");
    ctx(SUITES[0]).unprotect_rtcp_vec(&mut p).unwrap();
    assert_eq!(p, field(LIBSRTP, "rtcp_plain"));
}

#[test]
fn srtcp_index_and_layout() {
    let mut tx = ctx(SUITES[1]);
    let plain = field(LIBSRTP, "rtcp_plain");
    for expected_index in 0u32..3 {
        let mut p = plain.clone();
        tx.protect_rtcp_vec(&mut p).unwrap();
        assert_eq!(
            p.len(),
            plain.len() + SRTCP_OVERHEAD,
            "80-bit tag even for _32"
        );
        assert_eq!(p[..8], plain[..8]);
        assert_ne!(p[8..plain.len()], plain[8..]);
        let e_index = u32::from_be_bytes(p[plain.len()..plain.len() + 4].try_into().unwrap());
        assert_eq!(e_index, 0x8000_0000 | expected_index);
    }
}

#[test]
fn round_trip_both_suites() {
    for suite in SUITES {
        let mut tx = ctx(suite);
        let mut rx = ctx(suite);
        for seq in [1u16, 2, 3, 1000] {
            let plain = rtp(seq, 0x1234_5678);
            let mut p = plain.clone();
            tx.protect_rtp_vec(&mut p).unwrap();
            assert_eq!(p.len(), plain.len() + suite.rtp_tag_len());
            assert_eq!(p[..12], plain[..12]);
            assert_ne!(p[12..plain.len()], plain[12..]);
            rx.unprotect_rtp_vec(&mut p).unwrap();
            assert_eq!(p, plain);
        }
        assert_eq!(rx.recv_ssrcs().collect::<Vec<_>>(), [0x1234_5678]);
    }
}

#[test]
fn round_trip_csrc_extension_and_empty_payload() {
    let mut tx = ctx(SUITES[0]);
    let mut rx = ctx(SUITES[0]);
    let mut plain = vec![0x91, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3, 4];
    plain.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]);
    let mut p = plain.clone();
    tx.protect_rtp_vec(&mut p).unwrap();
    assert_eq!(
        p[..plain.len()],
        plain[..],
        "header and extension stay clear"
    );
    rx.unprotect_rtp_vec(&mut p).unwrap();
    assert_eq!(p, plain);
}

#[test]
fn in_place_slice_api_needs_room() {
    let mut tx = ctx(SUITES[0]);
    let plain = rtp(5, 1);
    let mut buf = [0u8; 1500];
    buf[..plain.len()].copy_from_slice(&plain);
    let n = tx.protect_rtp(&mut buf, plain.len()).unwrap();
    assert_eq!(n, plain.len() + 10);
    let mut tight = plain.clone();
    assert_eq!(
        tx.protect_rtp(&mut tight, plain.len()),
        Err(Error::BufferTooSmall)
    );
    assert_eq!(tight, plain, "untouched on error");
    assert_eq!(
        tx.unprotect_rtp(&mut tight, 2000),
        Err(Error::BufferTooSmall)
    );
    let mut rx = ctx(SUITES[0]);
    assert_eq!(rx.unprotect_rtp(&mut buf, n), Ok(plain.len()));
    assert_eq!(buf[..plain.len()], plain[..]);
}

#[test]
fn replay_rejected() {
    for suite in SUITES {
        let mut tx = ctx(suite);
        let mut rx = ctx(suite);
        let mut p = rtp(10, 7);
        tx.protect_rtp_vec(&mut p).unwrap();
        let copy = p.clone();
        rx.unprotect_rtp_vec(&mut p).unwrap();
        let mut again = copy.clone();
        assert_eq!(rx.unprotect_rtp_vec(&mut again), Err(Error::Replayed));
        assert_eq!(again, copy);
        // Protecting the same index twice would reuse keystream.
        assert_eq!(tx.protect_rtp_vec(&mut rtp(10, 7)), Err(Error::Replayed));
    }
}

#[test]
fn reordered_within_window_accepted_and_old_rejected() {
    let mut tx = ctx(SUITES[0]);
    let mut rx = ctx(SUITES[0]);
    let packets: Vec<Vec<u8>> = (100u16..=200)
        .map(|seq| {
            let mut p = rtp(seq, 3);
            tx.protect_rtp_vec(&mut p).unwrap();
            p
        })
        .collect();
    // 200 first, then 137 (63 behind: inside), 150, 199, then 136 (64 behind).
    for (seq, expect) in [(200, Ok(())), (137, Ok(())), (150, Ok(())), (199, Ok(()))] {
        let mut p = packets[seq - 100].clone();
        assert_eq!(rx.unprotect_rtp_vec(&mut p), expect, "seq {seq}");
        assert_eq!(p, rtp(seq as u16, 3));
    }
    let mut p = packets[36].clone();
    assert_eq!(
        rx.unprotect_rtp_vec(&mut p),
        Err(Error::Replayed),
        "seq 136 too old"
    );
    let mut p = packets[50].clone();
    assert_eq!(
        rx.unprotect_rtp_vec(&mut p),
        Err(Error::Replayed),
        "seq 150 twice"
    );
}

/// Sequence 65535 → 0 increments the ROC on both ends; packets reordered
/// around the wrap keep their own ROC on both protect and unprotect.
#[test]
fn roc_wrap_both_directions() {
    for suite in SUITES {
        let mut tx = ctx(suite);
        let mut rx = ctx(suite);
        let mut protected = Vec::new();
        // Sender input reordered across the wrap: 0 before 65535.
        for seq in [
            65_530u16, 65_531, 65_532, 65_533, 65_534, 0, 65_535, 1, 2, 3,
        ] {
            let mut p = rtp(seq, 9);
            tx.protect_rtp_vec(&mut p).unwrap();
            protected.push((seq, p));
        }
        assert_eq!(tx.send_roc(9), Some(1));
        // Receiver sees yet another order: 1 and 0 before 65535.
        for i in [0, 1, 2, 3, 4, 7, 5, 6, 8, 9] {
            let (seq, p) = &protected[i];
            let mut p = p.clone();
            rx.unprotect_rtp_vec(&mut p)
                .unwrap_or_else(|e| panic!("{suite} seq {seq}: {e}"));
            assert_eq!(p, rtp(*seq, 9));
        }
        assert_eq!(rx.recv_roc(9), Some(1));

        // The ROC is authenticated: a packet protected with ROC 0 does not
        // verify once the receiver is in ROC 1 (it guesses ROC 1 for it).
        let mut rx2 = ctx(suite);
        let mut late = ctx(suite);
        let mut p = rtp(5, 9);
        late.protect_rtp_vec(&mut p).unwrap(); // ROC 0
        for (_, q) in &protected {
            rx2.unprotect_rtp_vec(&mut q.clone()).unwrap();
        }
        assert_eq!(rx2.unprotect_rtp_vec(&mut p), Err(Error::AuthFailed));
    }
}

/// Several cycles forward: the index keeps growing through each wrap.
#[test]
fn roc_survives_many_wraps() {
    let mut tx = ctx(SUITES[1]);
    let mut rx = ctx(SUITES[1]);
    let mut seq = 60_000u16;
    for _ in 0..(3 * 65_536 / 1000) {
        let mut p = rtp(seq, 4);
        tx.protect_rtp_vec(&mut p).unwrap();
        rx.unprotect_rtp_vec(&mut p).unwrap();
        seq = seq.wrapping_add(1000);
    }
    assert_eq!(rx.recv_roc(4), Some(3));
    assert_eq!(tx.send_roc(4), Some(3));
}

#[test]
fn tampering_rejected_and_packet_unchanged() {
    for suite in SUITES {
        let mut tx = ctx(suite);
        let mut p = rtp(1, 2);
        tx.protect_rtp_vec(&mut p).unwrap();
        let len = p.len();
        for at in [len - 1, len - suite.rtp_tag_len(), 20, 3, 11] {
            let mut rx = ctx(suite);
            let mut bad = p.clone();
            bad[at] ^= 0x01;
            let copy = bad.clone();
            assert_eq!(
                rx.unprotect_rtp_vec(&mut bad),
                Err(Error::AuthFailed),
                "byte {at}"
            );
            assert_eq!(bad, copy);
            // A failed packet leaves no state: the genuine one still passes.
            rx.unprotect_rtp_vec(&mut p.clone()).unwrap();
        }
        let other = MasterKey::generate([7; MASTER_LEN]);
        let mut rx = SrtpContext::new(suite, &other).unwrap();
        assert_eq!(rx.unprotect_rtp_vec(&mut p.clone()), Err(Error::AuthFailed));
        assert!(rx.recv_ssrcs().next().is_none());
    }
}

#[test]
fn srtcp_round_trip_replay_and_tamper() {
    for suite in SUITES {
        let mut tx = ctx(suite);
        let mut rx = ctx(suite);
        let plain = rtcp_rr(0xdead_beef);
        let mut first = plain.clone();
        tx.protect_rtcp_vec(&mut first).unwrap();
        let mut second = plain.clone();
        tx.protect_rtcp_vec(&mut second).unwrap();
        assert_ne!(first, second, "index changes the keystream");
        let mut p = second.clone();
        rx.unprotect_rtcp_vec(&mut p).unwrap();
        assert_eq!(p, plain);
        let mut p = first.clone();
        rx.unprotect_rtcp_vec(&mut p).unwrap(); // reordered, within window
        assert_eq!(p, plain);
        assert_eq!(
            rx.unprotect_rtcp_vec(&mut first.clone()),
            Err(Error::Replayed)
        );
        let mut bad = plain.clone();
        tx.protect_rtcp_vec(&mut bad).unwrap();
        let n = bad.len();
        bad[n - 12] ^= 0x80; // flip the E flag
        assert_eq!(rx.unprotect_rtcp_vec(&mut bad), Err(Error::AuthFailed));
    }
}

#[test]
fn srtcp_unencrypted_e0_accepted() {
    // Build an E = 0 packet by hand: plain RTCP || index || tag.
    let rx_keys = ctx(SUITES[0]);
    let mut p = rtcp_rr(5);
    p.extend_from_slice(&7u32.to_be_bytes());
    let tag = hmac_sha1(&rx_keys.rtcp.auth, &p, None);
    p.extend_from_slice(&tag[..10]);
    let mut rx = ctx(SUITES[0]);
    rx.unprotect_rtcp_vec(&mut p).unwrap();
    assert_eq!(p, rtcp_rr(5));
}

#[test]
fn short_and_malformed_input() {
    for suite in SUITES {
        let mut c = ctx(suite);
        for len in 0..30 {
            let mut p = vec![0x80; len];
            assert!(c.unprotect_rtp_vec(&mut p).is_err());
            assert!(c.unprotect_rtcp_vec(&mut p).is_err());
        }
        assert_eq!(c.protect_rtp_vec(&mut vec![0x80; 11]), Err(Error::TooShort));
        assert_eq!(
            c.protect_rtp_vec(&mut vec![0x40; 12]),
            Err(Error::Malformed)
        );
        assert_eq!(c.protect_rtcp_vec(&mut vec![0x80; 7]), Err(Error::TooShort));
        let mut ext = rtp(1, 1);
        ext[0] |= 0x10; // extension header claims the payload as a header
        ext[14] = 0xff;
        assert_eq!(c.protect_rtp_vec(&mut ext), Err(Error::TooShort));
    }
}

#[test]
fn ssrc_table_is_bounded() {
    let mut tx = ctx(SUITES[0]);
    let mut rx = ctx(SUITES[0]);
    for ssrc in 0..MAX_SSRCS as u32 {
        let mut p = rtp(1, ssrc);
        tx.protect_rtp_vec(&mut p).unwrap();
        rx.unprotect_rtp_vec(&mut p).unwrap();
    }
    assert_eq!(
        tx.protect_rtp_vec(&mut rtp(1, 999)),
        Err(Error::TooManySsrcs)
    );
    assert_eq!(rx.recv_ssrcs().count(), MAX_SSRCS);
}

#[test]
fn inline_keys() {
    let key = master(LIBSRTP);
    let inline = key.to_inline();
    assert_eq!(inline, "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm");
    assert_eq!(MasterKey::from_inline(&inline), Ok(key.clone()));
    let bare = inline.trim_start_matches("inline:");
    assert_eq!(MasterKey::from_inline(bare), Ok(key.clone()));
    assert_eq!(
        MasterKey::from_inline(&format!("{inline}|2^20")),
        Ok(key.clone())
    );
    assert_eq!(
        MasterKey::from_inline(&format!("{inline}|1048576")),
        Ok(key.clone())
    );
    assert_eq!(
        MasterKey::from_inline(&format!("{inline}|2^20|1:4")),
        Err(Error::MkiUnsupported)
    );
    assert!(matches!(
        MasterKey::from_inline(&format!("{inline}|2^20|2^10")),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        MasterKey::from_inline(&format!("{inline}|2^x")),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        MasterKey::from_inline(&format!("{inline}|")),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        MasterKey::from_inline("inline:AAAA"),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        MasterKey::from_inline("inline:!!!!"),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        MasterKey::from_inline(&"A".repeat(400)),
        Err(Error::InvalidKey(_))
    ));
    assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
    let g = MasterKey::generate(std::array::from_fn(|i| i as u8));
    assert_eq!(g.key[15], 15);
    assert_eq!(g.salt[0], 16);
}

#[test]
fn suite_names() {
    for suite in SUITES {
        assert_eq!(suite.name().parse::<CryptoSuite>(), Ok(suite));
    }
    assert_eq!(
        CryptoSuite::from_name("AEAD_AES_128_GCM"),
        Err(Error::UnknownSuite)
    );
}

proptest! {
    #[test]
    fn unprotect_arbitrary_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        for suite in SUITES {
            let mut c = ctx(suite);
            let _ = c.unprotect_rtp_vec(&mut data.clone());
            let _ = c.unprotect_rtcp_vec(&mut data.clone());
        }
    }

    #[test]
    fn round_trip_any_payload(seq in any::<u16>(), ssrc in any::<u32>(),
                              payload in proptest::collection::vec(any::<u8>(), 0..1200)) {
        for suite in SUITES {
            let mut plain = rtp(seq, ssrc);
            plain.truncate(12);
            plain.extend_from_slice(&payload);
            let mut p = plain.clone();
            ctx(suite).protect_rtp_vec(&mut p).unwrap();
            ctx(suite).unprotect_rtp_vec(&mut p).unwrap();
            prop_assert_eq!(&p, &plain);
        }
    }
}
