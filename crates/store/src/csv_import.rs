//! Bulk device creation from CSV (SPEC PRO-2): all-or-nothing, with a
//! per-line error report.
//!
//! Format: a header row naming the columns (any order, case-insensitive),
//! then one device per row, separated by `,` or `;` (whichever the header
//! line has more of). Columns are named after the vendor REST API fields:
//! `setside_username` and `setside_password` (required), `icpside_username`,
//! `icpside_password`, `icp`, `description`, `enabled`, `clientid` (MAC),
//! `location`. Blank cells mean "absent"; rows whose cells are all blank
//! (spreadsheet leftovers) are skipped. Cells are trimmed, except passwords,
//! which are taken exactly as written.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::Read;

use csv::{ReaderBuilder, StringRecord, Trim};

use crate::device::{self, Checked};
use crate::{
    FieldProblem, LineError, NewDevice, Secret, Store, StoreError, new_guid, normalize_mac,
};

/// Most devices one import may create.
pub const MAX_IMPORT_ROWS: usize = 10_000;
/// Largest CSV input accepted, in bytes.
pub const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;

/// What a successful import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    /// Devices created.
    pub added: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    SetsideUsername,
    SetsidePassword,
    IcpsideUsername,
    IcpsidePassword,
    Icp,
    Description,
    Enabled,
    ClientId,
    Location,
}

/// Column names as written in the header, with the device field each
/// fills (the `field` of [`FieldProblem`]s maps back through this table).
const COLUMNS: [(&str, &str, Column); 9] = [
    (
        "setside_username",
        "setside_username",
        Column::SetsideUsername,
    ),
    (
        "setside_password",
        "setside_password",
        Column::SetsidePassword,
    ),
    (
        "icpside_username",
        "icpside_username",
        Column::IcpsideUsername,
    ),
    (
        "icpside_password",
        "icpside_password",
        Column::IcpsidePassword,
    ),
    ("icp", "icp", Column::Icp),
    ("description", "description", Column::Description),
    ("enabled", "enabled", Column::Enabled),
    ("clientid", "mac", Column::ClientId),
    ("location", "location", Column::Location),
];

const COLUMN_LIST: &str = "setside_username, setside_password, icpside_username, \
                           icpside_password, icp, description, enabled, clientid, location";

