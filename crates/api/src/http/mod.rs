//! The native REST API under `/api/v1/`: thin handlers that authenticate,
//! parse, call the service layer on the blocking pool and write JSON.

mod error;
pub mod extract;

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
         audit)",
        uri.path()
    ))
}

async fn setup_status(State(state): State<ApiState>) -> Reply {
    ok(&state.service.run(|s| s.setup_status()).await?)
}

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

async fn list_admins(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    ok(&state.service.run(move |s| s.list_admins(&caller)).await?)
}

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

async fn list_tokens(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    ok(&state.service.run(move |s| s.list_tokens(&caller)).await?)
}

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

async fn audit(State(state): State<ApiState>, auth: Authenticated, uri: Uri) -> Reply {
    let query = AuditQuery::from_query(uri.query())?;
    let caller = auth.caller;
    ok(&state.service.run(move |s| s.audit(&caller, &query)).await?)
}
