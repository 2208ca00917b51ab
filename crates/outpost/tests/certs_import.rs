//! `outpost certs` (issue 17 items 1 and 6): a PEM chain with an
//! encrypted key and a PKCS#12 file are checked and installed through the
//! service layer (audited as `cli:<user>`); a wrong passphrase, a
//! mismatched key and an expired certificate are refused and change
//! nothing; without a database only `--check` works; `outpost serve` then
//! presents the imported certificate on the web services port
//! (`openssl s_client`), and one imported while it runs from the next
//! handshake on. `--name` installs a second certificate, `list` shows
//! where each is used, `delete` is refused while a usage presents it.
//! Runs on 127.0.77.x (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use support::Outpost;

const NAME: &str = "sbc.example.test";

struct Material {
    chain: String,
    key: String,
}

fn material(ca_name: &str, year_to: i32) -> Material {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params = CertificateParams::new(vec![NAME.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, NAME);
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(year_to, 1, 1);
    let key = KeyPair::generate().unwrap();
    let leaf = params.signed_by(&key, &issuer).unwrap();
    Material {
        chain: format!("{}{}", leaf.pem(), ca.pem()),
        key: key.serialize_pem(),
    }
}

/// `outpost certs import ARGS` on `data`, `stdin` as its input.
fn import(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut all = vec!["certs", "import"];
    all.extend_from_slice(args);
    outpost(data, &all, stdin)
}

/// `outpost ARGS` on `data`, `stdin` as its input.
fn outpost(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("OUTPOST_DATA_DIR")
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_imported_certificate_is_checked_installed_and_served() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("outpost-data");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let good = material("Example CA", 2030);
    std::fs::write(w.join("chain.pem"), &good.chain).unwrap();
    std::fs::write(w.join("plain.key"), &good.key).unwrap();
    openssl(
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            "plain.key",
            "-out",
            "enc.key",
            "-passout",
            "pass:Key-Pass-1",
        ],
        w,
    );
    let chain = w.join("chain.pem");
    let enc = w.join("enc.key");
    let files = [chain.to_str().unwrap(), enc.to_str().unwrap()];

    // Without a database only a check works: an import would not be
    // audited.
    let check = import(
        &data,
        &["--check", "--encrypted", "--pem", files[0], files[1]],
        "Key-Pass-1\n",
    );
    assert!(check.status.success(), "{check:?}");
    assert!(String::from_utf8_lossy(&check.stdout).contains("nothing installed"));
    let no_db = import(
        &data,
        &["--encrypted", "--pem", files[0], files[1]],
        "Key-Pass-1\n",
    );
    assert!(!no_db.status.success());
    assert!(
        String::from_utf8_lossy(&no_db.stderr).contains("outpost init"),
        "{no_db:?}"
    );
    assert!(
        !data.join("tls").exists(),
        "nothing written without a database"
    );
    let init = outpost(&data, &["init"], "");
    assert!(init.status.success(), "{init:?}");

    // Refusals first: nothing is written.
    let wrong = import(
        &data,
        &["--encrypted", "--pem", files[0], files[1]],
        "nope\n",
    );
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("wrong passphrase"),
        "{wrong:?}"
    );
    let other = material("Other CA", 2030);
    std::fs::write(w.join("other.key"), &other.key).unwrap();
    let mismatch = import(
        &data,
        &["--pem", files[0], w.join("other.key").to_str().unwrap()],
        "",
    );
    assert!(
        String::from_utf8_lossy(&mismatch.stderr).contains("does not match"),
        "{mismatch:?}"
    );
    let old = material("Example CA", 2026);
    std::fs::write(w.join("old.pem"), format!("{}{}", old.chain, old.key)).unwrap();
    let expired = import(&data, &["--pem", w.join("old.pem").to_str().unwrap()], "");
    assert!(
        String::from_utf8_lossy(&expired.stderr).contains("expired"),
        "{expired:?}"
    );
    assert!(
        !data.join("tls/default.crt").exists(),
        "a refused import writes nothing"
    );

    // A PKCS#12 file checks (without installing), then the PEM pair installs.
    std::fs::write(w.join("key.pem"), &good.key).unwrap();
    openssl(
        &[
            "pkcs12",
            "-export",
            "-in",
            "chain.pem",
            "-inkey",
            "key.pem",
            "-out",
            "b.p12",
            "-passout",
            "pass:P12-Pass-1",
        ],
        w,
    );
    let p12 = import(
        &data,
        &["--check", "--pkcs12", w.join("b.p12").to_str().unwrap()],
        "P12-Pass-1\n",
    );
    assert!(p12.status.success(), "{p12:?}");
    assert!(String::from_utf8_lossy(&p12.stdout).contains(NAME));
    assert!(
        !data.join("tls/default.crt").exists(),
        "--check installs nothing"
    );
    let ok = import(
        &data,
        &["--encrypted", "--pem", files[0], files[1]],
        "Key-Pass-1\n",
    );
    assert!(ok.status.success(), "{ok:?}");
    let audit = outpost(&data, &["audit", "--action", "certificate.", "--json"], "");
    let audit_text = String::from_utf8_lossy(&audit.stdout);
    assert!(audit_text.contains("\"certificate.import\""), "{audit:?}");
    assert!(audit_text.contains("\"cli:"), "{audit_text}");
    assert!(!audit_text.contains("Key-Pass-1"), "{audit_text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("tls/default.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // serve presents it.
    let mut outpost = Outpost::start_in(home, 77, &[]);
    let text = served();
    assert!(
        text.contains(&format!("CN = {NAME}")) || text.contains(&format!("CN={NAME}")),
        "{text}"
    );
    assert!(text.contains("Example CA"), "the chain is served: {text}");

    // A certificate imported while serve runs is presented to the next
    // handshakes without a restart.
    let cursor = outpost.log_cursor();
    let next = material("Second CA", 2031);
    std::fs::write(w.join("next.pem"), format!("{}{}", next.chain, next.key)).unwrap();
    let again = import(&data, &["--pem", w.join("next.pem").to_str().unwrap()], "");
    assert!(again.status.success(), "{again:?}");
    outpost.wait_for_log_after(
        cursor,
        "TLS listeners now present this certificate",
        std::time::Duration::from_secs(30),
    );
    let text = served();
    assert!(
        text.contains("Second CA"),
        "the new chain is served: {text}"
    );
    drop(outpost);
}

