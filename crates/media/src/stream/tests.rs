//! Session tests: a phone (public, SRTP, behind NAT) and an iPBX (private,
//! plain RTP) exchanging packets through a session on a virtual clock.

mod auth;

use super::*;
use crate::srtp::MASTER_LEN;
use proptest::prelude::*;

const SUITE: CryptoSuite = CryptoSuite::AesCm128HmacSha1_80;
/// What the phone wrote in its SDP (private, useless behind NAT).
const PHONE_SDP: &str = "192.168.1.10:4000";
/// Where its packets really come from (the NAT's public mapping).
const PHONE_NAT: &str = "203.0.113.5:61000";
const PBX: &str = "10.0.0.20:30000";
const PBX_RTCP: &str = "10.0.0.20:30001";
const ATTACKER: &str = "198.51.100.66:5000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn key(b: u8) -> MasterKey {
    MasterKey::generate([b; MASTER_LEN])
}

/// The phone's keys: it sends with 1, receives what Outpost sends with 2.
fn phone_tx() -> SrtpContext {
    SrtpContext::new(SUITE, &key(1)).unwrap()
}
fn phone_rx() -> SrtpContext {
    SrtpContext::new(SUITE, &key(2)).unwrap()
}

fn srtp_public(mux: bool) -> SideConfig {
    SideConfig {
        rtcp_mux: mux,
        ..SideConfig::srtp(
            addr(PHONE_SDP),
            SrtpConfig {
                suite: SUITE,
                recv: key(1),
                send: key(2),
            },
        )
    }
}

struct Call {
    session: Session,
    t0: Instant,
    stream: StreamId,
}

impl Call {
    // The virtual clock's origin; only the offsets matter.
    #[allow(clippy::disallowed_methods)]
    fn new(public: SideConfig, private: SideConfig) -> Self {
        let t0 = Instant::now();
        let mut session = Session::new(SessionId(7), t0, MediaTimeout::default());
        let stream = session.add_stream(public, private).unwrap();
        Self {
            session,
            t0,
            stream,
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn port(&self, side: Side, component: Component) -> LocalPort {
        LocalPort {
            side,
            stream: self.stream,
            component,
        }
    }

    /// Sends `packet` into the session; returns the action and the bytes.
    fn send(
        &mut self,
        ms: u64,
        side: Side,
        component: Component,
        from: &str,
        packet: &[u8],
    ) -> (Action, Vec<u8>) {
        let mut buf = [0u8; 1500];
        buf[..packet.len()].copy_from_slice(packet);
        let now = self.at(ms);
        let at = self.port(side, component);
        let action = self
            .session
            .handle_packet(now, at, addr(from), &mut buf, packet.len());
        let out = match action {
            Action::Forward(f) => buf[..f.len].to_vec(),
            Action::Drop(_) => Vec::new(),
        };
        (action, out)
    }
}

fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend(std::iter::repeat_n(0xd5 ^ seq as u8, 160));
    p
}

fn rtcp_rr(ssrc: u32, about: u32, jitter: u32) -> Vec<u8> {
    let mut p = vec![0x81, 201, 0, 7];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&about.to_be_bytes());
    p.extend_from_slice(&[3, 0, 0, 5, 0, 0, 1, 0]);
    p.extend_from_slice(&jitter.to_be_bytes());
    p.extend_from_slice(&[0; 8]);
    p
}

fn protect(ctx: &mut SrtpContext, plain: &[u8]) -> Vec<u8> {
    let mut p = plain.to_vec();
    ctx.protect_rtp_vec(&mut p).unwrap();
    p
}

fn forwarded(action: Action) -> Forward {
    match action {
        Action::Forward(f) => f,
        Action::Drop(r) => panic!("dropped: {r:?}"),
    }
}

