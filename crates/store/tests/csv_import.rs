//! CSV bulk import (PRO-2): all-or-nothing with a per-line report.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use common::{device, store_with_icp};
use outpost_store::{LineError, MAX_IMPORT_ROWS, NewIcp, Store, StoreError};

const PASSWORD: &str = "Kn0wn-P4ssw0rd!";

fn import(store: &mut Store, csv: &str) -> Result<usize, StoreError> {
    store.import_devices_csv(csv.as_bytes()).map(|r| r.added)
}

fn line_errors(err: StoreError) -> Vec<LineError> {
    match err {
        StoreError::Import(lines) => lines,
        other => panic!("expected Import, got {other:?}"),
    }
}

fn usernames(store: &Store) -> Vec<String> {
    store
        .devices()
        .unwrap()
        .into_iter()
        .map(|d| d.setside_username)
        .collect()
}

#[test]
fn comma_separated_import() {
    let mut store = store_with_icp();
    let csv = "setside_username,setside_password,icpside_username,icpside_password,description,enabled,clientid,location\n\
               alice,pw-a,4001,icp-a,Alice,true,00-08-5d-84-20-61,Paris\n\
               bob,pw-b,,,Bob,no,,\n";
    assert_eq!(import(&mut store, csv).unwrap(), 2);
    let alice = store.device("alice").unwrap().unwrap();
    assert_eq!(alice.effective_icpside_username(), "4001");
    assert_eq!(alice.effective_icpside_password().expose(), "icp-a");
    assert_eq!(alice.mac.as_deref(), Some("00085D842061"));
    assert_eq!(alice.location.as_deref(), Some("Paris"));
    assert!(alice.enabled);
    let bob = store.device("bob").unwrap().unwrap();
    assert!(!bob.enabled);
    assert_eq!(bob.effective_icpside_username(), "bob");
    assert_eq!(bob.effective_icpside_password().expose(), "pw-b");
    assert_eq!(bob.mac, None);
    assert_eq!(bob.location, None);
    assert_eq!(bob.icp, "pbx1");
}

#[test]
fn semicolon_separated_any_order_and_case() {
    let mut store = store_with_icp();
    store.add_icp(&NewIcp::new("pbx2", "192.0.2.2")).unwrap();
    // Excel-style: BOM, CRLF, semicolons, commas inside cells.
    let csv = "\u{feff}ClientID ; ICP;Setside_Password;setside_username;enabled;description\r\n\
               00:08:5D:84:20:62;pbx2;pw,with,commas;carol;0;Carol, at home\r\n\
               ;;pw-d;dave;YES;\r\n";
    assert_eq!(import(&mut store, csv).unwrap(), 2);
    let carol = store.device("carol").unwrap().unwrap();
    assert_eq!(carol.icp, "pbx2");
    assert_eq!(carol.setside_password.expose(), "pw,with,commas");
    assert_eq!(carol.description, "Carol, at home");
    assert_eq!(carol.mac.as_deref(), Some("00085D842062"));
    assert!(!carol.enabled);
    let dave = store.device("dave").unwrap().unwrap();
    assert_eq!(dave.icp, "pbx1");
    assert!(dave.enabled);
}

#[test]
fn bad_line_in_the_middle_rolls_everything_back() {
    let mut store = store_with_icp();
    store.add_device(&device("existing", "pw")).unwrap();
    let csv = "setside_username,setside_password\n\
               good1,pw1\n\
               good2,pw2\n\
               bad,\n\
               good3,pw3\n";
    let errors = line_errors(import(&mut store, csv).unwrap_err());
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 4);
    assert_eq!(errors[0].column.as_deref(), Some("setside_password"));
    assert_eq!(
        errors[0].to_string(),
        "line 4, column setside_password: empty; every device needs a set-side password"
    );
    assert_eq!(
        usernames(&store),
        ["existing"],
        "good lines before the bad one are not written"
    );
}

#[test]
fn every_bad_line_is_reported_with_its_number() {
    let mut store = store_with_icp();
    store.add_device(&device("taken", "pw")).unwrap();
    let csv = "setside_username;setside_password;icp;clientid;enabled\n\
               ok1;pw;;;\n\
               taken;pw;;;\n\
               ok2;pw;nope;;\n\
               \n\
               ok3;pw;;00085d842061;maybe\n\
               ok4;pw;;00-08-5D-84-20-61;\n\
               ok1;pw;;;\n\
               bad user;pw;;xx;\n\
               only;three;cells\n";
    let errors = line_errors(import(&mut store, csv).unwrap_err());
    let got: Vec<(usize, Option<&str>)> = errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (3, Some("setside_username")),
            (4, Some("icp")),
            (6, Some("enabled")),
            (7, Some("clientid")),
            (8, Some("setside_username")),
            (9, Some("setside_username")),
            (9, Some("clientid")),
            (10, None),
        ],
        "{errors:#?}"
    );
    let report = StoreError::Import(errors.clone()).to_string();
    assert!(report.contains("7 bad line(s)"), "{report}");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        text[0].contains("\"taken\"") && text[0].contains("already exists"),
        "{}",
        text[0]
    );
    assert!(text[1].contains("\"nope\""), "{}", text[1]);
    assert!(
        text[2].contains("\"maybe\"") && text[2].contains("true/false"),
        "{}",
        text[2]
    );
    assert!(text[3].contains("also on line 6"), "{}", text[3]);
    assert!(text[4].contains("also on line 2"), "{}", text[4]);
    assert!(
        text[7].contains("3 cells") && text[7].contains("5 columns"),
        "{}",
        text[7]
    );
    assert_eq!(usernames(&store), ["taken"]);
}

