//! The Clientmodul's receive side: the POP3 proxy between the practice software and the
//! Fachdienst (gemSpec_CM_KOMLE 3.4.2, 3.8.4; kim-spec §4).
//!
//! - [`start_pop3`] → [`RunningPop3`]: the listener (plain, implicit TLS, or TLS with
//!   client certificate towards the practice software, `clientmodul.proxy.tls`).
//! - `session`: the dialogue (Tab_POP3_Ant_Init, PROXY state), `login`: user name (its
//!   KonnektorId selects one of the [`Konnektors`]) and the Fachdienst login, `process`: RETR through `kim_message::open::open` with the
//!   Konnektor (`konnektor`: card selection, DecryptDocument, VerifyDocument),
//!   `kas_receive`: KIM-Attachments through a [`kas::KasDownload`].
//!
//! Invariants: every RETR answers with a message (processed, an error mail with the
//! original attached, or the original); the Fachdienst deletes only what the client
//! deleted, and only on the client's QUIT; at most one message per session is held in
//! memory; message content, passwords and keys are never logged.

mod conn;
pub mod kas;
mod kas_receive;
mod konnektor;
mod login;
mod process;
mod session;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kim_konnektor::client::Konnektor;
use kim_tls::tokio_rustls::TlsAcceptor;
use kim_tls::{ClientAuth, rustls};
use kim_vzd::VzdClient;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{ProxyTls, ReceiveConfig};
use crate::error::StartError;
use crate::konnektors::Konnektors;
use conn::Conn;
use kas::KasDownload;
use konnektor::ReceiveKonnektor;

/// Longest time a TLS handshake with the practice software may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What every session shares.
struct Shared<K> {
    config: ReceiveConfig,
    fachdienst_tls: Arc<rustls::ClientConfig>,
    /// Every Konnektor with its own ICCSN cache.
    konnektors: Konnektors<ReceiveKonnektor<K>>,
    vzd: Arc<VzdClient>,
    kas: Option<Arc<dyn KasDownload>>,
    /// `clientmodul.proxy.pop3.timeout.client` in milliseconds: changeable while running
    /// (the manual's table: no restart), read by every new session.
    timeout_client_ms: Arc<AtomicU64>,
}

/// A running POP3 proxy.
#[derive(Debug)]
pub struct RunningPop3 {
    /// The bound address (useful with port 0).
    pub pop3_addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    timeout_client_ms: Arc<AtomicU64>,
}

