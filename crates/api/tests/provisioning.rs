//! `/api/v1/provisioning` (issue 15): the hash key shown and replaced with
//! an administrator's password (never in the audit log), the remote-worker
//! CSV import all or nothing with every problem by line and column, the
//! global CSV, files, inventory and its CSV export, and the actions log.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;
mod resources;

use axum::http::Method;
use common::{ADMIN, ADMIN_PASSWORD, Api, Auth};
use outpost_provision::Mac;
use outpost_store::{Download, Store};
use resources::raw;
use serde_json::json;

const HASH: &str = "/api/v1/provisioning/hash";
const IMPORT: &str = "/api/v1/provisioning/phones/import";
const SECRET: &str = "sip-secret-7000";

async fn import(api: &Api, auth: &Auth, path: &str, csv: &str) -> common::Reply {
    raw(
        api,
        Method::POST,
        path,
        auth,
        Some("text/csv"),
        csv.to_owned(),
    )
    .await
}

async fn put_extra(api: &Api, auth: &Auth, name: &str, body: &str) -> common::Reply {
    let path = format!("/api/v1/provisioning/extra/{name}");
    raw(
        api,
        Method::PUT,
        &path,
        auth,
        Some("application/octet-stream"),
        body.to_owned(),
    )
    .await
}

fn audit_text(api: &Api) -> String {
    let store = Store::open_existing(&api.db_path).unwrap();
    let entries = store
        .audit_entries(&outpost_store::AuditFilter {
            limit: 500,
            ..Default::default()
        })
        .unwrap();
    format!("{entries:?}")
}

/// An installation set up, with its hash key generated as at first start.
async fn installed() -> (Api, Auth) {
    let api = Api::set_up_with(|s| s.with_public_name("sbc.example.com")).await;
    Store::open(&api.db_path)
        .unwrap()
        .ensure_provisioning_hash(common::T0)
        .unwrap();
    let admin = api.admin().await;
    (api, admin)
}

