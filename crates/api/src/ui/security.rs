//! Security (`/ui/security`): the guard (SPEC SEC-1..SEC-6) through the
//! same service calls as `/api/v1/guard`:
//! - its state ([`Service::guard_status`]): level, list sizes;
//! - its settings ([`Service::guard_settings`], changed with
//!   [`Service::patch_guard_settings`]): the security level, DoS, DDoS,
//!   brute-force and enumeration thresholds and windows, each with its
//!   unit, range, default and source, only the values changed are sent,
//!   a refusal shown next to the setting it names;
//! - the allow-list ([`Service::guard_allow_list`], add
//!   [`Service::guard_allow_add`], remove [`Service::guard_allow_remove`]);
//! - the deny-lists ([`Service::guard_deny_list`], filtered by list, a
//!   page at a time, polled every 2 s by htmx so new entries appear by
//!   themselves), removing one entry, a series (the entries inside a
//!   prefix, or an entry and every one listed after it:
//!   [`Service::guard_deny_remove`]) or clearing them
//!   ([`Service::guard_deny_clear`]).
//!
//! A running gateway applies every change within seconds (it watches the
//! store's guard revision). Read-only accounts see no change form.
//!
//! [`Service::guard_status`]: crate::Service::guard_status
//! [`Service::guard_settings`]: crate::Service::guard_settings
//! [`Service::patch_guard_settings`]: crate::Service::patch_guard_settings
//! [`Service::guard_allow_list`]: crate::Service::guard_allow_list
//! [`Service::guard_allow_add`]: crate::Service::guard_allow_add
//! [`Service::guard_allow_remove`]: crate::Service::guard_allow_remove
//! [`Service::guard_deny_list`]: crate::Service::guard_deny_list
//! [`Service::guard_deny_remove`]: crate::Service::guard_deny_remove
//! [`Service::guard_deny_clear`]: crate::Service::guard_deny_clear

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use outpost_store::DenyList;

use super::auth::{FormData, UiForm, UiSession};
use super::forms::{FormState, number};
use super::{Chrome, Notice, UiState, render, service_error_page};
use crate::service::ServiceError;
use crate::service::guard::{
    AllowEntryView, AllowInput, DEFAULT_DENY_LIMIT, DenyEntryView, DenyQuery, DenyRemoval,
    GuardSettingsPatch, GuardSettingsView, GuardStatus, default_pairs, parse_deny_list,
};

/// The page's address.
const PATH: &str = "/ui/security";

/// One numeric setting of the form.
#[derive(Debug, Clone)]
pub struct SettingField {
    /// Its key (the form field, the REST field, the stored key).
    pub name: &'static str,
    /// The label, with its unit.
    pub label: &'static str,
    /// What it means, its range and default.
    pub hint: String,
    /// `set` (stored) or `default`.
    pub source: String,
}

/// A group of settings (a fieldset).
#[derive(Debug, Clone)]
pub struct SettingGroup {
    /// Its legend.
    pub legend: &'static str,
    /// Its settings.
    pub fields: Vec<SettingField>,
}

/// The numeric settings: group, key, label, meaning, range.
const NUMERIC: [(&str, &str, &str, &str, &str); 11] = [
    (
        "DoS (one source)",
        "dos_threshold",
        "DoS threshold (requests)",
        "Requests one source may send per DoS window before it is denied",
        "10 to 5000",
    ),
    (
        "DoS (one source)",
        "dos_window",
        "DoS window (seconds)",
        "The DoS counting window",
        "2 to 10 s",
    ),
    (
        "DoS (one source)",
        "registered_allowance",
        "Allowance per registration (requests)",
        "Extra requests per DoS window per live registration behind a source",
        "10 to 5000",
    ),
    (
        "DDoS (unknown sources together)",
        "ddos_threshold",
        "DDoS threshold (requests)",
        "Requests from unknown sources per DDoS window before only known ones are served",
        "10 to 5000",
    ),
    (
        "DDoS (unknown sources together)",
        "ddos_window",
        "DDoS window (seconds)",
        "The DDoS counting window",
        "2 to 10 s",
    ),
    (
        "Brute force and enumeration",
        "bruteforce_threshold",
        "Brute-force threshold (failures)",
        "Digest failures per window before a source is denied",
        "3 to 1000",
    ),
    (
        "Brute force and enumeration",
        "bruteforce_window",
        "Brute-force window (seconds)",
        "The brute-force counting window",
        "10 to 3600 s",
    ),
    (
        "Brute force and enumeration",
        "enumeration_threshold",
        "Enumeration threshold (unknown users)",
        "Unknown users one source may try per window",
        "3 to 100",
    ),
    (
        "Brute force and enumeration",
        "enumeration_window",
        "Enumeration window (seconds)",
        "The enumeration counting window",
        "10 to 3600 s",
    ),
    (
        "Deny-lists and tracking",
        "deny_list_max",
        "Deny-list size (entries)",
        "The most entries per deny-list; the oldest goes first",
        "10 to 100000",
    ),
    (
        "Deny-lists and tracking",
        "max_tracked_sources",
        "Tracked sources",
        "Sources tracked for rate counting",
        "1000 to 10000000",
    ),
];

