//! The line model and `a=crypto` parsing, on the testdata corpus.

mod common;

use common::{bytes, corpus, sdp};
use outpost_sdp::{
    Connection, CryptoAttribute, CryptoError, CryptoSuite, Direction, Line, MasterKey, Mki,
    ParseError, Sdp, SrtpParams,
};

#[test]
fn every_corpus_file_round_trips_byte_for_byte() {
    let files = corpus();
    assert!(files.len() >= 14, "corpus went missing");
    for (name, input) in files {
        let parsed = Sdp::parse(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(parsed.to_bytes(), input, "{name}");
    }
}

#[test]
fn odd_formatting_is_kept() {
    let input = bytes("odd_formatting.sdp");
    let s = Sdp::parse(&input).unwrap();
    assert_eq!(s.to_bytes(), input);
    assert_eq!(s.media().len(), 2);
    let m = s.media()[0].media_line();
    assert_eq!((m.port, m.proto.as_str()), (4000, "RTP/AVP"));
    assert_eq!(m.formats, ["0", "8"]);
    assert_eq!(s.media()[1].media_line().proto, "TCP/MRCPv2");
    // Latin-1 s= is kept even though it is not UTF-8.
    assert!(s.session_lines()[2].value_str().is_none());
    assert_eq!(s.session_lines()[2].value(), b"Caf\xe9");
}

#[test]
fn parse_errors() {
    assert_eq!(Sdp::parse(b""), Err(ParseError::Empty));
    assert_eq!(
        Sdp::parse(b"o=- 1 1 IN IP4 1.2.3.4\r\n"),
        Err(ParseError::NoVersion)
    );
    assert_eq!(
        Sdp::parse(b"v=0\r\nhello\r\n"),
        Err(ParseError::BadLine { number: 2 })
    );
    assert_eq!(
        Sdp::parse(b"v=0\r\n1=x\r\n"),
        Err(ParseError::BadLine { number: 2 })
    );
    assert_eq!(
        Sdp::parse(b"v=0\r\nm=audio x RTP/AVP 0\r\n"),
        Err(ParseError::BadMediaLine { number: 2 })
    );
    assert_eq!(
        Sdp::parse(b"v=0\r\nm=audio 4000\r\n"),
        Err(ParseError::BadMediaLine { number: 2 })
    );
    assert_eq!(
        Sdp::parse(b"v=0\r\nm=audio 70000 RTP/AVP 0\r\n"),
        Err(ParseError::BadMediaLine { number: 2 })
    );
    let many = format!(
        "v=0\r\n{}",
        "m=audio 0 RTP/AVP 0\r\n".repeat(outpost_sdp::MAX_MEDIA + 1)
    );
    assert_eq!(Sdp::parse(many.as_bytes()), Err(ParseError::TooManyMedia));
    // A blank line and a missing final newline are fine.
    let s = Sdp::parse(b"v=0\r\n\r\ns=-").unwrap();
    assert_eq!(s.to_bytes(), b"v=0\r\n\r\ns=-");
}

#[test]
fn typed_views() {
    let s = sdp("linphone_offer_audio_video.sdp");
    let o = s.origin().unwrap();
    assert_eq!(
        (
            o.username.as_str(),
            o.session_id.as_str(),
            o.address.as_str()
        ),
        ("alice", "3425", "192.168.50.7")
    );
    assert_eq!(
        s.connection().unwrap().ip(),
        Some("192.168.50.7".parse().unwrap())
    );
    let video = &s.media()[1];
    assert_eq!(video.connection().unwrap().address, "192.168.50.8");
    assert_eq!(
        video.attribute_values("rtcp-fb").collect::<Vec<_>>(),
        ["* nack pli", "* ccm fir"]
    );
    assert!(!video.has_attribute("rtcp-mux"));
    assert_eq!(s.session_direction(), None);
    let hold = sdp("offer_port0_and_bfcp.sdp");
    assert_eq!(hold.media()[0].direction(), Some(Direction::SendOnly));
    assert_eq!(
        Line::new("a=rtcp-mux").attribute(),
        Some(("rtcp-mux", None))
    );
    assert_eq!(
        Line::new("a=ptime:20").attribute(),
        Some(("ptime", Some("20")))
    );
    assert_eq!(Line::new("c=IN IP4 1.2.3.4").attribute(), None);
    assert_eq!(
        Connection::parse("IN IP4 224.2.1.1/127/3").unwrap().ip(),
        Some("224.2.1.1".parse().unwrap())
    );
    assert_eq!(
        Connection::parse("IN IP4 pbx.example.com").unwrap().ip(),
        None
    );
}

#[test]
fn edits_keep_untouched_lines_and_line_endings() {
    let mut s =
        Sdp::parse(b"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\na=x:1")
            .unwrap();
    let m = &mut s.media_mut()[0];
    m.set_port(5000);
    m.set_proto("RTP/SAVP");
    m.set_connection(&Connection::for_ip("5.6.7.8".parse().unwrap()));
    m.push_attribute("rtcp-mux", None);
    assert_eq!(
        s.to_bytes(),
        b"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=audio 5000 RTP/SAVP 0\nc=IN IP4 5.6.7.8\na=x:1\na=rtcp-mux\n"
    );
    s.media_mut()[0].remove_attributes(|n| n == "x");
    assert_eq!(s.media()[0].lines().len(), 3);
}

#[test]
fn crypto_lines_from_the_rfc_and_phones() {
    // RFC 4568 §4 example.
    let c = CryptoAttribute::parse(
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4",
    )
    .unwrap();
    assert_eq!(c.tag, 1);
    assert_eq!(c.suite, CryptoSuite::AesCm128HmacSha1_80);
    assert_eq!(c.keys.len(), 1);
    assert_eq!(c.keys[0].key.as_bytes().len(), 30);
    assert_eq!(c.keys[0].lifetime, Some(1 << 20));
    assert_eq!(
        c.keys[0].mki,
        Some(Mki {
            value: 1,
            length: 4
        })
    );
    let p = c.usable().unwrap();
    assert_eq!(
        p.to_attribute_value(),
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"
    );

    // Lifetime as a number, session parameters.
    let c = CryptoAttribute::parse("2 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1048576 KDR=0 WSH=64")
        .unwrap();
    assert_eq!(c.keys[0].lifetime, Some(1_048_576));
    assert!(c.usable().is_some());
    // Unsupported session parameter, several keys, wrong length, unknown suite: not usable.
    for v in [
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNENCRYPTED_SRTP",
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4;inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4",
        "1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0g=",
        "1 AEAD_AES_256_GCM inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
    ] {
        let c = CryptoAttribute::parse(v).unwrap();
        assert!(c.usable().is_none(), "{v}");
    }
    // The `-` prefix marks an optional parameter.
    assert!(
        CryptoAttribute::parse(
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR -FOO=1"
        )
        .unwrap()
        .usable()
        .is_some()
    );
}

#[test]
fn malformed_crypto_lines() {
    let cases = [
        ("", CryptoError::Missing("tag")),
        ("x AES_CM_128_HMAC_SHA1_80 inline:AAAA", CryptoError::BadTag),
        (
            "1234567890 AES_CM_128_HMAC_SHA1_80 inline:AAAA",
            CryptoError::BadTag,
        ),
        ("1", CryptoError::Missing("crypto-suite")),
        (
            "1 AES_CM_128_HMAC_SHA1_80",
            CryptoError::Missing("key-params"),
        ),
        (
            "1 AES_CM_128_HMAC_SHA1_80 uri:https://k",
            CryptoError::KeyMethod,
        ),
        ("1 AES_CM_128_HMAC_SHA1_80 inline:***", CryptoError::Base64),
        ("1 AES_CM_128_HMAC_SHA1_80 inline:", CryptoError::Base64),
        (
            "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA|2^x",
            CryptoError::Lifetime,
        ),
        (
            "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA|1:0",
            CryptoError::Mki,
        ),
        (
            "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA|1:200",
            CryptoError::Mki,
        ),
        (
            "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA|1:4|2^20",
            CryptoError::Lifetime,
        ),
    ];
    for (v, e) in cases {
        assert_eq!(CryptoAttribute::parse(v), Err(e), "{v}");
    }
    // 2^64 and beyond saturate rather than overflow.
    let c = CryptoAttribute::parse("1 AES_CM_128_HMAC_SHA1_80 inline:AAAA|2^99").unwrap();
    assert_eq!(c.keys[0].lifetime, Some(u64::MAX));
}

#[test]
fn local_crypto_line_and_redacted_key() {
    let p = SrtpParams::local(
        3,
        CryptoSuite::AesCm128HmacSha1_32,
        MasterKey::new(vec![0u8; 30]),
    );
    assert_eq!(
        p.to_attribute_value(),
        "3 AES_CM_128_HMAC_SHA1_32 inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    );
    assert_eq!(format!("{:?}", p.key), "MasterKey(<30 bytes>)");
    assert_eq!(
        CryptoSuite::parse("F8_128_HMAC_SHA1_80").name(),
        "F8_128_HMAC_SHA1_80"
    );
    assert!(!CryptoSuite::parse("F8_128_HMAC_SHA1_80").is_supported());
}
