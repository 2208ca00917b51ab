//! The audit log (`/ui/audit`): newest first, filtered by actor, action
//! (one, or a family ending in a dot such as `certificate.`) and time
//! range, paged with the service's cursor ([`Service::audit`], the query
//! of `GET /api/v1/audit`). Each entry's before and after documents
//! (secrets already redacted by the service) are shown on demand.
//!
//! The filter is a `GET` form, so a filtered page has an address of its
//! own; times are UTC, typed as `YYYY-MM-DDTHH:MM` (what a
//! `datetime-local` input sends) or as Unix seconds.
//!
//! [`Service::audit`]: crate::Service::audit

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;

use super::auth::UiSession;
use super::forms::FormState;
use super::{Chrome, UiState, render, service_error_page, when};
use crate::service::{AuditEntryView, AuditQuery, ServiceError};

/// The page.
pub const PATH: &str = "/ui/audit";
/// Entries per page.
pub const PAGE_SIZE: u32 = 50;

/// The routes of the page, merged into the UI's router.
pub fn routes() -> Router<UiState> {
    Router::new().route(PATH, get(page))
}

/// The filter as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Actor (`account:alice`, `alice`, `token:<id>`, `cli:root`).
    pub actor: String,
    /// Action or family (`certificate.`).
    pub action: String,
    /// From, as typed.
    pub since: String,
    /// Until, as typed.
    pub until: String,
    /// The page's cursor: only entries older than this id.
    pub cursor: Option<i64>,
}

impl Filter {
    /// From a query string.
    pub fn from_query(query: Option<&str>) -> Self {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
        let find = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        Self {
            actor: find("actor"),
            action: find("action"),
            since: find("since"),
            until: find("until"),
            cursor: find("cursor").parse().ok(),
        }
    }

