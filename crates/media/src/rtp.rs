//! Just enough RTP/RTCP header reading for the transforms and statistics:
//! header length, the fields a relay needs, rtcp-mux demultiplexing, and
//! RTCP reception-report blocks. Everything reads from `&[u8]` in place and
//! fails with an [`Error`] rather than panicking.

use crate::Error;

/// Length of the fixed RTP header (RFC 3550 §5.1).
pub const RTP_HEADER_LEN: usize = 12;
/// Length of the RTCP header plus sender SSRC, which SRTCP leaves in clear.
pub const RTCP_HEADER_LEN: usize = 8;

/// What a datagram on a media port is, by its first two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// RTP (version 2, payload type outside 64–95).
    Rtp,
    /// RTCP (version 2, packet type 192–223, i.e. "payload type" 64–95:
    /// RFC 5761 §4).
    Rtcp,
    /// STUN (first byte 0–3, RFC 7983 §7).
    Stun,
    /// DTLS (first byte 20–63, RFC 7983 §7).
    Dtls,
    /// Anything else.
    Unknown,
}

/// Classifies a datagram received on a media port (RFC 7983 §7 first-byte
/// ranges, then RFC 5761 §4 for RTP vs RTCP on an rtcp-mux port).
#[must_use]
pub fn classify(packet: &[u8]) -> PacketKind {
    let (Some(&b0), Some(&b1)) = (packet.first(), packet.get(1)) else {
        return PacketKind::Unknown;
    };
    match b0 {
        0..=3 => PacketKind::Stun,
        20..=63 => PacketKind::Dtls,
        128..=191 if (64..=95).contains(&(b1 & 0x7f)) => PacketKind::Rtcp,
        128..=191 => PacketKind::Rtp,
        _ => PacketKind::Unknown,
    }
}

/// The fields of an RTP header a relay uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Marker bit.
    pub marker: bool,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Header length including CSRCs and the extension, i.e. where the
    /// payload starts.
    pub len: usize,
}

