//! Renegotiation (SPEC MED-4): hold, resume, added and removed streams,
//! key changes, port decisions.

mod common;

use common::{PRIVATE, attrs, bytes, local, origin, sdp, text};
use outpost_sdp::{
    Direction, InboundPolicy, MediaKind, OfferPlan, OutboundPolicy, PortAction, Sdp, StreamChange,
    analyze_offer, build_offer, diff_streams,
};

const IN: InboundPolicy = InboundPolicy::SrtpOnly;
const OUT: OutboundPolicy = OutboundPolicy::AvpCrypto;

fn plan(text: &str) -> OfferPlan {
    analyze_offer(&text.parse().expect("test SDP parses"), IN).expect("test offer is acceptable")
}

fn aastra() -> String {
    text(&bytes("aastra_6867i_offer_savp.sdp"))
}

#[test]
fn hold_and_resume_keep_ports_and_pass_through() {
    let first = aastra();
    let hold = first
        .replace("a=sendrecv", "a=sendonly")
        .replace("o=MxSIP 0 1", "o=MxSIP 0 2");
    let d = diff_streams(&plan(&first).streams, &plan(&hold).streams);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].change, StreamChange::Kept);
    assert_eq!(
        d[0].direction,
        Some((Direction::SendRecv, Direction::SendOnly))
    );
    assert!(!d[0].key_changed && !d[0].address_changed && !d[0].is_unchanged());
    assert_eq!(d[0].port_action(false), PortAction::Keep);
    assert_eq!(d[0].port_action(true), PortAction::Reallocate);

    // The re-offer on the other leg: same ports, sendonly, version + 1.
    let side = local(PRIVATE, 1, 30000, 1, false);
    let mut o = origin();
    let (a, _) = build_offer(&first.parse().unwrap(), &plan(&first), &side, OUT, &mut o).unwrap();
    let (b, _) = build_offer(&hold.parse().unwrap(), &plan(&hold), &side, OUT, &mut o).unwrap();
    assert_eq!(attrs(&a, 0, "sendrecv").len(), 1);
    assert_eq!(attrs(&b, 0, "sendonly").len(), 1);
    assert!(text(&b).contains("o=outpost 4242 2 IN IP4 10.20.0.5"));
    assert!(text(&b).contains("m=audio 30000 RTP/AVP"));

    let resume = hold.replace("a=sendonly", "a=sendrecv");
    let d = diff_streams(&plan(&hold).streams, &plan(&resume).streams);
    assert_eq!(
        d[0].direction,
        Some((Direction::SendOnly, Direction::SendRecv))
    );
    let (c, _) = build_offer(&resume.parse().unwrap(), &plan(&resume), &side, OUT, &mut o).unwrap();
    assert_eq!(attrs(&c, 0, "sendrecv").len(), 1);
    assert_eq!(o.version(), 3);
}

#[test]
fn unchanged_reoffer_is_unchanged() {
    let first = aastra();
    let again = first.replace("o=MxSIP 0 1", "o=MxSIP 0 2");
    let d = diff_streams(&plan(&first).streams, &plan(&again).streams);
    assert!(d[0].is_unchanged(), "{d:?}");
    // Session refresh: the body we send is the same, so is our version.
    let side = local(PRIVATE, 1, 30000, 1, false);
    let mut o = origin();
    let (a, _) = build_offer(&first.parse().unwrap(), &plan(&first), &side, OUT, &mut o).unwrap();
    let (b, _) = build_offer(&again.parse().unwrap(), &plan(&again), &side, OUT, &mut o).unwrap();
    assert_eq!(a, b);
}

#[test]
fn null_address_hold_is_an_address_change() {
    let first = aastra();
    let held = text(&bytes("offer_null_hold.sdp"));
    let d = diff_streams(&plan(&first).streams, &plan(&held).streams);
    assert!(d[0].address_changed);
    assert_eq!(
        d[0].direction,
        Some((Direction::SendRecv, Direction::SendOnly))
    );
    assert_eq!(d[0].port_action(false), PortAction::Keep);
    assert!(d[0].formats_changed, "codec list changed too");
    assert!(!d[0].key_changed, "same key as before");
}

