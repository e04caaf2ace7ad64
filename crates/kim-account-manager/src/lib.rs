//! The Account Manager of the KIM Fachdienst: the REST interface `I_AccountManager_Service`
//! (`spec/fachdienst/AccountManager.yaml` 2.4.0 with `CommonSchemas.yaml` 1.0.3; kim-spec §6.3
//! and §7) as an axum [`Router`] over kim-store's [`AccountStore`].
//!
//! Main types:
//! - [`router`] builds the router for an [`AccountManagerState`] (configuration, store, VZD,
//!   clock). Every operation of the yaml is served below [`AccountManagerConfig::base_path`]
//!   (the yaml's `servers` URL, default [`BASE_PATH`]).
//! - [`jwt::JwtVerifier`]: the Bearer token (PS256 / brainpool ES256, `x5c` AUT certificate
//!   chained to the configured CAs, Telematik-ID from the Admission extension).
//! - [`vzd::VzdDirectory`] and its HTTP implementation [`vzd::HttpVzdClient`]: the writes of
//!   `mail`, `komLeData` and `kimData` into the VZD.
//! - [`cert::ProviderCa`]: issues the C.CM.TLS-CS certificates of createCert.
//! - [`purge_deregistered`]: deletes accounts whose 30-day deregistration window is over.
//! - [`AmError`]: the one error type; its [`AmError::status`] is the yaml's status code and the
//!   body is always `{"message", "traceId"}` with a fresh trace id that is also logged.
//!
//! Invariants:
//! - Every account operation needs a valid JWT whose Telematik-ID owns the account (the one
//!   registration bound it), except setTID, which the new card signs and the OTP authorises.
//! - Passwords and OTPs arrive base64-encoded in headers, are stored only as Argon2id hashes
//!   (A_2164) and never logged.
//! - A registration whose VZD write fails leaves no account behind.
//! - Client mistakes (bad JSON, unknown route, oversized body, bad header) are answered 4xx
//!   with the yaml's error body; 5xx only for failures of this service.

pub mod cert;
mod error;
mod handlers;
pub mod jwt;
mod lifecycle;
pub mod rules;
pub mod vzd;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use kim_store::AccountStore;
use zeroize::Zeroizing;

pub use error::AmError;
pub use handlers::account::{DEREGISTRATION_DAYS, MAX_MAIL_SIZE};
pub use handlers::porting::OTP_VALIDITY_SECS;
pub use lifecycle::purge_deregistered;

/// Base path of the yaml's `servers` entry.
pub const BASE_PATH: &str = "/AccountMgmt/v2.4";

/// The time source (Unix seconds); tests inject a fixed or movable clock.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// The system clock moved by an adjustable offset: for trying token lifetimes, OTP and
/// deregistration windows or reservation expiry without waiting.
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset: std::sync::atomic::AtomicI64,
}

