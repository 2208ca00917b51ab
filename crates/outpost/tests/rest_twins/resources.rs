//! API tokens (`token create`, `list`, `revoke`), and with a token ICPs
//! (`icps ...`, the test included) and devices (`devices ...`, the CSV
//! import included) over the API.

use serde_json::{Value, json};

use super::{
    DEVICE_ICP_PW, DEVICE_PW, DEVICE_PW_NEW, IMPORT_ICP_PW, IMPORT_PW, REFUSED_PW, Run, keys, text,
};
use crate::admin_bed::{Body, Cred, Session};

/// API tokens (`token create`, `list`, `revoke`), and with a token ICPs
/// (`icps add`, `list`, `show`, `update`, `test`, `remove`) and devices
/// (`devices add`, `list`, `show`, `update`, `import`, `remove`); returns
/// the token's value and id (revoked).
pub(crate) fn tokens_icps_and_devices(run: &mut Run<'_>, admin: &Session) -> (String, String) {
    let session = Cred::Session(admin);
    let new = json!({"name": "automation", "scopes": ["icps:write", "devices:write"], "expires_in_days": 7});
    // The one answer that shows the token: not kept.
    let created = run
        .bed
        .request("POST", "/api/v1/tokens", &session, &Body::Json(&new));
    assert_eq!(created.status, 201, "{}", created.text);
    let (value, id) = (text(&created.body["token"]), text(&created.body["id"]));
    run.audited("token.create", &id);
    let list = run.call("GET", "/api/v1/tokens", &session, &Body::Empty, 200);
    assert!(list.to_string().contains("automation"), "{list}");
    let bearer = Cred::Token(&value);

    icps(run, &bearer);
    devices(run, &bearer);
    let path = "/api/v1/icps/branch";
    run.call("DELETE", path, &bearer, &Body::Empty, 200);
    run.audited("icp.delete", "branch");

    run.call(
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        &session,
        &Body::Empty,
        200,
    );
    run.audited("token.revoke", &id);
    run.call("GET", "/api/v1/icps", &bearer, &Body::Empty, 401);
    (value, id)
}

pub(crate) fn icps(run: &mut Run<'_>, bearer: &Cred<'_>) {
    // `branch` on an address where nothing listens, `ipbx` (the bed's,
    // added with the CLI) on the fake iPBX.
    let branch = json!({"name": "branch", "host": run.bed.ip(6).to_string(), "sip_udp": true,
                        "sip_tls": false, "sip_port": 5060});
    run.call("POST", "/api/v1/icps", bearer, &Body::Json(&branch), 201);
    run.audited("icp.create", "branch");
    let list = run.call("GET", "/api/v1/icps", bearer, &Body::Empty, 200);
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let shown = run.call("GET", "/api/v1/icps/branch", bearer, &Body::Empty, 200);
    assert_eq!(shown["sip_port"], 5060);
    let patch = json!({"kind": "mivoice-5000"});
    let changed = run.call(
        "PATCH",
        "/api/v1/icps/branch",
        bearer,
        &Body::Json(&patch),
        200,
    );
    assert_eq!(changed["changed"], json!(["kind"]));
    run.audited("icp.update", "branch");

    // The test: the running gateway's answer is the CLI's report.
    let report = run.call("POST", "/api/v1/icps/ipbx/test", bearer, &Body::Empty, 200);
    assert_eq!(
        report["ok"], true,
        "the fake iPBX answers OPTIONS: {report}"
    );
    let cli: Value =
        serde_json::from_str(run.bed.cli(&["icps", "test", "ipbx", "--json"], &[]).trim()).unwrap();
    assert_eq!(
        keys(&report),
        keys(&cli),
        "the same report as icps test --json"
    );
    let steps = |r: &Value| -> Vec<(String, String)> {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (text(&s["step"]), text(&s["status"])))
            .collect()
    };
    assert_eq!(steps(&report), steps(&cli));
    assert_eq!(report["targets"], cli["targets"]);
    let options = json!({"all": true, "timeout_ms": 1000});
    let report = run.call(
        "POST",
        "/api/v1/icps/branch/test",
        bearer,
        &Body::Json(&options),
        200,
    );
    assert_eq!(
        report["ok"], false,
        "a failed test is a 200 whose ok says so: {report}"
    );
    let failed = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "fail")
        .unwrap();
    assert!(
        failed["fix"].as_str().is_some_and(|f| !f.is_empty()),
        "{failed}"
    );
    let r = run.reply("POST", "/api/v1/icps/nope/test", bearer, &Body::Empty, 404);
    assert!(
        r.message().contains("the ICPs are: ipbx, branch"),
        "{}",
        r.text
    );
}

