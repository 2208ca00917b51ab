//! The phone configuration service's XML proxy and device files end to end
//! (issue 15 items 2, 6, 7), on the namespace bed:
//!
//!   phone A (198.19.1.20) ─ home ─ NAT (198.19.1.1 | 198.18.0.1) ─ inet ─
//!     (198.18.0.10) Outpost (198.18.2.10) ─ lan ─ Kamailio + nginx (198.18.2.20)
//!
//! nginx (the Debian package), started by the test with its own
//! configuration in the lab directory (`-p` prefix, `daemon off`, pid and
//! logs there, killed on drop), plays the ICP's XML service over TLS on
//! port 4443 of the ICP's address with a certificate from the test PKI,
//! which Outpost trusts through the ICP's CA file. From phone A's
//! namespace, `curl` with a Mitel User-Agent (verifying Outpost's
//! certificate by its FQDN):
//!
//! - fetches `https://FQDN:4445/<hash>/xml/dir.xml` and gets nginx's
//!   static file byte for byte, and an echo of the request path and
//!   `X-Forwarded-For` shows the hash prefix stripped, the query kept and
//!   the phone's (NAT) address forwarded;
//! - fetches its `<MAC>.cfg`, generated from the device with that MAC
//!   (set with the CLI), and the CA file;
//! - fetches part of a firmware image uploaded with
//!   `outpost provisioning upload --kind firmware` (206), which after
//!   `remove-file` is no longer served;
//!
//! then the inventory shows the phone with the User-Agent's model and
//! firmware, and, once baresip as phone A registers over SIP with those
//! credentials, says it is registered.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use outpost_testbed::{
    DeviceSpec, Host, Ipbx, IpbxConfig, Lab, MediaEnc, OutpostNode, OutpostSpec, Phone,
    PhoneConfig, Process, TestCa, Transport, skip_e2e, wait_until,
};

const FQDN: &str = "sbc.outpost.test";
const AGENT: &str = "Mitel6867i MAC:00-08-5D-23-74-29 V:6.3.0.1020-SIP";
const MAC: &str = "00085D237429";
/// Set side → ICP side, as in the remote-worker bed.
const ALICE: (&str, &str, &str, &str) = ("alice", "alice-Secret-1", "1001", "alpha-1001");
const WAIT: Duration = Duration::from_secs(20);
/// The XML directory nginx serves (with bytes a rewrite would damage).
const DIRECTORY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
    <AastraIPPhoneDirectory title=\"Annuaire \u{e9}t\u{e9}\">\r\n\
    <MenuItem><Prompt>Alice &amp; Bob</Prompt><URI>1001</URI></MenuItem>\r\n\
    </AastraIPPhoneDirectory>\r\n";

/// nginx as the ICP's XML service, in `dir`, on `ip:4443` over TLS.
fn start_nginx(host: &Host, dir: &Path, ip: &str, cert: &Path, key: &Path) -> Process {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("xml")).unwrap();
    std::fs::write(root.join("xml/dir.xml"), DIRECTORY).unwrap();
    for temp in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        std::fs::create_dir_all(dir.join(temp)).unwrap();
    }
    let d = dir.display();
    let conf = format!(
        "daemon off;\n\
         master_process off;\n\
         worker_processes 1;\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/error.log info;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n\
           access_log {d}/access.log;\n\
           client_body_temp_path {d}/body;\n\
           proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n\
           uwsgi_temp_path {d}/uwsgi;\n\
           scgi_temp_path {d}/scgi;\n\
           server {{\n\
             listen {ip}:4443 ssl;\n\
             ssl_certificate {cert};\n\
             ssl_certificate_key {key};\n\
             root {root};\n\
             location /xml/ {{ default_type application/xml; }}\n\
             location /echo/ {{ default_type text/plain; \
                return 200 \"$request_uri $http_x_forwarded_for\"; }}\n\
           }}\n\
         }}\n",
        cert = cert.display(),
        key = key.display(),
        root = root.display(),
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut cmd = host.command("nginx");
    cmd.arg("-p").arg(dir).arg("-c").arg(&conf_path);
    cmd.arg("-e").arg(dir.join("error.log"));
    let nginx = host.spawn(cmd, "nginx").unwrap();
    let addr: std::net::Ipv4Addr = ip.parse().unwrap();
    wait_until("nginx listening on 4443", WAIT, || {
        Ok(host.is_listening("tcp", addr, 4443)?.then_some(()))
    })
    .unwrap();
    nginx
}

