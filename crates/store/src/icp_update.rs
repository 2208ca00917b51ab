//! Changing a stored ICP (SPEC PRO-1): any subset of its fields, checked
//! with the rules of a new ICP, in one transaction.
//!
//! The name is the ICP's key and is not changed here. Devices refer to
//! their ICP by id, so they follow every change; a running server picks
//! the change up through [`Store::directory_revision`].

use rusqlite::params;

use crate::audit::{self, AuditRecord};
use crate::icp::{self, ICP_COLUMNS, Icp, NewIcp, icp_by_name};
use crate::{FieldProblem, Item, Store, StoreError};

/// What to change in an ICP; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IcpUpdate {
    /// New host name or IP address.
    pub host: Option<String>,
    /// New ICP type.
    pub kind: Option<String>,
    /// SIP over UDP on or off.
    pub sip_udp: Option<bool>,
    /// SIP over TCP on or off.
    pub sip_tcp: Option<bool>,
    /// SIP over TLS on or off.
    pub sip_tls: Option<bool>,
    /// `Some(true)` makes this the default ICP (the others stop being
    /// it); `Some(false)` is refused on the default ICP, which stops being
    /// the default only when another one becomes it.
    pub is_default: Option<bool>,
    /// New XML listen port.
    pub xml_listen_port: Option<u16>,
    /// New XML destination port (4443 or 4445).
    pub xml_destination_port: Option<u16>,
    /// New SIP port; `Some(None)` removes it (DNS SRV or the transport's
    /// default again).
    pub sip_port: Option<Option<u16>>,
    /// New CA file (absolute path); `Some(None)` removes it.
    pub ca_file: Option<Option<String>>,
}

/// The outcome of [`Store::update_icp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcpUpdated {
    /// The ICP as stored after the update.
    pub icp: Icp,
    /// The fields whose value changed (`host`, `kind`, `sip_udp`,
    /// `sip_tcp`, `sip_tls`, `is_default`, `xml_listen_port`,
    /// `xml_destination_port`, `sip_port`, `ca_file`); empty when the
    /// values given were the current ones.
    pub changed: Vec<&'static str>,
}

impl Store {
    /// Changes the fields `update` gives of the ICP named `name`, after
    /// checking the result like [`Store::add_icp`] does.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if no ICP has this name;
    /// [`StoreError::Invalid`] listing every problem (nothing is written);
    /// [`StoreError::Database`].
    pub fn update_icp(&mut self, name: &str, update: &IcpUpdate) -> Result<IcpUpdated, StoreError> {
        self.update_icp_audited(name, update, |_, _| None)
    }

    /// [`Store::update_icp`], appending the audit entry `audit` builds from
    /// the ICP before and after in the same transaction (none if it returns
    /// `None`, e.g. when nothing changed).
    ///
    /// # Errors
    /// As [`Store::update_icp`].
    pub fn update_icp_audited(
        &mut self,
        name: &str,
        update: &IcpUpdate,
        audit: impl FnOnce(&Icp, &IcpUpdated) -> Option<AuditRecord>,
    ) -> Result<IcpUpdated, StoreError> {
        let tx = self.write_txn()?;
        let current = icp_by_name(&tx, name)?.ok_or_else(|| StoreError::NotFound {
            kind: Item::Icp,
            name: name.to_owned(),
        })?;
        let merged = merge(&current, update);
        let mut problems = icp::validate(&merged);
        if update.is_default == Some(false) && current.is_default {
            problems.push(FieldProblem::with_value(
                "is_default",
                "false",
                "this is the default ICP; make another ICP the default instead (set \
                 is_default on it)",
            ));
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems));
        }
        let host = icp::normalize_host(&merged.host).to_owned();
        let ca_file = merged
            .ca_file
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned);
        let kind = merged.kind.trim().to_owned();
        let mut changed = Vec::new();
        let mut note = |field: &'static str, differs: bool| {
            if differs {
                changed.push(field);
            }
        };
        note("host", host != current.host);
        note("kind", kind != current.kind);
        note("sip_udp", merged.sip_udp != current.sip_udp);
        note("sip_tcp", merged.sip_tcp != current.sip_tcp);
        note("sip_tls", merged.sip_tls != current.sip_tls);
        note("is_default", merged.is_default != current.is_default);
        note(
            "xml_listen_port",
            merged.xml_listen_port != current.xml_listen_port,
        );
        note(
            "xml_destination_port",
            merged.xml_destination_port != current.xml_destination_port,
        );
        note("sip_port", merged.sip_port != current.sip_port);
        note("ca_file", ca_file != current.ca_file);
        if !changed.is_empty() {
            if merged.is_default && !current.is_default {
                tx.execute("UPDATE icps SET is_default = 0 WHERE is_default = 1", [])?;
            }
            tx.execute(
                "UPDATE icps SET host = ?1, kind = ?2, sip_udp = ?3, sip_tcp = ?4, \
                 sip_tls = ?5, is_default = ?6, xml_listen_port = ?7, \
                 xml_destination_port = ?8, sip_port = ?9, ca_file = ?10 WHERE id = ?11",
                params![
                    host,
                    kind,
                    merged.sip_udp,
                    merged.sip_tcp,
                    merged.sip_tls,
                    merged.is_default,
                    merged.xml_listen_port,
                    merged.xml_destination_port,
                    merged.sip_port,
                    ca_file,
                    current.id,
                ],
            )?;
        }
        let icp = tx.query_row(
            &format!("SELECT {ICP_COLUMNS} FROM icps WHERE id = ?1"),
            [current.id],
            Icp::from_row,
        )?;
        let updated = IcpUpdated { icp, changed };
        if let Some(record) = audit(&current, &updated) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(updated)
    }
}

/// The ICP `current` would become with `update`, as a [`NewIcp`] to check.
fn merge(current: &Icp, update: &IcpUpdate) -> NewIcp {
    NewIcp {
        name: current.name.clone(),
        host: update.host.clone().unwrap_or_else(|| current.host.clone()),
        kind: update.kind.clone().unwrap_or_else(|| current.kind.clone()),
        sip_udp: update.sip_udp.unwrap_or(current.sip_udp),
        sip_tcp: update.sip_tcp.unwrap_or(current.sip_tcp),
        sip_tls: update.sip_tls.unwrap_or(current.sip_tls),
        is_default: update.is_default.unwrap_or(current.is_default),
        xml_listen_port: update.xml_listen_port.unwrap_or(current.xml_listen_port),
        xml_destination_port: update
            .xml_destination_port
            .unwrap_or(current.xml_destination_port),
        sip_port: update.sip_port.unwrap_or(current.sip_port),
        ca_file: update
            .ca_file
            .clone()
            .unwrap_or_else(|| current.ca_file.clone()),
    }
}
