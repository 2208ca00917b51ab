//! Phone configuration fetch benchmark (issue 15, P4): N phones fetch their
//! configuration files concurrently over HTTPS, each over its own TLS
//! connection with a full handshake (phones do not resume sessions), the way
//! a site's phones do after a power cut. Used by
//! `scripts/bench/p4_provisioning.sh` against `outpost serve` and nginx.
//!
//! ```text
//! cargo run --release -p outpost --example config_fetch_bench -- \
//!     --base https://127.0.20.1:4445 --paths paths.txt [--concurrency 1500] [--rounds 3]
//!     [--deadline-secs 120] [--timeout-secs 30] [--source-base 127.10.0.1]
//!     [--server-name sbc.bench.test] [--pin-cert server.crt] [--tls12]
//!     [--save DIR] [--results P4 outpost]
//! ```
//!
//! `paths.txt` has one phone per line: the request path and, optionally
//! after a space, the expected body length in bytes. Phone `i` sends
//! `GET <path>` with a Mitel User-Agent carrying the MAC of its file name
//! (`Mitel6867i MAC:00-08-5D-23-74-29 V:6.3.0.1020-SIP`) and
//! `Connection: close`, reads the whole answer and checks the status (200)
//! and the body (non-empty, of the expected length). The latency is from
//! the start of the TCP connect to the body's last byte. With
//! `--source-base`, phone `i` connects from that address plus `i`, so each
//! phone is its own source as on the Internet.
//!
//! Each round starts every phone at once (at most `--concurrency` in
//! flight) and waits for all of them. Prints the latency percentiles over
//! all rounds, the throughput (files per second of the rounds' wall time;
//! one handshake per file), and the errors, on stderr; with `--results
//! MEASURE SUT` also `scripts/bench/lib.sh` RESULT lines on stdout. Exits
//! non-zero when any fetch fails or the deadline passes. `--save DIR` writes
//! every body of the first round to `DIR/<path>` (the script serves these
//! with nginx).
//!
//! TLS: 1.2 or 1.3 (`--tls12`: 1.2 only), key exchange X25519 or P-256 as
//! phones offer (no post-quantum hybrid, which nginx's OpenSSL 3.0 lacks),
//! no session resumption. With `--pin-cert` the server must present exactly
//! that certificate; without it any certificate is accepted (the handshake
//! signature is still checked).

use std::collections::BTreeMap;
use std::error::Error;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::DigitallySignedStruct;
use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, aws_lc_rs};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio_rustls::TlsConnector;

type BoxError = Box<dyn Error + Send + Sync>;

/// Largest response head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Largest body accepted (a phone file is a few KiB).
const MAX_BODY: usize = 4 * 1024 * 1024;
/// Most phones one run may have.
const MAX_PHONES: usize = 100_000;
/// Most rounds one run may have.
const MAX_ROUNDS: u32 = 100;

struct Args {
    base: String,
    paths: PathBuf,
    concurrency: usize,
    rounds: u32,
    deadline: Duration,
    timeout: Duration,
    source_base: Option<Ipv4Addr>,
    server_name: Option<String>,
    pin_cert: Option<PathBuf>,
    tls12: bool,
    save: Option<PathBuf>,
    results: Option<(String, String)>,
}

const USAGE: &str = "usage: config_fetch_bench --base https://HOST:PORT --paths FILE \
[--concurrency N] [--rounds N] [--deadline-secs S] [--timeout-secs S] [--source-base IPV4] \
[--server-name NAME] [--pin-cert PEM] [--tls12] [--save DIR] [--results MEASURE SUT]";

