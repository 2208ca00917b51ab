//! RFC 2782 ordering of SRV records.

use rand_core::RngCore;

/// Orders SRV records for trying, per RFC 2782 ("Usage rules"): by
/// priority, lowest first; within one priority, a weighted random order in
/// which a record's chance of coming next is proportional to its weight,
/// and records of weight 0 have a very small chance of coming first.
///
/// `priority_weight` gives a record's `(priority, weight)`. `rng` is the
/// random source (seeded in tests). Records with the same priority and all
/// weights 0 keep their input order.
pub fn order_srv<T, R>(
    records: Vec<T>,
    priority_weight: impl Fn(&T) -> (u16, u16),
    rng: &mut R,
) -> Vec<T>
where
    R: RngCore + ?Sized,
{
    let mut records = records;
    records.sort_by_key(|r| priority_weight(r).0);
    let mut out = Vec::with_capacity(records.len());
    let mut rest = records.into_iter().peekable();
    while let Some(first) = rest.next() {
        let priority = priority_weight(&first).0;
        let mut group = vec![first];
        while let Some(next) = rest.next_if(|r| priority_weight(r).0 == priority) {
            group.push(next);
        }
        // "arrange all SRV RRs (that have not been ordered yet) in any
        // order, except that all those with weight 0 are placed at the
        // beginning of the list"
        group.sort_by_key(|r| priority_weight(r).1 != 0);
        while !group.is_empty() {
            let total: u64 = group.iter().map(|r| u64::from(priority_weight(r).1)).sum();
            // "choose a uniform random number between 0 and the sum
            // computed (inclusive), and select the RR whose running sum
            // value is the first in the selected order which is greater
            // than or equal to the random number selected"
            let pick = if total == 0 {
                0
            } else {
                rng.next_u64() % (total + 1)
            };
            let mut running = 0u64;
            let index = group
                .iter()
                .position(|r| {
                    running += u64::from(priority_weight(r).1);
                    running >= pick
                })
                .unwrap_or(group.len() - 1);
            out.push(group.remove(index));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    /// Returns the given values in turn (then zeros).
    struct Script(Vec<u64>);

    impl RngCore for Script {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            if self.0.is_empty() {
                0
            } else {
                self.0.remove(0)
            }
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            dst.fill(0);
        }
    }

    fn names(v: Vec<(&'static str, u16, u16)>, rng: &mut impl RngCore) -> Vec<&'static str> {
        order_srv(v, |r| (r.1, r.2), rng)
            .into_iter()
            .map(|r| r.0)
            .collect()
    }

    #[test]
    fn lower_priority_first_whatever_the_weights() {
        let v = vec![("b", 20, 100), ("a", 10, 0), ("c", 30, 65535)];
        assert_eq!(names(v, &mut ChaCha8Rng::seed_from_u64(1)), ["a", "b", "c"]);
    }

    #[test]
    fn weights_pick_by_running_sum() {
        // Weights 10, 30, 60 (sum 100): a pick of 5 selects the first, 35 the
        // second, 100 the third.
        let v = || vec![("a", 1, 10), ("b", 1, 30), ("c", 1, 60)];
        assert_eq!(names(v(), &mut Script(vec![5, 0, 0])), ["a", "b", "c"]);
        // 35 selects b; then a and c remain (sum 70), 11 selects c (10 < 11).
        assert_eq!(names(v(), &mut Script(vec![35, 11])), ["b", "c", "a"]);
        assert_eq!(names(v(), &mut Script(vec![100, 0])), ["c", "a", "b"]);
    }

    #[test]
    fn zero_weight_first_only_on_a_zero_pick() {
        let v = || vec![("heavy", 1, 50), ("zero", 1, 0)];
        assert_eq!(names(v(), &mut Script(vec![0])), ["zero", "heavy"]);
        assert_eq!(names(v(), &mut Script(vec![1])), ["heavy", "zero"]);
    }

    #[test]
    fn all_zero_weights_keep_their_order() {
        let v = vec![("a", 1, 0), ("b", 1, 0), ("c", 1, 0)];
        assert_eq!(names(v, &mut ChaCha8Rng::seed_from_u64(7)), ["a", "b", "c"]);
    }

    #[test]
    fn seeded_shares_follow_the_weights() {
        // Weight 90 vs 10: over 2000 seeded runs the heavy one comes first
        // about 90% of the time (91/101 with the inclusive pick).
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let first_heavy = (0..2000)
            .filter(|_| names(vec![("light", 5, 10), ("heavy", 5, 90)], &mut rng)[0] == "heavy")
            .count();
        assert!((1700..1900).contains(&first_heavy), "{first_heavy}");
    }

    #[test]
    fn empty_and_single() {
        assert!(names(vec![], &mut Script(vec![])).is_empty());
        assert_eq!(names(vec![("a", 0, 0)], &mut Script(vec![])), ["a"]);
    }
}