impl RtpHeader {
    /// Reads the header of an RTP packet (RFC 3550 §5.1, §5.3.1).
    ///
    /// # Errors
    /// [`Error::TooShort`] if the packet ends inside the header,
    /// [`Error::Malformed`] if the version is not 2.
    pub fn parse(packet: &[u8]) -> Result<Self, Error> {
        let fixed: &[u8; RTP_HEADER_LEN] = packet
            .get(..RTP_HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(Error::TooShort)?;
        if fixed[0] >> 6 != 2 {
            return Err(Error::Malformed);
        }
        let mut len = RTP_HEADER_LEN + 4 * usize::from(fixed[0] & 0x0f);
        if fixed[0] & 0x10 != 0 {
            let ext = packet.get(len..len + 4).ok_or(Error::TooShort)?;
            len += 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        }
        if len > packet.len() {
            return Err(Error::TooShort);
        }
        Ok(Self {
            payload_type: fixed[1] & 0x7f,
            marker: fixed[1] & 0x80 != 0,
            sequence: u16::from_be_bytes([fixed[2], fixed[3]]),
            timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
            len,
        })
    }
}

/// The sender SSRC of an RTCP packet (bytes 4..8), after checking the
/// version.
///
/// # Errors
/// [`Error::TooShort`] below 8 bytes, [`Error::Malformed`] if not version 2.
pub fn rtcp_sender_ssrc(packet: &[u8]) -> Result<u32, Error> {
    let head: &[u8; RTCP_HEADER_LEN] = packet
        .get(..RTCP_HEADER_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(Error::TooShort)?;
    if head[0] >> 6 != 2 {
        return Err(Error::Malformed);
    }
    Ok(u32::from_be_bytes([head[4], head[5], head[6], head[7]]))
}

/// Whether `packet` is a whole plain (unprotected) compound RTCP packet:
/// a chain of version-2 headers with RTCP packet types (192–223, as
/// [`classify`]) whose lengths add up to exactly the datagram.
///
/// No SRTCP packet of the supported suites has that shape: RTCP packets
/// are multiples of 4 bytes (RFC 3550 §6.4.1) and SRTCP adds 4 + 10 bytes
/// (RFC 3711 §3.4, no MKI), so an SRTCP datagram is 2 bytes past a
/// multiple of 4. A receiver can therefore tell RTCP a peer sent in clear
/// (baresip's NAT-opening APP packet before it has keys, and its BYE after
/// it dropped them) from a failed authentication without trying a key.
#[must_use]
pub fn is_plain_rtcp(packet: &[u8]) -> bool {
    if packet.is_empty() || packet.len() % 4 != 0 {
        return false;
    }
    let mut rest = packet;
    while let [b0, pt, l0, l1, ..] = *rest {
        if b0 >> 6 != 2 || !(192..=223).contains(&pt) {
            return false;
        }
        let len = (usize::from(u16::from_be_bytes([l0, l1])) + 1) * 4;
        match rest.get(len..) {
            Some(next) => rest = next,
            None => return false,
        }
    }
    rest.is_empty()
}

/// One RTCP reception-report block (RFC 3550 §6.4.1): what a receiver says
/// about the stream it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceptionReport {
    /// The SSRC the report is about.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_sequence: u32,
    /// Interarrival jitter, in timestamp units.
    pub jitter: u32,
}

/// The first reception-report block of the first SR or RR in a (plain)
/// compound RTCP packet, if any. Stops quietly at anything malformed.
#[must_use]
pub fn first_reception_report(mut packet: &[u8]) -> Option<ReceptionReport> {
    while packet.len() >= 4 {
        if packet[0] >> 6 != 2 {
            return None;
        }
        let count = usize::from(packet[0] & 0x1f);
        let words = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
        let len = (words + 1) * 4;
        let this = packet.get(..len)?;
        let blocks_at = match packet[1] {
            200 => 28, // SR: header, SSRC, 20-byte sender info
            201 => 8,  // RR: header, SSRC
            _ => {
                packet = &packet[len..];
                continue;
            }
        };
        if count == 0 {
            return None;
        }
        let b = this.get(blocks_at..blocks_at + 24)?;
        let lost = i32::from_be_bytes([b[5], b[6], b[7], 0]) >> 8;
        return Some(ReceptionReport {
            ssrc: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            fraction_lost: b[4],
            cumulative_lost: lost,
            highest_sequence: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            jitter: u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_by_first_bytes() {
        assert_eq!(classify(&[0x80, 0x00]), PacketKind::Rtp);
        assert_eq!(classify(&[0x80, 0x80 | 63]), PacketKind::Rtp);
        assert_eq!(
            classify(&[0x80, 0x80 | 95]),
            PacketKind::Rtcp,
            "RFC 5761 §4: PT 64–95 is RTCP"
        );
        assert_eq!(classify(&[0x81, 200]), PacketKind::Rtcp);
        assert_eq!(classify(&[0x80, 201]), PacketKind::Rtcp);
        assert_eq!(classify(&[0x80, 223]), PacketKind::Rtcp);
        assert_eq!(classify(&[0x80, 224]), PacketKind::Rtp);
        assert_eq!(classify(&[0x00, 0x01]), PacketKind::Stun);
        assert_eq!(classify(&[22, 0xfe]), PacketKind::Dtls);
        assert_eq!(classify(&[0x80]), PacketKind::Unknown);
        assert_eq!(classify(&[0x40, 0]), PacketKind::Unknown);
    }

    #[test]
    fn header_with_csrc_and_extension() {
        let mut p = vec![0x92, 0x80 | 8, 0x12, 0x34, 0, 0, 0, 160, 1, 2, 3, 4];
        p.extend_from_slice(&[9; 8]); // two CSRCs
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4]); // extension, 1 word
        p.extend_from_slice(&[0xd5; 20]);
        let h = RtpHeader::parse(&p).unwrap();
        assert_eq!(h.len, 12 + 8 + 8);
        assert_eq!((h.payload_type, h.marker, h.sequence), (8, true, 0x1234));
        assert_eq!((h.timestamp, h.ssrc), (160, 0x0102_0304));
        assert_eq!(RtpHeader::parse(&p[..25]), Err(Error::TooShort));
        assert_eq!(RtpHeader::parse(&p[..22]), Err(Error::TooShort));
        p[0] = 0x40;
        assert_eq!(RtpHeader::parse(&p), Err(Error::Malformed));
    }

    #[test]
    fn plain_rtcp_is_a_whole_compound() {
        // baresip's NAT-opening APP "PING"/"PONG", and its BYE + SDES at
        // hang-up, both as captured.
        let app = [
            0x80, 0xcc, 0, 3, 0x8f, 0x11, 0x3f, 0x46, b'P', b'I', b'N', b'G', b'P', b'O', b'N',
            b'G',
        ];
        assert!(is_plain_rtcp(&app));
        let mut bye = vec![
            0x81, 0xcb, 0, 3, 1, 2, 3, 4, 4, b'A', b'd', b'j', b'o', 0, 0, 0,
        ];
        bye.extend_from_slice(&[0x81, 0xca, 0, 2, 1, 2, 3, 4, 1, 2, b'x', b'y']);
        assert!(is_plain_rtcp(&bye));
        // One byte more or less, a length past the end, a non-RTCP type,
        // another version: not a whole compound.
        assert!(!is_plain_rtcp(&bye[..bye.len() - 4]));
        assert!(!is_plain_rtcp(&[&app[..], &[0, 0, 0, 0]].concat()));
        assert!(!is_plain_rtcp(&app[..15]));
        assert!(!is_plain_rtcp(&[0x80, 0xc8, 0, 4, 0, 0, 0, 0]));
        assert!(!is_plain_rtcp(&[0x80, 0x00, 0, 1, 0, 0, 0, 0]));
        assert!(!is_plain_rtcp(&[0x40, 0xc9, 0, 1, 0, 0, 0, 0]));
        assert!(!is_plain_rtcp(&[]));
        // SRTCP of the same APP packet (E flag, index 1, 80-bit tag).
        let mut srtcp = app.to_vec();
        srtcp.extend_from_slice(&[0x80, 0, 0, 1]);
        srtcp.extend_from_slice(&[0xaa; 10]);
        assert!(!is_plain_rtcp(&srtcp));
        // The same with libre's 32-bit SRTCP tag (a multiple of 4): the
        // E flag and index do not read as an RTCP header.
        srtcp.truncate(app.len() + 4 + 4);
        assert!(!is_plain_rtcp(&srtcp));
    }

    #[test]
    fn reception_report_from_rr_after_sdes() {
        // SDES first (skipped), then an RR with one block.
        let mut p = vec![0x81, 202, 0, 1, 0, 0, 0, 7];
        p.extend_from_slice(&[0x81, 201, 0, 7, 0, 0, 0, 7]);
        p.extend_from_slice(&[0xca, 0xfe, 0xba, 0xbe, 25, 0xff, 0xff, 0xfe]);
        p.extend_from_slice(&[0, 1, 0, 10, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0]);
        let r = first_reception_report(&p).unwrap();
        assert_eq!(r.ssrc, 0xcafe_babe);
        assert_eq!(r.fraction_lost, 25);
        assert_eq!(r.cumulative_lost, -2);
        assert_eq!(r.highest_sequence, 0x1_000a);
        assert_eq!(r.jitter, 42);
        assert_eq!(first_reception_report(&p[..20]), None);
    }
}
