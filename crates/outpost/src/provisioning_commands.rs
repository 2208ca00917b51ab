//! `outpost provisioning ...`: phone provisioning from the gateway's shell
//! (issue 15), through the same service layer as
//! `/api/v1/provisioning` (as `cli:<unix user>`, audited like the API).
//!
//! `hash generate` needs an administrator's password even here, although
//! the shell can open the database: a new key breaks every deployed
//! phone's URL, and the password is the deliberate "yes, I mean it". It is
//! read like every CLI secret: asked without echo on a terminal, else the
//! first line of standard input (`--password-stdin`), or the environment
//! variable `OUTPOST_ADMIN_PASSWORD`; never from the command line.
//!
//! Exit status as the other management commands (`api_commands`).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use outpost_api::Service;
use outpost_api::service::provisioning::hash::{HashGenerateInput, REPROVISION_WARNING};
use outpost_api::service::provisioning::import::CsvImportFailure;
use outpost_api::service::provisioning::parse_macs;
use outpost_api::service::provisioning::uploads::{STARTUP_FILE_NAME, UploadKind, parse_kind};
use outpost_api::service::{Caller, Password};

use crate::api_commands::{self, CliError, JsonArg, SecretInput, time, to_json};
use crate::data_dir::DataDir;

/// The environment variable `hash generate` takes the password from.
pub const ADMIN_PASSWORD_ENV: &str = "OUTPOST_ADMIN_PASSWORD";

