//! A consumer's permissions per web services resource, as the vendor's
//! consumer form has them (seed 003 step 1: `Base/managetoken =
//! Read/Write`, `MBG/v1/icps = Read`, `MBG/v1/devices = Read/Write`).
//! Written `base/managetoken=rw,mbg/v1/icps=r`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::service::ServiceError;

/// A resource of the web services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MslResource {
    /// `base/managetoken`: the OAuth flow itself (initiate, token).
    ManageToken,
    /// `mbg/v1/icps`.
    Icps,
    /// `mbg/v1/devices`.
    Devices,
    /// `mbg/v1/globaloptions`.
    GlobalOptions,
}

impl MslResource {
    /// Every resource.
    pub const ALL: [Self; 4] = [
        Self::ManageToken,
        Self::Icps,
        Self::Devices,
        Self::GlobalOptions,
    ];

    /// The name in permissions and URLs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ManageToken => "base/managetoken",
            Self::Icps => "mbg/v1/icps",
            Self::Devices => "mbg/v1/devices",
            Self::GlobalOptions => "mbg/v1/globaloptions",
        }
    }

    /// Whether the vendor offers write access to it.
    const fn writable(self) -> bool {
        matches!(self, Self::ManageToken | Self::Devices)
    }
}

/// Read, or read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MslAccess {
    /// `r`: GET only.
    Read,
    /// `rw`: every method.
    ReadWrite,
}

/// What a consumer may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WsPermissions(BTreeMap<MslResource, MslAccess>);

impl WsPermissions {
    /// Parses `resource=r|rw` items (comma-separated text or a list).
    ///
    /// # Errors
    /// 422 on `permissions` naming the item and what is allowed.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, ServiceError> {
        let mut map = BTreeMap::new();
        for item in items.into_iter().flat_map(|i| i.split(',')) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let bad = |why: &str| {
                let names: Vec<_> = MslResource::ALL.iter().map(|r| r.as_str()).collect();
                ServiceError::invalid(
                    "permissions",
                    format!(
                        "{item:?} {why}; write resource=r or resource=rw with a resource among {}",
                        names.join(", ")
                    ),
                )
            };
            let (name, level) = item.split_once('=').ok_or_else(|| bad("has no '='"))?;
            let resource = MslResource::ALL
                .into_iter()
                .find(|r| r.as_str().eq_ignore_ascii_case(name.trim()))
                .ok_or_else(|| bad("names no resource"))?;
            let access = match level.trim().to_ascii_lowercase().as_str() {
                "r" | "read" => MslAccess::Read,
                "rw" | "read/write" | "write" => MslAccess::ReadWrite,
                _ => return Err(bad("has an access other than r or rw")),
            };
            if access == MslAccess::ReadWrite && !resource.writable() {
                return Err(bad("cannot be written: the resource is read-only"));
            }
            map.insert(resource, access);
        }
        Ok(Self(map))
    }

    /// Whether `resource` may be read (`write` false) or changed.
    pub fn allows(&self, resource: MslResource, write: bool) -> bool {
        match self.0.get(&resource) {
            Some(MslAccess::ReadWrite) => true,
            Some(MslAccess::Read) => !write,
            None => false,
        }
    }

    /// The items, e.g. `["base/managetoken=rw", "mbg/v1/icps=r"]`.
    pub fn items(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(r, a)| {
                let level = match a {
                    MslAccess::Read => "r",
                    MslAccess::ReadWrite => "rw",
                };
                format!("{}={level}", r.as_str())
            })
            .collect()
    }

    /// The stored text.
    pub fn to_text(&self) -> String {
        self.items().join(",")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_seeds_consumer_parses_and_round_trips() {
        let p = WsPermissions::parse(["base/managetoken=rw,MBG/v1/icps=Read", "mbg/v1/devices=rw"])
            .unwrap();
        assert!(p.allows(MslResource::Devices, true));
        assert!(p.allows(MslResource::Icps, false));
        assert!(!p.allows(MslResource::Icps, true));
        assert!(!p.allows(MslResource::GlobalOptions, false));
        assert_eq!(WsPermissions::parse([p.to_text().as_str()]).unwrap(), p);
    }

    #[test]
    fn bad_items_name_the_field() {
        for bad in [
            "mbg/v1/icps=rw",
            "mbg/v1/phones=r",
            "mbg/v1/devices",
            "base/managetoken=x",
        ] {
            let err = WsPermissions::parse([bad]).unwrap_err();
            assert!(
                matches!(err, ServiceError::Invalid { ref field, .. } if field == "permissions"),
                "{bad}"
            );
        }
    }
}
