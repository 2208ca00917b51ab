//! The admin UI's web services page (`/ui/webservices`, issue 18) over
//! the admin router with the web services attached as `outpost serve`
//! attaches them, next to the `/mslrest/` router of the same
//! [`WebServices`] (requests signed here with `outpost-oauth1`, as in
//! `mslrest.rs`): the switch starts `/mslrest/`; a consumer added in the
//! page gets its secret once; its temporary token is approved in the page,
//! which shows the verifier the client exchanges for its final token,
//! renewed and then revoked in the page, after which the client is
//! refused; consumers changed, given a new secret, removed; errors next to
//! their field; every form refused without its CSRF token; a read-only
//! account sees no form; data escaped; the security headers. The same
//! page in Chromium: `crates/outpost/tests/ui_webservices_e2e.rs`.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::{Extension, Router};
use outpost_api::mslrest::{MslState, WebServicesGuard};
use outpost_api::service::webservices::{SealKey, WebServices};
use outpost_api::service::{Caller, NewAdminInput, Password};
use outpost_api::{Clock, ManualClock, Service, router};
use outpost_oauth1::{base_string_uri, hmac_sha1_signature, percent_encode, signature_base_string};
use outpost_store::{NewIcp, SETUP_TOKEN_SETTING, Store};
use sha2::Digest;
use tower::ServiceExt;

const SETUP_TOKEN: &str = "setup-token-0123456789abcdef";
const ADMIN: &str = "alice";
const ADMIN_PASSWORD: &str = "alice-password-1234";
const READER: &str = "rita";
const READER_PASSWORD: &str = "rita-password-12345";
const T0: i64 = 1_800_000_000;
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' \
                   data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
const PAGE: &str = "/ui/webservices";
const CONSUMER: &str = "MiVOAppSuite";
const YEAR: i64 = 365 * 24 * 3600;

/// Admits everyone.
struct Open;

impl WebServicesGuard for Open {
    fn admit(&self, _ip: IpAddr) -> bool {
        true
    }
    fn report_failure(&self, _ip: IpAddr, _reason: &str) -> bool {
        true
    }
}

/// An installation: the admin router with the web services attached, the
/// `/mslrest/` router over the same ones, and a browser's cookies.
struct Ui {
    app: Router,
    msl: Router,
    ws: WebServices,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
    cookies: Mutex<Vec<(String, String)>>,
    nonce: Mutex<u32>,
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
        self.text_after("name=\"csrf_token\" value=\"", '"')
    }

    /// The text after `marker`, up to `end`.
    fn text_after(&self, marker: &str, end: char) -> String {
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker:?} in:\n{}", self.body))
            + marker.len();
        self.body[start..].split(end).next().unwrap().to_owned()
    }

    /// The text after `marker`, up to the next `end`.
    fn between(&self, marker: &str, end: &str) -> String {
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker:?} in:\n{}", self.body))
            + marker.len();
        self.body[start..].split(end).next().unwrap().to_owned()
    }

    /// The text of `<code id="ID">...</code>`.
    fn code(&self, id: &str) -> String {
        self.text_after(&format!("<code id=\"{id}\">"), '<')
    }

    /// Forms posting somewhere other than the logout.
    fn change_forms(&self) -> usize {
        self.body.matches("<form method=\"post\"").count()
            - self.body.matches("action=\"/ui/logout\"").count()
    }
}

/// What an OAuth client signs with.
#[derive(Clone)]
struct Client {
    key: String,
    secret: String,
    token: Option<(String, String)>,
}

struct MslReply {
    status: StatusCode,
    text: String,
}

impl MslReply {
    fn form(&self, name: &str) -> String {
        self.text
            .split('&')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {}", self.text))
            .to_owned()
    }
}

impl Ui {
    fn new() -> Self {
        Self::build(true)
    }