/// `outpost provisioning ...`
#[derive(Debug, Subcommand)]
pub enum ProvisioningCommand {
    /// The hash key in every configuration URL (SEC-7): show it, or
    /// generate a new one (every deployed phone must then be
    /// re-provisioned).
    #[command(subcommand)]
    Hash(HashCommand),
    /// Replace every phone file with those of a remote-worker CSV
    /// (MAC_ADDRESS, then phone parameters), all or nothing; every
    /// problem is reported with its line and column.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// Write the global file (aastra.cfg) from a PARAMETERS;VALUE CSV.
    ImportGlobal {
        /// The CSV file.
        file: PathBuf,
    },
    /// Store the one extra file (template or certificate), replacing the
    /// previous one; phones fetch it as /<hash>/<name>.
    UploadExtra {
        /// The file.
        file: PathBuf,
        /// The name phones ask for (default: the file's own name); not
        /// aastra.cfg or startup.cfg, no directory.
        #[arg(long)]
        name: Option<String>,
    },
    /// Store a startup.cfg, a model file (<model>.cfg) or a firmware
    /// image, replacing the file of the same kind and name; phones fetch
    /// it as /<hash>/<name>.
    Upload {
        /// startup, model or firmware.
        #[arg(long, value_parser = ["startup", "model", "firmware"])]
        kind: String,
        /// The file (firmware up to 64 MiB, the others up to 1 MiB).
        file: PathBuf,
        /// The name phones ask for (default: startup.cfg for startup, else
        /// the file's own name); no directory, not aastra.cfg, a <MAC>.cfg
        /// or outpost-ca.pem.
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a startup, model, firmware, extra or global file (phones'
    /// own files: `files delete`).
    RemoveFile {
        /// The file's name, e.g. 6867i.st.
        name: String,
    },
    /// The stored files: list, show one, delete phones' files.
    #[command(subcommand)]
    Files(FilesCommand),
    /// Phones that downloaded a file: list, delete (their files go too),
    /// export as CSV.
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// Provisioning actions (PRO-9): schedule one (import, deploy,
    /// delete, hash change) at once or at a time, list, show, cancel.
    #[command(subcommand)]
    Actions(crate::provisioning_actions_commands::ActionsCommand),
    /// The event log of provisioning actions, oldest first.
    Events(crate::provisioning_actions_commands::EventsArgs),
}

/// `outpost provisioning hash ...`
#[derive(Debug, Subcommand)]
pub enum HashCommand {
    /// Print the hash key and the URL path phones fetch under.
    Show(JsonArg),
    /// Replace the hash key, confirmed by an administrator's password.
    Generate(HashGenerateArgs),
}

/// Options of `outpost provisioning hash generate`.
#[derive(Debug, Args)]
pub struct HashGenerateArgs {
    /// The administrator account (admin role) whose password confirms.
    #[arg(long)]
    pub admin: String,
    /// Read the password from the first line of standard input instead of
    /// asking (or set OUTPOST_ADMIN_PASSWORD).
    #[arg(long)]
    pub password_stdin: bool,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `outpost provisioning files ...`
#[derive(Debug, Subcommand)]
pub enum FilesCommand {
    /// List stored files (name, kind, size, time, ETag).
    List(JsonArg),
    /// Print one file (phone files hold SIP passwords).
    Show {
        /// Its name, e.g. 00085D237429.cfg or aastra.cfg.
        name: String,
    },
    /// Delete phones' files, all or none.
    Delete {
        /// MACs (any form) or <MAC>.cfg names.
        #[arg(required = true)]
        macs: Vec<String>,
    },
}

/// `outpost provisioning inventory ...`
#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// List phones with model, firmware, last download and address,
    /// filtered (--mac, --model, --registered, --before, --after).
    List(crate::provisioning_actions_commands::InventoryListArgs),
    /// Remove phones (and their files), all or none.
    Delete {
        /// MACs, any form.
        #[arg(required = true)]
        macs: Vec<String>,
    },
    /// Print the inventory as CSV, with the list's filters.
    Export(crate::provisioning_actions_commands::InventoryFilterArgs),
}

/// Runs a command; `input` gives the password when not asked on a
/// terminal, `env_password` is `OUTPOST_ADMIN_PASSWORD`.
pub fn run(
    service: &Service,
    caller: &Caller,
    command: &ProvisioningCommand,
    input: &mut dyn BufRead,
    env_password: Option<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        ProvisioningCommand::Hash(HashCommand::Show(JsonArg { json })) => {
            let view = service.provisioning_hash(caller)?;
            if *json {
                writeln!(out, "{}", to_json(&view)?)?;
            } else {
                writeln!(
                    out,
                    "{}\nphones fetch under https://<fqdn>:<web port>{}",
                    view.hash, view.path
                )?;
            }
        }
        ProvisioningCommand::Hash(HashCommand::Generate(args)) => {
            writeln!(err, "warning: {REPROVISION_WARNING}")?;
            let password = match env_password {
                Some(p) => Password::new(p),
                None => {
                    let interactive = !args.password_stdin && std::io::stdin().is_terminal();
                    let mut secrets = SecretInput::new(input, err, interactive);
                    secrets.read(&format!("Password of administrator {:?}", args.admin))?
                }
            };
            let input = HashGenerateInput {
                admin: Some(args.admin.clone()),
                password,
            };
            let made = service.generate_provisioning_hash(caller, &input)?;
            if args.json {
                writeln!(out, "{}", to_json(&made)?)?;
            } else {
                writeln!(
                    out,
                    "New hash key: {}\npath: {}\n{}",
                    made.key.hash, made.key.path, made.warning
                )?;
            }
        }
        ProvisioningCommand::Import { file } => {
            let csv = read_file(file)?;
            let done = service.import_phones(caller, &csv).map_err(import_error)?;
            if done.kind == "selection" {
                writeln!(
                    out,
                    "{} phone(s) selected; the file has only MAC_ADDRESS, so no file was written",
                    done.macs.len()
                )?;
            } else {
                writeln!(
                    out,
                    "Imported {} phone file(s), replacing {} (system values {}).",
                    done.written,
                    done.replaced,
                    if done.system_values {
                        "filled in"
                    } else {
                        "not filled in: no public name"
                    }
                )?;
            }
        }
        ProvisioningCommand::ImportGlobal { file } => {
            let csv = read_file(file)?;
            let done = service.import_global(caller, &csv).map_err(import_error)?;
            writeln!(
                out,
                "Wrote {} ({} parameter(s), {} bytes).",
                done.file.name, done.parameters, done.file.size
            )?;
        }
        ProvisioningCommand::UploadExtra { file, name } => {
            let contents = read_file(file)?;
            let name = match name {
                Some(name) => name.clone(),
                None => file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        CliError::Usage(format!(
                            "{} has no file name usable as the extra file's name; give --name",
                            file.display()
                        ))
                    })?,
            };
            let stored = service.upload_extra_file(caller, &name, &contents)?;
            writeln!(
                out,
                "Stored the extra file {} ({} bytes).",
                stored.name, stored.size
            )?;
        }
        ProvisioningCommand::Upload { kind, file, name } => {
            let kind = parse_kind(kind)?;
            let contents = read_bounded(file, kind.max_bytes())?;
            let name = match (name, kind) {
                (Some(name), _) => name.clone(),
                (None, UploadKind::Startup) => STARTUP_FILE_NAME.to_owned(),
                (None, _) => file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        CliError::Usage(format!(
                            "{} has no file name usable as the name phones ask for; give --name",
                            file.display()
                        ))
                    })?,
            };
            let stored = service.upload_file(caller, kind, &name, &contents)?;
            writeln!(
                out,
                "Stored the {} file {} ({} bytes).",
                stored.kind, stored.name, stored.size
            )?;
        }
        ProvisioningCommand::RemoveFile { name } => {
            let removed = service.remove_uploaded_file(caller, name)?;
            writeln!(out, "Removed the {} file {}.", removed.kind, removed.name)?;
        }
        ProvisioningCommand::Files(FilesCommand::List(JsonArg { json })) => {
            let files = service.provisioning_files(caller)?;
            if *json {
                for f in &files {
                    writeln!(out, "{}", to_json(f)?)?;
                }
                return Ok(());
            }
            writeln!(
                out,
                "{:<24} {:<7} {:>8} {:<21} ETAG",
                "NAME", "KIND", "BYTES", "MODIFIED"
            )?;
            for f in &files {
                writeln!(
                    out,
                    "{:<24} {:<7} {:>8} {:<21} {}",
                    f.name,
                    f.kind,
                    f.size,
                    time(f.modified),
                    f.etag
                )?;
            }
        }
        ProvisioningCommand::Files(FilesCommand::Show { name }) => {
            let file = service.provisioning_file(caller, name)?;
            write!(out, "{}", file.contents)?;
        }
        ProvisioningCommand::Files(FilesCommand::Delete { macs }) => {
            let macs = parse_macs(macs)?;
            let removed = service.remove_phone_files(caller, &macs)?;
            writeln!(out, "Removed {} phone file(s).", removed.len())?;
        }
        ProvisioningCommand::Inventory(InventoryCommand::List(args)) => {
            let rows = service.inventory_filtered(caller, &args.filter.query())?;
            if args.json.json {
                for r in &rows {
                    writeln!(out, "{}", to_json(r)?)?;
                }
                return Ok(());
            }
            writeln!(
                out,
                "{:<12} {:<8} {:<14} {:<21} {:<39} {:<12} {:<3} FILE",
                "MAC", "MODEL", "FIRMWARE", "LAST DOWNLOAD", "ADDRESS", "USER", "REG"
            )?;
            for r in &rows {
                writeln!(
                    out,
                    "{:<12} {:<8} {:<14} {:<21} {:<39} {:<12} {:<3} {}",
                    r.mac,
                    r.model.as_deref().unwrap_or("-"),
                    r.firmware.as_deref().unwrap_or("-"),
                    time(r.last_download),
                    r.address,
                    r.user.as_deref().unwrap_or("-"),
                    if r.registered { "yes" } else { "no" },
                    r.file
                )?;
            }
        }
        ProvisioningCommand::Inventory(InventoryCommand::Delete { macs }) => {
            let macs = parse_macs(macs)?;
            let removed = service.remove_inventory(caller, &macs)?;
            writeln!(
                out,
                "Removed {} phone(s) from the inventory, with their files.",
                removed.len()
            )?;
        }
        ProvisioningCommand::Inventory(InventoryCommand::Export(filter)) => {
            write!(
                out,
                "{}",
                service.inventory_csv_filtered(caller, &filter.query())?
            )?;
        }
        ProvisioningCommand::Actions(command) => {
            crate::provisioning_actions_commands::run_actions(
                service,
                caller,
                command,
                input,
                env_password,
                out,
                err,
            )?;
        }
        ProvisioningCommand::Events(args) => {
            crate::provisioning_actions_commands::run_events(service, caller, args, out)?;
        }
    }
    Ok(())
}

