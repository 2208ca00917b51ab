//! The native REST API under `/api/v1/`: thin handlers that authenticate,
//! parse, call the service layer on the blocking pool and write JSON.

mod certificates;
mod device_export;
mod error;
pub mod extract;
mod provisioning;
mod provisioning_actions;
pub mod resources;
mod settings;
mod sip_service;
pub mod webservices;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use serde::Serialize;

use crate::clock::Clock;
use crate::service::{
    AuditQuery, LoginInput, NewAdminInput, NewTokenInput, PasswordChangeInput, Service,
    ServiceError, SetupInput,
};
use extract::{Authenticated, ClientAddr, JsonBody, MAX_BODY_BYTES, SESSION_COOKIE};

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The service layer.
    pub service: Service,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
}

/// The `/api/v1/` routes.
pub fn router(service: Service, clock: Arc<dyn Clock>) -> Router {
    let state = ApiState { service, clock };
    Router::new()
        .route("/api/v1/setup", get(setup_status).post(setup))
        .route("/api/v1/session", get(session).post(login).delete(logout))
        .route("/api/v1/admins", get(list_admins).post(create_admin))
        .route("/api/v1/admins/{name}", delete(delete_admin))
        .route("/api/v1/admins/{name}/password", post(change_password))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
        .route("/api/v1/audit", get(audit))
        .merge(resources::routes())
        .merge(settings::routes())
        .merge(sip_service::routes())
        .merge(provisioning::routes())
        .merge(provisioning_actions::routes())
        .merge(device_export::routes())
        .merge(certificates::routes())
        .route("/api/v1", any(unknown_route))
        .route("/api/v1/{*rest}", any(unknown_route))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(no_store))
        .with_state(state)
}

type Reply = Result<Response, ServiceError>;

/// A JSON response.
pub(crate) fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn ok(body: &impl Serialize) -> Reply {
    Ok(json(StatusCode::OK, body))
}

/// Responses of the API hold account data and CSRF tokens: never cached.
async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn unknown_route(uri: Uri) -> ServiceError {
    ServiceError::NotFound(format!(
        "no such API route {}; the routes are under /api/v1/ (setup, session, admins, tokens, \
         audit, icps, devices, guard, settings, service, provisioning, certificates); GET /api/v1/openapi.json lists them all",
        uri.path()
    ))
}

#[utoipa::path(
    get, path = "/api/v1/setup", tag = "setup",
    responses((status = 200, description = "Whether the first administrator is still to be created", body = crate::service::SetupStatus))
)]
async fn setup_status(State(state): State<ApiState>) -> Reply {
    ok(&state.service.run(|s| s.setup_status()).await?)
}

#[utoipa::path(
    post, path = "/api/v1/setup", tag = "setup",
    request_body = SetupInput,
    responses(
        (status = 201, description = "The first administrator", body = crate::service::AdminView),
        (status = 401, description = "Wrong setup token", body = resources::openapi::ErrorBody),
        (status = 409, description = "Already set up; the token is spent", body = resources::openapi::ErrorBody),
        (status = 422, description = "A refused value (named)", body = resources::openapi::ErrorBody),
        (status = 429, description = "Too many wrong tokens from this address", body = resources::openapi::ErrorBody),
    )
)]
async fn setup(
    State(state): State<ApiState>,
    ClientAddr(source): ClientAddr,
    JsonBody(input): JsonBody<SetupInput>,
) -> Reply {
    let now = state.clock.now();
    let admin = state
        .service
        .run(move |s| s.setup(&input, Some(source), None, now))
        .await?;
    Ok(json(StatusCode::CREATED, &admin))
}

