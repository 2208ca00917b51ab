//! `outpost icps test NAME` (PRO-1: "An ICP can be tested (SIP OPTIONS,
//! TCP/TLS connect, DNS)"): reaches the ICP the way `outpost serve` does
//! and says, step by step, what works and what to fix.
//!
//! 1. `dns`: the ICP's targets from [`IcpRoutes`] (the same transport
//!    preference and port rules as `serve`) and, for a host name,
//!    [`dns::resolve_traced`] with the `[dns] servers` setting, printing
//!    every lookup with its time;
//! 2. `connect` (TCP and TLS targets): a TCP connect from the private
//!    side's `interface`, as `transport::connect` dials;
//! 3. `tls`: the handshake, the certificate checked against the ICP's host
//!    name (or IP) with the ICP's CA file (else `[ipbx] ca_file`, or
//!    `--ca-file`) and Outpost's own certificate, as `serve` trusts them;
//! 4. `options`: an OPTIONS round trip; any final response means the iPBX
//!    answers SIP (a 404 or 405 too).
//!
//! Only the first target is tested (the one `serve` uses while it
//! answers), every target with `--all`. Nothing is written: the data
//! directory is only read (Outpost's certificate, never generated here).

mod messages;
mod options;
mod probe;
mod report;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use outpost_resolve::TimedStep;
use outpost_store::{Icp, Store};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

pub use report::{Failure, Report, Status, StepReport, TargetReport};

use self::messages::{connect_failure, dns_failure, names_or_none, options_failure, tls_failure};
use self::options::OptionsProbe;
use self::probe::{Answered, OptionsError, Timers, TlsError};
use self::report::format_millis;
use crate::certs::Timestamp;
use crate::cli::IcpTestArgs;
use crate::config::Config;
use crate::core::directory::dns;
use crate::core::directory::routes::{IcpRoutes, Target};
use crate::serve::{TLS_DIR, dns_resolver, route_defaults};
use crate::transport::TransportKind;

/// How `icps test` ended, and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every step passed (exit status 0).
    Passed,
    /// A step failed (exit status 1); the report says which.
    Failed,
    /// The command was wrong, e.g. an unknown ICP (exit status 2).
    Usage(String),
    /// The test could not run (exit status 1).
    Error(String),
}

impl Outcome {
    /// The process exit status.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Passed => 0,
            Self::Failed | Self::Error(_) => 1,
            Self::Usage(_) => 2,
        }
    }
}

/// Runs `outpost icps test` on its own small runtime and writes the report.
pub fn run(
    store: &Store,
    config: &Config,
    data_dir: &Path,
    args: &IcpTestArgs,
    out: &mut dyn Write,
) -> Outcome {
    let icp = match store.icp(&args.name) {
        Ok(Some(icp)) => icp,
        Ok(None) => return Outcome::Usage(unknown_icp(&args.name, store)),
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return Outcome::Error(format!("starting the async runtime: {e}")),
    };
    let report = runtime.block_on(test_icp(&icp, config, data_dir, args));
    if let Err(e) = report.write(args.json, out) {
        return Outcome::Error(format!("writing output: {e}"));
    }
    if report.ok {
        Outcome::Passed
    } else {
        Outcome::Failed
    }
}

fn unknown_icp(name: &str, store: &Store) -> String {
    let names: Vec<String> = store
        .icps()
        .map(|icps| icps.into_iter().map(|i| i.name).collect())
        .unwrap_or_default();
    if names.is_empty() {
        format!("no ICP named `{name}`: there is no ICP yet (outpost icps add)")
    } else {
        format!("no ICP named `{name}`; the ICPs are: {}", names.join(", "))
    }
}

/// Tests `icp` as `serve` with `config` would reach it.
pub async fn test_icp(icp: &Icp, config: &Config, data_dir: &Path, args: &IcpTestArgs) -> Report {
    let servers = if config.dns.servers.is_empty() {
        vec!["system (/etc/resolv.conf)".to_owned()]
    } else {
        config.dns.servers.iter().map(ToString::to_string).collect()
    };
    let mut report = Report::new(&icp.name, &icp.host, servers.clone());
    let Some((targets, uri_port)) =
        find_targets(icp, config, &servers.join(", "), &mut report).await
    else {
        return report;
    };
    report.targets = targets
        .iter()
        .map(|t| TargetReport {
            transport: t.destination.transport.as_str(),
            address: t.destination.peer.to_string(),
            server_name: t.server_name.clone(),
        })
        .collect();
    let env = Env {
        uri_port,
        bind: config.private.interface,
        timers: Timers {
            t1: Duration::from_millis(u64::from(config.sip.t1_ms)),
            t2: Duration::from_millis(u64::from(config.sip.t2_ms)),
        },
        timeout: args.timeout,
        ca_file: args
            .ca_file
            .clone()
            .or_else(|| icp.ca_file.as_ref().map(PathBuf::from))
            .or_else(|| config.ipbx.ca_file.clone()),
        own_cert: data_dir.join(TLS_DIR).join("default.crt"),
        name: icp.name.clone(),
        host: icp.host.clone(),
    };
    let count = if args.all { targets.len() } else { 1 };
    for target in targets.iter().take(count) {
        test_target(&env, target, &mut report).await;
    }
    report
}

