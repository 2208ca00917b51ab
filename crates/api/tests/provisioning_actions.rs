//! Scheduled provisioning actions (PRO-9, issue 15 item 8) over
//! `/api/v1/provisioning/actions` and `/events`, with the runner on a
//! virtual clock: a deferred import waits for its time and then runs (the
//! clock moved by hand, the runner woken by the schedule's notifier);
//! scheduling refuses a time in the past or both a time and a delay; a
//! CSV with a bad MAC is recorded as a failed action whose result names
//! the line; a pending action is cancelled (and cannot be twice); a hash
//! change needs an administrator's password when it is scheduled; a
//! delete action removes phones' files by MAC list; everything audited,
//! and no payload (CSV with passwords) in any answer.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{ADMIN_PASSWORD, Api, Auth, T0};
use outpost_api::Clock;
use outpost_api::action_runner::ActionRunner;
use outpost_api::service::Service;
use outpost_store::Store;
use serde_json::{Value, json};

const ACTIONS: &str = "/api/v1/provisioning/actions";
const SECRET: &str = "sip-secret-7000";
const PHONES: &str = "MAC_ADDRESS;!sip line1 user name;sip line1 password\n00-08-5D-23-74-29;7000;sip-secret-7000\n00085D237430;7001;pw-7001-x\n";

/// An installation with its hash key, the administrator's session and the
/// service (for a runner).
async fn installed() -> (Api, Auth, Service) {
    let mut captured = None;
    let api = Api::set_up_with(|s| {
        let s = s.with_public_name("sbc.example.com");
        captured = Some(s.clone());
        s
    })
    .await;
    Store::open(&api.db_path)
        .unwrap()
        .ensure_provisioning_hash(T0)
        .unwrap();
    let admin = api.admin().await;
    (api, admin, captured.unwrap())
}

fn phone_files(api: &Api) -> Vec<String> {
    let store = Store::open_existing(&api.db_path).unwrap();
    store
        .provisioning_files()
        .unwrap()
        .into_iter()
        .filter(|f| f.kind.as_str() == "phone")
        .map(|f| f.name)
        .collect()
}