#[utoipa::path(
    post, path = "/api/v1/session", tag = "session",
    request_body = LoginInput,
    responses(
        (status = 200, description = "Logged in: the cookie outpost_session is set; send csrf_token as X-CSRF-Token with every change", body = crate::service::SessionView),
        (status = 401, description = "No credentials", body = resources::openapi::ErrorBody),
        (status = 429, description = "Too many failures from this address", body = resources::openapi::ErrorBody),
    )
)]
async fn login(
    State(state): State<ApiState>,
    ClientAddr(source): ClientAddr,
    JsonBody(input): JsonBody<LoginInput>,
) -> Reply {
    let now = state.clock.now();
    let outcome = state
        .service
        .run(move |s| s.login(&input, source, now))
        .await?;
    let max_age = outcome.view.expires - now;
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={max_age}",
        outcome.session_id.expose()
    );
    let mut response = json(StatusCode::OK, &outcome.view);
    let value = HeaderValue::from_str(&cookie)
        .map_err(|e| ServiceError::Internal(format!("session cookie: {e}")))?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    Ok(response)
}

#[derive(Serialize)]
struct TokenIdentity {
    token: TokenSummary,
}

#[derive(Serialize)]
struct TokenSummary {
    id: String,
    name: String,
    scopes: Vec<String>,
}

#[utoipa::path(
    get, path = "/api/v1/session", tag = "session",
    responses(
        (status = 200, description = "The session (or, for a bearer token, {\"token\": {id, name, scopes}})", body = crate::service::SessionView),
        (status = 401, description = "No credentials", body = resources::openapi::ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn session(auth: Authenticated) -> Reply {
    match (auth.session, auth.caller.actor) {
        (Some(view), _) => ok(&view),
        (None, crate::service::Actor::Token { id, name, scopes }) => ok(&TokenIdentity {
            token: TokenSummary {
                id,
                name,
                scopes: scopes.items(),
            },
        }),
        (None, _) => Err(ServiceError::Internal(
            "caller without session or token".into(),
        )),
    }
}

#[utoipa::path(
    delete, path = "/api/v1/session", tag = "session",
    responses(
        (status = 204, description = "Logged out; the cookie is cleared"),
        (status = 401, description = "No credentials", body = resources::openapi::ErrorBody),
    ),
    security(("session" = []))
)]
async fn logout(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    state.service.run(move |s| s.logout(&caller)).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "outpost_session=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0",
        ),
    );
    Ok(response)
}

#[utoipa::path(
    get, path = "/api/v1/admins", tag = "admins",
    responses(
        (status = 200, description = "Every administrator account", body = [crate::service::AdminView]),
        (status = 401, description = "No credentials", body = resources::openapi::ErrorBody), (status = 403, description = "Not allowed", body = resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["admins:read"]), ("session" = []))
)]
async fn list_admins(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    ok(&state.service.run(move |s| s.list_admins(&caller)).await?)
}

#[utoipa::path(
    post, path = "/api/v1/admins", tag = "admins",
    request_body = NewAdminInput,
    responses(
        (status = 201, description = "Created", body = crate::service::AdminView),
        (status = 403, description = "Not allowed", body = resources::openapi::ErrorBody),
        (status = 409, description = "The name is in use", body = resources::openapi::ErrorBody),
        (status = 422, description = "A refused value (named)", body = resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["admins:write"]), ("session" = []))
)]
async fn create_admin(
    State(state): State<ApiState>,
    auth: Authenticated,
    JsonBody(input): JsonBody<NewAdminInput>,
) -> Reply {
    let caller = auth.caller;
    let admin = state
        .service
        .run(move |s| s.create_admin(&caller, &input))
        .await?;
    Ok(json(StatusCode::CREATED, &admin))
}

#[utoipa::path(
    delete, path = "/api/v1/admins/{name}", tag = "admins",
    params(("name" = String, Path, description = "The account's name")),
    responses(
        (status = 200, description = "The account as it was", body = crate::service::AdminView),
        (status = 403, description = "Not allowed", body = resources::openapi::ErrorBody),
        (status = 404, description = "No such account", body = resources::openapi::ErrorBody),
        (status = 409, description = "The last administrator", body = resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["admins:write"]), ("session" = []))
)]
async fn delete_admin(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
) -> Reply {
    let caller = auth.caller;
    ok(&state
        .service
        .run(move |s| s.delete_admin(&caller, &name))
        .await?)
}

