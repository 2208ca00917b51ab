//! The phone configuration service's router (`outpost_api::phone_config`)
//! without a socket: files under the hash key with ETags, `Last-Modified`
//! and byte ranges, downloads in the inventory, wrong keys and unknown
//! phones reported to the guard, denied sources refused, device files
//! generated, redirection, the CA file, and the upload REST routes' name
//! checks.

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
use outpost_store::{ChangeBy, FileKind, NewDevice, NewIcp, Secret, Store};
use rustls::pki_types::CertificateDer;
use tower::ServiceExt;

const AGENT: &str = "Mitel6867i MAC:00-08-5D-23-74-29 V:6.3.0.1020-SIP";

mod common;
mod resources;

#[derive(Default)]
struct FakeGuard {
    deny: AtomicBool,
    reports: AtomicUsize,
    tried: Mutex<Vec<String>>,
    unknown: Mutex<Vec<String>>,
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
    fn report_unknown_phone(&self, _ip: IpAddr, name: &str, _agent: Option<&str>) -> bool {
        let mut unknown = self.unknown.lock().unwrap();
        unknown.push(name.to_owned());
        // As the guard: more than 3 distinct names deny.
        let mut distinct = unknown.clone();
        distinct.sort();
        distinct.dedup();
        distinct.len() <= 3
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
        action: None,
    };
    let mac = Mac::parse("00085D237429").unwrap();
    store
        .replace_phone_files_audited(
            &[(mac, b"sip line1 user name: 7000\n".to_vec())],
            by,
            |_| None,
        )
        .unwrap();
    let mut icp = NewIcp::new("icp1", "192.0.2.50");
    icp.is_default = true;
    store.add_icp(&icp).unwrap();
    let mut device = NewDevice::new("7042", Secret::new("pw#7042".to_owned()));
    device.mac = Some(DEVICE_MAC.to_owned());
    store.add_device(&device).unwrap();
    store
        .put_uploaded_file_audited(FileKind::Firmware, "6867i.st", &firmware(), by, |_| None)
        .unwrap();
    let guard = Arc::new(FakeGuard::default());
    let state = PhoneConfigState::new(
        Store::open(&path).unwrap(),
        Arc::clone(&guard) as Arc<dyn PhoneGuard>,
        Arc::new(ManualClock::new(1_700_000_000)),
    )
    .with_public_name("sbc.example.com", 4445)
    .with_firmware_server(Some("https://fw.example.com/6.4".to_owned()))
    .with_chain(Arc::new(|| vec![CertificateDer::from(b"leaf".to_vec())]));
    Bed {
        app: router(state),
        guard,
        hash,
        path,
        _dir: dir,
    }
}

/// The device with a MAC and no imported file.
const DEVICE_MAC: &str = "00085D000042";

/// 1000 bytes, each its index modulo 256.
fn firmware() -> Vec<u8> {
    (0..1000u32).map(|i| (i % 256) as u8).collect()
}

async fn send(
    bed: &Bed,
    method: Method,
    path: &str,
    etag: Option<&str>,
) -> axum::response::Response {
    let headers: Vec<(header::HeaderName, &str)> = etag
        .map(|tag| vec![(header::IF_NONE_MATCH, tag)])
        .unwrap_or_default();
    send_with(bed, method, path, &headers).await
}

