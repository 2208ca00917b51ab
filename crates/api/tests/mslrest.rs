//! `/mslrest/` (issue 16) through its router: the seed 003 flow (consumer,
//! initiate, approval, verifier, final token, then devices created, read,
//! listed, counted, changed, found by MAC and deleted, under the
//! consumer's name in the audit log); each refusal with its status and
//! nothing changed by it; renewal and revocation; the switch off.
//! Requests are signed here with the RFC 5849 functions of
//! `outpost-oauth1` (its own vectors test them; `requests-oauthlib` does
//! the same end to end in the e2e suite).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use outpost_api::ManualClock;
use outpost_api::mslrest::{MslState, WebServicesGuard, router};
use outpost_api::service::webservices::{NewConsumerInput, SealKey, WebServices};
use outpost_api::service::{Caller, Service};
use outpost_oauth1::{base_string_uri, hmac_sha1_signature, percent_encode, signature_base_string};
use outpost_store::{AuditFilter, NewIcp, Store};
use serde_json::{Value, json};
use tower::ServiceExt;

const HOST: &str = "gw.example:4445";
const T0: i64 = 1_800_000_000;

#[derive(Default)]
struct CountingGuard {
    failures: AtomicUsize,
}

impl WebServicesGuard for CountingGuard {
    fn admit(&self, _ip: IpAddr) -> bool {
        true
    }
    fn report_failure(&self, _ip: IpAddr, _reason: &str) -> bool {
        self.failures.fetch_add(1, Ordering::SeqCst);
        true
    }
}

struct Bed {
    app: axum::Router,
    ws: WebServices,
    clock: Arc<ManualClock>,
    guard: Arc<CountingGuard>,
    enabled: Arc<AtomicBool>,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
    nonce: Mutex<u32>,
}

fn bed() -> Bed {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outpost.db");
    let mut store = Store::open(&db).unwrap();
    store.add_icp(&NewIcp::new("pbx1", "192.0.2.10")).unwrap();
    drop(store);
    let service = Service::new(Store::open(&db).unwrap());
    let ws = WebServices::new(service, SealKey::from_bytes(&[3; 32]).unwrap());
    let clock = Arc::new(ManualClock::new(T0));
    let guard = Arc::new(CountingGuard::default());
    let enabled = Arc::new(AtomicBool::new(true));
    let switch = Arc::clone(&enabled);
    let app = router(MslState::new(
        ws.clone(),
        clock.clone(),
        guard.clone(),
        Arc::new(move || switch.load(Ordering::SeqCst)),
    ));
    Bed {
        app,
        ws,
        clock,
        guard,
        enabled,
        db,
        _dir: dir,
        nonce: Mutex::new(0),
    }
}

/// What a client signs with.
#[derive(Clone)]
struct Client {
    key: String,
    secret: String,
    token: Option<(String, String)>,
}

struct Reply {
    status: StatusCode,
    text: String,
    www_authenticate: Option<String>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap()
    }
    fn form(&self, name: &str) -> String {
        self.text
            .split('&')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    }
}

