//! The Clientmodul's administration web UI: a small axum server on loopback that lets the
//! practice choose a Konnektor context and card, authenticates at the Account Manager with
//! the card (JWT via ExternalAuthenticate, kim-spec §7), registers KIM addresses and
//! administers the account (kim-spec §6.3; the manual's chapters 3 and 5).
//!
//! Pages (German, server-rendered HTML, one style sheet, no JavaScript):
//! - `/`: choose the card (every configured Konnektor and context; SMC-B and HBA with holder,
//!   Telematik-ID and PIN status), then log in with address and password or go to
//!   registration.
//! - `/registrieren?vertrag=<referenceID>&adresse=<KIM address>`: the registration form,
//!   pre-filled from the query. The Fachdienst's registration portal links here, e.g.
//!   `http://127.0.0.1:12001/registrieren?vertrag=V-2026-0001&adresse=praxis%40test.kim.telematik`
//!   (both parameters optional, percent-encoded).
//! - `/konto`: status (`regStat`, `deregDate`), KIM version and every action: consent to
//!   large messages (`1.5+`, A_23505), out-of-office, password change, moving the address to
//!   another Telematik-ID (getOTP with the old card, setTID with the new one), the
//!   Clientmodul certificate (createCert → PKCS#12 download and import into the key store),
//!   deregistration and its revocation.
//!
//! Security: the listener must be a loopback address ([`start`] refuses others) and requests
//! must name a loopback `Host` (no DNS rebinding); the session cookie is `HttpOnly` and
//! `SameSite=Strict` and carries only a random id, while card, JWT, password, OTP and
//! certificate stay in server memory ([`session`]); every form carries the session's CSRF
//! token; pages are sent with `Cache-Control: no-store` and a strict Content Security
//! Policy. Errors of the Account Manager are shown in German beside the field they concern.

pub mod html;
mod pages;
pub mod session;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use kim_admin::{AccountManagerClient, Context};
use kim_konnektor::client::KonnektorClient;

/// One Konnektor the UI offers, with the contexts (Mandant, Clientsystem, Arbeitsplatz,
/// optional UserId) its cards are looked up in.
#[derive(Debug, Clone)]
pub struct KonnektorChoice {
    /// Shown to the user, e.g. `Standard-Konnektor` or the KonnektorId.
    pub label: String,
    pub client: Arc<KonnektorClient>,
    pub contexts: Vec<Context>,
}

/// Where "import into the Clientmodul" puts a createCert certificate: the key store of
/// `cm.properties` with its password file; the key pair becomes the Fachdienst partner's
/// (`FD`) for mutual TLS.
#[derive(Debug, Clone)]
pub struct KeyStoreTarget {
    pub key_store: PathBuf,
    pub password_file: PathBuf,
    /// The running Clientmodul's certificate towards the Fachdienst: the imported key pair
    /// replaces it at once for new connections. `None`: it takes effect at the next start.
    pub live: Option<kim_tls::IdentityRenewal>,
}

/// Configuration of the UI.
#[derive(Debug, Clone)]
pub struct AdminWebConfig {
    /// Listening address; must be loopback (`clientmodul.auth.service.port`, default 12001).
    pub listen: SocketAddr,
    pub konnektors: Vec<KonnektorChoice>,
    /// The Account Manager; the password policy comes from the ServiceInformation service
    /// at the same origin (without it only the Account Manager checks passwords).
    pub account_manager: Arc<AccountManagerClient>,
    /// Key store for the certificate import; `None` offers the download only.
    pub key_store: Option<KeyStoreTarget>,
}

/// Why the UI could not start.
#[derive(Debug, thiserror::Error)]
pub enum AdminWebError {
    #[error(
        "the administration UI listens on loopback only; {0} is not a loopback address \
         (use 127.0.0.1 or ::1)"
    )]
    NotLoopback(SocketAddr),
    #[error("no Konnektor context configured for the administration UI")]
    NoKonnektor,
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The running UI.
#[derive(Debug)]
pub struct RunningAdminWeb {
    /// The address it listens on.
    pub addr: SocketAddr,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningAdminWeb {
    /// `http://<addr>/`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops accepting, lets running requests finish.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

/// Binds `config.listen` (loopback only) and serves the UI until [`RunningAdminWeb::shutdown`].
///
/// # Errors
/// [`AdminWebError`] for a non-loopback address, no Konnektor context, or a bind failure.
pub async fn start(config: AdminWebConfig) -> Result<RunningAdminWeb, AdminWebError> {
    if !config.listen.ip().is_loopback() {
        return Err(AdminWebError::NotLoopback(config.listen));
    }
    if config.konnektors.iter().all(|k| k.contexts.is_empty()) {
        return Err(AdminWebError::NoKonnektor);
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| AdminWebError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| AdminWebError::Bind {
            addr: config.listen,
            source,
        })?;
    let app = pages::router(config, addr.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "administration UI stopped");
        }
    });
    tracing::info!(%addr, "administration UI listening");
    Ok(RunningAdminWeb {
        addr,
        shutdown: tx,
        task,
    })
}
