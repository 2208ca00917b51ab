//! Placeholder: the SDP crate is being written.