/// Reads a file of at most `limit` bytes (checked before reading).
fn read_bounded(path: &PathBuf, limit: usize) -> Result<Vec<u8>, CliError> {
    let len = std::fs::metadata(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?
        .len();
    if len > limit as u64 {
        return Err(CliError::Usage(format!(
            "{} has {len} bytes; files of this kind are at most {limit} bytes",
            path.display()
        )));
    }
    read_file(path)
}

fn read_file(path: &PathBuf) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))
}

/// A refused CSV prints every problem; its exit status is bad input (2).
fn import_error(failure: CsvImportFailure) -> CliError {
    match failure {
        CsvImportFailure::Service(e) => CliError::Service(e),
        rejected @ CsvImportFailure::Rejected(_) => CliError::Usage(rejected.to_string()),
    }
}

/// Runs `outpost provisioning ...` on the installation's database with
/// standard input and output; `public_name` fills the system values of
/// imports.
pub fn main(location: &DataDir, public_name: String, command: &ProvisioningCommand) -> ExitCode {
    api_commands::finish(api_commands::open_service(location).and_then(|service| {
        run(
            &service.with_public_name(public_name),
            &api_commands::cli_caller(),
            command,
            &mut std::io::stdin().lock(),
            std::env::var(ADMIN_PASSWORD_ENV).ok(),
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        )
    }))
}
