//! The admin web UI (issue 18, SPEC OPS-2): server-rendered pages under
//! `/ui/` on the admin listener, next to the REST API, over the same
//! service layer.
//!
//! What it does:
//! - pages rendered from [askama](https://askama.readthedocs.io) templates
//!   compiled into the binary (`crates/api/templates/ui/`), every value
//!   HTML-escaped by askama; htmx (vendored, [`assets`]) refreshes parts
//!   of a page by polling fragment routes; one style sheet; nothing comes
//!   from elsewhere and nothing is built at build time;
//! - strict headers on every response under `/ui/` ([`security_headers`]):
//!   a Content-Security-Policy without inline script or style, no framing,
//!   HSTS, no referrer, no sniffing, no caching of pages;
//! - the REST API's login session (`outpost_session` cookie) and its CSRF
//!   token: every form carries it as the hidden field `csrf_token`, htmx
//!   requests as the header `X-CSRF-Token` (the `<body>`'s `hx-headers`),
//!   and every `POST` without the right one gets a 403 page saying why
//!   ([`auth`]). Before login (setup and login forms) a random token in a
//!   cookie of its own must match the form's (double submit);
//! - first run: while no administrator exists, `/ui/` asks for the setup
//!   token and creates the first account ([`account`]);
//! - pages: the dashboard ([`dashboard`]), teleworker devices
//!   ([`devices`]), ICPs ([`icps`]), settings ([`settings`]), security
//!   ([`security`]), web services ([`webservices`]), provisioning
//!   ([`provisioning`]), certificates ([`certificates`]), administrators
//!   and API tokens ([`admins`]), the audit log ([`audit`]); a section of
//!   the navigation not built yet answers "coming soon".
//!
//! What it does not do: it holds no state of its own and never reads the
//! database itself (every figure and change is a [`crate::Service`] call,
//! so the audit log and the permissions are the API's); it has no page
//! that works without a session except setup and login.
//!
//! # Adding a page
//! 1. A template `templates/ui/NAME.html` that starts with
//!    `{% extends "ui/base.html" %}` and fills the blocks `title` and
//!    `content` (see `icps.html`). Forms use the macros of
//!    `templates/ui/forms.html` (a label on every input, the service's
//!    error next to its field) and carry
//!    `<input type="hidden" name="csrf_token" value="{{ chrome.csrf }}">`.
//!    Never `|safe` on anything that comes from a user or the database.
//! 2. A module here with a `#[derive(Template)]` struct holding
//!    `chrome: Chrome` (the layout's header, navigation and CSRF token:
//!    [`Chrome::new`]) and the page's data, and handlers that take a
//!    [`auth::UiSession`] (GET: redirects to the login page without a
//!    session) or a [`auth::UiForm`] (POST: the session and the CSRF
//!    token checked, the form's fields), call the service through
//!    `state.service.run(...)`, and answer with [`render`] (or a
//!    303 to the page, with a [`Notice`] code, after a change).
//! 3. Its routes in [`router`], and its entry in [`NAV`] set to
//!    `ready: true` (a section not ready is served by the "coming soon"
//!    page at the same address).
//! 4. A test in `crates/api/tests/ui.rs` (the security-header and CSRF
//!    tests walk [`NAV`] by themselves) and the page in the browser suite
//!    `tests/ui/admin_ui.py` (no console error, no CSP violation, a
//!    screenshot).
//!
//! A fragment refreshed by htmx is a template of its own that the page
//! `{% include %}`s (so the first render and the refreshes are one
//! template) and a GET route answering it alone; the element that polls
//! (`hx-get="..." hx-trigger="every 2s"`) stays and its inside is
//! swapped, so focus and form fields outside it are never lost.

pub mod account;
pub mod admins;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod certificates;
pub mod dashboard;
pub mod devices;
pub mod forms;
pub mod icps;
pub mod provisioning;
pub mod security;
pub mod settings;
pub mod webservices;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use tracing::error;

use crate::admin::RenderMetrics;
use crate::clock::Clock;
use crate::service::{Service, ServiceError};

/// The Content-Security-Policy of every UI response: scripts and styles
/// only from files the binary serves, no inline script or style (htmx's
/// own inline indicator style is turned off by the page's
/// `htmx-config`), no framing, forms posted only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; \
     base-uri 'none'";

