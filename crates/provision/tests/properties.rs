//! Property tests (ARCHITECTURE rule 7): the configuration writer and
//! reader are inverse, the MAC forms are one MAC, a remote-worker CSV
//! becomes exactly the files its cells describe, and the User-Agent parser
//! reads back what it is given and survives anything.

use std::collections::BTreeSet;

use outpost_provision::{
    ConfigFile, Line, Mac, Parameter, RemoteWorkerImport, SystemValues, parse_remote_worker_csv,
    parse_user_agent,
};
use proptest::collection::{btree_set, vec};
use proptest::prelude::*;

/// Names as the phone spells them: words of letters, digits and `-_./`.
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9_./-]{0,8}( [a-zA-Z0-9_./-]{0,8}[a-zA-Z0-9]){0,3}"
}

/// Any one-line text: no control character but tab.
fn text() -> impl Strategy<Value = String> {
    "(\t|[^\\p{Cc}]){0,30}"
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        4 => (name(), text(), any::<bool>()).prop_map(|(n, v, locked)| {
            let p = if locked {
                Parameter::new_locked(n, v)
            } else {
                Parameter::new(n, v)
            };
            Line::Parameter(p.expect("the strategies only make valid parameters"))
        }),
        1 => text().prop_map(Line::Comment),
        1 => Just(Line::Blank),
    ]
}

fn config_file() -> impl Strategy<Value = ConfigFile> {
    vec(line(), 0..20).prop_map(|lines| {
        let mut file = ConfigFile::new();
        for line in lines {
            match line {
                Line::Parameter(p) => file.push(p),
                Line::Comment(c) => file.push_comment(c).expect("one-line comment"),
                Line::Blank => file.push_blank(),
            }
        }
        file
    })
}

proptest! {
    #[test]
    fn what_the_writer_writes_reads_back_the_same(file in config_file()) {
        let text = file.render();
        let read = ConfigFile::parse(&text).expect("the writer's output is valid");
        prop_assert_eq!(&read, &file);
        prop_assert_eq!(read.render(), text);
    }

    #[test]
    fn the_reader_never_panics_and_its_result_round_trips(text in "(?s).{0,200}") {
        if let Ok(file) = ConfigFile::parse(&text) {
            let again = ConfigFile::parse(&file.render()).expect("rendered files read back");
            prop_assert_eq!(again, file);
        }
    }

    #[test]
    fn the_three_mac_forms_are_one_mac(bytes in any::<[u8; 6]>(), lower in any::<bool>()) {
        let mac = Mac::from_bytes(bytes);
        let case = |s: String| if lower { s.to_ascii_lowercase() } else { s };
        for form in [mac.to_string(), mac.dashed(), mac.colon()] {
            prop_assert_eq!(Mac::parse(&case(form)), Ok(mac));
        }
        prop_assert_eq!(Mac::from_file_name(&mac.file_name()), Some(mac));
        prop_assert_eq!(mac.file_name().len(), 16);
    }

    #[test]
    fn user_agents_read_back(
        bytes in any::<[u8; 6]>(),
        model in "[0-9][0-9a-z]{0,6}",
        version in "[0-9]{1,2}(\\.[0-9]{1,4}){0,3}",
        aastra in any::<bool>(),
    ) {
        let mac = Mac::from_bytes(bytes);
        let vendor = if aastra { "Aastra" } else { "Mitel" };
        let agent = format!("{vendor}{model} MAC:{} V:{version}-SIP", mac.dashed());
        let phone = parse_user_agent(&agent).expect("a phone's agent");
        prop_assert_eq!(phone.vendor.as_str(), vendor);
        prop_assert_eq!(phone.model, model);
        prop_assert_eq!(phone.mac, mac);
        prop_assert_eq!(phone.firmware, Some(version));
    }

    #[test]
    fn the_user_agent_parser_survives_anything(agent in "(?s).{0,300}") {
        let _ = parse_user_agent(&agent);
    }
}