#[test]
fn added_and_removed_video() {
    let audio = text(&bytes("linphone_offer_audio_video.sdp"));
    let audio_only = audio.split("m=video").next().unwrap().to_owned();
    let both = plan(&audio);
    let d = diff_streams(&plan(&audio_only).streams, &both.streams);
    assert_eq!(d.len(), 2);
    assert_eq!(
        (d[0].change, d[1].change),
        (StreamChange::Kept, StreamChange::Added)
    );
    assert_eq!(d[1].kind, MediaKind::Video);
    assert_eq!(d[1].port_action(false), PortAction::Allocate);

    // Video removed with port 0.
    let removed = audio.replace("m=video 9078", "m=video 0");
    let removed_plan = plan(&removed);
    let d = diff_streams(&both.streams, &removed_plan.streams);
    assert_eq!(
        (d[1].change, d[1].kind.clone()),
        (StreamChange::Removed, MediaKind::Video)
    );
    assert_eq!(d[1].port_action(false), PortAction::Release);
    assert_eq!(d[0].port_action(false), PortAction::Keep);
    // ... and written with port 0 on the other leg, even if the caller
    // still had ports for it.
    let (body, _) = build_offer(
        &removed.parse().unwrap(),
        &removed_plan,
        &local(PRIVATE, 2, 30000, 1, false),
        OUT,
        &mut origin(),
    )
    .unwrap();
    assert_eq!(Sdp::parse(&body).unwrap().media()[1].media_line().port, 0);
    // A missing m-line (not allowed by RFC 3264 §8) counts as removed.
    let d = diff_streams(&both.streams, &plan(&audio_only).streams);
    assert_eq!(d[1].change, StreamChange::Removed);
    // Re-enabling a disabled slot with another kind is an addition.
    let d = diff_streams(
        &removed_plan.streams,
        &plan(&audio.replace("m=video 9078", "m=text 9078")).streams,
    );
    assert_eq!(
        (d[1].change, d[1].kind.clone()),
        (StreamChange::Added, MediaKind::Text)
    );
    // Changing the kind of an active slot is a replacement.
    let d = diff_streams(
        &both.streams,
        &plan(&audio.replace("m=video 9078", "m=text 9078")).streams,
    );
    assert_eq!(d[1].change, StreamChange::Replaced);
    assert_eq!(d[1].port_action(false), PortAction::Reallocate);
    let d = diff_streams(&removed_plan.streams, &removed_plan.streams);
    assert_eq!(d[1].port_action(true), PortAction::None);
}

#[test]
fn key_change_and_security_change() {
    let first = aastra();
    let rekeyed_plan = {
        let s = sdp("aastra_6867i_offer_savp.sdp");
        let mut t = text(&s.to_bytes());
        let old = s.media()[0]
            .attribute_values("crypto")
            .next()
            .unwrap()
            .to_owned();
        let new = format!(
            "1 AES_CM_128_HMAC_SHA1_80 inline:{}",
            "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk"
        );
        t = t.replace(&old, &new);
        plan(&t)
    };
    let before = plan(&first);
    let d = diff_streams(&before.streams, &rekeyed_plan.streams);
    assert!(d[0].key_changed && !d[0].security_changed);
    assert_eq!(d[0].port_action(false), PortAction::Keep);
    assert_ne!(before.streams[0].srtp, rekeyed_plan.streams[0].srtp);

    // SRTP dropped (the peer now offers AVP without crypto, allowed on srtp-or-rtp).
    let plain = text(&bytes("baresip_offer_rtp.sdp"));
    let savp = text(&bytes("baresip_offer_savp.sdp"));
    let a = analyze_offer(&savp.parse().unwrap(), InboundPolicy::SrtpOrRtp).unwrap();
    let b = analyze_offer(&plain.parse().unwrap(), InboundPolicy::SrtpOrRtp).unwrap();
    let d = diff_streams(&a.streams, &b.streams);
    assert!(d[0].security_changed && d[0].key_changed && d[0].address_changed);

    // rtcp-mux switched on.
    let mux = first.replace("a=sendrecv", "a=sendrecv\r\na=rtcp-mux");
    let d = diff_streams(&before.streams, &plan(&mux).streams);
    assert!(d[0].rtcp_mux_changed);
}
