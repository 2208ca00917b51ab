//! The provisioning CSV imports: the remote-worker CSV (PRO-6) to one
//! `<MAC>.cfg` per phone, replacing the previous set in one transaction,
//! and the global CSV (PRO-7) to `aastra.cfg`.
//!
//! All or nothing: the file is read whole by `outpost-provision`, which
//! reports every problem by line and column ([`CsvImportFailure::Rejected`],
//! a 422 with the list); only a file without problems reaches the store.
//! The system values (`sip proxy ip`, `sip registrar ip`, `https server`,
//! `https path`) are filled from the gateway's public name and hash key
//! when the service knows the name ([`Service::with_public_name`]).

use outpost_provision::{
    CsvError, ExtraFileName, RemoteWorkerImport, SystemValues, parse_global_csv,
    parse_remote_worker_csv,
};
use serde::Serialize;
use tracing::info;
use utoipa::ToSchema;

use super::super::input::store_error;
use super::super::{Access, Caller, NOTHING, Resource, Service, ServiceError};
use super::{FileView, change_by};

/// Largest extra file accepted, in bytes (a template or a certificate
/// chain is a few KiB).
pub const MAX_EXTRA_FILE_BYTES: usize = 1024 * 1024;

/// One problem of a refused CSV file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CsvProblemReport {
    /// 1-based line; absent for a problem with the whole file.
    pub line: Option<u64>,
    /// The column's spreadsheet letter (`B`), when the problem is in one.
    pub column: Option<String>,
    /// The column's header, when it has one.
    pub column_name: Option<String>,
    /// What is wrong and how to fix it (never a password's value).
    pub message: String,
}

impl From<&CsvError> for CsvProblemReport {
    fn from(e: &CsvError) -> Self {
        Self {
            line: e.line.map(|l| l as u64),
            column: e.column.as_ref().map(outpost_provision::CsvColumn::letter),
            column_name: e.column.as_ref().and_then(|c| c.name.clone()),
            message: e.problem.to_string(),
        }
    }
}

/// Why a CSV import wrote nothing.
#[derive(Debug)]
pub enum CsvImportFailure {
    /// The file has problems; every one is listed.
    Rejected(Vec<CsvError>),
    /// The caller or the database failed.
    Service(ServiceError),
}

impl CsvImportFailure {
    /// The summary sentence.
    pub fn message(&self) -> String {
        match self {
            Self::Rejected(errors) => format!(
                "CSV import refused, nothing was written; {} problem(s)",
                errors.len()
            ),
            Self::Service(e) => e.public_message(),
        }
    }

    /// The per-problem report (empty unless rejected).
    pub fn problems(&self) -> Vec<CsvProblemReport> {
        match self {
            Self::Rejected(errors) => errors.iter().map(CsvProblemReport::from).collect(),
            Self::Service(_) => Vec::new(),
        }
    }
}

impl std::fmt::Display for CsvImportFailure {
    /// The whole report, one problem per line (the CLI prints this).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rejected(errors) => {
                write!(f, "{}:", self.message())?;
                for e in errors {
                    write!(f, "\n  - {e}")?;
                }
                Ok(())
            }
            Self::Service(e) => write!(f, "{e}"),
        }
    }
}

impl From<ServiceError> for CsvImportFailure {
    fn from(e: ServiceError) -> Self {
        Self::Service(e)
    }
}

/// A remote-worker import that went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PhoneImportSummary {
    /// `phones` (files written) or `selection` (a MAC-only file: it selects
    /// phones for an action and writes nothing).
    pub kind: String,
    /// Phone files written.
    pub written: u64,
    /// Phone files there were before (all replaced).
    pub replaced: u64,
    /// The MACs of the file, in file order.
    pub macs: Vec<String>,
    /// Whether system values (proxy, registrar, https server and path)
    /// were filled in from the gateway's name and hash key.
    pub system_values: bool,
}

/// A global-file import that went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GlobalImportSummary {
    /// The global file as stored.
    pub file: FileView,
    /// Parameters in it.
    pub parameters: u64,
}

impl Service {
    /// Sets the gateway's public name (its FQDN or address), which fills
    /// the system values of remote-worker imports.
    #[must_use]
    pub fn with_public_name(mut self, name: impl Into<String>) -> Self {
        self.public_name = Some(name.into());
        self
    }

