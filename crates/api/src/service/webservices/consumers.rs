//! Consumers, administered (issue 16 item 2): created with a generated
//! 40-hex-digit shared secret shown once (and on demand to an
//! administrator, audited), changed, given a new secret, removed.

use outpost_store::{NewWsConsumer, WsConsumer, WsConsumerUpdate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{WebServices, WsPermissions};
use crate::service::tokens::{Access, Resource};
use crate::service::{Caller, NOTHING, ServiceError, random_hex};

/// A consumer as the API shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ConsumerView {
    /// The consumer ID (the OAuth consumer key).
    pub consumer_id: String,
    /// Its name.
    pub name: String,
    /// Whether it may use the web services.
    pub active: bool,
    /// Its permissions, e.g. `["mbg/v1/devices=rw"]`.
    pub permissions: Vec<String>,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
}

impl ConsumerView {
    fn new(c: &WsConsumer) -> Self {
        let permissions = WsPermissions::parse([c.permissions.as_str()])
            .map(|p| p.items())
            .unwrap_or_default();
        Self {
            consumer_id: c.consumer_id.clone(),
            name: c.name.clone(),
            active: c.active,
            permissions,
            created: c.created,
        }
    }
}

/// A consumer with its shared secret: the answer of a creation, of a new
/// secret and of an administrator asking to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ConsumerSecret {
    /// The consumer.
    pub consumer: ConsumerView,
    /// The shared secret (40 hex digits).
    pub shared_secret: String,
}

/// A new consumer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsumerInput {
    /// The consumer ID: 1 to 40 letters, digits, `-`, `_`, `.`.
    pub consumer_id: String,
    /// Its name.
    pub name: String,
    /// Active at once (default true).
    #[serde(default = "yes")]
    pub active: bool,
    /// Permissions such as `mbg/v1/devices=rw`.
    #[serde(default)]
    pub permissions: Vec<String>,
}

const fn yes() -> bool {
    true
}

/// Changes to a consumer; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumerPatch {
    /// New name.
    pub name: Option<String>,
    /// Active or not.
    pub active: Option<bool>,
    /// New permissions (replacing the old ones).
    pub permissions: Option<Vec<String>>,
}

/// The label a consumer's secret is sealed for.
pub(super) fn consumer_label(consumer_id: &str) -> String {
    format!("consumer:{consumer_id}")
}

impl WebServices {
    /// Creates a consumer with a new shared secret.
    ///
    /// # Errors
    /// 403, 422 (ID, name, permissions), 409 for an ID in use.
    pub fn create_consumer(
        &self,
        caller: &Caller,
        input: &NewConsumerInput,
    ) -> Result<ConsumerSecret, ServiceError> {
        caller.require(Resource::WebServices, Access::Write)?;
        let permissions = WsPermissions::parse(input.permissions.iter().map(String::as_str))?;
        let secret = random_hex(20)?;
        let new = NewWsConsumer {
            consumer_id: input.consumer_id.clone(),
            name: input.name.clone(),
            secret_sealed: self
                .key
                .seal(&consumer_label(&input.consumer_id), &secret)?,
            active: input.active,
            permissions: permissions.to_text(),
            created: caller.now,
        };
        let view = ConsumerView::new(&WsConsumer {
            consumer_id: new.consumer_id.clone(),
            name: new.name.clone(),
            secret_sealed: Vec::new(),
            active: new.active,
            permissions: new.permissions.clone(),
            created: new.created,
        });
        let audit = caller.audit(
            "webservices.consumer.create",
            &new.consumer_id,
            NOTHING,
            Some(&view),
        );
        let stored = self
            .service
            .with_store(|store| Ok(store.create_ws_consumer(&new, &audit)?))?;
        Ok(ConsumerSecret {
            consumer: ConsumerView::new(&stored),
            shared_secret: secret,
        })
    }

    /// Every consumer.
    ///
    /// # Errors
    /// 403.
    pub fn consumers(&self, caller: &Caller) -> Result<Vec<ConsumerView>, ServiceError> {
        caller.require(Resource::WebServices, Access::Read)?;
        let all = self.service.with_store(|store| Ok(store.ws_consumers()?))?;
        Ok(all.iter().map(ConsumerView::new).collect())
    }