/// The settings form's fields (names as in `PATCH /api/v1/guard/settings`).
pub const SETTING_FIELDS: [&str; 13] = [
    "level",
    "deny_period",
    "dos_threshold",
    "dos_window",
    "registered_allowance",
    "ddos_threshold",
    "ddos_window",
    "bruteforce_threshold",
    "bruteforce_window",
    "enumeration_threshold",
    "enumeration_window",
    "deny_list_max",
    "max_tracked_sources",
];

/// The security levels, with what each does.
pub const LEVELS: [(&str, &str); 3] = [
    ("none", "none: no protection"),
    (
        "auto-protection",
        "auto-protection: deny sources that flood or guess passwords",
    ),
    (
        "allow-list-only",
        "allow-list-only: serve only the allow-list (and registered phones)",
    ),
];

/// How long an automatic deny entry lasts.
pub const DENY_PERIODS: [&str; 7] = ["30s", "5min", "30min", "1h", "1d", "1w", "never"];

/// A page of a deny-list, as the page and its polled fragment show it.
#[derive(Debug, Clone)]
pub struct DenyListView {
    /// The entries of this page, oldest first.
    pub entries: Vec<DenyEntryView>,
    /// Entries matching the filter.
    pub total: u64,
    /// The filter: `dos`, `bruteforce` or `""` (both).
    pub list: String,
    /// The first entry shown (0-based).
    pub offset: u64,
    /// The next page's offset.
    pub next_offset: Option<u64>,
    /// The previous page's offset.
    pub prev_offset: Option<u64>,
    /// Whether the rows carry a Remove button.
    pub can_write: bool,
    /// The CSRF token of those buttons' forms.
    pub csrf: String,
}

impl DenyListView {
    /// The address of the page with this filter at `offset`.
    pub fn page_url(&self, offset: &u64) -> String {
        query_url(PATH, &self.list, *offset)
    }

    /// The fragment's address (what htmx polls).
    pub fn fragment_url(&self) -> String {
        query_url("/ui/fragments/security/deny", &self.list, self.offset)
    }

    /// The last entry shown (1-based).
    pub fn last_shown(&self) -> u64 {
        self.offset + self.entries.len() as u64
    }
}

fn query_url(path: &str, list: &str, offset: u64) -> String {
    let mut query: Vec<(&str, String)> = Vec::new();
    if !list.is_empty() {
        query.push(("list", list.to_owned()));
    }
    if offset > 0 {
        query.push(("offset", offset.to_string()));
    }
    if query.is_empty() {
        path.to_owned()
    } else {
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&query).unwrap_or_default()
        )
    }
}

/// The forms of the page, as shown (defaults, or one refused).
#[derive(Debug, Clone, Default)]
pub struct Forms {
    /// The settings.
    pub settings: FormState,
    /// Adding to the allow-list.
    pub allow: FormState,
    /// Removing a series of deny entries.
    pub series: FormState,
    /// Clearing the deny-lists.
    pub clear: FormState,
    /// A refused removal of one listed entry (allow or deny), above the
    /// lists.
    pub row: FormState,
}

/// The security page.
#[derive(Template)]
#[template(path = "ui/security.html")]
pub struct SecurityPage {
    /// The layout.
    pub chrome: Chrome,
    /// The guard's state.
    pub status: GuardStatus,
    /// The numeric settings, grouped.
    pub groups: Vec<SettingGroup>,
    /// The levels offered.
    pub levels: &'static [(&'static str, &'static str)],
    /// The deny periods offered.
    pub periods: &'static [&'static str],
    /// Sources of `level` and `deny_period`.
    pub level_source: String,
    /// Source of `deny_period`.
    pub period_source: String,
    /// The allow-list.
    pub allow: Vec<AllowEntryView>,
    /// The deny-list page.
    pub deny: DenyListView,
    /// The forms.
    pub forms: Forms,
}