impl Store {
    /// Creates devices from CSV (format in the module docs), all or nothing.
    ///
    /// Every row is validated like [`Store::add_device`], plus duplicates
    /// within the file; if any row is bad, nothing is written and the error
    /// lists every bad line. Passwords never appear in the report.
    ///
    /// # Errors
    /// [`StoreError::Import`] with one [`LineError`] per problem;
    /// [`StoreError::ImportTooLarge`] beyond [`MAX_IMPORT_BYTES`];
    /// [`StoreError::ImportRead`] if `input` fails; [`StoreError::Database`].
    pub fn import_devices_csv<R: Read>(&mut self, input: R) -> Result<ImportReport, StoreError> {
        let mut data = Vec::new();
        input
            .take(MAX_IMPORT_BYTES as u64 + 1)
            .read_to_end(&mut data)
            .map_err(StoreError::ImportRead)?;
        if data.len() > MAX_IMPORT_BYTES {
            return Err(StoreError::ImportTooLarge {
                limit_bytes: MAX_IMPORT_BYTES,
            });
        }

        let mut reader = ReaderBuilder::new()
            .delimiter(sniff_delimiter(&data))
            .has_headers(true)
            .flexible(true)
            .trim(Trim::Headers)
            .from_reader(data.as_slice());
        let header = match reader.headers() {
            Ok(h) => h.clone(),
            Err(_) => {
                return Err(import_error(
                    1,
                    None,
                    "the header row is not valid UTF-8; save the file as UTF-8 CSV",
                ));
            }
        };
        let columns = parse_header(&data, &header).map_err(StoreError::Import)?;

        let tx = self.write_txn()?;
        let mut errors = Vec::new();
        let mut pending: Vec<(NewDevice, Checked)> = Vec::new();
        let mut usernames: HashMap<String, usize> = HashMap::new();
        let mut macs: HashMap<String, usize> = HashMap::new();
        let mut rows = 0usize;
        for result in reader.records() {
            let record = match result {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| line_of(&data, p));
                    errors.push(LineError {
                        line,
                        column: None,
                        message: "not valid UTF-8 text; save the file as UTF-8 CSV".to_owned(),
                    });
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| line_of(&data, p));
            if record.iter().all(|cell| cell.trim().is_empty()) {
                continue;
            }
            rows += 1;
            if rows > MAX_IMPORT_ROWS {
                errors.push(LineError {
                    line,
                    column: None,
                    message: format!(
                        "more than {MAX_IMPORT_ROWS} devices in one file; split it into \
                         several files"
                    ),
                });
                break;
            }
            if record.len() != columns.len() {
                errors.push(LineError {
                    line,
                    column: None,
                    message: format!(
                        "{} cells, but the header names {} columns; every row needs one cell \
                         per column (cells may be blank)",
                        record.len(),
                        columns.len()
                    ),
                });
                continue;
            }
            let before = errors.len();
            let new = row_to_device(&columns, &record, line, &mut errors);
            let (checked, mut problems) = match device::check(&tx, &new)? {
                Ok(checked) => (Some(checked), Vec::new()),
                Err(problems) => (None, problems),
            };
            in_file_duplicates(&new, line, &mut usernames, &mut macs, &mut problems);
            errors.extend(problems.iter().map(|p| to_line_error(line, p)));
            if let Some(checked) = checked.filter(|_| errors.len() == before) {
                pending.push((new, checked));
            }
        }
        if !errors.is_empty() {
            // Dropping `tx` rolls back; nothing was written anyway.
            return Err(StoreError::Import(errors));
        }
        for (new, checked) in &pending {
            device::insert(&tx, new, checked, &new_guid()?)?;
        }
        tx.commit()?;
        Ok(ImportReport {
            added: pending.len(),
        })
    }
}

/// `;` if the first line has more semicolons than commas, else `,`.
fn sniff_delimiter(data: &[u8]) -> u8 {
    let first_line = data.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |sep| first_line.iter().filter(|&&b| b == sep).count();
    if count(b';') > count(b',') {
        b';'
    } else {
        b','
    }
}

/// The 1-based file line a record starts on. The `csv` crate reports a
/// record that follows blank lines as starting on the first blank line, so
/// the line breaks at its byte offset are skipped and counted.
fn line_of(data: &[u8], position: &csv::Position) -> usize {
    let line = usize::try_from(position.line()).unwrap_or(usize::MAX);
    let start = usize::try_from(position.byte()).unwrap_or(usize::MAX);
    let skipped = data
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .filter(|&&b| b == b'\n')
        .count();
    line.saturating_add(skipped)
}

fn import_error(line: usize, column: Option<&str>, message: &str) -> StoreError {
    StoreError::Import(vec![LineError {
        line,
        column: column.map(str::to_owned),
        message: message.to_owned(),
    }])
}

/// Maps each header cell to its column; reports unknown, duplicate and
/// missing required columns.
fn parse_header(data: &[u8], header: &StringRecord) -> Result<Vec<Column>, Vec<LineError>> {
    let line = header.position().map_or(1, |p| line_of(data, p));
    if header.iter().all(|cell| cell.is_empty()) {
        return Err(vec![LineError {
            line,
            column: None,
            message: format!(
                "no header row; the first line must name the columns, e.g. \
                 setside_username,setside_password (known columns: {COLUMN_LIST})"
            ),
        }]);
    }
    let mut errors = Vec::new();
    let mut columns = Vec::with_capacity(header.len());
    for cell in header {
        let name = cell.to_ascii_lowercase();
        match COLUMNS.iter().find(|(n, _, _)| *n == name) {
            Some(&(n, _, column)) => {
                if columns.contains(&column) {
                    errors.push(LineError {
                        line,
                        column: Some(n.to_owned()),
                        message: "appears twice; name each column once".to_owned(),
                    });
                }
                columns.push(column);
            }
            None => errors.push(LineError {
                line,
                column: Some(cell.to_owned()),
                message: format!("unknown column; the known columns are {COLUMN_LIST}"),
            }),
        }
    }
    for (name, required) in [
        ("setside_username", Column::SetsideUsername),
        ("setside_password", Column::SetsidePassword),
    ] {
        if !columns.contains(&required) {
            errors.push(LineError {
                line,
                column: Some(name.to_owned()),
                message: "missing; this column is required".to_owned(),
            });
        }
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(errors)
    }
}

