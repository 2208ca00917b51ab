//! ICPs and devices over the REST API (issue 14): create, read, change and
//! remove round trips against the real store; each change audited with
//! who, from where, before and after; device passwords in no response and
//! no audit row.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;
mod resources;

use common::{ADMIN, Api, T0};
use resources::{DEVICE_PASSWORD, ICP_PASSWORD, audit_text, audited, device, patch, with_icp};
use serde_json::json;

#[tokio::test]
async fn icp_round_trip() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    let r = api
        .post(
            "/api/v1/icps",
            &admin,
            json!({"name": "pbx", "host": "[2001:db8::5]", "kind": "mivoice-5000",
                   "sip_udp": true, "sip_port": 5070}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["host"], "2001:db8::5", "stored without brackets");
    assert_eq!(r.body["is_default"], true, "the first ICP is the default");
    assert_eq!(r.body["sip_tls"], true);
    assert_eq!(r.body["xml_destination_port"], 4443);
    assert_eq!(r.body["guid"].as_str().unwrap().len(), 32);

    let r = api.get("/api/v1/icps/pbx", &admin).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["sip_port"]),
        (200, &json!(5070))
    );

    let r = patch(
        &api,
        "/api/v1/icps/pbx",
        &admin,
        json!({"host": "pbx.example.test", "sip_port": null, "sip_tcp": true}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["changed"], json!(["host", "sip_tcp", "sip_port"]));
    assert_eq!(r.body["icp"]["sip_port"], json!(null));
    let after = api.get("/api/v1/icps/pbx", &admin).await;
    assert_eq!(after.body["host"], "pbx.example.test");

    // The same values again: nothing changes, nothing is audited.
    let r = patch(
        &api,
        "/api/v1/icps/pbx",
        &admin,
        json!({"host": "pbx.example.test"}),
    )
    .await;
    assert_eq!((r.status.as_u16(), &r.body["changed"]), (200, &json!([])));

    // A second ICP made the default takes it over; the first cannot drop it.
    api.post(
        "/api/v1/icps",
        &admin,
        json!({"name": "b", "host": "192.0.2.2"}),
    )
    .await;
    let r = patch(&api, "/api/v1/icps/b", &admin, json!({"is_default": true})).await;
    assert_eq!(r.body["icp"]["is_default"], true, "{r:?}");
    let list = api.get("/api/v1/icps", &admin).await;
    let defaults: Vec<bool> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["is_default"].as_bool().unwrap())
        .collect();
    assert_eq!(defaults, [false, true]);
    let r = patch(&api, "/api/v1/icps/b", &admin, json!({"is_default": false})).await;
    assert_eq!((r.status.as_u16(), r.field()), (422, "is_default"), "{r:?}");

    // In use by a device: 409, then removable once the device is gone.
    device(&api, &admin, "4001", json!({"icp": "pbx"})).await;
    let r = api.delete("/api/v1/icps/pbx", &admin).await;
    assert_eq!(r.status, 409, "{r:?}");
    assert!(r.message().contains("1 device(s)"), "{r:?}");
    api.delete("/api/v1/devices/4001", &admin).await;
    let r = api.delete("/api/v1/icps/pbx", &admin).await;
    assert_eq!((r.status.as_u16(), &r.body["name"]), (200, &json!("pbx")));
    assert_eq!(api.get("/api/v1/icps/pbx", &admin).await.status, 404);

    let updates = audited(&api, "icp.update");
    assert_eq!(
        updates.len(),
        2,
        "no entry for the change that changed nothing"
    );
    let first = updates.last().unwrap();
    assert_eq!(first["actor"], format!("account:{ADMIN}"));
    assert_eq!(first["source"], "192.0.2.10");
    assert_eq!(first["at"], T0);
    assert_eq!(first["before"]["host"], "2001:db8::5");
    assert_eq!(first["after"]["host"], "pbx.example.test");
    let deleted = audited(&api, "icp.delete");
    assert_eq!(deleted[0]["before"]["name"], "pbx");
    assert_eq!(deleted[0]["after"], json!(null));
    assert_eq!(audited(&api, "icp.create").len(), 2);
}

