//! General parameters (`/ui/settings`): every setting of the registry
//! ([`Service::settings`], as `GET /api/v1/settings`), grouped by the
//! configuration file's tables (the seeds' NET, SIG, MED, security, web,
//! admin, logs...), each with its value, unit, range, default, source and
//! whether a change applies live or needs a restart; a change form per
//! setting and a reset to the default for a value stored in the database,
//! both through [`Service::change_settings`] (as `PATCH
//! /api/v1/settings`, audited there). A value the file or the environment
//! pins is shown read-only with what pins it; the service's refusal is
//! shown next to the field, and a [`Notice`] says whether the change
//! applied live or waits for a restart.
//!
//! [`Service::settings`]: crate::Service::settings
//! [`Service::change_settings`]: crate::Service::change_settings

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use outpost_config::{Apply, Format, Kind, ValueSource};
use serde_json::{Map, Value};

use super::auth::{UiForm, UiSession};
use super::{Chrome, Notice, UiState, render, service_error_page};
use crate::service::ServiceError;
use crate::service::settings::{ChangeReport, ChangeResult, IgnoredValue, SettingView};

/// The page's address.
pub const PATH: &str = "/ui/settings";

/// The groups, in the file's order: a table of the configuration file
/// (`""` is the top level) and its heading.
const GROUPS: &[(&str, &str, &str)] = &[
    ("", "general", "General (NET-4, NET-5)"),
    ("public", "public", "Public side (NET, SIG, MED: IP1, IP2)"),
    (
        "private",
        "private",
        "Private side (NET, SIG, MED: IP3, IP4)",
    ),
    ("ipbx", "ipbx", "iPBX"),
    ("dns", "dns", "DNS"),
    ("web", "web", "Web services"),
    ("admin", "admin", "Administration listener"),
    ("log", "log", "Logs"),
    ("sip", "sip", "SIP (SIG)"),
    ("registration", "registration", "Registration (SIG)"),
    ("media", "media", "Media (MED)"),
    ("guard", "guard", "Security (DoS, DDoS, brute force)"),
];

/// One setting as the page shows it.
#[derive(Debug, Clone)]
pub struct Row {
    /// The registry key.
    pub key: &'static str,
    /// The value in its file form (`—` for a secret).
    pub value: String,
    /// The default in its file form.
    pub default: String,
    /// The unit, or `""`.
    pub unit: &'static str,
    /// The allowed values, in words.
    pub range: String,
    /// `default`, `database`, `file` or `environment`.
    pub source: &'static str,
    /// What pins it (file and line, variable), in words.
    pub pinned_by: Option<String>,
    /// Whether the service accepts a change now.
    pub editable: bool,
    /// Whether a change needs a restart of `outpost serve`.
    pub restart: bool,
    /// A stored value to reset (the source is the database).
    pub resettable: bool,
    /// What it does.
    pub description: &'static str,
    /// The environment variable that would pin it, or `""`.
    pub env: String,
    /// The choices of a select (booleans, choices); empty: a text input.
    pub choices: Vec<&'static str>,
    /// Whether the value is secret.
    pub secret: bool,
}

/// A group of settings.
#[derive(Debug, Clone)]
pub struct Group {
    /// The anchor (`general`, `sip`...).
    pub id: &'static str,
    /// The heading.
    pub title: String,
    /// Its settings, in registry order.
    pub rows: Vec<Row>,
}

/// A refused change, shown next to the setting's field.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The setting.
    pub key: String,
    /// The value entered.
    pub value: String,
    /// The service's message.
    pub message: String,
}

/// The settings page.
#[derive(Template)]
#[template(path = "ui/settings.html")]
pub struct SettingsPage {
    /// The layout.
    pub chrome: Chrome,
    /// The groups.
    pub groups: Vec<Group>,
    /// Stored values left out as no longer valid.
    pub ignored: Vec<IgnoredValue>,
    /// The change refused, if any.
    pub refusal: Option<Refusal>,
    /// A refusal naming no setting of the page.
    pub general: Option<String>,
}

