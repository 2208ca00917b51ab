//! Outpost itself in the test bed: a host with a public and a private leg
//! runs `outpost serve` from a generated configuration, with ICPs and
//! devices written beforehand with the `outpost` CLI, like an installer
//! would.
//!
//! The binary's path is given by the caller (`env!("CARGO_BIN_EXE_outpost")`
//! in the `outpost` package's tests): this crate cannot build it.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::netns::{Host, Network};
use crate::process::Process;
use crate::{Result, TestbedError};

/// How long `outpost serve` may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A teleworker device to create before the start.
#[derive(Debug, Clone)]
pub struct DeviceSpec {
    /// Set-side username (what the phone registers with).
    pub username: String,
    /// Set-side password.
    pub password: String,
    /// ICP-side username; empty = same as the set side.
    pub icp_username: String,
    /// ICP-side password; empty = same as the set side.
    pub icp_password: String,
    /// The device's ICP (`devices add --icp`); `None` = the default ICP.
    pub icp: Option<String>,
}

impl DeviceSpec {
    /// A device whose ICP-side credentials differ from the set side.
    pub fn translated(
        username: &str,
        password: &str,
        icp_username: &str,
        icp_password: &str,
    ) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
            icp_username: icp_username.into(),
            icp_password: icp_password.into(),
            icp: None,
        }
    }

    /// The same device on ICP `icp` instead of the default one.
    #[must_use]
    pub fn on_icp(mut self, icp: &str) -> Self {
        self.icp = Some(icp.to_owned());
        self
    }
}

/// An ICP to create besides the one made from [`OutpostSpec::ipbx`]
/// (`outpost icps add`).
#[derive(Debug, Clone)]
pub struct IcpSpec {
    /// Its name.
    pub name: String,
    /// Its host: an IP address, or a DNS name (resolved per RFC 3263).
    pub host: String,
    /// The SIP transports it supports, as `--transports` takes them
    /// (`"tls"`, `"udp,tcp"`).
    pub transports: String,
    /// Its SIP port; `None` = from DNS SRV records for a name, else the
    /// transport's default.
    pub port: Option<u16>,
    /// The CA file its TLS certificate is checked with.
    pub ca_file: Option<PathBuf>,
}

impl IcpSpec {
    /// ICP `name` at `host` supporting `transports`, no port, no CA file.
    pub fn new(name: &str, host: &str, transports: &str) -> Self {
        Self {
            name: name.to_owned(),
            host: host.to_owned(),
            transports: transports.to_owned(),
            port: None,
            ca_file: None,
        }
    }

    /// Sets the SIP port.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Sets the CA file.
    #[must_use]
    pub fn ca_file(mut self, path: &Path) -> Self {
        self.ca_file = Some(path.to_path_buf());
        self
    }
}

/// What [`OutpostNode::start_with`] adds to an [`OutpostSpec`]: more ICPs,
/// the private side's protocols, the DNS servers. The default adds
/// nothing ([`OutpostNode::start`]).
#[derive(Debug, Clone, Default)]
pub struct Provisioning {
    /// Name of the ICP made from [`OutpostSpec::ipbx`] (the default ICP,
    /// created first); `None` = `ipbx`.
    pub default_icp: Option<String>,
    /// ICPs created after it, in order.
    pub icps: Vec<IcpSpec>,
    /// `[private] protocols`; `None` = `udp/tcp` (`tls+udp/tcp` to reach
    /// an ICP over TLS and be reached by it).
    pub private_protocols: Option<String>,
    /// `[dns] servers`; empty = no `[dns]` table (the system's resolver).
    pub dns_servers: Vec<SocketAddr>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct OutpostSpec {
    /// The `outpost` binary.
    pub binary: PathBuf,
    /// Network of the public leg (toward phones).
    pub public: Network,
    /// Network of the private leg (toward the iPBX).
    pub private: Network,
    /// The iPBX (Kamailio) SIP address; UDP.
    pub ipbx: SocketAddr,
    /// Devices to create.
    pub devices: Vec<DeviceSpec>,
    /// Addresses to put on the guard's allow-list before the start (load
    /// generators, which would otherwise be denied for flooding).
    pub allow_list: Vec<String>,
    /// Devices to import as CSV (`outpost devices import`), header included.
    pub devices_csv: Option<String>,
    /// Extra environment for `outpost serve` (e.g. `SSLKEYLOGFILE`).
    pub env: Vec<(String, String)>,
    /// Extra TOML put first in the generated configuration (top-level keys,
    /// then whole tables that the generated ones do not repeat).
    pub extra_toml: String,
}

/// A running Outpost in a lab host.
pub struct OutpostNode {
    process: Process,
    binary: PathBuf,
    env: Vec<(String, String)>,
    data_dir: PathBuf,
    config: PathBuf,
    public_ip: Ipv4Addr,
    private_ip: Ipv4Addr,
}

impl OutpostNode {
    /// Writes the configuration, creates the ICP and the devices with the
    /// CLI, starts `outpost serve` in `host` and waits until it runs.
    pub fn start(host: &Host, spec: &OutpostSpec) -> Result<Self> {
        Self::start_with(host, spec, &Provisioning::default())
    }

