//! The CLI front end of the management plane (SEC-9): `outpost admin
//! create|list|passwd`, `outpost token create|list|revoke` and `outpost
//! audit`. Each calls the same service layer as the REST API
//! (`outpost_api::service`), as the actor `cli:<unix user>` from `local`,
//! so its changes land in the audit log like the API's.
//!
//! Passwords and setup tokens are never taken from the command line (where
//! `ps` shows them): they are asked for on the terminal without echo, or
//! read from standard input with `--password-stdin`. Whoever can run these
//! commands can open the database (mode 0600 in a 0700 directory) and so
//! already controls the installation: `admin passwd` resets a password
//! without the old one (the recovery path for a forgotten password), and
//! further accounts need no setup token. The first account always does.
//!
//! Exit status: 0 success, 2 bad input, 3 not allowed, 4 not found,
//! 5 conflict, 6 rate-limited, 1 anything else (see
//! [`ServiceError::exit_code`]).

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use outpost_api::Service;
use outpost_api::service::{
    Actor, AuditQuery, Caller, NewAdminInput, NewTokenInput, Password, PasswordChangeInput,
    ServiceError, SetupInput,
};

use crate::certs::Timestamp;
use crate::data_dir::DataDir;

/// `outpost token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for automation; its value is printed once.
    Create(TokenCreateArgs),
    /// List API tokens (never their values), revoked ones included.
    List(JsonArg),
    /// Revoke an API token by id: it gets 401 from its next request on.
    Revoke {
        /// The token's id (`outpost token list`).
        id: String,
    },
}

/// Options of `outpost token create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// A unique name saying what uses it.
    #[arg(long)]
    pub name: String,
    /// Scope, repeatable or comma-separated: RESOURCE:read or
    /// RESOURCE:write with RESOURCE one of admins, audit, certificates,
    /// devices, guard, icps, provisioning, service, settings, tokens,
    /// webservices, or * for all.
    #[arg(long = "scope", required = true, value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// Days until it expires (1 to 3650).
    #[arg(long, default_value_t = outpost_api::service::DEFAULT_TOKEN_DAYS)]
    pub expires_days: u32,
    /// Address or prefix it may be used from, repeatable (default:
    /// anywhere), e.g. 192.0.2.0/24.
    #[arg(long = "allow-source", value_delimiter = ',')]
    pub allowed_sources: Vec<String>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `--json` alone.
#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `outpost audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only entries since: Unix seconds, or an age such as 30m, 12h, 7d.
    #[arg(long)]
    pub since: Option<String>,
    /// Only entries until: Unix seconds, or an age such as 1h.
    #[arg(long)]
    pub until: Option<String>,
    /// Only this actor (account:alice, token:ID, cli:root) or actor name.
    #[arg(long)]
    pub actor: Option<String>,
    /// Only this action (admin.create) or family (admin.).
    #[arg(long)]
    pub action: Option<String>,
    /// At most this many entries, newest first (1 to 500).
    #[arg(long, default_value_t = outpost_api::service::DEFAULT_AUDIT_LIMIT)]
    pub limit: u32,
    /// Only entries older than this id (the `next` a previous page printed).
    #[arg(long)]
    pub cursor: Option<i64>,
    /// Print JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of `outpost admin create`.
#[derive(Debug, Args)]
pub struct AdminCreateArgs {
    /// Login name of the new account.
    pub name: String,
    /// Role: admin or read-only (the first account is always admin).
    #[arg(long, default_value = "admin")]
    pub role: String,
    /// Read from standard input, one per line, instead of asking: the setup
    /// token (only for the first account, and only when OUTPOST_SETUP_TOKEN
    /// is not set), then the password.
    #[arg(long)]
    pub password_stdin: bool,
}

/// Options of `outpost admin passwd`.
#[derive(Debug, Args)]
pub struct AdminPasswdArgs {
    /// The account whose password to set.
    pub name: String,
    /// Read the new password from the first line of standard input instead
    /// of asking.
    #[arg(long)]
    pub password_stdin: bool,
}

/// Why a management command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The service refused or failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The database could not be opened.
    #[error("{0}")]
    Open(String),
    /// The terminal or standard input/output failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Input that is not a service's to judge (prompts, options).
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// The exit status (see the module docs).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Service(e) => e.exit_code(),
            Self::Usage(_) => 2,
            Self::Open(_) | Self::Io(_) => 1,
        }
    }
}

