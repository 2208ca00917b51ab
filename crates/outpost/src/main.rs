//! The `outpost` binary: parses the command line and dispatches.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use outpost::cli::{Cli, Command, IcpCommand, IcpTestArgs, LogFormatArg};
use outpost::config::{Config, ConfigErrors, LogFormat, process_env};
use outpost::data_dir::DataDir;
use outpost::{commands, serve, telemetry};

/// jemalloc, with its background thread returning freed pages to the
/// system: under glibc's malloc a burst of calls left its peak resident for
/// good (README "Memory", issue 13).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Exit status for an invalid configuration or command line.
const EXIT_CONFIG: u8 = 2;
/// Exit status for a runtime failure.
const EXIT_FAILURE: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { ref file } => check_config(file.as_ref().or(cli.config.as_ref())),
        _ => run(cli),
    }
}

fn check_config(file: Option<&PathBuf>) -> ExitCode {
    let Some(file) = file else {
        eprintln!("check-config: give the file to check (outpost check-config FILE)");
        return ExitCode::from(EXIT_CONFIG);
    };
    match Config::load(Some(file), &process_env) {
        Ok(config) => {
            println!("{}: configuration OK", file.display());
            for line in config.summary_lines() {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(errors) => report_config_errors(&errors),
    }
}

fn report_config_errors(errors: &ConfigErrors) -> ExitCode {
    eprintln!("{errors}");
    ExitCode::from(EXIT_CONFIG)
}

fn run(cli: Cli) -> ExitCode {
    let config = match Config::load(cli.config.as_deref(), &process_env) {
        Ok(config) => config,
        Err(errors) => return report_config_errors(&errors),
    };
    // The installation's data directory, wherever the command runs; only
    // `serve` and `init` create it (see `outpost::data_dir`).
    let location = DataDir::resolve(
        cli.data_dir.as_deref(),
        cli.config.as_deref(),
        config.data_dir.as_deref(),
    );
    // `serve` runs with the values changed through the API under the
    // file's and the environment's (`outpost settings list` shows them).
    let stored = match cli.command {
        Command::Serve => outpost::settings_commands::with_stored_values(
            cli.config.as_deref(),
            &location,
            &process_env,
            config,
        ),
        _ => Ok(outpost::settings_commands::StoredValues::none(config)),
    };
    let (config, stored) = match stored {
        Ok(stored) => (stored.config.clone(), stored),
        Err(errors) => return report_config_errors(&errors),
    };
    let format = match cli.log_format {
        Some(LogFormatArg::Json) => LogFormat::Json,
        Some(LogFormatArg::Text) => LogFormat::Text,
        None => config.log.format,
    };
    if let Err(e) = telemetry::init_logging(format, &config.log.level) {
        eprintln!("{e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    stored.log_warnings();
    let data_dir = location.path.clone();
    let existing = || location.open_existing().map_err(|e| e.to_string());
    let result = match cli.command {
        Command::Serve => serve_blocking(config, data_dir, cli.config.as_deref()),
        Command::Init => location.init(&mut std::io::stdout()),
        Command::Icps(IcpCommand::Test(args)) => {
            return match existing() {
                Ok(store) => icps_test(&store, &config, &location.path, &args),
                Err(message) => {
                    eprintln!("error: {message}");
                    ExitCode::from(EXIT_FAILURE)
                }
            };
        }
        Command::Icps(command) => existing().and_then(|mut store| {
            commands::icps(&mut store, command, &mut std::io::stdout()).map_err(|e| e.to_string())
        }),
        Command::Devices(command) => existing().and_then(|mut store| {
            commands::devices(&mut store, command, &mut std::io::stdout())
                .map_err(|e| e.to_string())
        }),
        Command::Guard(command) => existing().and_then(|mut store| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            let defaults = outpost_guard::Settings::default().to_pairs();
            outpost::guard_admin::run(&mut store, command, now, &defaults, &mut std::io::stdout())
                .map_err(|e| e.to_string())
        }),
        Command::Admin(command) => return outpost::admin_commands::main(&location, command),
        Command::Token(command) => {
            return outpost::api_commands::finish(
                outpost::api_commands::open_service(&location).and_then(|service| {
                    outpost::api_commands::token(
                        &service,
                        &outpost::api_commands::cli_caller(),
                        &command,
                        &mut std::io::stdout(),
                    )
                }),
            );
        }
        Command::Audit(args) => {
            return outpost::api_commands::finish(
                outpost::api_commands::open_service(&location).and_then(|service| {
                    outpost::api_commands::audit(
                        &service,
                        &outpost::api_commands::cli_caller(),
                        &args,
                        &mut std::io::stdout(),
                    )
                }),
            );
        }
        Command::Settings(command) => {
            return settings(cli.config.as_deref(), &location, &process_env, command);
        }
        Command::Certs(command) => {
            return outpost::certs_commands::main(&location, &command);
        }
        Command::WebServices(command) => {
            use outpost::webservices_commands::WebServicesCommand;
            // Start and stop are the setting web.services, applied live.
            let value = match command {
                WebServicesCommand::Start => "true",
                WebServicesCommand::Stop => "false",
                other => return outpost::webservices_commands::main(&location, &other),
            };
            let set = outpost::settings_commands::SettingsCommand::Set {
                key: "web.services".to_owned(),
                value: value.to_owned(),
                json: false,
            };
            return settings(cli.config.as_deref(), &location, &process_env, set);
        }
        Command::Provisioning(command) => {
            return outpost::provisioning_commands::main(
                &location,
                config.fqdn_or_hostname(),
                &command,
            );
        }
        Command::CheckConfig { .. } => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn icps_test(
    store: &outpost_store::Store,
    config: &Config,
    data_dir: &std::path::Path,
    args: &IcpTestArgs,
) -> ExitCode {
    let outcome = outpost::icp_test::run(store, config, data_dir, args, &mut std::io::stdout());
    match &outcome {
        outpost::icp_test::Outcome::Usage(message) | outpost::icp_test::Outcome::Error(message) => {
            eprintln!("error: {message}");
        }
        _ => {}
    }
    ExitCode::from(outcome.exit_code())
}

fn serve_blocking(
    config: Config,
    data_dir: PathBuf,
    config_file: Option<&std::path::Path>,
) -> Result<(), String> {
    // The file and the environment alone (checked above): the API and the
    // live settings read the stored values over them.
    let settings = outpost_config::Settings::load(
        config_file,
        &process_env,
        outpost_config::DatabaseLayer::new(),
    )
    .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the async runtime: {e}"))?;
    runtime
        .block_on(serve::run(config, data_dir, settings))
        .map_err(|e| e.to_string())
}

/// Runs a settings command and turns its result into an exit status.
fn settings(
    config_file: Option<&std::path::Path>,
    location: &DataDir,
    env: &dyn Fn(&str) -> Option<String>,
    command: outpost::settings_commands::SettingsCommand,
) -> ExitCode {
    let result = outpost::settings_commands::run(
        config_file,
        location,
        env,
        command,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