impl OffsetClock {
    /// Moves the clock forward by `secs` (backwards if negative).
    pub fn advance(&self, secs: i64) {
        self.offset
            .fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> i64 {
        SystemClock
            .now()
            .saturating_add(self.offset.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// Configuration of the Account Manager.
#[derive(Clone)]
pub struct AccountManagerConfig {
    /// CA certificates (DER) the JWT's AUT certificates must chain to, each a trust anchor:
    /// the issuing CAs of SMC-B and HBA (as in the TSL), their roots, or both.
    pub ca_certificates: Vec<Vec<u8>>,
    /// The provider CA certificate (DER) that issues Clientmodul certificates.
    pub provider_ca_certificate_der: Vec<u8>,
    /// Its private key (PKCS#8 DER; RSA or brainpoolP256r1).
    pub provider_ca_key_pkcs8_der: Zeroizing<Vec<u8>>,
    /// Path prefix of every route, e.g. [`BASE_PATH`] (a trailing `/` is ignored).
    pub base_path: String,
    /// Token lifetime `jwtExpiration` in seconds (ServiceInformation: 300..=21600).
    pub jwt_expiration_secs: u32,
    /// Validity of certificates issued by createCert, in days.
    pub cert_validity_days: u32,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
}

impl std::fmt::Debug for AccountManagerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountManagerConfig")
            .field("ca_certificates", &self.ca_certificates.len())
            .field("provider_ca_key", &"<redacted>")
            .field("base_path", &self.base_path)
            .field("jwt_expiration_secs", &self.jwt_expiration_secs)
            .field("cert_validity_days", &self.cert_validity_days)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl AccountManagerConfig {
    /// A configuration with the defaults: [`BASE_PATH`], 300 s token lifetime, certificates
    /// valid for 730 days, 64 KiB request bodies.
    #[must_use]
    pub fn new(
        ca_certificates: Vec<Vec<u8>>,
        provider_ca_certificate_der: Vec<u8>,
        provider_ca_key_pkcs8_der: Zeroizing<Vec<u8>>,
    ) -> Self {
        Self {
            ca_certificates,
            provider_ca_certificate_der,
            provider_ca_key_pkcs8_der,
            base_path: BASE_PATH.to_owned(),
            jwt_expiration_secs: 300,
            cert_validity_days: 730,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Everything the handlers share. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AccountManagerState {
    inner: Arc<Inner>,
    clock: Arc<dyn Clock>,
}

struct Inner {
    config: AccountManagerConfig,
    jwt: jwt::JwtVerifier,
    provider_ca: cert::ProviderCa,
    store: Arc<dyn AccountStore>,
    vzd: Arc<dyn vzd::VzdDirectory>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountManagerState")
            .field("config", &self.config)
            .field("vzd", &self.vzd)
            .finish_non_exhaustive()
    }
}

impl AccountManagerState {
    /// The state for `config` over `store` and `vzd`, with the system clock.
    ///
    /// # Errors
    /// [`AmError::Internal`] naming an unusable CA certificate or key, or a token lifetime
    /// outside 300..=21600 s.
    pub fn new(
        config: AccountManagerConfig,
        store: Arc<dyn AccountStore>,
        vzd: Arc<dyn vzd::VzdDirectory>,
    ) -> Result<Self, AmError> {
        if !(300..=21_600).contains(&config.jwt_expiration_secs) {
            return Err(AmError::Internal(format!(
                "jwt_expiration_secs {} outside 300..=21600",
                config.jwt_expiration_secs
            )));
        }
        let jwt = jwt::JwtVerifier::new(&config.ca_certificates, config.jwt_expiration_secs)
            .map_err(|e| AmError::Internal(e.0))?;
        let provider_ca = cert::ProviderCa::new(
            config.provider_ca_certificate_der.clone(),
            &config.provider_ca_key_pkcs8_der,
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                jwt,
                provider_ca,
                store,
                vzd,
            }),
            clock: Arc::new(SystemClock),
        })
    }

    /// The same state with another clock (tests).
    #[must_use]
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: self.inner,
            clock,
        }
    }

    pub(crate) fn config(&self) -> &AccountManagerConfig {
        &self.inner.config
    }
    pub(crate) fn jwt(&self) -> &jwt::JwtVerifier {
        &self.inner.jwt
    }
    pub(crate) fn provider_ca(&self) -> &cert::ProviderCa {
        &self.inner.provider_ca
    }
    pub(crate) fn store(&self) -> &dyn AccountStore {
        self.inner.store.as_ref()
    }
    pub(crate) fn vzd(&self) -> &dyn vzd::VzdDirectory {
        self.inner.vzd.as_ref()
    }
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }
}

async fn unknown_route() -> Response {
    AmError::NotFoundRoute.into_response()
}

async fn wrong_method() -> Response {
    AmError::MethodNotAllowed.into_response()
}

/// The Account Manager router: every operation of AccountManager.yaml 2.4.0 below
/// `state.config().base_path`; unknown routes answer 404 and wrong methods 405, both with the
/// yaml's error body; request bodies are limited to `max_body_bytes`.
pub fn router(state: AccountManagerState) -> Router {
    use handlers::{account, cert as cert_ops, ooo, porting};
    let base = state.config().base_path.trim_end_matches('/').to_owned();
    let limit = state.config().max_body_bytes;
    let api = Router::new()
        .route("/account", post(account::register))
        .route(
            "/account/{username}",
            put(account::set)
                .get(account::get)
                .delete(account::deregister),
        )
        .route(
            "/account/{username}/revokeDeregistration",
            put(account::revoke),
        )
        .route("/account/{username}/OTP", get(porting::get_otp))
        .route("/account/{username}/telematikID", put(porting::set_tid))
        .route("/account/{username}/cert", post(cert_ops::create))
        .route(
            "/account/{username}/outofoffice",
            get(ooo::get).put(ooo::update),
        )
        .method_not_allowed_fallback(wrong_method);
    let app = if base.is_empty() {
        api
    } else {
        Router::new().nest(&base, api)
    };
    app.fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
