//! SIPp through Outpost (issue "Remote workers through the B2BUA"):
//! 200 distinct phones register over TLS to the Kamailio iPBX and then
//! unregister; 500 calls from a SIPp phone to a SIPp UAS acting as the iPBX
//! show one Call-ID per leg and no failure.
//!
//! Debian's SIPp has no TLS, so the phones' TCP connections (one per phone,
//! `-t tn`) go through a local stunnel client that carries each over its own
//! TLS connection to Outpost, verifying Outpost's certificate.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use outpost_testbed::{
    Host, Ipbx, IpbxConfig, Lab, OutpostNode, OutpostSpec, Process, metric_sum, metrics,
    require_tools, skip_e2e,
};

const PHONES: u32 = 200;
// The load generators (one address sending for hundreds of phones) are
// allow-listed, as an operator would for a test or trunk host; the guard's
// own shared-NAT behaviour is tested separately.
const CALLS: u32 = 500;
const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/e2e/sipp");

fn sipp(host: &Host, dir: &Path, args: &[&str]) -> String {
    let out = host
        .command("sipp")
        .current_dir(dir)
        .args(args)
        .args(["-nostdin", "-trace_err", "-trace_stat", "-timeout_error"])
        .stdin(Stdio::null())
        .output()
        .expect("run sipp");
    let errors: String = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with("_errors.log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "sipp {args:?} failed ({}):\n{stdout}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        errors.chars().take(4000).collect::<String>()
    );
    stdout
}

fn stunnel(host: &Host, dir: &Path, accept: &str, connect: &str, ca: &Path) -> Process {
    let log = dir.join("stunnel.log");
    let conf = dir.join("stunnel.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\noutput = {}\ndebug = notice\n[sip]\nclient = yes\naccept = {accept}\nconnect = {connect}\nCAfile = {}\nverifyChain = yes\ncheckHost = sbc.outpost.test\nsslVersionMin = TLSv1.2\n",
            log.display(),
            ca.display()
        ),
    )
    .unwrap();
    let mut cmd = host.command("stunnel");
    cmd.arg(&conf);
    let process = host.spawn(cmd, "stunnel").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("Configuration successful")
    {
        assert!(Instant::now() < deadline, "stunnel did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    process
}

#[test]
fn two_hundred_phones_register_over_tls_then_unregister() {
    if skip_e2e() {
        return;
    }
    require_tools(&["sipp", "stunnel"], "the SIPp registration load").unwrap();
    let lab = Lab::new("rwload").unwrap();
    let inet = lab.network("inet", "198.18.0").unwrap();
    let lan = lab.network("lan", "198.18.2").unwrap();
    let phones = lab.host("phones", &inet, 50).unwrap();
    let gw = lab
        .host_multi("outpost", &[(&inet, 10), (&lan, 10)])
        .unwrap();
    let pbx_host = lab.host("ipbx", &lan, 20).unwrap();

    let numbers: Vec<u32> = (2000..2000 + PHONES).collect();
    let subscribers: Vec<(String, String)> = numbers
        .iter()
        .map(|n| (n.to_string(), format!("icp-pw-{n}")))
        .collect();
    let ipbx = Ipbx::start(&pbx_host, IpbxConfig::new(subscribers).realm("ipbx.test")).unwrap();
    let mut csv =
        String::from("setside_username;setside_password;icpside_username;icpside_password\n");
    let mut users = String::from("SEQUENTIAL\n");
    for n in &numbers {
        let _ = writeln!(csv, "ph{n};set-pw-{n};{n};icp-pw-{n}");
        // SIPp takes a whole [authentication] keyword from an injection
        // field (it does not expand fields nested inside one).
        let _ = writeln!(
            users,
            "ph{n};[authentication username=ph{n} password=set-pw-{n}]"
        );
    }
    let outpost = OutpostNode::start(
        &gw,
        &OutpostSpec {
            binary: env!("CARGO_BIN_EXE_outpost").into(),
            public: inet.clone(),
            private: lan.clone(),
            ipbx: ipbx.addr(),
            devices: vec![],
            allow_list: vec!["198.18.0.50".into()],
            devices_csv: Some(csv),
            env: vec![],
            extra_toml: "fqdn = \"sbc.outpost.test\"\n".into(),
        },
    )
    .unwrap();
    let dir = lab.dir().join("sipp-register");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("users.csv"), users).unwrap();
    let _tunnel = stunnel(
        &phones,
        &dir,
        "127.0.0.1:5070",
        &outpost.public_tls().to_string(),
        &outpost.ca_file(),
    );

    let scenario = format!("{SCENARIOS}/register_auth.xml");
    let count = PHONES.to_string();
    let register = |expires: &str| {
        let started = Instant::now();
        sipp(
            &phones,
            &dir,
            &[
                "-sf",
                &scenario,
                "127.0.0.1:5070",
                "-t",
                "tn",
                "-i",
                "127.0.0.1",
                "-inf",
                "users.csv",
                "-set",
                "expires",
                expires,
                "-m",
                &count,
                "-r",
                "40",
                "-l",
                "50",
                "-timeout",
                "60s",
                "-max_socket",
                "1000",
            ],
        );
        started.elapsed()
    };
    let took = register("120");
    assert!(
        took < Duration::from_secs(20),
        "{PHONES} registrations took {took:?}"
    );
    let bound: HashSet<String> = ipbx
        .location()
        .unwrap()
        .into_iter()
        .map(|b| b.aor)
        .collect();
    let expected: HashSet<String> = numbers.iter().map(ToString::to_string).collect();
    assert_eq!(
        bound, expected,
        "every ICP-side number bound at the iPBX, and only those"
    );
    println!("{PHONES} phones registered over TLS in {took:?}");

    register("0");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = ipbx.location().unwrap().len();
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} bindings left at the iPBX after unregistering"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(outpost);
}

