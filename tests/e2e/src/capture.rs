//! Packet captures with tcpdump inside a lab host, decoded afterwards with
//! tshark to the SIP messages they carry (TLS too, given the key log of one
//! endpoint), so a test can check what really crossed an interface.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::netns::Host;
use crate::process::Process;
use crate::{Result, require_tools};

/// How long tshark may take to start capturing.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running capture on one interface of a host.
pub struct Capture {
    process: Process,
    file: PathBuf,
}

impl Capture {
    /// Starts `tcpdump -i IFACE -w FILE` in `host`, with an optional BPF
    /// filter, and waits until it captures.
    ///
    /// tcpdump in immediate mode, not tshark/dumpcap: libpcap's default
    /// TPACKET_V3 ring hands packets over a block at a time, and under load
    /// a partly filled block was seen never to reach dumpcap (the capture
    /// of a whole test stopped after a few packets); immediate mode hands
    /// over each packet, and `-U` writes each one to the file at once.
    pub fn start(host: &Host, iface: &str, filter: Option<&str>) -> Result<Self> {
        require_tools(&["tcpdump", "tshark"], "packet captures")?;
        let file = host.lab_dir().join(format!(
            "{}-{iface}-{}.pcap",
            host.name(),
            std::process::id()
        ));
        let mut cmd = host.command("tcpdump");
        cmd.args(["-i", iface, "-n", "-s", "0", "--immediate-mode", "-U", "-w"])
            .arg(&file);
        if let Some(f) = filter {
            cmd.arg(f);
        }
        let mut process = host.spawn(cmd, &format!("tcpdump-{}-{iface}", host.name()))?;
        process.wait_for_log("listening on", START_TIMEOUT)?;
        Ok(Self { process, file })
    }

    /// Waits until the capture has written a packet, calling `probe` (which
    /// should send one packet the filter matches across the interface)
    /// every 100 ms until then: a capture program says it listens before
    /// the kernel delivers packets to it, and on a loaded machine the
    /// first packets can otherwise be missing from the file.
    pub fn wait_live(
        &self,
        timeout: Duration,
        mut probe: impl FnMut() -> std::io::Result<()>,
    ) -> Result<()> {
        let file = self.file.clone();
        crate::wait::wait_until(
            &format!("capture {} to see its probe", file.display()),
            timeout,
            || {
                let _ = probe();
                std::thread::sleep(Duration::from_millis(100));
                let out = Command::new("tshark")
                    .arg("-r")
                    .arg(&file)
                    .args(["-c", "1", "-T", "fields", "-e", "frame.number"])
                    .output();
                // A file still being written may end mid-block: not yet.
                Ok(out
                    .ok()
                    .filter(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty())
                    .map(|_| ()))
            },
        )
    }

    /// The file being written (readable while the capture runs).
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Stops the capture and returns the file.
    pub fn stop(mut self) -> PathBuf {
        let _ = self.process.stop();
        self.file
    }
}

/// The SIP messages in a capture file, each as its decoded start line and
/// header section (bodies left out), decrypting TLS with `keylog`
/// when given.
pub fn sip_messages(file: &Path, keylog: Option<&Path>) -> Result<Vec<String>> {
    require_tools(&["tshark"], "decoding captures")?;
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).args([
        "-n",
        "-Y",
        "sip",
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-e",
        "sip.Request-Line",
        "-e",
        "sip.Status-Line",
        "-e",
        "sip.msg_hdr",
    ]);
    if let Some(k) = keylog {
        cmd.arg("-o")
            .arg(format!("tls.keylog_file:{}", k.display()));
    }
    // SIP over TLS on Outpost's ports (5063 public, 5064 private).
    for port in ["5063", "5064"] {
        cmd.args([
            "-d",
            &format!("tcp.port=={port},tls"),
            "-d",
            &format!("tls.port=={port},sip"),
        ]);
    }
    let out = crate::run_checked(&mut cmd)?;
    // One message per line; tshark prints the header section's line breaks
    // as literal `\r\n`, turned back into newlines here.
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let text = l.replace("\\r\\n", "\n");
            // Start line and headers only: the body ends at the blank line.
            text.split("\n\n").next().unwrap_or_default().to_owned()
        })
        .collect())
}
