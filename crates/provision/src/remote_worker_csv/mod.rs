//! The remote-worker CSV (SPEC PRO-6): one row per phone, turned into that
//! phone's `<MAC>.cfg`, all or nothing.
//!
//! The format is the one terminal management imports (seed 001 §6.3–6.4,
//! seed 000 §6.3, seed 004 §9.3–9.4):
//!
//! ```text
//! MAC_ADDRESS;!sip line1 user name;!sip line1 auth name;sip line1 password;sip proxy ip;...
//! 00085D4330B8;7000;7000;password1;64.101.10.1;...
//! ```
//!
//! - A header row, then one row per phone; `;` or `,` separated; title rows
//!   with an empty first cell may come before the header (how the file is
//!   read, BOM, CRLF, quoted cells: see `csv_table`).
//! - `MAC_ADDRESS` (any case) in any of the three MAC forms
//!   ([`crate::mac`]); every other named column is a phone parameter, `!`
//!   before its name locking it on the phone (`!sip line1 user name`).
//!   A parameter named twice (ignoring case and `!`) is refused.
//! - `NOTDEFINED` (any case) leaves the parameter out of that phone's file,
//!   so the phone keeps its current value (seed 004 §9.3, §9.4). It is
//!   matched without regard to case because a lower-case `notdefined`
//!   would otherwise be written to the phone as a value (a password!).
//! - A file with `MAC_ADDRESS` as its only column generates no file: it
//!   selects phones for an action (seed 004 §9.4: "aucun fichier @MAC.cfg
//!   n'est généré"); the result is [`RemoteWorkerImport::Selection`].
//! - At most [`MAX_PHONES`] phones per file (seed 004 §1.1, §4.1–4.4: "au
//!   maximum 1500 terminaux"); the 1501st row is refused.
//! - System values (seed 001 §6.3 "system data"): `sip proxy ip`,
//!   `sip registrar ip`, `https server` and `https path` are filled in from
//!   the gateway's [`SystemValues`] when their column is absent (added at
//!   the end of each file, unlocked, in that order) or a cell is empty (the
//!   column's lock kept). The seed 000 spreadsheet spells them with `_`
//!   (`https_server`); they are written with spaces, as the phone names
//!   them. An `https path` that is not the gateway's hash is refused: the
//!   phone would fetch its configuration from a path that does not exist.
//! - An empty cell in any other column is refused, naming the fix
//!   (`NOTDEFINED` or a value): a blank in a spreadsheet is more often a
//!   forgotten value than a wish to blank the phone's setting, and an empty
//!   `sip line1 password:` would wipe the phone's credentials.
//! - Cells are trimmed, except in columns whose name contains `password`,
//!   which are taken as written (spaces may belong to a password).
//! - Duplicate MACs are refused, naming both lines.
//! - At most [`MAX_REMOTE_WORKER_CSV_BYTES`] bytes (1500 rows of a few
//!   dozen parameters take a few hundred KiB) and [`MAX_COLUMNS`] columns
//!   (the vendor's `.xls` form has at most 256).
//!
//! Errors name the line and column as the spreadsheet shows them and the
//! fix; every problem is reported (up to [`crate::MAX_ERRORS`]) and no file
//! is produced unless the whole file is valid.

mod header;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::config_file::{ConfigFile, Parameter};
use crate::csv_error::{CsvError, CsvProblem, Errors};
use crate::csv_table::{Row, Table};
use crate::mac::Mac;
use crate::system_values::{SYSTEM_PARAMETERS, SystemValue, SystemValues};

use header::{Column, Kind, ParameterColumn};

/// Most phones in one file (seed 004 §4.1).
pub const MAX_PHONES: usize = 1500;
/// Largest file accepted, in bytes.
pub const MAX_REMOTE_WORKER_CSV_BYTES: usize = 4 * 1024 * 1024;
/// Most columns in one file (the vendor's `.xls` form has at most 256).
pub const MAX_COLUMNS: usize = 256;
/// The cell value that leaves a parameter out of a phone's file.
pub const NOT_DEFINED: &str = "NOTDEFINED";
/// The MAC column's name.
pub const MAC_COLUMN: &str = "MAC_ADDRESS";

