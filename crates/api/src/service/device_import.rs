//! Bulk device import from CSV (SPEC PRO-2): all or nothing, with a
//! per-line report (`POST /api/v1/devices/import`, `outpost devices
//! import`). The format and the three modes are the store's
//! (`outpost_store::ImportMode`): `create` adds devices, `update` changes
//! existing ones, `upsert` does either.
//!
//! When any line is refused nothing is written, not even an audit entry,
//! and every bad line is reported ([`ImportFailure::Rejected`]). When the
//! import goes through, each device created or changed gets its audit
//! entry (`device.create`, `device.update`) and the import one more
//! (`device.import`, with the counts), all in the import's transaction.
//! Passwords appear in neither the report nor the audit log.

use std::io::Read;

use outpost_store::{ImportEvent, ImportMode, LineError, Store, StoreError};
use serde::Serialize;
use tracing::info;
use utoipa::ToSchema;

use super::devices::DeviceView;
use super::input::store_error;
use super::{Access, Caller, NOTHING, Resource, Service, ServiceError};

/// The import modes by name, as the API and the CLI spell them.
pub const IMPORT_MODES: [&str; 3] = ["create", "update", "upsert"];

/// Parses an import mode: `create`, `update` or `upsert`.
///
/// # Errors
/// 422 naming `mode`.
pub fn parse_mode(text: &str) -> Result<ImportMode, ServiceError> {
    match text.trim() {
        "create" => Ok(ImportMode::Create),
        "update" => Ok(ImportMode::Update),
        "upsert" => Ok(ImportMode::Upsert),
        other => Err(ServiceError::invalid(
            "mode",
            format!(
                "{other:?} is not an import mode; use create (only new devices), update (only \
                 existing ones) or upsert (either)"
            ),
        )),
    }
}

fn mode_name(mode: ImportMode) -> &'static str {
    match mode {
        ImportMode::Create => "create",
        ImportMode::Update => "update",
        ImportMode::Upsert => "upsert",
    }
}

/// What one row changed in an existing device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportChange {
    /// The device.
    pub setside_username: String,
    /// The fields changed (passwords named, never shown).
    pub fields: Vec<String>,
}

/// A successful import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportSummary {
    /// `create`, `update` or `upsert`.
    pub mode: String,
    /// Devices created.
    pub added: u64,
    /// Existing devices changed.
    pub updated: u64,
    /// Existing devices named by a row that changed nothing.
    pub unchanged: u64,
    /// Each change, in file order.
    pub changes: Vec<ImportChange>,
}

/// One refused line of a CSV import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LineReport {
    /// 1-based line in the file; the header is line 1.
    pub line: u64,
    /// The column, as named in the header, when the problem is in one cell.
    pub column: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl From<&LineError> for LineReport {
    fn from(e: &LineError) -> Self {
        Self {
            line: e.line as u64,
            column: e.column.clone(),
            message: e.message.clone(),
        }
    }
}

/// Why an import wrote nothing.
#[derive(Debug)]
pub enum ImportFailure {
    /// Lines of the file were refused; every one is listed.
    Rejected(Vec<LineError>),
    /// The caller, the input as a whole or the database failed.
    Service(ServiceError),
}

impl ImportFailure {
    /// The summary sentence: how many lines were refused (or the error).
    pub fn message(&self) -> String {
        match self {
            Self::Rejected(lines) => {
                let full = StoreError::Import(lines.clone()).to_string();
                full.lines()
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches(':')
                    .to_owned()
            }
            Self::Service(e) => e.public_message(),
        }
    }

    /// The per-line report (empty unless [`ImportFailure::Rejected`]).
    pub fn lines(&self) -> Vec<LineReport> {
        match self {
            Self::Rejected(lines) => lines.iter().map(LineReport::from).collect(),
            Self::Service(_) => Vec::new(),
        }
    }
}

impl std::fmt::Display for ImportFailure {
    /// The whole report, one bad line per line (the CLI prints this).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rejected(lines) => write!(f, "{}", StoreError::Import(lines.clone())),
            Self::Service(e) => write!(f, "{e}"),
        }
    }
}

impl From<ServiceError> for ImportFailure {
    fn from(e: ServiceError) -> Self {
        Self::Service(e)
    }
}

/// Imports devices from CSV read from `input`, all or nothing.
///
/// # Errors
/// [`ImportFailure::Rejected`] with every bad line; otherwise 403 without
/// write access to `devices`, 413 beyond the store's size limit, 400 when
/// `input` cannot be read.
pub fn import<R: Read>(
    store: &mut Store,
    caller: &Caller,
    input: R,
    mode: ImportMode,
) -> Result<ImportSummary, ImportFailure> {
    caller.require(Resource::Devices, Access::Write)?;
    let mut audit = |event: ImportEvent<'_>| {
        Some(match event {
            ImportEvent::Created(d) => caller.audit(
                "device.create",
                &d.setside_username,
                NOTHING,
                Some(&DeviceView::audited(d)),
            ),
            ImportEvent::Updated { before, after, .. } => caller.audit(
                "device.update",
                &before.setside_username,
                Some(&DeviceView::audited(before)),
                Some(&DeviceView::audited(after)),
            ),
            ImportEvent::Finished(report) => caller.audit(
                "device.import",
                "devices",
                NOTHING,
                Some(&serde_json::json!({
                    "mode": mode_name(mode),
                    "added": report.added,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                })),
            ),
        })
    };
    let report = match store.import_devices_csv_audited(input, mode, &mut audit) {
        Ok(report) => report,
        Err(StoreError::Import(lines)) => return Err(ImportFailure::Rejected(lines)),
        Err(other) => return Err(ImportFailure::Service(store_error(other))),
    };
    for change in &report.changes {
        info!(
            username = %change.setside_username,
            changed = %change.fields.join(","),
            "device updated by import"
        );
    }
    info!(
        mode = mode_name(mode),
        added = report.added,
        updated = report.updated,
        unchanged = report.unchanged,
        "devices imported"
    );
    Ok(ImportSummary {
        mode: mode_name(mode).to_owned(),
        added: report.added as u64,
        updated: report.updated as u64,
        unchanged: report.unchanged as u64,
        changes: report
            .changes
            .iter()
            .map(|c| ImportChange {
                setside_username: c.setside_username.clone(),
                fields: c.fields.iter().map(|f| (*f).to_owned()).collect(),
            })
            .collect(),
    })
}

impl Service {
    /// [`import`] of `csv` over the service's store.
    ///
    /// # Errors
    /// As [`import`].
    pub fn import_devices(
        &self,
        caller: &Caller,
        csv: &[u8],
        mode: ImportMode,
    ) -> Result<ImportSummary, ImportFailure> {
        let mut store = super::lock(&self.store)?;
        import(&mut store, caller, csv, mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_by_name() {
        assert_eq!(parse_mode("upsert").unwrap(), ImportMode::Upsert);
        let err = parse_mode("merge").unwrap_err();
        assert_eq!(err.field(), Some("mode"));
        assert_eq!(err.status(), 422);
    }

    #[test]
    fn a_rejection_reports_every_line() {
        let failure = ImportFailure::Rejected(vec![
            LineError {
                line: 3,
                column: Some("mac".into()),
                message: "bad".into(),
            },
            LineError {
                line: 5,
                column: None,
                message: "worse".into(),
            },
        ]);
        assert!(
            failure.message().contains("2 bad line(s)"),
            "{}",
            failure.message()
        );
        assert_eq!(failure.lines().len(), 2);
        assert!(failure.to_string().contains("line 5: worse"), "{failure}");
    }
}
