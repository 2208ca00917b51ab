//! A keyed hash for the guard's tables.
//!
//! Attackers choose the keys (source addresses, user names), so the hash is
//! keyed with a seed the binary draws at random ([`crate::Guard::with_hash_seed`]);
//! without the seed, colliding keys cannot be precomputed. The mixing is a
//! folded 64×64→128 multiply (the construction of `foldhash` and
//! `ahash`'s fallback): a few nanoseconds for a 16-byte key, where the
//! standard SipHash-1-3 costs several times more on the per-packet path.

use std::hash::{BuildHasher, Hasher};

const K1: u64 = 0x243f_6a88_85a3_08d3; // π, as in foldhash
const K2: u64 = 0x1319_8a2e_0370_7344;
const K3: u64 = 0xa409_3822_299f_31d0;

#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    // Truncations take the low and high halves of the product.
    (full as u64) ^ ((full >> 64) as u64)
}

/// Builds [`SeededHasher`]s sharing one seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seeded {
    seed: u64,
}

impl Seeded {
    pub(crate) fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// Hashes a byte string (user names).
    pub(crate) fn hash_bytes(&self, bytes: &[u8]) -> u64 {
        let mut h = self.build_hasher();
        h.write(bytes);
        h.finish()
    }
}

impl BuildHasher for Seeded {
    type Hasher = SeededHasher;
    #[inline]
    fn build_hasher(&self) -> SeededHasher {
        SeededHasher {
            seed: self.seed,
            acc: self.seed ^ K3,
        }
    }
}

/// The hasher; see the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct SeededHasher {
    seed: u64,
    acc: u64,
}

impl Hasher for SeededHasher {
    #[inline]
    fn finish(&self) -> u64 {
        fold(self.acc ^ K2, self.seed ^ K1).rotate_left(23)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        let mut word = [0u8; 8];
        word.get_mut(..rest.len())
            .unwrap_or_default()
            .copy_from_slice(rest);
        // The length separates "a" from "a\0".
        self.write_u64(u64::from_le_bytes(word) ^ ((bytes.len() as u64) << 56));
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.acc = fold(self.acc ^ v, K1 ^ self.seed);
    }

    #[inline]
    fn write_u128(&mut self, v: u128) {
        // Truncations take the low and high halves.
        let (lo, hi) = (v as u64, (v >> 64) as u64);
        self.acc = fold(self.acc ^ lo ^ self.seed, hi ^ K1);
    }

    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn seeds_change_hashes_and_spread() {
        let a = Seeded::new(1);
        let b = Seeded::new(2);
        assert_ne!(a.hash_one(7u128), b.hash_one(7u128));
        // Sequential sources land in distinct buckets of a 4096-slot table.
        let buckets: HashSet<u64> = (0u128..4096).map(|k| a.hash_one(k) & 0xfff).collect();
        assert!(buckets.len() > 2400, "{}", buckets.len());
        assert_ne!(a.hash_bytes(b"a"), a.hash_bytes(b"a\0"));
    }
}
