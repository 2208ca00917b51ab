//! Parses arbitrary bytes as SDP; what parses must serialize back to the
//! same bytes, and the whole offer/answer pipeline (every inbound and
//! outbound policy) must run on it without panicking.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use outpost_sdp::{
    CryptoAttribute, InboundPolicy, LocalSide, LocalStream, MasterKey, OriginState, OutboundPolicy, Sdp,
    analyze_answer, analyze_offer, build_answer, build_offer, diff_streams,
};

fn side(address: &str, n: usize, base: u16, mux: bool) -> LocalSide {
    let mut side = LocalSide::new(address.parse::<IpAddr>().expect("literal address"));
    for i in 0..n {
        let rtp = base.wrapping_add(2 * i as u16);
        let keys = vec![MasterKey::new(vec![1; 30]), MasterKey::new(vec![2; 30])];
        side = side.with_stream(i, LocalStream { rtp_port: rtp, rtcp_port: rtp.wrapping_add(1), rtcp_mux: mux, keys });
    }
    side
}

fuzz_target!(|data: &[u8]| {
    let Ok(sdp) = Sdp::parse(data) else {
        return;
    };
    assert_eq!(sdp.to_bytes(), data);
    let _ = (sdp.origin(), sdp.connection(), sdp.session_direction());
    for m in sdp.media() {
        let _ = (m.connection(), m.direction());
        for v in m.attribute_values("crypto") {
            let _ = CryptoAttribute::parse(v).map(|c| c.usable());
        }
    }
    let n = sdp.media().len();
    for (inbound, outbound) in [
        (InboundPolicy::SrtpOnly, OutboundPolicy::AvpCrypto),
        (InboundPolicy::SrtpOrRtp, OutboundPolicy::SrtpOnly),
        (InboundPolicy::Rtp, OutboundPolicy::Rtp),
    ] {
        let Ok(plan) = analyze_offer(&sdp, inbound) else {
            continue;
        };
        let _ = diff_streams(&plan.streams, &plan.streams);
        let mut origin = OriginState::new("outpost", 1);
        let (offer, sent) = build_offer(&sdp, &plan, &side("10.0.0.1", n, 30000, false), outbound, &mut origin)
            .expect("plan and local side match the description");
        let rewritten = Sdp::parse(&offer).expect("a rewritten offer parses");
        // Our own offer, read back as the answer, is always acceptable.
        let answer = analyze_answer(&rewritten, &sent).expect("our offer answers itself");
        let _ = build_answer(&rewritten, &plan, &answer, &side("2001:db8::1", n, 20000, true), &mut origin)
            .expect("plans match");
    }
});
