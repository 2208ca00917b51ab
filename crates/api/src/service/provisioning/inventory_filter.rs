//! Filters of the inventory (PRO-8) for its list and its CSV export alike:
//! a MAC substring (any form: separators and case ignored), the model, the
//! device registered or not, the last download before or after a time.
//! The inventory has one row per phone (a few thousand at most), so the
//! filter runs over the joined rows in memory.

use serde::Deserialize;
use utoipa::IntoParams;

use super::super::{Caller, Service, ServiceError};
use super::{InventoryView, when};

/// `GET /api/v1/provisioning/inventory?...` and `.../inventory/export?...`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InventoryQuery {
    /// Part of the MAC, any form (`74:29`, `5d2374`).
    pub mac: Option<String>,
    /// The model, e.g. `6867i` (case-insensitive).
    pub model: Option<String>,
    /// `yes`/`true`: only phones whose device is registered; `no`/`false`:
    /// only the others.
    pub registered: Option<String>,
    /// Only phones whose last download is before this time (Unix seconds
    /// or RFC 3339).
    pub before: Option<String>,
    /// Only phones whose last download is at or after this time.
    pub after: Option<String>,
}

/// A checked [`InventoryQuery`].
struct Filter {
    mac: Option<String>,
    model: Option<String>,
    registered: Option<bool>,
    before: Option<i64>,
    after: Option<i64>,
}

fn time(field: &str, text: &str) -> Result<i64, ServiceError> {
    let text = text.trim();
    text.parse::<i64>()
        .or_else(|_| when::rfc3339(text))
        .map_err(|e| ServiceError::invalid(field, format!("{text:?}: Unix seconds, or {e}")))
}

impl InventoryQuery {
    fn check(&self) -> Result<Filter, ServiceError> {
        let mac = match &self.mac {
            Some(m) => {
                let hex: String = m
                    .chars()
                    .filter(|c| !matches!(c, ':' | '-' | '.'))
                    .map(|c| c.to_ascii_uppercase())
                    .collect();
                if hex.is_empty() || hex.len() > 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(ServiceError::invalid(
                        "mac",
                        format!("{m:?}: give up to 12 hex digits of a MAC (separators allowed)"),
                    ));
                }
                Some(hex)
            }
            None => None,
        };
        let registered = match self.registered.as_deref().map(str::trim) {
            None => None,
            Some("yes" | "true") => Some(true),
            Some("no" | "false") => Some(false),
            Some(other) => {
                return Err(ServiceError::invalid(
                    "registered",
                    format!("{other:?}: give yes or no"),
                ));
            }
        };
        Ok(Filter {
            mac,
            model: self.model.as_ref().map(|m| m.trim().to_ascii_lowercase()),
            registered,
            before: self
                .before
                .as_deref()
                .map(|t| time("before", t))
                .transpose()?,
            after: self
                .after
                .as_deref()
                .map(|t| time("after", t))
                .transpose()?,
        })
    }
}

impl Filter {
    fn keeps(&self, row: &InventoryView) -> bool {
        self.mac.as_deref().is_none_or(|m| row.mac.contains(m))
            && self.model.as_deref().is_none_or(|m| {
                row.model
                    .as_deref()
                    .is_some_and(|have| have.eq_ignore_ascii_case(m))
            })
            && self.registered.is_none_or(|r| row.registered == r)
            && self.before.is_none_or(|t| row.last_download < t)
            && self.after.is_none_or(|t| row.last_download >= t)
    }
}

impl Service {
    /// The inventory rows `query` keeps, by MAC.
    ///
    /// # Errors
    /// 403 without read access to `provisioning`; 422 naming a bad filter.
    pub fn inventory_filtered(
        &self,
        caller: &Caller,
        query: &InventoryQuery,
    ) -> Result<Vec<InventoryView>, ServiceError> {
        let filter = query.check()?;
        let mut rows = self.inventory(caller)?;
        rows.retain(|r| filter.keeps(r));
        Ok(rows)
    }

    /// [`Service::inventory_filtered`] as CSV (the export's columns).
    ///
    /// # Errors
    /// As [`Service::inventory_filtered`].
    pub fn inventory_csv_filtered(
        &self,
        caller: &Caller,
        query: &InventoryQuery,
    ) -> Result<String, ServiceError> {
        super::inventory_rows_csv(&self.inventory_filtered(caller, query)?)
    }
}
