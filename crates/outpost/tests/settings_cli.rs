//! `outpost settings set KEY VALUE` and `outpost settings reset KEY...`,
//! the CLI twins of `PATCH /api/v1/settings` (a value, and `null`), on a
//! real database: typed as the registry says, stored and listed with the
//! database as their source, reset to the default, audited as the CLI's
//! Unix user, refused by name when the file or the environment pins the
//! key (exit status 5) or the value is wrong (2).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs the binary on `data` with none of Outpost's variables from the
/// caller's environment, plus `env`.
fn outpost(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outpost"));
    cmd.arg("--data-dir").arg(data).args(args);
    for (var, _) in std::env::vars() {
        if var.starts_with("OUTPOST_") {
            cmd.env_remove(var);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run outpost")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = outpost(data, args, &[]);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `settings list --json`'s entry for `key`.
fn listed(data: &Path, key: &str) -> Value {
    ok(data, &["settings", "list", "--json"])
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .find(|e| e["key"] == key)
        .unwrap_or_else(|| panic!("{key} not listed"))
}

fn initialised() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    ok(dir.path(), &["init"]);
    dir
}

#[test]
fn set_and_reset_store_list_and_audit_like_the_api() {
    let dir = initialised();
    let data = dir.path();
    let said = ok(
        data,
        &["settings", "set", "registration.phone_expiry_secs", "60"],
    );
    assert_eq!(
        said.trim(),
        "registration.phone_expiry_secs: 120 -> 60 (stored; a running `outpost serve` applies \
         it within 2 s)"
    );
    let entry = listed(data, "registration.phone_expiry_secs");
    assert_eq!(
        (&entry["value"], &entry["source"]["kind"]),
        (&Value::from(60), &Value::from("database"))
    );

    // Typed by the registry: a boolean, a range as text; JSON on request.
    assert_eq!(
        listed(data, "media.strict_source")["value"],
        false,
        "its default"
    );
    ok(data, &["settings", "set", "media.strict_source", "true"]);
    assert_eq!(listed(data, "media.strict_source")["value"], true);
    let report: Value = serde_json::from_str(
        ok(
            data,
            &[
                "settings",
                "set",
                "public.rtp_ports",
                "30000-30999",
                "--json",
            ],
        )
        .trim(),
    )
    .expect("one JSON object");
    assert_eq!(report["changes"][0]["after"], "30000-30999");
    assert_eq!(report["changes"][0]["result"], "restart_needed");
    assert_eq!(report["restart_needed"], true);

    let said = ok(
        data,
        &[
            "settings",
            "reset",
            "registration.phone_expiry_secs",
            "media.strict_source",
        ],
    );
    assert!(
        said.contains("registration.phone_expiry_secs: 60 -> 120, reset to its default"),
        "{said}"
    );
    assert!(
        said.contains("media.strict_source: true -> false, reset"),
        "{said}"
    );
    let entry = listed(data, "registration.phone_expiry_secs");
    assert_eq!(
        (&entry["value"], &entry["source"]["kind"]),
        (&Value::from(120), &Value::from("default"))
    );
    let said = ok(
        data,
        &["settings", "reset", "registration.phone_expiry_secs"],
    );
    assert!(
        said.contains("unchanged: no stored value to remove"),
        "{said}"
    );

    // Audited as the CLI, newest first.
    let audit = ok(data, &["audit", "--action", "setting.", "--json"]);
    let entries: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let actions: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or("").to_owned(),
                e["target"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("setting.reset", "registration.phone_expiry_secs"),
        ("setting.reset", "media.strict_source"),
        ("setting.change", "public.rtp_ports"),
        ("setting.change", "media.strict_source"),
        ("setting.change", "registration.phone_expiry_secs"),
    ];
    assert_eq!(actions.len(), expected.len(), "{audit}");
    for ((action, target), (want_action, want_target)) in actions.iter().zip(expected) {
        assert_eq!(
            (action.as_str(), target.as_str()),
            (want_action, want_target),
            "{audit}"
        );
    }
    for entry in &entries {
        assert!(
            entry["actor"].as_str().unwrap_or("").starts_with("cli:"),
            "{entry}"
        );
    }
}

#[test]
fn pinned_keys_and_bad_values_are_refused_by_name_and_nothing_is_stored() {
    let dir = initialised();
    let data = dir.path();
    let file = dir.path().join("outpost.toml");
    std::fs::write(&file, "[sip]\nt4_ms = 6000\n").expect("the file written");
    let file_arg = file.to_str().expect("a UTF-8 path");
    let pinned = [("OUTPOST_REGISTRATION_MAX_CALLS", "50")];
    for args in [
        vec!["settings", "set", "registration.max_calls", "60"],
        vec!["settings", "reset", "registration.max_calls"],
    ] {
        let out = outpost(data, &args, &pinned);
        assert_eq!(
            out.status.code(),
            Some(5),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(
                "registration.max_calls is pinned by the environment variable \
                 OUTPOST_REGISTRATION_MAX_CALLS"
            ),
            "{}",
            text(&out.stderr)
        );
    }
    for args in [
        vec!["-c", file_arg, "settings", "set", "sip.t4_ms", "7000"],
        vec!["-c", file_arg, "settings", "reset", "sip.t4_ms"],
    ] {
        let out = outpost(data, &args, &[]);
        assert_eq!(
            out.status.code(),
            Some(5),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let needle = format!(
            "sip.t4_ms is pinned by the configuration file {} (line 2)",
            file.display()
        );
        assert!(text(&out.stderr).contains(&needle), "{}", text(&out.stderr));
    }
    for (args, says) in [
        (
            vec!["settings", "set", "sip.t1_ms", "20"],
            "allowed 50..10000",
        ),
        (
            vec!["settings", "set", "sip.t1ms", "600"],
            "did you mean \"sip.t1_ms\"",
        ),
        (
            vec!["settings", "set", "registration.phone_expiry_secs", "soon"],
            "registration.phone_expiry_secs",
        ),
        (
            vec!["settings", "set", "data_dir", "/srv"],
            "cannot be changed through the API",
        ),
    ] {
        let out = outpost(data, &args, &[]);
        let code = if args.contains(&"data_dir") { 5 } else { 2 };
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let audit = ok(data, &["audit", "--action", "setting.", "--json"]);
    assert!(
        audit.trim().is_empty(),
        "nothing stored or audited: {audit}"
    );
    assert_eq!(listed(data, "sip.t1_ms")["source"]["kind"], "default");
}
