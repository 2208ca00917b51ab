//! Web services (`/ui/webservices`): the MSL-compatible REST API under
//! `/mslrest/` (issue 16) as an administrator runs it, over the calls of
//! `/api/v1/webservices` and of `outpost webservices`:
//!
//! - on/off: the setting `web.services` ([`Service::setting`] to show it,
//!   with what pins it; [`Service::change_settings`] to change it, as
//!   `outpost webservices start|stop` does), applied live;
//! - OAuth tokens ([`WebServices::grants`]): temporary ones waiting for
//!   approval, with Approve ([`WebServices::approve`]; the page then shows
//!   the verifier the client must send) and Reject
//!   ([`WebServices::reject`]); final ones with their expiry, Renew
//!   ([`WebServices::renew`], a year more) and Revoke
//!   ([`WebServices::revoke`], after a confirmation page). The token
//!   tables are refreshed every 2 s by htmx from
//!   `/ui/fragments/webservices`, so a token the application server has
//!   just requested appears without a reload;
//! - consumers: the list ([`WebServices::consumers`]), adding one
//!   ([`WebServices::create_consumer`]: its shared secret is shown once,
//!   on the answer's page), changing its name, active flag and
//!   permissions ([`WebServices::update_consumer`]), a new secret
//!   ([`WebServices::regenerate_consumer_secret`]) and removal
//!   ([`WebServices::remove_consumer`]), both after a confirmation page.
//!
//! The [`WebServices`] are the ones `outpost serve` gives the admin
//! listener (an `axum::Extension`, as for `/api/v1/webservices`): the same
//! sealing key and database. Without them (a router built without the
//! web services) the page says so and every change is refused with 503.
//!
//! [`Service::setting`]: crate::Service::setting
//! [`Service::change_settings`]: crate::Service::change_settings

use std::convert::Infallible;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value};

use super::auth::{FormData, UiForm, UiSession};
use super::forms::FormState;
use super::{Chrome, Notice, UiState, error_page, render, service_error_page, when};
use crate::service::ServiceError;
use crate::service::webservices::{
    ConsumerPatch, ConsumerView, GrantLists, GrantView, MslResource, NewConsumerInput, WebServices,
};

/// The page.
pub const PATH: &str = "/ui/webservices";
/// The token tables alone, polled by the page.
pub const FRAGMENT: &str = "/ui/fragments/webservices";
/// The setting switched on and off.
pub const SETTING: &str = "web.services";

/// The routes of the page, merged into the UI's router.
pub fn routes() -> Router<UiState> {
    Router::new()
        .route(PATH, get(page))
        .route(FRAGMENT, get(tokens_fragment))
        .route("/ui/webservices/switch", post(switch))
        .route("/ui/webservices/consumers", post(create_consumer))
        .route(
            "/ui/webservices/consumers/edit",
            get(edit_page).post(update_consumer),
        )
        .route(
            "/ui/webservices/consumers/secret",
            get(confirm_new_secret).post(new_secret),
        )
        .route(
            "/ui/webservices/consumers/delete",
            get(confirm_delete).post(delete_consumer),
        )
        .route(
            "/ui/webservices/tokens/{verb}",
            get(confirm_token).post(token_action),
        )
}

/// The web services of the admin listener, if it has them (the
/// `Extension` `outpost serve` adds).
#[derive(Debug, Clone)]
pub struct Ws(pub Option<WebServices>);

impl<S: Send + Sync> FromRequestParts<S> for Ws {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<WebServices>().cloned()))
    }
}

const UNAVAILABLE: &str = "This admin listener has no web services attached (outpost serve \
     attaches them to its admin listener). Manage them on the gateway with `outpost \
     webservices`.";

fn unavailable(chrome: Chrome) -> Response {
    error_page(
        chrome,
        StatusCode::SERVICE_UNAVAILABLE,
        "Web services unavailable",
        UNAVAILABLE.to_owned(),
    )
}

