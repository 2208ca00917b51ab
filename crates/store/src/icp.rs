//! ICPs: the iPBX call servers devices are attached to (SPEC PRO-1).

use std::net::IpAddr;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::audit::{self, AuditRecord};
use crate::{FieldProblem, Item, Store, StoreError, new_guid};

/// Longest accepted ICP name, in characters.
const MAX_NAME_CHARS: usize = 64;
/// Longest accepted ICP type, in characters.
const MAX_KIND_CHARS: usize = 32;
/// XML destination ports the iPBX listens on (PRO-1).
const XML_DESTINATION_PORTS: [u16; 2] = [4443, 4445];

/// An ICP to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIcp {
    /// Unique name, referred to by devices.
    pub name: String,
    /// Host name or IP address of the ICP (IPv6 without brackets).
    pub host: String,
    /// ICP type, e.g. `mivoice-5000`; `generic` by default.
    pub kind: String,
    /// The ICP accepts SIP over UDP.
    pub sip_udp: bool,
    /// The ICP accepts SIP over TCP.
    pub sip_tcp: bool,
    /// The ICP accepts SIP over TLS.
    pub sip_tls: bool,
    /// Devices added without an ICP go to this one. Adding a default ICP
    /// makes the others non-default.
    pub is_default: bool,
    /// XML (TLS) port Outpost listens on, public side; 4445 by default.
    pub xml_listen_port: u16,
    /// XML (TLS) port on the iPBX: 4443 (the default) or 4445.
    pub xml_destination_port: u16,
    /// SIP port on the ICP; `None`: found by DNS SRV for a host name, else
    /// the transport's default (5060, 5061 for TLS).
    pub sip_port: Option<u16>,
    /// PEM file of the CA(s) the ICP's TLS certificate is checked with;
    /// `None`: `[ipbx] ca_file`, else the system's roots.
    pub ca_file: Option<String>,
}

impl NewIcp {
    /// An ICP with the defaults: type `generic`, SIP over TLS only, not the
    /// default ICP (unless it is the first), XML ports 4445 (listen) and
    /// 4443 (destination).
    pub fn new(name: impl Into<String>, host: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            host: host.into(),
            kind: "generic".to_owned(),
            sip_udp: false,
            sip_tcp: false,
            sip_tls: true,
            is_default: false,
            xml_listen_port: 4445,
            xml_destination_port: 4443,
            sip_port: None,
            ca_file: None,
        }
    }
}

/// A stored ICP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icp {
    /// Database id (stable, never reused).
    pub id: i64,
    /// Random 32-hex-digit identifier used by the vendor-compatible API.
    pub guid: String,
    /// Unique name.
    pub name: String,
    /// Host name or IP address.
    pub host: String,
    /// ICP type.
    pub kind: String,
    /// SIP over UDP.
    pub sip_udp: bool,
    /// SIP over TCP.
    pub sip_tcp: bool,
    /// SIP over TLS.
    pub sip_tls: bool,
    /// The default ICP for devices added without one (at most one is).
    pub is_default: bool,
    /// XML listen port, public side.
    pub xml_listen_port: u16,
    /// XML destination port on the iPBX.
    pub xml_destination_port: u16,
    /// SIP port on the ICP, when set.
    pub sip_port: Option<u16>,
    /// CA file for the ICP's TLS certificate, when set.
    pub ca_file: Option<String>,
}

pub(crate) const ICP_COLUMNS: &str = "id, guid, name, host, kind, sip_udp, sip_tcp, sip_tls, is_default, \
                           xml_listen_port, xml_destination_port, sip_port, ca_file";

impl Icp {
    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            guid: row.get(1)?,
            name: row.get(2)?,
            host: row.get(3)?,
            kind: row.get(4)?,
            sip_udp: row.get(5)?,
            sip_tcp: row.get(6)?,
            sip_tls: row.get(7)?,
            is_default: row.get(8)?,
            xml_listen_port: row.get(9)?,
            xml_destination_port: row.get(10)?,
            sip_port: row.get(11)?,
            ca_file: row.get(12)?,
        })
    }
}

impl Store {
    /// Adds an ICP after validating it; returns it as stored.
    ///
    /// If no ICP is the default yet (e.g. this is the first), the new one
    /// becomes the default. If `is_default` is set, the others stop being
    /// the default in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] listing every problem (empty or malformed
    /// name/host/type, port 0, XML destination port other than 4443/4445,
    /// no SIP transport, name already used); [`StoreError::Database`].
    pub fn add_icp(&mut self, icp: &NewIcp) -> Result<Icp, StoreError> {
        self.add_icp_audited(icp, |_| None)
    }

