//! `outpost webservices ...`: the MSL-compatible web services from the
//! gateway's shell (issue 16): start and stop them (the setting
//! `web.services`, applied live), manage consumers and approve, reject,
//! renew and revoke their OAuth tokens, through the same service layer
//! as `/api/v1/webservices` (as `cli:<unix user>`, audited).
//!
//! A consumer's shared secret is printed when it is created or renewed
//! and by `consumers secret`; it is what the application server's form
//! asks for (seed 003 step 2).

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use outpost_api::service::Caller;
use outpost_api::service::webservices::{
    ConsumerPatch, ConsumerSecret, ConsumerView, GrantView, NewConsumerInput, SealKey, WebServices,
};

use crate::api_commands::{self, CliError, JsonArg, to_json};
use crate::data_dir::DataDir;

/// The key file sealing consumer and token secrets, in the data directory.
pub const SEAL_KEY_FILE: &str = "webservices.key";

/// `outpost webservices ...`
#[derive(Debug, Subcommand)]
pub enum WebServicesCommand {
    /// Start the web services (/mslrest/ answers; live).
    Start,
    /// Stop the web services (/mslrest/ answers 503; live).
    Stop,
    /// Consumers: the application servers and iPBXs allowed to use them.
    #[command(subcommand)]
    Consumers(ConsumersCommand),
    /// OAuth tokens: temporary ones to approve, final ones to renew or
    /// revoke.
    #[command(subcommand)]
    Tokens(TokensCommand),
}

/// `outpost webservices consumers ...`
#[derive(Debug, Subcommand)]
pub enum ConsumersCommand {
    /// List consumers (never their secrets).
    List(JsonArg),
    /// Add a consumer; prints its new shared secret.
    Add(ConsumerAddArgs),
    /// Change a consumer's name, active flag or permissions.
    Set(ConsumerSetArgs),
    /// Print a consumer's shared secret (audited).
    Secret {
        /// The consumer ID.
        consumer_id: String,
    },
    /// Give a consumer a new shared secret; the old one stops working.
    NewSecret {
        /// The consumer ID.
        consumer_id: String,
    },
    /// Remove a consumer and its tokens.
    Remove {
        /// The consumer ID.
        consumer_id: String,
    },
}

/// `consumers add`.
#[derive(Debug, Args)]
pub struct ConsumerAddArgs {
    /// The consumer ID (at most 40 letters, digits, '-', '_', '.').
    pub consumer_id: String,
    /// What uses it, e.g. "MiVoice Office Application Suite".
    #[arg(long)]
    pub name: String,
    /// Permissions, repeatable or comma-separated: base/managetoken=rw,
    /// mbg/v1/icps=r, mbg/v1/devices=r|rw, mbg/v1/globaloptions=r.
    #[arg(long = "permission", value_delimiter = ',')]
    pub permissions: Vec<String>,
    /// Create it inactive.
    #[arg(long)]
    pub inactive: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `consumers set`.
#[derive(Debug, Args)]
pub struct ConsumerSetArgs {
    /// The consumer ID.
    pub consumer_id: String,
    /// New name.
    #[arg(long)]
    pub name: Option<String>,
    /// Active or not.
    #[arg(long)]
    pub active: Option<bool>,
    /// New permissions (replacing the old ones).
    #[arg(long = "permission", value_delimiter = ',')]
    pub permissions: Option<Vec<String>>,
}

/// `outpost webservices tokens ...`
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// List temporary and final tokens.
    List(JsonArg),
    /// Approve a temporary token; prints the verifier for the client.
    Approve {
        /// The temporary token.
        token: String,
    },
    /// Reject (remove) a temporary token.
    Reject {
        /// The temporary token.
        token: String,
    },
    /// Extend a final token's expiry by a year.
    Renew {
        /// The final token.
        token: String,
    },
    /// Revoke a final token: its next request gets 401.
    Revoke {
        /// The final token.
        token: String,
    },
}

/// Runs a command other than start/stop (those are `settings set
/// web.services`, see `main`).
pub fn main(location: &DataDir, command: &WebServicesCommand) -> ExitCode {
    api_commands::finish(api_commands::open_service(location).and_then(|service| {
        let key = SealKey::load_or_create(&location.path.join(SEAL_KEY_FILE))?;
        run(
            &WebServices::new(service, key),
            &api_commands::cli_caller(),
            command,
            &mut std::io::stdout(),
        )
    }))
}

