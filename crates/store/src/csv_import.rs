//! Bulk device creation and update from CSV (SPEC PRO-2): all-or-nothing,
//! with a per-line error report.
//!
//! Format: a header row naming the columns (any order, case-insensitive),
//! then one device per row, separated by `,` or `;` (whichever the header
//! line has more of). Columns are named after the vendor REST API fields:
//! `setside_username` and `setside_password` (required), `icpside_username`,
//! `icpside_password`, `icp`, `description`, `enabled`, `clientid` (MAC),
//! `location`. Blank cells mean "absent"; rows whose cells are all blank
//! (spreadsheet leftovers) are skipped. Cells are trimmed, except passwords,
//! which are taken exactly as written.
//!
//! Modes ([`ImportMode`]): `create` (the default) only adds devices, and a
//! row naming an existing device is a line error; `update` only changes
//! existing devices, and a row naming an unknown one is a line error;
//! `upsert` does whichever applies. When a row updates a device, the
//! columns the header does not name are left as they are, and a cell of a
//! named column sets that field with the meaning it has on creation (blank:
//! no MAC, no location, empty description, ICP-side value = set side,
//! enabled), except `setside_password` and `icp`, where a blank cell keeps
//! the current value (a device always has both). Only `setside_username` is
//! a required column in `update` and `upsert` modes (a row that creates a
//! device still needs a password). Rows are checked against the database as
//! it was before the import: a MAC address still on another device is
//! refused even if a later row takes it away (free it first).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::Read;

use csv::{ReaderBuilder, StringRecord, Trim};

use crate::audit::{self, AuditRecord};
use crate::device::{self, Checked, Device};
use crate::update::{self, Planned};
use crate::{
    DeviceUpdate, FieldProblem, LineError, NewDevice, Secret, Store, StoreError, new_guid,
};

/// Most devices one import may create.
pub const MAX_IMPORT_ROWS: usize = 10_000;
/// Largest CSV input accepted, in bytes.
pub const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;

/// Whether an import creates devices, updates them, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    /// Only new devices; a row naming an existing device is an error.
    #[default]
    Create,
    /// Only existing devices; a row naming an unknown device is an error.
    Update,
    /// Creates unknown devices and updates existing ones.
    Upsert,
}

/// What a successful import did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportReport {
    /// Devices created.
    pub added: usize,
    /// Existing devices changed.
    pub updated: usize,
    /// Existing devices named by a row that changed nothing.
    pub unchanged: usize,
    /// Each update, in file order (for the audit log; no values).
    pub changes: Vec<DeviceChange>,
}

/// The fields one import row changed in an existing device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChange {
    /// The device's set-side username.
    pub setside_username: String,
    /// The fields changed, as in [`crate::DeviceUpdated::changed`].
    pub fields: Vec<&'static str>,
}

/// What an import did, one step at a time, for its audit entries (see
/// [`Store::import_devices_csv_audited`]). No password is readable from
/// it except through [`Device`]'s [`Secret`]s.
#[derive(Debug, Clone, Copy)]
pub enum ImportEvent<'a> {
    /// A row created this device.
    Created(&'a Device),
    /// A row changed this device.
    Updated {
        /// The device before the row.
        before: &'a Device,
        /// The device after it.
        after: &'a Device,
        /// The fields changed, as in [`crate::DeviceUpdated::changed`].
        fields: &'a [&'static str],
    },
    /// Every row is written; the transaction commits after this.
    Finished(&'a ImportReport),
}

/// A row that passed validation, written once every row did.
enum Pending {
    Create(Box<NewDevice>, Checked),
    Update(Box<Device>, Planned),
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
    /// Creates devices from CSV (format in the module docs), all or nothing:
    /// [`Store::import_devices_csv_with_mode`] with [`ImportMode::Create`].
    ///
    /// # Errors
    /// As [`Store::import_devices_csv_with_mode`].
    pub fn import_devices_csv<R: Read>(&mut self, input: R) -> Result<ImportReport, StoreError> {
        self.import_devices_csv_with_mode(input, ImportMode::Create)
    }

    /// Creates and/or updates devices from CSV (format and modes in the
    /// module docs), all or nothing, in one transaction.
    ///
    /// Every row is validated like [`Store::add_device`] or
    /// [`Store::update_device`], plus duplicates within the file; if any
    /// row is bad, nothing is written and the error lists every bad line.
    /// Passwords never appear in the report.
    ///
    /// # Errors
    /// [`StoreError::Import`] with one [`LineError`] per problem;
    /// [`StoreError::ImportTooLarge`] beyond [`MAX_IMPORT_BYTES`];
    /// [`StoreError::ImportRead`] if `input` fails; [`StoreError::Database`].
    pub fn import_devices_csv_with_mode<R: Read>(
        &mut self,
        input: R,
        mode: ImportMode,
    ) -> Result<ImportReport, StoreError> {
        self.import_devices_csv_audited(input, mode, &mut |_| None)
    }

