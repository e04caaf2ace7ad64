//! The cryptographic operations (konnektor.md §6.6–6.10, §8): SignDocument, VerifyDocument,
//! EncryptDocument, DecryptDocument, ExternalAuthenticate.
//!
//! Choices where the specification leaves room (documented for the simulator):
//! - SignDocument without `Crypt` signs with RSA (as a 7.4 Konnektor without ECC would);
//!   `RSA_ECC` means ECC when the card has an ECC key, else RSA; a missing algorithm is 4258.
//! - VerifyDocument: 4112 (not SignedData / malformed), 4253 (no SignerInfo), 4115
//!   (digest or signature mismatch) give INVALID; 4206 (path not validatable against the
//!   trust store) and 4264 (mathematically correct, certificate status unknown: the
//!   "OCSP unavailable" knob) give INCONCLUSIVE. The code is reported in `CONN:Status`
//!   (Result `Warning` with a trace), not as a fault.
//! - EncryptDocument rejects a recipient certificate that does not chain to the trust store
//!   or is outside its validity with fault 4206, naming the certificate.
//! - DecryptDocument with no RecipientInfo for the selected card key: fault 4001 with a
//!   trace naming the card's certificates.

use kim_message::cms::enveloped::Encoding;
use kim_message::cms::signed::{SignOptions, VerifyFailure};
use kim_message::cms::{Attribute, AuthEnvelopedData, CertInfo, SignedData};

use crate::cards::AuthScheme;
use crate::config::MAX_DOCUMENT_BYTES;
use crate::fault::Fault;
use crate::model::{Context, Crypt, CryptChoice, KeyRole};
use crate::ops::Konnektor;

/// Chunk size of the BER-encoded encryptedContent, as real Konnektors emit it.
pub const CONTENT_CHUNK: usize = 4096;

/// SignDocument input (one SignRequest).
#[derive(Debug, Clone)]
pub struct SignInput {
    pub card_handle: String,
    pub crypt: Option<CryptChoice>,
    /// DER Attributes from `dss:SignedProperties` (e.g. recipient-emails, KOM-LE-A_2127).
    pub signed_attributes: Vec<Vec<u8>>,
    /// `SIG:IncludeEContent`; KIM requires `true` (opaque signature, KOM-LE-A_2103).
    pub include_econtent: bool,
    pub document: Vec<u8>,
}

/// VerifyDocument outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocVerification {
    /// `VALID`, `INCONCLUSIVE`, `INVALID`.
    pub high_level: &'static str,
    pub code: Option<u32>,
    pub detail: String,
    /// The signer certificate when it could be found.
    pub signer: Option<Vec<u8>>,
    /// Stage results for the verification report: (format, mathematics, path); `None` =
    /// not reached.
    pub stages: (Option<bool>, Option<bool>, Option<bool>),
}

/// EncryptDocument input.
#[derive(Debug, Clone)]
pub struct EncryptInput {
    pub certificates: Vec<Vec<u8>>,
    /// `CertificateOnCard`: the card's own ENC certificate is added as a recipient.
    pub certificate_on_card: Option<(String, Option<CryptChoice>)>,
    pub document: Vec<u8>,
    /// DER Attributes from `CRYPT:UnprotectedProperties` (KOM-LE-A_2107).
    pub unprotected_attributes: Vec<Vec<u8>>,
}

/// ExternalAuthenticate `dss:SignatureType` values.
pub const SIG_TYPE_RSA: &str = "urn:ietf:rfc:3447";
/// ECDSA per BSI TR-03111 (plain R||S).
pub const SIG_TYPE_ECDSA: &str = "urn:bsi:tr:03111:ecdsa";