pub(crate) fn devices(run: &mut Run<'_>, bearer: &Cred<'_>) {
    let device = json!({"setside_username": "2001", "setside_password": DEVICE_PW,
                        "icpside_username": "7001", "icpside_password": DEVICE_ICP_PW,
                        "icp": "branch", "description": "twin"});
    run.call("POST", "/api/v1/devices", bearer, &Body::Json(&device), 201);
    run.audited("device.create", "2001");
    let list = run.call(
        "GET",
        "/api/v1/devices?icp=branch",
        bearer,
        &Body::Empty,
        200,
    );
    assert_eq!(list["total"], 1, "{list}");
    let shown = run.call("GET", "/api/v1/devices/2001", bearer, &Body::Empty, 200);
    assert_eq!(shown["setside_password"], json!({"set": true}), "{shown}");
    let patch = json!({"setside_password": DEVICE_PW_NEW, "location": "Lyon"});
    run.call(
        "PATCH",
        "/api/v1/devices/2001",
        bearer,
        &Body::Json(&patch),
        200,
    );
    run.audited("device.update", "2001");

    // One bad line (line 3: not a MAC): 422 naming it, and nothing of the
    // file is written.
    let before = run.call("GET", "/api/v1/devices", bearer, &Body::Empty, 200);
    let bad = format!(
        "setside_username,setside_password,icpside_password,icp,clientid\n\
         3001,{IMPORT_PW},{IMPORT_ICP_PW},branch,00085d842061\n\
         3002,{REFUSED_PW},,branch,not-a-mac\n\
         3003,{IMPORT_PW},,branch,\n"
    );
    let r = run.reply(
        "POST",
        "/api/v1/devices/import?mode=create",
        bearer,
        &Body::Csv(&bad),
        422,
    );
    let lines = r.body["error"]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{}", r.text);
    assert_eq!(
        (&lines[0]["line"], &lines[0]["column"]),
        (&json!(3), &json!("clientid"))
    );
    let after = run.call("GET", "/api/v1/devices", bearer, &Body::Empty, 200);
    assert_eq!(after, before, "nothing of the file was written");
    for username in ["3001", "3002", "3003"] {
        run.call(
            "GET",
            &format!("/api/v1/devices/{username}"),
            bearer,
            &Body::Empty,
            404,
        );
    }
    let good = format!(
        "setside_username,setside_password,icpside_password,icp\n\
         3001,{IMPORT_PW},{IMPORT_ICP_PW},branch\n\
         3002,{IMPORT_PW},,branch\n"
    );
    let r = run.call(
        "POST",
        "/api/v1/devices/import?mode=create",
        bearer,
        &Body::Csv(&good),
        200,
    );
    assert_eq!(r["added"], 2, "{r}");
    run.audited("device.create", "3001");
    run.audited("device.create", "3002");
    run.audited("device.import", "devices");

    for username in ["3001", "3002"] {
        run.call(
            "DELETE",
            &format!("/api/v1/devices/{username}"),
            bearer,
            &Body::Empty,
            200,
        );
        run.audited("device.delete", username);
    }
    // Refused while a device uses it.
    run.call("DELETE", "/api/v1/icps/branch", bearer, &Body::Empty, 409);
    run.call("DELETE", "/api/v1/devices/2001", bearer, &Body::Empty, 200);
    run.audited("device.delete", "2001");
}
