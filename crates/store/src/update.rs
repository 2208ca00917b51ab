//! Changing a stored teleworker device (SPEC PRO-2): any subset of its
//! fields, validated with the rules of a new device, in one transaction.
//!
//! The set-side username is the device's name and is not changed here
//! (remove and add the device to rename it).

use rusqlite::{Connection, params};

use crate::audit::{self, AuditRecord};
use crate::device::{self, Device};
use crate::{FieldProblem, Item, Secret, Store, StoreError};

/// What to change in a device; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct DeviceUpdate {
    /// Enable or disable the device.
    pub enabled: Option<bool>,
    /// New description (free text).
    pub description: Option<String>,
    /// Name of the ICP to move the device to; it must exist.
    pub icp: Option<String>,
    /// New set-side password; must not be blank.
    pub setside_password: Option<Secret>,
    /// New ICP-side username; blank means "same as the set side".
    pub icpside_username: Option<String>,
    /// New ICP-side password; blank means "same as the set side".
    pub icpside_password: Option<Secret>,
    /// New MAC address in any form `outpost_provision::Mac::parse` accepts;
    /// `Some(None)` (or a blank value) removes it.
    pub mac: Option<Option<String>>,
    /// New location; `Some(None)` (or a blank value) removes it.
    pub location: Option<Option<String>>,
}

impl DeviceUpdate {
    /// True when nothing would be changed.
    pub fn is_empty(&self) -> bool {
        self.enabled.is_none()
            && self.description.is_none()
            && self.icp.is_none()
            && self.setside_password.is_none()
            && self.icpside_username.is_none()
            && self.icpside_password.is_none()
            && self.mac.is_none()
            && self.location.is_none()
    }
}

/// The outcome of [`Store::update_device`].
#[derive(Debug, Clone)]
pub struct DeviceUpdated {
    /// The device as stored after the update.
    pub device: Device,
    /// The fields whose value changed, named as in the API (`enabled`,
    /// `description`, `icp`, `setside_password`, `icpside_username`,
    /// `icpside_password`, `mac`, `location`); empty when the values given
    /// were the current ones. Safe to log: it names passwords, never shows
    /// them.
    pub changed: Vec<&'static str>,
}

/// A validated update: the whole row as it will be stored.
#[derive(Debug)]
pub(crate) struct Planned {
    id: i64,
    enabled: bool,
    description: String,
    icp_id: i64,
    setside_password: Secret,
    icpside_username: String,
    icpside_password: Option<Secret>,
    mac: Option<String>,
    location: Option<String>,
    /// Fields whose value changes (see [`DeviceUpdated::changed`]).
    pub(crate) changed: Vec<&'static str>,
}

impl Store {
    /// Changes the fields `update` gives of the device with this set-side
    /// username, after validating them like [`Store::add_device`] does
    /// (non-blank password, ICP-side username syntax, existing ICP, MAC
    /// form and uniqueness).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if no device has this username;
    /// [`StoreError::Invalid`] listing every problem (nothing is written);
    /// [`StoreError::Database`].
    pub fn update_device(
        &mut self,
        setside_username: &str,
        update: &DeviceUpdate,
    ) -> Result<DeviceUpdated, StoreError> {
        self.update_device_audited(setside_username, update, |_, _| None)
    }

    /// [`Store::update_device`], appending the audit entry `audit` builds
    /// from the device before and after in the same transaction (none if
    /// it returns `None`, e.g. when nothing changed).
    ///
    /// # Errors
    /// As [`Store::update_device`].
    pub fn update_device_audited(
        &mut self,
        setside_username: &str,
        update: &DeviceUpdate,
        audit: impl FnOnce(&Device, &DeviceUpdated) -> Option<AuditRecord>,
    ) -> Result<DeviceUpdated, StoreError> {
        let tx = self.write_txn()?;
        let current = device::device_by_username(&tx, setside_username)?.ok_or_else(|| {
            StoreError::NotFound {
                kind: Item::Device,
                name: setside_username.to_owned(),
            }
        })?;
        let planned = plan(&tx, &current, update)?.map_err(StoreError::Invalid)?;
        if !planned.changed.is_empty() {
            apply(&tx, &planned)?;
        }
        let device = device::device_by_id(&tx, current.id)?;
        let updated = DeviceUpdated {
            device,
            changed: planned.changed,
        };
        if let Some(record) = audit(&current, &updated) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(updated)
    }
}

