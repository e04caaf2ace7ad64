//! createCert: a C.CM.TLS-CS client certificate for the Clientmodul (CN `<commonName>#CM`),
//! issued by the provider CA and returned as PKCS#12 (kim-spec §6.3).
//!
//! Profile (gemSpec_PKI C.CM.TLS-CS, as the test PKI issues it): keyUsage digitalSignature
//! (critical), extendedKeyUsage clientAuth + serverAuth, certificatePolicies
//! `oid_policy_gem_or_cp` + `oid_cm_tls_c`, basicConstraints CA=false (critical), authority
//! and subject key identifiers. The subject key is RSA-2048: Clientmodule built on rustls
//! cannot use brainpool keys.

use bp256::BrainpoolP256r1;
use der::asn1::{OctetString, PrintableStringRef, SetOfVec, Utf8StringRef};
use der::{Any, Decode, Encode};
use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rand_core::SeedableRng;
use sha1::{Digest, Sha1};
use spki::{ObjectIdentifier, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, ExtendedKeyUsage, KeyUsage,
    KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use zeroize::Zeroizing;

use crate::AmError;

const OID_POLICY_GEM_OR_CP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.276.0.76.4.163");
const OID_CM_TLS_C: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.276.0.76.4.175");
const ID_KP_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const ID_KP_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
const COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// Longest CN (X.520 `ub-common-name`).
const CN_MAX: usize = 64;

/// The provider CA that signs Clientmodul certificates.
pub struct ProviderCa {
    certificate_der: Vec<u8>,
    subject: Name,
    key_id: Vec<u8>,
    key: CaKey,
}

enum CaKey {
    Rsa(Box<rsa::PrivateKey>),
    Ecc(ecdsa::SigningKey<BrainpoolP256r1>),
}

impl std::fmt::Debug for ProviderCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderCa")
            .field("subject", &self.subject.to_string())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl ProviderCa {
    /// The CA from its certificate (DER) and PKCS#8 private key (DER; RSA or brainpoolP256r1).
    ///
    /// # Errors
    /// [`AmError::Internal`] naming what does not parse.
    pub fn new(certificate_der: Vec<u8>, key_pkcs8_der: &[u8]) -> Result<Self, AmError> {
        let cert = Certificate::from_der(&certificate_der)
            .map_err(|e| AmError::Internal(format!("provider CA certificate: {e}")))?;
        let tbs = cert.tbs_certificate();
        let key = if let Ok(k) = rsa::PrivateKey::from_pkcs8_der(key_pkcs8_der) {
            CaKey::Rsa(Box::new(k))
        } else {
            let secret = elliptic_curve_secret(key_pkcs8_der)?;
            CaKey::Ecc(secret)
        };
        // The authority key identifier must equal the CA's subjectKeyIdentifier (RFC 5280
        // §4.2.1.1); compute one only for a CA certificate without that extension.
        let ski = tbs
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
            .and_then(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).ok())
            .map(|k| k.0.as_bytes().to_vec());
        Ok(Self {
            subject: tbs.subject().clone(),
            key_id: ski.unwrap_or_else(|| {
                key_identifier(tbs.subject_public_key_info().owned_to_ref_bits())
            }),
            certificate_der,
            key,
        })
    }

    /// The CA certificate (DER).
    #[must_use]
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }
}

fn elliptic_curve_secret(der: &[u8]) -> Result<ecdsa::SigningKey<BrainpoolP256r1>, AmError> {
    ecdsa::SigningKey::<BrainpoolP256r1>::from_pkcs8_der(der).map_err(|e| {
        AmError::Internal(format!(
            "provider CA key is neither RSA nor brainpoolP256r1 PKCS#8: {e}"
        ))
    })
}

/// Helper: the raw subjectPublicKey bits of an SPKI.
trait SpkiBits {
    fn owned_to_ref_bits(&self) -> &[u8];
}

impl SpkiBits for SubjectPublicKeyInfoOwned {
    fn owned_to_ref_bits(&self) -> &[u8] {
        self.subject_public_key.raw_bytes()
    }
}

/// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
fn key_identifier(bits: &[u8]) -> Vec<u8> {
    Sha1::digest(bits).to_vec()
}

/// What createCert returns before base64.
#[derive(Debug)]
pub struct IssuedCert {
    /// The PKCS#12 file.
    pub pkcs12: Vec<u8>,
    /// The certificate (DER), for logs and tests.
    pub certificate_der: Vec<u8>,
}

/// Checks the `commonName` of CertificateParameters.
///
/// # Errors
/// [`AmError::BadRequest`] if empty or too long for a CN with `#CM`.
pub fn check_common_name(common_name: &str) -> Result<String, AmError> {
    let cn = format!("{}#CM", common_name.trim());
    if common_name.trim().is_empty() {
        return Err(AmError::BadRequest("commonName missing".into()));
    }
    if cn.chars().count() > CN_MAX || common_name.chars().any(char::is_control) {
        return Err(AmError::BadRequest(format!(
            "commonName must be printable and at most {} characters",
            CN_MAX - 3
        )));
    }
    Ok(cn)
}

