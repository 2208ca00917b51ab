//! Bounded nonce-count table for replay detection (RFC 7616 §3.4 `nc`,
//! §5.12 replay attacks).
//!
//! Nonces are stateless until first successfully used; then the table keeps
//! the highest nonce count seen. Memory is bounded by `cap` entries whatever
//! the peers do. Entries are ordered by (issue time, random), so expired ones
//! leave from the front; when the table is full the oldest live entry is
//! evicted and a *floor* remembers the largest key ever removed: a nonce at
//! or below the floor that is not in the table is reported as forgotten
//! (the caller turns it into `stale`), never accepted as new, so eviction
//! cannot re-open a replay window.

use std::collections::BTreeMap;

/// A nonce's identity: issue time (seconds) and its random bytes.
pub(crate) type NonceKey = (u64, [u8; 16]);

/// Why a nonce count was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The count is not above the highest already accepted for the nonce.
    Replay,
    /// The nonce's state was evicted: it must not be used any more.
    Forgotten,
}

#[derive(Debug)]
pub(crate) struct NonceTable {
    cap: usize,
    entries: BTreeMap<NonceKey, u32>,
    floor: Option<NonceKey>,
}

impl NonceTable {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            entries: BTreeMap::new(),
            floor: None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Records `nc` for `key` if it is above every count already accepted
    /// for that nonce. Entries issued before `expired_before` are dropped.
    pub(crate) fn record(
        &mut self,
        key: NonceKey,
        nc: u32,
        expired_before: u64,
    ) -> Result<(), Refused> {
        if let Some(highest) = self.entries.get_mut(&key) {
            if nc <= *highest {
                return Err(Refused::Replay);
            }
            *highest = nc;
            return Ok(());
        }
        if self.floor.is_some_and(|floor| key <= floor) {
            return Err(Refused::Forgotten);
        }
        while let Some((&first, _)) = self.entries.first_key_value() {
            if first.0 >= expired_before && self.entries.len() < self.cap {
                break;
            }
            // Keys at or below the floor are never inserted, so the first
            // key is always above it: the floor only moves up.
            self.floor = Some(first);
            self.entries.remove(&first);
        }
        self.entries.insert(key, nc);
        Ok(())
    }
}