fn parse_args() -> Result<Args, BoxError> {
    let mut args = Args {
        base: String::new(),
        paths: PathBuf::new(),
        concurrency: 1500,
        rounds: 1,
        deadline: Duration::from_secs(120),
        timeout: Duration::from_secs(30),
        source_base: None,
        server_name: None,
        pin_cert: None,
        tls12: false,
        save: None,
        results: None,
    };
    let mut it = std::env::args().skip(1);
    let value = |it: &mut dyn Iterator<Item = String>, flag: &str| {
        it.next()
            .ok_or_else(|| BoxError::from(format!("{flag} needs a value; {USAGE}")))
    };
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--base" => args.base = value(&mut it, &flag)?,
            "--paths" => args.paths = value(&mut it, &flag)?.into(),
            "--concurrency" => args.concurrency = value(&mut it, &flag)?.parse()?,
            "--rounds" => args.rounds = value(&mut it, &flag)?.parse()?,
            "--deadline-secs" => {
                args.deadline = Duration::from_secs_f64(value(&mut it, &flag)?.parse()?);
            }
            "--timeout-secs" => {
                args.timeout = Duration::from_secs_f64(value(&mut it, &flag)?.parse()?);
            }
            "--source-base" => args.source_base = Some(value(&mut it, &flag)?.parse()?),
            "--server-name" => args.server_name = Some(value(&mut it, &flag)?),
            "--pin-cert" => args.pin_cert = Some(value(&mut it, &flag)?.into()),
            "--tls12" => args.tls12 = true,
            "--save" => args.save = Some(value(&mut it, &flag)?.into()),
            "--results" => {
                let measure = value(&mut it, &flag)?;
                let sut = value(&mut it, &flag)?;
                args.results = Some((measure, sut));
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}; {USAGE}").into()),
        }
    }
    if args.base.is_empty() || args.paths.as_os_str().is_empty() {
        return Err(format!("--base and --paths are required; {USAGE}").into());
    }
    if args.concurrency == 0 || args.concurrency > MAX_PHONES {
        return Err(format!("--concurrency must be 1..={MAX_PHONES}").into());
    }
    if args.rounds == 0 || args.rounds > MAX_ROUNDS {
        return Err(format!("--rounds must be 1..={MAX_ROUNDS}").into());
    }
    if args.deadline.is_zero() || args.timeout.is_zero() {
        return Err("--deadline-secs and --timeout-secs must be positive".into());
    }
    Ok(args)
}

/// `https://HOST:PORT` (no path) → (host, socket address).
fn parse_base(base: &str) -> Result<(String, SocketAddr), BoxError> {
    let rest = base
        .strip_prefix("https://")
        .ok_or_else(|| format!("--base {base}: only https:// URLs"))?;
    let authority = rest.trim_end_matches('/');
    if authority.contains('/') {
        return Err(format!("--base {base}: no path, the paths file has them").into());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>()?),
        None => (authority, 443),
    };
    let ip: IpAddr = host
        .trim_matches(|c| c == '[' || c == ']')
        .parse()
        .map_err(|_| format!("--base {base}: the host must be an IP address"))?;
    Ok((host.to_owned(), SocketAddr::new(ip, port)))
}

/// One phone: its request path, expected body length and User-Agent.
struct Phone {
    path: String,
    length: Option<usize>,
    agent: String,
}

fn read_phones(file: &Path) -> Result<Vec<Phone>, BoxError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut phones = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let path = parts.next().unwrap_or_default().to_owned();
        if !path.starts_with('/') || path.bytes().any(|b| b.is_ascii_control()) {
            return Err(format!("{}:{}: a path starts with /", file.display(), n + 1).into());
        }
        let length = match parts.next() {
            Some(l) => Some(
                l.parse::<usize>()
                    .map_err(|e| format!("{}:{}: length {l}: {e}", file.display(), n + 1))?,
            ),
            None => None,
        };
        let agent = format!("Mitel6867i MAC:{} V:6.3.0.1020-SIP", mac_of(&path));
        phones.push(Phone {
            path,
            length,
            agent,
        });
        if phones.len() > MAX_PHONES {
            return Err(format!("more than {MAX_PHONES} phones in {}", file.display()).into());
        }
    }
    if phones.is_empty() {
        return Err(format!("no paths in {}", file.display()).into());
    }
    Ok(phones)
}

/// `00-08-5D-23-74-29` from a path ending in `00085D237429.cfg`; a fixed
/// MAC for other file names.
fn mac_of(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or_default();
    let stem = name.strip_suffix(".cfg").unwrap_or(name);
    if stem.len() == 12 && stem.bytes().all(|b| b.is_ascii_hexdigit()) {
        let upper = stem.to_ascii_uppercase();
        let pairs: Vec<&str> = (0..6).filter_map(|i| upper.get(i * 2..i * 2 + 2)).collect();
        pairs.join("-")
    } else {
        "00-08-5D-00-00-00".to_owned()
    }
}

