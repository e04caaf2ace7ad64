//! The accept loop for implicit-TLS POP3 (port 995): handshake with a timeout, the client's
//! leaf certificate into [`SessionInfo`], one task per session, a bound on concurrent
//! sessions, and an orderly stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kim_tls::tokio_rustls::TlsAcceptor;
use rustls_pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Pop3Backend, ServerConfig, SessionError, SessionInfo, serve_until};

/// How one connection ended, reported to the loop's observer.
#[derive(Debug)]
pub struct SessionEnd {
    /// The client's address.
    pub peer: SocketAddr,
    /// `Ok` after QUIT; `Err` with the session error, or `None` if the TLS handshake
    /// failed or timed out (the error text is in `handshake`).
    pub result: Option<Result<(), SessionError>>,
    /// Why the handshake failed, if it did.
    pub handshake: Option<String>,
}

/// How to accept connections.
#[derive(Clone)]
pub struct ListenerConfig {
    /// TLS acceptor (from a `kim_tls::server_config`).
    pub acceptor: TlsAcceptor,
    /// Longest time a TLS handshake may take.
    pub handshake_timeout: Duration,
    /// Sessions served at once.
    pub max_sessions: usize,
}

impl ListenerConfig {
    /// Implicit TLS with `config`, 30 s handshake timeout, 256 sessions.
    pub fn tls(config: Arc<kim_tls::rustls::ServerConfig>) -> Self {
        Self {
            acceptor: TlsAcceptor::from(config),
            handshake_timeout: Duration::from_secs(30),
            max_sessions: 256,
        }
    }
}

impl std::fmt::Debug for ListenerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerConfig")
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_sessions", &self.max_sessions)
            .finish_non_exhaustive()
    }
}

/// Accepts implicit-TLS connections on `listener` until `shutdown` is cancelled, serves each
/// with [`serve_until`], then waits for the running sessions and returns.
///
/// At most `listen.max_sessions` sessions run at once; further connections wait in the backlog.
/// `on_end` is called once per connection (the library itself does not log).
pub async fn accept_loop<B, F>(
    listener: TcpListener,
    listen: ListenerConfig,
    cfg: Arc<ServerConfig>,
    backend: Arc<B>,
    shutdown: CancellationToken,
    on_end: F,
) where
    B: Pop3Backend,
    F: Fn(SessionEnd) + Send + Sync + 'static,
{
    let on_end = Arc::new(on_end);
    let ListenerConfig {
        acceptor,
        handshake_timeout,
        max_sessions,
    } = listen;
    let permits = Arc::new(Semaphore::new(max_sessions.max(1)));
    let mut sessions = JoinSet::new();
    loop {
        while sessions.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, peer)) = accepted else {
            // Out of descriptors or reset before accept: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        // Replies are written as soon as they are complete; waiting for more (Nagle) would
        // stall every command round trip behind the peer's delayed ACK.
        let _ = tcp.set_nodelay(true);
        let (acceptor, backend, cfg, shutdown, on_end) = (
            acceptor.clone(),
            Arc::clone(&backend),
            Arc::clone(&cfg),
            shutdown.clone(),
            Arc::clone(&on_end),
        );
        sessions.spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    on_end(SessionEnd {
                        peer,
                        result: None,
                        handshake: Some(e.to_string()),
                    });
                    return;
                }
                Err(_) => {
                    on_end(SessionEnd {
                        peer,
                        result: None,
                        handshake: Some("timeout".into()),
                    });
                    return;
                }
            };
            let client_cert = kim_tls::peer_leaf(&tls).map(CertificateDer::from);
            let info = SessionInfo {
                peer,
                tls: true,
                client_cert,
            };
            let result = serve_until(tls, info, &cfg, backend.as_ref(), shutdown).await;
            on_end(SessionEnd {
                peer,
                result: Some(result),
                handshake: None,
            });
        });
    }
    while sessions.join_next().await.is_some() {}
}
