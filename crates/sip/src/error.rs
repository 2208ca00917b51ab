//! The crate's error type and its mapping to the SIP response to send.

use std::fmt;

use bytes::Bytes;

use crate::{HeaderName, Limit, Method, StatusCode};

/// What part of a message an [`ParseError::Invalid`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// The request or status line as a whole.
    StartLine,
    /// The request method.
    Method,
    /// The Request-URI (or a URI parsed on its own).
    RequestUri,
    /// The status code.
    Status,
    /// A URI inside a header.
    Uri,
    /// A parameter list.
    Params,
    /// The header section (line structure, names).
    HeaderSection,
    /// A header value.
    Header(HeaderName),
    /// The body (length disagreeing with Content-Length).
    Body,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StartLine => f.write_str("start line"),
            Self::Method => f.write_str("method"),
            Self::RequestUri => f.write_str("Request-URI"),
            Self::Status => f.write_str("status code"),
            Self::Uri => f.write_str("URI"),
            Self::Params => f.write_str("parameters"),
            Self::HeaderSection => f.write_str("header section"),
            Self::Header(h) => write!(f, "{h} header"),
            Self::Body => f.write_str("body"),
        }
    }
}

/// What could be read of a rejected message: enough to build the error
/// response RFC 3261 §8.2.6 asks for (Via, From, To, Call-ID, CSeq are
/// copied as raw values). See [`crate::Response::for_error`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Context {
    /// The request method, if the message was a request whose start line
    /// could be read.
    pub method: Option<Method>,
    /// Whether the start line looked like a request (as opposed to a
    /// response, which is never answered).
    pub is_request: bool,
    /// Raw values of the Via headers, in order (one entry per header line).
    pub via: Vec<Bytes>,
    /// Raw From value.
    pub from: Option<Bytes>,
    /// Raw To value.
    pub to: Option<Bytes>,
    /// Raw Call-ID value.
    pub call_id: Option<Bytes>,
    /// Raw CSeq value.
    pub cseq: Option<Bytes>,
}

/// Why a message (or a header value) could not be parsed.
///
/// The variant decides the response ([`StatusCode::from`]); the
/// [`Context`], when present, says whether there is someone to answer
/// ([`ParseError::is_request_recognised`]): a request whose start line and
/// Via could be read gets a response, anything else (garbage, responses) is
/// dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input does not start with a SIP start line (or is empty).
    #[error("not a SIP message: {0}")]
    NotSip(&'static str),
    /// The header section does not end (no empty line) in the input.
    #[error("truncated message: {0}")]
    Truncated(&'static str),
    /// A configured limit was exceeded.
    #[error("{limit} limit exceeded: {value} > {max}")]
    Limit {
        /// Which limit.
        limit: Limit,
        /// The value seen (a lower bound when scanning stopped early).
        value: usize,
        /// The configured maximum.
        max: usize,
        /// What was read before the limit hit.
        context: Option<Box<Context>>,
    },
    /// The SIP-Version is not SIP/2.0 (RFC 4475 §3.1.2.16: answer 505).
    #[error("unsupported SIP version {version:?}")]
    Version {
        /// The version as written.
        version: String,
        /// What was read of the message.
        context: Option<Box<Context>>,
    },
    /// Syntactically invalid.
    #[error("invalid {part}: {reason}")]
    Invalid {
        /// Where.
        part: Part,
        /// Why.
        reason: &'static str,
        /// What was read of the message.
        context: Option<Box<Context>>,
    },
    /// A header the message must carry is missing (RFC 3261 §8.1.1).
    #[error("missing {0} header")]
    Missing(HeaderName, Option<Box<Context>>),
    /// The CSeq method differs from the request method (RFC 4475
    /// §3.1.2.17).
    #[error("CSeq method {cseq} does not match request method {method}")]
    MethodMismatch {
        /// Request-line method.
        method: Method,
        /// CSeq method.
        cseq: Method,
        /// What was read of the message.
        context: Option<Box<Context>>,
    },
    /// The Request-URI scheme is not one we serve (RFC 3261 §8.2.2.1: 416).
    #[error("unsupported URI scheme {0:?}")]
    UnsupportedScheme(String, Option<Box<Context>>),
}

impl ParseError {
    pub(crate) fn invalid(part: Part, reason: &'static str) -> Self {
        Self::Invalid {
            part,
            reason,
            context: None,
        }
    }

    pub(crate) fn header(name: HeaderName, reason: &'static str) -> Self {
        Self::invalid(Part::Header(name), reason)
    }

    /// What was read of the message, when the start line could be read.
    pub fn context(&self) -> Option<&Context> {
        match self {
            Self::Limit { context, .. }
            | Self::Version { context, .. }
            | Self::Invalid { context, .. }
            | Self::Missing(_, context)
            | Self::MethodMismatch { context, .. }
            | Self::UnsupportedScheme(_, context) => context.as_deref(),
            Self::NotSip(_) | Self::Truncated(_) => None,
        }
    }

    /// True when the input was a request whose start line and at least one
    /// Via could be read: the caller should answer with
    /// `StatusCode::from(&err)` (see [`crate::Response::for_error`]).
    /// False for garbage and for responses: drop those silently.
    pub fn is_request_recognised(&self) -> bool {
        self.context()
            .is_some_and(|c| c.is_request && !c.via.is_empty())
    }

    pub(crate) fn with_context(mut self, ctx: impl FnOnce() -> Context) -> Self {
        let slot = match &mut self {
            Self::Limit { context, .. }
            | Self::Version { context, .. }
            | Self::Invalid { context, .. }
            | Self::Missing(_, context)
            | Self::MethodMismatch { context, .. }
            | Self::UnsupportedScheme(_, context) => context,
            Self::NotSip(_) | Self::Truncated(_) => return self,
        };
        if slot.is_none() {
            *slot = Some(Box::new(ctx()));
        }
        self
    }
}

impl From<&ParseError> for StatusCode {
    /// The response a UAS or proxy sends for this error (RFC 3261 §21,
    /// RFC 4475 §3.1.2).
    fn from(e: &ParseError) -> Self {
        match e {
            ParseError::Version { .. } => Self::VERSION_NOT_SUPPORTED,
            ParseError::Limit { limit, .. } => match limit {
                Limit::UriLength => Self::REQUEST_URI_TOO_LONG,
                // A Via list that long is a loop or an attack.
                Limit::ViaCount => Self::TOO_MANY_HOPS,
                _ => Self::MESSAGE_TOO_LARGE,
            },
            ParseError::UnsupportedScheme(..) => Self::UNSUPPORTED_URI_SCHEME,
            _ => Self::BAD_REQUEST,
        }
    }
}