impl RunningPop3 {
    /// Sets how long sessions that start from now on wait for the practice software
    /// (`clientmodul.proxy.pop3.timeout.client`, which needs no restart).
    pub fn set_timeout_client(&self, timeout: Duration) {
        let ms = u64::try_from(timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        self.timeout_client_ms.store(ms, Ordering::Relaxed);
    }

    /// Stops accepting, ends waiting sessions (`-ERR`, nothing deleted) and waits for them.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// Binds `config.listen` and serves the practice software until [`RunningPop3::shutdown`].
/// The user name's KonnektorId selects one of `konnektors` (an unknown one is refused at
/// login with `-ERR`).
///
/// # Errors
/// [`StartError`] if a TLS configuration cannot be built, a value is out of range or the
/// address cannot be bound.
pub async fn start_pop3<K: Konnektor + 'static>(
    config: ReceiveConfig,
    konnektors: Konnektors<K>,
    vzd: Arc<VzdClient>,
    kas: Option<Arc<dyn KasDownload>>,
) -> Result<RunningPop3, StartError> {
    validate(&config)?;
    let fachdienst_tls = config.fachdienst_tls.client_config()?;
    let acceptor = acceptor(&config.proxy_tls)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let pop3_addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let timeout_client_ms = Arc::new(AtomicU64::new(
        u64::try_from(config.timeout_client.as_millis()).unwrap_or(u64::MAX),
    ));
    let shared = Arc::new(Shared {
        timeout_client_ms: timeout_client_ms.clone(),
        konnektors: konnektors.map(|k| {
            ReceiveKonnektor::new(k.clone(), config.konnektor_timeout, config.ttl_email_iccsn)
        }),
        config,
        fachdienst_tls,
        vzd,
        kas,
    });
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(accept_loop(listener, acceptor, shared, shutdown.clone()));
    tracing::info!(%pop3_addr, "POP3 proxy listening");
    Ok(RunningPop3 {
        pop3_addr,
        shutdown,
        task,
        timeout_client_ms,
    })
}

/// Every value in its range, the error naming the `cm.properties` key.
fn validate(config: &ReceiveConfig) -> Result<(), StartError> {
    if config.max_sessions == 0 {
        return Err(StartError::Config {
            key: "clientmodul.proxy.pop3.threads",
            value: "0".into(),
            reason: "at least 1",
        });
    }
    let timeouts = [
        (
            "clientmodul.proxy.pop3.timeout.server",
            config.timeout_server,
        ),
        (
            "clientmodul.proxy.pop3.timeout.client",
            config.timeout_client,
        ),
        (
            "clientmodul.core.konnektor.receive.timeout",
            config.konnektor_timeout,
        ),
    ];
    for (key, value) in timeouts {
        if value.is_zero() {
            return Err(StartError::Config {
                key,
                value: "0".into(),
                reason: "at least 1 second",
            });
        }
    }
    Ok(())
}

fn acceptor(tls: &ProxyTls) -> Result<Option<TlsAcceptor>, StartError> {
    let build = |identity, auth| {
        kim_tls::server_config(identity, auth)
            .map(TlsAcceptor::from)
            .map_err(|source| StartError::Tls {
                what: "proxy",
                source,
            })
    };
    Ok(match tls {
        ProxyTls::None => None,
        ProxyTls::Tls { identity } => Some(build(identity, ClientAuth::None)?),
        ProxyTls::TlsClientCertificate {
            identity,
            client_cas,
        } => Some(build(identity, ClientAuth::Required(client_cas.clone()))?),
    })
}

async fn accept_loop<K: Konnektor + 'static>(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared<K>>,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(shared.config.max_sessions));
    let mut sessions = JoinSet::new();
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p,
            () = shutdown.cancelled() => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = shutdown.cancelled() => break,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "POP3 accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, shared, shutdown) = (acceptor.clone(), shared.clone(), shutdown.clone());
        sessions.spawn(async move {
            let _permit = permit;
            run_session(tcp, acceptor, &shared, shutdown).await;
            tracing::debug!(%peer, "POP3 session ended");
        });
        while sessions.try_join_next().is_some() {}
    }
    while sessions.join_next().await.is_some() {}
}

async fn run_session<K: Konnektor + 'static>(
    tcp: TcpStream,
    acceptor: Option<TlsAcceptor>,
    shared: &Shared<K>,
    shutdown: CancellationToken,
) {
    let timeout = Duration::from_millis(shared.timeout_client_ms.load(Ordering::Relaxed));
    let result = match acceptor {
        None => {
            let mut conn = Conn::new(tcp, timeout, shutdown);
            let r = session::serve(&mut conn, shared).await;
            finish(&mut conn, r).await
        }
        Some(acceptor) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
        {
            Ok(Ok(tls)) => {
                let mut conn = Conn::new(tls, timeout, shutdown);
                let r = session::serve(&mut conn, shared).await;
                finish(&mut conn, r).await
            }
            Ok(Err(e)) => Err(format!("TLS handshake: {e}")),
            Err(_) => Err("TLS handshake timeout".into()),
        },
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "POP3 session aborted");
    }
}

async fn finish<S>(conn: &mut Conn<S>, result: Result<(), conn::ConnError>) -> Result<(), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if matches!(result, Err(conn::ConnError::Shutdown)) {
        let _ = conn.err("[SYS/TEMP] Clientmodul shutting down").await;
    }
    conn.close().await;
    result.map_err(|e| e.to_string())
}
