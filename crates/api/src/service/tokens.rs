//! API tokens for automation: shown once, stored as a SHA-256 digest, with
//! a scope (read or read/write per resource), an expiry and an optional
//! source allow-list; revocable; sent as `Authorization: Bearer <token>`.
//!
//! Only administrator accounts and the CLI create tokens: a token cannot
//! mint another (that would let a narrow token widen itself). A token with
//! `admins:write` can create administrator accounts, which is as powerful
//! as `*:write`; grant it knowingly.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use outpost_store::{ApiToken, NewApiToken};
use serde::{Deserialize, Serialize};
use tracing::info;
use utoipa::ToSchema;

use super::password::Password;
use super::{Actor, Caller, NOTHING, Service, ServiceError, random_hex, sha256_hex};

/// What a token value starts with, so it is recognisable in a leak scan.
pub const TOKEN_PREFIX: &str = "outpost_";
/// Days a token lives unless told otherwise.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;
/// The longest life a token can be given, days.
pub const MAX_TOKEN_DAYS: u32 = 3650;
/// The most source prefixes in one token's allow-list.
pub const MAX_ALLOWED_SOURCES: usize = 32;

/// A part of the management API a scope names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// Administrator accounts.
    Admins,
    /// The audit log (read only).
    Audit,
    /// TLS certificates: the store, imports, per-usage assignment.
    Certificates,
    /// Teleworker devices.
    Devices,
    /// The guard: status, lists, settings.
    Guard,
    /// ICPs.
    Icps,
    /// Phone provisioning: the hash key, phone files, inventory, actions.
    Provisioning,
    /// The SIP service state.
    Service,
    /// Settings.
    Settings,
    /// API tokens.
    Tokens,
    /// The MSL-compatible web services: consumers and their OAuth tokens.
    WebServices,
}

impl Resource {
    /// Every resource, in scope-text order.
    pub const ALL: [Self; 11] = [
        Self::Admins,
        Self::Audit,
        Self::Certificates,
        Self::Devices,
        Self::Guard,
        Self::Icps,
        Self::Provisioning,
        Self::Service,
        Self::Settings,
        Self::Tokens,
        Self::WebServices,
    ];

    /// The name used in scopes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admins => "admins",
            Self::Tokens => "tokens",
            Self::Audit => "audit",
            Self::Certificates => "certificates",
            Self::Icps => "icps",
            Self::Devices => "devices",
            Self::Guard => "guard",
            Self::Settings => "settings",
            Self::Service => "service",
            Self::Provisioning => "provisioning",
            Self::WebServices => "webservices",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Read, or read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// Read only.
    Read,
    /// Read and change.
    Write,
}

impl Access {
    /// `read` or `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token's scope: the access it has per resource (`write` includes
/// `read`). Written `devices:write,audit:read`; `*:read` and `*:write`
/// name every resource, those added to Outpost later included (the
/// wildcard is kept as such, not expanded when the token is made).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    each: BTreeMap<Resource, Access>,
    every: Option<Access>,
}

impl Scopes {
    /// Parses scope items such as `devices:write`, `audit:read`, `*:read`.
    ///
    /// # Errors
    /// 422 naming `scopes` and the item that is not a scope.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, ServiceError> {
        let mut map = BTreeMap::new();
        let mut every: Option<Access> = None;
        for item in items {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let bad = || {
                let names: Vec<_> = Resource::ALL.iter().map(|r| r.as_str()).collect();
                ServiceError::invalid(
                    "scopes",
                    format!(
                        "{item:?} is not a scope; write RESOURCE:read or RESOURCE:write with \
                         RESOURCE one of {} or *",
                        names.join(", ")
                    ),
                )
            };
            let (resource, access) = item.split_once(':').ok_or_else(bad)?;
            let access = match access {
                "read" => Access::Read,
                "write" => Access::Write,
                _ => return Err(bad()),
            };
            if resource == "*" {
                every = every.max(Some(access));
                continue;
            }
            let r = Resource::parse(resource).ok_or_else(bad)?;
            let entry = map.entry(r).or_insert(access);
            *entry = (*entry).max(access);
        }
        // Items the wildcard already grants are not kept twice.
        if let Some(every) = every {
            map.retain(|_, access| *access > every);
        }
        if map.is_empty() && every.is_none() {
            return Err(ServiceError::invalid(
                "scopes",
                "empty; give at least one scope such as \"devices:read\"",
            ));
        }
        Ok(Self { each: map, every })
    }

    /// Whether `access` to `resource` is allowed.
    pub fn allows(&self, resource: Resource, access: Access) -> bool {
        self.every.is_some_and(|granted| granted >= access)
            || self
                .each
                .get(&resource)
                .is_some_and(|&granted| granted >= access)
    }

    /// The scope items, e.g. `["*:read", "devices:write"]`.
    pub fn items(&self) -> Vec<String> {
        self.every
            .map(|a| format!("*:{a}"))
            .into_iter()
            .chain(self.each.iter().map(|(r, a)| format!("{r}:{a}")))
            .collect()
    }
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenInput {
    /// A unique name saying what uses it.
    pub name: String,
    /// Scope items: `devices:write`, `audit:read`, `*:read`...
    pub scopes: Vec<String>,
    /// Days until it expires, 1 to 3650; default 90.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    /// Source addresses or prefixes (`192.0.2.10`, `2001:db8::/48`) it may
    /// be used from; empty or absent: anywhere.
    #[serde(default)]
    pub allowed_sources: Vec<String>,
}