    /// [`Store::import_devices_csv_with_mode`], appending in the same
    /// transaction the audit entry `audit` builds for each
    /// [`ImportEvent`] (none when it returns `None`): every device created,
    /// every device changed, then the whole import. A refused import
    /// writes no entry.
    ///
    /// # Errors
    /// As [`Store::import_devices_csv_with_mode`].
    pub fn import_devices_csv_audited<R: Read>(
        &mut self,
        input: R,
        mode: ImportMode,
        audit: &mut dyn FnMut(ImportEvent<'_>) -> Option<AuditRecord>,
    ) -> Result<ImportReport, StoreError> {
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
        let columns = parse_header(&data, &header, mode).map_err(StoreError::Import)?;

        let tx = self.write_txn()?;
        let mut errors = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut usernames: HashMap<String, usize> = HashMap::new();
        let mut macs: HashMap<String, usize> = HashMap::new();
        let mut rows = 0usize;
        for result in reader.records() {
            let record = match result {
                Ok(r) => r,
                Err(e) => {
                    let line = e
                        .position()
                        .map_or(0, |p| outpost_provision::csv_record_line(&data, p));
                    errors.push(LineError {
                        line,
                        column: None,
                        message: "not valid UTF-8 text; save the file as UTF-8 CSV".to_owned(),
                    });
                    continue;
                }
            };
            let line = record
                .position()
                .map_or(0, |p| outpost_provision::csv_record_line(&data, p));
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
            let username = columns
                .iter()
                .zip(&record)
                .find(|(c, _)| **c == Column::SetsideUsername)
                .map_or("", |(_, cell)| cell.trim());
            let existing = match mode {
                ImportMode::Create => None,
                ImportMode::Update | ImportMode::Upsert => {
                    device::device_by_username(&tx, username)?
                }
            };
            let mut seen = Seen {
                line,
                usernames: &mut usernames,
                macs: &mut macs,
            };
            let row = match (mode, existing) {
                (ImportMode::Update, None) => {
                    errors.push(unknown_device(line, username));
                    None
                }
                (_, Some(current)) => {
                    let change = row_to_update(&columns, &record, line, &mut errors);
                    let (planned, mut problems) = split(update::plan(&tx, &current, &change)?);
                    let mac = change.mac.as_ref().and_then(Option::as_deref);
                    seen.check(username, mac, &mut problems);
                    errors.extend(problems.iter().map(|p| to_line_error(line, p)));
                    planned.map(|p| Pending::Update(Box::new(current), p))
                }
                (_, None) => {
                    let new = row_to_device(&columns, &record, line, &mut errors);
                    let (checked, mut problems) = split(device::check(&tx, &new)?);
                    seen.check(&new.setside_username, new.mac.as_deref(), &mut problems);
                    errors.extend(problems.iter().map(|p| to_line_error(line, p)));
                    checked.map(|c| Pending::Create(Box::new(new), c))
                }
            };
            if let Some(row) = row.filter(|_| errors.len() == before) {
                pending.push(row);
            }
        }
        if !errors.is_empty() {
            // Dropping `tx` rolls back; nothing was written anyway.
            return Err(StoreError::Import(errors));
        }
        let mut report = ImportReport::default();
        for row in pending {
            match row {
                Pending::Create(new, checked) => {
                    let id = device::insert(&tx, &new, &checked, &new_guid()?)?;
                    report.added += 1;
                    let created = device::device_by_id(&tx, id)?;
                    if let Some(record) = audit(ImportEvent::Created(&created)) {
                        audit::insert(&tx, &record)?;
                    }
                }
                Pending::Update(_, planned) if planned.changed.is_empty() => {
                    report.unchanged += 1;
                }
                Pending::Update(before, planned) => {
                    update::apply(&tx, &planned)?;
                    report.updated += 1;
                    let after = device::device_by_id(&tx, before.id)?;
                    let event = ImportEvent::Updated {
                        before: &before,
                        after: &after,
                        fields: &planned.changed,
                    };
                    if let Some(record) = audit(event) {
                        audit::insert(&tx, &record)?;
                    }
                    report.changes.push(DeviceChange {
                        setside_username: before.setside_username.clone(),
                        fields: planned.changed,
                    });
                }
            }
        }
        if let Some(record) = audit(ImportEvent::Finished(&report)) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(report)
    }
}

/// A validation outcome as (value, problems).
fn split<T>(checked: Result<T, Vec<FieldProblem>>) -> (Option<T>, Vec<FieldProblem>) {
    match checked {
        Ok(value) => (Some(value), Vec::new()),
        Err(problems) => (None, problems),
    }
}

/// The line error for an update of a device that does not exist.
fn unknown_device(line: usize, username: &str) -> LineError {
    LineError {
        line,
        column: Some("setside_username".to_owned()),
        message: if username.is_empty() {
            "empty; every row names a device by its set-side username".to_owned()
        } else {
            format!(
                "{username:?}: no device has this set-side username; import with \
                 --mode upsert (or create) to add devices"
            )
        },
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

fn import_error(line: usize, column: Option<&str>, message: &str) -> StoreError {
    StoreError::Import(vec![LineError {
        line,
        column: column.map(str::to_owned),
        message: message.to_owned(),
    }])
}

/// Maps each header cell to its column; reports unknown, duplicate and
/// missing required columns.
fn parse_header(
    data: &[u8],
    header: &StringRecord,
    mode: ImportMode,
) -> Result<Vec<Column>, Vec<LineError>> {
    let line = header
        .position()
        .map_or(1, |p| outpost_provision::csv_record_line(data, p));
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
    let required: &[(&str, Column)] = match mode {
        ImportMode::Create => &[
            ("setside_username", Column::SetsideUsername),
            ("setside_password", Column::SetsidePassword),
        ],
        ImportMode::Update | ImportMode::Upsert => &[("setside_username", Column::SetsideUsername)],
    };
    for &(name, required) in required {
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
            Column::Enabled => {
                if let Some(b) = enabled_cell(cell, line, errors) {
                    new.enabled = b;
                }
            }
        }
    }
    new
}

/// Builds the change a row makes to an existing device (see the module
/// docs for what blank cells mean); cell-level problems go to `errors`.
fn row_to_update(
    columns: &[Column],
    record: &StringRecord,
    line: usize,
    errors: &mut Vec<LineError>,
) -> DeviceUpdate {
    let mut change = DeviceUpdate::default();
    for (column, raw) in columns.iter().zip(record) {
        let cell = raw.trim();
        let present = (!cell.is_empty()).then(|| cell.to_owned());
        match column {
            Column::SetsideUsername => {}
            // Passwords are taken verbatim: spaces may be part of them.
            Column::SetsidePassword => {
                change.setside_password = present.map(|_| Secret::new(raw.to_owned()));
            }
            Column::IcpsideUsername => change.icpside_username = Some(cell.to_owned()),
            Column::IcpsidePassword => {
                change.icpside_password = Some(Secret::new(
                    present.map(|_| raw.to_owned()).unwrap_or_default(),
                ));
            }
            Column::Icp => change.icp = present,
            Column::Description => change.description = Some(cell.to_owned()),
            Column::ClientId => change.mac = Some(present),
            Column::Location => change.location = Some(present),
            Column::Enabled => change.enabled = enabled_cell(cell, line, errors),
        }
    }
    change
}

/// The `enabled` cell as a flag; a problem goes to `errors`.
fn enabled_cell(cell: &str, line: usize, errors: &mut Vec<LineError>) -> Option<bool> {
    let value = parse_bool(cell);
    if value.is_none() {
        errors.push(LineError {
            line,
            column: Some("enabled".to_owned()),
            message: format!(
                "{cell:?}: not a yes/no value; use true/false, 1/0 or yes/no (blank means true)"
            ),
        });
    }
    value
}

fn parse_bool(cell: &str) -> Option<bool> {
    match cell.to_ascii_lowercase().as_str() {
        "" | "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// The set-side usernames and MAC addresses of the rows read so far.
struct Seen<'a> {
    line: usize,
    usernames: &'a mut HashMap<String, usize>,
    macs: &'a mut HashMap<String, usize>,
}

impl Seen<'_> {
    /// Reports a set-side username or MAC already used on an earlier line
    /// (unless that field already has a problem of its own).
    fn check(&mut self, username: &str, mac: Option<&str>, problems: &mut Vec<FieldProblem>) {
        let has_problem =
            |problems: &[FieldProblem], field| problems.iter().any(|p| p.field == field);
        if !has_problem(problems, "setside_username") {
            check_unique(self.usernames, username, self.line, problems);
        }
        if has_problem(problems, "mac") {
            return;
        }
        let Some(raw) = mac.filter(|m| !m.trim().is_empty()) else {
            return;
        };
        if let Ok(mac) = outpost_provision::Mac::parse(raw).map(|m| m.to_string()) {
            if let Some(first) = self.macs.get(&mac) {
                problems.push(FieldProblem::with_value(
                    "mac",
                    raw,
                    format!(
                        "MAC address {mac} is also on line {first}; each MAC address belongs \
                         to one device"
                    ),
                ));
            } else {
                self.macs.insert(mac, self.line);
            }
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
