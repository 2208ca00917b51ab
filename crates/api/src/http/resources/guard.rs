//! `/api/v1/guard`: status, settings, the allow-list and the deny-lists.
//! Addresses in a path may be prefixes: encode the `/` as `%2F`
//! (`/api/v1/guard/allow/192.0.2.0%2F24`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::routing::{delete, get};
use outpost_store::DenyList;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Reply, parse_flag, parse_param, query_pairs};
use crate::http::extract::{Authenticated, JsonBody};
use crate::http::{ApiState, json};
use crate::service::ServiceError;
use crate::service::guard::{
    AllowEntryView, AllowInput, DEFAULT_DENY_LIMIT, DenyPage, DenyQuery, DenyRemoval, DenyRemoved,
    GuardSettingsPatch, GuardSettingsView, GuardStatus, parse_deny_list,
};

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/guard", get(guard_status))
        .route(
            "/api/v1/guard/settings",
            get(guard_settings).patch(patch_guard_settings),
        )
        .route("/api/v1/guard/allow", get(allow_list).post(allow_add))
        .route("/api/v1/guard/allow/{entry}", delete(allow_remove))
        .route("/api/v1/guard/deny", get(deny_list).delete(deny_clear))
        .route("/api/v1/guard/deny/{address}", delete(deny_remove))
}

/// `DELETE /api/v1/guard/deny`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub(crate) struct DenyCleared {
    /// How many entries were removed.
    pub(crate) removed: u64,
}

fn deny_list_of(value: &str) -> Result<Option<DenyList>, ServiceError> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        parse_deny_list(value).map(Some)
    }
}

/// The security level, every setting with its source, the list sizes.
#[utoipa::path(
    get, path = "/api/v1/guard", tag = "guard",
    responses(
        (status = 200, description = "The guard's stored state", body = GuardStatus),
        (status = 403, description = "No guard:read scope", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["guard:read"]), ("session" = []))
)]
pub(super) async fn guard_status(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    let status = state.service.run(move |s| s.guard_status(&caller)).await?;
    Ok(json(StatusCode::OK, &status))
}

/// The guard's settings in force.
#[utoipa::path(
    get, path = "/api/v1/guard/settings", tag = "guard",
    responses(
        (status = 200, description = "The settings", body = GuardSettingsView),
        (status = 403, description = "No guard:read scope", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["guard:read"]), ("session" = []))
)]
pub(super) async fn guard_settings(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    let settings = state
        .service
        .run(move |s| s.guard_settings(&caller))
        .await?;
    Ok(json(StatusCode::OK, &settings))
}

/// Changes the settings given, all or nothing; a running gateway applies
/// them within seconds.
#[utoipa::path(
    patch, path = "/api/v1/guard/settings", tag = "guard",
    request_body = GuardSettingsPatch,
    responses(
        (status = 200, description = "The settings after the change", body = GuardSettingsView),
        (status = 400, description = "Nothing to change, malformed JSON or an unknown setting", body = super::openapi::ErrorBody),
        (status = 403, description = "Read-only account or no guard:write scope", body = super::openapi::ErrorBody),
        (status = 422, description = "A value out of range (the setting and its range are named)", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["guard:write"]), ("session" = []))
)]
pub(super) async fn patch_guard_settings(
    State(state): State<ApiState>,
    auth: Authenticated,
    JsonBody(patch): JsonBody<GuardSettingsPatch>,
) -> Reply {
    let caller = auth.caller;
    let settings = state
        .service
        .run(move |s| s.patch_guard_settings(&caller, &patch))
        .await?;
    Ok(json(StatusCode::OK, &settings))
}

/// The allow-list, oldest first.
#[utoipa::path(
    get, path = "/api/v1/guard/allow", tag = "guard",
    responses(
        (status = 200, description = "The allow-list", body = [AllowEntryView]),
        (status = 403, description = "No guard:read scope", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["guard:read"]), ("session" = []))
)]
pub(super) async fn allow_list(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    let entries = state
        .service
        .run(move |s| s.guard_allow_list(&caller))
        .await?;
    Ok(json(StatusCode::OK, &entries))
}

/// Adds an address or prefix to the allow-list (at most 100 entries).
#[utoipa::path(
    post, path = "/api/v1/guard/allow", tag = "guard",
    request_body = AllowInput,
    responses(
        (status = 201, description = "Added (address in canonical form)", body = AllowEntryView),
        (status = 403, description = "Read-only account or no guard:write scope", body = super::openapi::ErrorBody),
        (status = 422, description = "Malformed, already listed, or the list is full", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["guard:write"]), ("session" = []))
)]
pub(super) async fn allow_add(
    State(state): State<ApiState>,
    auth: Authenticated,
    JsonBody(input): JsonBody<AllowInput>,
) -> Reply {
    let caller = auth.caller;
    let entry = state
        .service
        .run(move |s| s.guard_allow_add(&caller, &input))
        .await?;
    Ok(json(StatusCode::CREATED, &entry))
}

