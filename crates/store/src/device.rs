//! Teleworker SIP devices (SPEC PRO-2).

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::audit::{self, AuditRecord};
use crate::icp::{default_icp, icp_by_name};
use outpost_provision::Mac;

use crate::{FieldProblem, Item, Secret, Store, StoreError, new_guid};

/// Longest accepted SIP username, in characters.
pub(crate) const MAX_USERNAME_CHARS: usize = 64;
/// Characters allowed in a SIP username besides ASCII letters and digits
/// (RFC 3261 §25.1 `unreserved` and `user-unreserved`, without escapes).
const USERNAME_MARKS: &str = "-_.!~*'()&=+$,;?/";

/// A teleworker SIP device to add.
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// Whether the device may register and call.
    pub enabled: bool,
    /// Free text for the operator.
    pub description: String,
    /// Name of the ICP the device is attached to; `None` means the default
    /// ICP at the time the device is added.
    pub icp: Option<String>,
    /// SIP username the phone authenticates with toward Outpost.
    pub setside_username: String,
    /// SIP password the phone authenticates with toward Outpost.
    pub setside_password: Secret,
    /// SIP username Outpost uses toward the ICP; blank means the set-side
    /// username.
    pub icpside_username: String,
    /// SIP password Outpost uses toward the ICP; `None` or blank means the
    /// set-side password.
    pub icpside_password: Option<Secret>,
    /// MAC address in any form [`Mac::parse`] accepts; `None` or blank
    /// for none.
    pub mac: Option<String>,
    /// Location (emergency-call group, PRO-11); `None` or blank for none.
    pub location: Option<String>,
}

impl NewDevice {
    /// An enabled device on the default ICP with only set-side credentials.
    pub fn new(setside_username: impl Into<String>, setside_password: Secret) -> Self {
        Self {
            enabled: true,
            description: String::new(),
            icp: None,
            setside_username: setside_username.into(),
            setside_password,
            icpside_username: String::new(),
            icpside_password: None,
            mac: None,
            location: None,
        }
    }
}

/// A stored teleworker SIP device.
///
/// The ICP-side credentials are kept as entered (blank stays blank); use
/// [`Device::effective_icpside_username`] and
/// [`Device::effective_icpside_password`] for the values to send.
#[derive(Debug, Clone)]
pub struct Device {
    /// Database id (stable, never reused).
    pub id: i64,
    /// Random 32-hex-digit identifier used by the vendor-compatible API.
    pub guid: String,
    /// Whether the device may register and call.
    pub enabled: bool,
    /// Free text for the operator.
    pub description: String,
    /// Name of the ICP the device is attached to.
    pub icp: String,
    /// SIP username toward Outpost (unique).
    pub setside_username: String,
    /// SIP password toward Outpost.
    pub setside_password: Secret,
    /// SIP username toward the ICP as entered; may be blank.
    pub icpside_username: String,
    /// SIP password toward the ICP as entered; may be `None` or blank.
    pub icpside_password: Option<Secret>,
    /// MAC address, 12 upper-case hex digits (unique).
    pub mac: Option<String>,
    /// Location (emergency-call group, PRO-11).
    pub location: Option<String>,
}

impl Device {
    /// The username to use toward the ICP: the ICP-side one, or the set-side
    /// one when that is blank (PRO-2).
    pub fn effective_icpside_username(&self) -> &str {
        if self.icpside_username.trim().is_empty() {
            &self.setside_username
        } else {
            &self.icpside_username
        }
    }

    /// The password to use toward the ICP: the ICP-side one, or the set-side
    /// one when that is absent or blank (PRO-2).
    pub fn effective_icpside_password(&self) -> &Secret {
        match &self.icpside_password {
            Some(p) if !p.is_blank() => p,
            _ => &self.setside_password,
        }
    }

    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            guid: row.get(1)?,
            enabled: row.get(2)?,
            description: row.get(3)?,
            icp: row.get(4)?,
            setside_username: row.get(5)?,
            setside_password: Secret::new(row.get(6)?),
            icpside_username: row.get(7)?,
            icpside_password: row.get::<_, Option<String>>(8)?.map(Secret::new),
            mac: row.get(9)?,
            location: row.get(10)?,
        })
    }
}

const DEVICE_SELECT: &str = "SELECT d.id, d.guid, d.enabled, d.description, i.name, \
     d.setside_username, d.setside_password, d.icpside_username, d.icpside_password, \
     d.mac, d.location FROM devices d JOIN icps i ON i.id = d.icp_id";

