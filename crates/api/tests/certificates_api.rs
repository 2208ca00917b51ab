//! `/api/v1/certificates` (issue 17 item 6) over the router: a PEM chain
//! with an encrypted key and a PKCS#12 file (`openssl pkcs12 -export`)
//! are imported and listed; a wrong password, a mismatched key, an
//! expired certificate and a truncated file are 422 naming the field and
//! install nothing; a certificate a usage presents cannot be deleted (409)
//! until the usage presents another; a read-only account and a token
//! without the scope get 403; every change is audited, without the key,
//! the passphrase or the password.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use common::{Api, Auth, HOME, Reply};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::{Value, json};

const NAME: &str = "sbc.example.test";
const KEY_PASS: &str = "Key-Pass-Secret-1";
const P12_PASS: &str = "P12-Pass-Secret-1";

/// A leaf for [`NAME`] signed by a CA named `ca`, valid 2023..`year_to`
/// (the virtual clock stands in November 2023).
struct Material {
    chain: String,
    key: String,
}

fn material(ca: &str, year_to: i32) -> Material {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, ca);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params = CertificateParams::new(vec![NAME.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, NAME);
    params.not_before = rcgen::date_time_ymd(2023, 1, 1);
    params.not_after = rcgen::date_time_ymd(year_to, 6, 1);
    let key = KeyPair::generate().unwrap();
    let leaf = params.signed_by(&key, &issuer).unwrap();
    Material {
        chain: format!("{}{}", leaf.pem(), ca_cert.pem()),
        key: key.serialize_pem(),
    }
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

/// `m`'s key encrypted (PKCS#8, AES-256-CBC) with [`KEY_PASS`].
fn encrypted_key(m: &Material, dir: &Path) -> String {
    std::fs::write(dir.join("plain.key"), &m.key).unwrap();
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

/// `m` as a PKCS#12 file with [`P12_PASS`].
fn pkcs12(m: &Material, dir: &Path) -> Vec<u8> {
    std::fs::write(dir.join("chain.pem"), &m.chain).unwrap();
    std::fs::write(dir.join("key.pem"), &m.key).unwrap();
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

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An installation whose service has a certificate store, and the
/// administrator's session.
async fn installed() -> (Api, Auth, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    let tls_for_service = tls.clone();
    let api = Api::set_up_with(move |s| s.with_tls_dir(tls_for_service)).await;
    let admin = api.admin().await;
    (api, admin, dir, tls)
}

async fn put(api: &Api, path: &str, auth: &Auth, body: Value) -> Reply {
    api.send(Api::request(Method::PUT, path, auth, Some(body)), HOME)
        .await
}

fn names(list: &Reply) -> Vec<String> {
    list.body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Every file of the store's directory with its bytes.
fn files(tls: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<_> = std::fs::read_dir(tls)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    all.sort();
    all
}

#[tokio::test]
async fn import_list_assign_and_delete_are_audited_without_secrets() {
    let (api, admin, _dir, tls) = installed().await;
    let work = tempfile::tempdir().unwrap();
    let good = material("Example CA", 2030);
    let enc = encrypted_key(&good, work.path());
    assert!(enc.contains("ENCRYPTED PRIVATE KEY"));

    let empty = api.get("/api/v1/certificates", &admin).await;
    assert_eq!(empty.status, StatusCode::OK, "{empty:?}");
    assert_eq!(empty.body, json!([]));
    let usages = api.get("/api/v1/certificates/usages", &admin).await;
    assert_eq!(
        usages.body,
        json!({"admin": ["default"], "sip-private": ["default"], "sip-public": ["default"],
               "web-services": ["default"]})
    );

    // A PEM chain with its encrypted key, as the gateway's own.
    let made = api
        .post(
            "/api/v1/certificates",
            &admin,
            json!({"pem": format!("{}{}", good.chain, enc), "passphrase": KEY_PASS}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    assert_eq!(made.body["name"], "default");
    assert_eq!(made.body["names"], json!([NAME]));
    assert_eq!(made.body["chain_len"], 2);
    assert_eq!(made.body["self_signed"], false);
    assert!(made.body["issuer"].as_str().unwrap().contains("Example CA"));
    assert_eq!(
        made.body["usages"],
        json!(["sip-public", "sip-private", "web-services", "admin"])
    );
    let days = made.body["expires_in_days"].as_i64().unwrap();
    assert!((2350..2400).contains(&days), "{days}");

    // A PKCS#12 file under another name.
    let other = material("Portal CA", 2029);
    let p12 = pkcs12(&other, work.path());
    let portal = api
        .post(
            "/api/v1/certificates",
            &admin,
            json!({"name": "portal", "pkcs12": b64(&p12), "password": P12_PASS}),
        )
        .await;
    assert_eq!(portal.status, StatusCode::CREATED, "{portal:?}");
    assert_eq!(portal.body["usages"], json!([]));
    assert!(
        portal.body["issuer"]
            .as_str()
            .unwrap()
            .contains("Portal CA")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tls.join("portal.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let listed = api.get("/api/v1/certificates", &admin).await;
    assert_eq!(names(&listed), ["default", "portal"]);

    // Assignment: checked, then delete refused while in use.
    let bad_usage = put(
        &api,
        "/api/v1/certificates/usages/sip",
        &admin,
        json!({"certificates": ["portal"]}),
    )
    .await;
    assert_eq!(bad_usage.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_usage.field(), "usage");
    assert!(
        bad_usage.message().contains("web-services"),
        "{bad_usage:?}"
    );
    let unknown = put(
        &api,
        "/api/v1/certificates/usages/web-services",
        &admin,
        json!({"certificates": ["nope"]}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown:?}");
    let none = put(
        &api,
        "/api/v1/certificates/usages/web-services",
        &admin,
        json!({"certificates": []}),
    )
    .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(none.field(), "certificates");
    let assigned = put(
        &api,
        "/api/v1/certificates/usages/web-services",
        &admin,
        json!({"certificates": ["portal", "default"]}),
    )
    .await;
    assert_eq!(assigned.status, StatusCode::OK, "{assigned:?}");
    assert_eq!(
        assigned.body,
        json!({"usage": "web-services", "certificates": ["portal", "default"]})
    );
    let usages = api.get("/api/v1/certificates/usages", &admin).await;
    assert_eq!(usages.body["web-services"], json!(["portal", "default"]));
    let listed = api.get("/api/v1/certificates", &admin).await;
    assert_eq!(listed.body[1]["usages"], json!(["web-services"]));

    let in_use = api.delete("/api/v1/certificates/portal", &admin).await;
    assert_eq!(in_use.status, StatusCode::CONFLICT, "{in_use:?}");
    assert!(in_use.message().contains("web-services"), "{in_use:?}");
    assert!(tls.join("portal.crt").exists() && tls.join("portal.key").exists());
    let own = api.delete("/api/v1/certificates/default", &admin).await;
    assert_eq!(own.status, StatusCode::CONFLICT, "{own:?}");

    let back = put(
        &api,
        "/api/v1/certificates/usages/web-services",
        &admin,
        json!({"certificates": ["default"]}),
    )
    .await;
    assert_eq!(back.status, StatusCode::OK, "{back:?}");
    let deleted = api.delete("/api/v1/certificates/portal", &admin).await;
    assert_eq!(deleted.status, StatusCode::OK, "{deleted:?}");
    assert_eq!(deleted.body["name"], "portal");
    assert!(!tls.join("portal.crt").exists() && !tls.join("portal.key").exists());
    assert_eq!(
        api.delete("/api/v1/certificates/portal", &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        names(&api.get("/api/v1/certificates", &admin).await),
        ["default"]
    );

    // The audit log has every change, who made it, and no secret.
    let actions: Vec<String> = api
        .audit_actions()
        .into_iter()
        .filter(|a| a.starts_with("certificate."))
        .collect();
    assert_eq!(
        actions,
        [
            "certificate.import",
            "certificate.import",
            "certificate.assign",
            "certificate.assign",
            "certificate.delete"
        ]
    );
    let page = api.get("/api/v1/audit?action=certificate.", &admin).await;
    let entries = page.body["entries"].as_array().unwrap();
    let import = entries
        .iter()
        .find(|e| e["action"] == "certificate.import" && e["target"] == "portal")
        .unwrap();
    assert_eq!(import["actor"], "account:alice");
    assert_eq!(import["after"]["names"], json!([NAME]));
    let assign = entries
        .iter()
        .find(|e| e["action"] == "certificate.assign")
        .unwrap();
    assert_eq!(assign["target"], "web-services");
    assert_eq!(
        assign["before"]["certificates"],
        json!(["portal", "default"])
    );
    assert_eq!(assign["after"]["certificates"], json!(["default"]));
    let state = api.state();
    let key_line = good.key.lines().nth(1).unwrap();
    let enc_line = enc.lines().nth(1).unwrap();
    let p12_key_line = other.key.lines().nth(1).unwrap();
    for secret in [KEY_PASS, P12_PASS, key_line, enc_line, p12_key_line] {
        assert!(!state.contains(secret), "{secret:?} in the database");
        assert!(
            !page.body.to_string().contains(secret),
            "{secret:?} in the audit"
        );
    }
}

#[tokio::test]
async fn refused_imports_name_the_field_and_install_nothing() {
    let (api, admin, _dir, tls) = installed().await;
    let work = tempfile::tempdir().unwrap();
    // Something installed first: a refusal must leave it as it is.
    let first = material("First CA", 2030);
    let made = api
        .post(
            "/api/v1/certificates",
            &admin,
            json!({"pem": format!("{}{}", first.chain, first.key)}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    let before = files(&tls);
    let audit_before = api.audit_actions().len();

    let good = material("Example CA", 2030);
    let enc = encrypted_key(&good, work.path());
    let p12 = pkcs12(&good, work.path());
    let other = material("Other CA", 2030);
    let expired = material("Example CA", 2023);
    let pem_with_key = format!("{}{}", good.chain, good.key);
    let cut = &pem_with_key[..pem_with_key.len() - 40];
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "wrong passphrase",
            json!({"pem": format!("{}{}", good.chain, enc), "password": "nope"}),
            "password",
            "wrong passphrase",
        ),
        (
            "no passphrase",
            json!({"pem": format!("{}{}", good.chain, enc)}),
            "password",
            "encrypted",
        ),
        (
            "wrong PKCS#12 password",
            json!({"pkcs12": b64(&p12), "password": "nope"}),
            "password",
            "wrong PKCS#12 password",
        ),
        (
            "mismatched key",
            json!({"pem": format!("{}{}", good.chain, other.key)}),
            "pem",
            "does not match",
        ),
        (
            "expired",
            json!({"pem": format!("{}{}", expired.chain, expired.key)}),
            "pem",
            "expired",
        ),
        ("truncated PEM", json!({"pem": cut}), "pem", "no END line"),
        (
            "truncated PKCS#12",
            json!({"pkcs12": b64(&p12[..p12.len() / 2]), "password": P12_PASS}),
            "pkcs12",
            "export it again",
        ),
        (
            "not base64",
            json!({"pkcs12": "%%%", "password": P12_PASS}),
            "pkcs12",
            "base64",
        ),
        ("nothing", json!({"name": "x"}), "pem", "pkcs12"),
        (
            "both",
            json!({"pem": pem_with_key, "pkcs12": b64(&p12)}),
            "pkcs12",
            "not both",
        ),
        (
            "bad name",
            json!({"name": "../etc", "pem": pem_with_key}),
            "name",
            "not valid",
        ),
    ];
    for (what, body, field, needle) in cases {
        let r = api.post("/api/v1/certificates", &admin, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {r:?}");
        assert_eq!(r.field(), field, "{what}: {r:?}");
        assert!(r.message().contains(needle), "{what}: {r:?}");
        for secret in [KEY_PASS, P12_PASS, "nope"] {
            assert!(!r.message().contains(secret), "{what}: {r:?}");
        }
    }
    assert_eq!(files(&tls), before, "a refused import writes nothing");
    assert_eq!(api.audit_actions().len(), audit_before, "nor audits");

    // The body may carry 1 MiB of certificate material, not more.
    let padded = format!("{}\n{}", "#".repeat(200 * 1024), pem_with_key);
    let big = api
        .post(
            "/api/v1/certificates",
            &admin,
            json!({"name": "big", "pem": padded}),
        )
        .await;
    assert_eq!(big.status, StatusCode::CREATED, "{big:?}");
    let huge = api
        .post(
            "/api/v1/certificates",
            &admin,
            json!({"name": "huge", "pem": "#".repeat(3 << 20)}),
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE, "{huge:?}");
    assert!(!tls.join("huge.crt").exists());
}

#[tokio::test]
async fn reading_needs_the_read_scope_and_changes_the_write_scope() {
    let (api, admin, _dir, tls) = installed().await;
    let m = material("Example CA", 2030);
    let pem = format!("{}{}", m.chain, m.key);
    let r = api
        .post(
            "/api/v1/admins",
            &admin,
            json!({"name": "olivia", "password": "olivia-password-1", "role": "read-only"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let olivia = api.login("olivia", "olivia-password-1").await;
    assert_eq!(
        api.get("/api/v1/certificates", &olivia).await.status,
        StatusCode::OK
    );
    let (reader, _) = api
        .token(&admin, "cert-reader", &["certificates:read"])
        .await;
    let reader = Auth::Bearer(reader);
    let (other, _) = api.token(&admin, "devices", &["devices:write"]).await;
    let other = Auth::Bearer(other);
    assert_eq!(
        api.get("/api/v1/certificates", &reader).await.status,
        StatusCode::OK
    );
    let denied = api.get("/api/v1/certificates", &other).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{denied:?}");
    assert!(denied.message().contains("certificates:read"), "{denied:?}");
    assert_eq!(
        api.get("/api/v1/certificates/usages", &other).await.status,
        StatusCode::FORBIDDEN
    );
    for auth in [&olivia, &reader, &other] {
        let import = api
            .post("/api/v1/certificates", auth, json!({"pem": pem}))
            .await;
        assert_eq!(import.status, StatusCode::FORBIDDEN, "{import:?}");
        let assign = put(
            &api,
            "/api/v1/certificates/usages/admin",
            auth,
            json!({"certificates": ["default"]}),
        )
        .await;
        assert_eq!(assign.status, StatusCode::FORBIDDEN, "{assign:?}");
        let delete = api.delete("/api/v1/certificates/default", auth).await;
        assert_eq!(delete.status, StatusCode::FORBIDDEN, "{delete:?}");
    }
    assert!(files(&tls).is_empty(), "nothing written");

    // A session change needs the CSRF header; a write token may import.
    let Auth::Session { cookie, .. } = &admin else {
        panic!("a session")
    };
    let no_csrf = Auth::SessionNoCsrf {
        cookie: cookie.clone(),
    };
    let r = api
        .post("/api/v1/certificates", &no_csrf, json!({"pem": pem}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    let (writer, _) = api
        .token(&admin, "cert-writer", &["certificates:write"])
        .await;
    let r = api
        .post(
            "/api/v1/certificates",
            &Auth::Bearer(writer),
            json!({"pem": pem}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let actors: Vec<String> = {
        let page = api
            .get("/api/v1/audit?action=certificate.import", &admin)
            .await;
        page.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["actor"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(actors.len(), 1);
    assert!(actors[0].starts_with("token:"), "{actors:?}");
}

#[tokio::test]
async fn a_service_without_a_certificate_store_says_so() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    let r = api.get("/api/v1/certificates", &admin).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    assert!(r.message().contains("certificate store"), "{r:?}");
}

#[test]
fn a_change_whose_audit_entry_fails_says_it_was_made() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outpost.db");
    let tls = dir.path().join("tls");
    let service = outpost_api::Service::new(outpost_store::Store::open(&db).unwrap())
        .with_tls_dir(tls.clone());
    // The audit log made unwritable behind the service's back.
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute_batch(
        "CREATE TRIGGER audit_log_refused BEFORE INSERT ON audit_log \
         BEGIN SELECT RAISE(ABORT, 'audit refused'); END;",
    )
    .unwrap();
    let m = material("Example CA", 2030);
    let input = outpost_api::service::certificates::CertificateImportInput {
        pem: Some(format!("{}{}", m.chain, m.key)),
        ..Default::default()
    };
    let caller = outpost_api::service::Caller::cli("root", common::T0);
    let err = service.certificate_import(&caller, &input).unwrap_err();
    assert_eq!(err.status(), 500);
    let text = err.to_string();
    assert!(
        text.contains("was installed") && text.contains("audit entry could not be written"),
        "{text}"
    );
    assert!(tls.join("default.crt").exists(), "the change is made");
}

/// ACME requests over the API (issue 17 items 2 and 6): saved for the
/// gateway to carry out, listed with their state, renewed now (a later
/// stamp), refused with the field named, forgotten; imported certificates
/// are not renewed this way; each change audited.
#[tokio::test]
async fn acme_requests_are_saved_renewed_and_forgotten() {
    let (api, admin, _dir, tls) = installed().await;
    let ca_file = tls.parent().unwrap().join("acme-ca.pem");
    std::fs::write(&ca_file, material("ACME CA", 2030).chain).unwrap();
    let body = json!({
        "name": "le",
        "domains": ["SBC.Example.test"],
        "directory_url": "https://acme.example.test/dir",
        "port": 5002,
        "ca_file": ca_file.display().to_string(),
        "usages": ["sip-public", "web-services"],
    });
    let made = api
        .post("/api/v1/acme/requests", &admin, body.clone())
        .await;
    assert_eq!(made.status, StatusCode::ACCEPTED, "{made:?}");
    assert_eq!(made.body["state"], "pending");
    assert_eq!(made.body["domains"], json!(["sbc.example.test"]));
    assert_eq!(made.body["challenge"], "http-01");
    assert_eq!(made.body["port"], 5002);
    assert_eq!(made.body["renew_before_days"], 30);
    assert!(tls.join("acme/le.request.json").exists());

    let listed = api.get("/api/v1/acme/requests", &admin).await;
    assert_eq!(names(&listed), ["le"]);

    let stamp = made.body["requested_at"].as_i64().unwrap();
    let renewed = api
        .post("/api/v1/certificates/le/renew", &admin, json!({}))
        .await;
    assert_eq!(renewed.status, StatusCode::ACCEPTED, "{renewed:?}");
    assert!(renewed.body["requested_at"].as_i64().unwrap() > stamp);

    // Refusals: each names its field; nothing saved.
    for (field, spoil) in [
        ("domains", json!({"domains": ["*.example.test"]})),
        ("domains", json!({"domains": []})),
        ("challenge", json!({"challenge": "dns-01"})),
        ("usages", json!({"usages": ["sip"]})),
        (
            "directory_url",
            json!({"directory_url": "http://acme.example.test/dir"}),
        ),
        ("ca_file", json!({"ca_file": "/nonexistent/ca.pem"})),
        ("name", json!({"name": "Bad Name"})),
    ] {
        let mut bad = body.clone();
        for (k, v) in spoil.as_object().unwrap() {
            bad[k] = v.clone();
        }
        bad["name"] = spoil.get("name").cloned().unwrap_or(json!("other"));
        let refused = api.post("/api/v1/acme/requests", &admin, bad).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{refused:?}"
        );
        assert_eq!(refused.field(), field, "{refused:?}");
    }
    assert_eq!(
        names(&api.get("/api/v1/acme/requests", &admin).await),
        ["le"]
    );

    // An imported certificate: not renewed by ACME, and its name not taken.
    let imported = material("Example CA", 2030);
    let made = api
        .post(
            "/api/v1/certificates",
            &admin,
            json!({"name": "company", "pem": format!("{}{}", imported.chain, imported.key)}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    let renew = api
        .post("/api/v1/certificates/company/renew", &admin, json!({}))
        .await;
    assert_eq!(renew.status, StatusCode::NOT_FOUND, "{renew:?}");
    assert!(renew.message().contains("import a new one"), "{renew:?}");
    let mut taken = body.clone();
    taken["name"] = json!("company");
    let taken = api.post("/api/v1/acme/requests", &admin, taken).await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{taken:?}");

    let gone = api.delete("/api/v1/acme/requests/le", &admin).await;
    assert_eq!(gone.status, StatusCode::OK, "{gone:?}");
    assert!(!tls.join("acme/le.request.json").exists());
    let again = api.delete("/api/v1/acme/requests/le", &admin).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{again:?}");

    let actions = api.audit_actions();
    for action in [
        "certificate.acme_request",
        "certificate.renew",
        "certificate.acme_forget",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}