/// HSTS: browsers keep to HTTPS for this host for a year.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Largest form accepted, bytes.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// What the UI's handlers share.
#[derive(Clone)]
pub struct UiState {
    /// The service layer.
    pub service: Service,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// The process's metrics (the dashboard reads the gateway's live
    /// gauges from them: active calls, media ports in use).
    pub metrics: RenderMetrics,
}

/// An entry of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NavItem {
    /// Stable name, compared with [`Chrome::current`].
    pub id: &'static str,
    /// The link's text.
    pub label: &'static str,
    /// Where it goes.
    pub path: &'static str,
    /// False: the page is not built yet and its address serves the
    /// "coming soon" page.
    pub ready: bool,
}

/// The navigation, in order (issue 18's sections).
pub const NAV: &[NavItem] = &[
    NavItem {
        id: "dashboard",
        label: "Dashboard",
        path: "/ui/",
        ready: true,
    },
    NavItem {
        id: "settings",
        label: "Settings",
        path: "/ui/settings",
        ready: true,
    },
    NavItem {
        id: "security",
        label: "Security",
        path: "/ui/security",
        ready: true,
    },
    NavItem {
        id: "icps",
        label: "ICPs",
        path: "/ui/icps",
        ready: true,
    },
    NavItem {
        id: "devices",
        label: "Devices",
        path: "/ui/devices",
        ready: true,
    },
    NavItem {
        id: "webservices",
        label: "Web services",
        path: "/ui/webservices",
        ready: true,
    },
    NavItem {
        id: "provisioning",
        label: "Provisioning",
        path: "/ui/provisioning",
        ready: true,
    },
    NavItem {
        id: "certificates",
        label: "Certificates",
        path: "/ui/certificates",
        ready: true,
    },
    NavItem {
        id: "admins",
        label: "Administrators",
        path: "/ui/admins",
        ready: true,
    },
    NavItem {
        id: "audit",
        label: "Audit",
        path: "/ui/audit",
        ready: true,
    },
];

/// The `/ui/` routes.
pub fn router(service: Service, clock: Arc<dyn Clock>, metrics: RenderMetrics) -> Router {
    let state = UiState {
        service,
        clock,
        metrics,
    };
    let mut routes = Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(dashboard::page))
        .route(
            "/ui/setup",
            get(|| async { Redirect::to("/ui/") }).post(account::setup),
        )
        .route("/ui/login", get(account::login_page).post(account::login))
        .route("/ui/logout", post(account::logout))
        .route("/ui/fragments/dashboard", get(dashboard::figures))
        .route("/ui/service/{action}", post(dashboard::control))
        .route("/ui/devices", get(devices::page).post(devices::create))
        .route("/ui/fragments/devices", get(devices::rows))
        .route(
            "/ui/devices/delete",
            get(devices::confirm_delete).post(devices::delete),
        )
        .route("/ui/icps", get(icps::page).post(icps::create))
        .route("/ui/settings", get(settings::page).post(settings::set))
        .route("/ui/settings/reset", post(settings::reset))
        .route("/ui/security", get(security::page))
        .route("/ui/fragments/security/deny", get(security::deny_rows))
        .route("/ui/security/settings", post(security::save_settings))
        .route("/ui/security/allow", post(security::allow_add))
        .route("/ui/security/allow/remove", post(security::allow_remove))
        .route("/ui/security/deny/remove", post(security::deny_remove))
        .route("/ui/security/deny/clear", post(security::deny_clear))
        .route("/ui/assets/{name}", get(assets::serve))
        .merge(certificates::routes())
        .merge(admins::routes())
        .merge(audit::routes())
        .merge(webservices::routes())
        .merge(provisioning::routes());
    for item in NAV.iter().filter(|item| !item.ready) {
        let id = item.id;
        routes = routes.route(
            item.path,
            get(move |session: auth::UiSession| async move { coming_soon(&session, id) }),
        );
    }
    routes
        .route("/ui/{*rest}", any(not_found))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Adds the UI's security headers to `response`, and `Cache-Control:
/// no-store` unless it says otherwise (pages hold CSRF tokens and account
/// data; assets set their own long caching).
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::STRICT_TRANSPORT_SECURITY, STRICT_TRANSPORT_SECURITY),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The layout's parts that every page shows: who is logged in, the
/// navigation with the current section, the CSRF token for forms and
/// htmx, the asset addresses, and a message about the last change.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The account logged in; `None` on setup, login and error pages
    /// before login (no navigation then).
    pub user: Option<String>,
    /// Its role, `admin` or `read-only`.
    pub role: String,
    /// The token every form carries as `csrf_token` (the session's, or
    /// the pre-login one).
    pub csrf: String,
    /// The [`NavItem::id`] of the page shown.
    pub current: &'static str,
    /// What the last change did, shown above the page.
    pub notice: Option<String>,
    /// The style sheet's address (with its digest).
    pub css_url: &'static str,
    /// htmx's address (with its digest).
    pub js_url: &'static str,
    /// The icon's address (with its digest).
    pub icon_url: &'static str,
}

impl Chrome {
    /// The layout for a logged-in page `current` (a [`NavItem::id`]).
    pub fn new(session: &auth::UiSession, current: &'static str) -> Self {
        Self {
            user: Some(session.view.account.name.clone()),
            role: session.view.account.role.clone(),
            csrf: session.view.csrf_token.clone(),
            current,
            notice: None,
            css_url: assets::url("ui.css"),
            js_url: assets::url("htmx.min.js"),
            icon_url: assets::url("icon.svg"),
        }
    }

    /// The layout before login: no navigation; `csrf` is the pre-login
    /// token.
    pub fn anonymous(csrf: String) -> Self {
        Self {
            user: None,
            role: String::new(),
            csrf,
            current: "",
            notice: None,
            css_url: assets::url("ui.css"),
            js_url: assets::url("htmx.min.js"),
            icon_url: assets::url("icon.svg"),
        }
    }

    /// With a message about the last change.
    #[must_use]
    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }

    /// The navigation.
    pub fn nav(&self) -> &'static [NavItem] {
        NAV
    }

    /// Whether the account may change things (the service refuses a
    /// read-only account's changes anyway; this only hides the forms).
    pub fn can_write(&self) -> bool {
        self.role == "admin"
    }
}

/// Renders `template` as an HTML page with `status`; a template that
/// fails to render (a bug) is logged and answered 500.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            html,
        )
            .into_response(),
        Err(e) => {
            error!(error = %e, "admin UI template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; the server log has the details",
            )
                .into_response()
        }
    }
}

/// A page that says what went wrong and what to do.
#[derive(Template)]
#[template(path = "ui/error.html")]
pub struct ErrorPage {
    /// The layout.
    pub chrome: Chrome,
    /// A short title ("Not allowed").
    pub title: String,
    /// What happened and what to do.
    pub message: String,
}

/// An error page with `status`.
pub fn error_page(chrome: Chrome, status: StatusCode, title: &str, message: String) -> Response {
    render(
        status,
        &ErrorPage {
            chrome,
            title: title.to_owned(),
            message,
        },
    )
}