    /// [`OutpostNode::start`] with more ICPs, the private side's protocols
    /// and DNS servers from `more`.
    pub fn start_with(host: &Host, spec: &OutpostSpec, more: &Provisioning) -> Result<Self> {
        let missing = |net: &Network| {
            TestbedError::Config(format!(
                "the Outpost host has no leg on network {}",
                net.name()
            ))
        };
        let public_ip = host
            .ip_on(&spec.public)
            .ok_or_else(|| missing(&spec.public))?;
        let private_ip = host
            .ip_on(&spec.private)
            .ok_or_else(|| missing(&spec.private))?;
        let dir = host.lab().unique_path("outpost", "");
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&dir)
            .map_err(|e| TestbedError::io("creating the Outpost directory", &dir, e))?;
        let config = dir.join("outpost.toml");
        let private_protocols = more.private_protocols.as_deref().unwrap_or("udp/tcp");
        let mut text = format!(
            "{}\n[public]\ninterface = \"{public_ip}\"\nprotocols = \"tls+udp/tcp\"\n\n[private]\ninterface = \"{private_ip}\"\nprotocols = \"{private_protocols}\"\n\n[ipbx]\naddress = \"{}\"\nport = {}\ntransport = \"udp\"\n\n[log]\nlevel = \"outpost=debug,outpost::media::relay=trace,info\"\n\n[admin]\n# Plain HTTP on loopback, for `metrics` (curl http://127.0.0.1:9464).\ntls = false\n",
            spec.extra_toml,
            spec.ipbx.ip(),
            spec.ipbx.port(),
        );
        if !more.dns_servers.is_empty() {
            let servers: Vec<String> = more.dns_servers.iter().map(ToString::to_string).collect();
            text.push_str(&format!("\n[dns]\nservers = \"{}\"\n", servers.join(", ")));
        }
        std::fs::write(&config, text)
            .map_err(|e| TestbedError::io("writing outpost.toml", &config, e))?;

        let cli = |args: &[&str], env: &[(&str, &str)]| -> Result<()> {
            let mut cmd = Command::new(&spec.binary);
            cmd.arg("--config")
                .arg(&config)
                .arg("--data-dir")
                .arg(&data_dir)
                .args(args);
            for (k, v) in env {
                cmd.env(k, v);
            }
            crate::run_checked(&mut cmd).map(|_| ())
        };
        // Management commands never create the database: `init` does, as
        // an installer provisioning before the first start would.
        cli(&["init"], &[])?;
        let ipbx = spec.ipbx.ip().to_string();
        cli(
            &[
                "icps",
                "add",
                "--name",
                more.default_icp.as_deref().unwrap_or("ipbx"),
                "--host",
                &ipbx,
                "--transports",
                "udp,tcp",
            ],
            &[],
        )?;
        for icp in &more.icps {
            let port = icp.port.map(|p| p.to_string());
            let ca_file = icp.ca_file.as_ref().map(|p| p.display().to_string());
            let mut args = vec![
                "icps",
                "add",
                "--name",
                icp.name.as_str(),
                "--host",
                icp.host.as_str(),
                "--transports",
                icp.transports.as_str(),
            ];
            if let Some(port) = &port {
                args.extend(["--port", port.as_str()]);
            }
            if let Some(ca_file) = &ca_file {
                args.extend(["--ca-file", ca_file.as_str()]);
            }
            cli(&args, &[])?;
        }
        for d in &spec.devices {
            let mut args = vec!["devices", "add", "--username", d.username.as_str()];
            if !d.icp_username.is_empty() {
                args.extend(["--icp-username", d.icp_username.as_str()]);
            }
            if let Some(icp) = &d.icp {
                args.extend(["--icp", icp.as_str()]);
            }
            let mut env = vec![("OUTPOST_DEVICE_PASSWORD", d.password.as_str())];
            if !d.icp_password.is_empty() {
                env.push(("OUTPOST_DEVICE_ICP_PASSWORD", d.icp_password.as_str()));
            }
            cli(&args, &env)?;
        }

