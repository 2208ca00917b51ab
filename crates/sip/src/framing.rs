//! Stream framing (RFC 3261 §18.3): on TCP and TLS a message ends where its
//! Content-Length says, so the header `Content-Length` is mandatory there;
//! RFC 5626 §3.5.1 keep-alives (a double CRLF "ping", answered by a single
//! CRLF "pong") travel between messages.
//!
//! This module only cuts a byte stream into frames; it does not parse the
//! message (see [`crate::parse`]) and does no I/O. Datagram transports need
//! no framing: one datagram is one message.

use bytes::{Buf, Bytes, BytesMut};

/// One unit cut from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A double CRLF keep-alive: answer it with [`PONG`].
    Ping,
    /// A single CRLF between messages (a pong, or tolerated stray line
    /// ending, RFC 3261 §7.5): nothing to do.
    Pong,
    /// A complete message: the header section and exactly Content-Length
    /// bytes of body.
    Message(Bytes),
}

/// The keep-alive answer to a [`Frame::Ping`].
pub const PONG: &[u8] = b"\r\n";

/// Why a stream cannot be framed. Every variant means the connection can no
/// longer be trusted to be in sync; the caller answers 400 when it can
/// (see [`FramingError::head`]) and closes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// No Content-Length header on a stream transport.
    #[error("Content-Length is missing; it is mandatory on stream transports (RFC 3261 §18.3)")]
    MissingContentLength {
        /// The header section, to build a 400 from.
        head: Bytes,
    },
    /// Content-Length is not a number, or several disagree.
    #[error("Content-Length {value:?} is not a valid length")]
    InvalidContentLength {
        /// The offending value.
        value: String,
        /// The header section, to build a 400 from.
        head: Bytes,
    },
    /// The header section is longer than the message size limit.
    #[error("header section exceeds {limit} bytes without an empty line")]
    HeaderTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The declared message (header section + body) is over the limit.
    #[error("message of {size} bytes exceeds the {limit}-byte limit")]
    MessageTooLarge {
        /// Declared size.
        size: usize,
        /// The limit.
        limit: usize,
        /// The header section, to build a 413 from.
        head: Bytes,
    },
}

impl FramingError {
    /// The header section of the offending message, when it was read whole.
    pub fn head(&self) -> Option<&Bytes> {
        match self {
            Self::MissingContentLength { head }
            | Self::InvalidContentLength { head, .. }
            | Self::MessageTooLarge { head, .. } => Some(head),
            Self::HeaderTooLarge { .. } => None,
        }
    }
}

/// Cuts the next frame from the front of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed. `max_message` bounds the
/// header section plus body, so a peer cannot make the buffer grow without
/// limit.
pub fn next_frame(buf: &mut BytesMut, max_message: usize) -> Result<Option<Frame>, FramingError> {
    if buf.starts_with(b"\r\n\r\n") {
        buf.advance(4);
        return Ok(Some(Frame::Ping));
    }
    if buf.starts_with(b"\r\n") {
        if buf.len() < 4 && b"\r\n\r\n".starts_with(buf) {
            // Could still become a ping.
            return Ok(None);
        }
        buf.advance(2);
        return Ok(Some(Frame::Pong));
    }
    let Some(blank) = memchr::memmem::find(buf, b"\r\n\r\n") else {
        if buf.len() > max_message {
            return Err(FramingError::HeaderTooLarge { limit: max_message });
        }
        return Ok(None);
    };
    let head_len = blank + 4;
    if head_len > max_message {
        return Err(FramingError::HeaderTooLarge { limit: max_message });
    }
    let head = &buf[..head_len];
    let body_len = match content_length(head) {
        Ok(Some(len)) => len,
        Ok(None) => {
            return Err(FramingError::MissingContentLength {
                head: Bytes::copy_from_slice(head),
            });
        }
        Err(value) => {
            return Err(FramingError::InvalidContentLength {
                value,
                head: Bytes::copy_from_slice(head),
            });
        }
    };
    let size = head_len.saturating_add(body_len);
    if size > max_message {
        return Err(FramingError::MessageTooLarge {
            size,
            limit: max_message,
            head: Bytes::copy_from_slice(head),
        });
    }
    if buf.len() < size {
        return Ok(None);
    }
    Ok(Some(Frame::Message(buf.split_to(size).freeze())))
}

