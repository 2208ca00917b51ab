//! The driver with real sockets on loopback: delivery both ways, SRTP,
//! bursts longer than a batch, many sessions over the threads, and closing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use outpost_media::stream::{MediaTimeout, SideConfig, SrtpConfig};
use outpost_media::{
    Component, CryptoSuite, LocalPort, MasterKey, Session, SessionId, Side, SrtpContext,
    SrtpTransform, StreamId,
};

use super::{BATCH, Relay, VISIT, bind};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A peer: a blocking socket with a receive timeout.
fn peer(ip: IpAddr) -> UdpSocket {
    let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket
}

fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut packet = vec![0u8; 12 + 160];
    packet[0] = 0x80;
    packet[2..4].copy_from_slice(&seq.to_be_bytes());
    packet[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    packet[8..12].copy_from_slice(&ssrc.to_be_bytes());
    packet[12..].fill(seq as u8);
    packet
}

fn session(id: u64, public: SideConfig, private: SideConfig) -> (Session, StreamId) {
    let mut session = Session::new(
        SessionId(id),
        Instant::now(),
        MediaTimeout {
            active: None,
            on_hold: None,
        },
    );
    let stream = session.add_stream(public, private).unwrap();
    (session, stream)
}

/// Binds the session's four ports on `ip`; returns the public and private
/// RTP addresses.
fn serve(relay: &Relay, id: u64, stream: StreamId, ip: IpAddr) -> (SocketAddr, SocketAddr) {
    let mut rtp = [None, None];
    for (i, side) in [Side::Public, Side::Private].into_iter().enumerate() {
        for component in [Component::Rtp, Component::Rtcp] {
            let socket = bind(ip, 0, 46).unwrap();
            if component == Component::Rtp {
                rtp[i] = Some(socket.local_addr().unwrap());
            }
            let at = LocalPort {
                side,
                stream,
                component,
            };
            relay.add_socket(SessionId(id), at, socket).unwrap();
        }
    }
    (rtp[0].unwrap(), rtp[1].unwrap())
}

fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (len, from) = socket.recv_from(&mut buf).expect("relayed packet");
    (buf[..len].to_vec(), from)
}

#[test]
fn relays_both_ways_and_counts() {
    let relay = Relay::start(2).unwrap();
    let (phone, pbx) = (peer(LOOPBACK), peer(LOOPBACK));
    let (s, stream) = session(
        7,
        SideConfig::plain(phone.local_addr().unwrap()),
        SideConfig::plain(pbx.local_addr().unwrap()),
    );
    relay.insert(s);
    let (public, private) = serve(&relay, 7, stream, LOOPBACK);
    for seq in 0..5 {
        phone.send_to(&rtp(seq, 1), public).unwrap();
        let (packet, from) = recv(&pbx);
        assert_eq!(packet, rtp(seq, 1));
        assert_eq!(from, private, "leaves by the other side's port");
        pbx.send_to(&rtp(seq, 2), private).unwrap();
        let (packet, from) = recv(&phone);
        assert_eq!(packet, rtp(seq, 2));
        assert_eq!(from, public);
    }
    let stats = relay.session(SessionId(7), |s| s.stats()).unwrap();
    assert_eq!(stats.total(Side::Public).received.packets, 5);
    assert_eq!(stats.total(Side::Private).received.packets, 5);
    assert_eq!(relay.sockets(), 4);
}

#[test]
fn srtp_in_rtp_out() {
    let relay = Relay::start(1).unwrap();
    let (phone, pbx) = (peer(LOOPBACK), peer(LOOPBACK));
    let key = MasterKey::generate([3; 30]);
    let srtp = SrtpConfig {
        suite: CryptoSuite::AesCm128HmacSha1_80,
        recv: key.clone(),
        send: MasterKey::generate([4; 30]),
    };
    let (s, stream) = session(
        1,
        SideConfig::srtp(phone.local_addr().unwrap(), srtp),
        SideConfig::plain(pbx.local_addr().unwrap()),
    );
    relay.insert(s);
    let (public, _) = serve(&relay, 1, stream, LOOPBACK);
    let mut ctx = SrtpContext::new(CryptoSuite::AesCm128HmacSha1_80, &key).unwrap();
    for seq in 0..3 {
        let mut buf = rtp(seq, 9);
        let len = buf.len();
        buf.resize(len + 16, 0);
        let len = ctx.protect_rtp(&mut buf, len).unwrap();
        phone.send_to(&buf[..len], public).unwrap();
        assert_eq!(recv(&pbx).0, rtp(seq, 9), "decrypted on the way");
    }
    // A forged packet is dropped and counted.
    phone.send_to(&rtp(9, 9), public).unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let stats = relay.session(SessionId(1), |s| s.stats()).unwrap();
        if stats.total(Side::Public).received.srtp_auth_failures == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "forged packet not counted");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// More datagrams than one thread visit reads: the socket is revisited
