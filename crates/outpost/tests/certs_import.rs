//! `outpost certs import` (issue 17 item 1): a PEM chain with an
//! encrypted key and a PKCS#12 file are checked and installed; a wrong
//! passphrase, a mismatched key and an expired certificate are refused
//! and change nothing; `outpost serve` then presents the imported
//! certificate on the web services port (`openssl s_client`), and one
//! imported while it runs from the next handshake on. Runs on
//! 127.0.77.x (see `support`).

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
    let mut child = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .arg("--data-dir")
        .arg(data)
        .args(["certs", "import"])
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