        for address in &spec.allow_list {
            cli(
                &[
                    "guard",
                    "allow",
                    "add",
                    address,
                    "--note",
                    "test-bed load generator",
                ],
                &[],
            )?;
        }
        if let Some(csv) = &spec.devices_csv {
            let file = dir.join("devices.csv");
            std::fs::write(&file, csv)
                .map_err(|e| TestbedError::io("writing devices.csv", &file, e))?;
            let file = file.display().to_string();
            cli(&["devices", "import", &file], &[])?;
        }
        let mut cmd = host.command(&spec.binary);
        cmd.arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("serve");
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        let mut process = host.spawn(cmd, "outpost")?;
        process.wait_for_log("outpost running", START_TIMEOUT)?;
        Ok(Self {
            process,
            binary: spec.binary.clone(),
            env: spec.env.clone(),
            data_dir,
            config,
            public_ip,
            private_ip,
        })
    }

    /// Stops `outpost serve` (SIGTERM) and starts it again in `host` with
    /// the same configuration and data, waiting until it runs (SEC-10:
    /// nothing may be lost across a restart).
    pub fn restart(&mut self, host: &Host) -> Result<()> {
        let _ = self.process.stop();
        let mut cmd = host.command(&self.binary);
        cmd.arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("serve");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        self.process = host.spawn(cmd, "outpost-restarted")?;
        self.process.wait_for_log("outpost running", START_TIMEOUT)
    }

    /// Runs the `outpost` CLI on this node's configuration and data
    /// directory (like an administrator on the same machine) and returns
    /// its standard output.
    pub fn cli(&self, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(args);
        let out = crate::run_checked(&mut cmd)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The TLS certificate phones must trust (self-signed at first start).
    pub fn ca_file(&self) -> PathBuf {
        self.data_dir.join("tls/default.crt")
    }

    /// Public SIP/TLS address (port 5063).
    pub fn public_tls(&self) -> SocketAddr {
        SocketAddr::from((self.public_ip, 5063))
    }

    /// Public plain SIP address (UDP and TCP 5060).
    pub fn public_plain(&self) -> SocketAddr {
        SocketAddr::from((self.public_ip, 5060))
    }

    /// Private-side address.
    pub fn private_ip(&self) -> Ipv4Addr {
        self.private_ip
    }

    /// Public-side address.
    pub fn public_ip(&self) -> Ipv4Addr {
        self.public_ip
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The configuration file.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The process (log, stop).
    pub fn process(&mut self) -> &mut Process {
        &mut self.process
    }
}

/// Outpost's `/metrics` text, read with curl inside `host` from the admin
/// listener's default address (loopback, port 9464) over plain HTTP: the
/// configuration [`OutpostNode`] writes sets `[admin] tls = false`.
pub fn metrics(host: &Host) -> Result<String> {
    let out = host.run(&[
        "curl",
        "-sS",
        "--max-time",
        "5",
        "http://127.0.0.1:9464/metrics",
    ])?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Outpost's `/metrics` text over HTTPS (`[admin] tls`, the default), read
/// with curl inside `host` from the admin listener's default address,
/// checking its certificate against `ca_file` for `name`.
pub fn metrics_https(host: &Host, ca_file: &Path, name: &str) -> Result<String> {
    let ca = ca_file.display().to_string();
    let resolve = format!("{name}:9464:127.0.0.1");
    let url = format!("https://{name}:9464/metrics");
    let out = host.run(&[
        "curl",
        "-sS",
        "--max-time",
        "5",
        "--cacert",
        &ca,
        "--resolve",
        &resolve,
        &url,
    ])?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The sum of the values of every series in `metrics` whose line starts
/// with `series` (a name, or a name and the start of its labels).
pub fn metric_sum(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(series))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
