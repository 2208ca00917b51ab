#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use super::*;
use crate::import_pem;

const NOW: i64 = 1_800_000_000; // 2027-01-15

fn bundle(names: &[&str]) -> CertificateBundle {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .unwrap();
    params.not_before = rcgen::date_time_ymd(2026, 1, 1);
    params.not_after = rcgen::date_time_ymd(2028, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    let pem = format!("{}{}", cert.pem(), key.serialize_pem());
    import_pem(pem.as_bytes(), None, NOW).unwrap()
}

fn store() -> (tempfile::TempDir, CertStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = CertStore::new(dir.path().join("tls"));
    (dir, store)
}

#[test]
fn install_list_load_round_trip_with_owner_only_key() {
    let (_dir, store) = store();
    assert!(store.list().unwrap().is_empty());
    let b = bundle(&["sbc.example.com"]);
    store.install("default", &b).unwrap();
    store
        .install("portal", &bundle(&["*.example.org"]))
        .unwrap();
    let list = store.list().unwrap();
    assert_eq!(
        list.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["default", "portal"]
    );
    assert_eq!(list[0].usages, Usage::ALL.to_vec());
    assert!(list[1].usages.is_empty());
    assert_eq!(list[1].info.names, ["*.example.org"]);
    let loaded = store.load("default").unwrap();
    assert_eq!(loaded.chain, b.chain);
    assert_eq!(loaded.key, b.key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(store.key_path("portal"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn assignment_checks_names_and_delete_is_refused_while_in_use() {
    let (_dir, store) = store();
    store
        .install("default", &bundle(&["sbc.example.com"]))
        .unwrap();
    store
        .install("portal", &bundle(&["portal.example.org"]))
        .unwrap();
    let err = store
        .assign(Usage::WebServices, &["nope".to_owned()])
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(ref n) if n == "nope"),
        "{err}"
    );
    assert!(matches!(
        store.assign(Usage::Admin, &[]).unwrap_err(),
        StoreError::BadAssignment(0)
    ));
    store
        .assign(
            Usage::WebServices,
            &[
                "default".to_owned(),
                "portal".to_owned(),
                "portal".to_owned(),
            ],
        )
        .unwrap();
    let assigned = store.assignments().unwrap();
    assert_eq!(assigned[&Usage::WebServices], ["default", "portal"]);
    assert_eq!(assigned[&Usage::SipPublic], ["default"]);
    let err = store.delete("portal").unwrap_err();
    assert!(err.to_string().contains("web-services"), "{err}");
    assert!(store.cert_path("portal").exists());
    assert!(matches!(
        store.delete("default").unwrap_err(),
        StoreError::DefaultKept
    ));
    store
        .assign(Usage::WebServices, &["default".to_owned()])
        .unwrap();
    store.delete("portal").unwrap();
    assert!(!store.cert_path("portal").exists() && !store.key_path("portal").exists());
    assert!(matches!(
        store.delete("portal").unwrap_err(),
        StoreError::NotFound(_)
    ));
}

#[test]
fn names_and_usages_are_checked() {
    for good in ["default", "acme-sbc.example.com", "a", "x_1"] {
        assert!(valid_name(good), "{good}");
    }
    for bad in [
        "",
        "Default",
        "../etc",
        "a/b",
        ".hidden",
        "-x",
        "a.tmp",
        &"a".repeat(64),
    ] {
        assert!(!valid_name(bad), "{bad}");
    }
    let (_dir, store) = store();
    assert!(matches!(
        store.install("../x", &bundle(&["a.example"])).unwrap_err(),
        StoreError::BadName(_)
    ));
    assert_eq!(Usage::parse("sip-private").unwrap(), Usage::SipPrivate);
    assert!(
        Usage::parse("sip")
            .unwrap_err()
            .to_string()
            .contains("web-services")
    );
}

#[test]
fn a_damaged_usages_file_is_an_error_naming_it() {
    let (_dir, store) = store();
    store
        .install("default", &bundle(&["sbc.example.com"]))
        .unwrap();
    fs::write(store.dir().join(USAGES_FILE), "{not json").unwrap();
    let err = store.assignments().unwrap_err();
    assert!(err.to_string().contains(USAGES_FILE), "{err}");
}