/// A cell of the generated CSV: a value, or NOTDEFINED.
#[derive(Debug, Clone)]
enum Cell {
    Value(String),
    NotDefined,
}

fn cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        // Values that survive trimming: no leading/trailing white space.
        4 => "[^\\p{Cc}\\s]([^\\p{Cc}]{0,20}[^\\p{Cc}\\s])?".prop_filter(
            "NOTDEFINED is not a value",
            |v| !v.eq_ignore_ascii_case("NOTDEFINED"),
        ).prop_map(Cell::Value),
        1 => Just(Cell::NotDefined),
    ]
}

/// Parameter columns with distinct names (compared as the phone does),
/// none of them a system parameter, with a lock flag each.
fn columns() -> impl Strategy<Value = Vec<(String, bool)>> {
    vec((name(), any::<bool>()), 1..6).prop_map(|cols| {
        let mut seen = BTreeSet::new();
        cols.into_iter()
            .filter(|(n, _)| {
                let key = n.to_ascii_lowercase();
                !key.contains("sip proxy")
                    && !key.contains("registrar")
                    && !key.starts_with("https")
                    && key != "mac_address"
                    && seen.insert(key)
            })
            .collect()
    })
}

fn quote(cell: &str) -> String {
    format!("\"{}\"", cell.replace('"', "\"\""))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_remote_worker_csv_becomes_exactly_its_cells(
        columns in columns(),
        macs in btree_set(any::<[u8; 6]>(), 1..20),
        cells in vec(vec(cell(), 6), 20),
        comma in any::<bool>(),
    ) {
        prop_assume!(!columns.is_empty());
        let sep = if comma { ',' } else { ';' };
        let header: Vec<String> = std::iter::once("MAC_ADDRESS".to_owned())
            .chain(columns.iter().map(|(n, locked)| {
                if *locked { format!("!{n}") } else { n.clone() }
            }))
            .map(|c| quote(&c))
            .collect();
        let mut csv = header.join(&sep.to_string()) + "\r\n";
        let macs: Vec<Mac> = macs.into_iter().map(Mac::from_bytes).collect();
        for (mac, row) in macs.iter().zip(&cells) {
            let mut line = vec![mac.dashed()];
            for cell in row.iter().take(columns.len()) {
                line.push(quote(match cell {
                    Cell::Value(v) => v,
                    Cell::NotDefined => "NOTDEFINED",
                }));
            }
            csv.push_str(&line.join(&sep.to_string()));
            csv.push_str("\r\n");
        }
        let system = SystemValues::new("gw.example.com", "ab".repeat(16)).expect("valid");
        let result = parse_remote_worker_csv(csv.as_bytes(), Some(&system));
        let Ok(RemoteWorkerImport::Phones(files)) = result else {
            return Err(TestCaseError::fail(format!("{result:?}\n{csv}")));
        };
        prop_assert_eq!(files.len(), macs.len());
        for ((file, mac), row) in files.iter().zip(&macs).zip(&cells) {
            prop_assert_eq!(file.mac(), *mac);
            let mut expected: Vec<(String, String, bool)> = columns
                .iter()
                .zip(row)
                .filter_map(|((n, locked), cell)| match cell {
                    Cell::Value(v) => Some((n.clone(), v.clone(), *locked)),
                    Cell::NotDefined => None,
                })
                .collect();
            for (n, v) in [
                ("sip proxy ip", "gw.example.com"),
                ("sip registrar ip", "gw.example.com"),
                ("https server", "gw.example.com"),
                ("https path", "abababababababababababababababab"),
            ] {
                expected.push((n.to_owned(), v.to_owned(), false));
            }
            let got: Vec<(String, String, bool)> = ConfigFile::parse(&file.contents())
                .expect("generated files read back")
                .parameters()
                .map(|p| (p.name().to_owned(), p.value().to_owned(), p.is_locked()))
                .collect();
            prop_assert_eq!(got, expected);
        }
    }
}
