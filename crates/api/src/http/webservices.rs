//! `/api/v1/webservices`: the web services' consumers and OAuth tokens
//! for administrators (issue 16 item 2; the CLI's `outpost webservices`),
//! scope `webservices`: read to list, write for the rest, including
//! showing a consumer's shared secret (audited). Mounted by `serve` with
//! the web services' sealing key ([`router`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, patch, post};
use axum::{Extension, Router};
use utoipa::OpenApi;

use super::extract::{Authenticated, JsonBody};
use super::{ApiState, json};
use crate::service::ServiceError;
use crate::service::webservices::{
    ConsumerPatch, ConsumerSecret, ConsumerView, GrantLists, GrantView, NewConsumerInput,
    WebServices,
};

type Reply = Result<Response, ServiceError>;
type Ws = Extension<WebServices>;

/// The routes over `state` (the admin API's) and `ws`.
pub fn router(state: ApiState, ws: WebServices) -> Router {
    Router::new()
        .route(
            "/api/v1/webservices/consumers",
            get(webservices_list_consumers).post(webservices_create_consumer),
        )
        .route(
            "/api/v1/webservices/consumers/{id}",
            patch(webservices_update_consumer).delete(webservices_remove_consumer),
        )
        .route(
            "/api/v1/webservices/consumers/{id}/secret",
            get(webservices_show_secret).post(webservices_new_secret),
        )
        .route("/api/v1/webservices/tokens", get(webservices_list_tokens))
        .route(
            "/api/v1/webservices/tokens/{token}/{verb}",
            post(webservices_token_action),
        )
        .layer(Extension(ws))
        .with_state(state)
}

/// The OpenAPI operations of these routes.
#[derive(OpenApi)]
#[openapi(
    paths(webservices_list_consumers, webservices_create_consumer, webservices_update_consumer, webservices_remove_consumer, webservices_show_secret, webservices_new_secret, webservices_list_tokens, webservices_token_action),
    components(schemas(ConsumerView, ConsumerSecret, NewConsumerInput, ConsumerPatch, GrantView, GrantLists)),
    tags((name = "webservices", description = "MSL-compatible web services: consumers and OAuth tokens (PRO-3)"))
)]
pub struct WebServicesDoc;

async fn run<T: Send + 'static>(
    state: &ApiState,
    ws: WebServices,
    call: impl FnOnce(&WebServices) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    state.service.run(move |_| call(&ws)).await
}

/// Every consumer (never a secret).
#[utoipa::path(get, path = "/api/v1/webservices/consumers", tag = "webservices",
    responses((status = 200, body = Vec<ConsumerView>), (status = 403, description = "No webservices:read scope")),
    security(("bearer" = ["webservices:read"]), ("session" = [])))]
async fn webservices_list_consumers(
    State(state): State<ApiState>,
    Extension(ws): Ws,
    auth: Authenticated,
) -> Reply {
    let caller = auth.caller;
    let all = run(&state, ws, move |ws| ws.consumers(&caller)).await?;
    Ok(json(StatusCode::OK, &all))
}

/// A new consumer; its shared secret is in the answer.
#[utoipa::path(post, path = "/api/v1/webservices/consumers", tag = "webservices",
    request_body = NewConsumerInput,
    responses((status = 201, body = ConsumerSecret), (status = 409, description = "ID in use"), (status = 422, description = "A refused value (named)")),
    security(("bearer" = ["webservices:write"]), ("session" = [])))]
async fn webservices_create_consumer(
    State(state): State<ApiState>,
    Extension(ws): Ws,
    auth: Authenticated,
    JsonBody(input): JsonBody<NewConsumerInput>,
) -> Reply {
    let caller = auth.caller;
    let made = run(&state, ws, move |ws| ws.create_consumer(&caller, &input)).await?;
    Ok(json(StatusCode::CREATED, &made))
}

/// Changes a consumer's name, active flag or permissions.
#[utoipa::path(patch, path = "/api/v1/webservices/consumers/{id}", tag = "webservices",
    params(("id" = String, Path, description = "Consumer ID")), request_body = ConsumerPatch,
    responses((status = 200, body = ConsumerView), (status = 404, description = "No such consumer")),
    security(("bearer" = ["webservices:write"]), ("session" = [])))]
