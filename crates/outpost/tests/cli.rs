//! The `outpost` command line as an operator uses it: `--help`, `--version`,
//! `check-config`, `serve` refusing an invalid file, and the ICP/device
//! management commands on a real database.

use std::path::Path;
use std::process::{Command, Output};

fn outpost(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args(args)
        .env("OUTPOST_DATA_DIR", data_dir)
        .env_remove("OUTPOST_CONFIG")
        .env_remove("OUTPOST_SETUP_TOKEN")
        .output()
        .expect("run outpost")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn version_and_help_on_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let version = outpost(dir.path(), &["--version"]);
    assert!(version.status.success());
    assert!(text(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
    for sub in [
        vec!["serve"],
        vec!["check-config"],
        vec!["icps"],
        vec!["icps", "add"],
        vec!["icps", "list"],
        vec!["icps", "remove"],
        vec!["devices"],
        vec!["devices", "add"],
        vec!["devices", "list"],
        vec!["devices", "remove"],
        vec!["devices", "import"],
    ] {
        let mut args = sub.clone();
        args.push("--help");
        let out = outpost(dir.path(), &args);
        assert!(out.status.success(), "{sub:?} --help failed");
        assert!(text(&out.stdout).contains("Usage:"), "{sub:?} --help");
    }
}

const BAD_CONFIG: &str = r#"
[public]
address = "300.1.2.3"
sip_tls_port = 70000
[private]
interface = "0.0.0.0"
rtp_ports = "20000-20002"
"#;

#[test]
fn check_config_reports_every_error_and_serve_refuses_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, BAD_CONFIG).unwrap();
    let file_arg = file.to_str().unwrap();

    let check = outpost(dir.path(), &["check-config", file_arg]);
    assert_eq!(check.status.code(), Some(2));
    let report = text(&check.stderr);
    for needle in [
        "public.address",
        "300.1.2.3",
        "public.sip_tls_port",
        "70000",
        "private.interface",
        "0.0.0.0",
        "private.rtp_ports",
        "20000-20002",
    ] {
        assert!(report.contains(needle), "missing {needle:?} in:\n{report}");
    }

    let data = dir.path().join("data");
    let serve = outpost(&data, &["serve", "--config", file_arg]);
    assert_eq!(serve.status.code(), Some(2));
    assert_eq!(
        text(&serve.stderr),
        report,
        "serve must print the same messages"
    );
    assert!(
        !data.exists(),
        "serve must not create anything on an invalid config"
    );
}

#[test]
fn check_config_accepts_the_example_file() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../outpost.example.toml");
    let out = outpost(dir.path(), &["check-config", example]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("configuration OK"));
}

#[test]
fn icps_and_devices_round_trip_through_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ok = |args: &[&str]| {
        let out = outpost(&data, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    ok(&[
        "icps",
        "add",
        "--name",
        "pbx1",
        "--host",
        "198.18.2.10",
        "--transports",
        "udp,tcp",
    ]);
    let icps = ok(&["icps", "list", "--json"]);
    assert!(
        icps.contains("\"name\":\"pbx1\"") && icps.contains("\"default\":true"),
        "{icps}"
    );

    let secret = "Xq7-very-secret-pw";
    let out = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args([
            "devices",
            "add",
            "--username",
            "4001",
            "--icp-username",
            "1001",
            "--mac",
            "00-08-5d-84-20-61",
        ])
        .env("OUTPOST_DATA_DIR", &data)
        .env("OUTPOST_DEVICE_PASSWORD", secret)
        .env("OUTPOST_LOG", "debug")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains(secret) && !text(&out.stderr).contains(secret));

    let listed = ok(&["devices", "list", "--json"]);
    assert!(listed.contains("\"setside_username\":\"4001\""), "{listed}");
    assert!(listed.contains("\"icpside_username\":\"1001\""), "{listed}");
    assert!(listed.contains("\"clientid\":\"00085D842061\""), "{listed}");
    assert!(!listed.contains(secret));

    // A CSV with one bad line writes nothing and names the line.
    let csv = dir.path().join("devices.csv");
    std::fs::write(
        &csv,
        "setside_username;setside_password;icpside_username\n4002;pw-4002-long;\n4003;;1003\n4004;pw-4004-long;\n",
    )
    .unwrap();
    let import = outpost(&data, &["devices", "import", csv.to_str().unwrap()]);
    assert!(!import.status.success());
    let err = text(&import.stderr);
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    let listed = ok(&["devices", "list", "--json"]);
    assert_eq!(listed.lines().count(), 1, "rollback: {listed}");

    // Fixed, the same file imports all three; blank ICP side = set side.
    std::fs::write(
        &csv,
        "setside_username;setside_password;icpside_username\n4002;pw-4002-long;\n4003;pw-4003-long;1003\n4004;pw-4004-long;\n",
    )
    .unwrap();
    assert!(ok(&["devices", "import", csv.to_str().unwrap()]).contains("imported 3"));
    let listed = ok(&["devices", "list", "--json"]);
    assert_eq!(listed.lines().count(), 4);
    assert!(
        listed.contains("\"icpside_username\":\"4002\""),
        "blank ICP side: {listed}"
    );
    assert!(listed.contains("\"icpside_username\":\"1003\""), "{listed}");

    // The ICP cannot go while devices use it; devices can.
    let refused = outpost(&data, &["icps", "remove", "pbx1"]);
    assert!(!refused.status.success());
    ok(&["devices", "remove", "4001"]);
    assert_eq!(ok(&["devices", "list", "--json"]).lines().count(), 3);
    let missing = outpost(&data, &["devices", "remove", "4001"]);
    assert!(!missing.status.success());
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = outpost(
        dir.path(),
        &[
            "--log-format",
            "json",
            "icps",
            "add",
            "--name",
            "pbx1",
            "--host",
            "pbx.example.test",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let logs = text(&out.stderr);
    let mut seen = false;
    for line in logs.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if value["message"] == "ICP added" {
            assert_eq!(value["name"], "pbx1");
            assert_eq!(value["level"], "INFO");
            seen = true;
        }
    }
    assert!(seen, "no 'ICP added' event in:\n{logs}");
}
