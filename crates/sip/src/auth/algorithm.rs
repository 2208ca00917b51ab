//! Digest algorithms, qop, HA1 and request-digest computation
//! (RFC 7616 §3.4.1–3.4.3, RFC 2617 §3.2.2.1 for the no-qop form).

use std::fmt;
use std::str::FromStr;

use md5::Md5;
use sha2::{Digest as _, Sha256};

use super::DigestError;
use super::error::clip;

/// A digest algorithm (RFC 7616 §3.3 and §6.1 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`, the default when a challenge names no algorithm.
    Md5,
    /// `MD5-sess`: HA1 also covers the nonce and cnonce.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// Every supported algorithm, strongest hash first.
    pub const ALL: [Self; 4] = [Self::Sha256, Self::Sha256Sess, Self::Md5, Self::Md5Sess];

    /// The name used on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Looks up a wire name, case-insensitively (RFC 7616 §3.3).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(name))
    }

    /// Whether this is a `-sess` variant, whose HA1 covers nonce and cnonce.
    #[must_use]
    pub fn is_session(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    /// Whether the hash function is SHA-256 (rather than MD5).
    #[must_use]
    pub fn is_sha256(self) -> bool {
        matches!(self, Self::Sha256 | Self::Sha256Sess)
    }

    /// Preference when several challenges are offered: SHA-256 over MD5.
    pub(crate) fn strength(self) -> u8 {
        if self.is_sha256() { 2 } else { 1 }
    }

    /// Lowercase hex of H(parts joined by ':').
    pub(crate) fn hash_hex(self, parts: &[&str]) -> String {
        fn run<D: sha2::Digest>(mut digest: D, parts: &[&str]) -> String {
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    digest.update(b":");
                }
                digest.update(part.as_bytes());
            }
            hex::encode(digest.finalize())
        }
        if self.is_sha256() {
            run(Sha256::new(), parts)
        } else {
            run(Md5::new(), parts)
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| DigestError::UnsupportedAlgorithm { algorithm: clip(s) })
    }
}

/// Quality of protection. Only `auth` is supported: `auth-int` needs the
/// message body in the digest, and no SIP phone or iPBX we face requires it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: authentication of the request line, with cnonce and nonce count.
    Auth,
}

impl Qop {
    /// The name used on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
        }
    }
}

impl fmt::Display for Qop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Qop {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auth") {
            Ok(Self::Auth)
        } else {
            Err(DigestError::UnsupportedQop { qop: clip(s) })
        }
    }
}

/// HA1 = H(username ":" realm ":" password) in lowercase hex (RFC 7616
/// §3.4.2), for the hash function of `algorithm`.
///
/// For `-sess` algorithms this is the stored part; the session HA1 (which
/// also covers nonce and cnonce) is derived per request. A credential store
/// may keep this value instead of the password: one per hash function, as
/// MD5 and SHA-256 HA1s differ.
#[must_use]
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash_hex(&[username, realm, password])
}

/// The secret a server checks a response against.
///
/// `Debug` never shows the password or HA1.
#[derive(Clone, Copy)]
pub enum Secret<'a> {
    /// The user's password in clear.
    Password(&'a str),
    /// A stored MD5 HA1 ([`ha1`] with [`Algorithm::Md5`]), for MD5 and MD5-sess.
    Md5Ha1(&'a str),
    /// A stored SHA-256 HA1 ([`ha1`] with [`Algorithm::Sha256`]), for SHA-256 and SHA-256-sess.
    Sha256Ha1(&'a str),
}

impl fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::Password(_) => "Password",
            Self::Md5Ha1(_) => "Md5Ha1",
            Self::Sha256Ha1(_) => "Sha256Ha1",
        };
        write!(f, "Secret::{kind}(<redacted>)")
    }
}

impl Secret<'_> {
    /// The base HA1 for `algorithm`'s hash function.
    fn base_ha1(
        self,
        algorithm: Algorithm,
        username: &str,
        realm: &str,
    ) -> Result<String, DigestError> {
        match self {
            Self::Password(password) => Ok(ha1(algorithm, username, realm, password)),
            Self::Md5Ha1(h) if !algorithm.is_sha256() => Ok(h.to_ascii_lowercase()),
            Self::Sha256Ha1(h) if algorithm.is_sha256() => Ok(h.to_ascii_lowercase()),
            Self::Md5Ha1(_) | Self::Sha256Ha1(_) => {
                Err(DigestError::SecretAlgorithmMismatch { algorithm })
            }
        }
    }
}

/// The inputs of one request-digest computation.
pub(crate) struct DigestInput<'a> {
    pub(crate) algorithm: Algorithm,
    pub(crate) username: &'a str,
    pub(crate) realm: &'a str,
    pub(crate) nonce: &'a str,
    pub(crate) method: &'a str,
    pub(crate) uri: &'a str,
    /// `Some` for qop=auth (with cnonce and nc), `None` for the legacy form.
    pub(crate) qop: Option<QopInput<'a>>,
    /// The cnonce for `-sess` HA1 (RFC 2617 allowed it without qop).
    pub(crate) cnonce: Option<&'a str>,
}

/// The qop=auth fields of a request digest.
pub(crate) struct QopInput<'a> {
    pub(crate) cnonce: &'a str,
    pub(crate) nc: u32,
}

/// The request-digest (RFC 7616 §3.4.1; RFC 2617 §3.2.2.1 when no qop).
pub(crate) fn request_digest(
    input: &DigestInput<'_>,
    secret: Secret<'_>,
) -> Result<String, DigestError> {
    let alg = input.algorithm;
    let mut ha1 = secret.base_ha1(alg, input.username, input.realm)?;
    if alg.is_session() {
        let Some(cnonce) = input.cnonce else {
            return Err(DigestError::MissingParam { name: "cnonce" });
        };
        ha1 = alg.hash_hex(&[&ha1, input.nonce, cnonce]);
    }
    let ha2 = alg.hash_hex(&[input.method, input.uri]);
    Ok(match &input.qop {
        Some(q) => {
            let nc = format!("{:08x}", q.nc);
            alg.hash_hex(&[&ha1, input.nonce, &nc, q.cnonce, Qop::Auth.as_str(), &ha2])
        }
        None => alg.hash_hex(&[&ha1, input.nonce, &ha2]),
    })
}
