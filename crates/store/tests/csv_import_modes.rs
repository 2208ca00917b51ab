//! CSV import modes (PRO-2, issue 11): create, update and upsert, each all
//! or nothing with a per-line report.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use common::{device, store_with_icp};
use outpost_store::{
    DeviceChange, ImportMode, ImportReport, LineError, NewIcp, Secret, Store, StoreError,
};

const PASSWORD: &str = "Kn0wn-P4ssw0rd!";

fn import(store: &mut Store, mode: ImportMode, csv: &str) -> Result<ImportReport, StoreError> {
    store.import_devices_csv_with_mode(csv.as_bytes(), mode)
}

fn line_errors(err: StoreError) -> Vec<(usize, Option<String>, String)> {
    match err {
        StoreError::Import(lines) => lines
            .into_iter()
            .map(
                |LineError {
                     line,
                     column,
                     message,
                 }| (line, column, message),
            )
            .collect(),
        other => panic!("expected Import, got {other:?}"),
    }
}

/// Two devices with every field set, and a second ICP.
fn populated() -> Store {
    let mut store = store_with_icp();
    store.add_icp(&NewIcp::new("pbx2", "192.0.2.2")).unwrap();
    for (user, mac) in [("alice", "00085D842061"), ("bob", "00085D842062")] {
        let mut new = device(user, PASSWORD);
        new.icpside_username = format!("icp-{user}");
        new.icpside_password = Some(Secret::from("icp-old"));
        new.description = format!("{user} at home");
        new.mac = Some(mac.to_owned());
        new.location = Some("Paris".to_owned());
        store.add_device(&new).unwrap();
    }
    store
}

#[test]
fn update_changes_only_named_columns() {
    let mut store = populated();
    let csv = "setside_username;icpside_password;location;enabled\n\
               alice;icp-new;Lyon;no\n\
               bob;icp-old;Paris;yes\n";
    let report = import(&mut store, ImportMode::Update, csv).unwrap();
    assert_eq!(
        report,
        ImportReport {
            added: 0,
            updated: 1,
            unchanged: 1,
            changes: vec![DeviceChange {
                setside_username: "alice".to_owned(),
                fields: vec!["enabled", "icpside_password", "location"],
            }],
        }
    );
    let alice = store.device("alice").unwrap().unwrap();
    assert_eq!(alice.effective_icpside_password().expose(), "icp-new");
    assert_eq!(alice.location.as_deref(), Some("Lyon"));
    assert!(!alice.enabled);
    // Columns not named are untouched.
    assert_eq!(alice.setside_password.expose(), PASSWORD);
    assert_eq!(alice.icpside_username, "icp-alice");
    assert_eq!(alice.description, "alice at home");
    assert_eq!(alice.mac.as_deref(), Some("00085D842061"));
    assert_eq!(alice.icp, "pbx1");
}

#[test]
fn blank_cells_in_update_mode() {
    let mut store = populated();
    // Blank password and ICP keep theirs; the others mean "none" as on
    // creation.
    let csv = "setside_username,setside_password,icp,icpside_username,icpside_password,\
               clientid,location,description,enabled\n\
               alice,,,,,,,,\n";
    let report = import(&mut store, ImportMode::Update, csv).unwrap();
    assert_eq!(report.updated, 1);
    let alice = store.device("alice").unwrap().unwrap();
    assert_eq!(alice.setside_password.expose(), PASSWORD);
    assert_eq!(alice.icp, "pbx1");
    assert_eq!(alice.effective_icpside_username(), "alice");
    assert_eq!(alice.effective_icpside_password().expose(), PASSWORD);
    assert_eq!(alice.mac, None);
    assert_eq!(alice.location, None);
    assert_eq!(alice.description, "");
    assert!(alice.enabled);

    let csv = "setside_username,setside_password,icp\nbob,N3w-Passw0rd,pbx2\n";
    import(&mut store, ImportMode::Update, csv).unwrap();
    let bob = store.device("bob").unwrap().unwrap();
    assert_eq!(bob.setside_password.expose(), "N3w-Passw0rd");
    assert_eq!(bob.icp, "pbx2");
}

