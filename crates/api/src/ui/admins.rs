//! Administrators and API tokens (`/ui/admins`): the accounts
//! ([`Service::list_admins`]), adding one with the role `admin` or
//! `read-only` ([`Service::create_admin`], the input of `POST
//! /api/v1/admins`), removing one ([`Service::delete_admin`]), changing
//! one's own password ([`Service::change_password`], every role); the API
//! tokens ([`Service::list_tokens`]) with their scopes, expiry and allowed
//! sources, creating one ([`Service::create_token`], the input of `POST
//! /api/v1/tokens`: its value is on the answer page only, shown once and
//! never again) and revoking one ([`Service::revoke_token`]).
//!
//! Passwords are never put back into a page; a read-only account sees the
//! lists and its own password form only.
//!
//! [`Service::list_admins`]: crate::Service::list_admins
//! [`Service::create_admin`]: crate::Service::create_admin
//! [`Service::delete_admin`]: crate::Service::delete_admin
//! [`Service::change_password`]: crate::Service::change_password
//! [`Service::list_tokens`]: crate::Service::list_tokens
//! [`Service::create_token`]: crate::Service::create_token
//! [`Service::revoke_token`]: crate::Service::revoke_token

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};

use super::auth::{FormData, UiForm, UiSession};
use super::forms::{FormState, number};
use super::{Chrome, Notice, UiState, render, service_error_page, when};
use crate::service::{
    AdminView, CreatedToken, DEFAULT_TOKEN_DAYS, NewAdminInput, NewTokenInput, Password,
    PasswordChangeInput, Resource, ServiceError, TokenView,
};

/// The page.
pub const PATH: &str = "/ui/admins";

/// The routes of the page, merged into the UI's router.
pub fn routes() -> Router<UiState> {
    Router::new()
        .route(PATH, get(page).post(create_admin))
        .route("/ui/admins/delete", post(delete_admin))
        .route("/ui/admins/password", post(change_password))
        .route("/ui/tokens", post(create_token))
        .route("/ui/tokens/revoke", post(revoke_token))
}

/// A resource's scope select: its field and name.
#[derive(Debug, Clone)]
pub struct ScopeField {
    /// The field, `scope_<resource>` (`scope_all` for `*`).
    pub field: String,
    /// The resource's name in scopes (`*` for all).
    pub resource: &'static str,
}

/// The administrators and tokens page.
#[derive(Template)]
#[template(path = "ui/admins.html")]
pub struct AdminsPage {
    /// The layout.
    pub chrome: Chrome,
    /// The account logged in.
    pub me: String,
    /// Every account.
    pub admins: Vec<AdminView>,
    /// Every token, revoked ones included.
    pub tokens: Vec<TokenView>,
    /// The token just created: its value is shown this once.
    pub created: Option<CreatedToken>,
    /// The add-account form.
    pub admin_form: FormState,
    /// The own-password form.
    pub password_form: FormState,
    /// The new-token form.
    pub token_form: FormState,
    /// A refused removal or revocation, above the lists.
    pub refused: Option<String>,
    /// The scope selects.
    pub scopes: Vec<ScopeField>,
    /// Now, for "expired".
    pub now: i64,
}

impl AdminsPage {
    /// A time or `—`.
    pub fn at(t: &Option<i64>) -> String {
        t.map_or_else(|| "—".to_owned(), when)
    }

    /// A token's state word: `revoked`, `expired` or `active`.
    pub fn token_state(&self, t: &TokenView) -> &'static str {
        if t.revoked.is_some() {
            "revoked"
        } else if t.expires.is_some_and(|e| self.now >= e) {
            "expired"
        } else {
            "active"
        }
    }
}

/// The page's forms as shown.
#[derive(Debug)]
struct Forms {
    admin: FormState,
    password: FormState,
    token: FormState,
    refused: Option<String>,
    created: Option<CreatedToken>,
}

