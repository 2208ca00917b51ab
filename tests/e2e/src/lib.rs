//! Outpost test bed: real peers in network namespaces, for end-to-end tests
//! (SPEC §8).
//!
//! What it does:
//! - [`netns`]: a [`Lab`] is one test's private topology: a hub network
//!   namespace holding one Linux bridge per [`Network`], and one namespace
//!   per [`Host`] (phones, the iPBX, a home NAT router, Outpost with a public
//!   and a private leg). Everything a lab made is removed when it is dropped,
//!   also when the test panics; namespaces left by a killed test process are
//!   removed by the next [`Lab::new`] or by `scripts/testbed-cleanup.sh`.
//! - [`process`]: a [`Process`] is a child running inside a host, its stdout
//!   and stderr in a log file of the lab directory, stopped on drop.
//! - [`kamailio`]: an [`Ipbx`] is Kamailio configured as a small iPBX
//!   (registrar + proxy that challenges REGISTER with 401 and INVITE with 407
//!   against its own subscriber list; no database).
//! - [`baresip`]: a [`Phone`] is a baresip user agent driven through its
//!   `ctrl_tcp` interface; it sends a sine tone (`ausine`) and records what it
//!   receives to WAV (`sndfile`).
//! - [`tone`]: Goertzel tone detection on those WAV files, so a test can
//!   prove that audio crossed the gateway in each direction.
//! - [`wait`]: the only way tests wait: polling with a deadline and a message
//!   (fixed sleeps are not allowed in tests).
//! - [`pki`]: a test CA ([`TestCa`]) issuing certificates for host names,
//!   e.g. for an iPBX reached over TLS by name.
//!
//! What it does not do:
//! - no mocks and no simulated network: everything is a real program in a
//!   real namespace, so it needs root, `ip` (iproute2), and for the parts
//!   used, `iptables`, `kamailio` and `baresip`; [`require_tools`] names what
//!   is missing instead of letting a test pass silently;
//! - it never touches the root namespace's network or any address outside
//!   the namespaces it made (use 198.18.0.0/15 addresses);
//! - it does not install packages (`scripts/test.sh` does).
//!
//! Tests that use it start with [`skip_e2e`], which skips them when
//! `OUTPOST_SKIP_E2E=1` or when not running as root ("needs root"), and
//! records each skip in the file named by `OUTPOST_SKIP_REPORT` so that
//! `scripts/test.sh` counts it as skipped, not passed (and fails a root run
//! that skipped any without `OUTPOST_SKIP_E2E=1`). They `unwrap()` the test
//! bed's errors: a panic keeps the lab directory (its path is printed) and
//! the error text already holds the command line, stderr or log tail that
//! explains it.
//!
//! ```no_run
//! use std::time::Duration;
//! use outpost_testbed::{tone, Direction, EventKind, Ipbx, IpbxConfig, Lab, Phone, PhoneConfig};
//!
//! # fn main() -> Result<(), outpost_testbed::TestbedError> {
//! if outpost_testbed::skip_e2e() {
//!     return Ok(());
//! }
//! let t = Duration::from_secs(10);
//! let lab = Lab::new("example")?;
//! let lan = lab.network("lan", "198.18.1")?;
//! let ipbx = Ipbx::start(&lab.host("ipbx", &lan, 10)?, IpbxConfig::new([("1001", "pw1"), ("1002", "pw2")]))?;
//! let a = Phone::start(&lab.host("a", &lan, 11)?, PhoneConfig::new("1001", "pw1", ipbx.addr()).tone(1000))?;
//! let mut b = Phone::start(&lab.host("b", &lan, 12)?, PhoneConfig::new("1002", "pw2", ipbx.addr()).tone(700))?;
//! a.wait_registered(t)?;
//! b.wait_registered(t)?;
//! a.dial(&a.config().uri_for("1002"))?;
//! b.wait_event(EventKind::CallIncoming, t)?;
//! b.answer()?;
//! let heard = b.wait_recording(Direction::Received, 2.0, t)?;
//! tone::assert_tone(&heard, 1000.0, 15.0)?;
//! # Ok(())
//! # }
//! ```
//!
//! `unsafe` is forbidden in the workspace, so `setns(2)`, `kill(2)` and
//! `geteuid(2)` go through `rustix`'s safe wrappers rather than `libc`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod acme_ca;
pub mod baresip;
pub mod capture;
pub mod dns;
pub mod kamailio;
pub mod local_dns;
pub mod netns;
pub mod outpost;
pub mod pki;
pub mod process;
pub mod rtp;
pub mod tone;
pub mod wait;

pub use baresip::{Direction, Event, EventKind, MediaEnc, Phone, PhoneConfig, Transport};
pub use kamailio::{Ipbx, IpbxConfig};
pub use netns::{Host, Lab, Network, PortBlock};
pub use outpost::{
    DeviceSpec, IcpSpec, OutpostNode, OutpostSpec, Provisioning, metric_sum, metrics, metrics_https,
};
pub use pki::TestCa;
pub use process::{LogCursor, Process};
pub use wait::wait_until;