/// The pages that only lead to a change refuse a read-only account (the
/// service would refuse the change anyway).
fn read_only(chrome: &Chrome) -> Option<Response> {
    (!chrome.can_write()).then(|| {
        service_error_page(
            chrome.clone(),
            &ServiceError::Forbidden(
                "your account is read-only: it cannot change the web services".to_owned(),
            ),
        )
    })
}

/// Runs `call` on the blocking pool, as `/api/v1/webservices` does.
async fn run<T: Send + 'static>(
    state: &UiState,
    ws: WebServices,
    call: impl FnOnce(&WebServices) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    state.service.run(move |_| call(&ws)).await
}

fn status_of(e: &ServiceError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The on/off switch: `web.services` and what pins it.
#[derive(Debug, Clone, Default)]
pub struct Switch {
    /// Whether the web services answer.
    pub running: bool,
    /// The file or variable that sets it, when one does.
    pub pinned_by: Option<String>,
    /// Whether the UI may change it.
    pub editable: bool,
    /// Why the last change was refused.
    pub error: Option<String>,
}

/// One token as the tables show it.
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// The token.
    pub grant: GrantView,
    /// Its state in words.
    pub state: String,
    /// The badge's class.
    pub class: &'static str,
    /// When it was made.
    pub created: String,
    /// When it ends, with the days left.
    pub expires: String,
    /// Whether Renew and Revoke apply (a final token not revoked).
    pub live: bool,
}

/// Both token tables, as the page and its fragment show them.
#[derive(Debug, Clone)]
pub struct TokenTables {
    /// Temporary tokens: waiting for approval, or approved and waiting
    /// for the client's exchange.
    pub temporary: Vec<TokenRow>,
    /// Final tokens.
    pub final_tokens: Vec<TokenRow>,
    /// The session's CSRF token, for the buttons' forms.
    pub csrf: String,
    /// Whether the account may act on tokens.
    pub can_write: bool,
}

impl TokenTables {
    fn new(lists: GrantLists, now: i64, csrf: String, can_write: bool) -> Self {
        let temporary = lists
            .temporary
            .into_iter()
            .map(|g| {
                let (state, class) = if g.approved {
                    (
                        "approved: waiting for the client to exchange it".to_owned(),
                        "ok",
                    )
                } else {
                    ("waiting for approval".to_owned(), "warn")
                };
                row(g, now, state, class, false)
            })
            .collect();
        let final_tokens = lists
            .final_tokens
            .into_iter()
            .map(|g| match g.revoked {
                Some(at) => {
                    let state = format!("revoked {}", when(at));
                    row(g, now, state, "bad", false)
                }
                None if g.expires <= now => row(g, now, "expired".to_owned(), "bad", true),
                None => row(g, now, "active".to_owned(), "ok", true),
            })
            .collect();
        Self {
            temporary,
            final_tokens,
            csrf,
            can_write,
        }
    }
}

fn row(grant: GrantView, now: i64, state: String, class: &'static str, live: bool) -> TokenRow {
    let left = grant.expires - now;
    let expires = if left <= 0 {
        when(grant.expires)
    } else if left < 2 * 86_400 {
        format!("{} (in {} min)", when(grant.expires), (left + 59) / 60)
    } else {
        format!(
            "{} (in {} days)",
            when(grant.expires),
            (left + 43_200) / 86_400
        )
    };
    TokenRow {
        created: when(grant.created),
        expires,
        state,
        class,
        live,
        grant,
    }
}

/// One consumer as the list shows it.
#[derive(Debug, Clone)]
pub struct ConsumerRow {
    /// The consumer.
    pub consumer: ConsumerView,
    /// When it was added.
    pub created: String,
    /// Its permissions, in words.
    pub permissions: String,
}

impl ConsumerRow {
    fn new(consumer: ConsumerView) -> Self {
        let permissions = if consumer.permissions.is_empty() {
            "none".to_owned()
        } else {
            consumer.permissions.join(", ")
        };
        Self {
            created: when(consumer.created),
            permissions,
            consumer,
        }
    }
}