    /// [`Store::add_icp`], appending the audit entry `audit` builds from
    /// the stored ICP in the same transaction (none if it returns `None`).
    ///
    /// # Errors
    /// As [`Store::add_icp`]; [`StoreError::Invalid`] for a bad audit
    /// entry (nothing is written).
    pub fn add_icp_audited(
        &mut self,
        icp: &NewIcp,
        audit: impl FnOnce(&Icp) -> Option<AuditRecord>,
    ) -> Result<Icp, StoreError> {
        let guid = new_guid()?;
        let tx = self.write_txn()?;
        let mut problems = validate(icp);
        if !icp.name.trim().is_empty() && icp_by_name(&tx, icp.name.trim())?.is_some() {
            problems.push(FieldProblem::with_value(
                "name",
                &icp.name,
                "an ICP with this name already exists; choose another name",
            ));
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems));
        }
        let has_default: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM icps WHERE is_default = 1)",
            [],
            |r| r.get(0),
        )?;
        let is_default = icp.is_default || !has_default;
        if is_default {
            tx.execute("UPDATE icps SET is_default = 0 WHERE is_default = 1", [])?;
        }
        tx.execute(
            "INSERT INTO icps (guid, name, host, kind, sip_udp, sip_tcp, sip_tls, is_default, \
             xml_listen_port, xml_destination_port, sip_port, ca_file) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                guid,
                icp.name.trim(),
                normalize_host(&icp.host),
                icp.kind.trim(),
                icp.sip_udp,
                icp.sip_tcp,
                icp.sip_tls,
                is_default,
                icp.xml_listen_port,
                icp.xml_destination_port,
                icp.sip_port,
                icp.ca_file
                    .as_deref()
                    .map(str::trim)
                    .filter(|f| !f.is_empty()),
            ],
        )?;
        let id = tx.last_insert_rowid();
        let stored = tx.query_row(
            &format!("SELECT {ICP_COLUMNS} FROM icps WHERE id = ?1"),
            [id],
            Icp::from_row,
        )?;
        if let Some(record) = audit(&stored) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(stored)
    }

    /// All ICPs, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn icps(&self) -> Result<Vec<Icp>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {ICP_COLUMNS} FROM icps ORDER BY id"))?;
        let rows = stmt.query_map([], Icp::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A number that changes whenever a device or an ICP is added, changed
    /// or removed, by anyone (kept by triggers): a running server polls it
    /// to reload its in-memory directory.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn directory_revision(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT revision FROM directory_revision WHERE id = 1",
            [],
            |r| r.get(0),
        )?)
    }

    /// The ICP with this name, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn icp(&self, name: &str) -> Result<Option<Icp>, StoreError> {
        icp_by_name(&self.conn, name)
    }

    /// Removes the ICP with this name.
    ///
    /// Removing the default ICP leaves no default until another ICP is added
    /// (the next one added becomes the default).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is no such ICP;
    /// [`StoreError::IcpInUse`] if devices are configured on it;
    /// [`StoreError::Database`].
    pub fn remove_icp(&mut self, name: &str) -> Result<(), StoreError> {
        self.remove_icp_audited(name, |_| None).map(|_| ())
    }

    /// [`Store::remove_icp`], appending the audit entry `audit` builds from
    /// the removed ICP in the same transaction; returns the removed ICP.
    ///
    /// # Errors
    /// As [`Store::remove_icp`].
    pub fn remove_icp_audited(
        &mut self,
        name: &str,
        audit: impl FnOnce(&Icp) -> Option<AuditRecord>,
    ) -> Result<Icp, StoreError> {
        let tx = self.write_txn()?;
        let Some(icp) = icp_by_name(&tx, name)? else {
            return Err(StoreError::NotFound {
                kind: Item::Icp,
                name: name.to_owned(),
            });
        };
        let devices: i64 = tx.query_row(
            "SELECT count(*) FROM devices WHERE icp_id = ?1",
            [icp.id],
            |r| r.get(0),
        )?;
        if devices > 0 {
            return Err(StoreError::IcpInUse {
                name: icp.name,
                devices: usize::try_from(devices).unwrap_or(usize::MAX),
            });
        }
        tx.execute("DELETE FROM icps WHERE id = ?1", [icp.id])?;
        if let Some(record) = audit(&icp) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(icp)
    }
}

pub(crate) fn icp_by_name(conn: &Connection, name: &str) -> Result<Option<Icp>, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {ICP_COLUMNS} FROM icps WHERE name = ?1"))?;
    Ok(stmt.query_row([name], Icp::from_row).optional()?)
}

