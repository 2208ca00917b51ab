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

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::netns::Host;
use crate::process::Process;
use crate::tone::wav_seconds;
use crate::wait::wait_until_or;
use crate::{Result, TestbedError, log_tail, require_tools};

mod config;
mod ctrl;

pub use config::{MODULE_DIR, MediaEnc, PhoneConfig, Transport};
pub use ctrl::{COMMAND_TIMEOUT, Event, EventKind};
use ctrl::{Ctrl, connect_in_netns};

/// How long [`Phone::start`] waits for `ctrl_tcp` to accept.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

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

/// A running baresip phone.
#[derive(Debug)]
pub struct Phone {
    name: String,
    config: PhoneConfig,
    dir: PathBuf,
    addr: Ipv4Addr,
    // Before `process`: the control connection is closed first on drop.
    ctrl: Ctrl,
    process: Process,
}

/// A throw-away self-signed certificate + key for the phone's TLS context
/// (`phone.pem` in its directory), made with openssl.
fn make_phone_certificate(dir: &Path) -> Result<()> {
    require_tools(&["openssl"], "the phone's TLS certificate")?;
    let cert = dir.join("phone.crt");
    let key = dir.join("phone.key");
    let mut cmd = std::process::Command::new("openssl");
    cmd.args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=phone",
    ])
    .arg("-keyout")
    .arg(&key)
    .arg("-out")
    .arg(&cert);
    crate::run_checked(&mut cmd)?;
    let pem = dir.join("phone.pem");
    let mut text = std::fs::read_to_string(&cert)
        .map_err(|e| TestbedError::io("reading the phone certificate", &cert, e))?;
    text.push_str(
        &std::fs::read_to_string(&key)
            .map_err(|e| TestbedError::io("reading the phone key", &key, e))?,
    );
    std::fs::write(&pem, text)
        .map_err(|e| TestbedError::io("writing the phone certificate", &pem, e))
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
        if config.transport == Transport::Tls {
            make_phone_certificate(&dir)?;
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
        let ctrl = Ctrl::new(stream, format!("ctrl-{name}"))
            .map_err(|e| TestbedError::io("starting the ctrl_tcp reader", &log, e))?;
        let phone = Self {
            name,
            config,
            dir,
            addr,
            ctrl,
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

    /// Sends a `ctrl_tcp` command and waits for its response (at most
    /// [`COMMAND_TIMEOUT`]); returns the response's `data`. `"ok": false`
    /// is an error.
    pub fn command(&self, command: &str, params: &str) -> Result<String> {
        self.ctrl
            .command(command, params)
            .map_err(|m| self.control_error(m))
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
        self.ctrl.events()
    }

    /// Waits for the first not yet returned event of `kind` (each event is
    /// returned once); the error lists every event seen and the log tail.
    pub fn wait_event(&self, kind: EventKind, timeout: Duration) -> Result<Event> {
        self.wait_any(&[kind], timeout)
    }

    /// Like [`Phone::wait_event`] for the first event of any of `kinds`.
    pub fn wait_any(&self, kinds: &[EventKind], timeout: Duration) -> Result<Event> {
        self.ctrl
            .wait_any(kinds, timeout)
            .map_err(|m| self.control_error(m))
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
