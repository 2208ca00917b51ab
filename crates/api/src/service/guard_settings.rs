//! The guard's settings (SEC-1..SEC-6) as typed values: read them, change
//! some (`GET`/`PATCH /api/v1/guard/settings`, `outpost guard set`).
//!
//! A change is checked with the guard crate's rules: each value must parse
//! and the settings with the change must form a valid whole, so an
//! out-of-range value is refused (422 naming the setting and its range)
//! and nothing is written. Stored values this version does not know are
//! left alone and otherwise ignored.

use outpost_guard::Settings;
use outpost_store::Store;
use serde::{Deserialize, Serialize};
use tracing::info;
use utoipa::ToSchema;

use super::input::store_error;
use super::{Access, Caller, Resource, ServiceError};

/// The guard's settings in force (stored values over the defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GuardSettingsView {
    /// Security level: `none`, `auto-protection` or `allow-list-only`.
    pub level: String,
    /// Requests one source may send per DoS window (10 to 5000).
    pub dos_threshold: u32,
    /// The DoS window, seconds (2 to 10).
    pub dos_window: u64,
    /// How long an automatic deny entry lasts: `30s`, `5min`, `30min`,
    /// `1h`, `1d`, `1w` or `never`.
    pub deny_period: String,
    /// The most entries per deny-list (10 to 100000).
    pub deny_list_max: u64,
    /// Requests from unknown sources per DDoS window (10 to 5000).
    pub ddos_threshold: u32,
    /// The DDoS window, seconds (2 to 10).
    pub ddos_window: u64,
    /// Digest failures per window before a source is denied (3 to 1000).
    pub bruteforce_threshold: u32,
    /// The brute-force window, seconds (10 to 3600).
    pub bruteforce_window: u64,
    /// Unknown users one source may try per window (3 to 100).
    pub enumeration_threshold: u32,
    /// The enumeration window, seconds (10 to 3600).
    pub enumeration_window: u64,
    /// Extra requests per live registration behind one source (10 to 5000).
    pub registered_allowance: u32,
    /// Sources tracked for rate counting (1000 to 10000000).
    pub max_tracked_sources: u64,
}

impl From<&Settings> for GuardSettingsView {
    fn from(s: &Settings) -> Self {
        Self {
            level: s.level.as_str().to_owned(),
            dos_threshold: s.dos_threshold,
            dos_window: s.dos_window.as_secs(),
            deny_period: s.deny_period.as_str().to_owned(),
            deny_list_max: s.deny_list_max as u64,
            ddos_threshold: s.ddos_threshold,
            ddos_window: s.ddos_window.as_secs(),
            bruteforce_threshold: s.bruteforce_threshold,
            bruteforce_window: s.bruteforce_window.as_secs(),
            enumeration_threshold: s.enumeration_threshold,
            enumeration_window: s.enumeration_window.as_secs(),
            registered_allowance: s.registered_allowance,
            max_tracked_sources: s.max_tracked_sources as u64,
        }
    }
}

/// `PATCH /api/v1/guard/settings`: only the settings given change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardSettingsPatch {
    /// `none`, `auto-protection` or `allow-list-only`.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "auto-protection")]
    pub level: Option<String>,
    /// 10 to 5000.
    #[serde(default)]
    pub dos_threshold: Option<u32>,
    /// Seconds, 2 to 10.
    #[serde(default)]
    pub dos_window: Option<u64>,
    /// `30s`, `5min`, `30min`, `1h`, `1d`, `1w` or `never`.
    #[serde(default)]
    pub deny_period: Option<String>,
    /// 10 to 100000.
    #[serde(default)]
    pub deny_list_max: Option<u64>,
    /// 10 to 5000.
    #[serde(default)]
    pub ddos_threshold: Option<u32>,
    /// Seconds, 2 to 10.
    #[serde(default)]
    pub ddos_window: Option<u64>,
    /// 3 to 1000.
    #[serde(default)]
    pub bruteforce_threshold: Option<u32>,
    /// Seconds, 10 to 3600.
    #[serde(default)]
    pub bruteforce_window: Option<u64>,
    /// 3 to 100.
    #[serde(default)]
    pub enumeration_threshold: Option<u32>,
    /// Seconds, 10 to 3600.
    #[serde(default)]
    pub enumeration_window: Option<u64>,
    /// 10 to 5000.
    #[serde(default)]
    pub registered_allowance: Option<u32>,
    /// 1000 to 10000000.
    #[serde(default)]
    pub max_tracked_sources: Option<u64>,
}

