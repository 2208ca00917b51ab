//! baresip 1.0.0 as a phone, driven through `ctrl_tcp`.
//!
//! A [`Phone`] gets its own configuration directory in the lab directory
//! (`config`, an empty `accounts`) and runs `baresip -f DIR` inside a host.
//! Only these modules are loaded:
//! - `g711` (PCMU/PCMA), `srtp` when [`PhoneConfig::mediaenc`] is set;
//! - `ausine` as the audio source: `audio_source ausine,<Hz>`. It only
//!   produces 48 kHz stereo, hence `ausrc_srate 48000` and
//!   `ausrc_channels 2` (baresip resamples to the codec's 8 kHz);
//! - `aubridge` as the audio player: `audio_player aubridge,nil` is a player
//!   device with no matching source, i.e. a null sink that needs no sound
//!   card (`aufile` has no player in 1.0.0);
//! - `sndfile`, an audio *filter* that writes what is encoded and what is
//!   decoded to WAV in `snd_path` (the phone's directory). In 1.0.0 the files
//!   are named `dump-YYYY-MM-DD-HH-MM-SS-enc.wav` (sent) and `...-dec.wav`
//!   (received; 8 kHz mono 16-bit for G.711), the time being the call's
//!   audio start, local time. Later baresip versions insert
//!   `<cname>=><peer>-` after `dump-`; [`Phone::recording`] accepts both;
//! - `menu` (it provides the `dial`, `accept`, `hangup`, `uanew` commands)
//!   and `ctrl_tcp` on `127.0.0.1:<ctrl_port>` inside the phone's namespace.
//!
//! `ctrl_tcp` speaks netstring-framed JSON: commands
//! `{"command":"dial","params":"sip:...","token":"..."}`, responses
//! `{"response":true,"ok":true,"data":"...","token":"..."}` and events
//! `{"event":true,"type":"CALL_INCOMING",...}`. It serves one client at a
//! time and sends events only to it, and baresip starts registering as soon
//! as an account is loaded, so the account is *not* in `accounts`: the
//! phone is created with the `uanew` command once our connection is up, and
//! no REGISTER_OK can be missed.
//!
//! The test process stays in the root namespace; it reaches the phone's
//! loopback by connecting from a short-lived thread that entered the
//! phone's network namespace (`setns`); the socket keeps that namespace.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::netns::Host;
use crate::process::Process;
use crate::tone::wav_seconds;
use crate::wait::wait_until_or;
use crate::{Result, TestbedError, log_tail, require_tools};

/// Where Debian puts baresip's modules.
pub const MODULE_DIR: &str = "/usr/lib/baresip/modules";

/// How long a `ctrl_tcp` command may take to be answered.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`Phone::start`] waits for `ctrl_tcp` to accept.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// SIP transport of a phone's account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS.
    Tls,
}

impl Transport {
    /// The `transport=` URI parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }
}

/// Media encryption of a phone's account (`mediaenc=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaEnc {
    /// SDES-SRTP offered, RTP accepted (`srtp`).
    Srtp,
    /// SDES-SRTP required (`srtp-mand`).
    SrtpMandatory,
}

impl MediaEnc {
    /// The `mediaenc=` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Srtp => "srtp",
            Self::SrtpMandatory => "srtp-mand",
        }
    }
}

/// Which audio a recording holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// What the phone received and decoded (`*-dec.wav`).
    Received,
    /// What the phone encoded and sent (`*-enc.wav`).
    Sent,
}

impl Direction {
    fn suffix(self) -> &'static str {
        match self {
            Self::Received => "-dec.wav",
            Self::Sent => "-enc.wav",
        }
    }
}

