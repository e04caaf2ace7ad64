//! The listeners: SMTPS (submission, default port 465) and POP3S (default port 995), both
//! implicit TLS. The TLS configuration decides about client certificates; the Fachdienst
//! passes one that requires a C.CM.TLS-CS certificate from the trusted CAs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kim_smtp::server::{ListenerConfig, ServerConfig, SessionEnd, accept_loop};
use kim_tls::rustls;
use kim_tls::tokio_rustls::TlsAcceptor;
use rustls_pki_types::CertificateDer;
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

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

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
    tasks.spawn(pop3_loop(
        pop3,
        TlsAcceptor::from(listeners.tls),
        Pop3::new(fd),
        shutdown.clone(),
    ));
    tracing::info!(%smtp_addr, %pop3_addr, "Fachdienst listening");
    Ok(Running {
        smtp_addr,
        pop3_addr,
        shutdown,
        tasks,
    })
}

async fn pop3_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    backend: Pop3,
    shutdown: CancellationToken,
) {
    let backend = Arc::new(backend);
    let cfg = Arc::new(kim_pop3::ServerConfig::default());
    let mut sessions = JoinSet::new();
    loop {
        while sessions.try_join_next().is_some() {}
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, peer)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (acceptor, backend, cfg, shutdown) = (
            acceptor.clone(),
            Arc::clone(&backend),
            Arc::clone(&cfg),
            shutdown.clone(),
        );
        sessions.spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::info!(%peer, error = %e, "POP3 TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let client_cert = kim_tls::peer_leaf(&tls).map(CertificateDer::from);
            let info = kim_pop3::SessionInfo {
                peer,
                tls: true,
                client_cert,
            };
            let result = kim_pop3::serve_until(tls, info, &cfg, backend.as_ref(), shutdown).await;
            tracing::debug!(%peer, ok = result.is_ok(), "POP3 session ended");
        });
    }
    while sessions.join_next().await.is_some() {}
}