/// Prints the error, if any, and turns the result into an exit status.
pub fn finish(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Opens the installation's database (never creating one) for `service`.
pub fn open_service(location: &DataDir) -> Result<Service, CliError> {
    location
        .open_existing()
        .map(Service::new)
        .map_err(|e| CliError::Open(e.to_string()))
}

/// The CLI as the Unix user running it, now.
pub fn cli_caller() -> Caller {
    Caller::cli(unix_user(), now_unix())
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The Unix user name of this process (from its uid and /etc/passwd), else
/// `$USER`, else `uid N`.
fn unix_user() -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            let uid = meta.uid();
            let name = std::fs::read_to_string("/etc/passwd")
                .ok()
                .and_then(|passwd| {
                    passwd.lines().find_map(|line| {
                        let mut fields = line.split(':');
                        let name = fields.next()?;
                        let id = fields.nth(1)?.parse::<u32>().ok()?;
                        (id == uid).then(|| name.to_owned())
                    })
                });
            return name.unwrap_or_else(|| format!("uid {uid}"));
        }
    }
    std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned())
}

/// Reads secrets from a prompt (terminal, no echo) or standard input.
pub struct SecretInput<'a> {
    input: &'a mut dyn BufRead,
    prompts: &'a mut dyn Write,
    interactive: bool,
}

impl<'a> SecretInput<'a> {
    /// Prompts on `prompts` when `interactive`; reads lines from `input`.
    pub fn new(input: &'a mut dyn BufRead, prompts: &'a mut dyn Write, interactive: bool) -> Self {
        Self {
            input,
            prompts,
            interactive,
        }
    }

    /// Reads one secret line; `what` names it in the prompt and errors.
    pub fn read(&mut self, what: &str) -> Result<Password, CliError> {
        if self.interactive {
            write!(self.prompts, "{what}: ")?;
            self.prompts.flush()?;
        }
        let echo_off = self.interactive && std::io::stdin().is_terminal() && stty(&["-echo"]);
        let mut line = String::new();
        let read = self.input.read_line(&mut line);
        if echo_off {
            stty(&["echo"]);
            writeln!(self.prompts)?;
        }
        if read? == 0 {
            return Err(CliError::Usage(format!(
                "no {what} on standard input (one per line)"
            )));
        }
        Ok(Password::new(line.trim_end_matches(['\r', '\n'])))
    }

    /// Reads a new password; asked twice when interactive.
    pub fn new_password(&mut self) -> Result<Password, CliError> {
        let first = self.read("New password (at least 12 characters)")?;
        if self.interactive {
            let again = self.read("The same password again")?;
            if again.expose() != first.expose() {
                return Err(CliError::Usage(
                    "the two passwords differ; nothing was changed".to_owned(),
                ));
            }
        }
        Ok(first)
    }
}

/// Runs `stty` on the terminal; whether it worked.
fn stty(args: &[&str]) -> bool {
    std::process::Command::new("stty")
        .args(args)
        .stdin(std::process::Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}

/// `outpost admin create NAME`.
pub fn admin_create(
    service: &Service,
    caller: &Caller,
    args: &AdminCreateArgs,
    secrets: &mut SecretInput<'_>,
    setup_token_env: Option<String>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if service.setup_status()?.setup_required {
        if args.role != "admin" {
            return Err(CliError::Usage(
                "the first account is always an admin; drop --role".to_owned(),
            ));
        }
        let setup_token = match setup_token_env {
            Some(token) => Password::new(token),
            None => secrets.read("Setup token")?,
        };
        let password = secrets.new_password()?;
        let input = SetupInput {
            setup_token,
            name: args.name.clone(),
            password,
        };
        let user = match &caller.actor {
            Actor::Cli { user } => user.clone(),
            _ => "cli".to_owned(),
        };
        let admin = service.setup(&input, caller.source, Some(&user), caller.now)?;
        writeln!(
            out,
            "Created the first administrator account {:?}; the setup token is spent. Log in with POST /api/v1/session.",
            admin.name
        )?;
        return Ok(());
    }
    let password = secrets.new_password()?;
    let input = NewAdminInput {
        name: args.name.clone(),
        password,
        role: Some(args.role.clone()),
    };
    let admin = service.create_admin(caller, &input)?;
    writeln!(out, "Created {} account {:?}.", admin.role, admin.name)?;
    Ok(())
}

/// `outpost admin list`.
pub fn admin_list(
    service: &Service,
    caller: &Caller,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let admins = service.list_admins(caller)?;
    if json {
        for admin in &admins {
            writeln!(out, "{}", to_json(admin)?)?;
        }
        return Ok(());
    }
    if admins.is_empty() {
        writeln!(
            out,
            "No administrator account yet: create the first with `outpost admin create NAME` and the setup token."
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<24} {:<10} {:<21} PASSWORD CHANGED",
        "NAME", "ROLE", "CREATED"
    )?;
    for a in &admins {
        writeln!(
            out,
            "{:<24} {:<10} {:<21} {}",
            a.name,
            a.role,
            time(a.created),
            time(a.password_changed)
        )?;
    }
    Ok(())
}

/// `outpost admin passwd NAME`: a reset, no old password needed.
pub fn admin_passwd(
    service: &Service,
    caller: &Caller,
    name: &str,
    secrets: &mut SecretInput<'_>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let input = PasswordChangeInput {
        old_password: None,
        new_password: secrets.new_password()?,
    };
    let admin = service.change_password(caller, name, &input)?;
    writeln!(
        out,
        "Password of {:?} changed; its sessions have ended.",
        admin.name
    )?;
    Ok(())
}

