//! The listeners: SMTPS (submission, default port 465), POP3S (default port 995) and, if
//! configured, the inbound SMTPS listener for other Fachdienste; all implicit TLS. The TLS
//! configurations decide about client certificates: submission and POP3 require a
//! C.CM.TLS-CS certificate, the inbound listener one of another Fachdienst.
//!
//! [`start`] also runs the relay queue worker and the retention purge until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use kim_smtp::server::{ListenerConfig, ServerConfig, SessionEnd, accept_loop};
use kim_tls::rustls;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::Fachdienst;
use crate::mta::{Mta, Role};
use crate::pop3::{MailboxLocks, Pop3};

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct Listeners {
    /// SMTPS address.
    pub smtp: SocketAddr,
    /// POP3S address.
    pub pop3: SocketAddr,
    /// TLS for both (built with `kim_tls::server_config`).
    pub tls: Arc<rustls::ServerConfig>,
    /// The listener for other Fachdienste, if this one receives relayed mail.
    pub inbound: Option<Inbound>,
}

/// The SMTPS listener other Fachdienste deliver to.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// Address to bind.
    pub addr: SocketAddr,
    /// TLS requiring the peers' client certificates.
    pub tls: Arc<rustls::ServerConfig>,
}

/// Running servers; dropping it does not stop them, [`Running::shutdown`] does.
#[derive(Debug)]
pub struct Running {
    /// Bound SMTPS address.
    pub smtp_addr: SocketAddr,
    /// Bound POP3S address.
    pub pop3_addr: SocketAddr,
    /// Bound inbound address, if any.
    pub inbound_addr: Option<SocketAddr>,
    /// The mailbox locks shared by POP3 and the purge.
    pub locks: MailboxLocks,
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

/// Binds the listeners, starts the relay worker and the purge, and serves until
/// [`Running::shutdown`].
///
/// # Errors
/// A listener cannot be bound.
pub async fn start(fd: Fachdienst, listeners: Listeners) -> std::io::Result<Running> {
    let smtp = TcpListener::bind(listeners.smtp).await?;
    let pop3 = TcpListener::bind(listeners.pop3).await?;
    let (smtp_addr, pop3_addr) = (smtp.local_addr()?, pop3.local_addr()?);
    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let locks = MailboxLocks::default();

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
    let inbound_addr = match listeners.inbound {
        Some(inbound) => {
            let listener = TcpListener::bind(inbound.addr).await?;
            let addr = listener.local_addr()?;
            let mut cfg = ServerConfig::new(fd.policy.hostname.clone());
            cfg.max_message_size = fd.policy.max_message_size;
            cfg.require_auth = false;
            cfg.auth_mechanisms = Vec::new();
            tasks.spawn(accept_loop(
                listener,
                ListenerConfig::tls(inbound.tls),
                Arc::new(cfg),
                Arc::new(Mta::with_role(fd.clone(), Role::Inbound)),
                shutdown.clone(),
                |end: SessionEnd| tracing::debug!(peer = %end.peer, ok = end.result.is_ok(), "inbound SMTP session ended"),
            ));
            Some(addr)
        }
        None => None,
    };
    let relay = crate::relay::spawn(fd.clone(), shutdown.clone());
    let purge = crate::purge::spawn(fd.clone(), locks.clone(), shutdown.clone());
    tasks.spawn(async move {
        let _ = relay.await;
        let _ = purge.await;
    });
    tasks.spawn(kim_pop3::accept_loop(
        pop3,
        kim_pop3::ListenerConfig::tls(listeners.tls),
        Arc::new(kim_pop3::ServerConfig::default()),
        Arc::new(Pop3::with_locks(fd, locks.clone())),
        shutdown.clone(),
        |end: kim_pop3::SessionEnd| {
            tracing::debug!(peer = %end.peer, handshake = ?end.handshake, "POP3 session ended");
        },
    ));
    tracing::info!(%smtp_addr, %pop3_addr, "Fachdienst listening");
    Ok(Running {
        smtp_addr,
        pop3_addr,
        inbound_addr,
        locks,
        shutdown,
        tasks,
    })
}