/// Accepts the pinned certificate (or any, without a pin) and checks the
/// handshake's signatures with the provider's algorithms.
#[derive(Debug)]
struct Verifier {
    pinned: Option<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.pinned {
            Some(pin) if pin.as_ref() != end_entity.as_ref() => Err(rustls::Error::General(
                "the server's certificate is not the pinned one".to_owned(),
            )),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn tls_config(args: &Args) -> Result<Arc<rustls::ClientConfig>, BoxError> {
    let mut provider: CryptoProvider = aws_lc_rs::default_provider();
    provider.kx_groups = vec![aws_lc_rs::kx_group::X25519, aws_lc_rs::kx_group::SECP256R1];
    let algorithms = provider.signature_verification_algorithms;
    let pinned = match &args.pin_cert {
        Some(file) => Some(
            CertificateDer::from_pem_file(file)
                .map_err(|e| format!("--pin-cert {}: {e}", file.display()))?,
        ),
        None => None,
    };
    let versions: &[&rustls::SupportedProtocolVersion] = if args.tls12 {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Verifier { pinned, algorithms }))
        .with_no_client_auth();
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// What one fetch gave.
struct Fetched {
    latency: Duration,
    body: Vec<u8>,
}

/// Connects (from `source` when given), handshakes, sends the GET and reads
/// the whole answer; checks the status and the body's length.
async fn fetch(
    connector: &TlsConnector,
    server: SocketAddr,
    name: ServerName<'static>,
    host: &str,
    source: Option<IpAddr>,
    phone: &Phone,
) -> Result<Fetched, String> {
    let start = Instant::now();
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| format!("bind {ip}: {e}"))?;
    }
    let tcp = socket
        .connect(server)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        phone.path, phone.agent
    );
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(format!("response head over {MAX_HEAD} bytes"));
        }
        let n = tls
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read head: {e}"))?;
        if n == 0 {
            return Err("connection closed before the response head".to_owned());
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    };
    let head = String::from_utf8_lossy(buf.get(..head_end).unwrap_or_default()).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_owned();
    if status != "200" {
        return Err(format!("status {status}"));
    }
    let mut content_length = None;
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                content_length = Some(
                    v.trim()
                        .parse::<usize>()
                        .map_err(|_| format!("bad Content-Length {v}"))?,
                );
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                return Err(format!("Transfer-Encoding {} not supported", v.trim()));
            }
        }
    }
    let mut body = buf.split_off(head_end);
    loop {
        if content_length.is_some_and(|l| body.len() >= l) {
            break;
        }
        if body.len() > MAX_BODY {
            return Err(format!("body over {MAX_BODY} bytes"));
        }
        let n = tls
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read body: {e}"))?;
        if n == 0 {
            if content_length.is_some() {
                return Err(format!(
                    "connection closed after {} of {content_length:?} body bytes",
                    body.len()
                ));
            }
            break;
        }
        body.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    let latency = start.elapsed();
    if body.is_empty() {
        return Err("empty body".to_owned());
    }
    if let Some(expected) = phone.length
        && body.len() != expected
    {
        return Err(format!("body {} bytes, expected {expected}", body.len()));
    }
    // A clean close (close_notify), bounded; not part of the latency.
    let _ = tokio::time::timeout(Duration::from_secs(1), tls.shutdown()).await;
    Ok(Fetched { latency, body })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `base + i` as an IPv4 address (wrapping inside 127/8 is the caller's
/// business: the script passes 127.10.0.1 and at most 100 000 phones).
fn source_of(base: Ipv4Addr, i: usize) -> IpAddr {
    let n = u32::from(base).wrapping_add(u32::try_from(i).unwrap_or(u32::MAX));
    IpAddr::V4(Ipv4Addr::from(n))
}

/// Writes `body` to `dir/<path>`, refusing paths that leave `dir`.
fn save(dir: &Path, path: &str, body: &[u8]) -> Result<(), BoxError> {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(format!("path {path} would leave {}", dir.display()).into());
    }
    let target = dir.join(relative);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&target, body)?;
    Ok(())
}

/// One round: every phone at once (at most `concurrency` in flight).
async fn round(
    args: &Args,
    phones: &Arc<Vec<Phone>>,
    connector: &TlsConnector,
    host: &str,
    server: SocketAddr,
    keep_bodies: bool,
) -> Result<(Vec<Result<Fetched, String>>, Duration), BoxError> {
    let name = ServerName::try_from(args.server_name.clone().unwrap_or_else(|| host.to_owned()))?;
    let gate = Arc::new(Semaphore::new(args.concurrency));
    let began = Instant::now();
    let mut tasks = Vec::with_capacity(phones.len());
    for i in 0..phones.len() {
        let (phones, connector, name, gate) = (
            Arc::clone(phones),
            connector.clone(),
            name.clone(),
            Arc::clone(&gate),
        );
        let host = host.to_owned();
        let source = args.source_base.map(|b| source_of(b, i));
        let timeout = args.timeout;
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.map_err(|e| e.to_string())?;
            let phone = phones.get(i).ok_or("no such phone")?;
            match tokio::time::timeout(
                timeout,
                fetch(&connector, server, name, &host, source, phone),
            )
            .await
            {
                Ok(Ok(mut fetched)) => {
                    if !keep_bodies {
                        fetched.body = Vec::new();
                    }
                    Ok(fetched)
                }
                Ok(Err(e)) => Err(e),
                Err(_) => Err(format!("no complete answer within {timeout:?}")),
            }
        }));
    }
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(task.await.unwrap_or_else(|e| Err(format!("task: {e}"))));
    }
    Ok((outcomes, began.elapsed()))
}

