//! Phone provisioning (SPEC SEC-7, PRO-5..PRO-9, issue 15) for the REST
//! API (`/api/v1/provisioning/...`) and `outpost provisioning` alike: the
//! hash key ([`hash`]), the remote-worker and global CSV imports
//! ([`import`]), the stored files, the inventory and the actions log.
//!
//! Scope `provisioning`. Reading the hash key or a file's contents needs
//! *write* access, not read: the key opens every phone's file, and phone
//! files hold SIP passwords, so a read-only account or token sees names,
//! sizes and times but no secret. Every change is audited (`provisioning.*`)
//! and recorded as a PRO-9 action in its own transaction (the store does
//! both); no audit entry or log line carries the key or a file's contents.

mod action_run;
pub mod actions;
pub mod hash;
pub mod import;
pub mod inventory_filter;
pub mod uploads;
mod views;
pub mod when;

use outpost_provision::Mac;
use outpost_store::{ChangeBy, Store};
use tracing::info;

use super::input::store_error;
use super::{Access, Caller, NOTHING, Resource, Service, ServiceError};
pub use views::{ActionView, EventView, FileContents, FileView, InventoryView};

/// The columns of the inventory export, in order.
pub const INVENTORY_CSV_HEADER: &str =
    "mac,model,firmware,address,last_download,file,downloads,user,registered,sip_address";

/// The operator a change is recorded under (the audit log's actor); a
/// change made by a scheduled action finishes that action.
fn change_by<'a>(caller: &Caller, actor: &'a str) -> ChangeBy<'a> {
    let action = match &caller.actor {
        super::Actor::Scheduled { action, .. } => Some(*action),
        _ => None,
    };
    ChangeBy {
        at: caller.now,
        operator: actor,
        action,
    }
}

/// Parses MACs given by an operator, naming the first bad one.
///
/// # Errors
/// 422 on field `mac`.
pub fn parse_macs(texts: &[String]) -> Result<Vec<Mac>, ServiceError> {
    texts
        .iter()
        .map(|t| {
            let raw = t.strip_suffix(".cfg").unwrap_or(t);
            Mac::parse(raw).map_err(|e| ServiceError::invalid("mac", format!("{t:?}: {e}")))
        })
        .collect()
}

/// Every stored file, without contents.
///
/// # Errors
/// 403 without read access to `provisioning`.
pub fn files(store: &Store, caller: &Caller) -> Result<Vec<FileView>, ServiceError> {
    caller.require(Resource::Provisioning, Access::Read)?;
    let files = store.provisioning_files().map_err(store_error)?;
    Ok(files.iter().map(FileView::from).collect())
}

/// One file with its contents (which may hold SIP passwords: write access
/// needed).
///
/// # Errors
/// 403 without write access to `provisioning`; 404.
pub fn file(store: &Store, caller: &Caller, name: &str) -> Result<FileContents, ServiceError> {
    caller.require(Resource::Provisioning, Access::Write)?;
    let file = store.provisioning_file(name).map_err(store_error)?;
    let file = file.ok_or_else(|| {
        ServiceError::NotFound(format!(
            "no provisioning file named {name:?}; list them with GET /api/v1/provisioning/files \
             or `outpost provisioning files list`"
        ))
    })?;
    Ok(FileContents::from(&file))
}

/// Removes these phones' files, all or none.
///
/// # Errors
/// 403; 422 for a bad MAC; 404 naming a phone without a file.
pub fn remove_files(
    store: &mut Store,
    caller: &Caller,
    macs: &[Mac],
) -> Result<Vec<FileView>, ServiceError> {
    caller.require(Resource::Provisioning, Access::Write)?;
    let (actor, _) = caller.audit_actor();
    let removed = store
        .remove_phone_files_audited(macs, change_by(caller, &actor), |files| {
            let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
            Some(caller.audit(
                "provisioning.file.delete",
                &names.join(","),
                Some(&names),
                NOTHING,
            ))
        })
        .map_err(store_error)?;
    info!(files = removed.len(), "phone files removed");
    Ok(removed.iter().map(FileView::from).collect())
}

/// The inventory, by MAC.
///
/// # Errors
/// 403 without read access to `provisioning`.
pub fn inventory(store: &Store, caller: &Caller) -> Result<Vec<InventoryView>, ServiceError> {
    caller.require(Resource::Provisioning, Access::Read)?;
    let entries = store.inventory().map_err(store_error)?;
    Ok(entries.iter().map(InventoryView::from).collect())
}

/// The inventory as CSV ([`INVENTORY_CSV_HEADER`], then one row per phone).
///
/// # Errors
/// As [`inventory`].
pub fn inventory_csv(store: &Store, caller: &Caller) -> Result<String, ServiceError> {
    inventory_rows_csv(&inventory(store, caller)?)
}

