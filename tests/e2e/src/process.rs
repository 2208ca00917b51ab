//! Child processes of a lab, each with its own log file.
//!
//! A [`Process`] owns a running program (usually `ip netns exec NS prog`,
//! which `exec`s, so the pid is the program's own). Its stdout and stderr go
//! to one log file in the lab directory, which is what error messages quote
//! and what a failing test leaves behind. Dropping a `Process` stops it:
//! `SIGTERM`, then `SIGKILL` if it has not exited after a bounded grace time.
//!
//! Log waits take a [`LogCursor`]: a test that waits for the second
//! occurrence of a line takes [`Process::log_cursor`] before the step that
//! should write it, and [`Process::wait_for_log_after`] only looks at what
//! was written since. [`Process::wait_for_log`] searches the whole log (every
//! line since the process started) and is only right for lines that cannot
//! have been written before the wait began, such as a start-up line.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use crate::wait::{POLL_INTERVAL, wait_until_or};
use crate::{Result, TestbedError, command_line, log_tail};

/// Pids a lab has spawned and not yet reaped; shared with the lab so its
/// `Drop` can kill what is still running.
pub(crate) type PidRegistry = Arc<Mutex<Vec<u32>>>;

/// Default time a process gets between `SIGTERM` and `SIGKILL`.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(2);

/// A position in a process's log: its length in bytes when the cursor was
/// taken. Only what is written after it counts for the `*_after` methods of
/// [`Process`]; a line being written at that moment counts by its remainder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogCursor(u64);

impl LogCursor {
    /// The start of the log: everything written since the process started.
    pub const START: Self = Self(0);

    /// The byte offset in the log file.
    pub fn offset(self) -> u64 {
        self.0
    }
}

/// A running child whose output goes to a log file; stopped on drop.
#[derive(Debug)]
pub struct Process {
    name: String,
    command: String,
    child: Child,
    log_path: PathBuf,
    exit: Option<ExitStatus>,
    stop_grace: Duration,
    registry: Option<PidRegistry>,
}

impl Process {
    /// Starts `cmd` with stdin closed and stdout + stderr appended to a new
    /// file at `log_path` (truncated if it exists).
    pub fn spawn(name: &str, cmd: Command, log_path: PathBuf) -> Result<Self> {
        Self::spawn_inner(name, cmd, log_path, None)
    }

    pub(crate) fn spawn_inner(
        name: &str,
        mut cmd: Command,
        log_path: PathBuf,
        registry: Option<PidRegistry>,
    ) -> Result<Self> {
        let command = command_line(&cmd);
        let log = File::create(&log_path)
            .map_err(|e| TestbedError::io(format!("creating log of {name}"), &log_path, e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| TestbedError::io(format!("duplicating log of {name}"), &log_path, e))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|source| TestbedError::Spawn {
                command: command.clone(),
                source,
            })?;
        if let Some(mut pids) = registry.as_ref().and_then(|r| r.lock().ok()) {
            pids.push(child.id());
        }
        Ok(Self {
            name: name.to_owned(),
            command,
            child,
            log_path,
            exit: None,
            stop_grace: DEFAULT_STOP_GRACE,
            registry,
        })
    }

    /// The name given at spawn (used in messages).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The command line it was started with.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Path of the log file (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The whole log so far (lossy UTF-8; empty if unreadable).
    pub fn log_text(&self) -> String {
        self.log_text_after(LogCursor::START)
    }

    /// The current end of the log: what is written from now on is "after"
    /// this cursor.
    pub fn log_cursor(&self) -> LogCursor {
        LogCursor(
            std::fs::metadata(&self.log_path)
                .map(|m| m.len())
                .unwrap_or(0),
        )
    }

    /// What was written to the log after `cursor` (lossy UTF-8; empty if
    /// unreadable).
    pub fn log_text_after(&self, cursor: LogCursor) -> String {
        let bytes = std::fs::read(&self.log_path).unwrap_or_default();
        let start = usize::try_from(cursor.0).map_or(bytes.len(), |c| c.min(bytes.len()));
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }

    /// How many times `pattern` (plain substring, non-overlapping) was
    /// written after `cursor`.
    pub fn log_count_after(&self, cursor: LogCursor, pattern: &str) -> usize {
        self.log_text_after(cursor).matches(pattern).count()
    }

