//! Deterministic key material: RSA-2048 and brainpoolP256r1 key pairs derived from
//! the PKI seed and a stable label, plus the certificate signing primitives.
//!
//! Every key is generated from its own 32-byte seed
//! `SHA-256("kim-testkit/pki/v1" || seed || 0x00 || label)`, so adding or removing one
//! entity never changes the keys of the others.

use bp256::BrainpoolP256r1;
use der::Decode;
use der::asn1::BitString;
use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::pkcs1v15;
use rsa::signature::{SignatureEncoding, Signer};
use sha2::{Digest, Sha256};
use spki::{
    AlgorithmIdentifierOwned, EncodePublicKey, ObjectIdentifier, SubjectPublicKeyInfoOwned,
};
use zeroize::Zeroizing;

use super::PkiError;

/// `sha256WithRSAEncryption` (RFC 4055).
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// `ecdsa-with-SHA256` (RFC 5758).
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// Domain separator mixed into every derived seed.
const DERIVATION_DOMAIN: &[u8] = b"kim-testkit/pki/v1";

/// Key algorithm of a certificate's subject key.
///
/// G2.1 cards of the TI hold both variants of each key (gemSpec_PKI: `…R2048` and
/// `…E256` key objects), so every card in the test PKI has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyAlgorithm {
    /// RSA with a 2048-bit modulus and public exponent 65537.
    Rsa2048,
    /// ECC on brainpoolP256r1 (RFC 5639).
    BrainpoolP256r1,
}

impl KeyAlgorithm {
    /// Short lower-case tag used in labels and file names: `rsa` or `ecc`.
    pub fn tag(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa2048 => "rsa",
            KeyAlgorithm::BrainpoolP256r1 => "ecc",
        }
    }

    /// Both algorithms, RSA first.
    pub const ALL: [KeyAlgorithm; 2] = [KeyAlgorithm::Rsa2048, KeyAlgorithm::BrainpoolP256r1];
}

/// A private key of either supported algorithm, able to sign certificates.
#[derive(Clone)]
pub enum KeyPair {
    /// RSA-2048 private key.
    Rsa(rsa::PrivateKey),
    /// brainpoolP256r1 ECDSA private key.
    Ecc(ecdsa::SigningKey<BrainpoolP256r1>),
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "KeyPair({:?})", self.algorithm())
    }
}

impl KeyPair {
    /// Generates the key for `label` deterministically from `seed`.
    pub fn derive(
        algorithm: KeyAlgorithm,
        seed: &[u8; 32],
        label: &str,
    ) -> Result<KeyPair, PkiError> {
        let key_seed = derive_bytes(seed, label);
        match algorithm {
            KeyAlgorithm::Rsa2048 => {
                let mut rng = ChaCha20Rng::from_seed(*key_seed);
                let key = rsa::PrivateKey::new(&mut rng, 2048).map_err(|e| PkiError::Crypto {
                    what: format!("RSA key generation for {label}"),
                    detail: e.to_string(),
                })?;
                Ok(KeyPair::Rsa(key))
            }
            KeyAlgorithm::BrainpoolP256r1 => {
                // Hash until the candidate is a valid scalar (1 <= k < n); the first
                // candidate fails with probability < 2^-31.
                let mut candidate = key_seed;
                for _ in 0..64 {
                    if let Ok(key) = ecdsa::SigningKey::<BrainpoolP256r1>::from_slice(&*candidate) {
                        return Ok(KeyPair::Ecc(key));
                    }
                    candidate = Zeroizing::new(Sha256::digest(*candidate).into());
                }
                Err(PkiError::Crypto {
                    what: format!("brainpoolP256r1 key derivation for {label}"),
                    detail: "no valid scalar found".into(),
                })
            }
        }
    }

