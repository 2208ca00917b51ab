//! RTP read back from a capture: the datagrams after a given moment, the
//! payload of an RTP packet, and G.711 µ-law decoded to samples, so a test
//! can tell which tone crossed a wire (and when) without trusting a phone's
//! own recording.

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

use crate::{Result, TestbedError, require_tools};

/// One UDP datagram read from a capture.
#[derive(Clone, Debug)]
pub struct Datagram {
    /// Capture time, seconds since the Unix epoch.
    pub time: f64,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// UDP payload.
    pub payload: Vec<u8>,
}

/// The non-SIP UDP datagrams of `file` captured at or after `since`
/// (seconds since the epoch). The file may still be written by a running
/// capture: what tshark can read of it is returned.
pub fn datagrams_since(file: &Path, since: f64) -> Result<Vec<Datagram>> {
    require_tools(&["tshark"], "reading captures")?;
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-n", "-Y"])
        .arg(format!("udp && !sip && frame.time_epoch >= {since:.6}"))
        .args(["-T", "fields", "-E", "separator=/t"])
        .args(["-e", "frame.time_epoch", "-e", "ip.src", "-e", "ip.dst"])
        .args(["-e", "udp.payload"])
        .output()
        .map_err(|e| TestbedError::Config(format!("tshark -r {}: {e}", file.display())))?;
    // A capture still being written ends in a cut-short packet, which makes
    // tshark exit non-zero after printing everything before it.
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().filter_map(parse_line).collect())
}

fn parse_line(line: &str) -> Option<Datagram> {
    let mut fields = line.split('\t');
    let time = fields.next()?.parse().ok()?;
    let src = fields.next()?.parse().ok()?;
    let dst = fields.next()?.parse().ok()?;
    let hex = fields.next()?.replace(':', "");
    let payload = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(Datagram {
        time,
        src,
        dst,
        payload,
    })
}

/// Whether `packet` looks like RTP (version 2, payload type outside the
/// RTCP range 64..=95, a full fixed header).
pub fn is_rtp(packet: &[u8]) -> bool {
    packet.len() >= 12 && packet[0] >> 6 == 2 && !(64..=95).contains(&(packet[1] & 0x7f))
}

/// The payload type and payload of an RTP packet of `len` bytes whose last
/// `trailer` bytes are not payload (an SRTP authentication tag), skipping
/// CSRCs, a header extension and padding.
pub fn rtp_payload(packet: &[u8], trailer: usize) -> Option<(u8, &[u8])> {
    if !is_rtp(packet) {
        return None;
    }
    let end = packet.len().checked_sub(trailer)?;
    let csrcs = usize::from(packet[0] & 0x0f);
    let mut start = 12 + 4 * csrcs;
    if packet[0] & 0x10 != 0 {
        let words = packet.get(start + 2..start + 4)?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    let mut stop = end;
    if packet[0] & 0x20 != 0 {
        stop = stop.checked_sub(usize::from(*packet.get(end.checked_sub(1)?)?))?;
    }
    Some((packet[1] & 0x7f, packet.get(start..stop)?))
}

/// G.711 µ-law (PCMU) bytes decoded to samples in −1..1.
pub fn pcmu_samples(payload: &[u8]) -> impl Iterator<Item = f32> + '_ {
    payload.iter().map(|&byte| {
        let b = !byte;
        let exponent = (b >> 4) & 0x07;
        let mantissa = i32::from(b & 0x0f);
        let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
        let value = if b & 0x80 != 0 { -magnitude } else { magnitude };
        value as f32 / 32768.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::goertzel_power;

    #[test]
    fn pcmu_decodes_the_g711_reference_points() {
        // 0xff and 0x7f are the two zeros; 0x00 and 0x80 the extremes.
        let decoded: Vec<f32> = pcmu_samples(&[0xff, 0x7f, 0x00, 0x80]).collect();
        assert_eq!(decoded[0], 0.0);
        assert_eq!(decoded[1], 0.0);
        assert_eq!(decoded[2], -32124.0 / 32768.0);
        assert_eq!(decoded[3], 32124.0 / 32768.0);
    }

    /// µ-law encoding of one sample (the G.711 reference algorithm).
    fn pcmu_encode(sample: i16) -> u8 {
        let sign = if sample < 0 { 0x80 } else { 0 };
        let magnitude = (i32::from(sample).abs().min(32635) + 0x84) as u32;
        let exponent = (31 - magnitude.leading_zeros()).saturating_sub(7).min(7);
        let mantissa = (magnitude >> (exponent + 3)) & 0x0f;
        !(sign | (exponent << 4) as u8 | mantissa as u8)
    }

    #[test]
    fn a_tone_survives_pcmu_round_trip_and_rtp_framing() {
        let tone: Vec<u8> = (0..800)
            .map(|n| {
                let x = (2.0 * std::f64::consts::PI * 1000.0 * f64::from(n) / 8000.0).sin();
                pcmu_encode((x * 16000.0) as i16)
            })
            .collect();
        // RTP header with one CSRC, an extension of one word, 4 bytes of
        // padding and a 10-byte trailer (an SRTP tag).
        let mut packet = vec![0xb1, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        packet.extend_from_slice(&[0, 0, 0, 9]);
        packet.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4]);
        packet.extend_from_slice(&tone);
        packet.extend_from_slice(&[0, 0, 0, 4]);
        packet.extend_from_slice(&[0xaa; 10]);
        let (pt, payload) = rtp_payload(&packet, 10).unwrap();
        assert_eq!(pt, 0);
        assert_eq!(payload, &tone[..]);
        let samples: Vec<f32> = pcmu_samples(payload).collect();
        let at_1000 = goertzel_power(&samples, 8000, 1000.0);
        let at_700 = goertzel_power(&samples, 8000, 700.0);
        assert!(at_1000 > 100.0 * at_700, "{at_1000} vs {at_700}");
    }

    #[test]
    fn rtcp_and_short_packets_are_not_rtp() {
        assert!(!is_rtp(&[0x80, 200, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]));
        assert!(!is_rtp(&[0x80, 0, 0]));
        assert!(rtp_payload(&[0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], 10).is_none());
    }
}