#[test]
fn srtp_to_rtp_and_back_with_latching() {
    let mut call = Call::new(srtp_public(false), SideConfig::plain(addr(PBX)));
    let (mut ptx, mut prx) = (phone_tx(), phone_rx());

    // Before the phone speaks, Outpost can only send to the SDP address.
    let (a, _) = call.send(0, Side::Private, Component::Rtp, PBX, &rtp(1, 0xb));
    let f = forwarded(a);
    assert_eq!(f.to, addr(PHONE_SDP));
    assert_eq!(f.via, call.port(Side::Public, Component::Rtp));

    // Phone → PBX: decrypted, latched on the NAT address.
    let (a, out) = call.send(
        20,
        Side::Public,
        Component::Rtp,
        PHONE_NAT,
        &protect(&mut ptx, &rtp(100, 0xa)),
    );
    let f = forwarded(a);
    assert_eq!(
        (f.to, f.via.side, f.kind),
        (addr(PBX), Side::Private, Component::Rtp)
    );
    assert_eq!(out, rtp(100, 0xa));
    let leg = call.session.stream(call.stream).unwrap().leg(Side::Public);
    assert_eq!(leg.latched_rtp(), Some(addr(PHONE_NAT)));
    assert_eq!(leg.ssrc(), Some(0xa));

    // PBX → phone: encrypted with Outpost's key, to the latched address.
    let (a, mut out) = call.send(40, Side::Private, Component::Rtp, PBX, &rtp(2, 0xb));
    assert_eq!(forwarded(a).to, addr(PHONE_NAT));
    assert_ne!(out[12..172], rtp(2, 0xb)[12..]);
    prx.unprotect_rtp_vec(&mut out).unwrap();
    assert_eq!(out, rtp(2, 0xb));
}

#[test]
fn latch_only_after_authentication() {
    let mut call = Call::new(srtp_public(false), SideConfig::plain(addr(PBX)));
    let forged = protect(&mut SrtpContext::new(SUITE, &key(9)).unwrap(), &rtp(1, 0xa));
    let (a, _) = call.send(0, Side::Public, Component::Rtp, ATTACKER, &forged);
    assert_eq!(a, Action::Drop(DropReason::Unprotect(Error::AuthFailed)));
    let (a, _) = call.send(0, Side::Public, Component::Rtp, ATTACKER, &rtp(2, 0xa));
    assert_eq!(
        a,
        Action::Drop(DropReason::Unprotect(Error::AuthFailed)),
        "plain RTP on an SRTP leg"
    );
    let leg = call.session.stream(call.stream).unwrap().leg(Side::Public);
    assert_eq!(leg.latched_rtp(), None);
    assert_eq!(leg.stats().received.srtp_auth_failures, 2);
    assert_eq!(
        call.session.last_packet(),
        None,
        "bad packets are not media"
    );

    let mut ptx = phone_tx();
    let good = protect(&mut ptx, &rtp(1, 0xa));
    let _ = call.send(20, Side::Public, Component::Rtp, PHONE_NAT, &good);
    let (a, _) = call.send(40, Side::Public, Component::Rtp, PHONE_NAT, &good);
    assert_eq!(a, Action::Drop(DropReason::Unprotect(Error::Replayed)));
    // A replay from elsewhere must not move the latch either.
    let (a, _) = call.send(60, Side::Public, Component::Rtp, ATTACKER, &good);
    assert_eq!(a, Action::Drop(DropReason::Unprotect(Error::Replayed)));
    let leg = call.session.stream(call.stream).unwrap().leg(Side::Public);
    assert_eq!(leg.latched_rtp(), Some(addr(PHONE_NAT)));
    assert_eq!(leg.stats().received.srtp_replayed, 2);

    // A NAT rebinding: authenticated packets from a new port move the latch.
    let rebound = "203.0.113.5:61002";
    let (a, _) = call.send(
        80,
        Side::Public,
        Component::Rtp,
        rebound,
        &protect(&mut ptx, &rtp(2, 0xa)),
    );
    assert!(matches!(a, Action::Forward(_)));
    let leg = call.session.stream(call.stream).unwrap().leg(Side::Public);
    assert_eq!(leg.latched_rtp(), Some(addr(rebound)));
    assert_eq!(leg.stats().received.relatched, 1);
}

