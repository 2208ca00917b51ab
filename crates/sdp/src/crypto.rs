//! SDES `a=crypto` (RFC 4568 §9.1 grammar, SRTP key parameters §6):
//!
//! ```text
//! a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]
//! key-params = key-param *(";" key-param)
//! key-param  = "inline:" <base64(master key || master salt)> ["|" lifetime] ["|" MKI ":" length]
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

use crate::error::CryptoError;

/// Standard alphabet, padding optional on input (30-byte keys need none;
/// some stacks pad other lengths, some do not).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An SRTP crypto suite name (RFC 4568 §6.2, RFC 7714).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CryptoSuite {
    /// `AES_CM_128_HMAC_SHA1_80`, the recommended suite (SPEC MED-3).
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32`.
    AesCm128HmacSha1_32,
    /// Any other suite name, kept verbatim; never chosen.
    Other(String),
}

impl CryptoSuite {
    /// Reads a suite name (case-sensitive, as registered).
    pub fn parse(name: &str) -> Self {
        match name {
            "AES_CM_128_HMAC_SHA1_80" => Self::AesCm128HmacSha1_80,
            "AES_CM_128_HMAC_SHA1_32" => Self::AesCm128HmacSha1_32,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The registered name.
    pub fn name(&self) -> &str {
        match self {
            Self::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            Self::Other(name) => name,
        }
    }

    /// Whether Outpost can use it.
    pub fn is_supported(&self) -> bool {
        !matches!(self, Self::Other(_))
    }

    /// Length of master key || master salt in bytes, for supported suites
    /// (16 + 14 for AES-CM-128, RFC 3711 §8.2).
    pub fn key_salt_len(&self) -> Option<usize> {
        match self {
            Self::AesCm128HmacSha1_80 | Self::AesCm128HmacSha1_32 => Some(30),
            Self::Other(_) => None,
        }
    }

    /// The suites Outpost offers, in preference order (`_80` first: the
    /// seeds recommend it over the `_32` default of other gateways).
    pub fn offered_default() -> Vec<Self> {
        vec![Self::AesCm128HmacSha1_80, Self::AesCm128HmacSha1_32]
    }
}

impl fmt::Display for CryptoSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Master key || master salt. `Debug` does not print the bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MasterKey(Vec<u8>);

impl MasterKey {
    /// Wraps key || salt bytes (from the caller's CSPRNG, or decoded).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base64 as written after `inline:`.
    pub fn to_base64(&self) -> String {
        general_purpose::STANDARD.encode(&self.0)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(<{} bytes>)", self.0.len())
    }
}

/// A master key identifier: the value and its length on the wire in bytes
/// (RFC 4568 §6.1, RFC 3711 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mki {
    /// The MKI value.
    pub value: u64,
    /// Bytes it occupies in each packet (1..=128).
    pub length: u8,
}

/// One `inline:` key parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyParam {
    /// Master key || master salt.
    pub key: MasterKey,
    /// Master key lifetime in packets (`2^31` is read as 2147483648;
    /// saturates at `u64::MAX`).
    pub lifetime: Option<u64>,
    /// The MKI, if any.
    pub mki: Option<Mki>,
}

/// A parsed `a=crypto` attribute value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CryptoAttribute {
    /// The tag (1..=9 digits) that the answer must repeat.
    pub tag: u32,
    /// The crypto suite.
    pub suite: CryptoSuite,
    /// The key parameters (usually one).
    pub keys: Vec<KeyParam>,
    /// Session parameters (`KDR=`, `UNENCRYPTED_SRTP`, `WSH=`...), verbatim.
    pub session_params: Vec<String>,
}

impl CryptoAttribute {
    /// Parses the value after `a=crypto:`.
    pub fn parse(value: &str) -> Result<Self, CryptoError> {
        let mut fields = value.split_ascii_whitespace();
        let tag_text = fields.next().ok_or(CryptoError::Missing("tag"))?;
        if tag_text.is_empty()
            || tag_text.len() > 9
            || !tag_text.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(CryptoError::BadTag);
        }
        let tag = tag_text.parse().map_err(|_| CryptoError::BadTag)?;
        let suite = CryptoSuite::parse(fields.next().ok_or(CryptoError::Missing("crypto-suite"))?);
        let key_params = fields.next().ok_or(CryptoError::Missing("key-params"))?;
        let keys = key_params
            .split(';')
            .map(parse_key_param)
            .collect::<Result<Vec<_>, _>>()?;
        let session_params = fields.map(str::to_owned).collect();
        Ok(Self {
            tag,
            suite,
            keys,
            session_params,
        })
    }

    /// What Outpost would use from this line: `Some` when the suite is
    /// supported, there is exactly one key of the suite's length, and every
    /// session parameter is one we honour (RFC 4568 §6.3: an answerer does
    /// not pick a line with parameters it does not support). `KDR=0` and
    /// `WSH=` are fine, as are parameters marked optional with `-`.
    pub fn usable(&self) -> Option<SrtpParams> {
        let [key] = self.keys.as_slice() else {
            return None;
        };
        if self.suite.key_salt_len() != Some(key.key.as_bytes().len()) {
            return None;
        }
        let params_ok = self
            .session_params
            .iter()
            .all(|p| p == "KDR=0" || p.starts_with("WSH=") || p.starts_with('-'));
        params_ok.then(|| SrtpParams {
            tag: self.tag,
            suite: self.suite.clone(),
            key: key.key.clone(),
            lifetime: key.lifetime,
            mki: key.mki,
        })
    }
}

fn parse_key_param(param: &str) -> Result<KeyParam, CryptoError> {
    let info = param
        .strip_prefix("inline:")
        .ok_or(CryptoError::KeyMethod)?;
    let mut parts = info.split('|');
    let key_text = parts.next().unwrap_or_default();
    let key = LENIENT.decode(key_text).map_err(|_| CryptoError::Base64)?;
    if key.is_empty() {
        return Err(CryptoError::Base64);
    }
    let mut lifetime = None;
    let mut mki = None;
    for part in parts {
        if let Some((value, length)) = part.split_once(':') {
            if mki.is_some() {
                return Err(CryptoError::Mki);
            }
            let value = value.parse().map_err(|_| CryptoError::Mki)?;
            let length: u8 = length.parse().map_err(|_| CryptoError::Mki)?;
            if !(1..=128).contains(&length) {
                return Err(CryptoError::Mki);
            }
            mki = Some(Mki { value, length });
        } else {
            if lifetime.is_some() || mki.is_some() {
                return Err(CryptoError::Lifetime);
            }
            lifetime = Some(parse_lifetime(part)?);
        }
    }
    Ok(KeyParam {
        key: MasterKey(key),
        lifetime,
        mki,
    })
}

fn parse_lifetime(text: &str) -> Result<u64, CryptoError> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(exp) = text.strip_prefix("2^") {
        if !digits(exp) {
            return Err(CryptoError::Lifetime);
        }
        let exp: u32 = exp.parse().unwrap_or(u32::MAX);
        Ok(1u64.checked_shl(exp).unwrap_or(u64::MAX))
    } else if digits(text) {
        Ok(text.parse().unwrap_or(u64::MAX))
    } else {
        Err(CryptoError::Lifetime)
    }
}

/// The SRTP parameters of one chosen (or offered) crypto line: what an SRTP
/// context needs. `key` is the key its owner encrypts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SrtpParams {
    /// The crypto line's tag.
    pub tag: u32,
    /// The suite.
    pub suite: CryptoSuite,
    /// Master key || master salt.
    pub key: MasterKey,
    /// Lifetime, if the line gave one.
    pub lifetime: Option<u64>,
    /// The MKI the sender puts in each packet, if any (Outpost's own lines
    /// never use one).
    pub mki: Option<Mki>,
}

impl SrtpParams {
    /// Our own line: no lifetime, no MKI.
    pub fn local(tag: u32, suite: CryptoSuite, key: MasterKey) -> Self {
        Self {
            tag,
            suite,
            key,
            lifetime: None,
            mki: None,
        }
    }

    /// The `a=crypto` value (`<tag> <suite> inline:<key>[|lifetime][|mki:len]`).
    pub fn to_attribute_value(&self) -> String {
        let mut s = format!(
            "{} {} inline:{}",
            self.tag,
            self.suite,
            self.key.to_base64()
        );
        if let Some(l) = self.lifetime {
            if l.is_power_of_two() {
                s.push_str(&format!("|2^{}", l.trailing_zeros()));
            } else {
                s.push_str(&format!("|{l}"));
            }
        }
        if let Some(m) = self.mki {
            s.push_str(&format!("|{}:{}", m.value, m.length));
        }
        s
    }
}
