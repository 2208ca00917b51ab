//! Placeholder: the B2BUA is being written.
