//! Listing devices with their live status: filtering, sorting and pages
//! (`GET /api/v1/devices`, `outpost devices list`).
//!
//! The whole list is read and then filtered, sorted and cut in memory: an
//! installation has at most some tens of thousands of devices, and the
//! status lives in its own table. Pages are cut by a cursor that holds the
//! sort key of the last device shown, so a device added or removed between
//! two pages neither repeats nor skips another; `offset` is there for
//! clients that want page numbers. Sorting compares text (`"4001"` before
//! `"999"`), then the set-side username, so the order is total.

use std::cmp::Ordering;
use std::collections::HashMap;

use outpost_store::{Device, DeviceStatusRecord, Store};
use serde::Serialize;
use utoipa::ToSchema;

use super::devices::{DeviceStatusView, DeviceView, state_word};
use super::input::store_error;
use super::{Access, Caller, Resource, Service, ServiceError};

/// Devices per page unless told otherwise.
pub const DEFAULT_DEVICE_LIMIT: u32 = 100;
/// The most devices one page holds.
pub const MAX_DEVICE_LIMIT: u32 = 500;

/// What `sort` may name.
pub const SORT_FIELDS: [&str; 8] = [
    "setside_username",
    "icpside_username",
    "icp",
    "enabled",
    "status",
    "mac",
    "location",
    "description",
];

/// The states `status` may filter on.
pub const STATUS_FILTERS: [&str; 6] = [
    "registered",
    "unregistered",
    "connected",
    "in-call",
    "off",
    "natted",
];

/// Which devices, in which order, which page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceQuery {
    /// Only devices with this text (case-insensitive) in the set-side or
    /// ICP-side username, the description, the MAC address or the location.
    pub q: Option<String>,
    /// Only devices on this ICP.
    pub icp: Option<String>,
    /// Only devices in this state (one of [`STATUS_FILTERS`]).
    pub status: Option<String>,
    /// Only enabled (`true`) or disabled (`false`) devices.
    pub enabled: Option<bool>,
    /// A field of [`SORT_FIELDS`], `-` in front for descending; default
    /// `setside_username`.
    pub sort: Option<String>,
    /// Page size, 1 to [`MAX_DEVICE_LIMIT`]; `None`: every device (the CLI).
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Skip this many devices (instead of a cursor).
    pub offset: Option<u64>,
}

/// A page of devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DevicePage {
    /// The devices, in the order asked for.
    pub items: Vec<DeviceView>,
    /// How many devices match the filters, over all pages.
    pub total: u64,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The parsed `sort`: field and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sort {
    field: &'static str,
    descending: bool,
}

impl Sort {
    fn parse(text: Option<&str>) -> Result<Self, ServiceError> {
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        let (descending, name) = match text {
            None => (false, "setside_username"),
            Some(t) => match t.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, t.strip_prefix('+').unwrap_or(t)),
            },
        };
        let field = SORT_FIELDS.iter().find(|f| **f == name).ok_or_else(|| {
            ServiceError::invalid(
                "sort",
                format!(
                    "{name:?} is not a sort field; use one of {} (with - in front for \
                         descending order)",
                    SORT_FIELDS.join(", ")
                ),
            )
        })?;
        Ok(Self { field, descending })
    }

    fn text(self) -> String {
        format!("{}{}", if self.descending { "-" } else { "" }, self.field)
    }

    /// The sort key of a device: the field as text, then the username.
    fn key(self, d: &Device, status: &DeviceStatusRecord) -> (String, String) {
        let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
        let value = match self.field {
            "icpside_username" => d.effective_icpside_username().to_owned(),
            "icp" => d.icp.clone(),
            "enabled" => flag(d.enabled),
            "status" => match state_word(status) {
                "off" => "0",
                "connected" => "1",
                "registered" => "2",
                _ => "3",
            }
            .to_owned(),
            "mac" => d.mac.clone().unwrap_or_default(),
            "location" => d.location.clone().unwrap_or_default(),
            "description" => d.description.clone(),
            _ => d.setside_username.clone(),
        };
        (value, d.setside_username.clone())
    }

    fn compare(self, a: &(String, String), b: &(String, String)) -> Ordering {
        let order = a.cmp(b);
        if self.descending {
            order.reverse()
        } else {
            order
        }
    }
}

/// A cursor: the sort it belongs to and the last key shown, as hex (so
/// that it travels in a URL unescaped and reads as opaque).
fn encode_cursor(sort: Sort, key: &(String, String)) -> String {
    hex::encode(format!("{}\n{}\n{}", sort.text(), key.0, key.1))
}

fn decode_cursor(sort: Sort, cursor: &str) -> Result<(String, String), ServiceError> {
    let bad = |why: &str| {
        ServiceError::invalid(
            "cursor",
            format!("{why}; pass the next_cursor of the previous page unchanged, or leave it out"),
        )
    };
    let bytes = hex::decode(cursor.trim()).map_err(|_| bad("not a cursor of this API"))?;
    let text = String::from_utf8(bytes).map_err(|_| bad("not a cursor of this API"))?;
    let mut parts = text.splitn(3, '\n');
    let (Some(sorted), Some(value), Some(username)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not a cursor of this API"));
    };
    if sorted != sort.text() {
        return Err(bad(&format!(
            "this cursor belongs to sort={sorted}, not sort={}",
            sort.text()
        )));
    }
    Ok((value.to_owned(), username.to_owned()))
}

