//! Master keys, their SDES `inline:` form (RFC 4568 §6.1), and the RFC 3711
//! §4.3 key derivation into session keys.

use aws_lc_rs::cipher::{AES_128, EncryptingKey, EncryptionContext, UnboundCipherKey};
use aws_lc_rs::iv::FixedLength;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::Mac;

use crate::Error;

/// Length of an AES-128 master key.
pub const MASTER_KEY_LEN: usize = 16;
/// Length of an SRTP master salt (112 bits).
pub const MASTER_SALT_LEN: usize = 14;
/// Length of key || salt, the SDES `inline:` payload.
pub const MASTER_LEN: usize = MASTER_KEY_LEN + MASTER_SALT_LEN;
/// Length of the HMAC-SHA1 session authentication key (RFC 3711 §4.2.1).
const AUTH_KEY_LEN: usize = 20;

/// An SRTP master key and master salt for the AES_CM_128 suites: what one
/// `a=crypto` line carries, for one direction.
#[derive(Clone)]
pub struct MasterKey {
    /// The 128-bit master key.
    pub key: [u8; MASTER_KEY_LEN],
    /// The 112-bit master salt.
    pub salt: [u8; MASTER_SALT_LEN],
}

impl MasterKey {
    /// A master key from its parts.
    #[must_use]
    pub const fn new(key: [u8; MASTER_KEY_LEN], salt: [u8; MASTER_SALT_LEN]) -> Self {
        Self { key, salt }
    }

    /// A fresh master key from 30 bytes of the caller's CSPRNG (issue 5:
    /// "keys from a CSPRNG, one key per direction and per side"). The core
    /// has no randomness of its own (ARCHITECTURE.md rule 1).
    #[must_use]
    pub fn generate(random: [u8; MASTER_LEN]) -> Self {
        let mut key = [0; MASTER_KEY_LEN];
        let mut salt = [0; MASTER_SALT_LEN];
        key.copy_from_slice(&random[..MASTER_KEY_LEN]);
        salt.copy_from_slice(&random[MASTER_KEY_LEN..]);
        Self { key, salt }
    }

    /// Parses the key parameter of an `a=crypto` line (RFC 4568 §6.1,
    /// §6.2.1): `inline:<base64 key||salt>[|lifetime][|MKI:length]`. The
    /// `inline:` prefix is optional.
    ///
    /// A lifetime (`2^n` or decimal) is checked for syntax and ignored: the
    /// relay never sends 2^31 packets on one key during a call. An MKI is
    /// refused with [`Error::MkiUnsupported`] because this transform does
    /// not carry one in packets; the offer's next crypto line may do.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for bad base64, a length other than 30 bytes, a
    /// bad lifetime, or extra parts; [`Error::MkiUnsupported`] for an MKI.
    pub fn from_inline(param: &str) -> Result<Self, Error> {
        let param = param.trim();
        let param = param.strip_prefix("inline:").unwrap_or(param);
        let mut parts = param.split('|');
        let b64 = parts.next().unwrap_or_default();
        let mut raw = [0u8; MASTER_LEN + 3];
        let n = STANDARD
            .decode_slice(b64, &mut raw)
            .map_err(|_| Error::InvalidKey("bad base64"))?;
        if n != MASTER_LEN {
            return Err(Error::InvalidKey("key||salt is not 30 bytes"));
        }
        let mut seen_lifetime = false;
        for part in parts {
            if part.contains(':') {
                return Err(Error::MkiUnsupported);
            }
            if seen_lifetime || !valid_lifetime(part) {
                return Err(Error::InvalidKey("bad lifetime"));
            }
            seen_lifetime = true;
        }
        let mut random = [0; MASTER_LEN];
        random.copy_from_slice(&raw[..MASTER_LEN]);
        Ok(Self::generate(random))
    }

    /// The key parameter for an `a=crypto` line: `inline:` and the base64 of
    /// key || salt, without lifetime or MKI.
    #[must_use]
    pub fn to_inline(&self) -> String {
        let mut raw = [0u8; MASTER_LEN];
        raw[..MASTER_KEY_LEN].copy_from_slice(&self.key);
        raw[MASTER_KEY_LEN..].copy_from_slice(&self.salt);
        format!("inline:{}", STANDARD.encode(raw))
    }
}

/// `2^n` (n ≤ 48) or a decimal number (RFC 4568 §6.1 `lifetime`).
fn valid_lifetime(s: &str) -> bool {
    let digits = |d: &str| !d.is_empty() && d.len() <= 15 && d.bytes().all(|b| b.is_ascii_digit());
    match s.strip_prefix("2^") {
        Some(exp) => digits(exp) && exp.parse::<u8>().is_ok_and(|e| e <= 48),
        None => digits(s),
    }
}

