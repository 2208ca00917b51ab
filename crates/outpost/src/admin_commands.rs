//! `outpost admin setup-token [--new | --check]`: the administrator setup
//! token of an installation, from the machine it runs on (SEC-9).
//!
//! It works on the installation's database and never creates one: run where
//! the data directory is not the installation's (another working directory,
//! a missing `--data-dir`), it fails naming the path it looked at instead of
//! issuing a token nobody's server will ever read. The database is mode 0600
//! in a 0700 directory, so only the user owning the data directory (root or
//! the service user) can issue a token. A running `outpost serve` reads the
//! stored digest when a token is presented, so it needs no restart.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use outpost_store::{Store, StoreError};

use crate::api_commands::{self, AdminCreateArgs, AdminPasswdArgs, CliError, JsonArg, SecretInput};
use crate::data_dir::{DataDir, DataDirError};
use crate::setup_token::{self, SetupTokenError, TokenStatus};

/// Prefix of the line that carries a new token, in `outpost serve`'s
/// banner and here alike, so a script looks for one string.
pub const TOKEN_LINE_PREFIX: &str = "Administrator setup token (shown only this once): ";

/// Longest input `--check` reads: a token is 48 hex digits.
const MAX_TOKEN_INPUT: u64 = 4096;

/// `outpost admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// The one-time administrator setup token: say whether one is pending,
    /// issue a new one (`--new`), or check one (`--check`).
    ///
    /// The first successful start of `outpost serve` prints the token once;
    /// only its SHA-256 is stored, so it cannot be shown again. While no
    /// administrator account exists, `--new` issues a new token, prints it
    /// once and makes the previous one invalid. This works on the
    /// installation's database (--data-dir, OUTPOST_DATA_DIR, or data_dir in
    /// the file given with -c) and refuses to create one; only the user that
    /// owns the data directory (root or the service user) can open it. A
    /// running server needs no restart.
    SetupToken(SetupTokenArgs),
    /// Create an administrator account. The first one needs the setup
    /// token (asked for, or from OUTPOST_SETUP_TOKEN) and is always an
    /// admin; the token is then spent. Passwords are asked for without
    /// echo (never on the command line), or read with --password-stdin.
    Create(AdminCreateArgs),
    /// List administrator accounts (never passwords).
    List(JsonArg),
    /// Set an account's password (asked for twice, or --password-stdin);
    /// its sessions end. From the gateway's shell no old password is
    /// needed: this is how a forgotten password is reset.
    Passwd(AdminPasswdArgs),
}

/// Options of `outpost admin setup-token`.
#[derive(Debug, Args)]
pub struct SetupTokenArgs {
    /// Issue a new token, print it once and invalidate the previous one.
    #[arg(long, conflicts_with = "check")]
    pub new: bool,
    /// Read a token from standard input and say whether it is the pending
    /// one (exit status 1 when it is not), e.g. to check what was written
    /// down: `outpost admin setup-token --check < token.txt`.
    #[arg(long)]
    pub check: bool,
}

/// Why an `outpost admin` command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The data directory holds no database.
    #[error(transparent)]
    NoDatabase(DataDirError),
    /// The database could not be opened.
    #[error("{0}; only the user owning the data directory (root or the service user) can open it")]
    Open(String),
    /// Reading or checking the token failed.
    #[error(transparent)]
    Token(#[from] SetupTokenError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Standard input or output failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// `--check` was given a token that is not the pending one.
    #[error(
        "the token read from standard input is not the pending setup token (surrounding spaces and line ends are ignored); issue a new one with `outpost admin setup-token --new`"
    )]
    TokenMismatch,
    /// An account command failed (with its own exit status).
    #[error(transparent)]
    Cli(#[from] CliError),
    /// `--check` with no token pending.
    #[error(
        "no setup token is pending: `outpost serve` prints one on its first successful start, or issue one with `outpost admin setup-token --new`"
    )]
    NoTokenPending,
}

impl From<DataDirError> for AdminError {
    fn from(e: DataDirError) -> Self {
        match e {
            e @ DataDirError::Missing { .. } => Self::NoDatabase(e),
            other => Self::Open(other.to_string()),
        }
    }
}

