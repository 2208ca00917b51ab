//! The Security page (`/ui/security`, issue 18) over the admin router,
//! `oneshot` style: the guard's settings with their units, ranges,
//! defaults and sources, a change saved through the service (only the
//! values changed, audited) and a refused value shown next to its field;
//! the allow-list (add, remove, refusal next to the field); the
//! deny-lists (list with filter and the polled fragment, remove one,
//! remove a series by prefix or "and following", clear once confirmed);
//! every form refused without its CSRF token; a read-only account sees no
//! form and changes nothing; data escaped. The same page in Chromium
//! against a real gateway: `crates/outpost/tests/ui_security_e2e.rs`.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use outpost_api::service::Caller;
use outpost_api::service::NewAdminInput;
use outpost_api::{Clock, ManualClock, Service, router};
use outpost_store::{DenyEntry, DenyList, SETUP_TOKEN_SETTING, Store};
use sha2::Digest;
use tower::ServiceExt;

const SETUP_TOKEN: &str = "setup-token-0123456789abcdef";
const ADMIN: &str = "alice";
const ADMIN_PASSWORD: &str = "alice-password-1234";
const READER: &str = "bob";
const READER_PASSWORD: &str = "bob-password-123456";
const T0: i64 = 1_700_000_000;
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' \
                   data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// An installation with its first administrator.
struct Ui {
    app: Router,
    service: Service,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// A browser: its cookies.
struct Browser {
    app: Router,
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

    /// The error shown next to field `id` (`e-NAME`), if any.
    fn error_of(&self, id: &str) -> Option<String> {
        let marker = format!("<p class=\"error\" id=\"{id}\">");
        let start = self.body.find(&marker)? + marker.len();
        Some(self.body[start..].split("</p>").next()?.to_owned())
    }
}

impl Ui {
    async fn new() -> (Self, Browser) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("outpost.db");
        let mut store = Store::open(&db).unwrap();
        let digest = hex::encode(sha2::Sha256::digest(SETUP_TOKEN.as_bytes()));
        store.set_setting(SETUP_TOKEN_SETTING, &digest).unwrap();
        let service = Service::new(store);
        let clock = Arc::new(ManualClock::new(T0));
        let app = router(
            Arc::new(String::new),
            Some((service.clone(), clock as Arc<dyn Clock>)),
        );
        let ui = Self {
            app,
            service,
            db,
            _dir: dir,
        };
        let admin = ui.browser();
        let setup = admin.get("/ui/").await;
        let r = admin
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
        admin.login(ADMIN, ADMIN_PASSWORD).await;
        (ui, admin)
    }

    fn browser(&self) -> Browser {
        Browser {
            app: self.app.clone(),
            cookies: Mutex::new(Vec::new()),
        }
    }

    /// A read-only account, logged in.
    async fn reader(&self) -> Browser {
        let input = NewAdminInput {
            name: READER.to_owned(),
            password: outpost_api::service::Password::new(READER_PASSWORD),
            role: Some("read-only".to_owned()),
        };
        self.service
            .create_admin(&Caller::cli("root", T0), &input)
            .unwrap();
        let b = self.browser();
        b.login(READER, READER_PASSWORD).await;
        b
    }

    fn store(&self) -> Store {
        Store::open_existing(&self.db).unwrap()
    }

    fn deny(&self, address: &str, list: DenyList, detail: &str) {
        self.store()
            .put_guard_deny(&DenyEntry {
                address: address.to_owned(),
                list,
                reason: "flood".to_owned(),
                detail: detail.to_owned(),
                added_unix: T0,
                expires_unix: Some(T0 + 3600),
            })
            .unwrap();
    }

    fn denied(&self) -> Vec<String> {
        self.store()
            .guard_deny_list(None)
            .unwrap()
            .into_iter()
            .map(|e| e.address)
            .collect()
    }

