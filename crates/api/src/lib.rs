//! Outpost's management plane: all of its HTTP, and the service layer the
//! CLI shares (SPEC SEC-9, OPS-1; issue 14).
//!
//! What it does:
//! - the admin listener's routes: `/metrics` and `/healthz` ([`admin`]) and
//!   the native REST API under `/api/v1/` ([`http`]), served over HTTPS with
//!   a rustls configuration or plain HTTP ([`serve`]);
//! - the service layer ([`service`]): typed inputs, `Serialize` outputs, one
//!   error type ([`ServiceError`]) mapped to HTTP statuses and CLI exit
//!   codes; administrator accounts (argon2id), the first one created with
//!   the setup token; login sessions; API tokens; the audit log, written in
//!   the same transaction as each change, with secrets redacted;
//!   ICPs, devices (filters, sorting, pages, live status, CSV import) and
//!   the guard ([`service::icps`], [`service::devices`],
//!   [`service::device_list`], [`service::device_import`],
//!   [`service::guard`]), shared with `outpost icps|devices|guard`;
//!   settings ([`service::settings`]: every setting with its source,
//!   changes validated together against the serve process's file and
//!   environment, stored with their audit entries, applied live through
//!   the [`service::gateway::Gateway`]); the SIP service's state and its
//!   stop/start/restart ([`service::sip`], through the same trait, which
//!   `outpost serve` implements: this crate never depends on the binary);
//! - the OpenAPI 3.1 document of every route, generated from the handlers
//!   and served at `/api/v1/openapi.json` ([`http::resources::openapi`]);
//! - login brute-force protection ([`service::throttle`]);
//! - phone provisioning (issue 15): its management services
//!   ([`service::provisioning`], REST under `/api/v1/provisioning/`) and
//!   the phone-facing configuration service `GET /<hash>/<file>`
//!   ([`phone_config`]), which `outpost serve` runs on `[web] port` behind
//!   the guard ([`serve::serve_https_admitting`]);
//! - the admin web UI under `/ui/` (issue 18, [`ui`]): server-rendered
//!   pages over the same service layer, with the REST API's session.
//!
//! What it does not do (yet): the ICP connectivity test over REST (it
//! needs the gateway's configuration and network). It never
//! touches SIP: the binary (`outpost`) wires it to the store and the
//! metrics registry, and it depends on neither the binary nor the SIP core
//! (the settings registry it reads, `outpost-config`, names some of the SIP
//! crates' limits; the running gateway is reached through the
//! [`service::gateway::Gateway`] trait only).
//!
//! # Authentication
//! - `POST /api/v1/setup` `{"setup_token", "name", "password"}` creates the
//!   first administrator while none exists; the token is then spent and a
//!   second call gets 409.
//! - `POST /api/v1/session` `{"name", "password"}` logs in: the response
//!   sets the cookie `outpost_session` (HttpOnly, Secure, SameSite=Strict,
//!   Path=/) and returns the session's `csrf_token`. The server keeps only
//!   the SHA-256 of the session id; a session ends after 30 minutes unused
//!   or 12 hours after login, whichever comes first, at logout
//!   (`DELETE /api/v1/session`), or when its account's password changes.
//!   Every state-changing request authenticated by the cookie must carry
//!   `X-CSRF-Token: <csrf_token>` (else 403).
//! - `Authorization: Bearer <token>` with an API token (`POST
//!   /api/v1/tokens`, shown once): scope per resource (`devices:write`,
//!   `audit:read`, `*:read`), expiry, optional source allow-list. Bearer
//!   requests need no CSRF token (a browser never sends one by itself).
//! - No credentials: 401 with `WWW-Authenticate: Bearer`; an expired or
//!   revoked token or an ended session: 401; a read-only account or a
//!   read-scoped token attempting a change: 403.
//!
//! # Login brute force
//! Five wrong passwords for one account from one source (an IPv4 address
//! or an IPv6 /64) within 15 minutes lock that source out of that account
//! for one minute, answered 429 with `Retry-After`; each further lock of
//! the same pair doubles, up to an hour. Twenty failures from one source
//! over all names lock that source out of every account the same way. The
//! account itself is never locked: a source that has not failed always
//! gets its password checked, so an attacker cannot lock the real
//! administrator out from the administrator's own address. A success
//! clears its pair; counters are in memory (a restart clears them).
//!
//! # Time and blocking
//! The service layer never reads the clock (`now` is a parameter; the
//! crate's `clippy.toml` forbids `SystemTime::now` outside [`clock`]) and
//! may block: the REST handlers run it on Tokio's blocking pool over the
//! API's own database connection, so neither SQLite nor argon2 ever holds
//! an async worker, and the SIP core, which has connections of its own,
//! never waits for the API.

#![forbid(unsafe_code)]

pub mod action_runner;
pub mod admin;
pub mod clock;
pub mod http;
pub mod mslrest;
pub mod phone_config;
pub mod serve;
pub mod service;
pub mod ui;

use std::sync::Arc;

use axum::Router;

pub use admin::RenderMetrics;
pub use clock::{Clock, ManualClock, SystemClock};
pub use service::{Service, ServiceError};

/// The admin listener's whole router: `/metrics`, `/healthz` and, with a
/// service, the REST API under `/api/v1/` and the admin UI under `/ui/`.
pub fn router(metrics: RenderMetrics, api: Option<(Service, Arc<dyn Clock>)>) -> Router {
    let admin = admin::router(Arc::clone(&metrics));
    match api {
        Some((service, clock)) => admin
            .merge(http::router(service.clone(), Arc::clone(&clock)))
            .merge(ui::router(service, clock, metrics)),
        None => admin,
    }
}
