//! dnsmasq on a loopback address of the test's own, for tests that need a
//! real DNS server but no lab (no root, no namespaces): the resolver's
//! tests and `outpost icps test`'s. Records are dnsmasq options
//! (`--srv-host=...`, `--host-record=...`); names under `.test` without a
//! record are NXDOMAIN. Its log has every query.

use std::fs::File;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A dnsmasq child, killed on drop.
pub struct LocalDnsmasq {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl LocalDnsmasq {
    /// Starts dnsmasq on `addr` with answers valid `ttl` seconds and these
    /// record options, and waits until it answers; or prints why the test
    /// is skipped (dnsmasq not installed) and returns `None`.
    ///
    /// # Panics
    /// When dnsmasq cannot be started or does not answer within 10 s: the
    /// test's failure report.
    #[allow(clippy::expect_used)] // test support: a panic is the report
    pub fn start(addr: SocketAddr, ttl: u32, records: &[&str]) -> Option<Self> {
        let Some(program) = ["/usr/sbin/dnsmasq", "/sbin/dnsmasq", "/usr/bin/dnsmasq"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
        else {
            println!("skipped: dnsmasq not installed (Debian package dnsmasq-base)");
            return None;
        };
        let dir = tempfile::tempdir().expect("temporary directory");
        let log = dir.path().join("dnsmasq.log");
        let log_file = File::create(&log).expect("dnsmasq log file");
        let child = Command::new(program)
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                // No /run/dnsmasq.pid: tests run several at once.
                "--pid-file",
                "--log-queries",
                // To stderr, i.e. our log file: dnsmasq may drop root
                // privileges before it would open a log file of its own.
                "--log-facility=-",
                // Names under .test that have no record are NXDOMAIN.
                "--local=/test/",
            ])
            .arg(format!("--listen-address={}", addr.ip()))
            .arg(format!("--port={}", addr.port()))
            .arg(format!("--local-ttl={ttl}"))
            .args(records)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("starting dnsmasq");
        let mut dns = Self {
            child,
            addr,
            log,
            _dir: dir,
        };
        dns.wait_ready();
        Some(dns)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its log so far (every query).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls with a hand-made A query until dnsmasq answers (any answer),
    /// with a deadline; never a fixed sleep.
    #[allow(clippy::expect_used, clippy::panic)] // test support
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let socket = UdpSocket::bind("127.0.0.1:0").expect("UDP socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        // id 0x4f50, RD, one question: A ready.test IN.
        let mut query = vec![0x4f, 0x50, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in ["ready", "test"] {
            query.push(label.len() as u8);
            query.extend_from_slice(label.as_bytes());
        }
        query.extend_from_slice(&[0, 0, 1, 0, 1]);
        let mut buf = [0u8; 512];
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("dnsmasq exited ({status}):\n{}", self.log_text());
            }
            // Errors (refused while it starts) just mean "not yet".
            let _ = socket.send_to(&query, self.addr);
            if let Ok((n, _)) = socket.recv_from(&mut buf)
                && n >= 12
                && buf[..2] == query[..2]
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "dnsmasq did not answer on {} within 10 s:\n{}",
                self.addr,
                self.log_text()
            );
        }
    }
}

impl Drop for LocalDnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
