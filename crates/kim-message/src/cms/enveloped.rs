//! AuthEnvelopedData (RFC 5083) in the KOM-LE profile (gemSMIME_KOMLE 2.2,
//! KOM-LE-A_2106 … A_2112): read, build with recipients' public keys, and (feature
//! `software-keys`) decrypt.
//!
//! Profile: version 0; no originatorInfo; one RecipientInfo per recipient certificate and
//! one for the sender; content encrypted with AES-256-GCM (12-byte nonce, 16-byte tag, no
//! authAttrs, so the AAD is empty); unauthAttrs `[2]` carrying recipient-emails.
//!
//! Reading is BER-tolerant (Konnektors send indefinite lengths and 1000-byte chunks of
//! encryptedContent). For interoperability, unauthAttrs tagged `[3]` — as OpenSSL up to
//! 3.x writes them (openssl#26101) — are accepted and flagged.

use super::ber::{self, Seq, Tag, Tlv};
use super::common::{AlgId, Attribute, CertInfo, IssuerSerial, parse_attributes};
use super::keys::{self, PublicKey};
use super::recipient_emails::RecipientEmails;
use super::{CmsError, ContentInfo, der, oid};
use aes_gcm::aead::{AeadInOut, KeyInit};

/// How a RecipientInfo or a SignerInfo names a certificate (RFC 5652 RecipientIdentifier /
/// SignerIdentifier: issuerAndSerialNumber or `[0]` subjectKeyIdentifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientId {
    IssuerSerial(IssuerSerial),
    SubjectKeyIdentifier(Vec<u8>),
}

impl RecipientId {
    pub(crate) fn parse(t: Tlv<'_>) -> Result<Self, ber::BerError> {
        if t.tag.is_context(0) {
            return Ok(RecipientId::SubjectKeyIdentifier(t.octets()?.into_owned()));
        }
        Ok(RecipientId::IssuerSerial(IssuerSerial::parse(t)?))
    }

    /// True when this identifies `cert`.
    pub fn matches(&self, cert: &CertInfo) -> bool {
        match self {
            RecipientId::IssuerSerial(is) => *is == cert.issuer_serial,
            RecipientId::SubjectKeyIdentifier(ski) => {
                cert.subject_key_identifier().as_deref() == Some(ski.as_slice())
            }
        }
    }
}

impl std::fmt::Display for RecipientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecipientId::IssuerSerial(is) => is.fmt(f),
            RecipientId::SubjectKeyIdentifier(ski) => {
                write!(f, "subject key id {}", hex::encode(ski))
            }
        }
    }
}

/// One RecipientInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientInfo {
    /// KeyTransRecipientInfo (RSA).
    KeyTrans {
        rid: RecipientId,
        key_encryption_algorithm: AlgId,
        encrypted_key: Vec<u8>,
    },
    /// KeyAgreeRecipientInfo (ECDH, RFC 5753): one entry per recipient key.
    KeyAgree {
        /// The originator's ephemeral public key (uncompressed point) when given as
        /// originatorKey.
        originator_key: Option<Vec<u8>>,
        ukm: Option<Vec<u8>>,
        key_encryption_algorithm: AlgId,
        recipients: Vec<(RecipientId, Vec<u8>)>,
    },
    /// Any other choice (KEK, password, other), by its context tag.
    Other { tag: u32 },
}

impl RecipientInfo {
    /// The recipient identifiers this info addresses.
    pub fn recipient_ids(&self) -> Vec<&RecipientId> {
        match self {
            RecipientInfo::KeyTrans { rid, .. } => vec![rid],
            RecipientInfo::KeyAgree { recipients, .. } => {
                recipients.iter().map(|(r, _)| r).collect()
            }
            RecipientInfo::Other { .. } => Vec::new(),
        }
    }

    fn parse(t: Tlv<'_>) -> Result<Self, ber::BerError> {
        if t.tag.is_universal(Tag::SEQUENCE) {
            let mut s = Seq::new(t)?;
            s.next("version")?.small_uint()?;
            let rid = RecipientId::parse(s.next("rid")?)?;
            let key_encryption_algorithm = AlgId::parse(s.next("keyEncryptionAlgorithm")?)?;
            let encrypted_key = s
                .next("encryptedKey")?
                .expect_universal(Tag::OCTET_STRING, "encryptedKey")?
                .octets()?
                .into_owned();
            s.finish()?;
            return Ok(RecipientInfo::KeyTrans {
                rid,
                key_encryption_algorithm,
                encrypted_key,
            });
        }
        if t.tag.is_context(1) && t.tag.constructed {
            return parse_kari(t);
        }
        Ok(RecipientInfo::Other { tag: t.tag.number })
    }
}