impl PartialEq for MasterKey {
    /// Constant-time, so comparing a renegotiated key with the current one
    /// leaks nothing about either.
    fn eq(&self, other: &Self) -> bool {
        let k = aws_lc_rs::constant_time::verify_slices_are_equal(&self.key, &other.key);
        let s = aws_lc_rs::constant_time::verify_slices_are_equal(&self.salt, &other.salt);
        k.is_ok() & s.is_ok()
    }
}

impl Eq for MasterKey {}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Key derivation labels (RFC 3711 §4.3.1, §4.3.2).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Label {
    RtpCipher = 0,
    RtpAuth = 1,
    RtpSalt = 2,
    RtcpCipher = 3,
    RtcpAuth = 4,
    RtcpSalt = 5,
}

/// The AES-CM PRF keyed with the master key (RFC 3711 §4.3.3).
pub(crate) struct Kdf {
    master: EncryptingKey,
    salt: [u8; MASTER_SALT_LEN],
}

impl Kdf {
    pub(crate) fn new(master: &MasterKey) -> Result<Self, Error> {
        Ok(Self {
            master: aes_ctr_key(&master.key)?,
            salt: master.salt,
        })
    }

    /// Fills `out` with the session key for `label`, key derivation rate 0
    /// (so `r = index DIV kdr` is 0): x = (label || r) XOR master salt,
    /// output = AES-CM(master key, x · 2^16) (RFC 3711 §4.3.1).
    pub(crate) fn derive(&self, label: Label, out: &mut [u8]) -> Result<(), Error> {
        let mut iv = [0u8; 16];
        iv[..MASTER_SALT_LEN].copy_from_slice(&self.salt);
        // label || r is 7 bytes right-aligned in the 14-byte salt.
        iv[7] ^= label as u8;
        out.fill(0);
        aes_cm(&self.master, iv, out)
    }
}

/// HMAC-SHA1 keyed with a session authentication key (inner and outer
/// pad already hashed, so a clone per packet is a small copy).
pub(crate) type HmacSha1 = hmac::Hmac<sha1::Sha1>;

/// The session keys of one direction of RTP or RTCP (RFC 3711 §4.3).
pub(crate) struct SessionKeys {
    pub(crate) cipher: EncryptingKey,
    pub(crate) auth: HmacSha1,
    pub(crate) salt: [u8; MASTER_SALT_LEN],
}

impl SessionKeys {
    pub(crate) fn derive(kdf: &Kdf, labels: [Label; 3]) -> Result<Self, Error> {
        let mut key = [0u8; MASTER_KEY_LEN];
        let mut auth = [0u8; AUTH_KEY_LEN];
        let mut salt = [0u8; MASTER_SALT_LEN];
        kdf.derive(labels[0], &mut key)?;
        kdf.derive(labels[1], &mut auth)?;
        kdf.derive(labels[2], &mut salt)?;
        Ok(Self {
            cipher: aes_ctr_key(&key)?,
            auth: <HmacSha1 as Mac>::new_from_slice(&auth).map_err(|_| Error::Crypto)?,
            salt,
        })
    }
}

pub(crate) fn aes_ctr_key(key: &[u8; MASTER_KEY_LEN]) -> Result<EncryptingKey, Error> {
    Ok(EncryptingKey::ctr(UnboundCipherKey::new(&AES_128, key)?)?)
}

/// XORs `data` with the AES counter-mode keystream starting at `iv`
/// (RFC 3711 §4.1.1). The library increments all 128 bits; SRTP
/// increments the low 16, which is the same for anything under 2^16
/// blocks (1 MiB), and packets are far shorter.
pub(crate) fn aes_cm(key: &EncryptingKey, iv: [u8; 16], data: &mut [u8]) -> Result<(), Error> {
    if data.is_empty() {
        return Ok(());
    }
    key.less_safe_encrypt(data, EncryptionContext::Iv128(FixedLength::from(iv)))?;
    Ok(())
}

/// The AES-CM IV of a packet: (k_s · 2^16) XOR (SSRC · 2^64) XOR
/// (index · 2^16) (RFC 3711 §4.1.1); for SRTCP the index is the SRTCP index.
pub(crate) fn packet_iv(salt: &[u8; MASTER_SALT_LEN], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..MASTER_SALT_LEN].copy_from_slice(salt);
    for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
        *b ^= s;
    }
    // The index is 48 bits: bytes 2..8 of its big-endian u64 go to 8..14.
    for (b, i) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
        *b ^= i;
    }
    iv
}
