//! Outpost library part of the binary crate: configuration and service wiring.
//!
//! The `outpost` binary is a thin `main` over this library so that integration
//! tests can reach the same code paths (configuration loading, the serve
//! runtime) without spawning a process when they do not need to.
pub mod admin_commands;
pub mod api_commands;
pub mod certs;
pub mod certs_commands;
pub mod cli;
pub mod commands;
pub mod config;
pub mod core;
pub mod data_dir;
pub mod guard_admin;
pub mod guard_runtime;
pub mod icp_test;
pub mod media;
pub mod provisioning_actions_commands;
pub mod provisioning_commands;
pub mod replies;
pub mod serve;
pub mod settings_commands;
pub mod setup_token;
pub mod telemetry;
pub mod transport;
pub mod webservices_commands;