fn parse_kari(t: Tlv<'_>) -> Result<RecipientInfo, ber::BerError> {
    let mut s = Seq::new(t)?;
    s.next("version")?.small_uint()?;
    let orig = Seq::new(s.next("originator")?)?.next("OriginatorIdentifierOrKey")?;
    let originator_key = if orig.tag.is_context(1) {
        let mut o = Seq::new(orig)?;
        o.next("algorithm")?;
        Some(super::common::bit_string_bytes(&o.next("publicKey")?)?)
    } else {
        None
    };
    let ukm = match s.optional_context(1)? {
        Some(u) => Some(Seq::new(u)?.next("ukm")?.octets()?.into_owned()),
        None => None,
    };
    let key_encryption_algorithm = AlgId::parse(s.next("keyEncryptionAlgorithm")?)?;
    let mut recipients = Vec::new();
    for rek in s.next("recipientEncryptedKeys")?.children() {
        let mut r = Seq::new(rek?)?;
        let rid_t = r.next("rid")?;
        let rid = if rid_t.tag.is_context(0) {
            // RecipientKeyIdentifier: the subjectKeyIdentifier is its first field.
            let ski = Seq::new(rid_t)?
                .next("subjectKeyIdentifier")?
                .octets()?
                .into_owned();
            RecipientId::SubjectKeyIdentifier(ski)
        } else {
            RecipientId::IssuerSerial(IssuerSerial::parse(rid_t)?)
        };
        let ek = r.next("encryptedKey")?.octets()?.into_owned();
        recipients.push((rid, ek));
    }
    s.finish()?;
    Ok(RecipientInfo::KeyAgree {
        originator_key,
        ukm,
        key_encryption_algorithm,
        recipients,
    })
}

/// A parsed AuthEnvelopedData.
#[derive(Debug, Clone)]
pub struct AuthEnvelopedData {
    pub version: u64,
    pub originator_info_present: bool,
    pub recipient_infos: Vec<RecipientInfo>,
    pub content_type: const_oid::ObjectIdentifier,
    pub content_encryption_algorithm: AlgId,
    /// GCM nonce and tag length from GCMParameters.
    pub nonce: Vec<u8>,
    pub icv_len: u64,
    pub encrypted_content: Vec<u8>,
    /// DER of authAttrs with the SET OF tag (the GCM AAD), when present.
    pub auth_attrs_der: Option<Vec<u8>>,
    pub mac: Vec<u8>,
    pub unauth_attrs: Vec<Attribute>,
    /// True when unauthAttrs were tagged `[3]` (OpenSSL's encoding, openssl#26101).
    pub unauth_attrs_openssl_tag: bool,
}

impl AuthEnvelopedData {
    /// Reads a ContentInfo holding AuthEnvelopedData. EnvelopedData is a profile error
    /// (gemSMIME_KOMLE requires AuthEnvelopedData).
    pub fn parse(bytes: &[u8]) -> Result<Self, CmsError> {
        Self::parse_with(bytes, true)
    }

    /// Like [`Self::parse`], but leaves `encrypted_content` empty: for reading the
    /// recipient infos and attributes of a message whose ContentInfo goes whole to a
    /// Konnektor, without a copy of the ciphertext.
    pub fn parse_without_content(bytes: &[u8]) -> Result<Self, CmsError> {
        Self::parse_with(bytes, false)
    }

    fn parse_with(bytes: &[u8], with_content: bool) -> Result<Self, CmsError> {
        let ci = ContentInfo::parse(bytes)?;
        if ci.content_type == oid::ENVELOPED_DATA {
            return Err(CmsError::Profile(
                "EnvelopedData instead of AuthEnvelopedData (gemSMIME_KOMLE 2.2)".into(),
            ));
        }
        if ci.content_type != oid::AUTH_ENVELOPED_DATA {
            return Err(CmsError::Profile(format!(
                "content type is {}, expected id-ct-authEnvelopedData",
                oid::name(&ci.content_type)
            )));
        }
        Ok(Self::from_tlv(ci.content, with_content)?)
    }