/// A permission's select in the consumer forms.
#[derive(Debug, Clone)]
pub struct PermissionField {
    /// The field's name (`perm_mbg_v1_devices`).
    pub name: String,
    /// The resource (`mbg/v1/devices`).
    pub resource: &'static str,
    /// What it gives access to.
    pub label: &'static str,
    /// The choices: value and label.
    pub choices: &'static [(&'static str, &'static str)],
    /// The choice shown.
    pub value: String,
}

const READ_ONLY: &[(&str, &str)] = &[("", "no access"), ("r", "read")];
const READ_WRITE: &[(&str, &str)] = &[("", "no access"), ("r", "read"), ("rw", "read/write")];

/// What the vendor's consumer form offers for `resource` (seed 003 step
/// 1): its label and whether it may be written.
const fn offer(resource: MslResource) -> (&'static str, &'static [(&'static str, &'static str)]) {
    match resource {
        MslResource::ManageToken => ("Base/managetoken: the OAuth flow", READ_WRITE),
        MslResource::Icps => ("MBG/v1/icps: the ICPs", READ_ONLY),
        MslResource::Devices => ("MBG/v1/devices: teleworker SIP devices", READ_WRITE),
        MslResource::GlobalOptions => ("MBG/v1/globaloptions: global options", READ_ONLY),
    }
}

fn field_name(resource: MslResource) -> String {
    format!("perm_{}", resource.as_str().replace('/', "_"))
}

/// The permission selects, showing `form`'s values.
fn permission_fields(form: &FormState) -> Vec<PermissionField> {
    MslResource::ALL
        .into_iter()
        .map(|resource| {
            let name = field_name(resource);
            let (label, choices) = offer(resource);
            PermissionField {
                value: form.value(&name).to_owned(),
                name,
                resource: resource.as_str(),
                label,
                choices,
            }
        })
        .collect()
}

/// The permissions posted, as the API takes them (`mbg/v1/devices=rw`);
/// a value the service does not know is passed on for it to refuse.
fn posted_permissions(form: &FormData) -> Vec<String> {
    MslResource::ALL
        .into_iter()
        .filter_map(|resource| {
            let level = form.text(&field_name(resource));
            (!level.is_empty()).then(|| format!("{}={level}", resource.as_str()))
        })
        .collect()
}

/// The form values of `permissions` (`mbg/v1/devices=rw` items).
fn permission_values(permissions: &[String]) -> Vec<(String, String)> {
    MslResource::ALL
        .into_iter()
        .filter_map(|resource| {
            permissions.iter().find_map(|p| {
                let (name, level) = p.split_once('=')?;
                (name == resource.as_str()).then(|| (field_name(resource), level.to_owned()))
            })
        })
        .collect()
}

/// The fields of the consumer forms, named as in `POST
/// /api/v1/webservices/consumers` (the permissions' selects add theirs).
pub const CONSUMER_FIELDS: [&str; 4] = ["consumer_id", "name", "active", "permissions"];

fn consumer_form_fields() -> Vec<String> {
    let mut fields: Vec<String> = CONSUMER_FIELDS.iter().map(|f| (*f).to_owned()).collect();
    fields.extend(MslResource::ALL.into_iter().map(field_name));
    fields
}

/// A new consumer's form: active, with the permissions of the
/// application server of seed 003.
fn new_consumer_defaults() -> FormState {
    FormState::with_defaults(&[
        ("active", "on"),
        ("perm_base_managetoken", "rw"),
        ("perm_mbg_v1_icps", "r"),
        ("perm_mbg_v1_devices", "rw"),
    ])
}

/// The verifier of a token just approved, shown above the tables.
#[derive(Debug, Clone)]
pub struct Approved {
    /// The temporary token.
    pub token: String,
    /// Its consumer.
    pub consumer_id: String,
    /// What the client must send.
    pub verifier: String,
}