#[tokio::test]
async fn device_round_trip_never_shows_a_password() {
    let (api, admin) = with_icp().await;
    let created = device(
        &api,
        &admin,
        "4001",
        json!({"icpside_username": "1001", "icpside_password": ICP_PASSWORD,
               "mac": "00-08-5d-84-20-61", "location": "Paris", "description": "Alice"}),
    )
    .await;
    assert_eq!(created["icp"], "pbx", "the default ICP");
    assert_eq!(created["mac"], "00085D842061");
    assert_eq!(created["setside_password"], json!({"set": true}));
    assert_eq!(created["icpside_password"], json!({"set": true}));
    assert_eq!(created["status"]["state"], "off");
    let mut seen = vec![created.to_string()];

    let shown = api.get("/api/v1/devices/4001", &admin).await;
    assert_eq!(shown.body["effective_icpside_username"], "1001");
    seen.push(shown.body.to_string());

    let r = patch(
        &api,
        "/api/v1/devices/4001",
        &admin,
        json!({"setside_password": "Xq7-new-device-secret", "icpside_password": null,
               "mac": null, "enabled": false}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["changed"],
        json!(["enabled", "setside_password", "icpside_password", "mac"])
    );
    assert_eq!(r.body["device"]["icpside_password"], json!({"set": false}));
    assert_eq!(r.body["device"]["mac"], json!(null));
    seen.push(r.body.to_string());
    {
        let stored = resources::store(&api).device("4001").unwrap().unwrap();
        assert_eq!(stored.setside_password.expose(), "Xq7-new-device-secret");
        assert!(!stored.enabled);
    }

    let list = api.get("/api/v1/devices", &admin).await;
    assert_eq!(list.body["total"], 1);
    seen.push(list.body.to_string());
    let removed = api.delete("/api/v1/devices/4001", &admin).await;
    assert_eq!(removed.status, 200);
    seen.push(removed.body.to_string());
    assert_eq!(api.get("/api/v1/devices/4001", &admin).await.status, 404);
    let again = api.delete("/api/v1/devices/4001", &admin).await;
    assert_eq!(again.status, 404);
    assert!(again.message().contains("4001"), "{again:?}");

    let audit = audit_text(&api);
    for text in seen.iter().chain([&audit]) {
        for secret in [DEVICE_PASSWORD, ICP_PASSWORD, "Xq7-new-device-secret"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    let update = &audited(&api, "device.update")[0];
    assert_eq!(update["before"]["enabled"], true);
    assert_eq!(update["after"]["enabled"], false);
    assert_eq!(update["before"]["mac"], "00085D842061");
    assert_eq!(update["after"]["setside_password"], "********");
    assert_eq!(
        audited(&api, "device.create")[0]["after"]["setside_username"],
        "4001"
    );
    assert_eq!(
        audited(&api, "device.delete")[0]["before"]["location"],
        "Paris"
    );
}

#[tokio::test]
async fn refused_devices_name_the_field_and_write_nothing() {
    let (api, admin) = with_icp().await;
    device(&api, &admin, "4001", json!({"mac": "00085d842061"})).await;
    let before = resources::state(&api);
    for (body, field, says) in [
        (
            json!({"setside_username": "4001", "setside_password": "x"}),
            "setside_username",
            "already exists",
        ),
        (
            json!({"setside_username": "4002", "setside_password": "x", "icp": "nope"}),
            "icp",
            "no ICP has this name",
        ),
        (
            json!({"setside_username": "4002", "setside_password": "x", "mac": "00085d842061"}),
            "mac",
            "already used by device \"4001\"",
        ),
        (
            json!({"setside_username": "bad user", "setside_password": "x"}),
            "setside_username",
            "not allowed",
        ),
        (
            json!({"setside_username": "4002", "setside_password": ""}),
            "setside_password",
            "empty",
        ),
    ] {
        let r = api.post("/api/v1/devices", &admin, body.clone()).await;
        assert_eq!(
            (r.status.as_u16(), r.field()),
            (422, field),
            "{body}: {r:?}"
        );
        assert!(r.message().contains(says), "{body}: {r:?}");
    }
    let r = patch(&api, "/api/v1/devices/4001", &admin, json!({})).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.message().contains("nothing to change"), "{r:?}");
    let r = patch(&api, "/api/v1/devices/4001", &admin, json!({"icp": "nope"})).await;
    assert_eq!((r.status.as_u16(), r.field()), (422, "icp"));
    let r = patch(
        &api,
        "/api/v1/devices/nobody",
        &admin,
        json!({"enabled": true}),
    )
    .await;
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(resources::state(&api), before, "refusals wrote nothing");
}