    /// A consumer's shared secret, for an administrator to give the
    /// application server; audited.
    ///
    /// # Errors
    /// 403 (it needs write access: reading a secret is not a read-only
    /// act), 404.
    pub fn consumer_secret(
        &self,
        caller: &Caller,
        consumer_id: &str,
    ) -> Result<ConsumerSecret, ServiceError> {
        caller.require(Resource::WebServices, Access::Write)?;
        let audit = caller.audit(
            "webservices.consumer.secret.show",
            consumer_id,
            NOTHING,
            NOTHING,
        );
        let consumer = self.service.with_store(|store| {
            let found = store
                .ws_consumer(consumer_id)?
                .ok_or_else(|| unknown_consumer(consumer_id))?;
            store.append_audit(&audit)?;
            Ok(found)
        })?;
        let shared_secret = self
            .key
            .open(&consumer_label(consumer_id), &consumer.secret_sealed)?;
        Ok(ConsumerSecret {
            consumer: ConsumerView::new(&consumer),
            shared_secret,
        })
    }

    /// Changes a consumer.
    ///
    /// # Errors
    /// 403, 404, 422.
    pub fn update_consumer(
        &self,
        caller: &Caller,
        consumer_id: &str,
        patch: &ConsumerPatch,
    ) -> Result<ConsumerView, ServiceError> {
        caller.require(Resource::WebServices, Access::Write)?;
        let permissions = match &patch.permissions {
            Some(items) => Some(WsPermissions::parse(items.iter().map(String::as_str))?.to_text()),
            None => None,
        };
        let change = WsConsumerUpdate {
            name: patch.name.clone(),
            active: patch.active,
            permissions,
            secret_sealed: None,
        };
        self.change_consumer(caller, consumer_id, &change, "webservices.consumer.update")
    }

    /// Gives a consumer a new shared secret; the old one stops working.
    ///
    /// # Errors
    /// 403, 404.
    pub fn regenerate_consumer_secret(
        &self,
        caller: &Caller,
        consumer_id: &str,
    ) -> Result<ConsumerSecret, ServiceError> {
        caller.require(Resource::WebServices, Access::Write)?;
        let secret = random_hex(20)?;
        let change = WsConsumerUpdate {
            secret_sealed: Some(self.key.seal(&consumer_label(consumer_id), &secret)?),
            ..WsConsumerUpdate::default()
        };
        let consumer = self.change_consumer(
            caller,
            consumer_id,
            &change,
            "webservices.consumer.secret.new",
        )?;
        Ok(ConsumerSecret {
            consumer,
            shared_secret: secret,
        })
    }

    /// Removes a consumer and its tokens.
    ///
    /// # Errors
    /// 403, 404.
    pub fn remove_consumer(
        &self,
        caller: &Caller,
        consumer_id: &str,
    ) -> Result<ConsumerView, ServiceError> {
        caller.require(Resource::WebServices, Access::Write)?;
        let before = self.consumer_view(consumer_id)?;
        let audit = caller.audit(
            "webservices.consumer.delete",
            consumer_id,
            Some(&before),
            NOTHING,
        );
        self.service.with_store(|store| {
            store
                .delete_ws_consumer(consumer_id, &audit)
                .map_err(|e| not_found_as(e, consumer_id))
        })?;
        Ok(before)
    }

    fn change_consumer(
        &self,
        caller: &Caller,
        consumer_id: &str,
        change: &WsConsumerUpdate,
        action: &str,
    ) -> Result<ConsumerView, ServiceError> {
        let before = self.consumer_view(consumer_id)?;
        let mut after = before.clone();
        if let Some(name) = &change.name {
            after.name.clone_from(name);
        }
        if let Some(active) = change.active {
            after.active = active;
        }
        if let Some(p) = &change.permissions {
            after.permissions = WsPermissions::parse([p.as_str()])?.items();
        }
        let audit = caller.audit(action, consumer_id, Some(&before), Some(&after));
        let (_, stored) = self.service.with_store(|store| {
            store
                .update_ws_consumer(consumer_id, change, &audit)
                .map_err(|e| not_found_as(e, consumer_id))
        })?;
        Ok(ConsumerView::new(&stored))
    }

    fn consumer_view(&self, consumer_id: &str) -> Result<ConsumerView, ServiceError> {
        self.service.with_store(|store| {
            store
                .ws_consumer(consumer_id)?
                .map(|c| ConsumerView::new(&c))
                .ok_or_else(|| unknown_consumer(consumer_id))
        })
    }
}

fn unknown_consumer(consumer_id: &str) -> ServiceError {
    ServiceError::NotFound(format!(
        "no web services consumer {consumer_id:?}; see `outpost webservices consumers list`"
    ))
}

fn not_found_as(e: outpost_store::StoreError, consumer_id: &str) -> ServiceError {
    match e {
        outpost_store::StoreError::NotFound { .. } => unknown_consumer(consumer_id),
        other => other.into(),
    }
}