    fn audit_actions(&self) -> Vec<String> {
        self.store()
            .audit_entries(&outpost_store::AuditFilter {
                limit: 500,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|e| e.record.action)
            .collect()
    }

    fn dos_threshold(&self) -> u32 {
        self.service
            .guard_settings(&Caller::cli("root", T0))
            .unwrap()
            .dos_threshold
    }
}

impl Browser {
    async fn login(&self, name: &str, password: &str) {
        let login = self.get("/ui/login").await;
        let r = self
            .post(
                "/ui/login",
                &[
                    ("csrf_token", &login.csrf()),
                    ("name", name),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
        assert_eq!(r.location(), "/ui/");
    }

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
        let cookies = self
            .cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
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

    /// Posts `fields` with the session's CSRF token.
    async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get("/ui/icps").await.csrf();
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
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
    assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
    assert!(!page.body.contains("style=\""), "{path}: inline style");
    for (at, _) in page.body.match_indices("<script") {
        let tag = &page.body[at..page.body[at..].find('>').unwrap() + at];
        assert!(
            tag.contains("src=\"/ui/assets/"),
            "{path}: inline script {tag}"
        );
    }
}

/// The settings form's fields, with their values in force.
fn settings_fields(at: &str) -> Vec<(&'static str, String)> {
    let _ = at;
    [
        ("level", "auto-protection"),
        ("deny_period", "1h"),
        ("dos_threshold", "500"),
        ("dos_window", "10"),
        ("registered_allowance", "100"),
        ("ddos_threshold", "5000"),
        ("ddos_window", "10"),
        ("bruteforce_threshold", "10"),
        ("bruteforce_window", "60"),
        ("enumeration_threshold", "10"),
        ("enumeration_window", "60"),
        ("deny_list_max", "10000"),
        ("max_tracked_sources", "100000"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

fn with(fields: &[(&'static str, String)], key: &str, value: &str) -> Vec<(&'static str, String)> {
    fields
        .iter()
        .map(|(k, v)| {
            (
                *k,
                if *k == key {
                    value.to_owned()
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}

fn refs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn the_page_shows_the_settings_with_units_ranges_defaults_and_sources() {
    let (_ui, admin) = Ui::new().await;
    let page = admin.get("/ui/security").await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_secure("/ui/security", &page);
    for text in [
        "<h1>Security</h1>",
        "<label for=\"f-dos_threshold\">DoS threshold (requests)</label>",
        "10 to 5000; default 500",
        "<label for=\"f-dos_window\">DoS window (seconds)</label>",
        "2 to 10 s; default 10",
        "Brute-force threshold (failures)",
        "3 to 1000; default 10",
        "DDoS threshold (requests)",
        "<label for=\"f-level\">Security level</label>",
        "<option value=\"auto-protection\" selected>",
        "<option value=\"1h\" selected>",
        "id=\"f-dos_threshold\" name=\"dos_threshold\" type=\"number\" value=\"500\"",
        "Default auto-protection; now default",
        "No source is denied",
        "The allow-list is empty.",
        "action=\"/ui/security/deny/clear\"",
        "hx-get=\"/ui/fragments/security/deny\" hx-trigger=\"every 2s\"",
    ] {
        assert!(
            page.body.contains(text),
            "missing {text:?} in\n{}",
            page.body
        );
    }
    // In the navigation, ready.
    assert!(
        page.body
            .contains("<a href=\"/ui/security\" aria-current=\"page\">Security</a>")
    );
    let fragment = admin.get("/ui/fragments/security/deny").await;
    assert_eq!(fragment.status, StatusCode::OK);
    assert_secure("/ui/fragments/security/deny", &fragment);
    assert!(!fragment.body.contains("<html"), "a fragment, not a page");
}

#[tokio::test]
async fn lowering_the_dos_threshold_is_saved_through_the_service_and_audited() {
    let (ui, admin) = Ui::new().await;
    let base = settings_fields("");
    let r = admin
        .submit(
            "/ui/security/settings",
            &refs(&with(&base, "dos_threshold", "10")),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert!(
        r.location()
            .starts_with("/ui/security?done=guard-settings-saved"),
        "{}",
        r.location()
    );
    assert_eq!(ui.dos_threshold(), 10);
    assert_eq!(
        ui.audit_actions()
            .iter()
            .filter(|a| *a == "guard.settings.update")
            .count(),
        1
    );
    // Only the value changed was stored: the others stay "default".
    let status = ui.service.guard_status(&Caller::cli("root", T0)).unwrap();
    let sources: Vec<(String, String)> = status
        .settings
        .iter()
        .map(|r| (r.key.clone(), r.source.clone()))
        .collect();
    for (key, source) in &sources {
        let want = if key == "dos_threshold" {
            "set"
        } else {
            "default"
        };
        assert_eq!(source, want, "{key}: {sources:?}");
    }
    let page = admin.get(r.location()).await;
    assert!(
        page.body
            .contains("role=\"status\">The guard settings were saved (dos_threshold 10)"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("type=\"number\" value=\"10\""),
        "{}",
        page.body
    );

    // The same values again: nothing to change, nothing audited.
    let again = with(&base, "dos_threshold", "10");
    let r = admin.submit("/ui/security/settings", &refs(&again)).await;
    assert_eq!(r.location(), "/ui/security?done=guard-settings-unchanged");
    assert_eq!(
        ui.audit_actions()
            .iter()
            .filter(|a| *a == "guard.settings.update")
            .count(),
        1
    );

    // Out of range: 422, the message next to the field, nothing changed.
    let r = admin
        .submit(
            "/ui/security/settings",
            &refs(&with(&base, "dos_threshold", "5")),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    let error = r
        .error_of("e-dos_threshold")
        .expect("error next to the field");
    assert!(
        error.contains("dos_threshold") && error.contains("5000"),
        "{error}"
    );
    assert!(
        r.body
            .contains("id=\"f-dos_threshold\" name=\"dos_threshold\" type=\"number\" value=\"5\"")
    );
    // Not a number, in a window field: next to that field.
    let r = admin
        .submit(
            "/ui/security/settings",
            &refs(&with(&base, "dos_window", "soon")),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.error_of("e-dos_window").is_some(), "{}", r.body);
    // A level that does not exist.
    let r = admin
        .submit(
            "/ui/security/settings",
            &refs(&with(&base, "level", "paranoid")),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.error_of("e-level").is_some(), "{}", r.body);
    assert_eq!(ui.dos_threshold(), 10);

    // The level and the deny period.
    let r = admin
        .submit(
            "/ui/security/settings",
            &refs(&with(
                &with(&base, "level", "allow-list-only"),
                "deny_period",
                "5min",
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let view = ui.service.guard_settings(&Caller::cli("root", T0)).unwrap();
    assert_eq!(
        (view.level.as_str(), view.deny_period.as_str()),
        ("allow-list-only", "5min")
    );
    // dos_threshold was posted as 500 again: a change back.
    assert_eq!(view.dos_threshold, 500);
}

#[tokio::test]
async fn the_allow_list_is_listed_added_to_and_removed_from() {
    let (ui, admin) = Ui::new().await;
    let r = admin
        .submit(
            "/ui/security/allow",
            &[("address", "192.0.2.0/24"), ("note", "office")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let page = admin.get(r.location()).await;
    assert!(
        page.body
            .contains("192.0.2.0/24 was added to the allow-list."),
        "{}",
        page.body
    );
    assert!(page.body.contains("<td>192.0.2.0/24</td>"));
    assert!(page.body.contains("<td>office</td>"));
    assert!(page.body.contains("id=\"allow-count\">1 of 100"));
    // Refused: next to the field, the note kept.
    let r = admin
        .submit(
            "/ui/security/allow",
            &[("address", "not-an-ip"), ("note", "kept")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.error_of("e-address").is_some(), "{}", r.body);
    assert!(r.body.contains("value=\"kept\""));
    // Remove it.
    let r = admin
        .submit("/ui/security/allow/remove", &[("address", "192.0.2.0/24")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let page = admin.get(r.location()).await;
    assert!(
        page.body
            .contains("192.0.2.0/24 was removed from the allow-list.")
    );
    assert!(page.body.contains("The allow-list is empty."));
    // Again: not found, said above the list.
    let r = admin
        .submit("/ui/security/allow/remove", &[("address", "192.0.2.0/24")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    assert!(
        r.body.contains("class=\"alert\" role=\"alert\""),
        "{}",
        r.body
    );
    let actions = ui.audit_actions();
    assert!(
        actions.contains(&"guard.allow.add".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"guard.allow.remove".to_owned()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn deny_entries_are_filtered_removed_one_by_series_and_cleared() {
    let (ui, admin) = Ui::new().await;
    ui.deny("203.0.113.1", DenyList::Dos, "1000 requests in 10 s");
    ui.deny("203.0.113.2", DenyList::Dos, "");
    ui.deny("198.51.100.7", DenyList::BruteForce, "12 digest failures");
    ui.deny("198.51.100.8", DenyList::Dos, "");
    ui.deny("198.51.100.9", DenyList::Dos, "");
    ui.deny("192.0.2.99", DenyList::Dos, "");

    let page = admin.get("/ui/security").await;
    assert!(
        page.body.contains("6 entries on both lists"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"deny-dos\">5<"));
    let dos = admin.get("/ui/security?list=bruteforce").await;
    assert!(
        dos.body.contains("1 entry on the brute-force list"),
        "{}",
        dos.body
    );
    assert!(dos.body.contains("<td>198.51.100.7</td>"));
    assert!(!dos.body.contains("<td>203.0.113.1</td>"));
    assert!(
        dos.body
            .contains("hx-get=\"/ui/fragments/security/deny?list=bruteforce\"")
    );
    let fragment = admin.get("/ui/fragments/security/deny?list=dos").await;
    assert!(
        fragment.body.contains("5 entries on the DoS list"),
        "{}",
        fragment.body
    );
    let bad = admin.get("/ui/security?list=red").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // One entry (a row's button).
    let r = admin
        .submit(
            "/ui/security/deny/remove",
            &[("address", "203.0.113.1"), ("list", "dos")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let page = admin.get(r.location()).await;
    assert!(
        page.body
            .contains("Removed from the deny-list: 203.0.113.1."),
        "{}",
        page.body
    );
    assert!(!ui.denied().contains(&"203.0.113.1".to_owned()));

    // A series: a prefix.
    let r = admin
        .submit(
            "/ui/security/deny/remove",
            &[
                ("series", "on"),
                ("address", "198.51.100.0/24"),
                ("list", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert_eq!(ui.denied(), ["203.0.113.2", "192.0.2.99"]);
    // A series: an entry and every one after it.
    let r = admin
        .submit(
            "/ui/security/deny/remove",
            &[
                ("series", "on"),
                ("address", "203.0.113.2"),
                ("list", "dos"),
                ("following", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert!(ui.denied().is_empty(), "{:?}", ui.denied());
    // Nothing matches: said next to the series form (above it: no field).
    let r = admin
        .submit(
            "/ui/security/deny/remove",
            &[("series", "on"), ("address", "203.0.113.0/24")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    assert!(
        r.body.contains("no deny entry matches 203.0.113.0/24"),
        "{}",
        r.body
    );
    let r = admin
        .submit(
            "/ui/security/deny/remove",
            &[("series", "on"), ("address", "nonsense")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body.contains("value=\"nonsense\""), "{}", r.body);

    // Clear: only once confirmed.
    ui.deny("203.0.113.5", DenyList::Dos, "");
    ui.deny("203.0.113.6", DenyList::BruteForce, "");
    let r = admin
        .submit("/ui/security/deny/clear", &[("list", "dos")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.error_of("ce-confirm").unwrap().contains("tick the box"));
    assert_eq!(ui.denied().len(), 2);
    let r = admin
        .submit(
            "/ui/security/deny/clear",
            &[("list", "dos"), ("confirm", "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let page = admin.get(r.location()).await;
    assert!(
        page.body
            .contains("Deny-list cleared: 1 entries removed from the DoS list."),
        "{}",
        page.body
    );
    assert_eq!(ui.denied(), ["203.0.113.6"]);
    let r = admin
        .submit(
            "/ui/security/deny/clear",
            &[("list", ""), ("confirm", "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert!(ui.denied().is_empty());
    let actions = ui.audit_actions();
    assert_eq!(
        actions.iter().filter(|a| *a == "guard.deny.remove").count(),
        3,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "guard.deny.clear").count(),
        2,
        "{actions:?}"
    );
}

#[tokio::test]
async fn every_form_is_refused_without_its_csrf_token() {
    let (ui, admin) = Ui::new().await;
    ui.deny("203.0.113.1", DenyList::Dos, "");
    let before = ui.audit_actions();
    let posts: [(&str, Vec<(&str, &str)>); 5] = [
        ("/ui/security/settings", vec![("dos_threshold", "10")]),
        ("/ui/security/allow", vec![("address", "192.0.2.1")]),
        ("/ui/security/allow/remove", vec![("address", "192.0.2.1")]),
        ("/ui/security/deny/remove", vec![("address", "203.0.113.1")]),
        ("/ui/security/deny/clear", vec![("confirm", "on")]),
    ];
    for (path, fields) in &posts {
        for token in [None, Some("0".repeat(64))] {
            let mut fields = fields.clone();
            if let Some(token) = &token {
                fields.push(("csrf_token", token));
            }
            let r = admin.post(path, &fields).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {token:?}: {r:?}");
            assert!(r.body.contains("CSRF token"), "{path}: {}", r.body);
            assert_secure(path, &r);
        }
    }
    assert_eq!(ui.audit_actions(), before, "nothing changed");
    assert_eq!(ui.denied(), ["203.0.113.1"]);
    assert_eq!(ui.dos_threshold(), 500);
    // Every form of the page is one of those.
    let page = admin.get("/ui/security").await;
    let marker = "<form method=\"post\" action=\"";
    for (at, _) in page.body.match_indices(marker) {
        let action = page.body[at + marker.len()..].split('"').next().unwrap();
        // The layout's logout form: crates/api/tests/ui.rs checks it.
        assert!(
            action == "/ui/logout" || posts.iter().any(|(p, _)| *p == action),
            "{action} not checked"
        );
    }
    // Without a session: the login page.
    let anonymous = ui.browser();
    let r = anonymous.get("/ui/security").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/ui/login");
    let r = anonymous.get("/ui/fragments/security/deny").await;
    assert!(
        r.status.is_redirection() || r.headers.contains_key("hx-redirect"),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_read_only_account_sees_no_change_form_and_changes_nothing() {
    let (ui, _admin) = Ui::new().await;
    ui.deny("203.0.113.1", DenyList::Dos, "");
    let reader = ui.reader().await;
    let page = reader.get("/ui/security").await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    for action in [
        "/ui/security/settings",
        "/ui/security/allow",
        "/ui/security/deny/remove",
        "/ui/security/deny/clear",
    ] {
        assert!(
            !page.body.contains(&format!("action=\"{action}\"")),
            "{action} shown"
        );
    }
    assert!(page.body.contains("<td>203.0.113.1</td>"));
    assert!(
        page.body.contains("id=\"v-dos_threshold\">500</output>"),
        "{}",
        page.body
    );
    let fragment = reader.get("/ui/fragments/security/deny").await;
    assert!(!fragment.body.contains("<form"));
    let before = ui.audit_actions();
    let r = reader
        .submit("/ui/security/deny/clear", &[("confirm", "on")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    let r = reader
        .submit("/ui/security/settings", &[("dos_threshold", "10")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    assert_eq!(ui.audit_actions(), before);
    assert_eq!(ui.denied(), ["203.0.113.1"]);
}

#[tokio::test]
async fn data_is_escaped() {
    let (ui, admin) = Ui::new().await;
    ui.deny("203.0.113.1", DenyList::Dos, "<script>alert(1)</script>");
    let r = admin
        .submit(
            "/ui/security/allow",
            &[("address", "192.0.2.1"), ("note", "<b>\"x\"</b>")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let page = admin.get("/ui/security").await;
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || page.body.contains("&lt;script&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<b>\"x\"</b>"));
    // A refused value is escaped too.
    let r = admin
        .submit(
            "/ui/security/allow",
            &[("address", "\"><script>x</script>")],
        )
        .await;
    assert!(!r.body.contains("<script>x"), "{}", r.body);
}
