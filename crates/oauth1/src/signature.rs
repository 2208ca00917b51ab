//! HMAC-SHA1 (RFC 5849 §3.4.2): the key is the encoded client secret and
//! the encoded token secret joined by `&` (the latter empty when there is
//! no token yet), the signature the base64 of the MAC.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::percent_encode;

/// The base64 HMAC-SHA1 signature of `base_string`.
#[must_use]
pub fn hmac_sha1_signature(base_string: &str, client_secret: &str, token_secret: &str) -> String {
    let key = format!(
        "{}&{}",
        percent_encode(client_secret),
        percent_encode(token_secret)
    );
    // HMAC takes keys of any length: `new_from_slice` cannot fail here.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(base_string.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Compares two signatures in constant time (for equal lengths).
#[must_use]
pub fn signatures_match(expected: &str, given: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}
