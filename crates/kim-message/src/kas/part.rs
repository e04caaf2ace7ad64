//! The MIME form of the KIM-Attachment: building it on the send side (A_19359-07), finding it
//! on the receive side (A_19369-02), and refusing Client-Mails that already carry one
//! (A_22341).

use mail_parser::{MessageParser, MessagePart, MimeHeaders};

use super::attachment::KimAttachment;
use super::error::KasError;

/// The header fields the single KAS part replaces in the Client-Mail header block.
const REPLACED_FIELDS: [&[u8]; 3] = [
    b"content-type",
    b"content-transfer-encoding",
    b"content-disposition",
];

const PART_CONTENT_TYPE: &[u8] = b"Content-Type: text/plain; charset=utf-8";
const PART_DISPOSITION: &[u8] = b"Content-Disposition: x-kas";

/// The MIME entity of A_19359-07: `Content-Type: text/plain; charset=utf-8`,
/// `Content-Disposition: x-kas`, an empty line and the compact JSON, with CRLF line ends and
/// no line end after the JSON (as in the gematik sample `1_3_Client-Mail_hochgeladen.txt`).
#[must_use]
pub fn attachment_body_part(att: &KimAttachment) -> Vec<u8> {
    let mut out = Vec::new();
    push_part(&mut out, att, b"\r\n");
    out
}

/// Replaces the body of `client_mail` by the KIM-Attachment part (A_19359-07).
///
/// The header block is kept byte for byte, except the fields `Content-Type`,
/// `Content-Transfer-Encoding` and `Content-Disposition` (with their folded continuation
/// lines; names matched case-insensitively), which are dropped; the part's two header fields
/// are appended after the kept fields, followed by an empty line and the JSON. If the mail has
/// no `MIME-Version` field, `MIME-Version: 1.0` is added before them (RFC 2045 4), since the
/// result is a MIME entity.
///
/// The added lines end like the mail's first header line (CRLF, or LF for LF-only input), so
/// the result never mixes line-end styles that the input did not mix.
///
/// # Errors
/// [`KasError::MalformedMail`] if the mail has no header fields or starts with a folded
/// continuation line.
pub fn replace_body_with_attachment(
    client_mail: &[u8],
    att: &KimAttachment,
) -> Result<Vec<u8>, KasError> {
    let header = header_block(client_mail);
    let eol: &[u8] = match client_mail.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && client_mail.get(i - 1) == Some(&b'\r') => b"\r\n",
        Some(_) => b"\n",
        None => b"\r\n",
    };

    let mut out = Vec::with_capacity(header.len() + 512);
    let mut has_mime_version = false;
    for field in fields(header)? {
        let name = field_name(field);
        if REPLACED_FIELDS.iter().any(|r| name.eq_ignore_ascii_case(r)) {
            continue;
        }
        has_mime_version |= name.eq_ignore_ascii_case(b"mime-version");
        out.extend_from_slice(field);
        if !field.ends_with(b"\n") {
            out.extend_from_slice(eol);
        }
    }
    if !has_mime_version {
        out.extend_from_slice(b"MIME-Version: 1.0");
        out.extend_from_slice(eol);
    }
    push_part(&mut out, att, eol);
    Ok(out)
}

/// Every KIM-Attachment in `mail`: the top-level body or any MIME part whose
/// `Content-Disposition` is `x-kas` (case-insensitive). Parts of attached messages
/// (`message/rfc822`) belong to those messages and are not searched.
///
/// The receive side downloads only when exactly one is found; more than one is the ambiguous
/// case of A_19369-02.
///
/// # Errors
/// [`KasError::MalformedMail`] if the mail cannot be parsed; the errors of
/// [`KimAttachment::parse_json`] if an `x-kas` part does not hold a valid structure.
pub fn find_attachments(mail: &[u8]) -> Result<Vec<KimAttachment>, KasError> {
    let message = MessageParser::default()
        .parse(mail)
        .ok_or(KasError::MalformedMail("not an RFC 5322 message"))?;
    message
        .parts
        .iter()
        .filter(|part| is_kas_part(part))
        .map(|part| KimAttachment::parse_json(part.contents()))
        .collect()
}