#[tokio::test]
async fn a_new_hash_needs_an_admin_password_and_is_never_audited() {
    let (api, admin) = installed().await;
    let shown = api.get(HASH, &admin).await;
    assert_eq!(shown.status, 200, "{shown:?}");
    let old = shown.body["hash"].as_str().unwrap().to_owned();
    assert_eq!(old.len(), 32);
    assert_eq!(shown.body["path"], format!("/{old}/"));

    let before = api.audit_actions();
    let wrong = api
        .post(HASH, &admin, json!({"password": "not-it-at-all"}))
        .await;
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert!(wrong.message().contains("unchanged"), "{wrong:?}");
    assert_eq!(
        api.audit_actions(),
        before,
        "a refused change is not audited"
    );
    assert_eq!(api.get(HASH, &admin).await.body["hash"], old.as_str());

    let other = api
        .post(
            HASH,
            &admin,
            json!({"admin": "bob", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(
        (other.status.as_u16(), other.field()),
        (422, "admin"),
        "{other:?}"
    );

    let made = api
        .post(HASH, &admin, json!({"password": ADMIN_PASSWORD}))
        .await;
    assert_eq!(made.status, 200, "{made:?}");
    let new = made.body["hash"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(
        made.body["warning"]
            .as_str()
            .unwrap()
            .contains("re-provisioned")
    );
    assert_eq!(api.get(HASH, &admin).await.body["hash"], new.as_str());
    assert_eq!(
        api.audit_actions().last().map(String::as_str),
        Some("provisioning.hash.generate")
    );
    let audit = audit_text(&api);
    assert!(!audit.contains(&new) && !audit.contains(&old), "{audit}");

    let actions = api.get("/api/v1/provisioning/actions", &admin).await;
    assert_eq!(actions.body[0]["kind"], "hash-change", "{actions:?}");
    assert_eq!(actions.body[0]["state"], "done");
}

#[tokio::test]
async fn tokens_name_the_confirming_admin_and_read_scope_sees_no_key() {
    let (api, admin) = installed().await;
    let (reader, _) = api.token(&admin, "reader", &["provisioning:read"]).await;
    let reader = Auth::Bearer(reader);
    assert_eq!(api.get(HASH, &reader).await.status, 403);
    assert_eq!(
        api.get("/api/v1/provisioning/files", &reader).await.status,
        200
    );

    let (writer, _) = api.token(&admin, "writer", &["provisioning:write"]).await;
    let writer = Auth::Bearer(writer);
    let unnamed = api
        .post(HASH, &writer, json!({"password": ADMIN_PASSWORD}))
        .await;
    assert_eq!((unnamed.status.as_u16(), unnamed.field()), (422, "admin"));
    let named = api
        .post(
            HASH,
            &writer,
            json!({"admin": ADMIN, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(named.status, 200, "{named:?}");
}

#[tokio::test]
async fn a_bad_row_is_reported_by_line_and_column_and_nothing_is_written() {
    let (api, admin) = installed().await;
    let before = api.audit_actions();
    let csv = format!(
        "MAC_ADDRESS;!sip line1 user name;sip line1 password\n\
         00-08-5d-84-20-61;7000;{SECRET}\n\
         not-a-mac;7001;{SECRET}\n"
    );
    let r = import(&api, &admin, IMPORT, &csv).await;
    assert_eq!(r.status, 422, "{r:?}");
    assert_eq!((r.code(), r.field()), ("invalid", "csv"));
    assert!(r.message().contains("nothing was written"), "{r:?}");
    let problems = r.body["error"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{r:?}");
    assert_eq!(problems[0]["line"], 3);
    assert_eq!(problems[0]["column"], "A");
    assert_eq!(problems[0]["column_name"], "MAC_ADDRESS");
    assert!(!r.body.to_string().contains(SECRET));
    assert_eq!(api.audit_actions(), before);
    let files = api.get("/api/v1/provisioning/files", &admin).await;
    assert_eq!(files.body, json!([]));

    let not_csv = raw(
        &api,
        Method::POST,
        IMPORT,
        &admin,
        Some("application/json"),
        "{}",
    )
    .await;
    assert_eq!(not_csv.status, 415, "{not_csv:?}");
}

#[tokio::test]
async fn an_import_replaces_the_phone_files_with_system_values() {
    let (api, admin) = installed().await;
    let hash = api.get(HASH, &admin).await.body["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let csv = format!(
        "MAC_ADDRESS,!sip line1 user name,sip line1 password,sip line1 display name\n\
         00:08:5D:23:74:29,7000,{SECRET},NOTDEFINED\n\
         00085d000002,7001,{SECRET},Bob\n"
    );
    let r = import(&api, &admin, IMPORT, &csv).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["kind"], "phones");
    assert_eq!(r.body["written"], 2);
    assert_eq!(r.body["macs"], json!(["00085D237429", "00085D000002"]));
    assert_eq!(r.body["system_values"], true);
    assert!(
        !audit_text(&api).contains(SECRET),
        "no password in the audit log"
    );

    let file = api
        .get("/api/v1/provisioning/files/00085D237429.cfg", &admin)
        .await;
    assert_eq!(file.status, 200, "{file:?}");
    let text = file.body["contents"].as_str().unwrap();
    assert!(text.contains("!sip line1 user name: 7000"), "{text}");
    assert!(
        !text.contains("display name"),
        "NOTDEFINED is left out: {text}"
    );
    assert!(text.contains("sbc.example.com"), "{text}");
    assert!(text.contains(&hash), "https path is the hash: {text}");

    // A second import replaces the whole set.
    let again = import(&api, &admin, IMPORT, "MAC_ADDRESS;x\n00085D000003;1\n").await;
    assert_eq!(
        (
            again.body["written"].clone(),
            again.body["replaced"].clone()
        ),
        (json!(1), json!(2))
    );
    let names: Vec<String> = api
        .get("/api/v1/provisioning/files", &admin)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["00085D000003.cfg"]);

    // A MAC-only file selects phones and writes nothing.
    let selection = import(&api, &admin, IMPORT, "MAC_ADDRESS\n00085D000009\n").await;
    assert_eq!(selection.body["kind"], "selection", "{selection:?}");
    assert_eq!(
        api.get("/api/v1/provisioning/files", &admin)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let gone = api
        .delete("/api/v1/provisioning/files/00-08-5d-00-00-03", &admin)
        .await;
    assert_eq!(gone.status, 200, "{gone:?}");
    let missing = api
        .delete("/api/v1/provisioning/files/00085D000003.cfg", &admin)
        .await;
    assert_eq!(missing.status, 404, "{missing:?}");
    let kinds: Vec<String> = api
        .get("/api/v1/provisioning/actions", &admin)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["delete", "import", "import"]);
}

#[tokio::test]
async fn the_global_csv_becomes_aastra_cfg() {
    let (api, admin) = installed().await;
    let r = import(
        &api,
        &admin,
        "/api/v1/provisioning/global/import",
        "PARAMETERS;VALUE\ntime server disabled;0\n!sip session timer;90\n",
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["file"]["name"], "aastra.cfg");
    assert_eq!(r.body["parameters"], 2);
    let file = api
        .get("/api/v1/provisioning/files/aastra.cfg", &admin)
        .await;
    assert!(
        file.body["contents"]
            .as_str()
            .unwrap()
            .contains("!sip session timer: 90"),
        "{file:?}"
    );
}

#[tokio::test]
async fn the_inventory_lists_exports_and_deletes_with_the_files() {
    let (api, admin) = installed().await;
    let r = import(&api, &admin, IMPORT, "MAC_ADDRESS;x\n00085D237429;1\n").await;
    assert_eq!(r.status, 200, "{r:?}");
    let mac = Mac::parse("00085D237429").unwrap();
    Store::open(&api.db_path)
        .unwrap()
        .record_download(&Download {
            mac,
            model: Some("6867i".to_owned()),
            firmware: Some("6.3.0.1020".to_owned()),
            address: "198.51.100.7".to_owned(),
            at: common::T0,
            file: mac.file_name(),
        })
        .unwrap();
    let list = api.get("/api/v1/provisioning/inventory", &admin).await;
    assert_eq!(list.body[0]["mac"], "00085D237429", "{list:?}");
    assert_eq!(list.body[0]["model"], "6867i");
    assert_eq!(list.body[0]["user"], json!(null), "no device has the MAC");
    assert_eq!(list.body[0]["registered"], false);

    // Joined with the device that has the MAC and its SIP status.
    let icp = api
        .post(
            "/api/v1/icps",
            &admin,
            json!({"name": "pbx", "host": "192.0.2.1"}),
        )
        .await;
    assert_eq!(icp.status, 201, "{icp:?}");
    let device = api
        .post(
            "/api/v1/devices",
            &admin,
            json!({"setside_username": "7000", "setside_password": "Xq7-device-pw-1",
                   "mac": "00-08-5d-23-74-29"}),
        )
        .await;
    assert_eq!(device.status, 201, "{device:?}");
    Store::open(&api.db_path)
        .unwrap()
        .set_device_status(&outpost_store::DeviceStatusRecord {
            setside_username: "7000".to_owned(),
            registered: true,
            connected: true,
            in_call: false,
            natted: true,
            last_address: Some("198.51.100.7:5062".to_owned()),
            updated: 1,
            bindings: Vec::new(),
        })
        .unwrap();
    let list = api.get("/api/v1/provisioning/inventory", &admin).await;
    assert_eq!(list.body[0]["user"], "7000", "{list:?}");
    assert_eq!(list.body[0]["registered"], true);
    assert_eq!(list.body[0]["sip_address"], "198.51.100.7:5062");
    let csv = api
        .get("/api/v1/provisioning/inventory/export", &admin)
        .await;
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.body.as_str().unwrap(),
        format!(
            "mac,model,firmware,address,last_download,file,downloads,user,registered,sip_address\n\
             00085D237429,6867i,6.3.0.1020,198.51.100.7,{},00085D237429.cfg,1,7000,yes,\
             198.51.100.7:5062\n",
            common::T0
        )
    );
    let bad = api
        .delete("/api/v1/provisioning/inventory/zz", &admin)
        .await;
    assert_eq!((bad.status.as_u16(), bad.field()), (422, "mac"));
    let removed = api
        .delete("/api/v1/provisioning/inventory/00085d237429", &admin)
        .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    assert_eq!(
        api.get("/api/v1/provisioning/inventory", &admin).await.body,
        json!([])
    );
    assert_eq!(
        api.get("/api/v1/provisioning/files", &admin).await.body,
        json!([]),
        "its file went too"
    );
    assert_eq!(
        api.audit_actions().last().map(String::as_str),
        Some("provisioning.inventory.delete")
    );
}

#[tokio::test]
async fn one_extra_file_with_a_checked_name() {
    let (api, admin) = installed().await;
    let r = put_extra(&api, &admin, "ca.pem", "-----BEGIN CERTIFICATE-----\n").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        (r.body["name"].clone(), r.body["kind"].clone()),
        (json!("ca.pem"), json!("extra"))
    );
    let r = put_extra(&api, &admin, "template.cfg", "a: 1\n").await;
    assert_eq!(r.status, 200, "{r:?}");
    for bad in ["aastra.cfg", "startup.cfg", "..%2Fx"] {
        let r = put_extra(&api, &admin, bad, "x").await;
        assert_eq!(
            (r.status.as_u16(), r.field()),
            (422, "name"),
            "{bad}: {r:?}"
        );
    }
    let names: Vec<String> = api
        .get("/api/v1/provisioning/files", &admin)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["template.cfg"], "one extra file, the last");
    assert_eq!(
        api.audit_actions().last().map(String::as_str),
        Some("provisioning.extra.upload")
    );
}
