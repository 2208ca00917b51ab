//! A bounded table of per-source state with least-recently-seen eviction.
//!
//! Slots live in one `Vec` and are linked into an intrusive doubly linked
//! list (indices, not pointers) ordered by last use, so a lookup, a touch
//! and an eviction are O(1) and a known source costs no allocation. A slot
//! can be *pinned* (sources with live registrations): it leaves the list
//! and is never evicted; pinned slots have their own cap.

use std::collections::HashMap;

use crate::addr::Key;
use crate::hash::Seeded;

const NIL: u32 = u32::MAX;

#[derive(Debug)]
struct Slot<V> {
    key: Key,
    prev: u32,
    next: u32,
    pinned: bool,
    value: V,
}

/// The table. `V` is the per-source state.
#[derive(Debug)]
pub(crate) struct LruTable<V> {
    map: HashMap<Key, u32, Seeded>,
    slots: Vec<Slot<V>>,
    free: Vec<u32>,
    /// Most recently used unpinned slot.
    head: u32,
    /// Least recently used unpinned slot: the next to go.
    tail: u32,
    unpinned: usize,
    pinned: usize,
    cap: usize,
}

impl<V> LruTable<V> {
    /// An empty table holding at most `cap` unpinned (and `cap` pinned)
    /// entries.
    pub(crate) fn new(cap: usize, hasher: Seeded) -> Self {
        Self {
            map: HashMap::with_hasher(hasher),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            unpinned: 0,
            pinned: 0,
            cap: cap.max(1),
        }
    }

    /// Entries that may be evicted.
    pub(crate) fn unpinned_len(&self) -> usize {
        self.unpinned
    }

    /// Entries that are never evicted.
    pub(crate) fn pinned_len(&self) -> usize {
        self.pinned
    }

    /// Changes the cap, evicting the least recently used entries beyond it.
    pub(crate) fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(1);
        while self.unpinned > self.cap {
            self.evict_lru();
        }
    }

    /// The slot index of `key`, if present.
    #[inline]
    pub(crate) fn find(&self, key: Key) -> Option<u32> {
        self.map.get(&key).copied()
    }

    /// The value of `key` without touching its recency.
    pub(crate) fn peek(&self, key: Key) -> Option<&V> {
        let i = self.find(key)?;
        self.slots.get(i as usize).map(|s| &s.value)
    }

    /// Marks slot `i` most recently used.
    #[inline]
    pub(crate) fn touch(&mut self, i: u32) {
        let pinned = self.slots.get(i as usize).is_none_or(|s| s.pinned);
        if !pinned && self.head != i {
            self.unlink(i);
            self.push_front(i);
        }
    }

    /// The value in slot `i`.
    #[inline]
    pub(crate) fn value_mut(&mut self, i: u32) -> Option<&mut V> {
        self.slots.get_mut(i as usize).map(|s| &mut s.value)
    }

    /// Inserts `key` as most recently used, evicting the least recently
    /// used unpinned entry when the table is full. Returns the slot index.
    /// The caller has checked that `key` is absent.
    pub(crate) fn insert(&mut self, key: Key, value: V) -> u32 {
        if self.unpinned >= self.cap {
            self.evict_lru();
        }
        let slot = Slot {
            key,
            prev: NIL,
            next: NIL,
            pinned: false,
            value,
        };
        let i = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i as usize) {
                    *s = slot;
                }
                i
            }
            None => {
                // Slots never exceed 2 × cap ≤ 2 × 10^7, far below u32::MAX.
                let i = u32::try_from(self.slots.len()).unwrap_or(NIL - 1);
                self.slots.push(slot);
                i
            }
        };
        self.map.insert(key, i);
        self.unpinned += 1;
        self.push_front(i);
        i
    }

    /// Pins or unpins slot `i`. Pinning fails (returns false) when the
    /// pinned cap is reached.
    pub(crate) fn set_pinned(&mut self, i: u32, pin: bool) -> bool {
        let Some(current) = self.slots.get(i as usize).map(|s| s.pinned) else {
            return false;
        };
        if current == pin {
            return true;
        }
        if pin {
            if self.pinned >= self.cap {
                return false;
            }
            self.unlink(i);
            self.unpinned -= 1;
            self.pinned += 1;
        } else {
            if self.unpinned >= self.cap {
                self.evict_lru();
            }
            self.pinned -= 1;
            self.unpinned += 1;
        }
        if let Some(s) = self.slots.get_mut(i as usize) {
            s.pinned = pin;
        }
        if !pin {
            self.push_front(i);
        }
        true
    }

    /// Removes and returns the least recently used unpinned entry.
    fn evict_lru(&mut self) {
        let i = self.tail;
        if i == NIL {
            return;
        }
        self.unlink(i);
        if let Some(s) = self.slots.get(i as usize) {
            self.map.remove(&s.key);
        }
        self.free.push(i);
        self.unpinned -= 1;
    }

    fn unlink(&mut self, i: u32) {
        let Some((prev, next)) = self.slots.get(i as usize).map(|s| (s.prev, s.next)) else {
            return;
        };
        match self.slots.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.slots.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
        if let Some(s) = self.slots.get_mut(i as usize) {
            s.prev = NIL;
            s.next = NIL;
        }
    }

    fn push_front(&mut self, i: u32) {
        let old = self.head;
        if let Some(s) = self.slots.get_mut(i as usize) {
            s.prev = NIL;
            s.next = old;
        }
        match self.slots.get_mut(old as usize) {
            Some(o) => o.prev = i,
            None => self.tail = i,
        }
        self.head = i;
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn key(n: u32) -> Key {
        Key::of(IpAddr::V4(Ipv4Addr::from(n)))
    }

    #[test]
    fn evicts_least_recently_used() {
        let mut t = LruTable::new(3, Seeded::new(9));
        for n in 0..3 {
            t.insert(key(n), n);
        }
        let i0 = t.find(key(0)).unwrap();
        t.touch(i0);
        t.insert(key(3), 3); // evicts 1, the least recently used
        assert!(t.find(key(1)).is_none());
        for n in [0, 2, 3] {
            assert_eq!(t.peek(key(n)), Some(&n));
        }
        assert_eq!(t.unpinned_len(), 3);
    }

    #[test]
    fn pinned_entries_survive_and_have_their_own_cap() {
        let mut t = LruTable::new(2, Seeded::new(9));
        let i = t.insert(key(100), 100);
        assert!(t.set_pinned(i, true));
        for n in 0..50 {
            t.insert(key(n), n);
        }
        assert_eq!(t.peek(key(100)), Some(&100));
        assert_eq!((t.unpinned_len(), t.pinned_len()), (2, 1));
        let j = t.find(key(49)).unwrap();
        assert!(t.set_pinned(j, true));
        let k = t.find(key(48)).unwrap();
        assert!(!t.set_pinned(k, true), "pinned cap reached");
        assert!(t.set_pinned(i, false));
        assert_eq!((t.unpinned_len(), t.pinned_len()), (2, 1));
        t.set_cap(1);
        assert_eq!(t.unpinned_len(), 1);
        assert_eq!(t.peek(key(100)), Some(&100), "just unpinned = most recent");
    }
}
