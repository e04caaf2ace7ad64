//! rustls server and client configurations.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::{Identity, TlsError, TrustAnchors};

/// Whether a server asks its clients for certificates.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// No client certificate is requested.
    None,
    /// A client certificate is requested; if one is sent it must chain to the anchors.
    Optional(TrustAnchors),
    /// A client certificate chaining to the anchors is required; handshakes without one fail.
    Required(TrustAnchors),
}

/// How a client checks the server and authenticates itself.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// CA certificates the server's chain must lead to.
    pub trust: TrustAnchors,
    /// Client certificate and key for mutual TLS, if any.
    pub identity: Option<Identity>,
    /// Accept a server certificate whose names do not include the host that was dialled
    /// (the chain is still verified). Konnektors are often addressed by IP addresses that
    /// their certificates do not list; callers log this setting at startup.
    pub danger_accept_any_hostname: bool,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration for `identity`, asking for client certificates as `client_auth`
/// says. TLS 1.2 and 1.3.
pub fn server_config(
    identity: &Identity,
    client_auth: ClientAuth,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = provider();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)?;
    let builder = match client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Optional(anchors) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(
                Arc::new(anchors.root_store()?),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .map_err(|e| TlsError::Verifier(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        ClientAuth::Required(anchors) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(
                Arc::new(anchors.root_store()?),
                provider,
            )
            .build()
            .map_err(|e| TlsError::Verifier(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(identity.chain(), identity.key())?;
    Ok(Arc::new(config))
}

/// Decides whether a server's leaf certificate (DER), already verified by webpki, may be
/// used: see [`client_config_approved`].
pub type Approval = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// A client configuration per `options`. TLS 1.2 and 1.3.
pub fn client_config(options: ClientOptions) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    build_client_config(options, None)
}

/// [`client_config`] that also refuses every server whose leaf certificate `approve`
/// rejects (after the usual chain and name checks): for connections that may only go to a
/// server whose certificate was checked elsewhere beforehand (e.g. at the Konnektor).
pub fn client_config_approved(
    options: ClientOptions,
    approve: Approval,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    build_client_config(options, Some(approve))
}

fn build_client_config(
    options: ClientOptions,
    approve: Option<Approval>,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = provider();
    let roots = Arc::new(options.trust.root_store()?);
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)?;
    let builder = if options.danger_accept_any_hostname || approve.is_some() {
        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| TlsError::Verifier(e.to_string()))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier {
                inner,
                any_hostname: options.danger_accept_any_hostname,
                approve,
            }))
    } else {
        builder.with_root_certificates(roots)
    };
    let config = match options.identity {
        Some(identity) => match identity.slot() {
            Some(slot) => builder.with_client_cert_resolver(Arc::new(Renewable(slot.clone()))),
            None => builder.with_client_auth_cert(identity.chain(), identity.key())?,
        },
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Presents the current key of a renewable identity at each handshake.
struct Renewable(crate::identity::Slot);

impl std::fmt::Debug for Renewable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Renewable(<redacted>)")
    }
}

impl rustls::client::ResolvesClientCert for Renewable {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(crate::identity::current(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// DER of the peer's leaf certificate on an accepted TLS stream, if it sent one.
pub fn peer_leaf<IO>(stream: &tokio_rustls::server::TlsStream<IO>) -> Option<Vec<u8>> {
    let (_, connection) = stream.get_ref();
    connection
        .peer_certificates()
        .and_then(|certs| certs.first())
        .map(|c| c.as_ref().to_vec())
}

/// Verifies the chain like webpki; with `any_hostname` it accepts any server name, with
/// `approve` the leaf must also be approved.
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    any_hostname: bool,
    approve: Option<Approval>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("any_hostname", &self.any_hostname)
            .field("approve", &self.approve.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) if self.any_hostname => Ok(ServerCertVerified::assertion()),
            other => other,
        }?;
        match &self.approve {
            Some(approve) if !approve(end_entity.as_ref()) => {
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ApplicationVerificationFailure,
                ))
            }
            _ => Ok(verified),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