/// A device that passed validation, with the values to store.
pub(crate) struct Checked {
    pub(crate) icp_id: i64,
    pub(crate) mac: Option<String>,
    pub(crate) location: Option<String>,
}

impl Store {
    /// Adds a device after validating it; returns it as stored.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] listing every problem (bad or duplicate
    /// set-side username, empty password, unknown ICP or no default ICP,
    /// bad or duplicate MAC...); [`StoreError::Database`].
    pub fn add_device(&mut self, d: &NewDevice) -> Result<Device, StoreError> {
        self.add_device_audited(d, |_| None)
    }

    /// [`Store::add_device`], appending the audit entry `audit` builds from
    /// the stored device in the same transaction (none if it returns
    /// `None`).
    ///
    /// # Errors
    /// As [`Store::add_device`].
    pub fn add_device_audited(
        &mut self,
        d: &NewDevice,
        audit: impl FnOnce(&Device) -> Option<AuditRecord>,
    ) -> Result<Device, StoreError> {
        let guid = new_guid()?;
        let tx = self.write_txn()?;
        let checked = check(&tx, d)?.map_err(StoreError::Invalid)?;
        let id = insert(&tx, d, &checked, &guid)?;
        let stored = device_by_id(&tx, id)?;
        if let Some(record) = audit(&stored) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(stored)
    }

    /// All devices, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn devices(&self) -> Result<Vec<Device>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{DEVICE_SELECT} ORDER BY d.id"))?;
        let rows = stmt.query_map([], Device::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The device with this set-side username, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn device(&self, setside_username: &str) -> Result<Option<Device>, StoreError> {
        device_by_username(&self.conn, setside_username)
    }

    /// The device with this MAC (12 upper-case hex digits), if any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn device_by_mac(&self, mac: &str) -> Result<Option<Device>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{DEVICE_SELECT} WHERE d.mac = ?1"))?;
        Ok(stmt.query_row([mac], Device::from_row).optional()?)
    }

    /// Removes the device with this set-side username.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is none; [`StoreError::Database`].
    pub fn remove_device(&mut self, setside_username: &str) -> Result<(), StoreError> {
        self.remove_device_audited(setside_username, |_| None)
            .map(|_| ())
    }

    /// [`Store::remove_device`], appending the audit entry `audit` builds
    /// from the removed device in the same transaction; returns the removed
    /// device.
    ///
    /// # Errors
    /// As [`Store::remove_device`].
    pub fn remove_device_audited(
        &mut self,
        setside_username: &str,
        audit: impl FnOnce(&Device) -> Option<AuditRecord>,
    ) -> Result<Device, StoreError> {
        let tx = self.write_txn()?;
        let Some(device) = device_by_username(&tx, setside_username)? else {
            return Err(StoreError::NotFound {
                kind: Item::Device,
                name: setside_username.to_owned(),
            });
        };
        tx.execute("DELETE FROM devices WHERE id = ?1", [device.id])?;
        if let Some(record) = audit(&device) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(device)
    }
}

pub(crate) fn device_by_id(conn: &Connection, id: i64) -> Result<Device, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{DEVICE_SELECT} WHERE d.id = ?1"))?;
    Ok(stmt.query_row([id], Device::from_row)?)
}

/// The device with this set-side username, read through `conn` (inside a
/// transaction).
pub(crate) fn device_by_username(
    conn: &Connection,
    setside_username: &str,
) -> Result<Option<Device>, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("{DEVICE_SELECT} WHERE d.setside_username = ?1"))?;
    Ok(stmt
        .query_row([setside_username], Device::from_row)
        .optional()?)
}

/// Validates `d` against the rules and the rows already stored. The outer
/// error is a database failure; the inner one lists every problem with `d`.
pub(crate) fn check(
    conn: &Connection,
    d: &NewDevice,
) -> Result<Result<Checked, Vec<FieldProblem>>, StoreError> {
    let mut problems = Vec::new();

    if let Err(p) = check_username("setside_username", &d.setside_username, true) {
        problems.push(p);
    } else if username_taken(conn, &d.setside_username)? {
        problems.push(FieldProblem::with_value(
            "setside_username",
            &d.setside_username,
            "a device with this set-side username already exists; usernames must be unique \
             (to change a device, use `outpost devices update` or import with --mode update)",
        ));
    }
    if d.setside_password.is_blank() {
        problems.push(FieldProblem::without_value(
            "setside_password",
            "empty; every device needs a set-side password",
        ));
    }
    if !d.icpside_username.trim().is_empty() {
        if let Err(p) = check_username("icpside_username", &d.icpside_username, false) {
            problems.push(p);
        }
    }

    let icp_name = d.icp.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let icp = match icp_name {
        Some(name) => icp_id(conn, name, &mut problems)?,
        None => default_icp(conn)?.map(|icp| icp.id).or_else(|| {
            problems.push(FieldProblem::without_value(
                "icp",
                "not given and there is no default ICP; add one with `outpost icps add` \
                 or name the ICP",
            ));
            None
        }),
    };

    let mac = match d.mac.as_deref().filter(|m| !m.trim().is_empty()) {
        None => None,
        Some(raw) => check_mac(conn, raw, None, &mut problems)?,
    };
    let location = normalize_location(d.location.as_deref());

    Ok(match icp {
        Some(icp_id) if problems.is_empty() => Ok(Checked {
            icp_id,
            mac,
            location,
        }),
        _ => Err(problems),
    })
}

