//! [`Identity`] (own certificate chain + key) and [`TrustAnchors`] (CA certificates).

use std::path::Path;
use std::sync::{Arc, RwLock};

use rustls::RootCertStore;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::TlsError;

/// A certificate chain (leaf first, then intermediates) with the leaf's private key.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// Set by [`Identity::renewable`]: client configurations built from this identity
    /// (and its clones) present whatever the slot holds at each handshake.
    slot: Option<Slot>,
}

/// The current certificate and key of a renewable identity.
pub(crate) type Slot = Arc<RwLock<Arc<CertifiedKey>>>;

/// Replaces the certificate and key of a renewable [`Identity`] (see
/// [`Identity::renewable`]); cheap to clone.
#[derive(Clone)]
pub struct IdentityRenewal {
    slot: Slot,
}

impl std::fmt::Debug for IdentityRenewal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityRenewal")
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl IdentityRenewal {
    /// From now on, new handshakes of every client configuration built from the renewable
    /// identity present `identity`'s chain and key; running connections keep theirs.
    ///
    /// # Errors
    /// [`TlsError::Rustls`] if the key is unusable or does not match the certificate.
    pub fn replace(&self, identity: &Identity) -> Result<(), TlsError> {
        let key = identity.certified_key()?;
        match self.slot.write() {
            Ok(mut guard) => *guard = key,
            Err(poisoned) => *poisoned.into_inner() = key,
        }
        Ok(())
    }

    /// The leaf certificate (DER) presented now.
    pub fn leaf_der(&self) -> Vec<u8> {
        current(&self.slot)
            .end_entity_cert()
            .map(|c| c.as_ref().to_vec())
            .unwrap_or_default()
    }
}

/// The slot's current key (a poisoned lock still holds a complete value).
pub(crate) fn current(slot: &Slot) -> Arc<CertifiedKey> {
    match slot.read() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
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
            slot: self.slot.clone(),
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
        Ok(Identity {
            chain,
            key,
            slot: None,
        })
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
            slot: None,
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

    /// This identity made renewable: client configurations built from the returned
    /// identity (or its clones) ask the slot for the certificate at every handshake, and
    /// the returned [`IdentityRenewal`] replaces it (certificate renewal without a
    /// restart). Server configurations use the chain and key given here.
    ///
    /// # Errors
    /// [`TlsError::Rustls`] if the key is unusable or does not match the certificate.
    pub fn renewable(self) -> Result<(Identity, IdentityRenewal), TlsError> {
        let slot = Arc::new(RwLock::new(self.certified_key()?));
        let renewal = IdentityRenewal { slot: slot.clone() };
        Ok((
            Identity {
                slot: Some(slot),
                ..self
            },
            renewal,
        ))
    }

    pub(crate) fn slot(&self) -> Option<&Slot> {
        self.slot.as_ref()
    }

    /// The chain and key as rustls signs with them (ring provider), checked to match.
    fn certified_key(&self) -> Result<Arc<CertifiedKey>, TlsError> {
        let provider = rustls::crypto::ring::default_provider();
        let key = CertifiedKey::from_der(self.chain.clone(), self.key.clone_key(), &provider)?;
        Ok(Arc::new(key))
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