    /// The address of this filter's page at `cursor` (`None`: newest).
    pub fn url(&self, cursor: Option<i64>) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (k, v) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if !v.is_empty() {
                pairs.push((k, v.clone()));
            }
        }
        if let Some(c) = cursor {
            pairs.push(("cursor", c.to_string()));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() {
            PATH.to_owned()
        } else {
            format!("{PATH}?{query}")
        }
    }

    /// Whether anything is filtered.
    pub fn any(&self) -> bool {
        !(self.actor.is_empty()
            && self.action.is_empty()
            && self.since.is_empty()
            && self.until.is_empty())
    }

    fn query(&self) -> Result<AuditQuery, ServiceError> {
        Ok(AuditQuery {
            actor: Some(self.actor.clone()).filter(|s| !s.is_empty()),
            action: Some(self.action.clone()).filter(|s| !s.is_empty()),
            since: parse_time("since", &self.since)?,
            until: parse_time("until", &self.until)?.map(|t| {
                // A minute typed includes its seconds.
                if self.until.len() == 16 { t + 59 } else { t }
            }),
            limit: Some(PAGE_SIZE),
            cursor: self.cursor,
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A UTC time typed as `YYYY-MM-DDTHH:MM[:SS]` (or with a space), a date
/// `YYYY-MM-DD`, or Unix seconds; `None` when empty.
///
/// # Errors
/// 422 naming `field`.
pub fn parse_time(field: &str, text: &str) -> Result<Option<i64>, ServiceError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(Some(secs));
    }
    let bad = || {
        ServiceError::invalid(
            field,
            format!("{text:?} is not a time; write it as 2026-12-07T14:30 (UTC) or 2026-12-07"),
        )
    };
    let (date, time) = text
        .split_once(['T', ' '])
        .map_or((text, ""), |(d, t)| (d, t));
    let num = |s: &str, digits: usize, range: std::ops::RangeInclusive<i64>| {
        (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
            .filter(|n| range.contains(n))
    };
    let mut d = date.split('-');
    let (Some(y), Some(m), Some(day), None) = (d.next(), d.next(), d.next(), d.next()) else {
        return Err(bad());
    };
    let y = num(y, 4, 1970..=9999).ok_or_else(bad)?;
    let m = num(m, 2, 1..=12).ok_or_else(bad)?;
    let day = num(day, 2, 1..=31).ok_or_else(bad)?;
    let mut secs = 0;
    if !time.is_empty() {
        let mut t = time.split(':');
        let h = t.next().and_then(|h| num(h, 2, 0..=23)).ok_or_else(bad)?;
        let min = t.next().and_then(|m| num(m, 2, 0..=59)).ok_or_else(bad)?;
        let s = match t.next() {
            None => 0,
            Some(s) => num(s, 2, 0..=59).ok_or_else(bad)?,
        };
        if t.next().is_some() {
            return Err(bad());
        }
        secs = h * 3600 + min * 60 + s;
    }
    Ok(Some(days_from_civil(y, m, day) * 86_400 + secs))
}

/// An entry as listed.
#[derive(Debug, Clone)]
pub struct Row {
    /// The entry.
    pub entry: AuditEntryView,
    /// Its time.
    pub at: String,
    /// The before document, indented, if any.
    pub before: Option<String>,
    /// The after document, indented, if any.
    pub after: Option<String>,
}

/// The audit page.
#[derive(Template)]
#[template(path = "ui/audit.html")]
pub struct AuditPageView {
    /// The layout.
    pub chrome: Chrome,
    /// The filter.
    pub filter: Filter,
    /// Errors next to the filter's fields.
    pub form: FormState,
    /// The entries of this page.
    pub rows: Vec<Row>,
    /// The next (older) page's address.
    pub older: Option<String>,
    /// The newest page's address, when this is not it.
    pub newest: Option<String>,
}

const FIELDS: [&str; 4] = ["actor", "action", "since", "until"];

/// `GET /ui/audit?actor=&action=&since=&until=&cursor=`.
pub async fn page(State(state): State<UiState>, session: UiSession, uri: Uri) -> Response {
    let filter = Filter::from_query(uri.query());
    let chrome = session.chrome("audit");
    let mut form = FormState::default();
    let caller = session.caller.clone();
    let outcome = match filter.query() {
        Ok(query) => state.service.run(move |s| s.audit(&caller, &query)).await,
        Err(e) => Err(e),
    };
    let (rows, older, status) = match outcome {
        Ok(page) => {
            let rows = page
                .entries
                .into_iter()
                .map(|entry| {
                    let pretty = |v: &Option<serde_json::Value>| {
                        v.as_ref()
                            .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
                    };
                    Row {
                        at: when(entry.at),
                        before: pretty(&entry.before),
                        after: pretty(&entry.after),
                        entry,
                    }
                })
                .collect();
            (
                rows,
                page.next_cursor.map(|c| filter.url(Some(c))),
                StatusCode::OK,
            )
        }
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::BadRequest { .. })) => {
            form.refuse(&e, &FIELDS);
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            (Vec::new(), None, status)
        }
        Err(e) => return service_error_page(chrome, &e),
    };
    let newest = filter.cursor.map(|_| filter.url(None));
    render(
        status,
        &AuditPageView {
            chrome,
            filter,
            form,
            rows,
            older,
            newest,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc() {
        let t = |s: &str| parse_time("since", s).ok().flatten();
        assert_eq!(t("1970-01-01T00:00"), Some(0));
        assert_eq!(t("2023-11-14T22:13:20"), Some(1_700_000_000));
        assert_eq!(t("2023-11-14 22:13"), Some(1_700_000_000 - 20));
        assert_eq!(t("2000-03-01"), Some(951_868_800));
        assert_eq!(t("1700000000"), Some(1_700_000_000));
        assert_eq!(t(""), None);
        for bad in ["2023-13-01", "yesterday", "2023-11-14T25:00", "2023-1-1"] {
            let e = parse_time("until", bad).unwrap_err();
            assert_eq!(e.field(), Some("until"), "{bad}");
        }
    }
}
