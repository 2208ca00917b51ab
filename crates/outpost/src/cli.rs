//! Command-line interface (clap). Every subcommand has `--help`; the binary
//! has `--version`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Outpost: session border controller and remote-worker gateway.
#[derive(Debug, Parser)]
#[command(name = "outpost", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Configuration file (TOML). Without one, the embedded defaults apply,
    /// overridden by `OUTPOST_*` environment variables.
    #[arg(long, short = 'c', global = true, env = "OUTPOST_CONFIG")]
    pub config: Option<PathBuf>,

    /// Data directory: database, certificates; relative to the working
    /// directory. Default: `data_dir` from the configuration file (relative
    /// to that file), else `outpost-data` next to the configuration file,
    /// else `./outpost-data`. Only `serve` and `init` create it.
    #[arg(long, global = true, env = "OUTPOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Log format; overrides `log.format` from the configuration.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format chosen on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway: SIP listeners on both sides and the admin listener.
    Serve,
    /// Create the data directory and the database without starting (to add
    /// ICPs and devices before the first `serve`); does nothing if they
    /// exist.
    Init,
    /// Validate a configuration file (with environment overrides) and print
    /// every problem found; exits non-zero when the file is invalid.
    CheckConfig {
        /// The file to check; defaults to `--config`.
        file: Option<PathBuf>,
    },
    /// Manage ICPs (iPBXs that remote workers register to).
    #[command(subcommand)]
    Icps(IcpCommand),
    /// Manage teleworker SIP devices.
    #[command(subcommand)]
    Devices(DeviceCommand),
    /// Security: status, allow-list and deny-lists (SEC-1..SEC-6).
    #[command(subcommand)]
    Guard(crate::guard_admin::GuardCommand),
    /// Administration of this installation from its machine: the
    /// administrator setup token (`outpost admin setup-token --new`) and
    /// administrator accounts (`create`, `list`, `passwd`).
    #[command(subcommand)]
    Admin(crate::admin_commands::AdminCommand),
    /// API tokens for automation: create (shown once), list, revoke.
    #[command(subcommand)]
    Token(crate::api_commands::TokenCommand),
    /// The audit log: every change, by whom, when, from where (newest
    /// first; filters: --since, --until, --actor, --action).
    Audit(crate::api_commands::AuditArgs),
    /// Settings: every value with where it comes from (default, database,
    /// file, environment) and whether a change applies live.
    #[command(subcommand)]
    Settings(crate::settings_commands::SettingsCommand),
    /// Phone provisioning: the hash key, remote-worker and global CSV
    /// imports, stored files, inventory, actions.
    #[command(subcommand)]
    Provisioning(crate::provisioning_commands::ProvisioningCommand),
    /// The MSL-compatible web services (/mslrest/): start, stop,
    /// consumers and their OAuth tokens.
    #[command(subcommand, name = "webservices")]
    WebServices(crate::webservices_commands::WebServicesCommand),
    /// TLS certificates: list, import, assign per usage, delete; ACME
    /// requests and renewals.
    #[command(subcommand)]
    Certs(crate::certs_commands::CertsCommand),
}

