//! The guard (SPEC SEC-1..SEC-6) as stored: its status, its settings, the
//! allow-list and the two deny-lists, for the REST API (`/api/v1/guard`)
//! and `outpost guard` alike.
//!
//! Settings are checked with the guard crate's own rules
//! (`outpost_guard::Settings`), so the API, the CLI and the running guard
//! agree on every range. A running `outpost serve` notices each change
//! through the store's guard revision and applies it within seconds. Each
//! change and its audit entry (`guard.settings.update`,
//! `guard.allow.add`, `guard.allow.remove`, `guard.deny.remove`,
//! `guard.deny.clear`) are written in one transaction.
//!
//! It does not show the running guard's counters (those are metrics), and
//! it does not add deny entries: the guard does that itself.

use outpost_guard::Settings;
use outpost_store::{AllowEntry, DenyEntry, DenyList, GUARD_ALLOW_MAX, Store};
use serde::{Deserialize, Serialize};
use tracing::info;
use utoipa::ToSchema;

use super::input::store_error;
use super::{Access, Caller, NOTHING, Resource, Service, ServiceError};

pub use super::guard_settings::{GuardSettingsPatch, GuardSettingsView, set_settings, settings};

/// Deny entries per page unless told otherwise.
pub const DEFAULT_DENY_LIMIT: u32 = 100;
/// The most deny entries one page holds.
pub const MAX_DENY_LIMIT: u32 = 1000;
/// The most removed entries an audit entry lists (it gives the count).
const AUDITED_ENTRIES_MAX: usize = 100;

/// One setting in the guard's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GuardSettingRow {
    /// The setting, e.g. `dos_threshold`.
    pub key: String,
    /// Its value in force, as stored or the default.
    pub value: String,
    /// `set` (stored), `default`, or `unknown key` (stored, but not a
    /// setting of this version).
    pub source: String,
}

/// How many entries the deny-lists hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct DenyCounts {
    /// On the DoS list (SEC-3, SEC-5).
    pub dos: u64,
    /// On the brute-force list (SEC-6).
    pub bruteforce: u64,
    /// Expired, awaiting the server's next expiry check.
    pub expired: u64,
}

/// `GET /api/v1/guard`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GuardStatus {
    /// The security level (SEC-1).
    pub level: String,
    /// Every setting with its value and where it comes from.
    pub settings: Vec<GuardSettingRow>,
    /// Entries on the allow-list.
    pub allow_list: u64,
    /// The most the allow-list holds.
    pub allow_list_max: u64,
    /// Entries on the deny-lists.
    pub deny_list: DenyCounts,
    /// Bumped by every change of the guard's stored state.
    pub revision: i64,
}

/// An allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AllowEntryView {
    /// Address or prefix, canonical form (`192.0.2.0/24`,
    /// `2001:db8:1:2::/64`).
    pub address: String,
    /// The operator's note.
    pub note: String,
    /// When it was added, Unix seconds.
    pub added: i64,
}

impl From<&AllowEntry> for AllowEntryView {
    fn from(e: &AllowEntry) -> Self {
        Self {
            address: e.address.clone(),
            note: e.note.clone(),
            added: e.added_unix,
        }
    }
}

/// `POST /api/v1/guard/allow`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowInput {
    /// An IPv4 address or prefix, or an IPv6 prefix of at most /64 (a
    /// bare IPv6 address means its /64).
    pub address: String,
    /// Free note, at most 500 characters.
    #[serde(default)]
    pub note: String,
}

/// A deny-list entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DenyEntryView {
    /// The source: an IPv4 address or an IPv6 /64.
    pub address: String,
    /// `dos` or `bruteforce`.
    pub list: String,
    /// Why: `flood`, `scanner`, `brute-force`...
    pub reason: String,
    /// Details for the operator.
    pub detail: String,
    /// When it was added, Unix seconds.
    pub added: i64,
    /// When it expires, Unix seconds; absent: never.
    pub expires: Option<i64>,
    /// Expired already (the server removes it at its next check).
    pub expired: bool,
}

impl DenyEntryView {
    /// The view of `e` at `now` (Unix seconds).
    pub fn new(e: &DenyEntry, now: i64) -> Self {
        Self {
            address: e.address.clone(),
            list: e.list.as_str().to_owned(),
            reason: e.reason.clone(),
            detail: e.detail.clone(),
            added: e.added_unix,
            expires: e.expires_unix,
            expired: e.expires_unix.is_some_and(|at| at <= now),
        }
    }
}

