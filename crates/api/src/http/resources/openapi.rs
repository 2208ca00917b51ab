//! The OpenAPI 3.1 document of the whole REST API, generated with
//! `utoipa` from the handlers' `#[utoipa::path]` attributes and the
//! service types' `ToSchema` derives, served at `GET
//! /api/v1/openapi.json` without credentials.
//!
//! [`document`] is the one list of documented operations; the tests in
//! `tests/openapi.rs` compare it with the routes the router really has,
//! in both directions, so a route added without its documentation (or
//! documentation without a route) fails the build's tests. Another
//! module's routes are documented by listing its handlers in `paths(...)`
//! below, or by merging its own document into [`document`]'s with
//! `utoipa::openapi::OpenApi::merge`.

use std::sync::OnceLock;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::http::ApiState;
use crate::service::device_import::LineReport;

/// The error shape every failure of the API has (documentation only; the
/// responses are written by the error module).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `bad_request`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `payload_too_large`,
    /// `unsupported_media_type`, `invalid`, `too_many_requests`,
    /// `internal`.
    pub code: String,
    /// For the operator: what is wrong and how to fix it.
    pub message: String,
    /// The field (or query parameter) concerned, when one is.
    pub field: Option<String>,
    /// A refused CSV import: every bad line.
    pub lines: Option<Vec<LineReport>>,
}

/// The report of an ICP test, as `outpost icps test --json` prints it
/// (documentation only: the gateway writes it).
#[derive(Debug, Serialize, ToSchema)]
pub struct IcpTestReport {
    /// The ICP's name.
    pub icp: String,
    /// Its host.
    pub host: String,
    /// The DNS servers asked (`system (/etc/resolv.conf)` without `[dns]
    /// servers`).
    pub dns_servers: Vec<String>,
    /// True when every step passed.
    pub ok: bool,
    /// Its targets, in the order the gateway tries them.
    pub targets: Vec<IcpTestTarget>,
    /// The steps, in order.
    pub steps: Vec<IcpTestStep>,
}

/// A target an ICP resolved to.
#[derive(Debug, Serialize, ToSchema)]
pub struct IcpTestTarget {
    /// `udp`, `tcp` or `tls`.
    pub transport: String,
    /// Address and port.
    pub address: String,
    /// The name its TLS certificate must cover.
    pub server_name: String,
}

/// One step of an ICP test.
#[derive(Debug, Serialize, ToSchema)]
pub struct IcpTestStep {
    /// `dns`, `connect`, `tls` or `options`.
    pub step: String,
    /// `ok`, `fail` or `skip` (not run: an earlier step failed).
    pub status: String,
    /// The target it ran against (`tls 192.0.2.10:5061`), if any.
    pub target: Option<String>,
    /// How long it took, milliseconds.
    pub ms: f64,
    /// What happened, on one line.
    pub summary: String,
    /// More lines: DNS lookups, targets, certificate names.
    pub details: Vec<String>,
    /// On failure: what to fix.
    pub fix: Option<String>,
}

/// The security schemes the operations name: `bearer` (API token) and
/// `session` (the login cookie, with `X-CSRF-Token` on changes).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (POST /api/v1/tokens); its scopes are RESOURCE:read or \
                         RESOURCE:write",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "outpost_session",
                "The login session (POST /api/v1/session); every change also needs the \
                 X-CSRF-Token header",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Outpost administration API",
        description = "The native REST API of the Outpost session border controller: \
                       administrator accounts, sessions, API tokens, the audit log, ICPs, \
                       devices and the guard. Errors are {\"error\": {\"code\", \"message\", \
                       \"field\"}}.",
        license(name = "Apache-2.0"),
    ),
    paths(
        crate::http::setup_status,
        crate::http::setup,
        crate::http::session,
        crate::http::login,
        crate::http::logout,
        crate::http::list_admins,
        crate::http::create_admin,
        crate::http::delete_admin,
        crate::http::change_password,
        crate::http::list_tokens,
        crate::http::create_token,
        crate::http::revoke_token,
        crate::http::audit,
        super::icps::list_icps,
        super::icps::create_icp,
        super::icps::show_icp,
        super::icps::update_icp,
        super::icps::remove_icp,
        super::icps::test_icp,
        super::devices::list_devices,
        super::devices::create_device,
        super::devices::import_devices,
        super::devices::show_device,
        super::devices::update_device,
        super::devices::remove_device,
        super::guard::guard_status,
        super::guard::guard_settings,
        super::guard::patch_guard_settings,
        super::guard::allow_list,
        super::guard::allow_add,
        super::guard::allow_remove,
        super::guard::deny_list,
        super::guard::deny_remove,
        super::guard::deny_clear,
        openapi_json,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        LineReport,
        IcpTestReport,
        IcpTestTarget,
        IcpTestStep,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "setup", description = "The first administrator, with the setup token"),
        (name = "session", description = "Login sessions (cookie + CSRF token)"),
        (name = "admins", description = "Administrator accounts"),
        (name = "tokens", description = "API tokens for automation"),
        (name = "audit", description = "The audit log"),
        (name = "icps", description = "ICPs (iPBX call servers) and their test"),
        (name = "devices", description = "Teleworker SIP devices, their status and CSV import"),
        (name = "guard", description = "Security: level, settings, allow-list, deny-lists"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

/// The OpenAPI 3.1 document of every route of the API.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::http::settings::SettingsDoc::openapi());
    doc.merge(crate::http::sip_service::ServiceDoc::openapi());
    doc.merge(crate::http::webservices::WebServicesDoc::openapi());
    doc.merge(crate::http::provisioning::ProvisioningDoc::openapi());
    doc.merge(crate::http::provisioning_actions::ProvisioningActionsDoc::openapi());
    doc.merge(crate::http::device_export::DeviceExportDoc::openapi());
    doc.merge(crate::http::certificates::CertificatesDoc::openapi());
    doc
}

/// The document as JSON text, built once.
fn document_json() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| document().to_pretty_json().unwrap_or_default())
}

pub(super) fn routes() -> Router<ApiState> {
    Router::new().route("/api/v1/openapi.json", get(openapi_json))
}

/// This document (no credentials needed).
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn openapi_json() -> Response {
    let text = document_json();
    if text.is_empty() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text,
    )
        .into_response()
}
