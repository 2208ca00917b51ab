//! The admin web UI (`/ui/`, issue 18) over the admin router, `oneshot`
//! style: security headers on every page, fragment and asset; every
//! `POST` refused without its CSRF token; no session → the login page;
//! first-run setup then login; the dashboard's figures (over a fake
//! gateway and metrics text); device search with pages (and its speed
//! at 10 000 devices); user data escaped. The same pages in a real
//! browser: `crates/outpost/tests/ui_e2e.rs`.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use outpost_api::service::Caller;
use outpost_api::service::gateway::{Gateway, GatewayError, LiveApply, SipState, SipStatus};
use outpost_api::{Clock, ManualClock, Service, router};
use outpost_store::{DeviceStatusRecord, ImportMode, SETUP_TOKEN_SETTING, Store};
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
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("outpost.db");
        let mut store = Store::open(&db).unwrap();
        let digest = hex::encode(sha2::Sha256::digest(SETUP_TOKEN.as_bytes()));
        store.set_setting(SETUP_TOKEN_SETTING, &digest).unwrap();
        let gateway = Arc::new(FakeGateway::default());
        let service = Service::new(store).with_gateway(Arc::clone(&gateway) as Arc<dyn Gateway>);
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
        let ui = Self::new();
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
    let h = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{path}: no {name} header ({:?})", page.status))
            .to_owned()
    };
    assert_eq!(h("content-security-policy"), CSP, "{path}");
    assert_eq!(h("x-frame-options"), "DENY", "{path}");
    assert!(
        h("strict-transport-security").starts_with("max-age="),
        "{path}"
    );
    assert_eq!(h("referrer-policy"), "no-referrer", "{path}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
    h("cache-control");
}

/// No `style="` nor inline `<script>` in a page: the CSP would block them.
fn assert_no_inline(path: &str, page: &Page) {
    assert!(!page.body.contains("style=\""), "{path}: inline style");
    for (at, _) in page.body.match_indices("<script") {
        let tag = &page.body[at..page.body[at..].find('>').unwrap() + at];
        assert!(
            tag.contains("src=\"/ui/assets/"),
            "{path}: inline script {tag}"
        );
    }
}