/// The error page of a service error, for a logged-in page.
pub fn service_error_page(chrome: Chrome, e: &ServiceError) -> Response {
    if let ServiceError::Internal(detail) = e {
        error!(%detail, "admin UI internal error");
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = match e.status() {
        403 => "Not allowed",
        404 => "Not found",
        409 => "Not possible now",
        429 => "Too many attempts",
        400 | 422 => "Refused",
        _ => "Something went wrong",
    };
    error_page(chrome, status, title, e.public_message())
}

/// A section of the navigation that is not built yet.
#[derive(Template)]
#[template(path = "ui/soon.html")]
struct SoonPage {
    chrome: Chrome,
    label: &'static str,
}

fn coming_soon(session: &auth::UiSession, id: &'static str) -> Response {
    let label = NAV.iter().find(|i| i.id == id).map_or(id, |i| i.label);
    render(
        StatusCode::OK,
        &SoonPage {
            chrome: Chrome::new(session, id),
            label,
        },
    )
}

async fn not_found(uri: axum::http::Uri) -> Response {
    error_page(
        Chrome::anonymous(String::new()),
        StatusCode::NOT_FOUND,
        "Not found",
        format!(
            "There is no page at {}. The administration pages start at /ui/.",
            uri.path()
        ),
    )
}

/// A message shown after a change, by code (a redirect carries the code
/// and the name concerned, never free text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The first administrator was created.
    SetUp,
    /// Logged out.
    LoggedOut,
    /// A device was added.
    DeviceAdded,
    /// A device was removed.
    DeviceDeleted,
    /// An ICP was added.
    IcpAdded,
    /// The SIP service was stopped.
    ServiceStopped,
    /// The SIP service was started.
    ServiceStarted,
    /// The SIP service was restarted.
    ServiceRestarted,
    /// The SIP service already was in the state asked for.
    ServiceUnchanged,
    /// A setting was changed and the running gateway applies it now.
    SettingLive,
    /// A setting was stored; the stopped SIP service starts with it.
    SettingAtStart,
    /// A setting was stored; the running gateway picks it up within
    /// seconds.
    SettingPending,
    /// A setting was stored; it needs a restart of `outpost serve`.
    SettingRestart,
    /// A setting already had the value given.
    SettingUnchanged,
    /// A setting was reset to its default, applied live.
    SettingReset,
    /// A setting was reset to its default, at the next start.
    SettingResetRestart,
    /// The guard's settings were changed.
    GuardSettingsSaved,
    /// The guard's settings form changed nothing.
    GuardSettingsUnchanged,
    /// An address was added to the allow-list.
    AllowAdded,
    /// An address was removed from the allow-list.
    AllowRemoved,
    /// Deny entries were removed.
    DenyRemoved,
    /// A deny-list was cleared.
    DenyCleared,
    /// A certificate was imported.
    CertificateImported,
    /// A usage's certificates were assigned.
    CertificatesAssigned,
    /// A certificate was deleted.
    CertificateDeleted,
    /// An ACME request was saved.
    AcmeRequested,
    /// Renewal of an ACME certificate was asked.
    CertificateRenewAsked,
    /// An ACME request was removed.
    AcmeForgotten,
    /// An administrator account was created.
    AdminCreated,
    /// An administrator account was removed.
    AdminDeleted,
    /// The account's own password was changed.
    PasswordChanged,
    /// An API token was revoked.
    TokenRevoked,
    /// A new provisioning hash key was generated.
    HashRegenerated,
    /// A remote-worker CSV was imported (name: files written).
    PhonesImported,
    /// A MAC-only remote-worker CSV selected phones (nothing written).
    PhonesSelected,
    /// The global CSV was imported (name: parameters).
    GlobalImported,
    /// A provisioning file was uploaded.
    FileUploaded,
    /// A provisioning action was scheduled.
    ActionScheduled,
    /// A pending provisioning action was cancelled.
    ActionCancelled,
    /// Devices were imported from CSV (name: the counts).
    DevicesImported,
    /// The web services were started (web.services).
    WsStarted,
    /// The web services were stopped.
    WsStopped,
    /// The web services already were in the state asked for.
    WsUnchanged,
    /// A web services consumer was added.
    WsConsumerAdded,
    /// A web services consumer was changed.
    WsConsumerUpdated,
    /// A web services consumer was removed.
    WsConsumerDeleted,
    /// A web services consumer got a new shared secret.
    WsSecretNew,
    /// A temporary web services token was approved.
    WsTokenApproved,
    /// A temporary web services token was rejected.
    WsTokenRejected,
    /// A final web services token was renewed.
    WsTokenRenewed,
    /// A final web services token was revoked.
    WsTokenRevoked,
}