/// A token as shown: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TokenView {
    /// Public id (for revoking).
    pub id: String,
    /// Name.
    pub name: String,
    /// Scope items.
    pub scopes: Vec<String>,
    /// Source prefixes it may be used from; empty: anywhere.
    pub allowed_sources: Vec<String>,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Who created it.
    pub created_by: String,
    /// Expiry, Unix seconds.
    pub expires: Option<i64>,
    /// When it was revoked.
    pub revoked: Option<i64>,
    /// When it was last used (to the minute).
    pub last_used: Option<i64>,
}

impl From<&ApiToken> for TokenView {
    fn from(t: &ApiToken) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            scopes: split_list(&t.scopes),
            allowed_sources: split_list(&t.allowed_sources),
            created: t.created,
            created_by: t.created_by.clone(),
            expires: t.expires,
            revoked: t.revoked,
            last_used: t.last_used,
        }
    }
}

/// A new token: the value is shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    /// The token to send as `Authorization: Bearer <token>`. Shown once.
    pub token: String,
    /// The token's details.
    #[serde(flatten)]
    pub info: TokenView,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("token", &"********")
            .field("info", &self.info)
            .finish()
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_sources(items: &[String]) -> Result<Vec<IpNet>, ServiceError> {
    if items.len() > MAX_ALLOWED_SOURCES {
        return Err(ServiceError::invalid(
            "allowed_sources",
            format!("{} entries; at most {MAX_ALLOWED_SOURCES}", items.len()),
        ));
    }
    items
        .iter()
        .map(|item| {
            let item = item.trim();
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| {
                    ServiceError::invalid(
                        "allowed_sources",
                        format!(
                            "{item:?} is not an address or prefix; write e.g. \"192.0.2.10\", \
                             \"192.0.2.0/24\" or \"2001:db8::/48\""
                        ),
                    )
                })
        })
        .collect()
}

fn source_allowed(allowed: &str, source: IpAddr) -> bool {
    let source = match source {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(source, IpAddr::V4),
        v4 => v4,
    };
    allowed.is_empty()
        || allowed
            .split(',')
            .filter_map(|p| p.parse::<IpNet>().ok())
            .any(|net| net.contains(&source))
}

impl Service {
    /// Creates a token; its value is in the result and nowhere else.
    ///
    /// # Errors
    /// 403 unless the caller is an administrator account or the CLI; 422
    /// for a bad field; 409 for a name in use.
    pub fn create_token(
        &self,
        caller: &Caller,
        input: &NewTokenInput,
    ) -> Result<CreatedToken, ServiceError> {
        if let Actor::Token { name, .. } = &caller.actor {
            return Err(ServiceError::Forbidden(format!(
                "API token {name:?} cannot create tokens; log in as an administrator (or use \
                 `outpost token create` on the gateway)"
            )));
        }
        caller.require(Resource::Tokens, Access::Write)?;
        let scopes = Scopes::parse(input.scopes.iter().map(String::as_str))?;
        let days = input.expires_in_days.unwrap_or(DEFAULT_TOKEN_DAYS);
        if !(1..=MAX_TOKEN_DAYS).contains(&days) {
            return Err(ServiceError::invalid(
                "expires_in_days",
                format!("{days} is out of range; give 1 to {MAX_TOKEN_DAYS} days"),
            ));
        }
        let sources = parse_sources(&input.allowed_sources)?;
        let secret = format!("{TOKEN_PREFIX}{}", random_hex(32)?);
        let id = outpost_store::new_token_id()?;
        let (created_by, _) = caller.audit_actor();
        let new = NewApiToken {
            id: id.clone(),
            name: input.name.trim().to_owned(),
            secret_sha256: sha256_hex(secret.as_bytes()),
            scopes: scopes.items().join(","),
            allowed_sources: sources
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            created: caller.now,
            created_by,
            expires: Some(caller.now + i64::from(days) * 86_400),
        };
        let view = TokenView::from(&ApiToken {
            id: id.clone(),
            name: new.name.clone(),
            scopes: new.scopes.clone(),
            allowed_sources: new.allowed_sources.clone(),
            created: new.created,
            created_by: new.created_by.clone(),
            expires: new.expires,
            revoked: None,
            last_used: None,
        });
        let audit = caller.audit("token.create", &id, NOTHING, Some(&view));
        let stored = self.with_store(|s| Ok(s.create_api_token(&new, &audit)?))?;
        info!(id = %stored.id, name = %stored.name, "API token created");
        Ok(CreatedToken {
            token: secret,
            info: TokenView::from(&stored),
        })
    }

