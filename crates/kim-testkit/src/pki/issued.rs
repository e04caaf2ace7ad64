//! [`Issued`]: one end-entity certificate with its private key and chain.

use pem_rfc7468::LineEnding;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zeroize::Zeroizing;

use super::PkiError;
use super::keys::{KeyAlgorithm, KeyPair};

/// An end-entity certificate of the test PKI together with its private key.
///
/// `Debug` shows the label, algorithm and sizes, never the key.
#[derive(Clone)]
pub struct Issued {
    /// Stable label, e.g. `smcb/1-2.58.00000040/enc/rsa`; serial number and key are
    /// derived from it.
    pub label: String,
    /// DER certificate.
    pub certificate_der: Vec<u8>,
    /// PKCS#8 `PrivateKeyInfo` DER (unencrypted).
    pub private_key_pkcs8_der: Zeroizing<Vec<u8>>,
    /// Algorithm of the subject key.
    pub algorithm: KeyAlgorithm,
    /// Issuing CA certificate first, then up to and including the root.
    pub chain_der: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("label", &self.label)
            .field("algorithm", &self.algorithm)
            .field("certificate_der_len", &self.certificate_der.len())
            .field("private_key", &"<redacted>")
            .field("chain_len", &self.chain_der.len())
            .finish()
    }
}

impl Issued {
    /// The certificate as PEM (`CERTIFICATE`).
    pub fn certificate_pem(&self) -> Result<String, PkiError> {
        pem("CERTIFICATE", &self.certificate_der)
    }

    /// The private key as PKCS#8 PEM (`PRIVATE KEY`).
    pub fn private_key_pem(&self) -> Result<Zeroizing<String>, PkiError> {
        pem("PRIVATE KEY", &self.private_key_pkcs8_der).map(Zeroizing::new)
    }

    /// Parses the private key for signing or decryption in the simulator and tests.
    pub fn key_pair(&self) -> Result<KeyPair, PkiError> {
        KeyPair::from_pkcs8_der(&self.private_key_pkcs8_der)
    }

    /// A PKCS#12 file (OpenSSL 3 default layout: PBES2/AES-256-CBC, HMAC-SHA-256 MAC,
    /// 2048 iterations) with the key, the certificate (friendlyName = [`Issued::label`])
    /// and the chain. Salts and IVs come from a ChaCha20 RNG seeded with `rng_seed`, so
    /// the same seed gives the same bytes.
    pub fn to_pkcs12(&self, password: &str, rng_seed: [u8; 32]) -> Result<Vec<u8>, PkiError> {
        let chain: Vec<&[u8]> = self.chain_der.iter().map(Vec::as_slice).collect();
        let options = kim_pkcs12::BuildOptions {
            friendly_name: Some(&self.label),
            ..kim_pkcs12::BuildOptions::default()
        };
        let mut rng = ChaCha20Rng::from_seed(rng_seed);
        kim_pkcs12::build(
            &self.private_key_pkcs8_der,
            &self.certificate_der,
            &chain,
            password,
            &options,
            &mut rng,
        )
        .map_err(|e| PkiError::Pkcs12 {
            label: self.label.clone(),
            detail: e.to_string(),
        })
    }

    /// The Telematik-ID from the Admission extension, if the certificate has one.
    pub fn telematik_id(&self) -> Result<Option<String>, PkiError> {
        Ok(
            super::admission::Admission::from_certificate_der(&self.certificate_der)?
                .and_then(|a| a.registration_number),
        )
    }
}

/// PEM-encodes `der` with `label` and LF line endings.
pub(crate) fn pem(label: &'static str, der: &[u8]) -> Result<String, PkiError> {
    pem_rfc7468::encode_string(label, LineEnding::LF, der).map_err(|e| PkiError::Crypto {
        what: format!("PEM encoding ({label})"),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_output_hides_the_private_key() {
        let key = KeyPair::derive(KeyAlgorithm::BrainpoolP256r1, &[5; 32], "k").unwrap();
        let issued = Issued {
            label: "tls/x".into(),
            certificate_der: vec![1, 2, 3],
            private_key_pkcs8_der: key.to_pkcs8_der().unwrap(),
            algorithm: KeyAlgorithm::BrainpoolP256r1,
            chain_der: Vec::new(),
        };
        let debug = format!("{issued:?}");
        assert!(
            debug.contains("<redacted>") && debug.contains("tls/x"),
            "{debug}"
        );
        let key_bytes = format!("{:?}", *issued.private_key_pkcs8_der);
        assert!(
            !debug.contains(key_bytes.trim_matches(['[', ']'])),
            "{debug}"
        );
    }
}