async fn webservices_update_consumer(
    State(state): State<ApiState>,
    Extension(ws): Ws,
    auth: Authenticated,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<ConsumerPatch>,
) -> Reply {
    let caller = auth.caller;
    let view = run(&state, ws, move |ws| {
        ws.update_consumer(&caller, &id, &patch)
    })
    .await?;
    Ok(json(StatusCode::OK, &view))
}

/// Removes a consumer and its tokens.
#[utoipa::path(delete, path = "/api/v1/webservices/consumers/{id}", tag = "webservices",
    params(("id" = String, Path, description = "Consumer ID")),
    responses((status = 200, body = ConsumerView), (status = 404, description = "No such consumer")),
    security(("bearer" = ["webservices:write"]), ("session" = [])))]
async fn webservices_remove_consumer(
    State(state): State<ApiState>,
    Extension(ws): Ws,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let view = run(&state, ws, move |ws| ws.remove_consumer(&caller, &id)).await?;
    Ok(json(StatusCode::OK, &view))
}

/// A consumer's shared secret, for the application server's form
/// (audited; write access needed).
#[utoipa::path(get, path = "/api/v1/webservices/consumers/{id}/secret", tag = "webservices",
    params(("id" = String, Path, description = "Consumer ID")),
    responses((status = 200, body = ConsumerSecret), (status = 404, description = "No such consumer")),
    security(("bearer" = ["webservices:write"]), ("session" = [])))]
async fn webservices_show_secret(
    State(state): State<ApiState>,
    Extension(ws): Ws,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let shown = run(&state, ws, move |ws| ws.consumer_secret(&caller, &id)).await?;
    Ok(json(StatusCode::OK, &shown))
}

/// A new shared secret; the old one stops working.
#[utoipa::path(post, path = "/api/v1/webservices/consumers/{id}/secret", tag = "webservices",
    params(("id" = String, Path, description = "Consumer ID")),
    responses((status = 200, body = ConsumerSecret), (status = 404, description = "No such consumer")),
    security(("bearer" = ["webservices:write"]), ("session" = [])))]
async fn webservices_new_secret(
    State(state): State<ApiState>,
    Extension(ws): Ws,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let made = run(&state, ws, move |ws| {
        ws.regenerate_consumer_secret(&caller, &id)
    })
    .await?;
    Ok(json(StatusCode::OK, &made))
}

/// Temporary and final tokens.
#[utoipa::path(get, path = "/api/v1/webservices/tokens", tag = "webservices",
    responses((status = 200, body = GrantLists)),
    security(("bearer" = ["webservices:read"]), ("session" = [])))]
async fn webservices_list_tokens(
    State(state): State<ApiState>,
    Extension(ws): Ws,
    auth: Authenticated,
) -> Reply {
    let caller = auth.caller;
    let lists = run(&state, ws, move |ws| ws.grants(&caller)).await?;
    Ok(json(StatusCode::OK, &lists))
}

/// `approve` (the answer carries the verifier) or `reject` a temporary
/// token; `renew` (+1 year) or `revoke` a final one.
#[utoipa::path(post, path = "/api/v1/webservices/tokens/{token}/{verb}", tag = "webservices",
    params(("token" = String, Path, description = "The token"), ("verb" = String, Path, description = "approve, reject, renew or revoke")),
    responses((status = 200, body = GrantView), (status = 404, description = "No such token or verb"), (status = 409, description = "Renewing a revoked token")),
    security(("bearer" = ["webservices:write"]), ("session" = [])))]
async fn webservices_token_action(
    State(state): State<ApiState>,
    Extension(ws): Ws,
    auth: Authenticated,
    Path((token, verb)): Path<(String, String)>,
) -> Reply {
    let caller = auth.caller;
    let done = run(&state, ws, move |ws| match verb.as_str() {
        "approve" => ws.approve(&caller, &token),
        "reject" => ws.reject(&caller, &token),
        "renew" => ws.renew(&caller, &token),
        "revoke" => ws.revoke(&caller, &token),
        other => Err(ServiceError::NotFound(format!(
            "no token action {other:?}: use approve, reject, renew or revoke"
        ))),
    })
    .await?;
    Ok(json(StatusCode::OK, &done))
}
