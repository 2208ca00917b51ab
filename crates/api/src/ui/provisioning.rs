//! Phone provisioning (`/ui/provisioning`, SPEC PRO-5..PRO-9, SEC-7), on
//! the services of `/api/v1/provisioning` ([`crate::service::provisioning`]):
//! - the hash key (shown to accounts that may change things) and its
//!   replacement, confirmed by the administrator's password and warning
//!   that every deployed phone must be re-provisioned
//!   ([`Service::generate_provisioning_hash`]);
//! - the remote-worker and global CSV imports, from a file input or
//!   pasted text (or the CSV itself as the body, as the REST API takes
//!   it: [`upload`]), all or nothing: a refused file is answered with its
//!   per-line report (line, column, message) and nothing is written;
//! - the extra, startup, model and firmware file uploads, and the stored
//!   files;
//! - the inventory with its filters (those of `GET
//!   /api/v1/provisioning/inventory`) and its CSV export (the same
//!   text), with the phones that have a file but never fetched it;
//! - actions (deploy, delete, at once or later) with their progress and
//!   the event log, refreshed every 2 s by htmx from
//!   `/ui/fragments/provisioning`; a pending action can be cancelled.
//!
//! The devices page's CSV import and export live in [`device_csv`].
//!
//! [`Service::generate_provisioning_hash`]: crate::Service::generate_provisioning_hash

pub mod device_csv;
pub mod upload;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::auth::{UiForm, UiSession};
use super::forms::FormState;
use super::{Chrome, Notice, UiState, render, service_error_page, when};
use crate::service::provisioning::actions::{
    ActionQuery, ActionRequestKind, EventQuery, LogEventView, ScheduleActionInput, ScheduleFailure,
};
use crate::service::provisioning::hash::{HashGenerateInput, HashView, REPROVISION_WARNING};
use crate::service::provisioning::import::{CsvImportFailure, CsvProblemReport};
use crate::service::provisioning::inventory_filter::InventoryQuery;
use crate::service::provisioning::uploads::parse_kind;
use crate::service::provisioning::{ActionView, FileView, InventoryView};
use crate::service::{Password, ServiceError};
use upload::UiUpload;

/// Actions the page shows (newest first).
pub const ACTIONS_SHOWN: u32 = 20;
/// Events the page shows (the newest).
pub const EVENTS_SHOWN: u32 = 30;
/// The upload kinds of the file form.
pub const UPLOAD_KINDS: [&str; 4] = ["extra", "startup", "model", "firmware"];

/// The inventory's filters, as the page's form and the query string
/// carry them (those of `GET /api/v1/provisioning/inventory`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Part of the MAC.
    pub mac: String,
    /// The model.
    pub model: String,
    /// `yes`, `no` or empty.
    pub registered: String,
    /// Last download before (Unix seconds or RFC 3339).
    pub before: String,
    /// Last download at or after.
    pub after: String,
}

impl Filters {
    /// From a query string; unknown keys are ignored.
    pub fn from_query(query: Option<&str>) -> Self {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
        let find = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        Self {
            mac: find("mac"),
            model: find("model"),
            registered: find("registered"),
            before: find("before"),
            after: find("after"),
        }
    }

    fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("mac", self.mac.as_str()),
            ("model", self.model.as_str()),
            ("registered", self.registered.as_str()),
            ("before", self.before.as_str()),
            ("after", self.after.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }

    /// Whether any filter is set.
    pub fn any(&self) -> bool {
        !self.pairs().is_empty()
    }

    /// Whether only the MAC filter (or none) is set: phones that never
    /// downloaded have no model, address or time to filter on.
    fn mac_only(&self) -> bool {
        self.pairs().iter().all(|(k, _)| *k == "mac")
    }

    /// The export's address with these filters.
    pub fn export_url(&self) -> String {
        let query = serde_urlencoded::to_string(self.pairs()).unwrap_or_default();
        if query.is_empty() {
            "/ui/provisioning/inventory.csv".to_owned()
        } else {
            format!("/ui/provisioning/inventory.csv?{query}")
        }
    }

    fn service_query(&self) -> InventoryQuery {
        let some = |v: &str| Some(v.to_owned()).filter(|v| !v.is_empty());
        InventoryQuery {
            mac: some(&self.mac),
            model: some(&self.model),
            registered: some(&self.registered),
            before: some(&self.before),
            after: some(&self.after),
        }
    }
}

