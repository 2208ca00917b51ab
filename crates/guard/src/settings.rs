//! The guard's settings (SEC-1, SEC-3, SEC-4, SEC-5, SEC-6), their ranges
//! and defaults, validation that reports every problem at once, and the
//! string form they are persisted in (`key = value` pairs).
//!
//! Ranges marked "seed" are the vendor's (DoS and DDoS threshold 10..5000
//! requests per 2..10 s window; the seven deny periods; 100 allow-list
//! addresses); the others are ours and say why next to the constant.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use crate::Error;

/// The security level (SEC-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Level {
    /// No rate limiting and no allow-list. Malicious-call (SEC-5) and
    /// brute-force (SEC-6) protection still run, and the sources they put
    /// on the deny-lists are still dropped: the seed keeps the DoS deny-list
    /// tab in this level because malicious-call control "is always done".
    None,
    /// Per-source (DoS) and global (DDoS) rate limiting, allow-list
    /// exemptions, deny-lists. The default on a first installation.
    #[default]
    AutoProtection,
    /// Only allow-listed sources may send SIP; deny-lists still apply first.
    AllowListOnly,
}

impl Level {
    /// Every level, in the order the seed lists them.
    pub const ALL: [Self; 3] = [Self::None, Self::AutoProtection, Self::AllowListOnly];

    /// The persisted and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::AutoProtection => "auto-protection",
            Self::AllowListOnly => "allow-list-only",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| format!("allowed: {}", names(Self::ALL.map(Self::as_str))))
    }
}

/// How long an automatic deny-list entry lasts (SEC-3; the seed's seven
/// choices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DenyPeriod {
    /// 30 seconds.
    Secs30,
    /// 5 minutes.
    Mins5,
    /// 30 minutes.
    Mins30,
    /// 1 hour: the default (SPEC SEC-3 and the seed's §2.7.2; its §2.7.1
    /// says "indefinite by default", which §2.7.2 and the SPEC overrule).
    #[default]
    Hour1,
    /// 1 day.
    Day1,
    /// 1 week.
    Week1,
    /// Until an operator removes the entry (or it is evicted).
    Never,
}

impl DenyPeriod {
    /// Every period, shortest first.
    pub const ALL: [Self; 7] = [
        Self::Secs30,
        Self::Mins5,
        Self::Mins30,
        Self::Hour1,
        Self::Day1,
        Self::Week1,
        Self::Never,
    ];

    /// The period's length; `None` for [`DenyPeriod::Never`].
    pub fn duration(self) -> Option<Duration> {
        let secs = match self {
            Self::Secs30 => 30,
            Self::Mins5 => 5 * 60,
            Self::Mins30 => 30 * 60,
            Self::Hour1 => 3600,
            Self::Day1 => 86_400,
            Self::Week1 => 7 * 86_400,
            Self::Never => return None,
        };
        Some(Duration::from_secs(secs))
    }

    /// The persisted and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Secs30 => "30s",
            Self::Mins5 => "5min",
            Self::Mins30 => "30min",
            Self::Hour1 => "1h",
            Self::Day1 => "1d",
            Self::Week1 => "1w",
            Self::Never => "never",
        }
    }
}

impl fmt::Display for DenyPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DenyPeriod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("allowed: {}", names(Self::ALL.map(Self::as_str))))
    }
}

/// Seed: "Seuil : 10 à 5000" for both DoS and DDoS.
pub const THRESHOLD_RANGE: RangeInclusive<u32> = 10..=5000;
/// Seed: "Fenêtre (secondes) : 2 à 10" for both DoS and DDoS.
pub const WINDOW_SECS_RANGE: RangeInclusive<u64> = 2..=10;
/// Ours: at least 10 entries; at most 100 000 (a few MB) so that a botnet
/// cannot make the list, its persistence or its listing unbounded.
pub const DENY_LIST_MAX_RANGE: RangeInclusive<usize> = 10..=100_000;
/// Ours: 3 failures is the least that tells an attack from a typo.
pub const BRUTEFORCE_THRESHOLD_RANGE: RangeInclusive<u32> = 3..=1000;
/// Ours: 10 s to 1 h.
pub const SLOW_WINDOW_SECS_RANGE: RangeInclusive<u64> = 10..=3600;
/// Ours: distinct unknown users are remembered one hash each, so the upper
/// bound also bounds the memory per suspect.
pub const ENUMERATION_THRESHOLD_RANGE: RangeInclusive<u32> = 3..=100;
/// Ours: requests per DoS window granted per live registration.
pub const REGISTERED_ALLOWANCE_RANGE: RangeInclusive<u32> = 10..=5000;
/// Ours: the tracked-source table's cap (about 100 bytes per source).
pub const MAX_TRACKED_RANGE: RangeInclusive<usize> = 1000..=10_000_000;
/// SEC-2 and the seed: "100 adresses IP de confiance peuvent être saisies".
pub const ALLOW_LIST_MAX: usize = 100;

