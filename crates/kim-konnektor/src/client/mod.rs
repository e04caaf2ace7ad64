//! The HTTPS client for a real (or simulated) Konnektor.
//!
//! [`KonnektorClient`] reads `/connector.sds` once (and again after a connection problem,
//! KOM-LE-A_2076), picks the highest version of every service this crate implements
//! (KOM-LE-A_2077), and sends each [`Operation`](crate::Operation) as a SOAP 1.1 POST to
//! the endpoint of its service. The [`Konnektor`] trait is what the Clientmodul and the
//! administration tools program against: one method per operation KIM uses.
//!
//! Transport (gemSpec_CM_KOMLE 4.1.3): always TLS (KOM-LE-A_2070), with a client certificate
//! (KOM-LE-A_2071), HTTP Basic inside TLS (KOM-LE-A_2072), or neither ([`KonnektorAuth`]).
//! The Konnektor's certificate is verified against configured trust anchors; host names can
//! only be ignored through the explicitly named `danger_accept_any_hostname`.
//!
//! Errors ([`ClientError`]) expose the Konnektor's TelematikError code ([`ClientError::code`])
//! and whether repeating the call may help ([`ClientError::is_transient`]).

mod error;
mod http;

use std::future::Future;
use std::time::Duration;

pub use error::ClientError;
pub use http::KonnektorClient;

use crate::ops;
use crate::sds::ConnectorServices;

/// How the client authenticates to the Konnektor.
#[derive(Clone)]
pub enum KonnektorAuth {
    /// TLS without client authentication.
    None,
    /// Mutual TLS with this client certificate.
    Certificate(kim_tls::Identity),
    /// HTTP Basic authentication inside TLS.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
}

impl std::fmt::Debug for KonnektorAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KonnektorAuth::None => f.write_str("None"),
            KonnektorAuth::Certificate(identity) => {
                f.debug_tuple("Certificate").field(identity).finish()
            }
            KonnektorAuth::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

/// Everything needed to reach one Konnektor.
#[derive(Debug, Clone)]
pub struct KonnektorConfig {
    /// Base address, e.g. `https://konnektor.praxis.local` or `https://10.0.0.5:8443`;
    /// `/connector.sds` is fetched from it.
    pub base_url: String,
    /// CA certificates the Konnektor's TLS certificate must chain to.
    pub trust: kim_tls::TrustAnchors,
    /// Client authentication.
    pub auth: KonnektorAuth,
    /// Accept a Konnektor certificate that does not name the dialled host (chain still checked).
    pub danger_accept_any_hostname: bool,
    /// Replace scheme, host and port of every SDS endpoint with those of `base_url`
    /// (for Konnektors behind gateways that advertise internal addresses).
    pub rewrite_endpoints: bool,
    /// Time allowed to establish a TCP + TLS connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole request and response (cards may take seconds, a PIN entry
    /// longer: size it generously).
    pub request_timeout: Duration,
}

impl KonnektorConfig {
    /// A configuration with the defaults: no client authentication, host names checked,
    /// endpoints as advertised, 10 s to connect, 120 s per request.
    pub fn new(base_url: impl Into<String>, trust: kim_tls::TrustAnchors) -> KonnektorConfig {
        KonnektorConfig {
            base_url: base_url.into(),
            trust,
            auth: KonnektorAuth::None,
            danger_accept_any_hostname: false,
            rewrite_endpoints: false,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
        }
    }
}