#[tokio::test]
async fn every_page_fragment_and_asset_carries_the_security_headers() {
    let ui = Ui::new();
    for path in ["/ui/", "/ui/login", "/ui/devices", "/ui/nothing-here"] {
        let page = ui.get(path).await;
        assert_secure(path, &page);
    }
    let ui = Ui::logged_in().await;
    ui.add_icp();
    ui.import(3, |_| "desk".to_owned());
    let mut paths: Vec<String> = outpost_api::ui::NAV
        .iter()
        .map(|item| item.path.to_owned())
        .collect();
    paths.extend(
        [
            "/ui/fragments/dashboard",
            "/ui/fragments/devices?q=d0&page=1",
            "/ui/devices/delete?username=d00001",
            "/ui/devices?done=device-added&name=d00001",
            "/ui/login",
            "/ui/nothing-here",
        ]
        .map(str::to_owned),
    );
    for path in &paths {
        let page = ui.get(path).await;
        assert_secure(path, &page);
        assert_no_inline(path, &page);
        if path != "/ui/nothing-here" && path != "/ui/login" {
            assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
            assert_eq!(page.headers[header::CACHE_CONTROL], "no-store", "{path}");
        }
    }
    // Every navigation entry answers, built or not.
    for item in outpost_api::ui::NAV {
        let page = ui.get(item.path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", item.path);
        if !item.ready {
            assert!(page.body.contains("coming soon"), "{}", page.body);
        }
    }
    // The refused form too.
    let refused = ui.post("/ui/devices", &[]).await;
    assert_secure("POST /ui/devices", &refused);
    // Assets: long caching, a digest in the address, an ETag.
    let dashboard = ui.get("/ui/").await;
    for name in ["ui.css", "htmx.min.js", "icon.svg"] {
        let marker = format!("/ui/assets/{name}?v=");
        let at = dashboard
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("{name} linked"));
        let url = dashboard.body[at..].split('"').next().unwrap().to_owned();
        let asset = ui.get(&url).await;
        assert_eq!(asset.status, StatusCode::OK, "{url}");
        assert_secure(&url, &asset);
        assert!(
            asset.headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable"),
            "{url}"
        );
        let etag = asset.headers[header::ETAG].to_str().unwrap().to_owned();
        assert!(url.ends_with(etag.trim_matches('"')), "{url} {etag}");
        let again = ui
            .send(
                Request::get(&url)
                    .header(header::IF_NONE_MATCH, &etag)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{url}");
    }
    let htmx = ui.get("/ui/assets/htmx.min.js").await;
    assert!(htmx.body.contains("version:\"2."), "htmx 2 is vendored");
    // htmx's inline indicator style is off (the CSP would block it).
    assert!(
        dashboard
            .body
            .contains(r#"<meta name="htmx-config" content='{"includeIndicatorStyles":false"#),
        "{}",
        dashboard.body
    );
}

#[tokio::test]
async fn every_post_without_its_csrf_token_is_refused() {
    let ui = Ui::logged_in().await;
    ui.add_icp();
    ui.import(1, |_| "desk".to_owned());
    let before = ui.audit_actions();
    let posts: [(&str, Vec<(&str, &str)>); 6] = [
        (
            "/ui/devices",
            vec![
                ("setside_username", "4001"),
                ("setside_password", "pw-4001"),
            ],
        ),
        ("/ui/icps", vec![("name", "other"), ("host", "192.0.2.60")]),
        ("/ui/devices/delete", vec![("username", "d00000")]),
        ("/ui/service/stop", vec![]),
        ("/ui/service/restart", vec![]),
        ("/ui/logout", vec![]),
    ];
    for (path, fields) in &posts {
        for token in [None, Some("0".repeat(64))] {
            let mut fields = fields.clone();
            if let Some(token) = &token {
                fields.push(("csrf_token", token));
            }
            let r = ui.post(path, &fields).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {token:?}: {r:?}");
            assert!(r.body.contains("CSRF token"), "{path}: {}", r.body);
            assert_secure(path, &r);
        }
    }
    assert_eq!(ui.audit_actions(), before, "nothing changed");
    assert_eq!(ui.gateway.sip_status().state, SipState::Running);
    // Still logged in (the logout was refused too); with the token, it works.
    let csrf = ui.csrf().await;
    let r = ui.post("/ui/service/stop", &[("csrf_token", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert_eq!(ui.gateway.sip_status().state, SipState::Stopped);
    // htmx sends the token as a header.
    let r = ui
        .send(
            Request::post("/ui/service/start")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("x-csrf-token", &csrf)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert_eq!(ui.gateway.sip_status().state, SipState::Running);

    // Before login: the setup and login forms need the pre-login token.
    let fresh = Ui::new();
    let r = fresh
        .post(
            "/ui/setup",
            &[
                ("setup_token", SETUP_TOKEN),
                ("name", ADMIN),
                ("password", ADMIN_PASSWORD),
                ("password_again", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    assert!(r.body.contains("CSRF token"), "{}", r.body);
    assert!(fresh.service.setup_status().unwrap().setup_required);
    let r = ui
        .post(
            "/ui/login",
            &[("name", ADMIN), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
}

#[tokio::test]
async fn without_a_session_every_page_goes_to_the_login_page() {
    let ui = Ui::new();
    // Set up, not logged in.
    let setup = ui.get("/ui/").await;
    ui.post(
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
    for item in outpost_api::ui::NAV {
        let r = ui.get(item.path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}: {r:?}", item.path);
        assert_eq!(r.location(), "/ui/login", "{}", item.path);
    }
    let r = ui.get("/ui").await;
    assert_eq!(r.location(), "/ui/");
    // A polling fragment whose session ended sends the page to the login.
    let r = ui.htmx_get("/ui/fragments/dashboard").await;
    assert_eq!(r.headers["hx-redirect"], "/ui/login", "{r:?}");
    assert!(r.body.is_empty());
    // A form without a session: nothing done, to the login page.
    let r = ui.post("/ui/service/stop", &[("csrf_token", "x")]).await;
    assert_eq!(r.location(), "/ui/login");
    assert_eq!(ui.gateway.sip_status().state, SipState::Running);
    // A session that is not one.
    ui.cookies
        .lock()
        .unwrap()
        .push(("outpost_session".into(), "f".repeat(64)));
    assert_eq!(ui.get("/ui/devices").await.location(), "/ui/login");
}

#[tokio::test]
async fn first_run_setup_then_login_with_errors_next_to_their_fields() {
    let ui = Ui::new();
    let setup = ui.get("/ui/").await;
    assert_eq!(setup.status, StatusCode::OK);
    assert!(setup.body.contains("setup token"), "{}", setup.body);
    let set_cookie = setup.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set_cookie.starts_with("outpost_ui_csrf=")
            && set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    assert_eq!(ui.get("/ui/login").await.location(), "/ui/", "setup first");
    let csrf = setup.csrf();
    let form = |token: &'static str, name: &'static str, again: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("setup_token", token.to_owned()),
            ("name", name.to_owned()),
            ("password", ADMIN_PASSWORD.to_owned()),
            ("password_again", again.to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let ui = &ui;
        async move {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            ui.post("/ui/setup", &refs).await
        }
    };
    // Each error in its field's place, the name kept, no password sent back.
    let r = post(form("wrong-token-0123456789", ADMIN, ADMIN_PASSWORD)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    assert!(r.body.contains("id=\"e-setup_token\""), "{}", r.body);
    assert!(r.body.contains("value=\"alice\""), "{}", r.body);
    assert!(!r.body.contains(ADMIN_PASSWORD), "a password sent back");
    let r = post(form(SETUP_TOKEN, ADMIN, "something-else-1234")).await;
    assert!(r.body.contains("id=\"e-password_again\""), "{}", r.body);
    let r = post(form(SETUP_TOKEN, "bad name!", ADMIN_PASSWORD)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body.contains("id=\"e-name\""), "{}", r.body);
    assert!(ui.service.setup_status().unwrap().setup_required);

    let r = post(form(SETUP_TOKEN, ADMIN, ADMIN_PASSWORD)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert!(r.location().starts_with("/ui/login?done=setup"), "{r:?}");
    assert!(!ui.service.setup_status().unwrap().setup_required);
    // The token is spent; /ui/ now asks for a login.
    assert_eq!(ui.get("/ui/").await.location(), "/ui/login");
    let login = ui.get(r.location()).await;
    assert!(
        login
            .body
            .contains("first administrator account was created")
    );

    let r = ui
        .post(
            "/ui/login",
            &[
                ("csrf_token", &login.csrf()),
                ("name", ADMIN),
                ("password", "not-the-password-123"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    assert!(r.body.contains("wrong name or password"), "{}", r.body);
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
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("outpost_session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let dashboard = ui.get("/ui/").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(
        dashboard.body.contains("<h1>Dashboard</h1>"),
        "{}",
        dashboard.body
    );
    assert!(dashboard.body.contains(ADMIN));
    // The session's CSRF token for htmx, on <body>.
    assert!(
        dashboard.body.contains(&format!(
            "hx-headers='{{\"X-CSRF-Token\": \"{}\"}}'",
            dashboard.csrf()
        )),
        "{}",
        dashboard.body
    );
    // Log out: the session ends.
    let r = ui
        .post("/ui/logout", &[("csrf_token", &dashboard.csrf())])
        .await;
    assert!(r.location().starts_with("/ui/login?done=logout"), "{r:?}");
    assert_eq!(ui.get("/ui/").await.location(), "/ui/login");
    let actions = ui.audit_actions();
    for action in ["admin.setup", "session.login", "session.logout"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[tokio::test]
async fn the_dashboard_fragment_shows_the_figures() {
    let ui = Ui::logged_in().await;
    ui.add_icp();
    ui.import(5, |_| "desk".to_owned());
    let status = |name: &str, in_call: bool| DeviceStatusRecord {
        setside_username: name.into(),
        registered: true,
        connected: true,
        in_call,
        updated: 1_700_000_000,
        ..DeviceStatusRecord::default()
    };
    Store::open_existing(&ui.db)
        .unwrap()
        .set_device_statuses(&[status("d00001", false), status("d00003", true)])
        .unwrap();
    let r = ui.htmx_get("/ui/fragments/dashboard").await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert!(!r.body.contains("<html"), "a fragment, not a page");
    let text = r.body.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        ">running</span>",
        "id=\"registered-devices\">2 <small>of 5</small>",
        "id=\"active-calls\">3 <small>1 device(s) in a call</small>",
        "public 4, private 6",
        "DoS 0, brute force 0",
        "session.login",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    // No certificate store in this process: said in its place.
    assert!(text.contains("no certificate store") || text.contains("certificate"));
    // The page polls the fragment every 2 s.
    let page = ui.get("/ui/").await;
    assert!(
        page.body
            .contains(r#"hx-get="/ui/fragments/dashboard" hx-trigger="every 2s""#),
        "{}",
        page.body
    );
    // Stop: the state changes, audited, said.
    let r = ui
        .post("/ui/service/stop", &[("csrf_token", &page.csrf())])
        .await;
    assert_eq!(r.location(), "/ui/?done=service-stopped");
    let page = ui.get(r.location()).await;
    assert!(page.body.contains("The SIP service is stopped."));
    assert!(page.body.contains(">stopped</span>"), "{}", page.body);
    assert!(ui.audit_actions().iter().any(|a| a == "service.stop"));
}

#[tokio::test]
async fn devices_are_searched_and_paged_on_the_server() {
    let ui = Ui::logged_in().await;
    ui.add_icp();
    ui.import(120, |i| {
        if i % 2 == 0 {
            "paris office".to_owned()
        } else {
            "home".to_owned()
        }
    });
    let page = ui.get("/ui/devices").await;
    assert!(
        page.body.contains("120 device(s), page 1 of 3."),
        "{}",
        page.body
    );
    assert!(page.body.contains(">d00000<") || page.body.contains(">d00000 "));
    assert!(!page.body.contains("d00050"), "50 per page");
    assert!(page.body.contains(r#"href="/ui/devices?page=2""#));
    // Search: 60 match, second page of them, from d00100 on.
    let r = ui.get("/ui/devices?q=PARIS&page=2").await;
    assert!(r.body.contains("60 device(s), page 2 of 2."), "{}", r.body);
    assert!(r.body.contains("d00100") && !r.body.contains("d00098"));
    assert!(!r.body.contains("d00101"), "odd ones are at home");
    assert!(r.body.contains(r#"href="/ui/devices?q=PARIS""#), "previous");
    // The polled fragment keeps the search and the page.
    assert!(
        r.body
            .contains(r#"hx-get="/ui/fragments/devices?q=PARIS&#38;page=2" hx-trigger="every 2s""#),
        "{}",
        r.body
    );
    let rows = ui.htmx_get("/ui/fragments/devices?q=PARIS&page=2").await;
    assert!(rows.body.contains("d00100") && !rows.body.contains("<html"));
    // Live status.
    Store::open_existing(&ui.db)
        .unwrap()
        .set_device_statuses(&[DeviceStatusRecord {
            setside_username: "d00100".into(),
            registered: true,
            connected: true,
            updated: 1_700_000_000,
            ..DeviceStatusRecord::default()
        }])
        .unwrap();
    let rows = ui.htmx_get("/ui/fragments/devices?status=registered").await;
    assert!(rows.body.contains("1 device(s)."), "{}", rows.body);
    assert!(rows.body.contains(r#"data-state="registered">registered<"#));
    // Add through the form; a refusal is shown next to its field.
    let csrf = ui.csrf().await;
    let r = ui
        .post(
            "/ui/devices",
            &[
                ("csrf_token", &csrf),
                ("setside_username", "4001"),
                ("setside_password", "pw-4001-secret"),
                ("mac", "not a mac"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body.contains(r#"id="e-mac""#), "{}", r.body);
    assert!(!r.body.contains("pw-4001-secret"));
    let r = ui
        .post(
            "/ui/devices",
            &[
                ("csrf_token", &csrf),
                ("setside_username", "4001"),
                ("setside_password", "pw-4001-secret"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/ui/devices?done=device-added&name=4001");
    assert!(
        ui.get(r.location())
            .await
            .body
            .contains("Device 4001 was added.")
    );
    // Delete after confirmation.
    let confirm = ui.get("/ui/devices/delete?username=4001").await;
    assert!(confirm.body.contains("Delete device 4001?"));
    let r = ui
        .post(
            "/ui/devices/delete",
            &[("csrf_token", &confirm.csrf()), ("username", "4001")],
        )
        .await;
    assert_eq!(r.location(), "/ui/devices?done=device-deleted&name=4001");
    let actions = ui.audit_actions();
    assert!(actions.iter().any(|a| a == "device.create"));
    assert!(actions.iter().any(|a| a == "device.delete"));
}

#[tokio::test]
#[allow(clippy::disallowed_methods)] // measures the render time: the test's own clock
async fn the_device_list_stays_fast_at_ten_thousand_devices() {
    let ui = Ui::logged_in().await;
    ui.add_icp();
    ui.import(10_000, |i| format!("desk {}", i % 100));
    let mut times = Vec::new();
    for path in [
        "/ui/devices",
        "/ui/devices?page=150",
        "/ui/fragments/devices?q=desk%2042&page=3",
        "/ui/fragments/dashboard",
    ] {
        let start = Instant::now();
        let r = ui.get(path).await;
        times.push((path, start.elapsed()));
        assert_eq!(r.status, StatusCode::OK, "{path}");
    }
    let r = ui.get("/ui/devices?page=200").await;
    assert!(
        r.body.contains("10000 device(s), page 200 of 200."),
        "{}",
        r.body
    );
    eprintln!("render times at 10 000 devices (debug build): {times:?}");
    // Generous for a debug build on a busy CI machine; the release figure
    // is far lower.
    for (path, took) in times {
        assert!(took < Duration::from_secs(3), "{path} took {took:?}");
    }
}

#[tokio::test]
async fn user_data_is_escaped() {
    let ui = Ui::logged_in().await;
    ui.add_icp();
    let csrf = ui.csrf().await;
    let evil = "<script>alert(1)</script>";
    let r = ui
        .post(
            "/ui/devices",
            &[
                ("csrf_token", &csrf),
                ("setside_username", "a&b'c"),
                ("setside_password", "pw-secret-1"),
                ("description", evil),
                ("location", "\"><img src=x>"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    // The name also comes back through the notice of the redirect.
    for path in [
        r.location().to_owned(),
        "/ui/fragments/devices".to_owned(),
        "/ui/devices/delete?username=a%26b%27c".to_owned(),
        "/ui/fragments/dashboard".to_owned(),
    ] {
        let page = ui.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(
            !page.body.contains("<script>alert"),
            "{path}: {}",
            page.body
        );
        assert!(!page.body.contains("<img src=x"), "{path}");
        assert!(!page.body.contains("a&b'c"), "{path}: raw name");
        assert_no_inline(&path, &page);
    }
    let list = ui.get("/ui/devices").await;
    assert!(
        list.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || list.body.contains("&lt;script&gt;"),
        "{}",
        list.body
    );
    // The delete link encodes the name in its address.
    assert!(list.body.contains("username=a%26b%27c"), "{}", list.body);
    // A refused form shows the value entered, escaped.
    let r = ui
        .post(
            "/ui/icps",
            &[("csrf_token", &csrf), ("name", evil), ("host", "192.0.2.1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(!r.body.contains("<script>alert"), "{}", r.body);
    // A port that is not a number: refused next to the field.
    let r = ui
        .post(
            "/ui/icps",
            &[
                ("csrf_token", &csrf),
                ("name", "b"),
                ("host", "192.0.2.1"),
                ("sip_port", "99999"),
            ],
        )
        .await;
    assert!(r.body.contains(r#"id="e-sip_port""#), "{}", r.body);
}