#[utoipa::path(
    post, path = "/api/v1/admins/{name}/password", tag = "admins",
    params(("name" = String, Path, description = "The account's name")),
    request_body = PasswordChangeInput,
    responses(
        (status = 200, description = "Changed; the account's other sessions end", body = crate::service::AdminView),
        (status = 403, description = "Not allowed", body = resources::openapi::ErrorBody),
        (status = 404, description = "No such account", body = resources::openapi::ErrorBody),
        (status = 422, description = "A refused value (named)", body = resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["admins:write"]), ("session" = []))
)]
async fn change_password(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
    JsonBody(input): JsonBody<PasswordChangeInput>,
) -> Reply {
    let caller = auth.caller;
    ok(&state
        .service
        .run(move |s| s.change_password(&caller, &name, &input))
        .await?)
}

#[utoipa::path(
    get, path = "/api/v1/tokens", tag = "tokens",
    responses(
        (status = 200, description = "Every API token, never its value", body = [crate::service::TokenView]),
        (status = 403, description = "Not allowed", body = resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["tokens:read"]), ("session" = []))
)]
async fn list_tokens(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    ok(&state.service.run(move |s| s.list_tokens(&caller)).await?)
}

#[utoipa::path(
    post, path = "/api/v1/tokens", tag = "tokens",
    request_body = NewTokenInput,
    responses(
        (status = 201, description = "Created; the token's value is shown this once", body = crate::service::CreatedToken),
        (status = 403, description = "Not an administrator account (tokens cannot create tokens)", body = resources::openapi::ErrorBody),
        (status = 409, description = "The name is in use", body = resources::openapi::ErrorBody),
        (status = 422, description = "A refused value (named)", body = resources::openapi::ErrorBody),
    ),
    security(("session" = []))
)]
async fn create_token(
    State(state): State<ApiState>,
    auth: Authenticated,
    JsonBody(input): JsonBody<NewTokenInput>,
) -> Reply {
    let caller = auth.caller;
    let created = state
        .service
        .run(move |s| s.create_token(&caller, &input))
        .await?;
    Ok(json(StatusCode::CREATED, &created))
}

#[utoipa::path(
    delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 200, description = "Revoked", body = crate::service::TokenView),
        (status = 403, description = "Not allowed", body = resources::openapi::ErrorBody),
        (status = 404, description = "No such token", body = resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["tokens:write"]), ("session" = []))
)]
async fn revoke_token(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Reply {
    let caller = auth.caller;
    ok(&state
        .service
        .run(move |s| s.revoke_token(&caller, &id))
        .await?)
}

#[utoipa::path(
    get, path = "/api/v1/audit", tag = "audit",
    params(
        ("actor" = Option<String>, Query, description = "account:alice, token:ID, cli:root, or an actor name"),
        ("action" = Option<String>, Query, description = "An action (admin.create) or a family ending in a dot (device.)"),
        ("since" = Option<i64>, Query, description = "Entries at or after, Unix seconds"),
        ("until" = Option<i64>, Query, description = "Entries at or before, Unix seconds"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 500 (default 100)"),
        ("cursor" = Option<i64>, Query, description = "The previous page's next_cursor"),
    ),
    responses(
        (status = 200, description = "A page of entries, newest first", body = crate::service::AuditPage),
        (status = 403, description = "Not allowed", body = resources::openapi::ErrorBody),
        (status = 422, description = "A refused parameter (named)", body = resources::openapi::ErrorBody),
    ),
    security(("bearer" = ["audit:read"]), ("session" = []))
)]
async fn audit(State(state): State<ApiState>, auth: Authenticated, uri: Uri) -> Reply {
    let query = AuditQuery::from_query(uri.query())?;
    let caller = auth.caller;
    ok(&state.service.run(move |s| s.audit(&caller, &query)).await?)
}
