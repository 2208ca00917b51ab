use super::*;
use crate::csv_error::MAX_ERRORS;

fn errors_of(csv: &str) -> Vec<CsvError> {
    match parse_global_csv(csv.as_bytes()) {
        Err(errors) => errors,
        Ok(file) => panic!("expected errors, got {file:?}"),
    }
}

#[test]
fn example_matches_the_expected_global_file() {
    // Title row, CRLF, a blank row, NOTDEFINED, locks, quoted cells, an
    // empty value, a password kept with its space.
    let file = parse_global_csv(include_bytes!("../../testdata/global.csv")).unwrap();
    assert_eq!(file.render(), include_str!("../../testdata/aastra.cfg"));
    assert!(file.get("sip registrar port").is_none());
}

#[test]
fn header_in_any_case_and_order_with_commas() {
    let file = parse_global_csv(b"value,parameters\n1,dhcp\n").unwrap();
    assert_eq!(file.render(), "dhcp: 1\n");
}

#[test]
fn header_problems() {
    let errors = errors_of("PARAMETERS;VALUE;COMMENT\ndhcp;1;x\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(1));
    assert_eq!(errors[0].column.as_ref().map(|c| c.index), Some(3));
    assert!(
        errors[0].to_string().contains("PARAMETERS;VALUE"),
        "{}",
        errors[0]
    );

    let errors = errors_of("PARAMETERS\ndhcp\n");
    assert!(matches!(
        errors[0].problem,
        CsvProblem::MissingColumn { name: "VALUE", .. }
    ));

    let errors = errors_of("PARAMETERS;VALUE;value\n");
    assert!(matches!(
        errors[0].problem,
        CsvProblem::DuplicateColumn { .. }
    ));

    let errors = errors_of("PARAMETERS;VALUE\n");
    assert!(matches!(errors[0].problem, CsvProblem::NoRows { .. }));
}

#[test]
fn duplicate_parameters_name_both_lines() {
    let errors = errors_of("PARAMETERS;VALUE\ndhcp;1\ntftp path;\n!DHCP;0\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(4));
    assert_eq!(
        errors[0].column.as_ref().map(CsvColumn::letter).as_deref(),
        Some("A")
    );
    assert_eq!(
        errors[0].problem,
        CsvProblem::DuplicateParameter {
            name: "DHCP".to_owned(),
            first_line: 2
        }
    );
    assert_eq!(
        errors[0].to_string(),
        "line 4, column A (PARAMETERS): the parameter \"DHCP\" is also on line 2; set each \
         parameter once"
    );
}

#[test]
fn row_problems_name_line_and_column() {
    let csv = "PARAMETERS;VALUE\n\
               ;1\n\
               sip:proxy;1\n\
               admin password;\"a\nb\"\n\
               dhcp;1;extra\n";
    let errors = errors_of(csv);
    let found: Vec<(Option<usize>, Option<usize>)> = errors
        .iter()
        .map(|e| (e.line, e.column.as_ref().map(|c| c.index)))
        .collect();
    assert_eq!(
        found,
        [
            (Some(2), Some(1)),
            (Some(3), Some(1)),
            (Some(4), Some(2)),
            (Some(6), Some(3))
        ]
    );
    assert_eq!(errors[0].problem, CsvProblem::EmptyParameterName);
    assert!(matches!(errors[1].problem, CsvProblem::BadParameterName(_)));
    assert!(matches!(errors[2].problem, CsvProblem::BadValue(_)));
    assert_eq!(errors[3].problem, CsvProblem::ValueInUnnamedColumn);
}

#[test]
fn limits() {
    let mut csv = String::from("PARAMETERS;VALUE\n");
    for i in 0..=MAX_GLOBAL_PARAMETERS {
        csv.push_str(&format!("p{i};{i}\n"));
    }
    let errors = errors_of(&csv);
    assert_eq!(
        errors[0].problem,
        CsvProblem::TooManyParameters {
            limit: MAX_GLOBAL_PARAMETERS
        }
    );
    assert_eq!(errors[0].line, Some(MAX_GLOBAL_PARAMETERS + 2));

    let big = vec![b'a'; MAX_GLOBAL_CSV_BYTES + 1];
    let errors = parse_global_csv(&big).unwrap_err();
    assert_eq!(
        errors[0].problem,
        CsvProblem::TooLarge {
            limit: MAX_GLOBAL_CSV_BYTES
        }
    );

    let mut csv = String::from("PARAMETERS;VALUE\n");
    for _ in 0..(MAX_ERRORS + 5) {
        csv.push_str(";x\n");
    }
    assert_eq!(errors_of(&csv).len(), MAX_ERRORS + 1);
}
