//! The accept loop for a listening socket: implicit TLS (SMTPS) with a bounded handshake,
//! a limit on concurrent sessions, one [`serve`] task per connection, and a graceful stop
//! that lets every session answer `421` before the loop returns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kim_tls::rustls;
use kim_tls::tokio_rustls::TlsAcceptor;
use rustls_pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{ServerConfig, SessionError, SessionInfo, SmtpBackend, serve};

/// How [`accept_loop`] takes connections.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// Implicit TLS with this configuration (built by `kim_tls::server_config`), or plain
    /// TCP if `None`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Longest time a TLS handshake may take.
    pub handshake_timeout: Duration,
    /// Sessions served at once; further connections wait in the listen backlog.
    pub max_sessions: usize,
}

impl ListenerConfig {
    /// Implicit TLS, 30 s handshake timeout, 256 sessions.
    pub fn tls(config: Arc<rustls::ServerConfig>) -> ListenerConfig {
        ListenerConfig {
            tls: Some(config),
            handshake_timeout: Duration::from_secs(30),
            max_sessions: 256,
        }
    }

    /// Plain TCP (tests, or behind a TLS-terminating proxy), 256 sessions.
    pub fn plain() -> ListenerConfig {
        ListenerConfig {
            tls: None,
            handshake_timeout: Duration::from_secs(30),
            max_sessions: 256,
        }
    }
}

/// How one connection ended, reported to the loop's observer.
#[derive(Debug)]
pub struct SessionEnd {
    /// The client's address.
    pub peer: SocketAddr,
    /// `Ok` after QUIT; otherwise why it ended.
    pub result: Result<(), SessionError>,
}

/// Accepts connections on `listener` until `shutdown` is cancelled, then waits for the
/// running sessions (which answer `421 4.3.2` and close) and returns.
///
/// `on_end` is called once per connection when it ends (for logging and metrics; the
/// library itself does not log).
pub async fn accept_loop<B, F>(
    listener: TcpListener,
    listen: ListenerConfig,
    cfg: Arc<ServerConfig>,
    backend: Arc<B>,
    shutdown: CancellationToken,
    on_end: F,
) where
    B: SmtpBackend,
    F: Fn(SessionEnd) + Send + Sync + 'static,
{
    let on_end = Arc::new(on_end);
    let permits = Arc::new(Semaphore::new(listen.max_sessions.max(1)));
    let acceptor = listen.tls.clone().map(TlsAcceptor::from);
    let mut sessions = JoinSet::new();
    loop {
        while sessions.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, peer)) = accepted else {
            // Out of file descriptors or a connection reset before accept: try again
            // shortly instead of spinning or giving up.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        // Replies are written as soon as they are complete; waiting for more (Nagle) would
        // stall every command round trip behind the peer's delayed ACK.
        let _ = tcp.set_nodelay(true);
        let (cfg, backend, shutdown, on_end, acceptor) = (
            cfg.clone(),
            backend.clone(),
            shutdown.clone(),
            on_end.clone(),
            acceptor.clone(),
        );
        let handshake_timeout = listen.handshake_timeout;
        sessions.spawn(async move {
            let _permit = permit;
            let result = match acceptor {
                None => {
                    let info = SessionInfo {
                        peer,
                        tls: false,
                        client_cert: None,
                    };
                    serve(tcp, info, &cfg, &*backend, shutdown).await
                }
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let client_cert = kim_tls::peer_leaf(&stream).map(CertificateDer::from);
                            let info = SessionInfo {
                                peer,
                                tls: true,
                                client_cert,
                            };
                            serve(stream, info, &cfg, &*backend, shutdown).await
                        }
                        Ok(Err(e)) => Err(SessionError::Handshake(e)),
                        Err(_) => Err(SessionError::Handshake(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "TLS handshake timed out",
                        ))),
                    }
                }
            };
            on_end(SessionEnd { peer, result });
        });
    }
    while sessions.join_next().await.is_some() {}
}
