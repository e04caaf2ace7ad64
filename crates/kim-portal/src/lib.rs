//! The Fachdienst's public registration portal ("Teilnehmeranwendung", manual chapter 3) as
//! an axum [`Router`]: server-rendered German HTML without JavaScript.
//!
//! Pages:
//! - `/registrieren`: recovery e-mail, optional LANR/BSNR/KZV/IK, contract id, the desired
//!   KIM address. The address is reserved for the contract with a random token for
//!   [`PortalConfig::registration_validity_secs`] (96 h); three mails go to the recovery
//!   address: welcome (certificate page and certificate number), the password of the
//!   certificate's PKCS#12, and the registration link into the practice's Clientmodul
//!   administration (`<cm_ui_base>/registrieren?contract=…&address=…&token=…`). The Account
//!   Manager's registerAccount takes the token as `iniPassword`.
//! - `/deregistrieren` and `/accountEntsperren`: a confirmation link by mail; `/bestaetigen`
//!   shows the request and carries it out on confirmation (single use, 24 h).
//! - `/zertifikat`: after login (address, contract id, password, certificate number) the
//!   account's Clientmodul certificates with download links.
//! - [`renew_expiring`]: a new certificate 30 days before the old one ends, announced to the
//!   recovery address (§3.5).
//!
//! Provider lock (manual §3.6): no registration on a locked contract, no self-service unlock
//! of its accounts; deregistration keeps working.
//!
//! Invariants: tokens are stored only as digests; passwords never appear in pages, mails
//! or logs; wrong passwords count towards the account lock like a mailbox login; bad input
//! gets a German message beside the field, never a panic.

mod cert;
mod confirm;
pub mod html;
pub mod mail;
mod register;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kim_account_manager::Clock;
use kim_account_manager::cert::ProviderCa;
use kim_account_manager::vzd::VzdDirectory;
use kim_store::{PortalPurge, PortalStore, StoreError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use mail::{Mail, MailError, Mailer, Security, Transport};

/// Consecutive wrong passwords that lock an account (KOM-LE-A_2167-05, as at the mailbox).
pub const LOCK_THRESHOLD: u32 = 3;

/// Settings of the portal.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// Public origin of the portal, e.g. `https://portal.fd.example`; links in mails start
    /// with it.
    pub public_url: String,
    /// Origin of the practice's Clientmodul administration UI (registration link target).
    pub cm_ui_base: String,
    /// Validity of a reservation and its registration link (manual §3.1: 96 hours).
    pub registration_validity_secs: i64,
    /// Validity of deregistration and unlock links.
    pub confirmation_validity_secs: i64,
    /// Validity of a certificate download session.
    pub session_secs: i64,
    /// Validity of issued Clientmodul certificates in days.
    pub cert_validity_days: u32,
}

/// Default target of registration links: the Clientmodul administration on the practice's
/// own computer.
pub const DEFAULT_CM_UI_BASE: &str = "http://127.0.0.1:12001";

impl PortalConfig {
    /// Defaults: 96 h reservations, 24 h confirmation links, 15 min download sessions,
    /// certificates valid for 730 days.
    #[must_use]
    pub fn new(public_url: &str, cm_ui_base: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            cm_ui_base: cm_ui_base.trim_end_matches('/').to_owned(),
            registration_validity_secs: 96 * 3600,
            confirmation_validity_secs: 24 * 3600,
            session_secs: 15 * 60,
            cert_validity_days: 730,
        }
    }
}

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct PortalState {
    inner: Arc<Inner>,
    clock: Arc<dyn Clock>,
}

struct Inner {
    config: PortalConfig,
    store: Arc<dyn PortalStore>,
    mailer: Mailer,
    ca: ProviderCa,
    vzd: Option<Arc<dyn VzdDirectory>>,
}

impl std::fmt::Debug for PortalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalState")
            .field("config", &self.inner.config)
            .field("mailer", &self.inner.mailer)
            .field("vzd", &self.inner.vzd)
            .finish_non_exhaustive()
    }
}

