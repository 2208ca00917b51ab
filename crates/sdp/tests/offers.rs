//! Policies, offer analysis and rewriting, origin, topology hiding.

mod common;

use common::{PRIVATE, PUBLIC, addresses, attrs, bytes, corpus, key, local, origin, sdp, text};
use outpost_sdp::{
    CryptoSuite, Direction, IcpSideInbound, IcpSideOutbound, InboundPolicy, MediaKind,
    OutboundPolicy, Profile, Reject488, Sdp, SdpError, SetSideInbound, SetSideOutbound,
    analyze_offer, build_offer,
};

const SET_IN: InboundPolicy = InboundPolicy::SrtpOnly;
const ICP_OUT: OutboundPolicy = OutboundPolicy::AvpCrypto;

#[test]
fn policy_spellings_and_defaults() {
    assert_eq!(SetSideInbound::default(), SetSideInbound::SrtpOnly);
    assert_eq!(SetSideOutbound::default(), SetSideOutbound::SrtpOnly);
    assert_eq!(IcpSideInbound::default(), IcpSideInbound::SrtpOrRtp);
    assert_eq!(IcpSideOutbound::default(), IcpSideOutbound::AvpCrypto);
    for s in ["srtp-only", "srtp-or-rtp"] {
        assert_eq!(s.parse::<SetSideInbound>().unwrap().to_string(), s);
    }
    for s in ["srtp-only", "avp+crypto", "rtp"] {
        assert_eq!(s.parse::<SetSideOutbound>().unwrap().to_string(), s);
        assert_eq!(s.parse::<IcpSideOutbound>().unwrap().to_string(), s);
    }
    for s in ["srtp-or-rtp", "srtp-only", "rtp"] {
        assert_eq!(s.parse::<IcpSideInbound>().unwrap().to_string(), s);
    }
    assert_eq!(
        " SRTP-Only ".parse::<SetSideInbound>(),
        Ok(SetSideInbound::SrtpOnly)
    );
    let err = "rtp".parse::<SetSideInbound>().unwrap_err();
    assert!(err.to_string().contains("srtp-only, srtp-or-rtp"), "{err}");
    assert!("avp".parse::<IcpSideOutbound>().is_err());
    assert_eq!(InboundPolicy::from(IcpSideInbound::Rtp), InboundPolicy::Rtp);
    assert_eq!(
        OutboundPolicy::from(SetSideOutbound::AvpCrypto),
        OutboundPolicy::AvpCrypto
    );
    assert_eq!(
        OutboundPolicy::from(IcpSideOutbound::default()),
        OutboundPolicy::AvpCrypto
    );
}

#[test]
fn aastra_srtp_offer_on_the_set_side() {
    let plan = analyze_offer(&sdp("aastra_6867i_offer_savp.sdp"), SET_IN).unwrap();
    let s = &plan.streams[0];
    assert!(s.active);
    assert_eq!(
        (s.kind.clone(), s.profile),
        (MediaKind::Audio, Some(Profile::Savp))
    );
    assert_eq!(s.rtp, Some("192.168.1.23:3000".parse().unwrap()));
    assert_eq!(s.rtcp, Some("192.168.1.23:3001".parse().unwrap()));
    assert_eq!(s.direction, Direction::SendRecv);
    let c = s.srtp.as_ref().unwrap();
    assert_eq!(
        (c.tag, &c.suite, c.lifetime),
        (1, &CryptoSuite::AesCm128HmacSha1_80, Some(1 << 31))
    );
}

#[test]
fn first_supported_crypto_line_in_offer_order_is_chosen() {
    // baresip lists _32 before _80: RFC 4568 lets the answerer pick any; we
    // take the first usable one.
    let plan = analyze_offer(&sdp("baresip_offer_savp.sdp"), SET_IN).unwrap();
    let c = plan.streams[0].srtp.as_ref().unwrap();
    assert_eq!((c.tag, &c.suite), (1, &CryptoSuite::AesCm128HmacSha1_32));
    // An unsupported first line is skipped.
    let t = text(&bytes("baresip_offer_savp.sdp")).replace(
        "a=crypto:1 AES_CM_128_HMAC_SHA1_32",
        "a=crypto:1 AEAD_AES_256_GCM",
    );
    let plan = analyze_offer(&t.parse().unwrap(), SET_IN).unwrap();
    assert_eq!(plan.streams[0].srtp.as_ref().unwrap().tag, 2);
}