    fn build(with_web_services: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("outpost.db");
        let mut store = Store::open(&db).unwrap();
        let digest = hex::encode(sha2::Sha256::digest(SETUP_TOKEN.as_bytes()));
        store.set_setting(SETUP_TOKEN_SETTING, &digest).unwrap();
        store.add_icp(&NewIcp::new("pbx1", "192.0.2.10")).unwrap();
        drop(store);
        let clock = Arc::new(ManualClock::new(T0));
        let service = Service::new(Store::open(&db).unwrap());
        // The web services' own connection, as `outpost serve` gives them.
        let ws = WebServices::new(
            Service::new(Store::open(&db).unwrap()),
            SealKey::from_bytes(&[7; 32]).unwrap(),
        );
        let mut app = router(
            Arc::new(|| "# metrics\n".to_owned()),
            Some((service, Arc::clone(&clock) as Arc<dyn Clock>)),
        );
        if with_web_services {
            app = app.layer(Extension(ws.clone()));
        }
        let running = ws.clone();
        let msl = outpost_api::mslrest::router(MslState::new(
            ws.clone(),
            clock,
            Arc::new(Open),
            Arc::new(move || running.running()),
        ));
        Self {
            app,
            msl,
            ws,
            db,
            _dir: dir,
            cookies: Mutex::new(Vec::new()),
            nonce: Mutex::new(0),
        }
    }

    /// Set up, and logged in as the administrator.
    async fn logged_in() -> Self {
        let ui = Self::new();
        ui.set_up().await;
        ui.login(ADMIN, ADMIN_PASSWORD).await;
        ui
    }