#[test]
fn passwords_never_appear_in_the_report() {
    let mut store = store_with_icp();
    store.add_device(&device("taken", PASSWORD)).unwrap();
    let csv = format!(
        "setside_username,setside_password,icpside_username,icpside_password,icp,clientid,enabled\n\
         taken,{PASSWORD},,{PASSWORD},,,\n\
         new one,{PASSWORD},bad user,{PASSWORD},nope,zz,perhaps\n\
         ok,{PASSWORD},,,,,\n\
         ok,{PASSWORD},,,,,\n"
    );
    let err = import(&mut store, &csv).unwrap_err();
    let shown = format!("{err}\n{err:?}");
    assert!(
        shown.contains("line 2") && shown.contains("line 5"),
        "{shown}"
    );
    assert!(!shown.contains(PASSWORD), "password leaked: {shown}");
    assert_eq!(usernames(&store), ["taken"]);
}

#[test]
fn header_problems() {
    let mut store = store_with_icp();
    let errors = line_errors(
        import(
            &mut store,
            "setside_username,password,colour\nalice,pw,red\n",
        )
        .unwrap_err(),
    );
    let got: Vec<(usize, Option<&str>)> = errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (1, Some("password")),
            (1, Some("colour")),
            (1, Some("setside_password"))
        ]
    );
    assert!(
        errors[0].message.contains("unknown column"),
        "{}",
        errors[0]
    );
    assert!(errors[2].message.contains("required"), "{}", errors[2]);

    let errors = line_errors(
        import(
            &mut store,
            "setside_username,setside_password,setside_username\n",
        )
        .unwrap_err(),
    );
    assert!(errors[0].message.contains("twice"), "{}", errors[0]);

    let errors = line_errors(import(&mut store, "").unwrap_err());
    assert_eq!(errors[0].line, 1);
    assert!(errors[0].message.contains("no header row"), "{}", errors[0]);
    assert!(store.devices().unwrap().is_empty());
}

#[test]
fn header_only_and_blank_rows_add_nothing() {
    let mut store = store_with_icp();
    assert_eq!(
        import(&mut store, "setside_username;setside_password\n").unwrap(),
        0
    );
    assert_eq!(
        import(&mut store, "setside_username;setside_password\n;\n \n").unwrap(),
        0
    );
    assert!(store.devices().unwrap().is_empty());
}

#[test]
fn no_default_icp_is_reported_per_line() {
    let mut store = Store::open_in_memory().unwrap();
    let errors = line_errors(
        import(&mut store, "setside_username,setside_password\nalice,pw\n").unwrap_err(),
    );
    assert_eq!(errors[0].line, 2);
    assert_eq!(errors[0].column.as_deref(), Some("icp"));
    assert!(
        errors[0].message.contains("outpost icps add"),
        "{}",
        errors[0]
    );
}

#[test]
fn too_many_rows_are_refused() {
    let mut store = store_with_icp();
    let mut csv = String::from("setside_username,setside_password\n");
    for i in 0..=MAX_IMPORT_ROWS {
        csv.push_str(&format!("user{i},pw\n"));
    }
    let errors = line_errors(import(&mut store, &csv).unwrap_err());
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, MAX_IMPORT_ROWS + 2);
    assert!(
        errors[0].message.contains("more than 10000"),
        "{}",
        errors[0]
    );
    assert!(store.devices().unwrap().is_empty());

    // Exactly the limit is fine.
    let limit: String = csv
        .lines()
        .take(MAX_IMPORT_ROWS + 1)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(import(&mut store, &limit).unwrap(), MAX_IMPORT_ROWS);
}

#[test]
fn non_utf8_line_is_reported() {
    let mut store = store_with_icp();
    let mut csv = b"setside_username,setside_password\nalice,pw\nbob,p".to_vec();
    csv.extend_from_slice(&[0xff, 0xfe]);
    csv.extend_from_slice(b"w\n");
    let errors = line_errors(store.import_devices_csv(csv.as_slice()).unwrap_err());
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 3);
    assert!(errors[0].message.contains("UTF-8"), "{}", errors[0]);
    assert!(store.devices().unwrap().is_empty());
}

#[test]
fn line_numbers_count_quoted_line_breaks_and_blank_lines() {
    let mut store = store_with_icp();
    let csv = "setside_username,setside_password,description\n\
               alice,pw,\"two\nlines\"\n\
               \n\
               \r\n\
               \"bad user\",,x\n";
    let errors = line_errors(import(&mut store, csv).unwrap_err());
    let got: Vec<(usize, Option<&str>)> = errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect();
    assert_eq!(
        got,
        [(6, Some("setside_username")), (6, Some("setside_password"))]
    );
}
