//! Software private keys: signing and decryption without a Konnektor.
//!
//! Compiled only with the `software-keys` feature, which the Konnektor simulator, the `kim`
//! developer CLI and tests enable. In the TI, card keys never leave the Konnektor; no
//! production daemon links this module.

use super::common::{AlgId, CertInfo};
use super::enveloped::{AuthEnvelopedData, RecipientInfo};
use super::signed::CmsSigner;
use super::{CmsError, ber, kari, keys, oid};
use bp256::BrainpoolP256r1;
use sha2::{Digest, Sha256};

/// A private key from PKCS#8.
pub enum SoftwareKey {
    Rsa(Box<rsa::PrivateKey>),
    Brainpool(elliptic_curve::SecretKey<BrainpoolP256r1>),
}

impl std::fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SoftwareKey::Rsa(_) => f.write_str("SoftwareKey::Rsa([REDACTED])"),
            SoftwareKey::Brainpool(_) => f.write_str("SoftwareKey::Brainpool([REDACTED])"),
        }
    }
}

impl SoftwareKey {
    /// Reads a PKCS#8 PrivateKeyInfo (RSA or EC brainpoolP256r1).
    pub fn from_pkcs8_der(der_bytes: &[u8]) -> Result<Self, CmsError> {
        use pkcs8::DecodePrivateKey;
        let info = ber::parse(der_bytes)?;
        let mut s = ber::Seq::new(info)?;
        s.next("version")?;
        let alg = super::common::AlgId::parse(s.next("privateKeyAlgorithm")?)?;
        if alg.oid == oid::RSA_ENCRYPTION {
            let key = rsa::PrivateKey::from_pkcs8_der(der_bytes)
                .map_err(|e| CmsError::Unsupported(format!("RSA private key: {e}")))?;
            return Ok(SoftwareKey::Rsa(Box::new(key)));
        }
        if alg.oid == oid::EC_PUBLIC_KEY {
            let key = elliptic_curve::SecretKey::<BrainpoolP256r1>::from_pkcs8_der(der_bytes)
                .map_err(|e| {
                    CmsError::Unsupported(format!("EC private key (brainpoolP256r1 only): {e}"))
                })?;
            return Ok(SoftwareKey::Brainpool(key));
        }
        Err(CmsError::Unsupported(format!(
            "private key algorithm {}",
            oid::name(&alg.oid)
        )))
    }

    /// Recovers the content-encryption key from the RecipientInfo addressed to `cert`.
    pub fn unwrap_cek(
        &self,
        env: &AuthEnvelopedData,
        cert: &CertInfo,
    ) -> Result<Vec<u8>, CmsError> {
        for info in &env.recipient_infos {
            match (info, self) {
                (
                    RecipientInfo::KeyTrans {
                        rid,
                        key_encryption_algorithm,
                        encrypted_key,
                    },
                    SoftwareKey::Rsa(k),
                ) if rid.matches(cert) => {
                    if key_encryption_algorithm.oid != oid::RSAES_OAEP {
                        return Err(CmsError::Unsupported(format!(
                            "key transport {key_encryption_algorithm} (KIM uses RSAES-OAEP)"
                        )));
                    }
                    keys::check_oaep_params(key_encryption_algorithm)?;
                    let mut rng = getrandom::SysRng;
                    return k
                        .decrypt_blinded(&mut rng, rsa::Oaep::<Sha256>::new(), encrypted_key)
                        .map_err(|_| {
                            CmsError::Decryption("RSA-OAEP: wrong key or altered key".into())
                        });
                }
                (
                    RecipientInfo::KeyAgree {
                        originator_key,
                        ukm,
                        key_encryption_algorithm,
                        recipients,
                    },
                    SoftwareKey::Brainpool(k),
                ) => {
                    let Some((_, wrapped)) = recipients.iter().find(|(r, _)| r.matches(cert))
                    else {
                        continue;
                    };
                    kari::check_algorithm(key_encryption_algorithm)?;
                    let point = originator_key.as_deref().ok_or_else(|| {
                        CmsError::Unsupported("key agreement without originatorKey".into())
                    })?;
                    let eph = elliptic_curve::PublicKey::<BrainpoolP256r1>::from_sec1_bytes(point)
                        .map_err(|_| CmsError::Decryption("invalid ephemeral public key".into()))?;
                    let shared = k.diffie_hellman(&eph);
                    let kek = kari::kek(shared.raw_secret_bytes().as_slice(), ukm.as_deref());
                    return kari::unwrap(&kek, wrapped);
                }
                _ => {}
            }
        }
        Err(CmsError::NoMatchingRecipient(
            cert.issuer_serial.to_string(),
        ))
    }

    /// Decrypts an AuthEnvelopedData for the recipient holding this key and `cert`.
    pub fn decrypt(&self, env: &AuthEnvelopedData, cert: &CertInfo) -> Result<Vec<u8>, CmsError> {
        let cek = zeroize::Zeroizing::new(self.unwrap_cek(env, cert)?);
        env.decrypt_content(&cek)
    }

    /// Like [`Self::decrypt`], decrypting in place (the structure is consumed).
    pub fn decrypt_owned(
        &self,
        env: AuthEnvelopedData,
        cert: &CertInfo,
    ) -> Result<Vec<u8>, CmsError> {
        let cek = zeroize::Zeroizing::new(self.unwrap_cek(&env, cert)?);
        env.into_plaintext(&cek)
    }
}

/// A [`CmsSigner`] backed by a software key and its certificate.
#[derive(Debug)]
pub struct SoftwareSigner {
    key: SoftwareKey,
    cert: CertInfo,
}

impl SoftwareSigner {
    /// Pairs a key with its certificate, checking that they belong together.
    pub fn new(key: SoftwareKey, cert: CertInfo) -> Result<Self, CmsError> {
        let signer = SoftwareSigner { key, cert };
        let probe = signer.sign(b"key and certificate pairing check")?;
        let public = keys::PublicKey::from_cert(&signer.cert)?;
        keys::verify(
            &signer.signature_algorithm(),
            &public,
            b"key and certificate pairing check",
            &probe,
        )
        .map_err(|_| {
            CmsError::Certificate("the private key does not belong to the certificate".into())
        })?;
        Ok(signer)
    }
}

impl CmsSigner for SoftwareSigner {
    fn certificate(&self) -> &CertInfo {
        &self.cert
    }

    fn signature_algorithm(&self) -> AlgId {
        match self.key {
            SoftwareKey::Rsa(_) => keys::rsassa_pss_sha256(),
            SoftwareKey::Brainpool(_) => AlgId::new(oid::ECDSA_WITH_SHA256, None),
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CmsError> {
        let digest = Sha256::digest(message);
        match &self.key {
            SoftwareKey::Rsa(k) => {
                let mut rng = getrandom::SysRng;
                k.sign_with_rng(&mut rng, rsa::Pss::<Sha256>::new_with_salt(32), &digest)
                    .map_err(|e| CmsError::Crypto(format!("RSASSA-PSS: {e}")))
            }
            SoftwareKey::Brainpool(k) => {
                use ecdsa::signature::hazmat::PrehashSigner;
                let sk = ecdsa::SigningKey::<BrainpoolP256r1>::from(k);
                let sig: ecdsa::Signature<BrainpoolP256r1> = sk
                    .sign_prehash(&digest)
                    .map_err(|e| CmsError::Crypto(format!("ECDSA: {e}")))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
        }
    }
}
