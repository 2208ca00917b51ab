//! The allow-list (prefix matching) and the two deny-lists (exact sources,
//! size cap with oldest eviction, expiry as timers-as-data).

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::addr::{Key, mask128};
use crate::hash::Seeded;
use crate::{Entry, List, Prefix};

/// SEC-2 allow-list: at most [`crate::ALLOW_LIST_MAX`] prefixes, matched
/// with one hash lookup per distinct prefix length in use (usually one or
/// two: /32 and /24).
#[derive(Debug)]
pub(crate) struct AllowList {
    entries: Vec<Entry>,
    /// `(value, length)` in the `u128` key space; IPv4 lengths are 96..=128
    /// and IPv6 lengths 0..=64, so the family is implied.
    set: HashSet<(u128, u8), Seeded>,
    /// Distinct lengths in `set`, longest first.
    lens: Vec<u8>,
    /// Bumped on every change, so cached answers can be invalidated.
    generation: u32,
}

impl AllowList {
    pub(crate) fn new(hasher: Seeded) -> Self {
        Self {
            entries: Vec::new(),
            set: HashSet::with_hasher(hasher),
            lens: Vec::new(),
            generation: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn generation(&self) -> u32 {
        self.generation
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub(crate) fn get(&self, prefix: &Prefix) -> Option<&Entry> {
        self.entries.iter().find(|e| e.prefix == *prefix)
    }

    #[inline]
    pub(crate) fn contains(&self, key: Key) -> bool {
        let v4 = key.is_v4();
        self.lens
            .iter()
            .any(|&len| (len >= 96) == v4 && self.set.contains(&(key.bits() & mask128(len), len)))
    }

    /// Adds `entry` (the caller checked the cap and duplicates).
    pub(crate) fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
        self.reindex();
    }

    pub(crate) fn remove(&mut self, prefix: &Prefix) -> Option<Entry> {
        let i = self.entries.iter().position(|e| e.prefix == *prefix)?;
        let entry = self.entries.remove(i);
        self.reindex();
        Some(entry)
    }

    pub(crate) fn clear(&mut self) -> Vec<Entry> {
        let gone = std::mem::take(&mut self.entries);
        self.reindex();
        gone
    }

    fn reindex(&mut self) {
        self.set.clear();
        self.lens.clear();
        for e in &self.entries {
            let (bits, len) = e.prefix.space();
            self.set.insert((bits, len));
            if !self.lens.contains(&len) {
                self.lens.push(len);
            }
        }
        self.lens.sort_unstable_by(|a, b| b.cmp(a));
        self.generation = self.generation.wrapping_add(1);
    }
}

#[derive(Debug)]
struct DenySlot {
    entry: Entry,
    seq: u64,
    /// Expiry in guard milliseconds; `None` for never.
    expires_ms: Option<u64>,
}

/// The DoS and brute-force deny-lists. A source is on at most one of them
/// (the first to deny it wins: once denied its traffic is dropped, so it
/// cannot trip the other).
#[derive(Debug)]
pub(crate) struct DenyLists {
    map: HashMap<Key, u32, Seeded>,
    slots: Vec<Option<DenySlot>>,
    free: Vec<u32>,
    /// Per list (0 = DoS, 1 = brute force), insertion order: oldest first.
    order: [BTreeSet<(u64, u32)>; 2],
    /// Pending expiries: `(expires_ms, seq, slot)`.
    expiry: BTreeSet<(u64, u64, u32)>,
    next_seq: u64,
}

fn list_index(list: List) -> usize {
    usize::from(list == List::BruteForce)
}

impl DenyLists {
    pub(crate) fn new(hasher: Seeded) -> Self {
        Self {
            map: HashMap::with_hasher(hasher),
            slots: Vec::new(),
            free: Vec::new(),
            order: [BTreeSet::new(), BTreeSet::new()],
            expiry: BTreeSet::new(),
            next_seq: 0,
        }
    }

    pub(crate) fn len(&self, list: List) -> usize {
        self.order.get(list_index(list)).map_or(0, BTreeSet::len)
    }

    /// The entry denying `key` at guard time `now_ms`, unless it has
    /// expired (an expired entry is removed by the next `expire` call).
    #[inline]
    pub(crate) fn check(&self, key: Key, now_ms: u64) -> Option<List> {
        let i = *self.map.get(&key)?;
        let slot = self.slots.get(i as usize)?.as_ref()?;
        match slot.expires_ms {
            Some(at) if at <= now_ms => None,
            _ => Some(slot.entry.list),
        }
    }

    pub(crate) fn get(&self, key: Key) -> Option<&Entry> {
        let i = *self.map.get(&key)?;
        self.slots.get(i as usize)?.as_ref().map(|s| &s.entry)
    }

    /// Adds `entry` for `key` (absent), evicting the oldest entries of its
    /// list while it holds `max` or more. Returns the evicted entries.
    pub(crate) fn insert(
        &mut self,
        key: Key,
        entry: Entry,
        expires_ms: Option<u64>,
        max: usize,
    ) -> Vec<Entry> {
        let li = list_index(entry.list);
        let mut evicted = Vec::new();
        while self.len(entry.list) >= max.max(1) {
            let Some(&(_, slot)) = self.order.get(li).and_then(BTreeSet::first) else {
                break;
            };
            match self.remove_slot(slot) {
                Some(e) => evicted.push(e),
                None => break,
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = DenySlot {
            entry,
            seq,
            expires_ms,
        };
        let i = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i as usize) {
                    *s = Some(slot);
                }
                i
            }
            None => {
                // At most 2 × 100 000 slots (two lists at the largest cap).
                let i = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                self.slots.push(Some(slot));
                i
            }
        };
        self.map.insert(key, i);
        if let Some(o) = self.order.get_mut(li) {
            o.insert((seq, i));
        }
        if let Some(at) = expires_ms {
            self.expiry.insert((at, seq, i));
        }
        evicted
    }

    /// Evicts the oldest entries of `list` beyond `max`.
    pub(crate) fn shrink(&mut self, list: List, max: usize) -> Vec<Entry> {
        let mut evicted = Vec::new();
        while self.len(list) > max {
            let Some(&(_, slot)) = self.order.get(list_index(list)).and_then(BTreeSet::first)
            else {
                break;
            };
            match self.remove_slot(slot) {
                Some(e) => evicted.push(e),
                None => break,
            }
        }
        evicted
    }

    pub(crate) fn remove(&mut self, key: Key) -> Option<Entry> {
        let i = *self.map.get(&key)?;
        self.remove_slot(i)
    }

    /// Removes the entries (of `list`, or of both lists) that lie inside
    /// any of `within`.
    pub(crate) fn remove_within(&mut self, within: &[Prefix], list: Option<List>) -> Vec<Entry> {
        let doomed: Vec<u32> = self
            .iter_slots()
            .filter(|(_, s)| list.is_none_or(|l| s.entry.list == l))
            .filter(|(_, s)| within.iter().any(|p| p.covers(&s.entry.prefix)))
            .map(|(i, _)| i)
            .collect();
        self.remove_all(doomed)
    }

    pub(crate) fn clear(&mut self, list: Option<List>) -> Vec<Entry> {
        let doomed: Vec<u32> = self
            .iter_slots()
            .filter(|(_, s)| list.is_none_or(|l| s.entry.list == l))
            .map(|(i, _)| i)
            .collect();
        self.remove_all(doomed)
    }

    /// Removes and returns the entries expired at `now_ms`.
    pub(crate) fn expire(&mut self, now_ms: u64) -> Vec<Entry> {
        let mut gone = Vec::new();
        while let Some(&(at, _, slot)) = self.expiry.first() {
            if at > now_ms {
                break;
            }
            match self.remove_slot(slot) {
                Some(e) => gone.push(e),
                // Cannot happen (the slot is live while in the set); drop
                // the stale timer rather than loop.
                None => {
                    self.expiry.pop_first();
                }
            }
        }
        gone
    }

    /// The earliest pending expiry, in guard milliseconds.
    pub(crate) fn next_expiry(&self) -> Option<u64> {
        self.expiry.first().map(|&(at, _, _)| at)
    }

    /// Entries of `list` (or both), oldest first.
    pub(crate) fn entries(&self, list: Option<List>) -> Vec<Entry> {
        let mut out: Vec<(u64, &Entry)> = self
            .iter_slots()
            .filter(|(_, s)| list.is_none_or(|l| s.entry.list == l))
            .map(|(_, s)| (s.seq, &s.entry))
            .collect();
        out.sort_unstable_by_key(|(seq, _)| *seq);
        out.into_iter().map(|(_, e)| e.clone()).collect()
    }

    fn iter_slots(&self) -> impl Iterator<Item = (u32, &DenySlot)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            let s = s.as_ref()?;
            Some((u32::try_from(i).ok()?, s))
        })
    }

    fn remove_all(&mut self, mut doomed: Vec<u32>) -> Vec<Entry> {
        doomed.sort_unstable_by_key(|&i| {
            self.slots
                .get(i as usize)
                .and_then(Option::as_ref)
                .map_or(0, |s| s.seq)
        });
        doomed
            .into_iter()
            .filter_map(|i| self.remove_slot(i))
            .collect()
    }

    fn remove_slot(&mut self, i: u32) -> Option<Entry> {
        let slot = self.slots.get_mut(i as usize)?.take()?;
        self.map.remove(&Key::of(slot.entry.prefix.addr()));
        if let Some(o) = self.order.get_mut(list_index(slot.entry.list)) {
            o.remove(&(slot.seq, i));
        }
        if let Some(at) = slot.expires_ms {
            self.expiry.remove(&(at, slot.seq, i));
        }
        self.free.push(i);
        Some(slot.entry)
    }
}