/// Finds Content-Length (or its compact form `l`) in a header section.
/// `Ok(None)`: absent. `Err(value)`: present but not a valid length, or
/// several headers that disagree.
fn content_length(head: &[u8]) -> Result<Option<usize>, String> {
    let mut found: Option<usize> = None;
    // Skip the start line; header lines may be folded (a line starting with
    // SP or HTAB continues the previous one).
    let mut lines = head.split(|&b| b == b'\n').skip(1).peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let mut value = line[colon + 1..].to_vec();
        while let Some(next) = lines.peek() {
            if next.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                value.push(b' ');
                value.extend_from_slice(next.strip_suffix(b"\r").unwrap_or(next));
                lines.next();
            } else {
                break;
            }
        }
        let text = value.trim_ascii();
        let parsed = (!text.is_empty() && text.len() <= 10 && text.iter().all(u8::is_ascii_digit))
            .then(|| std::str::from_utf8(text).ok()?.parse::<usize>().ok())
            .flatten()
            .ok_or_else(|| String::from_utf8_lossy(text).into_owned())?;
        match found {
            Some(previous) if previous != parsed => {
                return Err(format!("{previous} and {parsed}"));
            }
            _ => found = Some(parsed),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 65_536;

    fn frames(input: &[u8]) -> (Vec<Frame>, BytesMut) {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(frame) = next_frame(&mut buf, MAX).unwrap() {
            out.push(frame);
        }
        (out, buf)
    }

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 4\r\n\r\nbody";

    #[test]
    fn cuts_messages_and_keepalives() {
        let mut input = b"\r\n\r\n".to_vec();
        input.extend_from_slice(OPTIONS);
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(OPTIONS);
        input.extend_from_slice(&OPTIONS[..10]);
        let (got, rest) = frames(&input);
        assert_eq!(
            got,
            vec![
                Frame::Ping,
                Frame::Message(Bytes::from_static(OPTIONS)),
                Frame::Pong,
                Frame::Message(Bytes::from_static(OPTIONS)),
            ]
        );
        assert_eq!(&rest[..], &OPTIONS[..10]);
    }

    #[test]
    fn waits_for_the_whole_body_and_for_a_possible_ping() {
        let (got, rest) = frames(&OPTIONS[..OPTIONS.len() - 1]);
        assert!(got.is_empty());
        assert_eq!(rest.len(), OPTIONS.len() - 1);
        let (got, _) = frames(b"\r\n\r");
        assert!(got.is_empty());
    }

    #[test]
    fn compact_and_folded_content_length() {
        let msg = b"BYE sip:a@b SIP/2.0\r\nl:\r\n  2\r\n\r\nhi";
        let (got, rest) = frames(msg);
        assert_eq!(got, vec![Frame::Message(Bytes::from_static(msg))]);
        assert!(rest.is_empty());
    }

    #[test]
    fn missing_invalid_and_conflicting_lengths_are_errors() {
        let mut buf = BytesMut::from(&b"BYE sip:a@b SIP/2.0\r\nVia: x\r\n\r\n"[..]);
        let err = next_frame(&mut buf, MAX).unwrap_err();
        assert!(matches!(err, FramingError::MissingContentLength { .. }));
        assert!(err.head().is_some());
        for bad in ["-1", "abc", "1 2", "99999999999", ""] {
            let text = format!("BYE sip:a@b SIP/2.0\r\nContent-Length: {bad}\r\n\r\n");
            let mut buf = BytesMut::from(text.as_bytes());
            assert!(
                matches!(
                    next_frame(&mut buf, MAX),
                    Err(FramingError::InvalidContentLength { .. })
                ),
                "{bad:?}"
            );
        }
        let mut buf =
            BytesMut::from(&b"BYE sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab"[..]);
        assert!(matches!(
            next_frame(&mut buf, MAX),
            Err(FramingError::InvalidContentLength { .. })
        ));
    }

    #[test]
    fn size_limits_bound_the_buffer() {
        let mut buf = BytesMut::from(vec![b'a'; 100].as_slice());
        assert!(matches!(
            next_frame(&mut buf, 64),
            Err(FramingError::HeaderTooLarge { limit: 64 })
        ));
        let mut buf = BytesMut::from(&b"BYE sip:a@b SIP/2.0\r\nContent-Length: 1000\r\n\r\n"[..]);
        assert!(
            matches!(next_frame(&mut buf, 512), Err(FramingError::MessageTooLarge { size, .. }) if size > 1000)
        );
    }
}
