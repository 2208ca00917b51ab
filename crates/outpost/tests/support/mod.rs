//! Starting `outpost serve` for a test, on a loopback address of its own
//! (127.0.N.1: all of 127/8 is loopback on Linux), so tests can run in
//! parallel with the default ports and never collide.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `outpost serve`, stopped (SIGTERM, then SIGKILL) on drop.
pub struct Outpost {
    child: Child,
    /// Its public-side address.
    pub ip: IpAddr,
    /// Combined stdout + stderr.
    pub log: PathBuf,
    /// Its directory (data directory and log); taken by [`Outpost::stop`]
    /// and [`Outpost::kill`] so a restart can use it again.
    dir: Option<tempfile::TempDir>,
}

impl Outpost {
    /// Starts Outpost on 127.0.`net`.1 (public) / 127.0.`net`.2 (private)
    /// with the public side on `tls+udp/tcp`, plus extra environment.
    pub fn start(net: u8, env: &[(&str, &str)]) -> Self {
        Self::start_in(tempfile::tempdir().expect("temp dir"), net, env)
    }

    /// [`Outpost::start`] in `dir`, e.g. the directory of a stopped
    /// Outpost (its data directory, so a restart sees the same store); the
    /// log is appended to.
    pub fn start_in(dir: tempfile::TempDir, net: u8, env: &[(&str, &str)]) -> Self {
        let public = Ipv4Addr::new(127, 0, net, 1);
        let private = Ipv4Addr::new(127, 0, net, 2);
        let log = dir.path().join("outpost.log");
        let start_cursor = std::fs::metadata(&log).map_or(0, |m| m.len());
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_outpost"));
        cmd.arg("serve")
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("OUTPOST_LOG", "outpost=debug,info")
            .env("OUTPOST_PUBLIC_INTERFACE", public.to_string())
            .env("OUTPOST_PUBLIC_PROTOCOLS", "tls+udp/tcp")
            .env("OUTPOST_PRIVATE_INTERFACE", private.to_string())
            .env("OUTPOST_PRIVATE_PROTOCOLS", "tls+udp/tcp")
            .env("OUTPOST_ADMIN_LISTEN", format!("127.0.{net}.3:9464"))
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn outpost");
        let mut outpost = Self {
            child,
            ip: IpAddr::V4(public),
            log,
            dir: Some(dir),
        };
        outpost.wait_for_log_after(start_cursor, "outpost running", Duration::from_secs(30));
        outpost
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir().join("outpost-data")
    }

    fn dir(&self) -> &std::path::Path {
        self.dir
            .as_ref()
            .expect("running Outpost has its directory")
            .path()
    }

    /// Stops it with SIGTERM, waits for it to exit (at most 20 s, then
    /// SIGKILL) and returns its directory for [`Outpost::start_in`].
    pub fn stop(mut self) -> tempfile::TempDir {
        self.end("-TERM", Duration::from_secs(20));
        self.dir.take().expect("directory")
    }

    /// Kills it with SIGKILL (no clean-up at all) and returns its
    /// directory for [`Outpost::start_in`].
    pub fn kill(mut self) -> tempfile::TempDir {
        self.end("-KILL", Duration::from_secs(5));
        self.dir.take().expect("directory")
    }

    fn end(&mut self, signal: &str, patience: Duration) {
        let _ = Command::new("kill")
            .arg(signal)
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The public side's address for `port`.
    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.ip, port)
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log's current length in bytes: what is written from now on is
    /// after this cursor (see [`Outpost::wait_for_log_after`]).
    pub fn log_cursor(&self) -> u64 {
        std::fs::metadata(&self.log).map_or(0, |m| m.len())
    }

    /// The log written after byte `cursor`.
    pub fn log_text_after(&self, cursor: u64) -> String {
        let bytes = std::fs::read(&self.log).unwrap_or_default();
        let start = usize::try_from(cursor).map_or(bytes.len(), |c| c.min(bytes.len()));
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }

    /// Polls the whole log for `needle` until the deadline; panics with the
    /// log. Only for lines no earlier step can have written (start-up); use
    /// [`Outpost::wait_for_log_after`] otherwise.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) {
        self.wait_for_log_after(0, needle, timeout);
    }

    /// Polls the log written after `cursor` (from
    /// [`Outpost::log_cursor`]) for `needle` until the deadline; panics
    /// with the log.
    pub fn wait_for_log_after(&mut self, cursor: u64, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log_text_after(cursor).contains(needle) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "outpost exited ({status}) before logging {needle:?}:\n{}",
                    self.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} within {timeout:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Outpost {
    fn drop(&mut self) {
        // Already ended (stop, kill): its pid may belong to another process.
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An OPTIONS request to Outpost itself with a unique Call-ID.
pub fn options(transport: &str, local: SocketAddr, call_id: &str) -> String {
    format!(
        "OPTIONS sip:outpost SIP/2.0\r\nVia: SIP/2.0/{transport} {local};branch=z9hG4bK{call_id}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@{local}>;tag=p1\r\nTo: <sip:outpost>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

/// The status code of a response's first line, if it is one.
pub fn status_of(response: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(response).ok()?;
    let rest = text.strip_prefix("SIP/2.0 ")?;
    rest.get(..3)?.parse().ok()
}
