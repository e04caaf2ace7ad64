//! Building the messages the sending Clientmodul produces (gemSMIME_KOMLE §2,
//! gemSpec_CM_KOMLE: KOM-LE-A_2097 … A_2102, A_19488-02, KOM-LE-A_2299-01, A_21388-01,
//! A_22417-01, A_23467, KOM-LE-A_2029).

use std::borrow::Cow;

use super::encoding::{base64_decode_tolerant, base64_lines_into, qp_decode};
use super::entity::Entity;
use super::errors::MimeError;
use super::header::{HeaderBlock, HeaderField};
use super::lines::to_crlf;
use super::texts::SUBJECT_OUTER;

/// Header name of the Dienstkennung (gemSpec_CM_KOMLE §2.7).
pub const DIENSTKENNUNG: &str = "X-KIM-Dienstkennung";
/// Default Dienstkennung inserted when the client set none (A_19488-02).
pub const DEFAULT_DIENSTKENNUNG: &str = "KIM-Mail;Default;V1.0";

/// A Client-Mail after the header processing of the sending Clientmodul.
///
/// `Debug` shows only sizes and the Dienstkennung: the mail is health data.
#[derive(Clone, PartialEq, Eq)]
pub struct PreparedMail {
    /// The mail in canonical form (CRLF), with `X-KIM-Dienstkennung` present.
    pub bytes: Vec<u8>,
    /// The Dienstkennung of the mail (the client's, or the inserted default).
    pub dienstkennung: String,
    /// True if the default Dienstkennung was inserted.
    pub dienstkennung_inserted: bool,
    /// The unfolded Message-ID value.
    pub message_id: String,
}

impl std::fmt::Debug for PreparedMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedMail")
            .field("len", &self.bytes.len())
            .field("dienstkennung", &self.dienstkennung)
            .field("dienstkennung_inserted", &self.dienstkennung_inserted)
            .finish_non_exhaustive()
    }
}

/// Prepares a Client-Mail for signing: converts it to CRLF, checks that it consists of a
/// header block and a body and carries a Message-ID (ILF: mandatory), and inserts
/// `X-KIM-Dienstkennung: KIM-Mail;Default;V1.0` at the end of the header if absent
/// (A_19488-02; the position matches the gematik sample `inputEmail.txt.01.rfc822wrap`).
pub fn prepare_client_mail(mail: &[u8]) -> Result<PreparedMail, MimeError> {
    let crlf = to_crlf(mail);
    let (header, body_offset) = prepared_header(&crlf)?;
    let body = crlf.get(body_offset..).unwrap_or_default();
    let mut bytes = Vec::with_capacity(header.bytes.len() + body.len());
    bytes.extend_from_slice(&header.bytes);
    bytes.extend_from_slice(body);
    Ok(header.with_bytes(bytes))
}

/// Like [`prepare_client_mail`], taking the Client-Mail by value: a mail that already has
/// CRLF line ends gets its new header block in the same buffer (the body is moved, not
/// copied into a second buffer of the mail's size).
pub fn prepare_client_mail_owned(mail: Vec<u8>) -> Result<PreparedMail, MimeError> {
    let converted = match to_crlf(&mail) {
        Cow::Owned(converted) => Some(converted),
        Cow::Borrowed(_) => None,
    };
    let mut bytes = converted.unwrap_or(mail);
    let (header, body_offset) = prepared_header(&bytes)?;
    bytes.splice(..body_offset, header.bytes.iter().copied());
    Ok(header.with_bytes(bytes))
}

/// The prepared header block (with the empty line) and where the body starts in `crlf`.
fn prepared_header(crlf: &[u8]) -> Result<(PreparedMail, usize), MimeError> {
    let (mut header, body_offset) = HeaderBlock::parse(crlf)?;
    if header.is_empty() {
        return Err(MimeError::MalformedHeader {
            offset: 0,
            reason: "the mail has no header fields",
        });
    }
    let message_id = header
        .value("Message-ID")
        .filter(|v| !v.is_empty())
        .ok_or(MimeError::MissingHeader("Message-ID"))?;
    let (dienstkennung, inserted) = match header.value(DIENSTKENNUNG) {
        Some(value) => (value, false),
        None => {
            header.push(HeaderField::new(DIENSTKENNUNG, DEFAULT_DIENSTKENNUNG)?);
            (DEFAULT_DIENSTKENNUNG.to_owned(), true)
        }
    };
    header.terminate_last();
    let mut bytes = Vec::new();
    header.write_to(&mut bytes);
    bytes.extend_from_slice(b"\r\n");
    let prepared = PreparedMail {
        bytes,
        dienstkennung,
        dienstkennung_inserted: inserted,
        message_id,
    };
    Ok((prepared, body_offset))
}

