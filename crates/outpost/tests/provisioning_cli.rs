//! `outpost provisioning ...` (issue 15), the CLI twins of
//! `/api/v1/provisioning`, on a real database: `init` generates the hash
//! key; `hash generate` needs an administrator's password (standard input
//! or OUTPOST_ADMIN_PASSWORD) and warns; a remote-worker CSV with a bad
//! line is refused naming the line and column (exit 2) and writes nothing;
//! files, inventory export and the actions log; startup/model/firmware
//! uploads with their name rules (exit 2) and their removal.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const PASSWORD: &str = "alice-password-1234";

/// Runs the binary on `data` with none of Outpost's variables from the
/// caller's environment, plus `env`, with `stdin` as standard input.
fn outpost(data: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outpost"));
    cmd.arg("--data-dir").arg(data).args(args);
    for (var, _) in std::env::vars() {
        if var.starts_with("OUTPOST_") {
            cmd.env_remove(var);
        }
    }
    cmd.envs(env.iter().copied())
        .env("OUTPOST_FQDN", "sbc.example.com")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run outpost");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("outpost output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(data: &Path, args: &[&str], stdin: &str) -> String {
    let out = outpost(data, args, &[], stdin);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// An installation with the administrator `alice`.
fn installed() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path();
    ok(data, &["init"], "");
    let said = ok(data, &["admin", "setup-token", "--new"], "");
    let token = said
        .lines()
        .find_map(|l| l.strip_prefix(outpost::admin_commands::TOKEN_LINE_PREFIX))
        .expect("a token line")
        .to_owned();
    let out = outpost(
        data,
        &["admin", "create", "alice", "--password-stdin"],
        &[("OUTPOST_SETUP_TOKEN", &token)],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir
}

fn hash(data: &Path) -> String {
    let shown = ok(data, &["provisioning", "hash", "show", "--json"], "");
    let v: serde_json::Value = serde_json::from_str(shown.trim()).expect("JSON");
    v["hash"].as_str().expect("a hash").to_owned()
}

#[test]
fn a_new_hash_needs_an_administrator_password() {
    let dir = installed();
    let data = dir.path();
    let first = hash(data);
    assert_eq!(first.len(), 32, "init generated it");

    let generate = [
        "provisioning",
        "hash",
        "generate",
        "--admin",
        "alice",
        "--password-stdin",
    ];
    let wrong = outpost(data, &generate, &[], "not-the-password\n");
    assert_eq!(wrong.status.code(), Some(3), "{}", text(&wrong.stderr));
    assert!(
        text(&wrong.stderr).contains("re-provisioned"),
        "warned first"
    );
    assert_eq!(hash(data), first, "unchanged");

    let right = outpost(data, &generate, &[], &format!("{PASSWORD}\n"));
    assert!(right.status.success(), "{}", text(&right.stderr));
    let second = hash(data);
    assert_ne!(second, first);
    assert!(text(&right.stdout).contains(&second));

    let from_env = outpost(
        data,
        &["provisioning", "hash", "generate", "--admin", "alice"],
        &[("OUTPOST_ADMIN_PASSWORD", PASSWORD)],
        "",
    );
    assert!(from_env.status.success(), "{}", text(&from_env.stderr));
    assert_ne!(hash(data), second);

    let audit = ok(data, &["audit", "--json"], "");
    assert!(audit.contains("provisioning.hash.generate"), "{audit}");
    assert!(
        !audit.contains(&first) && !audit.contains(&second),
        "{audit}"
    );
}

#[test]
fn an_import_is_all_or_nothing_with_line_and_column() {
    let dir = installed();
    let data = dir.path();
    let csv = dir.path().join("phones.csv");
    std::fs::write(
        &csv,
        "MAC_ADDRESS;!sip line1 user name;sip line1 password\n\
         00-08-5d-23-74-29;7000;pw-7000-secret\n\
         00085d2374zz;7001;pw-7001-secret\n",
    )
    .expect("write the CSV");
    let csv_path = csv.to_str().expect("UTF-8 path");
    let refused = outpost(data, &["provisioning", "import", csv_path], &[], "");
    assert_eq!(refused.status.code(), Some(2));
    let err = text(&refused.stderr);
    assert!(err.contains("line 3, column A (MAC_ADDRESS)"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!err.contains("pw-7001-secret"), "{err}");
    assert!(ok(data, &["provisioning", "files", "list", "--json"], "").is_empty());

    std::fs::write(
        &csv,
        "MAC_ADDRESS;!sip line1 user name;sip line1 password\n00-08-5d-23-74-29;7000;pw-7000-secret\n",
    )
    .expect("write the CSV");
    let said = ok(data, &["provisioning", "import", csv_path], "");
    assert!(
        said.contains("Imported 1 phone file(s), replacing 0 (system values filled in)"),
        "{said}"
    );
    let file = ok(
        data,
        &["provisioning", "files", "show", "00085D237429.cfg"],
        "",
    );
    assert!(file.contains("!sip line1 user name: 7000"), "{file}");
    assert!(file.contains("sbc.example.com"), "{file}");
    assert!(file.contains(&hash(data)), "{file}");

    assert_eq!(
        ok(data, &["provisioning", "inventory", "export"], ""),
        "mac,model,firmware,address,last_download,file,downloads,user,registered,sip_address\n"
    );
    let listed = ok(data, &["provisioning", "inventory", "list"], "");
    assert!(
        listed.starts_with("MAC ") && listed.contains(" REG "),
        "{listed}"
    );
    let removed = ok(
        data,
        &["provisioning", "files", "delete", "00:08:5D:23:74:29"],
        "",
    );
    assert!(removed.contains("Removed 1 phone file(s)"), "{removed}");
    let actions = ok(data, &["provisioning", "actions", "list"], "");
    assert!(actions.contains("delete phone files"), "{actions}");
    assert!(actions.contains("import remote-worker import"), "{actions}");
}

#[test]
fn uploads_are_named_and_sized_by_kind_and_removed_by_name() {
    let dir = installed();
    let data = dir.path();
    let files = tempfile::tempdir().expect("a temporary directory");
    let startup = files.path().join("my-startup.cfg");
    std::fs::write(&startup, "tftp server: 0.0.0.0\n").expect("write");
    let said = ok(
        data,
        &[
            "provisioning",
            "upload",
            "--kind",
            "startup",
            startup.to_str().expect("utf-8"),
        ],
        "",
    );
    assert!(
        said.contains("startup.cfg"),
        "the startup file's own name: {said}"
    );
    let firmware = files.path().join("6867i.st");
    std::fs::write(&firmware, [0u8, 1, 2, 3]).expect("write");
    let path = firmware.to_str().expect("utf-8");
    ok(
        data,
        &["provisioning", "upload", "--kind", "firmware", path],
        "",
    );
    // A model file must be <model>.cfg; aastra.cfg and <MAC>.cfg are not
    // uploads: refused as bad input (2), naming the rule.
    for (kind, name) in [
        ("model", "6867i.st"),
        ("firmware", "aastra.cfg"),
        ("firmware", "00085D237429.cfg"),
        ("firmware", "../x.st"),
    ] {
        let out = outpost(
            data,
            &[
                "provisioning",
                "upload",
                "--kind",
                kind,
                path,
                "--name",
                name,
            ],
            &[],
            "",
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "{kind} {name}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).contains("name"), "{}", text(&out.stderr));
    }
    // Sizes by kind, checked before reading: 1 MiB for a model file,
    // 64 MiB for firmware (sparse files).
    for (kind, name, len) in [
        ("model", "big.cfg", 1024 * 1024 + 1),
        ("firmware", "big.st", 64 * 1024 * 1024 + 1),
    ] {
        let big = files.path().join(name);
        std::fs::File::create(&big)
            .and_then(|f| f.set_len(len))
            .expect("a sparse file");
        let out = outpost(
            data,
            &[
                "provisioning",
                "upload",
                "--kind",
                kind,
                big.to_str().expect("utf-8"),
            ],
            &[],
            "",
        );
        assert_eq!(out.status.code(), Some(2), "{kind}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("at most"),
            "{}",
            text(&out.stderr)
        );
    }
    let listed = ok(data, &["provisioning", "files", "list"], "");
    assert!(
        listed.contains("6867i.st") && listed.contains("firmware"),
        "{listed}"
    );
    ok(data, &["provisioning", "remove-file", "6867i.st"], "");
    let again = outpost(data, &["provisioning", "remove-file", "6867i.st"], &[], "");
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("6867i.st"),
        "{}",
        text(&again.stderr)
    );
}
