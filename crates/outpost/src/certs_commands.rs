//! `outpost certs ...`: the gateway's TLS certificates from its shell
//! (SEC-8, issue 17 item 6), through the same service layer as
//! `/api/v1/certificates` (as `cli:<unix user>`, audited as
//! `certificate.import`, `certificate.assign`, `certificate.delete`):
//! - `list [--json]`: each certificate with the usages presenting it,
//!   its subject, the names it covers and its expiry;
//! - `import [--name NAME] (--pem FILE... [--encrypted] | --pkcs12 FILE)
//!   [--check]`: a certificate an installer brings, checked by
//!   `outpost-certs` (key matches, chain in order, valid now) and
//!   installed under NAME (default `default`, the gateway's own),
//!   replacing one of that name; nothing is written unless every check
//!   passes, and `--check` writes nothing at all (it needs no database);
//! - `assign USAGE NAME...`: which certificates a usage (`sip-public`,
//!   `sip-private`, `web-services`, `admin`) presents, SNI choosing among
//!   them, the first for clients whose name matches none;
//! - `delete NAME`: refused while a usage presents it, and for `default`;
//! - `request NAME --domain D... [--usage U]...`, `renew NAME`,
//!   `requests`, `forget NAME`: certificates from an ACME CA, ordered and
//!   renewed by the running gateway ([`acme`]).
//!
//! The certificates are files in the data directory's `tls/`
//! (`outpost_certs::store`: `NAME.crt`, `NAME.key` owner-only,
//! `usages.json`). A running `outpost serve` notices a change within
//! seconds and presents it to new handshakes; connections already up keep
//! the certificate they have. Outpost renews its own self-signed
//! certificate and those obtained with ACME, never an imported one.
//!
//! Secrets (the key's passphrase, the PKCS#12 password) are read like
//! every CLI secret: the first line of standard input, or a prompt without
//! echo on a terminal; never the command line.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;
use clap::{Args, Subcommand};
use outpost_api::service::certificates::{CertificateImportInput, CertificateView, check_import};
use outpost_api::service::{Caller, Service, ServiceError};

pub mod acme;

use crate::api_commands::{self, CliError, JsonArg, SecretInput, to_json};
use crate::data_dir::DataDir;

/// `outpost certs ...`
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// List the certificates: name, usages, subject, names, expiry.
    List(JsonArg),
    /// Check a certificate and install it under a name (default:
    /// `default`, the gateway's own, presented wherever no other is
    /// assigned).
    Import(ImportArgs),
    /// Make a usage (sip-public, sip-private, web-services, admin)
    /// present these certificates; SNI picks among them, the first for
    /// clients whose name matches none.
    Assign {
        /// sip-public, sip-private, web-services or admin.
        usage: String,
        /// Installed certificate names (`outpost certs list`).
        #[arg(required = true, num_args = 1..)]
        names: Vec<String>,
    },
    /// Delete a certificate and its key (refused while a usage presents
    /// it, and for `default`).
    Delete {
        /// The certificate's name.
        name: String,
    },
    /// Ask the running gateway to obtain a certificate with ACME (Let's
    /// Encrypt by default) and keep it renewed.
    Request(acme::RequestArgs),
    /// Ask the running gateway to renew an ACME certificate now.
    Renew {
        /// The certificate's name.
        name: String,
        /// Wait up to this many seconds for the order (0: return at once).
        #[arg(long, default_value_t = 0)]
        wait: u64,
    },
    /// List the ACME requests and how each one's last order went.
    Requests(JsonArg),
    /// Stop obtaining and renewing a certificate with ACME (the
    /// certificate stays until deleted).
    Forget {
        /// The request's name.
        name: String,
    },
}

/// `outpost certs import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The name to install it under (1 to 63 lower-case letters, digits,
    /// '.', '-', '_'); one of that name is replaced.
    #[arg(long, default_value = "default")]
    pub name: String,
    /// PEM files: the chain (leaf first, then each issuer) and the key,
    /// in one file or several.
    #[arg(long = "pem", num_args = 1.., conflicts_with = "pkcs12")]
    pub pem: Vec<PathBuf>,
    /// A PKCS#12 file (`openssl pkcs12 -export`); its password is read
    /// (stdin or prompt).
    #[arg(long)]
    pub pkcs12: Option<PathBuf>,
    /// The key is encrypted: read its passphrase (stdin or prompt).
    #[arg(long)]
    pub encrypted: bool,
    /// Check only; install nothing.
    #[arg(long)]
    pub check: bool,
}

