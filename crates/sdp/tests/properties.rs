//! Property tests: no input makes the crate panic, and whatever parses
//! serializes back to the same bytes.

mod common;

use common::{PRIVATE, PUBLIC, local, origin};
use outpost_sdp::{
    CryptoAttribute, InboundPolicy, OutboundPolicy, Sdp, analyze_answer, analyze_offer,
    build_answer, build_offer,
};
use proptest::prelude::*;

/// SDP-looking lines, with values drawn from what matters to the rewriter.
fn line() -> impl Strategy<Value = String> {
    let addr = prop_oneof![
        Just("192.0.2.1".to_owned()),
        Just("0.0.0.0".to_owned()),
        Just("2001:db8::1".to_owned()),
        Just("pbx.example".to_owned()),
        "[0-9a-f.:]{0,12}",
    ];
    let proto = prop_oneof![
        Just("RTP/AVP"),
        Just("RTP/SAVP"),
        Just("RTP/AVPF"),
        Just("RTP/SAVPF"),
        Just("udptl"),
        Just("UDP/TLS/RTP/SAVPF"),
    ];
    let key = prop_oneof![
        Just("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk".to_owned()),
        "[A-Za-z0-9+/=|^:;]{0,48}",
    ];
    prop_oneof![
        addr.clone().prop_map(|a| format!("c=IN IP4 {a}")),
        addr.clone().prop_map(|a| format!("c=IN IP6 {a}")),
        addr.clone().prop_map(|a| format!("o=- 1 1 IN IP4 {a}")),
        (
            prop_oneof![Just("audio"), Just("video"), Just("image")],
            0u16..6,
            proto
        )
            .prop_map(|(m, p, proto)| format!("m={m} {} {proto} 0 8", p * 1000)),
        (
            0u32..4,
            prop_oneof![
                Just("AES_CM_128_HMAC_SHA1_80"),
                Just("AES_CM_128_HMAC_SHA1_32"),
                Just("X")
            ],
            key
        )
            .prop_map(|(t, s, k)| format!("a=crypto:{t} {s} inline:{k}")),
        (0u32..70000, addr).prop_map(|(p, a)| format!("a=rtcp:{p} IN IP4 {a}")),
        prop_oneof![
            Just("a=rtcp-mux"),
            Just("a=sendonly"),
            Just("a=inactive"),
            Just("a=recvonly"),
            Just("a=candidate:1 1 UDP 1 192.0.2.9 5 typ host")
        ]
        .prop_map(str::to_owned),
        "[a-z]=[ -~]{0,20}",
    ]
}

fn description() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(line(), 0..14),
        prop_oneof![Just("\r\n"), Just("\n")],
    )
        .prop_map(|(lines, eol)| format!("v=0{eol}{}", lines.join(eol)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(s) = Sdp::parse(&input) {
            prop_assert_eq!(s.to_bytes(), input);
            let _ = analyze_offer(&s, InboundPolicy::SrtpOrRtp);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(input in "(v=0\r\n)?[ -~\r\n]{0,300}") {
        if let Ok(s) = Sdp::parse(input.as_bytes()) {
            prop_assert_eq!(s.to_bytes(), input.as_bytes());
        }
    }

    #[test]
    fn crypto_values_never_panic(value in "[ -~]{0,80}") {
        let _ = CryptoAttribute::parse(&value).map(|c| c.usable());
    }

    /// Offer → rewritten offer → used as its own answer → rewritten answer:
    /// no panic, parse round trip, and nothing of the peer's addresses.
    #[test]
    fn offer_answer_pipeline_never_panics(input in description(), policy in 0u8..3) {
        let Ok(s) = Sdp::parse(input.as_bytes()) else { return Ok(()) };
        prop_assert_eq!(s.to_bytes(), input.as_bytes());
        let inbound = [InboundPolicy::SrtpOnly, InboundPolicy::SrtpOrRtp, InboundPolicy::Rtp][usize::from(policy)];
        let outbound = [OutboundPolicy::SrtpOnly, OutboundPolicy::AvpCrypto, OutboundPolicy::Rtp][usize::from(policy)];
        let Ok(plan) = analyze_offer(&s, inbound) else { return Ok(()) };
        let n = s.media().len();
        let (body, sent) = build_offer(&s, &plan, &local(PRIVATE, n, 30000, 1, policy == 1), outbound, &mut origin()).unwrap();
        let rewritten = Sdp::parse(&body).unwrap();
        for line in rewritten.lines() {
            let v = line.value_str().unwrap_or_default();
            prop_assert!(!v.contains("192.0.2.1") && !v.contains("2001:db8::1"), "{}", v);
        }
        // The rewritten offer as the answer: it always matches our own offer.
        let ans = analyze_answer(&rewritten, &sent);
        if let Ok(ans) = ans {
            let _ = build_answer(&rewritten, &plan, &ans, &local(PUBLIC, n, 20000, 1, true), &mut origin()).unwrap();
        }
    }
}
