//! The admin UI's certificates, administrators and API tokens, and audit
//! pages (`/ui/certificates`, `/ui/admins`, `/ui/audit`, issue 18) over
//! the admin router, `oneshot` style, with a real certificate store in a
//! temporary directory: a refused import says why next to its field and
//! installs nothing (PEM and PKCS#12, no secret sent back); an import is
//! listed with its names, issuer and days left; assignment per usage; a
//! delete refused while in use, with the service's message; ACME request,
//! renew, forget; a token's value shown once; account creation, removal,
//! own password; read-only accounts see no change form; the audit log
//! filtered by family and time, paged with its cursor; every form refused
//! without its CSRF token; user data escaped. The same pages in Chromium:
//! `crates/outpost/tests/ui_admin_pages_e2e.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use outpost_api::service::{Caller, NewAdminInput, Password};
use outpost_api::{Clock, ManualClock, Service, router};
use outpost_store::{SETUP_TOKEN_SETTING, Store};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use sha2::Digest;
use tower::ServiceExt;

const SETUP_TOKEN: &str = "setup-token-0123456789abcdef";
const ADMIN: &str = "alice";
const ADMIN_PASSWORD: &str = "alice-password-1234";
const T0: i64 = 1_700_000_000;
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' \
                   data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
const HOST: &str = "sbc.example.test";
const KEY_PASS: &str = "Key-Pass-Secret-1";
const P12_PASS: &str = "P12-Pass-Secret-1";

/// An installation with a certificate store, and one browser's cookies.
struct Ui {
    app: Router,
    service: Service,
    db: PathBuf,
    tls: PathBuf,
    _dir: Arc<tempfile::TempDir>,
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

    /// The text of the element with `id` up to its closing tag `end`.
    fn part(&self, id: &str, end: &str) -> &str {
        let marker = format!("id=\"{id}\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {id} in {}", self.body));
        let rest = &self.body[start..];
        &rest[..rest.find(end).unwrap_or(rest.len())]
    }
}

impl Ui {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("outpost.db");
        let tls = dir.path().join("tls");
        let mut store = Store::open(&db).unwrap();
        let digest = hex::encode(sha2::Sha256::digest(SETUP_TOKEN.as_bytes()));
        store.set_setting(SETUP_TOKEN_SETTING, &digest).unwrap();
        let service = Service::new(store).with_tls_dir(tls.clone());
        let clock = Arc::new(ManualClock::new(T0));
        let app = router(
            Arc::new(String::new),
            Some((service.clone(), clock as Arc<dyn Clock>)),
        );
        Self {
            app,
            service,
            db,
            tls,
            _dir: Arc::new(dir),
            cookies: Mutex::new(Vec::new()),
        }
    }

    /// Another browser on the same installation, without cookies.
    fn other_browser(&self) -> Self {
        Self {
            app: self.app.clone(),
            service: self.service.clone(),
            db: self.db.clone(),
            tls: self.tls.clone(),
            _dir: Arc::clone(&self._dir),
            cookies: Mutex::new(Vec::new()),
        }
    }

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
        ui.login(ADMIN, ADMIN_PASSWORD).await;
        ui
    }

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

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
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

    /// A `multipart/form-data` post, as a browser sends a file form.
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
                     filename=\"{filename}\"\r\nContent-Type: application/x-pkcs12\r\n\r\n"
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
        self.get("/ui/admins").await.csrf()
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

    /// The names of the certificates installed, from the store itself.
    fn installed(&self) -> Vec<String> {
        self.service
            .certificates_list(&Caller::cli("root", T0))
            .unwrap()
            .into_iter()
            .map(|c| c.name)
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
    assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
    assert_eq!(h("cache-control"), "no-store", "{path}");
}

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

/// A leaf for [`HOST`] signed by CA `ca`, valid 2023-01-01 to
/// `year_to`-06-01 (the virtual clock stands in November 2023); the chain
/// and the key as PEM.
fn material(ca: &str, year_to: i32) -> (String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, ca);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params = CertificateParams::new(vec![HOST.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, HOST);
    params.not_before = rcgen::date_time_ymd(2023, 1, 1);
    params.not_after = rcgen::date_time_ymd(year_to, 6, 1);
    let key = KeyPair::generate().unwrap();
    let leaf = params.signed_by(&key, &issuer).unwrap();
    (
        format!("{}{}", leaf.pem(), ca_cert.pem()),
        key.serialize_pem(),
    )
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The key encrypted with [`KEY_PASS`].
fn encrypted_key(key: &str, dir: &Path) -> String {
    std::fs::write(dir.join("plain.key"), key).unwrap();
    let pass = format!("pass:{KEY_PASS}");
    openssl(
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            "plain.key",
            "-out",
            "enc.key",
            "-passout",
            &pass,
        ],
        dir,
    );
    std::fs::read_to_string(dir.join("enc.key")).unwrap()
}

