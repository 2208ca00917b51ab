//! The administrator setup token as an installer meets it: a start that
//! fails after preparing the token (here: its admin port is taken, the last
//! listener it binds) spends nothing, and the next start prints a token that
//! verifies; `outpost admin setup-token --new` replaces a lost token and the
//! old one stops working. Runs the real binary on addresses of its own in
//! 127.0.53.0/24, with ports no other test uses.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use outpost_testbed::Process;

const START_TIMEOUT: Duration = Duration::from_secs(30);
const TOKEN_LINE: &str = "Administrator setup token (shown only this once): ";
const PUBLIC_IP: &str = "127.0.53.1";
const PRIVATE_IP: &str = "127.0.53.2";
const ADMIN_LISTEN: &str = "127.0.53.1:39464";

fn outpost(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outpost"));
    cmd.env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("OUTPOST_DATA_DIR", data_dir)
        .env("OUTPOST_PUBLIC_INTERFACE", PUBLIC_IP)
        .env("OUTPOST_PUBLIC_SIP_TLS_PORT", "35063")
        .env("OUTPOST_PUBLIC_RTP_PORTS", "35100-35199")
        .env("OUTPOST_PRIVATE_INTERFACE", PRIVATE_IP)
        .env("OUTPOST_PRIVATE_SIP_TLS_PORT", "35064")
        .env("OUTPOST_PRIVATE_RTP_PORTS", "35200-35299")
        .env("OUTPOST_ADMIN_LISTEN", ADMIN_LISTEN);
    cmd
}

fn serve(data_dir: &Path, log: PathBuf, name: &str) -> Process {
    let mut cmd = outpost(data_dir);
    cmd.arg("serve");
    Process::spawn(name, cmd, log).expect("start outpost serve")
}

/// Runs `outpost admin setup-token ARGS` with `input` on standard input.
fn setup_token(data_dir: &Path, args: &[&str], input: &str) -> Output {
    let mut child = outpost(data_dir)
        .args(["admin", "setup-token"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run outpost admin setup-token");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())
        .expect("write the token to its stdin");
    child.wait_with_output().expect("wait for outpost admin")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The tokens printed in `output`.
fn tokens(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| l.split(TOKEN_LINE).nth(1))
        .map(|t| t.trim().to_string())
        .collect()
}

fn the_token(output: &str) -> String {
    let found = tokens(output);
    assert_eq!(found.len(), 1, "one token expected in:\n{output}");
    found[0].clone()
}

fn assert_checks(data_dir: &Path, token: &str, valid: bool) {
    let out = setup_token(data_dir, &["--check"], &format!("{token}\n"));
    assert_eq!(
        out.status.success(),
        valid,
        "--check of {token}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    if !valid {
        assert!(
            text(&out.stderr).contains("not the pending setup token"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_failed_start_spends_no_token_and_the_next_start_prints_one() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("outpost-data");

    // The admin port is taken: every SIP listener binds, then the start fails.
    let blocker = TcpListener::bind(ADMIN_LISTEN).unwrap();
    let mut failed = serve(&data, work.path().join("failed.log"), "outpost-failed");
    let deadline = Instant::now() + START_TIMEOUT;
    let status = loop {
        if let Some(status) = failed.try_wait_exit().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "outpost did not fail:\n{}",
            failed.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = failed.log_text();
    assert!(!status.success(), "{log}");
    assert!(
        log.contains(ADMIN_LISTEN),
        "the failure names the port:\n{log}"
    );
    assert!(
        !log.contains(TOKEN_LINE),
        "token printed by a failed start:\n{log}"
    );
    let status = setup_token(&data, &[], "");
    assert!(status.status.success(), "{}", text(&status.stderr));
    assert!(
        text(&status.stdout).contains("No setup token has been issued"),
        "{}",
        text(&status.stdout)
    );

    // The port is free again: this start prints a token, and it verifies.
    drop(blocker);
    let mut started = serve(&data, work.path().join("started.log"), "outpost");
    started
        .wait_for_log("outpost running", START_TIMEOUT)
        .unwrap();
    let log = started.log_text();
    let token = the_token(&log);
    assert!(token.len() >= 40, "{token:?}");
    assert_eq!(log.matches(&token).count(), 1, "token logged:\n{log}");
    assert_checks(&data, &token, true);
    assert_checks(&data, "0123456789abcdef0123456789abcdef", false);
    let db = outpost_store::Store::open(&data.join("outpost.db")).unwrap();
    assert!(outpost::setup_token::verify(&db, &token).unwrap());
    drop(db);
    let status = started.stop().unwrap();
    assert!(status.success(), "{}", started.log_text());

    // Only the owner can read the database the digest is in.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("outpost.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "database mode {mode:o}");
    }

    // A later start prints nothing and says where a new token comes from.
    let mut again = serve(&data, work.path().join("again.log"), "outpost-again");
    again
        .wait_for_log("outpost running", START_TIMEOUT)
        .unwrap();
    let status = again.stop().unwrap();
    let log = again.log_text();
    assert!(status.success(), "{log}");
    assert!(!log.contains(TOKEN_LINE), "token printed twice:\n{log}");
    assert!(log.contains("setup-token --new"), "{log}");
    assert_checks(&data, &token, true);
}

#[test]
fn root_issues_a_new_token_and_the_old_one_stops_working() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("outpost-data");

    // No installation here: refused, naming the path, and nothing created.
    let out = setup_token(&data, &["--new"], "");
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&data.join("outpost.db").display().to_string()),
        "{err}"
    );
    assert!(!data.exists(), "a data directory was created");

    // An installation whose first token was lost.
    std::fs::create_dir(&data).unwrap();
    outpost_store::Store::open(&data.join("outpost.db")).unwrap();
    let first = setup_token(&data, &["--new"], "");
    assert!(first.status.success(), "{}", text(&first.stderr));
    let old = the_token(&text(&first.stdout));
    let status = setup_token(&data, &[], "");
    let said = text(&status.stdout);
    assert!(said.contains("A setup token is pending"), "{said}");
    assert!(!said.contains(&old), "the pending token was shown: {said}");

    let second = setup_token(&data, &["--new"], "");
    assert!(second.status.success(), "{}", text(&second.stderr));
    let said = text(&second.stdout);
    let new = the_token(&said);
    assert_ne!(new, old);
    assert!(
        said.contains("previous setup token no longer works"),
        "{said}"
    );
    assert_checks(&data, &new, true);
    assert_checks(&data, &old, false);

    // Documented in --help.
    for args in [
        &["admin", "--help"][..],
        &["admin", "setup-token", "--help"],
    ] {
        let out = outpost(&data).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let help = text(&out.stdout);
        assert!(help.contains("setup-token"), "{args:?}:\n{help}");
    }
    let help = text(
        &outpost(&data)
            .args(["admin", "setup-token", "--help"])
            .output()
            .unwrap()
            .stdout,
    );
    for needle in ["--new", "--check", "root or the service user"] {
        assert!(help.contains(needle), "{needle} missing:\n{help}");
    }
}
