//! Who is asking, for the UI: the REST API's session cookie
//! (`outpost_session`, set by the login form as by `POST
//! /api/v1/session`), and the CSRF checks of every `POST`.
//!
//! - [`UiSession`]: a GET page's session; without one (none, ended,
//!   expired) the browser is sent to `/ui/login` (an htmx request gets
//!   `HX-Redirect`, so a polling dashboard whose session ended goes to
//!   the login page instead of swapping a login form into itself).
//! - [`UiForm`]: a `POST` with a session: its urlencoded body, whose
//!   `csrf_token` field (or `X-CSRF-Token` header, as htmx sends it) must
//!   be the session's CSRF token ([`crate::service::csrf_matches`]), else
//!   a 403 page saying so.
//! - [`PreLoginForm`]: the setup and login forms, before any session: the
//!   page sets a random token in the cookie [`PRE_LOGIN_COOKIE`] and in
//!   the form, and the `POST` must carry the same in both (double submit;
//!   another site can neither read nor set the cookie, which is
//!   `SameSite=Strict` and `HttpOnly`), else 403.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq;

use super::{Chrome, UiState, error_page};
use crate::http::extract::{CSRF_HEADER, ClientAddr, SESSION_COOKIE};
use crate::service::{Caller, SessionView, csrf_matches};

/// The cookie holding the pre-login CSRF token (setup and login forms).
pub const PRE_LOGIN_COOKIE: &str = "outpost_ui_csrf";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";

/// A logged-in browser.
#[derive(Debug, Clone)]
pub struct UiSession {
    /// Who, from where, when: what service calls take.
    pub caller: Caller,
    /// The session (account, CSRF token).
    pub view: SessionView,
}

impl UiSession {
    /// The layout of a page of section `current`.
    pub fn chrome(&self, current: &'static str) -> Chrome {
        Chrome::new(self, current)
    }
}

impl FromRequestParts<UiState> for UiSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &UiState,
    ) -> Result<Self, Self::Rejection> {
        let source = client(parts, state).await?;
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(&parts.headers));
        };
        let now = state.clock.now();
        match state
            .service
            .run(move |s| s.authenticate_session(&id, source, now))
            .await
        {
            Ok((caller, view)) => Ok(Self { caller, view }),
            Err(_) => Err(to_login(&parts.headers)),
        }
    }
}

/// A form posted with a session and its CSRF token.
#[derive(Debug)]
pub struct UiForm {
    /// The session.
    pub session: UiSession,
    /// The form's fields.
    pub form: FormData,
}

impl FromRequest<UiState> for UiForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &UiState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = UiSession::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let form = read_form(&headers, Request::from_parts(parts, body), state)
            .await
            .map_err(|e| refused(session.chrome(""), e))?;
        let presented = presented_token(&headers, &form);
        let Some(id) = cookie(&headers, SESSION_COOKIE) else {
            return Err(to_login(&headers));
        };
        if !csrf_matches(&id, &presented) {
            return Err(refused(session.chrome(""), CSRF_REFUSED));
        }
        Ok(Self { session, form })
    }
}

/// The setup or login form, with its pre-login CSRF token checked.
#[derive(Debug)]
pub struct PreLoginForm {
    /// The client's address.
    pub source: IpAddr,
    /// The form's fields.
    pub form: FormData,
    /// The pre-login token (to render the form again with).
    pub token: String,
}

impl FromRequest<UiState> for PreLoginForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &UiState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let source = client(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let form = read_form(&headers, Request::from_parts(parts, body), state)
            .await
            .map_err(|e| refused(Chrome::anonymous(String::new()), e))?;
        let presented = presented_token(&headers, &form);
        let token = cookie(&headers, PRE_LOGIN_COOKIE)
            .filter(|t| is_token(t))
            .unwrap_or_default();
        let same = !token.is_empty() && bool::from(token.as_bytes().ct_eq(presented.as_bytes()));
        if !same {
            return Err(refused(Chrome::anonymous(String::new()), PRE_LOGIN_REFUSED));
        }
        Ok(Self {
            source,
            form,
            token,
        })
    }
}

const CSRF_REFUSED: &str = "This form was refused: it did not carry the CSRF token of your \
     session (csrf_token), or carried another one. This happens when the page was opened \
     before your last login, or when another site tried to send it. Go back, reload the \
     page and send the form again.";

const PRE_LOGIN_REFUSED: &str = "This form was refused: its CSRF token (csrf_token) is \
     missing or does not match the one this browser was given with the page (the cookie \
     outpost_ui_csrf: cookies must be allowed for this site). Reload the page and send the \
     form again.";

/// The 403 page of a refused form.
fn refused(chrome: Chrome, why: &str) -> Response {
    error_page(
        chrome,
        StatusCode::FORBIDDEN,
        "Form refused",
        why.to_owned(),
    )
}

/// The form token presented: the `csrf_token` field, else the header.
fn presented_token(headers: &HeaderMap, form: &FormData) -> String {
    form.get(CSRF_FIELD)
        .map(str::to_owned)
        .or_else(|| {
            headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

async fn client(parts: &mut Parts, state: &UiState) -> Result<IpAddr, Response> {
    ClientAddr::from_request_parts(parts, state)
        .await
        .map(|ClientAddr(ip)| ip)
        .map_err(|e| {
            super::service_error_page(Chrome::anonymous(String::new()), &e).into_response()
        })
}

/// Where a browser without a session goes: `/ui/login` (a 303, or for
/// htmx an `HX-Redirect`, which htmx follows with a full page load).
pub fn to_login(headers: &HeaderMap) -> Response {
    if headers.contains_key("hx-request") {
        let mut response = StatusCode::NO_CONTENT.into_response();
        response
            .headers_mut()
            .insert("hx-redirect", HeaderValue::from_static("/ui/login"));
        response
    } else {
        Redirect::to("/ui/login").into_response()
    }
}

/// The fields of an urlencoded form, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, trimmed, or `""`.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").trim().to_owned()
    }

    /// The value of `name` trimmed, `None` when empty.
    pub fn optional(&self, name: &str) -> Option<String> {
        Some(self.text(name)).filter(|v| !v.is_empty())
    }

    /// Whether the checkbox `name` was ticked (sent at all).
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

async fn read_form(
    headers: &HeaderMap,
    req: Request,
    state: &UiState,
) -> Result<FormData, &'static str> {
    let urlencoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !urlencoded {
        return Err("This request was refused: a form must be sent as \
                    application/x-www-form-urlencoded, as the page's forms are.");
    }
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|_| "This form was refused: it is larger than 64 KiB or could not be read.")?;
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .map(FormData)
        .map_err(|_| "This form was refused: its fields do not decode.")
}

/// The value of cookie `name`, if a `Cookie` header has it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// A pre-login token: 64 hex digits.
fn is_token(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The pre-login token of this browser, or a new one with the
/// `Set-Cookie` that gives it (`None` when it has one).
///
/// # Errors
/// No random bytes from the OS.
pub fn pre_login_token(
    headers: &HeaderMap,
) -> Result<(String, Option<HeaderValue>), crate::ServiceError> {
    if let Some(token) = cookie(headers, PRE_LOGIN_COOKIE).filter(|t| is_token(t)) {
        return Ok((token, None));
    }
    let token = crate::service::random_hex(32)?;
    let set = HeaderValue::from_str(&format!(
        "{PRE_LOGIN_COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/ui"
    ))
    .map_err(|e| crate::ServiceError::Internal(format!("pre-login cookie: {e}")))?;
    Ok((token, Some(set)))
}
