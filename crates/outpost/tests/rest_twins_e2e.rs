//! Every CLI operation has its REST twin, exercised against a running
//! `outpost serve` over HTTPS with curl (issue 14 acceptance), with the
//! audit log holding exactly one entry per change and the test's secrets
//! in no answer, no log line and no database row that should not hold
//! them ("grep the DB and the logs for the test passwords: nothing").
//!
//! | CLI | REST |
//! | --- | --- |
//! | `admin setup-token` (pending?) | `GET /api/v1/setup` |
//! | `admin create` (first) | `POST /api/v1/setup` |
//! | `admin create --role` | `POST /api/v1/admins` |
//! | `admin list` | `GET /api/v1/admins` |
//! | `admin passwd` | `POST /api/v1/admins/{name}/password` |
//! | `token create` / `list` / `revoke` | `POST` / `GET /api/v1/tokens`, `DELETE /api/v1/tokens/{id}` |
//! | `audit [--action]` | `GET /api/v1/audit[?action=]` |
//! | `icps add` / `list` / `show` / `update` / `remove` | `POST` / `GET /api/v1/icps`, `GET` / `PATCH` / `DELETE /api/v1/icps/{name}` |
//! | `icps test [--all] [--timeout]` | `POST /api/v1/icps/{name}/test` |
//! | `devices add` / `list` / `show` / `update` / `remove` | `POST` / `GET /api/v1/devices`, `GET` / `PATCH` / `DELETE /api/v1/devices/{username}` |
//! | `devices import` | `POST /api/v1/devices/import` (CSV) |
//! | `guard status` | `GET /api/v1/guard` |
//! | `guard set` | `PATCH /api/v1/guard/settings` |
//! | `guard allow add` / `list` / `remove` | `POST` / `GET /api/v1/guard/allow`, `DELETE /api/v1/guard/allow/{entry}` |
//! | `guard deny list` / `remove` / `clear` | `GET /api/v1/guard/deny`, `DELETE /api/v1/guard/deny/{address}`, `DELETE /api/v1/guard/deny` |
//! | `settings list` | `GET /api/v1/settings`, `GET /api/v1/settings/{key}` |
//! | `settings set KEY VALUE` / `reset KEY` | `PATCH /api/v1/settings` `{"KEY": value}` / `{"KEY": null}` |
//!
//! Not twinned, by design: `admin setup-token --new` and `--check` (the
//! setup token is the bootstrap of the machine's own shell: over the
//! network, before any account exists, nobody could be authenticated to
//! reissue it), and `serve`, `init`, `check-config` (the process and its
//! files, not the management plane; `POST /api/v1/settings/validate`
//! checks values).
//!
//! Device passwords are kept in clear in the `devices` table by design
//! (the SIP digest on both sides needs them); a deleted row is overwritten
//! (`secure_delete`, tested in the store) but older page images stay in
//! the WAL until a checkpoint recycles it: the
//! database files are searched byte for byte for the secrets that are
//! never stored (the administrator passwords, the setup token, the API
//! tokens, a refused import's password), and row by row, every column of
//! every table except the two device password columns, for all of them.
//!
//! `outpost serve` on 127.0.64.x with a fake iPBX; no root needed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod admin_bed;
mod rest_twins;

use admin_bed::{Bed, Body, Cred};
use rest_twins::{
    ADMIN, ADMIN_PW, DEVICE_ICP_PW, DEVICE_PW, DEVICE_PW_NEW, IMPORT_ICP_PW, IMPORT_PW, NET,
    READER_PW, REFUSED_PW, Run, SETUP_TOKEN, accounts, audit_since, contains, database_bytes,
    database_rows, guard, last_audit_id, resources, settings, text,
};
use serde_json::Value;