#[test]
fn plain_rtp_on_the_set_side_is_refused_under_srtp_only() {
    let err = analyze_offer(&sdp("baresip_offer_rtp.sdp"), SET_IN).unwrap_err();
    assert_eq!(err, Reject488::PlainRtpRefused { index: 0 });
    assert_eq!(err.status_code(), 488);
    assert_eq!(
        err.warning_value("sbc.example.com"),
        "302 sbc.example.com \"m-line 0: plain RTP refused, SRTP required\""
    );
    assert_eq!(SdpError::from(err).status_code(), 488);
}

#[test]
fn srtp_or_rtp_accepts_both() {
    for (file, srtp) in [
        ("baresip_offer_rtp.sdp", false),
        ("baresip_offer_savp.sdp", true),
        ("aastra_6867i_offer_avp_crypto.sdp", true),
    ] {
        let plan = analyze_offer(&sdp(file), InboundPolicy::SrtpOrRtp).unwrap();
        assert_eq!(plan.streams[0].srtp.is_some(), srtp, "{file}");
    }
    // RTP/AVP with only unusable crypto lines degrades to RTP; RTP/SAVP cannot.
    let avp = text(&bytes("aastra_6867i_offer_avp_crypto.sdp"))
        .replace("AES_CM_128_HMAC_SHA1_80", "F8_128_HMAC_SHA1_80");
    assert_eq!(
        analyze_offer(&avp.parse().unwrap(), InboundPolicy::SrtpOrRtp)
            .unwrap()
            .streams[0]
            .srtp,
        None
    );
    assert_eq!(
        analyze_offer(&avp.parse().unwrap(), InboundPolicy::SrtpOnly),
        Err(Reject488::NoSupportedCrypto { index: 0 })
    );
    let savp = text(&bytes("aastra_6867i_offer_savp.sdp")).replace("AES_CM_128", "AES_256_CM");
    assert_eq!(
        analyze_offer(&savp.parse().unwrap(), InboundPolicy::SrtpOrRtp),
        Err(Reject488::NoSupportedCrypto { index: 0 })
    );
}

#[test]
fn avp_crypto_offer_under_each_inbound_policy() {
    let offer = sdp("aastra_6867i_offer_avp_crypto.sdp");
    assert!(
        analyze_offer(&offer, InboundPolicy::SrtpOnly)
            .unwrap()
            .streams[0]
            .srtp
            .is_some()
    );
    assert!(
        analyze_offer(&offer, InboundPolicy::Rtp).unwrap().streams[0]
            .srtp
            .is_none()
    );
    assert_eq!(
        analyze_offer(&sdp("aastra_6867i_offer_savp.sdp"), InboundPolicy::Rtp),
        Err(Reject488::SrtpRefused { index: 0 })
    );
}

#[test]
fn offer_shapes() {
    let plan = analyze_offer(&sdp("offer_port0_and_bfcp.sdp"), SET_IN).unwrap();
    assert_eq!(plan.active().count(), 1);
    assert_eq!(plan.streams[0].direction, Direction::SendOnly);
    assert!(!plan.streams[1].active && plan.streams[1].profile.is_some());
    assert!(!plan.streams[2].active && plan.streams[2].profile.is_none());

    let plan = analyze_offer(&sdp("offer_ipv6.sdp"), SET_IN).unwrap();
    let s = &plan.streams[0];
    assert_eq!(s.rtp, Some("[2001:db8::1c]:5004".parse().unwrap()));
    assert_eq!(s.rtcp, Some("[2001:db8::1d]:5005".parse().unwrap()));
    assert_eq!(s.direction, Direction::Inactive);
    let c = s.srtp.as_ref().unwrap();
    assert_eq!(
        (c.tag, c.mki.map(|m| (m.value, m.length))),
        (7, Some((1, 4)))
    );

    let plan = analyze_offer(&sdp("baresip_offer_ice_rtcp_mux.sdp"), SET_IN).unwrap();
    assert!(plan.streams[0].rtcp_mux);
    assert_eq!(plan.streams[0].profile, Some(Profile::Savpf));
    assert_eq!(
        plan.streams[0].rtcp,
        Some("10.11.12.15:10500".parse().unwrap())
    );

    let plan = analyze_offer(&sdp("linphone_offer_audio_video.sdp"), SET_IN).unwrap();
    assert_eq!(
        plan.streams[0].rtcp,
        Some("192.168.50.7:7079".parse().unwrap())
    );
    assert_eq!(plan.streams[1].kind, MediaKind::Video);
    assert_eq!(
        plan.streams[1].rtp,
        Some("192.168.50.8:9078".parse().unwrap())
    );
    assert_eq!(
        plan.streams[1].rtcp,
        Some("192.168.50.9:9079".parse().unwrap())
    );

    let plan = analyze_offer(&sdp("offer_null_hold.sdp"), SET_IN).unwrap();
    assert!(plan.streams[0].active && plan.streams[0].null_address);
    assert_eq!(plan.streams[0].rtp, None);
}

