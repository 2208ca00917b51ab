//! MAC addresses in the forms the seeds accept, and the per-phone file name.
//!
//! The terminal-management manual (seed 004 §4.1–4.4) writes the
//! `MAC_ADDRESS` column as `00-08-5d-84-20-61` or `00085d842061` (and
//! `00-08-5D-15-47-FD` / `00085D1547FD`); SPEC PRO-6 adds the colon form
//! `00:08:5D:84:20:61`. Any case is accepted: 12 hex digits, or six pairs
//! separated by all `-` or all `:`, surrounding white space ignored. These
//! are the only MAC rules in Outpost: `outpost-store` checks devices' MACs
//! with [`Mac::parse`] and stores [`Mac`]'s canonical form. The result is a
//! typed [`Mac`], not a string, so that a MAC cannot be confused with any
//! other text.
//!
//! A phone asks for `<MAC>.cfg` with the MAC in upper-case hex without
//! separators (SPEC PRO-5; seed 004 §9.4 calls it "@MAC.cfg"), which is
//! [`Mac`]'s `Display` form and [`Mac::file_name`].

use std::fmt;
use std::str::FromStr;

/// The accepted forms, quoted in every error so the operator sees the fix.
const FORMS: &str = "a MAC address is 12 hex digits, written 00085D842061, \
                     00-08-5D-84-20-61 or 00:08:5D:84:20:61";

/// Why a text is not a MAC address. The message names the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MacError {
    /// Nothing but white space.
    #[error("empty; {FORMS}")]
    Empty,
    /// Neither 12 nor 17 characters long.
    #[error("{chars} characters; {FORMS}")]
    Length {
        /// Characters after trimming.
        chars: usize,
    },
    /// 17 characters, but not six pairs split by one kind of separator.
    #[error("separators must be all '-' or all ':' between pairs; {FORMS}")]
    Separators,
    /// A character that is not a hex digit.
    #[error("{found:?} is not a hex digit; {FORMS}")]
    NotHex {
        /// The offending character.
        found: char,
    },
}

/// A MAC address (EUI-48). `Display` gives the canonical form used in file
/// names and the store: 12 upper-case hex digits, e.g. `00085D237429`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac([u8; 6]);

impl Mac {
    /// Builds a MAC from its six bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 6]) -> Self {
        Self(bytes)
    }

    /// The six bytes.
    #[must_use]
    pub const fn bytes(self) -> [u8; 6] {
        self.0
    }

    /// Parses any of the accepted forms (see the module docs).
    ///
    /// # Errors
    /// A [`MacError`] saying what is wrong and quoting the accepted forms.
    pub fn parse(input: &str) -> Result<Self, MacError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(MacError::Empty);
        }
        let bytes = s.as_bytes();
        let mut digits = [0u8; 12];
        match bytes.len() {
            12 => digits.copy_from_slice(bytes),
            17 => {
                // Position 2 decides the separator; every third byte must be
                // that same separator, so mixed forms such as
                // `00-08:5D-...` are refused rather than guessed at.
                let sep = bytes[2];
                if sep != b'-' && sep != b':' {
                    return Err(MacError::Separators);
                }
                let mut n = 0;
                for (i, &b) in bytes.iter().enumerate() {
                    if i % 3 == 2 {
                        if b != sep {
                            return Err(MacError::Separators);
                        }
                    } else {
                        digits[n] = b;
                        n += 1;
                    }
                }
            }
            _ => {
                return Err(MacError::Length {
                    chars: s.chars().count(),
                });
            }
        }
        let mut out = [0u8; 6];
        for (i, pair) in digits.chunks_exact(2).enumerate() {
            out[i] = (hex_value(s, pair[0])? << 4) | hex_value(s, pair[1])?;
        }
        Ok(Self(out))
    }

    /// Recognises a per-phone file name, `<MAC>.cfg`, with the MAC as 12 hex
    /// digits in either case (phones ask in upper case, but a name typed by
    /// hand or logged elsewhere may not be). `None` for any other name,
    /// including the separated forms, which are not file names.
    #[must_use]
    pub fn from_file_name(name: &str) -> Option<Self> {
        let stem = name.strip_suffix(".cfg")?;
        if stem.len() != 12 {
            return None;
        }
        Self::parse(stem).ok()
    }

    /// `<MAC>.cfg`, the per-phone configuration file name (SPEC PRO-5).
    #[must_use]
    pub fn file_name(self) -> String {
        format!("{self}.cfg")
    }

    /// The dashed upper-case form phones put in their User-Agent and the
    /// vendor's inventory shows (`00-08-5D-23-74-29`, seed 000 §6.5).
    #[must_use]
    pub fn dashed(self) -> String {
        self.separated('-')
    }

    /// The colon-separated upper-case form (`00:08:5D:23:74:29`).
    #[must_use]
    pub fn colon(self) -> String {
        self.separated(':')
    }

    fn separated(self, sep: char) -> String {
        let mut out = String::with_capacity(17);
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(sep);
            }
            push_hex(&mut out, *b);
        }
        out
    }
}