/// Issues the certificate for CN `cn` valid from `now` for `validity_days` and packs it with
/// a fresh RSA-2048 key into a PKCS#12 protected by `password` (empty: no password).
/// CPU-heavy; call from a blocking task.
///
/// # Errors
/// [`AmError::Internal`] if key generation, signing or encoding fails.
pub fn issue(
    ca: &ProviderCa,
    cn: &str,
    now: i64,
    validity_days: u32,
    password: &str,
    friendly_name: &str,
) -> Result<IssuedCert, AmError> {
    let internal =
        |what: &str, e: &dyn std::fmt::Display| AmError::Internal(format!("{what}: {e}"));
    let mut rng = fresh_rng()?;
    let key = rsa::PrivateKey::new(&mut rng, 2048).map_err(|e| internal("RSA key", &e))?;
    let spki_der = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| internal("public key", &e))?;
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes())
        .map_err(|e| internal("public key", &e))?;
    let profile = CmTlsProfile {
        issuer: ca.subject.clone(),
        subject: subject_name(cn).map_err(|e| internal("subject", &e))?,
        extensions: extensions(
            &ca.key_id,
            &key_identifier(spki.subject_public_key.raw_bytes()),
        )
        .map_err(|e| internal("extensions", &e))?,
    };
    let validity = validity(now, validity_days)?;
    let serial = serial_number(&mut rng)?;
    let builder = CertificateBuilder::new(profile, serial, validity, spki)
        .map_err(|e| internal("certificate", &e))?;
    let certificate = match &ca.key {
        CaKey::Rsa(k) => {
            let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone());
            builder.build::<_, rsa::pkcs1v15::Signature>(&signer)
        }
        CaKey::Ecc(k) => builder.build::<_, ecdsa::der::Signature<BrainpoolP256r1>>(k),
    }
    .map_err(|e| internal("signing", &e))?;
    let certificate_der = certificate
        .to_der()
        .map_err(|e| internal("certificate", &e))?;
    let key_der = Zeroizing::new(
        key.to_pkcs8_der()
            .map_err(|e| internal("private key", &e))?
            .as_bytes()
            .to_vec(),
    );
    let options = kim_pkcs12::BuildOptions {
        friendly_name: Some(friendly_name),
        ..kim_pkcs12::BuildOptions::default()
    };
    let pkcs12 = kim_pkcs12::build(
        &key_der,
        &certificate_der,
        &[ca.certificate_der.as_slice()],
        password,
        &options,
        &mut rng,
    )
    .map_err(|e| internal("PKCS#12", &e))?;
    Ok(IssuedCert {
        pkcs12,
        certificate_der,
    })
}

fn fresh_rng() -> Result<rand_chacha::ChaCha20Rng, AmError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut_slice())
        .map_err(|e| AmError::Internal(format!("system random generator: {e}")))?;
    Ok(rand_chacha::ChaCha20Rng::from_seed(*seed))
}

fn serial_number(rng: &mut rand_chacha::ChaCha20Rng) -> Result<SerialNumber, AmError> {
    use rand_core::Rng;
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::new(&bytes).map_err(|e| AmError::Internal(format!("serial number: {e}")))
}

fn validity(now: i64, days: u32) -> Result<Validity, AmError> {
    let time = |secs: i64| -> Result<Time, AmError> {
        let secs =
            u64::try_from(secs).map_err(|_| AmError::Internal("clock before 1970".into()))?;
        der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs))
            .map(Time::from)
            .map_err(|e| AmError::Internal(format!("validity: {e}")))
    };
    Ok(Validity::new(
        time(now)?,
        time(now.saturating_add(i64::from(days) * 86_400))?,
    ))
}

fn subject_name(cn: &str) -> der::Result<Name> {
    let attributes = [
        (COUNTRY, "DE"),
        (ORGANIZATION, "KIM Clientmodul"),
        (COMMON_NAME, cn),
    ];
    let mut rdns = Vec::with_capacity(attributes.len());
    for (oid, value) in attributes {
        let any = if oid == COUNTRY {
            Any::encode_from(&PrintableStringRef::new(value)?)?
        } else {
            Any::encode_from(&Utf8StringRef::new(value)?)?
        };
        let mut set = SetOfVec::new();
        set.insert(AttributeTypeAndValue { oid, value: any })?;
        rdns.push(RelativeDistinguishedName::from(set));
    }
    Name::from_der(&RdnSequence::from(rdns).to_der()?)
}

fn raw_extension<T: Encode>(
    oid: ObjectIdentifier,
    critical: bool,
    value: &T,
) -> der::Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn extensions(authority_key_id: &[u8], subject_key_id: &[u8]) -> der::Result<Vec<Extension>> {
    use const_oid::db::rfc5280 as ids;
    let policies = CertificatePolicies(
        [OID_POLICY_GEM_OR_CP, OID_CM_TLS_C]
            .into_iter()
            .map(|policy_identifier| PolicyInformation {
                policy_identifier,
                policy_qualifiers: None,
            })
            .collect(),
    );
    Ok(vec![
        raw_extension(
            ids::ID_CE_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
        )?,
        raw_extension(
            ids::ID_CE_EXT_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH]),
        )?,
        raw_extension(ids::ID_CE_CERTIFICATE_POLICIES, false, &policies)?,
        raw_extension(
            ids::ID_CE_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
        )?,
        raw_extension(
            ids::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(authority_key_id)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
        raw_extension(
            ids::ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
            &SubjectKeyIdentifier(OctetString::new(subject_key_id)?),
        )?,
    ])
}

/// The fixed C.CM.TLS-CS profile for the x509-cert builder.
struct CmTlsProfile {
    issuer: Name,
    subject: Name,
    extensions: Vec<Extension>,
}

impl Profile for CmTlsProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn common_name_gets_the_cm_suffix_and_limits() {
        assert_eq!(check_common_name("Praxis 1").unwrap(), "Praxis 1#CM");
        assert!(check_common_name("  ").is_err());
        assert!(check_common_name(&"x".repeat(62)).is_err());
        assert!(check_common_name(&"x".repeat(61)).is_ok());
    }
}
