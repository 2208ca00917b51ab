//! UDP port pools (MED-1): one per side, over a configured range.
//!
//! The pool hands out an even/odd pair (RTP, RTCP; RFC 3550 §11) or a
//! single port (rtcp-mux, RFC 5761), tracks every allocation by id and by
//! owner, and answers [`Error::PoolExhausted`] when nothing fits (the
//! caller answers 503). There is no `Drop` guard — handles are plain
//! `Copy` data the sans-IO core can store anywhere — so release cannot
//! depend on the caller keeping a guard alive; instead each allocation
//! names an owner (the call's [`SessionId`]) and
//! [`PortPool::release_owner`] frees everything a call holds in one step,
//! whatever way the call ended. [`PortPool::in_use`] lets tests and
//! metrics check the pool is back to zero.
//!
//! Allocation walks the range round-robin from a seeded random start, so
//! a port just released is the last to be reused (late packets of the old
//! call do not land in a new one) and a restart does not begin on the same
//! ports.

use std::collections::HashMap;

use crate::Error;
use crate::stream::SessionId;

/// An inclusive UDP port range, `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    first: u16,
    last: u16,
}

impl PortRange {
    /// The range `first..=last`.
    ///
    /// # Errors
    /// [`Error::InvalidRange`] if it is reversed, starts at port 0, or holds
    /// no even/odd pair.
    pub const fn new(first: u16, last: u16) -> Result<Self, Error> {
        let first_even = first as u32 + (first & 1) as u32;
        if first == 0 || last < first || first_even >= last as u32 {
            return Err(Error::InvalidRange);
        }
        Ok(Self { first, last })
    }

    /// First port.
    #[must_use]
    pub const fn first(&self) -> u16 {
        self.first
    }

    /// Last port.
    #[must_use]
    pub const fn last(&self) -> u16 {
        self.last
    }

    /// Number of ports.
    #[must_use]
    pub const fn len(&self) -> usize {
        (self.last - self.first) as usize + 1
    }

    /// Never: a valid range holds at least a pair.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        false
    }
}

/// What to allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortKind {
    /// An even RTP port and the odd RTCP port above it.
    Pair,
    /// One port carrying RTP and RTCP (rtcp-mux).
    Single,
}

/// Identifies one allocation in its pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AllocationId(u64);

/// Ports handed out by [`PortPool::allocate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "an allocation holds ports until released"]
pub struct Allocation {
    /// The pool's id for it, for [`PortPool::release`].
    pub id: AllocationId,
    /// Who holds it.
    pub owner: SessionId,
    /// RTP port (also RTCP with rtcp-mux).
    pub rtp: u16,
    /// RTCP port (`rtp + 1`), `None` for [`PortKind::Single`].
    pub rtcp: Option<u16>,
}

/// A port pool for one side.
#[derive(Debug)]
pub struct PortPool {
    range: PortRange,
    used: Vec<u64>,
    in_use: usize,
    cursor: usize,
    next_id: u64,
    allocations: HashMap<AllocationId, Allocation>,
}

impl PortPool {
    /// An empty pool over `range`, starting its round-robin walk at a
    /// position derived from `seed` (pass a random seed in production, a
    /// fixed one in tests).
    #[must_use]
    pub fn new(range: PortRange, seed: u64) -> Self {
        let len = range.len();
        Self {
            range,
            used: vec![0; len.div_ceil(64)],
            in_use: 0,
            cursor: (splitmix64(seed) % len as u64) as usize,
            next_id: 0,
            allocations: HashMap::new(),
        }
    }

    /// The configured range.
    #[must_use]
    pub const fn range(&self) -> PortRange {
        self.range
    }

    /// Ports currently allocated.
    #[must_use]
    pub const fn in_use(&self) -> usize {
        self.in_use
    }

    /// Ports currently free.
    #[must_use]
    pub const fn free(&self) -> usize {
        self.range.len() - self.in_use
    }

    /// Allocations currently held.
    #[must_use]
    pub fn allocations(&self) -> usize {
        self.allocations.len()
    }

    /// The allocation with this id, if still held.
    #[must_use]
    pub fn get(&self, id: AllocationId) -> Option<&Allocation> {
        self.allocations.get(&id)
    }