/// How a phone is set up. Build with [`PhoneConfig::new`] and adjust fields.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct PhoneConfig {
    /// SIP user (the number).
    pub user: String,
    /// Digest password.
    pub password: String,
    /// Digest user name when it differs from `user`.
    pub auth_user: Option<String>,
    /// Domain of the address of record `sip:user@domain`.
    pub domain: String,
    /// Registrar and outbound proxy: every request goes there.
    pub server: SocketAddr,
    /// SIP transport toward `server`.
    pub transport: Transport,
    /// Register at start (`regint`); otherwise only calls are possible.
    pub register: bool,
    /// Registration interval (seconds) when `register`.
    pub regint: u32,
    /// Frequency of the sine sent in calls (`ausine`), 10..=20000 Hz.
    pub tone_hz: u32,
    /// Media encryption (`mediaenc`), loads the `srtp` module.
    pub mediaenc: Option<MediaEnc>,
    /// CA file to verify a TLS server with (`sip_cafile`).
    pub ca_file: Option<PathBuf>,
    /// Verify the TLS server's certificate. Written as `sip_verify_server`,
    /// which baresip 1.0.0 does not know (it ignores unknown keys; its
    /// verification is libre's default); later versions honour it.
    pub verify_server: bool,
    /// Local SIP port (`sip_listen`; TLS listens on the next port).
    pub sip_port: u16,
    /// `ctrl_tcp` port on the host's loopback.
    pub ctrl_port: u16,
    /// Local RTP port range (`rtp_ports`).
    pub rtp_ports: (u16, u16),
    /// Audio codecs offered, in order (`audio_codecs`).
    pub audio_codecs: String,
}

impl PhoneConfig {
    /// A UDP phone `user`/`password` registering at `server`, with the
    /// server's IP as domain, a 1000 Hz tone and PCMU.
    pub fn new(user: &str, password: &str, server: SocketAddr) -> Self {
        Self {
            user: user.to_owned(),
            password: password.to_owned(),
            auth_user: None,
            domain: server.ip().to_string(),
            server,
            transport: Transport::Udp,
            register: true,
            regint: 600,
            tone_hz: 1000,
            mediaenc: None,
            ca_file: None,
            verify_server: true,
            sip_port: 5060,
            ctrl_port: 4444,
            rtp_ports: (10000, 10999),
            audio_codecs: "PCMU".to_owned(),
        }
    }

    /// Sets the tone frequency.
    pub fn tone(mut self, hz: u32) -> Self {
        self.tone_hz = hz;
        self
    }

    /// Sets the transport.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Does not register.
    pub fn no_register(mut self) -> Self {
        self.register = false;
        self
    }

    /// The address of record, `sip:user@domain`.
    pub fn aor(&self) -> String {
        format!("sip:{}@{}", self.user, self.domain)
    }

    /// A SIP URI for `user` in this phone's domain (what to dial).
    pub fn uri_for(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.domain)
    }

    fn validate(&self) -> Result<()> {
        let safe = |what: &str, v: &str| {
            if v.is_empty()
                || v.chars()
                    .any(|c| c.is_whitespace() || "<>;\"\\,=".contains(c))
            {
                Err(TestbedError::Config(format!(
                    "phone {what} `{v}` must be non-empty without spaces or <>;\"\\,="
                )))
            } else {
                Ok(())
            }
        };
        safe("user", &self.user)?;
        safe("password", &self.password)?;
        safe("domain", &self.domain)?;
        if let Some(a) = &self.auth_user {
            safe("auth_user", a)?;
        }
        if !(10..=20000).contains(&self.tone_hz) {
            return Err(TestbedError::Config(format!(
                "phone tone {} Hz outside what ausine makes (10..=20000)",
                self.tone_hz
            )));
        }
        Ok(())
    }

    /// The account line given to `uanew`.
    pub fn account_line(&self) -> String {
        let t = self.transport.as_str();
        let mut line = format!(
            "<sip:{}@{};transport={t}>;auth_pass={};outbound=\"sip:{};transport={t}\"",
            self.user, self.domain, self.password, self.server
        );
        if let Some(a) = &self.auth_user {
            line.push_str(&format!(";auth_user={a}"));
        }
        let regint = if self.register { self.regint } else { 0 };
        line.push_str(&format!(
            ";regint={regint};answermode=manual;audio_codecs={}",
            self.audio_codecs
        ));
        if let Some(m) = self.mediaenc {
            line.push_str(&format!(";mediaenc={}", m.as_str()));
        }
        line
    }

    /// The `config` file for a phone bound to `bind` on interface `iface`,
    /// recording into `dir`.
    pub fn render_config(&self, bind: Ipv4Addr, iface: &str, dir: &Path) -> String {
        let mut c = String::new();
        let mut kv = |k: &str, v: &str| c.push_str(&format!("{k}\t{v}\n"));
        kv("poll_method", "epoll");
        kv("sip_listen", &format!("{bind}:{}", self.sip_port));
        if let Some(ca) = &self.ca_file {
            kv("sip_cafile", &ca.display().to_string());
        }
        kv(
            "sip_verify_server",
            if self.verify_server { "yes" } else { "no" },
        );
        kv("call_local_timeout", "120");
        kv("call_max_calls", "4");
        kv("audio_player", "aubridge,nil");
        kv("audio_alert", "aubridge,alert");
        kv("audio_source", &format!("ausine,{}", self.tone_hz));
        kv("ausrc_srate", "48000");
        kv("ausrc_channels", "2");
        kv("auplay_srate", "48000");
        kv("auplay_channels", "1");
        kv("audio_level", "no");
        for k in [
            "ausrc_format",
            "auplay_format",
            "auenc_format",
            "audec_format",
        ] {
            kv(k, "s16");
        }
        kv("audio_buffer", "20-160");
        kv(
            "rtp_ports",
            &format!("{}-{}", self.rtp_ports.0, self.rtp_ports.1),
        );
        kv("rtcp_mux", "no");
        kv("jitter_buffer_delay", "5-10");
        kv("rtp_stats", "no");
        kv("net_interface", iface);
        kv("module_path", MODULE_DIR);
        kv("module", "g711.so");
        kv("module", "sndfile.so");
        kv("module", "ausine.so");
        kv("module", "aubridge.so");
        if self.mediaenc.is_some() {
            kv("module", "srtp.so");
        }
        kv("module_app", "menu.so");
        kv("module_app", "ctrl_tcp.so");
        kv("ctrl_tcp_listen", &format!("127.0.0.1:{}", self.ctrl_port));
        kv("snd_path", &dir.display().to_string());
        kv("ringback_disabled", "yes");
        c
    }
}

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
    /// Every event received, in order, and whether `wait_event` took it.
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
}