/// The deny-list alone, for htmx's polling.
#[derive(Template)]
#[template(path = "ui/security_deny.html")]
pub struct DenyFragment {
    /// The deny-list page.
    pub deny: DenyListView,
}

/// The settings in force as `(key, value)` text.
fn setting_values(view: &GuardSettingsView) -> Vec<(String, String)> {
    let value = serde_json::to_value(view).unwrap_or_default();
    value
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), ToOwned::to_owned);
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn source_of(status: &GuardStatus, key: &str) -> String {
    status
        .settings
        .iter()
        .find(|r| r.key == key)
        .map_or_else(|| "default".to_owned(), |r| r.source.clone())
}

fn groups(status: &GuardStatus) -> Vec<SettingGroup> {
    let defaults = default_pairs();
    let mut groups: Vec<SettingGroup> = Vec::new();
    for (legend, name, label, meaning, range) in NUMERIC {
        let default = defaults
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v.as_str());
        let field = SettingField {
            name,
            label,
            hint: format!("{meaning}; {range}; default {default}"),
            source: source_of(status, name),
        };
        match groups.iter_mut().find(|g| g.legend == legend) {
            Some(group) => group.fields.push(field),
            None => groups.push(SettingGroup {
                legend,
                fields: vec![field],
            }),
        }
    }
    groups
}

/// What the deny-list part of a page's query asks for.
fn deny_query(query: Option<&str>) -> Result<DenyQuery, ServiceError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let mut wanted = DenyQuery {
        limit: Some(DEFAULT_DENY_LIMIT),
        ..DenyQuery::default()
    };
    for (key, value) in pairs {
        match key.as_str() {
            "list" if !value.trim().is_empty() => wanted.list = Some(parse_deny_list(&value)?),
            "offset" if !value.trim().is_empty() => {
                wanted.offset = Some(value.trim().parse().map_err(|_| {
                    ServiceError::invalid("offset", format!("{value:?} is not a number of entries"))
                })?);
            }
            _ => {}
        }
    }
    Ok(wanted)
}

async fn deny_view(
    state: &UiState,
    session: &UiSession,
    chrome: &Chrome,
    query: DenyQuery,
) -> Result<DenyListView, ServiceError> {
    let caller = session.caller.clone();
    let list = query.list.map_or("", DenyList::as_str).to_owned();
    let offset = query.offset.unwrap_or(0);
    let page = state
        .service
        .run(move |s| s.guard_deny_list(&caller, &query))
        .await?;
    Ok(DenyListView {
        total: page.total,
        next_offset: page.next_offset,
        prev_offset: (offset > 0).then(|| offset.saturating_sub(u64::from(DEFAULT_DENY_LIMIT))),
        entries: page.entries,
        list,
        offset,
        can_write: chrome.can_write(),
        csrf: chrome.csrf.clone(),
    })
}

async fn render_page(
    state: &UiState,
    session: &UiSession,
    query: Option<&str>,
    forms: Option<Forms>,
    notice: Option<String>,
    status_code: StatusCode,
) -> Response {
    let chrome = session.chrome("security").with_notice(notice);
    let caller = session.caller.clone();
    let loaded = state
        .service
        .run(move |s| {
            let status = s.guard_status(&caller)?;
            let settings = s.guard_settings(&caller)?;
            let allow = s.guard_allow_list(&caller)?;
            Ok::<_, ServiceError>((status, settings, allow))
        })
        .await;
    let (status, settings, allow) = match loaded {
        Ok(v) => v,
        Err(e) => return service_error_page(chrome, &e),
    };
    let deny = match deny_query(query) {
        Ok(q) => deny_view(state, session, &chrome, q).await,
        Err(e) => Err(e),
    };
    let deny = match deny {
        Ok(d) => d,
        Err(e) => return service_error_page(chrome, &e),
    };
    let forms = forms.unwrap_or_else(|| {
        let values = setting_values(&settings);
        let refs: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Forms {
            settings: FormState::with_defaults(&refs),
            ..Forms::default()
        }
    });
    render(
        status_code,
        &SecurityPage {
            groups: groups(&status),
            level_source: source_of(&status, "level"),
            period_source: source_of(&status, "deny_period"),
            levels: &LEVELS,
            periods: &DENY_PERIODS,
            chrome,
            status,
            allow,
            deny,
            forms,
        },
    )
}

