//! Reading the media tests' captures: the SRTP keys each side announced
//! (from the TLS-decrypted SDP), every public-side RTP packet opened with
//! them, and the tones each direction carried after a given moment.

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

use outpost_media::{CryptoSuite, MasterKey, SrtpContext, SrtpTransform};
use outpost_testbed::rtp::{Datagram, datagrams_since, is_rtp, pcmu_samples, rtp_payload};
use outpost_testbed::tone::assert_tone_samples;

/// A key announced in an `a=crypto` line, with the suite it was for.
pub(crate) struct AnnouncedKey {
    key: MasterKey,
    suite: CryptoSuite,
    inline: String,
}

/// The keys announced by the phone (SDP sent from `phone_ip`) and by Outpost
/// toward it, each once, in the order they first appeared.
pub(crate) struct AnnouncedKeys {
    pub(crate) phone: Vec<AnnouncedKey>,
    pub(crate) outpost: Vec<AnnouncedKey>,
}

/// Reads the `a=crypto` keys from the SIP over TLS (port 5063) in
/// `capture`, decrypted with `keylog`.
pub(crate) fn announced_keys(capture: &Path, keylog: &Path, phone_ip: IpAddr) -> AnnouncedKeys {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(capture)
        .args(["-n", "-o"])
        .arg(format!("tls.keylog_file:{}", keylog.display()))
        .args(["-d", "tcp.port==5063,tls", "-d", "tls.port==5063,sip"])
        .args(["-Y", "sdp", "-T", "fields", "-E", "separator=/t"])
        .args(["-e", "ip.src", "-e", "sdp.media_attr"])
        .output()
        .unwrap();
    let mut keys = AnnouncedKeys {
        phone: Vec::new(),
        outpost: Vec::new(),
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut fields = line.split('\t');
        let from_phone = fields.next().and_then(|s| s.parse::<IpAddr>().ok()) == Some(phone_ip);
        for attr in fields.next().unwrap_or_default().split(',') {
            let Some(rest) = attr.strip_prefix("crypto:") else {
                continue;
            };
            let parts: Vec<&str> = rest.split_whitespace().collect();
            let (Some(suite), Some(inline)) = (parts.get(1), parts.get(2)) else {
                continue;
            };
            // Re-INVITEs announce the same keys again: keep each once.
            if keys
                .phone
                .iter()
                .chain(keys.outpost.iter())
                .any(|k| k.inline == *inline)
            {
                continue;
            }
            let (Ok(suite), Ok(key)) =
                (suite.parse::<CryptoSuite>(), MasterKey::from_inline(inline))
            else {
                continue;
            };
            let announced = AnnouncedKey {
                key,
                suite,
                inline: (*inline).to_owned(),
            };
            if from_phone {
                keys.phone.push(announced);
            } else {
                keys.outpost.push(announced);
            }
        }
    }
    assert!(
        !keys.phone.is_empty() && !keys.outpost.is_empty(),
        "no SRTP keys read from the decrypted SDP in {}",
        capture.display()
    );
    keys
}

/// One public-side RTP packet, opened with the announced keys.
pub(crate) struct OpenedPacket {
    pub(crate) datagram: Datagram,
    /// Sent by the phone (otherwise by Outpost to the phone).
    pub(crate) from_phone: bool,
    /// How many keys of the sender's own direction authenticate it.
    pub(crate) own_keys: usize,
    /// How many keys of the other direction authenticate it.
    pub(crate) other_keys: usize,
    /// The payload type and decrypted payload, when a key of the sender's
    /// direction authenticated it.
    pub(crate) payload: Option<(u8, Vec<u8>)>,
}