/// Removes an address or prefix from the allow-list (any spelling of it).
#[utoipa::path(
    delete, path = "/api/v1/guard/allow/{entry}", tag = "guard",
    params(("entry" = String, Path, description = "Address or prefix, `/` encoded as %2F")),
    responses(
        (status = 200, description = "The entry as it was", body = AllowEntryView),
        (status = 403, description = "Read-only account or no guard:write scope", body = super::openapi::ErrorBody),
        (status = 404, description = "Not on the allow-list", body = super::openapi::ErrorBody),
        (status = 422, description = "Not an address or prefix", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["guard:write"]), ("session" = []))
)]
pub(super) async fn allow_remove(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(entry): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let removed = state
        .service
        .run(move |s| s.guard_allow_remove(&caller, &entry))
        .await?;
    Ok(json(StatusCode::OK, &removed))
}

/// Deny entries, oldest first, a page at a time.
#[utoipa::path(
    get, path = "/api/v1/guard/deny", tag = "guard",
    params(
        ("list" = Option<String>, Query, description = "dos or bruteforce; absent: both"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("offset" = Option<u64>, Query, description = "Entries to skip (the previous page's next_offset)"),
    ),
    responses(
        (status = 200, description = "A page of entries", body = DenyPage),
        (status = 400, description = "An unknown query parameter", body = super::openapi::ErrorBody),
        (status = 403, description = "No guard:read scope", body = super::openapi::ErrorBody),
        (status = 422, description = "A refused parameter (named)", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["guard:read"]), ("session" = []))
)]
pub(super) async fn deny_list(
    State(state): State<ApiState>,
    auth: Authenticated,
    uri: Uri,
) -> Reply {
    let mut query = DenyQuery {
        limit: Some(DEFAULT_DENY_LIMIT),
        ..DenyQuery::default()
    };
    for (key, value) in query_pairs(&uri, &["list", "limit", "offset"])? {
        match key.as_str() {
            "list" => query.list = deny_list_of(&value)?,
            "limit" => {
                query.limit = Some(parse_param("limit", &value, "a number; give 1 to 1000")?);
            }
            _ => {
                query.offset = Some(parse_param(
                    "offset",
                    &value,
                    "a number of entries to skip (0 or more)",
                )?);
            }
        }
    }
    let caller = auth.caller;
    let page = state
        .service
        .run(move |s| s.guard_deny_list(&caller, &query))
        .await?;
    Ok(json(StatusCode::OK, &page))
}

/// Removes the deny entries inside an address or prefix, or (with
/// `following=true`) that entry and every entry listed after it.
#[utoipa::path(
    delete, path = "/api/v1/guard/deny/{address}", tag = "guard",
    params(
        ("address" = String, Path, description = "Address or prefix, `/` encoded as %2F"),
        ("list" = Option<String>, Query, description = "Only on this list: dos or bruteforce"),
        ("following" = Option<bool>, Query, description = "Also every entry listed after this one"),
    ),
    responses(
        (status = 200, description = "What was removed", body = DenyRemoved),
        (status = 403, description = "Read-only account or no guard:write scope", body = super::openapi::ErrorBody),
        (status = 404, description = "No entry matched", body = super::openapi::ErrorBody),
        (status = 422, description = "Not an address or prefix", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["guard:write"]), ("session" = []))
)]
pub(super) async fn deny_remove(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(address): Path<String>,
    uri: Uri,
) -> Reply {
    let mut removal = DenyRemoval {
        addresses: vec![address],
        ..DenyRemoval::default()
    };
    for (key, value) in query_pairs(&uri, &["list", "following"])? {
        match key.as_str() {
            "list" => removal.list = deny_list_of(&value)?,
            _ => removal.following = parse_flag("following", &value)?,
        }
    }
    let caller = auth.caller;
    let removed = state
        .service
        .run(move |s| s.guard_deny_remove(&caller, &removal))
        .await?;
    Ok(json(StatusCode::OK, &removed))
}

/// Removes every deny entry (of one list, or both).
#[utoipa::path(
    delete, path = "/api/v1/guard/deny", tag = "guard",
    params(("list" = Option<String>, Query, description = "Only this list: dos or bruteforce; absent: both")),
    responses(
        (status = 200, description = "How many entries were removed", body = DenyCleared),
        (status = 403, description = "Read-only account or no guard:write scope", body = super::openapi::ErrorBody),
        (status = 422, description = "Not a list name", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["guard:write"]), ("session" = []))
)]
pub(super) async fn deny_clear(
    State(state): State<ApiState>,
    auth: Authenticated,
    uri: Uri,
) -> Reply {
    let mut list = None;
    for (_, value) in query_pairs(&uri, &["list"])? {
        list = deny_list_of(&value)?;
    }
    let caller = auth.caller;
    let removed = state
        .service
        .run(move |s| s.guard_deny_clear(&caller, list))
        .await?;
    Ok(json(StatusCode::OK, &DenyCleared { removed }))
}
