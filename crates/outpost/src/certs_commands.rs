//! `outpost certs import`: installs a certificate an installer brings
//! (issue 17 item 1) as the gateway's public TLS identity, after
//! `outpost-certs` checked it (key matches, chain in order, valid now):
//! a PEM chain with its key (the key may be in its own file and
//! encrypted with a passphrase) or a PKCS#12 file with its password.
//! Nothing is written unless every check passes.
//!
//! It replaces `tls/default.crt` and `tls/default.key` in the data
//! directory (the key owner-only, written first; each by an atomic
//! rename). A running `outpost serve` notices the changed files within
//! seconds (`certs::FILE_CHECK_INTERVAL`) and presents the new pair to new
//! handshakes; connections already up keep the previous one. Outpost
//! never renews a certificate it did not make itself.
//!
//! Secrets are read like every CLI secret: the first line of standard
//! input, or a prompt without echo on a terminal; never the command line.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use outpost_certs::{CertificateBundle, ImportError, import_pem, import_pkcs12};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject as _;

use crate::api_commands::{CliError, SecretInput};
use crate::data_dir::DataDir;

/// `outpost certs ...`
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Check a certificate and install it as the gateway's public TLS
    /// certificate (SIP TLS, the web services port, the admin listener).
    Import(ImportArgs),
}

/// `outpost certs import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// PEM files: the chain (leaf first, then each issuer) and the key,
    /// in one file or several.
    #[arg(long = "pem", num_args = 1.., conflicts_with = "pkcs12")]
    pub pem: Vec<PathBuf>,
    /// A PKCS#12 file (`openssl pkcs12 -export`).
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
    let CertsCommand::Import(args) = command;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let interactive = std::io::stdin().is_terminal();
    let result = import(
        &location.path.join(crate::serve::TLS_DIR),
        args,
        now,
        &mut std::io::stdin().lock(),
        interactive,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    crate::api_commands::finish(result)
}

/// Checks and (unless `--check`) installs into `tls_dir`.
///
/// # Errors
/// [`CliError`]: a refused certificate is a usage error naming the fix.
pub fn import(
    tls_dir: &Path,
    args: &ImportArgs,
    now: i64,
    input: &mut dyn BufRead,
    interactive: bool,
    out: &mut dyn Write,
    prompts: &mut dyn Write,
) -> Result<(), CliError> {
    let refused = |e: ImportError| CliError::Usage(format!("certificate refused: {e}"));
    let bundle = if let Some(p12) = &args.pkcs12 {
        let data = read(p12)?;
        let mut secrets = SecretInput::new(input, prompts, interactive);
        let password = secrets.read("PKCS#12 password")?;
        import_pkcs12(&data, password.expose(), now).map_err(refused)?
    } else {
        if args.pem.is_empty() {
            return Err(CliError::Usage(
                "give --pem FILE... (chain and key) or --pkcs12 FILE".into(),
            ));
        }
        let mut pem = Vec::new();
        for file in &args.pem {
            pem.extend(read(file)?);
            pem.push(b'\n');
        }
        let passphrase = if args.encrypted {
            let mut secrets = SecretInput::new(input, prompts, interactive);
            Some(secrets.read("Key passphrase")?)
        } else {
            None
        };
        import_pem(&pem, passphrase.as_ref().map(|p| p.expose()), now).map_err(refused)?
    };
    describe(&bundle, out)?;
    if args.check {
        writeln!(out, "Checked; nothing installed (--check).")?;
        return Ok(());
    }
    install(tls_dir, &bundle)?;
    writeln!(
        out,
        "Installed as {}; a running outpost serve presents it to new connections within \
         seconds.",
        tls_dir.join("default.crt").display()
    )?;
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))
}

fn describe(bundle: &CertificateBundle, out: &mut dyn Write) -> Result<(), CliError> {
    let info = &bundle.info;
    writeln!(out, "subject: {}", info.subject)?;
    writeln!(out, "issuer:  {}", info.issuer)?;
    writeln!(out, "names:   {}", info.names.join(", "))?;
    writeln!(
        out,
        "valid:   {} .. {} (Unix seconds); chain of {}",
        info.not_before,
        info.not_after,
        bundle.chain.len()
    )?;
    Ok(())
}

/// Writes the key (owner-only) then the chain, each by an atomic rename.
fn install(tls_dir: &Path, bundle: &CertificateBundle) -> Result<(), CliError> {
    std::fs::create_dir_all(tls_dir)?;
    let key_pem = match &bundle.key {
        PrivateKeyDer::Pkcs8(k) => pem_block("PRIVATE KEY", k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => pem_block("RSA PRIVATE KEY", k.secret_pkcs1_der()),
        PrivateKeyDer::Sec1(k) => pem_block("EC PRIVATE KEY", k.secret_sec1_der()),
        _ => return Err(CliError::Usage("unsupported key encoding".into())),
    };
    let chain_pem: String = bundle
        .chain
        .iter()
        .map(|c| pem_block("CERTIFICATE", c.as_ref()))
        .collect();
    // Round trip: what is written must read back as what was checked.
    let back = rustls::pki_types::CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Usage(format!("writing the chain: {e}")))?;
    if back != bundle.chain {
        return Err(CliError::Usage(
            "the chain does not read back as written".into(),
        ));
    }
    crate::certs::write_file_atomic(&tls_dir.join("default.key"), key_pem.as_bytes(), 0o600)?;
    crate::certs::write_file_atomic(&tls_dir.join("default.crt"), chain_pem.as_bytes(), 0o644)?;
    Ok(())
}

fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in text.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