/// Which deny entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DenyQuery {
    /// Only this list.
    pub list: Option<DenyList>,
    /// Page size, 1 to [`MAX_DENY_LIMIT`]; `None`: every entry (the CLI).
    pub limit: Option<u32>,
    /// Skip this many entries.
    pub offset: Option<u64>,
}

/// A page of deny entries, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DenyPage {
    /// The entries.
    pub entries: Vec<DenyEntryView>,
    /// How many entries match, over all pages.
    pub total: u64,
    /// Pass as `offset` for the next page; absent on the last page.
    pub next_offset: Option<u64>,
}

/// What to remove from the deny-lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DenyRemoval {
    /// Addresses or prefixes: each entry inside one goes.
    pub addresses: Vec<String>,
    /// Only on this list.
    pub list: Option<DenyList>,
    /// With one address: that entry and every entry listed after it.
    pub following: bool,
}

/// Entries removed from the deny-lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DenyRemoved {
    /// How many.
    pub count: u64,
    /// Which, oldest first.
    pub removed: Vec<DenyEntryView>,
}

/// Parses a deny-list name: `dos` or `bruteforce`.
///
/// # Errors
/// 422 naming `list`.
pub fn parse_deny_list(text: &str) -> Result<DenyList, ServiceError> {
    match text.trim() {
        "dos" => Ok(DenyList::Dos),
        "bruteforce" => Ok(DenyList::BruteForce),
        other => Err(ServiceError::invalid(
            "list",
            format!("{other:?} is not a deny-list; use dos or bruteforce"),
        )),
    }
}

/// The guard's stored state: level, settings in force with their source,
/// list sizes. `defaults` are the guard's defaults in display order
/// (`outpost_guard::Settings::default().to_pairs()`).
///
/// # Errors
/// 403 without read access to `guard`.
pub fn status(
    store: &Store,
    caller: &Caller,
    defaults: &[(&str, String)],
) -> Result<GuardStatus, ServiceError> {
    caller.require(Resource::Guard, Access::Read)?;
    let stored = store.guard_settings().map_err(store_error)?;
    let mut settings: Vec<GuardSettingRow> = defaults
        .iter()
        .map(|(key, default)| {
            let (value, source) = match stored.iter().find(|(k, _)| k == key) {
                Some((_, v)) => (v.clone(), "set"),
                None => (default.clone(), "default"),
            };
            GuardSettingRow {
                key: (*key).to_owned(),
                value,
                source: source.to_owned(),
            }
        })
        .collect();
    for (k, v) in &stored {
        if !defaults.iter().any(|(key, _)| key == k) {
            settings.push(GuardSettingRow {
                key: k.clone(),
                value: v.clone(),
                source: "unknown key".to_owned(),
            });
        }
    }
    let allow = store.guard_allow_list().map_err(store_error)?.len();
    let deny = store.guard_deny_list(None).map_err(store_error)?;
    let count = |keep: &dyn Fn(&DenyEntry) -> bool| deny.iter().filter(|e| keep(e)).count() as u64;
    let level = settings
        .iter()
        .find(|r| r.key == "level")
        .map_or_else(|| "(not set)".to_owned(), |r| r.value.clone());
    Ok(GuardStatus {
        level,
        settings,
        allow_list: allow as u64,
        allow_list_max: GUARD_ALLOW_MAX as u64,
        deny_list: DenyCounts {
            dos: count(&|e| e.list == DenyList::Dos),
            bruteforce: count(&|e| e.list == DenyList::BruteForce),
            expired: count(&|e| e.expires_unix.is_some_and(|at| at <= caller.now)),
        },
        revision: store.guard_revision().map_err(store_error)?,
    })
}

/// The allow-list, oldest first.
///
/// # Errors
/// 403 without read access to `guard`.
pub fn allow_list(store: &Store, caller: &Caller) -> Result<Vec<AllowEntryView>, ServiceError> {
    caller.require(Resource::Guard, Access::Read)?;
    Ok(store
        .guard_allow_list()
        .map_err(store_error)?
        .iter()
        .map(AllowEntryView::from)
        .collect())
}

/// Adds an address or prefix to the allow-list.
///
/// # Errors
/// 403 without write access to `guard`; 422 naming `address` (malformed,
/// host bits set, `/0`, already listed, list full) or `note`.
pub fn allow_add(
    store: &mut Store,
    caller: &Caller,
    input: &AllowInput,
) -> Result<AllowEntryView, ServiceError> {
    caller.require(Resource::Guard, Access::Write)?;
    let entry = store
        .add_guard_allow_audited(&input.address, &input.note, caller.now, |e| {
            let view = AllowEntryView::from(e);
            Some(caller.audit("guard.allow.add", &e.address, NOTHING, Some(&view)))
        })
        .map_err(store_error)?;
    info!(address = %entry.address, "allow-list entry added");
    Ok(AllowEntryView::from(&entry))
}

