//! What counts as an SRTP authentication failure (issue 11): a forged
//! packet always does; the RTCP baresip sends in clear around its keys'
//! lifetime, and libre's 32-bit SRTCP tags, do not (each has its own
//! counter), and none of them is relayed.

use super::*;

/// baresip's NAT-opening RTCP APP packet, sent in clear when a stream
/// starts (as captured from baresip 1.0 / libre 1.1).
fn app_ping(ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 204, 0, 3];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(b"PINGPONG");
    p
}

/// baresip's RTCP BYE + SDES, sent in clear at hang-up once its SRTP
/// context is gone (as captured: reason "Adjo", CNAME its AoR).
fn bye_sdes(ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x81, 203, 0, 3];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[4, b'A', b'd', b'j', b'o', 0, 0, 0]);
    p.extend_from_slice(&[0x81, 202, 0, 9]);
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[1, 26]);
    p.extend_from_slice(b"sip:alice@sbc.outpost.test");
    p.extend_from_slice(&[0, 0, 0, 0]);
    p
}

fn public_rx(call: &Call) -> RxStats {
    call.session.stats().total(Side::Public).received
}

fn srtp_public_with(suite: CryptoSuite) -> SideConfig {
    SideConfig::srtp(
        addr(PHONE_SDP),
        SrtpConfig {
            suite,
            recv: key(1),
            send: key(2),
        },
    )
}

#[test]
fn plain_rtcp_from_a_phone_is_dropped_but_not_an_auth_failure() {
    let mut call = Call::new(srtp_public(false), SideConfig::plain(addr(PBX)));
    for (ms, packet) in [(0, app_ping(0xa)), (20, bye_sdes(0xa))] {
        assert!(is_plain_rtcp(&packet));
        let (a, _) = call.send(ms, Side::Public, Component::Rtcp, PHONE_NAT, &packet);
        assert_eq!(a, Action::Drop(DropReason::PlainRtcp));
    }
    // With rtcp-mux, on the RTP port, the same.
    let mut mux = Call::new(srtp_public(true), SideConfig::plain(addr(PBX)));
    let (a, _) = mux.send(0, Side::Public, Component::Rtp, PHONE_NAT, &bye_sdes(0xa));
    assert_eq!(a, Action::Drop(DropReason::PlainRtcp));

    let rx = public_rx(&call);
    assert_eq!((rx.plain_rtcp, rx.srtp_auth_failures), (2, 0));
    assert_eq!(rx.rtcp_packets, 0);
    let leg = call.session.stream(call.stream).unwrap().leg(Side::Public);
    assert_eq!(leg.latched_rtcp(), None, "clear RTCP never latches");
    assert_eq!(call.session.last_packet(), None, "nor counts as media");
}