fn check_size(len: usize) -> Result<(), Fault> {
    if len > MAX_DOCUMENT_BYTES {
        return Err(Fault::new(
            4280,
            format!("document of {len} bytes exceeds {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    Ok(())
}

fn parse_attributes(list: &[Vec<u8>], what: &str) -> Result<Vec<Attribute>, Fault> {
    list.iter()
        .map(|der| {
            Attribute::from_der(der)
                .map_err(|e| Fault::new(4000, format!("{what}: not a DER CMS Attribute: {e}")))
        })
        .collect()
}

fn random<const N: usize>() -> Result<[u8; N], Fault> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Fault::internal(format!("random source: {e}")))?;
    Ok(b)
}

impl Konnektor {
    /// SignDocument: an opaque CMS SignedData per konnektor.md §8.1 with the card's
    /// OSIG (SMC-B) or QES (HBA) key.
    pub fn sign_document(&self, ctx: &Context, input: SignInput) -> Result<Vec<u8>, Fault> {
        self.access_card(ctx, &input.card_handle)?;
        check_size(input.document.len())?;
        if !input.include_econtent {
            return Err(Fault::new(
                4111,
                "detached CMS signatures are not supported (IncludeEContent=false)",
            ));
        }
        let attrs = parse_attributes(&input.signed_attributes, "SignedProperties")?;
        let key = self.cards.private_key(
            &input.card_handle,
            KeyRole::Sig,
            input.crypt.unwrap_or(CryptChoice::Rsa),
        )?;
        let options = SignOptions {
            signing_time: crate::clock::now_unix(),
            extra_signed_attrs: attrs,
        };
        kim_message::cms::signed::build(&input.document, &key, &options)
            .map_err(|e| Fault::internal(format!("signing failed: {e}")))
    }

    /// VerifyDocument of an enveloping CMS signature.
    pub fn verify_document(
        &self,
        ctx: &Context,
        signature: &[u8],
        at: Option<i64>,
    ) -> Result<DocVerification, Fault> {
        self.model.check_context(ctx)?;
        check_size(signature.len())?;
        let verdict = |high_level, code, detail: String, signer, stages| DocVerification {
            high_level,
            code,
            detail,
            signer,
            stages,
        };
        let sd = match SignedData::parse(signature) {
            Ok(sd) => sd,
            Err(e) => {
                let stages = (Some(false), None, None);
                return Ok(verdict("INVALID", Some(4112), e.to_string(), None, stages));
            }
        };
        let signer = match sd.verify(&[]) {
            Ok(cert) => cert,
            Err(f) => {
                let (level, code, stages) = match &f {
                    VerifyFailure::Integrity(_) => {
                        ("INVALID", 4115, (Some(true), Some(false), None))
                    }
                    VerifyFailure::NoSignature => ("INVALID", 4253, (Some(false), None, None)),
                    VerifyFailure::Format(_) | VerifyFailure::Other(_) => {
                        ("INVALID", 4112, (Some(false), None, None))
                    }
                    VerifyFailure::CertificatePath(_) => {
                        ("INCONCLUSIVE", 4206, (Some(true), None, Some(false)))
                    }
                };
                let der = sd.signer_certificate(&[]).ok().map(|c| c.der);
                return Ok(verdict(level, Some(code), f.to_string(), der, stages));
            }
        };
        let at = at.unwrap_or_else(crate::clock::now_unix);
        let der = Some(signer.der.clone());
        if let Err(e) = kim_message::cms::signed::check_path(&signer, &self.trust, at) {
            let stages = (Some(true), Some(true), Some(false));
            return Ok(verdict(
                "INCONCLUSIVE",
                Some(4206),
                e.to_string(),
                der,
                stages,
            ));
        }
        if self.ocsp_unavailable() {
            return Ok(verdict(
                "INCONCLUSIVE",
                Some(4264),
                "signature mathematically correct; certificate status not available".into(),
                der,
                (Some(true), Some(true), None),
            ));
        }
        let stages = (Some(true), Some(true), Some(true));
        Ok(verdict("VALID", None, String::new(), der, stages))
    }

    /// EncryptDocument: AuthEnvelopedData (AES-256-GCM) per konnektor.md §8.2, BER with
    /// indefinite lengths and a chunked encryptedContent.
    pub fn encrypt_document(&self, ctx: &Context, input: EncryptInput) -> Result<Vec<u8>, Fault> {
        self.model.check_context(ctx)?;
        check_size(input.document.len())?;
        let now = crate::clock::now_unix();
        let mut recipients = Vec::new();
        for (i, der) in input.certificates.iter().enumerate() {
            let cert = CertInfo::parse(der).map_err(|e| {
                Fault::new(4000, format!("recipient certificate {i} unreadable: {e}"))
            })?;
            kim_message::cms::signed::check_path(&cert, &self.trust, now).map_err(|e| {
                Fault::new(
                    4206,
                    format!(
                        "recipient certificate {} rejected: {e}",
                        cert.subject_text()
                    ),
                )
            })?;
            recipients.push(cert);
        }
        if let Some((handle, crypt)) = &input.certificate_on_card {
            self.access_card(ctx, handle)?;
            let crypt = match crypt {
                Some(CryptChoice::Ecc) => Crypt::Ecc,
                Some(CryptChoice::RsaEcc) => {
                    match self.cards.certificate(handle, KeyRole::Enc, Crypt::Ecc) {
                        Ok(_) => Crypt::Ecc,
                        Err(_) => Crypt::Rsa,
                    }
                }
                Some(CryptChoice::Rsa) | None => Crypt::Rsa,
            };
            recipients.push(self.cards.certificate(handle, KeyRole::Enc, crypt)?);
        }
        if recipients.is_empty() {
            return Err(Fault::new(4000, "RecipientKeys holds no certificate"));
        }
        let attrs = parse_attributes(&input.unprotected_attributes, "UnprotectedProperties")?;
        let cek = zeroize::Zeroizing::new(random::<32>()?);
        let nonce = random::<12>()?;
        let mut rng = getrandom::SysRng;
        kim_message::cms::enveloped::build_owned(
            input.document,
            &recipients,
            &attrs,
            &cek,
            &nonce,
            &mut rng,
            Encoding::BerChunked(CONTENT_CHUNK),
        )
        .map_err(|e| Fault::internal(format!("encryption failed: {e}")))
    }

    /// DecryptDocument with the card's ENC key selected by `crypt` (all ENC keys if absent).
    pub fn decrypt_document(
        &self,
        ctx: &Context,
        handle: &str,
        crypt: Option<CryptChoice>,
        document: &[u8],
    ) -> Result<Vec<u8>, Fault> {
        self.access_card(ctx, handle)?;
        check_size(document.len())?;
        let keys = self.cards.private_keys(handle, KeyRole::Enc, crypt)?;
        let env = AuthEnvelopedData::parse(document).map_err(|e| {
            Fault::internal(format!("document is not a CMS AuthEnvelopedData: {e}"))
        })?;
        let Some(key) = keys.iter().find(|k| k.is_recipient_of(&env)) else {
            let names: Vec<String> = keys
                .iter()
                .map(|k| k.certificate.issuer_serial.to_string())
                .collect();
            return Err(Fault::internal(format!(
                "no RecipientInfo for the card's ENC key ({})",
                names.join("; ")
            )));
        };
        key.decrypt(env)
            .map_err(|e| Fault::internal(format!("decryption failed: {e}")))
    }

    /// ExternalAuthenticate with the AUT key over a 32-byte SHA-256 hash (not hashed again).
    /// Returns the signature and the `SignatureType` it was made with.
    pub fn external_authenticate(
        &self,
        ctx: &Context,
        handle: &str,
        signature_type: Option<&str>,
        scheme: Option<&str>,
        hash: &[u8],
    ) -> Result<(Vec<u8>, &'static str), Fault> {
        self.access_card(ctx, handle)?;
        let (crypt, sig_type) = match signature_type {
            None | Some(SIG_TYPE_RSA) => (CryptChoice::Rsa, SIG_TYPE_RSA),
            Some(SIG_TYPE_ECDSA) => (CryptChoice::Ecc, SIG_TYPE_ECDSA),
            Some(other) => {
                return Err(Fault::new(
                    4111,
                    format!("SignatureType {other} not supported"),
                ));
            }
        };
        let auth_scheme = match (crypt, scheme) {
            (CryptChoice::Rsa, None | Some("RSASSA-PSS")) => AuthScheme::RsaPss,
            (CryptChoice::Rsa, Some("RSASSA-PKCS1-v1_5")) => AuthScheme::RsaPkcs1,
            (CryptChoice::Ecc, None) => AuthScheme::Ecdsa,
            (_, Some(s)) => {
                return Err(Fault::new(
                    4111,
                    format!("SignatureSchemes {s} does not fit {sig_type}"),
                ));
            }
            (CryptChoice::RsaEcc, None) => AuthScheme::Ecdsa,
        };
        let key = self.cards.private_key(handle, KeyRole::Aut, crypt)?;
        Ok((key.sign_hash(hash, auth_scheme)?, sig_type))
    }
}