/// The web services page.
#[derive(Template)]
#[template(path = "ui/webservices.html")]
pub struct WebServicesPage {
    /// The layout.
    pub chrome: Chrome,
    /// False: no web services on this listener (the page says so).
    pub available: bool,
    /// On/off.
    pub switch: Switch,
    /// The token tables (the fragment, included).
    pub tokens: TokenTables,
    /// A token just approved and its verifier.
    pub approved: Option<Approved>,
    /// Every consumer.
    pub consumers: Vec<ConsumerRow>,
    /// The add form.
    pub form: FormState,
    /// Its permission selects.
    pub permissions: Vec<PermissionField>,
    /// Open the add form (after a refusal).
    pub form_open: bool,
}

/// The token tables alone, for htmx.
#[derive(Template)]
#[template(path = "ui/webservices_tokens.html")]
pub struct TokensFragment {
    /// The tables.
    pub tokens: TokenTables,
}

/// A consumer's shared secret, shown once.
#[derive(Template)]
#[template(path = "ui/webservices_secret.html")]
pub struct SecretPage {
    /// The layout (its notice says what was done).
    pub chrome: Chrome,
    /// The consumer.
    pub consumer: ConsumerView,
    /// The shared secret.
    pub secret: String,
}

/// A consumer's edit form.
#[derive(Template)]
#[template(path = "ui/webservices_edit.html")]
pub struct EditPage {
    /// The layout.
    pub chrome: Chrome,
    /// The consumer ID.
    pub consumer_id: String,
    /// The form.
    pub form: FormState,
    /// Its permission selects.
    pub permissions: Vec<PermissionField>,
}

/// A confirmation before a change that cannot be undone.
#[derive(Template)]
#[template(path = "ui/webservices_confirm.html")]
pub struct ConfirmPage {
    /// The layout.
    pub chrome: Chrome,
    /// The question.
    pub title: String,
    /// What the change does.
    pub message: String,
    /// Where the form goes.
    pub action: &'static str,
    /// The hidden field naming the thing.
    pub field: &'static str,
    /// Its value.
    pub value: String,
    /// The button's text.
    pub button: String,
}

/// What the page shows besides the lists.
struct Shown {
    form: FormState,
    switch_error: Option<String>,
    approved_token: Option<String>,
    notice: Option<String>,
}

impl Shown {
    fn plain(notice: Option<String>) -> Self {
        Self {
            form: new_consumer_defaults(),
            switch_error: None,
            approved_token: None,
            notice,
        }
    }
}

async fn switch_state(state: &UiState, session: &UiSession) -> Result<Switch, ServiceError> {
    let caller = session.caller.clone();
    let view = state
        .service
        .run(move |s| s.setting(&caller, SETTING))
        .await?;
    Ok(Switch {
        running: view.value == Value::Bool(true),
        pinned_by: view.pinned_by,
        editable: view.editable,
        error: None,
    })
}

async fn tables(
    state: &UiState,
    ws: WebServices,
    session: &UiSession,
) -> Result<TokenTables, ServiceError> {
    let caller = session.caller.clone();
    let now = caller.now;
    let lists = run(state, ws, move |ws| ws.grants(&caller)).await?;
    Ok(TokenTables::new(
        lists,
        now,
        session.view.csrf_token.clone(),
        session.view.account.role == "admin",
    ))
}

