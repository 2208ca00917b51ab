//! The MSL-compatible web services' management (SPEC PRO-3, issue 16):
//! consumers, the OAuth 1.0a flow and its tokens, on the service layer so
//! the CLI, the native REST API and the `/mslrest/` front end share it.

mod consumers;
mod grants;
mod oauth;
mod permissions;
mod resources;
mod seal;

use std::sync::{Arc, Mutex};

use outpost_oauth1::NonceMemory;

pub use consumers::{ConsumerPatch, ConsumerSecret, ConsumerView, NewConsumerInput};
pub use grants::{FINAL_TOKEN_SECS, GrantLists, GrantView, TEMPORARY_TOKEN_SECS};
pub use oauth::{MslError, TokenGrant};
pub use permissions::{MslAccess, MslResource, WsPermissions};
pub use resources::{MslDevice, MslDeviceInput, MslGlobalOptions, MslIcp};
pub use seal::SealKey;

use super::Service;

/// Nonces remembered at most (a few MB): far above what the timestamp
/// window sees from a handful of application servers.
const NONCE_CAPACITY: usize = 50_000;

/// The web services over the service layer, the sealing key and the
/// nonce memory.
#[derive(Debug, Clone)]
pub struct WebServices {
    service: Service,
    key: Arc<SealKey>,
    nonces: Arc<Mutex<NonceMemory>>,
}

impl WebServices {
    /// The web services of `service`, sealing secrets with `key`.
    pub fn new(service: Service, key: SealKey) -> Self {
        Self {
            service,
            key: Arc::new(key),
            nonces: Arc::new(Mutex::new(NonceMemory::new(NONCE_CAPACITY))),
        }
    }

    /// Whether the web services answer now: `web.services` from the file
    /// and the environment over the database, read at each call so that
    /// `outpost webservices start|stop` applies at once. A database or
    /// settings failure reads as stopped (and is logged).
    pub fn running(&self) -> bool {
        let current = self
            .service
            .with_store(|store| self.service.current_settings(store));
        match current {
            Ok(settings) => settings.config().web.services,
            Err(e) => {
                tracing::warn!(error = %e, "web services: settings unreadable; answering 503");
                false
            }
        }
    }

    /// The service layer underneath (for the resource calls).
    pub fn service(&self) -> &Service {
        &self.service
    }
}