/// Whether `mail` contains a part that a receiver would take for a KIM-Attachment: the check
/// of A_22341 on the send side (such a Client-Mail is refused with `451`).
///
/// A_22341 names parts with `Content-Type: text/plain; charset=utf-8` and
/// `Content-Disposition: x-kas`; this check uses the same rule as [`find_attachments`]
/// (disposition `x-kas`, whatever the content type), so that nothing the receive side would
/// interpret as a KIM-Attachment passes. Mails that do not contain the text `x-kas` anywhere
/// are answered without MIME parsing, which keeps the check cheap for large mails.
#[must_use]
pub fn contains_kas_part(mail: &[u8]) -> bool {
    if !contains_x_kas(mail) {
        return false;
    }
    MessageParser::default()
        .parse(mail)
        .is_some_and(|message| message.parts.iter().any(is_kas_part))
}

fn is_kas_part(part: &MessagePart<'_>) -> bool {
    !part.is_multipart()
        && !part.is_message()
        && part
            .content_disposition()
            .is_some_and(|d| d.ctype().eq_ignore_ascii_case("x-kas"))
}

fn push_part(out: &mut Vec<u8>, att: &KimAttachment, eol: &[u8]) {
    out.extend_from_slice(PART_CONTENT_TYPE);
    out.extend_from_slice(eol);
    out.extend_from_slice(PART_DISPOSITION);
    out.extend_from_slice(eol);
    out.extend_from_slice(eol);
    out.extend_from_slice(&att.to_json());
}

/// The header block: everything up to (excluding) the first empty line, or the whole mail if
/// there is none.
fn header_block(mail: &[u8]) -> &[u8] {
    let mut start = 0;
    for line in mail.split_inclusive(|&b| b == b'\n') {
        if line == b"\n" || line == b"\r\n" {
            return mail.get(..start).unwrap_or(mail);
        }
        start += line.len();
    }
    mail
}

/// Splits a header block into fields, each with its continuation lines and line ends.
fn fields(header: &[u8]) -> Result<Vec<&[u8]>, KasError> {
    if header.is_empty() {
        return Err(KasError::MalformedMail("mail has no header fields"));
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in header.split_inclusive(|&b| b == b'\n') {
        let folded = matches!(line.first(), Some(b' ' | b'\t'));
        if folded && pos == 0 {
            return Err(KasError::MalformedMail(
                "mail starts with a folded continuation line",
            ));
        }
        if !folded && pos > start {
            out.extend(header.get(start..pos));
            start = pos;
        }
        pos += line.len();
    }
    out.extend(header.get(start..pos));
    Ok(out)
}

/// The field name before the colon, without trailing blanks; the whole line if it has no
/// colon (such a line never matches a replaced field).
fn field_name(field: &[u8]) -> &[u8] {
    let line_end = field
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(field.len());
    let first_line = field.get(..line_end).unwrap_or(field);
    let name = match first_line.iter().position(|&b| b == b':') {
        Some(colon) => first_line.get(..colon).unwrap_or(first_line),
        None => first_line,
    };
    name.trim_ascii_end()
}

/// Whether `haystack` contains `x-kas` in any letter case. Scans eight bytes at a time for a
/// `-` (which base64 bodies never contain) and compares only around the dashes found, so large
/// mails are checked at memory speed.
fn contains_x_kas(haystack: &[u8]) -> bool {
    const DASHES: u64 = u64::from_ne_bytes([b'-'; 8]);
    const LOW_BITS: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH_BITS: u64 = u64::from_ne_bytes([0x80; 8]);
    let is_x_kas_at = |dash: usize| {
        dash.checked_sub(1)
            .and_then(|start| haystack.get(start..dash + 4))
            .is_some_and(|w| w.eq_ignore_ascii_case(b"x-kas"))
    };
    let mut words = haystack.chunks_exact(8);
    for (i, word) in words.by_ref().enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let x = u64::from_ne_bytes(bytes) ^ DASHES;
        // Non-zero exactly when some byte of `x` is zero, i.e. some byte of `word` is a dash.
        if x.wrapping_sub(LOW_BITS) & !x & HIGH_BITS == 0 {
            continue;
        }
        let base = i * 8;
        if (0..8).any(|j| word.get(j) == Some(&b'-') && is_x_kas_at(base + j)) {
            return true;
        }
    }
    let base = haystack.len() - words.remainder().len();
    (0..words.remainder().len())
        .any(|j| words.remainder().get(j) == Some(&b'-') && is_x_kas_at(base + j))
}

#[cfg(test)]
#[path = "part_tests.rs"]
mod tests;