impl Default for Forms {
    fn default() -> Self {
        let days = DEFAULT_TOKEN_DAYS.to_string();
        Self {
            admin: FormState::with_defaults(&[("admin_role", "admin")]),
            password: FormState::default(),
            token: FormState::with_defaults(&[("token_days", days.as_str())]),
            refused: None,
            created: None,
        }
    }
}

fn scope_fields() -> Vec<ScopeField> {
    std::iter::once(ScopeField {
        field: "scope_all".to_owned(),
        resource: "*",
    })
    .chain(Resource::ALL.iter().map(|r| ScopeField {
        field: format!("scope_{}", r.as_str()),
        resource: r.as_str(),
    }))
    .collect()
}

async fn render_page(
    state: &UiState,
    session: &UiSession,
    forms: Forms,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let chrome = session.chrome("admins").with_notice(notice);
    let caller = session.caller.clone();
    let read = state
        .service
        .run(move |s| Ok((s.list_admins(&caller)?, s.list_tokens(&caller)?)))
        .await;
    let (admins, tokens) = match read {
        Ok(lists) => lists,
        Err(e) => return service_error_page(chrome, &e),
    };
    render(
        status,
        &AdminsPage {
            chrome,
            me: session.view.account.name.clone(),
            admins,
            tokens,
            created: forms.created,
            admin_form: forms.admin,
            password_form: forms.password,
            token_form: forms.token,
            refused: forms.refused,
            scopes: scope_fields(),
            now: session.caller.now,
        },
    )
}