/// Everything the guard can be told. [`Settings::default`] is a first
/// installation; [`Settings::validate`] checks the ranges above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// SEC-1 security level.
    pub level: Level,
    /// SEC-3: a source sending more than this many requests within one
    /// [`Settings::dos_window`] is put on the DoS deny-list (10..=5000).
    ///
    /// Default 500 (per 10 s): the first burst of an office of 50 phones
    /// behind one NAT rebooting together — each sends a REGISTER, is
    /// challenged, and may retransmit before any registration is live —
    /// is at most about 150 requests, so 500 leaves a threefold margin,
    /// while a flood of 1000 requests/s is cut within half a second. Once
    /// the phones are registered, [`Settings::registered_allowance`] takes
    /// over.
    pub dos_threshold: u32,
    /// SEC-3 counting window, whole seconds in 2..=10. Default 10 s: the
    /// longest window smooths the bursts of legitimate phones (reboots,
    /// BLF subscriptions) at no cost against a sustained flood.
    pub dos_window: Duration,
    /// SEC-3 lifetime of automatic deny-list entries (both lists).
    pub deny_period: DenyPeriod,
    /// SEC-3 maximum size of each deny-list; the oldest entry is evicted to
    /// make room. Default 10 000.
    pub deny_list_max: usize,
    /// SEC-4: above this many requests per [`Settings::ddos_window`] from
    /// sources that are neither allow-listed nor registered, only
    /// allow-listed and registered sources are served (10..=5000).
    ///
    /// Default 5000 per 10 s (the seed's maximum): the DDoS filter's
    /// collateral damage — phones whose registration lapsed cannot come
    /// back while it is on — is worse than its benefit at lower rates,
    /// which per-source limits handle.
    pub ddos_threshold: u32,
    /// SEC-4 window, whole seconds in 2..=10. Default 10 s.
    pub ddos_window: Duration,
    /// SEC-6: more digest failures than this from one source within
    /// [`Settings::bruteforce_window`] put it on the brute-force list
    /// (3..=1000, default 10). A source with `n` live registrations may
    /// fail `threshold × (n + 1)` times, so one misconfigured phone does
    /// not get its whole office banned.
    pub bruteforce_threshold: u32,
    /// SEC-6 window, whole seconds in 10..=3600. Default 60 s.
    pub bruteforce_window: Duration,
    /// SEC-5: more distinct unknown users than this, addressed by one
    /// unauthenticated source within [`Settings::enumeration_window`],
    /// put it on the DoS deny-list (3..=100, default 10).
    pub enumeration_threshold: u32,
    /// SEC-5 enumeration window, whole seconds in 10..=3600. Default 60 s.
    pub enumeration_window: Duration,
    /// SEC-3 shared-NAT allowance: a source with `n` live authenticated
    /// registrations may send `dos_threshold + n × registered_allowance`
    /// requests per DoS window (10..=5000, default 100).
    ///
    /// 100 per phone per 10 s covers a receptionist's phone with 50 BLF
    /// keys, a call with DTMF as INFO and a re-registration in the same
    /// window; 50 phones behind one NAT then get 5 500 per 10 s.
    pub registered_allowance: u32,
    /// Cap on the number of sources tracked for rate counting; the least
    /// recently seen is forgotten first. Sources with live registrations
    /// are kept apart (up to as many again), so a spoofed flood cannot make
    /// the guard forget them. Default 100 000 (about 10 MB).
    pub max_tracked_sources: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            level: Level::AutoProtection,
            dos_threshold: 500,
            dos_window: Duration::from_secs(10),
            deny_period: DenyPeriod::Hour1,
            deny_list_max: 10_000,
            ddos_threshold: 5000,
            ddos_window: Duration::from_secs(10),
            bruteforce_threshold: 10,
            bruteforce_window: Duration::from_secs(60),
            enumeration_threshold: 10,
            enumeration_window: Duration::from_secs(60),
            registered_allowance: 100,
            max_tracked_sources: 100_000,
        }
    }
}

