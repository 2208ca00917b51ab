//! The MSL-compatible web services end to end (issue 16), on the namespace
//! bed, with an independent OAuth 1.0a client:
//!
//!   phone A (198.19.1.20) ─ home ─ NAT (198.19.1.1 | 198.18.0.1) ─ inet ─
//!     (198.18.0.10) Outpost (198.18.2.10) ─ lan ─ Kamailio (198.18.2.20)
//!   application server (198.18.0.30) ─ inet
//!
//! `requests-oauthlib` (PyPI; `tests/webservices/msl_client.py`) plays the
//! application server of seed 003 against a running `outpost serve` over
//! TLS: the administrator starts the web services and creates the
//! consumer with the CLI; the client initiates, the administrator
//! approves its temporary token with the CLI, the client sends the
//! verifier, gets its final token and creates, reads, lists, counts,
//! updates and finds by MAC a teleworker SIP device. Then baresip, as the
//! teleworker's phone behind NAT, registers through Outpost to Kamailio
//! with the set-side credentials the application server chose, and
//! Outpost uses the ICP-side ones it gave toward Kamailio; then the
//! application server deletes the device, and the administrator revokes
//! its token.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use outpost_testbed::{
    Ipbx, IpbxConfig, Lab, MediaEnc, OutpostNode, OutpostSpec, Phone, PhoneConfig, Transport,
    skip_e2e,
};
use serde_json::Value;

const FQDN: &str = "sbc.outpost.test";
const CONSUMER: &str = "MiVOAppSuite";
/// Chosen by the application server: set side → ICP side.
const TELEWORKER: (&str, &str, &str, &str) =
    ("tw-alice", "Set-side-Secret-1", "1001", "alpha-1001");
const WAIT: Duration = Duration::from_secs(30);

/// The Python with `requests-oauthlib`: `OUTPOST_PYTHON` (scripts/test.sh
/// sets it to the environment it installs), else `python3`.
fn python() -> String {
    let python = std::env::var("OUTPOST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let found = std::process::Command::new(&python)
        .args(["-c", "import requests_oauthlib"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{python} has no requests_oauthlib: run scripts/test.sh (it installs it), or \
         `pip install requests-oauthlib` and set OUTPOST_PYTHON"
    );
    python
}

/// Lines of the client's standard output, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn next_json(lines: &mpsc::Receiver<String>, child: &mut Child) -> Value {
    match lines.recv_timeout(WAIT) {
        Ok(line) => serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")),
        Err(e) => {
            let _ = child.kill();
            let out = child.wait_with_output_lossy();
            panic!("the client said nothing more ({e}); its stderr:\n{out}");
        }
    }
}

trait StderrLossy {
    fn wait_with_output_lossy(&mut self) -> String;
}

impl StderrLossy for Child {
    fn wait_with_output_lossy(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut err) = self.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut text);
        }
        let _ = self.wait();
        text
    }
}

