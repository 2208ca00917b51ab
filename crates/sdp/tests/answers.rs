//! Answers and whole offer/answer exchanges in both directions.

mod common;

use common::{PRIVATE, PUBLIC, addresses, attrs, bytes, key, local, origin, sdp, text};
use outpost_sdp::{
    CryptoSuite, IcpSideInbound, IcpSideOutbound, InboundPolicy, OutboundPolicy, Reject488, Sdp,
    SdpError, SetSideInbound, SetSideOutbound, analyze_answer, analyze_offer, build_answer,
    build_offer,
};

const SET_IN: InboundPolicy = InboundPolicy::SrtpOnly;
const ICP_OUT: OutboundPolicy = OutboundPolicy::AvpCrypto;

#[test]
fn answers_to_an_avp_crypto_offer() {
    let original = sdp("aastra_6867i_offer_savp.sdp");
    let plan = analyze_offer(&original, SET_IN).unwrap();
    let (_, sent) = build_offer(
        &original,
        &plan,
        &local(PRIVATE, 1, 30000, 0x30, false),
        ICP_OUT,
        &mut origin(),
    )
    .unwrap();

    // Plain RTP/AVP answer: best effort falls back to RTP.
    let ans = analyze_answer(&sdp("ipbx_answer_rtp.sdp"), &sent).unwrap();
    let s = &ans.streams[0];
    assert!(s.remote.active && s.remote.srtp.is_none() && s.local_srtp.is_none());
    assert_eq!(s.remote.rtp, Some("172.16.0.21:40014".parse().unwrap()));
    assert_eq!(s.remote.formats, ["9", "101"]);

    // RTP/AVP with crypto tag 1: SRTP with our _80 key.
    let ans = analyze_answer(&sdp("ipbx_answer_avp_crypto.sdp"), &sent).unwrap();
    let s = &ans.streams[0];
    assert_eq!(s.local_srtp.as_ref().unwrap().key, key(0x30));
    assert_eq!(
        s.remote.srtp.as_ref().unwrap().suite,
        CryptoSuite::AesCm128HmacSha1_80
    );
    assert_ne!(s.remote.srtp.as_ref().unwrap().key, key(0x30));

    // RTP/SAVP answer to the AVP offer: accepted as SRTP.
    let savp = text(&bytes("ipbx_answer_avp_crypto.sdp")).replace("RTP/AVP", "RTP/SAVP");
    assert!(
        analyze_answer(&savp.parse().unwrap(), &sent)
            .unwrap()
            .streams[0]
            .local_srtp
            .is_some()
    );
    // Tag we did not offer, or our tag with another suite: refused.
    for bad in [
        text(&bytes("ipbx_answer_avp_crypto.sdp")).replace("a=crypto:1 ", "a=crypto:9 "),
        text(&bytes("ipbx_answer_avp_crypto.sdp")).replace(
            "crypto:1 AES_CM_128_HMAC_SHA1_80",
            "crypto:1 AES_CM_128_HMAC_SHA1_32",
        ),
        text(&bytes("ipbx_answer_rtp.sdp")).replace("RTP/AVP", "RTP/SAVP"),
    ] {
        let err = analyze_answer(&bad.parse().unwrap(), &sent).unwrap_err();
        assert!(
            matches!(err, Reject488::AnswerMismatch { index: 0, .. }),
            "{err}"
        );
    }
    // Rejected stream.
    let rejected = text(&bytes("ipbx_answer_rtp.sdp")).replace("m=audio 40014", "m=audio 0");
    assert!(
        !analyze_answer(&rejected.parse().unwrap(), &sent)
            .unwrap()
            .streams[0]
            .remote
            .active
    );
    // Wrong number of m-lines.
    let two = format!(
        "{}m=video 0 RTP/AVP 96\r\n",
        text(&bytes("ipbx_answer_rtp.sdp"))
    );
    assert_eq!(
        analyze_answer(&two.parse().unwrap(), &sent),
        Err(Reject488::StreamCount {
            offered: 1,
            answered: 2
        })
    );
}