    fn from_tlv(t: Tlv<'_>, with_content: bool) -> Result<Self, ber::BerError> {
        let t = t.expect_universal(Tag::SEQUENCE, "AuthEnvelopedData")?;
        let mut s = Seq::new(t)?;
        let version = s.next("version")?.small_uint()?;
        let originator_info_present = s.optional_context(0)?.is_some();
        let recipient_infos = s
            .next("recipientInfos")?
            .expect_universal(Tag::SET, "recipientInfos")?
            .children()
            .map(|r| r.and_then(RecipientInfo::parse))
            .collect::<Result<Vec<_>, _>>()?;
        let eci = s
            .next("authEncryptedContentInfo")?
            .expect_universal(Tag::SEQUENCE, "EncryptedContentInfo")?;
        let mut e = Seq::new(eci)?;
        let content_type = e.next("contentType")?.oid()?;
        let alg_t = e.next("contentEncryptionAlgorithm")?;
        let content_encryption_algorithm = AlgId::parse(alg_t)?;
        let (nonce, icv_len) = gcm_params(&content_encryption_algorithm, alg_t.offset)?;
        let encrypted_content = match e.optional_context(0)? {
            Some(c) if with_content => c.octets()?.into_owned(),
            _ => Vec::new(),
        };
        e.finish()?;
        let auth_attrs_der = match s.optional_context(1)? {
            Some(a) => {
                let mut d = a.to_der()?;
                if let Some(first) = d.first_mut() {
                    *first = 0x31;
                }
                Some(d)
            }
            None => None,
        };
        let mac = s
            .next("mac")?
            .expect_universal(Tag::OCTET_STRING, "mac")?
            .octets()?
            .into_owned();
        let (unauth_attrs, unauth_attrs_openssl_tag) = match s.optional_context(2)? {
            Some(u) => (parse_attributes(u)?, false),
            None => match s.optional_context(3)? {
                Some(u) => (parse_attributes(u)?, true),
                None => (Vec::new(), false),
            },
        };
        s.finish()?;
        Ok(AuthEnvelopedData {
            version,
            originator_info_present,
            recipient_infos,
            content_type,
            content_encryption_algorithm,
            nonce,
            icv_len,
            encrypted_content,
            auth_attrs_der,
            mac,
            unauth_attrs,
            unauth_attrs_openssl_tag,
        })
    }

    /// The recipient-emails of the unauthenticated attributes (KOM-LE-A_2107), readable
    /// before decryption.
    pub fn recipient_emails(&self) -> Result<RecipientEmails, CmsError> {
        let attr = self
            .unauth_attrs
            .iter()
            .find(|a| a.oid == oid::RECIPIENT_EMAILS)
            .ok_or_else(|| {
                CmsError::Profile("no recipient-emails in unauthAttrs (KOM-LE-A_2107)".into())
            })?;
        RecipientEmails::from_attribute(attr)
    }

    /// Deviations from the KOM-LE AuthEnvelopedData profile (empty when conformant).
    pub fn profile_findings(&self) -> Vec<String> {
        let mut f = Vec::new();
        if self.version != 0 {
            f.push(format!("version {} (expected 0)", self.version));
        }
        if self.originator_info_present {
            f.push("originatorInfo present (KOM-LE-A_2106)".into());
        }
        if self.content_type != oid::DATA {
            f.push("encrypted content type is not id-data".into());
        }
        if self.content_encryption_algorithm.oid != oid::AES256_GCM {
            f.push(format!(
                "content encryption {} (KOM-LE-A_2112: AES-256-GCM)",
                self.content_encryption_algorithm
            ));
        }
        if self.unauth_attrs.is_empty() {
            f.push("no unauthAttrs (KOM-LE-A_2107)".into());
        }
        if self.unauth_attrs_openssl_tag {
            f.push("unauthAttrs tagged [3] instead of [2] (OpenSSL encoding)".into());
        }
        if self.auth_attrs_der.is_some() {
            f.push("authAttrs present (not used by KOM-LE)".into());
        }
        f
    }

    /// Decrypts the content with a content-encryption key (copying the ciphertext; see
    /// [`Self::into_plaintext`] to decrypt in place).
    pub fn decrypt_content(&self, cek: &[u8]) -> Result<Vec<u8>, CmsError> {
        let mut buf = self.encrypted_content.clone();
        self.decrypt_buffer(cek, &mut buf)?;
        Ok(buf)
    }