#[test]
fn plain_rtp_latch_is_sticky_and_strict_mode() {
    let mut call = Call::new(
        SideConfig::plain(addr(PHONE_SDP)),
        SideConfig::plain(addr(PBX)),
    );
    let _ = forwarded(
        call.send(0, Side::Public, Component::Rtp, PHONE_NAT, &rtp(1, 1))
            .0,
    );
    let (a, _) = call.send(20, Side::Public, Component::Rtp, ATTACKER, &rtp(2, 1));
    assert_eq!(a, Action::Drop(DropReason::NotLatchedSource));
    // An IPv4-mapped IPv6 source is the same address.
    let (a, _) = call.send(
        40,
        Side::Public,
        Component::Rtp,
        "[::ffff:203.0.113.5]:61000",
        &rtp(3, 1),
    );
    assert!(matches!(a, Action::Forward(_)));

    let strict = SideConfig {
        latching: Latching::Strict,
        ..SideConfig::plain(addr(PBX))
    };
    let mut call = Call::new(SideConfig::plain(addr(PHONE_SDP)), strict);
    let (a, _) = call.send(
        0,
        Side::Private,
        Component::Rtp,
        "10.0.0.20:30002",
        &rtp(1, 1),
    );
    assert_eq!(a, Action::Drop(DropReason::UnexpectedSource));
    let (a, _) = call.send(0, Side::Private, Component::Rtcp, PBX, &rtcp_rr(1, 2, 0));
    assert_eq!(
        a,
        Action::Drop(DropReason::UnexpectedSource),
        "RTCP must come from port + 1"
    );
    let _ = forwarded(
        call.send(
            0,
            Side::Private,
            Component::Rtcp,
            PBX_RTCP,
            &rtcp_rr(1, 2, 0),
        )
        .0,
    );
    let _ = forwarded(
        call.send(0, Side::Private, Component::Rtp, PBX, &rtp(1, 1))
            .0,
    );
    let stats = call.session.stats().total(Side::Private);
    assert_eq!(stats.received.dropped, 2);
}

#[test]
fn rtcp_mux_srtcp_to_plain_rtcp_and_back() {
    let mut call = Call::new(srtp_public(true), SideConfig::plain(addr(PBX)));
    let (mut ptx, mut prx) = (phone_tx(), phone_rx());
    // Phone sends RTP then SRTCP on its single port.
    let _ = forwarded(
        call.send(
            0,
            Side::Public,
            Component::Rtp,
            PHONE_NAT,
            &protect(&mut ptx, &rtp(1, 0xa)),
        )
        .0,
    );
    let mut srtcp = rtcp_rr(0xa, 0xb, 77);
    ptx.protect_rtcp_vec(&mut srtcp).unwrap();
    let (a, out) = call.send(10, Side::Public, Component::Rtp, PHONE_NAT, &srtcp);
    let f = forwarded(a);
    assert_eq!(f.kind, Component::Rtcp);
    assert_eq!(f.via, call.port(Side::Private, Component::Rtcp));
    assert_eq!(f.to, addr(PBX_RTCP));
    assert_eq!(out, rtcp_rr(0xa, 0xb, 77));
    let stats = call.session.stats().streams[0];
    assert_eq!(
        stats.public.peer_report.map(|r| (r.ssrc, r.jitter)),
        Some((0xb, 77))
    );
    assert_eq!(stats.public.received.rtcp_packets, 1);

    // PBX RTCP from its RTCP port goes out the phone's muxed port, to the
    // latched RTP address, as SRTCP.
    let (a, mut out) = call.send(
        20,
        Side::Private,
        Component::Rtcp,
        PBX_RTCP,
        &rtcp_rr(0xb, 0xa, 5),
    );
    let f = forwarded(a);
    assert_eq!(
        (f.via, f.to),
        (call.port(Side::Public, Component::Rtp), addr(PHONE_NAT))
    );
    assert_eq!(
        out.len(),
        rtcp_rr(0, 0, 0).len() + crate::srtp::SRTCP_OVERHEAD
    );
    prx.unprotect_rtcp_vec(&mut out).unwrap();
    assert_eq!(out, rtcp_rr(0xb, 0xa, 5));
    let stats = call.session.stats().streams[0];
    assert_eq!(stats.public.sent.rtcp_packets, 1);
    assert_eq!(stats.private.peer_report.map(|r| r.jitter), Some(5));
}