fn status_of(e: &ServiceError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// `GET /ui/admins`.
pub async fn page(State(state): State<UiState>, session: UiSession, uri: Uri) -> Response {
    let notice = Notice::from_query(uri.query());
    render_page(&state, &session, Forms::default(), notice, StatusCode::OK).await
}

const ADMIN_FIELDS: [&str; 4] = [
    "admin_name",
    "admin_password",
    "admin_password_again",
    "admin_role",
];

/// `POST /ui/admins` (`admin_name`, `admin_password`,
/// `admin_password_again`, `admin_role`): adds an account.
pub async fn create_admin(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let mut shown = FormState::from_posted(&form, &["admin_name", "admin_role"]);
    let password = form.get("admin_password").unwrap_or("").to_owned();
    if password != form.get("admin_password_again").unwrap_or("") {
        shown.refuse_field(
            Some("admin_password_again"),
            "the two passwords differ; type the same password twice",
            &ADMIN_FIELDS,
        );
        let forms = Forms {
            admin: shown,
            ..Forms::default()
        };
        return render_page(
            &state,
            &session,
            forms,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let input = NewAdminInput {
        name: form.text("admin_name"),
        password: Password::new(password),
        role: form.optional("admin_role"),
    };
    let caller = session.caller.clone();
    match state
        .service
        .run(move |s| s.create_admin(&caller, &input))
        .await
    {
        Ok(view) => Notice::AdminCreated.redirect(PATH, Some(&view.name)),
        Err(e) => {
            let field = e.field().map(|f| format!("admin_{f}"));
            shown.refuse_field(field.as_deref(), &e.public_message(), &ADMIN_FIELDS);
            let forms = Forms {
                admin: shown,
                ..Forms::default()
            };
            render_page(&state, &session, forms, None, status_of(&e)).await
        }
    }
}

/// `POST /ui/admins/delete` (`name`): removes an account.
pub async fn delete_admin(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let name = form.text("name");
    let caller = session.caller.clone();
    let n = name.clone();
    match state
        .service
        .run(move |s| s.delete_admin(&caller, &n))
        .await
    {
        Ok(view) => Notice::AdminDeleted.redirect(PATH, Some(&view.name)),
        Err(e) => {
            let forms = Forms {
                refused: Some(e.public_message()),
                ..Forms::default()
            };
            render_page(&state, &session, forms, None, status_of(&e)).await
        }
    }
}

const PASSWORD_FIELDS: [&str; 3] = ["old_password", "new_password", "new_password_again"];

/// `POST /ui/admins/password` (`old_password`, `new_password`,
/// `new_password_again`): changes the account's own password.
pub async fn change_password(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let mut shown = FormState::default();
    let new = form.get("new_password").unwrap_or("").to_owned();
    let refused = if new == form.get("new_password_again").unwrap_or("") {
        let input = PasswordChangeInput {
            old_password: form
                .get("old_password")
                .filter(|p| !p.is_empty())
                .map(Password::new),
            new_password: Password::new(new),
        };
        let caller = session.caller.clone();
        let me = session.view.account.name.clone();
        match state
            .service
            .run(move |s| s.change_password(&caller, &me, &input))
            .await
        {
            Ok(_) => return Notice::PasswordChanged.redirect(PATH, None),
            Err(e) => e,
        }
    } else {
        ServiceError::invalid(
            "new_password_again",
            "the two passwords differ; type the same new password twice",
        )
    };
    match &refused {
        // The service names the current password in its message.
        ServiceError::Unauthorized(message) => shown.refuse_field(
            Some("old_password"),
            message.strip_prefix("old_password: ").unwrap_or(message),
            &PASSWORD_FIELDS,
        ),
        other => shown.refuse(other, &PASSWORD_FIELDS),
    }
    let forms = Forms {
        password: shown,
        ..Forms::default()
    };
    render_page(&state, &session, forms, None, status_of(&refused)).await
}

const TOKEN_FIELDS: [&str; 4] = ["token_name", "scopes", "token_days", "token_sources"];

fn token_input(form: &FormData) -> Result<NewTokenInput, ServiceError> {
    let scopes = scope_fields()
        .into_iter()
        .filter_map(|s| {
            let access = form.text(&s.field);
            matches!(access.as_str(), "read" | "write").then(|| format!("{}:{access}", s.resource))
        })
        .collect();
    Ok(NewTokenInput {
        name: form.text("token_name"),
        scopes,
        expires_in_days: number(form, "token_days")?,
        allowed_sources: super::certificates::name_list(&form.text("token_sources")),
    })
}

/// The service's name of a token form's field.
fn token_field(field: &str) -> &str {
    match field {
        "name" | "token_name" => "token_name",
        "expires_in_days" | "token_days" => "token_days",
        "allowed_sources" => "token_sources",
        other => other,
    }
}

/// `POST /ui/tokens`: creates a token and shows its value, once.
pub async fn create_token(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let caller = session.caller.clone();
    let outcome = match token_input(&form) {
        Ok(input) => {
            state
                .service
                .run(move |s| s.create_token(&caller, &input))
                .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(created) => {
            let forms = Forms {
                created: Some(created),
                ..Forms::default()
            };
            render_page(&state, &session, forms, None, StatusCode::OK).await
        }
        Err(e) => {
            let mut keep: Vec<String> = TOKEN_FIELDS.iter().map(|f| (*f).to_owned()).collect();
            keep.extend(scope_fields().into_iter().map(|s| s.field));
            let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
            let mut shown = FormState::from_posted(&form, &keep);
            shown.refuse_field(
                e.field().map(token_field),
                &e.public_message(),
                &TOKEN_FIELDS,
            );
            let forms = Forms {
                token: shown,
                ..Forms::default()
            };
            render_page(&state, &session, forms, None, status_of(&e)).await
        }
    }
}

/// `POST /ui/tokens/revoke` (`id`).
pub async fn revoke_token(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let id = form.text("id");
    let caller = session.caller.clone();
    match state
        .service
        .run(move |s| s.revoke_token(&caller, &id))
        .await
    {
        Ok(view) => Notice::TokenRevoked.redirect(PATH, Some(&view.name)),
        Err(e) => {
            let forms = Forms {
                refused: Some(e.public_message()),
                ..Forms::default()
            };
            render_page(&state, &session, forms, None, status_of(&e)).await
        }
    }
}