impl PortalState {
    /// The portal over `store`, mailing with `mailer`, issuing certificates with `ca`;
    /// deregistrations remove the address from `vzd` if given. System clock.
    #[must_use]
    pub fn new(
        config: PortalConfig,
        store: Arc<dyn PortalStore>,
        mailer: Mailer,
        ca: ProviderCa,
        vzd: Option<Arc<dyn VzdDirectory>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                store,
                mailer,
                ca,
                vzd,
            }),
            clock: Arc::new(kim_account_manager::SystemClock),
        }
    }

    /// The same state with another clock (tests).
    #[must_use]
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: self.inner,
            clock,
        }
    }

    pub(crate) fn config(&self) -> &PortalConfig {
        &self.inner.config
    }
    pub(crate) fn store(&self) -> &dyn PortalStore {
        self.inner.store.as_ref()
    }
    pub(crate) fn ca(&self) -> &ProviderCa {
        &self.inner.ca
    }
    pub(crate) fn vzd(&self) -> Option<&dyn VzdDirectory> {
        self.inner.vzd.as_deref()
    }
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Sends a mail; failures are logged (without the address) and returned.
    pub(crate) async fn send(&self, mail: &Mail, what: &str) -> Result<(), MailError> {
        let result = self.inner.mailer.send(mail, self.now()).await;
        if let Err(e) = &result {
            tracing::error!(mail = what, error = %e, "portal mail not sent");
        }
        result
    }
}

/// The portal router.
pub fn router(state: PortalState) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/registrieren", get(register::form).post(register::submit))
        .route(
            "/deregistrieren",
            get(confirm::deregister_form).post(confirm::deregister_submit),
        )
        .route(
            "/accountEntsperren",
            get(confirm::unlock_form).post(confirm::unlock_submit),
        )
        .route("/bestaetigen", get(confirm::show).post(confirm::execute))
        .route("/zertifikat", get(cert::form).post(cert::login))
        .route("/zertifikat/download", get(cert::download))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(16 * 1024))
        .with_state(state)
}

async fn overview() -> Response {
    html::page(
        StatusCode::OK,
        "Willkommen",
        "<p>Hier verwalten Sie Ihr KIM-Konto ohne Praxisverwaltungssystem.</p>\n<ul>\n\
         <li><a href=\"/registrieren\">KIM-Adresse registrieren</a></li>\n\
         <li><a href=\"/deregistrieren\">KIM-Konto deregistrieren</a></li>\n\
         <li><a href=\"/accountEntsperren\">KIM-Konto entsperren</a></li>\n\
         <li><a href=\"/zertifikat\">Zertifikat für das Clientmodul herunterladen</a></li>\n\
         </ul>",
    )
}

async fn not_found() -> Response {
    html::page(
        StatusCode::NOT_FOUND,
        "Seite nicht gefunden",
        "<p>Diese Seite gibt es nicht. Zur <a href=\"/\">Übersicht</a>.</p>",
    )
}

/// Form fields by name; a body that is not a form gets a German error page.
pub(crate) type FormFields = HashMap<String, String>;

pub(crate) fn form_fields(
    form: Result<axum::Form<FormFields>, FormRejection>,
) -> Result<FormFields, Box<Response>> {
    form.map(|axum::Form(f)| f).map_err(|_| {
        Box::new(html::page(
            StatusCode::BAD_REQUEST,
            "Ungültige Anfrage",
            "<p>Die Formulardaten konnten nicht gelesen werden. Bitte füllen Sie das \
             Formular erneut aus.</p>",
        ))
    })
}

/// A trimmed form value (empty if absent).
pub(crate) fn field<'a>(fields: &'a FormFields, name: &str) -> &'a str {
    fields.get(name).map_or("", |v| v.trim())
}

/// The error page for a storage failure (logged).
pub(crate) fn store_failure(e: &StoreError) -> Response {
    tracing::error!(error = %e, "portal storage failure");
    html::page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Technischer Fehler",
        "<p>Ihre Anfrage konnte wegen eines technischen Fehlers nicht bearbeitet werden. Bitte \
         versuchen Sie es später erneut.</p>",
    )
}

/// 256 random bits, URL-safe base64: registration tokens, confirmation links, sessions.
pub(crate) fn random_token() -> Result<String, StoreError> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut_slice())
        .map_err(|e| StoreError::Task(format!("system random generator: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes.as_slice()))
}

/// A password for a PKCS#12 file: 16 characters without look-alikes (about 90 bits).
pub(crate) fn random_password() -> Result<zeroize::Zeroizing<String>, StoreError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = zeroize::Zeroizing::new([0u8; 16]);
    getrandom::fill(bytes.as_mut_slice())
        .map_err(|e| StoreError::Task(format!("system random generator: {e}")))?;
    let mut out = zeroize::Zeroizing::new(String::with_capacity(16));
    for b in bytes.iter() {
        // 256 is not a multiple of the alphabet size; the bias (< 1 bit in total) is harmless
        // for a password of this length.
        let idx = usize::from(*b) % ALPHABET.len();
        out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'x')));
    }
    Ok(out)
}

/// German date and time in UTC, e.g. `16.12.2020 16:40 Uhr (UTC)`.
pub(crate) fn german_time(t: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(t) {
        Ok(d) => format!(
            "{:02}.{:02}.{} {:02}:{:02} Uhr (UTC)",
            d.day(),
            u8::from(d.month()),
            d.year(),
            d.hour(),
            d.minute()
        ),
        Err(_) => t.to_string(),
    }
}