/// A PKCS#12 file with [`P12_PASS`].
fn pkcs12(chain: &str, key: &str, dir: &Path) -> Vec<u8> {
    std::fs::write(dir.join("chain.pem"), chain).unwrap();
    std::fs::write(dir.join("key.pem"), key).unwrap();
    let pass = format!("pass:{P12_PASS}");
    openssl(
        &[
            "pkcs12",
            "-export",
            "-in",
            "chain.pem",
            "-inkey",
            "key.pem",
            "-out",
            "b.p12",
            "-passout",
            &pass,
        ],
        dir,
    );
    std::fs::read(dir.join("b.p12")).unwrap()
}

/// Every file under the store's directory.
fn files(tls: &Path) -> Vec<String> {
    let mut all: Vec<String> = std::fs::read_dir(tls)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    all.sort();
    all
}

#[tokio::test]
async fn a_refused_import_says_why_next_to_its_field_and_installs_nothing() {
    let ui = Ui::logged_in().await;
    let work = tempfile::tempdir().unwrap();
    let page = ui.get("/ui/certificates").await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_secure("/ui/certificates", &page);
    assert!(
        page.body.contains("No certificate installed yet"),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let before = files(&ui.tls);
    let (chain, key) = material("Example CA", 2030);
    let enc = encrypted_key(&key, work.path());

    // Not a certificate: refused next to the PEM field; nothing installed;
    // the text (which would hold a key) is not sent back.
    let junk = format!("not a certificate {KEY_PASS}-in-text");
    let r = ui
        .post(
            "/ui/certificates/import-pem",
            &[
                ("csrf_token", &csrf),
                ("pem_name", "company"),
                ("pem", &junk),
                ("pem_password", KEY_PASS),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(
        r.body.contains(r#"<p class="error" id="e-pem">"#),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(r#"<details class="add card" open id="import-pem">"#)
    );
    assert!(r.body.contains(r#"value="company""#), "the name is kept");
    assert!(!r.body.contains(KEY_PASS), "a secret sent back: {}", r.body);
    assert_no_inline("refused import", &r);
    // An encrypted key without its passphrase, then with a wrong one.
    let pem = format!("{chain}{enc}");
    for pass in ["", "Wrong-Pass-Secret-2"] {
        let r = ui
            .post(
                "/ui/certificates/import-pem",
                &[
                    ("csrf_token", &csrf),
                    ("pem_name", "company"),
                    ("pem", &pem),
                    ("pem_password", pass),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{pass}: {r:?}");
        assert!(r.body.contains(r#"id="e-pem_password""#), "{}", r.body);
        assert!(
            !r.body.contains("ENCRYPTED PRIVATE KEY") && !r.body.contains(&enc[40..80]),
            "PEM text sent back"
        );
        assert!(pass.is_empty() || !r.body.contains(pass));
    }
    // An expired certificate.
    let (old_chain, old_key) = material("Example CA", 2023);
    let r = ui
        .post(
            "/ui/certificates/import-pem",
            &[
                ("csrf_token", &csrf),
                ("pem_name", "old"),
                ("pem", &format!("{old_chain}{old_key}")),
            ],
        )
        .await;
    // The virtual clock is in November 2023: valid until June 2023 is expired.
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body.contains(r#"id="e-pem""#), "{}", r.body);
    // A bad name.
    let r = ui
        .post(
            "/ui/certificates/import-pem",
            &[
                ("csrf_token", &csrf),
                ("pem_name", "Bad/Name"),
                ("pem", &format!("{chain}{key}")),
            ],
        )
        .await;
    assert!(r.body.contains(r#"id="e-pem_name""#), "{}", r.body);
    // PKCS#12: no file; a wrong password; not a PKCS#12 file.
    let p12 = pkcs12(&chain, &key, work.path());
    let r = ui
        .post_multipart(
            "/ui/certificates/import-pkcs12",
            &[
                ("csrf_token", &csrf),
                ("p12_name", "portal"),
                ("p12_password", P12_PASS),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body.contains(r#"id="e-pkcs12""#), "{}", r.body);
    let r = ui
        .post_multipart(
            "/ui/certificates/import-pkcs12",
            &[
                ("csrf_token", &csrf),
                ("p12_name", "portal"),
                ("p12_password", "Wrong-P12-Pass-9"),
            ],
            &[("pkcs12", "portal.p12", &p12)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body.contains(r#"id="e-p12_password""#), "{}", r.body);
    assert!(!r.body.contains("Wrong-P12-Pass-9"));
    assert!(r.body.contains(r#"value="portal""#));
    let r = ui
        .post_multipart(
            "/ui/certificates/import-pkcs12",
            &[
                ("csrf_token", &csrf),
                ("p12_name", "portal"),
                ("p12_password", P12_PASS),
            ],
            &[("pkcs12", "portal.p12", &p12[..p12.len() / 2])],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body.contains(r#"id="e-pkcs12""#), "{}", r.body);
    assert_eq!(files(&ui.tls), before, "nothing installed");
    assert!(ui.installed().is_empty());
    assert!(
        !ui.audit_actions().iter().any(|a| a == "certificate.import"),
        "nothing audited"
    );

    // Now the good ones: a PEM chain with its encrypted key, a PKCS#12 file.
    let r = ui
        .post(
            "/ui/certificates/import-pem",
            &[
                ("csrf_token", &csrf),
                ("pem_name", "company"),
                ("pem", &pem),
                ("pem_password", KEY_PASS),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert_eq!(
        r.location(),
        "/ui/certificates?done=certificate-imported&name=company"
    );
    let (chain2, key2) = material("Portal CA", 2023 + 1);
    let p12 = pkcs12(&chain2, &key2, work.path());
    let r = ui
        .post_multipart(
            "/ui/certificates/import-pkcs12",
            &[
                ("csrf_token", &csrf),
                ("p12_name", "portal"),
                ("p12_password", P12_PASS),
            ],
            &[("pkcs12", "portal.p12", &p12)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert_eq!(ui.installed(), ["company", "portal"]);
    let page = ui.get(r.location()).await;
    assert!(
        page.body.contains("Certificate portal was imported"),
        "{}",
        page.body
    );
    let company = page.part("cert-company", "</tr>");
    assert!(company.contains(HOST), "{company}");
    assert!(company.contains("Example CA"), "{company}");
    assert!(
        company.contains(r#"<span class="badge ok" data-days="#),
        "{company}"
    );
    assert!(company.contains(">none<"), "no usage yet: {company}");
    // Portal expires June 2024: about 200 days; under 30 it is highlighted.
    let portal = page.part("cert-portal", "</tr>");
    assert!(
        portal.contains("Portal CA") && portal.contains("days left"),
        "{portal}"
    );
    for secret in [
        KEY_PASS,
        P12_PASS,
        &key[40..80],
        &enc[40..80],
        &key2[40..80],
    ] {
        assert!(!page.body.contains(secret), "{secret} in the page");
    }
    let clock_late = ui
        .service
        .certificates_list(&Caller::cli("root", T0 + 190 * 86_400))
        .unwrap();
    let days = clock_late
        .iter()
        .find(|c| c.name == "portal")
        .unwrap()
        .expires_in_days;
    assert!(days < 30, "{days}");
    let audit = Store::open_existing(&ui.db)
        .unwrap()
        .audit_entries(&outpost_store::AuditFilter {
            limit: 500,
            ..Default::default()
        })
        .unwrap();
    let text = format!("{audit:?}");
    assert!(!text.contains(KEY_PASS) && !text.contains(P12_PASS) && !text.contains("PRIVATE"));
}

#[tokio::test]
async fn certificates_are_assigned_per_usage_and_a_delete_in_use_is_refused() {
    let ui = Ui::logged_in().await;
    let csrf = ui.csrf().await;
    let (chain, key) = material("Example CA", 2030);
    for name in ["company", "portal"] {
        let r = ui
            .post(
                "/ui/certificates/import-pem",
                &[
                    ("csrf_token", &csrf),
                    ("pem_name", name),
                    ("pem", &format!("{chain}{key}")),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    }
    let page = ui.get("/ui/certificates").await;
    assert!(
        page.body.contains(
            r#"id="f-assign-web-services" name="certificates" type="text" value="default""#
        ),
        "{}",
        page.body
    );
    // Portal first, then company, on web services.
    let r = ui
        .post(
            "/ui/certificates/assign",
            &[
                ("csrf_token", &csrf),
                ("usage", "web-services"),
                ("certificates", "portal, company"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert_eq!(
        r.location(),
        "/ui/certificates?done=certificates-assigned&name=web-services"
    );
    let usages = ui
        .service
        .certificates_usages(&Caller::cli("root", T0))
        .unwrap();
    assert_eq!(usages.0["web-services"], ["portal", "company"]);
    let page = ui.get(r.location()).await;
    assert!(
        page.body.contains("Usage web-services now presents"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"value="portal, company""#),
        "{}",
        page.body
    );
    assert!(page.part("cert-portal", "</tr>").contains(">web-services<"));
    // A certificate not installed: refused next to that usage's field.
    let r = ui
        .post(
            "/ui/certificates/assign",
            &[
                ("csrf_token", &csrf),
                ("usage", "admin"),
                ("certificates", "nothing-here"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    assert!(
        r.body.contains(r#"<p class="error" id="e-assign-admin">"#),
        "{}",
        r.body
    );
    assert!(r.body.contains(r#"value="nothing-here""#));
    // Empty: refused too.
    let r = ui
        .post(
            "/ui/certificates/assign",
            &[
                ("csrf_token", &csrf),
                ("usage", "admin"),
                ("certificates", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body.contains(r#"id="e-assign-admin""#));

    // Delete portal while web services present it: refused, message shown.
    let r = ui
        .post(
            "/ui/certificates/delete",
            &[("csrf_token", &csrf), ("name", "portal")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    let alert = r.part("certificates-refused", "</p>");
    assert!(alert.contains("web-services"), "{alert}");
    assert_eq!(ui.installed(), ["company", "portal"], "still installed");
    // Once web services present company only, it goes.
    let r = ui
        .post(
            "/ui/certificates/assign",
            &[
                ("csrf_token", &csrf),
                ("usage", "web-services"),
                ("certificates", "company"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let r = ui
        .post(
            "/ui/certificates/delete",
            &[("csrf_token", &csrf), ("name", "portal")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert_eq!(
        r.location(),
        "/ui/certificates?done=certificate-deleted&name=portal"
    );
    assert_eq!(ui.installed(), ["company"]);
    let actions = ui.audit_actions();
    for action in [
        "certificate.import",
        "certificate.assign",
        "certificate.delete",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[tokio::test]
async fn acme_requests_are_made_renewed_and_forgotten_in_the_page() {
    let ui = Ui::logged_in().await;
    let csrf = ui.csrf().await;
    let page = ui.get("/ui/certificates").await;
    // Let's Encrypt is the default, staging a choice.
    assert!(
        page.body
            .contains(r#"name="acme_directory" type="radio" value="letsencrypt" checked"#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Let&#39;s Encrypt staging")
            || page.body.contains("Let's Encrypt staging")
    );
    let form = |name: &'static str, domains: &'static str, directory: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("acme_name", name.to_owned()),
            ("acme_domains", domains.to_owned()),
            ("acme_email", "ops@example.test".to_owned()),
            ("acme_challenge", "http-01".to_owned()),
            ("acme_usage_sip-public", "on".to_owned()),
            ("acme_usage_web-services", "on".to_owned()),
            ("acme_directory", directory.to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let ui = &ui;
        async move {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            ui.post("/ui/certificates/acme", &refs).await
        }
    };
    // A wildcard is refused next to the domains, the rest kept.
    let r = post(form("le", "*.example.test", "letsencrypt-staging")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(
        r.body.contains(r#"<p class="error" id="e-acme_domains">"#),
        "{}",
        r.body
    );
    assert!(r.body.contains(r#"value="ops@example.test""#));
    assert!(
        r.body.contains(r#"value="letsencrypt-staging" checked"#),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(r#"name="acme_usage_web-services" type="checkbox" checked"#)
    );
    // Another CA without its URL.
    let r = post(form("le", "sbc.example.test", "other")).await;
    assert!(
        r.body.contains(r#"id="e-acme_directory_url""#),
        "{}",
        r.body
    );
    assert!(
        ui.service
            .acme_requests(&Caller::cli("root", T0))
            .unwrap()
            .is_empty()
    );

    let r = post(form(
        "le",
        "SBC.example.test, www.example.test",
        "letsencrypt-staging",
    ))
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert_eq!(r.location(), "/ui/certificates?done=acme-requested&name=le");
    let requests = ui.service.acme_requests(&Caller::cli("root", T0)).unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].directory_url,
        outpost_api::ui::certificates::LETS_ENCRYPT_STAGING
    );
    assert_eq!(
        requests[0].domains,
        ["sbc.example.test", "www.example.test"]
    );
    assert_eq!(requests[0].usages, ["sip-public", "web-services"]);
    let page = ui.get(r.location()).await;
    let row = page.part("acme-le", "</tr>");
    assert!(
        row.contains(">pending<") && row.contains("within seconds"),
        "{row}"
    );
    assert!(row.contains("Renew now") && row.contains("Forget"), "{row}");

    let r = ui
        .post(
            "/ui/certificates/renew",
            &[("csrf_token", &csrf), ("name", "le")],
        )
        .await;
    assert_eq!(
        r.location(),
        "/ui/certificates?done=certificate-renew-asked&name=le"
    );
    // Renewing an imported certificate: the service's message.
    let r = ui
        .post(
            "/ui/certificates/renew",
            &[("csrf_token", &csrf), ("name", "company")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    assert!(
        r.part("certificates-refused", "</p>")
            .contains("import a new one")
    );
    let r = ui
        .post(
            "/ui/certificates/forget",
            &[("csrf_token", &csrf), ("name", "le")],
        )
        .await;
    assert_eq!(r.location(), "/ui/certificates?done=acme-forgotten&name=le");
    assert!(
        ui.service
            .acme_requests(&Caller::cli("root", T0))
            .unwrap()
            .is_empty()
    );
    let actions = ui.audit_actions();
    for action in [
        "certificate.acme_request",
        "certificate.renew",
        "certificate.acme_forget",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[tokio::test]
async fn a_token_is_shown_once_works_and_is_revoked() {
    let ui = Ui::logged_in().await;
    let page = ui.get("/ui/admins").await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.body.contains("No API token."), "{}", page.body);
    let csrf = page.csrf();
    // No scope: refused next to the scopes.
    let r = ui
        .post(
            "/ui/tokens",
            &[
                ("csrf_token", &csrf),
                ("token_name", "ci"),
                ("token_days", "30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(
        r.body.contains(r#"<p class="error" id="e-scopes">"#),
        "{}",
        r.body
    );
    // A bad source, then a bad expiry: each next to its field.
    let r = ui
        .post(
            "/ui/tokens",
            &[
                ("csrf_token", &csrf),
                ("token_name", "ci"),
                ("scope_certificates", "write"),
                ("token_sources", "10.0.0.300"),
            ],
        )
        .await;
    assert!(r.body.contains(r#"id="e-token_sources""#), "{}", r.body);
    assert!(
        r.body.contains(r#"<option value="write" selected>"#),
        "kept"
    );
    let r = ui
        .post(
            "/ui/tokens",
            &[
                ("csrf_token", &csrf),
                ("token_name", "ci"),
                ("scope_certificates", "write"),
                ("token_days", "99999"),
            ],
        )
        .await;
    assert!(r.body.contains(r#"id="e-token_days""#), "{}", r.body);

    let r = ui
        .post(
            "/ui/tokens",
            &[
                ("csrf_token", &csrf),
                ("token_name", "ci <deploy>"),
                ("scope_certificates", "write"),
                ("scope_webservices", "read"),
                ("token_days", "30"),
                ("token_sources", "192.0.2.0/24, 2001:db8::/48"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let shown = r.part("token-created", "</section>");
    let at = shown.find("value=\"outpost_").expect("the token") + "value=\"".len();
    let token = shown[at..].split('"').next().unwrap().to_owned();
    assert!(shown.contains("shown this once"), "{shown}");
    assert!(!r.body.contains("ci <deploy>"), "escaped");
    let row_start = r.body.find("<tr id=\"token-").unwrap();
    let list = &r.body[row_start..];
    assert!(
        list.contains("certificates:write, webservices:read"),
        "{list}"
    );
    assert!(list.contains("192.0.2.0/24, 2001:db8::/48"), "{list}");
    // Never again: not on the page, not in the store.
    let again = ui.get("/ui/admins").await;
    assert!(!again.body.contains(&token), "shown twice");
    assert!(!again.body.contains("token-created"));
    let db = std::fs::read(&ui.db).unwrap();
    assert!(
        !db.windows(token.len()).any(|w| w == token.as_bytes()),
        "token stored in clear"
    );
    // It works on the REST API, within its scope.
    let api = |path: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let bare = ui.other_browser();
    assert_eq!(
        bare.send(api("/api/v1/certificates")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        bare.send(api("/api/v1/devices")).await.status,
        StatusCode::FORBIDDEN
    );
    // Revoke.
    let id_at = again.body.find("<tr id=\"token-").unwrap() + "<tr id=\"token-".len();
    let id = again.body[id_at..].split('"').next().unwrap().to_owned();
    let r = ui
        .post("/ui/tokens/revoke", &[("csrf_token", &csrf), ("id", &id)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    assert!(
        r.location()
            .starts_with("/ui/admins?done=token-revoked&name=ci"),
        "{r:?}"
    );
    let page = ui.get(r.location()).await;
    assert!(page.body.contains("was revoked"), "{}", page.body);
    let row = page.part(&format!("token-{id}"), "</tr>");
    assert!(
        row.contains(">revoked<") && !row.contains("Revoke"),
        "{row}"
    );
    assert_eq!(
        bare.send(api("/api/v1/certificates")).await.status,
        StatusCode::UNAUTHORIZED
    );
    let actions = ui.audit_actions();
    assert!(actions.iter().any(|a| a == "token.create"));
    assert!(actions.iter().any(|a| a == "token.revoke"));
}

#[tokio::test]
async fn accounts_are_added_removed_and_read_only_ones_see_no_change_form() {
    let ui = Ui::logged_in().await;
    let csrf = ui.csrf().await;
    let r = ui
        .post(
            "/ui/admins",
            &[
                ("csrf_token", &csrf),
                ("admin_name", "bob"),
                ("admin_password", "bob-password-12345"),
                ("admin_password_again", "bob-password-other"),
                ("admin_role", "read-only"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(
        r.body.contains(r#"id="e-admin_password_again""#),
        "{}",
        r.body
    );
    assert!(!r.body.contains("bob-password"), "password sent back");
    assert!(r.body.contains(r#"<option value="read-only" selected>"#));
    let r = ui
        .post(
            "/ui/admins",
            &[
                ("csrf_token", &csrf),
                ("admin_name", "bob"),
                ("admin_password", "short"),
                ("admin_password_again", "short"),
            ],
        )
        .await;
    assert!(r.body.contains(r#"id="e-admin_password""#), "{}", r.body);
    let r = ui
        .post(
            "/ui/admins",
            &[
                ("csrf_token", &csrf),
                ("admin_name", "bob"),
                ("admin_password", "bob-password-12345"),
                ("admin_password_again", "bob-password-12345"),
                ("admin_role", "read-only"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/ui/admins?done=admin-created&name=bob");
    let page = ui.get(r.location()).await;
    assert!(page.part("admin-bob", "</tr>").contains(">read-only<"));
    assert!(page.part("admin-alice", "</tr>").contains(">you<"));

    // Bob, read-only: the lists, his own password form, nothing else.
    let bob = ui.other_browser();
    bob.login("bob", "bob-password-12345").await;
    for path in ["/ui/admins", "/ui/certificates", "/ui/audit"] {
        let page = bob.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {page:?}");
        let forms: Vec<&str> = page
            .body
            .match_indices("<form method=\"post\" action=\"")
            .map(|(at, m)| page.body[at + m.len()..].split('"').next().unwrap())
            .collect();
        let expected: &[&str] = if path == "/ui/admins" {
            &["/ui/logout", "/ui/admins/password"]
        } else {
            &["/ui/logout"]
        };
        assert_eq!(forms, expected, "{path}");
    }
    // The service refuses his changes anyway.
    let r = bob
        .post(
            "/ui/admins/delete",
            &[("csrf_token", &bob.csrf().await), ("name", ADMIN)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    assert!(r.body.contains("read-only"), "{}", r.body);
    // His own password: a wrong current one next to its field, then done.
    let bcsrf = bob.csrf().await;
    let r = bob
        .post(
            "/ui/admins/password",
            &[
                ("csrf_token", &bcsrf),
                ("old_password", "not-bobs-password-1"),
                ("new_password", "bob-new-password-123"),
                ("new_password_again", "bob-new-password-123"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    assert!(
        r.body.contains(r#"<p class="error" id="e-old_password">"#),
        "{}",
        r.body
    );
    let r = bob
        .post(
            "/ui/admins/password",
            &[
                ("csrf_token", &bcsrf),
                ("old_password", "bob-password-12345"),
                ("new_password", "bob-new-password-123"),
                ("new_password_again", "bob-new-password-123"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/ui/admins?done=password-changed");
    assert!(
        bob.get(r.location())
            .await
            .body
            .contains("Your password was changed")
    );

    // Alice removes bob; his session ends.
    let r = ui
        .post(
            "/ui/admins/delete",
            &[("csrf_token", &csrf), ("name", "bob")],
        )
        .await;
    assert_eq!(r.location(), "/ui/admins?done=admin-deleted&name=bob");
    assert_eq!(bob.get("/ui/admins").await.location(), "/ui/login");
    // The last administrator cannot be removed: the service's message.
    ui.service
        .create_admin(
            &Caller::cli("root", T0),
            &NewAdminInput {
                name: "carol".into(),
                password: Password::new("carol-password-123"),
                role: Some("read-only".into()),
            },
        )
        .unwrap();
    let r = ui
        .post(
            "/ui/admins/delete",
            &[("csrf_token", &csrf), ("name", ADMIN)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    assert!(r.body.contains(r#"id="admins-refused""#), "{}", r.body);
    let actions = ui.audit_actions();
    for action in ["admin.create", "admin.delete", "admin.password.change"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[tokio::test]
async fn the_audit_log_is_filtered_and_paged() {
    let ui = Ui::logged_in().await;
    let csrf = ui.csrf().await;
    let (chain, key) = material("Example CA", 2030);
    let r = ui
        .post(
            "/ui/certificates/import-pem",
            &[
                ("csrf_token", &csrf),
                ("pem_name", "company"),
                ("pem", &format!("{chain}{key}")),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    // 60 token changes, so that the page has an older one.
    for i in 0..60 {
        let name = format!("t{i:02}");
        let r = ui
            .post(
                "/ui/tokens",
                &[
                    ("csrf_token", &csrf),
                    ("token_name", &name),
                    ("scope_audit", "read"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
    }
    let page = ui.get("/ui/audit").await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_secure("/ui/audit", &page);
    assert_no_inline("/ui/audit", &page);
    assert!(
        page.body.contains("50 entries on this page."),
        "{}",
        page.body
    );
    // Newest first.
    let first = page.body.find("data-id=\"").unwrap();
    let ids: Vec<i64> = page.body[first..]
        .match_indices("data-id=\"")
        .map(|(at, m)| {
            page.body[first + at + m.len()..]
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    // The cursor leads to older entries.
    let older_at = page
        .body
        .find("id=\"audit-older\" class=\"button secondary small\" href=\"")
        .unwrap();
    let older = page.body[older_at..]
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(older.starts_with("/ui/audit?cursor="), "{older}");
    let next = ui.get(&older).await;
    assert!(next.body.contains("session.login") && next.body.contains("admin.setup"));
    assert!(next.body.contains("id=\"audit-newest\""));
    // The certificate family.
    let r = ui.get("/ui/audit?action=certificate.").await;
    assert!(
        r.body.contains("1 entry on this page, filtered."),
        "{}",
        r.body
    );
    assert!(r.body.contains("<code>certificate.import</code>"));
    assert!(!r.body.contains("<code>token.create</code>"));
    assert!(
        r.body
            .contains(r#"id="f-action" name="action" type="text" value="certificate.""#)
    );
    // By actor, and a time range.
    let r = ui.get("/ui/audit?actor=nobody").await;
    assert!(r.body.contains("No entry matches."), "{}", r.body);
    let r = ui
        .get("/ui/audit?action=certificate.&since=2023-11-14T22:00&until=2023-11-14T22:13")
        .await;
    assert!(r.body.contains("1 entry on this page"), "{}", r.body);
    let r = ui
        .get("/ui/audit?since=2023-11-15&action=certificate.")
        .await;
    assert!(r.body.contains("No entry matches."), "{}", r.body);
    // Refusals next to their field.
    let r = ui.get("/ui/audit?since=2023-11-15&until=2023-11-14").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(
        r.body.contains(r#"<p class="error" id="e-since">"#),
        "{}",
        r.body
    );
    let r = ui.get("/ui/audit?until=yesterday").await;
    assert!(
        r.body.contains(r#"<p class="error" id="e-until">"#),
        "{}",
        r.body
    );
    // The details are shown escaped, secrets redacted by the service.
    let r = ui.get("/ui/audit?action=token.create").await;
    assert!(
        r.body.contains("&#34;scopes&#34;") || r.body.contains("&quot;scopes&quot;"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn every_form_of_these_pages_is_refused_without_its_csrf_token() {
    let ui = Ui::logged_in().await;
    let before = ui.audit_actions();
    let (chain, key) = material("Example CA", 2030);
    let pem = format!("{chain}{key}");
    let posts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/ui/certificates/import-pem",
            vec![("pem_name", "x"), ("pem", pem.as_str())],
        ),
        (
            "/ui/certificates/assign",
            vec![("usage", "admin"), ("certificates", "default")],
        ),
        ("/ui/certificates/delete", vec![("name", "default")]),
        (
            "/ui/certificates/acme",
            vec![("acme_name", "le"), ("acme_domains", "sbc.example.test")],
        ),
        ("/ui/certificates/renew", vec![("name", "le")]),
        ("/ui/certificates/forget", vec![("name", "le")]),
        (
            "/ui/admins",
            vec![
                ("admin_name", "mallory"),
                ("admin_password", "mallory-password-1"),
                ("admin_password_again", "mallory-password-1"),
            ],
        ),
        ("/ui/admins/delete", vec![("name", ADMIN)]),
        (
            "/ui/admins/password",
            vec![
                ("old_password", ADMIN_PASSWORD),
                ("new_password", "mallory-password-1"),
                ("new_password_again", "mallory-password-1"),
            ],
        ),
        (
            "/ui/tokens",
            vec![("token_name", "x"), ("scope_all", "write")],
        ),
        ("/ui/tokens/revoke", vec![("id", "x")]),
    ];
    let bad = "0".repeat(64);
    for (path, fields) in &posts {
        for token in [None, Some(bad.as_str())] {
            let mut fields = fields.clone();
            if let Some(token) = token {
                fields.push(("csrf_token", token));
            }
            let r = ui.post(path, &fields).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {token:?}: {r:?}");
            assert!(r.body.contains("CSRF token"), "{path}: {}", r.body);
            assert_secure(path, &r);
        }
    }
    for token in [None, Some(bad.as_str())] {
        let mut fields = vec![("p12_name", "x"), ("p12_password", "y")];
        if let Some(token) = token {
            fields.push(("csrf_token", token));
        }
        let r = ui
            .post_multipart(
                "/ui/certificates/import-pkcs12",
                &fields,
                &[("pkcs12", "a.p12", b"x")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{token:?}: {r:?}");
        assert!(r.body.contains("CSRF token"), "{}", r.body);
        assert_secure("pkcs12", &r);
    }
    // Urlencoded to the upload, multipart to the others: refused as well.
    let csrf = ui.csrf().await;
    let r = ui
        .post("/ui/certificates/import-pkcs12", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    assert_eq!(ui.audit_actions(), before, "nothing changed");
    assert!(ui.installed().is_empty());
    // Without a session: to the login page.
    let stranger = ui.other_browser();
    for path in ["/ui/certificates", "/ui/admins", "/ui/audit"] {
        assert_eq!(stranger.get(path).await.location(), "/ui/login", "{path}");
    }
}

#[tokio::test]
async fn a_service_without_a_certificate_store_says_so_on_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outpost.db");
    let mut store = Store::open(&db).unwrap();
    let digest = hex::encode(sha2::Sha256::digest(SETUP_TOKEN.as_bytes()));
    store.set_setting(SETUP_TOKEN_SETTING, &digest).unwrap();
    let service = Service::new(store);
    let clock = Arc::new(ManualClock::new(T0));
    let ui = Ui {
        app: router(
            Arc::new(String::new),
            Some((service.clone(), clock as Arc<dyn Clock>)),
        ),
        service,
        tls: dir.path().join("tls"),
        db,
        _dir: Arc::new(dir),
        cookies: Mutex::new(Vec::new()),
    };
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
    ui.login(ADMIN, ADMIN_PASSWORD).await;
    let page = ui.get("/ui/certificates").await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.body.contains("no certificate store"), "{}", page.body);
}
