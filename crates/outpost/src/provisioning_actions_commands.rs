//! `outpost provisioning actions schedule|list|show|cancel`,
//! `outpost provisioning events` and the inventory's filter options: the
//! CLI twins of
//! `/api/v1/provisioning/actions` and `/api/v1/provisioning/events`
//! (PRO-9), through the same service layer as `cli:<unix user>`.
//!
//! `schedule` without `--at`/`--in` runs the action at once in this
//! process (only one process can start an action, so a running `outpost
//! serve` never runs it twice); with a time, the action waits in the
//! store for `outpost serve`'s runner, which must be running then (it
//! sees an action scheduled by the CLI within its re-check interval, 10
//! s, and runs one that fell due while it was stopped when it starts).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use outpost_api::Service;
use outpost_api::service::provisioning::ActionView;
use outpost_api::service::provisioning::actions::{
    ActionQuery, ActionRequestKind, EventQuery, ScheduleActionInput, ScheduleFailure,
};
use outpost_api::service::provisioning::inventory_filter::InventoryQuery;
use outpost_api::service::{Caller, Password};

use crate::api_commands::{CliError, JsonArg, SecretInput, time, to_json};

/// `outpost provisioning actions ...`
#[derive(Debug, Subcommand)]
pub enum ActionsCommand {
    /// Schedule an action, at once (no --at/--in: run now by this command)
    /// or at a time (run by `outpost serve`).
    Schedule(ScheduleArgs),
    /// List actions, newest first, with their events.
    List(ListArgs),
    /// Show one action with its events.
    Show {
        /// The action's id.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cancel a pending action (it ends failed, "cancelled by ...").
    Cancel {
        /// The action's id.
        id: i64,
    },
}

/// What `schedule` schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Replace every phone file with those of a remote-worker CSV (--csv).
    ImportPhones,
    /// Write the global file from a PARAMETERS;VALUE CSV (--csv).
    ImportGlobal,
    /// Republish files (all, or --mac/--csv phones') so phones that check
    /// their copy fetch them again.
    Deploy,
    /// Remove phones' files and inventory entries (--mac or a MAC-only
    /// --csv).
    Delete,
    /// Replace the hash key (--admin; asks for the password).
    HashChange,
}

impl From<KindArg> for ActionRequestKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::ImportPhones => Self::ImportPhones,
            KindArg::ImportGlobal => Self::ImportGlobal,
            KindArg::Deploy => Self::Deploy,
            KindArg::Delete => Self::Delete,
            KindArg::HashChange => Self::HashChange,
        }
    }
}

/// Options of `actions schedule`.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// What the action does.
    pub kind: KindArg,
    /// A name for people.
    #[arg(long)]
    pub name: Option<String>,
    /// When, RFC 3339 (2026-12-07T02:00:00Z).
    #[arg(long, conflicts_with = "delay")]
    pub at: Option<String>,
    /// When, as a delay from now (30s, 5m, 1h30m, 1d).
    #[arg(long = "in", value_name = "DELAY")]
    pub delay: Option<String>,
    /// The CSV file (imports; a MAC_ADDRESS-only file for deploy/delete).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// A phone's MAC (deploy, delete); repeat for more.
    #[arg(long = "mac")]
    pub macs: Vec<String>,
    /// hash-change: the administrator account whose password confirms.
    #[arg(long)]
    pub admin: Option<String>,
    /// hash-change: read the password from standard input's first line.
    #[arg(long)]
    pub password_stdin: bool,
    /// Print the action as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `actions list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this state (pending, running, done, failed, interrupted).
    #[arg(long)]
    pub state: Option<String>,
    /// Only this kind (import, deploy, delete, hash-change).
    #[arg(long)]
    pub kind: Option<String>,
    /// At most this many (default 100).
    #[arg(long)]
    pub limit: Option<u32>,
    /// JSON lines.
    #[command(flatten)]
    pub json: JsonArg,
}

/// Options of `outpost provisioning events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only this action's events.
    #[arg(long)]
    pub action: Option<i64>,
    /// Only events at or after this Unix time.
    #[arg(long)]
    pub since: Option<i64>,
    /// At most this many, the newest (default 100).
    #[arg(long)]
    pub limit: Option<u32>,
    /// JSON lines.
    #[command(flatten)]
    pub json: JsonArg,
}

/// The inventory's filters (`inventory list`, `inventory export`).
#[derive(Debug, Args)]
pub struct InventoryFilterArgs {
    /// Part of the MAC, any form (74:29, 5d2374).
    #[arg(long)]
    pub mac: Option<String>,
    /// The model (6867i).
    #[arg(long)]
    pub model: Option<String>,
    /// yes: only phones whose device is registered; no: the others.
    #[arg(long)]
    pub registered: Option<String>,
    /// Last download before this time (Unix seconds or RFC 3339).
    #[arg(long)]
    pub before: Option<String>,
    /// Last download at or after this time.
    #[arg(long)]
    pub after: Option<String>,
}

impl InventoryFilterArgs {
    /// The service's query.
    pub fn query(&self) -> InventoryQuery {
        InventoryQuery {
            mac: self.mac.clone(),
            model: self.model.clone(),
            registered: self.registered.clone(),
            before: self.before.clone(),
            after: self.after.clone(),
        }
    }
}

/// Options of `inventory list`.
#[derive(Debug, Args)]
pub struct InventoryListArgs {
    /// Filters.
    #[command(flatten)]
    pub filter: InventoryFilterArgs,
    /// JSON lines.
    #[command(flatten)]
    pub json: JsonArg,
}