/// The targets of `icp` and the port its URIs carry, with the `dns`
/// step; `None` when there are none.
async fn find_targets(
    icp: &Icp,
    config: &Config,
    servers: &str,
    report: &mut Report,
) -> Option<(Vec<Target>, Option<u16>)> {
    let mut routes = IcpRoutes::new(route_defaults(config));
    let request = routes.request_for(icp);
    routes.update_icps(std::iter::once(icp));
    let start = Instant::now();
    let by_name = !routes.take_due(start).is_empty();
    let (targets, mut details) = if by_name {
        let resolver = match dns_resolver(config) {
            Ok(resolver) => resolver,
            Err(e) => {
                let failure = Failure::new("cannot set up the DNS resolver", e.to_string());
                report.push(StepReport::fail("dns", None, start.elapsed(), failure));
                return None;
            }
        };
        let (steps, outcome) = dns::resolve_traced(&resolver, &request).await;
        let details = steps.iter().map(step_line).collect();
        match outcome {
            Ok(targets) => (targets, details),
            Err(e) => {
                let failure = dns_failure(&icp.host, &e, servers);
                let step = StepReport::fail("dns", None, start.elapsed(), failure);
                report.push(step.with_details(details));
                return None;
            }
        }
    } else {
        let targets = routes.targets(&icp.name).to_vec();
        (
            targets,
            vec![format!("{} is an IP address: no DNS lookup", icp.host)],
        )
    };
    if targets.is_empty() {
        let failure = Failure::new(
            "the ICP enables no SIP transport",
            "enable at least one of udp, tcp, tls (outpost icps add --transports)",
        );
        report.push(StepReport::fail("dns", None, start.elapsed(), failure));
        return None;
    }
    for (i, t) in targets.iter().enumerate() {
        details.push(format!(
            "{}. {} {} (certificate name {})",
            i + 1,
            t.destination.transport.as_str(),
            t.destination.peer,
            t.server_name
        ));
    }
    let summary = match targets.len() {
        1 => format!("{}: 1 target", icp.host),
        n => format!("{}: {n} targets", icp.host),
    };
    report.push(StepReport::ok("dns", None, start.elapsed(), summary).with_details(details));
    Some((targets, routes.uri_port(&icp.name)))
}

fn step_line(step: &TimedStep) -> String {
    format!(
        "{} ({})",
        step.step,
        format_millis(step.elapsed.as_secs_f64() * 1000.0)
    )
}

/// What every target's test needs.
struct Env {
    /// The port for the Request-URI, as `serve` writes it (the one
    /// configured, never a resolved target's).
    uri_port: Option<u16>,
    /// The private side's `interface`.
    bind: Option<std::net::IpAddr>,
    timers: Timers,
    timeout: Duration,
    /// The CA file certificates are checked with.
    ca_file: Option<PathBuf>,
    /// Outpost's own certificate (trusted too, as `serve` does).
    own_cert: PathBuf,
    name: String,
    host: String,
}