/// Inventory rows as CSV ([`INVENTORY_CSV_HEADER`], then one row each).
fn inventory_rows_csv(rows: &[InventoryView]) -> Result<String, ServiceError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = INVENTORY_CSV_HEADER.split(',').collect();
    let fail = |e: csv::Error| ServiceError::Internal(format!("writing the inventory CSV: {e}"));
    out.write_record(&header).map_err(fail)?;
    for r in rows {
        out.write_record([
            r.mac.as_str(),
            r.model.as_deref().unwrap_or(""),
            r.firmware.as_deref().unwrap_or(""),
            r.address.as_str(),
            &r.last_download.to_string(),
            r.file.as_str(),
            &r.downloads.to_string(),
            r.user.as_deref().unwrap_or(""),
            if r.registered { "yes" } else { "no" },
            r.sip_address.as_deref().unwrap_or(""),
        ])
        .map_err(fail)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| ServiceError::Internal(format!("writing the inventory CSV: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|e| ServiceError::Internal(format!("the inventory CSV is not UTF-8: {e}")))
}

/// Removes phones from the inventory, and their files with them (PRO-8).
///
/// # Errors
/// 403; 404 naming a MAC not in the inventory (nothing removed).
pub fn remove_inventory(
    store: &mut Store,
    caller: &Caller,
    macs: &[Mac],
) -> Result<Vec<String>, ServiceError> {
    caller.require(Resource::Provisioning, Access::Write)?;
    let (actor, _) = caller.audit_actor();
    let removed = store
        .remove_inventory_audited(macs, change_by(caller, &actor), |macs, files| {
            let macs: Vec<String> = macs.iter().map(ToString::to_string).collect();
            let files: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
            let before = serde_json::json!({ "phones": macs, "files": files });
            Some(caller.audit(
                "provisioning.inventory.delete",
                &macs.join(","),
                Some(&before),
                NOTHING,
            ))
        })
        .map_err(store_error)?;
    info!(phones = removed.len(), "phones removed from the inventory");
    Ok(removed.iter().map(ToString::to_string).collect())
}

/// Every action, newest first, with its events.
///
/// # Errors
/// 403 without read access to `provisioning`.
pub fn actions(store: &Store, caller: &Caller) -> Result<Vec<ActionView>, ServiceError> {
    caller.require(Resource::Provisioning, Access::Read)?;
    let actions = store.actions().map_err(store_error)?;
    let events = store.action_events(None).map_err(store_error)?;
    Ok(actions
        .iter()
        .map(|a| ActionView::new(a, events.iter().filter(|e| e.action_id == Some(a.id))))
        .collect())
}

impl Service {
    /// [`files`] over the service's store.
    ///
    /// # Errors
    /// As [`files`].
    pub fn provisioning_files(&self, caller: &Caller) -> Result<Vec<FileView>, ServiceError> {
        self.with_store(|s| files(s, caller))
    }

    /// [`fn@file`] over the service's store.
    ///
    /// # Errors
    /// As [`fn@file`].
    pub fn provisioning_file(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<FileContents, ServiceError> {
        self.with_store(|s| file(s, caller, name))
    }

    /// [`remove_files`] over the service's store.
    ///
    /// # Errors
    /// As [`remove_files`].
    pub fn remove_phone_files(
        &self,
        caller: &Caller,
        macs: &[Mac],
    ) -> Result<Vec<FileView>, ServiceError> {
        self.with_store(|s| remove_files(s, caller, macs))
    }

    /// [`inventory`] over the service's store.
    ///
    /// # Errors
    /// As [`inventory`].
    pub fn inventory(&self, caller: &Caller) -> Result<Vec<InventoryView>, ServiceError> {
        self.with_store(|s| inventory(s, caller))
    }

    /// [`inventory_csv`] over the service's store.
    ///
    /// # Errors
    /// As [`inventory_csv`].
    pub fn inventory_csv(&self, caller: &Caller) -> Result<String, ServiceError> {
        self.with_store(|s| inventory_csv(s, caller))
    }

    /// [`remove_inventory`] over the service's store.
    ///
    /// # Errors
    /// As [`remove_inventory`].
    pub fn remove_inventory(
        &self,
        caller: &Caller,
        macs: &[Mac],
    ) -> Result<Vec<String>, ServiceError> {
        self.with_store(|s| remove_inventory(s, caller, macs))
    }

    /// [`actions`] over the service's store.
    ///
    /// # Errors
    /// As [`actions`].
    pub fn provisioning_actions(&self, caller: &Caller) -> Result<Vec<ActionView>, ServiceError> {
        self.with_store(|s| actions(s, caller))
    }
}
