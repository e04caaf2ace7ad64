//! CMS (RFC 5652, RFC 5083) as the KOM-LE profile uses it (gemSMIME_KOMLE 2.2, 2.3).
//!
//! - [`ber`]: a BER-tolerant reader (indefinite lengths, chunked strings), [`der`]: a
//!   minimal DER writer.
//! - [`signed`]: SignedData — parse, verify, build (the builder takes any [`signed::CmsSigner`],
//!   so the Konnektor simulator signs with software cards and tests with test keys).
//! - [`enveloped`]: AuthEnvelopedData — parse, build (public keys only), and with the
//!   `software-keys` feature decrypt.
//! - [`recipient_emails`]: the recipient-emails attribute (OID 1.2.276.0.76.4.173).
//! - [`soft`] (feature `software-keys`): software private keys. Production daemons never
//!   enable it: in the TI only the Konnektor holds card keys.
//!
//! Invariants: no input panics; every error names what was wrong; foreign structures are
//! compared field by field (OIDs, issuer and serial), never as whole byte strings.

pub mod ber;
pub mod common;
pub mod der;
pub mod enveloped;
pub mod kari;
pub mod keys;
pub mod oid;
pub mod recipient_emails;
pub mod signed;
#[cfg(feature = "software-keys")]
pub mod soft;

pub use common::{AlgId, Attribute, CertInfo, IssuerSerial};
pub use enveloped::{AuthEnvelopedData, RecipientId, RecipientInfo};
pub use recipient_emails::{RecipientEmail, RecipientEmails};
pub use signed::{SignedData, SignerInfo};

/// Errors of CMS processing, split by cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmsError {
    /// The bytes are not a valid BER encoding.
    #[error("malformed ASN.1: {0}")]
    Encoding(#[from] ber::BerError),
    /// Well-formed, but not what the profile requires (wrong content type, missing field).
    #[error("not conformant to the KOM-LE profile: {0}")]
    Profile(String),
    /// An algorithm or structure this implementation does not handle.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A certificate could not be read.
    #[error("certificate: {0}")]
    Certificate(String),
    /// No RecipientInfo matches the key offered for decryption.
    #[error("no recipient info for {0}")]
    NoMatchingRecipient(String),
    /// Key transport or content decryption failed (wrong key, altered data: GCM tag).
    #[error("decryption failed: {0}")]
    Decryption(String),
    /// A cryptographic primitive failed while creating a structure.
    #[error("crypto: {0}")]
    Crypto(String),
}

/// A ContentInfo: the content type and its `[0] EXPLICIT` content.
#[derive(Debug, Clone, Copy)]
pub struct ContentInfo<'a> {
    pub content_type: const_oid::ObjectIdentifier,
    pub content: ber::Tlv<'a>,
}

impl<'a> ContentInfo<'a> {
    /// Reads a ContentInfo (BER or DER) spanning all of `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CmsError> {
        let top = ber::parse(bytes)?.expect_universal(ber::Tag::SEQUENCE, "ContentInfo")?;
        let mut s = ber::Seq::new(top)?;
        let content_type = s.next("contentType")?.oid()?;
        let wrapper = s.next("content")?;
        if !wrapper.tag.is_context(0) {
            return Err(wrapper.unexpected("[0] content").into());
        }
        s.finish()?;
        let content = ber::Seq::new(wrapper)?.next("content")?;
        Ok(ContentInfo {
            content_type,
            content,
        })
    }
}

/// Wraps encoded content into a DER ContentInfo.
pub fn content_info_der(content_type: &const_oid::ObjectIdentifier, content: &[u8]) -> Vec<u8> {
    der::sequence(&[
        &der::oid(content_type),
        &der::context_constructed(0, &[content]),
    ])
}