    /// Decrypts the content in place, consuming the structure: the plaintext reuses the
    /// ciphertext's buffer, so a large message is held once.
    pub fn into_plaintext(mut self, cek: &[u8]) -> Result<Vec<u8>, CmsError> {
        let mut buf = std::mem::take(&mut self.encrypted_content);
        self.decrypt_buffer(cek, &mut buf)?;
        Ok(buf)
    }

    fn decrypt_buffer(&self, cek: &[u8], buf: &mut [u8]) -> Result<(), CmsError> {
        if self.content_encryption_algorithm.oid != oid::AES256_GCM {
            return Err(CmsError::Unsupported(format!(
                "content encryption {}",
                self.content_encryption_algorithm
            )));
        }
        if self.nonce.len() != 12 || self.icv_len != 16 || self.mac.len() != 16 {
            return Err(CmsError::Unsupported(format!(
                "AES-GCM with a {}-byte nonce and {}-byte tag",
                self.nonce.len(),
                self.mac.len()
            )));
        }
        let cipher = aes_gcm::Aes256Gcm::new_from_slice(cek)
            .map_err(|_| CmsError::Decryption("content-encryption key is not 32 bytes".into()))?;
        let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(self.nonce.as_slice())
            .map_err(|_| CmsError::Decryption("nonce length".into()))?;
        let tag = aes_gcm::Tag::<aes_gcm::aead::consts::U16>::try_from(self.mac.as_slice())
            .map_err(|_| CmsError::Decryption("tag length".into()))?;
        let aad = self.auth_attrs_der.as_deref().unwrap_or_default();
        cipher
            .decrypt_inout_detached(&nonce, aad, buf.into(), &tag)
            .map_err(|_| {
                CmsError::Decryption(
                    "authentication tag mismatch: wrong key or altered message".into(),
                )
            })
    }
}

fn gcm_params(alg: &AlgId, offset: usize) -> Result<(Vec<u8>, u64), ber::BerError> {
    let Some(p) = &alg.params else {
        return Ok((Vec::new(), 0));
    };
    if alg.oid != oid::AES256_GCM {
        return Ok((Vec::new(), 0));
    }
    let t = ber::parse(p)?;
    let mut s = Seq::new(t)?;
    let nonce = s
        .next("aes-nonce")?
        .expect_universal(Tag::OCTET_STRING, "aes-nonce")?
        .octets()?
        .into_owned();
    let icv = match s.optional_universal(Tag::INTEGER)? {
        Some(i) => i.small_uint()?,
        None => 12,
    };
    s.finish().map_err(|_| ber::BerError::Invalid {
        offset,
        what: "GCMParameters has extra fields".into(),
    })?;
    Ok((nonce, icv))
}

/// Output encoding of [`build`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// DER, definite lengths.
    Der,
    /// BER as Konnektors emit it: indefinite lengths on the outer structures and the
    /// encryptedContent as a constructed `[0]` of OCTET STRING chunks of this size.
    BerChunked(usize),
}

/// Builds an AuthEnvelopedData ContentInfo for the given recipient certificates.
///
/// `cek` and `nonce` are fresh random values supplied by the caller (no RNG inside);
/// `rng` feeds the key transport padding.
pub fn build(
    plaintext: &[u8],
    recipients: &[CertInfo],
    unauth_attrs: &[Attribute],
    cek: &[u8; 32],
    nonce: &[u8; 12],
    rng: &mut (impl rand_core::TryCryptoRng + ?Sized),
    encoding: Encoding,
) -> Result<Vec<u8>, CmsError> {
    build_owned(
        plaintext.to_vec(),
        recipients,
        unauth_attrs,
        cek,
        nonce,
        rng,
        encoding,
    )
}

