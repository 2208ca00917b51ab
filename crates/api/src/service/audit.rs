//! Reading the audit log, and building its before/after documents with
//! secrets redacted.

use outpost_store::{AUDIT_PAGE_MAX, AuditEntry, AuditFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::tokens::{Access, Resource};
use super::{Caller, Service, ServiceError};

/// What replaces a secret in an audit document.
pub const REDACTED: &str = "********";
/// Entries per page unless told otherwise.
pub const DEFAULT_AUDIT_LIMIT: u32 = 100;

/// `GET /api/v1/audit` query and `outpost audit` options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this actor (`account:alice`, `token:<id>`, `cli:root`) or actor
    /// name (`alice`).
    #[serde(default)]
    pub actor: Option<String>,
    /// Only this action (`admin.create`), or a family ending in a dot
    /// (`admin.`).
    #[serde(default)]
    pub action: Option<String>,
    /// Only entries at or after this time, Unix seconds.
    #[serde(default)]
    pub since: Option<i64>,
    /// Only entries at or before this time, Unix seconds.
    #[serde(default)]
    pub until: Option<i64>,
    /// Page size, 1 to 500; default 100.
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`: only older entries.
    #[serde(default)]
    pub cursor: Option<i64>,
}

/// One entry as shown.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditEntryView {
    /// Position in the log.
    pub id: i64,
    /// When, Unix seconds.
    pub at: i64,
    /// Who: `account:alice`, `token:<id>`, `cli:root`, `setup-token`.
    pub actor: String,
    /// The actor's name.
    pub actor_name: String,
    /// From where: an address, or `local`.
    pub source: String,
    /// What: `admin.create`, `token.revoke`...
    pub action: String,
    /// To what.
    pub target: String,
    /// The state before (secrets redacted).
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The state after (secrets redacted).
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

/// A page of entries, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntryView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<i64>,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(e: AuditEntry) -> Self {
        let parse = |d: Option<String>| d.and_then(|text| serde_json::from_str(&text).ok());
        Self {
            id: e.id,
            at: e.record.at,
            actor: e.record.actor,
            actor_name: e.record.actor_name,
            source: e.record.source,
            action: e.record.action,
            target: e.record.target,
            before: parse(e.record.before),
            after: parse(e.record.after),
        }
    }
}

impl Service {
    /// A page of the audit log.
    ///
    /// # Errors
    /// 403 without read access to `audit`; 422 for a limit out of range or
    /// `since` after `until`.
    pub fn audit(&self, caller: &Caller, query: &AuditQuery) -> Result<AuditPage, ServiceError> {
        caller.require(Resource::Audit, Access::Read)?;
        let limit = query.limit.unwrap_or(DEFAULT_AUDIT_LIMIT);
        if !(1..=AUDIT_PAGE_MAX).contains(&limit) {
            return Err(ServiceError::invalid(
                "limit",
                format!("{limit} is out of range; give 1 to {AUDIT_PAGE_MAX}"),
            ));
        }
        if let (Some(since), Some(until)) = (query.since, query.until) {
            if since > until {
                return Err(ServiceError::invalid(
                    "since",
                    format!("since ({since}) is after until ({until}); swap them"),
                ));
            }
        }
        let filter = AuditFilter {
            actor: query.actor.clone().filter(|s| !s.is_empty()),
            action: query.action.clone().filter(|s| !s.is_empty()),
            since: query.since,
            until: query.until,
            before_id: query.cursor,
            limit,
        };
        let entries = self.with_store(|s| Ok(s.audit_entries(&filter)?))?;
        let full = entries.len() == limit as usize;
        let next_cursor = entries.last().filter(|_| full).map(|e| e.id);
        Ok(AuditPage {
            entries: entries.into_iter().map(AuditEntryView::from).collect(),
            next_cursor,
        })
    }
}

/// Whether a key names a secret: its value is never recorded.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "hash", "session", "key"]
        .iter()
        .any(|word| key.contains(word))
        // A time, not a secret.
        && key != "password_changed"
}

/// Replaces the value of every key that names a secret (`password`,
/// `secret`, `token`, `hash`, `session`, `key`), at any depth.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(&k) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

/// The redacted JSON text of `value` for an audit entry.
pub(crate) fn document(value: &impl Serialize) -> String {
    let value = serde_json::to_value(value).unwrap_or(Value::Null);
    redact(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let value = serde_json::json!({
            "name": "alice",
            "password": "hunter2hunter2",
            "nested": [{"icpside_password": "x", "api_token": "y", "host": "pbx"}],
        });
        let text = redact(value).to_string();
        assert!(!text.contains("hunter2"));
        assert!(!text.contains("\"x\"") && !text.contains("\"y\""));
        assert!(text.contains("alice") && text.contains("pbx"));
    }
}