/// `outpost icps ...`
#[derive(Debug, Subcommand)]
pub enum IcpCommand {
    /// Add an ICP.
    Add(IcpAddArgs),
    /// List ICPs.
    List(ListArgs),
    /// Show one ICP.
    Show {
        /// ICP name.
        name: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Change an ICP: only the fields given change (the name cannot).
    Update(IcpUpdateArgs),
    /// Remove an ICP by name (refused while devices use it).
    Remove {
        /// ICP name.
        name: String,
    },
    /// Test an ICP as `serve` reaches it: DNS, TCP/TLS connect with the
    /// certificate check, SIP OPTIONS round trip; each step with its time
    /// and, on failure, what to fix. Exit status 0 when every step
    /// passed, 1 when one failed, 2 for an unknown ICP.
    Test(IcpTestArgs),
}

/// Options of `icps test`.
#[derive(Debug, Clone, Args)]
pub struct IcpTestArgs {
    /// ICP name.
    pub name: String,
    /// Test every target DNS gives, not only the first (the one `serve`
    /// uses while it answers).
    #[arg(long)]
    pub all: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Seconds each connect, TLS handshake and OPTIONS may take.
    #[arg(long, default_value = "3", value_parser = parse_seconds)]
    pub timeout: std::time::Duration,
    /// PEM file of the CA to check the ICP's TLS certificate with, instead
    /// of the ICP's CA file or `[ipbx] ca_file` (to try one before
    /// configuring it).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
}

/// A duration in seconds, e.g. `3` or `0.5` (0.1 to 60).
fn parse_seconds(value: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not a number of seconds"))?;
    if !(0.1..=60.0).contains(&seconds) {
        return Err(format!("{value} s is out of range: give 0.1 to 60 seconds"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// Fields of a new ICP (PRO-1).
#[derive(Debug, Args)]
pub struct IcpAddArgs {
    /// Unique name of the ICP.
    #[arg(long)]
    pub name: String,
    /// Host name or IP address of the ICP.
    #[arg(long)]
    pub host: String,
    /// ICP type, e.g. `mivoice-5000`.
    #[arg(long, default_value = "generic")]
    pub kind: String,
    /// SIP transports the ICP supports, comma-separated: udp, tcp, tls.
    #[arg(long, value_delimiter = ',', default_value = "tls")]
    pub transports: Vec<SipTransportArg>,
    /// Make this the default ICP for SIP devices (the first ICP always is).
    #[arg(long)]
    pub default: bool,
    /// XML listen port on the public side (TLS).
    #[arg(long, default_value_t = 4445)]
    pub xml_listen_port: u16,
    /// XML destination port on the ICP (4443 or 4445, TLS).
    #[arg(long, default_value_t = 4443)]
    pub xml_destination_port: u16,
    /// SIP port on the ICP. Default: from DNS SRV records for a host name
    /// (RFC 3263), else 5060 (UDP/TCP) or 5061 (TLS).
    #[arg(long)]
    pub port: Option<u16>,
    /// PEM file of the CA that issued the ICP's TLS certificate (checked
    /// against the ICP's host name). Default: `[ipbx] ca_file`; Outpost's
    /// own certificate is trusted too (daisy chain), nothing else.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
}

/// What `icps update` changes; at least one is required.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("change")
        .required(true)
        .multiple(true)
        .args([
            "host", "kind", "transports", "default", "xml_listen_port",
            "xml_destination_port", "port", "clear_port", "ca_file", "clear_ca_file",
        ])
))]
pub struct IcpUpdateArgs {
    /// Name of the ICP to change.
    pub name: String,
    /// New host name or IP address.
    #[arg(long)]
    pub host: Option<String>,
    /// New ICP type.
    #[arg(long)]
    pub kind: Option<String>,
    /// The SIP transports it supports, comma-separated: udp, tcp, tls
    /// (replaces the current set).
    #[arg(long, value_delimiter = ',')]
    pub transports: Option<Vec<SipTransportArg>>,
    /// Make this the default ICP for SIP devices.
    #[arg(long)]
    pub default: bool,
    /// New XML listen port on the public side.
    #[arg(long)]
    pub xml_listen_port: Option<u16>,
    /// New XML destination port on the ICP (4443 or 4445).
    #[arg(long)]
    pub xml_destination_port: Option<u16>,
    /// New SIP port on the ICP.
    #[arg(long, conflicts_with = "clear_port")]
    pub port: Option<u16>,
    /// Remove the SIP port: DNS SRV or the transport's default again.
    #[arg(long)]
    pub clear_port: bool,
    /// New CA file for the ICP's certificate.
    #[arg(long, conflicts_with = "clear_ca_file")]
    pub ca_file: Option<PathBuf>,
    /// Remove the CA file: `[ipbx] ca_file` again.
    #[arg(long)]
    pub clear_ca_file: bool,
}

/// A SIP transport an ICP supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SipTransportArg {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS.
    Tls,
}

/// `outpost devices ...`
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Add a teleworker SIP device.
    Add(DeviceAddArgs),
    /// List devices (passwords are never shown).
    List(DeviceListArgs),
    /// Show one device with its status and registered clients.
    Show {
        /// Set-side username of the device.
        username: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove a device by its set-side username.
    Remove {
        /// Set-side username of the device.
        username: String,
    },
    /// Export devices_mbg.csv for terminal management (PRO-4): Login;NA;
    /// Password rows (set-side username, ICP-side username, set-side
    /// password). It holds passwords: FILE is created owner-only; without
    /// FILE it goes to standard output. Audited.
    ExportMbg {
        /// Where to write it (default: standard output).
        file: Option<PathBuf>,
        /// Only the devices of this ICP.
        #[arg(long)]
        icp: Option<String>,
    },
    /// Change a device: only the fields given change.
    ///
    /// Passwords: `--password-from-env` and `--icp-password-from-env` read
    /// OUTPOST_DEVICE_PASSWORD and OUTPOST_DEVICE_ICP_PASSWORD (kept out of
    /// `ps`); those variables are read only when these flags ask for them.
    /// A running `outpost serve` uses the new values from the device's next
    /// request on (a phone's REGISTER or call, or Outpost's next
    /// registration refresh toward the iPBX).
    Update(DeviceUpdateArgs),
    /// Import devices from a CSV file, all or nothing.
    ///
    /// Header row with columns: setside_username, setside_password (required
    /// to create), icpside_username, icpside_password, icp, description,
    /// enabled, clientid (MAC), location. `,` or `;` separated. If any line
    /// is invalid, every bad line is reported and nothing is written.
    ///
    /// With `--mode update` or `upsert`, a row naming an existing device
    /// changes only the columns the header names; a blank cell means what
    /// it means on creation (no MAC, no location, ICP-side value = set side,
    /// enabled), except that a blank setside_password or icp keeps the
    /// current one.
    Import {
        /// CSV file.
        file: PathBuf,
        /// create: only new devices (a row naming an existing device is an
        /// error); update: only existing devices (an unknown one is an
        /// error); upsert: either.
        #[arg(long, value_enum, default_value_t = ImportModeArg::Create)]
        mode: ImportModeArg,
    },
}

/// How `devices import` treats rows naming existing devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportModeArg {
    /// Only create devices.
    Create,
    /// Only update existing devices.
    Update,
    /// Create unknown devices, update existing ones.
    Upsert,
}