#[test]
fn rtcp_latches_separately_without_mux() {
    let mut call = Call::new(
        SideConfig::plain(addr(PHONE_SDP)),
        SideConfig::plain(addr(PBX)),
    );
    let _ = forwarded(
        call.send(
            0,
            Side::Public,
            Component::Rtcp,
            "203.0.113.5:61001",
            &rtcp_rr(1, 2, 0),
        )
        .0,
    );
    let (a, _) = call.send(
        0,
        Side::Private,
        Component::Rtcp,
        PBX_RTCP,
        &rtcp_rr(2, 1, 0),
    );
    assert_eq!(forwarded(a).to, addr("203.0.113.5:61001"));
    let (a, _) = call.send(0, Side::Private, Component::Rtp, PBX, &rtp(1, 2));
    assert_eq!(forwarded(a).to, addr(PHONE_SDP), "RTP not latched yet");
}

#[test]
fn drops_are_counted_by_reason() {
    let no_remote = SideConfig::default();
    let mut call = Call::new(srtp_public(false), no_remote);
    let (a, _) = call.send(0, Side::Public, Component::Rtp, PHONE_NAT, &[0, 1, 0, 8]);
    assert_eq!(a, Action::Drop(DropReason::NotRtp));
    let (a, _) = call.send(0, Side::Public, Component::Rtp, PHONE_NAT, &[0x80, 0, 1]);
    assert_eq!(a, Action::Drop(DropReason::Unprotect(Error::TooShort)));
    let (a, _) = call.send(
        0,
        Side::Public,
        Component::Rtp,
        PHONE_NAT,
        &protect(&mut phone_tx(), &rtp(1, 1)),
    );
    assert_eq!(a, Action::Drop(DropReason::NoDestination));
    let mut buf = [0u8; 10];
    let at = call.port(Side::Public, Component::Rtp);
    let a = call
        .session
        .handle_packet(call.t0, at, addr(PHONE_NAT), &mut buf, 11);
    assert_eq!(a, Action::Drop(DropReason::Malformed));
    let missing = LocalPort {
        stream: StreamId(5),
        ..at
    };
    let a = call
        .session
        .handle_packet(call.t0, missing, addr(PHONE_NAT), &mut buf, 10);
    assert_eq!(a, Action::Drop(DropReason::UnknownStream));
    let stats = call.session.stats().streams[0];
    assert_eq!(stats.public.received.dropped, 3);
    assert_eq!(stats.public.received.packets, 1);
    assert_eq!(stats.private.sent.no_destination, 1);

    // No room for the tag: protect fails, counted on the sending leg.
    let mut call = Call::new(srtp_public(false), SideConfig::plain(addr(PBX)));
    let packet = rtp(1, 1);
    let mut buf = packet.clone();
    let at = call.port(Side::Private, Component::Rtp);
    let a = call
        .session
        .handle_packet(call.t0, at, addr(PBX), &mut buf, packet.len());
    assert_eq!(a, Action::Drop(DropReason::Protect(Error::BufferTooSmall)));
    assert_eq!(
        call.session.stats().streams[0]
            .public
            .sent
            .srtp_protect_failures,
        1
    );
}

#[test]
fn stats_per_direction() {
    let mut call = Call::new(srtp_public(false), SideConfig::plain(addr(PBX)));
    let mut ptx = phone_tx();
    for seq in 0..50u16 {
        if seq % 10 == 3 {
            continue; // lost on the way
        }
        let p = protect(&mut ptx, &rtp(seq, 0xa));
        let _ = forwarded(
            call.send(
                u64::from(seq) * 20,
                Side::Public,
                Component::Rtp,
                PHONE_NAT,
                &p,
            )
            .0,
        );
    }
    for seq in 0..10u16 {
        let late = if seq % 2 == 0 { 0 } else { 8 };
        let _ = forwarded(
            call.send(
                1000 + u64::from(seq) * 20 + late,
                Side::Private,
                Component::Rtp,
                PBX,
                &rtp(seq, 0xb),
            )
            .0,
        );
    }
    let s = call.session.stats();
    assert_eq!(s.session, SessionId(7));
    let public = s.total(Side::Public);
    assert_eq!(public.received.packets, 45);
    assert_eq!(public.received.bytes, 45 * 182);
    assert_eq!(public.received.lost, 5);
    assert_eq!(public.received.jitter, 0);
    assert_eq!(public.sent.packets, 10);
    assert_eq!(public.sent.bytes, 10 * 182);
    let private = s.total(Side::Private);
    assert_eq!(private.sent.packets, 45);
    assert_eq!(private.sent.bytes, 45 * 172);
    assert_eq!(private.received.lost, 0);
    assert!(private.received.jitter > 0);
    assert_eq!(s.last_packet, Some(call.at(1188)));
}