impl GuardSettingsPatch {
    /// The change as stored `(key, value)` pairs.
    ///
    /// # Errors
    /// 400 when no setting is given.
    pub fn pairs(&self) -> Result<Vec<(String, String)>, ServiceError> {
        let text = |key: &str, v: Option<String>| v.map(|v| (key.to_owned(), v));
        let num = |key: &str, v: Option<u64>| v.map(|v| (key.to_owned(), v.to_string()));
        let pairs: Vec<(String, String)> = [
            text("level", self.level.clone()),
            num("dos_threshold", self.dos_threshold.map(u64::from)),
            num("dos_window", self.dos_window),
            text("deny_period", self.deny_period.clone()),
            num("deny_list_max", self.deny_list_max),
            num("ddos_threshold", self.ddos_threshold.map(u64::from)),
            num("ddos_window", self.ddos_window),
            num(
                "bruteforce_threshold",
                self.bruteforce_threshold.map(u64::from),
            ),
            num("bruteforce_window", self.bruteforce_window),
            num(
                "enumeration_threshold",
                self.enumeration_threshold.map(u64::from),
            ),
            num("enumeration_window", self.enumeration_window),
            num(
                "registered_allowance",
                self.registered_allowance.map(u64::from),
            ),
            num("max_tracked_sources", self.max_tracked_sources),
        ]
        .into_iter()
        .flatten()
        .collect();
        if pairs.is_empty() {
            return Err(ServiceError::BadRequest {
                field: None,
                message: format!(
                    "nothing to change; give at least one of {}",
                    outpost_guard::KEYS.join(", ")
                ),
            });
        }
        Ok(pairs)
    }
}

/// The settings `stored` describes over the defaults; values that do not
/// parse or name no setting are skipped (the status lists them).
fn in_force(stored: &[(String, String)]) -> Settings {
    let mut settings = Settings::default();
    for (key, value) in stored {
        let _ = settings.set(key, value);
    }
    settings
}

/// The guard's settings in force.
///
/// # Errors
/// 403 without read access to `guard`.
pub fn settings(store: &Store, caller: &Caller) -> Result<GuardSettingsView, ServiceError> {
    caller.require(Resource::Guard, Access::Read)?;
    let stored = store.guard_settings().map_err(store_error)?;
    Ok(GuardSettingsView::from(&in_force(&stored)))
}

/// Changes settings, all or nothing: every value must parse and the
/// settings with the change must be valid as a whole.
///
/// # Errors
/// 403 without write access to `guard`; 422 naming the first refused
/// setting (the message lists every one, with the allowed range).
pub fn set_settings(
    store: &mut Store,
    caller: &Caller,
    pairs: &[(String, String)],
) -> Result<GuardSettingsView, ServiceError> {
    caller.require(Resource::Guard, Access::Write)?;
    let stored = store.guard_settings().map_err(store_error)?;
    let mut next = in_force(&stored);
    let mut problems = Vec::new();
    for (key, value) in pairs {
        if let Err(e) = next.set(key, value) {
            problems.push((e.field.clone(), e.to_string()));
        }
    }
    if problems.is_empty() {
        match next.validate() {
            Ok(()) => {}
            Err(outpost_guard::Error::Settings(errors)) => {
                problems.extend(errors.iter().map(|e| (e.field.clone(), e.to_string())));
            }
            Err(other) => problems.push(("settings".to_owned(), other.to_string())),
        }
    }
    if let Some((field, _)) = problems.first() {
        let message = problems
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(ServiceError::invalid(field.clone(), message));
    }
    let trimmed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.trim())).collect();
    let after = GuardSettingsView::from(&next);
    store
        .set_guard_settings_audited(&trimmed, |before| {
            let before = GuardSettingsView::from(&in_force(before));
            Some(caller.audit(
                "guard.settings.update",
                "guard",
                Some(&before),
                Some(&after),
            ))
        })
        .map_err(store_error)?;
    for (key, value) in &trimmed {
        info!(%key, %value, "guard setting changed");
    }
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_becomes_pairs_and_an_empty_one_is_refused() {
        let patch = GuardSettingsPatch {
            dos_threshold: Some(200),
            level: Some("allow-list-only".into()),
            ..GuardSettingsPatch::default()
        };
        let pairs = patch.pairs().unwrap();
        assert_eq!(
            pairs,
            [
                ("level".to_owned(), "allow-list-only".to_owned()),
                ("dos_threshold".to_owned(), "200".to_owned())
            ]
        );
        assert_eq!(
            GuardSettingsPatch::default().pairs().unwrap_err().status(),
            400
        );
    }

    #[test]
    fn stored_values_that_do_not_parse_are_skipped() {
        let s = in_force(&[
            ("dos_threshold".into(), "250".into()),
            ("colour".into(), "blue".into()),
            ("dos_window".into(), "soon".into()),
        ]);
        assert_eq!(s.dos_threshold, 250);
        assert_eq!(s.dos_window, Settings::default().dos_window);
    }
}