/// What `devices update` changes; at least one is required.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("change")
        .required(true)
        .multiple(true)
        .args([
            "password_from_env", "password", "icp_username", "icp_password_from_env",
            "icp_password", "clear_icp_password", "icp", "mac", "clear_mac",
            "description", "location", "clear_location", "enable", "disable",
        ])
))]
pub struct DeviceUpdateArgs {
    /// Set-side username of the device to change.
    pub username: String,
    /// New set-side password from the environment variable
    /// OUTPOST_DEVICE_PASSWORD.
    #[arg(long, conflicts_with = "password")]
    pub password_from_env: bool,
    /// New set-side password. Visible to other users in `ps`: prefer
    /// --password-from-env.
    #[arg(long)]
    pub password: Option<String>,
    /// New ICP-side username; "" means the same as the set side.
    #[arg(long)]
    pub icp_username: Option<String>,
    /// New ICP-side password from the environment variable
    /// OUTPOST_DEVICE_ICP_PASSWORD.
    #[arg(long, conflicts_with_all = ["icp_password", "clear_icp_password"])]
    pub icp_password_from_env: bool,
    /// New ICP-side password. Visible to other users in `ps`: prefer
    /// --icp-password-from-env.
    #[arg(long, conflicts_with = "clear_icp_password")]
    pub icp_password: Option<String>,
    /// Use the set-side password toward the ICP again.
    #[arg(long)]
    pub clear_icp_password: bool,
    /// Move the device to this ICP.
    #[arg(long)]
    pub icp: Option<String>,
    /// New MAC address (00-08-5d-84-20-61, 00:08:5D:84:20:61 or 00085d842061).
    #[arg(long, conflicts_with = "clear_mac")]
    pub mac: Option<String>,
    /// Remove the MAC address.
    #[arg(long)]
    pub clear_mac: bool,
    /// New description.
    #[arg(long)]
    pub description: Option<String>,
    /// New location (emergency-call group).
    #[arg(long, conflicts_with = "clear_location")]
    pub location: Option<String>,
    /// Remove the location.
    #[arg(long)]
    pub clear_location: bool,
    /// Enable the device.
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Disable the device: it can no longer register or call.
    #[arg(long)]
    pub disable: bool,
}

/// Options of list commands.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `devices list`.
#[derive(Debug, Args)]
pub struct DeviceListArgs {
    /// Print JSON lines instead of a table (each with its `bindings`).
    #[arg(long)]
    pub json: bool,
    /// One line per registered client (binding) instead of per device:
    /// several phones or softphones may register as one device.
    #[arg(long)]
    pub bindings: bool,
    /// Only devices with this text in the set-side or ICP-side username,
    /// the description, the MAC address or the location.
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Only devices on this ICP.
    #[arg(long)]
    pub icp: Option<String>,
    /// Only devices in this state: registered, unregistered, connected,
    /// in-call, off or natted.
    #[arg(long)]
    pub status: Option<String>,
    /// Sort by setside_username (default), icpside_username, icp,
    /// enabled, status, mac, location or description; - in front for
    /// descending order (`--sort=-status`).
    #[arg(long, allow_hyphen_values = true)]
    pub sort: Option<String>,
}

/// Fields of a new device (PRO-2).
#[derive(Debug, Args)]
pub struct DeviceAddArgs {
    /// Set-side username: what the phone registers with.
    #[arg(long)]
    pub username: String,
    /// Set-side password. Prefer the environment variable: command lines are
    /// visible to other users in `ps`.
    #[arg(long, env = "OUTPOST_DEVICE_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// ICP-side username; blank means the same as the set side.
    #[arg(long, default_value = "")]
    pub icp_username: String,
    /// ICP-side password; blank means the same as the set side.
    #[arg(long, env = "OUTPOST_DEVICE_ICP_PASSWORD", hide_env_values = true)]
    pub icp_password: Option<String>,
    /// ICP name; default: the default ICP.
    #[arg(long)]
    pub icp: Option<String>,
    /// Free description.
    #[arg(long, default_value = "")]
    pub description: String,
    /// MAC address of the phone (00-08-5d-84-20-61, 00:08:5D:84:20:61 or 00085d842061).
    #[arg(long)]
    pub mac: Option<String>,
    /// Location (emergency-call group).
    #[arg(long)]
    pub location: Option<String>,
    /// Create the device disabled.
    #[arg(long)]
    pub disabled: bool,
}