impl PreparedMail {
    fn with_bytes(self, bytes: Vec<u8>) -> PreparedMail {
        PreparedMail { bytes, ..self }
    }
}

/// The content that is signed: `Content-Type: message/rfc822` CRLF CRLF followed by the
/// prepared mail (gemSMIME_KOMLE §2.1, verified on the gematik sample).
pub fn rfc822_wrap(prepared: &[u8]) -> Vec<u8> {
    const PREFIX: &[u8] = b"Content-Type: message/rfc822\r\n\r\n";
    let mut out = Vec::with_capacity(PREFIX.len() + prepared.len());
    out.extend_from_slice(PREFIX);
    out.extend_from_slice(prepared);
    out
}

/// Header of the signed-data MIME entity, byte-identical to the gematik sample
/// `inputEmail.txt.03.signedwrap` (KOM-LE-A_2299-01: transfer encoding binary).
pub const SIGNED_DATA_HEADER: &[u8] = b"MIME-Version: 1.0\r\n\
Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n\
Content-Transfer-Encoding: binary\r\n\
Content-Disposition: attachment; filename=smime.p7m\r\n\
\r\n";

/// The signed-data MIME entity that is encrypted (KOM-LE-A_2299-01): header, empty line,
/// DER ContentInfo of the SignedData.
pub fn signed_data_entity(signed_cms_der: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIGNED_DATA_HEADER.len() + signed_cms_der.len());
    out.extend_from_slice(SIGNED_DATA_HEADER);
    out.extend_from_slice(signed_cms_der);
    out
}

/// Values the sending Clientmodul adds to the outer header (gemSpec_CM_KOMLE §2.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OuterParams {
    /// `X-KOM-LE-Version`: `1.0`, or `1.5` for a KAS message (A_2099, A_2100-02); other
    /// values are rejected.
    pub kom_le_version: String,
    /// `X-KIM-CMVersion` (A_21388-01).
    pub cm_version: Option<String>,
    /// `X-KIM-PTVersion` (A_21388-01).
    pub pt_version: Option<String>,
    /// `X-KIM-KONVersion` (A_21388-01).
    pub kon_version: Option<String>,
    /// `Expires` as an RFC 5322 date (A_22417-01).
    pub expires: Option<String>,
    /// `X-KIM-KAS-Size` for KAS messages (A_23467).
    pub kas_size: Option<u64>,
}

/// Fields of the inner header copied byte-exactly into the outer header (A_2098-03,
/// KOM-LE-A_2101-01). `Bcc` is deliberately not copied: an outer `Bcc` would disclose the
/// blind recipients to every recipient's Fachdienst and Clientmodul; blind recipients are
/// still addressed via RCPT TO and recipient-emails (open question 7 of the digest).
const COPIED_FIELDS: [&str; 7] = [
    "Date",
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Message-ID",
];

/// `X-KIM-*` fields the Clientmodul sets itself; copies from the inner header are dropped.
const GENERATED_X_KIM: [&str; 4] = [
    "X-KIM-CMVersion",
    "X-KIM-PTVersion",
    "X-KIM-KONVersion",
    "X-KIM-KAS-Size",
];