/// The value at quantile `q` (nearest rank) of sorted `v`, in ms.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted.len()) - 1;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

async fn run(args: Args) -> Result<bool, BoxError> {
    let (host, server) = parse_base(&args.base)?;
    let phones = Arc::new(read_phones(&args.paths)?);
    let connector = TlsConnector::from(tls_config(&args)?);
    let mut latencies = Vec::with_capacity(phones.len() * args.rounds as usize);
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut wall = Duration::ZERO;
    let mut ok = 0usize;
    for r in 0..args.rounds {
        let keep = r == 0 && args.save.is_some();
        let (outcomes, took) = round(&args, &phones, &connector, &host, server, keep).await?;
        wall += took;
        let mut failed = 0;
        for (phone, outcome) in phones.iter().zip(outcomes) {
            match outcome {
                Ok(fetched) => {
                    ok += 1;
                    latencies.push(fetched.latency);
                    if keep && let Some(dir) = &args.save {
                        save(dir, &phone.path, &fetched.body)?;
                    }
                }
                Err(e) => {
                    failed += 1;
                    *errors.entry(e).or_default() += 1;
                }
            }
        }
        eprintln!(
            "config_fetch_bench: round {}: {} phones in {:.3} s, {failed} failed",
            r + 1,
            phones.len(),
            took.as_secs_f64()
        );
    }
    latencies.sort_unstable();
    let failed: usize = errors.values().sum();
    let rate = if wall.is_zero() {
        0.0
    } else {
        ok as f64 / wall.as_secs_f64()
    };
    let (p50, p90, p99, max) = (
        quantile_ms(&latencies, 0.50),
        quantile_ms(&latencies, 0.90),
        quantile_ms(&latencies, 0.99),
        quantile_ms(&latencies, 1.0),
    );
    let label = args.results.as_ref().map_or("", |(_, sut)| sut.as_str());
    eprintln!(
        "config_fetch_bench {label}: {} phones x {} round(s), {ok} files, {failed} errors; \
         latency p50 {p50:.1} ms, p90 {p90:.1} ms, p99 {p99:.1} ms, max {max:.1} ms; \
         {rate:.0} files/s = {rate:.0} TLS handshakes/s over {:.3} s",
        phones.len(),
        args.rounds,
        wall.as_secs_f64()
    );
    for (e, n) in errors.iter().take(5) {
        eprintln!("config_fetch_bench: {n} x {e}");
    }
    eprintln!(
        "| {label} | {} | {} | {p50:.1} | {p90:.1} | {p99:.1} | {max:.1} | {rate:.0} | {failed} |",
        phones.len(),
        args.rounds
    );
    if let Some((measure, sut)) = &args.results {
        let line = |metric: &str, value: String, unit: &str| {
            println!("RESULT\t{measure}\t{sut}\t{metric}\t{value}\t{unit}");
        };
        let n = phones.len();
        line(&format!("fetch_p50_ms_{n}"), format!("{p50:.2}"), "ms");
        line(&format!("fetch_p90_ms_{n}"), format!("{p90:.2}"), "ms");
        line(&format!("fetch_p99_ms_{n}"), format!("{p99:.2}"), "ms");
        line(&format!("fetch_max_ms_{n}"), format!("{max:.2}"), "ms");
        line(&format!("files_per_s_{n}"), format!("{rate:.1}"), "files/s");
        line(
            &format!("handshakes_per_s_{n}"),
            format!("{rate:.1}"),
            "handshakes/s",
        );
        line(
            &format!("failed_fetches_{n}"),
            failed.to_string(),
            "fetches",
        );
    }
    Ok(failed == 0)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("config_fetch_bench: {e}");
            return ExitCode::from(2);
        }
    };
    let deadline = args.deadline;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("config_fetch_bench: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async { tokio::time::timeout(deadline, run(args)).await });
    // Tasks still running past the deadline are dropped with the runtime.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(Ok(true)) => ExitCode::SUCCESS,
        Ok(Ok(false)) => {
            eprintln!("config_fetch_bench: some fetches failed");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("config_fetch_bench: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("config_fetch_bench: the deadline of {deadline:?} passed");
            ExitCode::FAILURE
        }
    }
}
