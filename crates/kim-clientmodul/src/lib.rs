//! The KIM Clientmodul's send side: the SMTP proxy between the practice software and the
//! Fachdienst that turns every Client-Mail into a signed and encrypted KOM-LE message
//! (gemSpec_CM_KOMLE 3.3 and 3.4; kim-spec §3).
//!
//! Main types:
//! - [`SendConfig`] (with [`ProxyTls`] and [`FachdienstTls`]): the settings, documented
//!   with the `cm.properties` keys of the Clientmodul manual.
//! - [`send::SendBackend`]: the [`kim_smtp::server::SmtpBackend`] that implements the
//!   dialogue, the buffered envelope and the send algorithm (directory checks, version
//!   checks, SignDocument and EncryptDocument at the Konnektor, the outer message, the
//!   relay to the MTA, DSNs with `X-KIM-Fehlermeldung`).
//! - [`send::KasUpload`]: the seam for Client-Mails above 15 MiB (KAS); without an
//!   implementation such mails are answered with `451`.
//! - [`kas::HttpKas`] (with [`KasSettings`]): the KAS client behind both seams,
//!   [`send::KasUpload`] (getLimits, streamed AES-256-GCM upload) and
//!   [`receive::kas::KasDownload`] (streamed download and decryption into an unnamed file).
//! - [`fd_cert::FachdienstCertCheck`]: the Fachdienst's server certificate checked with
//!   the Konnektor's `VerifyCertificate` before credentials are sent (KOM-LE-A_2075-01),
//!   VALID results cached by fingerprint (A_22348).
//! - [`Konnektors`]: the default Konnektor and further ones by KonnektorId; the user
//!   name's KonnektorId selects one for both proxies, each with its own card caches.
//! - [`start`] → [`Running`]: the listener (plain or implicit TLS towards the practice
//!   software, `clientmodul.proxy.tls`).
//! - Receive side ([`receive`]): [`ReceiveConfig`] and [`start_pop3`] → [`RunningPop3`],
//!   the POP3 proxy that decrypts and verifies at the Konnektor and delivers the inner
//!   message with result headers and Vermerke, or the spec's error mail (kim-spec §4).
//!
//! Invariants:
//! - Nothing is sent to the MTA before the end of DATA; the MTA sees MAIL FROM with the
//!   size of the KOM-LE message and only recipients the message was encrypted for.
//! - Keys stay in the Konnektor: this crate never signs or decrypts itself.
//! - Message content is held only for the transaction (KOM-LE-A_2005): in memory up to
//!   [`SendConfig::spool_memory_limit`], beyond it in an unnamed temporary file that
//!   vanishes with its handle; it is never logged, nor are passwords or KAS keys.
//! - A large mail never sits in memory as a whole: it streams from the spool file through
//!   the encryption into the upload, and from the download through the decryption into a
//!   file (peak RSS for 500 MiB: see the `large_mail` bench).

mod config;
mod error;
pub mod fd_cert;
pub mod kas;
mod konnektors;
mod perf;
pub mod receive;
pub mod send;

use std::net::SocketAddr;
use std::sync::Arc;

use kim_konnektor::client::Konnektor;
use kim_smtp::server::{AuthMechanism, ListenerConfig, ServerConfig, accept_loop};
use kim_tls::ClientAuth;
use kim_vzd::VzdClient;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{
    DEFAULT_MAX_MAIL_SIZE, FachdienstTls, KAS_THRESHOLD, KasSettings, ProxyTls, ReceiveConfig,
    SendConfig,
};
pub use error::{SendFailure, StartError};
pub use konnektors::Konnektors;
pub use receive::{RunningPop3, start_pop3};
use send::{KasUpload, SendBackend};

/// The smallest EHLO `SIZE` the Clientmodul may announce (KOM-LE-A_2007: 25 MB × 1.37).
pub const MIN_ADVERTISED_SIZE: u64 = 35_882_577;

/// A running SMTP proxy.
#[derive(Debug)]
pub struct Running {
    /// The bound address (useful with port 0).
    pub smtp_addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets running sessions answer `421` and waits for them.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// Binds `config.listen` and serves the practice software until [`Running::shutdown`].
/// The user name's KonnektorId selects one of `konnektors` (an unknown one is refused at
/// AUTH with `501 5.5.4`).
///
/// # Errors
/// [`StartError`] if a TLS configuration cannot be built or the address cannot be bound.
pub async fn start<K: Konnektor + 'static>(
    config: SendConfig,
    konnektors: Konnektors<K>,
    vzd: Arc<VzdClient>,
    kas: Option<Arc<dyn KasUpload>>,
) -> Result<Running, StartError> {
    let fachdienst_tls = config.fachdienst_tls.client_config()?;
    let listen = listener_config(&config)?;
    let server = server_config(&config);
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let smtp_addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let backend = Arc::new(SendBackend::new(
        config,
        konnektors,
        vzd,
        kas,
        fachdienst_tls,
    ));
    let shutdown = CancellationToken::new();
    let ends = backend.clone();
    let task = tokio::spawn(accept_loop(
        listener,
        listen,
        Arc::new(server),
        backend,
        shutdown.clone(),
        move |end| {
            if let Err(e) = &end.result {
                tracing::debug!(error = %e, "SMTP session ended");
            }
            ends.end_session(end.peer);
        },
    ));
    Ok(Running {
        smtp_addr,
        shutdown,
        task,
    })
}

fn listener_config(config: &SendConfig) -> Result<ListenerConfig, StartError> {
    let tls = |identity, auth| {
        kim_tls::server_config(identity, auth).map_err(|source| StartError::Tls {
            what: "proxy",
            source,
        })
    };
    let mut listen = match &config.proxy_tls {
        ProxyTls::None => ListenerConfig::plain(),
        ProxyTls::Tls { identity } => ListenerConfig::tls(tls(identity, ClientAuth::None)?),
        ProxyTls::TlsClientCertificate {
            identity,
            client_cas,
        } => ListenerConfig::tls(tls(identity, ClientAuth::Required(client_cas.clone()))?),
    };
    if config.max_sessions == 0 {
        return Err(StartError::Config {
            key: "clientmodul.proxy.smtp.threads",
            value: "0".into(),
            reason: "at least 1",
        });
    }
    listen.max_sessions = config.max_sessions;
    Ok(listen)
}

/// The engine settings for the table Tab_SMTP_Ant_Init (KOM-LE-A_2007).
fn server_config(config: &SendConfig) -> ServerConfig {
    let mut server = ServerConfig::new(config.hostname.clone());
    // EHLO SIZE never below the table's minimum; maxMailSize is enforced on the content
    // (`552 5.3.4`, A_19355-01).
    server.max_message_size = config.max_mail_size.max(MIN_ADVERTISED_SIZE);
    server.auth_mechanisms = vec![AuthMechanism::Login, AuthMechanism::Plain];
    server.require_auth = true;
    // Plain SMTP is only configured for the same host (KOM-LE-A_2067); AUTH is needed there.
    server.require_tls_for_auth = false;
    server.command_timeout = config.timeout_client;
    server.data_timeout = config.timeout_client;
    server.dsn = true;
    // Tab_SMTP_Ant_Init: anything else is answered `502 5.5.1`.
    server.unknown_command_code = 502;
    server
}
