//! The `ctrl_tcp` client: netstring-framed JSON commands, responses and
//! events, read by a background thread into a shared list.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long a `ctrl_tcp` command may take to be answered.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// Kinds of `ctrl_tcp` events the tests care about.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `REGISTERING`
    Registering,
    /// `REGISTER_OK`
    RegisterOk,
    /// `REGISTER_FAIL`
    RegisterFail,
    /// `UNREGISTERING`
    Unregistering,
    /// `CALL_INCOMING`
    CallIncoming,
    /// `CALL_RINGING`
    CallRinging,
    /// `CALL_PROGRESS`
    CallProgress,
    /// `CALL_ESTABLISHED`
    CallEstablished,
    /// `CALL_CLOSED`
    CallClosed,
    /// Any other `type`.
    Other(String),
}

impl EventKind {
    /// Parses a `type` value.
    pub fn parse(s: &str) -> Self {
        match s {
            "REGISTERING" => Self::Registering,
            "REGISTER_OK" => Self::RegisterOk,
            "REGISTER_FAIL" => Self::RegisterFail,
            "UNREGISTERING" => Self::Unregistering,
            "CALL_INCOMING" => Self::CallIncoming,
            "CALL_RINGING" => Self::CallRinging,
            "CALL_PROGRESS" => Self::CallProgress,
            "CALL_ESTABLISHED" => Self::CallEstablished,
            "CALL_CLOSED" => Self::CallClosed,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The `type` value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Registering => "REGISTERING",
            Self::RegisterOk => "REGISTER_OK",
            Self::RegisterFail => "REGISTER_FAIL",
            Self::Unregistering => "UNREGISTERING",
            Self::CallIncoming => "CALL_INCOMING",
            Self::CallRinging => "CALL_RINGING",
            Self::CallProgress => "CALL_PROGRESS",
            Self::CallEstablished => "CALL_ESTABLISHED",
            Self::CallClosed => "CALL_CLOSED",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `ctrl_tcp` event.
#[derive(Clone, Debug)]
pub struct Event {
    /// Its `type`.
    pub kind: EventKind,
    /// `class` (`register`, `call`, `other`...).
    pub class: String,
    /// `accountaor`.
    pub account_aor: String,
    /// `direction` of the call (`incoming`/`outgoing`), if any.
    pub direction: String,
    /// `peeruri`, if any.
    pub peer_uri: String,
    /// Call `id`, if any.
    pub id: String,
    /// `param` (e.g. `200 OK`, `403 Forbidden`, a close reason).
    pub param: String,
    /// When it was received.
    pub at: Instant,
    /// The whole JSON object.
    pub raw: Value,
}

impl Event {
    fn from_json(raw: Value) -> Self {
        let s = |k: &str| {
            raw.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Self {
            kind: EventKind::parse(&s("type")),
            class: s("class"),
            account_aor: s("accountaor"),
            direction: s("direction"),
            peer_uri: s("peeruri"),
            id: s("id"),
            param: s("param"),
            at: Instant::now(),
            raw,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if !self.param.is_empty() {
            write!(f, " ({})", self.param)?;
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct CtrlState {
    /// Every event received, in order, and whether a wait took it.
    events: Vec<(Event, bool)>,
    responses: VecDeque<Value>,
    /// Why the connection ended, once it has.
    closed: Option<String>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<CtrlState>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, CtrlState> {
        // A poisoned lock only means a reader panicked mid-push; the data
        // is still a list of events.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits on the condition variable until `deadline` at most.
    fn wait<'a>(
        &self,
        guard: MutexGuard<'a, CtrlState>,
        deadline: Instant,
    ) -> MutexGuard<'a, CtrlState> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.changed
            .wait_timeout(guard, left)
            .map(|(g, _)| g)
            .unwrap_or_else(|e| e.into_inner().0)
    }
}

/// A connection to one baresip's `ctrl_tcp`. Errors are plain messages;
/// the phone adds its name and log.
#[derive(Debug)]
pub(crate) struct Ctrl {
    writer: TcpStream,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
    next_token: AtomicU64,
}

/// Connects to `addr` from inside network namespace `netns`.
pub(crate) fn connect_in_netns(netns: &str, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let path = PathBuf::from("/run/netns").join(netns);
    std::thread::spawn(move || -> std::io::Result<TcpStream> {
        let ns = File::open(&path)?;
        rustix::thread::move_into_link_name_space(
            ns.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )?;
        // This thread now lives in the phone's namespace and ends here;
        // the socket stays bound to that namespace.
        TcpStream::connect_timeout(&addr, Duration::from_secs(2))
    })
    .join()
    .map_err(|_| std::io::Error::other("connect thread panicked"))?
}

fn read_netstring(r: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut len_bytes = Vec::new();
    r.read_until(b':', &mut len_bytes)?;
    if len_bytes.pop() != Some(b':') {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let len: usize = std::str::from_utf8(&len_bytes)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&n| n <= 1 << 20)
        .ok_or_else(|| std::io::Error::other(format!("bad netstring length {len_bytes:?}")))?;
    let mut body = vec![0; len + 1];
    r.read_exact(&mut body)?;
    if body.pop() != Some(b',') {
        return Err(std::io::Error::other("netstring without trailing comma"));
    }
    Ok(body)
}

fn reader_loop(stream: TcpStream, shared: &Shared) {
    let mut r = BufReader::new(stream);
    let reason = loop {
        match read_netstring(&mut r) {
            Ok(body) => match serde_json::from_slice::<Value>(&body) {
                Ok(v) if v.get("event").is_some() => {
                    shared.lock().events.push((Event::from_json(v), false));
                }
                Ok(v) if v.get("response").is_some() => shared.lock().responses.push_back(v),
                Ok(_) => {}
                Err(e) => break format!("bad JSON from ctrl_tcp: {e}"),
            },
            Err(e) => break format!("ctrl_tcp connection ended: {e}"),
        }
        shared.changed.notify_all();
    };
    shared.lock().closed = Some(reason);
    shared.changed.notify_all();
}

impl Ctrl {
    /// Starts the reader thread on `stream`.
    pub(crate) fn new(stream: TcpStream, thread_name: String) -> std::io::Result<Self> {
        let read_half = stream.try_clone()?;
        let shared = Arc::new(Shared::default());
        let reader_shared = Arc::clone(&shared);
        let reader = std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || reader_loop(read_half, &reader_shared))?;
        Ok(Self {
            writer: stream,
            shared,
            reader: Some(reader),
            next_token: AtomicU64::new(1),
        })
    }

    /// Sends a command and waits for the response with its token; returns
    /// its `data`, or why it failed (`"ok": false`, closed, timeout).
    pub(crate) fn command(&self, command: &str, params: &str) -> Result<String, String> {
        let token = format!("t{}", self.next_token.fetch_add(1, Ordering::Relaxed));
        let body = json!({ "command": command, "params": params, "token": token }).to_string();
        let frame = format!("{}:{body},", body.len());
        (&self.writer)
            .write_all(frame.as_bytes())
            .map_err(|e| format!("sending `{command}`: {e}"))?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        let mut state = self.shared.lock();
        loop {
            let pos = state
                .responses
                .iter()
                .position(|r| r.get("token").and_then(Value::as_str) == Some(token.as_str()));
            if let Some(response) = pos.and_then(|i| state.responses.remove(i)) {
                let data = response
                    .get("data")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                return if response.get("ok").and_then(Value::as_bool) == Some(true) {
                    Ok(data)
                } else {
                    Err(format!("`{command} {params}` refused: {}", data.trim()))
                };
            }
            if let Some(reason) = &state.closed {
                return Err(format!("`{command}` unanswered: {reason}"));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no response to `{command}` within {COMMAND_TIMEOUT:?}"
                ));
            }
            state = self.shared.wait(state, deadline);
        }
    }

    /// Every event received so far, in order.
    pub(crate) fn events(&self) -> Vec<Event> {
        self.shared
            .lock()
            .events
            .iter()
            .map(|(e, _)| e.clone())
            .collect()
    }

    /// The first event of one of `kinds` not yet returned by a wait; the
    /// error lists all events seen.
    pub(crate) fn wait_any(&self, kinds: &[EventKind], timeout: Duration) -> Result<Event, String> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if let Some((event, taken)) = state
                .events
                .iter_mut()
                .find(|(e, taken)| !*taken && kinds.contains(&e.kind))
            {
                *taken = true;
                return Ok(event.clone());
            }
            let timed_out = Instant::now() >= deadline;
            if timed_out || state.closed.is_some() {
                let seen = state
                    .events
                    .iter()
                    .map(|(e, _)| e.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let names = kinds
                    .iter()
                    .map(EventKind::as_str)
                    .collect::<Vec<_>>()
                    .join(" or ");
                let why = match &state.closed {
                    Some(reason) if !timed_out => format!("never: {reason}"),
                    _ => format!("not within {timeout:?}"),
                };
                return Err(format!("waited for {names}: {why}; events seen: [{seen}]"));
            }
            state = self.shared.wait(state, deadline);
        }
    }
}

impl Drop for Ctrl {
    fn drop(&mut self) {
        let _ = self.writer.shutdown(Shutdown::Both);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn netstrings() {
        let mut r = BufReader::new(&b"5:hello,0:,3:abc"[..]);
        assert_eq!(read_netstring(&mut r).unwrap(), b"hello");
        assert_eq!(read_netstring(&mut r).unwrap(), b"");
        assert!(read_netstring(&mut r).is_err());
        let mut bad = BufReader::new(&b"x:hello,"[..]);
        assert!(read_netstring(&mut bad).is_err());
    }

    #[test]
    fn events_parse() {
        let e = Event::from_json(
            json!({"event":true,"type":"REGISTER_FAIL","class":"register",
            "accountaor":"sip:1001@x","param":"403 Forbidden"}),
        );
        assert_eq!(e.kind, EventKind::RegisterFail);
        assert_eq!(e.to_string(), "REGISTER_FAIL (403 Forbidden)");
        assert_eq!(
            EventKind::parse("CALL_RTCP"),
            EventKind::Other("CALL_RTCP".into())
        );
    }

    /// A fake `ctrl_tcp` server: answers one command, sends events, closes.
    #[test]
    fn commands_and_events_over_a_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let cmd: Value = serde_json::from_slice(&read_netstring(&mut r).unwrap()).unwrap();
            assert_eq!(cmd["command"], "dial");
            assert_eq!(cmd["params"], "sip:1002@x");
            let send = |s: &mut TcpStream, v: Value| {
                let b = v.to_string();
                s.write_all(format!("{}:{b},", b.len()).as_bytes()).unwrap();
            };
            send(
                &mut s,
                json!({"event":true,"type":"CALL_RINGING","class":"call"}),
            );
            send(
                &mut s,
                json!({"response":true,"ok":true,"data":"","token":cmd["token"]}),
            );
            send(
                &mut s,
                json!({"event":true,"type":"CALL_CLOSED","param":"bye"}),
            );
            let cmd: Value = serde_json::from_slice(&read_netstring(&mut r).unwrap()).unwrap();
            send(
                &mut s,
                json!({"response":true,"ok":false,"data":"no call\n","token":cmd["token"]}),
            );
            let mut rest = Vec::new();
            let _ = r.read_to_end(&mut rest);
        });
        let ctrl = Ctrl::new(TcpStream::connect(addr).unwrap(), "t".into()).unwrap();
        assert_eq!(ctrl.command("dial", "sip:1002@x").unwrap(), "");
        let closed = ctrl
            .wait_any(&[EventKind::CallClosed], Duration::from_secs(5))
            .unwrap();
        assert_eq!(closed.param, "bye");
        let err = ctrl.command("hangup", "").unwrap_err();
        assert!(err.contains("refused: no call"), "{err}");
        // Each event is returned once; the error lists what was seen.
        let err = ctrl
            .wait_any(&[EventKind::CallClosed], Duration::from_millis(50))
            .unwrap_err();
        assert!(err.contains("CALL_RINGING, CALL_CLOSED (bye)"), "{err}");
        assert_eq!(ctrl.events().len(), 2);
        drop(ctrl);
        server.join().unwrap();
    }
}
