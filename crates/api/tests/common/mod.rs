//! A router over a real store in a temporary directory, a virtual clock,
//! and request helpers (`oneshot`, no socket).

// Helpers are test code, where a panic is the failure report.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use outpost_api::{Clock, ManualClock, Service, router};
use outpost_store::{SETUP_TOKEN_SETTING, Store};
use serde_json::{Value, json};
use sha2::Digest;
use tower::ServiceExt;

/// The setup token every test installation starts with.
pub const SETUP_TOKEN: &str = "setup-token-0123456789abcdef";
/// The first administrator's name and password.
pub const ADMIN: &str = "alice";
pub const ADMIN_PASSWORD: &str = "alice-password-1234";
/// The default client address.
pub const HOME: &str = "192.0.2.10:50000";
/// Virtual time at the start of every test.
pub const T0: i64 = 1_700_000_000;

/// A fresh installation.
pub struct Api {
    pub app: Router,
    pub clock: Arc<ManualClock>,
    pub db_path: PathBuf,
    _dir: tempfile::TempDir,
}

/// A response, its body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The error field of an error body.
    pub fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }

    /// The error message of an error body.
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

/// Credentials for a request.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    /// Session cookie and its CSRF token (sent on every request).
    Session {
        cookie: String,
        csrf: String,
    },
    /// Session cookie without the CSRF header.
    SessionNoCsrf {
        cookie: String,
    },
    Bearer(String),
}

impl Api {
    /// An installation with a pending setup token and no account.
    pub fn new() -> Self {
        Self::with_service(|service| service)
    }

    /// [`Api::new`] with the service given more (settings, a gateway).
    pub fn with_service(more: impl FnOnce(Service) -> Service) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("outpost.db");
        let mut store = Store::open(&db_path).unwrap();
        let digest = hex::encode(sha2::Sha256::digest(SETUP_TOKEN.as_bytes()));
        store.set_setting(SETUP_TOKEN_SETTING, &digest).unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        let service = more(Service::new(store));
        let app = router(
            Arc::new(|| "# metrics\n".to_owned()),
            Some((service, Arc::clone(&clock) as Arc<dyn Clock>)),
        );
        Self {
            app,
            clock,
            db_path,
            _dir: dir,
        }
    }

    /// An installation whose first administrator exists.
    pub async fn set_up() -> Self {
        Self::set_up_with(|service| service).await
    }

    /// [`Api::set_up`] with the service given more.
    pub async fn set_up_with(more: impl FnOnce(Service) -> Service) -> Self {
        let api = Self::with_service(more);
        let r = api
            .post(
                "/api/v1/setup",
                &Auth::None,
                json!({"setup_token": SETUP_TOKEN, "name": ADMIN, "password": ADMIN_PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        api
    }

    /// Sends `request` from `from` (e.g. `HOME`).
    pub async fn send(&self, mut request: Request<Body>, from: &str) -> Reply {
        let addr: SocketAddr = from.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A request with credentials and an optional JSON body.
    pub fn request(method: Method, path: &str, auth: &Auth, body: Option<Value>) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri(path);
        match auth {
            Auth::None => {}
            Auth::Session { cookie, csrf } => {
                builder = builder
                    .header(header::COOKIE, format!("outpost_session={cookie}"))
                    .header("x-csrf-token", csrf);
            }
            Auth::SessionNoCsrf { cookie } => {
                builder = builder.header(header::COOKIE, format!("outpost_session={cookie}"));
            }
            Auth::Bearer(token) => {
                builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
        }
        match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => builder.body(Body::empty()).unwrap(),
        }
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> Reply {
        self.send(Self::request(Method::GET, path, auth, None), HOME)
            .await
    }

    pub async fn post(&self, path: &str, auth: &Auth, body: Value) -> Reply {
        self.send(Self::request(Method::POST, path, auth, Some(body)), HOME)
            .await
    }

    pub async fn delete(&self, path: &str, auth: &Auth) -> Reply {
        self.send(Self::request(Method::DELETE, path, auth, None), HOME)
            .await
    }

    /// Logs in from `from`; panics unless it works.
    pub async fn login_from(&self, name: &str, password: &str, from: &str) -> Auth {
        let r = self
            .send(
                Self::request(
                    Method::POST,
                    "/api/v1/session",
                    &Auth::None,
                    Some(json!({"name": name, "password": password})),
                ),
                from,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        let set_cookie = r.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
        let cookie = set_cookie
            .strip_prefix("outpost_session=")
            .and_then(|rest| rest.split(';').next())
            .unwrap()
            .to_owned();
        let csrf = r.body["csrf_token"].as_str().unwrap().to_owned();
        Auth::Session { cookie, csrf }
    }

    pub async fn login(&self, name: &str, password: &str) -> Auth {
        self.login_from(name, password, HOME).await
    }

    /// The administrator's session.
    pub async fn admin(&self) -> Auth {
        self.login(ADMIN, ADMIN_PASSWORD).await
    }

    /// Creates a token with `scopes` as the administrator; returns its
    /// value and id.
    pub async fn token(&self, admin: &Auth, name: &str, scopes: &[&str]) -> (String, String) {
        let r = self
            .post(
                "/api/v1/tokens",
                admin,
                json!({"name": name, "scopes": scopes}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        (
            r.body["token"].as_str().unwrap().to_owned(),
            r.body["id"].as_str().unwrap().to_owned(),
        )
    }

    /// Every audit entry's action, oldest first, read from the database.
    pub fn audit_actions(&self) -> Vec<String> {
        let store = Store::open_existing(&self.db_path).unwrap();
        let mut entries = store
            .audit_entries(&outpost_store::AuditFilter {
                limit: 500,
                ..Default::default()
            })
            .unwrap();
        entries.reverse();
        entries.into_iter().map(|e| e.record.action).collect()
    }

    /// A digest of everything a change could touch: accounts, tokens,
    /// settings, audit log (sessions are excluded: logins create them).
    pub fn state(&self) -> String {
        dump(&self.db_path)
    }

    /// The bytes of the database and its WAL.
    pub fn db_bytes(&self) -> Vec<u8> {
        let mut bytes = std::fs::read(&self.db_path).unwrap();
        let mut wal = self.db_path.clone().into_os_string();
        wal.push("-wal");
        if let Ok(more) = std::fs::read(PathBuf::from(wal)) {
            bytes.extend(more);
        }
        bytes
    }
}

/// The observable state, through the store's public API.
fn dump(path: &std::path::Path) -> String {
    let store = Store::open_existing(path).unwrap();
    let admins = store.admins().unwrap();
    let tokens = store.api_tokens().unwrap();
    let audit = store
        .audit_entries(&outpost_store::AuditFilter {
            limit: 500,
            ..Default::default()
        })
        .unwrap();
    let setup = store.setting(SETUP_TOKEN_SETTING).unwrap();
    format!("{admins:?}\n{tokens:?}\n{audit:?}\n{setup:?}")
}
