//! The gateway configuration: the typed model, the settings registry,
//! loading in layers (default < database < file < environment) and
//! validation all live in the `outpost-config` crate; this module
//! re-exports it so the binary's modules keep writing
//! `crate::config::Config`.

pub use outpost_config::*;
