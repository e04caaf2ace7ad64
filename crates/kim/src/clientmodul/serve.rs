//! `kim clientmodul serve`: the SMTP proxy from `cm.properties` until SIGTERM/SIGINT.

use std::sync::Arc;

use anyhow::{Context as _, bail};

use super::setup::{self, Stores};
use super::{ConfigArg, load};
use crate::Outcome;

pub async fn serve(args: &ConfigArg) -> anyhow::Result<Outcome> {
    let config = load(&args.config)?;
    init_logging(config.auth_log.log_performance);
    if !config.proxy.enabled {
        bail!("clientmodul.proxy.enabled = false: the mail proxy is switched off");
    }
    let stores = Stores::open(&config)?;
    let mut konnektors = setup::konnektor_clients(&config, &stores)?;
    if konnektors.len() > 1 {
        tracing::warn!(
            count = konnektors.len(),
            "several Konnektors configured; the send side uses the default one"
        );
    }
    let (_, konnektor) = konnektors.swap_remove(0);
    let vzd = Arc::new(setup::vzd_client(&config, &stores)?);
    let send = setup::send_config(&config, &stores)?;
    let running = kim_clientmodul::start(send, konnektor, vzd, None)
        .await
        .context("starting the SMTP proxy")?;
    tracing::info!(
        smtp = %running.smtp_addr,
        pop3_port = config.proxy.pop3_port,
        "Clientmodul started (POP3 proxy not part of this build yet)"
    );
    // One line for scripts (the port may have been chosen by the system).
    println!("smtp {}", running.smtp_addr);
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

/// Logs to stderr (`KIM_LOG` overrides the filter); the performance events (target
/// `kim_perf`) only with `clientmodul.core.log.performance = true`.
fn init_logging(performance: bool) {
    let default = if performance {
        "info"
    } else {
        "info,kim_perf=off"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KIM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
