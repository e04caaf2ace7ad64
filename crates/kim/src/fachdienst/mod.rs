//! `kim fachdienst`: the KIM provider daemon (SMTPS submission, POP3S retrieval on SQLite +
//! message files) and the provider's administration commands (contracts, accounts, queue).
//!
//! The administration commands open the same database as a running daemon; SQLite's WAL mode
//! lets both work at once, and changes (a contract lock, an unlock) take effect at the
//! daemon's next login check.

mod admin;
pub mod config;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use kim_fachdienst::server::{Listeners, start};
use kim_fachdienst::{Fachdienst, Policy};
use kim_store::{FileBlobStore, SqliteStore};
use kim_tls::{ClientAuth, Identity, TrustAnchors};

use crate::Outcome;
use config::Config;

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
    Ok(Fachdienst {
        meta: Arc::new(meta),
        blobs: Arc::new(blobs),
        policy: Arc::new(policy),
    })
}

async fn serve(arg: &ConfigArg) -> anyhow::Result<Outcome> {
    init_logging();
    let config = Config::load(&arg.config)?;
    let fd = open_storage(&config).await?;
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
    let trust = TrustAnchors::from_file(&config.tls.client_ca_pem)
        .with_context(|| format!("tls.client_ca_pem {}", config.tls.client_ca_pem.display()))?;
    let tls = kim_tls::server_config(&identity, ClientAuth::Required(trust))
        .context("building the TLS configuration")?;
    let running = start(
        fd,
        Listeners {
            smtp: config.smtp.listen,
            pop3: config.pop3.listen,
            tls,
        },
    )
    .await
    .context("binding the listeners")?;
    // One line for scripts (ports may have been chosen by the system).
    println!("smtps {} pop3s {}", running.smtp_addr, running.pop3_addr);
    wait_for_signal().await?;
    tracing::info!("stopping");
    running.shutdown().await;
    Ok(Outcome::Success)
}

async fn wait_for_signal() -> anyhow::Result<()> {
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