impl SettingsPage {
    /// The refusal's message when it concerns `key`.
    pub fn error_for(&self, key: &str) -> Option<&str> {
        self.refusal
            .as_ref()
            .filter(|r| r.key == key)
            .map(|r| r.message.as_str())
    }

    /// The value to put in `row`'s field: the one refused, else the
    /// current one.
    pub fn field_value<'a>(&'a self, row: &'a Row) -> &'a str {
        match &self.refusal {
            Some(r) if r.key == row.key => &r.value,
            _ if row.secret => "",
            _ => &row.value,
        }
    }
}

/// A file-form JSON value as text.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A format in words.
fn format_words(format: Format) -> &'static str {
    match format {
        Format::IpAddress => "an IPv4 or IPv6 address",
        Format::HostOrIp => "an IP address or a host name",
        Format::HostName => "a host name",
        Format::SocketAddress => "IP:PORT, e.g. 127.0.0.1:9464 or [::1]:9464",
        Format::PortRange => "FIRST-LAST, within 1024-65535",
        Format::AddressList => "comma-separated IP addresses, each with an optional :port",
        Format::Path => "a file or directory path",
        Format::LogFilter => "a filter such as info or outpost=debug,info",
        Format::Url => "an http, https, ftp or tftp URL",
        _ => "text",
    }
}

/// The allowed values in words, and the choices of a select.
fn range_of(kind: &Kind) -> (String, Vec<&'static str>) {
    match kind {
        Kind::Integer { min, max } => (format!("{min} to {max}"), Vec::new()),
        Kind::Boolean => ("true or false".to_owned(), vec!["true", "false"]),
        Kind::Choice { values } => (format!("one of {}", values.join(", ")), values.clone()),
        Kind::List { values } => (
            format!(
                "comma-separated, in order of preference, each at most once: {}",
                values.join(", ")
            ),
            Vec::new(),
        ),
        Kind::Text { format } => (format_words(*format).to_owned(), Vec::new()),
        _ => (String::new(), Vec::new()),
    }
}

fn source_name(source: &ValueSource) -> &'static str {
    match source {
        ValueSource::Default => "default",
        ValueSource::Database => "database",
        ValueSource::File { .. } => "file",
        ValueSource::Environment { .. } => "environment",
    }
}

fn row(view: &SettingView) -> Row {
    let (range, choices) = range_of(view.kind);
    Row {
        key: view.key,
        value: if view.secret {
            "—".to_owned()
        } else {
            text(&view.value)
        },
        default: text(&view.default),
        unit: view.unit.map_or("", |u| u.as_str()),
        range,
        source: source_name(&view.source),
        pinned_by: view.pinned_by.clone(),
        editable: view.editable,
        restart: view.apply == Apply::Restart,
        resettable: view.editable && view.source == ValueSource::Database,
        description: view.description,
        env: view.env.clone().unwrap_or_default(),
        choices,
        secret: view.secret,
    }
}

/// The settings grouped by table, in the file's order (a table not in
/// [`GROUPS`] gets a group of its own after them).
pub fn group(settings: &[SettingView]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for view in settings {
        let table = view.key.split_once('.').map_or("", |(t, _)| t);
        let (id, title) = GROUPS
            .iter()
            .find(|(t, _, _)| *t == table)
            .map_or((table, table.to_owned()), |(_, id, title)| {
                (*id, (*title).to_owned())
            });
        match groups.iter_mut().find(|g| g.id == id) {
            Some(g) => g.rows.push(row(view)),
            None => groups.push(Group {
                id,
                title,
                rows: vec![row(view)],
            }),
        }
    }
    let order = |id: &str| {
        GROUPS
            .iter()
            .position(|(_, g, _)| *g == id)
            .unwrap_or(GROUPS.len())
    };
    groups.sort_by_key(|g| order(g.id));
    groups
}