async fn action(api: &Api, auth: &Auth, id: i64) -> Value {
    let r = api.get(&format!("{ACTIONS}/{id}"), auth).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

/// Polls until action `id` is in `state` (a real-time deadline).
async fn wait_state(api: &Api, auth: &Auth, id: i64, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let a = action(api, auth, id).await;
        if a["state"] == state {
            return a;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "action {id} never {state}: {a}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_deferred_import_runs_when_due_and_logs_its_events() {
    let (api, admin, service) = installed().await;
    let clock: Arc<dyn Clock> = Arc::clone(&api.clock) as Arc<dyn Clock>;
    let runner = ActionRunner::new(service.clone(), clock);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(runner.run(async {
        let _ = stop_rx.await;
    }));

    let r = api
        .post(
            ACTIONS,
            &admin,
            json!({"kind": "import-phones", "name": "floor 2", "in": "60s", "csv": PHONES}),
        )
        .await;
    assert_eq!(r.status, 202, "{r:?}");
    let id = r.body["action"]["id"].as_i64().unwrap();
    assert_eq!(r.body["action"]["state"], "pending");
    assert_eq!(r.body["action"]["due"], T0 + 60);
    assert!(!r.body.to_string().contains(SECRET), "no payload shown");

    // Not due yet: the runner, woken by the schedule, leaves it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(action(&api, &admin, id).await["state"], "pending");
    assert!(phone_files(&api).is_empty());

    api.clock.advance(60);
    service.action_wakeup().notify_one();
    let done = wait_state(&api, &admin, id, "done").await;
    assert_eq!(done["progress"], 100);
    assert!(
        done["result"]
            .as_str()
            .unwrap()
            .contains("imported 2 phone file(s)"),
        "{done}"
    );
    assert_eq!(phone_files(&api).len(), 2);
    let texts: Vec<&str> = done["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(
        texts[0].starts_with("scheduled by account:alice"),
        "{texts:?}"
    );
    assert!(texts.contains(&"started"), "{texts:?}");
    assert!(texts.last().unwrap().starts_with("done"), "{texts:?}");

    // One action, not a second "import" recorded beside it.
    let all = api.get(ACTIONS, &admin).await;
    assert_eq!(all.body.as_array().unwrap().len(), 1, "{all:?}");
    let events = api
        .get(&format!("/api/v1/provisioning/events?action={id}"), &admin)
        .await;
    assert_eq!(events.status, 200, "{events:?}");
    assert_eq!(events.body.as_array().unwrap().len(), texts.len());
    let audit = api.audit_actions();
    assert!(
        audit.contains(&"provisioning.action.schedule".to_owned()),
        "{audit:?}"
    );
    assert!(
        audit.contains(&"provisioning.import".to_owned()),
        "{audit:?}"
    );
    let store = Store::open_existing(&api.db_path).unwrap();
    assert_eq!(
        store.action_payload(id).unwrap(),
        None,
        "the payload (a CSV with passwords) is cleared once the action ended"
    );
    let _ = stop_tx.send(());
    task.await.unwrap();
}

#[tokio::test]
async fn scheduling_refuses_bad_times_and_records_a_bad_csv_as_failed() {
    let (api, admin, _service) = installed().await;
    let past = api
        .post(
            ACTIONS,
            &admin,
            json!({"kind": "deploy", "at": "2023-11-14T22:00:00Z"}),
        )
        .await;
    assert_eq!(past.status, 422, "{past:?}");
    assert_eq!(past.field(), "at");
    assert!(past.message().contains("in the past"), "{past:?}");
    let both = api
        .post(
            ACTIONS,
            &admin,
            json!({"kind": "deploy", "at": "2030-01-01T00:00:00Z", "in": "5s"}),
        )
        .await;
    assert_eq!(both.status, 422, "{both:?}");
    let garbled = api
        .post(ACTIONS, &admin, json!({"kind": "deploy", "in": "soon"}))
        .await;
    assert_eq!(garbled.field(), "in", "{garbled:?}");
    let no_csv = api
        .post(ACTIONS, &admin, json!({"kind": "import-phones"}))
        .await;
    assert_eq!(no_csv.field(), "csv", "{no_csv:?}");
    assert!(
        api.get(ACTIONS, &admin)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing recorded for refused fields"
    );

    let bad = "MAC_ADDRESS;sip line1 password\n00085D000001;a\n00085D000002;b\nnot-a-mac;c\n";
    let r = api
        .post(
            ACTIONS,
            &admin,
            json!({"kind": "import-phones", "in": "1h", "csv": bad}),
        )
        .await;
    assert_eq!(r.status, 422, "{r:?}");
    assert_eq!(r.body["error"]["problems"][0]["line"], 4, "{r:?}");
    let failed = &r.body["error"]["action"];
    assert_eq!(failed["state"], "failed");
    assert!(
        failed["result"].as_str().unwrap().contains("line 4"),
        "{failed}"
    );
    let listed = api
        .get(&format!("{ACTIONS}?state=failed&kind=import"), &admin)
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1, "{listed:?}");
    let bad_filter = api.get(&format!("{ACTIONS}?state=sleeping"), &admin).await;
    assert_eq!(bad_filter.status, 422, "{bad_filter:?}");
    let unknown = api.get(&format!("{ACTIONS}?colour=red"), &admin).await;
    assert_eq!(unknown.status, 400, "{unknown:?}");
}

#[tokio::test]
async fn a_pending_action_is_cancelled_once() {
    let (api, admin, _service) = installed().await;
    let r = api
        .post(ACTIONS, &admin, json!({"kind": "deploy", "in": "1h"}))
        .await;
    let id = r.body["action"]["id"].as_i64().unwrap();
    let cancelled = api.delete(&format!("{ACTIONS}/{id}"), &admin).await;
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    assert_eq!(cancelled.body["state"], "failed");
    assert_eq!(cancelled.body["result"], "cancelled by account:alice");
    let again = api.delete(&format!("{ACTIONS}/{id}"), &admin).await;
    assert_eq!(again.status, 409, "{again:?}");
    let missing = api.delete(&format!("{ACTIONS}/999"), &admin).await;
    assert_eq!(missing.status, 404, "{missing:?}");
    assert!(
        api.audit_actions()
            .contains(&"provisioning.action.cancel".to_owned())
    );
}

#[tokio::test]
async fn a_hash_change_needs_the_password_when_scheduled_and_a_delete_takes_macs() {
    let (api, admin, service) = installed().await;
    let wrong = api
        .post(
            ACTIONS,
            &admin,
            json!({"kind": "hash-change", "in": "10s", "password": "not-it"}),
        )
        .await;
    assert_eq!(wrong.status, 401, "{wrong:?}");
    let ok = api
        .post(
            ACTIONS,
            &admin,
            json!({"kind": "hash-change", "in": "10s", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(ok.status, 202, "{ok:?}");
    assert!(
        ok.body["warning"]
            .as_str()
            .unwrap()
            .contains("re-provisioned")
    );
    let hash_id = ok.body["action"]["id"].as_i64().unwrap();
    assert!(!ok.body.to_string().contains(ADMIN_PASSWORD));

    let imported = api
        .post(
            ACTIONS,
            &admin,
            json!({"kind": "import-phones", "csv": PHONES}),
        )
        .await;
    let import_id = imported.body["action"]["id"].as_i64().unwrap();
    let delete = api
        .post(
            ACTIONS,
            &admin,
            json!({"kind": "delete", "csv": "MAC_ADDRESS\n00:08:5d:23:74:29\n00085D999999\n"}),
        )
        .await;
    assert_eq!(delete.status, 202, "{delete:?}");
    let delete_id = delete.body["action"]["id"].as_i64().unwrap();

    let old_hash = Store::open_existing(&api.db_path)
        .unwrap()
        .provisioning_hash()
        .unwrap()
        .unwrap()
        .expose()
        .to_owned();
    api.clock.advance(10);
    for id in service.due_action_ids(api.clock.now()).unwrap() {
        service.run_action(id, api.clock.now()).unwrap();
    }
    assert_eq!(action(&api, &admin, import_id).await["state"], "done");
    let deleted = action(&api, &admin, delete_id).await;
    assert_eq!(deleted["state"], "done", "{deleted}");
    assert!(
        deleted["result"].as_str().unwrap().contains("00085D999999"),
        "the MAC without a file is named: {deleted}"
    );
    assert_eq!(phone_files(&api), vec!["00085D237430.cfg".to_owned()]);
    assert_eq!(action(&api, &admin, hash_id).await["state"], "done");
    let new_hash = Store::open_existing(&api.db_path)
        .unwrap()
        .provisioning_hash()
        .unwrap()
        .unwrap()
        .expose()
        .to_owned();
    assert_ne!(old_hash, new_hash);
    let events = api.get("/api/v1/provisioning/events?limit=3", &admin).await;
    assert_eq!(events.body.as_array().unwrap().len(), 3, "{events:?}");
    assert!(
        !events.body.to_string().contains(&new_hash),
        "no key in events"
    );
}

/// A 1500-phone CSV (beyond the API's default body limit) can be
/// scheduled; one row more is refused and recorded as failed.
#[tokio::test]
async fn a_1500_phone_csv_fits_the_schedule_body_and_1501_is_refused() {
    let (api, admin, _service) = installed().await;
    let mut csv = String::from("MAC_ADDRESS;!sip line1 user name;sip line1 password\n");
    for i in 0..1500 {
        csv.push_str(&format!(
            "0A00{i:08X};user-{i};a-longer-password-number-{i}\n"
        ));
    }
    assert!(csv.len() > 64 * 1024, "{}", csv.len());
    let r = api
        .post(
            ACTIONS,
            &admin,
            json!({"kind": "import-phones", "in": "1h", "csv": csv}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.message());
    csv.push_str("0B0000000001;one-more;password-one-more\n");
    let r = api
        .post(
            ACTIONS,
            &admin,
            json!({"kind": "import-phones", "in": "1h", "csv": csv}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.message());
    assert_eq!(r.body["error"]["action"]["state"], "failed");
}