#[test]
fn offers_that_cannot_be_relayed() {
    let only_bfcp: Sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=application 5000 TCP/BFCP *\r\n"
        .parse()
        .unwrap();
    assert_eq!(
        analyze_offer(&only_bfcp, SET_IN),
        Err(Reject488::NoSupportedMedia)
    );
    assert_eq!(Reject488::NoSupportedMedia.warning_code(), 304);
    let no_c: Sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
        .parse()
        .unwrap();
    assert_eq!(
        analyze_offer(&no_c, InboundPolicy::SrtpOrRtp),
        Err(Reject488::NoConnection { index: 0 })
    );
    // No m-line at all is not a violation.
    let none: Sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
        .parse()
        .unwrap();
    assert!(analyze_offer(&none, SET_IN).unwrap().streams.is_empty());
}

#[test]
fn phone_srtp_offer_becomes_icp_side_avp_crypto_offer() {
    let original = sdp("aastra_6867i_offer_savp.sdp");
    let plan = analyze_offer(&original, SET_IN).unwrap();
    let side = local(PRIVATE, 1, 30000, 0x10, false);
    let (body, sent) = build_offer(&original, &plan, &side, ICP_OUT, &mut origin()).unwrap();
    let out = text(&body);
    assert!(out.starts_with("v=0\r\no=outpost 4242 1 IN IP4 10.20.0.5\r\ns=SIP Call\r\nc=IN IP4 10.20.0.5\r\nt=0 0\r\n"), "{out}");
    assert!(
        out.contains("\r\nm=audio 30000 RTP/AVP 9 0 8 18 101\r\n"),
        "{out}"
    );
    for kept in [
        "a=rtpmap:18 G729/8000",
        "a=fmtp:18 annexb=no",
        "a=ptime:30",
        "a=fmtp:101 0-15",
        "a=sendrecv",
    ] {
        assert!(out.contains(kept), "{kept}");
    }
    let crypto = attrs(&body, 0, "crypto");
    assert_eq!(crypto.len(), 2);
    assert!(
        crypto[0].starts_with("1 AES_CM_128_HMAC_SHA1_80 inline:"),
        "{crypto:?}"
    );
    assert!(
        crypto[1].starts_with("2 AES_CM_128_HMAC_SHA1_32 inline:"),
        "{crypto:?}"
    );
    assert_eq!(sent.streams[0].crypto[0].key, key(0x10));
    assert_eq!(sent.streams[0].crypto[1].key, key(0x11));
    assert!(!out.contains("a=rtcp:"), "RTCP on RTP+1 needs no a=rtcp");
    assert_eq!(sent.streams[0].profile, Some(Profile::Avp));
    assert!(out.ends_with("\r\n"));

    let (body, sent) = build_offer(
        &original,
        &plan,
        &side,
        OutboundPolicy::SrtpOnly,
        &mut origin(),
    )
    .unwrap();
    assert!(text(&body).contains("m=audio 30000 RTP/SAVP "));
    assert_eq!(sent.streams[0].crypto.len(), 2);
    let (body, sent) =
        build_offer(&original, &plan, &side, OutboundPolicy::Rtp, &mut origin()).unwrap();
    assert!(text(&body).contains("m=audio 30000 RTP/AVP "));
    assert!(attrs(&body, 0, "crypto").is_empty() && sent.streams[0].crypto.is_empty());
}

#[test]
fn ipbx_offer_becomes_set_side_srtp_offer() {
    let original = sdp("ipbx_offer_rtp.sdp");
    let plan = analyze_offer(&original, IcpSideInbound::default().into()).unwrap();
    assert!(plan.streams[0].srtp.is_none());
    let mut side = local(PUBLIC, 1, 20000, 0x20, false);
    side.suites = vec![CryptoSuite::AesCm128HmacSha1_80];
    let (body, _) = build_offer(
        &original,
        &plan,
        &side,
        SetSideOutbound::default().into(),
        &mut origin(),
    )
    .unwrap();
    let out = text(&body);
    assert!(
        out.contains("m=audio 20000 RTP/SAVP 8 0 9 18 101\r\n"),
        "{out}"
    );
    assert!(out.contains("a=x-mitel-rtp-info:dsp=2\r\n"));
    assert_eq!(attrs(&body, 0, "crypto").len(), 1);
    assert_eq!(addresses(&body), [PUBLIC, PUBLIC]);
}