async fn render_page(
    state: &UiState,
    ws: Option<WebServices>,
    session: &UiSession,
    shown: Shown,
    status: StatusCode,
) -> Response {
    let chrome = session.chrome("webservices").with_notice(shown.notice);
    let form_open = shown.form.has_errors();
    let permissions = permission_fields(&shown.form);
    let Some(ws) = ws else {
        return render(
            StatusCode::OK,
            &WebServicesPage {
                chrome,
                available: false,
                switch: Switch::default(),
                tokens: TokenTables::new(
                    GrantLists {
                        temporary: Vec::new(),
                        final_tokens: Vec::new(),
                    },
                    0,
                    String::new(),
                    false,
                ),
                approved: None,
                consumers: Vec::new(),
                form: shown.form,
                permissions,
                form_open,
            },
        );
    };
    let mut switch = match switch_state(state, session).await {
        Ok(switch) => switch,
        Err(e) => return service_error_page(chrome, &e),
    };
    switch.error = shown.switch_error;
    let tokens = match tables(state, ws.clone(), session).await {
        Ok(tokens) => tokens,
        Err(e) => return service_error_page(chrome, &e),
    };
    let caller = session.caller.clone();
    let consumers = match run(state, ws, move |ws| ws.consumers(&caller)).await {
        Ok(all) => all.into_iter().map(ConsumerRow::new).collect(),
        Err(e) => return service_error_page(chrome, &e),
    };
    let approved = shown.approved_token.and_then(|token| {
        tokens
            .temporary
            .iter()
            .find(|t| t.grant.token == token)
            .and_then(|t| {
                Some(Approved {
                    token: t.grant.token.clone(),
                    consumer_id: t.grant.consumer_id.clone(),
                    verifier: t.grant.verifier.clone()?,
                })
            })
    });
    render(
        status,
        &WebServicesPage {
            chrome,
            available: true,
            switch,
            tokens,
            approved,
            consumers,
            form: shown.form,
            permissions,
            form_open,
        },
    )
}

/// The value of `key` in a query string.
fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// `GET /ui/webservices`.
pub async fn page(
    State(state): State<UiState>,
    Ws(ws): Ws,
    session: UiSession,
    uri: Uri,
) -> Response {
    let mut shown = Shown::plain(Notice::from_query(uri.query()));
    if query_value(uri.query(), "done").as_deref() == Some(Notice::WsTokenApproved.code()) {
        shown.approved_token = query_value(uri.query(), "name");
    }
    render_page(&state, ws, &session, shown, StatusCode::OK).await
}

/// `GET /ui/fragments/webservices`: the token tables alone, for the
/// page's polling.
pub async fn tokens_fragment(
    State(state): State<UiState>,
    Ws(ws): Ws,
    session: UiSession,
) -> Response {
    let Some(ws) = ws else {
        return unavailable(session.chrome("webservices"));
    };
    match tables(&state, ws, &session).await {
        Ok(tokens) => render(StatusCode::OK, &TokensFragment { tokens }),
        Err(e) => service_error_page(session.chrome("webservices"), &e),
    }
}

/// `POST /ui/webservices/switch` (`services` = `on` or `off`): starts or
/// stops the web services, as `outpost webservices start|stop`.
pub async fn switch(State(state): State<UiState>, Ws(ws): Ws, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let on = match form.get("services") {
        Some("on") => true,
        Some("off") => false,
        _ => {
            let e = ServiceError::invalid("services", "must be on or off");
            let shown = Shown {
                switch_error: Some(e.public_message()),
                ..Shown::plain(None)
            };
            return render_page(&state, ws, &session, shown, status_of(&e)).await;
        }
    };
    let mut changes = Map::new();
    changes.insert(SETTING.to_owned(), Value::Bool(on));
    let caller = session.caller.clone();
    match state
        .service
        .run(move |s| s.change_settings(&caller, &changes, false))
        .await
    {
        Ok(report) => {
            let notice = match (report.changes.iter().any(|c| c.changed), on) {
                (false, _) => Notice::WsUnchanged,
                (true, true) => Notice::WsStarted,
                (true, false) => Notice::WsStopped,
            };
            notice.redirect(PATH, None)
        }
        Err(e) => {
            let shown = Shown {
                switch_error: Some(e.public_message()),
                ..Shown::plain(None)
            };
            render_page(&state, ws, &session, shown, status_of(&e)).await
        }
    }
}

