//! The Outpost side of the relay benchmark: the relay driver `outpost serve`
//! uses, with one session per stream set up directly, in a child process so
//! that its CPU time is the relay's alone.
//!
//! `OUTPOST_RELAY_THREADS` overrides the number of relay threads (default:
//! the one `outpost serve` uses).

use std::error::Error;
use std::net::IpAddr;
use std::time::Instant;

use outpost::media::relay::{self, Relay};
use outpost_media::stream::{MediaTimeout, SideConfig, SrtpConfig};
use outpost_media::{Component, CryptoSuite, LocalPort, Session, SessionId, Side};

use crate::{
    RECEIVER, RELAY, RELAY_PRIVATE, SENDER, addr, key, receiver_port, relay_port, sender_port,
};

/// The relay under test: one session per stream, plain RTP toward the
/// receiver, SRTP or RTP from the sender.
pub(crate) async fn relay_process(streams: u16, srtp: bool) -> Result<(), Box<dyn Error>> {
    let threads = match std::env::var("OUTPOST_RELAY_THREADS") {
        Ok(n) => n.parse()?,
        Err(_) => relay::default_threads(),
    };
    let relay = Relay::start(threads)?;
    for s in 0..streams {
        let id = SessionId(u64::from(s));
        let mut session = Session::new(
            id,
            Instant::now(),
            MediaTimeout {
                active: None,
                on_hold: None,
            },
        );
        let mut public = SideConfig::plain(addr(SENDER, sender_port(s)));
        if srtp {
            public.srtp = Some(SrtpConfig {
                suite: CryptoSuite::AesCm128HmacSha1_80,
                recv: key(s, 1),
                send: key(s, 2),
            });
        }
        let private = SideConfig::plain(addr(RECEIVER, receiver_port(s)));
        let stream = session.add_stream(public, private)?;
        relay.insert(session);
        for side in [Side::Public, Side::Private] {
            // Each side on its own address, as rtpengine's pub and priv.
            let ip = if side == Side::Public {
                RELAY
            } else {
                RELAY_PRIVATE
            };
            for (component, offset) in [(Component::Rtp, 0), (Component::Rtcp, 1)] {
                let port = relay_port(s, side) + offset;
                let at = LocalPort {
                    side,
                    stream,
                    component,
                };
                relay.add_socket(id, at, relay::bind(IpAddr::V4(ip), port, 46)?)?;
            }
        }
    }
    println!("ready");
    // Until the parent closes our stdin.
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await;
    drop(relay);
    Ok(())
}
