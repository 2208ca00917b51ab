//! Parser limits (SPEC SIG-3, SIG-10): exceeding one is a typed error.

use std::fmt;

/// Upper bounds applied while parsing. [`Limits::default`] is safe for a
/// public-facing listener; raise them only for trusted peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest whole message in bytes (start line, headers and body).
    pub max_message_size: usize,
    /// Largest number of header lines (a folded header counts once).
    pub max_headers: usize,
    /// Longest physical line in the header section, in bytes.
    pub max_line_length: usize,
    /// Longest URI (Request-URI or a URI inside a header), in bytes.
    pub max_uri_length: usize,
    /// Largest number of Via values (all Via lines and comma lists).
    pub max_vias: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 64 * 1024,
            max_headers: 256,
            max_line_length: 8 * 1024,
            max_uri_length: 4 * 1024,
            max_vias: 64,
        }
    }
}

impl Limits {
    /// Limits large enough never to trigger on messages this crate builds
    /// itself (used when re-parsing the output of an edit or a builder).
    pub fn relaxed() -> Self {
        Self {
            max_message_size: usize::MAX,
            max_headers: usize::MAX,
            max_line_length: usize::MAX,
            max_uri_length: usize::MAX,
            max_vias: usize::MAX,
        }
    }
}

/// Which limit of [`Limits`] was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_message_size`].
    MessageSize,
    /// [`Limits::max_headers`].
    HeaderCount,
    /// [`Limits::max_line_length`].
    LineLength,
    /// [`Limits::max_uri_length`].
    UriLength,
    /// [`Limits::max_vias`].
    ViaCount,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MessageSize => "message size",
            Self::HeaderCount => "header count",
            Self::LineLength => "line length",
            Self::UriLength => "URI length",
            Self::ViaCount => "Via count",
        })
    }
}
