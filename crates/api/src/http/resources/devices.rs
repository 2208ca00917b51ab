//! `/api/v1/devices`: list (filters, sorting, pages), create, show,
//! change, remove devices, and `POST /api/v1/devices/import` (CSV, all or
//! nothing, 422 with the per-line report).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::routing::{get, post};
use outpost_store::{ImportMode, MAX_IMPORT_BYTES};

use super::{Reply, error_response, parse_flag, parse_param, query_pairs};
use crate::http::extract::{Authenticated, JsonBody};
use crate::http::{ApiState, json};
use crate::service::ServiceError;
use crate::service::device_import::{ImportFailure, ImportSummary, parse_mode};
use crate::service::device_list::{DevicePage, DeviceQuery};
use crate::service::devices::{DeviceChanged, DevicePatch, DeviceView, NewDeviceInput};

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/devices", get(list_devices).post(create_device))
        .route(
            "/api/v1/devices/import",
            post(import_devices).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route(
            "/api/v1/devices/{username}",
            get(show_device).patch(update_device).delete(remove_device),
        )
}

/// The query parameters of `GET /api/v1/devices`.
const LIST_PARAMS: [&str; 8] = [
    "q", "icp", "status", "enabled", "sort", "limit", "cursor", "offset",
];

fn device_query(uri: &Uri) -> Result<DeviceQuery, ServiceError> {
    let mut q = DeviceQuery {
        limit: Some(crate::service::device_list::DEFAULT_DEVICE_LIMIT),
        ..DeviceQuery::default()
    };
    for (key, value) in query_pairs(uri, &LIST_PARAMS)? {
        match key.as_str() {
            "q" => q.q = Some(value),
            "icp" => q.icp = Some(value),
            "status" => q.status = Some(value),
            "enabled" => q.enabled = Some(parse_flag("enabled", &value)?),
            "sort" => q.sort = Some(value),
            "limit" => q.limit = Some(parse_param("limit", &value, "a number; give 1 to 500")?),
            "cursor" => q.cursor = Some(value),
            _ => {
                q.offset = Some(parse_param(
                    "offset",
                    &value,
                    "a number of devices to skip (0 or more)",
                )?);
            }
        }
    }
    Ok(q)
}

/// Devices with their live status, filtered, sorted and paged.
#[utoipa::path(
    get, path = "/api/v1/devices", tag = "devices",
    params(
        ("q" = Option<String>, Query, description = "Text in the set-side or ICP-side username, description, MAC or location (case-insensitive)"),
        ("icp" = Option<String>, Query, description = "Only devices on this ICP"),
        ("status" = Option<String>, Query, description = "registered, unregistered, connected, in-call, off or natted"),
        ("enabled" = Option<bool>, Query, description = "Only enabled (true) or disabled (false) devices"),
        ("sort" = Option<String>, Query, description = "setside_username (default), icpside_username, icp, enabled, status, mac, location or description; - in front for descending"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 500 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor"),
        ("offset" = Option<u64>, Query, description = "Devices to skip (instead of cursor)"),
    ),
    responses(
        (status = 200, description = "A page of devices", body = DevicePage),
        (status = 400, description = "An unknown query parameter", body = super::openapi::ErrorBody),
        (status = 403, description = "No devices:read scope", body = super::openapi::ErrorBody),
        (status = 422, description = "A refused parameter (named)", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["devices:read"]), ("session" = []))
)]
pub(super) async fn list_devices(
    State(state): State<ApiState>,
    auth: Authenticated,
    uri: Uri,
) -> Reply {
    let query = device_query(&uri)?;
    let caller = auth.caller;
    let page = state
        .service
        .run(move |s| s.list_devices(&caller, &query))
        .await?;
    Ok(json(StatusCode::OK, &page))
}

/// Adds a device. Its passwords are never returned.
#[utoipa::path(
    post, path = "/api/v1/devices", tag = "devices",
    request_body = NewDeviceInput,
    responses(
        (status = 201, description = "Added", body = DeviceView),
        (status = 400, description = "Malformed JSON or an unknown field", body = super::openapi::ErrorBody),
        (status = 403, description = "Read-only account or no devices:write scope", body = super::openapi::ErrorBody),
        (status = 415, description = "Not application/json", body = super::openapi::ErrorBody),
        (status = 422, description = "A refused value (the field is named)", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["devices:write"]), ("session" = []))
)]
pub(super) async fn create_device(
    State(state): State<ApiState>,
    auth: Authenticated,
    JsonBody(input): JsonBody<NewDeviceInput>,
) -> Reply {
    let caller = auth.caller;
    let device = state
        .service
        .run(move |s| s.create_device(&caller, &input))
        .await?;
    Ok(json(StatusCode::CREATED, &device))
}