#[test]
fn answers_to_srtp_only_and_rtp_offers() {
    let original = sdp("ipbx_offer_rtp.sdp");
    let plan = analyze_offer(&original, InboundPolicy::SrtpOrRtp).unwrap();
    let side = local(PUBLIC, 1, 20000, 0x40, false);
    let (_, srtp) = build_offer(
        &original,
        &plan,
        &side,
        OutboundPolicy::SrtpOnly,
        &mut origin(),
    )
    .unwrap();
    let plain = text(&bytes("aastra_6867i_answer_savp.sdp"))
        .replace("RTP/SAVP", "RTP/AVP")
        .replace("a=crypto", "a=x-crypto");
    assert!(matches!(
        analyze_answer(&plain.parse().unwrap(), &srtp),
        Err(Reject488::AnswerMismatch { .. })
    ));
    let (_, rtp) =
        build_offer(&original, &plan, &side, OutboundPolicy::Rtp, &mut origin()).unwrap();
    assert!(matches!(
        analyze_answer(&sdp("aastra_6867i_answer_savp.sdp"), &rtp),
        Err(Reject488::AnswerMismatch { .. })
    ));
    // A stray crypto line in an RTP/AVP answer to an RTP offer is ignored.
    let ans = analyze_answer(&sdp("ipbx_answer_avp_crypto.sdp"), &rtp).unwrap();
    assert!(ans.streams[0].local_srtp.is_none() && ans.streams[0].remote.srtp.is_none());
}