/// Every public RTP packet to or from `phone_ip` in `capture`, in capture
/// order, tried against every announced key. One SRTP context per key
/// reads the packets in order, so rollover counters follow sequence wraps.
pub(crate) fn open_public_rtp(
    capture: &Path,
    keys: &AnnouncedKeys,
    phone_ip: IpAddr,
) -> Vec<OpenedPacket> {
    let contexts = |list: &[AnnouncedKey]| -> Vec<SrtpContext> {
        list.iter()
            .map(|k| SrtpContext::new(k.suite, &k.key).unwrap())
            .collect()
    };
    let mut phone = contexts(&keys.phone);
    let mut outpost = contexts(&keys.outpost);
    let mut opened = Vec::new();
    for datagram in datagrams_since(capture, 0.0).unwrap() {
        if !is_rtp(&datagram.payload) || (datagram.src != phone_ip && datagram.dst != phone_ip) {
            continue;
        }
        let from_phone = datagram.src == phone_ip;
        let (own, other) = if from_phone {
            (&mut phone, &mut outpost)
        } else {
            (&mut outpost, &mut phone)
        };
        let mut payload = None;
        let mut own_keys = 0;
        for ctx in own.iter_mut() {
            if let Some(plain) = open(ctx, &datagram.payload) {
                own_keys += 1;
                payload = rtp_payload(&plain, 0).map(|(pt, p)| (pt, p.to_vec()));
            }
        }
        let other_keys = other
            .iter_mut()
            .filter_map(|ctx| open(ctx, &datagram.payload))
            .count();
        opened.push(OpenedPacket {
            datagram,
            from_phone,
            own_keys,
            other_keys,
            payload,
        });
    }
    opened
}

fn open(ctx: &mut SrtpContext, packet: &[u8]) -> Option<Vec<u8>> {
    let mut buf = packet.to_vec();
    buf.resize(packet.len() + 16, 0);
    let len = ctx.unprotect_rtp(&mut buf, packet.len()).ok()?;
    buf.truncate(len);
    Some(buf)
}

/// PCMU samples of `packets` whose capture time is at or after `since`.
pub(crate) fn pcmu_since<'a>(
    packets: impl Iterator<Item = (f64, Option<(u8, &'a [u8])>)>,
    since: f64,
) -> Vec<f32> {
    packets
        .filter(|(time, _)| *time >= since)
        .filter_map(|(_, payload)| payload)
        .filter(|(pt, _)| *pt == 0)
        .flat_map(|(_, p)| pcmu_samples(p).collect::<Vec<_>>())
        .collect()
}

/// Samples of the four directions after a moment: A→Outpost and Outpost→A
/// (decrypted public side), Outpost→B and B→Outpost (private side).
pub(crate) struct Directions {
    pub(crate) from_a: Vec<f32>,
    pub(crate) to_a: Vec<f32>,
    pub(crate) to_b: Vec<f32>,
    pub(crate) from_b: Vec<f32>,
}

impl Directions {
    /// Reads both (possibly still running) captures.
    pub(crate) fn read(
        public: &Path,
        private: &Path,
        keylog: &Path,
        a_ip: IpAddr,
        b_ip: IpAddr,
        since: f64,
    ) -> Self {
        let keys = announced_keys(public, keylog, a_ip);
        let opened = open_public_rtp(public, &keys, a_ip);
        let side = |from_phone: bool| {
            pcmu_since(
                opened
                    .iter()
                    .filter(|p| p.from_phone == from_phone && p.own_keys > 0)
                    .map(|p| {
                        let payload = p.payload.as_ref().map(|(pt, b)| (*pt, b.as_slice()));
                        (p.datagram.time, payload)
                    }),
                since,
            )
        };
        let lan = datagrams_since(private, since).unwrap();
        let private_side = |toward_b: bool| {
            pcmu_since(
                lan.iter()
                    .filter(|d| {
                        if toward_b {
                            d.dst == b_ip
                        } else {
                            d.src == b_ip
                        }
                    })
                    .map(|d| (d.time, rtp_payload(&d.payload, 0))),
                since,
            )
        };
        Self {
            from_a: side(true),
            to_a: side(false),
            to_b: private_side(true),
            from_b: private_side(false),
        }
    }

    /// The fewest samples any direction has.
    pub(crate) fn least(&self) -> usize {
        [&self.from_a, &self.to_a, &self.to_b, &self.from_b]
            .iter()
            .map(|s| s.len())
            .min()
            .unwrap_or(0)
    }

    /// Each direction carries its sender's tone: A's `a_hz` from A and
    /// toward B, B's `b_hz` from B and toward A.
    pub(crate) fn assert_tones(&self, source: &Path, a_hz: f64, b_hz: f64) {
        for (what, samples, hz) in [
            ("A → Outpost (public, decrypted)", &self.from_a, a_hz),
            ("Outpost → B (private)", &self.to_b, a_hz),
            ("B → Outpost (private)", &self.from_b, b_hz),
            ("Outpost → A (public, decrypted)", &self.to_a, b_hz),
        ] {
            let found = assert_tone_samples(source, samples, 8000, hz, 15.0)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            println!("{what}: {found:?}");
        }
    }
}