/// The id of the ICP named `name`; a problem on field `icp` when there is
/// none.
pub(crate) fn icp_id(
    conn: &Connection,
    name: &str,
    problems: &mut Vec<FieldProblem>,
) -> Result<Option<i64>, StoreError> {
    Ok(icp_by_name(conn, name)?.map(|icp| icp.id).or_else(|| {
        problems.push(FieldProblem::with_value(
            "icp",
            name,
            "no ICP has this name; list them with `outpost icps list`",
        ));
        None
    }))
}

/// Normalizes a non-blank MAC address and checks that no device other than
/// `owner` has it; problems go on field `mac`.
pub(crate) fn check_mac(
    conn: &Connection,
    raw: &str,
    owner: Option<&str>,
    problems: &mut Vec<FieldProblem>,
) -> Result<Option<String>, StoreError> {
    // Stored as `Mac`'s canonical form, 12 upper-case hex digits.
    let mac = match Mac::parse(raw) {
        Ok(mac) => mac.to_string(),
        Err(e) => {
            problems.push(FieldProblem::with_value("mac", raw, e.to_string()));
            return Ok(None);
        }
    };
    if let Some(other) = mac_owner(conn, &mac)?.filter(|o| Some(o.as_str()) != owner) {
        problems.push(FieldProblem::with_value(
            "mac",
            raw,
            format!(
                "MAC address {mac} is already used by device {other:?}; \
                 each MAC address belongs to one device"
            ),
        ));
    }
    Ok(Some(mac))
}

/// A location as stored: trimmed, `None` when blank.
pub(crate) fn normalize_location(location: Option<&str>) -> Option<String> {
    location
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Stores a checked device; returns its id.
pub(crate) fn insert(
    conn: &Connection,
    d: &NewDevice,
    c: &Checked,
    guid: &str,
) -> Result<i64, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO devices (guid, enabled, description, icp_id, setside_username, \
         setside_password, icpside_username, icpside_password, mac, location) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    stmt.execute(params![
        guid,
        d.enabled,
        d.description,
        c.icp_id,
        d.setside_username,
        d.setside_password.expose(),
        d.icpside_username,
        d.icpside_password.as_ref().map(Secret::expose),
        c.mac,
        c.location,
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Checks a SIP username: non-empty, at most [`MAX_USERNAME_CHARS`], only
/// letters, digits and [`USERNAME_MARKS`].
pub(crate) fn check_username(
    field: &'static str,
    value: &str,
    required: bool,
) -> Result<(), FieldProblem> {
    if value.is_empty() {
        let why = if required {
            "empty; every device needs a set-side username"
        } else {
            "empty"
        };
        return Err(FieldProblem::without_value(field, why));
    }
    if value.chars().count() > MAX_USERNAME_CHARS {
        return Err(FieldProblem::with_value(
            field,
            value,
            format!("too long; at most {MAX_USERNAME_CHARS} characters"),
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || USERNAME_MARKS.contains(*c)))
    {
        return Err(FieldProblem::with_value(
            field,
            value,
            format!(
                "character {c:?} is not allowed in a SIP username; use letters, digits \
                 and {USERNAME_MARKS}"
            ),
        ));
    }
    Ok(())
}

fn username_taken(conn: &Connection, username: &str) -> Result<bool, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM devices WHERE setside_username = ?1)")?;
    Ok(stmt.query_row([username], |r| r.get(0))?)
}

fn mac_owner(conn: &Connection, mac: &str) -> Result<Option<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT setside_username FROM devices WHERE mac = ?1")?;
    Ok(stmt.query_row([mac], |r| r.get(0)).optional()?)
}