/// A phone of the inventory table: downloaded at least once, or only
/// configured (a file from an import, never fetched yet).
#[derive(Debug, Clone)]
pub struct PhoneRow {
    /// The phone.
    pub mac: String,
    /// Its inventory entry, once it downloaded a file.
    pub seen: Option<InventoryView>,
}

/// A refused CSV's report.
#[derive(Debug, Clone, Default)]
pub struct CsvReport {
    /// Which form: `phones`, `global` (the report is shown under it).
    pub form: &'static str,
    /// The summary sentence.
    pub message: String,
    /// Every problem.
    pub problems: Vec<CsvProblemReport>,
}

impl CsvReport {
    /// Whether the report is about form `form`.
    pub fn is_for(&self, form: &str) -> bool {
        self.form == form
    }
}

/// The actions and events, polled.
#[derive(Debug, Clone)]
pub struct Activity {
    /// Newest first.
    pub actions: Vec<ActionView>,
    /// Oldest first.
    pub events: Vec<LogEventView>,
    /// Whether the account may cancel.
    pub can_write: bool,
}

impl Activity {
    /// The badge class of an action's state.
    pub fn state_class(state: &str) -> &'static str {
        match state {
            "done" => "ok",
            "pending" | "running" => "warn",
            "failed" | "interrupted" => "bad",
            _ => "",
        }
    }
}

/// The provisioning page.
#[derive(Template)]
#[template(path = "ui/provisioning.html")]
pub struct ProvisioningPage {
    /// The layout.
    pub chrome: Chrome,
    /// The hash key (accounts that may change things only).
    pub hash: Option<HashView>,
    /// Why no key is shown (none yet).
    pub hash_missing: Option<String>,
    /// The warning of a new key.
    pub warning: &'static str,
    /// The hash form.
    pub hash_form: FormState,
    /// A refused CSV's report.
    pub report: Option<CsvReport>,
    /// The upload form.
    pub upload_form: FormState,
    /// The schedule form.
    pub action_form: FormState,
    /// The stored files.
    pub files: Vec<FileView>,
    /// The inventory's filters.
    pub filters: Filters,
    /// A refused filter.
    pub filter_form: FormState,
    /// The inventory.
    pub phones: Vec<PhoneRow>,
    /// Actions and events.
    pub activity: Activity,
    /// The upload kinds.
    pub kinds: &'static [&'static str],
}

/// The actions and events alone, for htmx.
#[derive(Template)]
#[template(path = "ui/provisioning_activity.html")]
pub struct ActivityFragment {
    /// The layout's CSRF token (the cancel buttons).
    pub chrome: Chrome,
    /// Actions and events.
    pub activity: Activity,
}

/// What a render of the page shows besides the stored data.
#[derive(Default)]
struct Shown {
    hash_form: FormState,
    report: Option<CsvReport>,
    upload_form: FormState,
    action_form: FormState,
}

async fn activity(state: &UiState, session: &UiSession) -> Result<Activity, ServiceError> {
    let caller = session.caller.clone();
    state
        .service
        .run(move |s| {
            let actions = s.list_actions(
                &caller,
                &ActionQuery {
                    limit: Some(ACTIONS_SHOWN),
                    ..ActionQuery::default()
                },
            )?;
            let events = s.provisioning_events(
                &caller,
                &EventQuery {
                    limit: Some(EVENTS_SHOWN),
                    ..EventQuery::default()
                },
            )?;
            Ok(Activity {
                actions,
                events,
                can_write: false,
            })
        })
        .await
        .map(|a| Activity {
            can_write: session.view.account.role == "admin",
            ..a
        })
}