/// `outpost token ...`
pub fn token(
    service: &Service,
    caller: &Caller,
    command: &TokenCommand,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        TokenCommand::Create(args) => {
            let input = NewTokenInput {
                name: args.name.clone(),
                scopes: args.scopes.clone(),
                expires_in_days: Some(args.expires_days),
                allowed_sources: args.allowed_sources.clone(),
            };
            let created = service.create_token(caller, &input)?;
            if args.json {
                writeln!(out, "{}", to_json(&created)?)?;
            } else {
                writeln!(
                    out,
                    "API token (shown only this once): {}\nid: {}\nscopes: {}\nexpires: {}\nSend it as `Authorization: Bearer <token>`.",
                    created.token,
                    created.info.id,
                    created.info.scopes.join(","),
                    created
                        .info
                        .expires
                        .map_or_else(|| "never".to_owned(), time)
                )?;
            }
        }
        TokenCommand::List(JsonArg { json }) => {
            let tokens = service.list_tokens(caller)?;
            if *json {
                for t in &tokens {
                    writeln!(out, "{}", to_json(t)?)?;
                }
                return Ok(());
            }
            writeln!(
                out,
                "{:<32} {:<20} {:<9} {:<21} SCOPES",
                "ID", "NAME", "STATE", "EXPIRES"
            )?;
            for t in &tokens {
                let state = match (t.revoked, t.expires) {
                    (Some(_), _) => "revoked",
                    (None, Some(e)) if e <= caller.now => "expired",
                    _ => "active",
                };
                writeln!(
                    out,
                    "{:<32} {:<20} {:<9} {:<21} {}",
                    t.id,
                    t.name,
                    state,
                    t.expires.map_or_else(|| "never".to_owned(), time),
                    t.scopes.join(",")
                )?;
            }
        }
        TokenCommand::Revoke { id } => {
            let t = service.revoke_token(caller, id)?;
            writeln!(out, "API token {:?} ({}) revoked.", t.name, t.id)?;
        }
    }
    Ok(())
}

/// `outpost audit`.
pub fn audit(
    service: &Service,
    caller: &Caller,
    args: &AuditArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let query = AuditQuery {
        actor: args.actor.clone(),
        action: args.action.clone(),
        since: args
            .since
            .as_deref()
            .map(|s| parse_time("--since", s, caller.now))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|s| parse_time("--until", s, caller.now))
            .transpose()?,
        limit: Some(args.limit),
        cursor: args.cursor,
    };
    let page = service.audit(caller, &query)?;
    for e in &page.entries {
        if args.json {
            writeln!(out, "{}", to_json(e)?)?;
        } else {
            writeln!(
                out,
                "{:>6} {} {:<24} {:<15} {:<24} {}",
                e.id,
                time(e.at),
                e.actor,
                e.source,
                e.action,
                e.target
            )?;
        }
    }
    if let Some(next) = page.next_cursor {
        if !args.json {
            writeln!(out, "(more: --cursor {next})")?;
        }
    }
    Ok(())
}

/// Unix seconds, or an age (`30m`, `12h`, `7d`, `90s`) before `now`.
fn parse_time(option: &str, text: &str, now: i64) -> Result<i64, CliError> {
    let bad = || {
        CliError::Usage(format!(
            "{option} {text:?}: give Unix seconds (1700000000) or an age such as 30m, 12h, 7d"
        ))
    };
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| bad())?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    Ok(now.saturating_sub(number.saturating_mul(scale)))
}

pub(crate) fn time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map_or_else(|_| unix.to_string(), |t| Timestamp(t).to_string())
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<String, CliError> {
    serde_json::to_string(value)
        .map_err(|e| CliError::Service(ServiceError::Internal(e.to_string())))
}

#[cfg(test)]
mod tests;
