//! Teleworker devices (`/ui/devices`): the list with each device's live
//! status, searched and paged on the server ([`Service::list_devices`]
//! with the filters of `GET /api/v1/devices`: text, state, offset), its
//! rows refreshed every 2 s by htmx from `/ui/fragments/devices`; adding a
//! device (the input of `POST /api/v1/devices`,
//! [`Service::create_device`]); removing one after a confirmation page
//! ([`Service::remove_device`]).
//!
//! [`Service::list_devices`]: crate::Service::list_devices
//! [`Service::create_device`]: crate::Service::create_device
//! [`Service::remove_device`]: crate::Service::remove_device

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use super::auth::{FormData, UiForm, UiSession};
use super::forms::FormState;
use super::{Chrome, Notice, UiState, render, service_error_page};
use crate::service::device_list::{DeviceQuery, STATUS_FILTERS};
use crate::service::devices::{DeviceView, NewDeviceInput};
use crate::service::icps::IcpView;
use crate::service::{Password, ServiceError};

/// Devices per page.
pub const PAGE_SIZE: u32 = 50;

/// The list's search: text, state, page (from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// Text in the usernames, description, MAC or location.
    pub q: String,
    /// One of [`STATUS_FILTERS`], or empty for all.
    pub status: String,
    /// The page, from 1.
    pub page: u64,
}

impl Default for Search {
    /// Every device, first page.
    fn default() -> Self {
        Self {
            q: String::new(),
            status: String::new(),
            page: 1,
        }
    }
}

impl Search {
    /// From a query string (`q`, `status`, `page`); a page that does not
    /// parse is the first, a state that is not one is all.
    pub fn from_query(query: Option<&str>) -> Self {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
        let find = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        let status = find("status");
        Self {
            q: find("q"),
            status: if STATUS_FILTERS.contains(&status.as_str()) {
                status
            } else {
                String::new()
            },
            page: find("page").parse().ok().filter(|p| *p >= 1).unwrap_or(1),
        }
    }

    /// The query string of this search at `page`.
    pub fn query(&self, page: u64) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !self.q.is_empty() {
            pairs.push(("q", self.q.clone()));
        }
        if !self.status.is_empty() {
            pairs.push(("status", self.status.clone()));
        }
        if page > 1 {
            pairs.push(("page", page.to_string()));
        }
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }

    fn service_query(&self) -> DeviceQuery {
        DeviceQuery {
            q: Some(self.q.clone()).filter(|q| !q.is_empty()),
            status: Some(self.status.clone()).filter(|s| !s.is_empty()),
            limit: Some(PAGE_SIZE),
            offset: Some(
                self.page
                    .saturating_sub(1)
                    .saturating_mul(u64::from(PAGE_SIZE)),
            ),
            ..DeviceQuery::default()
        }
    }
}

/// A page of the list, as the fragment shows it.
#[derive(Debug, Clone)]
pub struct DeviceList {
    /// The search.
    pub search: Search,
    /// The devices of the page.
    pub items: Vec<DeviceView>,
    /// Devices matching, over all pages.
    pub total: u64,
    /// Pages in all (at least 1).
    pub pages: u64,
    /// The fragment's address for this search (polled).
    pub rows_url: String,
    /// Whether the account may remove devices.
    pub can_write: bool,
}

impl DeviceList {
    /// The address of page `page` of this search.
    pub fn page_url(&self, page: u64) -> String {
        let query = self.search.query(page);
        if query.is_empty() {
            "/ui/devices".to_owned()
        } else {
            format!("/ui/devices?{query}")
        }
    }

    /// The address of the previous page, if there is one.
    pub fn previous(&self) -> Option<String> {
        (self.search.page > 1).then(|| self.page_url(self.search.page - 1))
    }

    /// The address of the next page, if there is one.
    pub fn next(&self) -> Option<String> {
        (self.search.page < self.pages).then(|| self.page_url(self.search.page + 1))
    }

    /// The badge class of a state word.
    pub fn state_class(state: &str) -> &'static str {
        match state {
            "registered" | "in-call" => "ok",
            "connected" => "warn",
            _ => "",
        }
    }
}

/// The devices page.
#[derive(Template)]
#[template(path = "ui/devices.html")]
pub struct DevicesPage {
    /// The layout.
    pub chrome: Chrome,
    /// The list (the fragment, included).
    pub list: DeviceList,
    /// The ICPs, for the add form.
    pub icps: Vec<IcpView>,
    /// The add form.
    pub form: FormState,
    /// Open the add form (after a refusal).
    pub form_open: bool,
    /// The states to filter on.
    pub states: &'static [&'static str],
}

/// The list alone, for htmx.
#[derive(Template)]
#[template(path = "ui/devices_list.html")]
pub struct DevicesFragment {
    /// The list.
    pub list: DeviceList,
}

/// The confirmation page of a removal.
#[derive(Template)]
#[template(path = "ui/device_delete.html")]
pub struct DeleteConfirmPage {
    /// The layout.
    pub chrome: Chrome,
    /// The device.
    pub device: DeviceView,
}