/// One device with its live status and registered clients.
#[utoipa::path(
    get, path = "/api/v1/devices/{username}", tag = "devices",
    params(("username" = String, Path, description = "The device's set-side username")),
    responses(
        (status = 200, description = "The device", body = DeviceView),
        (status = 404, description = "No such device", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["devices:read"]), ("session" = []))
)]
pub(super) async fn show_device(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(username): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let device = state
        .service
        .run(move |s| s.device(&caller, &username))
        .await?;
    Ok(json(StatusCode::OK, &device))
}

/// Changes the fields given; `null` removes the MAC, the location or the
/// ICP-side password.
#[utoipa::path(
    patch, path = "/api/v1/devices/{username}", tag = "devices",
    params(("username" = String, Path, description = "The device's set-side username")),
    request_body = DevicePatch,
    responses(
        (status = 200, description = "The device after the change and the fields changed", body = DeviceChanged),
        (status = 400, description = "Nothing to change, malformed JSON or an unknown field", body = super::openapi::ErrorBody),
        (status = 403, description = "Read-only account or no devices:write scope", body = super::openapi::ErrorBody),
        (status = 404, description = "No such device", body = super::openapi::ErrorBody),
        (status = 422, description = "A refused value (the field is named)", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["devices:write"]), ("session" = []))
)]
pub(super) async fn update_device(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(username): Path<String>,
    JsonBody(patch): JsonBody<DevicePatch>,
) -> Reply {
    let caller = auth.caller;
    let changed = state
        .service
        .run(move |s| s.update_device(&caller, &username, &patch))
        .await?;
    Ok(json(StatusCode::OK, &changed))
}

/// Removes a device.
#[utoipa::path(
    delete, path = "/api/v1/devices/{username}", tag = "devices",
    params(("username" = String, Path, description = "The device's set-side username")),
    responses(
        (status = 200, description = "The device as it was", body = DeviceView),
        (status = 403, description = "Read-only account or no devices:write scope", body = super::openapi::ErrorBody),
        (status = 404, description = "No such device", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["devices:write"]), ("session" = []))
)]
pub(super) async fn remove_device(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(username): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let device = state
        .service
        .run(move |s| s.remove_device(&caller, &username))
        .await?;
    Ok(json(StatusCode::OK, &device))
}

fn is_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/csv"))
}

/// Imports devices from a CSV body, all or nothing.
#[utoipa::path(
    post, path = "/api/v1/devices/import", tag = "devices",
    params(("mode" = Option<String>, Query, description = "create (default: only new devices), update (only existing ones) or upsert (either)")),
    request_body(
        content = String, content_type = "text/csv",
        description = "A header row naming the columns (setside_username, setside_password, icpside_username, icpside_password, icp, description, enabled, clientid, location), then one device per row; `,` or `;` separated",
    ),
    responses(
        (status = 200, description = "Every row was written", body = ImportSummary),
        (status = 403, description = "Read-only account or no devices:write scope", body = super::openapi::ErrorBody),
        (status = 413, description = "Larger than 16 MiB", body = super::openapi::ErrorBody),
        (status = 415, description = "Not text/csv", body = super::openapi::ErrorBody),
        (status = 422, description = "Lines were refused (error.lines lists each); nothing was written", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["devices:write"]), ("session" = []))
)]
pub(super) async fn import_devices(
    State(state): State<ApiState>,
    auth: Authenticated,
    uri: Uri,
    request: Request,
) -> Reply {
    let mut mode = ImportMode::Create;
    for (_, value) in query_pairs(&uri, &["mode"])? {
        mode = parse_mode(&value)?;
    }
    if !is_csv(request.headers()) {
        return Ok(error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the devices as CSV with the header `Content-Type: text/csv`".to_owned(),
            None,
            None,
        ));
    }
    let body = Bytes::from_request(request, &state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ServiceError::PayloadTooLarge {
                    limit_bytes: MAX_IMPORT_BYTES,
                }
            } else {
                ServiceError::BadRequest {
                    field: None,
                    message: format!("cannot read the request body: {rejection}"),
                }
            }
        })?;
    let caller = auth.caller;
    let outcome = state
        .service
        .run(move |s| Ok(s.import_devices(&caller, &body, mode)))
        .await?;
    match outcome {
        Ok(summary) => Ok(json(StatusCode::OK, &summary)),
        Err(ImportFailure::Service(e)) => Err(e),
        Err(failure @ ImportFailure::Rejected(_)) => Ok(error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            failure.message(),
            Some("csv"),
            Some(failure.lines()),
        )),
    }
}
