//! Outpost's SIP message layer: a zero-copy parser, the message model,
//! typed header values, an edit list and builders (RFC 3261 syntax in
//! full, SPEC SIG-3), plus digest authentication ([`auth`]) and stream
//! framing ([`framing`]).
//!
//! It does no I/O and reads no clock (ARCHITECTURE.md rule 1): bytes in,
//! messages out.
//!
//! # Design
//!
//! A [`Message`] is a `bytes::Bytes` buffer plus an index of header spans.
//! [`parse`] reads the start line eagerly (so the Request-URI and status
//! are always there), scans the header section once with `memchr` into
//! spans whose names are resolved through one table that includes the
//! compact forms ([`HeaderName::lookup`]), unfolds obs-folds logically
//! (they stay in the bytes and count as whitespace), and locates the body
//! by Content-Length. Typed values (Via, From, To, CSeq, Contact...) are
//! parsed on first access and cached in `OnceLock`s, so accessors take
//! `&self`. Unknown headers and the body are never touched: `as_bytes()`
//! of a parsed message is the input.
//!
//! Edits follow Kamailio's "lumps" without their pitfall: an [`Editor`]
//! records span operations, and [`Editor::apply`] consumes the message,
//! serialises once (fixing Content-Length) and returns the re-parsed
//! message, so later reads see the edits.
//!
//! `Request` and `Response` are newtypes over `Message` that `Deref` to it:
//! the accessors live in one place and a function can demand a request.
//!
//! Errors are one [`ParseError`] enum; `StatusCode::from(&err)` is the
//! response to send and [`ParseError::is_request_recognised`] says whether
//! to send it (a request whose start line and Via were read) or to drop
//! the input (garbage, responses). [`Response::for_error`] builds it.
//!
//! What the parser does not decide (RFC 4475 §3.3 "application-layer
//! semantics"): unknown Request-URI schemes parse as [`Scheme::Other`]
//! (a UAS answers 416, see [`Request::check_scheme`]); unknown Require
//! option-tags are read with [`Message::require`] (answer 420); unknown
//! content types are read with [`Message::content_type`] (answer 415);
//! Max-Forwards 0 is for the proxy to act on (483).
//!
//! # API
//!
//! ```text
//! parse(buf: Bytes, limits: &Limits) -> Result<Message, ParseError>
//! Message::{as_bytes, is_request, method, request_uri, status, reason, body,
//!           headers, header, header_all, call_id, cseq, vias, top_via, from,
//!           to, contacts, is_contact_wildcard, routes, record_routes,
//!           content_type, content_length, max_forwards, expires, require,
//!           supported, proxy_require, unsupported, allow, option_tags,
//!           name_addrs, validate, edit, into_request, into_response}
//! Via::{transport, host, port, branch, received, rport, maddr, ttl,
//!       has_magic_cookie, param, params}
//! NameAddr::{uri, display_name, tag, param, params, expires, q}
//! Uri::{parse, scheme, user, password, host, host_kind, port, param,
//!       params, transport, lr, headers, equivalent}
//! CSeq { seq: u32, method: Method }
//! Editor::{remove, remove_all, insert_before, insert_after, append,
//!          replace_value, prepend_via, set_request_uri, set_body, apply}
//! Request::builder(method, &uri).header(..).body(..).build()
//! Response::builder(status).reason(..).header(..).build()
//! Response::for_request(&request, status, reason, to_tag) -> Response
//! Response::for_error(&err, to_tag) -> Option<Response>
//! params(input, separator) -> iterator of name[=value] (auth-params too)
//! ```

#![forbid(unsafe_code)]

mod addr;
pub mod auth;
mod build;
mod edit;
mod error;
pub mod framing;
mod limits;
mod message;
mod method;
mod name;
mod parse;
mod text;
mod uri;
mod values;
mod via;

pub use addr::NameAddr;
pub use build::{RequestBuilder, ResponseBuilder};
pub use edit::Editor;
pub use error::{Context, ParseError, Part};
pub use limits::{Limit, Limits};
pub use message::{HeaderField, Message, Request, Response};
pub use method::{Method, StatusCode};
pub use name::HeaderName;
pub use parse::parse;
pub use text::{Param, Params, params, percent_decode, unquote};
pub use uri::{Host, Scheme, Uri};
pub use values::{CSeq, MediaType};
pub use via::{MAGIC_COOKIE, Via};
