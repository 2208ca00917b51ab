//! `/api/v1/service`: the SIP service's state, and stopping, starting and
//! restarting it inside the running process (OPS-2). Scope `service`:
//! read for `GET`, write for the rest. The admin listener and this API
//! stay up while the SIP service is stopped.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use utoipa::OpenApi;

use super::extract::Authenticated;
use super::{ApiState, json};
use crate::service::ServiceError;
use crate::service::gateway::SipStatus;
use crate::service::sip::{SipAction, SipControlled};

type Reply = Result<Response, ServiceError>;

/// The service-control routes, merged into the API's router.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/service", get(service_state))
        .route("/api/v1/service/stop", post(stop_service))
        .route("/api/v1/service/start", post(start_service))
        .route("/api/v1/service/restart", post(restart_service))
}

/// The OpenAPI operations of these routes (merged into the API's
/// document).
#[derive(OpenApi)]
#[openapi(
    paths(service_state, stop_service, start_service, restart_service),
    components(schemas(SipStatus, SipControlled)),
    tags((name = "service", description = "The SIP service: state, stop, start, restart (OPS-2)"))
)]
pub(crate) struct ServiceDoc;

/// Running or stopped, since when, and the SIP listeners open.
#[utoipa::path(
    get, path = "/api/v1/service", tag = "service",
    responses(
        (status = 200, description = "The SIP service's state", body = SipStatus),
        (status = 403, description = "No service:read scope", body = super::resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["service:read"]), ("session" = []))
)]
pub(crate) async fn service_state(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    let status = state.service.run(move |s| s.sip_status(&caller)).await?;
    Ok(json(StatusCode::OK, &status))
}

async fn control(state: ApiState, auth: Authenticated, action: SipAction) -> Reply {
    let caller = auth.caller;
    let done = state
        .service
        .run(move |s| s.control_sip(&caller, action))
        .await?;
    Ok(json(StatusCode::OK, &done))
}

/// Stops the SIP service: calls hung up, phones unregistered from the
/// iPBX, every SIP listener closed, media released.
#[utoipa::path(
    post, path = "/api/v1/service/stop", tag = "service",
    responses(
        (status = 200, description = "Stopped (changed = false when it was already)", body = SipControlled),
        (status = 403, description = "Read-only account or no service:write scope", body = super::resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["service:write"]), ("session" = []))
)]
pub(crate) async fn stop_service(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    control(state, auth, SipAction::Stop).await
}

/// Starts the SIP service with the settings stored now; phones register
/// again at their next attempt.
#[utoipa::path(
    post, path = "/api/v1/service/start", tag = "service",
    responses(
        (status = 200, description = "Running (changed = false when it was already)", body = SipControlled),
        (status = 403, description = "Read-only account or no service:write scope", body = super::resources::openapi::ErrorBody),
        (status = 409, description = "Could not start (what failed is named); it stays stopped", body = super::resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["service:write"]), ("session" = []))
)]
pub(crate) async fn start_service(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    control(state, auth, SipAction::Start).await
}

/// Stops, then starts, the SIP service.
#[utoipa::path(
    post, path = "/api/v1/service/restart", tag = "service",
    responses(
        (status = 200, description = "Running again", body = SipControlled),
        (status = 403, description = "Read-only account or no service:write scope", body = super::resources::openapi::ErrorBody),
        (status = 409, description = "Could not start again (named); it stays stopped", body = super::resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["service:write"]), ("session" = []))
)]
pub(crate) async fn restart_service(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    control(state, auth, SipAction::Restart).await
}
