//! Importing what installers bring (issue 17 acceptance): a PEM chain with
//! a plain or PKCS#8-encrypted key (made with `openssl pkcs8 -topk8`), a
//! PKCS#12 file made with `openssl pkcs12 -export`; and each refusal —
//! wrong passphrase or password, mismatched key, expired certificate,
//! truncated file, chain out of order — with its own error.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::Path;
use std::process::Command;

use outpost_certs::{ImportError, import_pem, import_pkcs12};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// 2026-12-06, inside every validity below.
const NOW: i64 = 1_796_515_200;

struct Material {
    ca_pem: String,
    leaf_pem: String,
    key_pem: String,
}

fn material(names: &[&str], not_after_year: i32) -> Material {
    material_from("Example Issuing CA", names, not_after_year)
}

fn material_from(ca_name: &str, names: &[&str], not_after_year: i32) -> Material {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(not_after_year, 1, 1);
    let key = KeyPair::generate().unwrap();
    let leaf = params.signed_by(&key, &issuer).unwrap();
    Material {
        ca_pem: ca.pem(),
        leaf_pem: leaf.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_pem_chain_with_its_key_is_read_and_described() {
    let m = material(&["sbc.example.com", "*.phones.example.com"], 2028);
    let pem = format!("{}{}{}", m.leaf_pem, m.ca_pem, m.key_pem);
    let bundle = import_pem(pem.as_bytes(), None, NOW).unwrap();
    assert_eq!(bundle.chain.len(), 2);
    assert!(bundle.info.subject.contains("sbc.example.com"));
    assert!(bundle.info.issuer.contains("Example Issuing CA"));
    assert!(bundle.info.covers("sbc.example.com"));
    assert!(bundle.info.covers("desk-12.phones.example.com"));
    assert!(!bundle.info.covers("example.com"));
    assert!(!bundle.info.self_signed);
}

#[test]
fn an_encrypted_key_needs_its_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let m = material(&["sbc.example.com"], 2028);
    std::fs::write(dir.path().join("plain.key"), &m.key_pem).unwrap();
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
        dir.path(),
    );
    let encrypted = std::fs::read_to_string(dir.path().join("enc.key")).unwrap();
    assert!(encrypted.contains("ENCRYPTED PRIVATE KEY"));
    let pem = format!("{}{}{}", m.leaf_pem, m.ca_pem, encrypted);
    import_pem(pem.as_bytes(), Some("Key-Pass-1"), NOW).unwrap();
    assert_eq!(
        import_pem(pem.as_bytes(), Some("wrong"), NOW).unwrap_err(),
        ImportError::WrongPassword { what: "passphrase" }
    );
    assert_eq!(
        import_pem(pem.as_bytes(), None, NOW).unwrap_err(),
        ImportError::PassphraseNeeded
    );
}

#[test]
fn a_pkcs12_file_from_openssl_is_read_with_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let m = material(&["sbc.example.com"], 2028);
    std::fs::write(dir.path().join("leaf.crt"), &m.leaf_pem).unwrap();
    std::fs::write(dir.path().join("ca.crt"), &m.ca_pem).unwrap();
    std::fs::write(dir.path().join("leaf.key"), &m.key_pem).unwrap();
    openssl(
        &[
            "pkcs12",
            "-export",
            "-in",
            "leaf.crt",
            "-inkey",
            "leaf.key",
            "-certfile",
            "ca.crt",
            "-out",
            "bundle.p12",
            "-passout",
            "pass:P12-Pass-1",
        ],
        dir.path(),
    );
    let p12 = std::fs::read(dir.path().join("bundle.p12")).unwrap();
    let bundle = import_pkcs12(&p12, "P12-Pass-1", NOW).unwrap();
    assert!(bundle.info.covers("sbc.example.com"));
    assert_eq!(bundle.chain.len(), 2, "the leaf and its CA");
    assert_eq!(
        import_pkcs12(&p12, "wrong", NOW).unwrap_err(),
        ImportError::WrongPassword {
            what: "PKCS#12 password"
        }
    );
    let truncated = &p12[..p12.len() / 2];
    assert!(matches!(
        import_pkcs12(truncated, "P12-Pass-1", NOW).unwrap_err(),
        ImportError::BadPkcs12(_)
    ));
}

#[test]
fn each_bad_input_is_named() {
    let m = material(&["sbc.example.com"], 2028);
    let other = material_from("Another CA", &["other.example.com"], 2028);
    // The key of another certificate.
    let pem = format!("{}{}", m.leaf_pem, other.key_pem);
    assert!(matches!(
        import_pem(pem.as_bytes(), None, NOW).unwrap_err(),
        ImportError::KeyMismatch { .. }
    ));
    // Expired at the start of 2026.
    let old = material(&["sbc.example.com"], 2026);
    let pem = format!("{}{}", old.leaf_pem, old.key_pem);
    assert!(matches!(
        import_pem(pem.as_bytes(), None, NOW).unwrap_err(),
        ImportError::Expired { .. }
    ));
    // Cut in the middle of the certificate.
    let whole = format!("{}{}", m.leaf_pem, m.key_pem);
    let cut = &whole[..m.leaf_pem.len() / 2];
    let err = import_pem(cut.as_bytes(), None, NOW).unwrap_err();
    assert!(
        matches!(err, ImportError::BadPem(ref why) if why.contains("line 1")),
        "{err}"
    );
    // The CA of another chain after the leaf.
    let pem = format!("{}{}{}", m.leaf_pem, other.ca_pem, m.key_pem);
    assert!(matches!(
        import_pem(pem.as_bytes(), None, NOW).unwrap_err(),
        ImportError::ChainOrder { index: 2, .. }
    ));
    assert_eq!(
        import_pem(m.key_pem.as_bytes(), None, NOW).unwrap_err(),
        ImportError::NoCertificate
    );
    assert_eq!(
        import_pem(m.leaf_pem.as_bytes(), None, NOW).unwrap_err(),
        ImportError::NoKey
    );
}