fn matches(query: &DeviceQuery, d: &Device, s: &DeviceStatusRecord) -> bool {
    if let Some(icp) = query.icp.as_deref().filter(|i| !i.is_empty()) {
        if d.icp != icp {
            return false;
        }
    }
    if let Some(enabled) = query.enabled {
        if d.enabled != enabled {
            return false;
        }
    }
    let state_ok = match query.status.as_deref() {
        None | Some("") => true,
        Some("registered") => s.registered,
        Some("unregistered") => !s.registered,
        Some("connected") => s.connected,
        Some("in-call") => s.in_call,
        Some("natted") => s.natted,
        Some(_) => state_word(s) == "off",
    };
    if !state_ok {
        return false;
    }
    match query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        None => true,
        Some(q) => {
            let q = q.to_lowercase();
            [
                Some(d.setside_username.as_str()),
                Some(d.icpside_username.as_str()),
                Some(d.description.as_str()),
                d.mac.as_deref(),
                d.location.as_deref(),
            ]
            .into_iter()
            .flatten()
            .any(|field| field.to_lowercase().contains(&q))
                // A MAC may be searched for in any of its spellings.
                || d.mac.as_deref().is_some_and(|mac| {
                    let bare: String = q.chars().filter(char::is_ascii_hexdigit).collect();
                    bare.len() >= 2 && mac.to_lowercase().contains(&bare)
                })
        }
    }
}

fn check(query: &DeviceQuery) -> Result<Sort, ServiceError> {
    if let Some(limit) = query.limit {
        if !(1..=MAX_DEVICE_LIMIT).contains(&limit) {
            return Err(ServiceError::invalid(
                "limit",
                format!("{limit} is out of range; give 1 to {MAX_DEVICE_LIMIT}"),
            ));
        }
    }
    if query.cursor.is_some() && query.offset.is_some() {
        return Err(ServiceError::invalid(
            "offset",
            "give either cursor or offset, not both",
        ));
    }
    if let Some(status) = query.status.as_deref().filter(|s| !s.is_empty()) {
        if !STATUS_FILTERS.contains(&status) {
            return Err(ServiceError::invalid(
                "status",
                format!(
                    "{status:?} is not a state; use one of {}",
                    STATUS_FILTERS.join(", ")
                ),
            ));
        }
    }
    Sort::parse(query.sort.as_deref())
}

/// The devices `query` asks for, with their live status.
///
/// # Errors
/// 403 without read access to `devices`; 422 naming a bad `limit`,
/// `sort`, `status`, `cursor` or `offset`.
pub fn list(
    store: &Store,
    caller: &Caller,
    query: &DeviceQuery,
) -> Result<DevicePage, ServiceError> {
    caller.require(Resource::Devices, Access::Read)?;
    let sort = check(query)?;
    let after = query
        .cursor
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(|c| decode_cursor(sort, c))
        .transpose()?;
    let mut statuses: HashMap<String, DeviceStatusRecord> = store
        .device_statuses()
        .map_err(store_error)?
        .into_iter()
        .map(|s| (s.setside_username.clone(), s))
        .collect();
    let never_seen = DeviceStatusRecord::default();
    let mut rows: Vec<((String, String), Device)> = store
        .devices()
        .map_err(store_error)?
        .into_iter()
        .filter(|d| {
            matches(
                query,
                d,
                statuses.get(&d.setside_username).unwrap_or(&never_seen),
            )
        })
        .map(|d| {
            let key = sort.key(&d, statuses.get(&d.setside_username).unwrap_or(&never_seen));
            (key, d)
        })
        .collect();
    rows.sort_by(|a, b| sort.compare(&a.0, &b.0));
    let total = rows.len() as u64;
    let start = match (&after, query.offset) {
        (Some(key), _) => rows.partition_point(|(k, _)| sort.compare(k, key) != Ordering::Greater),
        (None, Some(offset)) => usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(rows.len()),
        (None, None) => 0,
    };
    let limit = query
        .limit
        .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let end = start.saturating_add(limit).min(rows.len());
    let next_cursor = if end < rows.len() && end > start {
        rows.get(end - 1).map(|(key, _)| encode_cursor(sort, key))
    } else {
        None
    };
    let items = rows
        .drain(start..end)
        .map(|(_, d)| {
            let status = statuses.remove(&d.setside_username);
            DeviceView::new(&d, Some(DeviceStatusView::from_record(status.as_ref())))
        })
        .collect();
    Ok(DevicePage {
        items,
        total,
        next_cursor,
    })
}

impl Service {
    /// [`list`] over the service's store.
    ///
    /// # Errors
    /// As [`list`].
    pub fn list_devices(
        &self,
        caller: &Caller,
        query: &DeviceQuery,
    ) -> Result<DevicePage, ServiceError> {
        self.with_store(|s| list(s, caller, query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_parses_direction_and_refuses_unknown_fields() {
        let s = Sort::parse(Some("-icp")).unwrap();
        assert!(s.descending && s.field == "icp");
        assert_eq!(Sort::parse(None).unwrap().field, "setside_username");
        let err = Sort::parse(Some("password")).unwrap_err();
        assert_eq!(err.field(), Some("sort"));
    }

    #[test]
    fn a_cursor_round_trips_and_belongs_to_its_sort() {
        let sort = Sort::parse(Some("-mac")).unwrap();
        let key = ("00085D842061".to_owned(), "4001".to_owned());
        let cursor = encode_cursor(sort, &key);
        assert_eq!(decode_cursor(sort, &cursor).unwrap(), key);
        let other = Sort::parse(Some("mac")).unwrap();
        assert_eq!(
            decode_cursor(other, &cursor).unwrap_err().field(),
            Some("cursor")
        );
        assert!(decode_cursor(sort, "zz").is_err());
    }
}
