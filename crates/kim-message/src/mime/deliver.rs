//! The message delivered to the client after successful decryption (gemSpec_CM_KOMLE
//! KOM-LE-A_2179-02, KOM-LE-A_2050-05, A_21236, A_20628; digest §4.4 step 9).

use std::borrow::Cow;
use std::ops::Range;

use super::content_type::ContentType;
use super::encoding::choose_boundary;
use super::entity::Entity;
use super::errors::MimeError;
use super::header::{HeaderBlock, HeaderField};
use super::lines::to_crlf;
use super::texts::{VERMERK_DECRYPTED, VERMERK_SEPARATOR, integrity_vermerk};
use super::vermerk::append_to_text_part;

/// Result header for the decryption (Tab_Fehlertext_Entschl, KOM-LE-A_2047-02).
pub const DECRYPTION_RESULT: &str = "X-KIM-DecryptionResult";
/// Result header for the integrity check (Tab_Verm_Sig_Prüf, KOM-LE-A_2048-01).
pub const INTEGRITY_RESULT: &str = "X-KIM-IntegrityCheckResult";
/// Error code header (A_20650-05).
pub const ERROR_CODE: &str = "X-KIM-Fehlermeldung";

/// Header fields removed from every message the receiving Clientmodul hands over: the result
/// fields only it may set (a sender could forge them), and `X-KOM-LE-Version`, so that a
/// delivered message or E6 error mail is never taken for a KOM-LE message again (A_21390).
const RESULT_FIELDS: [&str; 4] = [
    DECRYPTION_RESULT,
    INTEGRITY_RESULT,
    ERROR_CODE,
    "X-KOM-LE-Version",
];

/// Outcome of the receive checks, as written into the delivered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryResult {
    /// Decryption result ID (`00` on delivery).
    pub decryption: String,
    /// Integrity check result IDs, one `X-KIM-IntegrityCheckResult` field each.
    pub integrity_ids: Vec<String>,
    /// Vermerk lines appended to the displayed text parts.
    pub vermerke: Vec<String>,
}

impl DeliveryResult {
    /// Decryption `00` and the given integrity IDs, with the Vermerk "Die Nachricht wurde
    /// entschlüsselt." followed by the Vermerk of each known integrity ID.
    pub fn decrypted(integrity_ids: &[&str]) -> Self {
        let mut vermerke = vec![VERMERK_DECRYPTED.to_owned()];
        vermerke.extend(
            integrity_ids
                .iter()
                .filter_map(|id| integrity_vermerk(id))
                .map(str::to_owned),
        );
        Self {
            decryption: "00".to_owned(),
            integrity_ids: integrity_ids.iter().map(|id| (*id).to_owned()).collect(),
            vermerke,
        }
    }
}

/// Builds the message handed to the client from the decrypted inner message.
///
/// * All `Return-Path` and `Received` fields of the outer message are copied, in their
///   order, to the top of the header (A_21236, A_20628).
/// * Any `X-KIM-DecryptionResult`, `X-KIM-IntegrityCheckResult` and `X-KIM-Fehlermeldung`
///   already in the inner header are removed; `X-KIM-DecryptionResult: <id>` and one
///   `X-KIM-IntegrityCheckResult: <id>` per ID are appended (KOM-LE-A_2179-02,
///   KOM-LE-A_2050-05).
/// * The Vermerke are appended to the displayed text parts (the charset and transfer-encoding
///   rules are described in the source of the private `vermerk` module): a top-level text part; all text/plain and text/html alternatives of a
///   multipart/alternative; inside multipart/mixed (and other multiparts) the first part
///   that yields a displayed text; inside multipart/related its root part. Parts marked
///   as attachment, multipart/signed, multipart/encrypted and multipart/digest are not
///   touched. If no part
///   could take the Vermerke, a new text/plain UTF-8 part is added: as first part of a
///   top-level multipart/mixed, otherwise by wrapping the original content (byte-exact)
///   into a new multipart/mixed.
///
/// All bytes outside the modified parts are kept. A message whose first line ends in a
/// bare LF is converted to CRLF first (the eContent is CRLF by profile; converting a
/// CRLF message could damage binary parts, so it is left as it is).
pub fn build_delivered(
    inner: &[u8],
    outer: &HeaderBlock,
    result: &DeliveryResult,
) -> Result<Vec<u8>, MimeError> {
    check_value("decryption", &result.decryption)?;
    for id in &result.integrity_ids {
        check_value("integrity_ids", id)?;
    }
    let buf = canonical(inner);
    let (header, body_offset) = HeaderBlock::parse(&buf)?;
    let header_end = header.to_bytes().len();
    let top = Entity::from_header(&buf, header.clone(), header_end, body_offset..buf.len());
    let (mut top_header, body) = if result.vermerke.is_empty() {
        let body = buf.get(body_offset..).unwrap_or_default();
        let mut owned = Vec::with_capacity(body.len() + HEADER_ROOM);
        owned.extend_from_slice(body);
        (header, owned)
    } else {
        add_vermerke(&buf, &top, &result.vermerke)?
    };
    add_trace_and_results(&mut top_header, outer, result)?;
    let mut head = top_header.to_bytes();
    head.extend_from_slice(b"\r\n");
    Ok(prepend(head, body))
}

