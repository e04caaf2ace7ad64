//! Reading a received KOM-LE message and the MIME layers inside it (gemSMIME_KOMLE §2.1,
//! gemSpec_CM_KOMLE A_21390, KOM-LE-A_2042, A_21391-02, KOM-LE-A_2048-01).

use std::borrow::Cow;

use super::address::address_set;
use super::content_type::ContentType;
use super::encoding::base64_decode_tolerant;
use super::errors::{MimeError, OuterError, excerpt};
use super::header::HeaderBlock;

/// What the body of a KOM-LE message carries, according to its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OuterContent {
    /// `smime-type=authenticated-enveloped-data`: the profile format.
    AuthEnvelopedData,
    /// `smime-type=enveloped-data`: recognised so that the caller can report the wrong
    /// format (decryption result 02).
    EnvelopedData,
}

/// A received message that declares itself a KOM-LE message.
///
/// `Debug` shows field names and sizes only.
#[derive(Clone)]
pub struct OuterMessage {
    /// The outer header as received.
    pub header: HeaderBlock,
    /// The trimmed value of `X-KOM-LE-Version` as written (check it with
    /// [`version_supported`]).
    pub kom_le_version: String,
    /// The kind of CMS object in the body.
    pub content: OuterContent,
    /// The decoded body: BER/DER ContentInfo.
    pub cms: Vec<u8>,
}

impl std::fmt::Debug for OuterMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OuterMessage")
            .field("header", &self.header)
            .field("kom_le_version", &self.kom_le_version)
            .field("content", &self.content)
            .field("cms_len", &self.cms.len())
            .finish()
    }
}

impl OuterMessage {
    /// Parses a received message.
    ///
    /// Returns [`OuterError::NotKomLe`] if the header cannot be read or has no
    /// `X-KOM-LE-Version` field (the caller passes such a message on unchanged, A_21390), and
    /// [`OuterError::Malformed`] if it has the field but does not follow the profile
    /// (wrong Content-Type or transfer encoding, empty or undecodable body).
    pub fn parse(message: &[u8]) -> Result<Self, OuterError> {
        let (header, body_offset) =
            HeaderBlock::parse(message).map_err(|_| OuterError::NotKomLe)?;
        let kom_le_version = header
            .value("X-KOM-LE-Version")
            .ok_or(OuterError::NotKomLe)?;
        let content = outer_content(&header)?;
        let cte = header
            .value("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        if cte != "base64" {
            return Err(MimeError::UnexpectedHeader {
                field: "Content-Transfer-Encoding",
                expected: "base64",
                found: excerpt(&cte),
            }
            .into());
        }
        let body = message.get(body_offset..).unwrap_or_default();
        let cms = base64_decode_tolerant(body)?;
        if cms.is_empty() {
            return Err(MimeError::EmptyBody.into());
        }
        Ok(Self {
            header,
            kom_le_version,
            content,
            cms,
        })
    }

    /// The trimmed value of `X-KOM-LE-Version` as written.
    pub fn kom_le_version(&self) -> &str {
        &self.kom_le_version
    }
}

/// True if this Clientmodul can process the stated KOM-LE version: `1.0` and `1.5`, and
/// `1.5+` tolerated (A_21391-02).
pub fn version_supported(version: &str) -> bool {
    matches!(version.trim(), "1.0" | "1.5" | "1.5+")
}

fn outer_content(header: &HeaderBlock) -> Result<OuterContent, MimeError> {
    let value = header
        .value("Content-Type")
        .ok_or(MimeError::MissingHeader("Content-Type"))?;
    let unexpected = || MimeError::UnexpectedHeader {
        field: "Content-Type",
        expected: "application/pkcs7-mime; smime-type=authenticated-enveloped-data",
        found: excerpt(&value),
    };
    let ct = ContentType::parse(&value).ok_or_else(unexpected)?;
    if !(ct.is("application/pkcs7-mime") || ct.is("application/x-pkcs7-mime")) {
        return Err(unexpected());
    }
    match ct
        .param("smime-type")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("authenticated-enveloped-data") => Ok(OuterContent::AuthEnvelopedData),
        Some("enveloped-data") => Ok(OuterContent::EnvelopedData),
        _ => Err(unexpected()),
    }
}