fn status_of(e: &ServiceError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// `GET /ui/security` (`?list=dos|bruteforce&offset=N` for the deny-list).
pub async fn page(State(state): State<UiState>, session: UiSession, uri: Uri) -> Response {
    let notice = Notice::from_query(uri.query());
    render_page(&state, &session, uri.query(), None, notice, StatusCode::OK).await
}

/// `GET /ui/fragments/security/deny`: the deny-list alone (htmx polls it).
pub async fn deny_rows(State(state): State<UiState>, session: UiSession, uri: Uri) -> Response {
    let chrome = session.chrome("security");
    let view = match deny_query(uri.query()) {
        Ok(q) => deny_view(&state, &session, &chrome, q).await,
        Err(e) => Err(e),
    };
    match view {
        Ok(deny) => render(StatusCode::OK, &DenyFragment { deny }),
        Err(e) => service_error_page(chrome, &e),
    }
}

/// The change the form asks for against `current`: only what differs.
fn settings_patch(
    form: &FormData,
    current: &GuardSettingsView,
) -> Result<GuardSettingsPatch, ServiceError> {
    let mut patch = GuardSettingsPatch::default();
    let text = |name: &str, now: &str| form.optional(name).filter(|v| v != now);
    patch.level = text("level", &current.level);
    patch.deny_period = text("deny_period", &current.deny_period);
    let n32 = |name: &str, now: u32| -> Result<Option<u32>, ServiceError> {
        Ok(number::<u32>(form, name)?.filter(|v| *v != now))
    };
    let n64 = |name: &str, now: u64| -> Result<Option<u64>, ServiceError> {
        Ok(number::<u64>(form, name)?.filter(|v| *v != now))
    };
    patch.dos_threshold = n32("dos_threshold", current.dos_threshold)?;
    patch.dos_window = n64("dos_window", current.dos_window)?;
    patch.registered_allowance = n32("registered_allowance", current.registered_allowance)?;
    patch.ddos_threshold = n32("ddos_threshold", current.ddos_threshold)?;
    patch.ddos_window = n64("ddos_window", current.ddos_window)?;
    patch.bruteforce_threshold = n32("bruteforce_threshold", current.bruteforce_threshold)?;
    patch.bruteforce_window = n64("bruteforce_window", current.bruteforce_window)?;
    patch.enumeration_threshold = n32("enumeration_threshold", current.enumeration_threshold)?;
    patch.enumeration_window = n64("enumeration_window", current.enumeration_window)?;
    patch.deny_list_max = n64("deny_list_max", current.deny_list_max)?;
    patch.max_tracked_sources = n64("max_tracked_sources", current.max_tracked_sources)?;
    Ok(patch)
}

/// `POST /ui/security/settings`: changes the settings that differ from
/// those in force ([`crate::Service::patch_guard_settings`]).
pub async fn save_settings(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let caller = session.caller.clone();
    let posted_form = form.clone();
    let outcome = state
        .service
        .run(move |s| {
            let current = s.guard_settings(&caller)?;
            let patch = settings_patch(&posted_form, &current)?;
            let Ok(pairs) = patch.pairs() else {
                return Ok(None);
            };
            let changed: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k} {v}")).collect();
            s.patch_guard_settings(&caller, &patch)?;
            Ok(Some(changed.join(", ")))
        })
        .await;
    match outcome {
        Ok(Some(changed)) => Notice::GuardSettingsSaved.redirect(PATH, Some(&changed)),
        Ok(None) => Notice::GuardSettingsUnchanged.redirect(PATH, None),
        Err(e) => {
            let mut settings = FormState::from_posted(&form, &SETTING_FIELDS);
            settings.refuse(&e, &SETTING_FIELDS);
            let forms = Forms {
                settings,
                ..Forms::default()
            };
            render_page(&state, &session, None, Some(forms), None, status_of(&e)).await
        }
    }
}

/// Shows the page again with `forms` (one refused) after `e`.
async fn refused(state: &UiState, session: &UiSession, forms: Forms, e: &ServiceError) -> Response {
    let mut forms = forms;
    if forms.settings == FormState::default() {
        let caller = session.caller.clone();
        if let Ok(view) = state.service.run(move |s| s.guard_settings(&caller)).await {
            let values = setting_values(&view);
            let refs: Vec<(&str, &str)> = values
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            forms.settings = FormState::with_defaults(&refs);
        }
    }
    render_page(state, session, None, Some(forms), None, status_of(e)).await
}

