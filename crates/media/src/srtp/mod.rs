//! SRTP and SRTCP (RFC 3711) for the AES_CM_128_HMAC_SHA1_80/_32 suites
//! (RFC 4568 §6.2.1), in place: AES-CM on aws-lc-rs, HMAC-SHA1 on
//! RustCrypto `hmac` + `sha1` (see the crate docs for why).
//!
//! One [`SrtpContext`] holds the session keys derived from one master key
//! and the per-SSRC state of both uses of that key: the packets it protects
//! (sender ROC, SRTCP index) and the packets it unprotects (receiver ROC,
//! replay windows). A relay gives each side two contexts: one keyed with
//! the peer's key (unprotect) and one with its own (protect).

mod key;
mod replay;
#[cfg(test)]
mod tests;

pub use key::{MASTER_KEY_LEN, MASTER_LEN, MASTER_SALT_LEN, MasterKey};
pub use replay::REPLAY_WINDOW;

use hmac::Mac;

use crate::Error;
use crate::rtp::{RTCP_HEADER_LEN, RtpHeader, rtcp_sender_ssrc};
use key::{HmacSha1, Kdf, Label, SessionKeys, aes_cm, packet_iv};
use replay::ReplayWindow;

/// The most SSRCs one context tracks per use (RTP send, RTP receive, RTCP
/// send, RTCP receive). A call has one or two; the bound keeps memory fixed
/// whatever an authenticated peer does.
pub const MAX_SSRCS: usize = 16;
/// SRTCP authentication tag length: 80 bits for both suites (RFC 4568
/// §6.2.1: the _32 suite shortens only the SRTP tag).
pub const SRTCP_TAG_LEN: usize = 10;
/// Bytes SRTCP adds: E flag + 31-bit index, then the tag.
pub const SRTCP_OVERHEAD: usize = 4 + SRTCP_TAG_LEN;
/// The most bytes any protect call adds; keep this much spare room in
/// receive buffers.
pub const MAX_OVERHEAD: usize = SRTCP_OVERHEAD;
/// The largest SRTCP index (31 bits).
const SRTCP_INDEX_MAX: u32 = 0x7fff_ffff;