/// Room reserved in front of a rebuilt body for the header (trace and result fields), so
/// that [`prepend`] can move the body in place instead of copying a large message.
const HEADER_ROOM: usize = 16 * 1024;

/// `head` followed by `body`, reusing `body`'s buffer when it has room (memmove instead of
/// a second copy of the message).
fn prepend(head: Vec<u8>, mut body: Vec<u8>) -> Vec<u8> {
    if body.capacity() - body.len() >= head.len() {
        body.splice(0..0, head);
        body
    } else {
        let mut out = head;
        out.extend_from_slice(&body);
        out
    }
}

/// Converts LF-only messages to CRLF (see [`build_delivered`]).
pub(crate) fn canonical(inner: &[u8]) -> Cow<'_, [u8]> {
    let first_line_lf_only = inner
        .iter()
        .position(|&b| b == b'\n')
        .is_some_and(|nl| nl == 0 || inner.get(nl - 1) != Some(&b'\r'));
    if first_line_lf_only {
        to_crlf(inner)
    } else {
        Cow::Borrowed(inner)
    }
}

/// Copies trace fields of the outer header to the top and sets the result fields.
pub(crate) fn add_trace_and_results(
    header: &mut HeaderBlock,
    outer: &HeaderBlock,
    result: &DeliveryResult,
) -> Result<(), MimeError> {
    for name in RESULT_FIELDS {
        header.remove_all(name);
    }
    let trace = outer
        .fields()
        .iter()
        .filter(|f| f.is("Return-Path") || f.is("Received"));
    for (index, field) in trace.enumerate() {
        header.insert(index, field.to_crlf().terminated());
    }
    header.push(HeaderField::new(DECRYPTION_RESULT, &result.decryption)?);
    for id in &result.integrity_ids {
        header.push(HeaderField::new(INTEGRITY_RESULT, id)?);
    }
    Ok(())
}

fn check_value(name: &'static str, value: &str) -> Result<(), MimeError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(MimeError::InvalidArgument {
            name,
            reason: "must be a non-empty token of printable ASCII",
        });
    }
    Ok(())
}

/// Returns the new top-level header and body with the Vermerke added.
fn add_vermerke(
    buf: &[u8],
    top: &Entity,
    vermerke: &[String],
) -> Result<(HeaderBlock, Vec<u8>), MimeError> {
    let mut targets = Vec::new();
    collect_targets(top, &mut targets);
    let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
    for target in targets {
        let raw_body = buf.get(target.body.clone()).unwrap_or_default();
        let Some(part) =
            append_to_text_part(&target.header, &target.content_type, raw_body, vermerke)
        else {
            continue;
        };
        if std::ptr::eq(target, top) {
            return Ok((part.header, part.body));
        }
        let mut bytes = part.header.to_bytes();
        bytes.extend_from_slice(
            buf.get(target.header_end..target.body.start)
                .unwrap_or_default(),
        );
        bytes.extend_from_slice(&part.body);
        edits.push((target.start..target.body.end, bytes));
    }
    if edits.is_empty() {
        return add_text_part(buf, top, vermerke);
    }
    Ok((
        top.header.clone(),
        apply_edits(buf, top.body.clone(), &mut edits),
    ))
}

