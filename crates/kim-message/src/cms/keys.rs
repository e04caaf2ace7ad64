//! Public-key operations: signature verification and key transport to recipients.
//!
//! Only public keys live here; everything needing a private key is in [`super::soft`],
//! compiled only with the `software-keys` feature.
//!
//! Algorithms of the KOM-LE profile (gemSMIME_KOMLE 2.2/2.3, gemSpec_Krypt): RSASSA-PSS with
//! SHA-256/MGF1-SHA-256 (salt 32), ECDSA-with-SHA256 on brainpoolP256r1, RSAES-OAEP with
//! SHA-256/MGF1-SHA-256. PKCS#1 v1.5 signatures are accepted on verification only (CA
//! certificates use them).

use super::ber::{self, Seq};
use super::common::{AlgId, CertInfo};
use super::{CmsError, oid};
use bp256::BrainpoolP256r1;
use rsa::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};

/// A certificate's public key.
#[derive(Debug, Clone)]
pub enum PublicKey {
    Rsa(rsa::PublicKey),
    Brainpool(ecdsa::VerifyingKey<BrainpoolP256r1>),
}

impl PublicKey {
    /// The key of a certificate (RSA, or EC on brainpoolP256r1).
    pub fn from_cert(cert: &CertInfo) -> Result<Self, CmsError> {
        if cert.key_algorithm == oid::RSA_ENCRYPTION {
            let key = rsa::PublicKey::from_public_key_der(&cert.spki)
                .map_err(|e| CmsError::Certificate(format!("RSA public key: {e}")))?;
            return Ok(PublicKey::Rsa(key));
        }
        if cert.key_algorithm == oid::EC_PUBLIC_KEY {
            if cert.curve != Some(oid::BRAINPOOL_P256R1) {
                return Err(CmsError::Unsupported(format!(
                    "EC curve {}",
                    cert.curve.as_ref().map_or("(none)".into(), oid::name)
                )));
            }
            let spki = ber::parse(&cert.spki)?;
            let mut s = Seq::new(spki)?;
            s.next("algorithm")?;
            let point = super::common::bit_string_bytes(&s.next("subjectPublicKey")?)?;
            let key = ecdsa::VerifyingKey::<BrainpoolP256r1>::from_sec1_bytes(&point)
                .map_err(|_| CmsError::Certificate("invalid brainpoolP256r1 point".into()))?;
            return Ok(PublicKey::Brainpool(key));
        }
        Err(CmsError::Unsupported(format!(
            "public key algorithm {}",
            oid::name(&cert.key_algorithm)
        )))
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The mathematics failed: wrong key or altered data (integrity result 02).
    #[error("signature does not match the signed data")]
    Mismatch,
    /// An algorithm or parameter set we do not verify.
    #[error("unsupported signature algorithm: {0}")]
    Unsupported(String),
    /// Malformed signature value or parameters (integrity result 04).
    #[error("malformed signature: {0}")]
    Malformed(String),
}

/// RSASSA-PSS parameters in use: hash SHA-256, MGF1-SHA-256, the salt length.
fn pss_salt(params: Option<&[u8]>) -> Result<usize, SignatureError> {
    let bad = |w: &str| SignatureError::Malformed(format!("RSASSA-PSS parameters: {w}"));
    let Some(params) = params else {
        return Err(SignatureError::Unsupported(
            "RSASSA-PSS with default (SHA-1) parameters".into(),
        ));
    };
    let t = ber::parse(params).map_err(|e| bad(&e.to_string()))?;
    let mut salt = 20usize;
    let mut hash_ok = false;
    let mut mgf_ok = false;
    for field in t.children() {
        let field = field.map_err(|e| bad(&e.to_string()))?;
        let inner = Seq::new(field)
            .and_then(|mut s| s.next("field"))
            .map_err(|e| bad(&e.to_string()))?;
        match field.tag.number {
            0 => hash_ok = AlgId::parse(inner).is_ok_and(|a| a.is_sha256()),
            1 => {
                let mgf = AlgId::parse(inner).map_err(|e| bad(&e.to_string()))?;
                let inner_hash = mgf
                    .params
                    .as_deref()
                    .and_then(|p| ber::parse(p).ok().and_then(|t| AlgId::parse(t).ok()));
                mgf_ok = mgf.oid == oid::MGF1 && inner_hash.is_some_and(|h| h.is_sha256());
            }
            2 => {
                salt = usize::try_from(inner.small_uint().map_err(|e| bad(&e.to_string()))?)
                    .map_err(|_| bad("salt length"))?;
            }
            _ => {}
        }
    }
    if !hash_ok || !mgf_ok {
        return Err(SignatureError::Unsupported(
            "RSASSA-PSS other than SHA-256 with MGF1-SHA-256".into(),
        ));
    }
    Ok(salt)
}

/// Verifies `signature` over `message` (the data is hashed with SHA-256 here).
pub fn verify(
    algorithm: &AlgId,
    key: &PublicKey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let digest = Sha256::digest(message);
    match (key, algorithm.oid) {
        (PublicKey::Rsa(k), o) if o == oid::RSASSA_PSS => {
            let salt = pss_salt(algorithm.params.as_deref())?;
            k.verify(rsa::Pss::<Sha256>::new_with_salt(salt), &digest, signature)
                .map_err(|_| SignatureError::Mismatch)
        }
        (PublicKey::Rsa(k), o) if o == oid::SHA256_WITH_RSA || o == oid::RSA_ENCRYPTION => k
            .verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
            .map_err(|_| SignatureError::Mismatch),
        (PublicKey::Brainpool(k), o) if o == oid::ECDSA_WITH_SHA256 => {
            use ecdsa::signature::hazmat::PrehashVerifier;
            let sig = ecdsa::der::Signature::<BrainpoolP256r1>::from_bytes(signature)
                .map_err(|_| SignatureError::Malformed("ECDSA signature is not DER".into()))?;
            k.verify_prehash(&digest, &sig)
                .map_err(|_| SignatureError::Mismatch)
        }
        (_, o) => Err(SignatureError::Unsupported(format!(
            "{} with a {} key",
            oid::name(&o),
            match key {
                PublicKey::Rsa(_) => "RSA",
                PublicKey::Brainpool(_) => "brainpoolP256r1",
            }
        ))),
    }
}

/// Checks that `cert` was signed by `issuer` (signature only; names and validity are the
/// caller's business).
pub fn verify_certificate_signature(
    cert: &CertInfo,
    issuer: &CertInfo,
) -> Result<(), SignatureError> {
    let key =
        PublicKey::from_cert(issuer).map_err(|e| SignatureError::Unsupported(e.to_string()))?;
    verify(&cert.signature_algorithm, &key, &cert.tbs, &cert.signature)
}

/// `AlgorithmIdentifier` for RSASSA-PSS with SHA-256, MGF1-SHA-256 and salt 32, encoded as
/// Konnektors do (hash parameters NULL).
pub fn rsassa_pss_sha256() -> AlgId {
    use super::der;
    let sha256_null = der::sequence(&[&der::oid(&oid::SHA256), &der::null()]);
    let mgf = der::sequence(&[&der::oid(&oid::MGF1), &sha256_null]);
    let params = der::sequence(&[
        &der::context_constructed(0, &[&sha256_null]),
        &der::context_constructed(1, &[&mgf]),
        &der::context_constructed(2, &[&der::uint(32)]),
    ]);
    AlgId::new(oid::RSASSA_PSS, Some(params))
}

/// `AlgorithmIdentifier` for RSAES-OAEP with SHA-256 and MGF1-SHA-256, empty label, as in
/// the gematik sample.
pub fn rsaes_oaep_sha256() -> AlgId {
    use super::der;
    let sha256_null = der::sequence(&[&der::oid(&oid::SHA256), &der::null()]);
    let mgf = der::sequence(&[&der::oid(&oid::MGF1), &sha256_null]);
    let params = der::sequence(&[
        &der::context_constructed(0, &[&sha256_null]),
        &der::context_constructed(1, &[&mgf]),
    ]);
    AlgId::new(oid::RSAES_OAEP, Some(params))
}

#[cfg(feature = "software-keys")]
/// Checks OAEP parameters: SHA-256 for hash and MGF1, no label (pSourceFunc absent).
pub(crate) fn check_oaep_params(alg: &AlgId) -> Result<(), CmsError> {
    let unsupported =
        || CmsError::Unsupported("RSAES-OAEP other than SHA-256 with MGF1-SHA-256".into());
    let params = alg.params.as_deref().ok_or_else(unsupported)?;
    let t = ber::parse(params)?;
    let mut hash_ok = false;
    let mut mgf_ok = false;
    for field in t.children() {
        let field = field?;
        let inner = Seq::new(field)?.next("field")?;
        match field.tag.number {
            0 => hash_ok = AlgId::parse(inner)?.is_sha256(),
            1 => {
                let mgf = AlgId::parse(inner)?;
                let h = mgf.params.as_deref().map(ber::parse).transpose()?;
                mgf_ok = mgf.oid == oid::MGF1
                    && h.map(AlgId::parse)
                        .transpose()?
                        .is_some_and(|h| h.is_sha256());
            }
            _ => return Err(CmsError::Unsupported("RSAES-OAEP with a label".into())),
        }
    }
    if hash_ok && mgf_ok {
        Ok(())
    } else {
        Err(unsupported())
    }
}

/// Encrypts a content-encryption key for an RSA recipient with RSAES-OAEP-SHA256.
pub fn oaep_encrypt(
    key: &rsa::PublicKey,
    cek: &[u8],
    rng: &mut (impl rand_core::TryCryptoRng + ?Sized),
) -> Result<Vec<u8>, CmsError> {
    key.encrypt(rng, rsa::Oaep::<Sha256>::new(), cek)
        .map_err(|e| CmsError::Crypto(format!("RSA-OAEP encryption: {e}")))
}