/// An SDES crypto suite (RFC 4568 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CryptoSuite {
    /// `AES_CM_128_HMAC_SHA1_80`: AES-128 counter mode, 80-bit HMAC-SHA1 tag.
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32`: as above with a 32-bit SRTP tag (SRTCP
    /// keeps 80 bits).
    AesCm128HmacSha1_32,
}

impl CryptoSuite {
    /// The RFC 4568 name, as in `a=crypto`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite with this RFC 4568 name (case-sensitive, as the grammar).
    ///
    /// # Errors
    /// [`Error::UnknownSuite`] for any other name.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "AES_CM_128_HMAC_SHA1_80" => Ok(Self::AesCm128HmacSha1_80),
            "AES_CM_128_HMAC_SHA1_32" => Ok(Self::AesCm128HmacSha1_32),
            _ => Err(Error::UnknownSuite),
        }
    }

    /// SRTP authentication tag length in bytes.
    #[must_use]
    pub const fn rtp_tag_len(self) -> usize {
        match self {
            Self::AesCm128HmacSha1_80 => 10,
            Self::AesCm128HmacSha1_32 => 4,
        }
    }
}

impl std::fmt::Display for CryptoSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for CryptoSuite {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_name(s)
    }
}

/// Protects and unprotects RTP and RTCP packets in place.
///
/// Each method takes the whole buffer and the packet's length in it, and
/// returns the new length. Protect needs spare room after the packet (up to
/// [`MAX_OVERHEAD`] bytes); nothing allocates per packet. The `_vec`
/// helpers do the same on a `Vec<u8>` (allocating only if its capacity is
/// short).
pub trait SrtpTransform {
    /// RTP → SRTP: encrypts the payload, appends the tag (RFC 3711 §3.3).
    ///
    /// # Errors
    /// [`Error::TooShort`]/[`Error::Malformed`] for a bad header,
    /// [`Error::BufferTooSmall`] without room for the tag,
    /// [`Error::Replayed`] if this SSRC's index was already protected or is
    /// older than the window, [`Error::TooManySsrcs`],
    /// [`Error::IndexExhausted`].
    fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error>;

    /// SRTP → RTP: checks replay and tag, decrypts, strips the tag
    /// (RFC 3711 §3.3). On error the buffer's packet bytes are unchanged.
    ///
    /// # Errors
    /// [`Error::AuthFailed`], [`Error::Replayed`], [`Error::TooShort`],
    /// [`Error::Malformed`], [`Error::TooManySsrcs`].
    fn unprotect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error>;

    /// RTCP → SRTCP: encrypts after the first 8 bytes, appends E flag,
    /// SRTCP index and an 80-bit tag (RFC 3711 §3.4).
    ///
    /// # Errors
    /// As [`Self::protect_rtp`].
    fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error>;

    /// SRTCP → RTCP (RFC 3711 §3.4); also accepts E = 0 (authenticated,
    /// unencrypted) packets. On error the packet bytes are unchanged.
    ///
    /// # Errors
    /// As [`Self::unprotect_rtp`].
    fn unprotect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error>;

    /// [`Self::protect_rtp`] on a `Vec`.
    ///
    /// # Errors
    /// As [`Self::protect_rtp`]; the vector is unchanged on error.
    fn protect_rtp_vec(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        with_vec(packet, |buf, len| self.protect_rtp(buf, len))
    }

    /// [`Self::unprotect_rtp`] on a `Vec`.
    ///
    /// # Errors
    /// As [`Self::unprotect_rtp`]; the vector is unchanged on error.
    fn unprotect_rtp_vec(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        with_vec(packet, |buf, len| self.unprotect_rtp(buf, len))
    }

    /// [`Self::protect_rtcp`] on a `Vec`.
    ///
    /// # Errors
    /// As [`Self::protect_rtcp`]; the vector is unchanged on error.
    fn protect_rtcp_vec(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        with_vec(packet, |buf, len| self.protect_rtcp(buf, len))
    }

    /// [`Self::unprotect_rtcp`] on a `Vec`.
    ///
    /// # Errors
    /// As [`Self::unprotect_rtcp`]; the vector is unchanged on error.
    fn unprotect_rtcp_vec(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        with_vec(packet, |buf, len| self.unprotect_rtcp(buf, len))
    }
}

fn with_vec(
    packet: &mut Vec<u8>,
    f: impl FnOnce(&mut [u8], usize) -> Result<usize, Error>,
) -> Result<(), Error> {
    let len = packet.len();
    packet.resize(len + MAX_OVERHEAD, 0);
    match f(packet, len) {
        Ok(n) => {
            packet.truncate(n);
            Ok(())
        }
        Err(e) => {
            packet.truncate(len);
            Err(e)
        }
    }
}

/// Per-SSRC state, in a small vector: a call has one or two SSRCs per
/// direction, where a linear scan beats hashing.
struct SsrcTable<T> {
    entries: Vec<(u32, T)>,
}

impl<T> SsrcTable<T> {
    const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    fn position(&self, ssrc: u32) -> Option<usize> {
        self.entries.iter().position(|(s, _)| *s == ssrc)
    }

    /// The entry's position, or an error if a new one would not fit.
    fn slot(&self, ssrc: u32) -> Result<Option<usize>, Error> {
        match self.position(ssrc) {
            Some(i) => Ok(Some(i)),
            None if self.entries.len() >= MAX_SSRCS => Err(Error::TooManySsrcs),
            None => Ok(None),
        }
    }

    fn put(&mut self, slot: Option<usize>, ssrc: u32, value: T) {
        match slot.and_then(|i| self.entries.get_mut(i)) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((ssrc, value)),
        }
    }

    fn get(&self, slot: Option<usize>) -> Option<&T> {
        slot.and_then(|i| self.entries.get(i)).map(|(_, v)| v)
    }
}

/// An SRTP/SRTCP crypto context for one master key: session keys for RTP
/// and RTCP (RFC 3711 §4.3, key derivation rate 0) and per-SSRC state.
///
/// The receive state follows RFC 3711 §3.3.1: a new SSRC starts with ROC 0
/// at its first authenticated packet. The send state estimates the index of
/// each outgoing packet the same way, so a relay that re-protects reordered
/// packets keeps the right ROC across a sequence wrap, and it refuses to
/// encrypt one index twice (keystream reuse).
pub struct SrtpContext {
    suite: CryptoSuite,
    rtp: SessionKeys,
    rtcp: SessionKeys,
    rtp_send: SsrcTable<ReplayWindow>,
    rtp_recv: SsrcTable<ReplayWindow>,
    rtcp_send: SsrcTable<u32>,
    rtcp_recv: SsrcTable<ReplayWindow>,
}

impl std::fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpContext")
            .field("suite", &self.suite)
            .field("rtp_send_ssrcs", &self.rtp_send.entries.len())
            .field("rtp_recv_ssrcs", &self.rtp_recv.entries.len())
            .finish_non_exhaustive()
    }
}

impl SrtpContext {
    /// Derives the session keys for `suite` from `master`.
    ///
    /// # Errors
    /// [`Error::Crypto`] if the library refuses a key (not expected).
    pub fn new(suite: CryptoSuite, master: &MasterKey) -> Result<Self, Error> {
        let kdf = Kdf::new(master)?;
        Ok(Self {
            suite,
            rtp: SessionKeys::derive(&kdf, [Label::RtpCipher, Label::RtpAuth, Label::RtpSalt])?,
            rtcp: SessionKeys::derive(&kdf, [Label::RtcpCipher, Label::RtcpAuth, Label::RtcpSalt])?,
            rtp_send: SsrcTable::new(),
            rtp_recv: SsrcTable::new(),
            rtcp_send: SsrcTable::new(),
            rtcp_recv: SsrcTable::new(),
        })
    }

    /// The suite.
    #[must_use]
    pub const fn suite(&self) -> CryptoSuite {
        self.suite
    }

    /// The receive-side rollover counter of `ssrc`, if it has been seen.
    #[must_use]
    pub fn recv_roc(&self, ssrc: u32) -> Option<u32> {
        self.rtp_recv
            .get(self.rtp_recv.position(ssrc))
            .map(ReplayWindow::roc)
    }

    /// The send-side rollover counter of `ssrc`, if it has been seen.
    #[must_use]
    pub fn send_roc(&self, ssrc: u32) -> Option<u32> {
        self.rtp_send
            .get(self.rtp_send.position(ssrc))
            .map(ReplayWindow::roc)
    }

    /// Whether `packet`, which failed [`SrtpTransform::unprotect_rtcp`]
    /// authentication, is SRTCP protected with this key but carrying the
    /// suite's 32-bit SRTP tag where RFC 4568 §6.2.2 requires an 80-bit
    /// SRTCP tag: what libre (baresip) sends with
    /// `AES_CM_128_HMAC_SHA1_32`. Always false for the _80 suite.
    ///
    /// Such a packet is authentic but not conformant: the caller drops it
    /// (it is never unprotected or relayed) and need not count it as an
    /// authentication failure. Landing here takes a valid 32-bit tag, so a
    /// forger's attempts still fail both checks and are counted.
    #[must_use]
    pub fn authenticates_short_srtcp(&self, packet: &[u8]) -> bool {
        if self.suite != CryptoSuite::AesCm128HmacSha1_32 {
            return false;
        }
        let tag_len = self.suite.rtp_tag_len();
        let Some(auth_len) = packet
            .len()
            .checked_sub(tag_len)
            .filter(|&n| n >= RTCP_HEADER_LEN + 4)
        else {
            return false;
        };
        let (authenticated, tag) = packet.split_at(auth_len);
        tag_matches(&hmac_sha1(&self.rtcp.auth, authenticated, None), tag)
    }

    /// The SSRCs whose SRTP packets this context has authenticated.
    pub fn recv_ssrcs(&self) -> impl Iterator<Item = u32> + '_ {
        self.rtp_recv.entries.iter().map(|(s, _)| *s)
    }
}

/// HMAC-SHA1 over `data` || `roc` (RFC 3711 §4.2.1; SRTCP passes no ROC),
/// full 20 bytes.
fn hmac_sha1(key: &HmacSha1, data: &[u8], roc: Option<u32>) -> [u8; 20] {
    let mut mac = key.clone();
    mac.update(data);
    if let Some(roc) = roc {
        mac.update(&roc.to_be_bytes());
    }
    mac.finalize().into_bytes().into()
}

/// Constant-time tag comparison.
fn tag_matches(computed: &[u8; 20], received: &[u8]) -> bool {
    computed
        .get(..received.len())
        .is_some_and(|c| aws_lc_rs::constant_time::verify_slices_are_equal(c, received).is_ok())
}

fn packet(buf: &mut [u8], len: usize) -> Result<&mut [u8], Error> {
    buf.get_mut(..len).ok_or(Error::BufferTooSmall)
}

impl SrtpTransform for SrtpContext {
    fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let tag_len = self.suite.rtp_tag_len();
        let header = RtpHeader::parse(packet(buf, len)?)?;
        let out_len = len + tag_len;
        if buf.len() < out_len {
            return Err(Error::BufferTooSmall);
        }
        let slot = self.rtp_send.slot(header.ssrc)?;
        let mut window = self
            .rtp_send
            .get(slot)
            .copied()
            .unwrap_or(ReplayWindow::new(u64::from(header.sequence)));
        let index = window.estimate(header.sequence)?;
        window.check(index)?;
        let iv = packet_iv(&self.rtp.salt, header.ssrc, index);
        aes_cm(&self.rtp.cipher, iv, &mut buf[header.len..len])?;
        let roc = (index >> 16) as u32;
        let tag = hmac_sha1(&self.rtp.auth, &buf[..len], Some(roc));
        buf[len..out_len].copy_from_slice(&tag[..tag_len]);
        window.accept(index);
        self.rtp_send.put(slot, header.ssrc, window);
        Ok(out_len)
    }

    fn unprotect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let tag_len = self.suite.rtp_tag_len();
        let packet = packet(buf, len)?;
        let auth_len = len.checked_sub(tag_len).ok_or(Error::TooShort)?;
        let (authenticated, tag) = packet.split_at_mut(auth_len);
        let header = RtpHeader::parse(authenticated)?;
        let slot = self.rtp_recv.slot(header.ssrc)?;
        let mut window = self
            .rtp_recv
            .get(slot)
            .copied()
            .unwrap_or(ReplayWindow::new(u64::from(header.sequence)));
        let index = window.estimate(header.sequence)?;
        window.check(index)?;
        let roc = (index >> 16) as u32;
        let computed = hmac_sha1(&self.rtp.auth, authenticated, Some(roc));
        if !tag_matches(&computed, tag) {
            return Err(Error::AuthFailed);
        }
        let iv = packet_iv(&self.rtp.salt, header.ssrc, index);
        aes_cm(&self.rtp.cipher, iv, &mut authenticated[header.len..])?;
        window.accept(index);
        self.rtp_recv.put(slot, header.ssrc, window);
        Ok(auth_len)
    }

    fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let ssrc = rtcp_sender_ssrc(packet(buf, len)?)?;
        let out_len = len + SRTCP_OVERHEAD;
        if buf.len() < out_len {
            return Err(Error::BufferTooSmall);
        }
        let slot = self.rtcp_send.slot(ssrc)?;
        let index = self.rtcp_send.get(slot).copied().unwrap_or(0);
        if index > SRTCP_INDEX_MAX {
            return Err(Error::IndexExhausted);
        }
        let iv = packet_iv(&self.rtcp.salt, ssrc, u64::from(index));
        aes_cm(&self.rtcp.cipher, iv, &mut buf[RTCP_HEADER_LEN..len])?;
        buf[len..len + 4].copy_from_slice(&(0x8000_0000 | index).to_be_bytes());
        let tag = hmac_sha1(&self.rtcp.auth, &buf[..len + 4], None);
        buf[len + 4..out_len].copy_from_slice(&tag[..SRTCP_TAG_LEN]);
        self.rtcp_send.put(slot, ssrc, index + 1);
        Ok(out_len)
    }

    fn unprotect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let packet = packet(buf, len)?;
        let plain_len = len
            .checked_sub(SRTCP_OVERHEAD)
            .filter(|&n| n >= RTCP_HEADER_LEN)
            .ok_or(Error::TooShort)?;
        let ssrc = rtcp_sender_ssrc(packet)?;
        let (authenticated, tag) = packet.split_at_mut(len - SRTCP_TAG_LEN);
        let e_index = u32::from_be_bytes([
            authenticated[plain_len],
            authenticated[plain_len + 1],
            authenticated[plain_len + 2],
            authenticated[plain_len + 3],
        ]);
        let index = u64::from(e_index & SRTCP_INDEX_MAX);
        let slot = self.rtcp_recv.slot(ssrc)?;
        let mut window = self
            .rtcp_recv
            .get(slot)
            .copied()
            .unwrap_or(ReplayWindow::new(index));
        window.check(index)?;
        let computed = hmac_sha1(&self.rtcp.auth, authenticated, None);
        if !tag_matches(&computed, tag) {
            return Err(Error::AuthFailed);
        }
        if e_index & 0x8000_0000 != 0 {
            let iv = packet_iv(&self.rtcp.salt, ssrc, index);
            aes_cm(
                &self.rtcp.cipher,
                iv,
                &mut authenticated[RTCP_HEADER_LEN..plain_len],
            )?;
        }
        window.accept(index);
        self.rtcp_recv.put(slot, ssrc, window);
        Ok(plain_len)
    }
}