    /// Imports a remote-worker CSV: every phone file is replaced by the
    /// file's, all or nothing.
    ///
    /// # Errors
    /// [`CsvImportFailure::Rejected`] with every problem; 403 without write
    /// access to `provisioning`.
    pub fn import_phones(
        &self,
        caller: &Caller,
        csv: &[u8],
    ) -> Result<PhoneImportSummary, CsvImportFailure> {
        caller.require(Resource::Provisioning, Access::Write)?;
        let mut store = super::super::lock(&self.store)?;
        let hash = store.provisioning_hash().map_err(store_error)?;
        let system = match (&self.public_name, &hash) {
            (Some(name), Some(hash)) => SystemValues::new(name.as_str(), hash.expose()).ok(),
            _ => None,
        };
        let parsed =
            parse_remote_worker_csv(csv, system.as_ref()).map_err(CsvImportFailure::Rejected)?;
        let files = match parsed {
            RemoteWorkerImport::Selection(macs) => {
                return Ok(PhoneImportSummary {
                    kind: "selection".to_owned(),
                    written: 0,
                    replaced: 0,
                    macs: macs.iter().map(ToString::to_string).collect(),
                    system_values: false,
                });
            }
            RemoteWorkerImport::Phones(files) => files,
        };
        let rows: Vec<_> = files
            .iter()
            .map(|f| (f.mac(), f.contents().into_bytes()))
            .collect();
        let macs: Vec<String> = files.iter().map(|f| f.mac().to_string()).collect();
        let (actor, _) = caller.audit_actor();
        let done = store
            .replace_phone_files_audited(&rows, change_by(caller, &actor), |done| {
                // Counts and MACs only: the files hold SIP passwords.
                let after = serde_json::json!({
                    "written": done.written,
                    "replaced": done.removed,
                    "macs": macs,
                });
                Some(caller.audit("provisioning.import", "phones", NOTHING, Some(&after)))
            })
            .map_err(store_error)?;
        info!(
            written = done.written,
            replaced = done.removed,
            "remote-worker CSV imported"
        );
        Ok(PhoneImportSummary {
            kind: "phones".to_owned(),
            written: done.written as u64,
            replaced: done.removed as u64,
            macs,
            system_values: system.is_some(),
        })
    }

    /// Imports the global CSV (`PARAMETERS;VALUE` rows) as `aastra.cfg`.
    ///
    /// # Errors
    /// As [`Service::import_phones`].
    pub fn import_global(
        &self,
        caller: &Caller,
        csv: &[u8],
    ) -> Result<GlobalImportSummary, CsvImportFailure> {
        caller.require(Resource::Provisioning, Access::Write)?;
        let config = parse_global_csv(csv).map_err(CsvImportFailure::Rejected)?;
        let parameters = config.parameters().count() as u64;
        let text = config.render();
        let (actor, _) = caller.audit_actor();
        let stored = self.with_store(|s| {
            s.set_global_file_audited(text.as_bytes(), change_by(caller, &actor), |f| {
                let after =
                    serde_json::json!({ "name": f.name, "size": f.size, "parameters": parameters });
                Some(caller.audit("provisioning.global.import", &f.name, NOTHING, Some(&after)))
            })
            .map_err(store_error)
        })?;
        info!(parameters, "global configuration CSV imported");
        Ok(GlobalImportSummary {
            file: FileView::from(&stored),
            parameters,
        })
    }

    /// Stores the one extra file (template or certificate) under a checked
    /// name, replacing the previous extra file.
    ///
    /// # Errors
    /// 422 naming `name` for a refused name (it may not be the global
    /// file's, a phone file's or leave the directory); 413 beyond
    /// [`MAX_EXTRA_FILE_BYTES`]; 403.
    pub fn upload_extra_file(
        &self,
        caller: &Caller,
        name: &str,
        contents: &[u8],
    ) -> Result<FileView, ServiceError> {
        caller.require(Resource::Provisioning, Access::Write)?;
        if contents.len() > MAX_EXTRA_FILE_BYTES {
            return Err(ServiceError::PayloadTooLarge {
                limit_bytes: MAX_EXTRA_FILE_BYTES,
            });
        }
        let name =
            ExtraFileName::parse(name).map_err(|e| ServiceError::invalid("name", e.to_string()))?;
        let (actor, _) = caller.audit_actor();
        let stored = self.with_store(|s| {
            s.set_extra_file_audited(name.as_str(), contents, change_by(caller, &actor), |f| {
                let after = serde_json::json!({ "name": f.name, "size": f.size });
                Some(caller.audit("provisioning.extra.upload", &f.name, NOTHING, Some(&after)))
            })
            .map_err(store_error)
        })?;
        info!(name = %stored.name, size = stored.size, "extra provisioning file stored");
        Ok(FileView::from(&stored))
    }
}
