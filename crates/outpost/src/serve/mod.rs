//! `outpost serve`: prepares the data directory, store, certificate and setup
//! token, binds every listener, and runs until Ctrl-C or SIGTERM. The SIP
//! service ([`sip`]) can be stopped and started through the API while the
//! process, the admin listener and the API stay up ([`control`]); settings
//! changed through the API apply live where the registry says so
//! ([`live`]).

pub mod acme;
pub mod b2bua;
pub mod control;
pub mod icp_tester;
pub mod listeners;
pub mod live;
pub mod sip;
pub mod web;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use outpost_certs::store::Usage;
use outpost_store::{Store, StoreError};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::admin_commands::TOKEN_LINE_PREFIX;
use crate::certs::{self, CertError};
use crate::config::Config;
use crate::core::directory::routes::RouteDefaults;
use crate::guard_runtime;
use crate::setup_token::{self, Prepared, SetupToken, SetupTokenError};
use crate::telemetry::{Metrics, listener_state};
use crate::transport::TransportKind;
use crate::transport::TransportLimits;
use listeners::BindError;

/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "outpost.db";
/// Directory of TLS material inside the data directory.
pub const TLS_DIR: &str = "tls";

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The data directory could not be created.
    #[error("data directory {path}: {source}; choose another with --data-dir or OUTPOST_DATA_DIR")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The database could not be opened or migrated.
    #[error("database {path}: {source}")]
    Store {
        /// The database file.
        path: PathBuf,
        /// The store's error.
        source: StoreError,
    },
    /// The setup token could not be prepared.
    #[error(transparent)]
    SetupToken(#[from] SetupTokenError),
    /// The TLS certificate could not be loaded or generated.
    #[error(transparent)]
    Certificate(#[from] CertError),
    /// A listener could not be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The admin listener could not be bound.
    #[error("admin listener on {addr}: {source}; change admin.listen (OUTPOST_ADMIN_LISTEN)")]
    AdminBind {
        /// Address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The phone configuration service's listener could not be bound.
    #[error(
        "phone configuration service on {addr}: {source}; change web.port (OUTPOST_WEB_PORT) or public.interface"
    )]
    WebBind {
        /// Address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The web services' key file could not be read or created.
    #[error("web services: {0}")]
    WebServicesKey(String),
    /// Metrics could not be installed.
    #[error("{0}")]
    Metrics(String),
    /// The guard could not be loaded from the store.
    #[error("{0}")]
    Guard(String),
    /// The B2BUA configuration derived from the settings is refused.
    #[error("B2BUA configuration: {0}")]
    B2bua(String),
    /// The operating system's random source failed.
    #[error("no random bytes from the operating system: {0}")]
    Random(String),
    /// Signal handlers could not be installed.
    #[error("installing signal handlers: {0}")]
    Signals(std::io::Error),
}

/// Creates the data directory (owner-only: it holds keys and passwords).
pub fn prepare_data_dir(path: &Path) -> Result<(), ServeError> {
    let err = |source| ServeError::DataDir {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(path).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

/// Opens (creating and migrating) the database in `data_dir`, and
/// generates the provisioning hash key if there is none yet (SEC-7: on
/// first start or `init`, so the configuration URL exists from the start).
pub fn open_store(data_dir: &Path) -> Result<Store, ServeError> {
    prepare_data_dir(data_dir)?;
    let path = data_dir.join(DATABASE_FILE);
    let mut store = Store::open(&path).map_err(|source| ServeError::Store {
        path: path.clone(),
        source,
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    match store.ensure_provisioning_hash(now) {
        // The key itself is never logged: it is the phones' only secret.
        Ok(true) => tracing::info!("generated the provisioning hash key"),
        Ok(false) => {}
        Err(source) => return Err(ServeError::Store { path, source }),
    }
    Ok(store)
}

/// Names the self-signed certificate is issued for: the FQDN (or host name)
/// and the advertised public address when one is configured.
fn certificate_names(config: &Config) -> Vec<String> {
    let mut names = vec![config.fqdn_or_hostname()];
    if let Some(addr) = config.public.advertised_address() {
        names.push(addr.to_string());
    }
    names
}

/// Runs the service until a stop signal: the process's parts (database,
/// certificate and its renewal, metrics, guard, admin listener and API),
/// and the SIP service ([`sip::SipRun`]), which the API can stop and start
/// without them ([`control`]). `settings` are the file and the environment
/// as loaded (without the database): the API and the live settings read
/// the stored values over them.
pub async fn run(
    config: Config,
    data_dir: PathBuf,
    settings: outpost_config::Settings,
) -> Result<(), ServeError> {
    for line in config.summary_lines() {
        match line.strip_prefix("warning: ") {
            Some(warning) => warn!("config: {warning}"),
            None => info!("config: {line}"),
        }
    }
    let mut store = open_store(&data_dir)?;
    info!(path = %data_dir.join(DATABASE_FILE).display(), schema = store.schema_version().unwrap_or(0), "database ready");
    // This process runs provisioning actions: one still `running` was cut
    // by the previous process's stop or crash (PRO-9).
    match store.interrupt_running_actions() {
        Ok(0) => {}
        Ok(cut) => warn!(
            actions = cut,
            "provisioning actions cut by the previous stop marked interrupted"
        ),
        Err(source) => {
            return Err(ServeError::Store {
                path: data_dir.join(DATABASE_FILE),
                source,
            });
        }
    }

    let (guard, guard_events) =
        guard_runtime::load(&store, random_u64()?).map_err(|e| ServeError::Guard(e.to_string()))?;

    // The setup token is spent (stored and printed) only once the service
    // is up, so a start that fails here or below loses nothing.
    let env_token = std::env::var("OUTPOST_SETUP_TOKEN").ok();
    let setup_token = setup_token::prepare(&store, env_token.as_deref())?;

    let tls_dir = data_dir.join(TLS_DIR);
    let names = certificate_names(&config);
    let identity = certs::load_or_generate(&tls_dir, &names)?;
    certs::log_identity(&identity, &names);
    // Each usage presents what the certificate store assigns it (SEC-8),
    // from the first handshake on; `renew_daily` keeps them current.
    let live = certs::LiveUsages::new(&identity)?;
    certs::refresh(&tls_dir, &names, std::time::SystemTime::now(), &live)?;
    // With `private.mtls` (SIG-2) the private side requires client
    // certificates and Outpost presents its `sip-private` one to the iPBX.
    let acceptors = listeners::SideAcceptors {
        public: TlsAcceptor::from(live.server_config(Usage::SipPublic)?),
        private: TlsAcceptor::from(certs::mtls::private_server_config(&live, &config.private)?),
        client_identity: certs::mtls::private_client_identity(&live, &config.private),
    };
    if let Some(warning) =
        certs::mtls::ott_certificate_warning(&config, &live.get(Usage::SipPublic))
    {
        warn!("{warning}");
    }
    if let Some(path) = std::env::var_os("SSLKEYLOGFILE") {
        warn!(file = %Path::new(&path).display(), "SSLKEYLOGFILE is set: TLS session keys are written there and anyone who reads it can decrypt SIP traffic; unset it in production");
    }

    let metrics = Metrics::install().map_err(ServeError::Metrics)?;
    crate::telemetry::register_series(&config);
    let ctx = sip::SipContext {
        data_dir: data_dir.clone(),
        settings: Arc::new(settings),
        started_with: config.clone(),
        acceptors,
        chain: identity.chain.clone(),
        guard: guard.clone(),
    };
    let sip = sip::SipRun::start(&ctx, &config).await?;
    let admin_listener = tokio::net::TcpListener::bind(config.admin.listen)
        .await
        .map_err(|source| ServeError::AdminBind {
            addr: config.admin.listen,
            source,
        });
    let admin_listener = match admin_listener {
        Ok(listener) => listener,
        Err(e) => {
            sip.stop().await;
            return Err(e);
        }
    };
    let web_listener = match web::bind(&config).await {
        Ok(listener) => listener,
        Err(e) => {
            sip.stop().await;
            return Err(e);
        }
    };
    let admin_addr = admin_listener
        .local_addr()
        .map_err(|source| ServeError::AdminBind {
            addr: config.admin.listen,
            source,
        })?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    // outpost-ca.pem gives phones what signs the SIP certificate.
    let web_site = web::WebSite::new(&config, &live.get(Usage::SipPublic));
    // ACME requests (`outpost certs request`): ordered, installed and
    // renewed here, the challenge answered on the public side.
    tasks.spawn(acme::run(
        tls_dir.clone(),
        config.public.bind_address(),
        open_store(&data_dir)?,
        stop_rx.clone(),
    ));
    tasks.spawn(certs::renew_daily(
        tls_dir,
        names,
        live.clone(),
        expiry_auditor(open_store(&data_dir)?),
        stop_rx.clone(),
    ));
    // The MSL-compatible web services share the listener; their own
    // connection, settings read live for `web.services`.
    let web_services = outpost_api::service::webservices::WebServices::new(
        outpost_api::Service::new(open_store(&data_dir)?).with_settings((*ctx.settings).clone()),
        outpost_api::service::webservices::SealKey::load_or_create(
            &data_dir.join(crate::webservices_commands::SEAL_KEY_FILE),
        )
        .map_err(|e| ServeError::WebServicesKey(e.to_string()))?,
    );
    let web_services_admin = web_services.clone();
    tasks.spawn(web::run(
        web_listener,
        open_store(&data_dir)?,
        guard.clone(),
        live.server_config(Usage::WebServices)?,
        web_site,
        web_services,
        stop_rx.clone(),
    ));
    tasks.spawn(guard_runtime::run(
        guard,
        open_store(&data_dir)?,
        guard_events,
        stop_rx.clone(),
    ));
    let icp_tester = icp_tester::IcpTester::new(
        tokio::runtime::Handle::current(),
        config.clone(),
        data_dir.clone(),
    );
    let (gateway, controller) = control::channel(sip.listeners().to_vec(), icp_tester);
    tasks.spawn(control::controller(
        controller,
        ctx.clone(),
        Some(sip),
        stop_rx.clone(),
    ));
    let service = outpost_api::Service::new(open_store(&data_dir)?)
        .with_settings((*ctx.settings).clone())
        .with_gateway(Arc::new(gateway))
        .with_public_name(config.fqdn_or_hostname())
        .with_tls_dir(data_dir.join(TLS_DIR));
    // Scheduled provisioning actions (PRO-9) run over the API's service
    // (its connection, its blocking pool), never on the SIP core.
    let mut runner_stop = stop_rx.clone();
    tasks.spawn(
        outpost_api::action_runner::ActionRunner::new(
            service.clone(),
            Arc::new(outpost_api::SystemClock),
        )
        .run(async move {
            let _ = runner_stop.changed().await;
        }),
    );
    let web_services_api = outpost_api::http::webservices::router(
        outpost_api::http::ApiState {
            service: service.clone(),
            clock: Arc::new(outpost_api::SystemClock),
        },
        web_services_admin.clone(),
    );
    // The admin UI's web services page (/ui/webservices) calls the same
    // web services as /api/v1/webservices.
    let admin_app = admin_router(metrics, service)
        .merge(web_services_api)
        .layer(axum::Extension(web_services_admin));
    // HTTPS with the gateway's certificate (renewed live like the SIP
    // listeners'); plain HTTP only when `[admin] tls = false`, which the
    // configuration allows on loopback only.
    let admin_tls = if config.admin.tls {
        Some(live.server_config(Usage::Admin)?)
    } else {
        None
    };
    let mut admin_stop = stop_rx.clone();
    tasks.spawn(async move {
        let scheme = if admin_tls.is_some() { "https" } else { "http" };
        listener_state("admin", scheme, &admin_addr.to_string(), true);
        info!(address = %admin_addr, scheme, "admin listener up (GET /metrics, /healthz, /api/v1/)");
        let stopped = async move {
            let _ = admin_stop.changed().await;
        };
        let served = match admin_tls {
            Some(tls) => outpost_api::serve::serve_https(admin_listener, admin_app, tls, stopped).await,
            None => outpost_api::serve::serve_http(admin_listener, admin_app, stopped).await,
        };
        if let Err(e) = served {
            warn!(error = %e, "admin listener failed");
        }
        listener_state("admin", scheme, &admin_addr.to_string(), false);
    });
    spend_setup_token(&mut store, setup_token)?;
    info!(version = env!("CARGO_PKG_VERSION"), "outpost running");

    let signal = wait_for_stop_signal().await.map_err(ServeError::Signals)?;
    info!(signal, "stopping");
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(control::SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(
            "tasks still running after {:?}; aborting them",
            control::SHUTDOWN_GRACE
        );
        tasks.abort_all();
    }
    drop(store);
    info!("stopped");
    Ok(())
}

/// Records each certificate expiry warning (30, 7 and 1 days ahead, and
/// expired) in the audit log as `certificate.expiring` by `system`, where
/// the API and the UI show it; a failed write is logged, the warning was
/// logged already.
fn expiry_auditor(store: Store) -> Box<dyn Fn(&certs::ExpiryWarning) + Send + Sync> {
    let store = std::sync::Mutex::new(store);
    Box::new(move |warning| {
        let usages: Vec<&str> = warning.usages.iter().map(|u| u.as_str()).collect();
        let record = outpost_store::AuditRecord {
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            actor: "system".into(),
            actor_name: "outpost serve".into(),
            source: "local".into(),
            action: "certificate.expiring".into(),
            target: warning.name.clone(),
            before: None,
            after: Some(
                serde_json::json!({
                    "subject": warning.subject,
                    "usages": usages,
                    "not_after": warning.not_after,
                    "days_left_at_most": warning.days,
                })
                .to_string(),
            ),
        };
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = store.append_audit(&record) {
            warn!(error = %e, certificate = %warning.name, "could not record the certificate expiry warning in the audit log");
        }
    })
}

/// The admin listener's routes: `/metrics` and `/healthz` from the
/// process's metrics registry, and the REST API over `service` (a database
/// connection of its own: the SIP core never waits for it).
fn admin_router(metrics: Metrics, service: outpost_api::Service) -> axum::Router {
    let render: outpost_api::RenderMetrics = Arc::new(move || metrics.render());
    outpost_api::router(render, Some((service, Arc::new(outpost_api::SystemClock))))
}

pub(crate) fn transport_limits(config: &Config) -> TransportLimits {
    let sip = &config.sip;
    TransportLimits {
        max_message_size: sip.max_message_size as usize,
        max_connections: sip.max_connections as usize,
        max_connections_per_source: sip.max_connections_per_source as usize,
        idle_timeout: Duration::from_secs(u64::from(sip.idle_timeout_secs)),
        ..TransportLimits::default()
    }
}

pub(crate) fn txn_config(config: &Config) -> outpost_txn::Config {
    let sip = &config.sip;
    outpost_txn::Config {
        timers: outpost_txn::TimerConfig {
            t1: Duration::from_millis(u64::from(sip.t1_ms)),
            t2: Duration::from_millis(u64::from(sip.t2_ms)),
            t4: Duration::from_millis(u64::from(sip.t4_ms)),
            ..outpost_txn::TimerConfig::default()
        },
        max_transactions: sip.max_transactions as usize,
        ..outpost_txn::Config::default()
    }
}

/// The media manager (MED-1): one port pool per side; when both sides share
/// one range on one address, each takes half of it.
pub(crate) fn start_media(
    config: &Config,
    _tasks: &mut JoinSet<()>,
    seed: u64,
) -> Result<Option<crate::media::Media>, ServeError> {
    let Some(settings) = crate::media::MediaSettings::from_config(config) else {
        warn!(
            "media anchoring is off: set public.address/interface and private.address/interface so SDP can carry Outpost's addresses"
        );
        return Ok(None);
    };
    let (public, private) = (config.public.rtp_ports, config.private.rtp_ports);
    let (public, private) = if config.rtp_pool_shared() {
        let half = public.first + (public.last - public.first) / 2;
        ((public.first, half), (half.saturating_add(1), public.last))
    } else {
        ((public.first, public.last), (private.first, private.last))
    };
    info!(public = ?public, private = ?private, "media port pools");
    let threads = crate::media::relay::default_threads();
    info!(threads, "media relay threads");
    crate::media::Media::new(settings, public, private, seed, threads)
        .map(Some)
        .map_err(|e| ServeError::B2bua(format!("media: {e}")))
}

pub(crate) fn random_key() -> Result<[u8; 32], ServeError> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| ServeError::Random(e.to_string()))?;
    Ok(key)
}

/// The DNS resolver for ICP host names: `[dns] servers`, else the
/// system's.
pub(crate) fn dns_resolver(
    config: &Config,
) -> Result<outpost_resolve::Resolver, outpost_resolve::ResolveError> {
    if config.dns.servers.is_empty() {
        outpost_resolve::Resolver::system()
    } else {
        info!(servers = ?config.dns.servers, "DNS servers for ICP host names");
        outpost_resolve::Resolver::with_servers(&config.dns.servers)
    }
}

/// Builds TLS client configurations for ICPs' own CA files (read by the
/// connect task, off the core), trusting Outpost's own `chain` too.
fn ca_loader_for(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
) -> crate::transport::connect::CaLoader {
    Box::new(move |path: &Path| {
        certs::client_config_trusting(&chain, Some(path)).map_err(|e| e.to_string())
    })
}

/// What `[ipbx]` contributes to ICP routes: the port of the ICP at its
/// address and the preferred transport (see `core::directory::routes`).
pub(crate) fn route_defaults(config: &Config) -> RouteDefaults {
    use crate::config::{IpbxHost, IpbxTransport};
    let Some(host) = config.ipbx.address.as_ref() else {
        return RouteDefaults::default();
    };
    let host = match host {
        IpbxHost::Ip(ip) => ip.to_string(),
        IpbxHost::Name(name) => name.clone(),
    };
    RouteDefaults {
        ipbx_host: Some(host),
        ipbx_port: Some(config.ipbx.port),
        preferred: Some(match config.ipbx.transport {
            IpbxTransport::Udp => TransportKind::Udp,
            IpbxTransport::Tcp => TransportKind::Tcp,
            IpbxTransport::Tls => TransportKind::Tls,
        }),
    }
}

pub(crate) fn random_u64() -> Result<u64, ServeError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| ServeError::Random(e.to_string()))?;
    Ok(u64::from_le_bytes(bytes))
}

/// Stores and prints the setup token this start prepared, now that every
/// listener is bound; says what was done otherwise.
fn spend_setup_token(store: &mut Store, prepared: Prepared) -> Result<(), ServeError> {
    let committed = match prepared {
        Prepared::Pending(pending) => setup_token::commit(store, pending)?,
        Prepared::AlreadyIssued => SetupToken::AlreadyIssued,
        Prepared::NotNeeded => return Ok(()),
    };
    match committed {
        SetupToken::Issued(token) => print_setup_token(&token),
        SetupToken::FromEnvironment => {
            info!("administrator setup token taken from OUTPOST_SETUP_TOKEN");
        }
        SetupToken::AlreadyIssued => info!(
            "administrator setup token was already issued (only its digest is stored); `outpost admin setup-token --new` issues a new one"
        ),
    }
    Ok(())
}

/// Prints the token on stdout, once, where the installer sees it; it never
/// goes through the logger.
fn print_setup_token(token: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\n=== Outpost first start ===\n{TOKEN_LINE_PREFIX}{token}\nUse it to create the first administrator account: `outpost admin create NAME` on this machine, or POST /api/v1/setup.\n==========================="
    );
    let _ = out.flush();
    info!("administrator setup token printed on standard output (shown once)");
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM and names the one received.
async fn wait_for_stop_signal() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => Ok("SIGTERM"),
            _ = int.recv() => Ok("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok("Ctrl-C")
    }
}
