//! Randomness for everything the B2BUA invents: tags, Call-IDs, branches,
//! binding tokens, cnonces and the random part of nonces.
//!
//! A ChaCha12 stream keyed from the caller's 32-byte secret with the
//! caller's seed folded in: deterministic for tests (same seed and secret,
//! same values), unpredictable on the wire (binding tokens are credentials
//! of a sort: whoever knows one can call the phone).

use rand_chacha::ChaCha12Rng;
use rand_core::{RngCore, SeedableRng};

/// Lower-case base-32 alphabet (no padding): safe in URI user parts, tags,
/// Call-IDs and branches.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

pub(crate) struct Rng(ChaCha12Rng);

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rng(<redacted>)")
    }
}

impl Rng {
    pub(crate) fn new(seed: u64, secret: &[u8; 32]) -> Self {
        let mut key = *secret;
        for (k, s) in key.iter_mut().zip(seed.to_le_bytes()) {
            *k ^= s;
        }
        // A stream of its own, so the keystream never coincides with any
        // other use of the same secret bytes.
        let mut rng = ChaCha12Rng::from_seed(key);
        rng.set_stream(0x6232_6275_6121);
        Self(rng)
    }

    /// `len` base-32 characters (5 bits each).
    pub(crate) fn text(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        let mut bits = 0u64;
        let mut left = 0;
        for _ in 0..len {
            if left < 5 {
                bits = self.0.next_u64();
                left = 64;
            }
            let i = (bits & 31) as usize;
            bits >>= 5;
            left -= 5;
            out.push(char::from(ALPHABET.get(i).copied().unwrap_or(b'a')));
        }
        out
    }

    /// A tag (80 bits).
    pub(crate) fn tag(&mut self) -> String {
        self.text(16)
    }

    /// A Call-ID (120 bits), without a host part.
    pub(crate) fn call_id(&mut self) -> String {
        self.text(24)
    }

    /// A branch with the RFC 3261 magic cookie (100 bits after it).
    pub(crate) fn branch(&mut self) -> String {
        format!("{}{}", outpost_sip::MAGIC_COOKIE, self.text(20))
    }

    /// A binding token (130 bits): the user part of the Contact registered
    /// at the iPBX.
    pub(crate) fn token(&mut self) -> String {
        self.text(26)
    }

    /// 16 random bytes (nonces, cnonces).
    pub(crate) fn bytes16(&mut self) -> [u8; 16] {
        let mut b = [0u8; 16];
        self.0.fill_bytes(&mut b);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_distinct() {
        let mut a = Rng::new(7, &[1; 32]);
        let mut b = Rng::new(7, &[1; 32]);
        let mut c = Rng::new(8, &[1; 32]);
        let (x, y, z) = (a.token(), b.token(), c.token());
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert_eq!(x.len(), 26);
        assert!(x.bytes().all(|b| ALPHABET.contains(&b)));
        assert!(a.branch().starts_with("z9hG4bK"));
        assert_ne!(a.tag(), a.tag());
    }
}
