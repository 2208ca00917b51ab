use super::*;
use crate::csv_error::{CsvColumn, MAX_ERRORS};
use crate::mac::MacError;

const HASH: &str = "0123456789abcdef0123456789abcdef";

fn system() -> SystemValues {
    SystemValues::new("gateway.example.com", HASH).unwrap()
}

fn phones(input: &[u8], system: Option<&SystemValues>) -> Vec<PhoneFile> {
    match parse_remote_worker_csv(input, system) {
        Ok(RemoteWorkerImport::Phones(files)) => files,
        other => panic!("expected phone files, got {other:?}"),
    }
}

fn refused(input: &[u8], system: Option<&SystemValues>) -> Vec<CsvError> {
    match parse_remote_worker_csv(input, system) {
        Err(errors) => errors,
        Ok(other) => panic!("expected errors, got {other:?}"),
    }
}

/// A file with `n` phones `00085D000001`... and one parameter column.
fn numbered(n: usize) -> String {
    let mut csv = String::from("MAC_ADDRESS;sip line1 password\n");
    for i in 1..=n {
        csv.push_str(&format!("00085D{i:06X};pw{i}\n"));
    }
    csv
}

fn column(index: usize, name: &str) -> Option<CsvColumn> {
    Some(CsvColumn {
        index,
        name: Some(name.to_owned()),
    })
}

#[test]
fn seed_000_example_as_written() {
    // Seed 000 §6.3: the generated CSV with its title row, `https_server`
    // and `https_path` spelled with '_'. Without gateway values, every
    // cell is taken as written.
    let files = phones(
        include_bytes!("../../testdata/seed_000_remote_workers.csv"),
        None,
    );
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].file_name(), "00085D4330B8.cfg");
    assert_eq!(files[0].line(), 3);
    assert_eq!(
        files[0].contents(),
        "!sip line1 user name: 7000\n\
         !sip line1 auth name: 7000\n\
         sip line1 password: password1\n\
         sip proxy ip: 64.101.10.1\n\
         sip registrar ip: 64.101.10.1\n\
         https server: 64.101.10.1\n\
         https path: 9a48085c1b816fd1b512e8b186686a6\n"
    );
    assert_eq!(files[1].file_name(), "08000F9F7305.cfg");
    assert_eq!(
        files[1].config().get("https server").unwrap().value(),
        "public.test.com"
    );
}

#[test]
fn seed_000_example_with_another_gateways_hash_is_refused() {
    let errors = refused(
        include_bytes!("../../testdata/seed_000_remote_workers.csv"),
        Some(&system()),
    );
    let places: Vec<(Option<usize>, Option<String>)> = errors
        .iter()
        .map(|e| (e.line, e.column.as_ref().map(CsvColumn::letter)))
        .collect();
    assert_eq!(
        places,
        [
            (Some(3), Some("H".to_owned())),
            (Some(4), Some("H".to_owned()))
        ]
    );
    assert!(
        errors
            .iter()
            .all(|e| e.problem == CsvProblem::WrongHashPath)
    );
    let message = errors[0].to_string();
    assert!(
        message.starts_with("line 3, column H (https_path): this is not"),
        "{message}"
    );
    assert!(
        !message.contains(HASH),
        "the hash key is not shown: {message}"
    );
}

#[test]
fn full_example_matches_the_expected_files() {
    // BOM, CRLF, ',' separated, quoted cells, NOTDEFINED, the three MAC
    // forms, empty system cells filled in, a password with spaces.
    let files = phones(
        include_bytes!("../../testdata/remote_workers.csv"),
        Some(&system()),
    );
    let names: Vec<String> = files.iter().map(PhoneFile::file_name).collect();
    assert_eq!(
        names,
        ["00085D237429.cfg", "00085D1A2B3C.cfg", "08000F9F7305.cfg"]
    );
    assert_eq!(
        files[0].contents(),
        include_str!("../../testdata/00085D237429.cfg")
    );
    assert_eq!(
        files[1].contents(),
        include_str!("../../testdata/00085D1A2B3C.cfg")
    );
    let lines: Vec<usize> = files.iter().map(PhoneFile::line).collect();
    assert_eq!(lines, [2, 3, 4]);
}

#[test]
fn notdefined_cells_are_absent_from_the_file() {
    let csv = "MAC_ADDRESS;sip line1 password;keyboard script;sip proxy ip\n\
               00085D237429;NOTDEFINED;notdefined; NotDefined \n";
    let files = phones(csv.as_bytes(), None);
    assert_eq!(files.len(), 1, "a row of NOTDEFINED still gets its file");
    assert_eq!(files[0].contents(), "");
    // With gateway values, the absent system columns are still added, but
    // the NOTDEFINED one is not.
    let files = phones(csv.as_bytes(), Some(&system()));
    let names: Vec<&str> = files[0]
        .config()
        .parameters()
        .map(Parameter::name)
        .collect();
    assert_eq!(names, ["sip registrar ip", "https server", "https path"]);
}

