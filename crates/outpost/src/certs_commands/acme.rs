//! `outpost certs request|renew|requests|forget`: certificates from an
//! ACME CA (Let's Encrypt by default), through the service layer's ACME
//! requests (audited as `certificate.acme_request`, `certificate.renew`,
//! `certificate.acme_forget`). The running `outpost serve` orders them;
//! `--wait` follows until it has tried.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use outpost_api::service::certificates::{AcmeRequestInput, AcmeRequestView};
use outpost_api::service::{Caller, Service};

use crate::api_commands::{CliError, to_json};

/// `outpost certs request`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The certificate's name in the store (e.g. `acme`); the same name
    /// again changes the request and orders again.
    pub name: String,
    /// A DNS name it must cover (repeat for more; the first is its
    /// subject); each must resolve to the gateway's public address.
    #[arg(long = "domain", required = true, num_args = 1..)]
    pub domains: Vec<String>,
    /// The CA's ACME directory URL (default: Let's Encrypt production).
    #[arg(long, conflicts_with = "staging")]
    pub directory: Option<String>,
    /// Let's Encrypt's staging directory (untrusted certificates, for a
    /// first try of the set-up).
    #[arg(long)]
    pub staging: bool,
    /// Contact e-mail for the account (the CA's expiry notices).
    #[arg(long)]
    pub email: Option<String>,
    /// http-01 (TCP 80 must reach the gateway) or tls-alpn-01 (TCP 443).
    #[arg(long, default_value = "http-01")]
    pub challenge: String,
    /// Port of the challenge responder on the public side (default 80 or
    /// 443; another only behind a port forward).
    #[arg(long)]
    pub port: Option<u16>,
    /// PEM file of CAs trusted for the ACME server's own HTTPS besides the
    /// public roots (an internal or test CA).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Present it on this usage once issued (repeat): sip-public,
    /// sip-private, web-services, admin.
    #[arg(long = "usage")]
    pub usages: Vec<String>,
    /// Renew this many days before expiry.
    #[arg(long, default_value_t = 30)]
    pub renew_before_days: u32,
    /// Wait up to this many seconds for the gateway's order and print how
    /// it went (0: return at once).
    #[arg(long, default_value_t = 0)]
    pub wait: u64,
}

/// `outpost certs request`.
pub(super) fn request(
    service: &Service,
    caller: &Caller,
    args: &RequestArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let ca_file = match &args.ca_file {
        Some(path) => Some(
            std::fs::canonicalize(path)
                .map_err(|e| CliError::Usage(format!("--ca-file {}: {e}", path.display())))?
                .display()
                .to_string(),
        ),
        None => None,
    };
    let input = AcmeRequestInput {
        name: args.name.clone(),
        domains: args.domains.clone(),
        directory_url: if args.staging {
            Some(outpost_acme::LETS_ENCRYPT_STAGING.to_owned())
        } else {
            args.directory.clone()
        },
        email: args.email.clone(),
        challenge: Some(args.challenge.clone()),
        port: args.port,
        ca_file,
        usages: args.usages.clone(),
        renew_before_days: Some(args.renew_before_days),
    };
    let view = service.acme_request(caller, &input)?;
    writeln!(
        out,
        "Requested {} for {} from {} ({} on port {}); a running outpost serve orders it within \
         seconds and renews it {} days before expiry.",
        view.name,
        view.domains.join(", "),
        view.directory_url,
        view.challenge,
        view.port,
        view.renew_before_days
    )?;
    follow(service, caller, &view, args.wait, out)
}

/// `outpost certs renew NAME`.
pub(super) fn renew(
    service: &Service,
    caller: &Caller,
    name: &str,
    wait: u64,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let view = service.certificate_renew(caller, name)?;
    writeln!(
        out,
        "Renewal of {} asked; a running outpost serve orders it within seconds.",
        view.name
    )?;
    follow(service, caller, &view, wait, out)
}

/// `outpost certs requests [--json]`.
pub(super) fn list(
    service: &Service,
    caller: &Caller,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let all = service.acme_requests(caller)?;
    if json {
        for r in &all {
            writeln!(out, "{}", to_json(r)?)?;
        }
        return Ok(());
    }
    if all.is_empty() {
        writeln!(
            out,
            "No ACME request: `outpost certs request NAME --domain sbc.example.com --usage \
             sip-public` asks for one."
        )?;
    }
    for r in &all {
        describe(r, out)?;
    }
    Ok(())
}

fn describe(r: &AcmeRequestView, out: &mut dyn Write) -> Result<(), CliError> {
    writeln!(
        out,
        "{}: {} [{}] from {} ({} port {}), usages {}",
        r.name,
        r.state,
        r.domains.join(", "),
        r.directory_url,
        r.challenge,
        r.port,
        if r.usages.is_empty() {
            "-".to_owned()
        } else {
            r.usages.join(",")
        }
    )?;
    if let Some(not_after) = r.not_after {
        writeln!(out, "  valid until {} (Unix seconds)", not_after)?;
    }
    if let Some(error) = &r.last_error {
        writeln!(out, "  last error: {error}")?;
    }
    if let Some(next) = r.next_attempt {
        writeln!(
            out,
            "  next try at {next} (Unix seconds; `outpost certs renew {}` tries now)",
            r.name
        )?;
    }
    Ok(())
}

/// Waits up to `secs` for the gateway to try `asked` (an attempt at or
/// after its stamp) and prints the outcome; fails when it failed.
fn follow(
    service: &Service,
    caller: &Caller,
    asked: &AcmeRequestView,
    secs: u64,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if secs == 0 {
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let now = service
            .acme_requests(caller)?
            .into_iter()
            .find(|r| r.name == asked.name);
        if let Some(r) = now.filter(|r| r.last_attempt.is_some_and(|t| t >= asked.requested_at)) {
            describe(&r, out)?;
            return if r.state == "valid" {
                Ok(())
            } else {
                Err(CliError::Usage(format!(
                    "the ACME order for {} failed; the gateway retries with back-off",
                    r.name
                )))
            };
        }
        if Instant::now() >= deadline {
            return Err(CliError::Usage(format!(
                "the gateway did not try within {secs} s; is `outpost serve` running? \
                 `outpost certs requests` shows the state later"
            )));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