/// Rebuilds `range` of `buf` with the edits (non-overlapping ranges inside `range`).
fn apply_edits(buf: &[u8], range: Range<usize>, edits: &mut [(Range<usize>, Vec<u8>)]) -> Vec<u8> {
    edits.sort_by_key(|(r, _)| r.start);
    let added: usize = edits.iter().map(|(_, b)| b.len()).sum();
    let mut out = Vec::with_capacity(range.len() + added + HEADER_ROOM);
    let mut pos = range.start;
    for (r, bytes) in edits.iter() {
        out.extend_from_slice(buf.get(pos..r.start).unwrap_or_default());
        out.extend_from_slice(bytes);
        pos = r.end;
    }
    out.extend_from_slice(buf.get(pos..range.end).unwrap_or_default());
    out
}

/// Collects the displayed text parts (see [`build_delivered`]). Returns true if any was
/// found.
fn collect_targets<'a>(entity: &'a Entity, out: &mut Vec<&'a Entity>) -> bool {
    let ct = &entity.content_type;
    if ct.is("text/plain") || ct.is("text/html") {
        if entity.is_attachment() {
            return false;
        }
        out.push(entity);
        return true;
    }
    // multipart/digest is skipped: its parts default to message/rfc822, not text.
    let opaque = [
        "multipart/signed",
        "multipart/encrypted",
        "multipart/digest",
    ];
    if !ct.is_multipart() || opaque.iter().any(|t| ct.is(t)) {
        return false;
    }
    if ct.is("multipart/alternative") {
        let mut found = false;
        for child in &entity.children {
            found |= collect_targets(child, out);
        }
        return found;
    }
    if ct.is("multipart/related") {
        return entity
            .children
            .first()
            .is_some_and(|root| collect_targets(root, out));
    }
    entity
        .children
        .iter()
        .any(|child| collect_targets(child, out))
}

/// Header and content of the text part added when no existing part could take the
/// Vermerke.
fn new_text_part(vermerke: &[String]) -> Vec<u8> {
    let mut part =
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            .to_vec();
    part.extend_from_slice(VERMERK_SEPARATOR.as_bytes());
    part.extend_from_slice(b"\r\n");
    for v in vermerke {
        part.extend_from_slice(v.as_bytes());
        part.extend_from_slice(b"\r\n");
    }
    part
}

/// Adds a new text part: first part of a top-level multipart/mixed, or a new
/// multipart/mixed around the original content.
fn add_text_part(
    buf: &[u8],
    top: &Entity,
    vermerke: &[String],
) -> Result<(HeaderBlock, Vec<u8>), MimeError> {
    let part = new_text_part(vermerke);
    let boundary = top.content_type.param("boundary");
    if let (true, Some(delimiter), Some(boundary)) = (
        top.content_type.is("multipart/mixed"),
        top.first_delimiter,
        boundary,
    ) {
        let mut insert = format!("--{boundary}\r\n").into_bytes();
        insert.extend_from_slice(&part);
        insert.extend_from_slice(b"\r\n");
        let mut edits = [(delimiter..delimiter, insert)];
        return Ok((
            top.header.clone(),
            apply_edits(buf, top.body.clone(), &mut edits),
        ));
    }
    // Wrap: the Content-* fields move into the inner entity, the body is kept byte-exact.
    let body = buf.get(top.body.clone()).unwrap_or_default();
    let mut header = top.header.clone();
    let mut content_fields = HeaderBlock::default();
    for field in top.header.fields() {
        if is_content_field(field) {
            content_fields.push(field.clone().terminated());
        }
    }
    header.retain(|f| !is_content_field(f));
    let boundary = choose_boundary(&[body, &content_fields.to_bytes(), &part]);
    if !header.contains("MIME-Version") {
        header.push(HeaderField::new("MIME-Version", "1.0")?);
    }
    let ct = ContentType {
        mime_type: "multipart/mixed".to_owned(),
        params: vec![("boundary".to_owned(), boundary.clone())],
    };
    header.push(HeaderField::new("Content-Type", &ct.to_value())?);
    let mut out = Vec::with_capacity(body.len() + part.len() + 256);
    out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    out.extend_from_slice(&part);
    out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
    content_fields.write_to(&mut out);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok((header, out))
}

fn is_content_field(field: &HeaderField) -> bool {
    field
        .name()
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("Content-"))
}