#[test]
fn every_cli_operation_has_a_rest_twin_audited_without_secrets() {
    let mut bed = Bed::start(
        NET,
        &[("OUTPOST_SETUP_TOKEN", SETUP_TOKEN)],
        &["audit:read"],
    );
    let auditor = bed.token.clone();
    let first_id = last_audit_id(&bed, &auditor);
    let mut run = Run {
        bed: &bed,
        answers: Vec::new(),
        expected: Vec::new(),
    };

    let admin = accounts::accounts(&mut run);
    let token = resources::tokens_icps_and_devices(&mut run, &admin);
    guard::guard(&mut run, &admin);
    settings::settings(&mut run, &admin);

    // Logging out ends the session.
    run.call(
        "DELETE",
        "/api/v1/session",
        &Cred::Session(&admin),
        &Body::Empty,
        204,
    );
    run.audited("session.logout", ADMIN);
    run.call(
        "GET",
        "/api/v1/icps",
        &Cred::Session(&admin),
        &Body::Empty,
        401,
    );

    // The audit log: one entry per change, in order, each with its actor;
    // nothing for refused requests or reads. `outpost audit --action`'s
    // filter too.
    let entries = audit_since(&bed, &auditor, first_id);
    let got: Vec<(String, String)> = entries
        .iter()
        .map(|e| (text(&e["action"]), text(&e["target"])))
        .collect();
    assert_eq!(got, run.expected, "one audit entry per change, in order");
    for entry in &entries {
        // The CLI's changes (`settings set`, `reset`) are local; the
        // others came over the API.
        let cli = text(&entry["actor"]).starts_with("cli:");
        assert_eq!(entry["source"] == "local", cli, "{entry}");
    }
    let by_token: Vec<&Value> = entries
        .iter()
        .filter(|e| text(&e["actor"]) == format!("token:{}", token.1))
        .collect();
    assert_eq!(
        by_token.len(),
        11,
        "the ICP and device changes made with the token"
    );
    let r = run.call(
        "GET",
        "/api/v1/audit?action=device.&limit=500",
        &Cred::Token(&auditor),
        &Body::Empty,
        200,
    );
    let filtered: Vec<i64> = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["id"].as_i64())
        .filter(|id| *id > first_id)
        .rev()
        .collect();
    let devices: Vec<i64> = entries
        .iter()
        .filter(|e| text(&e["action"]).starts_with("device."))
        .filter_map(|e| e["id"].as_i64())
        .collect();
    assert_eq!(filtered, devices, "{r}");
    let audit_json = serde_json::to_string(&entries).unwrap();

    // Secrets: in no answer (the token's creation shows it once and was
    // not kept), no audit entry, no log line, no database row that should
    // not hold them.
    let answers = run.answers.join("\n");
    let never_stored = [
        ADMIN_PW,
        READER_PW[0],
        READER_PW[1],
        READER_PW[2],
        SETUP_TOKEN,
        REFUSED_PW,
        token.0.as_str(),
        auditor.as_str(),
    ];
    let device_secrets = [
        DEVICE_PW,
        DEVICE_PW_NEW,
        DEVICE_ICP_PW,
        IMPORT_PW,
        IMPORT_ICP_PW,
    ];
    let data_dir = bed.data_dir();
    let rows = database_rows(&data_dir);
    assert!(
        rows.contains("device.import"),
        "the dump reads the audit log"
    );
    let raw_running = database_bytes(&data_dir);
    bed.stop();
    let raw_stopped = database_bytes(&data_dir);
    let log = bed.log_text();
    assert!(
        log.contains("ICP tested through the API"),
        "the log was written"
    );
    for secret in never_stored.iter().chain(&device_secrets) {
        for (what, haystack) in [
            ("an API answer", &answers),
            ("the audit log", &audit_json),
            ("the serve log", &log),
            ("a database row", &rows),
        ] {
            assert!(!haystack.contains(secret), "{secret} found in {what}");
        }
    }
    // The byte search does see what is stored: the bed's device's
    // password, in clear in its row.
    assert!(contains(&raw_stopped, admin_bed::ALICE.1.as_bytes()));
    for secret in never_stored {
        for bytes in [&raw_running, &raw_stopped] {
            assert!(
                !contains(bytes, secret.as_bytes()),
                "{secret} found in the database files"
            );
        }
    }
}
