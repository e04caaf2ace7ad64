//! SignedData (RFC 5652 5) in the KOM-LE profile (gemSMIME_KOMLE 2.3, KOM-LE-A_2118 …
//! A_2127): read, verify and build.
//!
//! The profile: SHA-256; eContent present (opaque signature); exactly the signer
//! certificate; no CRLs; exactly one SignerInfo identified by issuerAndSerialNumber; signed
//! attributes contentType, signingTime, messageDigest, CMSAlgorithmProtection,
//! signingCertificateV2 and recipient-emails; no unsigned attributes.

use super::ber::{self, Seq, Tag};
use super::common::{AlgId, Attribute, CertInfo, parse_attributes};
use super::keys::{self, PublicKey, SignatureError};
use super::{CmsError, ContentInfo, der, oid};
use sha2::{Digest, Sha256};

/// How a SignerInfo names its certificate: the same choice as for recipients.
pub type SignerId = super::enveloped::RecipientId;

/// One SignerInfo.
#[derive(Debug, Clone)]
pub struct SignerInfo {
    pub version: u64,
    pub sid: SignerId,
    pub digest_algorithm: AlgId,
    pub signed_attrs: Vec<Attribute>,
    /// The DER of the signed attributes with the SET OF tag: the bytes the signature covers.
    pub signed_attrs_der: Option<Vec<u8>>,
    pub signature_algorithm: AlgId,
    pub signature: Vec<u8>,
    pub unsigned_attrs: Vec<Attribute>,
}

impl SignerInfo {
    /// The first signed attribute of the given type.
    pub fn signed_attr(&self, oid: &const_oid::ObjectIdentifier) -> Option<&Attribute> {
        self.signed_attrs.iter().find(|a| a.oid == *oid)
    }
}

/// A parsed SignedData.
#[derive(Debug, Clone)]
pub struct SignedData {
    pub version: u64,
    pub digest_algorithms: Vec<AlgId>,
    pub econtent_type: const_oid::ObjectIdentifier,
    pub econtent: Option<Vec<u8>>,
    /// Certificates in the `certificates` field (DER).
    pub certificates: Vec<Vec<u8>>,
    pub crls_present: bool,
    pub signer_infos: Vec<SignerInfo>,
}

/// A failed verification, classified as the KOM-LE integrity IDs need it
/// (Tab_Verm_Sig_Prüf, KOM-LE-A_2048-01).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyFailure {
    /// ID 02 (Konnektor code 4115): digest or signature does not match.
    #[error("integrity violated: {0}")]
    Integrity(String),
    /// ID 03 (4253): there is no signature.
    #[error("not signed")]
    NoSignature,
    /// ID 04 (4112): the signature structure is malformed.
    #[error("signature format: {0}")]
    Format(String),
    /// ID 05 (4206): the signer certificate cannot be validated.
    #[error("certificate path: {0}")]
    CertificatePath(String),
    /// ID 06: anything else (unsupported algorithm, …).
    #[error("verification error: {0}")]
    Other(String),
}

impl VerifyFailure {
    /// The integrity result ID of KOM-LE-A_2048-01.
    pub fn integrity_id(&self) -> &'static str {
        match self {
            VerifyFailure::Integrity(_) => "02",
            VerifyFailure::NoSignature => "03",
            VerifyFailure::Format(_) => "04",
            VerifyFailure::CertificatePath(_) => "05",
            VerifyFailure::Other(_) => "06",
        }
    }
}

impl SignedData {
    /// Reads a ContentInfo holding SignedData (BER or DER).
    pub fn parse(bytes: &[u8]) -> Result<Self, CmsError> {
        let ci = ContentInfo::parse(bytes)?;
        if ci.content_type != oid::SIGNED_DATA {
            return Err(CmsError::Profile(format!(
                "content type is {}, expected id-signedData",
                oid::name(&ci.content_type)
            )));
        }
        Ok(Self::from_tlv(ci.content)?)
    }