pub(crate) fn default_icp(conn: &Connection) -> Result<Option<Icp>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ICP_COLUMNS} FROM icps WHERE is_default = 1"
    ))?;
    Ok(stmt.query_row([], Icp::from_row).optional()?)
}

/// Checks everything that does not need the database.
pub(crate) fn validate(icp: &NewIcp) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    let name = icp.name.trim();
    if name.is_empty() {
        problems.push(FieldProblem::without_value(
            "name",
            "empty; every ICP needs a name (devices refer to it)",
        ));
    } else if name.chars().count() > MAX_NAME_CHARS {
        problems.push(FieldProblem::with_value(
            "name",
            &icp.name,
            format!("too long; at most {MAX_NAME_CHARS} characters"),
        ));
    } else if name.chars().any(char::is_control) {
        problems.push(FieldProblem::with_value(
            "name",
            &icp.name,
            "contains a control character; use printable characters",
        ));
    }
    if let Err(why) = check_host(&icp.host) {
        let p = if icp.host.trim().is_empty() {
            FieldProblem::without_value("host", why)
        } else {
            FieldProblem::with_value("host", &icp.host, why)
        };
        problems.push(p);
    }
    let kind = icp.kind.trim();
    if kind.is_empty() {
        problems.push(FieldProblem::without_value(
            "kind",
            "empty; give the ICP type, e.g. \"generic\" or \"mivoice-5000\"",
        ));
    } else if kind.chars().count() > MAX_KIND_CHARS
        || !kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        problems.push(FieldProblem::with_value(
            "kind",
            &icp.kind,
            format!(
                "not a valid ICP type; use at most {MAX_KIND_CHARS} letters, digits, '-', '_' \
                 or '.', e.g. \"generic\" or \"mivoice-5000\""
            ),
        ));
    }
    if !(icp.sip_udp || icp.sip_tcp || icp.sip_tls) {
        problems.push(FieldProblem::with_value(
            "sip_udp/sip_tcp/sip_tls",
            "false/false/false",
            "no SIP transport enabled; enable at least one of UDP, TCP or TLS",
        ));
    }
    if icp.xml_listen_port == 0 {
        problems.push(FieldProblem::with_value(
            "xml_listen_port",
            "0",
            "port 0 is not usable; use a port from 1 to 65535 (default 4445)",
        ));
    }
    if icp.sip_port == Some(0) {
        problems.push(FieldProblem::with_value(
            "sip_port",
            "0",
            "port 0 is not usable; use a port from 1 to 65535, or leave it out (DNS SRV or the transport's default)",
        ));
    }
    if let Some(file) = icp
        .ca_file
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        if !std::path::Path::new(file).is_absolute() {
            problems.push(FieldProblem::with_value(
                "ca_file",
                file,
                "give an absolute path: the server may run from another directory",
            ));
        }
    }
    if !XML_DESTINATION_PORTS.contains(&icp.xml_destination_port) {
        problems.push(FieldProblem::with_value(
            "xml_destination_port",
            icp.xml_destination_port.to_string(),
            "the iPBX listens for XML on 4443 or 4445 only",
        ));
    }
    problems
}

/// Accepts an IPv4 address, an IPv6 address (bracketed or not) or a DNS
/// host name (RFC 1123 labels: letters, digits, inner '-').
fn check_host(host: &str) -> Result<(), String> {
    const ALLOWED: &str = "use a host name (letters, digits, '-' and '.') or an IPv4/IPv6 address, e.g. \
         pbx.example.com or 192.0.2.10";
    let h = host.trim();
    if h.is_empty() {
        return Err(format!("empty; {ALLOWED}"));
    }
    let unbracketed = h
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(h);
    if unbracketed.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if let Some(c) = h
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(format!("character {c:?} is not allowed; {ALLOWED}"));
    }
    let name = h.strip_suffix('.').unwrap_or(h);
    if name.len() > 253 {
        return Err(format!("longer than 253 characters; {ALLOWED}"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!(
                "has an empty label or one longer than 63 characters; {ALLOWED}"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "label {label:?} starts or ends with '-'; {ALLOWED}"
            ));
        }
    }
    Ok(())
}

/// Stores IPv6 addresses without brackets, everything else trimmed.
pub(crate) fn normalize_host(host: &str) -> &str {
    let h = host.trim();
    h.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .filter(|r| r.parse::<IpAddr>().is_ok())
        .unwrap_or(h)
}
