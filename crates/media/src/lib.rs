//! Placeholder: the media core is being written.
