//! The listeners: SMTPS (submission, default port 465) and POP3S (default port 995), both
//! implicit TLS. The TLS configuration decides about client certificates; the Fachdienst
//! passes one that requires a C.CM.TLS-CS certificate from the trusted CAs.

use std::net::SocketAddr;
use std::sync::Arc;

use kim_smtp::server::{ListenerConfig, ServerConfig, SessionEnd, accept_loop};
use kim_tls::rustls;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::Fachdienst;
use crate::mta::Mta;
use crate::pop3::Pop3;

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct Listeners {
    /// SMTPS address.
    pub smtp: SocketAddr,
    /// POP3S address.
    pub pop3: SocketAddr,
    /// TLS for both (built with `kim_tls::server_config`).
    pub tls: Arc<rustls::ServerConfig>,
}

/// Running servers; dropping it does not stop them, [`Running::shutdown`] does.
#[derive(Debug)]
pub struct Running {
    /// Bound SMTPS address.
    pub smtp_addr: SocketAddr,
    /// Bound POP3S address.
    pub pop3_addr: SocketAddr,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
}

impl Running {
    /// Stops accepting, lets sessions end (SMTP answers 421) and waits for the loops.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Binds both listeners and serves until [`Running::shutdown`].
///
/// # Errors
/// A listener cannot be bound.
pub async fn start(fd: Fachdienst, listeners: Listeners) -> std::io::Result<Running> {
    let smtp = TcpListener::bind(listeners.smtp).await?;
    let pop3 = TcpListener::bind(listeners.pop3).await?;
    let (smtp_addr, pop3_addr) = (smtp.local_addr()?, pop3.local_addr()?);
    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();

    let mut cfg = ServerConfig::new(fd.policy.hostname.clone());
    cfg.max_message_size = fd.policy.max_message_size;
    cfg.require_auth = true;
    tasks.spawn(accept_loop(
        smtp,
        ListenerConfig::tls(Arc::clone(&listeners.tls)),
        Arc::new(cfg),
        Arc::new(Mta::new(fd.clone())),
        shutdown.clone(),
        |end: SessionEnd| tracing::debug!(peer = %end.peer, ok = end.result.is_ok(), "SMTP session ended"),
    ));
    tasks.spawn(kim_pop3::accept_loop(
        pop3,
        kim_pop3::ListenerConfig::tls(listeners.tls),
        Arc::new(kim_pop3::ServerConfig::default()),
        Arc::new(Pop3::new(fd)),
        shutdown.clone(),
        |end: kim_pop3::SessionEnd| {
            tracing::debug!(peer = %end.peer, handshake = ?end.handshake, "POP3 session ended");
        },
    ));
    tracing::info!(%smtp_addr, %pop3_addr, "Fachdienst listening");
    Ok(Running {
        smtp_addr,
        pop3_addr,
        shutdown,
        tasks,
    })
}
