//! The server side of OAuth 1.0a (RFC 5849) as the vendor gateway's web
//! services use it (seed 003; SPEC PRO-3): HMAC-SHA1 signatures over the
//! §3.4.1 signature base string, the `Authorization: OAuth ...` header,
//! a timestamp window and nonces never accepted twice.
//!
//! Our own code, as ARCHITECTURE.md chose: no maintained server-side
//! OAuth 1.0a crate exists (client crates sign, they do not verify, keep
//! nonces or parse the header leniently enough for real clients). The
//! pieces used are `hmac` + `sha1` + `subtle`; percent-encoding is the
//! RFC's own strict variant (§3.6), written here because the generic
//! `percent-encoding` sets differ from it in `~` and in what they accept
//! when decoding.
//!
//! Sans-IO: [`verify`] takes the request's parts, the secrets looked up by
//! the caller, the current time (Unix seconds) and a [`NonceMemory`]; it
//! reads no clock and touches no socket.

mod base_string;
mod encode;
mod error;
mod header;
mod nonce;
mod signature;
mod verify;

pub use base_string::{base_string_uri, normalized_parameters, signature_base_string};
pub use encode::{form_decode, percent_decode, percent_encode};
pub use error::OAuthError;
pub use header::{AuthorizationHeader, MAX_HEADER_LEN};
pub use nonce::NonceMemory;
pub use signature::{hmac_sha1_signature, signatures_match};
pub use verify::{Credentials, SignedRequest, TIMESTAMP_WINDOW_SECS, Verified, verify};
