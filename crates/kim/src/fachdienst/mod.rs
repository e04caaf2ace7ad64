//! `kim fachdienst`: the KIM provider daemon (SMTPS submission, POP3S retrieval on SQLite +
//! message files) and the provider's administration commands (contracts, accounts, queue).
//!
//! The administration commands open the same database as a running daemon; SQLite's WAL mode
//! lets both work at once, and changes (a contract lock, an unlock) take effect at the
//! daemon's next login check.

mod admin;
pub mod config;
mod http;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use kim_account_manager::vzd::{HttpVzdClient, VzdClientConfig, VzdDirectory};
use kim_account_manager::{AccountManagerConfig, AccountManagerState};
use kim_fachdienst::routes::Routes;
use kim_fachdienst::server::{Inbound, Listeners, start};
use kim_fachdienst::{Fachdienst, Policy};
use kim_kas::{AccountLimitConfig, KasConfig, KasState, LimitState};
use kim_store::{FileBlobStore, SqliteStore};
use kim_tls::{ClientAuth, ClientOptions, Identity, TrustAnchors};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Outcome;
use config::{AccountManagerSection, Config, PortalSection};

#[derive(Debug, Subcommand)]
pub enum FachdienstCommand {
    /// Runs the Fachdienst until SIGINT or SIGTERM.
    Serve(ConfigArg),
    /// Checks the configuration file and prints the effective settings.
    CheckConfig(ConfigArg),
    /// Contracts (referenceID, initial password, mail domains) and the provider lock.
    #[command(subcommand)]
    Contract(admin::ContractCommand),
    /// Accounts: list with mailbox usage, provider-side deregistration, unlock.
    #[command(subcommand)]
    Account(admin::AccountCommand),
    /// Lists the relay queue.
    Queue(ConfigArg),
}

#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// The configuration file (TOML).
    #[arg(long, short, default_value = "fachdienst.toml")]
    pub config: PathBuf,
}

pub fn run(cmd: FachdienstCommand) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cmd {
        FachdienstCommand::Serve(arg) => runtime.block_on(serve(&arg)),
        FachdienstCommand::CheckConfig(arg) => {
            let config = Config::load(&arg.config)?;
            println!("{config:#?}");
            Ok(Outcome::Success)
        }
        FachdienstCommand::Contract(cmd) => runtime.block_on(admin::contract(cmd)),
        FachdienstCommand::Account(cmd) => runtime.block_on(admin::account(cmd)),
        FachdienstCommand::Queue(arg) => runtime.block_on(admin::queue(&arg)),
    }
}

/// Opens the database and the message files of `config`, creating them if missing.
pub(crate) async fn open_storage(config: &Config) -> anyhow::Result<Fachdienst> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data_dir {}", config.data_dir.display()))?;
    let db = config.data_dir.join("fachdienst.sqlite");
    let meta = SqliteStore::open(&db).with_context(|| format!("opening {}", db.display()))?;
    let blobs = FileBlobStore::open(config.data_dir.join("blobs"), config.fsync)
        .await
        .with_context(|| format!("opening {}/blobs", config.data_dir.display()))?;
    let mut policy = Policy::new(config.hostname.clone(), config.domains.clone());
    policy.max_message_size = config.smtp.max_message_size;
    policy.purge_interval = Duration::from_secs(config.retention.purge_interval_secs);
    if let Some(relay) = &config.relay {
        policy.retry.first_retry = Duration::from_secs(relay.first_retry_secs);
        policy.retry.max_interval = Duration::from_secs(relay.max_interval_secs);
        policy.retry.window = Duration::from_secs(relay.window_secs);
    }
    Ok(Fachdienst::new(Arc::new(meta), Arc::new(blobs), policy))
}

/// The routing table of `[relay]`, with the Fachdienst's client identity.
fn routes(config: &Config) -> anyhow::Result<Routes> {
    let Some(relay) = &config.relay else {
        return Ok(Routes::none());
    };
    let identity = Identity::from_files(&relay.client_chain_pem, &relay.client_key_pem)
        .context("relay.client_chain_pem / relay.client_key_pem")?;
    let ca = relay
        .server_ca_pem
        .as_ref()
        .unwrap_or(&config.tls.client_ca_pem);
    let trust = TrustAnchors::from_file(ca)
        .with_context(|| format!("relay.server_ca_pem {}", ca.display()))?;
    let tls = kim_tls::client_config(ClientOptions {
        trust,
        identity: Some(identity),
        danger_accept_any_hostname: false,
    })
    .context("building the relay TLS configuration")?;
    let mut routes = Routes::new(tls);
    for route in &relay.routes {
        let targets: Vec<&str> = route.targets.iter().map(String::as_str).collect();
        routes
            .add(&route.domain, &targets)
            .with_context(|| format!("relay.routes: domain {:?}", route.domain))?;
    }
    Ok(routes)
}

