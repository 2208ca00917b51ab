//! The global configuration CSV (SPEC PRO-7): `PARAMETERS;VALUE` rows
//! turned into the global file every phone loads (`aastra.cfg`), plus the
//! check of the one extra file that may be uploaded with it
//! ([`ExtraFileName`]).
//!
//! Terminal management's global tab has two columns, `PARAMETERS` and
//! `VALUE` (seed 004 §5: "saisir dans les colonnes PARAMETERS et VALUE,
//! les valeurs des paramètres du fichier de configuration globale"), saved
//! as CSV with `;` (seed 004 §5, §9.1). The file is read like the
//! remote-worker one (separator, BOM, CRLF, quoted cells, title rows,
//! blank rows; see `csv_table`), with these rules:
//!
//! - The header names `PARAMETERS` and `VALUE` (any case, either order);
//!   any other named column is refused.
//! - Each row is `[!]parameter name` and its value; `!` locks it.
//!   `NOTDEFINED` leaves the parameter out, as in the specific files (seed
//!   004 §9.3), so that the phone keeps its current value.
//! - An empty value is written as an empty value (`tftp path:`): unlike a
//!   remote worker's credentials, a global parameter set to nothing is a
//!   normal part of the vendor's global tab.
//! - A parameter on two rows (ignoring case and `!`) is refused, naming
//!   both lines: the phone would silently keep the last one.
//! - Values are trimmed except for parameters named `...password...`.
//! - At most [`MAX_GLOBAL_PARAMETERS`] rows and [`MAX_GLOBAL_CSV_BYTES`]
//!   bytes (the vendor's global file has a few hundred parameters).
//!
//! The file is written in row order.

mod extra_file;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub use extra_file::{ExtraFileName, ExtraFileNameError, MAX_EXTRA_FILE_NAME_LEN};

use crate::config_file::{ConfigFile, Parameter, ParameterError, is_secret_name};
use crate::csv_error::{CsvColumn, CsvError, CsvProblem, Errors};
use crate::csv_table::{Row, Table};
use crate::remote_worker_csv::NOT_DEFINED;

/// The global file phones load (seed 001 §2: "aastra.cfg, mac.cfg,
/// software"; seed 004 §6.1).
pub const GLOBAL_FILE_NAME: &str = "aastra.cfg";
/// The global file newer firmware loads instead (SPEC PRO-5).
pub const STARTUP_FILE_NAME: &str = "startup.cfg";
/// Most parameter rows in one file.
pub const MAX_GLOBAL_PARAMETERS: usize = 5000;
/// Largest file accepted, in bytes.
pub const MAX_GLOBAL_CSV_BYTES: usize = 1024 * 1024;

const PARAMETERS: &str = "PARAMETERS";
const VALUE: &str = "VALUE";
const EXPECTED_HEADER: &str = "PARAMETERS;VALUE";

/// Reads a global CSV (format in the module docs) into the global file.
///
/// # Errors
/// Every problem found, each with its line and column, when the file is not
/// valid as a whole.
pub fn parse_global_csv(input: &[u8]) -> Result<ConfigFile, Vec<CsvError>> {
    let (mut table, header) = Table::open(input, MAX_GLOBAL_CSV_BYTES, EXPECTED_HEADER)?;
    let mut errors = Errors::default();
    let Some(columns) = parse_header(&header, &mut errors) else {
        return Err(errors.into_vec());
    };
    let mut config = ConfigFile::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut rows = 0usize;
    while let Some(row) = table.next_row(&mut errors) {
        rows += 1;
        if rows > MAX_GLOBAL_PARAMETERS {
            errors.push(CsvError::line(
                row.line,
                CsvProblem::TooManyParameters {
                    limit: MAX_GLOBAL_PARAMETERS,
                },
            ));
            break;
        }
        if let Some(parameter) = read_row(&row, &columns, &mut first_line, &mut errors) {
            config.push(parameter);
        }
        if errors.full() {
            break;
        }
    }
    if rows == 0 {
        errors.push(CsvError::line(
            header.line,
            CsvProblem::NoRows {
                what: "parameters",
                what_one: "parameter",
            },
        ));
    }
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors.into_vec())
    }
}

