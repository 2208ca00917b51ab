//! Shared helpers for the layer tests: a virtual clock, message templates
//! and queue drains.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use outpost_sip::{Limits, Message, parse};
use outpost_txn::{Event, TransactionLayer, Transmit};

/// The driver's destination in these tests: a peer name and a flow id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub addr: &'static str,
    pub flow: u32,
}

pub const ALICE: Peer = Peer {
    addr: "192.0.2.10:5060",
    flow: 1,
};
pub const BOB: Peer = Peer {
    addr: "198.51.100.20:5060",
    flow: 2,
};

/// A virtual clock: a fixed origin plus offsets in milliseconds.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub t0: Instant,
}

impl Clock {
    // The one clock read in the tests: an arbitrary origin for virtual
    // time, which only ever advances by explicit offsets.
    #[allow(clippy::disallowed_methods)]
    pub fn new() -> Self {
        Self { t0: Instant::now() }
    }

    pub fn ms(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    pub fn offset(&self, at: Instant) -> u64 {
        u64::try_from(at.duration_since(self.t0).as_millis()).expect("test offsets fit in u64")
    }
}

/// Parses a test message written with `\n` line ends.
pub fn msg(text: &str) -> Message {
    let wire = text.replace("\r\n", "\n").replace('\n', "\r\n");
    parse(Bytes::from(wire), &Limits::default()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A request template; fields are what the matching rules look at.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: &'static str,
    pub uri: &'static str,
    pub transport: &'static str,
    pub sent_by: &'static str,
    pub branch: Option<&'static str>,
    pub call_id: &'static str,
    pub cseq: u32,
    pub cseq_method: Option<&'static str>,
    pub from_tag: &'static str,
    pub to_tag: Option<&'static str>,
    pub routes: &'static [&'static str],
    pub body: &'static str,
}

impl Req {
    pub fn new(method: &'static str) -> Self {
        Self {
            method,
            uri: "sip:bob@biloxi.example.com",
            transport: "UDP",
            sent_by: "pc33.atlanta.example.com:5060",
            branch: Some("z9hG4bK776asdhds"),
            call_id: "a84b4c76e66710@pc33.atlanta.example.com",
            cseq: 314_159,
            cseq_method: None,
            from_tag: "1928301774",
            to_tag: None,
            routes: &[],
            body: "",
        }
    }

    pub fn invite() -> Self {
        Self::new("INVITE")
    }

    pub fn branch(mut self, branch: Option<&'static str>) -> Self {
        self.branch = branch;
        self
    }

    pub fn method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }

    pub fn with_to_tag(mut self, tag: Option<&'static str>) -> Self {
        self.to_tag = tag;
        self
    }

    pub fn via(&self) -> String {
        let branch = self
            .branch
            .map(|b| format!(";branch={b}"))
            .unwrap_or_default();
        format!("SIP/2.0/{} {}{branch}", self.transport, self.sent_by)
    }

    pub fn from(&self) -> String {
        format!(
            "Alice <sip:alice@atlanta.example.com>;tag={}",
            self.from_tag
        )
    }

    pub fn to(&self) -> String {
        match self.to_tag {
            Some(tag) => format!("Bob <sip:bob@biloxi.example.com>;tag={tag}"),
            None => "Bob <sip:bob@biloxi.example.com>".into(),
        }
    }

    pub fn text(&self) -> String {
        let mut s = format!("{} {} SIP/2.0\n", self.method, self.uri);
        s += &format!("Via: {}\n", self.via());
        s += "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKouter\n";
        s += "Max-Forwards: 70\n";
        for route in self.routes {
            s += &format!("Route: {route}\n");
        }
        s += &format!("From: {}\n", self.from());
        s += &format!("To: {}\n", self.to());
        s += &format!("Call-ID: {}\n", self.call_id);
        s += &format!(
            "CSeq: {} {}\n",
            self.cseq,
            self.cseq_method.unwrap_or(self.method)
        );
        s += "Contact: <sip:alice@pc33.atlanta.example.com>\n";
        s += "X-Custom: kept\n";
        s += &format!("Content-Length: {}\n\n{}", self.body.len(), self.body);
        s
    }

    pub fn build(&self) -> Message {
        msg(&self.text())
    }

    /// A response to this request, with `to_tag` added to To.
    pub fn response(&self, status: u16, to_tag: Option<&str>) -> Message {
        let reason = match status {
            100 => "Trying",
            180 => "Ringing",
            200 => "OK",
            404 => "Not Found",
            486 => "Busy Here",
            _ => "Whatever",
        };
        let to = match to_tag.or(self.to_tag) {
            Some(tag) => format!("Bob <sip:bob@biloxi.example.com>;tag={tag}"),
            None => "Bob <sip:bob@biloxi.example.com>".into(),
        };
        let mut s = format!("SIP/2.0 {status} {reason}\n");
        s += &format!("Via: {}\n", self.via());
        s += "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKouter\n";
        s += &format!("From: {}\n", self.from());
        s += &format!("To: {to}\n");
        s += &format!("Call-ID: {}\n", self.call_id);
        s += &format!(
            "CSeq: {} {}\n",
            self.cseq,
            self.cseq_method.unwrap_or(self.method)
        );
        s += "Content-Length: 0\n\n";
        msg(&s)
    }

    /// The ACK a well-behaved UAC sends for a non-2xx final response that
    /// carried `to_tag` (same branch, RFC 3261 §17.1.1.3).
    pub fn ack(&self, to_tag: Option<&'static str>) -> Message {
        let mut ack = self.clone().method("ACK").with_to_tag(to_tag);
        ack.body = "";
        ack.build()
    }
}

pub fn transmits<D>(layer: &mut TransactionLayer<D>) -> Vec<Transmit<D>>
where
    D: Clone,
{
    std::iter::from_fn(|| layer.poll_transmit()).collect()
}

pub fn events<D>(layer: &mut TransactionLayer<D>) -> Vec<Event<D>>
where
    D: Clone,
{
    std::iter::from_fn(|| layer.poll_event()).collect()
}

/// Transmits and events, each with its time in ms since the clock's origin.
pub type Timeline<D> = (Vec<(u64, Transmit<D>)>, Vec<(u64, Event<D>)>);

/// Jumps from deadline to deadline up to `until` and returns the transmits
/// (with their time in ms) and events seen on the way.
pub fn run_until<D: Clone>(
    layer: &mut TransactionLayer<D>,
    clock: Clock,
    until: Instant,
) -> Timeline<D> {
    let mut sent = Vec::new();
    let mut seen = Vec::new();
    while let Some(at) = layer.poll_timeout() {
        if at > until {
            break;
        }
        layer.handle_timeout(at);
        let t = clock.offset(at);
        sent.extend(transmits(layer).into_iter().map(|x| (t, x)));
        seen.extend(events(layer).into_iter().map(|e| (t, e)));
    }
    (sent, seen)
}

/// The first line of a transmitted message.
pub fn start_line(bytes: &Bytes) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines().next().unwrap_or_default().to_owned()
}