/// Runs the command on the installation at `location`.
pub fn main(location: &DataDir, command: &CertsCommand) -> ExitCode {
    let interactive = std::io::stdin().is_terminal();
    let mut input = std::io::stdin().lock();
    let mut out = std::io::stdout();
    let mut prompts = std::io::stderr();
    let caller = api_commands::cli_caller();
    let result = match command {
        // A check touches neither the store nor the database.
        CertsCommand::Import(args) if args.check => check(
            args,
            &caller,
            &mut input,
            interactive,
            &mut out,
            &mut prompts,
        ),
        _ => api_commands::open_service(location).and_then(|service| {
            let service = service.with_tls_dir(location.path.join(crate::serve::TLS_DIR));
            run(
                &service,
                &caller,
                command,
                &mut input,
                interactive,
                &mut out,
                &mut prompts,
            )
        }),
    };
    api_commands::finish(result)
}

/// Runs `command` on `service` (which has its tls directory), reading
/// secrets from `input` (prompting on `prompts` when `interactive`),
/// printing to `out`.
///
/// # Errors
/// [`CliError`]: a refused certificate is a usage error naming the fix.
pub fn run(
    service: &Service,
    caller: &Caller,
    command: &CertsCommand,
    input: &mut dyn BufRead,
    interactive: bool,
    out: &mut dyn Write,
    prompts: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        CertsCommand::List(JsonArg { json }) => {
            let all = service.certificates_list(caller)?;
            if *json {
                for c in &all {
                    writeln!(out, "{}", to_json(c)?)?;
                }
            } else {
                print_table(&all, out)?;
            }
        }
        CertsCommand::Import(args) if args.check => {
            check(args, caller, input, interactive, out, prompts)?;
        }
        CertsCommand::Import(args) => {
            let request = import_input(args, input, interactive, prompts)?;
            let view = service
                .certificate_import(caller, &request)
                .map_err(|e| refused(e, args))?;
            describe(&view, out)?;
            let file = Path::new(crate::serve::TLS_DIR).join(format!("{}.crt", view.name));
            if view.usages.is_empty() {
                writeln!(
                    out,
                    "Installed as {} ({}); no usage presents it yet: `outpost certs assign \
                     USAGE {}` (usages: sip-public, sip-private, web-services, admin).",
                    view.name,
                    file.display(),
                    view.name
                )?;
            } else {
                writeln!(
                    out,
                    "Installed as {} ({}); a running outpost serve presents it to new \
                     connections within seconds.",
                    view.name,
                    file.display()
                )?;
            }
        }
        CertsCommand::Assign { usage, names } => {
            let assigned = service.certificate_assign(caller, usage, names)?;
            writeln!(
                out,
                "{} now presents {} ({} to clients whose name matches none); a running \
                 outpost serve takes it within seconds.",
                assigned.usage,
                assigned.certificates.join(", "),
                assigned.certificates.first().map_or("", String::as_str)
            )?;
        }
        CertsCommand::Delete { name } => {
            let gone = service.certificate_delete(caller, name)?;
            writeln!(out, "Certificate {} deleted, with its key.", gone.name)?;
        }
        CertsCommand::Request(args) => acme::request(service, caller, args, out)?,
        CertsCommand::Renew { name, wait } => acme::renew(service, caller, name, *wait, out)?,
        CertsCommand::Requests(JsonArg { json }) => acme::list(service, caller, *json, out)?,
        CertsCommand::Forget { name } => {
            let gone = service.acme_request_delete(caller, name)?;
            writeln!(
                out,
                "Outpost no longer renews {}; the certificate stays installed (`outpost certs \
                 delete {}` once no usage presents it).",
                gone.name, gone.name
            )?;
        }
    }
    Ok(())
}

/// `import --check`: the checks without the store or the database.
fn check(
    args: &ImportArgs,
    caller: &Caller,
    input: &mut dyn BufRead,
    interactive: bool,
    out: &mut dyn Write,
    prompts: &mut dyn Write,
) -> Result<(), CliError> {
    let request = import_input(args, input, interactive, prompts)?;
    let view = check_import(&request, caller.now).map_err(|e| refused(e, args))?;
    describe(&view, out)?;
    writeln!(out, "Checked; nothing installed (--check).")?;
    Ok(())
}