/// Removes an address or prefix (any spelling of it) from the allow-list.
///
/// # Errors
/// 403 without write access to `guard`; 422 for a malformed address; 404
/// when it is not on the list.
pub fn allow_remove(
    store: &mut Store,
    caller: &Caller,
    address: &str,
) -> Result<AllowEntryView, ServiceError> {
    caller.require(Resource::Guard, Access::Write)?;
    let canonical = outpost_store::canonical_guard_address(address).map_err(store_error)?;
    if !store
        .guard_allow_list()
        .map_err(store_error)?
        .iter()
        .any(|e| e.address == canonical)
    {
        return Err(ServiceError::NotFound(format!(
            "{canonical} is not on the allow-list; list it with GET /api/v1/guard/allow or \
             `outpost guard allow list`"
        )));
    }
    let entry = store
        .remove_guard_allow_audited(address, |e| {
            let view = AllowEntryView::from(e);
            Some(caller.audit("guard.allow.remove", &e.address, Some(&view), NOTHING))
        })
        .map_err(store_error)?;
    info!(address = %entry.address, "allow-list entry removed");
    Ok(AllowEntryView::from(&entry))
}

/// A page of deny entries, oldest first.
///
/// # Errors
/// 403 without read access to `guard`; 422 for a limit out of range.
pub fn deny_list(
    store: &Store,
    caller: &Caller,
    query: &DenyQuery,
) -> Result<DenyPage, ServiceError> {
    caller.require(Resource::Guard, Access::Read)?;
    if let Some(limit) = query.limit {
        if !(1..=MAX_DENY_LIMIT).contains(&limit) {
            return Err(ServiceError::invalid(
                "limit",
                format!("{limit} is out of range; give 1 to {MAX_DENY_LIMIT}"),
            ));
        }
    }
    let all = store.guard_deny_list(query.list).map_err(store_error)?;
    let total = all.len();
    let start = query
        .offset
        .map_or(0, |o| usize::try_from(o).unwrap_or(usize::MAX))
        .min(total);
    let limit = query
        .limit
        .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let end = start.saturating_add(limit).min(total);
    Ok(DenyPage {
        entries: all
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|e| DenyEntryView::new(e, caller.now))
            .collect(),
        total: total as u64,
        next_offset: (end < total).then_some(end as u64),
    })
}

/// Removes deny entries: those inside the addresses or prefixes given, or
/// (`following`) the one address given and every entry listed after it.
///
/// # Errors
/// 403 without write access to `guard`; 422 for a malformed address or
/// `following` with other than one address; 404 when nothing matched.
pub fn deny_remove(
    store: &mut Store,
    caller: &Caller,
    removal: &DenyRemoval,
) -> Result<DenyRemoved, ServiceError> {
    caller.require(Resource::Guard, Access::Write)?;
    let addresses: Vec<String> = if removal.following {
        let [from] = removal.addresses.as_slice() else {
            return Err(ServiceError::invalid(
                "address",
                "removing an entry and the ones after it takes exactly one address",
            ));
        };
        let wanted = outpost_store::canonical_guard_address(from).map_err(store_error)?;
        let entries = store.guard_deny_list(removal.list).map_err(store_error)?;
        let Some(start) = entries.iter().position(|e| e.address == wanted) else {
            return Err(ServiceError::NotFound(format!(
                "{wanted} is not on the deny-list; list it with GET /api/v1/guard/deny or \
                 `outpost guard deny list`"
            )));
        };
        entries
            .get(start..)
            .unwrap_or_default()
            .iter()
            .map(|e| e.address.clone())
            .collect()
    } else {
        removal.addresses.clone()
    };
    if addresses.is_empty() {
        return Err(ServiceError::invalid(
            "address",
            "no address given; name the addresses or prefixes to remove",
        ));
    }
    let refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let removed = store
        .remove_guard_deny_audited(&refs, removal.list, |removed| {
            (!removed.is_empty()).then(|| {
                let target = match removal.addresses.as_slice() {
                    [one] if removal.following => format!("{one} and following"),
                    [one] => one.clone(),
                    [first, rest @ ..] => format!("{first} and {} more", rest.len()),
                    [] => String::new(),
                };
                let views: Vec<DenyEntryView> = removed
                    .iter()
                    .take(AUDITED_ENTRIES_MAX)
                    .map(|e| DenyEntryView::new(e, caller.now))
                    .collect();
                let before = serde_json::json!({
                    "count": removed.len(),
                    "entries": views,
                    "truncated": removed.len() > AUDITED_ENTRIES_MAX,
                });
                caller.audit("guard.deny.remove", &target, Some(&before), NOTHING)
            })
        })
        .map_err(store_error)?;
    if removed.is_empty() {
        return Err(ServiceError::NotFound(format!(
            "no deny entry matches {}; list them with GET /api/v1/guard/deny or `outpost guard \
             deny list`",
            removal.addresses.join(", ")
        )));
    }
    for e in &removed {
        info!(address = %e.address, list = %e.list, "deny entry removed");
    }
    Ok(DenyRemoved {
        count: removed.len() as u64,
        removed: removed
            .iter()
            .map(|e| DenyEntryView::new(e, caller.now))
            .collect(),
    })
}

