//! Nonces never accepted twice (RFC 5849 §3.3): a nonce is unique per
//! client, token and timestamp. Only requests within the timestamp window
//! get this far, so a nonce older than the window can be forgotten: its
//! replay would be refused as stale. Memory is bounded by a capacity;
//! when it is full a request is refused rather than a nonce forgotten
//! early, which would open a replay.

use std::collections::{BTreeSet, HashSet};

use crate::OAuthError;

/// Longest nonce remembered; clients send 20–45 characters.
pub(crate) const MAX_NONCE_LEN: usize = 128;

/// The nonces seen within the window.
#[derive(Debug)]
pub struct NonceMemory {
    capacity: usize,
    /// `(timestamp, key)` in timestamp order, for forgetting.
    by_time: BTreeSet<(u64, String)>,
    /// The same keys with their timestamp, for lookup.
    seen: HashSet<(u64, String)>,
}

impl NonceMemory {
    /// Remembers at most `capacity` nonces at once.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            by_time: BTreeSet::new(),
            seen: HashSet::new(),
        }
    }

    /// How many nonces are remembered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether none is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Accepts (and remembers) the nonce unless it was seen with the same
    /// client, token and timestamp. `oldest` is the oldest timestamp still
    /// inside the window: everything before it is forgotten first.
    ///
    /// # Errors
    /// [`OAuthError::ReplayedNonce`], or [`OAuthError::NonceMemoryFull`]
    /// when `capacity` nonces inside the window are remembered.
    pub(crate) fn accept(
        &mut self,
        client: &str,
        token: &str,
        nonce: &str,
        timestamp: u64,
        oldest: u64,
    ) -> Result<(), OAuthError> {
        self.forget_before(oldest);
        // The separator cannot occur in a percent-decoded UTF-8 key part
        // that the caller bounded; NUL keeps the parts apart.
        let key = format!("{client}\0{token}\0{nonce}");
        let entry = (timestamp, key);
        if self.seen.contains(&entry) {
            return Err(OAuthError::ReplayedNonce);
        }
        if self.seen.len() >= self.capacity {
            return Err(OAuthError::NonceMemoryFull);
        }
        self.by_time.insert(entry.clone());
        self.seen.insert(entry);
        Ok(())
    }

    fn forget_before(&mut self, oldest: u64) {
        while let Some(first) = self.by_time.first() {
            if first.0 >= oldest {
                break;
            }
            if let Some(entry) = self.by_time.pop_first() {
                self.seen.remove(&entry);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_once_per_client_token_and_time() {
        let mut m = NonceMemory::new(10);
        m.accept("c", "t", "n", 100, 0).unwrap();
        assert_eq!(
            m.accept("c", "t", "n", 100, 0),
            Err(OAuthError::ReplayedNonce)
        );
        m.accept("c", "t", "n", 101, 0).unwrap();
        m.accept("c", "u", "n", 100, 0).unwrap();
        m.accept("d", "t", "n", 100, 0).unwrap();
    }

    #[test]
    fn memory_is_bounded_and_old_nonces_are_forgotten() {
        let mut m = NonceMemory::new(3);
        for (i, ts) in [100, 101, 102].into_iter().enumerate() {
            m.accept("c", "", &i.to_string(), ts, 0).unwrap();
        }
        assert_eq!(
            m.accept("c", "", "x", 103, 0),
            Err(OAuthError::NonceMemoryFull)
        );
        // The window moved past 101: two are forgotten, room again.
        m.accept("c", "", "x", 103, 102).unwrap();
        assert_eq!(m.len(), 2);
    }
}
