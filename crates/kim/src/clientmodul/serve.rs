//! `kim clientmodul serve`: the SMTP and POP3 proxies from `cm.properties` until
//! SIGTERM/SIGINT, with the operation and performance log files of manual §4.6, the
//! renewal of the Clientmodul's TLS certificate (`renewal.rs`, A_21381) and the keys that
//! take effect without a restart (`reload.rs`).

use std::sync::Arc;

use anyhow::{Context as _, bail};

use super::ConfigArg;
use super::renewal;
use super::setup::{self, Stores};
use crate::Outcome;

pub async fn serve(args: &ConfigArg) -> anyhow::Result<Outcome> {
    // Read once: the configuration to start with, and the baseline for later changes.
    let (mut watched, config) = super::reload::Watched::load(&args.config)?;
    let logs = init_logging(&config)?;
    if !config.proxy.enabled {
        bail!("clientmodul.proxy.enabled = false: the mail proxy is switched off");
    }
    let stores = Stores::open(&config)?;
    // One client per Konnektor for the proxies, the administration UI and the renewal.
    let clients = setup::konnektor_clients(&config, &stores)?;
    let konnektors = setup::konnektors(&clients)?;
    tracing::info!(
        count = konnektors.len(),
        ids = ?konnektors.ids().collect::<Vec<_>>(),
        "Konnektors configured"
    );
    let vzd = Arc::new(setup::vzd_client(&config, &stores)?);
    let mut send = setup::send_config(&config, &stores)?;
    // Every Fachdienst connection (SMTP, POP3, KAS, Account Manager, also the UI's) presents
    // the current certificate of this slot, which the renewal (A_21381) and a certificate
    // imported in the UI replace.
    let (identity, renewal_handle) = send
        .fachdienst_tls
        .identity
        .clone()
        .renewable()
        .context("the Clientmodul's TLS identity (FD_CERTIFICATE-pk)")?;
    send.fachdienst_tls.identity = identity;
    let live = (send.fachdienst_tls.identity.clone(), renewal_handle.clone());
    let renewal = renewal::Renewal::new(
        &config,
        &stores,
        konnektors.default_konnektor().clone(),
        &send.fachdienst_tls,
        renewal_handle,
    )?
    .map(|r| {
        r.spawn(
            config.fachdienst.renewal_interval,
            Arc::new(crate::message::now),
        )
    });
    // The mail proxy runs even if the administration UI cannot start (port taken).
    let admin_ui = match super::admin_ui::start(&config, &stores, &clients, live).await {
        Ok(ui) => ui,
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "administration UI not started");
            None
        }
    };
    let receive = setup::receive_config(&config, &send);
    let (upload, download) = match setup::kas(&config, &send)? {
        Some(kas) => {
            let (upload, download) = kas.into_seams();
            (Some(upload), Some(download))
        }
        None => (None, None),
    };
    let running = kim_clientmodul::start(send, konnektors.clone(), vzd.clone(), upload)
        .await
        .context("starting the SMTP proxy")?;
    let pop3 = kim_clientmodul::start_pop3(receive, konnektors, vzd, download)
        .await
        .context("starting the POP3 proxy")?;
    tracing::info!(smtp = %running.smtp_addr, pop3 = %pop3.pop3_addr, "Clientmodul started");
    // Lines for scripts (the ports may have been chosen by the system), written at once;
    // a closed stdout does not stop the daemon.
    let mut lines = format!("smtp {} pop3 {}\n", running.smtp_addr, pop3.pop3_addr);
    if let Some(ui) = &admin_ui {
        lines.push_str(&format!("admin-ui {}\n", ui.url()));
    }
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(lines.as_bytes());
        let _ = out.flush();
    }
    // Until SIGTERM/SIGINT: changes of cm.properties to the keys that need no restart
    // take effect (reload.rs).
    let signal = crate::fachdienst::wait_for_signal();
    tokio::pin!(signal);
    let mut ticks = tokio::time::interval(super::reload::POLL_INTERVAL);
    loop {
        tokio::select! {
            r = &mut signal => {
                r?;
                break;
            }
            _ = ticks.tick() => match watched.poll() {
                None => {}
                Some(Err(e)) => tracing::error!(
                    error = format!("{e:#}"),
                    "cm.properties changed but is not valid; the running values stay"
                ),
                Some(Ok(change)) => {
                    let c = &change.config;
                    logs.set_operation_level(kim_logs::LogConfig::operation_level(
                        c.auth_log.log_operation,
                    ));
                    pop3.set_timeout_client(c.proxy.pop3_timeout_client);
                    if !change.applied.is_empty() {
                        tracing::info!(keys = ?change.applied, "cm.properties: applied");
                    }
                    if !change.need_restart.is_empty() {
                        tracing::warn!(
                            keys = ?change.need_restart,
                            "cm.properties: these changes take effect after a restart"
                        );
                    }
                }
            },
        }
    }
    tracing::info!("stopping");
    if let Some(task) = renewal {
        task.abort();
    }
    running.shutdown().await;
    pop3.shutdown().await;
    if let Some(ui) = admin_ui {
        ui.shutdown().await;
    }
    Ok(Outcome::Success)
}

/// Console log on stderr (`KIM_LOG` overrides the filter) and the log files in
/// `KIM_CM_LOG_DIR` (default `$HOME/kimCm/log`): the performance log with
/// `clientmodul.core.log.performance`, the operation log with
/// `clientmodul.core.log.operation`, both kept `clientmodul.core.log.retainDays`.
fn init_logging(config: &kim_cm_config::CmConfig) -> anyhow::Result<kim_logs::LogGuard> {
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{EnvFilter, Layer as _, layer::SubscriberExt as _};
    let log = &config.auth_log;
    let dir = std::env::var_os("KIM_CM_LOG_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(kim_logs::default_dir);
    let mut files = kim_logs::LogConfig::new(dir);
    files.level = kim_logs::LogConfig::operation_level(log.log_operation);
    files.performance = log.log_performance;
    files.retain_days = log.log_retain_days;
    let (file_layer, guard) = kim_logs::layer(&files, Arc::new(kim_logs::SystemClock))
        .context("setting up the log files")?;
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(
            EnvFilter::try_from_env("KIM_LOG")
                .unwrap_or_else(|_| EnvFilter::new("info,kim_perf=off")),
        );
    tracing_subscriber::registry()
        .with(file_layer)
        .with(console)
        .try_init()
        .context("installing the logger")?;
    Ok(guard)
}