impl Notice {
    const ALL: [(Self, &'static str); 51] = [
        (Self::SetUp, "setup"),
        (Self::LoggedOut, "logout"),
        (Self::DeviceAdded, "device-added"),
        (Self::DeviceDeleted, "device-deleted"),
        (Self::IcpAdded, "icp-added"),
        (Self::ServiceStopped, "service-stopped"),
        (Self::ServiceStarted, "service-started"),
        (Self::ServiceRestarted, "service-restarted"),
        (Self::ServiceUnchanged, "service-unchanged"),
        (Self::SettingLive, "setting-live"),
        (Self::SettingAtStart, "setting-at-start"),
        (Self::SettingPending, "setting-pending"),
        (Self::SettingRestart, "setting-restart"),
        (Self::SettingUnchanged, "setting-unchanged"),
        (Self::SettingReset, "setting-reset"),
        (Self::SettingResetRestart, "setting-reset-restart"),
        (Self::GuardSettingsSaved, "guard-settings-saved"),
        (Self::GuardSettingsUnchanged, "guard-settings-unchanged"),
        (Self::AllowAdded, "allow-added"),
        (Self::AllowRemoved, "allow-removed"),
        (Self::DenyRemoved, "deny-removed"),
        (Self::DenyCleared, "deny-cleared"),
        (Self::CertificateImported, "certificate-imported"),
        (Self::CertificatesAssigned, "certificates-assigned"),
        (Self::CertificateDeleted, "certificate-deleted"),
        (Self::AcmeRequested, "acme-requested"),
        (Self::CertificateRenewAsked, "certificate-renew-asked"),
        (Self::AcmeForgotten, "acme-forgotten"),
        (Self::AdminCreated, "admin-created"),
        (Self::AdminDeleted, "admin-deleted"),
        (Self::PasswordChanged, "password-changed"),
        (Self::TokenRevoked, "token-revoked"),
        (Self::HashRegenerated, "hash-regenerated"),
        (Self::PhonesImported, "phones-imported"),
        (Self::PhonesSelected, "phones-selected"),
        (Self::GlobalImported, "global-imported"),
        (Self::FileUploaded, "file-uploaded"),
        (Self::ActionScheduled, "action-scheduled"),
        (Self::ActionCancelled, "action-cancelled"),
        (Self::DevicesImported, "devices-imported"),
        (Self::WsStarted, "ws-started"),
        (Self::WsStopped, "ws-stopped"),
        (Self::WsUnchanged, "ws-unchanged"),
        (Self::WsConsumerAdded, "ws-consumer-added"),
        (Self::WsConsumerUpdated, "ws-consumer-updated"),
        (Self::WsConsumerDeleted, "ws-consumer-deleted"),
        (Self::WsSecretNew, "ws-secret-new"),
        (Self::WsTokenApproved, "ws-token-approved"),
        (Self::WsTokenRejected, "ws-token-rejected"),
        (Self::WsTokenRenewed, "ws-token-renewed"),
        (Self::WsTokenRevoked, "ws-token-revoked"),
    ];

    /// Its code in a URL (`?done=CODE`).
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == self)
            .map_or("", |(_, c)| c)
    }

    /// The notice of a code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(n, _)| *n)
    }

    /// The message, naming `name` where there is one.
    pub fn message(self, name: Option<&str>) -> String {
        let name = name.filter(|n| !n.is_empty()).unwrap_or("it");
        match self {
            Self::SetUp => "The first administrator account was created. Log in with it.".into(),
            Self::LoggedOut => "You are logged out.".into(),
            Self::DeviceAdded => format!("Device {name} was added."),
            Self::DeviceDeleted => format!("Device {name} was removed."),
            Self::IcpAdded => format!("ICP {name} was added."),
            Self::ServiceStopped => "The SIP service is stopped.".into(),
            Self::ServiceStarted => "The SIP service is started.".into(),
            Self::ServiceRestarted => "The SIP service was restarted.".into(),
            Self::ServiceUnchanged => "The SIP service already was in that state.".into(),
            Self::SettingLive => format!("{name} was changed and applied live."),
            Self::SettingAtStart => format!(
                "{name} was changed; the SIP service is stopped and starts with the new value."
            ),
            Self::SettingPending => format!(
                "{name} was changed; the running gateway applies it within a few seconds."
            ),
            Self::SettingRestart => format!(
                "{name} was changed; restart needed: it takes effect at the next start of \
                 outpost serve."
            ),
            Self::SettingUnchanged => format!("{name} already had that value; nothing changed."),
            Self::SettingReset => format!("{name} was reset to its default, applied live."),
            Self::SettingResetRestart => format!(
                "{name} was reset to its default; restart needed: it takes effect at the next \
                 start of outpost serve."
            ),
            Self::GuardSettingsSaved => format!(
                "The guard settings were saved ({name}); a running gateway applies them within \
                 seconds."
            ),
            Self::GuardSettingsUnchanged => {
                "Nothing changed: the values given are those in force.".into()
            }
            Self::AllowAdded => format!("{name} was added to the allow-list."),
            Self::AllowRemoved => format!("{name} was removed from the allow-list."),
            Self::DenyRemoved => format!("Removed from the deny-list: {name}."),
            Self::DenyCleared => format!("Deny-list cleared: {name}."),
            Self::CertificateImported => format!(
                "Certificate {name} was imported; a running gateway presents it where a usage \
                 names it, within seconds."
            ),
            Self::CertificatesAssigned => {
                format!("Usage {name} now presents the certificates listed for it.")
            }
            Self::CertificateDeleted => format!("Certificate {name} was deleted."),
            Self::AcmeRequested => format!(
                "ACME request {name} was saved; the gateway orders the certificate within \
                 seconds (see its state below)."
            ),
            Self::CertificateRenewAsked => {
                format!("Renewal of {name} was asked; the gateway orders it within seconds.")
            }
            Self::AcmeForgotten => format!(
                "ACME request {name} was removed; its certificate stays installed until deleted."
            ),
            Self::AdminCreated => format!("Account {name} was created."),
            Self::AdminDeleted => format!("Account {name} was removed; its sessions ended."),
            Self::PasswordChanged => {
                "Your password was changed; your other sessions ended.".into()
            }
            Self::TokenRevoked => format!(
                "API token {name} was revoked; it is refused from its next request on."
            ),
            Self::HashRegenerated => format!(
                "A new provisioning hash key was generated: {}.",
                crate::service::provisioning::hash::REPROVISION_WARNING
            ),
            Self::PhonesImported => {
                format!("The remote-worker CSV was imported: {name} phone file(s) written.")
            }
            Self::PhonesSelected => {
                format!("The file lists MACs only: {name} phone(s) selected, nothing was written.")
            }
            Self::GlobalImported => {
                format!("The global CSV was imported: aastra.cfg has {name} parameter(s).")
            }
            Self::FileUploaded => {
                format!("{name} was uploaded; phones fetch it under the hash key.")
            }
            Self::ActionScheduled => format!("Action {name} was scheduled."),
            Self::ActionCancelled => format!("Action {name} was cancelled."),
            Self::DevicesImported => format!("The devices CSV was imported: {name}."),
            Self::WsStarted => "The web services are started: /mslrest/ answers consumers.".into(),
            Self::WsStopped => "The web services are stopped: /mslrest/ answers 503; consumers and tokens are kept.".into(),
            Self::WsUnchanged => "The web services already were in that state.".into(),
            Self::WsConsumerAdded => format!("Consumer {name} was added."),
            Self::WsConsumerUpdated => format!("Consumer {name} was changed; its next request uses the new permissions."),
            Self::WsConsumerDeleted => format!("Consumer {name} was removed, with its tokens."),
            Self::WsSecretNew => format!("Consumer {name} has a new shared secret; the old one no longer works."),
            Self::WsTokenApproved => format!("Temporary token {name} was approved: give the consumer the verifier shown below."),
            Self::WsTokenRejected => format!("Temporary token {name} was rejected."),
            Self::WsTokenRenewed => format!("Token {name} was renewed: it expires a year later than before."),
            Self::WsTokenRevoked => format!("Token {name} was revoked: its next request is refused."),
        }
    }

    /// The notice a page's query (`done=CODE&name=NAME`) asks to show.
    pub fn from_query(query: Option<&str>) -> Option<String> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
        let find = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let notice = Self::from_code(find("done")?)?;
        Some(notice.message(find("name")))
    }

    /// A 303 to `path` showing this notice about `name`.
    pub fn redirect(self, path: &str, name: Option<&str>) -> Response {
        let mut query = vec![("done", self.code())];
        if let Some(name) = name {
            query.push(("name", name));
        }
        let query = serde_urlencoded::to_string(&query).unwrap_or_default();
        Redirect::to(&format!("{path}?{query}")).into_response()
    }
}

/// A time as the UI shows it (UTC, HTTP date form), or `—` for none
/// (templates pass references, Rust code values).
pub fn when(unix_secs: impl std::borrow::Borrow<i64>) -> String {
    match u64::try_from(*unix_secs.borrow()) {
        Ok(secs) if secs > 0 => {
            httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        }
        _ => "—".to_owned(),
    }
}
