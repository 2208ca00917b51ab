//! `GET /api/v1/devices/export/mbg.csv`: `devices_mbg.csv` for terminal
//! management (PRO-4). It holds set-side passwords in clear, so it needs
//! `devices:write` (or an administrator's session) and is audited; see
//! [`crate::service::device_export`].

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use utoipa::OpenApi;

use super::ApiState;
use super::extract::Authenticated;
use super::resources::openapi::ErrorBody;
use crate::service::ServiceError;

/// The routes, merged into the API's router.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route("/api/v1/devices/export/mbg.csv", get(export_mbg))
}

/// The OpenAPI operation of this route.
#[derive(OpenApi)]
#[openapi(paths(export_mbg))]
pub(crate) struct DeviceExportDoc;

/// The query of the export.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    /// Only the devices of this ICP.
    icp: Option<String>,
}

/// `devices_mbg.csv`: a `Login;NA;Password` header, then one row per
/// device (set-side username; ICP-side username; set-side password), `;`
/// separated, CRLF. Contains passwords: write scope needed, audited as
/// `device.export.mbg`.
#[utoipa::path(
    get, path = "/api/v1/devices/export/mbg.csv", tag = "devices",
    params(ExportQuery),
    responses(
        (status = 200, description = "devices_mbg.csv (holds set-side passwords)", content_type = "text/csv"),
        (status = 400, description = "An unknown query parameter", body = ErrorBody),
        (status = 403, description = "No devices:write scope or a read-only account", body = ErrorBody),
        (status = 404, description = "No such ICP", body = ErrorBody),
    ),
    security(("bearer" = ["devices:write"]), ("session" = []))
)]
async fn export_mbg(
    State(state): State<ApiState>,
    auth: Authenticated,
    uri: Uri,
) -> Result<Response, ServiceError> {
    let query: ExportQuery = super::provisioning_actions::query(&uri)?;
    let caller = auth.caller;
    let export = state
        .service
        .run(move |s| s.export_mbg(&caller, query.icp.as_deref()))
        .await?;
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"devices_mbg.csv\""),
            ),
        ],
        export.csv,
    )
        .into_response())
}
