//! From bytes to the SIP core: parse, validate, and answer what must be
//! answered right here — malformed requests (400 and friends, RFC 4475) and
//! requests that arrive while the core's queue is full (503 with
//! Retry-After, SIG-10). Garbage that is not a recognisable request is
//! dropped without an answer.
//!
//! Runs on the transport tasks, so parsing is spread over every core.

use bytes::Bytes;
use outpost_sip::framing::FramingError;
use outpost_sip::{HeaderName, Limits, Message, Method, ParseError, Request, Response, StatusCode};
use tokio::sync::mpsc;
use tracing::debug;

use super::Flow;

/// A parsed, validated message on its way to the SIP core.
#[derive(Debug)]
pub struct Inbound {
    /// Where it came from.
    pub flow: Flow,
    /// The message.
    pub message: Message,
}

/// What the transport does after a message was handed in.
#[derive(Debug)]
pub enum Verdict {
    /// Queued for the core.
    Delivered,
    /// Nothing to do (dropped, counted and logged at debug level).
    Dropped,
    /// Answer a keep-alive ping.
    Pong,
    /// Send this reply on the same flow.
    Reply(Bytes),
    /// Send this reply, then close the connection (stream out of sync).
    ReplyAndClose(Bytes),
    /// Close the connection.
    Close,
}

/// The entry into the SIP core, shared by every transport task.
#[derive(Clone)]
pub struct Ingress {
    guard: Option<crate::guard_runtime::SharedGuard>,
    limits: Limits,
    core: mpsc::Sender<Inbound>,
    closed: Option<mpsc::Sender<Flow>>,
    retry_after_secs: u32,
}

impl Ingress {
    /// An ingress parsing with `limits` into `core`.
    pub fn new(limits: Limits, core: mpsc::Sender<Inbound>, retry_after_secs: u32) -> Self {
        Self {
            guard: None,
            limits,
            core,
            closed: None,
            retry_after_secs,
        }
    }

    /// Checks every public-side source with the guard before parsing
    /// (SEC-1..SEC-4): a denied source costs one lookup and gets nothing.
    #[must_use]
    pub fn with_guard(mut self, guard: crate::guard_runtime::SharedGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// The guard's verdict on a public-side source; the private side (the
    /// iPBX's LAN) is not filtered.
    pub fn admits(&self, flow: &Flow) -> bool {
        match (&self.guard, flow.side) {
            (Some(guard), crate::config::Side::Public) => {
                guard.check_source(flow.peer.ip()).is_admit()
            }
            _ => true,
        }
    }

    /// Also tells the core, through `closed`, when a connection ends.
    #[must_use]
    pub fn with_closed(mut self, closed: mpsc::Sender<Flow>) -> Self {
        self.closed = Some(closed);
        self
    }

    /// A TCP/TLS connection ended. Best effort: if the queue is full the
    /// core learns it at its next send on that flow.
    pub fn flow_closed(&self, flow: Flow) {
        if let Some(closed) = &self.closed {
            let _ = closed.try_send(flow);
        }
    }

    /// A UDP datagram: one message, or a keep-alive, or garbage.
    pub fn datagram(&self, flow: Flow, bytes: Bytes) -> Verdict {
        if bytes.iter().all(|b| matches!(b, b'\r' | b'\n' | 0)) {
            // CRLF keep-alives (and STUN-less NAT pokes) on UDP need no answer.
            return Verdict::Dropped;
        }
        if !self.admits(&flow) {
            return Verdict::Dropped;
        }
        self.message(flow, bytes)
    }

    /// A complete message cut from a stream by the framer.
    pub fn stream_message(&self, flow: Flow, bytes: Bytes) -> Verdict {
        if !self.admits(&flow) {
            return Verdict::Close;
        }
        self.message(flow, bytes)
    }

    /// The stream could not be framed: answer 400 (or 513 when too large)
    /// when the header section shows a request, then close.
    pub fn framing_error(&self, flow: Flow, error: &FramingError) -> Verdict {
        count(&flow, "framing");
        debug!(side = %flow.side, peer = %flow.peer, %error, "stream framing error");
        let status = match error {
            FramingError::MessageTooLarge { .. } | FramingError::HeaderTooLarge { .. } => {
                StatusCode(513)
            }
            _ => StatusCode(400),
        };
        let reply = error.head().and_then(|head| {
            match outpost_sip::parse(head.clone(), &Limits::relaxed()) {
                Ok(message) => message
                    .into_request()
                    .ok()
                    .filter(|request| request.method() != &Method::Ack)
                    .map(|request| {
                        Response::for_request(&request, status, &error.to_string(), None)
                    }),
                // The header section itself is malformed (e.g. the
                // Content-Length value): answer what the parser says.
                Err(parse_error) => Response::for_error(&parse_error, None).filter(|_| {
                    parse_error.context().and_then(|c| c.method.as_ref()) != Some(&Method::Ack)
                }),
            }
        });
        match reply {
            Some(response) => Verdict::ReplyAndClose(response.as_bytes().clone()),
            None => Verdict::Close,
        }
    }

    fn message(&self, flow: Flow, bytes: Bytes) -> Verdict {
        let parsed = outpost_sip::parse(bytes, &self.limits).and_then(|m| m.validate().map(|()| m));
        let message = match parsed {
            Ok(message) => message,
            Err(error) => return self.malformed(flow, &error),
        };
        let is_request = message.is_request();
        metrics::counter!(
            "outpost_sip_messages_received_total",
            "side" => flow.side.as_str(),
            "transport" => flow.transport.as_str(),
            "kind" => if is_request { "request" } else { "response" }
        )
        .increment(1);
        match self.core.try_send(Inbound { flow, message }) {
            Ok(()) => Verdict::Delivered,
            Err(mpsc::error::TrySendError::Full(Inbound { message, .. })) => {
                self.saturated(flow, message)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Verdict::Dropped,
        }
    }

    fn malformed(&self, flow: Flow, error: &ParseError) -> Verdict {
        count(&flow, "malformed");
        match Response::for_error(error, None) {
            // ACKs are never answered (RFC 3261 §17.2.1).
            Some(response)
                if error.context().and_then(|c| c.method.as_ref()) != Some(&Method::Ack) =>
            {
                debug!(side = %flow.side, peer = %flow.peer, %error, status = %StatusCode::from(error), "malformed request answered");
                Verdict::Reply(response.as_bytes().clone())
            }
            _ => {
                debug!(side = %flow.side, peer = %flow.peer, %error, "unparseable input dropped");
                Verdict::Dropped
            }
        }
    }

    /// SIG-10: the core is saturated; refuse new work cheaply right here.
    fn saturated(&self, flow: Flow, message: Message) -> Verdict {
        count(&flow, "overload");
        match message.into_request() {
            Ok(request) if request.method() != &Method::Ack => {
                Verdict::Reply(service_unavailable(&request, self.retry_after_secs))
            }
            _ => Verdict::Dropped,
        }
    }
}

/// A 503 with Retry-After for `request` (RFC 3261 §21.5.4).
pub fn service_unavailable(request: &Request, retry_after_secs: u32) -> Bytes {
    let retry = retry_after_secs.to_string();
    crate::replies::reply(
        request,
        StatusCode(503),
        "Service Unavailable",
        None,
        &[(HeaderName::RetryAfter, &retry)],
    )
    .as_bytes()
    .clone()
}

fn count(flow: &Flow, reason: &'static str) {
    metrics::counter!(
        "outpost_sip_rejected_total",
        "side" => flow.side.as_str(),
        "transport" => flow.transport.as_str(),
        "reason" => reason
    )
    .increment(1);
}
