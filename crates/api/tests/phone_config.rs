//! The phone configuration service's router (`outpost_api::phone_config`)
//! without a socket: files under the hash key with ETags, downloads in the
//! inventory, wrong keys reported to the guard, denied sources refused.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use outpost_api::ManualClock;
use outpost_api::phone_config::{PhoneConfigState, PhoneGuard, router};
use outpost_provision::Mac;
use outpost_store::{ChangeBy, Store};
use tower::ServiceExt;

const AGENT: &str = "Mitel6867i MAC:00-08-5D-23-74-29 V:6.3.0.1020-SIP";

#[derive(Default)]
struct FakeGuard {
    deny: AtomicBool,
    reports: AtomicUsize,
    tried: Mutex<Vec<String>>,
}

impl PhoneGuard for FakeGuard {
    fn admit(&self, _ip: IpAddr) -> bool {
        !self.deny.load(Ordering::SeqCst)
    }
    fn report_bad_hash(&self, _ip: IpAddr, first_segment: &str, _agent: Option<&str>) -> bool {
        self.reports.fetch_add(1, Ordering::SeqCst);
        self.tried.lock().unwrap().push(first_segment.to_owned());
        true
    }
}

struct Bed {
    app: axum::Router,
    guard: Arc<FakeGuard>,
    hash: String,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn bed() -> Bed {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    let mut store = Store::open(&path).unwrap();
    store.ensure_provisioning_hash(1).unwrap();
    let hash = store
        .provisioning_hash()
        .unwrap()
        .unwrap()
        .expose()
        .to_owned();
    let by = ChangeBy {
        at: 1,
        operator: "cli:test",
    };
    let mac = Mac::parse("00085D237429").unwrap();
    store
        .replace_phone_files_audited(
            &[(mac, b"sip line1 user name: 7000\n".to_vec())],
            by,
            |_| None,
        )
        .unwrap();
    let guard = Arc::new(FakeGuard::default());
    let state = PhoneConfigState::new(
        Store::open(&path).unwrap(),
        Arc::clone(&guard) as Arc<dyn PhoneGuard>,
        Arc::new(ManualClock::new(1_700_000_000)),
    );
    Bed {
        app: router(state),
        guard,
        hash,
        path,
        _dir: dir,
    }
}

async fn send(
    bed: &Bed,
    method: Method,
    path: &str,
    etag: Option<&str>,
) -> axum::response::Response {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::USER_AGENT, AGENT);
    if let Some(tag) = etag {
        builder = builder.header(header::IF_NONE_MATCH, tag);
    }
    let mut request = builder.body(Body::empty()).unwrap();
    let addr: SocketAddr = "198.51.100.7:40000".parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(addr));
    bed.app.clone().oneshot(request).await.unwrap()
}

#[tokio::test]
async fn files_under_the_key_with_etags_and_the_inventory() {
    let bed = bed();
    let url = format!("/{}/00085D237429.cfg", bed.hash);
    let r = send(&bed, Method::GET, &url, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let etag = r.headers()[header::ETAG].to_str().unwrap().to_owned();
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    assert_eq!(&body[..], b"sip line1 user name: 7000\n");

    let r = send(&bed, Method::GET, &url, Some(&etag)).await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = send(&bed, Method::GET, &url, Some("\"r0\", W/\"x\"")).await;
    assert_eq!(r.status(), StatusCode::OK, "another ETag gets the file");

    let inventory = Store::open(&bed.path).unwrap().inventory().unwrap();
    assert_eq!(inventory.len(), 1);
    let last = &inventory[0].last;
    assert_eq!(last.mac.to_string(), "00085D237429");
    assert_eq!(last.model.as_deref(), Some("6867i"));
    assert_eq!(last.firmware.as_deref(), Some("6.3.0.1020"));
    assert_eq!(last.address, "198.51.100.7");
    assert_eq!(last.at, 1_700_000_000);

    // Under the right key, an unknown file or a deeper path is a plain 404.
    for path in [
        format!("/{}/00085D000001.cfg", bed.hash),
        format!("/{}/../outpost.db", bed.hash),
        format!("/{}/", bed.hash),
    ] {
        assert_eq!(
            send(&bed, Method::GET, &path, None).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(bed.guard.reports.load(Ordering::SeqCst), 0);
    let r = send(&bed, Method::POST, &url, None).await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_reported_and_a_denied_source_refused() {
    let bed = bed();
    for path in [
        "/0123456789abcdef0123456789abcdef/00085D237429.cfg",
        "/aastra.cfg",
        "/",
    ] {
        let r = send(&bed, Method::GET, path, None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        assert!(body.is_empty(), "a bare 404");
    }
    assert_eq!(bed.guard.reports.load(Ordering::SeqCst), 3);
    assert_eq!(
        *bed.guard.tried.lock().unwrap(),
        ["0123456789abcdef0123456789abcdef", "aastra.cfg", ""]
    );

    bed.guard.deny.store(true, Ordering::SeqCst);
    let r = send(
        &bed,
        Method::GET,
        &format!("/{}/00085D237429.cfg", bed.hash),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.headers()[header::CONNECTION], "close");
    assert!(
        Store::open(&bed.path)
            .unwrap()
            .inventory()
            .unwrap()
            .is_empty()
    );
}
