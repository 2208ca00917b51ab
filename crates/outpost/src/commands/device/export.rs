//! `outpost devices export-mbg [FILE] [--icp NAME]`: `devices_mbg.csv` for
//! terminal management (PRO-4), through the service layer (audited). The
//! file holds set-side passwords: it is created owner-only (0600) and
//! never replaces an existing file.

use std::io::Write;
use std::path::Path;

use outpost_api::service::Caller;
use outpost_api::service::device_export::mbg_csv;
use outpost_store::Store;

use crate::commands::{CommandError, io};

/// Writes the export to `file` (created, owner-only) or to `out`.
pub(super) fn export_mbg(
    store: &mut Store,
    caller: &Caller,
    file: Option<&Path>,
    icp: Option<&str>,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let export = mbg_csv(store, caller, icp)?;
    let Some(path) = file else {
        return out.write_all(export.csv.as_bytes()).map_err(io);
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut target = options.open(path).map_err(|e| {
        CommandError(format!(
            "{}: {e}; give a new file name (an existing file is never replaced)",
            path.display()
        ))
    })?;
    target
        .write_all(export.csv.as_bytes())
        .map_err(|e| CommandError(format!("{}: {e}", path.display())))?;
    writeln!(
        out,
        "wrote {} device(s) to {} (it holds set-side passwords: keep it private)",
        export.devices,
        path.display()
    )
    .map_err(io)
}