/// The REST interfaces served on `[http]`.
fn rest_router(config: &Config, fd: &Fachdienst) -> anyhow::Result<axum::Router> {
    let http = config
        .http
        .as_ref()
        .context("the REST interfaces need [http]")?;
    let mut kas = KasConfig::new(http.public_url.clone()).context("http.public_url")?;
    kas.max_mail_size = config.kas.max_mail_size;
    kas.download_limit = config.kas.download_limit;
    kas.validate().context("[kas]")?;
    let limits = AccountLimitConfig {
        max_mail_size: config.kas.max_mail_size,
    };
    let router = kim_kas::kas_router(KasState::new(fd.clone(), kas).context("[kas]")?)
        .merge(kim_kas::account_limit_router(
            LimitState::new(fd.clone(), limits).context("[kas] max_mail_size")?,
        ))
        .merge(
            kim_kas::service_information_router(config.service_information.document())
                .context("[service_information]")?,
        );
    let router = match &config.account_manager {
        Some(am) => router.merge(account_manager(config, am, fd, vzd_client(config, am)?)?),
        None => router,
    };
    Ok(router.fallback(kim_kas::json_not_found))
}

/// The provider CA of `[account_manager]`: certificate and PKCS#8 key (DER).
fn provider_ca(
    am: &AccountManagerSection,
) -> anyhow::Result<(Vec<u8>, zeroize::Zeroizing<Vec<u8>>)> {
    let provider = TrustAnchors::from_file(&am.provider_ca_cert_pem).with_context(|| {
        let path = am.provider_ca_cert_pem.display();
        format!("account_manager.provider_ca_cert_pem {path}")
    })?;
    let provider_cert = provider
        .der_certificates()
        .into_iter()
        .next()
        .context("account_manager.provider_ca_cert_pem: no certificate")?;
    let key_path = &am.provider_ca_key_pem;
    let key_pem =
        zeroize::Zeroizing::new(std::fs::read(key_path).with_context(|| {
            format!("account_manager.provider_ca_key_pem {}", key_path.display())
        })?);
    let (label, key) = pem_rfc7468::decode_vec(&key_pem).map_err(|e| {
        anyhow::anyhow!(
            "account_manager.provider_ca_key_pem {}: {e}",
            key_path.display()
        )
    })?;
    if label != "PRIVATE KEY" {
        anyhow::bail!(
            "account_manager.provider_ca_key_pem {}: a PKCS#8 \"PRIVATE KEY\" is required, found {label:?}",
            key_path.display()
        );
    }
    Ok((provider_cert, zeroize::Zeroizing::new(key)))
}

/// The VZD maintenance client of `[account_manager.vzd]`.
fn vzd_client(
    config: &Config,
    am: &AccountManagerSection,
) -> anyhow::Result<Arc<dyn VzdDirectory>> {
    let vzd = &am.vzd;
    let tls = if vzd.base_url.starts_with("https://") {
        let ca = vzd
            .server_ca_pem
            .as_ref()
            .unwrap_or(&config.tls.client_ca_pem);
        let identity = match (&vzd.client_chain_pem, &vzd.client_key_pem) {
            (Some(chain), Some(key)) => Identity::from_files(chain, key),
            _ => Identity::from_files(&config.tls.chain_pem, &config.tls.key_pem),
        }
        .context("account_manager.vzd client identity")?;
        Some(ClientOptions {
            trust: TrustAnchors::from_file(ca)
                .with_context(|| format!("account_manager.vzd.server_ca_pem {}", ca.display()))?,
            identity: Some(identity),
            danger_accept_any_hostname: false,
        })
    } else {
        None
    };
    let client = HttpVzdClient::new(VzdClientConfig {
        base_url: vzd.base_url.clone(),
        fad: vzd.fad.clone(),
        bearer_token: vzd.bearer_token.clone(),
        tls,
        timeout: Duration::from_secs(30),
    })
    .context("[account_manager.vzd]")?;
    Ok(Arc::new(client))
}