#[test]
fn offer_rtcp_mux_feedback_profiles_and_disabled_streams() {
    let original = sdp("baresip_offer_ice_rtcp_mux.sdp");
    let plan = analyze_offer(&original, SET_IN).unwrap();
    let mut side = local(PRIVATE, 1, 30000, 1, true);
    side.streams[0].as_mut().unwrap().rtcp_port = 30007;
    let (body, sent) = build_offer(&original, &plan, &side, ICP_OUT, &mut origin()).unwrap();
    let out = text(&body);
    assert!(out.contains("m=audio 30000 RTP/AVPF 96 101\r\n"), "{out}");
    assert_eq!(attrs(&body, 0, "rtcp"), ["30007"]);
    assert_eq!(attrs(&body, 0, "rtcp-mux"), [""]);
    for gone in [
        "candidate",
        "ice-ufrag",
        "ice-pwd",
        "ice-lite",
        "end-of-candidates",
    ] {
        assert!(!out.contains(gone), "{gone}: {out}");
    }
    assert!(sent.streams[0].rtcp_mux);

    // Disabled and non-RTP streams stay in place with port 0, without keys.
    let original = sdp("offer_port0_and_bfcp.sdp");
    let plan = analyze_offer(&original, SET_IN).unwrap();
    let (body, sent) = build_offer(
        &original,
        &plan,
        &local(PRIVATE, 3, 30000, 1, false),
        ICP_OUT,
        &mut origin(),
    )
    .unwrap();
    let out = Sdp::parse(&body).unwrap();
    let ports: Vec<_> = out
        .media()
        .iter()
        .map(|m| (m.media_line().port, m.media_line().proto.clone()))
        .collect();
    assert_eq!(
        ports,
        [
            (30000, "RTP/AVP".into()),
            (0, "RTP/SAVP".into()),
            (0, "TCP/BFCP".into())
        ]
    );
    assert!(attrs(&body, 1, "crypto").is_empty());
    assert_eq!(attrs(&body, 2, "floorctrl"), ["c-only"]);
    assert!(
        attrs(&body, 0, "sendonly").len() == 1,
        "hold passes through"
    );
    assert_eq!(
        sent.streams.iter().map(|s| s.active).collect::<Vec<_>>(),
        [true, false, false]
    );
}

#[test]
fn local_side_decides_which_streams_go_out() {
    let original = sdp("linphone_offer_audio_video.sdp");
    let plan = analyze_offer(&original, SET_IN).unwrap();
    // No ports for video: disabled on the other leg.
    let side = local(PRIVATE, 1, 30000, 1, false);
    let (body, sent) = build_offer(&original, &plan, &side, ICP_OUT, &mut origin()).unwrap();
    let out = Sdp::parse(&body).unwrap();
    assert_eq!(out.media()[1].media_line().port, 0);
    assert!(!sent.streams[1].active);
    assert_eq!(out.media()[1].connection().unwrap().address, PRIVATE);
    // Both: video keeps its own c= (now ours) and a=rtcp.
    let side = local(PRIVATE, 2, 30000, 1, false);
    let (body, _) = build_offer(&original, &plan, &side, ICP_OUT, &mut origin()).unwrap();
    assert!(text(&body).contains("m=video 30010 RTP/AVPF 96 97\r\nc=IN IP4 10.20.0.5\r\n"));
    assert_eq!(attrs(&body, 1, "rtcp"), ["30011"]);
    assert_eq!(attrs(&body, 0, "rtcp"), ["30001"]);
    // Caller mistakes: no key for an SRTP stream, or a plan for another body.
    let mut side = local(PRIVATE, 1, 30000, 1, false);
    side.streams[0].as_mut().unwrap().keys.clear();
    let err = build_offer(&original, &plan, &side, ICP_OUT, &mut origin()).unwrap_err();
    assert_eq!(
        (err.clone(), err.status_code()),
        (SdpError::MissingKey { index: 0 }, 500)
    );
    let other = sdp("baresip_offer_rtp.sdp");
    assert!(matches!(
        build_offer(&other, &plan, &side, ICP_OUT, &mut origin()),
        Err(SdpError::Internal(_))
    ));
}

