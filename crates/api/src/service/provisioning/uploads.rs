//! Uploaded phone files (issue 15 item 2, SPEC PRO-5): `startup.cfg`,
//! per-model files (`<model>.cfg`) and firmware images, stored next to the
//! generated files and served under the hash path; and the removal of any
//! file that is not a phone's own (`<MAC>.cfg` go with
//! [`super::remove_files`]).
//!
//! Names are checked by `outpost_provision::UploadName` (no directory, no
//! `..`, not `aastra.cfg`, a `<MAC>.cfg` or the CA file's name; a startup
//! file is `startup.cfg`, a model file ends in `.cfg`); sizes by kind
//! (firmware up to [`MAX_FIRMWARE_BYTES`], the others up to
//! [`MAX_TEXT_UPLOAD_BYTES`]). Audited as `provisioning.upload` and
//! `provisioning.file.remove` with the name, kind and size (never the
//! contents), each with its PRO-9 action.

use outpost_provision::UploadName;
pub use outpost_provision::upload_name::{MAX_FIRMWARE_BYTES, MAX_TEXT_UPLOAD_BYTES};
pub use outpost_provision::{STARTUP_FILE_NAME, UploadKind};
use outpost_store::FileKind;
use tracing::info;

use super::super::input::store_error;
use super::super::{Access, Caller, NOTHING, Resource, Service, ServiceError};
use super::{FileView, change_by};

/// Parses an upload kind given by an operator.
///
/// # Errors
/// 422 on field `kind`.
pub fn parse_kind(text: &str) -> Result<UploadKind, ServiceError> {
    UploadKind::parse(text).ok_or_else(|| {
        ServiceError::invalid(
            "kind",
            format!("{text:?} is not an upload kind; use startup, model or firmware"),
        )
    })
}

const fn file_kind(kind: UploadKind) -> FileKind {
    match kind {
        UploadKind::Startup => FileKind::Startup,
        UploadKind::Model => FileKind::Model,
        UploadKind::Firmware => FileKind::Firmware,
    }
}

impl Service {
    /// Stores an uploaded file of `kind` under `name`, replacing the file
    /// of the same kind and name.
    ///
    /// # Errors
    /// 403 without write access to `provisioning`; 413 beyond the kind's
    /// size; 422 naming `name` for a refused name or one another kind of
    /// file has.
    pub fn upload_file(
        &self,
        caller: &Caller,
        kind: UploadKind,
        name: &str,
        contents: &[u8],
    ) -> Result<FileView, ServiceError> {
        caller.require(Resource::Provisioning, Access::Write)?;
        if contents.len() > kind.max_bytes() {
            return Err(ServiceError::PayloadTooLarge {
                limit_bytes: kind.max_bytes(),
            });
        }
        let name = UploadName::parse(kind, name)
            .map_err(|e| ServiceError::invalid("name", e.to_string()))?;
        let (actor, _) = caller.audit_actor();
        let stored = self.with_store(|s| {
            s.put_uploaded_file_audited(
                file_kind(kind),
                name.as_str(),
                contents,
                change_by(caller, &actor),
                |f| {
                    let after =
                        serde_json::json!({ "name": f.name, "kind": kind.as_str(), "size": f.size });
                    Some(caller.audit("provisioning.upload", &f.name, NOTHING, Some(&after)))
                },
            )
            .map_err(store_error)
        })?;
        info!(name = %stored.name, kind = kind.as_str(), size = stored.size, "provisioning file uploaded");
        Ok(FileView::from(&stored))
    }

    /// Removes the file `name` (startup, model, firmware, extra or global).
    ///
    /// # Errors
    /// 403; 404 when there is no such file or it is a phone's own file.
    pub fn remove_uploaded_file(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<FileView, ServiceError> {
        caller.require(Resource::Provisioning, Access::Write)?;
        let (actor, _) = caller.audit_actor();
        let removed = self.with_store(|s| {
            s.remove_uploaded_file_audited(name, change_by(caller, &actor), |f| {
                let before =
                    serde_json::json!({ "name": f.name, "kind": f.kind.as_str(), "size": f.size });
                Some(caller.audit("provisioning.file.remove", &f.name, Some(&before), NOTHING))
            })
            .map_err(store_error)
        })?;
        info!(name = %removed.name, kind = removed.kind.as_str(), "provisioning file removed");
        Ok(FileView::from(&removed))
    }
}
