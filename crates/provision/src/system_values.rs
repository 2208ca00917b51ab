//! The gateway's own values that a remote-worker file may leave to Outpost.
//!
//! Seed 001 §6.3 lists the "system data to be entered for all MAC
//! addresses": `sip proxy ip`, `sip registrar ip` and `https server` are
//! the public address or name of the gateway, `https path` is the hash
//! (seed 001 §5.2). SPEC PRO-6 lets Outpost fill them in from its FQDN and
//! hash key, so that a spreadsheet cannot point phones at a stale address
//! or hash. (`keyboard script`, also "system data" in the seed, is an iPBX
//! URL Outpost does not know, so it stays the spreadsheet's.)

use std::fmt;
use std::net::IpAddr;

/// The parameters Outpost fills in, in the seed's order (001 §6.3), with
/// the value each takes.
pub const SYSTEM_PARAMETERS: [(&str, SystemValue); 4] = [
    ("sip proxy ip", SystemValue::Fqdn),
    ("sip registrar ip", SystemValue::Fqdn),
    ("https server", SystemValue::Fqdn),
    ("https path", SystemValue::Hash),
];

/// Which of the gateway's values a system parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemValue {
    /// The public name or address.
    Fqdn,
    /// The hash key.
    Hash,
}

/// Shortest hash key accepted, in hex digits: 128 bits (SPEC SEC-7).
pub const MIN_HASH_HEX: usize = 32;
/// Longest hash key accepted, in hex digits.
pub const MAX_HASH_HEX: usize = 128;

/// Why the gateway's values cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SystemValuesError {
    /// The name is neither a host name nor an IP address.
    #[error(
        "{fqdn:?} is not a host name or IP address; set the gateway's public name \
         (e.g. gateway.example.com) or address"
    )]
    BadFqdn {
        /// The name given.
        fqdn: String,
    },
    /// The hash key is not 32 to 128 hex digits.
    #[error(
        "the hash key is not {MIN_HASH_HEX} to {MAX_HASH_HEX} hex digits; generate a new one \
         (outpost provisioning hash generate)"
    )]
    BadHash,
}

/// The gateway's public name and hash key, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct SystemValues {
    fqdn: String,
    hash: String,
}

impl SystemValues {
    /// Checks and keeps the public name (a DNS name or an IP address) and
    /// the hash key (hex, at least 128 bits).
    ///
    /// # Errors
    /// [`SystemValuesError`] naming which one is wrong.
    pub fn new(
        fqdn: impl Into<String>,
        hash: impl Into<String>,
    ) -> Result<Self, SystemValuesError> {
        let fqdn = fqdn.into();
        let hash = hash.into();
        if !is_host(&fqdn) {
            return Err(SystemValuesError::BadFqdn { fqdn });
        }
        if !(MIN_HASH_HEX..=MAX_HASH_HEX).contains(&hash.len())
            || !hash.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(SystemValuesError::BadHash);
        }
        Ok(Self { fqdn, hash })
    }

    /// The public name or address.
    #[must_use]
    pub fn fqdn(&self) -> &str {
        &self.fqdn
    }

    /// The hash key.
    #[must_use]
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The value of one system parameter.
    #[must_use]
    pub fn value(&self, which: SystemValue) -> &str {
        match which {
            SystemValue::Fqdn => &self.fqdn,
            SystemValue::Hash => &self.hash,
        }
    }
}

/// The hash key is what keeps configuration files (with SIP passwords)
/// from strangers (SEC-7), so `Debug` does not show it.
impl fmt::Debug for SystemValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SystemValues")
            .field("fqdn", &self.fqdn)
            .field("hash", &"<redacted>")
            .finish()
    }
}

/// The system parameter a column name stands for, if any. The lock `!`,
/// ASCII case and `_` for space are ignored: seed 000 §6.3's spreadsheet
/// writes `!sip_proxy ip`, `https_server`, `https_path` where seed 001 §6.3
/// writes `sip proxy ip`, `https server`, `https path`.
#[must_use]
pub fn system_parameter(column_name: &str) -> Option<(&'static str, SystemValue)> {
    let bare = column_name.strip_prefix('!').unwrap_or(column_name);
    let bare = bare.replace('_', " ");
    SYSTEM_PARAMETERS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(bare.trim()))
        .copied()
}

/// A DNS name (RFC 1123 labels) or an IP address.
fn is_host(name: &str) -> bool {
    if name.parse::<IpAddr>().is_ok() {
        return true;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9a48085c1b816fd1b512e8b186686a6f";

    #[test]
    fn accepts_names_addresses_and_hex_hashes() {
        for fqdn in [
            "public.test.com",
            "64.101.10.1",
            "2001:db8::1",
            "gw",
            "gw.example.com.",
        ] {
            let values = SystemValues::new(fqdn, HASH).unwrap();
            assert_eq!(values.fqdn(), fqdn);
            assert_eq!(values.hash(), HASH);
        }
    }

    #[test]
    fn refuses_bad_names_and_short_hashes() {
        for fqdn in [
            "",
            "a..b",
            "-a.com",
            "a b",
            "a_b.com",
            "https://x",
            &"a".repeat(64),
        ] {
            assert!(
                matches!(
                    SystemValues::new(fqdn, HASH),
                    Err(SystemValuesError::BadFqdn { .. })
                ),
                "{fqdn:?}"
            );
        }
        // Seed 000 §6.3's example hash has 31 digits: fewer than 128 bits.
        for hash in [
            "9a48085c1b816fd1b512e8b186686a6",
            "",
            "zz48085c1b816fd1b512e8b186686a6f",
        ] {
            assert_eq!(
                SystemValues::new("gw", hash),
                Err(SystemValuesError::BadHash),
                "{hash:?}"
            );
        }
    }

    #[test]
    fn debug_hides_the_hash() {
        let debug = format!("{:?}", SystemValues::new("gw", HASH).unwrap());
        assert!(!debug.contains(HASH), "{debug}");
    }

    #[test]
    fn recognises_both_seed_spellings() {
        assert_eq!(
            system_parameter("!sip_proxy ip"),
            Some(("sip proxy ip", SystemValue::Fqdn))
        );
        assert_eq!(
            system_parameter("https_path"),
            Some(("https path", SystemValue::Hash))
        );
        assert_eq!(
            system_parameter("HTTPS Server"),
            Some(("https server", SystemValue::Fqdn))
        );
        assert_eq!(system_parameter("sip line1 password"), None);
        assert_eq!(system_parameter("keyboard script"), None);
    }
}