    /// Allocates a pair or a single port for `owner`.
    ///
    /// # Errors
    /// [`Error::PoolExhausted`] if nothing fits.
    pub fn allocate(&mut self, owner: SessionId, kind: PortKind) -> Result<Allocation, Error> {
        let len = self.range.len();
        let step = match kind {
            PortKind::Pair => 2,
            PortKind::Single => 1,
        };
        // Pairs start on an even port number: offsets of the parity of
        // `first_even`.
        let first_even = usize::from(self.range.first) % 2;
        let mut offset = match kind {
            PortKind::Pair => self.cursor + (usize::from(self.range.first) + self.cursor) % 2,
            PortKind::Single => self.cursor,
        };
        if offset >= len {
            offset = first_even;
        }
        for _ in 0..len.div_ceil(step) {
            let fits = match kind {
                PortKind::Pair => {
                    offset + 1 < len && !self.is_used(offset) && !self.is_used(offset + 1)
                }
                PortKind::Single => !self.is_used(offset),
            };
            if fits {
                return Ok(self.take(owner, kind, offset));
            }
            offset += step;
            if offset >= len {
                offset = match kind {
                    PortKind::Pair => first_even,
                    PortKind::Single => 0,
                };
            }
        }
        Err(Error::PoolExhausted)
    }

    fn take(&mut self, owner: SessionId, kind: PortKind, offset: usize) -> Allocation {
        let n = match kind {
            PortKind::Pair => 2,
            PortKind::Single => 1,
        };
        for o in offset..offset + n {
            self.set_used(o, true);
        }
        self.in_use += n;
        self.cursor = (offset + n) % self.range.len();
        let id = AllocationId(self.next_id);
        self.next_id += 1;
        // offset < len ≤ 65536 − first, so the port fits in u16.
        let rtp = self.range.first + offset as u16;
        let allocation = Allocation {
            id,
            owner,
            rtp,
            rtcp: (kind == PortKind::Pair).then_some(rtp + 1),
        };
        self.allocations.insert(id, allocation);
        allocation
    }

    /// Frees one allocation. Returns whether it was held (releasing twice
    /// is harmless).
    pub fn release(&mut self, id: AllocationId) -> bool {
        let Some(a) = self.allocations.remove(&id) else {
            return false;
        };
        for port in std::iter::once(a.rtp).chain(a.rtcp) {
            self.set_used(usize::from(port - self.range.first), false);
            self.in_use -= 1;
        }
        true
    }

    /// Frees everything `owner` holds; returns how many allocations that was.
    /// Call it whenever a call ends, for whatever reason.
    pub fn release_owner(&mut self, owner: SessionId) -> usize {
        let ids: Vec<AllocationId> = self
            .allocations
            .values()
            .filter(|a| a.owner == owner)
            .map(|a| a.id)
            .collect();
        for id in &ids {
            self.release(*id);
        }
        ids.len()
    }

    fn is_used(&self, offset: usize) -> bool {
        self.used
            .get(offset / 64)
            .is_some_and(|w| w & (1 << (offset % 64)) != 0)
    }

    fn set_used(&mut self, offset: usize, used: bool) {
        if let Some(w) = self.used.get_mut(offset / 64) {
            if used {
                *w |= 1 << (offset % 64);
            } else {
                *w &= !(1 << (offset % 64));
            }
        }
    }
}

