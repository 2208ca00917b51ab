//! Percent-encoding exactly as RFC 5849 §3.6 defines it: every byte of the
//! UTF-8 form except the unreserved characters (ALPHA, DIGIT, `-`, `.`,
//! `_`, `~`) becomes `%XX` with upper-case hex. Clients differ in what
//! they send, but the signature is computed over this form, so both sides
//! must agree on it byte for byte.

use crate::OAuthError;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

const fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `s` percent-encoded per RFC 5849 §3.6.
#[must_use]
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Decodes `%XX` sequences (either hex case); `+` stays `+`.
///
/// # Errors
/// [`OAuthError::BadEncoding`] for a `%` not followed by two hex digits or
/// bytes that are not UTF-8; `what` names the value in the message.
pub fn percent_decode(s: &str, what: &str) -> Result<String, OAuthError> {
    decode(s, false, what)
}

/// Decodes an `application/x-www-form-urlencoded` name or value (a query
/// string or a form body, RFC 5849 §3.4.1.3.1): `+` is a space.
///
/// # Errors
/// As [`percent_decode`].
pub fn form_decode(s: &str, what: &str) -> Result<String, OAuthError> {
    decode(s, true, what)
}

fn decode(s: &str, plus_is_space: bool, what: &str) -> Result<String, OAuthError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|&b| hex_value(b));
                let lo = bytes.get(i + 2).and_then(|&b| hex_value(b));
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(OAuthError::BadEncoding {
                        what: what.to_owned(),
                    });
                };
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| OAuthError::BadEncoding {
        what: what.to_owned(),
    })
}

const fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_as_the_rfc_examples() {
        // RFC 5849 §3.4.1.3.2's encoded pairs.
        assert_eq!(percent_encode("r b"), "r%20b");
        assert_eq!(percent_encode("=%3D"), "%3D%253D");
        assert_eq!(percent_encode("c@"), "c%40");
        assert_eq!(percent_encode("a-._~Z9"), "a-._~Z9");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn decoding_rejects_broken_escapes() {
        assert!(percent_decode("%4", "v").is_err());
        assert!(percent_decode("%zz", "v").is_err());
        assert!(percent_decode("%FF", "v").is_err()); // not UTF-8
        assert_eq!(form_decode("2+q", "v").unwrap(), "2 q");
        assert_eq!(percent_decode("2+q", "v").unwrap(), "2+q");
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(s in any::<String>()) {
            prop_assert_eq!(percent_decode(&percent_encode(&s), "v").unwrap(), s);
        }
    }
}
