//! The header row of a remote-worker file: which column is the MAC, which
//! are phone parameters, locked or not, and which of them Outpost can fill.

use std::collections::HashMap;

use crate::config_file::{check_parameter_name, is_secret_name};
use crate::csv_error::{CsvColumn, CsvError, CsvProblem, Errors};
use crate::csv_table::Row;
use crate::system_values::{SystemValue, system_parameter};

use super::{EXPECTED_HEADER, MAC_COLUMN, MAX_COLUMNS};

/// What one column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// `MAC_ADDRESS`.
    Mac,
    /// A phone parameter.
    Parameter(ParameterColumn),
    /// An empty header cell between named ones: its cells must be empty.
    Unnamed,
}

/// A phone parameter column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ParameterColumn {
    /// The name written to the phone's file (system parameters in the
    /// seed 001 spelling, others as in the header, without `!`).
    pub(super) name: String,
    /// `!` before the name in the header.
    pub(super) locked: bool,
    /// The gateway value that fills an empty cell, for system parameters.
    pub(super) system: Option<SystemValue>,
    /// Cells are taken verbatim, not trimmed: spaces may be part of a
    /// password. Such cells are never quoted in errors either.
    pub(super) verbatim: bool,
}

/// One column: what it holds and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Column {
    pub(super) kind: Kind,
    pub(super) at: CsvColumn,
}

/// The columns of the header row, or its problems.
pub(super) fn parse(header: &Row, errors: &mut Errors) -> Vec<Column> {
    let line = header.line;
    if header.cells.len() > MAX_COLUMNS {
        errors.push(CsvError::line(
            line,
            CsvProblem::TooManyColumns { limit: MAX_COLUMNS },
        ));
        return Vec::new();
    }
    let mut columns: Vec<Column> = Vec::with_capacity(header.cells.len());
    // Lower-case parameter name -> first column, to refuse a parameter set
    // twice (the phone compares names without regard to case, and `!x` and
    // `x` are the same parameter).
    let mut seen: HashMap<String, CsvColumn> = HashMap::new();
    for (i, cell) in header.cells.iter().enumerate() {
        let written = cell.trim();
        let at = CsvColumn {
            index: i + 1,
            name: Some(written.to_owned()),
        };
        let kind = if written.is_empty() {
            Kind::Unnamed
        } else if written.eq_ignore_ascii_case(MAC_COLUMN) {
            Kind::Mac
        } else {
            match parameter_column(written) {
                Ok(column) => Kind::Parameter(column),
                Err(problem) => {
                    errors.push(CsvError::cell(line, at, problem));
                    continue;
                }
            }
        };
        let key = match &kind {
            Kind::Mac => Some(MAC_COLUMN.to_owned()),
            Kind::Parameter(p) => Some(p.name.to_ascii_lowercase()),
            Kind::Unnamed => None,
        };
        if let Some(key) = key {
            if let Some(first) = seen.get(&key) {
                let problem = CsvProblem::DuplicateColumn {
                    first: first.clone(),
                };
                errors.push(CsvError::cell(line, at, problem));
                continue;
            }
            seen.insert(key, at.clone());
        }
        columns.push(Column { kind, at });
    }
    if !seen.contains_key(MAC_COLUMN) {
        errors.push(CsvError::line(
            line,
            CsvProblem::MissingColumn {
                name: MAC_COLUMN,
                expected: EXPECTED_HEADER,
            },
        ));
    }
    columns
}

/// A header cell that is not `MAC_ADDRESS`: `[!]parameter name`.
fn parameter_column(written: &str) -> Result<ParameterColumn, CsvProblem> {
    let (locked, bare) = match written.strip_prefix('!') {
        Some(bare) => (true, bare),
        None => (false, written),
    };
    check_parameter_name(bare).map_err(CsvProblem::BadColumnName)?;
    let (name, system) = match system_parameter(bare) {
        Some((canonical, value)) => (canonical.to_owned(), Some(value)),
        None => (bare.to_owned(), None),
    };
    Ok(ParameterColumn {
        verbatim: is_secret_name(&name),
        name,
        locked,
        system,
    })
}
