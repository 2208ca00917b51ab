//! The MSL-compatible web services' consumers and OAuth tokens (SPEC
//! PRO-3, issue 16).
//!
//! A consumer is an application server or iPBX allowed to use the web
//! services: its consumer ID (at most 40 characters, the OAuth client
//! key), a name, a shared secret, an active flag and its permissions.
//! Tokens are the OAuth 1.0a credentials it obtains: a temporary token
//! (valid an hour, approved by an administrator, which gives it a
//! verifier) exchanged for a final token (valid a year, renewable,
//! revocable).
//!
//! Secrets are stored sealed: the store keeps the bytes the management
//! plane gives it (encrypted there with a key kept outside the database)
//! and never sees a secret in clear. HMAC-SHA1 needs the secret itself, so
//! a hash would not do.

mod consumers;
mod tokens;

pub use consumers::{
    NewWsConsumer, WS_CONSUMER_ID_MAX, WS_CONSUMER_NAME_MAX, WsConsumer, WsConsumerUpdate,
};
pub use tokens::{NewWsToken, WsToken, WsTokenKind};