/// SplitMix64: enough to spread a seed over the range.
const fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALL: SessionId = SessionId(1);

    #[test]
    fn range_validation() {
        assert_eq!(PortRange::new(20_000, 19_999), Err(Error::InvalidRange));
        assert_eq!(PortRange::new(0, 10), Err(Error::InvalidRange));
        assert_eq!(PortRange::new(20_001, 20_002), Err(Error::InvalidRange));
        assert_eq!(PortRange::new(20_000, 20_000), Err(Error::InvalidRange));
        assert_eq!(PortRange::new(20_000, 20_001).map(|r| r.len()), Ok(2));
        assert_eq!(PortRange::new(20_000, 27_999).map(|r| r.len()), Ok(8000));
        assert_eq!(PortRange::new(65_534, 65_535).map(|r| r.len()), Ok(2));
    }

    #[test]
    fn pairs_are_even_odd_and_exhaust() {
        let range = PortRange::new(20_001, 20_010).unwrap(); // pairs 20002..20009 + 20010 alone
        for seed in 0..20 {
            let mut pool = PortPool::new(range, seed);
            let mut got = Vec::new();
            while let Ok(a) = pool.allocate(CALL, PortKind::Pair) {
                assert_eq!(a.rtp % 2, 0);
                assert_eq!(a.rtcp, Some(a.rtp + 1));
                assert!(a.rtp >= 20_002 && a.rtp < 20_010);
                got.push(a.rtp);
            }
            got.sort_unstable();
            assert_eq!(got, [20_002, 20_004, 20_006, 20_008], "seed {seed}");
            assert_eq!(pool.in_use(), 8);
            assert_eq!(
                pool.allocate(CALL, PortKind::Pair),
                Err(Error::PoolExhausted)
            );
            // The odd ends are still there for rtcp-mux.
            let mut singles = Vec::new();
            while let Ok(a) = pool.allocate(CALL, PortKind::Single) {
                assert_eq!(a.rtcp, None);
                singles.push(a.rtp);
            }
            singles.sort_unstable();
            assert_eq!(singles, [20_001, 20_010]);
            assert_eq!(pool.free(), 0);
            assert_eq!(pool.release_owner(CALL), 6);
            assert_eq!(pool.in_use(), 0);
        }
    }

    #[test]
    fn release_and_accounting() {
        let mut pool = PortPool::new(PortRange::new(30_000, 30_099).unwrap(), 42);
        let a = pool.allocate(SessionId(1), PortKind::Pair).unwrap();
        let b = pool.allocate(SessionId(2), PortKind::Single).unwrap();
        let c = pool.allocate(SessionId(1), PortKind::Single).unwrap();
        assert_eq!(pool.in_use(), 4);
        assert_eq!(pool.allocations(), 3);
        assert_eq!(pool.get(b.id), Some(&b));
        assert!(pool.release(b.id));
        assert!(!pool.release(b.id), "double release is a no-op");
        assert_eq!(pool.in_use(), 3);
        assert_eq!(pool.release_owner(SessionId(1)), 2);
        assert_eq!(pool.in_use(), 0);
        assert_eq!(pool.allocations(), 0);
        assert!(pool.get(a.id).is_none() && pool.get(c.id).is_none());
    }

    #[test]
    fn released_ports_are_not_reused_at_once() {
        let mut pool = PortPool::new(PortRange::new(40_000, 40_099).unwrap(), 7);
        let first = pool.allocate(CALL, PortKind::Pair).unwrap();
        assert!(pool.release(first.id));
        // Round robin: the other 49 pairs come before the first again.
        for _ in 0..49 {
            let a = pool.allocate(CALL, PortKind::Pair).unwrap();
            assert_ne!(a.rtp, first.rtp);
        }
        assert_eq!(pool.allocate(CALL, PortKind::Pair).unwrap().rtp, first.rtp);
    }

    #[test]
    fn seed_moves_the_start() {
        let range = PortRange::new(20_000, 27_999).unwrap();
        let starts: std::collections::HashSet<u16> = (0..10)
            .map(|seed| {
                PortPool::new(range, seed)
                    .allocate(CALL, PortKind::Pair)
                    .unwrap()
                    .rtp
            })
            .collect();
        assert!(starts.len() > 5);
        let again = PortPool::new(range, 3)
            .allocate(CALL, PortKind::Pair)
            .unwrap();
        assert_eq!(
            again.rtp,
            PortPool::new(range, 3)
                .allocate(CALL, PortKind::Pair)
                .unwrap()
                .rtp
        );
    }

    #[test]
    fn top_of_port_space() {
        let mut pool = PortPool::new(PortRange::new(65_532, 65_535).unwrap(), 1);
        let a = pool.allocate(CALL, PortKind::Pair).unwrap();
        let b = pool.allocate(CALL, PortKind::Pair).unwrap();
        let mut got = [a.rtp, b.rtp];
        got.sort_unstable();
        assert_eq!(got, [65_532, 65_534]);
        assert_eq!(b.rtcp.max(a.rtcp), Some(65_535));
    }
}