/// `POST /ui/webservices/consumers`: adds a consumer and shows its
/// shared secret, once.
pub async fn create_consumer(State(state): State<UiState>, Ws(ws): Ws, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let Some(service) = ws.clone() else {
        return unavailable(session.chrome("webservices"));
    };
    let input = NewConsumerInput {
        consumer_id: form.text("consumer_id"),
        name: form.text("name"),
        active: form.checked("active"),
        permissions: posted_permissions(&form),
    };
    let caller = session.caller.clone();
    match run(&state, service, move |ws| {
        ws.create_consumer(&caller, &input)
    })
    .await
    {
        Ok(made) => {
            let notice = Notice::WsConsumerAdded.message(Some(&made.consumer.consumer_id));
            render(
                StatusCode::OK,
                &SecretPage {
                    chrome: session.chrome("webservices").with_notice(Some(notice)),
                    consumer: made.consumer,
                    secret: made.shared_secret,
                },
            )
        }
        Err(e) => {
            let fields = consumer_form_fields();
            let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
            let mut shown = FormState::from_posted(&form, &fields);
            if e.status() == 409 {
                // The ID is in use: said next to it.
                shown.refuse_field(Some("consumer_id"), &e.public_message(), &fields);
            } else {
                shown.refuse(&e, &fields);
            }
            let shown = Shown {
                form: shown,
                ..Shown::plain(None)
            };
            render_page(&state, ws, &session, shown, status_of(&e)).await
        }
    }
}

async fn find_consumer(
    state: &UiState,
    ws: WebServices,
    session: &UiSession,
    consumer_id: String,
) -> Result<ConsumerView, ServiceError> {
    let caller = session.caller.clone();
    let all = run(state, ws, move |ws| ws.consumers(&caller)).await?;
    all.into_iter()
        .find(|c| c.consumer_id == consumer_id)
        .ok_or_else(|| {
            ServiceError::NotFound(format!(
                "no web services consumer {consumer_id:?}; see the list of consumers"
            ))
        })
}

/// `GET /ui/webservices/consumers/edit?consumer_id=...`.
pub async fn edit_page(
    State(state): State<UiState>,
    Ws(ws): Ws,
    session: UiSession,
    uri: Uri,
) -> Response {
    let chrome = session.chrome("webservices");
    if let Some(refused) = read_only(&chrome) {
        return refused;
    }
    let Some(ws) = ws else {
        return unavailable(chrome);
    };
    let consumer_id = query_value(uri.query(), "consumer_id").unwrap_or_default();
    match find_consumer(&state, ws, &session, consumer_id).await {
        Ok(consumer) => {
            let mut values = vec![("name".to_owned(), consumer.name.clone())];
            if consumer.active {
                values.push(("active".to_owned(), "on".to_owned()));
            }
            values.extend(permission_values(&consumer.permissions));
            let values: Vec<(&str, &str)> = values
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let form = FormState::with_defaults(&values);
            render(
                StatusCode::OK,
                &EditPage {
                    chrome,
                    permissions: permission_fields(&form),
                    consumer_id: consumer.consumer_id,
                    form,
                },
            )
        }
        Err(e) => service_error_page(chrome, &e),
    }
}

/// `POST /ui/webservices/consumers/edit`: changes a consumer's name,
/// active flag and permissions.
pub async fn update_consumer(State(state): State<UiState>, Ws(ws): Ws, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let Some(ws) = ws else {
        return unavailable(session.chrome("webservices"));
    };
    let consumer_id = form.text("consumer_id");
    let patch = ConsumerPatch {
        name: Some(form.text("name")),
        active: Some(form.checked("active")),
        permissions: Some(posted_permissions(&form)),
    };
    let caller = session.caller.clone();
    let id = consumer_id.clone();
    match run(&state, ws, move |ws| {
        ws.update_consumer(&caller, &id, &patch)
    })
    .await
    {
        Ok(view) => Notice::WsConsumerUpdated.redirect(PATH, Some(&view.consumer_id)),
        Err(e) if e.status() == 404 => service_error_page(session.chrome("webservices"), &e),
        Err(e) => {
            let fields = consumer_form_fields();
            let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
            let mut shown = FormState::from_posted(&form, &fields);
            shown.refuse(&e, &fields);
            render(
                status_of(&e),
                &EditPage {
                    chrome: session.chrome("webservices"),
                    permissions: permission_fields(&shown),
                    consumer_id,
                    form: shown,
                },
            )
        }
    }
}