/// The Account Manager's router per `[account_manager]`.
fn account_manager(
    config: &Config,
    am: &AccountManagerSection,
    fd: &Fachdienst,
    vzd: Arc<dyn VzdDirectory>,
) -> anyhow::Result<axum::Router> {
    let card_cas = TrustAnchors::from_file(&am.card_ca_pem)
        .with_context(|| format!("account_manager.card_ca_pem {}", am.card_ca_pem.display()))?;
    let (provider_cert, key) = provider_ca(am)?;
    let mut settings = AccountManagerConfig::new(card_cas.der_certificates(), provider_cert, key);
    settings.jwt_expiration_secs = config.service_information.jwt_expiration;
    settings.cert_validity_days = am.cert_validity_days;
    let state =
        AccountManagerState::new(settings, fd.meta.clone(), vzd).context("[account_manager]")?;
    Ok(kim_account_manager::router(state))
}

/// The registration portal per `[portal]`, bound; its purge task is pushed to `tasks`.
async fn portal(
    config: &Config,
    section: &PortalSection,
    fd: &Fachdienst,
    identity: &Identity,
    shutdown: &CancellationToken,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) -> anyhow::Result<std::net::SocketAddr> {
    let am = config
        .account_manager
        .as_ref()
        .context("[portal] needs [account_manager]")?;
    let (cert, key) = provider_ca(am)?;
    let ca = kim_account_manager::cert::ProviderCa::new(cert, &key)
        .map_err(|e| anyhow::anyhow!("account_manager provider CA: {e}"))?;
    let transport = match (&section.relay, &section.mail_dir) {
        (Some(relay), _) => {
            let (host, port) = relay
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
                .with_context(|| format!("portal.relay = {relay:?}: expected host:port"))?;
            let security = section.security()?;
            let tls = if security == kim_portal::Security::Plain {
                None
            } else {
                let ca = section
                    .relay_ca_pem
                    .as_ref()
                    .unwrap_or(&config.tls.client_ca_pem);
                let trust = TrustAnchors::from_file(ca)
                    .with_context(|| format!("portal.relay_ca_pem {}", ca.display()))?;
                Some(
                    kim_tls::client_config(ClientOptions {
                        trust,
                        identity: None,
                        danger_accept_any_hostname: false,
                    })
                    .context("building the portal relay TLS configuration")?,
                )
            };
            kim_portal::Transport::Smtp {
                host,
                port,
                security,
                tls,
                timeout: Duration::from_secs(60),
            }
        }
        (None, Some(dir)) => kim_portal::Transport::Directory(dir.clone()),
        (None, None) => anyhow::bail!("[portal]: set relay or mail_dir"),
    };
    let listener = TcpListener::bind(section.listen)
        .await
        .with_context(|| format!("portal.listen {}", section.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if section.tls { "https" } else { "http" };
    let public_url = section
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{addr}"));
    let mut settings = kim_portal::PortalConfig::new(&public_url, &section.cm_ui_base);
    let hours = |h: u64| i64::try_from(h.saturating_mul(3600)).unwrap_or(i64::MAX);
    settings.registration_validity_secs = hours(section.registration_hours);
    settings.confirmation_validity_secs = hours(section.confirmation_hours);
    settings.cert_validity_days = am.cert_validity_days;
    let mailer = kim_portal::Mailer {
        transport,
        sender: section.sender.clone(),
        hostname: config.hostname.clone(),
    };
    let store: Arc<dyn kim_store::PortalStore> = fd.meta.clone();
    let vzd = vzd_client(config, am)?;
    let state = kim_portal::PortalState::new(settings, store, mailer, ca, Some(vzd));
    let router = kim_portal::router(state.clone());
    if section.tls {
        let tls = kim_tls::server_config(identity, ClientAuth::None)
            .context("building the portal TLS configuration")?;
        tasks.push(tokio::spawn(http::serve(
            listener,
            tls,
            router,
            shutdown.clone(),
        )));
    } else {
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "portal listener failed");
            }
        }));
    }
    tasks.push(kim_portal::spawn_purge(
        state,
        Duration::from_secs(section.purge_interval_secs),
        shutdown.clone(),
    ));
    tracing::info!(%public_url, "registration portal listening");
    Ok(addr)
}

