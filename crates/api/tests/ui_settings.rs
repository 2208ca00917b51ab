//! The settings page (`/ui/settings`) over the admin router, `oneshot`
//! style: every registry key listed with its group, value, unit, range,
//! default, source and live/restart; a value pinned by the file or the
//! environment read-only with what pins it; an invalid value refused
//! with the service's message next to its field and nothing stored; a
//! valid change stored, audited and announced (live or restart needed);
//! a reset to the default; the forms refused without their CSRF token;
//! a read-only account sees no form. The same page in Chromium:
//! `crates/outpost/tests/ui_settings_e2e.rs`.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use outpost_api::service::Caller;
use outpost_api::service::NewAdminInput;
use outpost_api::service::gateway::{Gateway, GatewayError, LiveApply, SipState, SipStatus};
use outpost_api::{Clock, ManualClock, Service, router};
use outpost_config::{Apply, DatabaseLayer, Registry, Settings};
use outpost_store::{ImportMode, SETUP_TOKEN_SETTING, Store};
use sha2::Digest;
use tower::ServiceExt;

const SETUP_TOKEN: &str = "setup-token-0123456789abcdef";
const ADMIN: &str = "alice";
const ADMIN_PASSWORD: &str = "alice-password-1234";
const T0: i64 = 1_700_000_000;
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' \
                   data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
const METRICS: &str = "# TYPE outpost_active_calls gauge\noutpost_active_calls 3\n\
                       outpost_media_ports_in_use{side=\"public\"} 4\n\
                       outpost_media_ports_in_use{side=\"private\"} 6\n";

/// A gateway whose SIP service is a flag.
#[derive(Default)]
struct FakeGateway {
    stopped: Mutex<bool>,
}

impl Gateway for FakeGateway {
    fn sip_status(&self) -> SipStatus {
        let stopped = *self.stopped.lock().unwrap();
        SipStatus {
            state: if stopped {
                SipState::Stopped
            } else {
                SipState::Running
            },
            since: T0,
            listeners: vec![],
            last_error: None,
        }
    }
    fn stop_sip(&self) -> Result<SipStatus, GatewayError> {
        *self.stopped.lock().unwrap() = true;
        Ok(self.sip_status())
    }
    fn start_sip(&self) -> Result<SipStatus, GatewayError> {
        *self.stopped.lock().unwrap() = false;
        Ok(self.sip_status())
    }
    fn apply_settings(&self) -> Result<LiveApply, GatewayError> {
        Ok(LiveApply::Applied)
    }
}

/// An installation with a pending setup token, and a browser's cookies.
struct Ui {
    app: Router,
    service: Service,
    gateway: Arc<FakeGateway>,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
    /// The cookie header the browser sends.
    cookies: Mutex<Vec<(String, String)>>,
}

/// A response with its body as text.
#[derive(Debug)]
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of the first hidden `csrf_token` field.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self.body.find(marker).expect("a csrf_token field") + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }
}

impl Ui {
    fn new() -> Self {
        Self::with(|s| s)
    }