/// The Konnektor operations KIM uses (konnektor.md §1.1), one method each.
///
/// Implemented by [`KonnektorClient`]; the Clientmodul and the administration tools depend on
/// this trait only.
pub trait Konnektor: Send + Sync {
    /// The service directory as last read.
    fn connector_services(
        &self,
    ) -> impl Future<Output = Result<ConnectorServices, ClientError>> + Send;
    /// Whether the Konnektor can encrypt and sign with ECC (A_17464: SignatureService ≥
    /// 7.4.1 and EncryptionService ≥ 6.1.1).
    fn ecc_capable(&self) -> impl Future<Output = Result<bool, ClientError>> + Send;
    /// EventService `GetCards`.
    fn get_cards(
        &self,
        request: &ops::GetCards,
    ) -> impl Future<Output = Result<ops::GetCardsResponse, ClientError>> + Send;
    /// CardService `GetPinStatus`.
    fn get_pin_status(
        &self,
        request: &ops::GetPinStatus,
    ) -> impl Future<Output = Result<ops::GetPinStatusResponse, ClientError>> + Send;
    /// CardService `VerifyPin`.
    fn verify_pin(
        &self,
        request: &ops::VerifyPin,
    ) -> impl Future<Output = Result<ops::VerifyPinResponse, ClientError>> + Send;
    /// CertificateService `ReadCardCertificate`.
    fn read_card_certificate(
        &self,
        request: &ops::ReadCardCertificate,
    ) -> impl Future<Output = Result<ops::ReadCardCertificateResponse, ClientError>> + Send;
    /// CertificateService `VerifyCertificate`.
    fn verify_certificate(
        &self,
        request: &ops::VerifyCertificate,
    ) -> impl Future<Output = Result<ops::VerifyCertificateResponse, ClientError>> + Send;
    /// SignatureService `GetJobNumber`.
    fn get_job_number(
        &self,
        request: &ops::GetJobNumber,
    ) -> impl Future<Output = Result<ops::GetJobNumberResponse, ClientError>> + Send;
    /// SignatureService `SignDocument`.
    fn sign_document(
        &self,
        request: &ops::SignDocument,
    ) -> impl Future<Output = Result<ops::SignDocumentResponse, ClientError>> + Send;
    /// SignatureService `VerifyDocument`.
    fn verify_document(
        &self,
        request: &ops::VerifyDocument,
    ) -> impl Future<Output = Result<ops::VerifyDocumentResponse, ClientError>> + Send;
    /// EncryptionService `EncryptDocument`.
    fn encrypt_document(
        &self,
        request: &ops::EncryptDocument,
    ) -> impl Future<Output = Result<ops::EncryptDocumentResponse, ClientError>> + Send;
    /// EncryptionService `DecryptDocument`.
    fn decrypt_document(
        &self,
        request: &ops::DecryptDocument,
    ) -> impl Future<Output = Result<ops::DecryptDocumentResponse, ClientError>> + Send;
    /// AuthSignatureService `ExternalAuthenticate`.
    fn external_authenticate(
        &self,
        request: &ops::ExternalAuthenticate,
    ) -> impl Future<Output = Result<ops::ExternalAuthenticateResponse, ClientError>> + Send;
}

impl Konnektor for KonnektorClient {
    async fn connector_services(&self) -> Result<ConnectorServices, ClientError> {
        Ok(self.directory().await?.services.clone())
    }
    async fn ecc_capable(&self) -> Result<bool, ClientError> {
        Ok(self.directory().await?.services.ecc_capable())
    }
    async fn get_cards(&self, r: &ops::GetCards) -> Result<ops::GetCardsResponse, ClientError> {
        self.call(r).await
    }
    async fn get_pin_status(
        &self,
        r: &ops::GetPinStatus,
    ) -> Result<ops::GetPinStatusResponse, ClientError> {
        self.call(r).await
    }
    async fn verify_pin(&self, r: &ops::VerifyPin) -> Result<ops::VerifyPinResponse, ClientError> {
        self.call(r).await
    }
    async fn read_card_certificate(
        &self,
        r: &ops::ReadCardCertificate,
    ) -> Result<ops::ReadCardCertificateResponse, ClientError> {
        self.call(r).await
    }
    async fn verify_certificate(
        &self,
        r: &ops::VerifyCertificate,
    ) -> Result<ops::VerifyCertificateResponse, ClientError> {
        self.call(r).await
    }
    async fn get_job_number(
        &self,
        r: &ops::GetJobNumber,
    ) -> Result<ops::GetJobNumberResponse, ClientError> {
        self.call(r).await
    }
    async fn sign_document(
        &self,
        r: &ops::SignDocument,
    ) -> Result<ops::SignDocumentResponse, ClientError> {
        self.call(r).await
    }
    async fn verify_document(
        &self,
        r: &ops::VerifyDocument,
    ) -> Result<ops::VerifyDocumentResponse, ClientError> {
        self.call(r).await
    }
    async fn encrypt_document(
        &self,
        r: &ops::EncryptDocument,
    ) -> Result<ops::EncryptDocumentResponse, ClientError> {
        self.call(r).await
    }
    async fn decrypt_document(
        &self,
        r: &ops::DecryptDocument,
    ) -> Result<ops::DecryptDocumentResponse, ClientError> {
        self.call(r).await
    }
    async fn external_authenticate(
        &self,
        r: &ops::ExternalAuthenticate,
    ) -> Result<ops::ExternalAuthenticateResponse, ClientError> {
        self.call(r).await
    }
}
