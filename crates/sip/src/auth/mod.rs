//! Digest authentication for SIP (RFC 7616, with RFC 2617 / RFC 2069
//! compatibility; RFC 3261 §22), server and client side.
//!
//! What it does:
//! - parses and renders the *values* of `WWW-Authenticate` /
//!   `Proxy-Authenticate` ([`Challenge`]) and `Authorization` /
//!   `Proxy-Authorization` ([`Credentials`]) headers, with its own bounded
//!   tokenizer (values ≤ 1024 bytes, ≤ 32 parameters, duplicates refused);
//! - [`DigestServer`]: challenges (SHA-256 and MD5, `qop="auth"`) with
//!   stateless nonces signed with a per-process key, and verification with
//!   constant-time comparisons, `stale` detection and nonce-count replay
//!   protection in a bounded table;
//! - [`DigestClient`]: answers a 401/407, as the B2BUA does toward the iPBX,
//!   choosing the strongest challenge ([`select_challenge`]).
//!
//! What it does not do: read the clock or an RNG (time is `now_unix_secs`,
//! randomness is bytes passed in, as everywhere in this crate), touch SIP
//! messages (the caller takes header values out and puts returned values in),
//! look up users, count brute-force attempts (see
//! [`DigestError::is_failed_attempt`]), `auth-int`, `userhash`, or
//! `Authentication-Info`.
//!
//! # Nonce format
//!
//! `base64url(issued_at_u64_be ‖ random[16] ‖ HMAC-SHA256(key, domain ‖
//! realm ‖ issued_at ‖ random))`, 75 characters. The server keeps no state
//! per challenge: the signature proves the nonce is ours, the embedded time
//! gives its age. Time is Unix seconds from the caller (not `Instant`)
//! because it is carried inside the nonce; any monotonic seconds counter
//! works, as the key does not outlive the process. `opaque` is a fixed
//! per-process tag derived from the key and realm; it carries no security.
//!
//! # Why these choices
//!
//! Lifetime 300 s and a 10 000-entry nonce-count table: see
//! [`DigestServerConfig::DEFAULT_NONCE_LIFETIME_SECS`] and
//! [`DigestServerConfig::DEFAULT_MAX_TRACKED_NONCES`]. A stale result is
//! given only when the response is right (RFC 7616 §3.3), so `stale=true`
//! never tells a guesser anything and a wrong password on an old nonce is
//! still a failed attempt.

mod algorithm;
mod client;
mod error;
mod header;
mod params;
mod replay;
mod server;

pub use algorithm::{Algorithm, Qop, Secret, ha1};
pub use client::{DigestClient, select_challenge};
pub use error::{DigestError, ServerReply};
pub use header::{Challenge, Credentials};
pub use params::{AuthParam, MAX_NAME_LEN, MAX_PARAMS, MAX_VALUE_LEN};
pub use server::{DigestServer, DigestServerConfig, Verified};

#[cfg(test)]
mod tests;