/// Runs `actions ...`; `env_password` is `OUTPOST_ADMIN_PASSWORD`.
pub fn run_actions(
    service: &Service,
    caller: &Caller,
    command: &ActionsCommand,
    input: &mut dyn BufRead,
    env_password: Option<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        ActionsCommand::Schedule(args) => {
            schedule(service, caller, args, input, env_password, out, err)
        }
        ActionsCommand::List(args) => {
            let query = ActionQuery {
                state: args.state.clone(),
                kind: args.kind.clone(),
                limit: args.limit,
            };
            for a in &service.list_actions(caller, &query)? {
                print_action(out, a, args.json.json)?;
            }
            Ok(())
        }
        ActionsCommand::Show { id, json } => {
            print_action(out, &service.show_action(caller, *id)?, *json)
        }
        ActionsCommand::Cancel { id } => {
            let a = service.cancel_action(caller, *id)?;
            writeln!(out, "Action #{} cancelled.", a.id)?;
            Ok(())
        }
    }
}

/// Runs `outpost provisioning events`.
pub fn run_events(
    service: &Service,
    caller: &Caller,
    args: &EventsArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let query = EventQuery {
        action: args.action,
        since: args.since,
        limit: args.limit,
    };
    for e in &service.provisioning_events(caller, &query)? {
        if args.json.json {
            writeln!(out, "{}", to_json(e)?)?;
        } else {
            let action = e
                .action_id
                .map_or_else(|| "-".to_owned(), |a| format!("#{a}"));
            writeln!(out, "{} {action:<6} {}", time(e.at), e.text)?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)] // the CLI's streams and secret sources
fn schedule(
    service: &Service,
    caller: &Caller,
    args: &ScheduleArgs,
    input: &mut dyn BufRead,
    env_password: Option<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let csv = args
        .csv
        .as_ref()
        .map(|path| {
            let bytes = std::fs::read(path)
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
            String::from_utf8(bytes).map_err(|_| {
                CliError::Usage(format!(
                    "{} is not UTF-8 text; save the CSV as UTF-8",
                    path.display()
                ))
            })
        })
        .transpose()?;
    let password = if args.kind == KindArg::HashChange {
        writeln!(
            err,
            "warning: {}",
            outpost_api::service::provisioning::hash::REPROVISION_WARNING
        )?;
        let admin = args.admin.as_deref().ok_or_else(|| {
            CliError::Usage("hash-change needs --admin NAME (an administrator account)".into())
        })?;
        Some(match env_password {
            Some(p) => Password::new(p),
            None => {
                let interactive = !args.password_stdin && std::io::stdin().is_terminal();
                SecretInput::new(input, err, interactive)
                    .read(&format!("Password of administrator {admin:?}"))?
            }
        })
    } else {
        None
    };
    let request = ScheduleActionInput {
        kind: args.kind.into(),
        name: args.name.clone(),
        at: args.at.clone(),
        delay: args.delay.clone(),
        csv,
        macs: (!args.macs.is_empty()).then(|| args.macs.clone()),
        admin: args.admin.clone(),
        password,
    };
    let scheduled = match service.schedule_action(caller, &request) {
        Ok(s) => s,
        Err(ScheduleFailure::Service(e)) => return Err(e.into()),
        Err(failure @ ScheduleFailure::Rejected { .. }) => {
            let mut text = failure.to_string();
            for p in failure.problems() {
                let place = match (p.line, p.column.as_deref()) {
                    (Some(l), Some(c)) => format!("line {l}, column {c}: "),
                    (Some(l), None) => format!("line {l}: "),
                    _ => String::new(),
                };
                text.push_str(&format!("\n  - {place}{}", p.message));
            }
            return Err(CliError::Usage(text));
        }
    };
    if let Some(warning) = &scheduled.warning {
        writeln!(err, "warning: {warning}")?;
    }
    let action = scheduled.action;
    if action.due.is_some() {
        if args.json {
            writeln!(out, "{}", to_json(&action)?)?;
        } else {
            writeln!(
                out,
                "Action #{} scheduled for {}; `outpost serve` runs it then (it must be running).",
                action.id,
                time(action.due.unwrap_or_default())
            )?;
        }
        return Ok(());
    }
    // At once: run it here (a running serve may have taken it first).
    let ended = service.run_action(action.id, caller.now)?;
    let ended = match ended {
        Some(view) => view,
        None => service.show_action(caller, action.id)?,
    };
    if args.json {
        writeln!(out, "{}", to_json(&ended)?)?;
    } else {
        print_action(out, &ended, false)?;
    }
    if ended.state == "failed" {
        return Err(CliError::Usage(format!(
            "action #{} failed: {}",
            ended.id,
            ended.result.as_deref().unwrap_or("")
        )));
    }
    Ok(())
}

fn print_action(out: &mut dyn Write, a: &ActionView, json: bool) -> Result<(), CliError> {
    if json {
        writeln!(out, "{}", to_json(a)?)?;
        return Ok(());
    }
    let due = a
        .due
        .map_or_else(String::new, |d| format!(" (due {})", time(d)));
    writeln!(
        out,
        "#{} {} {} by {} [{} {}%] {}{due}",
        a.id,
        a.kind,
        a.name,
        a.operator,
        a.state,
        a.progress,
        a.result.as_deref().unwrap_or("")
    )?;
    for e in &a.events {
        writeln!(out, "    {} {}", time(e.at), e.text)?;
    }
    Ok(())
}