/// Builds the device a row describes; cell-level problems (`enabled`) go to
/// `errors`.
fn row_to_device(
    columns: &[Column],
    record: &StringRecord,
    line: usize,
    errors: &mut Vec<LineError>,
) -> NewDevice {
    let mut new = NewDevice::new(String::new(), Secret::default());
    for (column, raw) in columns.iter().zip(record) {
        let cell = raw.trim();
        let present = (!cell.is_empty()).then(|| cell.to_owned());
        match column {
            Column::SetsideUsername => new.setside_username = cell.to_owned(),
            // Passwords are taken verbatim: spaces may be part of them.
            Column::SetsidePassword => new.setside_password = Secret::new(raw.to_owned()),
            Column::IcpsideUsername => new.icpside_username = cell.to_owned(),
            Column::IcpsidePassword => {
                new.icpside_password = present.map(|_| Secret::new(raw.to_owned()));
            }
            Column::Icp => new.icp = present,
            Column::Description => new.description = cell.to_owned(),
            Column::ClientId => new.mac = present,
            Column::Location => new.location = present,
            Column::Enabled => match parse_bool(cell) {
                Some(b) => new.enabled = b,
                None => errors.push(LineError {
                    line,
                    column: Some("enabled".to_owned()),
                    message: format!(
                        "{cell:?}: not a yes/no value; use true/false, 1/0 or yes/no \
                         (blank means true)"
                    ),
                }),
            },
        }
    }
    new
}

fn parse_bool(cell: &str) -> Option<bool> {
    match cell.to_ascii_lowercase().as_str() {
        "" | "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Reports a set-side username or MAC already used on an earlier line
/// (unless that field already has a problem of its own).
fn in_file_duplicates(
    new: &NewDevice,
    line: usize,
    usernames: &mut HashMap<String, usize>,
    macs: &mut HashMap<String, usize>,
    problems: &mut Vec<FieldProblem>,
) {
    let has_problem = |problems: &[FieldProblem], field| problems.iter().any(|p| p.field == field);
    if !has_problem(problems, "setside_username") {
        check_unique(usernames, &new.setside_username, line, problems);
    }
    if has_problem(problems, "mac") {
        return;
    }
    let Some(raw) = new.mac.as_deref() else {
        return;
    };
    if let Ok(mac) = normalize_mac(raw) {
        if let Some(first) = macs.get(&mac) {
            problems.push(FieldProblem::with_value(
                "mac",
                raw,
                format!(
                    "MAC address {mac} is also on line {first}; each MAC address belongs to \
                     one device"
                ),
            ));
        } else {
            macs.insert(mac, line);
        }
    }
}

fn check_unique(
    usernames: &mut HashMap<String, usize>,
    username: &str,
    line: usize,
    problems: &mut Vec<FieldProblem>,
) {
    match usernames.entry(username.to_owned()) {
        Entry::Occupied(first) => problems.push(FieldProblem::with_value(
            "setside_username",
            username,
            format!(
                "also on line {}; set-side usernames must be unique",
                first.get()
            ),
        )),
        Entry::Vacant(slot) => {
            slot.insert(line);
        }
    }
}

/// Names the CSV column a device-field problem belongs to.
fn to_line_error(line: usize, problem: &FieldProblem) -> LineError {
    let column = COLUMNS
        .iter()
        .find(|(_, field, _)| *field == problem.field)
        .map_or(problem.field, |(name, _, _)| name);
    LineError {
        line,
        column: Some(column.to_owned()),
        message: problem.detail(),
    }
}