/// Call-IDs in a SIPp message trace.
fn call_ids(trace: &str) -> HashSet<String> {
    trace
        .lines()
        .filter_map(|l| {
            l.strip_prefix("Call-ID: ")
                .or_else(|| l.strip_prefix("Call-ID:"))
        })
        .map(|v| v.trim().to_owned())
        .collect()
}

fn read_traces(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with("_messages.log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect()
}

/// SIPp phone (198.18.0.50, allow-listed) → Outpost → SIPp UAS as the iPBX.
struct CallsBed {
    lab: Lab,
    uac_host: Host,
    gw: Host,
    uas: Process,
    uas_dir: std::path::PathBuf,
    uac_dir: std::path::PathBuf,
    outpost: OutpostNode,
}

impl CallsBed {
    fn start(tag: &str, env: Vec<(String, String)>) -> Self {
        let lab = Lab::new(tag).unwrap();
        let inet = lab.network("inet", "198.18.0").unwrap();
        let lan = lab.network("lan", "198.18.2").unwrap();
        let uac_host = lab.host("uac", &inet, 50).unwrap();
        let gw = lab
            .host_multi("outpost", &[(&inet, 10), (&lan, 10)])
            .unwrap();
        let uas_host = lab.host("uas", &lan, 20).unwrap();

        let uas_dir = lab.dir().join("sipp-uas");
        std::fs::create_dir_all(&uas_dir).unwrap();
        let mut uas_cmd = uas_host.command("sipp");
        uas_cmd.current_dir(&uas_dir).args([
            "-sn",
            "uas",
            "-i",
            "198.18.2.20",
            "-p",
            "5060",
            "-nostdin",
            "-trace_msg",
            "-trace_err",
        ]);
        let uas = uas_host.spawn(uas_cmd, "sipp-uas").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !uas_host
            .is_listening("udp", "198.18.2.20".parse().unwrap(), 5060)
            .unwrap()
        {
            assert!(
                Instant::now() < deadline,
                "SIPp UAS did not start:\n{}",
                uas.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let outpost = OutpostNode::start(
            &gw,
            &OutpostSpec {
                binary: env!("CARGO_BIN_EXE_outpost").into(),
                public: inet.clone(),
                private: lan.clone(),
                ipbx: "198.18.2.20:5060".parse().unwrap(),
                devices: vec![],
                allow_list: vec!["198.18.0.50".into()],
                devices_csv: Some(
                    "setside_username;setside_password\nloadphone;load-Secret-1\n".into(),
                ),
                env,
                // SIPp sends plain RTP: these tests are about signalling, so
                // the public side accepts it (the media tests cover SRTP).
                extra_toml:
                    "[media]\nset_side_inbound = \"srtp-or-rtp\"\nicp_side_outbound = \"rtp\"\n"
                        .into(),
            },
        )
        .unwrap();
        let uac_dir = lab.dir().join("sipp-uac");
        std::fs::create_dir_all(&uac_dir).unwrap();
        std::fs::write(
            uac_dir.join("users.csv"),
            "SEQUENTIAL\nloadphone;[authentication username=loadphone password=load-Secret-1]\n",
        )
        .unwrap();
        Self {
            lab,
            uac_host,
            gw,
            uas,
            uas_dir,
            uac_dir,
            outpost,
        }
    }

    /// SIPp arguments for `calls` calls of `scenario` from the phone, with
    /// talk time `talk_ms`, then `extra`.
    fn uac_args(&self, scenario: &str, calls: u32, talk_ms: u32, extra: &[&str]) -> Vec<String> {
        let target = self.outpost.public_plain().to_string();
        // SIPp's digest uri defaults to remote_ip:port; the B2BUA checks it
        // equals the Request-URI (RFC 7616 §3.4.6).
        let auth_uri = format!("service@{target}");
        let mut args: Vec<String> = [
            "-sf",
            &format!("{SCENARIOS}/{scenario}"),
            &target,
            "-s",
            "service",
            "-auth_uri",
            &auth_uri,
            "-i",
            "198.18.0.50",
            "-inf",
            "users.csv",
            "-m",
            &calls.to_string(),
            "-d",
            &talk_ms.to_string(),
            "-timeout",
            "120s",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        args.extend(extra.iter().map(ToString::to_string));
        args
    }

    /// Runs SIPp as the phone to completion; every call must succeed.
    fn calls(&self, scenario: &str, calls: u32, talk_ms: u32, extra: &[&str]) -> String {
        let args = self.uac_args(scenario, calls, talk_ms, extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sipp(&self.uac_host, &self.uac_dir, &args)
    }

    /// Media ports Outpost has in use on its public side, from /metrics.
    fn public_ports_in_use(&self) -> u64 {
        let text = metrics(&self.gw).unwrap();
        metric_sum(&text, "outpost_media_ports_in_use{side=\"public\"}") as u64
    }

    fn wait_public_ports(&self, expected: u64, why: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let used = self.public_ports_in_use();
            if used == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{why}: {used} public media ports in use, expected {expected}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn five_hundred_calls_map_each_leg_to_its_own_call_id() {
    if skip_e2e() {
        return;
    }
    require_tools(&["sipp"], "the SIPp call load").unwrap();
    let mut bed = CallsBed::start("rwcalls", vec![]);
    let stdout = bed.calls(
        "uac_call_auth.xml",
        CALLS,
        200,
        &["-p", "5060", "-r", "50", "-l", "100", "-trace_msg"],
    );
    // Stop the UAS so its trace is complete.
    let _ = bed.uas.stop();
    let uac_ids = call_ids(&read_traces(&bed.uac_dir));
    let uas_ids = call_ids(&read_traces(&bed.uas_dir));
    assert_eq!(
        uac_ids.len(),
        CALLS as usize,
        "one Call-ID per call on the phone side\n{stdout}"
    );
    assert_eq!(
        uas_ids.len(),
        CALLS as usize,
        "one Call-ID per call on the iPBX side"
    );
    assert!(uac_ids.is_disjoint(&uas_ids), "a Call-ID crossed the B2BUA");
}

/// Port-pool exhaustion: with room for four calls on the public side (the
/// smallest range allowed, 8 ports: RTP and RTCP each), a fifth call gets
/// 503 while four are up, never a panic or a leak; the pool is empty again
/// when they end and takes new calls.
#[test]
fn a_full_port_pool_refuses_new_calls_with_503_then_recovers() {
    if skip_e2e() {
        return;
    }
    require_tools(&["sipp"], "the SIPp calls").unwrap();
    let bed = CallsBed::start(
        "rwpool",
        vec![("OUTPOST_PUBLIC_RTP_PORTS".into(), "30000-30007".into())],
    );
    // Four calls that stay up (20 s talk time) from a SIPp in the background.
    let held_dir = bed.lab.dir().join("sipp-held");
    std::fs::create_dir_all(&held_dir).unwrap();
    std::fs::copy(bed.uac_dir.join("users.csv"), held_dir.join("users.csv")).unwrap();
    let mut held_cmd = bed.uac_host.command("sipp");
    held_cmd
        .current_dir(&held_dir)
        .args(bed.uac_args("uac_call_auth.xml", 4, 20_000, &["-p", "5061", "-l", "4"]))
        .args(["-nostdin", "-trace_err"]);
    let mut held = bed.uac_host.spawn(held_cmd, "sipp-held").unwrap();
    bed.wait_public_ports(8, "four calls up");

    // The fifth call is refused with 503 (the scenario fails on anything else).
    bed.calls("uac_call_refused_503.xml", 1, 0, &["-p", "5062"]);
    bed.wait_public_ports(8, "after the refused call");

    // The held calls end normally; the pool empties and takes a new call.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = held.try_wait_exit().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the held calls did not end");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "held calls failed:\n{}", held.log_tail());
    bed.wait_public_ports(0, "after the calls ended");
    bed.calls("uac_call_auth.xml", 1, 200, &["-p", "5063"]);
    bed.wait_public_ports(0, "after the last call");
}
