//! Provisioning actions and imports against a real `outpost serve` (issue
//! 15 acceptance), on 127.0.74.x, 127.0.75.x and 127.0.76.x (see
//! `support`):
//!
//! - A deferred import scheduled a few seconds ahead through the CLI
//!   survives a stop of serve (SIGTERM) before it is due: after a start on
//!   the same data directory it runs, its files are listed and served over
//!   HTTPS under the hash key, and `outpost provisioning events` lists its
//!   events. Scheduling refuses a time in the past; a CSV with a bad MAC
//!   is recorded as a failed action naming the line.
//! - `kill -9` during a 1500-row import (the CLI, a process of its own
//!   writing to the store serve reads) leaves the previous files served:
//!   in a bounded number of attempts, each killed at a random moment of
//!   the import, the served set is afterwards wholly the old or wholly
//!   the new one, never a mix, and the store opens and passes SQLite's
//!   integrity check.
//! - An action `running` when serve is SIGKILLed is `interrupted` after
//!   the restart, with an event.
//! - `outpost devices export-mbg` writes `devices_mbg.csv` owner-only.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::Outpost;

const AGENT: &str = "Mitel6867i MAC:00-08-5D-23-74-29 V:6.3.0.1020-SIP";

/// The CLI on a data directory (without the test's OUTPOST_ variables).
fn cli_output(data: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outpost"));
    cmd.arg("--data-dir").arg(data).args(args);
    for (var, _) in std::env::vars() {
        if var.starts_with("OUTPOST_") {
            cmd.env_remove(var);
        }
    }
    cmd.output().expect("run outpost")
}

fn cli(data: &Path, args: &[&str]) -> String {
    let out = cli_output(data, args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn hash(data: &Path) -> String {
    let shown = json(&cli(data, &["provisioning", "hash", "show", "--json"]));
    shown["hash"].as_str().unwrap().to_owned()
}

/// `curl` over TLS (self-signed: -k) from `source`; the body, then the
/// status code on the last line.
fn fetch(outpost: &Outpost, source: &str, path: &str) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "-k", "--tlsv1.2", "--max-time", "10", "-A", AGENT])
        .args(["--interface", source, "-w", "\n%{http_code}"])
        .arg(format!("https://{}:4445{path}", outpost.ip))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (body.to_owned(), status.to_owned())
}

fn action_state(data: &Path, id: i64) -> serde_json::Value {
    let id = id.to_string();
    json(&cli(
        data,
        &["provisioning", "actions", "show", &id, "--json"],
    ))
}