    async fn set_up(&self) {
        let setup = self.get("/ui/").await;
        let r = self
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

    /// Posts `fields` with the session's CSRF token.
    async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(PAGE).await.csrf();
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    fn cli(&self) -> Caller {
        Caller::cli("root", T0)
    }

    fn audit_actions(&self) -> Vec<(String, String)> {
        let store = Store::open_existing(&self.db).unwrap();
        store
            .audit_entries(&outpost_store::AuditFilter {
                limit: 500,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|e| (e.record.action, e.record.actor))
            .collect()
    }

    /// The consumer of seed 003, added through the page; its secret.
    async fn add_consumer(&self) -> String {
        let made = self
            .submit(
                "/ui/webservices/consumers",
                &[
                    ("consumer_id", CONSUMER),
                    ("name", "MiVoice Office Application Suite"),
                    ("active", "on"),
                    ("perm_base_managetoken", "rw"),
                    ("perm_mbg_v1_icps", "r"),
                    ("perm_mbg_v1_devices", "rw"),
                ],
            )
            .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.body);
        made.code("shared-secret")
    }

    /// A signed `/mslrest/` request at T0.
    async fn call(
        &self,
        client: &Client,
        method: Method,
        path: &str,
        extra: &[(&str, &str)],
    ) -> MslReply {
        let nonce = {
            let mut n = self.nonce.lock().unwrap();
            *n += 1;
            format!("nonce{n}")
        };
        let mut params: Vec<(String, String)> = vec![
            ("oauth_consumer_key".into(), client.key.clone()),
            ("oauth_signature_method".into(), "HMAC-SHA1".into()),
            ("oauth_timestamp".into(), T0.to_string()),
            ("oauth_nonce".into(), nonce),
            ("oauth_version".into(), "1.0".into()),
        ];
        if let Some((token, _)) = &client.token {
            params.push(("oauth_token".into(), token.clone()));
        }
        for (n, v) in extra {
            params.push(((*n).to_owned(), (*v).to_owned()));
        }
        let uri = base_string_uri("https", "gw.example", Some(4445), path);
        let base = signature_base_string(method.as_str(), &uri, &params);
        let token_secret = client.token.as_ref().map_or("", |(_, s)| s.as_str());
        params.push((
            "oauth_signature".into(),
            hmac_sha1_signature(&base, &client.secret, token_secret),
        ));
        let authorization = format!(
            "OAuth realm=\"mslrest\", {}",
            params
                .iter()
                .map(|(n, v)| format!("{n}=\"{}\"", percent_encode(v)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "gw.example:4445")
            .header(header::AUTHORIZATION, authorization)
            .body(Body::empty())
            .unwrap();
        let addr: SocketAddr = "198.51.100.7:40000".parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
        let response = self.msl.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        MslReply {
            status,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
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
    assert_eq!(h("cache-control"), "no-store", "{path}");
    assert!(!page.body.contains("style=\""), "{path}: inline style");
    for (at, _) in page.body.match_indices("<script") {
        let tag = &page.body[at..page.body[at..].find('>').unwrap() + at];
        assert!(tag.contains("src=\"/ui/assets/"), "{path}: inline {tag}");
    }
}

#[tokio::test]
async fn a_token_approved_in_the_page_completes_the_oauth_flow_until_revoked_there() {
    let ui = Ui::logged_in().await;

    // Stopped at first: /mslrest/ answers 503; the page says so.
    let page = ui.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(">stopped</span>"), "{}", page.body);
    assert!(page.body.contains("Start the web services"));
    let secret = ui.add_consumer().await;
    assert_eq!(secret.len(), 40, "{secret}");
    let mut client = Client {
        key: CONSUMER.into(),
        secret: secret.clone(),
        token: None,
    };
    let stopped = ui
        .call(
            &client,
            Method::POST,
            "/mslrest/initiate",
            &[("oauth_callback", "oob")],
        )
        .await;
    assert_eq!(stopped.status, StatusCode::SERVICE_UNAVAILABLE);

    // Started with the switch, as `outpost webservices start`.
    let started = ui
        .submit("/ui/webservices/switch", &[("services", "on")])
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    assert_eq!(started.location(), "/ui/webservices?done=ws-started");
    let page = ui.get(started.location()).await;
    assert!(page.body.contains("The web services are started"));
    assert!(page.body.contains(">running</span>"), "{}", page.body);
    assert!(page.body.contains("Stop the web services"));
    let again = ui
        .submit("/ui/webservices/switch", &[("services", "on")])
        .await;
    assert_eq!(again.location(), "/ui/webservices?done=ws-unchanged");

    // The client asks for a temporary token; the page lists it.
    let initiated = ui
        .call(
            &client,
            Method::POST,
            "/mslrest/initiate",
            &[("oauth_callback", "oob")],
        )
        .await;
    assert_eq!(initiated.status, StatusCode::OK, "{}", initiated.text);
    let temporary = initiated.form("oauth_token");
    client.token = Some((temporary.clone(), initiated.form("oauth_token_secret")));
    let fragment = ui.get("/ui/fragments/webservices").await;
    assert_eq!(fragment.status, StatusCode::OK);
    assert!(!fragment.body.contains("<html"), "a fragment");
    assert!(fragment.body.contains(&temporary));
    assert!(fragment.body.contains("waiting for approval"));
    assert!(
        fragment
            .body
            .contains(&format!("id=\"approve-{temporary}\""))
    );

    // Approved in the page, which shows the verifier.
    let approved = ui
        .submit("/ui/webservices/tokens/approve", &[("token", &temporary)])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    assert_eq!(
        approved.location(),
        format!("/ui/webservices?done=ws-token-approved&name={temporary}")
    );
    let page = ui.get(approved.location()).await;
    assert!(
        page.body
            .contains(&format!("Temporary token {temporary} was approved"))
    );
    let verifier = page.text_after("<output id=\"verifier\" class=\"verifier\"><code>", '<');
    assert_eq!(verifier.len(), 20, "{verifier}");
    assert!(!page.body.contains(&format!("id=\"approve-{temporary}\"")));

    // The client exchanges it and reads the ICPs.
    let exchanged = ui
        .call(
            &client,
            Method::POST,
            "/mslrest/token",
            &[("oauth_verifier", &verifier)],
        )
        .await;
    assert_eq!(exchanged.status, StatusCode::OK, "{}", exchanged.text);
    let final_token = exchanged.form("oauth_token");
    client.token = Some((final_token.clone(), exchanged.form("oauth_token_secret")));
    let icps = ui
        .call(&client, Method::GET, "/mslrest/mbg/v1/icps/", &[])
        .await;
    assert_eq!(icps.status, StatusCode::OK, "{}", icps.text);
    assert!(icps.text.contains("pbx1"), "{}", icps.text);

    // The page lists it as active, for about a year; Renew adds one.
    let page = ui.get(PAGE).await;
    assert!(!page.body.contains(&temporary), "exchanged: gone");
    assert!(page.body.contains(&final_token));
    assert!(page.body.contains(">active</span>"), "{}", page.body);
    assert!(page.body.contains("(in 365 days)"), "{}", page.body);
    let renewed = ui
        .submit("/ui/webservices/tokens/renew", &[("token", &final_token)])
        .await;
    assert_eq!(
        renewed.location(),
        format!("/ui/webservices?done=ws-token-renewed&name={final_token}")
    );
    let grants = ui.ws.grants(&ui.cli()).unwrap();
    assert_eq!(grants.final_tokens[0].expires, T0 + 2 * YEAR);
    assert!(ui.get(PAGE).await.body.contains("(in 730 days)"));

    // Revoked after its confirmation page: the client is refused.
    let confirm = ui
        .get(&format!(
            "/ui/webservices/tokens/revoke?token={final_token}"
        ))
        .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(
        confirm
            .body
            .contains(&format!("Revoke token {final_token}?"))
    );
    assert!(confirm.body.contains("Revoke the token of MiVOAppSuite"));
    let revoked = ui
        .post(
            "/ui/webservices/tokens/revoke",
            &[("csrf_token", &confirm.csrf()), ("token", &final_token)],
        )
        .await;
    assert_eq!(
        revoked.location(),
        format!("/ui/webservices?done=ws-token-revoked&name={final_token}")
    );
    let refused = ui
        .call(&client, Method::GET, "/mslrest/mbg/v1/icps/", &[])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.text);
    let page = ui.get(PAGE).await;
    assert!(page.body.contains(">revoked "), "{}", page.body);
    assert!(!page.body.contains(&format!("id=\"revoke-{final_token}\"")));
    let renew_revoked = ui
        .submit("/ui/webservices/tokens/renew", &[("token", &final_token)])
        .await;
    assert_eq!(renew_revoked.status, StatusCode::CONFLICT);
    assert!(renew_revoked.body.contains("is revoked"));

    // Stopped with the switch: /mslrest/ answers 503 again.
    let stopped = ui
        .submit("/ui/webservices/switch", &[("services", "off")])
        .await;
    assert_eq!(stopped.location(), "/ui/webservices?done=ws-stopped");
    let closed = ui
        .call(&client, Method::GET, "/mslrest/mbg/v1/icps/", &[])
        .await;
    assert_eq!(closed.status, StatusCode::SERVICE_UNAVAILABLE);

    // All of it audited as the administrator.
    let audit = ui.audit_actions();
    for action in [
        "setting.change",
        "webservices.consumer.create",
        "webservices.token.approve",
        "webservices.token.renew",
        "webservices.token.revoke",
    ] {
        assert!(
            audit
                .iter()
                .any(|(a, actor)| a == action && actor == "account:alice"),
            "{action}: {audit:?}"
        );
    }
}

#[tokio::test]
async fn a_temporary_token_can_be_rejected() {
    let ui = Ui::logged_in().await;
    let secret = ui.add_consumer().await;
    ui.submit("/ui/webservices/switch", &[("services", "on")])
        .await;
    let client = Client {
        key: CONSUMER.into(),
        secret,
        token: None,
    };
    let initiated = ui
        .call(
            &client,
            Method::POST,
            "/mslrest/initiate",
            &[("oauth_callback", "oob")],
        )
        .await;
    let temporary = initiated.form("oauth_token");
    let rejected = ui
        .submit("/ui/webservices/tokens/reject", &[("token", &temporary)])
        .await;
    assert_eq!(
        rejected.location(),
        format!("/ui/webservices?done=ws-token-rejected&name={temporary}")
    );
    assert!(ui.ws.grants(&ui.cli()).unwrap().temporary.is_empty());
    // An unknown token or action: said on an error page.
    let gone = ui
        .submit("/ui/webservices/tokens/approve", &[("token", &temporary)])
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(gone.body.contains("no temporary web services token"));
    let bad = ui
        .submit("/ui/webservices/tokens/steal", &[("token", &temporary)])
        .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
    let bad = ui.get("/ui/webservices/tokens/renew?token=x").await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn consumers_are_added_changed_given_a_new_secret_and_removed() {
    let ui = Ui::logged_in().await;

    // The add form: the seed's permissions by default.
    let page = ui.get(PAGE).await;
    assert!(page.body.contains("No consumer yet"));
    for (field, value) in [
        ("perm_base_managetoken", "rw"),
        ("perm_mbg_v1_icps", "r"),
        ("perm_mbg_v1_devices", "rw"),
    ] {
        let select = page.between(&format!("name=\"{field}\">"), "</select>");
        assert!(
            select.contains(&format!("<option value=\"{value}\" selected>")),
            "{field}: {select}"
        );
        assert!(
            page.body.contains(&format!("<label for=\"f-{field}\">")),
            "{field} has a label"
        );
    }

    // Refusals next to their field, the values kept, the form open.
    let bad_id = ui
        .submit(
            "/ui/webservices/consumers",
            &[("consumer_id", "bad id!"), ("name", "Suite")],
        )
        .await;
    assert_eq!(bad_id.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_id.body.contains("id=\"e-consumer_id\""),
        "{}",
        bad_id.body
    );
    assert!(bad_id.body.contains("value=\"bad id!\""));
    assert!(bad_id.body.contains("<details class=\"add card\" open>"));
    let bad_permission = ui
        .submit(
            "/ui/webservices/consumers",
            &[
                ("consumer_id", "other"),
                ("name", "Suite"),
                ("perm_mbg_v1_icps", "rw"),
            ],
        )
        .await;
    assert_eq!(bad_permission.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = bad_permission.text_after("<p class=\"error\" id=\"e-permissions\">", '<');
    assert!(error.contains("read-only"), "{error}");
    let secret = ui.add_consumer().await;
    let taken = ui
        .submit(
            "/ui/webservices/consumers",
            &[("consumer_id", CONSUMER), ("name", "Again")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(
        taken.body.contains("id=\"e-consumer_id\""),
        "{}",
        taken.body
    );

    // Listed, never with its secret.
    let page = ui.get(PAGE).await;
    assert!(page.body.contains(&format!("<code>{CONSUMER}</code>")));
    assert!(
        page.body
            .contains("base/managetoken=rw, mbg/v1/icps=r, mbg/v1/devices=rw"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&secret));

    // Edited: its form shows what it has; a refusal next to its field.
    let edit = ui
        .get(&format!(
            "/ui/webservices/consumers/edit?consumer_id={CONSUMER}"
        ))
        .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    assert!(
        edit.body
            .contains("value=\"MiVoice Office Application Suite\"")
    );
    let devices = edit.between("name=\"perm_mbg_v1_devices\">", "</select>");
    assert!(
        devices.contains("<option value=\"rw\" selected>"),
        "{devices}"
    );
    let refused = ui
        .post(
            "/ui/webservices/consumers/edit",
            &[
                ("csrf_token", &edit.csrf()),
                ("consumer_id", CONSUMER),
                ("name", ""),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("id=\"e-name\""), "{}", refused.body);
    let saved = ui
        .post(
            "/ui/webservices/consumers/edit",
            &[
                ("csrf_token", &edit.csrf()),
                ("consumer_id", CONSUMER),
                ("name", "Renamed suite"),
                ("perm_mbg_v1_icps", "r"),
            ],
        )
        .await;
    assert_eq!(
        saved.location(),
        format!("/ui/webservices?done=ws-consumer-updated&name={CONSUMER}")
    );
    let page = ui.get(saved.location()).await;
    assert!(page.body.contains("Consumer MiVOAppSuite was changed"));
    assert!(page.body.contains("Renamed suite"));
    assert!(
        page.body.contains("<td>mbg/v1/icps=r</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains(">inactive</span>"));

    // A new secret after its confirmation page, shown once.
    let confirm = ui
        .get(&format!(
            "/ui/webservices/consumers/secret?consumer_id={CONSUMER}"
        ))
        .await;
    assert!(confirm.body.contains("current secret stops working"));
    let renewed = ui
        .post(
            "/ui/webservices/consumers/secret",
            &[("csrf_token", &confirm.csrf()), ("consumer_id", CONSUMER)],
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let new_secret = renewed.code("shared-secret");
    assert_ne!(new_secret, secret);
    assert_eq!(
        ui.ws
            .consumer_secret(&ui.cli(), CONSUMER)
            .unwrap()
            .shared_secret,
        new_secret
    );
    assert!(renewed.body.contains("the old one no longer works"));

    // Removed after its confirmation page.
    let confirm = ui
        .get(&format!(
            "/ui/webservices/consumers/delete?consumer_id={CONSUMER}"
        ))
        .await;
    assert!(confirm.body.contains("Remove consumer MiVOAppSuite?"));
    let removed = ui
        .post(
            "/ui/webservices/consumers/delete",
            &[("csrf_token", &confirm.csrf()), ("consumer_id", CONSUMER)],
        )
        .await;
    assert_eq!(
        removed.location(),
        format!("/ui/webservices?done=ws-consumer-deleted&name={CONSUMER}")
    );
    assert!(ui.ws.consumers(&ui.cli()).unwrap().is_empty());
    let missing = ui
        .get(&format!(
            "/ui/webservices/consumers/edit?consumer_id={CONSUMER}"
        ))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let audit = ui.audit_actions();
    for action in [
        "webservices.consumer.update",
        "webservices.consumer.secret.new",
        "webservices.consumer.delete",
    ] {
        assert!(audit.iter().any(|(a, _)| a == action), "{action}");
    }
}

#[tokio::test]
async fn every_form_is_refused_without_its_csrf_token() {
    let ui = Ui::logged_in().await;
    ui.add_consumer().await;
    let before = ui.audit_actions();
    let posts: [(&str, Vec<(&str, &str)>); 9] = [
        ("/ui/webservices/switch", vec![("services", "on")]),
        (
            "/ui/webservices/consumers",
            vec![("consumer_id", "x"), ("name", "X")],
        ),
        (
            "/ui/webservices/consumers/edit",
            vec![("consumer_id", CONSUMER), ("name", "X")],
        ),
        (
            "/ui/webservices/consumers/secret",
            vec![("consumer_id", CONSUMER)],
        ),
        (
            "/ui/webservices/consumers/delete",
            vec![("consumer_id", CONSUMER)],
        ),
        ("/ui/webservices/tokens/approve", vec![("token", "t")]),
        ("/ui/webservices/tokens/reject", vec![("token", "t")]),
        ("/ui/webservices/tokens/renew", vec![("token", "t")]),
        ("/ui/webservices/tokens/revoke", vec![("token", "t")]),
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
    assert_eq!(ui.audit_actions(), before, "nothing was done");
}

#[tokio::test]
async fn a_read_only_account_sees_the_lists_but_no_form() {
    let ui = Ui::logged_in().await;
    ui.add_consumer().await;
    let admin = Caller::cli("root", T0);
    ui.ws
        .service()
        .create_admin(
            &admin,
            &NewAdminInput {
                name: READER.into(),
                password: Password::new(READER_PASSWORD),
                role: Some("read-only".into()),
            },
        )
        .unwrap();
    ui.login(READER, READER_PASSWORD).await;
    let page = ui.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Your account is read-only"));
    assert!(page.body.contains(&format!("<code>{CONSUMER}</code>")));
    assert_eq!(page.change_forms(), 0, "{}", page.body);
    assert!(!page.body.contains("/ui/webservices/consumers/edit"));
    let fragment = ui.get("/ui/fragments/webservices").await;
    assert_eq!(fragment.status, StatusCode::OK);
    assert!(!fragment.body.contains("<form"));
    for path in [
        "/ui/webservices/consumers/edit?consumer_id=MiVOAppSuite",
        "/ui/webservices/consumers/secret?consumer_id=MiVOAppSuite",
        "/ui/webservices/consumers/delete?consumer_id=MiVOAppSuite",
        "/ui/webservices/tokens/revoke?token=t",
    ] {
        let r = ui.get(path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(r.change_forms(), 0, "{path}");
    }
    // The service refuses the changes anyway.
    let r = ui
        .submit("/ui/webservices/switch", &[("services", "on")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = ui
        .submit(
            "/ui/webservices/consumers/delete",
            &[("consumer_id", CONSUMER)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(ui.ws.consumers(&ui.cli()).unwrap().len(), 1);
}

#[tokio::test]
async fn what_consumers_and_clients_chose_is_escaped() {
    let ui = Ui::logged_in().await;
    let made = ui
        .submit(
            "/ui/webservices/consumers",
            &[
                ("consumer_id", "evil"),
                ("name", "<script>alert(1)</script> & \"q\""),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    for body in [made.body, ui.get(PAGE).await.body] {
        assert!(!body.contains("<script>alert"), "{body}");
        assert!(
            body.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
                || body.contains("&lt;script&gt;"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn every_page_carries_the_security_headers_and_needs_a_session() {
    let ui = Ui::new();
    ui.set_up().await;
    let paths = [
        PAGE,
        "/ui/fragments/webservices",
        "/ui/webservices/consumers/edit?consumer_id=MiVOAppSuite",
        "/ui/webservices/consumers/secret?consumer_id=MiVOAppSuite",
        "/ui/webservices/consumers/delete?consumer_id=MiVOAppSuite",
    ];
    for path in paths {
        let r = ui.get(path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.location(), "/ui/login", "{path}");
    }
    ui.login(ADMIN, ADMIN_PASSWORD).await;
    ui.add_consumer().await;
    for path in paths {
        let r = ui.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_secure(path, &r);
    }
    // The navigation marks the page.
    let page = ui.get(PAGE).await;
    assert!(
        page.body
            .contains("<a href=\"/ui/webservices\" aria-current=\"page\">Web services</a>"),
        "{}",
        page.body
    );
    // The token tables are polled.
    assert!(
        page.body
            .contains("hx-get=\"/ui/fragments/webservices\" hx-trigger=\"every 2s\"")
    );
}

#[tokio::test]
async fn without_web_services_the_page_says_so_and_refuses_changes() {
    let ui = Ui::build(false);
    ui.set_up().await;
    ui.login(ADMIN, ADMIN_PASSWORD).await;
    let page = ui.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("no web services attached"),
        "{}",
        page.body
    );
    assert_eq!(page.change_forms(), 0);
    let csrf = page.csrf();
    let r = ui
        .post(
            "/ui/webservices/tokens/approve",
            &[("csrf_token", &csrf), ("token", "t")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.body.contains("outpost webservices"));
}