    /// Every token, revoked ones included.
    ///
    /// # Errors
    /// 403 without read access to `tokens`.
    pub fn list_tokens(&self, caller: &Caller) -> Result<Vec<TokenView>, ServiceError> {
        caller.require(Resource::Tokens, Access::Read)?;
        self.with_store(|s| Ok(s.api_tokens()?.iter().map(TokenView::from).collect()))
    }

    /// Revokes a token; it gets 401 from its next request on.
    ///
    /// # Errors
    /// 403 without write access to `tokens`; 404.
    pub fn revoke_token(&self, caller: &Caller, id: &str) -> Result<TokenView, ServiceError> {
        caller.require(Resource::Tokens, Access::Write)?;
        self.with_store(|s| {
            let before = s.api_token(id)?.ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "no API token with id {id:?}; list them with GET /api/v1/tokens or \
                     `outpost token list`"
                ))
            })?;
            let view = TokenView::from(&before);
            let after = TokenView {
                revoked: before.revoked.or(Some(caller.now)),
                ..view.clone()
            };
            let audit = caller.audit("token.revoke", id, Some(&view), Some(&after));
            s.revoke_api_token(id, caller.now, &audit)?;
            info!(id = %id, name = %before.name, "API token revoked");
            Ok(after)
        })
    }

    /// The caller a bearer token stands for, from `source` at `now`.
    ///
    /// # Errors
    /// 401 for an unknown, expired or revoked token; 403 from a source
    /// outside its allow-list.
    pub fn authenticate_token(
        &self,
        token: &Password,
        source: IpAddr,
        now: i64,
    ) -> Result<Caller, ServiceError> {
        let digest = sha256_hex(token.expose().as_bytes());
        let stored = self
            .with_store(|s| Ok(s.api_token_by_digest(&digest)?))?
            .ok_or_else(|| {
                ServiceError::Unauthorized(
                    "unknown API token; check the Authorization: Bearer header, or create a \
                     token with POST /api/v1/tokens"
                        .to_owned(),
                )
            })?;
        if stored.revoked.is_some() {
            return Err(ServiceError::Unauthorized(format!(
                "API token {:?} was revoked; create a new one",
                stored.name
            )));
        }
        if stored.expires.is_some_and(|e| now >= e) {
            return Err(ServiceError::Unauthorized(format!(
                "API token {:?} has expired; create a new one",
                stored.name
            )));
        }
        if !source_allowed(&stored.allowed_sources, source) {
            return Err(ServiceError::Forbidden(format!(
                "API token {:?} may not be used from {source}; it is limited to {}",
                stored.name, stored.allowed_sources
            )));
        }
        let scopes = Scopes::parse(stored.scopes.split(','))?;
        self.with_store(|s| Ok(s.touch_api_token(&stored.id, now, 60)?))?;
        Ok(Caller {
            actor: Actor::Token {
                id: stored.id,
                name: stored.name,
                scopes,
            },
            source: Some(source),
            now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_write_includes_read() {
        let s = Scopes::parse(["devices:write", "audit:read"]).unwrap();
        assert!(s.allows(Resource::Devices, Access::Read));
        assert!(s.allows(Resource::Devices, Access::Write));
        assert!(s.allows(Resource::Audit, Access::Read));
        assert!(!s.allows(Resource::Audit, Access::Write));
        assert!(!s.allows(Resource::Admins, Access::Read));
        assert_eq!(s.items(), ["audit:read", "devices:write"]);
        let all = Scopes::parse(["*:read", "tokens:write"]).unwrap();
        assert!(all.allows(Resource::Icps, Access::Read));
        assert!(all.allows(Resource::Tokens, Access::Write));
        assert!(!all.allows(Resource::Icps, Access::Write));
        // The wildcard is kept, not expanded: stored and read back, it
        // still names every resource (those added later too).
        assert_eq!(all.items(), ["*:read", "tokens:write"]);
        let back = Scopes::parse(all.items().iter().map(String::as_str)).unwrap();
        assert_eq!(back, all);
        assert!(back.allows(Resource::Certificates, Access::Read));
        let covered = Scopes::parse(["*:write", "audit:read"]).unwrap();
        assert_eq!(covered.items(), ["*:write"]);
        let err = Scopes::parse(["devices:delete"]).unwrap_err();
        assert_eq!(err.field(), Some("scopes"));
        assert!(Scopes::parse(Vec::<&str>::new()).is_err());
    }

    #[test]
    fn sources_are_prefixes() {
        let nets = parse_sources(&["192.0.2.7/24".into(), "2001:db8::1".into()]).unwrap();
        let text: Vec<_> = nets.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["192.0.2.0/24", "2001:db8::1/128"]);
        let allowed = text.join(",");
        assert!(source_allowed(&allowed, "192.0.2.200".parse().unwrap()));
        assert!(source_allowed(
            &allowed,
            "::ffff:192.0.2.1".parse().unwrap()
        ));
        assert!(!source_allowed(&allowed, "198.51.100.1".parse().unwrap()));
        assert!(source_allowed("", "198.51.100.1".parse().unwrap()));
        assert!(parse_sources(&["10.0.0.300".into()]).is_err());
    }
}