/// A running baresip phone.
#[derive(Debug)]
pub struct Phone {
    name: String,
    config: PhoneConfig,
    dir: PathBuf,
    addr: Ipv4Addr,
    writer: TcpStream,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
    next_token: AtomicU64,
    // Last: dropped after the control connection is shut down.
    process: Process,
}

/// Connects to `addr` from inside network namespace `netns`.
fn connect_in_netns(netns: &str, addr: SocketAddr) -> std::io::Result<TcpStream> {
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

impl Phone {
    /// Writes the phone's configuration, starts baresip in `host`, connects
    /// to its `ctrl_tcp` and creates the account with `uanew` (which starts
    /// registering when [`PhoneConfig::register`]). Wait for
    /// [`Phone::wait_registered`] before calling.
    pub fn start(host: &Host, config: PhoneConfig) -> Result<Self> {
        require_tools(&["baresip"], "the baresip phones")?;
        config.validate()?;
        let name = format!("{}-{}", host.name(), config.user);
        let dir = host.lab().unique_path(&format!("phone-{name}"), "");
        std::fs::create_dir_all(&dir)
            .map_err(|e| TestbedError::io("creating the phone directory", &dir, e))?;
        let addr = host.ip();
        let iface = host.interface_of(addr).unwrap_or("eth0");
        for (file, text) in [
            ("config", config.render_config(addr, iface, &dir)),
            ("accounts", String::new()),
        ] {
            let path = dir.join(file);
            std::fs::write(&path, text)
                .map_err(|e| TestbedError::io("writing the baresip configuration", &path, e))?;
        }
        let mut cmd = host.command("baresip");
        cmd.arg("-f").arg(&dir);
        let mut process = host.spawn(cmd, &format!("baresip-{name}"))?;
        // On SIGTERM baresip unregisters first; do not wait long for that.
        process.set_stop_grace(Duration::from_secs(1));

        let ctrl = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, config.ctrl_port));
        let log = process.log_path().to_path_buf();
        let stream = wait_until_or(
            &format!("baresip ctrl_tcp on {ctrl} in {}", host.netns()),
            START_TIMEOUT,
            |note| {
                process.ensure_running("starting")?;
                match connect_in_netns(host.netns(), ctrl) {
                    Ok(s) => Ok(Some(s)),
                    Err(e) => {
                        *note = format!("last connect error: {e}");
                        Ok(None)
                    }
                }
            },
            || format!("last lines of {}:\n{}", log.display(), log_tail(&log)),
        )?;
        let read_half = stream
            .try_clone()
            .map_err(|e| TestbedError::io("cloning the ctrl_tcp socket", &log, e))?;
        let shared = Arc::new(Shared::default());
        let reader_shared = Arc::clone(&shared);
        let reader = std::thread::Builder::new()
            .name(format!("ctrl-{name}"))
            .spawn(move || reader_loop(read_half, &reader_shared))
            .map_err(|e| TestbedError::io("starting the ctrl_tcp reader", &log, e))?;
        let phone = Self {
            name,
            config,
            dir,
            addr,
            writer: stream,
            shared,
            reader: Some(reader),
            next_token: AtomicU64::new(1),
            process,
        };
        phone.command("uanew", &phone.config.account_line())?;
        Ok(phone)
    }

    /// `<host>-<user>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &PhoneConfig {
        &self.config
    }

    /// The address of record, `sip:user@domain`.
    pub fn aor(&self) -> String {
        self.config.aor()
    }

    /// The local SIP address (host address and `sip_port`).
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(self.addr, self.config.sip_port))
    }

    /// The phone's directory (configuration and recordings).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The baresip log file.
    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    /// The whole baresip log so far.
    pub fn log_text(&self) -> String {
        self.process.log_text()
    }

    /// The baresip process.
    pub fn process(&mut self) -> &mut Process {
        &mut self.process
    }

    fn control_error(&self, message: String) -> TestbedError {
        TestbedError::Control {
            phone: self.name.clone(),
            message,
            log: self.log_path().to_path_buf(),
            tail: self.process.log_tail(),
        }
    }

    /// Sends a `ctrl_tcp` command and waits for its response; returns the
    /// response's `data`. `"ok": false` is an error.
    pub fn command(&self, command: &str, params: &str) -> Result<String> {
        let token = format!("t{}", self.next_token.fetch_add(1, Ordering::Relaxed));
        let body = json!({ "command": command, "params": params, "token": token }).to_string();
        let frame = format!("{}:{body},", body.len());
        (&self.writer)
            .write_all(frame.as_bytes())
            .map_err(|e| self.control_error(format!("sending `{command}`: {e}")))?;
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
                if response.get("ok").and_then(Value::as_bool) == Some(true) {
                    return Ok(data);
                }
                drop(state);
                return Err(
                    self.control_error(format!("`{command} {params}` refused: {}", data.trim()))
                );
            }
            if let Some(reason) = state.closed.clone() {
                drop(state);
                return Err(self.control_error(format!("`{command}` unanswered: {reason}")));
            }
            let now = Instant::now();
            if now >= deadline {
                drop(state);
                return Err(self.control_error(format!(
                    "no response to `{command}` within {COMMAND_TIMEOUT:?}"
                )));
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Calls `uri` (`dial`).
    pub fn dial(&self, uri: &str) -> Result<()> {
        self.command("dial", uri).map(drop)
    }

    /// Answers the incoming call (`accept`).
    pub fn answer(&self) -> Result<()> {
        self.command("accept", "").map(drop)
    }

    /// Hangs up the current call (`hangup`).
    pub fn hangup(&self) -> Result<()> {
        self.command("hangup", "").map(drop)
    }

    /// Every event received so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.shared
            .lock()
            .events
            .iter()
            .map(|(e, _)| e.clone())
            .collect()
    }

    /// Waits for the first not yet returned event of `kind` (each event is
    /// returned once); the error lists every event seen and the log tail.
    pub fn wait_event(&self, kind: EventKind, timeout: Duration) -> Result<Event> {
        self.wait_any(&[kind], timeout)
    }

    /// Like [`Phone::wait_event`] for the first event of any of `kinds`.
    pub fn wait_any(&self, kinds: &[EventKind], timeout: Duration) -> Result<Event> {
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
            let closed = state.closed.clone();
            let now = Instant::now();
            if closed.is_some() || now >= deadline {
                let seen = state
                    .events
                    .iter()
                    .map(|(e, _)| e.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                drop(state);
                let names = kinds
                    .iter()
                    .map(EventKind::as_str)
                    .collect::<Vec<_>>()
                    .join(" or ");
                let why = closed.map_or_else(
                    || format!("not within {timeout:?}"),
                    |r| format!("never: {r}"),
                );
                return Err(
                    self.control_error(format!("waited for {names}: {why}; events seen: [{seen}]"))
                );
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Waits for `REGISTER_OK`; a `REGISTER_FAIL` first is an error naming
    /// the response (e.g. `403 Forbidden`).
    pub fn wait_registered(&self, timeout: Duration) -> Result<Event> {
        let event = self.wait_any(&[EventKind::RegisterOk, EventKind::RegisterFail], timeout)?;
        if event.kind == EventKind::RegisterOk {
            Ok(event)
        } else {
            Err(self.control_error(format!("registration failed: {}", event.param)))
        }
    }

    /// The newest recording of `direction` in the phone's directory.
    pub fn recording(&self, direction: Direction) -> Result<PathBuf> {
        newest_recording(&self.dir, direction).ok_or_else(|| {
            self.control_error(format!(
                "no dump-*{} recording in {} yet",
                direction.suffix(),
                self.dir.display()
            ))
        })
    }

    /// Waits until the newest recording of `direction` holds at least
    /// `seconds` of audio, and returns its path.
    pub fn wait_recording(
        &mut self,
        direction: Direction,
        seconds: f64,
        timeout: Duration,
    ) -> Result<PathBuf> {
        let what = format!(
            "{seconds} s of {direction:?} audio recorded by phone {}",
            self.name
        );
        let log = self.log_path().to_path_buf();
        let dir = self.dir.clone();
        let suffix = direction.suffix();
        let found = wait_until_or(
            &what,
            timeout,
            |note| {
                self.process.ensure_running("recording")?;
                let Some(path) = newest_recording(&dir, direction) else {
                    *note = format!("no dump-*{suffix} in {} yet", dir.display());
                    return Ok(None);
                };
                let have = wav_seconds(&path).unwrap_or(0.0);
                *note = format!("{} holds {have:.2} s", path.display());
                Ok((have >= seconds).then_some(path))
            },
            || format!("last lines of {}:\n{}", log.display(), log_tail(&log)),
        )?;
        Ok(found)
    }
}

/// The newest `dump-*<-dec|-enc>.wav` in `dir` (by modification time).
fn newest_recording(dir: &Path, direction: Direction) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(std::result::Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("dump-") && name.ends_with(direction.suffix())
        })
        .map(|e| {
            let modified = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            (modified, e.path())
        })
        .max()
        .map(|(_, path)| path)
}