    /// Parses a PKCS#8 `PrivateKeyInfo` holding an RSA or brainpoolP256r1 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<KeyPair, PkiError> {
        if let Ok(key) = rsa::PrivateKey::from_pkcs8_der(der) {
            return Ok(KeyPair::Rsa(key));
        }
        let secret =
            elliptic_curve::SecretKey::<BrainpoolP256r1>::from_pkcs8_der(der).map_err(|e| {
                PkiError::Crypto {
                    what: "PKCS#8 private key (neither RSA nor brainpoolP256r1)".into(),
                    detail: e.to_string(),
                }
            })?;
        Ok(KeyPair::Ecc(ecdsa::SigningKey::from(secret)))
    }

    /// Algorithm of this key.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self {
            KeyPair::Rsa(_) => KeyAlgorithm::Rsa2048,
            KeyPair::Ecc(_) => KeyAlgorithm::BrainpoolP256r1,
        }
    }

    /// DER `SubjectPublicKeyInfo` of the public key (for brainpool with the named-curve
    /// parameter `brainpoolP256r1`, uncompressed point).
    pub fn public_key_info(&self) -> Result<SubjectPublicKeyInfoOwned, PkiError> {
        let doc = match self {
            KeyPair::Rsa(key) => key.to_public_key().to_public_key_der(),
            KeyPair::Ecc(key) => key.verifying_key().to_public_key_der(),
        }
        .map_err(|e| PkiError::Crypto {
            what: "public key encoding".into(),
            detail: e.to_string(),
        })?;
        Ok(SubjectPublicKeyInfoOwned::from_der(doc.as_bytes())?)
    }

    /// PKCS#8 `PrivateKeyInfo` DER (unencrypted). For brainpool the curve OID is
    /// carried in the algorithm parameters and the public key is included.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, PkiError> {
        let doc = match self {
            KeyPair::Rsa(key) => key.to_pkcs8_der(),
            KeyPair::Ecc(key) => elliptic_curve::SecretKey::from(key).to_pkcs8_der(),
        }
        .map_err(|e| PkiError::Crypto {
            what: "PKCS#8 private key encoding".into(),
            detail: e.to_string(),
        })?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// Signature algorithm this key uses when it signs certificates:
    /// sha256WithRSAEncryption (with NULL parameters) or ecdsa-with-SHA256.
    pub fn signature_algorithm(&self) -> Result<AlgorithmIdentifierOwned, PkiError> {
        Ok(match self {
            KeyPair::Rsa(_) => AlgorithmIdentifierOwned {
                oid: SHA256_WITH_RSA,
                parameters: Some(der::asn1::Null.into()),
            },
            KeyPair::Ecc(_) => AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA256,
                parameters: None,
            },
        })
    }

    /// Signs `message` deterministically (RSASSA-PKCS1-v1_5/SHA-256, or ECDSA/SHA-256
    /// with RFC 6979 nonces) and returns the signature as it goes into a certificate.
    pub fn sign(&self, message: &[u8]) -> Result<BitString, PkiError> {
        let bytes = match self {
            KeyPair::Rsa(key) => {
                let signer = pkcs1v15::SigningKey::<Sha256>::new(key.clone());
                let sig: pkcs1v15::Signature =
                    signer.try_sign(message).map_err(|e| PkiError::Crypto {
                        what: "RSA signature".into(),
                        detail: e.to_string(),
                    })?;
                sig.to_vec()
            }
            KeyPair::Ecc(key) => {
                let sig: ecdsa::der::Signature<BrainpoolP256r1> =
                    key.try_sign(message).map_err(|e| PkiError::Crypto {
                        what: "ECDSA signature".into(),
                        detail: e.to_string(),
                    })?;
                sig.to_vec()
            }
        };
        Ok(BitString::from_bytes(&bytes)?)
    }
}

/// `SHA-256(domain || seed || 0x00 || label)`: the per-entity seed for keys and serial
/// numbers.
pub(crate) fn derive_bytes(seed: &[u8; 32], label: &str) -> Zeroizing<[u8; 32]> {
    let mut hasher = Sha256::new();
    hasher.update(DERIVATION_DOMAIN);
    hasher.update(seed);
    hasher.update([0u8]);
    hasher.update(label.as_bytes());
    Zeroizing::new(hasher.finalize().into())
}

/// Key identifier per RFC 7093 section 2 method 1: the leftmost 160 bits of the
/// SHA-256 hash of the subjectPublicKey BIT STRING value.
pub(crate) fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    let digest = Sha256::digest(spki.subject_public_key.raw_bytes());
    digest.iter().take(20).copied().collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn ecc_derivation_is_deterministic_and_label_separated() {
        let seed = [7u8; 32];
        let a = KeyPair::derive(KeyAlgorithm::BrainpoolP256r1, &seed, "a").unwrap();
        let a2 = KeyPair::derive(KeyAlgorithm::BrainpoolP256r1, &seed, "a").unwrap();
        let b = KeyPair::derive(KeyAlgorithm::BrainpoolP256r1, &seed, "b").unwrap();
        assert_eq!(*a.to_pkcs8_der().unwrap(), *a2.to_pkcs8_der().unwrap());
        assert_ne!(*a.to_pkcs8_der().unwrap(), *b.to_pkcs8_der().unwrap());
    }

    #[test]
    fn pkcs8_round_trip_keeps_algorithm() {
        let seed = [1u8; 32];
        let key = KeyPair::derive(KeyAlgorithm::BrainpoolP256r1, &seed, "x").unwrap();
        let der = key.to_pkcs8_der().unwrap();
        let back = KeyPair::from_pkcs8_der(&der).unwrap();
        assert_eq!(back.algorithm(), KeyAlgorithm::BrainpoolP256r1);
        assert_eq!(*back.to_pkcs8_der().unwrap(), *der);
    }

    #[test]
    fn derived_bytes_depend_on_seed_and_label() {
        let s1 = [0u8; 32];
        let mut s2 = [0u8; 32];
        s2[31] = 1;
        assert_ne!(*derive_bytes(&s1, "l"), *derive_bytes(&s2, "l"));
        assert_ne!(*derive_bytes(&s1, "l"), *derive_bytes(&s1, "m"));
    }
}