#[test]
fn media_timeout_as_data() {
    let mut call = Call::new(
        SideConfig::plain(addr(PHONE_SDP)),
        SideConfig::plain(addr(PBX)),
    );
    let minute = Duration::from_secs(60);
    assert_eq!(
        call.session.poll_timeout(),
        Some(call.t0 + minute),
        "runs from creation"
    );
    let _ = call.send(1000, Side::Public, Component::Rtp, PHONE_NAT, &rtp(1, 1));
    assert_eq!(
        call.session.poll_timeout(),
        Some(call.t0 + minute),
        "one silent side is enough: the private side has sent nothing"
    );
    let _ = call.send(1000, Side::Private, Component::Rtp, PBX, &rtp(1, 2));
    let deadline = call.at(1000) + minute;
    assert_eq!(call.session.poll_timeout(), Some(deadline));
    // Bad packets do not re-arm it.
    let _ = call.send(5000, Side::Public, Component::Rtp, ATTACKER, &rtp(2, 1));
    assert_eq!(call.session.poll_timeout(), Some(deadline));
    call.session
        .handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(call.session.poll_event(), None, "early call is a no-op");
    call.session.handle_timeout(deadline);
    assert_eq!(
        call.session.poll_event(),
        Some(Event::MediaTimeout {
            session: SessionId(7),
            last_packet: Some(call.at(1000)),
        })
    );
    assert_eq!(call.session.poll_timeout(), None, "fires once");
    call.session.handle_timeout(deadline + minute);
    assert_eq!(call.session.poll_event(), None);
    // Media again, from both sides, re-arms it.
    let _ = call.send(70_000, Side::Private, Component::Rtp, PBX, &rtp(2, 2));
    let _ = call.send(70_000, Side::Public, Component::Rtp, PHONE_NAT, &rtp(3, 1));
    assert_eq!(call.session.poll_timeout(), Some(call.at(70_000) + minute));
}

#[test]
fn hold_suspends_or_lengthens_the_timeout() {
    let mut call = Call::new(
        SideConfig::plain(addr(PHONE_SDP)),
        SideConfig::plain(addr(PBX)),
    );
    call.session.set_on_hold(call.at(10_000), true);
    assert!(call.session.on_hold());
    assert_eq!(call.session.poll_timeout(), None);
    call.session.handle_timeout(call.at(3_600_000));
    assert_eq!(call.session.poll_event(), None);
    call.session.set_on_hold(call.at(3_600_000), false);
    assert_eq!(
        call.session.poll_timeout(),
        Some(call.at(3_660_000)),
        "resume restarts it"
    );

    call.session.set_timeout(MediaTimeout {
        active: Some(Duration::from_secs(30)),
        on_hold: Some(Duration::from_secs(7200)),
    });
    call.session.set_on_hold(call.at(3_700_000), true);
    assert_eq!(
        call.session.poll_timeout(),
        Some(call.at(3_700_000 + 7_200_000))
    );
    call.session.set_timeout(MediaTimeout {
        active: None,
        on_hold: None,
    });
    assert_eq!(call.session.poll_timeout(), None);
}