    /// The last 40 lines of the log, for error messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_path)
    }

    /// Sets the time between `SIGTERM` and `SIGKILL` when stopping.
    pub fn set_stop_grace(&mut self, grace: Duration) {
        self.stop_grace = grace;
    }

    /// `Some(status)` once the child has exited (it is reaped then).
    pub fn try_wait_exit(&mut self) -> Result<Option<ExitStatus>> {
        if self.exit.is_none() {
            let status = self.child.try_wait().map_err(|e| {
                TestbedError::io(format!("waiting for {}", self.name), &self.log_path, e)
            })?;
            if let Some(status) = status {
                self.reaped(status);
            }
        }
        Ok(self.exit)
    }

    /// An [`TestbedError::Exited`] error if the child is no longer running.
    pub fn ensure_running(&mut self, while_doing: &str) -> Result<()> {
        match self.try_wait_exit()? {
            None => Ok(()),
            Some(status) => Err(self.exited_error(status, while_doing)),
        }
    }

    fn exited_error(&self, status: ExitStatus, while_doing: &str) -> TestbedError {
        TestbedError::Exited {
            name: self.name.clone(),
            status: status.to_string(),
            while_doing: while_doing.to_owned(),
            log: self.log_path.clone(),
            tail: self.log_tail(),
        }
    }

    /// Waits until the log contains `pattern` (plain substring) anywhere
    /// since the process started: for start-up lines only; a line that an
    /// earlier step may already have written needs
    /// [`Process::wait_for_log_after`]. Fails early if the process exits; on
    /// timeout the error carries the log's last 40 lines.
    pub fn wait_for_log(&mut self, pattern: &str, timeout: Duration) -> Result<()> {
        self.wait_for_log_after(LogCursor::START, pattern, timeout)
            .map(drop)
    }

    /// Waits until a line written after `cursor` contains `pattern` (plain
    /// substring) and returns the first such line (text after the cursor
    /// only). Fails early if the process exits; on timeout the error carries
    /// the log's last 40 lines.
    pub fn wait_for_log_after(
        &mut self,
        cursor: LogCursor,
        pattern: &str,
        timeout: Duration,
    ) -> Result<String> {
        self.wait_for_log_count_after(cursor, pattern, 1, timeout)?;
        Ok(self
            .log_text_after(cursor)
            .lines()
            .find(|l| l.contains(pattern))
            .unwrap_or(pattern)
            .to_owned())
    }

    /// Waits until `pattern` (plain substring) was written at least `count`
    /// times after `cursor`, and returns how many times it was. Fails early
    /// if the process exits; on timeout the error says how many were seen
    /// and carries the log's last 40 lines.
    pub fn wait_for_log_count_after(
        &mut self,
        cursor: LogCursor,
        pattern: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<usize> {
        let what = if count == 1 {
            format!("`{pattern}`")
        } else {
            format!("{count} times `{pattern}`")
        };
        let what = format!(
            "{what} in the log of {} ({}) after byte {}",
            self.name,
            self.log_path.display(),
            cursor.0
        );
        let log_path = self.log_path.clone();
        wait_until_or(
            &what,
            timeout,
            |note| {
                let seen = self.log_count_after(cursor, pattern);
                if seen >= count {
                    return Ok(Some(seen));
                }
                *note = format!("seen {seen} time(s)");
                self.ensure_running(&format!("waiting for `{pattern}` in its log"))?;
                Ok(None)
            },
            || {
                format!(
                    "last lines of {}:\n{}",
                    log_path.display(),
                    log_tail(&log_path)
                )
            },
        )
    }

    /// Stops the child: `SIGTERM`, then `SIGKILL` after the grace time.
    /// Returns its exit status (`None` if it could not be reaped).
    pub fn stop(&mut self) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.try_wait_exit() {
            return Some(status);
        }
        if let Some(pid) = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw) {
            // ESRCH here only means it exited in between.
            let _ = rustix::process::kill_process(pid, Signal::TERM);
        }
        let deadline = Instant::now() + self.stop_grace;
        while Instant::now() < deadline {
            match self.try_wait_exit() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => std::thread::sleep(POLL_INTERVAL),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(status) => {
                self.reaped(status);
                Some(status)
            }
            Err(_) => None,
        }
    }

    fn reaped(&mut self, status: ExitStatus) {
        self.exit = Some(status);
        let pid = self.child.id();
        if let Some(mut pids) = self.registry.as_ref().and_then(|r| r.lock().ok()) {
            pids.retain(|p| *p != pid);
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn logs_and_waits_for_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Process::spawn(
            "echoer",
            sh("echo hello; echo oops >&2; exec sleep 30"),
            dir.path().join("echo.log"),
        )
        .unwrap();
        p.wait_for_log("oops", Duration::from_secs(5)).unwrap();
        assert!(p.log_text().contains("hello"));
        assert_eq!(p.try_wait_exit().unwrap(), None);
        let start = Instant::now();
        let status = p.stop().unwrap();
        assert!(!status.success());
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "SIGTERM should end sleep at once"
        );
    }

    #[test]
    fn wait_for_log_reports_exit_with_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Process::spawn(
            "quitter",
            sh("echo last words; exit 3"),
            dir.path().join("q.log"),
        )
        .unwrap();
        let err = p.wait_for_log("never", Duration::from_secs(5)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("quitter exited"), "{text}");
        assert!(text.contains("last words"), "{text}");
    }

    #[test]
    fn wait_for_log_times_out_with_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Process::spawn(
            "sleeper",
            sh("echo zzz; exec sleep 30"),
            dir.path().join("s.log"),
        )
        .unwrap();
        let err = p
            .wait_for_log("never", Duration::from_millis(200))
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("timed out"), "{text}");
        assert!(text.contains("zzz"), "{text}");
    }

    #[test]
    fn waits_after_a_cursor_ignore_earlier_lines() {
        let dir = tempfile::tempdir().unwrap();
        let gate_dir = tempfile::tempdir().unwrap();
        let go = gate_dir.path().join("go");
        // The second "tick" is written only once `go` exists.
        let script = format!(
            "echo tick 1; while [ ! -e {go} ]; do sleep 0.02; done; echo tick 2; echo tock; exec sleep 30",
            go = go.display()
        );
        let mut p = Process::spawn("ticker", sh(&script), dir.path().join("t.log")).unwrap();
        p.wait_for_log("tick 1", Duration::from_secs(5)).unwrap();
        let cursor = p.log_cursor();
        assert!(cursor > LogCursor::START);
        assert_eq!(p.log_count_after(cursor, "tick"), 0);
        assert_eq!(p.log_count_after(LogCursor::START, "tick"), 1);
        // Before the second tick, a wait after the cursor does not match
        // the first one.
        let err = p
            .wait_for_log_after(cursor, "tick", Duration::from_millis(100))
            .unwrap_err()
            .to_string();
        assert!(err.contains("timed out"), "{err}");
        assert!(err.contains("seen 0 time(s)"), "{err}");
        assert!(err.contains("tick 1"), "the tail is the whole log's: {err}");
        std::fs::write(&go, "").unwrap();
        let line = p
            .wait_for_log_after(cursor, "tick", Duration::from_secs(5))
            .unwrap();
        assert_eq!(line, "tick 2");
        p.wait_for_log_after(cursor, "tock", Duration::from_secs(5))
            .unwrap();
        assert_eq!(p.log_text_after(cursor), "tick 2\ntock\n");
        assert_eq!(
            p.wait_for_log_count_after(LogCursor::START, "tick", 2, Duration::from_secs(5))
                .unwrap(),
            2
        );
        // A cursor past the end (a log truncated since) yields nothing.
        assert_eq!(p.log_text_after(LogCursor(1 << 40)), "");
    }

    #[test]
    fn sigkill_after_grace_when_sigterm_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Process::spawn(
            "stubborn",
            sh("trap '' TERM; echo ready; while :; do sleep 0.05; done"),
            dir.path().join("t.log"),
        )
        .unwrap();
        p.wait_for_log("ready", Duration::from_secs(5)).unwrap();
        p.set_stop_grace(Duration::from_millis(200));
        let start = Instant::now();
        let status = p.stop().unwrap();
        assert!(!status.success());
        assert!(start.elapsed() < Duration::from_secs(3));
    }
}