#[test]
fn a_second_certificate_is_listed_assigned_and_deleted_only_when_unused() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("outpost-data");
    let w = home.path();
    assert!(outpost(&data, &["init"], "").status.success());
    let own = material("Example CA", 2030);
    std::fs::write(w.join("own.pem"), format!("{}{}", own.chain, own.key)).unwrap();
    let portal = material("Portal CA", 2031);
    std::fs::write(
        w.join("portal.pem"),
        format!("{}{}", portal.chain, portal.key),
    )
    .unwrap();
    let ok = import(&data, &["--pem", w.join("own.pem").to_str().unwrap()], "");
    assert!(ok.status.success(), "{ok:?}");
    let second = import(
        &data,
        &[
            "--name",
            "portal",
            "--pem",
            w.join("portal.pem").to_str().unwrap(),
        ],
        "",
    );
    assert!(second.status.success(), "{second:?}");
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("outpost certs assign USAGE portal"),
        "{second:?}"
    );
    assert!(data.join("tls/portal.crt").exists() && data.join("tls/portal.key").exists());
    let bad_name = import(
        &data,
        &[
            "--name",
            "Portal/2",
            "--pem",
            w.join("portal.pem").to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(bad_name.status.code(), Some(2), "{bad_name:?}");
    assert!(
        String::from_utf8_lossy(&bad_name.stderr).contains("--name"),
        "{bad_name:?}"
    );

    let list = |data: &Path| {
        let out = outpost(data, &["certs", "list"], "");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = list(&data);
    let row = |text: &str, name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_owned()
    };
    assert!(text.starts_with("NAME"), "{text}");
    assert!(
        row(&text, "default").contains("sip-public,sip-private,web-services,admin"),
        "{text}"
    );
    assert!(row(&text, "portal").contains(" - "), "{text}");
    assert!(row(&text, "portal").contains("2031-01-01"), "{text}");
    assert!(row(&text, "portal").contains(NAME), "{text}");

    let unknown = outpost(&data, &["certs", "assign", "sip", "portal"], "");
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("web-services"));
    let assign = outpost(
        &data,
        &["certs", "assign", "web-services", "portal", "default"],
        "",
    );
    assert!(assign.status.success(), "{assign:?}");
    assert!(row(&list(&data), "portal").contains("web-services"));
    let json = outpost(&data, &["certs", "list", "--json"], "");
    let portal_json: serde_json::Value = String::from_utf8_lossy(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["name"] == "portal")
        .unwrap();
    assert_eq!(portal_json["usages"], serde_json::json!(["web-services"]));

    let refused = outpost(&data, &["certs", "delete", "portal"], "");
    assert_eq!(refused.status.code(), Some(5), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("in use for web-services"),
        "{refused:?}"
    );
    assert!(data.join("tls/portal.crt").exists());
    let own_refused = outpost(&data, &["certs", "delete", "default"], "");
    assert_eq!(own_refused.status.code(), Some(5), "{own_refused:?}");

    assert!(
        outpost(&data, &["certs", "assign", "web-services", "default"], "")
            .status
            .success()
    );
    let deleted = outpost(&data, &["certs", "delete", "portal"], "");
    assert!(deleted.status.success(), "{deleted:?}");
    assert!(!data.join("tls/portal.crt").exists() && !data.join("tls/portal.key").exists());
    let gone = outpost(&data, &["certs", "delete", "portal"], "");
    assert_eq!(gone.status.code(), Some(4), "{gone:?}");
    assert!(!list(&data).contains("portal"));

    let audit = outpost(&data, &["audit", "--action", "certificate.", "--json"], "");
    let actions: Vec<String> = String::from_utf8_lossy(&audit.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for action in [
        "certificate.import",
        "certificate.assign",
        "certificate.delete",
    ] {
        assert!(actions.iter().any(|a| a == action), "{actions:?}");
    }
}

/// What `openssl s_client` sees on the web services port.
fn served() -> String {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            "127.0.77.1:4445",
            "-servername",
            NAME,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// SNI on running listeners (issue 17 item 3): two certificates for two
/// names on the web services port, each served for its name, the first
/// for a name neither covers; the SIP public port presents its own set.
#[test]
fn sni_serves_each_certificate_for_its_name_on_one_listener() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("outpost-data");
    assert!(outpost(&data, &["init"], "").status.success());
    for (name, host) in [
        ("alpha", "alpha.example.test"),
        ("beta", "*.beta.example.test"),
    ] {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![host.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, host);
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2031, 1, 1);
        let cert = params.self_signed(&key).unwrap();
        let file = home.path().join(format!("{name}.pem"));
        std::fs::write(&file, format!("{}{}", cert.pem(), key.serialize_pem())).unwrap();
        let ok = import(
            &data,
            &["--name", name, "--pem", file.to_str().unwrap()],
            "",
        );
        assert!(ok.status.success(), "{ok:?}");
    }
    for (usage, names) in [
        ("web-services", ["alpha", "beta"]),
        ("sip-public", ["beta", "alpha"]),
    ] {
        let mut args = vec!["certs", "assign", usage];
        args.extend(names);
        assert!(outpost(&data, &args, "").status.success());
    }
    let outpost = Outpost::start_in(home, 78, &[]);
    let subject = |port: u16, server_name: &str| {
        let out = Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &format!("127.0.78.1:{port}"),
                "-servername",
                server_name,
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find(|l| l.starts_with("subject="))
            .unwrap_or_else(|| panic!("no certificate from :{port} for {server_name}: {text}"))
            .to_owned()
    };
    assert!(subject(4445, "alpha.example.test").contains("alpha.example.test"));
    assert!(subject(4445, "sbc.beta.example.test").contains("*.beta.example.test"));
    assert!(subject(4445, "unknown.test").contains("alpha.example.test"));
    assert!(subject(5063, "unknown.test").contains("*.beta.example.test"));
    assert!(subject(5063, "alpha.example.test").contains("alpha.example.test"));
    drop(outpost);
}