async fn send_with(
    bed: &Bed,
    method: Method,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> axum::response::Response {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::USER_AGENT, AGENT);
    for (name, value) in headers {
        builder = builder.header(name, *value);
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

async fn body_of(r: axum::response::Response) -> Vec<u8> {
    axum::body::to_bytes(r.into_body(), 1 << 22)
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn byte_ranges_head_and_if_modified_since() {
    let bed = bed();
    let url = format!("/{}/6867i.st", bed.hash);
    let r = send(&bed, Method::GET, &url, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::ACCEPT_RANGES], "bytes");
    let modified = r.headers()[header::LAST_MODIFIED]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        modified, "Thu, 01 Jan 1970 00:00:01 GMT",
        "the file's write time"
    );
    assert_eq!(body_of(r).await, firmware());

    let ranged = |range: &'static str| {
        let url = url.clone();
        let bed = &bed;
        async move { send_with(bed, Method::GET, &url, &[(header::RANGE, range)]).await }
    };
    let r = ranged("bytes=10-19").await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes 10-19/1000");
    assert_eq!(r.headers()[header::CONTENT_LENGTH], "10");
    assert_eq!(body_of(r).await, &firmware()[10..20]);
    let r = ranged("bytes=990-").await;
    assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes 990-999/1000");
    assert_eq!(body_of(r).await, &firmware()[990..]);
    let r = ranged("bytes=-5").await;
    assert_eq!(body_of(r).await, &firmware()[995..]);
    let r = ranged("bytes=1000-").await;
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes */1000");
    let r = ranged("bytes=0-1,5-6").await;
    assert_eq!(r.status(), StatusCode::OK, "several ranges: the whole file");
    assert_eq!(body_of(r).await.len(), 1000);
    // If-Range with another ETag: the whole file.
    let r = send_with(
        &bed,
        Method::GET,
        &url,
        &[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, "\"r0\"")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    let r = send(&bed, Method::HEAD, &url, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CONTENT_LENGTH], "1000");
    assert!(body_of(r).await.is_empty());

    let r = send_with(
        &bed,
        Method::GET,
        &url,
        &[(header::IF_MODIFIED_SINCE, &modified)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert!(body_of(r).await.is_empty());
    let later = "Tue, 14 Nov 2023 22:13:20 GMT";
    let r = send_with(
        &bed,
        Method::GET,
        &url,
        &[(header::IF_MODIFIED_SINCE, later)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = send_with(
        &bed,
        Method::GET,
        &url,
        &[(header::IF_MODIFIED_SINCE, "Thu, 01 Jan 1970 00:00:00 GMT")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "modified since");
    // If-None-Match decides over If-Modified-Since.
    let r = send_with(
        &bed,
        Method::GET,
        &url,
        &[
            (header::IF_NONE_MATCH, "\"other\""),
            (header::IF_MODIFIED_SINCE, later),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = send(&bed, Method::PUT, &url, None).await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn unknown_phones_count_as_enumeration_not_as_a_wrong_key() {
    let bed = bed();
    // One phone asking again for its own missing file: one name.
    for _ in 0..5 {
        let r = send(
            &bed,
            Method::GET,
            &format!("/{}/00085D999999.cfg", bed.hash),
            None,
        )
        .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    let mut last = None;
    for n in 1..=3 {
        let path = format!("/{}/00085D00000{n}.cfg", bed.hash);
        last = Some(send(&bed, Method::GET, &path, None).await);
    }
    let last = last.unwrap();
    assert_eq!(last.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        last.headers()[header::CONNECTION],
        "close",
        "the fourth distinct unknown MAC denies"
    );
    assert_eq!(bed.guard.unknown.lock().unwrap().len(), 8);
    assert_eq!(
        bed.guard.reports.load(Ordering::SeqCst),
        0,
        "not a wrong key"
    );
    // Other unknown names under the key are no phone's: not counted.
    let r = send(&bed, Method::GET, &format!("/{}/6867i.cfg", bed.hash), None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "no proxy configured");
    assert_eq!(bed.guard.unknown.lock().unwrap().len(), 8);
}

#[tokio::test]
async fn a_device_with_a_mac_gets_a_generated_file_and_an_import_wins() {
    let bed = bed();
    let url = format!("/{}/{DEVICE_MAC}.cfg", bed.hash);
    let r = send(&bed, Method::GET, &url, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key(header::ETAG));
    let text = String::from_utf8(body_of(r).await).unwrap();
    let config = outpost_provision::ConfigFile::parse(&text).unwrap();
    let get = |name: &str| config.get(name).unwrap().value().to_owned();
    assert_eq!(get("sip line1 user name"), "7042");
    assert!(config.get("sip line1 user name").unwrap().is_locked());
    assert_eq!(get("sip line1 auth name"), "7042");
    assert_eq!(get("sip line1 password"), "pw#7042");
    assert_eq!(get("sip proxy ip"), "sbc.example.com");
    assert_eq!(get("sip registrar ip"), "sbc.example.com");
    assert_eq!(get("https server"), "sbc.example.com");
    assert_eq!(get("https path"), bed.hash);
    assert_eq!(get("sips trusted certificates"), "outpost-ca.pem");
    let inventory = Store::open(&bed.path).unwrap().inventory().unwrap();
    assert!(
        inventory
            .iter()
            .any(|e| e.last.mac.to_string() == DEVICE_MAC && e.user.as_deref() == Some("7042")),
        "{inventory:?}"
    );

    let mac = Mac::parse(DEVICE_MAC).unwrap();
    Store::open(&bed.path)
        .unwrap()
        .replace_phone_files_audited(
            &[(mac, b"imported: yes\n".to_vec())],
            ChangeBy {
                at: 2,
                operator: "cli:test",
                action: None,
            },
            |_| None,
        )
        .unwrap();
    let r = send(&bed, Method::GET, &url, None).await;
    assert_eq!(body_of(r).await, b"imported: yes\n");
}

#[tokio::test]
async fn the_ca_file_is_the_certificate_served() {
    let bed = bed();
    let r = send(
        &bed,
        Method::GET,
        &format!("/{}/outpost-ca.pem", bed.hash),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let pem = String::from_utf8(body_of(r).await).unwrap();
    assert_eq!(
        pem,
        "-----BEGIN CERTIFICATE-----\nbGVhZg==\n-----END CERTIFICATE-----\n"
    );
}

#[tokio::test]
async fn redirection_answers_known_macs_only() {
    let bed = bed();
    for known in ["00085D237429.cfg", "00085d000042.cfg"] {
        let r = send(&bed, Method::GET, &format!("/redirect/{known}"), None).await;
        assert_eq!(r.status(), StatusCode::OK, "{known}");
        let text = String::from_utf8(body_of(r).await).unwrap();
        let config = outpost_provision::ConfigFile::parse(&text).unwrap();
        let get = |name: &str| config.get(name).unwrap().value().to_owned();
        assert_eq!(get("download protocol"), "HTTPS");
        assert_eq!(get("https server"), "sbc.example.com");
        assert_eq!(get("https port"), "4445");
        assert_eq!(get("https path"), bed.hash);
        assert_eq!(get("firmware server"), "https://fw.example.com/6.4");
    }
    for unknown in ["00085D777777.cfg", "nonsense"] {
        let r = send(&bed, Method::GET, &format!("/redirect/{unknown}"), None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{unknown}");
    }
    assert_eq!(
        bed.guard.reports.load(Ordering::SeqCst),
        0,
        "not a wrong key"
    );
    assert_eq!(
        *bed.guard.unknown.lock().unwrap(),
        ["00085D777777.cfg", "nonsense"]
    );
}

#[tokio::test]
async fn other_paths_go_to_the_proxy_or_404() {
    use outpost_api::phone_config::{XmlProxy, XmlProxyLimits};
    let bed = bed();
    let path = format!("/{}/xml/dir.xml", bed.hash);
    assert_eq!(
        send(&bed, Method::GET, &path, None).await.status(),
        StatusCode::NOT_FOUND,
        "no proxy"
    );
    // With a proxy and an ICP nothing listens for: 502, quickly.
    let state = PhoneConfigState::new(
        Store::open(&bed.path).unwrap(),
        Arc::clone(&bed.guard) as Arc<dyn PhoneGuard>,
        Arc::new(ManualClock::new(1_700_000_000)),
    )
    .with_xml_proxy(XmlProxy::new(
        XmlProxyLimits {
            connect_timeout: std::time::Duration::from_millis(300),
            ..XmlProxyLimits::default()
        },
        Arc::new(|_| Err("no TLS in this test".to_owned())),
    ));
    let proxied = Bed {
        app: router(state),
        guard: Arc::clone(&bed.guard),
        hash: bed.hash.clone(),
        path: bed.path.clone(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let r = send(&proxied, Method::POST, &path, None).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let r = send(
        &proxied,
        Method::GET,
        &format!("/{}/xml/../x", bed.hash),
        None,
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "dot segments are not forwarded"
    );
    for hidden in ["xml/%2E%2e/x", "xml/a%2fb", "xml\\..\\x", "xml//x"] {
        let r = send(
            &proxied,
            Method::GET,
            &format!("/{}/{hidden}", bed.hash),
            None,
        )
        .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{hidden}");
    }
}

#[tokio::test]
async fn uploads_over_rest_check_names_and_sizes() {
    let api = common::Api::set_up().await;
    let admin = api.admin().await;
    let put = |kind: &'static str, name: &'static str, body: Vec<u8>| {
        let api = &api;
        let admin = &admin;
        async move {
            resources::raw(
                api,
                Method::PUT,
                &format!("/api/v1/provisioning/uploads/{kind}/{name}"),
                admin,
                Some("application/octet-stream"),
                body,
            )
            .await
        }
    };
    let ok = put("firmware", "6867i.st", vec![7; 2 * 1024 * 1024]).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.body["kind"], "firmware");
    assert_eq!(
        put("model", "6867i.cfg", b"x: 1\n".to_vec()).await.status,
        200
    );
    assert_eq!(
        put("startup", "startup.cfg", b"x: 1\n".to_vec())
            .await
            .status,
        200
    );
    for (kind, name) in [
        ("model", "aastra.cfg"),
        ("model", "6867i.st"),
        ("startup", "other.cfg"),
        ("firmware", "00085D237429.cfg"),
        ("firmware", "outpost-ca.pem"),
        ("firmware", "..x"),
        ("firmware", "6867i.cfg"),
        ("phone", "a.cfg"),
    ] {
        let r = put(kind, name, b"x".to_vec()).await;
        assert_eq!(r.status, 422, "{kind} {name}: {r:?}");
    }
    let big = put("model", "big.cfg", vec![b'x'; 1024 * 1024 + 1]).await;
    assert_eq!(big.status, 413, "{big:?}");
    let removed = resources::raw(
        &api,
        Method::DELETE,
        "/api/v1/provisioning/uploads/6867i.st",
        &admin,
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    let again = resources::raw(
        &api,
        Method::DELETE,
        "/api/v1/provisioning/uploads/6867i.st",
        &admin,
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(again.status, 404);
    let audit = format!("{:?}", api.audit_actions());
    assert!(audit.contains("provisioning.upload"), "{audit}");
    assert!(audit.contains("provisioning.file.remove"), "{audit}");
}