impl Bed {
    /// Signs and sends; `extra` are further oauth_ parameters (callback,
    /// verifier); `at` overrides the timestamp, `nonce` the nonce.
    #[allow(clippy::too_many_arguments)] // a test helper mirroring a request's parts
    async fn call(
        &self,
        client: &Client,
        method: Method,
        path: &str,
        extra: &[(&str, &str)],
        body: Option<Value>,
        at: Option<i64>,
        nonce: Option<&str>,
    ) -> Reply {
        let fresh = {
            let mut n = self.nonce.lock().unwrap();
            *n += 1;
            format!("nonce{n}")
        };
        let nonce = nonce.map_or(fresh, str::to_owned);
        let timestamp = at.unwrap_or(T0).to_string();
        let mut params: Vec<(String, String)> = vec![
            ("oauth_consumer_key".into(), client.key.clone()),
            ("oauth_signature_method".into(), "HMAC-SHA1".into()),
            ("oauth_timestamp".into(), timestamp),
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
        let signature = hmac_sha1_signature(&base, &client.secret, token_secret);
        params.push(("oauth_signature".into(), signature));
        let header_value = format!(
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
            .header(header::HOST, HOST)
            .header(header::AUTHORIZATION, header_value);
        let body = match body {
            Some(v) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let mut request = request.body(body).unwrap();
        let addr: SocketAddr = "198.51.100.7:40000".parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let www_authenticate = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        Reply {
            status,
            text: String::from_utf8(bytes.to_vec()).unwrap(),
            www_authenticate,
        }
    }

    /// A signed GET with a fresh nonce at T0.
    async fn get(&self, client: &Client, path: &str) -> Reply {
        self.call(client, Method::GET, path, &[], None, None, None)
            .await
    }

    fn admin(&self) -> Caller {
        Caller::cli("root", outpost_api::Clock::now(&*self.clock))
    }

    fn device_count(&self) -> usize {
        Store::open_existing(&self.db)
            .unwrap()
            .devices()
            .unwrap()
            .len()
    }

    /// The seed's consumer, its final token obtained through the flow.
    async fn consumer_with_final_token(&self, id: &str, permissions: &[&str]) -> Client {
        let made = self
            .ws
            .create_consumer(
                &self.admin(),
                &NewConsumerInput {
                    consumer_id: id.into(),
                    name: "MiVoice Office Application Suite".into(),
                    active: true,
                    permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
                },
            )
            .unwrap();
        assert_eq!(made.shared_secret.len(), 40);
        let mut client = Client {
            key: id.into(),
            secret: made.shared_secret,
            token: None,
        };
        let initiated = self
            .call(
                &client,
                Method::POST,
                "/mslrest/initiate",
                &[("oauth_callback", "oob")],
                None,
                None,
                None,
            )
            .await;
        assert_eq!(initiated.status, StatusCode::OK, "{}", initiated.text);
        assert_eq!(initiated.form("oauth_callback_confirmed"), "true");
        let temporary = initiated.form("oauth_token");
        client.token = Some((temporary.clone(), initiated.form("oauth_token_secret")));
        // Before approval the exchange is refused.
        let early = self
            .call(
                &client,
                Method::POST,
                "/mslrest/token",
                &[("oauth_verifier", "guess")],
                None,
                None,
                None,
            )
            .await;
        assert_eq!(early.status, StatusCode::UNAUTHORIZED);
        let listed = self.ws.grants(&self.admin()).unwrap();
        assert!(
            listed
                .temporary
                .iter()
                .any(|t| t.token == temporary && !t.approved)
        );
        let approved = self.ws.approve(&self.admin(), &temporary).unwrap();
        let verifier = approved.verifier.unwrap();
        let exchanged = self
            .call(
                &client,
                Method::POST,
                "/mslrest/token",
                &[("oauth_verifier", &verifier)],
                None,
                None,
                None,
            )
            .await;
        assert_eq!(exchanged.status, StatusCode::OK, "{}", exchanged.text);
        client.token = Some((
            exchanged.form("oauth_token"),
            exchanged.form("oauth_token_secret"),
        ));
        // The temporary token was used once.
        let again = self
            .call(
                &Client {
                    token: Some((temporary, String::new())),
                    ..client.clone()
                },
                Method::POST,
                "/mslrest/token",
                &[("oauth_verifier", &verifier)],
                None,
                None,
                None,
            )
            .await;
        assert_eq!(again.status, StatusCode::UNAUTHORIZED);
        client
    }
}

const SEED_PERMISSIONS: &[&str] = &["base/managetoken=rw", "mbg/v1/icps=r", "mbg/v1/devices=rw"];

#[tokio::test]
async fn the_seed_003_flow_then_devices_from_creation_to_deletion() {
    let bed = bed();
    let client = bed
        .consumer_with_final_token("MiVOAppSuite", SEED_PERMISSIONS)
        .await;
    // Global options need their own permission, which the seed's consumer lacks.
    let options = bed.get(&client, "/mslrest/mbg/v1/globaloptions/").await;
    assert_eq!(options.status, StatusCode::FORBIDDEN, "{}", options.text);
    bed.ws
        .update_consumer(
            &bed.admin(),
            "MiVOAppSuite",
            &outpost_api::service::webservices::ConsumerPatch {
                permissions: Some(
                    [SEED_PERMISSIONS, &["mbg/v1/globaloptions=r"]]
                        .concat()
                        .iter()
                        .map(|p| (*p).to_owned())
                        .collect(),
                ),
                ..Default::default()
            },
        )
        .unwrap();
    let options = bed.get(&client, "/mslrest/mbg/v1/globaloptions/").await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.text);
    assert_eq!(options.json()["rtp_port_start"], 20000);
    assert_eq!(options.json()["rtp_port_end"], 27999);
    let icps = bed.get(&client, "/mslrest/mbg/v1/icps/").await;
    assert_eq!(icps.status, StatusCode::OK, "{}", icps.text);
    let icp_guid = icps.json()["response"][0]["guid"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_address = bed.get(&client, "/mslrest/mbg/v1/icps/192.0.2.10/").await;
    assert_eq!(by_address.json()["guid"], icp_guid.as_str());

    let created = bed
        .call(
            &client,
            Method::POST,
            "/mslrest/mbg/v1/devices/sip/",
            &[],
            Some(json!({
                "clientid": "00-08-5d-23-74-29",
                "description": "Alice at home",
                "icp": icp_guid,
                "setside_username": "alice",
                "setside_password": "Set-side-1",
                "icpside_username": "1001",
                "icpside_password": "Icp-side-1",
            })),
            None,
            None,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let guid = created.json()["guid"].as_str().unwrap().to_owned();

    let one = bed
        .get(&client, &format!("/mslrest/mbg/v1/devices/sip/{guid}/"))
        .await;
    let device = one.json();
    assert_eq!(device["setside_username"], "alice");
    assert_eq!(device["clientid"], "00085D237429");
    assert_eq!(device["icp"], icp_guid.as_str());
    assert_eq!(device["connected"], false);
    let count = bed.get(&client, "/mslrest/mbg/v1/devices/sip/count/").await;
    assert_eq!(count.json(), json!({"count": 1}));
    let list = bed.get(&client, "/mslrest/mbg/v1/devices/sip/all/").await;
    assert_eq!(list.json()["response"][0]["guid"], guid.as_str());
    let of_icp = bed
        .get(
            &client,
            &format!("/mslrest/mbg/v1/icps/{icp_guid}/devices/sip/"),
        )
        .await;
    assert_eq!(of_icp.json()["response"].as_array().unwrap().len(), 1);

    let changed = bed
        .call(
            &client,
            Method::PUT,
            &format!("/mslrest/mbg/v1/devices/sip/{guid}/"),
            &[],
            Some(json!({"icpside_password": "Icp-side-2", "description": "moved"})),
            None,
            None,
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.json()["icpside_password"], "Icp-side-2");
    let by_mac = bed
        .get(&client, "/mslrest/mbg/v1/devices/sip/00:08:5D:23:74:29/")
        .await;
    assert_eq!(by_mac.json()["description"], "moved");
    let bad = bed
        .call(
            &client,
            Method::POST,
            "/mslrest/mbg/v1/devices/sip/",
            &[],
            Some(json!({"setside_username": "bob"})),
            None,
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("setside_password"), "{}", bad.text);

    let deleted = bed
        .call(
            &client,
            Method::DELETE,
            &format!("/mslrest/mbg/v1/devices/sip/{guid}/"),
            &[],
            None,
            None,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let gone = bed
        .get(&client, &format!("/mslrest/mbg/v1/devices/sip/{guid}/"))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    let store = Store::open_existing(&bed.db).unwrap();
    let audit = store
        .audit_entries(&AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.record.actor == "consumer:MiVOAppSuite"
                && e.record.action.starts_with("device.")),
        "{audit:?}"
    );
    let text = format!("{audit:?}");
    assert!(
        !text.contains("Set-side-1") && !text.contains("Icp-side-2"),
        "no password audited"
    );
}

#[tokio::test]
async fn each_refusal_gets_its_status_and_changes_nothing() {
    let bed = bed();
    let client = bed.consumer_with_final_token("app", SEED_PERMISSIONS).await;
    let failures_before = bed.guard.failures.load(Ordering::SeqCst);
    let create = || Some(json!({"setside_username": "eve", "setside_password": "Eve-pass-1"}));
    let path = "/mslrest/mbg/v1/devices/sip/";

    // Replay: the same nonce and timestamp twice.
    let first = bed
        .call(&client, Method::GET, path, &[], None, None, Some("same"))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let replay = bed
        .call(&client, Method::GET, path, &[], None, None, Some("same"))
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(replay.text.contains("nonce"), "{}", replay.text);
    assert_eq!(
        replay.www_authenticate.as_deref(),
        Some("OAuth realm=\"mslrest\"")
    );
    // Stale timestamp.
    let stale = bed
        .call(
            &client,
            Method::POST,
            path,
            &[],
            create(),
            Some(T0 - 301),
            None,
        )
        .await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);
    assert!(stale.text.contains("oauth_timestamp"), "{}", stale.text);
    // Wrong signature (another secret).
    let forged = Client {
        secret: "0".repeat(40),
        ..client.clone()
    };
    let wrong = bed
        .call(&forged, Method::POST, path, &[], create(), None, None)
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text.contains("signature"), "{}", wrong.text);
    // Unknown consumer.
    let stranger = Client {
        key: "stranger".into(),
        ..client.clone()
    };
    let unknown = bed
        .call(&stranger, Method::POST, path, &[], create(), None, None)
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bed.device_count(), 0, "no refused request created anything");
    assert!(bed.guard.failures.load(Ordering::SeqCst) >= failures_before + 4);

    // Missing permission: a read-only consumer cannot create.
    let reader = bed
        .consumer_with_final_token("reader", &["base/managetoken=rw", "mbg/v1/devices=r"])
        .await;
    let forbidden = bed
        .call(&reader, Method::POST, path, &[], create(), None, None)
        .await;
    assert_eq!(
        forbidden.status,
        StatusCode::FORBIDDEN,
        "{}",
        forbidden.text
    );
    let icps = bed.get(&reader, "/mslrest/mbg/v1/icps/").await;
    assert_eq!(icps.status, StatusCode::FORBIDDEN);

    // Inactive consumer.
    bed.ws
        .update_consumer(
            &bed.admin(),
            "reader",
            &outpost_api::service::webservices::ConsumerPatch {
                active: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    let inactive = bed.get(&reader, path).await;
    assert_eq!(inactive.status, StatusCode::UNAUTHORIZED);

    // Expired: a year and a second later; renewal gives another year.
    let token = client.token.clone().unwrap().0;
    let year = outpost_api::service::webservices::FINAL_TOKEN_SECS;
    bed.clock.set(T0 + year + 1);
    let expired = bed
        .call(
            &client,
            Method::GET,
            path,
            &[],
            None,
            Some(T0 + year + 1),
            None,
        )
        .await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    let renewed = bed.ws.renew(&bed.admin(), &token).unwrap();
    assert_eq!(renewed.expires, T0 + 2 * year);
    let after_renewal = bed
        .call(
            &client,
            Method::GET,
            path,
            &[],
            None,
            Some(T0 + year + 1),
            None,
        )
        .await;
    assert_eq!(
        after_renewal.status,
        StatusCode::OK,
        "{}",
        after_renewal.text
    );
    // Revoked: the next call is 401.
    bed.ws.revoke(&bed.admin(), &token).unwrap();
    let revoked = bed
        .call(
            &client,
            Method::GET,
            path,
            &[],
            None,
            Some(T0 + year + 1),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bed.device_count(), 0);

    // Stopped: 503 whoever asks.
    bed.enabled.store(false, Ordering::SeqCst);
    let stopped = bed.get(&client, path).await;
    assert_eq!(stopped.status, StatusCode::SERVICE_UNAVAILABLE);
}