/// [`build`] taking the plaintext by value: it is encrypted in place, so the content is held
/// twice at most (ciphertext and output) instead of three times.
pub fn build_owned(
    plaintext: Vec<u8>,
    recipients: &[CertInfo],
    unauth_attrs: &[Attribute],
    cek: &[u8; 32],
    nonce: &[u8; 12],
    rng: &mut (impl rand_core::TryCryptoRng + ?Sized),
    encoding: Encoding,
) -> Result<Vec<u8>, CmsError> {
    if recipients.is_empty() {
        return Err(CmsError::Profile("no recipient certificates".into()));
    }
    let mut infos = Vec::with_capacity(recipients.len());
    for cert in recipients {
        match PublicKey::from_cert(cert)? {
            PublicKey::Rsa(k) => {
                let ek = keys::oaep_encrypt(&k, cek, rng)?;
                infos.push(der::sequence(&[
                    &der::uint(0),
                    &cert.issuer_serial.to_der(),
                    &keys::rsaes_oaep_sha256().to_der(),
                    &der::octet_string(&ek),
                ]));
            }
            PublicKey::Brainpool(k) => infos.push(super::kari::build(cert, &k, cek, rng)?),
        }
    }
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(cek)
        .map_err(|_| CmsError::Crypto("key length".into()))?;
    let nonce_arr = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::from(*nonce);
    let mut ciphertext = plaintext;
    let tag = cipher
        .encrypt_inout_detached(&nonce_arr, &[], ciphertext.as_mut_slice().into())
        .map_err(|_| CmsError::Crypto("AES-GCM encryption".into()))?;

    let info_refs: Vec<&[u8]> = infos.iter().map(Vec::as_slice).collect();
    let gcm_alg = AlgId::new(
        oid::AES256_GCM,
        Some(der::sequence(&[&der::octet_string(nonce), &der::uint(16)])),
    )
    .to_der();
    let attrs: Vec<Vec<u8>> = unauth_attrs.iter().map(Attribute::to_der).collect();
    let attr_refs: Vec<&[u8]> = attrs.iter().map(Vec::as_slice).collect();
    let unauth = (!attrs.is_empty()).then(|| der::retag(&der::set_of(&attr_refs), 0xa2));
    let parts = Parts {
        recipient_infos: der::set_of(&info_refs),
        gcm_alg,
        ciphertext,
        mac: der::octet_string(tag.as_slice()),
        unauth,
    };
    Ok(match encoding {
        Encoding::Der => parts.der(),
        Encoding::BerChunked(chunk) => parts.ber(chunk.max(1)),
    })
}

struct Parts {
    recipient_infos: Vec<u8>,
    gcm_alg: Vec<u8>,
    ciphertext: Vec<u8>,
    mac: Vec<u8>,
    unauth: Option<Vec<u8>>,
}

impl Parts {
    fn der(&self) -> Vec<u8> {
        // ContentInfo { id-ct-authEnvelopedData, [0] { AuthEnvelopedData { version,
        // recipientInfos, EncryptedContentInfo { id-data, algorithm, [0] IMPLICIT ciphertext },
        // mac, [2] unauthAttrs } } }, with the ciphertext copied once.
        let ci_oid = der::oid(&oid::AUTH_ENVELOPED_DATA);
        let data_oid = der::oid(&oid::DATA);
        let version: &[u8] = &[0x02, 0x01, 0x00];
        let mut after: Vec<&[u8]> = vec![&self.mac];
        if let Some(u) = &self.unauth {
            after.push(u);
        }
        der::nested(
            &[
                (0x30, vec![&ci_oid], vec![]),
                (0xa0, vec![], vec![]),
                (0x30, vec![version, &self.recipient_infos], after),
                (0x30, vec![&data_oid, &self.gcm_alg], vec![]),
            ],
            0x80,
            &self.ciphertext,
        )
    }

    fn ber(&self, chunk: usize) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(self.ciphertext.len() + self.ciphertext.len() / chunk * 4 + 4096);
        out.extend_from_slice(&[0x30, 0x80]);
        out.extend_from_slice(&der::oid(&oid::AUTH_ENVELOPED_DATA));
        out.extend_from_slice(&[0xa0, 0x80, 0x30, 0x80]);
        out.extend_from_slice(&der::uint(0));
        out.extend_from_slice(&self.recipient_infos);
        out.extend_from_slice(&[0x30, 0x80]);
        out.extend_from_slice(&der::oid(&oid::DATA));
        out.extend_from_slice(&self.gcm_alg);
        out.extend_from_slice(&[0xa0, 0x80]);
        for c in self.ciphertext.chunks(chunk) {
            out.extend_from_slice(&der::octet_string(c));
        }
        out.extend_from_slice(&[0, 0, 0, 0]); // end of [0], end of EncryptedContentInfo
        out.extend_from_slice(&self.mac);
        if let Some(u) = &self.unauth {
            out.extend_from_slice(u);
        }
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // AuthEnvelopedData, [0], ContentInfo
        out
    }
}
