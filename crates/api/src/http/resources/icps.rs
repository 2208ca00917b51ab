//! `/api/v1/icps`: list, create, show, change, remove and test ICPs.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::Reply;
use crate::http::extract::{Authenticated, JsonBody, OptionalJsonBody};
use crate::http::{ApiState, json};
use crate::service::icps::{IcpChanged, IcpPatch, IcpTestInput, IcpView, NewIcpInput};

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/icps", get(list_icps).post(create_icp))
        .route(
            "/api/v1/icps/{name}",
            get(show_icp).patch(update_icp).delete(remove_icp),
        )
        .route("/api/v1/icps/{name}/test", post(test_icp))
}

/// Every ICP, oldest first.
#[utoipa::path(
    get, path = "/api/v1/icps", tag = "icps",
    responses(
        (status = 200, description = "Every ICP", body = [IcpView]),
        (status = 401, description = "No credentials", body = super::openapi::ErrorBody),
        (status = 403, description = "No icps:read scope", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["icps:read"]), ("session" = []))
)]
pub(super) async fn list_icps(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    let icps = state.service.run(move |s| s.list_icps(&caller)).await?;
    Ok(json(StatusCode::OK, &icps))
}

/// Adds an ICP; the first one becomes the default.
#[utoipa::path(
    post, path = "/api/v1/icps", tag = "icps",
    request_body = NewIcpInput,
    responses(
        (status = 201, description = "Added", body = IcpView),
        (status = 400, description = "Malformed JSON or an unknown field", body = super::openapi::ErrorBody),
        (status = 403, description = "Read-only account or no icps:write scope", body = super::openapi::ErrorBody),
        (status = 415, description = "Not application/json", body = super::openapi::ErrorBody),
        (status = 422, description = "A refused value (the field is named)", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["icps:write"]), ("session" = []))
)]
pub(super) async fn create_icp(
    State(state): State<ApiState>,
    auth: Authenticated,
    JsonBody(input): JsonBody<NewIcpInput>,
) -> Reply {
    let caller = auth.caller;
    let icp = state
        .service
        .run(move |s| s.create_icp(&caller, &input))
        .await?;
    Ok(json(StatusCode::CREATED, &icp))
}

/// One ICP.
#[utoipa::path(
    get, path = "/api/v1/icps/{name}", tag = "icps",
    params(("name" = String, Path, description = "The ICP's name")),
    responses(
        (status = 200, description = "The ICP", body = IcpView),
        (status = 404, description = "No such ICP", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["icps:read"]), ("session" = []))
)]
pub(super) async fn show_icp(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let icp = state.service.run(move |s| s.icp(&caller, &name)).await?;
    Ok(json(StatusCode::OK, &icp))
}

/// Changes the fields given; `null` removes `sip_port` or `ca_file`.
#[utoipa::path(
    patch, path = "/api/v1/icps/{name}", tag = "icps",
    params(("name" = String, Path, description = "The ICP's name")),
    request_body = IcpPatch,
    responses(
        (status = 200, description = "The ICP after the change and the fields changed", body = IcpChanged),
        (status = 400, description = "Nothing to change, malformed JSON or an unknown field", body = super::openapi::ErrorBody),
        (status = 403, description = "Read-only account or no icps:write scope", body = super::openapi::ErrorBody),
        (status = 404, description = "No such ICP", body = super::openapi::ErrorBody),
        (status = 422, description = "A refused value (the field is named)", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["icps:write"]), ("session" = []))
)]
pub(super) async fn update_icp(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
    JsonBody(patch): JsonBody<IcpPatch>,
) -> Reply {
    let caller = auth.caller;
    let changed = state
        .service
        .run(move |s| s.update_icp(&caller, &name, &patch))
        .await?;
    Ok(json(StatusCode::OK, &changed))
}

/// Removes an ICP (refused while devices use it).
#[utoipa::path(
    delete, path = "/api/v1/icps/{name}", tag = "icps",
    params(("name" = String, Path, description = "The ICP's name")),
    responses(
        (status = 200, description = "The ICP as it was", body = IcpView),
        (status = 403, description = "Read-only account or no icps:write scope", body = super::openapi::ErrorBody),
        (status = 404, description = "No such ICP", body = super::openapi::ErrorBody),
        (status = 409, description = "Devices use it; move or remove them first", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["icps:write"]), ("session" = []))
)]
pub(super) async fn remove_icp(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let icp = state
        .service
        .run(move |s| s.remove_icp(&caller, &name))
        .await?;
    Ok(json(StatusCode::OK, &icp))
}

/// Tests an ICP as the running gateway reaches it: DNS, TCP/TLS connect
/// with the certificate check, SIP OPTIONS; the first target, or every one
/// with `all`. The answer is the report whether the test passed or not
/// (`ok` says); the body is optional.
#[utoipa::path(
    post, path = "/api/v1/icps/{name}/test", tag = "icps",
    params(("name" = String, Path, description = "The ICP's name")),
    request_body(content = Option<IcpTestInput>, description = "Optional (no body: the defaults): {\"all\": true, \"timeout_ms\": 3000}"),
    responses(
        (status = 200, description = "The test's report, passed or failed (see ok)", body = super::openapi::IcpTestReport),
        (status = 400, description = "Malformed JSON or an unknown field", body = super::openapi::ErrorBody),
        (status = 403, description = "No icps:read scope", body = super::openapi::ErrorBody),
        (status = 404, description = "No such ICP (the ICPs there are are named)", body = super::openapi::ErrorBody),
        (status = 409, description = "The test overran its bound, or no gateway runs here", body = super::openapi::ErrorBody),
        (status = 415, description = "A body that is not application/json", body = super::openapi::ErrorBody),
        (status = 422, description = "timeout_ms out of range (100 to 60000)", body = super::openapi::ErrorBody),
    ),
    security(("bearer" = ["icps:read"]), ("session" = []))
)]
pub(super) async fn test_icp(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
    OptionalJsonBody(input): OptionalJsonBody<IcpTestInput>,
) -> Reply {
    let caller = auth.caller;
    let report = state
        .service
        .run(move |s| s.test_icp(&caller, &name, &input))
        .await?;
    Ok(json(StatusCode::OK, &report))
}
