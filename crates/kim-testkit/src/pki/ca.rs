//! Certificate authorities and the certificate encoder.
//!
//! `TBSCertificate` is encoded by this module (x509-cert 0.3 keeps its fields private),
//! so extension order and string types follow the gematik samples exactly. Every
//! result is re-parsed with `x509_cert::Certificate` before it is handed out.

use der::asn1::{BitString, OctetString};
use der::{DateTime, Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;
use zeroize::Zeroizing;

use super::PkiError;
use super::issued::Issued;
use super::keys::{KeyAlgorithm, KeyPair, derive_bytes, key_identifier};
use super::profiles::OID_POLICY_GEM_OR_CP;

/// `TBSCertificate` (RFC 5280 section 4.1), always version 3 with extensions.
#[derive(Sequence)]
struct TbsCertificateAsn1 {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: ValidityAsn1,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

/// `Validity`; UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5).
#[derive(Sequence)]
struct ValidityAsn1 {
    not_before: Time,
    not_after: Time,
}

/// `Certificate` (RFC 5280 section 4.1).
#[derive(Sequence)]
struct CertificateAsn1 {
    tbs_certificate: TbsCertificateAsn1,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// Validity period shared by all certificates of one PKI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidityPeriod {
    /// `notBefore`.
    pub not_before: DateTime,
    /// `notAfter`.
    pub not_after: DateTime,
}

/// Everything a new certificate needs except issuer data.
pub(crate) struct CertTemplate<'a> {
    /// Label the serial number is derived from.
    pub label: &'a str,
    pub subject: Name,
    pub validity: ValidityPeriod,
    /// Extensions before authority/subject key identifier (those are appended).
    pub extensions: Vec<Extension>,
}

/// A certificate authority of the test PKI with its signing key.
///
/// `Debug` shows the label and subject, never the key.
#[derive(Clone)]
pub struct Ca {
    /// DER certificate of this CA.
    pub certificate_der: Vec<u8>,
    /// PKCS#8 `PrivateKeyInfo` DER of the CA key.
    pub private_key_pkcs8_der: Zeroizing<Vec<u8>>,
    /// Key algorithm of the CA key; all certificates the CA signs use it.
    pub algorithm: KeyAlgorithm,
    /// Stable label, also the file stem in [`TestPki::write_dir`](super::TestPki::write_dir).
    pub label: String,
    key: KeyPair,
    subject: Name,
    key_id: Vec<u8>,
    /// Certificates above this CA, nearest first (empty for a root).
    chain_der: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("label", &self.label)
            .field("subject", &self.subject.to_string())
            .field("algorithm", &self.algorithm)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl Ca {
    /// Creates a self-signed root CA.
    pub(crate) fn new_root(
        seed: &[u8; 32],
        label: &str,
        key: KeyPair,
        template: CertTemplate<'_>,
    ) -> Result<Ca, PkiError> {
        let spki = key.public_key_info()?;
        let key_id = key_identifier(&spki);
        let mut extensions = vec![ski(&key_id)?];
        extensions.extend(ca_extensions(None)?);
        let template = CertTemplate {
            extensions,
            ..template
        };
        let der = encode_and_sign(seed, &template, &template.subject, &key, spki)?;
        Ca::assemble(der, key, key_id, label, template, Vec::new())
    }

    /// Issues a subordinate CA (pathLenConstraint 0) below this CA.
    pub(crate) fn new_subordinate(
        &self,
        seed: &[u8; 32],
        label: &str,
        key: KeyPair,
        template: CertTemplate<'_>,
    ) -> Result<Ca, PkiError> {
        let spki = key.public_key_info()?;
        let key_id = key_identifier(&spki);
        let mut extensions = vec![ski(&key_id)?, aki(&self.key_id)?];
        extensions.extend(ca_extensions(Some(0))?);
        let template = CertTemplate {
            extensions,
            ..template
        };
        let der = encode_and_sign(seed, &template, &self.subject, &self.key, spki)?;
        let mut chain_der = vec![self.certificate_der.clone()];
        chain_der.extend(self.chain_der.iter().cloned());
        Ca::assemble(der, key, key_id, label, template, chain_der)
    }

    /// The CA around its signed certificate.
    fn assemble(
        certificate_der: Vec<u8>,
        key: KeyPair,
        key_id: Vec<u8>,
        label: &str,
        template: CertTemplate<'_>,
        chain_der: Vec<Vec<u8>>,
    ) -> Result<Ca, PkiError> {
        Ok(Ca {
            certificate_der,
            private_key_pkcs8_der: key.to_pkcs8_der()?,
            algorithm: key.algorithm(),
            label: label.to_string(),
            subject: template.subject,
            key,
            key_id,
            chain_der,
        })
    }

    /// Issues an end-entity certificate for `key`; the template's extensions come
    /// first, then authorityKeyIdentifier and subjectKeyIdentifier (sample order).
    pub(crate) fn issue(
        &self,
        seed: &[u8; 32],
        key: &KeyPair,
        template: CertTemplate<'_>,
    ) -> Result<Issued, PkiError> {
        let spki = key.public_key_info()?;
        let key_id = key_identifier(&spki);
        let mut template = template;
        template.extensions.push(aki(&self.key_id)?);
        template.extensions.push(ski(&key_id)?);
        let der = encode_and_sign(seed, &template, &self.subject, &self.key, spki)?;
        let mut chain_der = vec![self.certificate_der.clone()];
        chain_der.extend(self.chain_der.iter().cloned());
        Ok(Issued {
            label: template.label.to_string(),
            certificate_der: der,
            private_key_pkcs8_der: key.to_pkcs8_der()?,
            algorithm: key.algorithm(),
            chain_der,
        })
    }

    /// The CA's subject name.
    pub fn subject(&self) -> &Name {
        &self.subject
    }

    /// The CA's signing key.
    pub fn key_pair(&self) -> &KeyPair {
        &self.key
    }

    /// Certificates above this CA, nearest first; empty for a root.
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain_der
    }

    /// The CA certificate as PEM.
    pub fn certificate_pem(&self) -> Result<String, PkiError> {
        super::issued::pem("CERTIFICATE", &self.certificate_der)
    }

    /// The CA private key as PKCS#8 PEM (`PRIVATE KEY`).
    pub fn private_key_pem(&self) -> Result<Zeroizing<String>, PkiError> {
        super::issued::pem("PRIVATE KEY", &self.private_key_pkcs8_der).map(Zeroizing::new)
    }
}

/// Positive 64-bit serial number derived from the seed and the entity label.
pub(crate) fn derive_serial(seed: &[u8; 32], label: &str) -> Result<SerialNumber, PkiError> {
    let bytes = derive_bytes(seed, &format!("{label}/serial"));
    let mut serial: Vec<u8> = bytes.iter().take(8).copied().collect();
    if let Some(first) = serial.first_mut() {
        // Clear the sign bit and keep the number at eight significant bytes.
        *first = (*first & 0x7f) | 0x40;
    }
    Ok(SerialNumber::new(&serial)?)
}

fn encode_and_sign(
    seed: &[u8; 32],
    template: &CertTemplate<'_>,
    issuer: &Name,
    issuer_key: &KeyPair,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
) -> Result<Vec<u8>, PkiError> {
    let serial_number = derive_serial(seed, template.label)?;
    let signature_algorithm = issuer_key.signature_algorithm()?;
    let tbs = TbsCertificateAsn1 {
        version: 2,
        serial_number,
        signature: signature_algorithm.clone(),
        issuer: issuer.clone(),
        validity: ValidityAsn1 {
            not_before: Time::from(template.validity.not_before),
            not_after: Time::from(template.validity.not_after),
        },
        subject: template.subject.clone(),
        subject_public_key_info,
        extensions: template.extensions.clone(),
    };
    let tbs_der = tbs.to_der()?;
    let signature = issuer_key.sign(&tbs_der)?;
    let der = CertificateAsn1 {
        tbs_certificate: tbs,
        signature_algorithm,
        signature,
    }
    .to_der()?;
    // Round-trip through the strict parser so a malformed certificate never escapes.
    Certificate::from_der(&der)?;
    Ok(der)
}

pub(crate) fn raw_extension<T: Encode>(
    oid: spki::ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension, PkiError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// basicConstraints, keyUsage and certificatePolicies of a CA certificate.
fn ca_extensions(path_len: Option<u8>) -> Result<Vec<Extension>, PkiError> {
    Ok(vec![
        basic_constraints(true, path_len)?,
        key_usage(KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?,
        policies(&[OID_POLICY_GEM_OR_CP])?,
    ])
}

pub(crate) fn basic_constraints(ca: bool, path_len: Option<u8>) -> Result<Extension, PkiError> {
    raw_extension(
        const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS,
        true,
        &BasicConstraints {
            ca,
            path_len_constraint: path_len,
        },
    )
}

pub(crate) fn key_usage(usage: KeyUsage) -> Result<Extension, PkiError> {
    raw_extension(const_oid::db::rfc5280::ID_CE_KEY_USAGE, true, &usage)
}

pub(crate) fn policies(oids: &[spki::ObjectIdentifier]) -> Result<Extension, PkiError> {
    let value = CertificatePolicies(
        oids.iter()
            .map(|oid| PolicyInformation {
                policy_identifier: *oid,
                policy_qualifiers: None,
            })
            .collect(),
    );
    raw_extension(
        const_oid::db::rfc5280::ID_CE_CERTIFICATE_POLICIES,
        false,
        &value,
    )
}

fn ski(key_id: &[u8]) -> Result<Extension, PkiError> {
    raw_extension(
        const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
        false,
        &SubjectKeyIdentifier(OctetString::new(key_id)?),
    )
}

fn aki(key_id: &[u8]) -> Result<Extension, PkiError> {
    raw_extension(
        const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(key_id)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::pki::names::{COMMON_NAME, COUNTRY, build_name};
    use ecdsa::signature::Verifier;

    fn validity() -> ValidityPeriod {
        ValidityPeriod {
            not_before: DateTime::new(2025, 1, 1, 0, 0, 0).unwrap(),
            not_after: DateTime::new(2051, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    fn ecc_root(seed: &[u8; 32]) -> Ca {
        let key = KeyPair::derive(KeyAlgorithm::BrainpoolP256r1, seed, "ca/ecc/root").unwrap();
        let subject = build_name(&[(COUNTRY, "DE"), (COMMON_NAME, "Unit Root TEST-ONLY")]).unwrap();
        let template = CertTemplate {
            label: "ca/ecc/root",
            subject,
            validity: validity(),
            extensions: Vec::new(),
        };
        Ca::new_root(seed, "ca/ecc/root", key, template).unwrap()
    }

    #[test]
    fn serials_are_positive_eight_bytes_and_label_bound() {
        let seed = [3u8; 32];
        for label in ["a", "b", "c", "smcb/1-1/enc/rsa"] {
            let serial = derive_serial(&seed, label).unwrap();
            assert_eq!(serial.as_bytes().len(), 8);
            assert_eq!(serial.as_bytes().first().unwrap() & 0xc0, 0x40);
        }
        assert_ne!(
            derive_serial(&seed, "a").unwrap(),
            derive_serial(&seed, "b").unwrap()
        );
    }

    #[test]
    fn root_is_self_signed_v3_with_generalized_time_after_2049() {
        let root = ecc_root(&[9u8; 32]);
        let cert = Certificate::from_der(&root.certificate_der).unwrap();
        let tbs = cert.tbs_certificate();
        assert_eq!(tbs.version(), x509_cert::certificate::Version::V3);
        assert_eq!(tbs.issuer(), tbs.subject());
        assert!(matches!(tbs.validity().not_after, Time::GeneralTime(_)));
        assert!(matches!(tbs.validity().not_before, Time::UtcTime(_)));
        let tbs_der = tbs.to_der().unwrap();
        let KeyPair::Ecc(key) = root.key_pair() else {
            panic!("ECC root expected")
        };
        let signature = ecdsa::der::Signature::<bp256::BrainpoolP256r1>::from_bytes(
            cert.signature().raw_bytes(),
        )
        .unwrap();
        key.verifying_key().verify(&tbs_der, &signature).unwrap();
        let ids: Vec<_> = tbs
            .extensions()
            .unwrap()
            .iter()
            .map(|e| e.extn_id)
            .collect();
        assert_eq!(
            ids,
            vec![
                const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
                const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS,
                const_oid::db::rfc5280::ID_CE_KEY_USAGE,
                const_oid::db::rfc5280::ID_CE_CERTIFICATE_POLICIES,
            ]
        );
    }
}