/// The value of one hex digit; a non-digit names the character it came
/// from (found in `text`, so a multi-byte character is reported whole).
fn hex_value(text: &str, b: u8) -> Result<u8, MacError> {
    match b {
        b'0'..=b'9' => Ok(b - b'0'),
        b'a'..=b'f' => Ok(b - b'a' + 10),
        b'A'..=b'F' => Ok(b - b'A' + 10),
        _ => {
            let found = text
                .chars()
                .find(|c| !c.is_ascii_hexdigit() && *c != '-' && *c != ':')
                .unwrap_or(char::from(b));
            Err(MacError::NotHex { found })
        }
    }
}

fn push_hex(out: &mut String, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.push(char::from(DIGITS[usize::from(b >> 4)]));
    out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(12);
        for b in self.0 {
            push_hex(&mut out, b);
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mac({self})")
    }
}

impl FromStr for Mac {
    type Err = MacError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPECTED: Mac = Mac::from_bytes([0x00, 0x08, 0x5D, 0x23, 0x74, 0x29]);

    #[test]
    fn the_three_forms_give_one_mac_and_one_file_name() {
        // The acceptance case: the three forms name the same file.
        for form in ["00085D237429", "00:08:5D:23:74:29", "00-08-5D-23-74-29"] {
            let mac = Mac::parse(form).unwrap();
            assert_eq!(mac, EXPECTED, "{form}");
            assert_eq!(mac.file_name(), "00085D237429.cfg");
        }
    }

    #[test]
    fn seed_forms_any_case() {
        // Seed 004 §4.1 and §4.2 spell them in lower and upper case.
        let lower = Mac::parse("00-08-5d-84-20-61").unwrap();
        assert_eq!(lower, Mac::parse("00085d842061").unwrap());
        assert_eq!(lower, Mac::parse("00:08:5D:84:20:61").unwrap());
        assert_eq!(lower.to_string(), "00085D842061");
        let upper = Mac::parse("00-08-5D-15-47-FD").unwrap();
        assert_eq!(upper, Mac::parse("00085D1547FD").unwrap());
        // Seed 000 §6.3's spreadsheet rows.
        assert_eq!(
            Mac::parse("08000F9F7305").unwrap().dashed(),
            "08-00-0F-9F-73-05"
        );
    }

    #[test]
    fn white_space_is_ignored() {
        assert_eq!(Mac::parse("  00085d237429\t").unwrap(), EXPECTED);
    }

    #[test]
    fn bad_forms_are_refused_with_the_fix() {
        assert_eq!(Mac::parse(" "), Err(MacError::Empty));
        assert_eq!(
            Mac::parse("00085D23742"),
            Err(MacError::Length { chars: 11 })
        );
        assert_eq!(Mac::parse("00-08:5D-23-74-29"), Err(MacError::Separators));
        assert_eq!(Mac::parse("00.08.5D.23.74.29"), Err(MacError::Separators));
        assert_eq!(
            Mac::parse("00085D23742G"),
            Err(MacError::NotHex { found: 'G' })
        );
        let message = Mac::parse("nope").unwrap_err().to_string();
        assert!(message.contains("00-08-5D-84-20-61"), "{message}");
    }

    #[test]
    fn multi_byte_input_does_not_panic() {
        // 12 bytes but 6 characters; 17 bytes with a multi-byte separator.
        assert!(Mac::parse("éééééé").is_err());
        assert!(Mac::parse("00é08-5D-23-74-2").is_err());
        assert!(Mac::parse("0008€5D2374").is_err());
    }

    #[test]
    fn other_forms() {
        assert_eq!(EXPECTED.dashed(), "00-08-5D-23-74-29");
        assert_eq!(EXPECTED.colon(), "00:08:5D:23:74:29");
        assert_eq!(format!("{EXPECTED:?}"), "Mac(00085D237429)");
        assert_eq!("00085d237429".parse::<Mac>().unwrap(), EXPECTED);
    }

    #[test]
    fn file_names() {
        assert_eq!(Mac::from_file_name("00085D237429.cfg"), Some(EXPECTED));
        assert_eq!(Mac::from_file_name("00085d237429.cfg"), Some(EXPECTED));
        assert_eq!(Mac::from_file_name("00-08-5D-23-74-29.cfg"), None);
        assert_eq!(Mac::from_file_name("aastra.cfg"), None);
        assert_eq!(Mac::from_file_name("00085D237429.txt"), None);
        assert_eq!(Mac::from_file_name(" 00085D237429.cfg"), None);
    }
}
