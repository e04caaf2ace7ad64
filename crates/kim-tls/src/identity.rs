//! [`Identity`] (own certificate chain + key) and [`TrustAnchors`] (CA certificates).

use std::path::Path;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::TlsError;

/// A certificate chain (leaf first, then intermediates) with the leaf's private key.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("chain_len", &self.chain.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or
    /// SEC1).
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Identity, TlsError> {
        let chain = certificates_from_pem(chain_pem, "certificate chain")?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem {
            what: "private key",
            detail: e.to_string(),
        })?;
        Ok(Identity { chain, key })
    }

    /// Takes a DER chain (leaf first) and a PKCS#8 DER key.
    pub fn from_der(chain_der: Vec<Vec<u8>>, pkcs8_der: Vec<u8>) -> Result<Identity, TlsError> {
        if chain_der.is_empty() {
            return Err(TlsError::Pem {
                what: "certificate chain",
                detail: "no certificate given".into(),
            });
        }
        Ok(Identity {
            chain: chain_der.into_iter().map(CertificateDer::from).collect(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8_der)),
        })
    }

    /// Opens a PKCS#12 file (key, certificate and CA certificates) with `password`.
    pub fn from_pkcs12(p12: &[u8], password: &str) -> Result<Identity, TlsError> {
        let store = kim_pkcs12::parse(p12, password)?;
        let mut chain = vec![store.certificate.clone()];
        chain.extend(store.ca_certificates.iter().cloned());
        Identity::from_der(chain, store.private_key.to_vec())
    }

    /// Reads a PEM chain file and a PEM key file.
    pub fn from_files(chain_pem: &Path, key_pem: &Path) -> Result<Identity, TlsError> {
        let chain = read(chain_pem)?;
        let key = zeroize::Zeroizing::new(read(key_pem)?);
        Identity::from_pem(&chain, &key)
    }

    /// The leaf certificate (DER).
    pub fn leaf_der(&self) -> &[u8] {
        self.chain.first().map(|c| c.as_ref()).unwrap_or(&[])
    }

    pub(crate) fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.chain.clone()
    }

    pub(crate) fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }
}

/// The CA certificates (roots, and intermediates if wanted) that a peer's chain must lead to.
#[derive(Clone)]
pub struct TrustAnchors {
    certs: Vec<CertificateDer<'static>>,
}

impl std::fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustAnchors")
            .field("certificates", &self.certs.len())
            .finish()
    }
}

impl TrustAnchors {
    /// Reads every certificate of a PEM bundle.
    pub fn from_pem(bundle: &[u8]) -> Result<TrustAnchors, TlsError> {
        let certs = certificates_from_pem(bundle, "trust bundle")?;
        TrustAnchors::checked(certs)
    }

    /// Takes DER certificates.
    pub fn from_der(certs: Vec<Vec<u8>>) -> Result<TrustAnchors, TlsError> {
        TrustAnchors::checked(certs.into_iter().map(CertificateDer::from).collect())
    }

    /// Reads a PEM bundle file.
    pub fn from_file(path: &Path) -> Result<TrustAnchors, TlsError> {
        TrustAnchors::from_pem(&read(path)?)
    }

    /// Number of certificates.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// The certificates as DER, in bundle order.
    pub fn der_certificates(&self) -> Vec<Vec<u8>> {
        self.certs.iter().map(|c| c.as_ref().to_vec()).collect()
    }

    /// True when there is no certificate.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    fn checked(certs: Vec<CertificateDer<'static>>) -> Result<TrustAnchors, TlsError> {
        if certs.is_empty() {
            return Err(TlsError::TrustAnchor {
                index: 0,
                detail: "no certificate given".into(),
            });
        }
        let anchors = TrustAnchors { certs };
        anchors.root_store()?;
        Ok(anchors)
    }

    pub(crate) fn root_store(&self) -> Result<RootCertStore, TlsError> {
        let mut store = RootCertStore::empty();
        for (index, cert) in self.certs.iter().enumerate() {
            store.add(cert.clone()).map_err(|e| TlsError::TrustAnchor {
                index,
                detail: e.to_string(),
            })?;
        }
        Ok(store)
    }
}

fn certificates_from_pem(
    pem: &[u8],
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what,
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what,
            detail: "no CERTIFICATE block found".into(),
        });
    }
    Ok(certs)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Io {
        path: path.display().to_string(),
        source,
    })
}
