//! What `outpost icps test` prints: one line per step (`OK`, `FAIL` or
//! `SKIP`, the step, its time, what happened), detail lines under it, and
//! for a failure a `fix:` line saying what to change; or the same as one
//! JSON object (`--json`).

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It passed.
    Ok,
    /// It failed: the exit status is 1.
    Fail,
    /// Not run, because an earlier step failed.
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Fail => "FAIL",
            Self::Skip => "SKIP",
        }
    }
}

/// One step: `dns`, `connect`, `tls` or `options`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// Which step.
    pub step: &'static str,
    /// How it went.
    pub status: Status,
    /// The target it was run against (`tls 192.0.2.10:5061`), if any.
    pub target: Option<String>,
    /// How long it took, in milliseconds (0.1 ms resolution).
    #[serde(rename = "ms")]
    pub millis: f64,
    /// What happened, on one line.
    pub summary: String,
    /// More lines: DNS lookups, targets, certificate names.
    pub details: Vec<String>,
    /// On failure: what to fix.
    pub fix: Option<String>,
}

impl StepReport {
    /// A passed step.
    pub fn ok(step: &'static str, target: Option<String>, took: Duration, summary: String) -> Self {
        Self {
            step,
            status: Status::Ok,
            target,
            millis: millis(took),
            summary,
            details: Vec::new(),
            fix: None,
        }
    }

    /// A failed step and what to fix.
    pub fn fail(
        step: &'static str,
        target: Option<String>,
        took: Duration,
        failure: Failure,
    ) -> Self {
        Self {
            step,
            status: Status::Fail,
            target,
            millis: millis(took),
            summary: failure.summary,
            details: Vec::new(),
            fix: Some(failure.fix),
        }
    }

    /// A step not run, and why.
    pub fn skip(step: &'static str, target: Option<String>, why: &str) -> Self {
        Self {
            step,
            status: Status::Skip,
            target,
            millis: 0.0,
            summary: why.to_owned(),
            details: Vec::new(),
            fix: None,
        }
    }

    /// The same with these detail lines.
    #[must_use]
    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
}

/// What went wrong and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What happened.
    pub summary: String,
    /// What to fix.
    pub fix: String,
}

impl Failure {
    /// A failure.
    pub fn new(summary: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            fix: fix.into(),
        }
    }
}

/// A target the ICP resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetReport {
    /// `udp`, `tcp` or `tls`.
    pub transport: &'static str,
    /// Address and port.
    pub address: String,
    /// The name its TLS certificate must cover.
    pub server_name: String,
}

/// The whole test of one ICP.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The ICP's name.
    pub icp: String,
    /// Its host.
    pub host: String,
    /// The DNS servers asked (`system` for /etc/resolv.conf).
    pub dns_servers: Vec<String>,
    /// True when every step passed.
    pub ok: bool,
    /// Its targets, in the order `serve` tries them.
    pub targets: Vec<TargetReport>,
    /// The steps, in order.
    pub steps: Vec<StepReport>,
}

impl Report {
    /// An empty report for `icp` at `host`.
    pub fn new(icp: &str, host: &str, dns_servers: Vec<String>) -> Self {
        Self {
            icp: icp.to_owned(),
            host: host.to_owned(),
            dns_servers,
            ok: true,
            targets: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// Adds a step; a failed one fails the report.
    pub fn push(&mut self, step: StepReport) {
        if step.status == Status::Fail {
            self.ok = false;
        }
        self.steps.push(step);
    }

    /// Failed steps.
    pub fn failures(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.status == Status::Fail)
            .count()
    }

    /// The report as text, one line per step.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let servers = self.dns_servers.join(", ");
        let _ = writeln!(
            out,
            "ICP {} (host {}, DNS servers: {servers})",
            self.icp, self.host
        );
        let indent = " ".repeat(4 + 1 + 7 + 1 + 9 + 2);
        let mut total = 0.0;
        for step in &self.steps {
            total += step.millis;
            let took = if step.status == Status::Skip {
                String::new()
            } else {
                format_millis(step.millis)
            };
            let target = step
                .target
                .as_deref()
                .map_or_else(String::new, |t| format!("{t}: "));
            let _ = writeln!(
                out,
                "{:<4} {:<7} {took:>9}  {target}{}",
                step.status.label(),
                step.step,
                step.summary
            );
            for line in &step.details {
                let _ = writeln!(out, "{indent}{line}");
            }
            if let Some(fix) = &step.fix {
                let _ = writeln!(out, "{indent}fix: {fix}");
            }
        }
        let run = self
            .steps
            .iter()
            .filter(|s| s.status != Status::Skip)
            .count();
        let total = format_millis(total);
        if self.ok {
            let _ = writeln!(out, "PASSED: all {run} steps passed ({total})");
        } else {
            let _ = writeln!(
                out,
                "FAILED: {} of {run} steps failed ({total})",
                self.failures()
            );
        }
        out
    }

