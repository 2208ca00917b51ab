//! `/api/v1/provisioning/actions` and `/api/v1/provisioning/events`:
//! schedule an action (import, deploy, delete, hash change) at once or at
//! a time, list actions with filters, show one with its events, cancel a
//! pending one, read the event log. Scope `provisioning`; the rules are
//! the service layer's ([`crate::service::provisioning::actions`]).

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use outpost_provision::remote_worker_csv::MAX_REMOTE_WORKER_CSV_BYTES;
use utoipa::OpenApi;

use super::extract::{Authenticated, JsonBody};
use super::resources::openapi::ErrorBody;
use super::{ApiState, json};
use crate::service::ServiceError;
use crate::service::provisioning::ActionView;
use crate::service::provisioning::actions::{
    ActionQuery, ActionRequestKind, EventQuery, LogEventView, ScheduleActionInput, ScheduleFailure,
    ScheduledAction,
};

type Reply = Result<axum::response::Response, ServiceError>;

/// A schedule request's body: a CSV of the import limit, JSON-escaped
/// (each byte at most doubled), and the other fields.
const MAX_SCHEDULE_BODY_BYTES: usize = 2 * MAX_REMOTE_WORKER_CSV_BYTES + 64 * 1024;

/// The routes, merged into the API's router.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route(
            "/api/v1/provisioning/actions",
            get(list_actions)
                .post(schedule_action)
                .layer(DefaultBodyLimit::max(MAX_SCHEDULE_BODY_BYTES)),
        )
        .route(
            "/api/v1/provisioning/actions/{id}",
            get(show_action).delete(cancel_action),
        )
        .route("/api/v1/provisioning/events", get(list_events))
}

/// The OpenAPI operations of these routes.
#[derive(OpenApi)]
#[openapi(
    paths(schedule_action, list_actions, show_action, cancel_action, list_events),
    components(schemas(
        ScheduleActionInput,
        ActionRequestKind,
        ScheduledAction,
        LogEventView,
        ActionQuery,
        EventQuery,
    ))
)]
pub(crate) struct ProvisioningActionsDoc;

/// Schedules an action, at once (neither `at` nor `in`) or at a time. The
/// runner of `outpost serve` carries it out. A CSV with problems is
/// recorded as a failed action (its result names the lines) and answered
/// 422 with every problem. A hash change needs an administrator's
/// password now, and comes with a warning.
#[utoipa::path(
    post, path = "/api/v1/provisioning/actions", tag = "provisioning",
    request_body = ScheduleActionInput,
    responses(
        (status = 202, description = "Scheduled (pending)", body = ScheduledAction),
        (status = 401, description = "hash-change: not an admin account's password", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "A refused field (time in the past, both at and in, missing csv...), or a CSV with problems: error.problems lists them, error.action is the failed action", body = ErrorBody),
        (status = 429, description = "hash-change: too many wrong passwords", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:write"]), ("session" = []))
)]
async fn schedule_action(
    State(state): State<ApiState>,
    auth: Authenticated,
    JsonBody(input): JsonBody<ScheduleActionInput>,
) -> Reply {
    let caller = auth.caller;
    let outcome = state
        .service
        .run(move |s| Ok(s.schedule_action(&caller, &input)))
        .await?;
    match outcome {
        Ok(scheduled) => Ok(json(StatusCode::ACCEPTED, &scheduled)),
        Err(ScheduleFailure::Service(e)) => Err(e),
        Err(failure @ ScheduleFailure::Rejected { .. }) => {
            let problems = failure.problems();
            let ScheduleFailure::Rejected { action, .. } = failure else {
                return Err(ServiceError::Internal("unreachable refusal".into()));
            };
            Ok(json(
                StatusCode::UNPROCESSABLE_ENTITY,
                &serde_json::json!({
                    "error": {
                        "code": "invalid",
                        "message": action.result,
                        "field": "csv",
                        "problems": problems,
                        "action": action,
                    }
                }),
            ))
        }
    }
}

/// Actions, newest first, with their events; filters by state and kind.
#[utoipa::path(
    get, path = "/api/v1/provisioning/actions", tag = "provisioning",
    params(ActionQuery),
    responses(
        (status = 200, description = "Newest first", body = [ActionView]),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 422, description = "A bad filter", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:read"]), ("session" = []))
)]
async fn list_actions(State(state): State<ApiState>, auth: Authenticated, uri: Uri) -> Reply {
    let query: ActionQuery = query(&uri)?;
    let caller = auth.caller;
    let actions = state
        .service
        .run(move |s| s.list_actions(&caller, &query))
        .await?;
    Ok(json(StatusCode::OK, &actions))
}

/// One action with its events.
#[utoipa::path(
    get, path = "/api/v1/provisioning/actions/{id}", tag = "provisioning",
    params(("id" = i64, Path, description = "The action's id")),
    responses(
        (status = 200, description = "The action", body = ActionView),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such action", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:read"]), ("session" = []))
)]
async fn show_action(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Reply {
    let id = action_id(&id)?;
    let caller = auth.caller;
    let action = state
        .service
        .run(move |s| s.show_action(&caller, id))
        .await?;
    Ok(json(StatusCode::OK, &action))
}

/// Cancels a pending action: it ends `failed`, "cancelled by <operator>".
#[utoipa::path(
    delete, path = "/api/v1/provisioning/actions/{id}", tag = "provisioning",
    params(("id" = i64, Path, description = "The action's id")),
    responses(
        (status = 200, description = "The cancelled action", body = ActionView),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such action", body = ErrorBody),
        (status = 409, description = "Not pending (running or ended)", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:write"]), ("session" = []))
)]
async fn cancel_action(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Reply {
    let id = action_id(&id)?;
    let caller = auth.caller;
    let action = state
        .service
        .run(move |s| s.cancel_action(&caller, id))
        .await?;
    Ok(json(StatusCode::OK, &action))
}

/// The event log of every action, oldest first (the newest `limit`).
#[utoipa::path(
    get, path = "/api/v1/provisioning/events", tag = "provisioning",
    params(EventQuery),
    responses(
        (status = 200, description = "Oldest first", body = [LogEventView]),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 422, description = "A bad filter", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:read"]), ("session" = []))
)]
async fn list_events(State(state): State<ApiState>, auth: Authenticated, uri: Uri) -> Reply {
    let query: EventQuery = query(&uri)?;
    let caller = auth.caller;
    let events = state
        .service
        .run(move |s| s.provisioning_events(&caller, &query))
        .await?;
    Ok(json(StatusCode::OK, &events))
}

fn action_id(text: &str) -> Result<i64, ServiceError> {
    text.parse().map_err(|_| {
        ServiceError::invalid(
            "id",
            format!(
                "{text:?} is not an action id; ids are numbers (GET /api/v1/provisioning/actions)"
            ),
        )
    })
}

/// The query string as `T` (unknown parameters refused, naming them).
pub(crate) fn query<T: serde::de::DeserializeOwned>(uri: &Uri) -> Result<T, ServiceError> {
    serde_urlencoded::from_str(uri.query().unwrap_or("")).map_err(|e| ServiceError::BadRequest {
        field: None,
        message: format!("the query string is refused: {e}"),
    })
}