#[test]
fn update_of_an_unknown_device_and_create_of_an_existing_one_are_line_errors() {
    let mut store = populated();
    let csv = "setside_username;location\nalice;Nice\nnobody;Nice\n";
    let errors = line_errors(import(&mut store, ImportMode::Update, csv).unwrap_err());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, 3);
    assert_eq!(errors[0].1.as_deref(), Some("setside_username"));
    assert!(
        errors[0].2.contains("\"nobody\"") && errors[0].2.contains("upsert"),
        "{errors:?}"
    );
    assert_eq!(
        store.device("alice").unwrap().unwrap().location.as_deref(),
        Some("Paris"),
        "the good line is not written either"
    );

    let csv = format!("setside_username;setside_password\ncarol;{PASSWORD}\nalice;{PASSWORD}\n");
    let errors = line_errors(import(&mut store, ImportMode::Create, &csv).unwrap_err());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, 3);
    assert!(errors[0].2.contains("already exists"), "{errors:?}");
    assert!(store.device("carol").unwrap().is_none());
}

#[test]
fn upsert_creates_and_updates_in_one_transaction() {
    let mut store = populated();
    let csv = format!(
        "setside_username;setside_password;clientid;icp\n\
         alice;;;pbx2\n\
         carol;{PASSWORD};00085D842064;\n"
    );
    let report = import(&mut store, ImportMode::Upsert, &csv).unwrap();
    assert_eq!((report.added, report.updated), (1, 1));
    assert_eq!(report.changes[0].fields, ["icp", "mac"]);
    let alice = store.device("alice").unwrap().unwrap();
    assert_eq!((alice.icp.as_str(), alice.mac), ("pbx2", None));
    let carol = store.device("carol").unwrap().unwrap();
    assert_eq!(carol.icp, "pbx1");
    assert_eq!(carol.mac.as_deref(), Some("00085D842064"));

    // A new device still needs a password.
    let csv = "setside_username;location\nalice;Nice\ndave;Nice\n";
    let errors = line_errors(import(&mut store, ImportMode::Upsert, csv).unwrap_err());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].0, errors[0].1.as_deref()),
        (3, Some("setside_password"))
    );
    assert!(store.device("dave").unwrap().is_none());
    assert_eq!(
        store.device("alice").unwrap().unwrap().location.as_deref(),
        Some("Paris")
    );
}

#[test]
fn a_failing_line_rolls_back_every_update_and_creation() {
    let mut store = populated();
    let csv = format!(
        "setside_username;setside_password;clientid;icp;enabled\n\
         alice;N3w-Passw0rd;;;no\n\
         carol;{PASSWORD};;;\n\
         bob;;00085D842061;nope;maybe\n\
         dave;{PASSWORD};;;\n\
         alice;;;;\n"
    );
    let errors = line_errors(import(&mut store, ImportMode::Upsert, &csv).unwrap_err());
    let got: Vec<(usize, Option<&str>)> = errors
        .iter()
        .map(|(line, column, _)| (*line, column.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (4, Some("enabled")),
            (4, Some("icp")),
            (4, Some("clientid")),
            (6, Some("setside_username")),
        ],
        "{errors:#?}"
    );
    assert!(
        errors[2].2.contains("already used by device \"alice\""),
        "{errors:?}"
    );
    assert!(errors[3].2.contains("also on line 2"), "{errors:?}");
    let alice = store.device("alice").unwrap().unwrap();
    assert_eq!(
        alice.setside_password.expose(),
        PASSWORD,
        "update rolled back"
    );
    assert!(alice.enabled);
    assert!(
        store.device("carol").unwrap().is_none(),
        "creation rolled back"
    );
    assert!(store.device("dave").unwrap().is_none());
    assert_eq!(store.devices().unwrap().len(), 2);
}

#[test]
fn update_mode_needs_only_the_username_column() {
    let mut store = populated();
    let err = import(&mut store, ImportMode::Update, "location\nNice\n").unwrap_err();
    let errors = line_errors(err);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].1.as_deref(), Some("setside_username"));
    assert!(errors[0].2.contains("required"), "{errors:?}");
    // The password column is required only when creating.
    let err = import(&mut store, ImportMode::Create, "setside_username\ncarol\n").unwrap_err();
    assert_eq!(line_errors(err)[0].1.as_deref(), Some("setside_password"));
}

#[test]
fn passwords_never_appear_in_update_reports() {
    let mut store = populated();
    let secret = "Upd4ted-Secret";
    let csv = format!(
        "setside_username,setside_password,icpside_password,icp\n\
         alice,{secret},{secret},nope\n"
    );
    let err = import(&mut store, ImportMode::Update, &csv).unwrap_err();
    let shown = format!("{err}\n{err:?}");
    assert!(!shown.contains(secret), "{shown}");
    let csv =
        format!("setside_username,setside_password,icpside_password\nalice,{secret},{secret}\n");
    let report = import(&mut store, ImportMode::Update, &csv).unwrap();
    assert!(!format!("{report:?}").contains(secret));
    assert_eq!(
        report.changes[0].fields,
        ["setside_password", "icpside_password"]
    );
}
