//! `/api/v1/settings`: every setting with its value and where it comes
//! from, one setting, changes (several at once, validated together) and
//! their dry run. Scope `settings`: read for `GET` and the dry run, write
//! for `PATCH`. The rules, the audit log and the live apply are the
//! service layer's ([`crate::service::settings`]).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value};
use utoipa::OpenApi;

use super::extract::{Authenticated, JsonBody};
use super::{ApiState, json};
use crate::service::ServiceError;
use crate::service::settings::{ChangeReport, SettingView, SettingsList};

type Reply = Result<Response, ServiceError>;

/// The settings routes, merged into the API's router.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route(
            "/api/v1/settings",
            get(list_settings).patch(change_settings),
        )
        .route("/api/v1/settings/validate", post(validate_settings))
        .route("/api/v1/settings/{key}", get(show_setting))
}

/// The OpenAPI operations of these routes (merged into the API's
/// document).
#[derive(OpenApi)]
#[openapi(
    paths(list_settings, show_setting, change_settings, validate_settings),
    components(schemas(SettingView, SettingsList, ChangeReport)),
    tags((name = "settings", description = "Settings: values, sources, live or restart, changes"))
)]
pub(crate) struct SettingsDoc;

/// Every setting: value, source (default, database, file and line,
/// environment variable), type and range, unit, live or restart, pinned
/// by; secrets as `null`.
#[utoipa::path(
    get, path = "/api/v1/settings", tag = "settings",
    responses(
        (status = 200, description = "Every setting, and stored values left out", body = SettingsList),
        (status = 401, description = "No credentials", body = super::resources::openapi::ErrorBody),
        (status = 403, description = "No settings:read scope", body = super::resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["settings:read"]), ("session" = []))
)]
pub(crate) async fn list_settings(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    let list = state.service.run(move |s| s.settings(&caller)).await?;
    Ok(json(StatusCode::OK, &list))
}

/// One setting.
#[utoipa::path(
    get, path = "/api/v1/settings/{key}", tag = "settings",
    params(("key" = String, Path, description = "The setting's key, e.g. registration.phone_expiry_secs")),
    responses(
        (status = 200, description = "The setting", body = SettingView),
        (status = 403, description = "No settings:read scope", body = super::resources::openapi::ErrorBody),
        (status = 404, description = "No such setting (the nearest key is suggested)", body = super::resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["settings:read"]), ("session" = []))
)]
pub(crate) async fn show_setting(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(key): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let view = state.service.run(move |s| s.setting(&caller, &key)).await?;
    Ok(json(StatusCode::OK, &view))
}

/// Changes one or several settings, `{"KEY": value, ...}`, validated
/// together: all are stored (with an audit entry each) or none. `null`
/// resets a key: its stored value is removed and the default applies
/// again (`reset: true`, audited as `setting.reset`). Each key's `result`
/// says whether it applies live now or at the next start.
#[utoipa::path(
    patch, path = "/api/v1/settings", tag = "settings",
    request_body(content = Object, description = "{\"registration.phone_expiry_secs\": 60, ...}: values in file form (strings, numbers, booleans); null resets a key to its default"),
    responses(
        (status = 200, description = "Stored; per key applied live or restart needed", body = ChangeReport),
        (status = 400, description = "Malformed JSON", body = super::resources::openapi::ErrorBody),
        (status = 403, description = "Read-only account or no settings:write scope", body = super::resources::openapi::ErrorBody),
        (status = 409, description = "Pinned by the file (path and line) or an environment variable (named), for a change or a reset", body = super::resources::openapi::ErrorBody),
        (status = 422, description = "Unknown key or refused value (each named)", body = super::resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["settings:write"]), ("session" = []))
)]
pub(crate) async fn change_settings(
    State(state): State<ApiState>,
    auth: Authenticated,
    JsonBody(changes): JsonBody<Map<String, Value>>,
) -> Reply {
    let caller = auth.caller;
    let report = state
        .service
        .run(move |s| s.change_settings(&caller, &changes, false))
        .await?;
    Ok(json(StatusCode::OK, &report))
}

/// Validates changes as `PATCH` would, storing nothing.
#[utoipa::path(
    post, path = "/api/v1/settings/validate", tag = "settings",
    request_body(content = Object, description = "As for PATCH /api/v1/settings"),
    responses(
        (status = 200, description = "Valid: what would change, live or at restart", body = ChangeReport),
        (status = 403, description = "No settings:read scope", body = super::resources::openapi::ErrorBody),
        (status = 409, description = "Pinned by the file or an environment variable", body = super::resources::openapi::ErrorBody),
        (status = 422, description = "Unknown key or refused value", body = super::resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["settings:read"]), ("session" = []))
)]
pub(crate) async fn validate_settings(
    State(state): State<ApiState>,
    auth: Authenticated,
    JsonBody(changes): JsonBody<Map<String, Value>>,
) -> Reply {
    let caller = auth.caller;
    let report = state
        .service
        .run(move |s| s.change_settings(&caller, &changes, true))
        .await?;
    Ok(json(StatusCode::OK, &report))
}
