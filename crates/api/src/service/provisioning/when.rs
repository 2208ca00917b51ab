//! When a scheduled action runs: an RFC 3339 time (`2026-12-07T02:00:00Z`,
//! `2026-12-07T03:00:00+01:00`) or a delay from now (`30s`, `5m`, `1h30m`,
//! `2d`), turned into Unix seconds against the caller's `now`.
//!
//! Written here rather than taken from a date crate: the API crate needs
//! only this one conversion, and the civil-date arithmetic is a few lines
//! (H. Hinnant's `days_from_civil`).

use super::super::ServiceError;

/// The farthest ahead an action may be scheduled, seconds (one year).
pub const MAX_AHEAD_SECS: i64 = 366 * 86_400;

/// The due time of `at` (RFC 3339) or `delay` (`30s`, `1h30m`), at most
/// one of them; `None` for "at once".
///
/// # Errors
/// 422 on field `at` or `in` naming the expected form, a time in the past
/// or beyond [`MAX_AHEAD_SECS`], or both given.
pub fn due(at: Option<&str>, delay: Option<&str>, now: i64) -> Result<Option<i64>, ServiceError> {
    let (field, due) = match (at, delay) {
        (Some(_), Some(_)) => {
            return Err(ServiceError::invalid(
                "at",
                "give either a time (at) or a delay (in), not both",
            ));
        }
        (None, None) => return Ok(None),
        (Some(at), None) => (
            "at",
            rfc3339(at.trim()).map_err(|e| ServiceError::invalid("at", format!("{at:?}: {e}")))?,
        ),
        (None, Some(delay)) => {
            let secs = duration(delay.trim())
                .map_err(|e| ServiceError::invalid("in", format!("{delay:?}: {e}")))?;
            ("in", now.saturating_add(secs))
        }
    };
    if due < now {
        return Err(ServiceError::invalid(
            field,
            format!(
                "this time is {} s in the past; give a future time, or neither at nor in to run \
                 the action at once",
                now - due
            ),
        ));
    }
    if due - now > MAX_AHEAD_SECS {
        return Err(ServiceError::invalid(
            field,
            "more than a year ahead; schedule the action nearer to its time",
        ));
    }
    Ok(Some(due))
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (a space or `t`
/// instead of `T` accepted) into Unix seconds (the fraction is dropped).
///
/// # Errors
/// What is wrong, with the expected form.
pub fn rfc3339(text: &str) -> Result<i64, String> {
    const FORM: &str = "expected an RFC 3339 time such as 2026-12-07T02:00:00Z or \
                        2026-12-07T03:00:00+01:00";
    let bad = || FORM.to_owned();
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !text.is_ascii() {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
        let part = text.get(range).ok_or_else(bad)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    if bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return Err(bad());
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(format!("no such date or time; {FORM}"));
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return Err(bad()),
            };
            let (h, m) = (&rest[1..3], &rest[4..6]);
            if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if h > 23 || m > 59 {
                return Err(bad());
            }
            sign * (h * 3600 + m * 60)
        }
        _ => return Err(format!("missing or bad time zone (Z or +HH:MM); {FORM}")),
    };
    let days = days_from_civil(year, month, day);
    Ok(days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset)
}

/// Parses a delay: one or more `<number><unit>` with units `s`, `m`, `h`,
/// `d` (`30s`, `5m`, `1h30m`), at most [`MAX_AHEAD_SECS`].
///
/// # Errors
/// What is wrong, with the expected form.
pub fn duration(text: &str) -> Result<i64, String> {
    const FORM: &str = "expected a delay such as 30s, 5m, 2h, 1h30m or 1d";
    if text.is_empty() || text.len() > 32 {
        return Err(FORM.to_owned());
    }
    let mut total: i64 = 0;
    let mut number: Option<i64> = None;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            let n = number
                .unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(i64::from(d));
            number = Some(n);
            continue;
        }
        let scale = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(FORM.to_owned()),
        };
        let n = number.take().ok_or_else(|| FORM.to_owned())?;
        total = total.saturating_add(n.saturating_mul(scale));
    }
    if number.is_some() {
        return Err(format!("a number without a unit; {FORM}"));
    }
    if total > MAX_AHEAD_SECS {
        return Err("more than a year; schedule the action nearer to its time".to_owned());
    }
    Ok(total)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(rfc3339("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert_eq!(rfc3339("2023-11-14T23:13:20.5+01:00"), Ok(1_700_000_000));
        assert_eq!(rfc3339("2024-02-29 12:00:00z"), Ok(1_709_208_000));
        for bad in [
            "2023-02-29T00:00:00Z",
            "2023-11-14T22:13:20",
            "2023-11-14",
            "tomorrow",
            "2023-11-14T25:00:00Z",
            "2023-11-14T22:13:20+1",
        ] {
            assert!(rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn delays() {
        assert_eq!(duration("30s"), Ok(30));
        assert_eq!(duration("1h30m"), Ok(5400));
        assert_eq!(duration("2d"), Ok(172_800));
        for bad in ["", "30", "s", "5x", "-5s", "400d"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn due_times() {
        let now = 1_700_000_000;
        assert_eq!(due(None, None, now).ok(), Some(None));
        assert_eq!(due(None, Some("3s"), now).ok(), Some(Some(now + 3)));
        assert!(
            due(Some("2023-11-14T22:13:19Z"), None, now).is_err(),
            "past"
        );
        assert!(due(Some("2023-11-14T22:13:20Z"), Some("3s"), now).is_err());
        assert!(
            due(Some("2030-01-01T00:00:00Z"), None, now).is_err(),
            "years ahead"
        );
    }
}