#[test]
fn renegotiation_keeps_state_for_same_keys_and_address() {
    let mut call = Call::new(srtp_public(false), SideConfig::plain(addr(PBX)));
    let mut ptx = phone_tx();
    for seq in [65_534u16, 65_535, 0] {
        let _ = forwarded(
            call.send(
                0,
                Side::Public,
                Component::Rtp,
                PHONE_NAT,
                &protect(&mut ptx, &rtp(seq, 0xa)),
            )
            .0,
        );
    }
    let _ = forwarded(
        call.send(0, Side::Private, Component::Rtp, PBX, &rtp(7, 0xb))
            .0,
    );
    // Same keys, same SDP address (a hold re-INVITE): ROC and latch survive.
    assert!(
        call.session
            .update_side(call.stream, Side::Public, srtp_public(false))
            .unwrap()
    );
    let leg = call.session.stream(call.stream).unwrap().leg(Side::Public);
    assert_eq!(leg.recv_context().and_then(|c| c.recv_roc(0xa)), Some(1));
    assert_eq!(leg.latched_rtp(), Some(addr(PHONE_NAT)));
    let _ = forwarded(
        call.send(
            0,
            Side::Public,
            Component::Rtp,
            PHONE_NAT,
            &protect(&mut ptx, &rtp(1, 0xa)),
        )
        .0,
    );

    // New peer key and a new address: fresh context, fresh latch.
    let mut new = srtp_public(false);
    new.remote = Some(addr("192.168.1.11:4000"));
    if let Some(s) = new.srtp.as_mut() {
        s.recv = key(3);
    }
    assert!(
        call.session
            .update_side(call.stream, Side::Public, new)
            .unwrap()
    );
    let leg = call.session.stream(call.stream).unwrap().leg(Side::Public);
    assert_eq!(leg.recv_context().and_then(|c| c.recv_roc(0xa)), None);
    assert_eq!(
        leg.send_context().and_then(|c| c.send_roc(0xb)),
        Some(0),
        "own key unchanged"
    );
    assert_eq!(leg.latched_rtp(), None);
    let mut ptx3 = SrtpContext::new(SUITE, &key(3)).unwrap();
    let _ = forwarded(
        call.send(
            0,
            Side::Public,
            Component::Rtp,
            ATTACKER,
            &protect(&mut ptx3, &rtp(2, 0xa)),
        )
        .0,
    );
    assert!(
        !call
            .session
            .update_side(StreamId(9), Side::Public, SideConfig::default())
            .unwrap()
    );
}

#[test]
fn removed_streams_keep_their_stats() {
    let mut call = Call::new(
        SideConfig::plain(addr(PHONE_SDP)),
        SideConfig::plain(addr(PBX)),
    );
    let video = call
        .session
        .add_stream(
            SideConfig::plain(addr("192.168.1.10:4002")),
            SideConfig::plain(addr("10.0.0.20:30002")),
        )
        .unwrap();
    assert_eq!(video, StreamId(1));
    let _ = forwarded(
        call.send(0, Side::Public, Component::Rtp, PHONE_NAT, &rtp(1, 1))
            .0,
    );
    assert!(call.session.remove_stream(call.stream));
    assert!(!call.session.remove_stream(call.stream));
    let (a, _) = call.send(0, Side::Public, Component::Rtp, PHONE_NAT, &rtp(2, 1));
    assert_eq!(a, Action::Drop(DropReason::UnknownStream));
    let s = call.session.stats();
    assert_eq!(s.streams.len(), 2);
    assert_eq!(s.total(Side::Public).received.packets, 1);
}

#[test]
fn session_is_send() {
    fn check<T: Send + 'static>() {}
    check::<Session>();
    check::<crate::PortPool>();
}

proptest! {
    #[test]
    fn arbitrary_datagrams_never_panic(
        packets in proptest::collection::vec(
            (any::<bool>(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..200)),
            1..20,
        ),
    ) {
        let mut call = Call::new(srtp_public(true), SideConfig::plain(addr(PBX)));
        for (public, rtcp, mut data) in packets {
            if let Some(b) = data.first_mut() {
                *b = 0x80 | (*b & 0x3f); // mostly version 2, to get past classify
            }
            let side = if public { Side::Public } else { Side::Private };
            let component = if rtcp { Component::Rtcp } else { Component::Rtp };
            let from = if public { PHONE_NAT } else { PBX };
            let _ = call.send(0, side, component, from, &data);
        }
    }
}
