//! First run, login and logout: the setup page (while no administrator
//! exists, `/ui/` shows it: the setup token printed at the first start,
//! the first administrator's name and password, [`Service::setup`]), the
//! login page ([`Service::login`], which sets the same session cookie as
//! `POST /api/v1/session`), and logout ([`Service::logout`]).
//!
//! [`Service::setup`]: crate::Service::setup
//! [`Service::login`]: crate::Service::login
//! [`Service::logout`]: crate::Service::logout

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::{PreLoginForm, UiForm, UiSession, pre_login_token};
use super::forms::FormState;
use super::{Chrome, Notice, UiState, render, service_error_page};
use crate::http::extract::SESSION_COOKIE;
use crate::service::{LoginInput, Password, ServiceError, SetupInput};

/// The setup page.
#[derive(Template)]
#[template(path = "ui/setup.html")]
pub struct SetupPage {
    /// The layout (no navigation).
    pub chrome: Chrome,
    /// The form.
    pub form: FormState,
}

/// The login page.
#[derive(Template)]
#[template(path = "ui/login.html")]
pub struct LoginPage {
    /// The layout (no navigation).
    pub chrome: Chrome,
    /// The form.
    pub form: FormState,
}

const SETUP_FIELDS: [&str; 4] = ["setup_token", "name", "password", "password_again"];
const LOGIN_FIELDS: [&str; 2] = ["name", "password"];

/// Whether the first administrator is still to be created.
pub(crate) async fn setup_required(state: &UiState) -> Result<bool, ServiceError> {
    Ok(state
        .service
        .run(|s| s.setup_status())
        .await?
        .setup_required)
}

/// A page before login, with the pre-login CSRF token (and the cookie
/// that gives it, for a browser that has none).
fn pre_login_page(headers: &HeaderMap, page: impl FnOnce(Chrome) -> Response) -> Response {
    match pre_login_token(headers) {
        Ok((token, set)) => {
            let mut response = page(Chrome::anonymous(token));
            if let Some(set) = set {
                response.headers_mut().append(header::SET_COOKIE, set);
            }
            response
        }
        Err(e) => service_error_page(Chrome::anonymous(String::new()), &e),
    }
}

/// The setup page as `/ui/` shows it on a fresh installation.
pub(crate) fn setup_page(headers: &HeaderMap) -> Response {
    pre_login_page(headers, |chrome| {
        render(
            StatusCode::OK,
            &SetupPage {
                chrome,
                form: FormState::default(),
            },
        )
    })
}

/// `POST /ui/setup`: creates the first administrator.
pub async fn setup(State(state): State<UiState>, posted: PreLoginForm) -> Response {
    let form = &posted.form;
    let mut shown = FormState::from_posted(form, &["name"]);
    let password = form.get("password").unwrap_or("").to_owned();
    if password != form.get("password_again").unwrap_or("") {
        shown.refuse_field(
            Some("password_again"),
            "the two passwords differ; type the same password twice",
            &SETUP_FIELDS,
        );
        return setup_again(posted.token, shown, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let input = SetupInput {
        setup_token: Password::new(form.text("setup_token")),
        name: form.text("name"),
        password: Password::new(password),
    };
    let now = state.clock.now();
    let source = posted.source;
    match state
        .service
        .run(move |s| s.setup(&input, Some(source), None, now))
        .await
    {
        Ok(_) => Notice::SetUp.redirect("/ui/login", None),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match &e {
                // The service names the token in its message, not as a field.
                ServiceError::Unauthorized(message) => shown.refuse_field(
                    Some("setup_token"),
                    message.strip_prefix("setup_token: ").unwrap_or(message),
                    &SETUP_FIELDS,
                ),
                ServiceError::Conflict(_) => return Redirect::to("/ui/login").into_response(),
                other => shown.refuse(other, &SETUP_FIELDS),
            }
            setup_again(posted.token, shown, status)
        }
    }
}

fn setup_again(token: String, form: FormState, status: StatusCode) -> Response {
    render(
        status,
        &SetupPage {
            chrome: Chrome::anonymous(token),
            form,
        },
    )
}

/// `GET /ui/login`.
pub async fn login_page(
    State(state): State<UiState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    match setup_required(&state).await {
        Ok(true) => return Redirect::to("/ui/").into_response(),
        Ok(false) => {}
        Err(e) => return service_error_page(Chrome::anonymous(String::new()), &e),
    }
    let notice = Notice::from_query(uri.query());
    pre_login_page(&headers, |chrome| {
        render(
            StatusCode::OK,
            &LoginPage {
                chrome: chrome.with_notice(notice),
                form: FormState::default(),
            },
        )
    })
}

/// `POST /ui/login`: opens a session (the cookie of `POST
/// /api/v1/session`) and goes to the dashboard.
pub async fn login(State(state): State<UiState>, posted: PreLoginForm) -> Response {
    let form = &posted.form;
    let input = LoginInput {
        name: form.text("name"),
        password: Password::new(form.get("password").unwrap_or("")),
    };
    let now = state.clock.now();
    let source = posted.source;
    match state
        .service
        .run(move |s| s.login(&input, source, now))
        .await
    {
        Ok(outcome) => {
            let max_age = outcome.view.expires - now;
            let cookie = format!(
                "{SESSION_COOKIE}={}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={max_age}",
                outcome.session_id.expose()
            );
            let mut response = Redirect::to("/ui/").into_response();
            match HeaderValue::from_str(&cookie) {
                Ok(value) => {
                    response.headers_mut().insert(header::SET_COOKIE, value);
                    response
                }
                Err(e) => service_error_page(
                    Chrome::anonymous(String::new()),
                    &ServiceError::Internal(format!("session cookie: {e}")),
                ),
            }
        }
        Err(e) => {
            let mut shown = FormState::from_posted(form, &["name"]);
            shown.refuse(&e, &LOGIN_FIELDS);
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            render(
                status,
                &LoginPage {
                    chrome: Chrome::anonymous(posted.token),
                    form: shown,
                },
            )
        }
    }
}

/// `POST /ui/logout`: ends the session and clears its cookie.
pub async fn logout(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, .. } = posted;
    let UiSession { caller, .. } = session.clone();
    if let Err(e) = state.service.run(move |s| s.logout(&caller)).await {
        return service_error_page(session.chrome(""), &e);
    }
    let mut response = Notice::LoggedOut.redirect("/ui/login", None);
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "outpost_session=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0",
        ),
    );
    response
}
