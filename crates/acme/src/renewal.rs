//! When to renew and when to try again after a failure: pure functions of
//! the time they are given, so the caller's scheduler (and its tests) own
//! the clock.

use std::time::Duration;

use time::OffsetDateTime;

/// Renew this many days before expiry unless configured otherwise (issue
/// 17; Let's Encrypt's own advice for 90-day certificates).
pub const DEFAULT_RENEW_BEFORE_DAYS: u32 = 30;

/// The instant from which a certificate expiring at `not_after` is due for
/// renewal: `renew_before_days` days before it.
pub fn renewal_at(not_after: OffsetDateTime, renew_before_days: u32) -> OffsetDateTime {
    let before = time::Duration::days(i64::from(renew_before_days));
    // Only a not_after near the earliest representable date underflows;
    // such a certificate is due from the start of time.
    not_after
        .checked_sub(before)
        .unwrap_or(time::PrimitiveDateTime::MIN.assume_utc())
}

/// Whether a certificate expiring at `not_after` should be renewed at
/// `now`. Also true once it has expired.
///
/// A certificate whose whole lifetime is shorter than `renew_before_days`
/// is due at once after issuance: the caller then renews on every check,
/// which the back-off of [`retry_delay`] does not limit. For short-lived
/// certificates give a smaller `renew_before_days`.
pub fn renewal_due(not_after: OffsetDateTime, now: OffsetDateTime, renew_before_days: u32) -> bool {
    now >= renewal_at(not_after, renew_before_days)
}

/// The back-off schedule after failed attempts: 1 min, 5 min, 30 min,
/// 2 h, then every 6 h.
const SCHEDULE: [Duration; 5] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(6 * 3600),
];

/// How long to wait before the next attempt after `failures` consecutive
/// failed attempts (1 for the first failure). Capped at 6 h, so a
/// certificate with 30 days left gets about 120 more tries before it
/// expires, while a CA's rate limit is never hammered.
pub fn retry_delay(failures: u32) -> Duration {
    let index = usize::try_from(failures.saturating_sub(1)).unwrap_or(usize::MAX);
    SCHEDULE[index.min(SCHEDULE.len() - 1)]
}

/// When to try again after `failures` consecutive failures, the last one
/// at `failed_at`; never later than `not_after` minus one hour, so the
/// last try before expiry is not skipped by a long back-off.
pub fn next_retry(
    failed_at: OffsetDateTime,
    failures: u32,
    not_after: OffsetDateTime,
) -> OffsetDateTime {
    let delay = time::Duration::try_from(retry_delay(failures)).unwrap_or(time::Duration::HOUR);
    let next = failed_at.checked_add(delay).unwrap_or(failed_at);
    let last_chance = not_after
        .checked_sub(time::Duration::HOUR)
        .unwrap_or(not_after);
    if next > last_chance && failed_at < last_chance {
        last_chance
    } else {
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOT_AFTER: OffsetDateTime = datetime!(2027-03-31 12:00 UTC);

    #[test]
    fn not_due_until_30_days_before_expiry() {
        assert!(!renewal_due(NOT_AFTER, datetime!(2027-01-01 00:00 UTC), 30));
        assert!(!renewal_due(
            NOT_AFTER,
            datetime!(2027-03-01 11:59:59 UTC),
            30
        ));
        assert!(renewal_due(NOT_AFTER, datetime!(2027-03-01 12:00 UTC), 30));
        assert!(renewal_due(NOT_AFTER, datetime!(2027-03-20 00:00 UTC), 30));
    }

    #[test]
    fn expired_is_due_and_zero_days_means_at_expiry() {
        assert!(renewal_due(NOT_AFTER, datetime!(2028-01-01 00:00 UTC), 30));
        assert!(!renewal_due(NOT_AFTER, datetime!(2027-03-31 11:59 UTC), 0));
        assert!(renewal_due(NOT_AFTER, NOT_AFTER, 0));
    }

    #[test]
    fn extreme_values_do_not_panic() {
        assert!(renewal_due(
            NOT_AFTER,
            datetime!(2027-01-01 00:00 UTC),
            u32::MAX
        ));
        let early = datetime!(-9999-01-01 00:00 UTC);
        assert!(renewal_due(early, early, 30));
        let late = datetime!(9999-12-31 23:59 UTC);
        let _ = next_retry(late, u32::MAX, late);
    }

    #[test]
    fn renewal_at_is_the_threshold() {
        assert_eq!(renewal_at(NOT_AFTER, 30), datetime!(2027-03-01 12:00 UTC));
        assert_eq!(
            renewal_at(NOT_AFTER, DEFAULT_RENEW_BEFORE_DAYS),
            datetime!(2027-03-01 12:00 UTC)
        );
    }

    #[test]
    fn back_off_grows_then_stays_at_6_hours() {
        let minutes: Vec<u64> = (1..=8).map(|n| retry_delay(n).as_secs() / 60).collect();
        assert_eq!(minutes, [1, 5, 30, 120, 360, 360, 360, 360]);
        assert_eq!(retry_delay(0), Duration::from_secs(60));
        assert_eq!(retry_delay(u32::MAX), Duration::from_secs(6 * 3600));
    }

    #[test]
    fn next_retry_follows_the_schedule_but_keeps_a_last_chance() {
        let failed = datetime!(2027-03-01 12:00 UTC);
        assert_eq!(
            next_retry(failed, 1, NOT_AFTER),
            datetime!(2027-03-01 12:01 UTC)
        );
        assert_eq!(
            next_retry(failed, 9, NOT_AFTER),
            datetime!(2027-03-01 18:00 UTC)
        );
        // Three hours left: the 6 h back-off would pass expiry.
        let failed = datetime!(2027-03-31 09:00 UTC);
        assert_eq!(
            next_retry(failed, 9, NOT_AFTER),
            datetime!(2027-03-31 11:00 UTC)
        );
        // Past the last chance: plain back-off, no retry storm.
        let failed = datetime!(2027-03-31 11:30 UTC);
        assert_eq!(
            next_retry(failed, 9, NOT_AFTER),
            datetime!(2027-03-31 17:30 UTC)
        );
    }
}