/// Builds the outer KOM-LE message (gemSMIME_KOMLE §2.1/§2.2).
///
/// `inner` is the prepared Client-Mail; `Date`, `From`, `Sender`, `Reply-To`, `To`, `Cc`,
/// `Message-ID` and every `X-KIM-*` field are copied from it as raw bytes, in the order
/// they appear there (line endings converted to CRLF). The body is the base64 of
/// `auth_enveloped_der` in 76-character CRLF lines.
pub fn outer_message(
    inner: &[u8],
    auth_enveloped_der: &[u8],
    params: &OuterParams,
) -> Result<Vec<u8>, MimeError> {
    let (inner_header, _) = HeaderBlock::parse(inner)?;
    if !inner_header.contains("Message-ID") {
        return Err(MimeError::MissingHeader("Message-ID"));
    }
    if !matches!(params.kom_le_version.as_str(), "1.0" | "1.5") {
        return Err(MimeError::InvalidArgument {
            name: "kom_le_version",
            reason: "a sending Clientmodul writes 1.0 or 1.5 (A_2100-02)",
        });
    }
    let mut outer = HeaderBlock::default();
    for field in inner_header.fields() {
        if COPIED_FIELDS.iter().any(|n| field.is(n)) {
            outer.push(field.to_crlf().terminated());
        }
    }
    outer.push(HeaderField::new("Subject", SUBJECT_OUTER)?);
    outer.push(HeaderField::new(
        "X-KOM-LE-Version",
        &params.kom_le_version,
    )?);
    for field in inner_header.fields() {
        let is_x_kim = field
            .name()
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("X-KIM-"));
        if is_x_kim && !GENERATED_X_KIM.iter().any(|n| field.is(n)) {
            outer.push(field.to_crlf().terminated());
        }
    }
    let optional = [
        ("X-KIM-CMVersion", params.cm_version.as_deref()),
        ("X-KIM-PTVersion", params.pt_version.as_deref()),
        ("X-KIM-KONVersion", params.kon_version.as_deref()),
        ("Expires", params.expires.as_deref()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            outer.push(HeaderField::new_folded(name, value)?);
        }
    }
    if let Some(size) = params.kas_size {
        outer.push(HeaderField::new("X-KIM-KAS-Size", &size.to_string())?);
    }
    outer.push(HeaderField::new("MIME-Version", "1.0")?);
    outer.push(HeaderField::from_raw(
        b"Content-Type: application/pkcs7-mime;\r\n smime-type=authenticated-enveloped-data; name=smime.p7m\r\n",
    )?);
    outer.push(HeaderField::new("Content-Transfer-Encoding", "base64")?);
    outer.push(HeaderField::new(
        "Content-Disposition",
        "attachment; filename=smime.p7m",
    )?);
    let mut out = outer.to_bytes();
    out.extend_from_slice(b"\r\n");
    base64_lines_into(auth_enveloped_der, &mut out);
    Ok(out)
}

/// KOM-LE-A_2029: if the client submitted a mail that embeds a KOM-LE message as
/// `message/rfc822` (the user forwards an error mail to himself), returns that embedded
/// message with its `From` replaced by `submitter`, to be sent unchanged otherwise.
///
/// The embedded message is found as the body of a top-level `message/rfc822` mail or as a
/// `message/rfc822` part at any depth of a multipart; base64 and quoted-printable transfer
/// encodings of that part are decoded. Returns `None` if there is no such part.
pub fn extract_self_forward(mail: &[u8], submitter: &str) -> Option<Vec<u8>> {
    if submitter.bytes().any(|b| b.is_ascii_control()) {
        return None;
    }
    let (header, body_offset) = HeaderBlock::parse(mail).ok()?;
    let header_end = header.to_bytes().len();
    let top = Entity::from_header(mail, header, header_end, body_offset..mail.len());
    let embedded = find_kom_le_rfc822(mail, &top, 0)?;
    let crlf = to_crlf(&embedded);
    let (mut inner_header, inner_body) = HeaderBlock::parse(&crlf).ok()?;
    let from = HeaderField::new("From", submitter).ok()?;
    inner_header.replace("From", from);
    let mut out = inner_header.to_bytes();
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(crlf.get(inner_body..).unwrap_or_default());
    Some(out)
}

/// How many `message/rfc822` levels are searched (a forwarded error mail embeds the
/// KOM-LE message one level deeper).
const MAX_MESSAGE_DEPTH: usize = 8;

/// Depth-first search for a `message/rfc822` entity whose content has `X-KOM-LE-Version`;
/// descends into embedded messages that are not KOM-LE messages themselves.
fn find_kom_le_rfc822(buf: &[u8], entity: &Entity, depth: usize) -> Option<Vec<u8>> {
    if entity.content_type.is("message/rfc822") {
        let raw = buf.get(entity.body.clone())?;
        let content: Cow<'_, [u8]> = match entity.transfer_encoding().as_str() {
            "base64" => Cow::Owned(base64_decode_tolerant(raw).ok()?),
            "quoted-printable" => Cow::Owned(qp_decode(raw)),
            _ => Cow::Borrowed(raw),
        };
        let (inner, body_offset) = HeaderBlock::parse(&content).ok()?;
        if inner.contains("X-KOM-LE-Version") {
            return Some(content.into_owned());
        }
        if depth >= MAX_MESSAGE_DEPTH {
            return None;
        }
        let header_end = inner.to_bytes().len();
        let nested = Entity::from_header(&content, inner, header_end, body_offset..content.len());
        return find_kom_le_rfc822(&content, &nested, depth + 1);
    }
    entity
        .children
        .iter()
        .find_map(|child| find_kom_le_rfc822(buf, child, depth))
}