/// `curl` in the phone's namespace with the Mitel User-Agent, trusting
/// Outpost's certificate, resolving the FQDN from the phone's hosts file;
/// writes the body to `out` and returns the status code and headers.
fn curl(phone: &Host, ca: &Path, url: &str, out: &Path) -> (String, String, Output) {
    let mut cmd = phone.command("curl");
    cmd.args(["-sS", "--tlsv1.2", "--max-time", "15", "-A", AGENT])
        .arg("--cacert")
        .arg(ca)
        .args(["-D", "-", "-w", "\n%{http_code}", "-o"])
        .arg(out)
        .arg(url);
    let output = cmd.output().expect("run curl");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let status = text.lines().last().unwrap_or_default().to_owned();
    (status, text, output)
}

fn inventory_row(outpost: &OutpostNode) -> Option<serde_json::Value> {
    let listed = outpost
        .cli(&["provisioning", "inventory", "list", "--json"])
        .unwrap();
    listed
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|row| row["mac"] == MAC)
}

#[test]
fn xml_requests_reach_the_icps_nginx_and_phones_get_their_device_file() {
    if skip_e2e() {
        return;
    }
    outpost_testbed::require_tools(&["nginx", "curl"], "the XML proxy test").unwrap();
    let lab = Lab::new("xmlproxy").unwrap();
    let home = lab.network("home", "198.19.1").unwrap();
    let inet = lab.network("inet", "198.18.0").unwrap();
    let lan = lab.network("lan", "198.18.2").unwrap();
    let router = lab.nat_router("nat", (&inet, 1), (&home, 1)).unwrap();
    let a_host = lab.host_behind("phone-a", &home, 20, &router).unwrap();
    let gw = lab
        .host_multi("outpost", &[(&inet, 10), (&lan, 10)])
        .unwrap();
    let pbx_host = lab.host("ipbx", &lan, 20).unwrap();
    let icp_ip = pbx_host.ip().to_string();

    let ca = TestCa::new(&lab.dir().join("pki"), "ICP test CA").unwrap();
    let icp_cert = ca
        .issue(&[&icp_ip], &lab.dir().join("pki"), "icp-xml")
        .unwrap();
    let nginx_dir = lab.dir().join("nginx");
    let _nginx = start_nginx(
        &pbx_host,
        &nginx_dir,
        &icp_ip,
        &icp_cert.cert_file,
        &icp_cert.key_file,
    );

    let ipbx = Ipbx::start(
        &pbx_host,
        IpbxConfig::new([(ALICE.2, ALICE.3)]).realm("ipbx.test"),
    )
    .unwrap();
    let outpost = OutpostNode::start(
        &gw,
        &OutpostSpec {
            binary: env!("CARGO_BIN_EXE_outpost").into(),
            public: inet.clone(),
            private: lan.clone(),
            ipbx: ipbx.addr(),
            devices: vec![DeviceSpec::translated(ALICE.0, ALICE.1, ALICE.2, ALICE.3)],
            allow_list: vec![],
            devices_csv: None,
            extra_toml: format!("fqdn = \"{FQDN}\"\n"),
            env: vec![],
        },
    )
    .unwrap();
    a_host.add_hosts_entry(FQDN, outpost.public_ip()).unwrap();
    // The ICP's XML certificate is checked with its CA, as SIP TLS is.
    let ca_file = ca.ca_file().display().to_string();
    outpost
        .cli(&["icps", "update", "ipbx", "--ca-file", &ca_file])
        .unwrap();
    outpost
        .cli(&["devices", "update", ALICE.0, "--mac", "00-08-5d-23-74-29"])
        .unwrap();
    let shown = outpost
        .cli(&["provisioning", "hash", "show", "--json"])
        .unwrap();
    let hash: serde_json::Value = serde_json::from_str(shown.trim()).unwrap();
    let hash = hash["hash"].as_str().unwrap().to_owned();
    let base = format!("https://{FQDN}:4445/{hash}");
    let trust = outpost.ca_file();
    let body = lab.dir().join("body");
    let read_body = || std::fs::read(&body).unwrap();

    // The static XML file, byte for byte.
    let (status, headers, out) = curl(&a_host, &trust, &format!("{base}/xml/dir.xml"), &body);
    assert_eq!(
        status,
        "200",
        "{headers}{}\nnginx: {}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(nginx_dir.join("error.log")).unwrap_or_default()
    );
    assert_eq!(read_body(), DIRECTORY.as_bytes());
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("content-type: application/xml"),
        "{headers}"
    );

    // The path after the hash, the query, and the phone's address.
    let (status, headers, _) = curl(&a_host, &trust, &format!("{base}/echo/menu?x=1&y=2"), &body);
    assert_eq!(status, "200", "{headers}");
    let nat = router.ip_on(&inet).unwrap().to_string();
    assert_eq!(
        String::from_utf8(read_body()).unwrap(),
        format!("/echo/menu?x=1&y=2 {nat}")
    );

    // The phone's own file, generated from the device with its MAC.
    let (status, headers, _) = curl(&a_host, &trust, &format!("{base}/{MAC}.cfg"), &body);
    assert_eq!(status, "200", "{headers}");
    let text = String::from_utf8(read_body()).unwrap();
    for line in [
        "!sip line1 user name: alice",
        "!sip line1 auth name: alice",
        "sip line1 password: alice-Secret-1",
        &format!("sip proxy ip: {FQDN}"),
        &format!("https path: {hash}"),
        "sips trusted certificates: outpost-ca.pem",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing in\n{text}"
        );
    }
    let (status, _, _) = curl(&a_host, &trust, &format!("{base}/outpost-ca.pem"), &body);
    assert_eq!(status, "200");
    assert_eq!(
        read_body(),
        std::fs::read(&trust).unwrap(),
        "the CA file is the self-signed certificate served"
    );

    // A firmware image uploaded with the CLI, fetched in part (a resumed
    // download), then removed: the name then goes to the ICP (nginx: 404).
    let image: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let image_file = lab.dir().join("6867i.st");
    std::fs::write(&image_file, &image).unwrap();
    let stored = outpost
        .cli(&[
            "provisioning",
            "upload",
            "--kind",
            "firmware",
            image_file.to_str().unwrap(),
        ])
        .unwrap();
    assert!(stored.contains("6867i.st"), "{stored}");
    let mut cmd = a_host.command("curl");
    cmd.args(["-sS", "--max-time", "15", "-A", AGENT, "-r", "1000-1999"])
        .arg("--cacert")
        .arg(&trust)
        .args(["-w", "%{http_code}", "-o"])
        .arg(&body)
        .arg(format!("{base}/6867i.st"));
    let ranged = cmd.output().unwrap();
    assert_eq!(String::from_utf8_lossy(&ranged.stdout), "206");
    assert_eq!(read_body(), &image[1000..2000]);
    // Whole, twice (the second from the copy the first may still share).
    for _ in 0..2 {
        let (status, _, _) = curl(&a_host, &trust, &format!("{base}/6867i.st"), &body);
        assert_eq!(status, "200");
        assert_eq!(read_body(), image);
    }
    outpost
        .cli(&["provisioning", "remove-file", "6867i.st"])
        .unwrap();
    let (status, _, _) = curl(&a_host, &trust, &format!("{base}/6867i.st"), &body);
    assert_eq!(status, "404", "removed, and the ICP has none");

    let row = inventory_row(&outpost).expect("the phone in the inventory");
    assert_eq!(row["model"], "6867i", "{row}");
    assert_eq!(row["firmware"], "6.3.0.1020", "{row}");
    assert_eq!(row["address"], nat.as_str(), "{row}");
    assert_eq!(row["user"], ALICE.0, "{row}");
    assert_eq!(row["registered"], false, "{row}");

    // Phone A registers with the credentials of its file: registered.
    let mut config =
        PhoneConfig::new(ALICE.0, ALICE.1, outpost.public_tls()).transport(Transport::Tls);
    config.ca_file = Some(outpost.ca_file());
    config.domain = FQDN.to_owned();
    config.mediaenc = Some(MediaEnc::SrtpMandatory);
    let phone = Phone::start(&a_host, config).unwrap();
    phone.wait_registered(WAIT).unwrap();
    wait_until("the inventory says registered", WAIT, || {
        Ok(inventory_row(&outpost).filter(|r| r["registered"] == true))
    })
    .unwrap();

    // The hash key never reaches the ICP nor the logs.
    let access = std::fs::read_to_string(nginx_dir.join("access.log")).unwrap_or_default();
    assert!(!access.contains(&hash), "{access}");
    assert!(access.contains("GET /xml/dir.xml"), "{access}");
    drop(phone);
}
