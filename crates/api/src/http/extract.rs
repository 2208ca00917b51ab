//! Request extractors: the client's address, a bounded JSON body that
//! refuses unknown fields, the audit query, and the authenticated caller
//! (session cookie with CSRF check, or bearer token).

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use serde::de::DeserializeOwned;

use super::ApiState;
use crate::service::{AuditQuery, Caller, Password, ServiceError, SessionView, csrf_matches};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "outpost_session";
/// Header carrying the session's CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest accepted request body, bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The client's address (from the connection, never from a header).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| Self(info.0.ip()))
            .ok_or_else(|| {
                ServiceError::Internal(
                    "no client address on the request: serve the router with connect info"
                        .to_owned(),
                )
            })
    }
}

/// A JSON request body: `Content-Type: application/json` (else 415), at
/// most [`MAX_BODY_BYTES`] (else 413), well-formed (else 400), no unknown
/// field (400 naming it), every field of the right type (422 naming it).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ServiceError::UnsupportedMediaType);
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(Self)
    }
}

/// An optional JSON body: none at all (no bytes) is `T::default()`;
/// anything else is read as [`JsonBody`] reads it (415, 413, 400, 422).
/// For actions whose options all have defaults, e.g. `POST
/// /api/v1/icps/{name}/test`, so a bare `curl -X POST` works.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(req.headers());
        let bytes = read_body(req, state).await?;
        if bytes.is_empty() {
            return Ok(Self(T::default()));
        }
        if !json {
            return Err(ServiceError::UnsupportedMediaType);
        }
        parse_json(&bytes).map(Self)
    }
}

/// The body's bytes, at most [`MAX_BODY_BYTES`] (else 413).
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ServiceError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ServiceError::PayloadTooLarge {
                limit_bytes: MAX_BODY_BYTES,
            }
        } else {
            ServiceError::BadRequest {
                field: None,
                message: format!("cannot read the request body: {rejection}"),
            }
        }
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Parses a JSON body into `T`, classifying errors as 400 (malformed,
/// unknown field) or 422 (missing field, wrong type), naming the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ServiceError> {
    // serde would also read a struct from an array (`["bob", "..."]`):
    // only an object, whose keys name the fields, is accepted.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ServiceError::BadRequest {
            field: None,
            message: "malformed JSON: the body must be one JSON object ({\"field\": value, ...})"
                .to_owned(),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(classify)?;
    de.end().map_err(|e| ServiceError::BadRequest {
        field: None,
        message: format!("malformed JSON: {e}; send one JSON object and nothing after it"),
    })?;
    Ok(value)
}

fn classify(err: serde_path_to_error::Error<serde_json::Error>) -> ServiceError {
    {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let text = inner.to_string();
        if let Some(field) = between(&text, "unknown field `", "`") {
            let expected = text
                .split_once(", expected ")
                .map(|(_, rest)| rest.split(" at line").next().unwrap_or(rest))
                .unwrap_or("no other field");
            return ServiceError::BadRequest {
                field: Some(qualified(&path, field)),
                message: format!(
                    "unknown field {:?}; remove it (allowed: {expected})",
                    qualified(&path, field)
                ),
            };
        }
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = between(&text, "missing field `", "`")
                    .map_or_else(|| path.clone(), |f| qualified(&path, f));
                ServiceError::Invalid {
                    message: format!("{field}: {text}"),
                    field,
                }
            }
            _ => ServiceError::BadRequest {
                field: None,
                message: format!("malformed JSON: {text}; send one JSON object"),
            },
        }
    }
}

/// `field` under `path` (serde_path_to_error's path may already end with
/// the field, or be `.` at the top).
fn qualified(path: &str, field: &str) -> String {
    if path.is_empty() || path == "." {
        field.to_owned()
    } else if path == field || path.ends_with(&format!(".{field}")) {
        path.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &text[text.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

impl AuditQuery {
    /// Parses the query string of `GET /api/v1/audit`.
    ///
    /// # Errors
    /// 400 for an unknown parameter or a query that does not decode; 422
    /// for a number that does not parse.
    pub fn from_query(query: Option<&str>) -> Result<Self, ServiceError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|e| ServiceError::BadRequest {
                field: None,
                message: format!("the query string does not decode: {e}"),
            })?;
        let mut q = Self::default();
        for (key, value) in pairs {
            let int = |field: &str| {
                value.trim().parse::<i64>().map_err(|_| {
                    ServiceError::invalid(
                        field,
                        format!("{value:?} is not a whole number of seconds since 1970"),
                    )
                })
            };
            match key.as_str() {
                "actor" => q.actor = Some(value.clone()),
                "action" => q.action = Some(value.clone()),
                "since" => q.since = Some(int("since")?),
                "until" => q.until = Some(int("until")?),
                "cursor" => q.cursor = Some(int("cursor")?),
                "limit" => {
                    q.limit = Some(value.trim().parse::<u32>().map_err(|_| {
                        ServiceError::invalid(
                            "limit",
                            format!("{value:?} is not a number; give 1 to 500"),
                        )
                    })?);
                }
                other => {
                    return Err(ServiceError::BadRequest {
                        field: Some(other.to_owned()),
                        message: format!(
                            "unknown query parameter {other:?}; allowed: actor, action, \
                             since, until, limit, cursor"
                        ),
                    });
                }
            }
        }
        Ok(q)
    }
}

/// An authenticated caller: a session (its CSRF token checked on every
/// state-changing method) or an API token.
#[derive(Debug)]
pub struct Authenticated {
    /// Who, from where, when.
    pub caller: Caller,
    /// The session, when authenticated by cookie.
    pub session: Option<SessionView>,
}

impl FromRequestParts<ApiState> for Authenticated {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let ClientAddr(source) = ClientAddr::from_request_parts(parts, state).await?;
        let now = state.clock.now();
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value.to_str().ok().and_then(bearer).ok_or_else(|| {
                ServiceError::Unauthorized(
                    "the Authorization header is not `Bearer <token>`; send an API token \
                         that way, or log in with POST /api/v1/session"
                        .to_owned(),
                )
            })?;
            let token = Password::new(token);
            let caller = state
                .service
                .run(move |s| s.authenticate_token(&token, source, now))
                .await?;
            return Ok(Self {
                caller,
                session: None,
            });
        }
        let Some(session_id) = session_cookie(&parts.headers) else {
            return Err(ServiceError::Unauthorized(
                "no credentials: log in with POST /api/v1/session (session cookie) or send \
                 `Authorization: Bearer <token>`"
                    .to_owned(),
            ));
        };
        let id = session_id.clone();
        let (caller, view) = state
            .service
            .run(move |s| s.authenticate_session(id.expose(), source, now))
            .await?;
        if !is_safe(&parts.method) {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !csrf_matches(session_id.expose(), presented) {
                return Err(ServiceError::Forbidden(
                    "missing or wrong X-CSRF-Token header: a change made with a session \
                     cookie must carry the csrf_token returned by POST or GET /api/v1/session"
                        .to_owned(),
                ));
            }
        }
        Ok(Self {
            caller,
            session: Some(view),
        })
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The `outpost_session` cookie's value, if one of the `Cookie` headers
/// has it.
fn session_cookie(headers: &HeaderMap) -> Option<Password> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| Password::new(value.trim()))
}