#[test]
fn forged_srtp_and_srtcp_are_counted_as_auth_failures() {
    let mut call = Call::new(srtp_public(false), SideConfig::plain(addr(PBX)));
    let mut forger = SrtpContext::new(SUITE, &key(9)).unwrap();
    let mut forged = Vec::new();
    // SRTP and SRTCP under another key.
    forged.push((Component::Rtp, protect(&mut forger, &rtp(1, 0xa))));
    let mut srtcp = rtcp_rr(0xa, 0xb, 1);
    forger.protect_rtcp_vec(&mut srtcp).unwrap();
    forged.push((Component::Rtcp, srtcp));
    // Good packets with one bit of their tag flipped.
    let mut ptx = phone_tx();
    let mut good_rtp = protect(&mut ptx, &rtp(1, 0xa));
    *good_rtp.last_mut().unwrap() ^= 1;
    forged.push((Component::Rtp, good_rtp));
    let mut good_rtcp = rtcp_rr(0xa, 0xb, 1);
    ptx.protect_rtcp_vec(&mut good_rtcp).unwrap();
    let mut flipped = good_rtcp.clone();
    *flipped.last_mut().unwrap() ^= 1;
    forged.push((Component::Rtcp, flipped));
    // The phone's own SRTCP cut to a 32-bit tag, on an _80 leg.
    forged.push((Component::Rtcp, good_rtcp[..good_rtcp.len() - 6].to_vec()));
    // Plain RTCP followed by garbage "tag" bytes: not a whole compound
    // packet, so it is tried as SRTCP and fails.
    let mut padded = bye_sdes(0xa);
    padded.extend_from_slice(&[0x80, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    forged.push((Component::Rtcp, padded));

    let n = forged.len() as u64;
    for (i, (component, packet)) in forged.into_iter().enumerate() {
        let (a, _) = call.send(i as u64, Side::Public, component, ATTACKER, &packet);
        assert_eq!(
            a,
            Action::Drop(DropReason::Unprotect(Error::AuthFailed)),
            "forged packet {i}"
        );
    }
    let rx = public_rx(&call);
    assert_eq!(rx.srtp_auth_failures, n);
    assert_eq!((rx.plain_rtcp, rx.short_srtcp_tag), (0, 0));

    // The real phone is unaffected.
    let (a, _) = call.send(100, Side::Public, Component::Rtcp, PHONE_NAT, &good_rtcp);
    assert_eq!(forwarded(a).kind, Component::Rtcp);
}

#[test]
fn libre_short_srtcp_tag_is_dropped_but_not_an_auth_failure() {
    let suite = CryptoSuite::AesCm128HmacSha1_32;
    let mut call = Call::new(srtp_public_with(suite), SideConfig::plain(addr(PBX)));
    // libre protects SRTCP like RFC 3711 but keeps 4 bytes of the HMAC:
    // the RFC packet without the last 6 bytes.
    let mut phone = SrtpContext::new(suite, &key(1)).unwrap();
    let mut srtcp = app_ping(0xa);
    phone.protect_rtcp_vec(&mut srtcp).unwrap();
    let libre = srtcp[..srtcp.len() - 6].to_vec();
    let (a, _) = call.send(0, Side::Public, Component::Rtcp, PHONE_NAT, &libre);
    assert_eq!(a, Action::Drop(DropReason::ShortSrtcpTag));

    // Under another key, or with a flipped bit, it is a forgery.
    let mut forger = SrtpContext::new(suite, &key(9)).unwrap();
    let mut other = app_ping(0xa);
    forger.protect_rtcp_vec(&mut other).unwrap();
    let mut flipped = libre.clone();
    *flipped.last_mut().unwrap() ^= 0x80;
    for packet in [other[..other.len() - 6].to_vec(), flipped] {
        let (a, _) = call.send(10, Side::Public, Component::Rtcp, ATTACKER, &packet);
        assert_eq!(a, Action::Drop(DropReason::Unprotect(Error::AuthFailed)));
    }
    let rx = public_rx(&call);
    assert_eq!(
        (rx.short_srtcp_tag, rx.srtp_auth_failures, rx.rtcp_packets),
        (1, 2, 0)
    );
    let leg = call.session.stream(call.stream).unwrap().leg(Side::Public);
    assert_eq!(leg.latched_rtcp(), None, "a dropped packet never latches");

    // The conformant 80-bit form is relayed.
    let (a, out) = call.send(20, Side::Public, Component::Rtcp, PHONE_NAT, &srtcp);
    assert_eq!(forwarded(a).kind, Component::Rtcp);
    assert_eq!(out, app_ping(0xa));
}

#[test]
fn no_srtcp_packet_has_the_shape_of_plain_rtcp() {
    let mut ctx = phone_tx();
    for words in 1..64u8 {
        let mut packet = vec![0x80, 201, 0, words];
        packet.extend_from_slice(&0xau32.to_be_bytes());
        packet.resize(usize::from(words + 1) * 4, 0);
        assert!(is_plain_rtcp(&packet));
        ctx.protect_rtcp_vec(&mut packet).unwrap();
        assert!(!is_plain_rtcp(&packet), "{words} words");
    }
}
