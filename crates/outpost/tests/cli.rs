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
        vec!["devices", "update"],
        vec!["devices", "import"],
        vec!["init"],
        vec!["admin", "create"],
        vec!["admin", "list"],
        vec!["admin", "passwd"],
        vec!["token", "create"],
        vec!["token", "list"],
        vec!["token", "revoke"],
        vec!["audit"],
        vec!["settings"],
        vec!["settings", "list"],
        vec!["settings", "set"],
        vec!["settings", "reset"],
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
    assert!(ok(&["init"]).contains("created"));
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
    assert!(ok(&["devices", "import", csv.to_str().unwrap()]).contains("3 added"));
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
    assert!(outpost(dir.path(), &["init"]).status.success());
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

/// Runs the binary in `cwd` with none of Outpost's variables from the
/// caller's environment, plus `env`.
fn outpost_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outpost"));
    cmd.args(args).current_dir(cwd);
    for var in [
        "OUTPOST_DATA_DIR",
        "OUTPOST_CONFIG",
        "OUTPOST_SETUP_TOKEN",
        "OUTPOST_DEVICE_PASSWORD",
        "OUTPOST_DEVICE_ICP_PASSWORD",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run outpost")
}

fn succeeded(args: &[&str], out: &Output) -> String {
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// What a directory holds, by name.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the directory")
        .map(|e| {
            e.expect("read a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn the_data_directory_follows_the_configuration_file_not_the_shell() {
    let tmp = tempfile::tempdir().unwrap();
    let install = tmp.path().join("etc-outpost");
    let elsewhere = tmp.path().join("home");
    std::fs::create_dir_all(&install).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let config = install.join("outpost.toml");
    std::fs::write(&config, "fqdn = \"sbc.example.test\"\n").unwrap();
    let config_arg = config.to_str().unwrap();

    // Provisioned from the installation's directory, with a relative -c.
    let run = |cwd: &Path, args: &[&str], env: &[(&str, &str)]| {
        succeeded(args, &outpost_in(cwd, args, env))
    };
    run(&install, &["-c", "outpost.toml", "init"], &[]);
    run(
        &install,
        &[
            "-c",
            "outpost.toml",
            "icps",
            "add",
            "--name",
            "pbx",
            "--host",
            "192.0.2.5",
        ],
        &[],
    );
    run(
        &install,
        &[
            "-c",
            "outpost.toml",
            "devices",
            "add",
            "--username",
            "alice",
        ],
        &[("OUTPOST_DEVICE_PASSWORD", "Xq7-alice-secret")],
    );
    assert!(install.join("outpost-data/outpost.db").is_file());

    // Listed from another directory, by -c and by OUTPOST_CONFIG.
    let listed = run(&elsewhere, &["-c", config_arg, "devices", "list"], &[]);
    assert!(listed.lines().any(|l| l.starts_with("alice ")), "{listed}");
    let listed = run(
        &elsewhere,
        &["devices", "list", "--json"],
        &[("OUTPOST_CONFIG", config_arg)],
    );
    assert!(
        listed.contains("\"setside_username\":\"alice\""),
        "{listed}"
    );
    assert!(
        entries(&elsewhere).is_empty(),
        "nothing created in the working directory: {:?}",
        entries(&elsewhere)
    );

    // A relative data_dir in the file is relative to the file.
    std::fs::write(&config, "data_dir = \"var/db\"\n").unwrap();
    let missing = outpost_in(&elsewhere, &["-c", config_arg, "devices", "list"], &[]);
    assert!(!missing.status.success());
    let err = text(&missing.stderr);
    let expected = install.join("var/db/outpost.db");
    assert!(err.contains(&expected.display().to_string()), "{err}");
    assert!(
        err.contains(&format!("data_dir in {}", config.display())),
        "{err}"
    );
    run(&elsewhere, &["-c", config_arg, "init"], &[]);
    assert!(expected.is_file());
    assert!(entries(&elsewhere).is_empty(), "{:?}", entries(&elsewhere));
    let listed = run(&elsewhere, &["-c", config_arg, "icps", "list"], &[]);
    assert_eq!(listed.lines().count(), 1, "a new, empty database: {listed}");

    // --data-dir stays relative to the working directory.
    let listed = run(
        &install,
        &[
            "-c",
            config_arg,
            "--data-dir",
            "outpost-data",
            "devices",
            "list",
        ],
        &[],
    );
    assert!(listed.contains("alice"), "{listed}");
}

#[test]
fn commands_pointed_at_a_missing_database_fail_and_create_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let nowhere = tmp.path().join("nowhere");
    let nowhere_arg = nowhere.to_str().unwrap();
    let database = nowhere.join("outpost.db").display().to_string();
    for args in [
        vec!["devices", "list"],
        vec![
            "devices",
            "add",
            "--username",
            "bob",
            "--password",
            "Xq7-bob-secret",
        ],
        vec!["devices", "update", "bob", "--disable"],
        vec!["icps", "list"],
        vec!["icps", "add", "--name", "pbx", "--host", "192.0.2.5"],
        vec!["guard", "status"],
        vec!["admin", "list"],
        vec!["token", "list"],
        vec!["token", "revoke", "0123"],
        vec!["audit"],
        vec!["settings", "set", "sip.t1_ms", "600"],
        vec!["settings", "reset", "sip.t1_ms"],
    ] {
        let mut full = vec!["--data-dir", nowhere_arg];
        full.extend(&args);
        let out = outpost_in(&cwd, &full, &[]);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        for needle in [
            database.as_str(),
            "no Outpost database",
            "--data-dir or OUTPOST_DATA_DIR",
            "outpost serve",
        ] {
            assert!(
                err.contains(needle),
                "{args:?}: {needle:?} missing in {err}"
            );
        }
        assert!(text(&out.stdout).is_empty(), "{args:?}: no table printed");
        assert!(!nowhere.exists(), "{args:?} created {}", nowhere.display());
    }
    // Without any configuration: the working directory's default, named.
    let out = outpost_in(&cwd, &["devices", "list"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&cwd.join("outpost-data/outpost.db").display().to_string()),
        "{err}"
    );
    assert!(entries(&cwd).is_empty(), "{:?}", entries(&cwd));
    // A data directory without a database is not filled in either.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = outpost_in(
        &cwd,
        &["--data-dir", empty.to_str().unwrap(), "icps", "list"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(entries(&empty).is_empty(), "{:?}", entries(&empty));
}

#[test]
fn devices_update_changes_only_what_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data_arg = data.to_str().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut full = vec!["--data-dir", data_arg];
        full.extend(args);
        outpost_in(tmp.path(), &full, env)
    };
    let ok = |args: &[&str], env: &[(&str, &str)]| succeeded(args, &run(args, env));
    ok(&["init"], &[]);
    ok(
        &["icps", "add", "--name", "pbx1", "--host", "192.0.2.5"],
        &[],
    );
    ok(
        &["icps", "add", "--name", "pbx2", "--host", "192.0.2.6"],
        &[],
    );
    ok(
        &[
            "devices",
            "add",
            "--username",
            "4001",
            "--icp-username",
            "1001",
        ],
        &[
            ("OUTPOST_DEVICE_PASSWORD", "Xq7-set-side-1"),
            ("OUTPOST_DEVICE_ICP_PASSWORD", "Xq7-icp-side-1"),
        ],
    );
    let stored = || {
        let store = outpost_store::Store::open_existing(&data.join("outpost.db")).unwrap();
        store.device("4001").unwrap().unwrap()
    };

    // Exported password variables change nothing unless asked for.
    let out = ok(
        &[
            "devices",
            "update",
            "4001",
            "--location",
            "Lyon",
            "--mac",
            "00-08-5d-84-20-61",
        ],
        &[
            ("OUTPOST_DEVICE_PASSWORD", "Xq7-exported-set"),
            ("OUTPOST_DEVICE_ICP_PASSWORD", "Xq7-exported-icp"),
        ],
    );
    assert!(out.contains("updated device 4001: mac, location"), "{out}");
    let d = stored();
    assert_eq!(d.setside_password.expose(), "Xq7-set-side-1");
    assert_eq!(d.effective_icpside_password().expose(), "Xq7-icp-side-1");
    assert_eq!(d.mac.as_deref(), Some("00085D842061"));

    // Asked for: the ICP-side password from the environment, logged by name.
    let updated = run(
        &["devices", "update", "4001", "--icp-password-from-env"],
        &[
            ("OUTPOST_DEVICE_ICP_PASSWORD", "Xq7-icp-side-2"),
            ("OUTPOST_LOG", "debug"),
        ],
    );
    let shown = format!("{}{}", text(&updated.stdout), text(&updated.stderr));
    assert!(updated.status.success(), "{shown}");
    assert!(shown.contains("icpside_password"), "{shown}");
    assert!(
        !shown.contains("Xq7-icp-side-2"),
        "password leaked: {shown}"
    );
    assert_eq!(
        stored().effective_icpside_password().expose(),
        "Xq7-icp-side-2"
    );
    // ... and refused when the variable is missing.
    let missing = run(&["devices", "update", "4001", "--password-from-env"], &[]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("OUTPOST_DEVICE_PASSWORD"),
        "{}",
        text(&missing.stderr)
    );

    ok(
        &[
            "devices",
            "update",
            "4001",
            "--icp",
            "pbx2",
            "--disable",
            "--clear-mac",
            "--clear-location",
            "--description",
            "moved",
            "--icp-username",
            "",
            "--clear-icp-password",
        ],
        &[],
    );
    let d = stored();
    assert_eq!(d.icp, "pbx2");
    assert!(!d.enabled);
    assert_eq!((d.mac.as_deref(), d.location.as_deref()), (None, None));
    assert_eq!(d.description, "moved");
    assert_eq!(d.effective_icpside_username(), "4001");
    assert_eq!(d.effective_icpside_password().expose(), "Xq7-set-side-1");
    let again = ok(&["devices", "update", "4001", "--disable"], &[]);
    assert!(again.contains("unchanged"), "{again}");

    // Refusals name the problem; nothing given is a usage error.
    for (args, needle) in [
        (
            vec!["devices", "update", "nobody", "--enable"],
            "\"nobody\"",
        ),
        (
            vec!["devices", "update", "4001", "--icp", "nope"],
            "\"nope\"",
        ),
        (
            vec!["devices", "update", "4001", "--mac", "00-08"],
            "MAC address",
        ),
        (
            vec!["devices", "update", "4001", "--password", ""],
            "set-side password",
        ),
    ] {
        let out = run(&args, &[]);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let nothing = run(&["devices", "update", "4001"], &[]);
    assert_eq!(nothing.status.code(), Some(2));
    let both = run(&["devices", "update", "4001", "--enable", "--disable"], &[]);
    assert_eq!(both.status.code(), Some(2));
    assert!(
        stored().icp == "pbx2" && !stored().enabled,
        "refusals wrote nothing"
    );

    // Import in update mode, all or nothing.
    let csv = tmp.path().join("update.csv");
    std::fs::write(
        &csv,
        "setside_username;enabled;location\n4001;yes;Nice\nnobody;yes;\n",
    )
    .unwrap();
    let csv_arg = csv.to_str().unwrap();
    let refused = run(&["devices", "import", "--mode", "update", csv_arg], &[]);
    assert_eq!(refused.status.code(), Some(1));
    let err = text(&refused.stderr);
    assert!(
        err.contains("line 3") && err.contains("\"nobody\""),
        "{err}"
    );
    assert!(!stored().enabled, "nothing written");
    std::fs::write(&csv, "setside_username;enabled;location\n4001;yes;Nice\n").unwrap();
    let out = ok(&["devices", "import", "--mode", "update", csv_arg], &[]);
    assert!(out.contains("0 added, 1 updated"), "{out}");
    let d = stored();
    assert!(d.enabled);
    assert_eq!(d.location.as_deref(), Some("Nice"));
}

#[test]
fn an_unquoted_address_names_its_key_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("outpost.toml");
    std::fs::write(
        &file,
        "fqdn = \"sbc.example.test\"\n[ipbx]\naddress = 10.0.0.5\n",
    )
    .unwrap();
    let out = outpost_in(dir.path(), &["check-config", file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for needle in [
        "ipbx.address = 10.0.0.5".to_owned(),
        "not quoted".to_owned(),
        file.display().to_string(),
        "line 3".to_owned(),
        "write address = \"10.0.0.5\"".to_owned(),
    ] {
        assert!(err.contains(&needle), "{needle:?} missing in {err}");
    }
}