/// `GET /ui/webservices/consumers/secret?consumer_id=...`: asks before
/// giving a consumer a new secret.
pub async fn confirm_new_secret(
    State(state): State<UiState>,
    Ws(ws): Ws,
    session: UiSession,
    uri: Uri,
) -> Response {
    let chrome = session.chrome("webservices");
    if let Some(refused) = read_only(&chrome) {
        return refused;
    }
    let Some(ws) = ws else {
        return unavailable(chrome);
    };
    let consumer_id = query_value(uri.query(), "consumer_id").unwrap_or_default();
    match find_consumer(&state, ws, &session, consumer_id).await {
        Ok(c) => render(
            StatusCode::OK,
            &ConfirmPage {
                chrome,
                title: format!("A new shared secret for {}?", c.consumer_id),
                message: format!(
                    "This gives consumer {} ({}) a new shared secret, shown once on the next \
                     page. Its current secret stops working at once: the application server \
                     must be given the new one. Its tokens are kept. The change is recorded in \
                     the audit log.",
                    c.consumer_id, c.name
                ),
                action: "/ui/webservices/consumers/secret",
                field: "consumer_id",
                value: c.consumer_id.clone(),
                button: format!("Give {} a new secret", c.consumer_id),
            },
        ),
        Err(e) => service_error_page(chrome, &e),
    }
}

/// `POST /ui/webservices/consumers/secret`: a new shared secret, shown
/// once.
pub async fn new_secret(State(state): State<UiState>, Ws(ws): Ws, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let Some(ws) = ws else {
        return unavailable(session.chrome("webservices"));
    };
    let consumer_id = form.text("consumer_id");
    let caller = session.caller.clone();
    match run(&state, ws, move |ws| {
        ws.regenerate_consumer_secret(&caller, &consumer_id)
    })
    .await
    {
        Ok(made) => {
            let notice = Notice::WsSecretNew.message(Some(&made.consumer.consumer_id));
            render(
                StatusCode::OK,
                &SecretPage {
                    chrome: session.chrome("webservices").with_notice(Some(notice)),
                    consumer: made.consumer,
                    secret: made.shared_secret,
                },
            )
        }
        Err(e) => service_error_page(session.chrome("webservices"), &e),
    }
}

/// `GET /ui/webservices/consumers/delete?consumer_id=...`: asks first.
pub async fn confirm_delete(
    State(state): State<UiState>,
    Ws(ws): Ws,
    session: UiSession,
    uri: Uri,
) -> Response {
    let chrome = session.chrome("webservices");
    if let Some(refused) = read_only(&chrome) {
        return refused;
    }
    let Some(ws) = ws else {
        return unavailable(chrome);
    };
    let consumer_id = query_value(uri.query(), "consumer_id").unwrap_or_default();
    match find_consumer(&state, ws, &session, consumer_id).await {
        Ok(c) => render(
            StatusCode::OK,
            &ConfirmPage {
                chrome,
                title: format!("Remove consumer {}?", c.consumer_id),
                message: format!(
                    "This removes consumer {} ({}) and every token it holds: its application \
                     server can no longer use the web services until it is added again and \
                     goes through the OAuth exchange anew. The devices it provisioned stay. \
                     The change is recorded in the audit log.",
                    c.consumer_id, c.name
                ),
                action: "/ui/webservices/consumers/delete",
                field: "consumer_id",
                value: c.consumer_id.clone(),
                button: format!("Remove {}", c.consumer_id),
            },
        ),
        Err(e) => service_error_page(chrome, &e),
    }
}