/// until drained, and nothing is lost.
#[test]
fn bursts_longer_than_a_visit() {
    let relay = Relay::start(1).unwrap();
    let (phone, pbx) = (peer(LOOPBACK), peer(LOOPBACK));
    let (s, stream) = session(
        3,
        SideConfig::plain(phone.local_addr().unwrap()),
        SideConfig::plain(pbx.local_addr().unwrap()),
    );
    relay.insert(s);
    let (public, _) = serve(&relay, 3, stream, LOOPBACK);
    // One visit's worth and a few more: enough to need a second visit,
    // few enough (133 × 172 bytes) to fit the default socket buffers, so a
    // busy machine does not drop any before the relay reads them.
    let count = u16::try_from(BATCH * VISIT + 5).unwrap();
    for seq in 0..count {
        phone.send_to(&rtp(seq, 1), public).unwrap();
    }
    for seq in 0..count {
        assert_eq!(recv(&pbx).0, rtp(seq, 1));
    }
}

#[test]
fn many_sessions_over_threads() {
    let relay = Relay::start(3).unwrap();
    let mut calls = Vec::new();
    for id in 0..24 {
        let (phone, pbx) = (peer(LOOPBACK), peer(LOOPBACK));
        let (s, stream) = session(
            id,
            SideConfig::plain(phone.local_addr().unwrap()),
            SideConfig::plain(pbx.local_addr().unwrap()),
        );
        relay.insert(s);
        let (public, _) = serve(&relay, id, stream, LOOPBACK);
        calls.push((phone, pbx, public));
    }
    for (i, (phone, _, public)) in calls.iter().enumerate() {
        phone.send_to(&rtp(1, i as u32), *public).unwrap();
    }
    for (i, (_, pbx, _)) in calls.iter().enumerate() {
        assert_eq!(recv(pbx).0, rtp(1, i as u32));
    }
    assert_eq!(relay.sockets(), 24 * 4);
    for id in 0..24 {
        assert!(relay.remove(SessionId(id)).is_some());
    }
    assert_eq!(relay.sockets(), 0);
}

#[test]
fn ipv6_peer() {
    let Ok(probe) = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)) else {
        eprintln!("no IPv6 loopback: skipped");
        return;
    };
    drop(probe);
    let ip = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let relay = Relay::start(1).unwrap();
    let (phone, pbx) = (peer(ip), peer(ip));
    let (s, stream) = session(
        5,
        SideConfig::plain(phone.local_addr().unwrap()),
        SideConfig::plain(pbx.local_addr().unwrap()),
    );
    relay.insert(s);
    let (public, _) = serve(&relay, 5, stream, ip);
    phone.send_to(&rtp(1, 1), public).unwrap();
    assert_eq!(recv(&pbx).0, rtp(1, 1));
}

/// Removing a session closes its ports at once: they can be bound again
/// before `remove` is even out of scope, and nothing reaches the peer.
#[test]
fn removed_session_closes_its_ports() {
    let relay = Relay::start(2).unwrap();
    let (phone, pbx) = (peer(LOOPBACK), peer(LOOPBACK));
    let (s, stream) = session(
        11,
        SideConfig::plain(phone.local_addr().unwrap()),
        SideConfig::plain(pbx.local_addr().unwrap()),
    );
    relay.insert(s);
    let (public, private) = serve(&relay, 11, stream, LOOPBACK);
    phone.send_to(&rtp(1, 1), public).unwrap();
    assert_eq!(recv(&pbx).0, rtp(1, 1));

    let removed = relay.remove(SessionId(11)).unwrap();
    assert_eq!(removed.stats().total(Side::Public).received.packets, 1);
    assert_eq!(relay.sockets(), 0);
    assert!(relay.session(SessionId(11), |_| ()).is_none());
    let again = UdpSocket::bind(public).expect("public port free again");
    UdpSocket::bind(private).expect("private port free again");
    again
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    phone.send_to(&rtp(2, 1), public).unwrap();
    assert_eq!(recv(&again).0, rtp(2, 1), "the new owner gets the port");
    pbx.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert!(pbx.recv_from(&mut [0u8; 64]).is_err(), "nothing relayed");
}