#[test]
fn the_three_mac_forms_give_the_same_file_name() {
    for form in [
        "00085D237429",
        "00:08:5D:23:74:29",
        "00-08-5D-23-74-29",
        "00-08-5d-23-74-29",
    ] {
        let csv = format!("MAC_ADDRESS;sip line1 password\n{form};x\n");
        let files = phones(csv.as_bytes(), None);
        assert_eq!(files[0].file_name(), "00085D237429.cfg", "{form}");
    }
}

#[test]
fn locks_are_kept() {
    let csv = "MAC_ADDRESS;!sip line1 user name;sip line1 auth name;!sip proxy ip\n\
               00085D237429;7000;7000;\n";
    let files = phones(csv.as_bytes(), Some(&system()));
    assert_eq!(
        files[0].contents(),
        "!sip line1 user name: 7000\n\
         sip line1 auth name: 7000\n\
         !sip proxy ip: gateway.example.com\n\
         sip registrar ip: gateway.example.com\n\
         https server: gateway.example.com\n\
         https path: 0123456789abcdef0123456789abcdef\n"
    );
}

#[test]
fn a_mac_only_file_writes_nothing_and_selects_phones() {
    // Seed 004 §9.4: only MAC_ADDRESS, no @MAC.cfg generated.
    let result = parse_remote_worker_csv(
        include_bytes!("../../testdata/selection.csv"),
        Some(&system()),
    )
    .unwrap();
    let expected: Vec<Mac> = ["00085D842061", "00085D1547FD", "00085D237429"]
        .iter()
        .map(|m| Mac::parse(m).unwrap())
        .collect();
    assert_eq!(result, RemoteWorkerImport::Selection(expected.clone()));
    assert_eq!(result.macs(), expected);
}

#[test]
fn a_mac_only_file_still_checks_its_rows() {
    let csv = "MAC_ADDRESS\n00085D842061\n00-08-5D-84-20-61\nbad\n";
    let errors = refused(csv.as_bytes(), None);
    assert_eq!(errors.len(), 2);
    assert_eq!(
        errors[0].problem,
        CsvProblem::DuplicateMac {
            mac: Mac::parse("00085D842061").unwrap(),
            first_line: 2
        }
    );
    assert_eq!(errors[0].line, Some(3));
    assert_eq!(errors[1].line, Some(4));
}

#[test]
fn at_most_1500_phones() {
    let files = phones(numbered(MAX_PHONES).as_bytes(), None);
    assert_eq!(files.len(), 1500);
    let errors = refused(numbered(MAX_PHONES + 1).as_bytes(), None);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(1502));
    assert_eq!(errors[0].problem, CsvProblem::TooManyPhones { limit: 1500 });
    let message = errors[0].to_string();
    assert!(message.contains("split the file"), "{message}");
    // The selection form has the same limit.
    let macs_only: String = numbered(MAX_PHONES + 1)
        .lines()
        .map(|l| l.split(';').next().unwrap_or_default().to_owned() + "\n")
        .collect();
    let errors = refused(macs_only.as_bytes(), None);
    assert_eq!(errors[0].problem, CsvProblem::TooManyPhones { limit: 1500 });
}

#[test]
fn a_bad_mac_on_line_7_is_reported_as_line_7_with_its_column() {
    let mut csv = String::from("!sip line1 user name;MAC_ADDRESS;sip line1 password\n");
    for i in 1..=5 {
        csv.push_str(&format!("700{i};00085D00000{i};pw\n"));
    }
    csv.push_str("7006;00085D00000;pw\n");
    let errors = refused(csv.as_bytes(), None);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(7));
    assert_eq!(errors[0].column, column(2, "MAC_ADDRESS"));
    assert_eq!(
        errors[0].problem,
        CsvProblem::BadMac(MacError::Length { chars: 11 })
    );
    assert!(
        errors[0]
            .to_string()
            .starts_with("line 7, column B (MAC_ADDRESS): 11 characters; a MAC address is"),
        "{}",
        errors[0]
    );
}

#[test]
fn duplicate_macs_name_both_lines() {
    let csv = "MAC_ADDRESS;sip line1 password\n\
               00085D237429;a\n\
               00085D000001;b\n\
               00:08:5d:23:74:29;c\n";
    let errors = refused(csv.as_bytes(), None);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(4));
    assert_eq!(errors[0].column, column(1, "MAC_ADDRESS"));
    let message = errors[0].to_string();
    assert!(
        message.contains("00085D237429 is also on line 2"),
        "{message}"
    );
}

#[test]
fn empty_cells() {
    let csv = "MAC_ADDRESS;sip line1 password;sip proxy ip\n00085D237429;;\n";
    let errors = refused(csv.as_bytes(), None);
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].column, column(2, "sip line1 password"));
    assert_eq!(errors[0].problem, CsvProblem::EmptyCell);
    assert!(
        errors[0].to_string().contains("NOTDEFINED"),
        "{}",
        errors[0]
    );
    assert_eq!(errors[1].column, column(3, "sip proxy ip"));
    assert_eq!(errors[1].problem, CsvProblem::EmptySystemCell);
    // A short row reads as empty cells.
    let errors = errors_of("MAC_ADDRESS;sip line1 password\n00085D237429\n");
    assert_eq!(errors[0].problem, CsvProblem::EmptyCell);
}