/// The fields of the add form, named as in `POST /api/v1/devices`.
pub const DEVICE_FIELDS: [&str; 9] = [
    "setside_username",
    "setside_password",
    "icpside_username",
    "icpside_password",
    "icp",
    "description",
    "mac",
    "location",
    "enabled",
];
const SHOWN_AGAIN: [&str; 7] = [
    "setside_username",
    "icpside_username",
    "icp",
    "description",
    "mac",
    "location",
    "enabled",
];

async fn list(
    state: &UiState,
    session: &UiSession,
    search: Search,
) -> Result<DeviceList, ServiceError> {
    let caller = session.caller.clone();
    let query = search.service_query();
    let page = state
        .service
        .run(move |s| s.list_devices(&caller, &query))
        .await?;
    let pages = page.total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let rows_query = search.query(search.page);
    Ok(DeviceList {
        rows_url: if rows_query.is_empty() {
            "/ui/fragments/devices".to_owned()
        } else {
            format!("/ui/fragments/devices?{rows_query}")
        },
        search,
        items: page.items,
        total: page.total,
        pages,
        can_write: session.view.account.role == "admin",
    })
}

async fn render_page(
    state: &UiState,
    session: &UiSession,
    search: Search,
    form: FormState,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let chrome = session.chrome("devices").with_notice(notice);
    let list = match list(state, session, search).await {
        Ok(list) => list,
        Err(e) => return service_error_page(chrome, &e),
    };
    let caller = session.caller.clone();
    let icps = match state.service.run(move |s| s.list_icps(&caller)).await {
        Ok(icps) => icps,
        Err(e) => return service_error_page(chrome, &e),
    };
    let form_open = form.has_errors();
    render(
        status,
        &DevicesPage {
            chrome,
            list,
            icps,
            form,
            form_open,
            states: &STATUS_FILTERS,
        },
    )
}

/// `GET /ui/devices`.
pub async fn page(State(state): State<UiState>, session: UiSession, uri: Uri) -> Response {
    let search = Search::from_query(uri.query());
    let notice = Notice::from_query(uri.query());
    let form = FormState::with_defaults(&[("enabled", "on")]);
    render_page(&state, &session, search, form, notice, StatusCode::OK).await
}

/// `GET /ui/fragments/devices`: the list alone, for the page's polling.
pub async fn rows(State(state): State<UiState>, session: UiSession, uri: Uri) -> Response {
    let search = Search::from_query(uri.query());
    match list(&state, &session, search).await {
        Ok(list) => render(StatusCode::OK, &DevicesFragment { list }),
        Err(e) => service_error_page(session.chrome("devices"), &e),
    }
}

fn new_device(form: &FormData) -> NewDeviceInput {
    NewDeviceInput {
        setside_username: form.text("setside_username"),
        setside_password: Password::new(form.get("setside_password").unwrap_or("")),
        icpside_username: form.text("icpside_username"),
        icpside_password: Some(form.get("icpside_password").unwrap_or(""))
            .filter(|p| !p.is_empty())
            .map(Password::new),
        icp: form.optional("icp"),
        description: form.text("description"),
        mac: form.optional("mac"),
        location: form.optional("location"),
        enabled: form.checked("enabled"),
    }
}

/// `POST /ui/devices`: adds a device.
pub async fn create(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let input = new_device(&form);
    let caller = session.caller.clone();
    match state
        .service
        .run(move |s| s.create_device(&caller, &input))
        .await
    {
        Ok(device) => Notice::DeviceAdded.redirect("/ui/devices", Some(&device.setside_username)),
        Err(e) => {
            let mut shown = FormState::from_posted(&form, &SHOWN_AGAIN);
            shown.refuse(&e, &DEVICE_FIELDS);
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            render_page(&state, &session, Search::default(), shown, None, status).await
        }
    }
}

/// The `username` of a query string.
fn username_of(query: Option<&str>) -> String {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    pairs
        .into_iter()
        .find(|(k, _)| k == "username")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// `GET /ui/devices/delete?username=...`: asks for confirmation.
pub async fn confirm_delete(
    State(state): State<UiState>,
    session: UiSession,
    uri: Uri,
) -> Response {
    let username = username_of(uri.query());
    let caller = session.caller.clone();
    match state
        .service
        .run(move |s| s.device(&caller, &username))
        .await
    {
        Ok(device) => render(
            StatusCode::OK,
            &DeleteConfirmPage {
                chrome: session.chrome("devices"),
                device,
            },
        ),
        Err(e) => service_error_page(session.chrome("devices"), &e),
    }
}

/// `POST /ui/devices/delete` (`username`): removes the device.
pub async fn delete(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let username = form.get("username").unwrap_or("").to_owned();
    let caller = session.caller.clone();
    match state
        .service
        .run(move |s| s.remove_device(&caller, &username))
        .await
    {
        Ok(device) => Notice::DeviceDeleted.redirect("/ui/devices", Some(&device.setside_username)),
        Err(e) => service_error_page(session.chrome("devices"), &e),
    }
}