/// Result type of the test bed.
pub type Result<T, E = TestbedError> = std::result::Result<T, E>;

/// Everything that can go wrong while building or driving a test bed.
///
/// Every message says what failed and where to look: the command line and
/// its stderr, or the log file and its last lines.
#[non_exhaustive]
#[derive(thiserror::Error)]
pub enum TestbedError {
    /// The test bed needs root (network namespaces, veths, iptables).
    #[error(
        "the Outpost test bed must run as root (effective uid is {euid}); \
         set OUTPOST_SKIP_E2E=1 to skip the end-to-end tests"
    )]
    NotRoot {
        /// The effective uid found.
        euid: u32,
    },
    /// A program the test bed runs is not installed.
    #[error(
        "required tool `{tool}` not found in PATH (needed for {needed_for}); \
         install it (scripts/test.sh does) or set OUTPOST_SKIP_E2E=1"
    )]
    MissingTool {
        /// The program name.
        tool: String,
        /// What it is needed for.
        needed_for: String,
    },
    /// A command ran and exited unsuccessfully.
    #[error("command `{command}` failed ({status}); stderr: {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its stderr (trimmed).
        stderr: String,
    },
    /// A command could not be started at all.
    #[error("could not start `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file operation failed.
    #[error("{what} ({}): {source}", path.display())]
    Io {
        /// What was being done.
        what: String,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A wait ran out of time.
    #[error(
        "timed out after {timeout:?} waiting for {what}{}",
        detail_block(detail)
    )]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it was awaited.
        timeout: Duration,
        /// Diagnostics gathered at the deadline (log tail, events seen).
        detail: String,
    },
    /// A process of the test bed exited while it was expected to run.
    #[error("{name} exited ({status}) while {while_doing}; log {}:{}", log.display(), detail_block(tail))]
    Exited {
        /// The process's name in the lab.
        name: String,
        /// Its exit status.
        status: String,
        /// What the test bed was waiting for.
        while_doing: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of its log.
        tail: String,
    },
    /// A baresip `ctrl_tcp` exchange failed.
    #[error("phone {phone}: {message}; log {}:{}", log.display(), detail_block(tail))]
    Control {
        /// The phone's name.
        phone: String,
        /// What failed.
        message: String,
        /// The phone's log file.
        log: PathBuf,
        /// The last lines of its log.
        tail: String,
    },
    /// A WAV file could not be read or holds nothing usable.
    #[error("WAV file {}: {message}", path.display())]
    Wav {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The expected tone was not found.
    #[error("WAV file {}: expected a {expected_hz} Hz tone (± {tolerance_hz} Hz) but {found}", path.display())]
    ToneMismatch {
        /// The file analysed.
        path: PathBuf,
        /// The frequency expected.
        expected_hz: f64,
        /// The tolerance allowed.
        tolerance_hz: f64,
        /// What was found instead.
        found: String,
    },
    /// A configuration given to the test bed is unusable.
    #[error("invalid test-bed configuration: {0}")]
    Config(String),
}

/// `Debug` prints the same text as `Display`: tests `unwrap()` these errors
/// and the panic message should be the readable one, with the log tail.
impl fmt::Debug for TestbedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn detail_block(detail: &str) -> String {
    if detail.trim().is_empty() {
        String::new()
    } else {
        format!("\n{}", detail.trim_end())
    }
}

impl TestbedError {
    pub(crate) fn io(what: impl Into<String>, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Environment variable that makes end-to-end tests skip themselves.
pub const SKIP_ENV: &str = "OUTPOST_SKIP_E2E";

/// Environment variable that keeps a lab's directory after the test.
pub const KEEP_ENV: &str = "OUTPOST_KEEP_LAB";

/// Environment variable naming a file to which every skipped end-to-end
/// test appends one line, `<test binary>::<test name><TAB><reason>`.
/// `scripts/test.sh` sets it (truncating the file first), counts those tests
/// as skipped instead of passed and lists them.
pub const SKIP_REPORT_ENV: &str = "OUTPOST_SKIP_REPORT";

/// Why the end-to-end tests cannot run in this process, if they cannot:
/// `OUTPOST_SKIP_E2E=1`, or not root (network namespaces need it), which
/// reads `needs root ...`.
pub fn skip_reason() -> Option<String> {
    if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
        return Some(format!("{SKIP_ENV}=1"));
    }
    let euid = rustix::process::geteuid();
    if !euid.is_root() {
        return Some(format!(
            "needs root (network namespaces); effective uid is {}",
            euid.as_raw()
        ));
    }
    None
}

/// Returns `true` when the end-to-end tests cannot run here (see
/// [`skip_reason`]); every e2e test starts with
/// `if outpost_testbed::skip_e2e() { return; }`.
///
/// A skipped test still passes as far as the test harness knows, so the
/// skip is printed (`skipped: <reason>`, to stdout and stderr) and appended
/// to the file named by [`SKIP_REPORT_ENV`] when it is set. If that file
/// cannot be written the test panics: a skip nobody counts would pass as a
/// success.
pub fn skip_e2e() -> bool {
    let Some(reason) = skip_reason() else {
        return false;
    };
    let test = current_test_name();
    println!("skipped: {reason}");
    eprintln!("test {test} skipped: {reason}");
    if let Some(path) = std::env::var_os(SKIP_REPORT_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if let Err(e) = record_skip(&path, &test, &reason) {
            panic!(
                "{test} is skipped ({reason}) but the skip could not be recorded in {} \
                 ({SKIP_REPORT_ENV}): {e}",
                path.display()
            );
        }
    }
    true
}

/// `<test binary>::<test name>`: libtest runs each test on a thread named
/// after it; the binary's file name loses cargo's `-<hash>` suffix.
fn current_test_name() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .map(|name| match name.rsplit_once('-') {
            Some((stem, hash))
                if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                stem.to_owned()
            }
            _ => name,
        })
        .unwrap_or_else(|| "?".to_owned());
    let thread = std::thread::current();
    let test = thread.name().filter(|n| *n != "main").unwrap_or("?");
    format!("{binary}::{test}")
}