/// Runs `outpost admin ...` on the installation's existing database; never
/// creates one.
pub fn run(
    location: &DataDir,
    command: AdminCommand,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let interactive = |stdin_flag: bool| !stdin_flag && std::io::stdin().is_terminal();
    match command {
        AdminCommand::SetupToken(args) => {
            let mut store = location.open_existing()?;
            setup_token_command(&mut store, &args, input, out)
        }
        AdminCommand::Create(args) => {
            let service = api_commands::open_service(location)?;
            let mut stderr = std::io::stderr();
            let mut secrets =
                SecretInput::new(input, &mut stderr, interactive(args.password_stdin));
            let env_token = std::env::var("OUTPOST_SETUP_TOKEN").ok();
            api_commands::admin_create(
                &service,
                &api_commands::cli_caller(),
                &args,
                &mut secrets,
                env_token,
                out,
            )?;
            Ok(())
        }
        AdminCommand::List(JsonArg { json }) => {
            let service = api_commands::open_service(location)?;
            api_commands::admin_list(&service, &api_commands::cli_caller(), json, out)?;
            Ok(())
        }
        AdminCommand::Passwd(args) => {
            let service = api_commands::open_service(location)?;
            let mut stderr = std::io::stderr();
            let mut secrets =
                SecretInput::new(input, &mut stderr, interactive(args.password_stdin));
            api_commands::admin_passwd(
                &service,
                &api_commands::cli_caller(),
                &args.name,
                &mut secrets,
                out,
            )?;
            Ok(())
        }
    }
}

/// [`run`] with standard input and output, printing the error and
/// returning the exit status (see `api_commands` for the account
/// commands' statuses; 1 otherwise).
pub fn main(location: &DataDir, command: AdminCommand) -> ExitCode {
    match run(
        location,
        command,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout(),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                AdminError::Cli(cli) => ExitCode::from(cli.exit_code()),
                _ => ExitCode::from(1),
            }
        }
    }
}

/// `outpost admin setup-token` on an open store.
pub fn setup_token_command(
    store: &mut Store,
    args: &SetupTokenArgs,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    if args.new {
        let token = setup_token::issue_new(store)?;
        writeln!(
            out,
            "{TOKEN_LINE_PREFIX}{token}\nThe previous setup token no longer works. Use this one to create the first administrator account."
        )?;
        return Ok(());
    }
    if args.check {
        let mut text = String::new();
        input.take(MAX_TOKEN_INPUT).read_to_string(&mut text)?;
        if setup_token::status(store)? != TokenStatus::Pending {
            return Err(AdminError::NoTokenPending);
        }
        if !setup_token::verify(store, text.trim())? {
            return Err(AdminError::TokenMismatch);
        }
        writeln!(out, "This is the pending setup token.")?;
        return Ok(());
    }
    let text = match setup_token::status(store)? {
        TokenStatus::Pending => {
            "A setup token is pending. It was printed once, by the first successful start of `outpost serve` (or by `outpost admin setup-token --new`); only its SHA-256 is stored, so it cannot be shown again.\nLost it? `outpost admin setup-token --new` issues a new one and the old one stops working."
        }
        TokenStatus::NotIssued => {
            "No setup token has been issued yet: `outpost serve` prints one on its first successful start, or issue one now with `outpost admin setup-token --new`."
        }
        TokenStatus::NotNeeded => {
            "An administrator account exists: no setup token is needed, and none can be issued."
        }
    };
    writeln!(out, "{text}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(
        store: &mut Store,
        new: bool,
        check: bool,
        input: &str,
    ) -> Result<String, AdminError> {
        let mut out = Vec::new();
        setup_token_command(
            store,
            &SetupTokenArgs { new, check },
            &mut input.as_bytes(),
            &mut out,
        )?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn token_of(text: &str) -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(TOKEN_LINE_PREFIX))
            .unwrap()
            .to_string()
    }

    #[test]
    fn status_new_and_check() {
        let mut store = Store::open_in_memory().unwrap();
        let text = run_args(&mut store, false, false, "").unwrap();
        assert!(text.contains("No setup token has been issued"), "{text}");
        assert!(matches!(
            run_args(&mut store, false, true, "anything"),
            Err(AdminError::NoTokenPending)
        ));

        let old = token_of(&run_args(&mut store, true, false, "").unwrap());
        let text = run_args(&mut store, false, false, "").unwrap();
        assert!(text.contains("A setup token is pending"), "{text}");
        assert!(text.contains("--new"), "{text}");
        assert!(!text.contains(&old));
        run_args(&mut store, false, true, &format!("  {old}\n")).unwrap();

        let new = token_of(&run_args(&mut store, true, false, "").unwrap());
        assert_ne!(new, old);
        run_args(&mut store, false, true, &new).unwrap();
        let err = run_args(&mut store, false, true, &old).unwrap_err();
        assert!(matches!(err, AdminError::TokenMismatch), "{err}");
    }

    #[test]
    fn a_missing_database_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("outpost-data");
        let err = run(
            &DataDir::resolve(Some(&data), None, None),
            AdminCommand::SetupToken(SetupTokenArgs {
                new: true,
                check: false,
            }),
            &mut std::io::empty(),
            &mut Vec::new(),
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(&data.join(crate::serve::DATABASE_FILE).display().to_string()),
            "{message}"
        );
        assert!(!data.exists(), "the data directory was created");
    }
}