/// `POST /ui/security/allow`: adds an address or prefix to the allow-list.
pub async fn allow_add(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let caller = session.caller.clone();
    let input = AllowInput {
        address: form.text("address"),
        note: form.text("note"),
    };
    match state
        .service
        .run(move |s| s.guard_allow_add(&caller, &input))
        .await
    {
        Ok(entry) => Notice::AllowAdded.redirect(PATH, Some(&entry.address)),
        Err(e) => {
            let fields = ["address", "note"];
            let mut allow = FormState::from_posted(&form, &fields);
            allow.refuse(&e, &fields);
            let forms = Forms {
                allow,
                ..Forms::default()
            };
            refused(&state, &session, forms, &e).await
        }
    }
}

/// `POST /ui/security/allow/remove`: removes an allow-list entry.
pub async fn allow_remove(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let caller = session.caller.clone();
    let address = form.text("address");
    match state
        .service
        .run(move |s| s.guard_allow_remove(&caller, &address))
        .await
    {
        Ok(entry) => Notice::AllowRemoved.redirect(PATH, Some(&entry.address)),
        Err(e) => {
            let mut row = FormState::default();
            row.refuse_field(None, &e.public_message(), &[]);
            let forms = Forms {
                row,
                ..Forms::default()
            };
            refused(&state, &session, forms, &e).await
        }
    }
}

fn removal(form: &FormData) -> Result<DenyRemoval, ServiceError> {
    Ok(DenyRemoval {
        addresses: vec![form.text("address")],
        list: match form.optional("list") {
            Some(list) => Some(parse_deny_list(&list)?),
            None => None,
        },
        following: form.checked("following"),
    })
}

/// `POST /ui/security/deny/remove`: removes the deny entries inside an
/// address or prefix, or (`following`) that entry and every one after
/// it; `series` says which form it came from (a row's button or the
/// series form).
pub async fn deny_remove(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let caller = session.caller.clone();
    let outcome = match removal(&form) {
        Ok(removal) => {
            state
                .service
                .run(move |s| s.guard_deny_remove(&caller, &removal))
                .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(removed) => {
            let addresses: Vec<&str> = removed.removed.iter().map(|e| e.address.as_str()).collect();
            let shown = if addresses.len() > 5 {
                format!("{} entries from {}", removed.count, addresses[0])
            } else {
                addresses.join(", ")
            };
            Notice::DenyRemoved.redirect(PATH, Some(&shown))
        }
        Err(e) => {
            let fields = ["address", "list", "following"];
            let mut shown = FormState::from_posted(&form, &fields);
            shown.refuse(&e, &fields);
            let forms = if form.checked("series") {
                Forms {
                    series: shown,
                    ..Forms::default()
                }
            } else {
                let mut row = FormState::default();
                row.refuse_field(None, &e.public_message(), &[]);
                Forms {
                    row,
                    ..Forms::default()
                }
            };
            refused(&state, &session, forms, &e).await
        }
    }
}

/// `POST /ui/security/deny/clear`: removes every entry of a list (or of
/// both), once confirmed.
pub async fn deny_clear(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let caller = session.caller.clone();
    let outcome = if form.checked("confirm") {
        match form.optional("list") {
            Some(list) => parse_deny_list(&list).map(Some),
            None => Ok(None),
        }
    } else {
        Err(ServiceError::invalid(
            "confirm",
            "tick the box to confirm: clearing removes the entries at once",
        ))
    };
    let outcome = match outcome {
        Ok(list) => {
            let which = list.map_or("both lists", |l| match l {
                DenyList::Dos => "the DoS list",
                DenyList::BruteForce => "the brute-force list",
            });
            state
                .service
                .run(move |s| s.guard_deny_clear(&caller, list))
                .await
                .map(|n| format!("{n} entries removed from {which}"))
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(done) => Notice::DenyCleared.redirect(PATH, Some(&done)),
        Err(e) => {
            let fields = ["list", "confirm"];
            let mut clear = FormState::from_posted(&form, &["list"]);
            clear.refuse(&e, &fields);
            let forms = Forms {
                clear,
                ..Forms::default()
            };
            refused(&state, &session, forms, &e).await
        }
    }
}