/// What the header should hold, for error messages.
const EXPECTED_HEADER: &str = "MAC_ADDRESS, then phone parameters such as \
                               !sip line1 user name;sip line1 password";

/// One phone's configuration file, generated from one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneFile {
    mac: Mac,
    line: usize,
    config: ConfigFile,
}

impl PhoneFile {
    /// The phone's MAC.
    #[must_use]
    pub const fn mac(&self) -> Mac {
        self.mac
    }

    /// The line of the CSV file the phone is on.
    #[must_use]
    pub const fn line(&self) -> usize {
        self.line
    }

    /// The file's parameters, in column order.
    #[must_use]
    pub const fn config(&self) -> &ConfigFile {
        &self.config
    }

    /// `<MAC>.cfg`.
    #[must_use]
    pub fn file_name(&self) -> String {
        self.mac.file_name()
    }

    /// The file's text.
    #[must_use]
    pub fn contents(&self) -> String {
        self.config.render()
    }
}

/// What a valid remote-worker file asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteWorkerImport {
    /// One configuration file per phone, in file order.
    Phones(Vec<PhoneFile>),
    /// A file with only `MAC_ADDRESS`: the phones an action applies to, in
    /// file order; no file is generated.
    Selection(Vec<Mac>),
}

impl RemoteWorkerImport {
    /// The MACs of the file, in file order.
    #[must_use]
    pub fn macs(&self) -> Vec<Mac> {
        match self {
            Self::Phones(files) => files.iter().map(PhoneFile::mac).collect(),
            Self::Selection(macs) => macs.clone(),
        }
    }
}

/// Reads a remote-worker file (format in the module docs). `system`, when
/// given, fills in the system parameters and checks `https path`.
///
/// # Errors
/// Every problem found, each with its line and column, when the file is not
/// valid as a whole; nothing is generated then.
pub fn parse_remote_worker_csv(
    input: &[u8],
    system: Option<&SystemValues>,
) -> Result<RemoteWorkerImport, Vec<CsvError>> {
    let (mut table, header_row) = Table::open(input, MAX_REMOTE_WORKER_CSV_BYTES, EXPECTED_HEADER)?;
    let mut errors = Errors::default();
    let columns = header::parse(&header_row, &mut errors);
    if !errors.is_empty() {
        return Err(errors.into_vec());
    }
    let selection = !columns.iter().any(|c| matches!(c.kind, Kind::Parameter(_)));
    // System parameters with no column, added to every phone's file.
    let added: Vec<(&str, SystemValue)> = match system {
        Some(_) => SYSTEM_PARAMETERS
            .iter()
            .filter(|(name, _)| {
                !columns
                    .iter()
                    .any(|c| matches!(&c.kind, Kind::Parameter(p) if p.name == *name))
            })
            .copied()
            .collect(),
        None => Vec::new(),
    };

    let mut files = Vec::new();
    let mut macs = Vec::new();
    let mut first_line: HashMap<Mac, usize> = HashMap::new();
    let mut rows = 0usize;
    while let Some(row) = table.next_row(&mut errors) {
        rows += 1;
        if rows > MAX_PHONES {
            errors.push(CsvError::line(
                row.line,
                CsvProblem::TooManyPhones { limit: MAX_PHONES },
            ));
            break;
        }
        let mac = row_mac(&row, &columns, &mut first_line, &mut errors);
        let config = if selection {
            check_unnamed(&row, &columns, &mut errors);
            None
        } else {
            Some(row_config(&row, &columns, system, &added, &mut errors))
        };
        if let Some(mac) = mac {
            match config {
                Some(config) => files.push(PhoneFile {
                    mac,
                    line: row.line,
                    config,
                }),
                None => macs.push(mac),
            }
        }
        if errors.full() {
            break;
        }
    }
    if rows == 0 {
        errors.push(CsvError::line(
            header_row.line,
            CsvProblem::NoRows {
                what: "phones",
                what_one: "phone",
            },
        ));
    }
    if !errors.is_empty() {
        return Err(errors.into_vec());
    }
    Ok(if selection {
        RemoteWorkerImport::Selection(macs)
    } else {
        RemoteWorkerImport::Phones(files)
    })
}

