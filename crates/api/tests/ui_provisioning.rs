//! The provisioning page (`/ui/provisioning`, issue 18) and the devices
//! page's CSV import and export, over the admin router, `oneshot` style:
//! the hash key shown and replaced only with the password (and the
//! warning); the remote-worker CSV refused with its line and column and
//! nothing written, then a valid one listed in the inventory; the same
//! from a multipart file, pasted text or the REST API's `text/csv` body;
//! the global CSV; file uploads with their errors next to the field; the
//! inventory's filters and export (the REST export's text); actions and
//! their cancellation; the devices CSV import with its per-line report
//! and the export; every form refused without its CSRF token; a
//! read-only account sees no form and no key; security headers; user data
//! escaped. The same in Chromium: `crates/outpost/tests/ui_provisioning_e2e.rs`.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use outpost_api::service::Caller;
use outpost_api::{Clock, ManualClock, Service, router};
use outpost_provision::Mac;
use outpost_store::{Download, SETUP_TOKEN_SETTING, Store};
use sha2::Digest;
use tower::ServiceExt;

const SETUP_TOKEN: &str = "setup-token-0123456789abcdef";
const ADMIN: &str = "alice";
const ADMIN_PASSWORD: &str = "alice-password-1234";
const READER: &str = "rita";
const READER_PASSWORD: &str = "rita-password-12345";
const T0: i64 = 1_700_000_000;
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' \
                   data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
const SECRET: &str = "sip-secret-7000";

/// A CSV whose line 3 has a bad MAC.
fn bad_csv() -> String {
    format!(
        "MAC_ADDRESS;!sip line1 user name;sip line1 password\n\
         00-08-5d-84-20-61;7000;{SECRET}\n\
         not-a-mac;7001;{SECRET}\n"
    )
}

fn good_csv() -> String {
    format!(
        "MAC_ADDRESS;!sip line1 user name;sip line1 password\n\
         00-08-5d-84-20-61;7000;{SECRET}\n\
         00:08:5D:84:20:62;7001;{SECRET}\n"
    )
}

/// An installation with a first administrator, and a browser's cookies.
struct Ui {
    app: Router,
    service: Service,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
    cookies: Mutex<Vec<(String, String)>>,
}

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

    fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self.body.find(marker).expect("a csrf_token field") + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }
}