impl Drop for Phone {
    fn drop(&mut self) {
        let _ = self.writer.shutdown(Shutdown::Both);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        // `process` is dropped next: SIGTERM, then SIGKILL.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> SocketAddr {
        "198.18.1.10:5060".parse().unwrap()
    }

    #[test]
    fn account_line_has_outbound_and_manual_answer() {
        let mut c = PhoneConfig::new("1001", "pw", server()).transport(Transport::Tls);
        c.mediaenc = Some(MediaEnc::SrtpMandatory);
        assert_eq!(
            c.account_line(),
            "<sip:1001@198.18.1.10;transport=tls>;auth_pass=pw;\
             outbound=\"sip:198.18.1.10:5060;transport=tls\";regint=600;\
             answermode=manual;audio_codecs=PCMU;mediaenc=srtp-mand"
        );
        assert!(
            c.clone()
                .no_register()
                .account_line()
                .contains(";regint=0;")
        );
        assert_eq!(c.uri_for("1002"), "sip:1002@198.18.1.10");
    }

    #[test]
    fn config_loads_only_needed_modules() {
        let c = PhoneConfig::new("1001", "pw", server()).tone(700);
        let text = c.render_config(Ipv4Addr::new(198, 18, 1, 11), "eth0", Path::new("/x"));
        assert!(text.contains("audio_source\tausine,700\n"));
        assert!(text.contains("snd_path\t/x\n"));
        assert!(text.contains("ctrl_tcp_listen\t127.0.0.1:4444\n"));
        assert!(!text.contains("srtp.so"));
        assert!(!text.contains("alsa"));
    }

    #[test]
    fn validation_refuses_bad_values() {
        assert!(
            PhoneConfig::new("10 01", "pw", server())
                .validate()
                .is_err()
        );
        assert!(
            PhoneConfig::new("1001", "p;w", server())
                .validate()
                .is_err()
        );
        assert!(
            PhoneConfig::new("1001", "pw", server())
                .tone(5)
                .validate()
                .is_err()
        );
        assert!(PhoneConfig::new("1001", "pw", server()).validate().is_ok());
    }

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
}
