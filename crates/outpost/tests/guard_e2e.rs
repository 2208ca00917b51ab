//! The guard against real attack tools and real load (issue "Guard"): a
//! SIPp flood while a real phone keeps working, sipvicious' svmap, svwar and
//! svcrack, 50 phones behind one NAT, the allow-list-only level, deny
//! expiry, and persistence across a restart.
//!
//!   attacker (198.18.0.66), phone A (198.18.0.20), home NAT (198.18.0.1)
//!   ─ inet ─ (198.18.0.10) Outpost (198.18.2.10) ─ lan ─ Kamailio (.20), B (.30)
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use outpost_testbed::{
    EventKind, Host, Ipbx, IpbxConfig, Lab, MediaEnc, Network, OutpostNode, OutpostSpec, Phone,
    PhoneConfig, require_tools, skip_e2e,
};

const SIP: Duration = Duration::from_secs(15);
const OPTIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/e2e/sipp/options.xml"
);
const REGISTER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/e2e/sipp/register_auth.xml"
);
const ATTACKER: &str = "198.18.0.66";

struct Bed {
    outpost: OutpostNode,
    gw: Host,
    ipbx: Ipbx,
    attacker: Host,
    inet: Network,
    lan: Network,
    lab: Lab,
}

/// `subscribers`: (number, password) at the iPBX; `devices_csv`: Outpost's
/// devices; `guard`: `outpost guard set` pairs applied before the start.
fn bed(
    tag: &str,
    subscribers: Vec<(String, String)>,
    devices_csv: String,
    guard: &[(&str, &str)],
) -> Bed {
    require_tools(&["sipp", "svmap", "svwar", "svcrack"], "the guard tests").unwrap();
    let lab = Lab::new(tag).unwrap();
    let inet = lab.network("inet", "198.18.0").unwrap();
    let lan = lab.network("lan", "198.18.2").unwrap();
    let attacker = lab.host("attacker", &inet, 66).unwrap();
    let gw = lab
        .host_multi("outpost", &[(&inet, 10), (&lan, 10)])
        .unwrap();
    let pbx_host = lab.host("ipbx", &lan, 20).unwrap();
    let ipbx = Ipbx::start(&pbx_host, IpbxConfig::new(subscribers).realm("ipbx.test")).unwrap();
    let mut extra = String::new();
    let _ = writeln!(extra, "fqdn = \"sbc.outpost.test\"");
    let outpost = OutpostNode::start(
        &gw,
        &OutpostSpec {
            binary: env!("CARGO_BIN_EXE_outpost").into(),
            public: inet.clone(),
            private: lan.clone(),
            ipbx: ipbx.addr(),
            devices: vec![],
            allow_list: vec![],
            devices_csv: Some(devices_csv),
            env: vec![],
            extra_toml: extra,
        },
    )
    .unwrap();
    let mut bed = Bed {
        outpost,
        gw,
        ipbx,
        attacker,
        inet,
        lan,
        lab,
    };
    if !guard.is_empty() {
        for (k, v) in guard {
            bed.outpost.cli(&["guard", "set", k, v]).unwrap();
        }
        // Settings are read at start; restart to take them for sure.
        bed.outpost.restart(&bed.gw).unwrap();
    }
    bed
}