#[test]
fn origin_version_rises_only_when_the_description_changes() {
    let original = sdp("aastra_6867i_offer_savp.sdp");
    let plan = analyze_offer(&original, SET_IN).unwrap();
    let mut o = origin();
    let side = local(PRIVATE, 1, 30000, 1, false);
    let (a, _) = build_offer(&original, &plan, &side, ICP_OUT, &mut o).unwrap();
    let (b, _) = build_offer(&original, &plan, &side, ICP_OUT, &mut o).unwrap();
    assert_eq!(a, b);
    assert_eq!(o.version(), 1);
    let (c, _) = build_offer(
        &original,
        &plan,
        &local(PRIVATE, 1, 30100, 1, false),
        ICP_OUT,
        &mut o,
    )
    .unwrap();
    assert!(text(&c).contains("o=outpost 4242 2 IN IP4 10.20.0.5\r\n"));
    assert_eq!(o.session_id(), 4242);
    let mut v6 = outpost_sdp::OriginState::new("out post", 7);
    let (d, _) = build_offer(
        &original,
        &plan,
        &local("2001:db8::5", 1, 30000, 1, false),
        ICP_OUT,
        &mut v6,
    )
    .unwrap();
    assert!(text(&d).contains("o=out-post 7 1 IN IP6 2001:db8::5\r\n"));
    assert!(text(&d).contains("c=IN IP6 2001:db8::5\r\n"));
}

#[test]
fn null_address_hold_passes_through() {
    let offer_a = sdp("offer_null_hold.sdp");
    let plan_a = analyze_offer(&offer_a, SET_IN).unwrap();
    let (to_b, _) = build_offer(
        &offer_a,
        &plan_a,
        &local(PRIVATE, 1, 30000, 1, false),
        ICP_OUT,
        &mut origin(),
    )
    .unwrap();
    let out = text(&to_b);
    assert!(
        out.contains("\r\nc=IN IP4 0.0.0.0\r\n") && out.contains("a=sendonly"),
        "{out}"
    );
    assert!(out.contains("o=outpost 4242 1 IN IP4 10.20.0.5"));
    // Media-level null address with a real session address.
    let t = text(&bytes("aastra_6867i_offer_savp.sdp"))
        .replace("a=ptime:30\r\n", "a=ptime:30\r\nc=IN IP4 0.0.0.0\r\n");
    let offer_a: Sdp = t.parse().unwrap();
    let plan_a = analyze_offer(&offer_a, SET_IN).unwrap();
    let (to_b, _) = build_offer(
        &offer_a,
        &plan_a,
        &local(PRIVATE, 1, 30000, 1, false),
        ICP_OUT,
        &mut origin(),
    )
    .unwrap();
    let s = Sdp::parse(&to_b).unwrap();
    assert_eq!(s.connection().unwrap().address, PRIVATE);
    assert_eq!(s.media()[0].connection().unwrap().address, "0.0.0.0");
}

#[test]
fn rewritten_descriptions_hide_the_topology_and_the_keys() {
    let mut checked = 0;
    for (name, input) in corpus() {
        let original = Sdp::parse(&input).unwrap();
        let Ok(plan) = analyze_offer(&original, InboundPolicy::SrtpOrRtp) else {
            continue;
        };
        let theirs: Vec<String> = addresses(&input);
        let keys: Vec<String> = original
            .media()
            .iter()
            .flat_map(|m| m.attribute_values("crypto"))
            .filter_map(|v| {
                v.split("inline:")
                    .nth(1)
                    .map(|k| k[..40.min(k.len())].to_owned())
            })
            .collect();
        for policy in [
            OutboundPolicy::SrtpOnly,
            OutboundPolicy::AvpCrypto,
            OutboundPolicy::Rtp,
        ] {
            let n = original.media().len();
            let (body, _) = build_offer(
                &original,
                &plan,
                &local(PRIVATE, n, 30000, 0x80, true),
                policy,
                &mut origin(),
            )
            .unwrap();
            let out = text(&body);
            for a in addresses(&body) {
                assert!(a == PRIVATE || a == "0.0.0.0", "{name}: {a} in {out}");
            }
            for a in &theirs {
                assert!(
                    a == "0.0.0.0" || !out.contains(a.as_str()),
                    "{name}: {a} leaked: {out}"
                );
            }
            for k in &keys {
                assert!(!out.contains(k.as_str()), "{name}: key leaked");
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "{checked}");
}
