//! The inventory's filters (PRO-8: MAC substring, model, registered or
//! not, last download before/after) over the list and the CSV export, and
//! `devices_mbg.csv` (PRO-4): `Login;NA;Password` rows with set-side
//! passwords, for write access only, audited, filtered by ICP.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Api, Auth, T0};
use outpost_provision::Mac;
use outpost_store::{Download, NewDevice, NewIcp, Secret, Store};

const INVENTORY: &str = "/api/v1/provisioning/inventory";
const MBG: &str = "/api/v1/devices/export/mbg.csv";

fn download(store: &mut Store, mac: &str, model: &str, at: i64) {
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

fn macs(reply: &common::Reply) -> Vec<String> {
    reply
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["mac"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_inventory_filters_its_list_and_its_export() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    {
        let mut store = Store::open(&api.db_path).unwrap();
        download(&mut store, "00085D237429", "6867i", T0 - 3600);
        download(&mut store, "00085D237430", "6869i", T0 - 60);
        download(&mut store, "00085D990001", "6867i", T0);
    }
    let all = api.get(INVENTORY, &admin).await;
    assert_eq!(macs(&all).len(), 3, "{all:?}");
    let by_mac = api.get(&format!("{INVENTORY}?mac=5d:23:74"), &admin).await;
    assert_eq!(macs(&by_mac), ["00085D237429", "00085D237430"]);
    let by_model = api
        .get(&format!("{INVENTORY}?model=6867I&mac=2374"), &admin)
        .await;
    assert_eq!(macs(&by_model), ["00085D237429"]);
    let recent = api
        .get(&format!("{INVENTORY}?after={}", T0 - 60), &admin)
        .await;
    assert_eq!(macs(&recent), ["00085D237430", "00085D990001"]);
    let old = api
        .get(&format!("{INVENTORY}?before=2023-11-14T22:00:00Z"), &admin)
        .await;
    assert_eq!(macs(&old), ["00085D237429"], "{old:?}");
    let unregistered = api.get(&format!("{INVENTORY}?registered=no"), &admin).await;
    assert_eq!(macs(&unregistered).len(), 3);
    let registered = api
        .get(&format!("{INVENTORY}?registered=yes"), &admin)
        .await;
    assert!(macs(&registered).is_empty());

    for (query, field) in [
        ("registered=maybe", "registered"),
        ("mac=zz", "mac"),
        ("before=yesterday", "before"),
    ] {
        let r = api.get(&format!("{INVENTORY}?{query}"), &admin).await;
        assert_eq!(r.status, 422, "{query}: {r:?}");
        assert_eq!(r.field(), field, "{r:?}");
    }
    let unknown = api.get(&format!("{INVENTORY}?colour=red"), &admin).await;
    assert_eq!(unknown.status, 400, "{unknown:?}");

    let csv = api
        .get(&format!("{INVENTORY}/export?model=6867i"), &admin)
        .await;
    assert_eq!(csv.status, 200, "{csv:?}");
    let text = csv.body.as_str().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("mac,model,"), "{text}");
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[1].starts_with("00085D237429,6867i"), "{text}");
}

#[tokio::test]
async fn devices_mbg_csv_has_login_na_password_for_writers_only_and_is_audited() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    {
        let mut store = Store::open(&api.db_path).unwrap();
        let mut icp = NewIcp::new("icp1", "192.0.2.50");
        icp.is_default = true;
        store.add_icp(&icp).unwrap();
        store.add_icp(&NewIcp::new("icp2", "192.0.2.51")).unwrap();
        let mut a = NewDevice::new("62205", Secret::new("Mitel5000".to_owned()));
        a.icp = Some("icp1".to_owned());
        store.add_device(&a).unwrap();
        let mut b = NewDevice::new("ab062209", Secret::new("pw;with\"quote".to_owned()));
        b.icpside_username = "62209".to_owned();
        b.icp = Some("icp2".to_owned());
        store.add_device(&b).unwrap();
    }
    let r = api.get(MBG, &admin).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.headers["content-disposition"],
        "attachment; filename=\"devices_mbg.csv\""
    );
    assert_eq!(
        r.body.as_str().unwrap(),
        "Login;NA;Password\r\n62205;62205;Mitel5000\r\nab062209;62209;\"pw;with\"\"quote\"\r\n"
    );
    let one = api.get(&format!("{MBG}?icp=icp2"), &admin).await;
    assert_eq!(
        one.body.as_str().unwrap().lines().count(),
        2,
        "header and icp2's device: {one:?}"
    );
    let missing = api.get(&format!("{MBG}?icp=nope"), &admin).await;
    assert_eq!(missing.status, 404, "{missing:?}");
    assert!(
        api.audit_actions()
            .iter()
            .filter(|a| *a == "device.export.mbg")
            .count()
            == 2
    );
    let audit = format!(
        "{:?}",
        Store::open_existing(&api.db_path)
            .unwrap()
            .audit_entries(&outpost_store::AuditFilter {
                limit: 100,
                ..Default::default()
            })
            .unwrap()
    );
    assert!(!audit.contains("Mitel5000"), "no password in the audit log");

    let (token, _) = api.token(&admin, "reader", &["devices:read"]).await;
    let denied = api.get(MBG, &Auth::Bearer(token)).await;
    assert_eq!(denied.status, 403, "{denied:?}");
    let (token, _) = api.token(&admin, "writer", &["devices:write"]).await;
    let allowed = api.get(MBG, &Auth::Bearer(token)).await;
    assert_eq!(allowed.status, 200, "{allowed:?}");
}