impl Ui {
    async fn logged_in() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("outpost.db");
        let mut store = Store::open(&db).unwrap();
        let digest = hex::encode(sha2::Sha256::digest(SETUP_TOKEN.as_bytes()));
        store.set_setting(SETUP_TOKEN_SETTING, &digest).unwrap();
        store.ensure_provisioning_hash(T0).unwrap();
        let service = Service::new(store).with_public_name("sbc.example.com");
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
            cookies: Mutex::new(Vec::new()),
        };
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
        ui.login(ADMIN, ADMIN_PASSWORD).await;
        ui
    }

    async fn login(&self, name: &str, password: &str) {
        self.cookies.lock().unwrap().clear();
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

    fn cli(&self) -> Caller {
        Caller::cli("root", T0)
    }

    fn hash(&self) -> String {
        self.service.provisioning_hash(&self.cli()).unwrap().hash
    }

    fn phone_files(&self) -> Vec<String> {
        self.service
            .provisioning_files(&self.cli())
            .unwrap()
            .into_iter()
            .filter(|f| f.kind == "phone")
            .map(|f| f.name)
            .collect()
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

    /// A multipart form: text fields, then files (field, file name,
    /// bytes), as a browser sends it.
    async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Page {
        let boundary = "----outpostTestBoundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, filename, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                     filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri(path)
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    async fn csrf(&self) -> String {
        self.get("/ui/provisioning").await.csrf()
    }
}

fn assert_secure(path: &str, page: &Page) {
    assert_eq!(
        page.headers
            .get(header::CONTENT_SECURITY_POLICY)
            .map(|v| v.to_str().unwrap()),
        Some(CSP),
        "{path}"
    );
    assert_eq!(
        page.headers.get(header::X_FRAME_OPTIONS).unwrap(),
        "DENY",
        "{path}"
    );
    assert!(!page.body.contains("<script>"), "{path}: inline script");
    assert!(!page.body.contains(" style="), "{path}: inline style");
}

#[tokio::test]
async fn the_page_shows_every_section_with_the_security_headers() {
    let ui = Ui::logged_in().await;
    let page = ui.get("/ui/provisioning").await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_secure("/ui/provisioning", &page);
    for text in [
        "Hash key",
        &ui.hash(),
        "must be re-provisioned",
        "Remote-worker CSV",
        "Global CSV",
        "Upload a file",
        "Stored files",
        "Inventory",
        "Actions and events",
        "hx-get=\"/ui/fragments/provisioning\"",
        "enctype=\"multipart/form-data\"",
    ] {
        assert!(page.body.contains(text), "missing {text:?}");
    }
    // The navigation links the page as built (not "coming soon").
    assert!(!page.body.contains("coming soon"), "{}", page.body);
    let fragment = ui.get("/ui/fragments/provisioning").await;
    assert_eq!(fragment.status, StatusCode::OK);
    assert!(fragment.body.contains("No action yet"), "{}", fragment.body);
    assert_secure("/ui/fragments/provisioning", &fragment);
    for path in ["/ui/devices/import", "/ui/devices"] {
        let page = ui.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_secure(path, &page);
    }
}

#[tokio::test]
async fn a_csv_with_an_error_on_line_3_shows_line_and_column_and_imports_nothing() {
    let ui = Ui::logged_in().await;
    let csrf = ui.csrf().await;
    let r = ui
        .post_multipart(
            "/ui/provisioning/import/phones",
            &[("csrf_token", &csrf)],
            &[("file", "phones.csv", bad_csv().as_bytes())],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body.contains("nothing was written"), "{}", r.body);
    assert!(r.body.contains("line 3"), "{}", r.body);
    assert!(r.body.contains("column A (MAC_ADDRESS)"), "{}", r.body);
    assert!(
        r.body.contains("a MAC address is 12 hex digits"),
        "{}",
        r.body
    );
    assert!(!r.body.contains(SECRET), "a password in the report");
    assert!(ui.phone_files().is_empty());

    // Then a valid one: written, the notice says so, the inventory lists
    // the phones (configured, not fetched yet).
    let r = ui
        .post_multipart(
            "/ui/provisioning/import/phones",
            &[("csrf_token", &csrf)],
            &[("file", "phones.csv", good_csv().as_bytes())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert_eq!(
        ui.phone_files(),
        vec!["00085D842061.cfg", "00085D842062.cfg"]
    );
    let page = ui.get(r.location()).await;
    assert!(
        page.body
            .contains("The remote-worker CSV was imported: 2 phone file(s) written."),
        "{}",
        page.body
    );
    let inventory = &page.body[page.body.find("id=\"inventory\"").unwrap()..];
    assert!(inventory.contains("00085D842061"), "{inventory}");
    assert!(inventory.contains("00085D842062"), "{inventory}");
    assert!(inventory.contains("configured, not fetched yet"));
    // The action log records the import.
    let fragment = ui.get("/ui/fragments/provisioning").await;
    assert!(fragment.body.contains("import"), "{}", fragment.body);

    // Pasted text and the REST API's own body (text/csv, token in the
    // header) go the same way.
    let pasted = ui
        .post(
            "/ui/provisioning/import/phones",
            &[("csrf_token", &csrf), ("csv", &bad_csv())],
        )
        .await;
    assert_eq!(pasted.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(pasted.body.contains("line 3"));
    let raw = ui
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/ui/provisioning/import/phones")
                .header(header::CONTENT_TYPE, "text/csv")
                .header("x-csrf-token", &csrf)
                .body(Body::from(
                    "MAC_ADDRESS;sip line1 password\n00085D000003;x\n",
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(raw.status, StatusCode::SEE_OTHER, "{raw:?}");
    assert_eq!(ui.phone_files(), vec!["00085D000003.cfg"]);
}

#[tokio::test]
async fn the_inventory_filters_and_exports_as_the_api_does() {
    let ui = Ui::logged_in().await;
    {
        let mut store = Store::open_existing(&ui.db).unwrap();
        for (mac, model, at) in [
            ("00085D000001", "6867i", T0 - 100),
            ("00085D000002", "6869i", T0 - 10),
        ] {
            store
                .record_download(&Download {
                    mac: Mac::parse(mac).unwrap(),
                    model: Some(model.to_owned()),
                    firmware: Some("6.3.0.1020".to_owned()),
                    address: "198.51.100.7".to_owned(),
                    at,
                    file: format!("{mac}.cfg"),
                })
                .unwrap();
        }
    }
    let all = ui.get("/ui/provisioning").await;
    assert!(all.body.contains("00085D000001") && all.body.contains("00085D000002"));
    let one = ui.get("/ui/provisioning?model=6869i").await;
    let table = &one.body[one.body.find("id=\"inventory\"").unwrap()..];
    assert!(table.contains("00085D000002") && !table.contains("00085D000001"));
    assert!(
        one.body
            .contains("/ui/provisioning/inventory.csv?model=6869i")
    );
    // A bad filter is shown next to its field.
    let bad = ui.get("/ui/provisioning?mac=zz").await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.body.contains("id=\"e-mac\""), "{}", bad.body);

    let export = ui.get("/ui/provisioning/inventory.csv?model=6869i").await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(
        export.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let query = outpost_api::service::provisioning::inventory_filter::InventoryQuery {
        model: Some("6869i".into()),
        ..Default::default()
    };
    let api_text = ui
        .service
        .inventory_csv_filtered(&ui.cli(), &query)
        .unwrap();
    assert_eq!(export.body, api_text);
    assert!(export.body.contains("00085D000002"));
}

#[tokio::test]
async fn a_new_hash_needs_the_password_and_warns() {
    let ui = Ui::logged_in().await;
    let old = ui.hash();
    let csrf = ui.csrf().await;
    let wrong = ui
        .post(
            "/ui/provisioning/hash",
            &[("csrf_token", &csrf), ("password", "not-the-password")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
    assert!(wrong.body.contains("id=\"e-password\""), "{}", wrong.body);
    assert_eq!(ui.hash(), old);
    let r = ui
        .post(
            "/ui/provisioning/hash",
            &[("csrf_token", &csrf), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let new = ui.hash();
    assert_ne!(new, old);
    let page = ui.get(r.location()).await;
    assert!(page.body.contains("must be re-provisioned"));
    assert!(page.body.contains(&new));
}

#[tokio::test]
async fn global_csv_uploads_and_actions() {
    let ui = Ui::logged_in().await;
    let csrf = ui.csrf().await;
    // Global CSV: a refusal with its report, then one that goes through.
    let bad = ui
        .post_multipart(
            "/ui/provisioning/import/global",
            &[("csrf_token", &csrf)],
            &[("file", "global.csv", b"NOPE;X\nsip mode;1\n")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    assert!(bad.body.contains("id=\"csv-report\""));
    let good = ui
        .post_multipart(
            "/ui/provisioning/import/global",
            &[("csrf_token", &csrf)],
            &[(
                "file",
                "global.csv",
                b"PARAMETERS;VALUE\ntime server disabled;1\n",
            )],
        )
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{good:?}");
    assert!(
        ui.get(good.location())
            .await
            .body
            .contains("aastra.cfg has 1 parameter(s)")
    );

    // Uploads: the file's own name by default; a refused name next to
    // its field; no file chosen next to the file input.
    let r = ui
        .post_multipart(
            "/ui/provisioning/upload",
            &[("csrf_token", &csrf), ("kind", "firmware"), ("name", "")],
            &[("file", "6867i.st", b"\x00\x01firmware")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let r = ui
        .post_multipart(
            "/ui/provisioning/upload",
            &[("csrf_token", &csrf), ("kind", "extra"), ("name", "")],
            &[("file", "template.xml", b"<x/>")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let page = ui.get("/ui/provisioning").await;
    assert!(page.body.contains("6867i.st") && page.body.contains("template.xml"));
    let refused = ui
        .post_multipart(
            "/ui/provisioning/upload",
            &[
                ("csrf_token", &csrf),
                ("kind", "extra"),
                ("name", "aastra.cfg"),
            ],
            &[("file", "x.cfg", b"x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("id=\"e-name\""), "{}", refused.body);
    let missing = ui
        .post_multipart(
            "/ui/provisioning/upload",
            &[
                ("csrf_token", &csrf),
                ("kind", "startup"),
                ("name", "startup.cfg"),
            ],
            &[("file", "", b"")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.body.contains("id=\"e-file\""), "{}", missing.body);

    // An action later, shown with its progress, then cancelled.
    let bad_when = ui
        .post(
            "/ui/provisioning/actions",
            &[("csrf_token", &csrf), ("kind", "deploy"), ("in", "soon")],
        )
        .await;
    assert_eq!(bad_when.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_when.body.contains("id=\"e-in\""), "{}", bad_when.body);
    let r = ui
        .post(
            "/ui/provisioning/actions",
            &[("csrf_token", &csrf), ("kind", "deploy"), ("in", "1h")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let fragment = ui.get("/ui/fragments/provisioning").await;
    assert!(fragment.body.contains("pending"), "{}", fragment.body);
    assert!(fragment.body.contains("<progress"), "{}", fragment.body);
    let id = ui
        .service
        .list_actions(&ui.cli(), &Default::default())
        .unwrap()
        .into_iter()
        .find(|a| a.state == "pending")
        .unwrap()
        .id;
    let r = ui
        .post(
            "/ui/provisioning/actions/cancel",
            &[("csrf_token", &csrf), ("id", &id.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let shown = ui.service.show_action(&ui.cli(), id).unwrap();
    assert_eq!(shown.state, "failed");
}

#[tokio::test]
async fn the_devices_csv_import_reports_each_line_and_the_export_is_the_apis() {
    let ui = Ui::logged_in().await;
    let icp = outpost_api::service::icps::NewIcpInput::new("pbx", "192.0.2.50");
    ui.service.create_icp(&ui.cli(), &icp).unwrap();
    let page = ui.get("/ui/devices").await;
    assert!(page.body.contains("href=\"/ui/devices/import\""));
    assert!(page.body.contains("href=\"/ui/devices/export.csv\""));
    let csrf = ui.get("/ui/devices/import").await.csrf();
    let bad = "setside_username,setside_password,enabled\n4001,secret-4001-x,true\n\
               4002,secret-4002-x,maybe\n";
    let r = ui
        .post_multipart(
            "/ui/devices/import",
            &[("csrf_token", &csrf), ("mode", "create")],
            &[("file", "devices.csv", bad.as_bytes())],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body.contains("line 3"), "{}", r.body);
    assert!(r.body.contains("nothing was written"), "{}", r.body);
    assert!(!r.body.contains("line 2"), "{}", r.body);
    assert!(!r.body.contains("secret-4002-x"));
    let none = ui
        .service
        .list_devices(&ui.cli(), &Default::default())
        .unwrap();
    assert_eq!(none.total, 0);
    let good = "setside_username,setside_password\n4001,secret-4001-x\n4002,secret-4002-x\n";
    let r = ui
        .post_multipart(
            "/ui/devices/import",
            &[("csrf_token", &csrf), ("mode", "create")],
            &[("file", "devices.csv", good.as_bytes())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let page = ui.get(r.location()).await;
    assert!(
        page.body.contains("2 added, 0 updated, 0 unchanged"),
        "{}",
        page.body
    );
    let export = ui.get("/ui/devices/export.csv").await;
    assert_eq!(export.status, StatusCode::OK);
    let api = ui.service.export_mbg(&ui.cli(), None).unwrap();
    assert_eq!(export.body, api.csv);
    assert!(export.body.contains("4002"));
}

#[tokio::test]
async fn every_form_is_refused_without_its_csrf_token() {
    let ui = Ui::logged_in().await;
    let before = ui.hash();
    for path in [
        "/ui/provisioning/hash",
        "/ui/provisioning/import/phones",
        "/ui/provisioning/import/global",
        "/ui/provisioning/upload",
        "/ui/provisioning/actions",
        "/ui/provisioning/actions/cancel",
        "/ui/devices/import",
    ] {
        let plain = ui
            .post(path, &[("password", ADMIN_PASSWORD), ("csv", &good_csv())])
            .await;
        assert_eq!(plain.status, StatusCode::FORBIDDEN, "{path}: {plain:?}");
        let multipart = ui
            .post_multipart(
                path,
                &[("csrf_token", "forged"), ("kind", "extra")],
                &[("file", "phones.csv", good_csv().as_bytes())],
            )
            .await;
        assert_eq!(
            multipart.status,
            StatusCode::FORBIDDEN,
            "{path}: {multipart:?}"
        );
    }
    assert_eq!(ui.hash(), before);
    assert!(ui.phone_files().is_empty());
}

#[tokio::test]
async fn a_read_only_account_sees_no_form_and_no_key() {
    let ui = Ui::logged_in().await;
    ui.service
        .create_admin(
            &ui.cli(),
            &outpost_api::service::NewAdminInput {
                name: READER.into(),
                password: outpost_api::service::Password::new(READER_PASSWORD),
                role: Some("read-only".into()),
            },
        )
        .unwrap();
    ui.login(READER, READER_PASSWORD).await;
    let page = ui.get("/ui/provisioning").await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(!page.body.contains(&ui.hash()));
    for form in [
        "/ui/provisioning/hash",
        "/ui/provisioning/import/phones",
        "/ui/provisioning/upload",
        "/ui/provisioning/actions\"",
    ] {
        assert!(
            !page.body.contains(form),
            "{form} shown to a read-only account"
        );
    }
    assert!(page.body.contains("Inventory"));
    let devices = ui.get("/ui/devices").await;
    assert!(!devices.body.contains("/ui/devices/import"));
    // The service refuses anyway.
    let csrf = devices.csrf();
    let r = ui
        .post_multipart(
            "/ui/provisioning/import/phones",
            &[("csrf_token", &csrf)],
            &[("file", "phones.csv", good_csv().as_bytes())],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    assert!(ui.phone_files().is_empty());
    let export = ui.get("/ui/devices/export.csv").await;
    assert_eq!(export.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn user_data_is_escaped() {
    let ui = Ui::logged_in().await;
    let csrf = ui.csrf().await;
    let r = ui
        .post_multipart(
            "/ui/provisioning/upload",
            &[
                ("csrf_token", &csrf),
                ("kind", "extra"),
                ("name", "<script>alert(1)</script>"),
            ],
            &[("file", "x.xml", b"<x/>")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(!r.body.contains("<script>alert"), "{}", r.body);
    assert!(
        r.body.contains("&lt;script&gt;") || r.body.contains("&#60;script"),
        "{}",
        r.body
    );
}