/// Where the two columns are.
struct Columns {
    name: (usize, CsvColumn),
    value: (usize, CsvColumn),
}

fn parse_header(header: &Row, errors: &mut Errors) -> Option<Columns> {
    let mut name = None;
    let mut value = None;
    for (i, cell) in header.cells.iter().enumerate() {
        let written = cell.trim();
        let at = CsvColumn {
            index: i + 1,
            name: Some(written.to_owned()),
        };
        let slot = if written.eq_ignore_ascii_case(PARAMETERS) {
            &mut name
        } else if written.eq_ignore_ascii_case(VALUE) {
            &mut value
        } else if written.is_empty() {
            continue;
        } else {
            let problem = CsvProblem::UnknownColumn {
                expected: EXPECTED_HEADER,
            };
            errors.push(CsvError::cell(header.line, at, problem));
            continue;
        };
        match slot {
            Some((_, first)) => {
                let problem = CsvProblem::DuplicateColumn {
                    first: CsvColumn::clone(first),
                };
                errors.push(CsvError::cell(header.line, at, problem));
            }
            None => *slot = Some((i, at)),
        }
    }
    for (found, column) in [(&name, PARAMETERS), (&value, VALUE)] {
        if found.is_none() {
            let problem = CsvProblem::MissingColumn {
                name: column,
                expected: EXPECTED_HEADER,
            };
            errors.push(CsvError::line(header.line, problem));
        }
    }
    match (name, value) {
        (Some(name), Some(value)) if errors.is_empty() => Some(Columns { name, value }),
        _ => None,
    }
}

/// The row's parameter; `None` for `NOTDEFINED` or a problem (reported).
fn read_row(
    row: &Row,
    columns: &Columns,
    first_line: &mut HashMap<String, usize>,
    errors: &mut Errors,
) -> Option<Parameter> {
    let (name_index, name_at) = &columns.name;
    let (value_index, value_at) = &columns.value;
    // Cells in other columns (unnamed header cells) must be empty.
    for (i, cell) in row.cells.iter().enumerate() {
        if i != *name_index && i != *value_index && !cell.trim().is_empty() {
            let at = CsvColumn {
                index: i + 1,
                name: None,
            };
            errors.push(CsvError::cell(
                row.line,
                at,
                CsvProblem::ValueInUnnamedColumn,
            ));
        }
    }
    let written = row.cell(*name_index).trim();
    let name_error = |problem| CsvError::cell(row.line, name_at.clone(), problem);
    if written.is_empty() {
        errors.push(name_error(CsvProblem::EmptyParameterName));
        return None;
    }
    let (locked, name) = match written.strip_prefix('!') {
        Some(bare) => (true, bare),
        None => (false, written),
    };
    let raw = row.cell(*value_index);
    let value = if is_secret_name(name) {
        raw
    } else {
        raw.trim()
    };
    let made = if locked {
        Parameter::new_locked(name, value)
    } else {
        Parameter::new(name, value)
    };
    let parameter = match made {
        Ok(p) => p,
        Err(e) => {
            let is_name = matches!(
                e,
                ParameterError::EmptyName
                    | ParameterError::NameTooLong { .. }
                    | ParameterError::NameStart { .. }
                    | ParameterError::NameChar { .. }
                    | ParameterError::NameTrailingSpace { .. }
            );
            errors.push(if is_name {
                name_error(CsvProblem::BadParameterName(e))
            } else {
                CsvError::cell(row.line, value_at.clone(), CsvProblem::BadValue(e))
            });
            return None;
        }
    };
    let key = name.to_ascii_lowercase();
    if let Some(&first) = first_line.get(&key) {
        errors.push(name_error(CsvProblem::DuplicateParameter {
            name: name.to_owned(),
            first_line: first,
        }));
        return None;
    }
    first_line.insert(key, row.line);
    (!raw.trim().eq_ignore_ascii_case(NOT_DEFINED)).then_some(parameter)
}