/// The inventory rows of `filters`, with the phones that have a file
/// and no download yet (when no filter but the MAC's is set).
fn phones(
    filters: &Filters,
    seen: Vec<InventoryView>,
    all_seen: &[InventoryView],
    files: &[FileView],
) -> Vec<PhoneRow> {
    let mut rows: Vec<PhoneRow> = seen
        .into_iter()
        .map(|v| PhoneRow {
            mac: v.mac.clone(),
            seen: Some(v),
        })
        .collect();
    if filters.mac_only() {
        let wanted: String = filters
            .mac
            .chars()
            .filter(|c| !matches!(c, ':' | '-' | '.'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        for mac in files.iter().filter_map(|f| f.mac.as_ref()) {
            if mac.contains(&wanted) && !all_seen.iter().any(|s| &s.mac == mac) {
                rows.push(PhoneRow {
                    mac: mac.clone(),
                    seen: None,
                });
            }
        }
    }
    rows.sort_by(|a, b| a.mac.cmp(&b.mac));
    rows
}

async fn render_page(
    state: &UiState,
    session: &UiSession,
    filters: Filters,
    shown: Shown,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let chrome = session.chrome("provisioning").with_notice(notice);
    let can_write = chrome.can_write();
    let caller = session.caller.clone();
    let query = filters.service_query();
    let loaded = state
        .service
        .run(move |s| {
            let hash = if can_write {
                match s.provisioning_hash(&caller) {
                    Ok(h) => Ok(h),
                    Err(ServiceError::NotFound(m)) => Err(m),
                    Err(e) => return Err(e),
                }
            } else {
                Err(String::new())
            };
            let files = s.provisioning_files(&caller)?;
            let all = s.inventory(&caller)?;
            let filtered = s.inventory_filtered(&caller, &query);
            Ok((hash, files, all, filtered))
        })
        .await;
    let (hash, files, all, filtered) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return service_error_page(chrome, &e),
    };
    let mut filter_form = FormState::with_defaults(&filters.pairs());
    let seen = filtered.unwrap_or_else(|e| {
        filter_form.refuse(&e, &["mac", "model", "registered", "before", "after"]);
        Vec::new()
    });
    let phones = phones(&filters, seen, &all, &files);
    let activity = match activity(state, session).await {
        Ok(a) => a,
        Err(e) => return service_error_page(chrome, &e),
    };
    let (hash, hash_missing) = match hash {
        Ok(h) => (Some(h), None),
        Err(m) if m.is_empty() => (None, None),
        Err(m) => (None, Some(m)),
    };
    render(
        status,
        &ProvisioningPage {
            chrome,
            hash,
            hash_missing,
            warning: REPROVISION_WARNING,
            hash_form: shown.hash_form,
            report: shown.report,
            upload_form: shown.upload_form,
            action_form: shown.action_form,
            files,
            filters,
            filter_form,
            phones,
            activity,
            kinds: &UPLOAD_KINDS,
        },
    )
}

fn status_of(e: &ServiceError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// `GET /ui/provisioning`.
pub async fn page(State(state): State<UiState>, session: UiSession, uri: Uri) -> Response {
    let filters = Filters::from_query(uri.query());
    let notice = Notice::from_query(uri.query());
    render_page(
        &state,
        &session,
        filters,
        Shown::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `GET /ui/fragments/provisioning`: actions and events, for polling.
pub async fn activity_fragment(State(state): State<UiState>, session: UiSession) -> Response {
    match activity(&state, &session).await {
        Ok(activity) => render(
            StatusCode::OK,
            &ActivityFragment {
                chrome: session.chrome("provisioning"),
                activity,
            },
        ),
        Err(e) => service_error_page(session.chrome("provisioning"), &e),
    }
}

/// `POST /ui/provisioning/hash` (`password`): a new hash key.
pub async fn regenerate_hash(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let input = HashGenerateInput {
        admin: None,
        password: Password::new(form.get("password").unwrap_or("")),
    };
    let caller = session.caller.clone();
    match state
        .service
        .run(move |s| s.generate_provisioning_hash(&caller, &input))
        .await
    {
        Ok(_) => Notice::HashRegenerated.redirect("/ui/provisioning", None),
        Err(e) => {
            let mut hash_form = FormState::default();
            hash_form.refuse_field(Some("password"), &e.public_message(), &["password"]);
            let shown = Shown {
                hash_form,
                ..Shown::default()
            };
            render_page(
                &state,
                &session,
                Filters::default(),
                shown,
                None,
                status_of(&e),
            )
            .await
        }
    }
}

async fn csv_refused(
    state: &UiState,
    session: &UiSession,
    form: &'static str,
    failure: CsvImportFailure,
) -> Response {
    match failure {
        CsvImportFailure::Service(e) => {
            let report = CsvReport {
                form,
                message: e.public_message(),
                problems: Vec::new(),
            };
            let shown = Shown {
                report: Some(report),
                ..Shown::default()
            };
            render_page(
                state,
                session,
                Filters::default(),
                shown,
                None,
                status_of(&e),
            )
            .await
        }
        rejected @ CsvImportFailure::Rejected(_) => {
            let report = CsvReport {
                form,
                message: rejected.message(),
                problems: rejected.problems(),
            };
            let shown = Shown {
                report: Some(report),
                ..Shown::default()
            };
            render_page(
                state,
                session,
                Filters::default(),
                shown,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `POST /ui/provisioning/import/phones` (`file` or `csv`): the
/// remote-worker CSV, all or nothing.
pub async fn import_phones(State(state): State<UiState>, posted: UiUpload) -> Response {
    let csv = posted.contents("file", "csv");
    let session = posted.session;
    let caller = session.caller.clone();
    let outcome = state
        .service
        .run(move |s| Ok(s.import_phones(&caller, &csv)))
        .await;
    match outcome {
        Ok(Ok(summary)) if summary.kind == "selection" => Notice::PhonesSelected
            .redirect("/ui/provisioning", Some(&summary.macs.len().to_string())),
        Ok(Ok(summary)) => {
            Notice::PhonesImported.redirect("/ui/provisioning", Some(&summary.written.to_string()))
        }
        Ok(Err(failure)) => csv_refused(&state, &session, "phones", failure).await,
        Err(e) => service_error_page(session.chrome("provisioning"), &e),
    }
}

/// `POST /ui/provisioning/import/global` (`file` or `csv`): `aastra.cfg`
/// from a `PARAMETERS;VALUE` CSV.
pub async fn import_global(State(state): State<UiState>, posted: UiUpload) -> Response {
    let csv = posted.contents("file", "csv");
    let session = posted.session;
    let caller = session.caller.clone();
    let outcome = state
        .service
        .run(move |s| Ok(s.import_global(&caller, &csv)))
        .await;
    match outcome {
        Ok(Ok(summary)) => Notice::GlobalImported
            .redirect("/ui/provisioning", Some(&summary.parameters.to_string())),
        Ok(Err(failure)) => csv_refused(&state, &session, "global", failure).await,
        Err(e) => service_error_page(session.chrome("provisioning"), &e),
    }
}

/// The fields of the upload form.
const UPLOAD_FIELDS: [&str; 3] = ["kind", "name", "file"];

/// `POST /ui/provisioning/upload` (`kind`, `name`, `file`): an extra,
/// startup, model or firmware file.
pub async fn upload_file(State(state): State<UiState>, posted: UiUpload) -> Response {
    let kind = posted.text("kind");
    let file = posted.file("file").cloned();
    let name = Some(posted.text("name"))
        .filter(|n| !n.is_empty())
        .or_else(|| file.as_ref().map(|f| f.filename.clone()))
        .unwrap_or_default();
    let session = posted.session;
    let caller = session.caller.clone();
    let outcome = match file {
        None => Err(ServiceError::invalid(
            "file",
            "choose the file to upload".to_owned(),
        )),
        Some(file) => {
            let name = name.clone();
            let kind = kind.clone();
            state
                .service
                .run(move |s| {
                    if kind == "extra" {
                        s.upload_extra_file(&caller, &name, &file.bytes)
                    } else {
                        let kind = parse_kind(&kind)?;
                        s.upload_file(&caller, kind, &name, &file.bytes)
                    }
                })
                .await
        }
    };
    match outcome {
        Ok(stored) => Notice::FileUploaded.redirect("/ui/provisioning", Some(&stored.name)),
        Err(e) => {
            let mut upload_form =
                FormState::with_defaults(&[("kind", kind.as_str()), ("name", name.as_str())]);
            upload_form.refuse(&e, &UPLOAD_FIELDS);
            let shown = Shown {
                upload_form,
                ..Shown::default()
            };
            render_page(
                &state,
                &session,
                Filters::default(),
                shown,
                None,
                status_of(&e),
            )
            .await
        }
    }
}

/// The fields of the schedule form.
const ACTION_FIELDS: [&str; 4] = ["kind", "macs", "in", "at"];

/// `POST /ui/provisioning/actions` (`kind` deploy or delete, `macs`,
/// `in` or `at`, `name`): schedules an action.
pub async fn schedule(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let kind = match form.text("kind").as_str() {
        "deploy" => Ok(ActionRequestKind::Deploy),
        "delete" => Ok(ActionRequestKind::Delete),
        other => Err(ServiceError::invalid(
            "kind",
            format!("{other:?}: choose deploy or delete"),
        )),
    };
    let macs: Vec<String> = form
        .text("macs")
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    let outcome = match kind {
        Err(e) => Err(e),
        Ok(kind) => {
            let input = ScheduleActionInput {
                kind,
                name: form.optional("name"),
                at: form.optional("at"),
                delay: form.optional("in"),
                csv: None,
                macs: Some(macs).filter(|m| !m.is_empty()),
                admin: None,
                password: None,
            };
            let caller = session.caller.clone();
            state
                .service
                .run(move |s| {
                    Ok(s.schedule_action(&caller, &input).map_err(|f| match f {
                        ScheduleFailure::Service(e) => e,
                        rejected @ ScheduleFailure::Rejected { .. } => {
                            ServiceError::invalid("macs", rejected.to_string())
                        }
                    }))
                })
                .await
                .and_then(|r| r)
        }
    };
    match outcome {
        Ok(scheduled) => Notice::ActionScheduled.redirect(
            "/ui/provisioning",
            Some(&format!(
                "#{} ({})",
                scheduled.action.id, scheduled.action.name
            )),
        ),
        Err(e) => {
            let mut action_form =
                FormState::from_posted(&form, &["kind", "macs", "in", "at", "name"]);
            action_form.refuse(&e, &ACTION_FIELDS);
            let shown = Shown {
                action_form,
                ..Shown::default()
            };
            render_page(
                &state,
                &session,
                Filters::default(),
                shown,
                None,
                status_of(&e),
            )
            .await
        }
    }
}

/// `POST /ui/provisioning/actions/cancel` (`id`): cancels a pending
/// action.
pub async fn cancel(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let id = form.text("id");
    let caller = session.caller.clone();
    let outcome = match id.parse::<i64>() {
        Ok(id) => {
            state
                .service
                .run(move |s| s.cancel_action(&caller, id))
                .await
        }
        Err(_) => Err(ServiceError::invalid(
            "id",
            format!("{id:?} is not an action id"),
        )),
    };
    match outcome {
        Ok(action) => {
            Notice::ActionCancelled.redirect("/ui/provisioning", Some(&format!("#{}", action.id)))
        }
        Err(e) => service_error_page(session.chrome("provisioning"), &e),
    }
}

/// `GET /ui/provisioning/inventory.csv?...`: the inventory export with
/// the page's filters (the text of `GET
/// /api/v1/provisioning/inventory/export`).
pub async fn export_inventory(
    State(state): State<UiState>,
    session: UiSession,
    uri: Uri,
) -> Response {
    let query = Filters::from_query(uri.query()).service_query();
    let caller = session.caller.clone();
    match state
        .service
        .run(move |s| s.inventory_csv_filtered(&caller, &query))
        .await
    {
        Ok(text) => csv_download(text, "inventory.csv"),
        Err(e) => service_error_page(session.chrome("provisioning"), &e),
    }
}

/// A CSV download named `filename`.
pub fn csv_download(text: String, filename: &'static str) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        text,
    )
        .into_response()
}

/// A time for the templates (see [`when`]).
pub fn at(secs: &i64) -> String {
    when(*secs)
}

/// Largest CSV upload form (provisioning and device imports), bytes: the
/// REST API's 4 MiB CSV limit and the form around it.
const MAX_CSV_UPLOAD_BYTES: usize = 4 * 1024 * 1024 + 64 * 1024;
/// Largest file upload form (a firmware image), bytes.
const MAX_FILE_UPLOAD_BYTES: usize =
    crate::service::provisioning::uploads::MAX_FIRMWARE_BYTES + 64 * 1024;

/// The routes of this page and of the devices page's CSV import and
/// export (merged into [`super::router`]); the upload forms get body
/// limits of their own.
pub fn routes() -> axum::Router<UiState> {
    use axum::extract::DefaultBodyLimit;
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/ui/provisioning", get(page))
        .route("/ui/fragments/provisioning", get(activity_fragment))
        .route("/ui/provisioning/hash", post(regenerate_hash))
        .route(
            "/ui/provisioning/import/phones",
            post(import_phones).layer(DefaultBodyLimit::max(MAX_CSV_UPLOAD_BYTES)),
        )
        .route(
            "/ui/provisioning/import/global",
            post(import_global).layer(DefaultBodyLimit::max(MAX_CSV_UPLOAD_BYTES)),
        )
        .route(
            "/ui/provisioning/upload",
            post(upload_file).layer(DefaultBodyLimit::max(MAX_FILE_UPLOAD_BYTES)),
        )
        .route("/ui/provisioning/actions", post(schedule))
        .route("/ui/provisioning/actions/cancel", post(cancel))
        .route("/ui/provisioning/inventory.csv", get(export_inventory))
        .route(
            "/ui/devices/import",
            get(device_csv::page)
                .post(device_csv::import)
                .layer(DefaultBodyLimit::max(MAX_CSV_UPLOAD_BYTES)),
        )
        .route("/ui/devices/export.csv", get(device_csv::export))
}