#[test]
fn bind_marks_dscp() {
    let socket = bind(LOOPBACK, 0, 46).unwrap();
    assert_eq!(socket2::SockRef::from(&socket).tos_v4().unwrap(), 46 << 2);
}

#[test]
fn replaced_socket_is_closed() {
    let relay = Relay::start(1).unwrap();
    let (s, stream) = session(
        2,
        SideConfig::plain(SocketAddr::new(LOOPBACK, 9)),
        SideConfig::plain(SocketAddr::new(LOOPBACK, 9)),
    );
    relay.insert(s);
    let at = LocalPort {
        side: Side::Public,
        stream,
        component: Component::Rtp,
    };
    let first = bind(LOOPBACK, 0, 0).unwrap();
    let addr = first.local_addr().unwrap();
    relay.add_socket(SessionId(2), at, first).unwrap();
    relay
        .add_socket(SessionId(2), at, bind(LOOPBACK, 0, 0).unwrap())
        .unwrap();
    assert_eq!(relay.sockets(), 1);
    UdpSocket::bind(addr).expect("replaced socket closed");
    let err = relay
        .add_socket(SessionId(99), at, bind(LOOPBACK, 0, 0).unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

/// The counters for `/metrics` grow while a call lasts, each packet counted
/// once across harvests, and a removed session's last packets are not lost.
#[test]
fn harvest_counts_live_and_after_removal() {
    let relay = Relay::start(2).unwrap();
    let (phone, pbx) = (peer(LOOPBACK), peer(LOOPBACK));
    let key = MasterKey::generate([5; 30]);
    let srtp = SrtpConfig {
        suite: CryptoSuite::AesCm128HmacSha1_80,
        recv: key.clone(),
        send: MasterKey::generate([6; 30]),
    };
    let (s, stream) = session(
        21,
        SideConfig::srtp(phone.local_addr().unwrap(), srtp),
        SideConfig::plain(pbx.local_addr().unwrap()),
    );
    relay.insert(s);
    let (public, private) = serve(&relay, 21, stream, LOOPBACK);
    let mut ctx = SrtpContext::new(CryptoSuite::AesCm128HmacSha1_80, &key).unwrap();
    let mut send_srtp = |seq: u16| {
        let mut buf = rtp(seq, 9);
        let len = buf.len();
        buf.resize(len + 16, 0);
        let len = ctx.protect_rtp(&mut buf, len).unwrap();
        phone.send_to(&buf[..len], public).unwrap();
        recv(&pbx);
    };
    assert_eq!(relay.harvest(), super::Counts::default());
    for seq in 0..3 {
        send_srtp(seq);
    }
    pbx.send_to(&rtp(0, 2), private).unwrap();
    recv(&phone);
    let first = relay.harvest();
    assert_eq!((first.public_packets, first.private_packets), (3, 1));
    assert_eq!(relay.harvest(), super::Counts::default(), "counted once");

    // Two more packets, a forged one, then the call ends before the next
    // harvest: the harvest after it still has them.
    send_srtp(3);
    send_srtp(4);
    phone.send_to(&rtp(9, 9), public).unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while relay
        .session(SessionId(21), |s| {
            s.stats().total(Side::Public).received.srtp_auth_failures
        })
        .unwrap()
        == 0
    {
        assert!(Instant::now() < deadline, "forged packet not counted");
        std::thread::sleep(Duration::from_millis(5));
    }
    relay.remove(SessionId(21)).unwrap();
    let last = relay.harvest();
    assert_eq!(
        (
            last.public_packets,
            last.private_packets,
            last.srtp_auth_failures
        ),
        (2, 0, 1)
    );
    assert_eq!(relay.harvest(), super::Counts::default());
}
