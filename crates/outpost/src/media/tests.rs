//! The media manager against real sockets: ports another program holds are
//! never advertised, a side with no bindable pair answers 503, and a call's
//! ports (and sockets) are all released when it ends.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};

use bytes::Bytes;
use outpost_b2bua::{BodyContext, BodyRewriter, CallRef, Side as CallSide};
use outpost_sdp::{CryptoSuite, InboundPolicy, OutboundPolicy};
use outpost_sip::{Method, StatusCode};

use super::{Media, MediaSettings, SideAddresses};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A manager with four pairs per side from `base` (public) and `base + 100`
/// (private); each test has its own ports, as tests run in parallel.
fn media(base: u16) -> Media {
    let side = SideAddresses {
        advertised: LOOPBACK,
        bind: LOOPBACK,
    };
    let settings = MediaSettings {
        public: side,
        private: side,
        inbound: [InboundPolicy::SrtpOrRtp, InboundPolicy::SrtpOrRtp],
        outbound: [OutboundPolicy::Rtp, OutboundPolicy::Rtp],
        timeout: None,
        strict_source: false,
        dscp: (46, 34),
        suites: vec![CryptoSuite::AesCm128HmacSha1_80],
    };
    Media::new(settings, (base, base + 7), (base + 100, base + 107), 7, 1).unwrap()
}

/// An offer from the iPBX (private side) toward a phone: what Outpost
/// sends on carries its public ports.
fn offer_from_ipbx(media: &mut Media, call: u64) -> Result<Bytes, StatusCode> {
    let context = BodyContext {
        call: Some(CallRef(call)),
        from: CallSide::Private,
        to: CallSide::Public,
        method: Method::Invite,
        status: None,
    };
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\n\
               m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    media.rewrite(&context, "application/sdp", Bytes::from(sdp))
}

fn audio_port(sdp: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(sdp);
    let line = text.lines().find(|l| l.starts_with("m=audio ")).unwrap();
    line.split(' ').nth(1).unwrap().parse().unwrap()
}

/// Binds every port of `first..=last` that is not in `keep`.
fn occupy(first: u16, last: u16, keep: &[u16]) -> Vec<UdpSocket> {
    (first..=last)
        .filter(|p| !keep.contains(p))
        .map(|p| UdpSocket::bind((LOOPBACK, p)).unwrap())
        .collect()
}

#[test]
fn ports_held_by_another_program_are_never_advertised() {
    let mut media = media(41_000);
    let _held = occupy(41_000, 41_007, &[41_006, 41_007]);
    let out = offer_from_ipbx(&mut media, 1).unwrap();
    assert_eq!(audio_port(&out), 41_006, "the only free pair");
    // Outpost holds the advertised port itself, before the answer comes.
    assert!(UdpSocket::bind((LOOPBACK, 41_006)).is_err());
    media.call_ended(CallRef(1));
    assert_eq!(media.ports_in_use(), (0, 0));
    assert!(
        UdpSocket::bind((LOOPBACK, 41_006)).is_ok(),
        "closed at call end"
    );
}

#[test]
fn no_bindable_pair_gives_503_and_leaks_nothing() {
    let mut media = media(41_200);
    let held = occupy(41_200, 41_207, &[]);
    assert_eq!(offer_from_ipbx(&mut media, 2), Err(StatusCode(503)));
    media.call_ended(CallRef(2));
    assert_eq!(media.ports_in_use(), (0, 0));
    // Once the other program is gone the pool serves calls again.
    drop(held);
    let out = offer_from_ipbx(&mut media, 3).unwrap();
    assert!((41_200..=41_207).contains(&audio_port(&out)));
    media.call_ended(CallRef(3));
    assert_eq!(media.ports_in_use(), (0, 0));
}

#[test]
fn new_policies_apply_to_the_next_offer_and_keep_the_addresses() {
    let mut media = media(41_400);
    // The iPBX may offer plain RTP (srtp-or-rtp)...
    assert!(offer_from_ipbx(&mut media, 4).is_ok());
    media.call_ended(CallRef(4));
    let mut stricter = media.settings();
    stricter.inbound = [InboundPolicy::SrtpOnly, InboundPolicy::SrtpOnly];
    stricter.public.advertised = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    stricter.dscp = (40, 32);
    media.update_policies(&stricter);
    // ...and no longer once the policy says SRTP only.
    assert_eq!(offer_from_ipbx(&mut media, 5), Err(StatusCode(488)));
    media.call_ended(CallRef(5));
    let now = media.settings();
    assert_eq!(now.dscp, (40, 32));
    assert_eq!(
        now.public.advertised, LOOPBACK,
        "addresses are not policies"
    );
    assert_eq!(media.ports_in_use(), (0, 0));
}