fn errors_of(csv: &str) -> Vec<CsvError> {
    refused(csv.as_bytes(), None)
}

#[test]
fn passwords_are_verbatim_and_never_in_errors() {
    let csv = "MAC_ADDRESS;sip line1 password;admin password\n\
               00085D237429;  s3cret ;x\n";
    let files = phones(csv.as_bytes(), None);
    assert_eq!(
        files[0].config().get("sip line1 password").unwrap().value(),
        "  s3cret "
    );
    let csv = "MAC_ADDRESS;sip line1 password\n00085D237429;\"s3cret\nmore\"\n";
    let errors = errors_of(csv);
    assert_eq!(errors.len(), 1);
    assert!(matches!(errors[0].problem, CsvProblem::BadValue(_)));
    assert!(!errors[0].to_string().contains("s3cret"), "{}", errors[0]);
    assert!(
        !format!(
            "{:?}",
            phones(
                b"MAC_ADDRESS;sip line1 password\n00085D237429;s3cret\n",
                None
            )
        )
        .contains("s3cret")
    );
}

#[test]
fn header_problems() {
    let errors = errors_of("sip line1 password;sip proxy ip\n00085D237429;x\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(1));
    assert!(matches!(
        errors[0].problem,
        CsvProblem::MissingColumn {
            name: "MAC_ADDRESS",
            ..
        }
    ));

    let errors = errors_of("MAC_ADDRESS;!sip proxy ip;SIP Proxy IP;mac_address\n");
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].column, column(3, "SIP Proxy IP"));
    assert_eq!(
        errors[0].problem,
        CsvProblem::DuplicateColumn {
            first: column(2, "!sip proxy ip").unwrap()
        }
    );
    assert!(
        errors[0]
            .to_string()
            .contains("same column as column B (!sip proxy ip)")
    );
    assert_eq!(errors[1].column, column(4, "mac_address"));

    let errors = errors_of("MAC_ADDRESS;sip: proxy;! sip proxy ip\n");
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].column, column(2, "sip: proxy"));
    assert!(matches!(errors[0].problem, CsvProblem::BadColumnName(_)));
    assert_eq!(errors[1].column, column(3, "! sip proxy ip"));

    let wide = format!("MAC_ADDRESS{}\n", ";p".repeat(MAX_COLUMNS));
    let errors = errors_of(&wide);
    assert_eq!(
        errors[0].problem,
        CsvProblem::TooManyColumns { limit: MAX_COLUMNS }
    );

    let errors = errors_of("MAC_ADDRESS;sip line1 password\n");
    assert_eq!(errors[0].line, Some(1));
    assert!(matches!(errors[0].problem, CsvProblem::NoRows { .. }));

    let errors = errors_of("\r\n \r\n");
    assert!(matches!(errors[0].problem, CsvProblem::NoHeader { .. }));
}

#[test]
fn values_in_unnamed_columns() {
    let errors = errors_of("MAC_ADDRESS;;sip line1 password\n00085D237429;oops;pw\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].column, column(2, ""));
    assert_eq!(errors[0].problem, CsvProblem::ValueInUnnamedColumn);
    let errors = errors_of("MAC_ADDRESS;sip line1 password\n00085D237429;pw;;extra\n");
    assert_eq!(errors[0].line, Some(2));
    assert_eq!(
        errors[0].column.as_ref().map(CsvColumn::letter).as_deref(),
        Some("D")
    );
}

#[test]
fn every_problem_is_reported_and_nothing_is_returned() {
    let csv = "MAC_ADDRESS;sip line1 password\n\
               00085D000001;ok\n\
               nope;ok\n\
               00085D000002;\n\
               00085D000001;ok\n";
    let errors = errors_of(csv);
    let lines: Vec<Option<usize>> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [Some(3), Some(4), Some(5)]);
}

#[test]
fn errors_are_capped() {
    let mut csv = String::from("MAC_ADDRESS;sip line1 password\n");
    for _ in 0..(MAX_ERRORS * 2) {
        csv.push_str("bad;\n");
    }
    let errors = errors_of(&csv);
    assert_eq!(errors.len(), MAX_ERRORS + 1);
    assert_eq!(
        errors[MAX_ERRORS].problem,
        CsvProblem::TooManyErrors { limit: MAX_ERRORS }
    );
}

#[test]
fn too_large() {
    let big = vec![b' '; MAX_REMOTE_WORKER_CSV_BYTES + 1];
    let errors = refused(&big, None);
    assert_eq!(
        errors,
        [CsvError {
            line: None,
            column: None,
            problem: CsvProblem::TooLarge {
                limit: MAX_REMOTE_WORKER_CSV_BYTES
            }
        }]
    );
}

#[test]
fn https_path_with_the_gateway_hash_is_accepted() {
    let csv = format!("MAC_ADDRESS;https path\n00085D237429;{HASH}\n00085D237430;/{HASH}/\n");
    let files = phones(csv.as_bytes(), Some(&system()));
    assert_eq!(files.len(), 2);
}
