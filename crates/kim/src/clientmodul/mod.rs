//! `kim clientmodul`: the Clientmodul daemon as a practice runs it — `serve` (the SMTP
//! proxy from `cm.properties`), `check-config`, `keytool` (key store and trust store,
//! manual §4.4.5) and `doctor` (a line per check with OK/WARN/FAIL).
//!
//! Secrets (PKCS#12 passwords, Basic passwords, Fachdienst logins) are read from the
//! terminal without echo, or line by line from stdin when it is not a terminal; they are
//! never accepted as command-line arguments.

mod admin_ui;
mod doctor;
mod keytool;
mod reload;
mod renewal;
mod secrets;
mod serve;
pub(crate) mod setup;

pub(crate) use keytool::date;
pub(crate) use secrets::{read_secret, refuse_argument};

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kim_cm_config::CmConfig;

use crate::Outcome;

#[derive(Debug, Subcommand)]
pub enum ClientmodulCommand {
    /// Runs the Clientmodul (SMTP proxy) until SIGTERM or Ctrl-C.
    Serve(ConfigArg),
    /// Validates cm.properties and prints the effective settings.
    CheckConfig(ConfigArg),
    /// Manages the key store and the trust store.
    #[command(subcommand)]
    Keytool(keytool::KeytoolCommand),
    /// Checks Konnektor, cards, VZD, Fachdienst, certificates and ports; prints the user
    /// names for the practice software. Exit code 1 if a check fails.
    Doctor(doctor::DoctorArgs),
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The configuration file.
    #[arg(short = 'c', long = "config", default_value = "cm.properties")]
    pub config: PathBuf,
}

pub fn run(cmd: ClientmodulCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ClientmodulCommand::Keytool(cmd) => keytool::run(cmd),
        ClientmodulCommand::CheckConfig(args) => check_config(&args),
        ClientmodulCommand::Serve(args) => runtime()?.block_on(serve::serve(&args)),
        ClientmodulCommand::Doctor(args) => runtime()?.block_on(doctor::doctor(&args)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn load(path: &std::path::Path) -> anyhow::Result<CmConfig> {
    CmConfig::load(path).with_context(|| format!("{}", path.display()))
}

fn check_config(args: &ConfigArg) -> anyhow::Result<Outcome> {
    let config = load(&args.config)?;
    println!("{}: OK", args.config.display());
    let p = &config.proxy;
    println!(
        "proxy: {}:{} (smtp), {}:{} (pop3), tls {:?}",
        p.bind, p.smtp_port, p.bind, p.pop3_port, p.tls
    );
    for k in &config.konnektors {
        println!(
            "konnektor {}: {} tlsAuth {:?} context {}/{}/{}{}",
            k.id.as_deref().unwrap_or("(default)"),
            k.sds_url,
            k.tls_auth,
            k.context.mandant_id,
            k.context.client_system_id,
            k.context.workplace_id,
            k.context
                .user_id
                .as_deref()
                .map(|u| format!("/{u}"))
                .unwrap_or_default(),
        );
    }
    println!("vzd: {}", config.core.vzd_url);
    println!("key store: {}", config.stores.key_store.display());
    println!("trust store: {}", config.stores.trust_store.display());
    Ok(Outcome::Success)
}