    fn with(configure: impl FnOnce(Service) -> Service) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("outpost.db");
        let mut store = Store::open(&db).unwrap();
        let digest = hex::encode(sha2::Sha256::digest(SETUP_TOKEN.as_bytes()));
        store.set_setting(SETUP_TOKEN_SETTING, &digest).unwrap();
        let gateway = Arc::new(FakeGateway::default());
        let service =
            configure(Service::new(store).with_gateway(Arc::clone(&gateway) as Arc<dyn Gateway>));
        let clock = Arc::new(ManualClock::new(T0));
        let app = router(
            Arc::new(|| METRICS.to_owned()),
            Some((service.clone(), clock as Arc<dyn Clock>)),
        );
        Self {
            app,
            service,
            gateway,
            db,
            _dir: dir,
            cookies: Mutex::new(Vec::new()),
        }
    }

    /// Set up and logged in as the administrator.
    async fn logged_in() -> Self {
        Self::logged_in_with(|s| s).await
    }

    async fn logged_in_with(configure: impl FnOnce(Service) -> Service) -> Self {
        let ui = Self::with(configure);
        let setup = ui.get("/ui/").await;
        let r = ui
            .post(
                "/ui/setup",
                &[
                    ("csrf_token", &setup.csrf()),
                    ("setup_token", SETUP_TOKEN),
                    ("name", ADMIN),
                    ("password", ADMIN_PASSWORD),
                    ("password_again", ADMIN_PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
        let login = ui.get("/ui/login").await;
        let r = ui
            .post(
                "/ui/login",
                &[
                    ("csrf_token", &login.csrf()),
                    ("name", ADMIN),
                    ("password", ADMIN_PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
        assert_eq!(r.location(), "/ui/");
        ui
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps the cookies a response sets (a `Max-Age=0` removes one).
    fn keep_cookies(&self, headers: &HeaderMap) {
        let mut jar = self.cookies.lock().unwrap();
        for set in headers.get_all(header::SET_COOKIE) {
            let text = set.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            jar.retain(|(k, _)| k != name);
            if !attributes.contains("Max-Age=0") {
                jar.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    async fn send(&self, mut request: Request<Body>) -> Page {
        let addr: SocketAddr = "192.0.2.10:50000".parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
        let cookies = self.cookie_header();
        if !cookies.is_empty() {
            request
                .headers_mut()
                .insert(header::COOKIE, cookies.parse().unwrap());
        }
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        self.keep_cookies(&headers);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// A GET as htmx sends it.
    async fn htmx_get(&self, path: &str) -> Page {
        self.send(
            Request::get(path)
                .header("hx-request", "true")
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
                .unwrap(),
        )
        .await
    }

    /// The session's CSRF token, from a page's forms.
    async fn csrf(&self) -> String {
        self.get("/ui/icps").await.csrf()
    }

    fn cli(&self) -> Caller {
        Caller::cli("root", T0)
    }

    fn add_icp(&self) {
        let input = outpost_api::service::icps::NewIcpInput::new("pbx", "192.0.2.50");
        self.service.create_icp(&self.cli(), &input).unwrap();
    }

    /// Imports `n` devices `d00000`.. with `description`.
    fn import(&self, n: usize, description: impl Fn(usize) -> String) {
        let mut csv = String::from("setside_username,setside_password,description\n");
        for i in 0..n {
            csv.push_str(&format!("d{i:05},secret-{i},{}\n", description(i)));
        }
        self.service
            .import_devices(&self.cli(), csv.as_bytes(), ImportMode::Create)
            .unwrap();
    }

    fn audit_actions(&self) -> Vec<String> {
        let store = Store::open_existing(&self.db).unwrap();
        store
            .audit_entries(&outpost_store::AuditFilter {
                limit: 500,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|e| e.record.action)
            .collect()
    }
}

fn assert_secure(path: &str, page: &Page) {
    for name in [
        "content-security-policy",
        "x-frame-options",
        "strict-transport-security",
        "referrer-policy",
        "x-content-type-options",
    ] {
        assert!(page.headers.contains_key(name), "{path}: no {name}");
    }
    assert_eq!(
        page.headers["content-security-policy"].to_str().unwrap(),
        CSP
    );
}

/// The table row of `key` in the page.
fn row<'a>(page: &'a Page, key: &str) -> &'a str {
    let marker = format!("<tr id=\"s-{key}\"");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no row for {key}"));
    let end = page.body[start..].find("</tr>").unwrap() + start;
    &page.body[start..end]
}

/// The value shown in `key`'s row.
fn shown_value(page: &Page, key: &str) -> String {
    let row = row(page, key);
    let marker = "data-role=\"value\">";
    let start = row.find(marker).unwrap() + marker.len();
    row[start..].split('<').next().unwrap().to_owned()
}

const FILE: &str = "[web]\nport = 8443\n";
const PINNED_VAR: &str = "OUTPOST_REGISTRATION_MAX_CALLS";

/// A service over a configuration file pinning `web.port` and the
/// environment pinning `registration.max_calls`.
fn pinned(dir: &std::path::Path) -> impl FnOnce(Service) -> Service {
    let file = dir.join("outpost.toml");
    std::fs::write(&file, FILE).unwrap();
    let settings = Settings::load(
        Some(&file),
        &|v| (v == PINNED_VAR).then(|| "50".to_owned()),
        DatabaseLayer::new(),
    )
    .unwrap();
    move |service| service.with_settings(settings)
}

#[tokio::test]
async fn the_page_lists_every_registry_key_grouped_with_its_facts() {
    let ui = Ui::logged_in().await;
    let page = ui.get("/ui/settings").await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_secure("/ui/settings", &page);
    assert!(!page.body.contains("style=\""), "inline style");
    assert!(page.body.contains("aria-current=\"page\">Settings"));
    let mut count = 0;
    for setting in Registry::settings() {
        let r = row(&page, setting.key);
        count += 1;
        if setting.scope.database() {
            assert!(
                r.contains(&format!("for=\"v-{}\"", setting.key)),
                "{}: a labelled change field",
                setting.key
            );
        } else {
            assert!(r.contains("read-only"), "{}", setting.key);
        }
        let apply = if setting.apply == Apply::Live {
            ">live<"
        } else {
            ">restart needed<"
        };
        assert!(r.contains(apply), "{}: {apply}", setting.key);
        if let Some(unit) = setting.unit {
            assert!(r.contains(unit.as_str()), "{}: unit", setting.key);
        }
    }
    assert!(count > 50, "{count} settings");
    for heading in [
        "General (NET-4, NET-5)",
        "Public side",
        "Private side",
        "SIP (SIG)",
        "Registration (SIG)",
        "Media (MED)",
        "Security (DoS, DDoS, brute force)",
        "Web services",
        "Administration listener",
        "Logs",
    ] {
        assert!(page.body.contains(heading), "{heading}");
    }
    // Facts of one setting: value, unit, range, default, source.
    let r = row(&page, "media.timeout_secs");
    assert!(r.contains("0 to 86400"), "{r}");
    assert!(r.contains(">default<"), "{r}");
    assert!(r.contains(" s<"), "{r}");
    let r = row(&page, "web.port");
    assert!(r.contains("1 to 65535"), "{r}");
    // Groups in the file's order.
    let at = |s: &str| page.body.find(s).unwrap();
    assert!(at("id=\"g-general\"") < at("id=\"g-public\""));
    assert!(at("id=\"g-media\"") < at("id=\"g-guard\""));
}

#[tokio::test]
async fn pinned_values_are_read_only_with_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let ui = Ui::logged_in_with(pinned(dir.path())).await;
    let page = ui.get("/ui/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    let r = row(&page, "web.port");
    assert_eq!(shown_value(&page, "web.port"), "8443");
    assert!(r.contains(">file<"), "{r}");
    assert!(r.contains("pinned by the configuration file"), "{r}");
    assert!(r.contains("(line 2)"), "{r}");
    assert!(!r.contains("<form"), "no change form: {r}");
    let r = row(&page, "registration.max_calls");
    assert_eq!(shown_value(&page, "registration.max_calls"), "50");
    assert!(r.contains(">environment<"), "{r}");
    assert!(
        r.contains(&format!("the environment variable {PINNED_VAR}")),
        "{r}"
    );
    assert!(!r.contains("<form"), "{r}");
    // Posted anyway: refused by the service, nothing stored.
    let before = ui.audit_actions();
    let csrf = ui.csrf().await;
    let r = ui
        .post(
            "/ui/settings",
            &[
                ("csrf_token", &csrf),
                ("key", "web.port"),
                ("value", "9443"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    assert!(r.body.contains("web.port is pinned by"), "{}", r.body);
    assert_eq!(ui.audit_actions(), before);
}

#[tokio::test]
async fn an_invalid_value_is_refused_next_to_its_field_and_nothing_is_stored() {
    let ui = Ui::logged_in().await;
    let before = ui.audit_actions();
    let csrf = ui.csrf().await;
    for (key, value, says) in [
        ("web.port", "70000", "65535"),
        ("media.timeout_secs", "ten", "media.timeout_secs"),
        ("mode", "sideways", "mode"),
    ] {
        let r = ui
            .post(
                "/ui/settings",
                &[("csrf_token", &csrf), ("key", key), ("value", value)],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{key}: {r:?}");
        let row = row(&r, key);
        assert!(
            row.contains("class=\"error\""),
            "{key}: next to the field: {row}"
        );
        assert!(row.contains(says), "{key}: {row}");
        assert!(row.contains("aria-invalid=\"true\""), "{key}");
        if key != "mode" {
            assert!(
                row.contains(&format!("value=\"{value}\"")),
                "{key}: kept: {row}"
            );
        }
        // The message is in that row only.
        assert_eq!(r.body.matches("class=\"error\"").count(), 1, "{key}");
    }
    assert_eq!(ui.audit_actions(), before, "nothing stored");
    let page = ui.get("/ui/settings").await;
    assert_eq!(shown_value(&page, "web.port"), "4445");
    assert_eq!(shown_value(&page, "media.timeout_secs"), "60");
}

#[tokio::test]
async fn a_valid_change_is_stored_audited_and_announced_then_reset() {
    let ui = Ui::logged_in().await;
    let csrf = ui.csrf().await;
    // Live.
    let r = ui
        .post(
            "/ui/settings",
            &[
                ("csrf_token", &csrf),
                ("key", "media.timeout_secs"),
                ("value", " 90 "),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert_eq!(
        r.location(),
        "/ui/settings?done=setting-live&name=media.timeout_secs"
    );
    let page = ui.get(r.location()).await;
    assert!(
        page.body
            .contains("media.timeout_secs was changed and applied live."),
        "{}",
        page.body
    );
    assert_eq!(shown_value(&page, "media.timeout_secs"), "90");
    assert!(row(&page, "media.timeout_secs").contains(">database<"));
    assert!(row(&page, "media.timeout_secs").contains("Reset to default"));
    let view = ui.service.setting(&ui.cli(), "media.timeout_secs").unwrap();
    assert_eq!(view.value, serde_json::json!(90));
    assert!(
        ui.audit_actions().contains(&"setting.change".to_owned()),
        "{:?}",
        ui.audit_actions()
    );
    // Restart needed.
    let r = ui
        .post(
            "/ui/settings",
            &[
                ("csrf_token", &csrf),
                ("key", "web.port"),
                ("value", "8443"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let page = ui.get(r.location()).await;
    assert!(
        page.body.contains("web.port was changed; restart needed"),
        "{}",
        page.body
    );
    // A boolean and a choice from their selects.
    for (key, value) in [("media.strict_source", "false"), ("log.format", "json")] {
        let r = ui
            .post(
                "/ui/settings",
                &[("csrf_token", &csrf), ("key", key), ("value", value)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{key}: {r:?}");
        let page = ui.get("/ui/settings").await;
        assert_eq!(shown_value(&page, key), value);
    }
    // The same value again: nothing stored.
    let n = ui.audit_actions().len();
    let r = ui
        .post(
            "/ui/settings",
            &[
                ("csrf_token", &csrf),
                ("key", "web.port"),
                ("value", "8443"),
            ],
        )
        .await;
    let page = ui.get(r.location()).await;
    assert!(page.body.contains("web.port already had that value"));
    assert_eq!(ui.audit_actions().len(), n);
    // Reset to the default.
    let r = ui
        .post(
            "/ui/settings/reset",
            &[("csrf_token", &csrf), ("key", "media.timeout_secs")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let page = ui.get(r.location()).await;
    assert!(
        page.body
            .contains("media.timeout_secs was reset to its default")
    );
    assert_eq!(shown_value(&page, "media.timeout_secs"), "60");
    assert!(row(&page, "media.timeout_secs").contains(">default<"));
    assert!(ui.audit_actions().contains(&"setting.reset".to_owned()));
}

#[tokio::test]
async fn the_forms_are_refused_without_their_csrf_token() {
    let ui = Ui::logged_in().await;
    let before = ui.audit_actions();
    for path in ["/ui/settings", "/ui/settings/reset"] {
        for token in [None, Some("0".repeat(64))] {
            let mut fields = vec![("key", "media.timeout_secs"), ("value", "90")];
            if let Some(token) = &token {
                fields.push(("csrf_token", token));
            }
            let r = ui.post(path, &fields).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {token:?}: {r:?}");
            assert!(r.body.contains("CSRF token"), "{path}");
            assert_secure(path, &r);
        }
    }
    assert_eq!(ui.audit_actions(), before, "nothing changed");
}

#[tokio::test]
async fn a_read_only_account_sees_the_values_without_forms() {
    let ui = Ui::logged_in().await;
    let input: NewAdminInput = serde_json::from_value(serde_json::json!({
        "name": "bob",
        "password": "bob-password-1234",
        "role": "read-only",
    }))
    .unwrap();
    ui.service.create_admin(&ui.cli(), &input).unwrap();
    ui.cookies.lock().unwrap().clear();
    let login = ui.get("/ui/login").await;
    let r = ui
        .post(
            "/ui/login",
            &[
                ("csrf_token", &login.csrf()),
                ("name", "bob"),
                ("password", "bob-password-1234"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let page = ui.get("/ui/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("action=\"/ui/settings"),
        "no change form"
    );
    assert_eq!(shown_value(&page, "web.port"), "4445");
    // Posted anyway: the service refuses it.
    let csrf = page.csrf();
    let r = ui
        .post(
            "/ui/settings",
            &[
                ("csrf_token", &csrf),
                ("key", "web.port"),
                ("value", "8443"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    assert_eq!(
        ui.service.setting(&ui.cli(), "web.port").unwrap().value,
        serde_json::json!(4445)
    );
}