/// Appends `test<TAB>reason` to the skip report (one `write` of one line,
/// so tests skipping in parallel do not interleave).
fn record_skip(path: &Path, test: &str, reason: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    let line = format!("{}\t{}\n", clean(test), clean(reason));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(line.as_bytes())
}

/// Checks that we run as root and that every program in `tools` is in
/// `PATH`; the error names the first missing one and what needs it.
pub fn require_tools(tools: &[&str], needed_for: &str) -> Result<()> {
    let euid = rustix::process::geteuid();
    if !euid.is_root() {
        return Err(TestbedError::NotRoot {
            euid: euid.as_raw(),
        });
    }
    for tool in tools {
        if find_in_path(tool).is_none() {
            return Err(TestbedError::MissingTool {
                tool: (*tool).to_owned(),
                needed_for: needed_for.to_owned(),
            });
        }
    }
    Ok(())
}

/// Finds `program` in `PATH` (plus the sbin directories, where Debian puts
/// `ip`, `iptables` and `kamailio`, and which a non-login root shell may lack).
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The last `n` lines of `text`, for error messages.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].join("\n")
}

/// The last 40 lines of a log file, or a note saying why it cannot be read.
pub(crate) fn log_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            if text.trim().is_empty() {
                "(log is empty)".to_owned()
            } else {
                last_lines(&text, 40)
            }
        }
        Err(e) => format!("(log unreadable: {e})"),
    }
}

/// A command line as a shell would show it, for error messages.
pub(crate) fn command_line(cmd: &std::process::Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| {
            let s = a.to_string_lossy();
            if s.is_empty() || s.contains([' ', '"', '\'', ';', '<', '>']) {
                format!("'{}'", s.replace('\'', r"'\''"))
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a command to completion; a non-zero exit is an error that carries
/// the command line and its stderr.
pub(crate) fn run_checked(cmd: &mut std::process::Command) -> Result<std::process::Output> {
    let line = command_line(cmd);
    let output = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| TestbedError::Spawn {
            command: line.clone(),
            source,
        })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(TestbedError::Command {
            command: line,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_is_named() {
        let err = require_tools(&["sh", "no-such-tool-4242"], "testing").unwrap_err();
        let text = err.to_string();
        // Not root gives NotRoot instead; both must say what to do.
        assert!(
            text.contains("`no-such-tool-4242` not found") || text.contains("must run as root"),
            "{text}"
        );
        assert!(text.contains("OUTPOST_SKIP_E2E=1"), "{text}");
    }

    #[test]
    fn command_errors_carry_the_command_line_and_stderr() {
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "echo broken >&2; exit 4"]);
        let text = run_checked(&mut cmd).unwrap_err().to_string();
        assert!(text.contains("sh -c 'echo broken >&2; exit 4'"), "{text}");
        assert!(text.contains("stderr: broken"), "{text}");
        assert!(text.contains("exit status: 4"), "{text}");
    }

    #[test]
    fn skips_are_recorded_one_line_each_with_the_test_name() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("skipped.txt");
        let name = current_test_name();
        assert!(
            name.starts_with("outpost_testbed::")
                && name.ends_with("skips_are_recorded_one_line_each_with_the_test_name"),
            "{name}"
        );
        record_skip(&report, &name, "needs root (network namespaces)").unwrap();
        record_skip(&report, "bin::other", "OUTPOST_SKIP_E2E=1\tand\nmore").unwrap();
        let text = std::fs::read_to_string(&report).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0], format!("{name}\tneeds root (network namespaces)"));
        assert_eq!(lines[1], "bin::other\tOUTPOST_SKIP_E2E=1 and more");
    }

    #[test]
    fn the_skip_reason_names_root_or_the_switch() {
        match skip_reason() {
            None => assert!(rustix::process::geteuid().is_root()),
            Some(r) => assert!(
                r == format!("{SKIP_ENV}=1") || r.starts_with("needs root"),
                "{r}"
            ),
        }
    }

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(last_lines("a", 5), "a");
    }
}