/// Removes every entry of `list`, or of both lists; returns how many.
///
/// # Errors
/// 403 without write access to `guard`.
pub fn deny_clear(
    store: &mut Store,
    caller: &Caller,
    list: Option<DenyList>,
) -> Result<u64, ServiceError> {
    caller.require(Resource::Guard, Access::Write)?;
    let target = list.map_or("all", DenyList::as_str);
    let n = store
        .clear_guard_deny_audited(list, |n| {
            let before = serde_json::json!({ "count": n });
            Some(caller.audit("guard.deny.clear", target, Some(&before), NOTHING))
        })
        .map_err(store_error)?;
    info!(entries = n, list = target, "deny-list cleared");
    Ok(n as u64)
}

/// The guard's defaults in display order.
pub fn default_pairs() -> Vec<(&'static str, String)> {
    Settings::default().to_pairs()
}

impl Service {
    /// [`status`] with the guard's own defaults.
    ///
    /// # Errors
    /// As [`status`].
    pub fn guard_status(&self, caller: &Caller) -> Result<GuardStatus, ServiceError> {
        self.with_store(|s| status(s, caller, &default_pairs()))
    }

    /// [`settings`] over the service's store.
    ///
    /// # Errors
    /// As [`settings`].
    pub fn guard_settings(&self, caller: &Caller) -> Result<GuardSettingsView, ServiceError> {
        self.with_store(|s| settings(s, caller))
    }

    /// [`GuardSettingsPatch`] applied with [`set_settings`].
    ///
    /// # Errors
    /// As [`set_settings`]; 400 for an empty change.
    pub fn patch_guard_settings(
        &self,
        caller: &Caller,
        patch: &GuardSettingsPatch,
    ) -> Result<GuardSettingsView, ServiceError> {
        let pairs = patch.pairs()?;
        self.with_store(|s| set_settings(s, caller, &pairs))
    }

    /// [`allow_list`] over the service's store.
    ///
    /// # Errors
    /// As [`allow_list`].
    pub fn guard_allow_list(&self, caller: &Caller) -> Result<Vec<AllowEntryView>, ServiceError> {
        self.with_store(|s| allow_list(s, caller))
    }

    /// [`allow_add`] over the service's store.
    ///
    /// # Errors
    /// As [`allow_add`].
    pub fn guard_allow_add(
        &self,
        caller: &Caller,
        input: &AllowInput,
    ) -> Result<AllowEntryView, ServiceError> {
        self.with_store(|s| allow_add(s, caller, input))
    }

    /// [`allow_remove`] over the service's store.
    ///
    /// # Errors
    /// As [`allow_remove`].
    pub fn guard_allow_remove(
        &self,
        caller: &Caller,
        address: &str,
    ) -> Result<AllowEntryView, ServiceError> {
        self.with_store(|s| allow_remove(s, caller, address))
    }

    /// [`deny_list`] over the service's store.
    ///
    /// # Errors
    /// As [`deny_list`].
    pub fn guard_deny_list(
        &self,
        caller: &Caller,
        query: &DenyQuery,
    ) -> Result<DenyPage, ServiceError> {
        self.with_store(|s| deny_list(s, caller, query))
    }

    /// [`deny_remove`] over the service's store.
    ///
    /// # Errors
    /// As [`deny_remove`].
    pub fn guard_deny_remove(
        &self,
        caller: &Caller,
        removal: &DenyRemoval,
    ) -> Result<DenyRemoved, ServiceError> {
        self.with_store(|s| deny_remove(s, caller, removal))
    }

    /// [`deny_clear`] over the service's store.
    ///
    /// # Errors
    /// As [`deny_clear`].
    pub fn guard_deny_clear(
        &self,
        caller: &Caller,
        list: Option<DenyList>,
    ) -> Result<u64, ServiceError> {
        self.with_store(|s| deny_clear(s, caller, list))
    }
}