/// Validates `update` against `current` and the rows already stored. The
/// outer error is a database failure; the inner one lists every problem.
pub(crate) fn plan(
    conn: &Connection,
    current: &Device,
    update: &DeviceUpdate,
) -> Result<Result<Planned, Vec<FieldProblem>>, StoreError> {
    let mut problems = Vec::new();
    let mut changed = Vec::new();
    let mut note = |field: &'static str, differs: bool| {
        if differs {
            changed.push(field);
        }
    };

    let enabled = update.enabled.unwrap_or(current.enabled);
    note("enabled", enabled != current.enabled);

    let description = update
        .description
        .clone()
        .unwrap_or_else(|| current.description.clone());
    note("description", description != current.description);

    let current_icp: i64 = conn.query_row(
        "SELECT icp_id FROM devices WHERE id = ?1",
        [current.id],
        |r| r.get(0),
    )?;
    let icp_id = match update.icp.as_deref().map(str::trim) {
        None => Some(current_icp),
        Some("") => {
            problems.push(FieldProblem::without_value(
                "icp",
                "empty; name an existing ICP (list them with `outpost icps list`)",
            ));
            None
        }
        Some(name) => device::icp_id(conn, name, &mut problems)?,
    };
    note("icp", icp_id.is_some_and(|id| id != current_icp));

    let setside_password = match &update.setside_password {
        None => current.setside_password.clone(),
        Some(p) if p.is_blank() => {
            problems.push(FieldProblem::without_value(
                "setside_password",
                "empty; every device needs a set-side password",
            ));
            current.setside_password.clone()
        }
        Some(p) => p.clone(),
    };
    note(
        "setside_password",
        setside_password.expose() != current.setside_password.expose(),
    );

    let icpside_username = match update.icpside_username.as_deref() {
        None => current.icpside_username.clone(),
        Some(name) if name.trim().is_empty() => String::new(),
        Some(name) => {
            if let Err(p) = device::check_username("icpside_username", name, false) {
                problems.push(p);
            }
            name.to_owned()
        }
    };
    note(
        "icpside_username",
        icpside_username.trim() != current.icpside_username.trim(),
    );

    // A blank ICP-side password is stored as NULL: "same as the set side".
    let blank_is_none = |p: Option<&Secret>| p.filter(|p| !p.is_blank()).cloned();
    let icpside_password = match &update.icpside_password {
        None => current.icpside_password.clone(),
        Some(p) => blank_is_none(Some(p)),
    };
    note(
        "icpside_password",
        blank_is_none(icpside_password.as_ref()).map(|p| p.expose().to_owned())
            != blank_is_none(current.icpside_password.as_ref()).map(|p| p.expose().to_owned()),
    );

    let mac = match &update.mac {
        None => current.mac.clone(),
        Some(raw) => match raw.as_deref().filter(|m| !m.trim().is_empty()) {
            None => None,
            Some(raw) => {
                device::check_mac(conn, raw, Some(&current.setside_username), &mut problems)?
            }
        },
    };
    note("mac", mac != current.mac);

    let location = match &update.location {
        None => current.location.clone(),
        Some(l) => device::normalize_location(l.as_deref()),
    };
    note("location", location != current.location);

    Ok(match icp_id {
        Some(icp_id) if problems.is_empty() => Ok(Planned {
            id: current.id,
            enabled,
            description,
            icp_id,
            setside_password,
            icpside_username,
            icpside_password,
            mac,
            location,
            changed,
        }),
        _ => Err(problems),
    })
}

/// Writes a planned update.
pub(crate) fn apply(conn: &Connection, p: &Planned) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE devices SET enabled = ?1, description = ?2, icp_id = ?3, \
         setside_password = ?4, icpside_username = ?5, icpside_password = ?6, mac = ?7, \
         location = ?8 WHERE id = ?9",
    )?;
    stmt.execute(params![
        p.enabled,
        p.description,
        p.icp_id,
        p.setside_password.expose(),
        p.icpside_username,
        p.icpside_password.as_ref().map(Secret::expose),
        p.mac,
        p.location,
        p.id,
    ])?;
    Ok(())
}