    /// Writes the report as text or as one JSON object on one line.
    pub fn write(&self, json: bool, out: &mut dyn Write) -> io::Result<()> {
        if json {
            let line = serde_json::to_string(self).map_err(io::Error::other)?;
            writeln!(out, "{line}")
        } else {
            out.write_all(self.text().as_bytes())
        }
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// `0.4 ms`, `12 ms`, `3.00 s`.
pub(crate) fn format_millis(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// `3 s`, `1.5 s`, `500 ms`.
pub(crate) fn format_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut report = Report::new("pbx1", "pbx.test", vec!["127.0.84.53:15353".into()]);
        report.push(
            StepReport::ok(
                "dns",
                None,
                Duration::from_micros(1_240),
                "pbx.test: 1 target".into(),
            )
            .with_details(vec![
                "A pbx.test: pbx.test. 17 A 127.0.84.3 (1.1 ms)".into(),
            ]),
        );
        report.push(StepReport::ok(
            "connect",
            Some("tls 127.0.84.3:5061".into()),
            Duration::from_micros(210),
            "connected from 127.0.0.1:40000".into(),
        ));
        report.push(StepReport::fail(
            "tls",
            Some("tls 127.0.84.3:5061".into()),
            Duration::from_millis(12),
            Failure::new("certificate name mismatch", "use a name it covers"),
        ));
        report.push(StepReport::skip(
            "options",
            Some("tls 127.0.84.3:5061".into()),
            "not tested: no TLS connection",
        ));
        report
    }

    #[test]
    fn text_has_one_line_per_step_with_status_time_and_fix() {
        let text = sample().text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "ICP pbx1 (host pbx.test, DNS servers: 127.0.84.53:15353)"
        );
        assert_eq!(lines[1], "OK   dns        1.2 ms  pbx.test: 1 target");
        assert_eq!(
            lines[2],
            "                        A pbx.test: pbx.test. 17 A 127.0.84.3 (1.1 ms)"
        );
        assert_eq!(
            lines[3],
            "OK   connect    0.2 ms  tls 127.0.84.3:5061: connected from 127.0.0.1:40000"
        );
        assert_eq!(
            lines[4],
            "FAIL tls         12 ms  tls 127.0.84.3:5061: certificate name mismatch"
        );
        assert_eq!(
            lines[5],
            "                        fix: use a name it covers"
        );
        assert_eq!(
            lines[6],
            "SKIP options            tls 127.0.84.3:5061: not tested: no TLS connection"
        );
        assert_eq!(lines[7], "FAILED: 1 of 3 steps failed (13 ms)");
        assert!(text.is_ascii(), "plain ASCII for logs");
    }

    #[test]
    fn json_is_one_object_with_every_step() {
        let mut out = Vec::new();
        sample().write(true, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["ok"], false);
        assert_eq!(value["steps"][0]["status"], "ok");
        assert_eq!(value["steps"][0]["ms"], 1.2);
        assert_eq!(value["steps"][2]["status"], "fail");
        assert_eq!(value["steps"][2]["fix"], "use a name it covers");
        assert_eq!(value["steps"][3]["status"], "skip");
        assert_eq!(value["dns_servers"][0], "127.0.84.53:15353");
    }

    #[test]
    fn a_report_with_no_failure_passes() {
        let mut report = Report::new("pbx1", "192.0.2.10", vec!["system".into()]);
        report.push(StepReport::ok(
            "dns",
            None,
            Duration::ZERO,
            "an IP address".into(),
        ));
        assert!(report.ok);
        assert!(
            report
                .text()
                .ends_with("PASSED: all 1 steps passed (0.0 ms)\n")
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_millis(0.44), "0.4 ms");
        assert_eq!(format_millis(12.4), "12 ms");
        assert_eq!(format_millis(3004.0), "3.00 s");
        assert_eq!(format_duration(Duration::from_secs(3)), "3 s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500 ms");
    }
}