#[test]
fn a_deferred_import_survives_a_restart_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let phones = dir.path().join("phones.csv");
    std::fs::write(
        &phones,
        "MAC_ADDRESS;!sip line1 user name;sip line1 password\n00-08-5D-23-74-29;7000;pw-7000-x\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "MAC_ADDRESS;sip line1 password\n00085D000001;a\n00085D000002;b\nnot-a-mac;c\n",
    )
    .unwrap();

    let outpost = Outpost::start(74, &[]);
    let data = outpost.data_dir();
    let key = hash(&data);

    // Refused when scheduled: a past time; a bad CSV is a failed action.
    let past = cli_output(
        &data,
        &[
            "provisioning",
            "actions",
            "schedule",
            "deploy",
            "--at",
            "2020-01-01T00:00:00Z",
        ],
    );
    assert!(!past.status.success());
    let said = String::from_utf8_lossy(&past.stderr);
    assert!(said.contains("in the past"), "{said}");
    let refused = cli_output(
        &data,
        &[
            "provisioning",
            "actions",
            "schedule",
            "import-phones",
            "--in",
            "1h",
            "--csv",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("failed") && said.contains("line 4"), "{said}");
    let failed = cli(
        &data,
        &[
            "provisioning",
            "actions",
            "list",
            "--state",
            "failed",
            "--json",
        ],
    );
    assert!(
        json(failed.lines().next().unwrap())["result"]
            .as_str()
            .unwrap()
            .contains("line 4")
    );

    // A few seconds ahead; serve is stopped before it is due.
    let scheduled = json(&cli(
        &data,
        &[
            "provisioning",
            "actions",
            "schedule",
            "import-phones",
            "--name",
            "night import",
            "--in",
            "4s",
            "--json",
            "--csv",
            phones.to_str().unwrap(),
        ],
    ));
    let id = scheduled["id"].as_i64().unwrap();
    assert_eq!(scheduled["state"], "pending");
    let dir_back = outpost.stop();
    let while_stopped = action_state(&data, id);
    assert_eq!(
        while_stopped["state"], "pending",
        "serve was stopped before the action was due: {while_stopped}"
    );
    assert!(
        cli(&data, &["provisioning", "files", "list", "--json"])
            .trim()
            .is_empty()
    );

    let outpost = Outpost::start_in(dir_back, 74, &[]);
    let deadline = Instant::now() + Duration::from_secs(40);
    let done = loop {
        let a = action_state(&data, id);
        if a["state"] != "pending" && a["state"] != "running" {
            break a;
        }
        assert!(
            Instant::now() < deadline,
            "action {id} never ran after the restart: {a}\n{}",
            outpost.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(done["state"], "done", "{done}");
    let listed = cli(&data, &["provisioning", "files", "list"]);
    assert!(listed.contains("00085D237429.cfg"), "{listed}");
    let (body, status) = fetch(&outpost, "127.0.74.9", &format!("/{key}/00085D237429.cfg"));
    assert_eq!(status, "200", "{body}");
    assert!(body.contains("!sip line1 user name: 7000"), "{body}");

    let events = cli(
        &data,
        &["provisioning", "events", "--action", &id.to_string()],
    );
    assert!(events.contains("scheduled by cli:"), "{events}");
    assert!(events.contains("started"), "{events}");
    assert!(
        events.contains("done: imported 1 phone file(s)"),
        "{events}"
    );
}

/// A remote-worker CSV of 1500 phones, MACs `<prefix>00000000`..., each
/// file naming its set.
fn big_csv(path: &Path, prefix: &str) {
    let mut text = String::from("MAC_ADDRESS;!sip line1 user name;sip line1 password\n");
    for i in 0..1500 {
        text.push_str(&format!(
            "{prefix}{i:08X};{prefix}-user-{i};pw-{prefix}-{i}\n"
        ));
    }
    std::fs::write(path, text).unwrap();
}

/// The set of phone files in the store: `Some(prefix)` when all 1500 are
/// one set's; panics on a mix. Also checks the store's integrity.
fn served_set(data: &Path) -> String {
    let conn = rusqlite::Connection::open_with_flags(
        data.join("outpost.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut stmt = conn
        .prepare("SELECT substr(name, 1, 4), count(*) FROM provisioning_files WHERE kind = 'phone' GROUP BY 1")
        .unwrap();
    let groups: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(groups.len(), 1, "a mix of sets: {groups:?}");
    assert_eq!(groups[0].1, 1500, "a partial set: {groups:?}");
    groups[0].0.clone()
}

/// A small xorshift generator, seeded from the clock (printed, so a
/// failure can be replayed by hand).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn kill_9_during_a_1500_row_import_leaves_the_previous_files_served() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    big_csv(&a, "0A00");
    big_csv(&b, "0C00");
    let outpost = Outpost::start(75, &[]);
    let data = outpost.data_dir();
    let key = hash(&data);

    // A full import's time, warm (the first run of the binary is slower).
    let mut full = Duration::MAX;
    for file in [&a, &b, &a] {
        let started = Instant::now();
        cli(&data, &["provisioning", "import", file.to_str().unwrap()]);
        full = full.min(started.elapsed());
    }
    assert_eq!(served_set(&data), "0A00");
    let wal = data.join("outpost.db-wal");

    let seed = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos(),
    ) | 1;
    eprintln!("kill -9 attempts: seed {seed}, a full import takes {full:?}");
    let mut rng = Rng(seed);
    let mut current = "0A00".to_owned();
    let (mut cut, mut finished) = (0, 0);
    for attempt in 0..12 {
        let (file, other) = if current == "0A00" {
            (&b, "0C00")
        } else {
            (&a, "0A00")
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_outpost"))
            .arg("--data-dir")
            .arg(&data)
            .args(["provisioning", "import", file.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let spawned = Instant::now();
        if attempt % 2 == 0 {
            // Anywhere from the start to a full import's time.
            let micros = u64::try_from(full.as_micros()).unwrap_or(u64::MAX);
            std::thread::sleep(Duration::from_micros(rng.next() % (micros + 1)));
        } else {
            // As soon as the write-ahead log changes: the transaction is
            // writing its pages (a kill then is inside the commit).
            let before = std::fs::metadata(&wal).and_then(|m| m.modified()).ok();
            while spawned.elapsed() < full * 3
                && std::fs::metadata(&wal).and_then(|m| m.modified()).ok() == before
            {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        let delay = spawned.elapsed();
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let now = served_set(&data);
        if now == other {
            finished += 1;
        } else {
            assert_eq!(now, current);
            assert!(
                !status.success(),
                "the import ended but its files are not there"
            );
            cut += 1;
        }
        eprintln!("attempt {attempt}: killed after {delay:?}, {status}, set {now}");
        current = now;
        // What the store says is what phones get.
        let (body, code) = fetch(
            &outpost,
            "127.0.75.9",
            &format!("/{key}/{current}00000007.cfg"),
        );
        assert_eq!(code, "200", "{body}");
        assert!(body.contains(&format!("{current}-user-7")), "{body}");
    }
    eprintln!("{cut} import(s) cut, {finished} finished before the kill");
    assert!(
        cut > 0,
        "no kill landed before an import ended; the test proved nothing"
    );
    // The store is fine for the next writer.
    cli(&data, &["provisioning", "import", a.to_str().unwrap()]);
    assert_eq!(served_set(&data), "0A00");
}

/// `outpost devices export-mbg FILE` (PRO-4) writes `devices_mbg.csv`
/// owner-only and never over an existing file; `actions schedule` without
/// a time runs the action in the CLI at once; the inventory's filters
/// refuse a bad value (exit 2 naming it). No serve needed.
#[test]
fn devices_export_mbg_writes_an_owner_only_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    cli(&data, &["init"]);
    cli(
        &data,
        &[
            "icps",
            "add",
            "--name",
            "icp1",
            "--host",
            "192.0.2.50",
            "--default",
        ],
    );
    cli(
        &data,
        &[
            "devices",
            "add",
            "--username",
            "62205",
            "--password",
            "Mitel5000",
        ],
    );
    let file = dir.path().join("devices_mbg.csv");
    let said = cli(&data, &["devices", "export-mbg", file.to_str().unwrap()]);
    assert!(said.contains("wrote 1 device(s)"), "{said}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "Login;NA;Password\r\n62205;62205;Mitel5000\r\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = cli_output(&data, &["devices", "export-mbg", file.to_str().unwrap()]);
    assert!(
        !again.status.success(),
        "an existing file is never replaced"
    );
    let stdout = cli(&data, &["devices", "export-mbg", "--icp", "icp1"]);
    assert!(stdout.starts_with("Login;NA;Password"), "{stdout}");

    // Without a time the CLI runs the action itself, at once.
    let phones = dir.path().join("phones.csv");
    std::fs::write(
        &phones,
        "MAC_ADDRESS;!sip line1 user name\n00-08-5D-23-74-29;7000\n",
    )
    .unwrap();
    let ran = cli(
        &data,
        &[
            "provisioning",
            "actions",
            "schedule",
            "import-phones",
            "--csv",
            phones.to_str().unwrap(),
        ],
    );
    assert!(
        ran.contains("[done 100%] imported 1 phone file(s)"),
        "{ran}"
    );
    let deleted = cli(
        &data,
        &[
            "provisioning",
            "actions",
            "schedule",
            "delete",
            "--mac",
            "00:08:5d:23:74:29",
            "--json",
        ],
    );
    assert_eq!(json(&deleted)["state"], "done", "{deleted}");
    assert!(
        cli(&data, &["provisioning", "files", "list", "--json"])
            .trim()
            .is_empty()
    );

    let bad = cli_output(
        &data,
        &["provisioning", "inventory", "list", "--registered", "maybe"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("registered"));
    let listed = cli(
        &data,
        &["provisioning", "inventory", "export", "--mac", "5d23"],
    );
    assert!(listed.starts_with("mac,model"), "{listed}");
}

/// An action `running` when serve is killed (SIGKILL: no clean-up) is
/// marked `interrupted` by the next start, with an event, never left
/// running, and its import wrote nothing. The kill lands while the action
/// runs: the store is polled until the action is `running` (a 1500-row
/// import runs long enough to be seen), in a few attempts at most.
#[test]
fn an_action_running_when_serve_is_killed_is_interrupted_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("big.csv");
    big_csv(&csv, "0A00");
    let mut outpost = Outpost::start(76, &[]);
    let data = outpost.data_dir();
    let mut imported_before = false;
    for attempt in 0..5 {
        let scheduled = json(&cli(
            &data,
            &[
                "provisioning",
                "actions",
                "schedule",
                "import-phones",
                "--in",
                "1s",
                "--json",
                "--csv",
                csv.to_str().unwrap(),
            ],
        ));
        let id = scheduled["id"].as_i64().unwrap();
        let conn = rusqlite::Connection::open_with_flags(
            data.join("outpost.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let state = |conn: &rusqlite::Connection| -> String {
            conn.query_row(
                "SELECT state FROM provisioning_actions WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap_or_default()
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while state(&conn) == "pending" && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(300));
        }
        let seen = state(&conn);
        let home = outpost.kill();
        let after_kill = state(&conn);
        drop(conn);
        outpost = Outpost::start_in(home, 76, &[]);
        if seen != "running" || after_kill != "running" {
            imported_before |= after_kill == "done";
            eprintln!("attempt {attempt}: action {id} was {seen}/{after_kill} at the kill; again");
            continue;
        }
        let cut = action_state(&data, id);
        assert_eq!(cut["state"], "interrupted", "{cut}");
        let texts: Vec<&str> = cut["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["text"].as_str().unwrap())
            .collect();
        assert!(
            texts
                .last()
                .unwrap()
                .starts_with("interrupted: Outpost stopped while this action ran"),
            "{texts:?}"
        );
        if !imported_before {
            assert!(
                cli(&data, &["provisioning", "files", "list", "--json"])
                    .trim()
                    .is_empty(),
                "the cut import wrote nothing"
            );
        }
        let events = cli(
            &data,
            &["provisioning", "events", "--action", &id.to_string()],
        );
        assert!(events.contains("interrupted"), "{events}");
        return;
    }
    panic!("no kill landed while an action ran in 5 attempts");
}