fn workdir(lab: &Lab, name: &str) -> PathBuf {
    let dir = lab.dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs SIPp in `host` and returns its output.
fn sipp(host: &Host, dir: &Path, args: &[&str]) -> Output {
    host.command("sipp")
        .current_dir(dir)
        .args(args)
        .args(["-nostdin", "-trace_err"])
        .stdin(Stdio::null())
        .output()
        .expect("run sipp")
}

/// Whether one OPTIONS from `host` (bound to `ip`) to Outpost's public side
/// is answered within 3 s.
fn answered(host: &Host, dir: &Path, ip: &str) -> bool {
    sipp(
        host,
        dir,
        &[
            "-sf",
            OPTIONS,
            "198.18.0.10:5060",
            "-i",
            ip,
            "-p",
            "5070",
            "-m",
            "1",
            "-timeout",
            "3s",
            "-timeout_error",
            "-recv_timeout",
            "3000",
        ],
    )
    .status
    .success()
}

fn deny_list(outpost: &OutpostNode) -> Vec<serde_json::Value> {
    outpost
        .cli(&["guard", "deny", "list", "--json"])
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits until `address` is on a deny list and returns its entry.
fn wait_denied(outpost: &OutpostNode, address: &str, timeout: Duration) -> serde_json::Value {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(entry) = deny_list(outpost)
            .into_iter()
            .find(|e| e["address"] == address)
        {
            return entry;
        }
        assert!(
            Instant::now() < deadline,
            "{address} never denied; deny list {:?}",
            deny_list(outpost)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn subscribers(range: std::ops::Range<u32>) -> Vec<(String, String)> {
    range
        .map(|n| (n.to_string(), format!("icp-pw-{n}")))
        .collect()
}

fn devices_csv(range: std::ops::Range<u32>) -> String {
    let mut csv =
        String::from("setside_username;setside_password;icpside_username;icpside_password\n");
    for n in range {
        let _ = writeln!(csv, "ph{n};set-Pw-{n}-x;{n};icp-pw-{n}");
    }
    csv
}

#[test]
fn flood_is_denied_while_a_real_phone_keeps_working() {
    if skip_e2e() {
        return;
    }
    let bed = bed(
        "gflood",
        subscribers(3000..3002),
        devices_csv(3000..3002),
        &[],
    );
    let a_host = bed.lab.host("phone-a", &bed.inet, 20).unwrap();
    let b_host = bed.lab.host("phone-b", &bed.lan, 30).unwrap();
    let b = Phone::start(
        &b_host,
        PhoneConfig::new("3001", "icp-pw-3001", bed.ipbx.addr()).tone(700),
    )
    .unwrap();
    b.wait_registered(SIP).unwrap();

    // The flood: 3000 OPTIONS at 600/s from the attacker, in the background.
    let dir = workdir(&bed.lab, "flood");
    let mut flood = bed.attacker.command("sipp");
    flood
        .current_dir(&dir)
        .args([
            "-sf",
            OPTIONS,
            "198.18.0.10:5060",
            "-i",
            ATTACKER,
            "-m",
            "3000",
            "-r",
            "600",
            "-timeout",
            "20s",
            "-nostdin",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut flood = bed.attacker.spawn(flood, "sipp-flood").unwrap();

    // Meanwhile phone A registers (refreshing every 20 s would be too slow
    // for the test: a second registration proves it keeps working) and
    // calls B through Outpost.
    let mut config = PhoneConfig::new(
        "ph3000",
        "set-Pw-3000-x",
        "198.18.0.10:5060".parse().unwrap(),
    );
    config.domain = "sbc.outpost.test".into();
    // The public side requires SRTP by default (MED-3).
    config.mediaenc = Some(MediaEnc::SrtpMandatory);
    let a = Phone::start(&a_host, config).unwrap();
    a.wait_registered(SIP).unwrap();
    let entry = wait_denied(&bed.outpost, ATTACKER, Duration::from_secs(10));
    assert_eq!(entry["list"], "dos", "{entry}");
    a.dial("sip:3001@sbc.outpost.test").unwrap();
    b.wait_event(EventKind::CallIncoming, SIP).unwrap();
    b.answer().unwrap();
    a.wait_event(EventKind::CallEstablished, SIP).unwrap();
    a.hangup().unwrap();
    b.wait_event(EventKind::CallClosed, SIP).unwrap();
    let _ = flood.stop();

    // The attacker gets nothing any more, the phone still does.
    assert!(
        !answered(&bed.attacker, &dir, ATTACKER),
        "a denied source was answered"
    );
    assert!(
        answered(&a_host, &workdir(&bed.lab, "probe-a"), "198.18.0.20"),
        "the phone's address was hit"
    );
    assert!(
        deny_list(&bed.outpost)
            .iter()
            .all(|e| e["address"] != "198.18.0.20")
    );
}

#[test]
fn sipvicious_is_stopped() {
    if skip_e2e() {
        return;
    }
    let bed = bed("gsvv", subscribers(100..106), devices_csv(100..106), &[]);
    let dir = workdir(&bed.lab, "sipvicious");
    let run = |args: &[&str]| -> String {
        let out = bed
            .attacker
            .command(args[0])
            .current_dir(&dir)
            .args(&args[1..])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    // svmap: its signature puts it on the deny-list at once; a second scan
    // finds nothing.
    let first = run(&["svmap", "198.18.0.10", "-p", "5060", "-t", "0.05"]);
    let entry = wait_denied(&bed.outpost, ATTACKER, Duration::from_secs(10));
    assert_eq!(entry["reason"], "scanner", "{entry}\n{first}");
    let second = run(&["svmap", "198.18.0.10", "-p", "5060", "-t", "0.05"]);
    assert!(
        !second.contains("198.18.0.10:5060"),
        "svmap still sees Outpost:\n{second}"
    );

    // Cleared, svwar cannot enumerate the 6 devices (100..105).
    bed.outpost
        .cli(&["guard", "deny", "clear", "--yes"])
        .unwrap();
    wait_cleared(&bed, &dir);
    let war = run(&[
        "svwar",
        "-e90-130",
        "-m",
        "REGISTER",
        "198.18.0.10",
        "-t",
        "0.05",
    ]);
    let found = war
        .lines()
        .filter(|l| l.contains("| reqauth") || l.contains("| noauth"))
        .count();
    assert!(found <= 10, "svwar enumerated {found} extensions:\n{war}");
    assert!(
        war.lines().all(|l| !l.starts_with("| 10")),
        "svwar found a real device:\n{war}"
    );

    // Cleared again, svcrack never finds the password and is denied.
    bed.outpost
        .cli(&["guard", "deny", "clear", "--yes"])
        .unwrap();
    wait_cleared(&bed, &dir);
    let words = dir.join("words.txt");
    std::fs::write(
        &words,
        (0..200).map(|i| format!("guess{i}\n")).collect::<String>(),
    )
    .unwrap();
    let crack = run(&[
        "svcrack",
        "-u",
        "ph100",
        "-d",
        words.to_str().unwrap(),
        "198.18.0.10",
        "-t",
        "0.05",
    ]);
    assert!(
        !crack.contains("set-Pw-100-x"),
        "svcrack found the password:\n{crack}"
    );
    let entry = wait_denied(&bed.outpost, ATTACKER, Duration::from_secs(10));
    assert!(
        entry["list"] == "bruteforce" || entry["list"] == "dos",
        "{entry}"
    );
    let _ = (&bed.gw, &bed.lan);
}

/// Waits until the running server took the cleared lists: the attacker's
/// plain OPTIONS is answered again.
fn wait_cleared(bed: &Bed, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !answered(&bed.attacker, dir, ATTACKER) {
        assert!(
            Instant::now() < deadline,
            "the server never took the cleared deny list"
        );
    }
}

#[test]
fn fifty_phones_behind_one_nat_are_all_served() {
    if skip_e2e() {
        return;
    }
    let bed = bed(
        "gnat",
        subscribers(4000..4050),
        devices_csv(4000..4050),
        &[],
    );
    let home = bed.lab.network("home", "198.19.1").unwrap();
    let router = bed
        .lab
        .nat_router("nat", (&bed.inet, 1), (&home, 1))
        .unwrap();
    let office = bed.lab.host_behind("office", &home, 20, &router).unwrap();
    let dir = workdir(&bed.lab, "office");
    let mut users = String::from("SEQUENTIAL\n");
    for n in 4000..4050 {
        let _ = writeln!(
            users,
            "ph{n};[authentication username=ph{n} password=set-Pw-{n}-x]"
        );
    }
    std::fs::write(dir.join("users.csv"), users).unwrap();
    // All 50 at the same moment (rate 500/s, 50 at once).
    let out = sipp(
        &office,
        &dir,
        &[
            "-sf",
            REGISTER,
            "198.18.0.10:5060",
            "-i",
            "198.19.1.20",
            "-inf",
            "users.csv",
            "-set",
            "expires",
            "120",
            "-m",
            "50",
            "-r",
            "500",
            "-l",
            "50",
            "-timeout",
            "30s",
            "-timeout_error",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let bound = bed.ipbx.location().unwrap().len();
    assert_eq!(bound, 50, "every phone registered at the iPBX");
    assert!(
        deny_list(&bed.outpost).is_empty(),
        "an office was banned: {:?}",
        deny_list(&bed.outpost)
    );
}

#[test]
fn allow_list_only_serves_only_the_allow_list() {
    if skip_e2e() {
        return;
    }
    let bed = bed(
        "gallow",
        subscribers(5000..5001),
        devices_csv(5000..5001),
        &[("level", "allow-list-only")],
    );
    let friend = bed.lab.host("friend", &bed.inet, 30).unwrap();
    bed.outpost
        .cli(&["guard", "allow", "add", "198.18.0.30"])
        .unwrap();
    let dir = workdir(&bed.lab, "allow");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !answered(&friend, &dir, "198.18.0.30") {
        assert!(
            Instant::now() < deadline,
            "the allow-listed source is never served"
        );
    }
    assert!(
        !answered(&bed.attacker, &dir, ATTACKER),
        "a source off the allow-list was served"
    );
}

#[test]
fn denial_expires_and_survives_a_restart() {
    if skip_e2e() {
        return;
    }
    let mut bed = bed(
        "gexpire",
        subscribers(6000..6001),
        devices_csv(6000..6001),
        &[("deny_period", "30s")],
    );
    let dir = workdir(&bed.lab, "expire");
    let out = bed
        .attacker
        .command("svmap")
        .current_dir(&dir)
        .args(["198.18.0.10", "-p", "5060", "-t", "0.05"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let entry = wait_denied(&bed.outpost, ATTACKER, Duration::from_secs(10));
    let denied_at = Instant::now();
    assert!(
        entry["expires"].is_string() || entry["expires"].is_number(),
        "{entry}\n{out:?}"
    );
    bed.outpost
        .cli(&["guard", "allow", "add", "198.18.0.31"])
        .unwrap();

    // Restart: the deny entry and the allow entry are still there, and the
    // restored deny entry is enforced (a plain OPTIONS gets nothing).
    bed.outpost.restart(&bed.gw).unwrap();
    assert!(
        deny_list(&bed.outpost)
            .iter()
            .any(|e| e["address"] == ATTACKER)
    );
    assert!(
        bed.outpost
            .cli(&["guard", "allow", "list"])
            .unwrap()
            .contains("198.18.0.31")
    );
    assert!(
        !answered(&bed.attacker, &dir, ATTACKER),
        "the restored deny entry was not enforced"
    );

    // After the 30 s period the source is served again.
    let deadline = denied_at + Duration::from_secs(30 + 15);
    loop {
        if answered(&bed.attacker, &dir, ATTACKER) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still denied after the 30 s period"
        );
    }
    assert!(
        denied_at.elapsed() >= Duration::from_secs(25),
        "served again too early: {:?}",
        denied_at.elapsed()
    );
}