async fn render_page(
    state: &UiState,
    session: &UiSession,
    notice: Option<String>,
    refusal: Option<Refusal>,
    status: StatusCode,
) -> Response {
    let chrome = session.chrome("settings").with_notice(notice);
    let caller = session.caller.clone();
    match state.service.run(move |s| s.settings(&caller)).await {
        Ok(list) => {
            let groups = group(&list.settings);
            let (refusal, general) = match refusal {
                // Next to its field when the page shows one for it.
                Some(r) if list.settings.iter().any(|s| s.key == r.key && s.editable) => {
                    (Some(r), None)
                }
                Some(r) => (None, Some(r.message)),
                None => (None, None),
            };
            render(
                status,
                &SettingsPage {
                    chrome,
                    groups,
                    ignored: list.ignored,
                    refusal,
                    general,
                },
            )
        }
        Err(e) => service_error_page(chrome, &e),
    }
}

/// `GET /ui/settings`.
pub async fn page(State(state): State<UiState>, session: UiSession, uri: Uri) -> Response {
    let notice = Notice::from_query(uri.query());
    render_page(&state, &session, notice, None, StatusCode::OK).await
}

/// The value of a form field as the API takes it: a number for an
/// integer setting when it is one, a boolean for `true`/`false`, else the
/// text (which the service checks and refuses naming the setting).
pub fn form_value(key: &str, entered: &str) -> Value {
    let entered = entered.trim();
    let kind = outpost_config::Registry::get(key).map(|s| &s.kind);
    match kind {
        Some(Kind::Integer { .. }) => entered
            .parse::<i64>()
            .map_or_else(|_| Value::String(entered.to_owned()), Value::from),
        Some(Kind::Boolean) => match entered {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.to_owned()),
        },
        _ => Value::String(entered.to_owned()),
    }
}

/// The notice of a change's report for `key`.
fn notice_of(report: &ChangeReport, reset: bool) -> Notice {
    let change = report.changes.first();
    let result = change.and_then(|c| c.result);
    let restart = change.is_some_and(|c| c.apply == Apply::Restart);
    match (reset, result) {
        (_, Some(ChangeResult::Unchanged) | None) => Notice::SettingUnchanged,
        (true, _) if restart => Notice::SettingResetRestart,
        (true, _) => Notice::SettingReset,
        (false, Some(ChangeResult::AppliedLive)) => Notice::SettingLive,
        (false, Some(ChangeResult::AppliesAtStart)) => Notice::SettingAtStart,
        (false, Some(ChangeResult::Pending)) => Notice::SettingPending,
        (false, Some(ChangeResult::RestartNeeded)) => Notice::SettingRestart,
    }
}

async fn change(state: UiState, posted: UiForm, reset: bool) -> Response {
    let UiForm { session, form } = posted;
    let key = form.text("key");
    let entered = form.get("value").unwrap_or("").to_owned();
    let value = if reset {
        Value::Null
    } else {
        form_value(&key, &entered)
    };
    let caller = session.caller.clone();
    let mut changes = Map::new();
    changes.insert(key.clone(), value);
    let outcome = state
        .service
        .run(move |s| s.change_settings(&caller, &changes, false))
        .await;
    match outcome {
        Ok(report) => notice_of(&report, reset).redirect(PATH, Some(&key)),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if let ServiceError::Forbidden(_) = e {
                return service_error_page(session.chrome("settings"), &e);
            }
            let refusal = Refusal {
                key,
                value: entered,
                message: e.public_message(),
            };
            render_page(&state, &session, None, Some(refusal), status).await
        }
    }
}

/// `POST /ui/settings`: sets `key` to `value`.
pub async fn set(State(state): State<UiState>, posted: UiForm) -> Response {
    change(state, posted, false).await
}

/// `POST /ui/settings/reset`: removes `key`'s stored value (back to the
/// default).
pub async fn reset(State(state): State<UiState>, posted: UiForm) -> Response {
    change(state, posted, true).await
}