/// The row's MAC, checked and not seen on an earlier line.
fn row_mac(
    row: &Row,
    columns: &[Column],
    first_line: &mut HashMap<Mac, usize>,
    errors: &mut Errors,
) -> Option<Mac> {
    let (index, column) = columns
        .iter()
        .enumerate()
        .find(|(_, c)| c.kind == Kind::Mac)?;
    let at = || column.at.clone();
    match Mac::parse(row.cell(index)) {
        Err(e) => {
            errors.push(CsvError::cell(row.line, at(), CsvProblem::BadMac(e)));
            None
        }
        Ok(mac) => {
            if let Some(&first) = first_line.get(&mac) {
                let problem = CsvProblem::DuplicateMac {
                    mac,
                    first_line: first,
                };
                errors.push(CsvError::cell(row.line, at(), problem));
                return None;
            }
            first_line.insert(mac, row.line);
            Some(mac)
        }
    }
}

/// Cells under unnamed header cells must be empty.
fn check_unnamed(row: &Row, columns: &[Column], errors: &mut Errors) {
    for (index, column) in columns.iter().enumerate() {
        if column.kind == Kind::Unnamed && !row.cell(index).trim().is_empty() {
            let at = column.at.clone();
            errors.push(CsvError::cell(
                row.line,
                at,
                CsvProblem::ValueInUnnamedColumn,
            ));
        }
    }
}

/// The phone's file from its row (module docs for the cell rules).
fn row_config(
    row: &Row,
    columns: &[Column],
    system: Option<&SystemValues>,
    added: &[(&str, SystemValue)],
    errors: &mut Errors,
) -> ConfigFile {
    check_unnamed(row, columns, errors);
    let mut config = ConfigFile::new();
    for (index, column) in columns.iter().enumerate() {
        let Kind::Parameter(parameter) = &column.kind else {
            continue;
        };
        let raw = row.cell(index);
        match cell_value(raw, parameter, system) {
            Ok(None) => {}
            Ok(Some(value)) => {
                let made = if parameter.locked {
                    Parameter::new_locked(parameter.name.as_str(), value)
                } else {
                    Parameter::new(parameter.name.as_str(), value)
                };
                match made {
                    Ok(p) => config.push(p),
                    Err(e) => {
                        let problem = CsvProblem::BadValue(e);
                        errors.push(CsvError::cell(row.line, column.at.clone(), problem));
                    }
                }
            }
            Err(problem) => {
                errors.push(CsvError::cell(row.line, column.at.clone(), problem));
            }
        }
    }
    if let Some(system) = system {
        for &(name, which) in added {
            // The names and values were checked when `system` was built
            // and the names are constants, so this does not fail; if it
            // did, the parameter would be missing and tests would say so.
            if let Ok(p) = Parameter::new(name, system.value(which)) {
                config.push(p);
            }
        }
    }
    config
}

/// The value a cell gives its parameter: `None` for `NOTDEFINED`.
fn cell_value(
    raw: &str,
    parameter: &ParameterColumn,
    system: Option<&SystemValues>,
) -> Result<Option<String>, CsvProblem> {
    let trimmed = raw.trim();
    if trimmed.eq_ignore_ascii_case(NOT_DEFINED) {
        return Ok(None);
    }
    if trimmed.is_empty() {
        return match (parameter.system, system) {
            (Some(which), Some(system)) => Ok(Some(system.value(which).to_owned())),
            (Some(_), None) => Err(CsvProblem::EmptySystemCell),
            (None, _) => Err(CsvProblem::EmptyCell),
        };
    }
    if let (Some(SystemValue::Hash), Some(system)) = (parameter.system, system) {
        if trimmed.trim_matches('/') != system.hash() {
            return Err(CsvProblem::WrongHashPath);
        }
    }
    Ok(Some(if parameter.verbatim {
        raw.to_owned()
    } else {
        trimmed.to_owned()
    }))
}