#[test]
fn an_application_server_provisions_a_teleworker_whose_phone_then_registers() {
    if skip_e2e() {
        return;
    }
    let python = python();
    let lab = Lab::new("mslrest").unwrap();
    let home = lab.network("home", "198.19.1").unwrap();
    let inet = lab.network("inet", "198.18.0").unwrap();
    let lan = lab.network("lan", "198.18.2").unwrap();
    let router = lab.nat_router("nat", (&inet, 1), (&home, 1)).unwrap();
    let a_host = lab.host_behind("phone-a", &home, 20, &router).unwrap();
    let app_host = lab.host("appserver", &inet, 30).unwrap();
    let gw = lab
        .host_multi("outpost", &[(&inet, 10), (&lan, 10)])
        .unwrap();
    let pbx_host = lab.host("ipbx", &lan, 20).unwrap();
    let ipbx = Ipbx::start(
        &pbx_host,
        IpbxConfig::new([(TELEWORKER.2, TELEWORKER.3)]).realm("ipbx.test"),
    )
    .unwrap();
    let mut outpost = OutpostNode::start(
        &gw,
        &OutpostSpec {
            binary: env!("CARGO_BIN_EXE_outpost").into(),
            public: inet.clone(),
            private: lan.clone(),
            ipbx: ipbx.addr(),
            devices: vec![],
            allow_list: vec![],
            devices_csv: None,
            extra_toml: format!("fqdn = \"{FQDN}\"\n"),
            env: vec![],
        },
    )
    .unwrap();
    app_host.add_hosts_entry(FQDN, outpost.public_ip()).unwrap();
    a_host.add_hosts_entry(FQDN, outpost.public_ip()).unwrap();

    // Seed 003 step 1, on the gateway: start, add the consumer.
    outpost.cli(&["webservices", "start"]).unwrap();
    let made = outpost
        .cli(&[
            "webservices",
            "consumers",
            "add",
            CONSUMER,
            "--name",
            "MiVoice Office Application Suite",
            "--permission",
            "base/managetoken=rw,mbg/v1/icps=r,mbg/v1/devices=rw",
            "--json",
        ])
        .unwrap();
    let made: Value = serde_json::from_str(made.trim()).unwrap();
    let secret = made["shared_secret"].as_str().unwrap().to_owned();

    // Step 2: the application server asks for a token.
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/webservices/msl_client.py"
    );
    let ca = outpost.ca_file();
    let mut cmd = app_host.command(&python);
    cmd.arg(script)
        .arg(format!("https://{FQDN}:4445"))
        .arg(CONSUMER)
        .arg(&secret)
        .arg("--ca")
        .arg(&ca)
        .args(["--username", TELEWORKER.0, "--password", TELEWORKER.1])
        .args([
            "--icpside-username",
            TELEWORKER.2,
            "--icpside-password",
            TELEWORKER.3,
        ])
        .arg("--delete-on-request")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut client = cmd.spawn().expect("start the client");
    let lines = lines_of(&mut client);
    let initiated = next_json(&lines, &mut client);
    assert_eq!(initiated["step"], "initiate", "{initiated}");
    let temporary = initiated["token"].as_str().unwrap().to_owned();

    // The administrator sees the temporary token and approves it.
    let listed = outpost.cli(&["webservices", "tokens", "list"]).unwrap();
    assert!(
        listed.contains(&temporary) && listed.contains("waiting for approval"),
        "{listed}"
    );
    let approved = outpost
        .cli(&["webservices", "tokens", "approve", &temporary])
        .unwrap();
    let verifier = approved
        .trim()
        .rsplit(' ')
        .next()
        .expect("the verifier")
        .to_owned();
    let mut stdin = client.stdin.take().unwrap();
    writeln!(stdin, "{verifier}").unwrap();
    stdin.flush().unwrap();

    let mut steps = Vec::new();
    loop {
        let step = next_json(&lines, &mut client);
        let name = step["step"].as_str().unwrap_or_default().to_owned();
        steps.push(step.clone());
        assert_ne!(name, "done", "the client stopped early: {steps:#?}");
        if name == "created" {
            break;
        }
    }
    let step = |steps: &[Value], name: &str| {
        steps
            .iter()
            .find(|s| s["step"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no step {name}: {steps:#?}"))
    };
    assert_eq!(step(&steps, "create")["status"], 201);
    assert_eq!(
        step(&steps, "read")["body"]["icpside_username"],
        TELEWORKER.2
    );
    assert_eq!(step(&steps, "count")["body"]["count"], 1);
    assert_eq!(step(&steps, "update")["body"]["description"], "updated");
    assert_eq!(step(&steps, "by-mac")["body"]["clientid"], "00085D237429");
    let final_token = step(&steps, "token")["token"].as_str().unwrap().to_owned();
    let tokens = outpost.cli(&["webservices", "tokens", "list"]).unwrap();
    assert!(
        tokens.contains(&final_token) && !tokens.contains(&temporary),
        "{tokens}"
    );

    // The device it made registers a real phone through Outpost.
    // The SIP core picks the new device up with its next directory load.
    outpost
        .process()
        .wait_for_log("devices=1 icps=1", WAIT)
        .unwrap();
    let mut config = PhoneConfig::new(TELEWORKER.0, TELEWORKER.1, outpost.public_tls())
        .transport(Transport::Tls);
    config.ca_file = Some(ca);
    config.domain = FQDN.to_owned();
    config.mediaenc = Some(MediaEnc::SrtpMandatory);
    let phone = Phone::start(&a_host, config).unwrap();
    phone.wait_registered(WAIT).unwrap();

    // The application server deletes the device again.
    writeln!(stdin, "delete").unwrap();
    drop(stdin);
    loop {
        let step = next_json(&lines, &mut client);
        let name = step["step"].as_str().unwrap_or_default().to_owned();
        steps.push(step.clone());
        if name == "done" {
            assert_eq!(step["ok"], true, "{steps:#?}");
            break;
        }
    }
    let status = client.wait().unwrap();
    assert!(status.success(), "{steps:#?}");
    assert_eq!(step(&steps, "delete")["status"], 200);
    let devices = outpost.cli(&["devices", "list"]).unwrap();
    assert!(!devices.contains(TELEWORKER.0), "{devices}");

    // The administrator revokes the final token: listed as revoked.
    outpost
        .cli(&["webservices", "tokens", "revoke", &final_token])
        .unwrap();
    let tokens = outpost.cli(&["webservices", "tokens", "list"]).unwrap();
    assert!(
        tokens
            .lines()
            .any(|l| l.contains(&final_token) && l.contains("revoked")),
        "{tokens}"
    );
    let audit = outpost
        .cli(&["audit", "--action", "device.create"])
        .unwrap();
    assert!(audit.contains(&format!("consumer:{CONSUMER}")), "{audit}");
    drop(phone);
}
