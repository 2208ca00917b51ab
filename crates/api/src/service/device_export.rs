//! `devices_mbg.csv` (SPEC PRO-4): Outpost's devices in the file the
//! iPBX's terminal management reads to fill the remote-worker CSV (seed
//! 000 §5.4.7 / 001 §5.4.7, §6.4): columns `Login` (set-side username),
//! `NA` (ICP-side username, the subscription number) and `Password`
//! (set-side password), in that order, under that header.
//!
//! The seeds show the columns (a spreadsheet view), not the separator;
//! this writes `;`, the separator of every terminal-management CSV in the
//! seeds (the remote-worker and global files), with CRLF line ends and
//! cells quoted only when they must be.
//!
//! This is the one answer of the management plane that carries passwords
//! in clear, deliberately: terminal management needs them to write the
//! phones' files. So it needs *write* access to `devices` (a read-only
//! account or a read-scoped token gets 403), and every export is audited
//! (`device.export.mbg`, with the count and the ICP filter, never a
//! password) before the file is handed out; nothing is logged but the
//! count.

use outpost_store::Store;
use serde::Serialize;
use tracing::info;
use utoipa::ToSchema;

use super::input::store_error;
use super::{Access, Caller, NOTHING, Resource, Service, ServiceError};

/// The header row, exactly as the seeds name the columns.
pub const MBG_HEADER: [&str; 3] = ["Login", "NA", "Password"];
/// The file name terminal management expects.
pub const MBG_FILE_NAME: &str = "devices_mbg.csv";

/// An export: the file's text and how many devices it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MbgExport {
    /// The CSV text (holds passwords).
    pub csv: String,
    /// Devices in it.
    pub devices: usize,
}

/// Writes `devices_mbg.csv` for every device, or those of ICP `icp`,
/// sorted by set-side username, after auditing the export.
///
/// # Errors
/// 403 without write access to `devices`; 404 for an unknown ICP; a
/// database error.
pub fn mbg_csv(
    store: &mut Store,
    caller: &Caller,
    icp: Option<&str>,
) -> Result<MbgExport, ServiceError> {
    caller.require(Resource::Devices, Access::Write)?;
    if let Some(name) = icp {
        if store.icp(name).map_err(store_error)?.is_none() {
            return Err(ServiceError::NotFound(format!(
                "no ICP named {name:?}; list them with GET /api/v1/icps or `outpost icps list`"
            )));
        }
    }
    let mut devices = store.devices().map_err(store_error)?;
    devices.retain(|d| icp.is_none_or(|name| d.icp.eq_ignore_ascii_case(name)));
    devices.sort_by(|a, b| a.setside_username.cmp(&b.setside_username));
    let after = serde_json::json!({ "devices": devices.len(), "icp": icp });
    store
        .append_audit(&caller.audit("device.export.mbg", MBG_FILE_NAME, NOTHING, Some(&after)))
        .map_err(store_error)?;
    let fail = |e: csv::Error| ServiceError::Internal(format!("writing {MBG_FILE_NAME}: {e}"));
    let mut out = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    out.write_record(MBG_HEADER).map_err(fail)?;
    for d in &devices {
        out.write_record([
            d.setside_username.as_str(),
            d.effective_icpside_username(),
            d.setside_password.expose(),
        ])
        .map_err(fail)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| ServiceError::Internal(format!("writing {MBG_FILE_NAME}: {e}")))?;
    let csv = String::from_utf8(bytes)
        .map_err(|e| ServiceError::Internal(format!("{MBG_FILE_NAME} is not UTF-8: {e}")))?;
    info!(devices = devices.len(), "devices_mbg.csv exported");
    Ok(MbgExport {
        csv,
        devices: devices.len(),
    })
}

impl Service {
    /// [`mbg_csv`] over the service's store.
    ///
    /// # Errors
    /// As [`mbg_csv`].
    pub fn export_mbg(
        &self,
        caller: &Caller,
        icp: Option<&str>,
    ) -> Result<MbgExport, ServiceError> {
        self.with_store(|s| mbg_csv(s, caller, icp))
    }
}
