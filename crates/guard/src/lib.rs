//! Placeholder: the guard is being written.