async fn test_target(env: &Env, target: &Target, report: &mut Report) {
    let transport = target.destination.transport;
    let peer = target.destination.peer;
    let label = Some(format!("{} {peer}", transport.as_str()));
    let probe = OptionsProbe::new(&env.host, env.uri_port, random());
    if transport == TransportKind::Udp {
        let start = Instant::now();
        let result = probe::options_udp(&probe, peer, env.bind, env.timers, env.timeout).await;
        report.push(options_step(env, target, label, start, result));
        return;
    }
    let start = Instant::now();
    let stream = match probe::connect(peer, env.bind, env.timeout).await {
        Ok(stream) => stream,
        Err(e) => {
            let failure = connect_failure(target, &e, env.bind);
            report.push(StepReport::fail(
                "connect",
                label.clone(),
                start.elapsed(),
                failure,
            ));
            if transport == TransportKind::Tls {
                report.push(StepReport::skip(
                    "tls",
                    label.clone(),
                    "not tested: no TCP connection",
                ));
            }
            report.push(StepReport::skip(
                "options",
                label,
                "not tested: no TCP connection",
            ));
            return;
        }
    };
    let local = match stream.local_addr() {
        Ok(local) => local,
        Err(e) => {
            let failure = Failure::new(format!("no local address: {e}"), "try again");
            report.push(StepReport::fail("connect", label, start.elapsed(), failure));
            return;
        }
    };
    let summary = format!("connected from {local}");
    report.push(StepReport::ok(
        "connect",
        label.clone(),
        start.elapsed(),
        summary,
    ));
    if transport == TransportKind::Tcp {
        let mut stream = stream;
        let start = Instant::now();
        let result =
            probe::options_stream(&probe, &mut stream, transport, local, env.timeout).await;
        report.push(options_step(env, target, label, start, result));
        return;
    }
    let start = Instant::now();
    let (roots, trusted) = match trust(env) {
        Ok(trust) => trust,
        Err(failure) => {
            report.push(StepReport::fail(
                "tls",
                label.clone(),
                start.elapsed(),
                failure,
            ));
            report.push(StepReport::skip(
                "options",
                label,
                "not tested: no TLS connection",
            ));
            return;
        }
    };
    match probe::handshake(stream, &target.server_name, roots, env.timeout).await {
        Ok((mut tls, cert)) => {
            let version = tls
                .get_ref()
                .1
                .protocol_version()
                .map_or("TLS", |v| match v {
                    rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3",
                    rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2",
                    _ => "TLS",
                });
            let summary = format!(
                "{version}, certificate valid for {} ({})",
                target.server_name, trusted
            );
            let details = vec![
                format!("certificate names: {}", names_or_none(&cert.names)),
                format!("subject: {}; issuer: {}", cert.subject, cert.issuer),
                format!(
                    "expires {} (in {} days)",
                    Timestamp(cert.not_after),
                    cert.days_left(SystemTime::now())
                ),
            ];
            let step = StepReport::ok("tls", label.clone(), start.elapsed(), summary);
            report.push(step.with_details(details));
            let start = Instant::now();
            let result =
                probe::options_stream(&probe, &mut tls, transport, local, env.timeout).await;
            report.push(options_step(env, target, label, start, result));
        }
        Err(e) => {
            let failure = tls_failure(&env.name, target, &e, &trusted);
            let details = match &e {
                TlsError::NameMismatch(cert)
                | TlsError::UnknownIssuer(Some(cert))
                | TlsError::Expired(Some(cert)) => vec![
                    format!("certificate names: {}", names_or_none(&cert.names)),
                    format!("subject: {}; issuer: {}", cert.subject, cert.issuer),
                    format!("expires {}", Timestamp(cert.not_after)),
                ],
                _ => Vec::new(),
            };
            let step = StepReport::fail("tls", label.clone(), start.elapsed(), failure);
            report.push(step.with_details(details));
            report.push(StepReport::skip(
                "options",
                label,
                "not tested: no TLS connection",
            ));
        }
    }
}

/// The trust anchors: Outpost's own certificate (read, never generated)
/// and the CA file; and a description of them for messages.
fn trust(env: &Env) -> Result<(rustls::RootCertStore, String), Failure> {
    let chain: Vec<CertificateDer<'static>> = if env.own_cert.exists() {
        CertificateDer::pem_file_iter(&env.own_cert)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let roots = crate::certs::trust_roots(&chain, env.ca_file.as_deref()).map_err(|e| {
        Failure::new(
            "cannot read the CA file",
            format!("{e}; give a PEM file of the CA with --ca-file"),
        )
    })?;
    let mut trusted = Vec::new();
    if let Some(ca) = &env.ca_file {
        trusted.push(format!("CA file {}", ca.display()));
    }
    if !chain.is_empty() {
        trusted.push("Outpost's own certificate".to_owned());
    }
    let trusted = if trusted.is_empty() {
        "no CA file given".to_owned()
    } else {
        format!("checked with {}", trusted.join(" and "))
    };
    Ok((roots, trusted))
}

fn options_step(
    env: &Env,
    target: &Target,
    label: Option<String>,
    start: Instant,
    result: Result<Answered, OptionsError>,
) -> StepReport {
    let took = start.elapsed();
    match result {
        Ok(answer) => {
            let summary = format!(
                "{} {} in {} (the iPBX answers SIP)",
                answer.status,
                answer.reason,
                format_millis(took.as_secs_f64() * 1000.0)
            );
            let mut details = Vec::new();
            if let Some(server) = answer.server {
                details.push(format!("server: {server}"));
            }
            if answer.sent > 1 {
                details.push(format!(
                    "OPTIONS sent {} times (UDP retransmissions)",
                    answer.sent
                ));
            }
            StepReport::ok("options", label, took, summary).with_details(details)
        }
        Err(e) => StepReport::fail(
            "options",
            label,
            took,
            options_failure(env.timeout, target, &e),
        ),
    }
}

fn random() -> [u8; 24] {
    let mut bytes = [0u8; 24];
    // Without OS randomness the identifiers are still unique enough for
    // one test run: the time fills in.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (nanos >> ((i % 16) * 8)) as u8 ^ (i as u8);
        }
    }
    bytes
}

#[cfg(test)]
mod tests;