/// Runs `command`, printing to `out`.
///
/// # Errors
/// [`CliError`].
pub fn run(
    ws: &WebServices,
    caller: &Caller,
    command: &WebServicesCommand,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        WebServicesCommand::Start | WebServicesCommand::Stop => Err(CliError::Usage(
            "start and stop are `outpost settings set web.services true|false`".into(),
        )),
        WebServicesCommand::Consumers(c) => consumers(ws, caller, c, out),
        WebServicesCommand::Tokens(t) => tokens(ws, caller, t, out),
    }
}

fn consumers(
    ws: &WebServices,
    caller: &Caller,
    command: &ConsumersCommand,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        ConsumersCommand::List(JsonArg { json }) => {
            let all = ws.consumers(caller)?;
            if *json {
                for c in &all {
                    writeln!(out, "{}", to_json(c)?)?;
                }
            } else {
                writeln!(
                    out,
                    "{:<24} {:<7} {:<32} PERMISSIONS",
                    "CONSUMER ID", "ACTIVE", "NAME"
                )?;
                for c in &all {
                    print_consumer(c, out)?;
                }
            }
        }
        ConsumersCommand::Add(args) => {
            let input = NewConsumerInput {
                consumer_id: args.consumer_id.clone(),
                name: args.name.clone(),
                active: !args.inactive,
                permissions: args.permissions.clone(),
            };
            let made = ws.create_consumer(caller, &input)?;
            print_secret(&made, args.json, out)?;
        }
        ConsumersCommand::Set(args) => {
            let patch = ConsumerPatch {
                name: args.name.clone(),
                active: args.active,
                permissions: args.permissions.clone(),
            };
            print_consumer(&ws.update_consumer(caller, &args.consumer_id, &patch)?, out)?;
        }
        ConsumersCommand::Secret { consumer_id } => {
            print_secret(&ws.consumer_secret(caller, consumer_id)?, false, out)?;
        }
        ConsumersCommand::NewSecret { consumer_id } => {
            print_secret(
                &ws.regenerate_consumer_secret(caller, consumer_id)?,
                false,
                out,
            )?;
        }
        ConsumersCommand::Remove { consumer_id } => {
            ws.remove_consumer(caller, consumer_id)?;
            writeln!(out, "Consumer {consumer_id} removed, with its tokens.")?;
        }
    }
    Ok(())
}

fn tokens(
    ws: &WebServices,
    caller: &Caller,
    command: &TokensCommand,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        TokensCommand::List(JsonArg { json }) => {
            let lists = ws.grants(caller)?;
            if *json {
                writeln!(out, "{}", to_json(&lists)?)?;
            } else {
                writeln!(out, "Temporary tokens:")?;
                for t in &lists.temporary {
                    print_grant(t, out)?;
                }
                writeln!(out, "Final tokens:")?;
                for t in &lists.final_tokens {
                    print_grant(t, out)?;
                }
            }
        }
        TokensCommand::Approve { token } => {
            let approved = ws.approve(caller, token)?;
            writeln!(
                out,
                "Approved. Verifier for {}: {}",
                approved.consumer_id,
                approved.verifier.as_deref().unwrap_or("")
            )?;
        }
        TokensCommand::Reject { token } => {
            ws.reject(caller, token)?;
            writeln!(out, "Temporary token {token} rejected.")?;
        }
        TokensCommand::Renew { token } => {
            let renewed = ws.renew(caller, token)?;
            writeln!(out, "Token {token} now expires at {}.", renewed.expires)?;
        }
        TokensCommand::Revoke { token } => {
            ws.revoke(caller, token)?;
            writeln!(out, "Token {token} revoked.")?;
        }
    }
    Ok(())
}

fn print_consumer(c: &ConsumerView, out: &mut dyn Write) -> Result<(), CliError> {
    writeln!(
        out,
        "{:<24} {:<7} {:<32} {}",
        c.consumer_id,
        if c.active { "yes" } else { "no" },
        c.name,
        c.permissions.join(",")
    )?;
    Ok(())
}

fn print_secret(made: &ConsumerSecret, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    if json {
        writeln!(out, "{}", to_json(made)?)?;
    } else {
        print_consumer(&made.consumer, out)?;
        writeln!(out, "Shared secret: {}", made.shared_secret)?;
    }
    Ok(())
}

fn print_grant(t: &GrantView, out: &mut dyn Write) -> Result<(), CliError> {
    let state = match (t.kind, t.approved, t.revoked) {
        (_, _, Some(_)) => "revoked".to_owned(),
        ("temporary", true, None) => {
            format!("approved, verifier {}", t.verifier.as_deref().unwrap_or(""))
        }
        ("temporary", false, None) => "waiting for approval".to_owned(),
        _ => "active".to_owned(),
    };
    writeln!(
        out,
        "  {}  {:<24} expires {}  {state}",
        t.token, t.consumer_id, t.expires
    )?;
    Ok(())
}