/// A Fachdienst started from its configuration: every listener bound, the background tasks
/// running. Used by `kim fachdienst serve` and by the sandbox.
pub(crate) struct Launched {
    pub running: kim_fachdienst::server::Running,
    /// The HTTPS listener of the REST interfaces, if `[http]` is configured.
    pub http_addr: Option<std::net::SocketAddr>,
    /// The registration portal's listener, if `[portal]` is configured.
    pub portal_addr: Option<std::net::SocketAddr>,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Launched {
    /// One line for scripts (ports may have been chosen by the system).
    pub fn summary(&self) -> String {
        let running = &self.running;
        let mut line = format!("smtps {} pop3s {}", running.smtp_addr, running.pop3_addr);
        if let Some(addr) = running.inbound_addr {
            line.push_str(&format!(" inbound {addr}"));
        }
        if let Some(addr) = self.http_addr {
            line.push_str(&format!(" https {addr}"));
        }
        if let Some(addr) = self.portal_addr {
            line.push_str(&format!(" portal {addr}"));
        }
        line
    }

    /// Stops the listeners and background tasks and waits for them.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.running.shutdown().await;
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Opens the storage of `config` (recovering interrupted writes) and binds every listener.
pub(crate) async fn launch(config: &Config) -> anyhow::Result<Launched> {
    let fd = open_storage(config).await?.with_routes(routes(config)?);
    // Files without a record are what a crash between file and record leaves behind.
    let removed = kim_store::recover(fd.meta.as_ref(), fd.blobs.as_ref())
        .await
        .context("recovering the message store")?;
    if removed > 0 {
        tracing::warn!(
            removed,
            "removed message files without a record (interrupted writes)"
        );
    }
    let identity = Identity::from_files(&config.tls.chain_pem, &config.tls.key_pem)
        .context("tls.chain_pem / tls.key_pem")?;
    let anchors = |path: &std::path::Path, key: &str| {
        TrustAnchors::from_file(path).with_context(|| format!("{key} {}", path.display()))
    };
    let trust = anchors(&config.tls.client_ca_pem, "tls.client_ca_pem")?;
    let tls = kim_tls::server_config(&identity, ClientAuth::Required(trust.clone()))
        .context("building the TLS configuration")?;
    let inbound = match &config.inbound {
        Some(inbound) => {
            let trust = match &inbound.client_ca_pem {
                Some(path) => anchors(path, "inbound.client_ca_pem")?,
                None => trust.clone(),
            };
            Some(Inbound {
                addr: inbound.listen,
                tls: kim_tls::server_config(&identity, ClientAuth::Required(trust))
                    .context("building the inbound TLS configuration")?,
            })
        }
        None => None,
    };
    let shutdown = CancellationToken::new();
    let mut tasks = Vec::new();
    let mut http_addr = None;
    if let Some(http) = &config.http {
        let router = rest_router(config, &fd)?;
        let listener = TcpListener::bind(http.listen)
            .await
            .with_context(|| format!("http.listen {}", http.listen))?;
        http_addr = Some(listener.local_addr()?);
        // Clientmodule present their C.CM.TLS-CS certificate (A_19362); administration
        // clients authenticate with a JWT and may come without one.
        let http_tls = kim_tls::server_config(&identity, ClientAuth::Optional(trust.clone()))
            .context("building the HTTPS configuration")?;
        tasks.push(tokio::spawn(http::serve(
            listener,
            http_tls,
            router,
            shutdown.clone(),
        )));
        tasks.push(kim_kas::spawn_purge(
            fd.clone(),
            Duration::from_secs(config.kas.purge_interval_secs),
            shutdown.clone(),
        ));
    }
    let portal_addr = match &config.portal {
        Some(section) => {
            Some(portal(config, section, &fd, &identity, &shutdown, &mut tasks).await?)
        }
        None => None,
    };
    let running = start(
        fd,
        Listeners {
            smtp: config.smtp.listen,
            pop3: config.pop3.listen,
            tls,
            inbound,
        },
    )
    .await
    .context("binding the listeners")?;
    Ok(Launched {
        running,
        http_addr,
        portal_addr,
        shutdown,
        tasks,
    })
}

async fn serve(arg: &ConfigArg) -> anyhow::Result<Outcome> {
    init_logging();
    let config = Config::load(&arg.config)?;
    let launched = launch(&config).await?;
    println!("{}", launched.summary());
    wait_for_signal().await?;
    tracing::info!("stopping");
    launched.shutdown().await;
    Ok(Outcome::Success)
}

pub(crate) async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KIM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