/// The service's input from the options: the files read, the secret
/// asked for.
fn import_input(
    args: &ImportArgs,
    input: &mut dyn BufRead,
    interactive: bool,
    prompts: &mut dyn Write,
) -> Result<CertificateImportInput, CliError> {
    let mut request = CertificateImportInput {
        name: Some(args.name.clone()),
        ..CertificateImportInput::default()
    };
    if let Some(p12) = &args.pkcs12 {
        let data = read(p12)?;
        request.pkcs12 = Some(base64::engine::general_purpose::STANDARD.encode(data));
        let mut secrets = SecretInput::new(input, prompts, interactive);
        request.password = Some(secrets.read("PKCS#12 password")?);
        return Ok(request);
    }
    if args.pem.is_empty() {
        return Err(CliError::Usage(
            "give --pem FILE... (chain and key) or --pkcs12 FILE".into(),
        ));
    }
    let mut pem = String::new();
    for file in &args.pem {
        let text = String::from_utf8(read(file)?).map_err(|_| {
            CliError::Usage(format!(
                "{} is not PEM text (a DER or PKCS#12 file? give a PKCS#12 file with --pkcs12, \
                 convert DER with `openssl x509 -inform der`)",
                file.display()
            ))
        })?;
        pem.push_str(&text);
        pem.push('\n');
    }
    request.pem = Some(pem);
    if args.encrypted {
        let mut secrets = SecretInput::new(input, prompts, interactive);
        request.password = Some(secrets.read("Key passphrase")?);
    }
    Ok(request)
}

/// A refused import in the CLI's words: the option to fix instead of the
/// API's field.
fn refused(e: ServiceError, args: &ImportArgs) -> CliError {
    let ServiceError::Invalid { field, message } = &e else {
        return CliError::Service(e);
    };
    let message = match field.as_str() {
        "password" if args.pkcs12.is_none() && !args.encrypted => {
            "the private key is encrypted; add --encrypted to give its passphrase".to_owned()
        }
        "name" => format!("--name: {message}"),
        _ => message.clone(),
    };
    CliError::Usage(message)
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))
}

fn describe(view: &CertificateView, out: &mut dyn Write) -> Result<(), CliError> {
    writeln!(out, "name:    {}", view.name)?;
    writeln!(out, "subject: {}", view.subject)?;
    writeln!(out, "issuer:  {}", view.issuer)?;
    writeln!(out, "names:   {}", view.names.join(", "))?;
    writeln!(
        out,
        "valid:   {} .. {} UTC ({} days left); chain of {}",
        datetime(view.not_before),
        datetime(view.not_after),
        view.expires_in_days,
        view.chain_len
    )?;
    if !view.usages.is_empty() {
        writeln!(out, "usages:  {}", view.usages.join(", "))?;
    }
    Ok(())
}

/// The table of `certs list`: columns as wide as their widest value.
fn print_table(all: &[CertificateView], out: &mut dyn Write) -> Result<(), CliError> {
    let rows: Vec<[String; 6]> = all
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                if c.usages.is_empty() {
                    "-".to_owned()
                } else {
                    c.usages.join(",")
                },
                c.subject.clone(),
                c.names.join(","),
                date(c.not_after),
                c.expires_in_days.to_string(),
            ]
        })
        .collect();
    let header = ["NAME", "USAGES", "SUBJECT", "NAMES", "EXPIRES", "DAYS LEFT"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6], out: &mut dyn Write| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  "));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(header, out)?;
    for row in &rows {
        line(row.each_ref().map(String::as_str), out)?;
    }
    if all.is_empty() {
        writeln!(
            out,
            "(none yet: `outpost serve` makes the default at its first start, or `outpost certs \
             import` installs one)"
        )?;
    }
    Ok(())
}

/// `2030-01-01` (UTC).
fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix).map_or_else(
        |_| unix.to_string(),
        |t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
    )
}

/// `2030-01-01 00:00:00` (UTC).
fn datetime(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix).map_or_else(
        |_| unix.to_string(),
        |t| {
            format!(
                "{} {:02}:{:02}:{:02}",
                date(unix),
                t.hour(),
                t.minute(),
                t.second()
            )
        },
    )
}