#[test]
fn call_from_phone_to_ipbx() {
    // INVITE from the phone (set side) with an SRTP offer.
    let offer_a = sdp("aastra_6867i_offer_savp.sdp");
    let plan_a = analyze_offer(&offer_a, SetSideInbound::default().into()).unwrap();
    let (to_b, sent_b) = build_offer(
        &offer_a,
        &plan_a,
        &local(PRIVATE, 1, 30000, 0x50, false),
        IcpSideOutbound::default().into(),
        &mut origin(),
    )
    .unwrap();
    assert!(text(&to_b).contains("RTP/AVP"));
    // 200 from the iPBX with a plain RTP answer.
    let answer_b = sdp("ipbx_answer_rtp.sdp");
    let ans_b = analyze_answer(&answer_b, &sent_b).unwrap();
    let mut origin_a = origin();
    let (to_a, sent_a) = build_answer(
        &answer_b,
        &plan_a,
        &ans_b,
        &local(PUBLIC, 1, 20000, 0x60, false),
        &mut origin_a,
    )
    .unwrap();
    let out = text(&to_a);
    assert!(
        out.contains(
            "o=outpost 4242 1 IN IP4 203.0.113.5\r\ns=MiVoice 5000 SIP\r\nc=IN IP4 203.0.113.5\r\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("m=audio 20000 RTP/SAVP 9 101\r\n"),
        "the offer's profile is mirrored: {out}"
    );
    let crypto = attrs(&to_a, 0, "crypto");
    assert_eq!(crypto.len(), 1);
    assert!(crypto[0].starts_with("1 AES_CM_128_HMAC_SHA1_80 inline:"));
    let ours = sent_a.streams[0].local_srtp.as_ref().unwrap();
    assert_eq!((ours.tag, &ours.key), (1, &key(0x60)));
    assert_eq!(addresses(&to_a), [PUBLIC, PUBLIC]);
    // The relay's view: A decrypts with the phone's key, B is plain RTP.
    assert!(plan_a.streams[0].srtp.is_some());
    assert!(ans_b.streams[0].local_srtp.is_none());
}

#[test]
fn answer_chosen_tag_and_suite_follow_the_offer() {
    let offer_a = sdp("baresip_offer_savp.sdp");
    let plan_a = analyze_offer(&offer_a, SET_IN).unwrap();
    let (_, sent_b) = build_offer(
        &offer_a,
        &plan_a,
        &local(PRIVATE, 1, 30000, 1, false),
        ICP_OUT,
        &mut origin(),
    )
    .unwrap();
    let answer_b = sdp("ipbx_answer_avp_crypto.sdp");
    let ans_b = analyze_answer(&answer_b, &sent_b).unwrap();
    let (to_a, _) = build_answer(
        &answer_b,
        &plan_a,
        &ans_b,
        &local(PUBLIC, 1, 20000, 9, false),
        &mut origin(),
    )
    .unwrap();
    let crypto = attrs(&to_a, 0, "crypto");
    assert_eq!(crypto.len(), 1);
    assert!(
        crypto[0].starts_with("1 AES_CM_128_HMAC_SHA1_32 inline:"),
        "{crypto:?}"
    );
    assert!(text(&to_a).contains("m=audio 20000 RTP/SAVP 9 101\r\n"));
}

#[test]
fn answer_with_rtcp_mux_ipv6_and_plain_rtp() {
    // rtcp-mux offered and accepted: a=rtcp-mux, no a=rtcp, RTCP on the RTP port.
    let offer_a = sdp("baresip_offer_ice_rtcp_mux.sdp");
    let plan_a = analyze_offer(&offer_a, SET_IN).unwrap();
    let (_, sent_b) = build_offer(
        &offer_a,
        &plan_a,
        &local(PRIVATE, 1, 30000, 1, false),
        ICP_OUT,
        &mut origin(),
    )
    .unwrap();
    let answer_b = sdp("ipbx_answer_rtp.sdp");
    let ans_b = analyze_answer(&answer_b, &sent_b).unwrap();
    assert!(!ans_b.streams[0].rtcp_mux);
    let (to_a, sent_a) = build_answer(
        &answer_b,
        &plan_a,
        &ans_b,
        &local(PUBLIC, 1, 20000, 1, true),
        &mut origin(),
    )
    .unwrap();
    assert_eq!(attrs(&to_a, 0, "rtcp-mux"), [""]);
    assert!(attrs(&to_a, 0, "rtcp").is_empty());
    assert_eq!(
        (sent_a.streams[0].rtcp_mux, sent_a.streams[0].rtcp_port),
        (true, 20000)
    );
    assert!(text(&to_a).contains("m=audio 20000 RTP/SAVPF 9 101\r\n"));
    // Not willing to mux: a=rtcp-mux absent.
    let (to_a, _) = build_answer(
        &answer_b,
        &plan_a,
        &ans_b,
        &local(PUBLIC, 1, 20000, 1, false),
        &mut origin(),
    )
    .unwrap();
    assert!(attrs(&to_a, 0, "rtcp-mux").is_empty());

    // IPv6 phone, IPv6 public address.
    let offer_a = sdp("offer_ipv6.sdp");
    let plan_a = analyze_offer(&offer_a, SET_IN).unwrap();
    let (_, sent_b) = build_offer(
        &offer_a,
        &plan_a,
        &local(PRIVATE, 1, 30000, 1, false),
        ICP_OUT,
        &mut origin(),
    )
    .unwrap();
    let ans_b = analyze_answer(&answer_b, &sent_b).unwrap();
    let (to_a, _) = build_answer(
        &answer_b,
        &plan_a,
        &ans_b,
        &local("2001:db8:ffff::5", 1, 20000, 1, false),
        &mut origin(),
    )
    .unwrap();
    assert!(text(&to_a).contains("c=IN IP6 2001:db8:ffff::5\r\n"));
    assert!(attrs(&to_a, 0, "crypto")[0].starts_with("7 AES_CM_128_HMAC_SHA1_80 inline:"));

    // Plain RTP offer accepted under srtp-or-rtp: plain answer.
    let offer_a = sdp("baresip_offer_rtp.sdp");
    let plan_a = analyze_offer(&offer_a, InboundPolicy::SrtpOrRtp).unwrap();
    let (_, sent_b) = build_offer(
        &offer_a,
        &plan_a,
        &local(PRIVATE, 1, 30000, 1, false),
        ICP_OUT,
        &mut origin(),
    )
    .unwrap();
    let ans_b = analyze_answer(&answer_b, &sent_b).unwrap();
    let (to_a, sent_a) = build_answer(
        &answer_b,
        &plan_a,
        &ans_b,
        &local(PUBLIC, 1, 20000, 1, false),
        &mut origin(),
    )
    .unwrap();
    assert!(text(&to_a).contains("m=audio 20000 RTP/AVP 9 101\r\n"));
    assert!(attrs(&to_a, 0, "crypto").is_empty() && sent_a.streams[0].local_srtp.is_none());
}

#[test]
fn streams_rejected_by_the_answerer_stay_rejected() {
    let offer_a = sdp("linphone_offer_audio_video.sdp");
    let plan_a = analyze_offer(&offer_a, SET_IN).unwrap();
    let (to_b, sent_b) = build_offer(
        &offer_a,
        &plan_a,
        &local(PRIVATE, 2, 30000, 1, false),
        ICP_OUT,
        &mut origin(),
    )
    .unwrap();
    assert_eq!(Sdp::parse(&to_b).unwrap().media().len(), 2);
    let answer_b: Sdp = format!(
        "{}m=video 0 RTP/AVPF 96\r\n",
        text(&bytes("ipbx_answer_rtp.sdp"))
    )
    .parse()
    .unwrap();
    let ans_b = analyze_answer(&answer_b, &sent_b).unwrap();
    let (to_a, sent_a) = build_answer(
        &answer_b,
        &plan_a,
        &ans_b,
        &local(PUBLIC, 2, 20000, 1, false),
        &mut origin(),
    )
    .unwrap();
    let out = Sdp::parse(&to_a).unwrap();
    assert_eq!(
        out.media()[1].media_line().to_string(),
        "m=video 0 RTP/SAVPF 96"
    );
    assert!(sent_a.streams[0].active && !sent_a.streams[1].active);
    assert!(matches!(
        build_answer(
            &answer_b,
            &analyze_offer(&sdp("aastra_6867i_offer_savp.sdp"), SET_IN).unwrap(),
            &ans_b,
            &local(PUBLIC, 2, 20000, 1, false),
            &mut origin()
        ),
        Err(SdpError::Internal(_))
    ));
}

#[test]
fn offer_in_200_answer_in_ack() {
    // INVITE without SDP from the phone: the iPBX's 200 carries the offer
    // (ICP-side inbound), the phone's ACK the answer.
    let offer_b = sdp("ipbx_offer_rtp.sdp");
    let plan_b = analyze_offer(&offer_b, IcpSideInbound::default().into()).unwrap();
    let (to_a, sent_a) = build_offer(
        &offer_b,
        &plan_b,
        &local(PUBLIC, 1, 20000, 0x70, false),
        SetSideOutbound::default().into(),
        &mut origin(),
    )
    .unwrap();
    assert!(text(&to_a).contains("m=audio 20000 RTP/SAVP 8 0 9 18 101\r\n"));
    let answer_a = sdp("aastra_6867i_answer_savp.sdp");
    let ans_a = analyze_answer(&answer_a, &sent_a).unwrap();
    assert_eq!(ans_a.streams[0].local_srtp.as_ref().unwrap().key, key(0x70));
    assert_eq!(
        ans_a.streams[0].remote.rtp,
        Some("192.168.1.23:3002".parse().unwrap())
    );
    let (to_b, sent_b) = build_answer(
        &answer_a,
        &plan_b,
        &ans_a,
        &local(PRIVATE, 1, 30000, 1, false),
        &mut origin(),
    )
    .unwrap();
    let out = text(&to_b);
    assert!(out.contains("m=audio 30000 RTP/AVP 8 101\r\n"), "{out}");
    assert!(attrs(&to_b, 0, "crypto").is_empty() && sent_b.streams[0].local_srtp.is_none());
    assert_eq!(addresses(&to_b), [PRIVATE, PRIVATE]);
}