/// `POST /ui/webservices/consumers/delete`: removes a consumer and its
/// tokens.
pub async fn delete_consumer(State(state): State<UiState>, Ws(ws): Ws, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let Some(ws) = ws else {
        return unavailable(session.chrome("webservices"));
    };
    let consumer_id = form.text("consumer_id");
    let caller = session.caller.clone();
    match run(&state, ws, move |ws| {
        ws.remove_consumer(&caller, &consumer_id)
    })
    .await
    {
        Ok(view) => Notice::WsConsumerDeleted.redirect(PATH, Some(&view.consumer_id)),
        Err(e) => service_error_page(session.chrome("webservices"), &e),
    }
}

/// `GET /ui/webservices/tokens/revoke?token=...`: asks before revoking
/// (the other token actions are the page's buttons).
pub async fn confirm_token(
    State(state): State<UiState>,
    Ws(ws): Ws,
    Path(verb): Path<String>,
    session: UiSession,
    uri: Uri,
) -> Response {
    let chrome = session.chrome("webservices");
    if let Some(refused) = read_only(&chrome) {
        return refused;
    }
    if verb != "revoke" {
        return service_error_page(
            chrome,
            &ServiceError::NotFound(format!(
                "no confirmation page for {verb:?}: approve, reject and renew are buttons of \
                 the web services page"
            )),
        );
    }
    let Some(ws) = ws else {
        return unavailable(chrome);
    };
    let token = query_value(uri.query(), "token").unwrap_or_default();
    let tokens = match tables(&state, ws, &session).await {
        Ok(tokens) => tokens,
        Err(e) => return service_error_page(chrome, &e),
    };
    match tokens
        .final_tokens
        .into_iter()
        .find(|t| t.grant.token == token && t.live)
    {
        Some(t) => render(
            StatusCode::OK,
            &ConfirmPage {
                chrome,
                title: format!("Revoke token {}?", t.grant.token),
                message: format!(
                    "Consumer {} uses this token (it expires {}). Once revoked, its next request \
                     is refused (401) and it cannot be renewed: the application server must \
                     request and have approved a new one. The change is recorded in the audit \
                     log.",
                    t.grant.consumer_id, t.expires
                ),
                action: "/ui/webservices/tokens/revoke",
                field: "token",
                value: t.grant.token.clone(),
                button: format!("Revoke the token of {}", t.grant.consumer_id),
            },
        ),
        None => service_error_page(
            chrome,
            &ServiceError::NotFound(format!(
                "no final web services token {token:?} that is not revoked; see the list of \
                 tokens"
            )),
        ),
    }
}

/// `POST /ui/webservices/tokens/{verb}` (`token`): `approve` (the page
/// then shows the verifier) or `reject` a temporary token, `renew` (a
/// year more) or `revoke` a final one.
pub async fn token_action(
    State(state): State<UiState>,
    Ws(ws): Ws,
    Path(verb): Path<String>,
    posted: UiForm,
) -> Response {
    let UiForm { session, form } = posted;
    let Some(ws) = ws else {
        return unavailable(session.chrome("webservices"));
    };
    let notice = match verb.as_str() {
        "approve" => Notice::WsTokenApproved,
        "reject" => Notice::WsTokenRejected,
        "renew" => Notice::WsTokenRenewed,
        "revoke" => Notice::WsTokenRevoked,
        other => {
            return service_error_page(
                session.chrome("webservices"),
                &ServiceError::NotFound(format!(
                    "no token action {other:?}: use approve, reject, renew or revoke"
                )),
            );
        }
    };
    let token = form.text("token");
    let caller = session.caller.clone();
    let done = run(&state, ws, move |ws| match verb.as_str() {
        "approve" => ws.approve(&caller, &token),
        "reject" => ws.reject(&caller, &token),
        "renew" => ws.renew(&caller, &token),
        _ => ws.revoke(&caller, &token),
    })
    .await;
    match done {
        Ok(grant) => notice.redirect(PATH, Some(&grant.token)),
        Err(e) => service_error_page(session.chrome("webservices"), &e),
    }
}
