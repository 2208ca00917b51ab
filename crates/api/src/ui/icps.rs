//! ICPs (`/ui/icps`): the list ([`Service::list_icps`]) and adding one
//! with the input of `POST /api/v1/icps` ([`Service::create_icp`]).
//!
//! [`Service::list_icps`]: crate::Service::list_icps
//! [`Service::create_icp`]: crate::Service::create_icp

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use super::auth::{FormData, UiForm, UiSession};
use super::forms::{FormState, number};
use super::{Chrome, Notice, UiState, render, service_error_page};
use crate::service::ServiceError;
use crate::service::icps::{IcpView, NewIcpInput};

/// The ICPs page.
#[derive(Template)]
#[template(path = "ui/icps.html")]
pub struct IcpsPage {
    /// The layout.
    pub chrome: Chrome,
    /// Every ICP.
    pub icps: Vec<IcpView>,
    /// The add form.
    pub form: FormState,
}

/// The fields of the add form, named as in `POST /api/v1/icps`.
pub const ICP_FIELDS: [&str; 11] = [
    "name",
    "host",
    "kind",
    "sip_udp",
    "sip_tcp",
    "sip_tls",
    "is_default",
    "sip_port",
    "xml_listen_port",
    "xml_destination_port",
    "ca_file",
];

/// The add form's defaults: those of `POST /api/v1/icps`.
fn defaults() -> FormState {
    FormState::with_defaults(&[
        ("kind", "generic"),
        ("sip_tls", "on"),
        ("xml_listen_port", "4445"),
        ("xml_destination_port", "4443"),
    ])
}

fn new_icp(form: &FormData) -> Result<NewIcpInput, ServiceError> {
    let mut input = NewIcpInput::new(form.text("name"), form.text("host"));
    if let Some(kind) = form.optional("kind") {
        input.kind = kind;
    }
    input.sip_udp = form.checked("sip_udp");
    input.sip_tcp = form.checked("sip_tcp");
    input.sip_tls = form.checked("sip_tls");
    input.is_default = form.checked("is_default");
    input.sip_port = number(form, "sip_port")?;
    if let Some(port) = number(form, "xml_listen_port")? {
        input.xml_listen_port = port;
    }
    if let Some(port) = number(form, "xml_destination_port")? {
        input.xml_destination_port = port;
    }
    input.ca_file = form.optional("ca_file");
    Ok(input)
}

async fn render_page(
    state: &UiState,
    session: &UiSession,
    form: FormState,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let chrome = session.chrome("icps").with_notice(notice);
    let caller = session.caller.clone();
    match state.service.run(move |s| s.list_icps(&caller)).await {
        Ok(icps) => render(status, &IcpsPage { chrome, icps, form }),
        Err(e) => service_error_page(chrome, &e),
    }
}

/// `GET /ui/icps`.
pub async fn page(State(state): State<UiState>, session: UiSession, uri: Uri) -> Response {
    let notice = Notice::from_query(uri.query());
    render_page(&state, &session, defaults(), notice, StatusCode::OK).await
}

/// `POST /ui/icps`: adds an ICP.
pub async fn create(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let caller = session.caller.clone();
    let outcome = match new_icp(&form) {
        Ok(input) => {
            state
                .service
                .run(move |s| s.create_icp(&caller, &input))
                .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(icp) => Notice::IcpAdded.redirect("/ui/icps", Some(&icp.name)),
        Err(e) => {
            let mut shown = FormState::from_posted(&form, &ICP_FIELDS);
            shown.refuse(&e, &ICP_FIELDS);
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            render_page(&state, &session, shown, None, status).await
        }
    }
}