/// Reads the signed-data MIME entity that the AuthEnvelopedData decrypts to
/// (KOM-LE-A_2299-01) and returns the CMS SignedData bytes after the empty line.
///
/// Line endings of the header may be CRLF or LF. The profile requires transfer encoding
/// `binary`; `base64` is decoded as well for robustness (hence the `Cow`).
pub fn parse_signed_data_entity(plaintext: &[u8]) -> Result<Cow<'_, [u8]>, MimeError> {
    let (body_offset, base64) = signed_data_body(plaintext)?;
    let body = plaintext.get(body_offset..).unwrap_or_default();
    if base64 {
        Ok(Cow::Owned(base64_decode_tolerant(body)?))
    } else {
        Ok(Cow::Borrowed(body))
    }
}

/// Like [`parse_signed_data_entity`], taking the decrypted entity by value: the SignedData
/// bytes are moved to the front of the same buffer (no second buffer of the message's
/// size for the usual `binary` encoding).
pub fn into_signed_data(mut plaintext: Vec<u8>) -> Result<Vec<u8>, MimeError> {
    let (body_offset, base64) = signed_data_body(&plaintext)?;
    if base64 {
        return base64_decode_tolerant(plaintext.get(body_offset..).unwrap_or_default());
    }
    plaintext.drain(..body_offset);
    Ok(plaintext)
}

/// Checks the entity's header and returns where its (non-empty) body starts and whether
/// the body is base64 (`binary`, `8bit`, `7bit`: not; any other transfer encoding is an
/// error).
fn signed_data_body(plaintext: &[u8]) -> Result<(usize, bool), MimeError> {
    let (header, body_offset) = HeaderBlock::parse(plaintext)?;
    let value = header
        .value("Content-Type")
        .ok_or(MimeError::MissingHeader("Content-Type"))?;
    let ok = ContentType::parse(&value).is_some_and(|ct| {
        (ct.is("application/pkcs7-mime") || ct.is("application/x-pkcs7-mime"))
            && ct
                .param("smime-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("signed-data"))
    });
    if !ok {
        return Err(MimeError::UnexpectedHeader {
            field: "Content-Type",
            expected: "application/pkcs7-mime; smime-type=signed-data",
            found: excerpt(&value),
        });
    }
    if plaintext.get(body_offset..).is_none_or(<[u8]>::is_empty) {
        return Err(MimeError::EmptyBody);
    }
    let cte = header
        .value("Content-Transfer-Encoding")
        .unwrap_or_else(|| "binary".to_owned())
        .to_ascii_lowercase();
    match cte.as_str() {
        "binary" | "8bit" | "7bit" => Ok((body_offset, false)),
        "base64" => Ok((body_offset, true)),
        _ => Err(MimeError::UnexpectedHeader {
            field: "Content-Transfer-Encoding",
            expected: "binary",
            found: excerpt(&cte),
        }),
    }
}

/// Strips the `Content-Type: message/rfc822` header block from the signed eContent and
/// returns the inner message bytes.
pub fn unwrap_rfc822(econtent: &[u8]) -> Result<&[u8], MimeError> {
    let (header, body_offset) = HeaderBlock::parse(econtent)?;
    let value = header
        .value("Content-Type")
        .ok_or(MimeError::MissingHeader("Content-Type"))?;
    if !ContentType::parse(&value).is_some_and(|ct| ct.is("message/rfc822")) {
        return Err(MimeError::UnexpectedHeader {
            field: "Content-Type",
            expected: "message/rfc822",
            found: excerpt(&value),
        });
    }
    let body = econtent.get(body_offset..).unwrap_or_default();
    if body.is_empty() {
        return Err(MimeError::EmptyBody);
    }
    Ok(body)
}

/// Fields compared between the outer and the inner header (KOM-LE-A_2048-01).
pub const COMPARED_FIELDS: [&str; 5] = ["From", "Sender", "Reply-To", "To", "Cc"];

/// KOM-LE-A_2048-01 (integrity ID 08): compares `From`, `Sender`, `Reply-To`, `To` and `Cc`
/// of the outer and the inner header as sets of addr-specs (unfolded, display names and
/// comments ignored, case-insensitive; repeated fields are merged).
///
/// Returns the names of the fields that differ.
pub fn compare_outer_inner(outer: &HeaderBlock, inner: &HeaderBlock) -> Result<(), Vec<String>> {
    let differing: Vec<String> = COMPARED_FIELDS
        .iter()
        .filter(|name| {
            let outer_values: Vec<String> = outer.get_all(name).map(|f| f.value()).collect();
            let inner_values: Vec<String> = inner.get_all(name).map(|f| f.value()).collect();
            address_set(outer_values.iter().map(String::as_str))
                != address_set(inner_values.iter().map(String::as_str))
        })
        .map(|name| (*name).to_owned())
        .collect();
    if differing.is_empty() {
        Ok(())
    } else {
        Err(differing)
    }
}