/// One refused setting: the field, the value as given and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} = {value}: {message}")]
pub struct SettingError {
    /// The field (also the persisted key), e.g. `dos_threshold`.
    pub field: String,
    /// The value as given.
    pub value: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl SettingError {
    fn new(field: &str, value: impl fmt::Display, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            value: value.to_string(),
            message: message.into(),
        }
    }
}

/// The persisted keys, in display order.
pub const KEYS: [&str; 13] = [
    "level",
    "dos_threshold",
    "dos_window",
    "deny_period",
    "deny_list_max",
    "ddos_threshold",
    "ddos_window",
    "bruteforce_threshold",
    "bruteforce_window",
    "enumeration_threshold",
    "enumeration_window",
    "registered_allowance",
    "max_tracked_sources",
];

impl Settings {
    /// Checks every field against its range.
    ///
    /// # Errors
    /// [`Error::Settings`] listing every field out of range.
    pub fn validate(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        let mut check = |field: &str, ok: bool, value: String, allowed: String| {
            if !ok {
                errors.push(SettingError::new(
                    field,
                    value,
                    format!("out of range; allowed {allowed}"),
                ));
            }
        };
        let u32_field = |r: &RangeInclusive<u32>, v: u32| (r.contains(&v), v.to_string(), range(r));
        let usize_field =
            |r: &RangeInclusive<usize>, v: usize| (r.contains(&v), v.to_string(), range(r));
        let secs_field = |r: &RangeInclusive<u64>, d: Duration| {
            let whole = d.subsec_nanos() == 0;
            let shown = if whole {
                d.as_secs().to_string()
            } else {
                format!("{}s", d.as_secs_f64())
            };
            (
                whole && r.contains(&d.as_secs()),
                shown,
                format!("{} whole seconds", range(r)),
            )
        };
        let fields = [
            (
                "dos_threshold",
                u32_field(&THRESHOLD_RANGE, self.dos_threshold),
            ),
            (
                "dos_window",
                secs_field(&WINDOW_SECS_RANGE, self.dos_window),
            ),
            (
                "deny_list_max",
                usize_field(&DENY_LIST_MAX_RANGE, self.deny_list_max),
            ),
            (
                "ddos_threshold",
                u32_field(&THRESHOLD_RANGE, self.ddos_threshold),
            ),
            (
                "ddos_window",
                secs_field(&WINDOW_SECS_RANGE, self.ddos_window),
            ),
            (
                "bruteforce_threshold",
                u32_field(&BRUTEFORCE_THRESHOLD_RANGE, self.bruteforce_threshold),
            ),
            (
                "bruteforce_window",
                secs_field(&SLOW_WINDOW_SECS_RANGE, self.bruteforce_window),
            ),
            (
                "enumeration_threshold",
                u32_field(&ENUMERATION_THRESHOLD_RANGE, self.enumeration_threshold),
            ),
            (
                "enumeration_window",
                secs_field(&SLOW_WINDOW_SECS_RANGE, self.enumeration_window),
            ),
            (
                "registered_allowance",
                u32_field(&REGISTERED_ALLOWANCE_RANGE, self.registered_allowance),
            ),
            (
                "max_tracked_sources",
                usize_field(&MAX_TRACKED_RANGE, self.max_tracked_sources),
            ),
        ];
        for (field, (ok, value, allowed)) in fields {
            check(field, ok, value, allowed);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Settings(errors))
        }
    }

    /// The settings as persisted `(key, value)` pairs, in [`KEYS`] order.
    /// Windows are whole seconds; the level and period use their names.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let secs = |d: Duration| d.as_secs().to_string();
        vec![
            ("level", self.level.to_string()),
            ("dos_threshold", self.dos_threshold.to_string()),
            ("dos_window", secs(self.dos_window)),
            ("deny_period", self.deny_period.to_string()),
            ("deny_list_max", self.deny_list_max.to_string()),
            ("ddos_threshold", self.ddos_threshold.to_string()),
            ("ddos_window", secs(self.ddos_window)),
            (
                "bruteforce_threshold",
                self.bruteforce_threshold.to_string(),
            ),
            ("bruteforce_window", secs(self.bruteforce_window)),
            (
                "enumeration_threshold",
                self.enumeration_threshold.to_string(),
            ),
            ("enumeration_window", secs(self.enumeration_window)),
            (
                "registered_allowance",
                self.registered_allowance.to_string(),
            ),
            ("max_tracked_sources", self.max_tracked_sources.to_string()),
        ]
    }

    /// Settings from persisted pairs: missing keys keep their default,
    /// then the result is validated.
    ///
    /// # Errors
    /// [`Error::Settings`] listing every unknown key, unparsable value and
    /// value out of range.
    pub fn from_pairs<'a, I, K, V>(pairs: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = &'a (K, V)>,
        K: AsRef<str> + 'a,
        V: AsRef<str> + 'a,
    {
        let mut settings = Self::default();
        let mut errors = Vec::new();
        for (key, value) in pairs {
            if let Err(e) = settings.set(key.as_ref(), value.as_ref()) {
                errors.push(e);
            }
        }
        if let Err(Error::Settings(more)) = settings.validate() {
            // A field that failed to parse kept its default and is valid,
            // so nothing is reported twice.
            errors.extend(more);
        }
        if errors.is_empty() {
            Ok(settings)
        } else {
            Err(Error::Settings(errors))
        }
    }

    /// Sets one field from its persisted string form, without range checks
    /// (see [`Settings::validate`]).
    ///
    /// # Errors
    /// A [`SettingError`] for an unknown key or an unparsable value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), SettingError> {
        let err = |message: String| SettingError::new(key, format!("{value:?}"), message);
        let number = |allowed: String| move |_| format!("not a whole number; allowed {allowed}");
        let v = value.trim();
        match key {
            "level" => self.level = v.parse().map_err(err)?,
            "deny_period" => self.deny_period = v.parse().map_err(err)?,
            "dos_threshold" => {
                self.dos_threshold = v
                    .parse()
                    .map_err(number(range(&THRESHOLD_RANGE)))
                    .map_err(err)?;
            }
            "ddos_threshold" => {
                self.ddos_threshold = v
                    .parse()
                    .map_err(number(range(&THRESHOLD_RANGE)))
                    .map_err(err)?;
            }
            "dos_window" | "ddos_window" | "bruteforce_window" | "enumeration_window" => {
                let allowed = if key.starts_with("dos") || key.starts_with("ddos") {
                    &WINDOW_SECS_RANGE
                } else {
                    &SLOW_WINDOW_SECS_RANGE
                };
                let secs: u64 = v
                    .parse()
                    .map_err(number(format!("{} seconds", range(allowed))))
                    .map_err(err)?;
                let d = Duration::from_secs(secs);
                match key {
                    "dos_window" => self.dos_window = d,
                    "ddos_window" => self.ddos_window = d,
                    "bruteforce_window" => self.bruteforce_window = d,
                    _ => self.enumeration_window = d,
                }
            }
            "deny_list_max" => {
                self.deny_list_max = v
                    .parse()
                    .map_err(number(range(&DENY_LIST_MAX_RANGE)))
                    .map_err(err)?;
            }
            "bruteforce_threshold" => {
                self.bruteforce_threshold = v
                    .parse()
                    .map_err(number(range(&BRUTEFORCE_THRESHOLD_RANGE)))
                    .map_err(err)?;
            }
            "enumeration_threshold" => {
                self.enumeration_threshold = v
                    .parse()
                    .map_err(number(range(&ENUMERATION_THRESHOLD_RANGE)))
                    .map_err(err)?;
            }
            "registered_allowance" => {
                self.registered_allowance = v
                    .parse()
                    .map_err(number(range(&REGISTERED_ALLOWANCE_RANGE)))
                    .map_err(err)?;
            }
            "max_tracked_sources" => {
                self.max_tracked_sources = v
                    .parse()
                    .map_err(number(range(&MAX_TRACKED_RANGE)))
                    .map_err(err)?;
            }
            _ => return Err(err(format!("unknown key; known keys: {}", KEYS.join(", ")))),
        }
        Ok(())
    }
}

fn range<T: fmt::Display>(r: &RangeInclusive<T>) -> String {
    format!("{}..={}", r.start(), r.end())
}

fn names<const N: usize>(all: [&str; N]) -> String {
    all.map(|n| format!("{n:?}")).join(", ")
}