    fn from_tlv(t: ber::Tlv<'_>) -> Result<Self, ber::BerError> {
        let t = t.expect_universal(Tag::SEQUENCE, "SignedData")?;
        let mut s = Seq::new(t)?;
        let version = s.next("version")?.small_uint()?;
        let digest_algorithms = s
            .next("digestAlgorithms")?
            .expect_universal(Tag::SET, "digestAlgorithms")?
            .children()
            .map(|a| a.and_then(AlgId::parse))
            .collect::<Result<Vec<_>, _>>()?;
        let encap = s
            .next("encapContentInfo")?
            .expect_universal(Tag::SEQUENCE, "EncapsulatedContentInfo")?;
        let mut e = Seq::new(encap)?;
        let econtent_type = e.next("eContentType")?.oid()?;
        let econtent = match e.optional_context(0)? {
            Some(w) => {
                let os = Seq::new(w)?.next("eContent")?;
                let os = os.expect_universal(Tag::OCTET_STRING, "eContent OCTET STRING")?;
                Some(os.octets()?.into_owned())
            }
            None => None,
        };
        e.finish()?;
        let certificates = match s.optional_context(0)? {
            Some(c) => c
                .children()
                .map(|x| x.map(|x| x.raw.to_vec()))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let crls_present = s.optional_context(1)?.is_some();
        let signer_infos = s
            .next("signerInfos")?
            .expect_universal(Tag::SET, "signerInfos")?
            .children()
            .map(|x| x.and_then(parse_signer_info))
            .collect::<Result<Vec<_>, _>>()?;
        s.finish()?;
        Ok(SignedData {
            version,
            digest_algorithms,
            econtent_type,
            econtent,
            certificates,
            crls_present,
            signer_infos,
        })
    }

    /// Deviations from the KOM-LE SignedData profile (empty when conformant). These are
    /// reported by `inspect`; verification does not depend on them.
    pub fn profile_findings(&self) -> Vec<String> {
        let mut f = Vec::new();
        if self.econtent_type != oid::DATA {
            f.push(format!(
                "eContentType is {} (KOM-LE-A_2121 requires id-data)",
                oid::name(&self.econtent_type)
            ));
        }
        if self.econtent.is_none() {
            f.push("eContent is absent (KOM-LE-A_2121: opaque signature)".into());
        }
        if self.certificates.len() != 1 {
            f.push(format!(
                "{} certificates (KOM-LE-A_2122: exactly the signer's)",
                self.certificates.len()
            ));
        }
        if self.crls_present {
            f.push("crls present (KOM-LE-A_2118)".into());
        }
        if self.signer_infos.len() != 1 {
            f.push(format!(
                "{} SignerInfos (KOM-LE-A_2123: exactly one)",
                self.signer_infos.len()
            ));
        }
        for si in &self.signer_infos {
            if !matches!(si.sid, SignerId::IssuerSerial(_)) {
                f.push("sid is not issuerAndSerialNumber (KOM-LE-A_2124)".into());
            }
            if !si.unsigned_attrs.is_empty() {
                f.push("unsignedAttrs present (KOM-LE-A_2126)".into());
            }
            if si.signed_attr(&oid::RECIPIENT_EMAILS).is_none() {
                f.push("no recipient-emails signed attribute (KOM-LE-A_2127)".into());
            }
        }
        f
    }

    /// The signer's certificate: found among `certificates` (or `extra`) by the sid.
    pub fn signer_certificate(&self, extra: &[CertInfo]) -> Result<CertInfo, VerifyFailure> {
        let si = self.single_signer()?;
        let candidates = self
            .certificates
            .iter()
            .filter_map(|c| CertInfo::parse(c).ok())
            .chain(extra.iter().cloned());
        for cert in candidates {
            let matches = si.sid.matches(&cert);
            if matches {
                return Ok(cert);
            }
        }
        Err(VerifyFailure::CertificatePath(
            "signer certificate not present".into(),
        ))
    }

    fn single_signer(&self) -> Result<&SignerInfo, VerifyFailure> {
        match self.signer_infos.as_slice() {
            [] => Err(VerifyFailure::NoSignature),
            [si] => Ok(si),
            _ => Err(VerifyFailure::Format(format!(
                "{} SignerInfos",
                self.signer_infos.len()
            ))),
        }
    }

    /// Checks the signature mathematically: digest algorithm, content type and message
    /// digest attributes, CMSAlgorithmProtection, and the signature with the signer's key.
    /// Returns the signer certificate. Certificate path and validity are checked separately
    /// ([`check_path`]).
    pub fn verify(&self, extra_certs: &[CertInfo]) -> Result<CertInfo, VerifyFailure> {
        let si = self.single_signer()?;
        let econtent = self
            .econtent
            .as_deref()
            .ok_or(VerifyFailure::Format("detached content".into()))?;
        if !si.digest_algorithm.is_sha256() {
            return Err(VerifyFailure::Other(format!(
                "digest algorithm {}",
                si.digest_algorithm
            )));
        }
        let cert = self.signer_certificate(extra_certs)?;
        let key = PublicKey::from_cert(&cert).map_err(|e| VerifyFailure::Other(e.to_string()))?;
        let signed_bytes: &[u8] = match &si.signed_attrs_der {
            None => econtent,
            Some(attrs_der) => {
                self.check_signed_attrs(si, econtent)?;
                attrs_der
            }
        };
        keys::verify(&si.signature_algorithm, &key, signed_bytes, &si.signature).map_err(|e| {
            match e {
                SignatureError::Mismatch => VerifyFailure::Integrity(e.to_string()),
                SignatureError::Malformed(m) => VerifyFailure::Format(m),
                SignatureError::Unsupported(m) => VerifyFailure::Other(m),
            }
        })?;
        Ok(cert)
    }

    fn check_signed_attrs(&self, si: &SignerInfo, econtent: &[u8]) -> Result<(), VerifyFailure> {
        let single = |o: &const_oid::ObjectIdentifier| -> Result<Vec<u8>, VerifyFailure> {
            let a = si.signed_attr(o).ok_or_else(|| {
                VerifyFailure::Format(format!("signed attribute {} missing", oid::name(o)))
            })?;
            a.single_value()
                .map(<[u8]>::to_vec)
                .map_err(|e| VerifyFailure::Format(e.to_string()))
        };
        let ct = single(&oid::CONTENT_TYPE)?;
        let ct_oid = ber::parse(&ct)
            .and_then(|t| t.oid())
            .map_err(|e| VerifyFailure::Format(e.to_string()))?;
        if ct_oid != self.econtent_type {
            return Err(VerifyFailure::Integrity(
                "contentType attribute differs from eContentType".into(),
            ));
        }
        let md = single(&oid::MESSAGE_DIGEST)?;
        let md = ber::parse(&md)
            .and_then(|t| t.expect_universal(Tag::OCTET_STRING, "messageDigest"))
            .map_err(|e| VerifyFailure::Format(e.to_string()))?;
        if md.content != Sha256::digest(econtent).as_slice() {
            return Err(VerifyFailure::Integrity(
                "message digest does not match the content".into(),
            ));
        }
        if let Some(p) = si.signed_attr(&oid::CMS_ALGORITHM_PROTECTION) {
            let v = p
                .single_value()
                .map_err(|e| VerifyFailure::Format(e.to_string()))?;
            check_algorithm_protection(v, si).map_err(VerifyFailure::Integrity)?;
        }
        Ok(())
    }
}

/// RFC 6211: the protected algorithms must equal those used.
fn check_algorithm_protection(value: &[u8], si: &SignerInfo) -> Result<(), String> {
    let t = ber::parse(value).map_err(|e| e.to_string())?;
    let mut s = Seq::new(t).map_err(|e| e.to_string())?;
    let digest = AlgId::parse(s.next("digestAlgorithm").map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let sig = s.optional_context(1).map_err(|e| e.to_string())?;
    if digest.oid != si.digest_algorithm.oid {
        return Err("CMSAlgorithmProtection digest algorithm differs".into());
    }
    if let Some(sig) = sig {
        let mut a = Seq::new(sig).map_err(|e| e.to_string())?;
        let o = a
            .next("algorithm")
            .and_then(|t| t.oid())
            .map_err(|e| e.to_string())?;
        if o != si.signature_algorithm.oid {
            return Err("CMSAlgorithmProtection signature algorithm differs".into());
        }
    }
    Ok(())
}

fn parse_signer_info(t: ber::Tlv<'_>) -> Result<SignerInfo, ber::BerError> {
    let t = t.expect_universal(Tag::SEQUENCE, "SignerInfo")?;
    let mut s = Seq::new(t)?;
    let version = s.next("version")?.small_uint()?;
    let sid = SignerId::parse(s.next("sid")?)?;
    let digest_algorithm = AlgId::parse(s.next("digestAlgorithm")?)?;
    let (signed_attrs, signed_attrs_der) = match s.optional_context(0)? {
        Some(a) => {
            let mut der_form = a.to_der()?;
            if let Some(first) = der_form.first_mut() {
                *first = 0x31; // the signature covers the EXPLICIT SET OF encoding
            }
            (parse_attributes(a)?, Some(der_form))
        }
        None => (Vec::new(), None),
    };
    let signature_algorithm = AlgId::parse(s.next("signatureAlgorithm")?)?;
    let signature = s
        .next("signature")?
        .expect_universal(Tag::OCTET_STRING, "signature")?
        .octets()?
        .into_owned();
    let unsigned_attrs = match s.optional_context(1)? {
        Some(a) => parse_attributes(a)?,
        None => Vec::new(),
    };
    s.finish()?;
    Ok(SignerInfo {
        version,
        sid,
        digest_algorithm,
        signed_attrs,
        signed_attrs_der,
        signature_algorithm,
        signature,
        unsigned_attrs,
    })
}

/// Validates the signer certificate against trust anchors and intermediates in `pool`:
/// each link's signature, and validity at `at` (Unix seconds) for every certificate.
pub fn check_path(signer: &CertInfo, pool: &[CertInfo], at: i64) -> Result<(), VerifyFailure> {
    let mut current = signer.clone();
    for _ in 0..8 {
        if at < current.not_before || at > current.not_after {
            return Err(VerifyFailure::CertificatePath(format!(
                "certificate {} is not valid at the time checked",
                current.subject_text()
            )));
        }
        let issuer = pool.iter().find(|c| {
            c.subject == current.issuer_serial.issuer
                && keys::verify_certificate_signature(&current, c).is_ok()
        });
        let Some(issuer) = issuer else {
            return Err(VerifyFailure::CertificatePath(format!(
                "no trusted issuer for {}",
                current.subject_text()
            )));
        };
        if issuer.subject == issuer.issuer_serial.issuer {
            if at < issuer.not_before || at > issuer.not_after {
                return Err(VerifyFailure::CertificatePath(format!(
                    "trust anchor {} is not valid at the time checked",
                    issuer.subject_text()
                )));
            }
            return Ok(());
        }
        current = issuer.clone();
    }
    Err(VerifyFailure::CertificatePath(
        "certificate chain too long".into(),
    ))
}

/// Produces signatures for [`build`]. Implemented by the Konnektor simulator's software
/// cards and by test keys; production code never holds such a key.
pub trait CmsSigner {
    /// The signer certificate (C.HCI.OSIG for KIM, KOM-LE-A_2129).
    fn certificate(&self) -> &CertInfo;
    /// The signatureAlgorithm to announce.
    fn signature_algorithm(&self) -> AlgId;
    /// Signs `message` (the signer hashes it with SHA-256).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CmsError>;
}

/// Options of [`build`].
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// signingTime, seconds since the Unix epoch.
    pub signing_time: i64,
    /// Further signed attributes, e.g. recipient-emails (KOM-LE-A_2127).
    pub extra_signed_attrs: Vec<Attribute>,
}

fn sha256_null() -> Vec<u8> {
    der::sequence(&[&der::oid(&oid::SHA256), &der::null()])
}

/// Builds a KOM-LE conformant SignedData ContentInfo (DER) over `econtent`.
pub fn build(
    econtent: &[u8],
    signer: &dyn CmsSigner,
    options: &SignOptions,
) -> Result<Vec<u8>, CmsError> {
    let cert = signer.certificate();
    let sig_alg = signer.signature_algorithm();
    let digest = Sha256::digest(econtent);
    let cert_hash = Sha256::digest(&cert.der);

    let attr = |o: &const_oid::ObjectIdentifier, value: Vec<u8>| Attribute {
        oid: *o,
        values: vec![value],
    };
    let general_names =
        der::sequence(&[&der::context_constructed(4, &[&cert.issuer_serial.issuer])]);
    let ess_issuer_serial =
        der::sequence(&[&general_names, &der::uint_bytes(&cert.issuer_serial.serial)]);
    let ess_cert_id = der::sequence(&[&der::octet_string(&cert_hash), &ess_issuer_serial]);
    let signing_cert_v2 = der::sequence(&[&der::sequence(&[&ess_cert_id])]);
    let sig_alg_der = sig_alg.to_der();
    let protection = der::sequence(&[&sha256_null(), &der::retag(&sig_alg_der, 0xa1)]);
    let mut attrs = vec![
        attr(&oid::CONTENT_TYPE, der::oid(&oid::DATA)),
        attr(&oid::SIGNING_TIME, der::utc_time(options.signing_time)),
        attr(&oid::MESSAGE_DIGEST, der::octet_string(&digest)),
        attr(&oid::CMS_ALGORITHM_PROTECTION, protection),
        attr(&oid::SIGNING_CERTIFICATE_V2, signing_cert_v2),
    ];
    attrs.extend(options.extra_signed_attrs.iter().cloned());
    let encoded: Vec<Vec<u8>> = attrs.iter().map(Attribute::to_der).collect();
    let refs: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
    let signed_attrs_set = der::set_of(&refs);
    let signature = signer.sign(&signed_attrs_set)?;

    let signer_info = der::sequence(&[
        &der::uint(1),
        &cert.issuer_serial.to_der(),
        &sha256_null(),
        &der::retag(&signed_attrs_set, 0xa0),
        &sig_alg_der,
        &der::octet_string(&signature),
    ]);
    // ContentInfo { id-signedData, [0] { SignedData { version, digestAlgorithms,
    // EncapsulatedContentInfo { id-data, [0] { OCTET STRING eContent } }, [0] certificates,
    // signerInfos } } }, with the eContent copied once.
    let ci_oid = der::oid(&oid::SIGNED_DATA);
    let version = der::uint(1);
    let digest_algorithms = der::set_of(&[&sha256_null()]);
    let data_oid = der::oid(&oid::DATA);
    let certificates = der::context_constructed(0, &[&cert.der]);
    let signer_infos = der::set_of(&[&signer_info]);
    Ok(der::nested(
        &[
            (0x30, vec![&ci_oid], vec![]),
            (0xa0, vec![], vec![]),
            (
                0x30,
                vec![&version, &digest_algorithms],
                vec![&certificates, &signer_infos],
            ),
            (0x30, vec![&data_oid], vec![]),
            (0xa0, vec![], vec![]),
        ],
        0x04,
        econtent,
    ))
}