/// Verifies a password against a PHC string off the async runtime.
pub(crate) async fn verify_password(password: &str, phc: &str) -> bool {
    let (password, phc) = (zeroize::Zeroizing::new(password.to_owned()), phc.to_owned());
    tokio::task::spawn_blocking(move || kim_store::password::verify(&password, &phc))
        .await
        .unwrap_or(false)
}

/// One purge round: expired reservations (their addresses become free), expired tokens,
/// certificates and contact data left without account or reservation.
///
/// # Errors
/// Storage failed.
pub async fn purge_once(store: &dyn PortalStore, now: i64) -> Result<PortalPurge, StoreError> {
    store.purge_portal(now).await
}

/// Days before a certificate's end when the account gets a new one (manual §3.5: at least
/// 30 days ahead).
pub const RENEWAL_DAYS: i64 = 30;

/// Certificate exchange (manual §3.5): every registered account with contact data whose
/// newest stored certificate ends within [`RENEWAL_DAYS`] (issue time plus
/// [`PortalConfig::cert_validity_days`]) gets a new certificate; the recovery address is
/// told its number and, in a separate mail, its password. Returns how many were issued.
///
/// # Errors
/// Storage failed; accounts handled before stay handled.
pub async fn renew_expiring(state: &PortalState, now: i64) -> Result<usize, StoreError> {
    let validity = i64::from(state.config().cert_validity_days) * 86_400;
    let mut renewed = 0;
    for account in state.store().list_accounts(None).await? {
        if account.state != kim_store::RegState::Registered {
            continue;
        }
        let Some(profile) = state.store().profile(&account.address).await? else {
            continue;
        };
        let certificates = state.store().certificates(&account.address).await?;
        let Some(newest) = certificates.iter().map(|c| c.created).max() else {
            continue;
        };
        let ends = newest.saturating_add(validity);
        if ends.saturating_sub(RENEWAL_DAYS * 86_400) > now {
            continue;
        }
        let (number, password) = register::issue_certificate(state, &account.address, now).await?;
        renewed += 1;
        let notice = Mail {
            to: profile.recovery_email.clone(),
            subject: "Neues Zertifikat für Ihr KIM-Clientmodul".into(),
            body: format!(
                "Guten Tag,\n\ndas Zertifikat Ihres KIM-Clientmoduls für {} läuft am {} ab. \
                 Für Sie liegt ein neues Zertifikat bereit:\n\nZertifikatsnummer: {number}\n\n\
                 Laden Sie es herunter unter {}/zertifikat und binden Sie es vor dem Ablauf \
                 des alten Zertifikats in das Clientmodul ein. Das Passwort zum neuen \
                 Zertifikat erhalten Sie in einer separaten E-Mail.\n",
                account.address,
                german_time(ends),
                state.config().public_url
            ),
        };
        let password_mail = Mail {
            to: profile.recovery_email.clone(),
            subject: "Passwort zu Ihren KIM-Schlüsselinformationen".into(),
            body: format!(
                "Guten Tag,\n\ndas Zertifikat Nr. {number} für das Clientmodul Ihrer \
                 KIM-Adresse {} ist mit diesem Passwort geschützt:\n\n{}\n\n\
                 Bewahren Sie es sorgfältig auf.\n",
                account.address,
                password.as_str()
            ),
        };
        // Failures are logged by `send`; the certificate is stored either way.
        let _ = state.send(&notice, "certificate exchange").await;
        let _ = state.send(&password_mail, "key password").await;
    }
    if renewed > 0 {
        tracing::info!(renewed, "Clientmodul certificates renewed");
    }
    Ok(renewed)
}

/// Runs [`purge_once`] and [`renew_expiring`] every `interval` (first round at once) until
/// `shutdown`.
pub fn spawn_purge(
    state: PortalState,
    interval: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match purge_once(state.store(), state.now()).await {
                Ok(p) if p != PortalPurge::default() => {
                    tracing::info!(
                        reservations = p.reservations,
                        tokens = p.tokens,
                        orphans = p.orphans,
                        "portal purge"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "portal purge failed"),
            }
            if let Err(e) = renew_expiring(&state, state.now()).await {
                tracing::error!(error = %e, "certificate renewal failed");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_passwords_are_random_and_well_formed() {
        let (a, b) = (
            random_token().unwrap_or_default(),
            random_token().unwrap_or_default(),
        );
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        let p = random_password().unwrap_or_default();
        assert_eq!(p.chars().count(), 16);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn german_times() {
        assert_eq!(german_time(1_608_136_800), "16.12.2020 16:40 Uhr (UTC)");
    }
}
