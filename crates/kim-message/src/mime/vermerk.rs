//! Appending Vermerke to one text part (KOM-LE-A_2179-02, KOM-LE-A_2050-05), respecting the
//! part's transfer encoding and charset.
//!
//! Rules (our design; the specification only says "append to the text part, respect
//! text/plain vs text/html"):
//! * text/plain gets an empty line, the separator line and one line per Vermerk, appended
//!   after the existing text (a missing final line break is added first).
//! * text/html gets `<hr>` and a paragraph with the Vermerke separated by `<br>`, inserted
//!   before the last `</body>` (or appended); non-ASCII characters are written as numeric
//!   character references, so the fragment is ASCII and fits every ASCII-compatible charset.
//! * Charsets for text/plain: UTF-8 as is; ISO-8859-1/windows-1252/ISO-8859-15 transcoded by
//!   hand (all Vermerk characters are in Latin-1); US-ASCII or no charset: if the existing
//!   text is pure ASCII the part is relabelled `charset=utf-8` (ASCII is a subset);
//!   anything else cannot be written and the part is left alone (the caller then adds a
//!   separate text part).
//! * Transfer encodings: 8bit/binary: bytes appended; 7bit: bytes appended if they are
//!   ASCII, otherwise the whole text is re-encoded as quoted-printable; quoted-printable:
//!   the addition is appended QP-encoded (HTML: decoded, inserted, re-encoded); base64:
//!   decoded, modified, re-encoded in 76-character lines. Unknown encodings: left alone.

use super::content_type::ContentType;
use super::encoding::{
    Charset, base64_decode_tolerant, base64_lines, html_escape, qp_decode, qp_encode,
};
use super::header::{HeaderBlock, HeaderField};
use super::lines::ends_with_newline;
use super::texts::VERMERK_SEPARATOR;

/// The new header and body of a modified text part.
#[derive(Debug)]
pub(crate) struct ModifiedPart {
    pub header: HeaderBlock,
    pub body: Vec<u8>,
}

/// Plain-text block appended to text/plain parts (CRLF line endings).
pub(crate) fn plain_block(vermerke: &[String]) -> String {
    let mut block = format!("\r\n{VERMERK_SEPARATOR}\r\n");
    for v in vermerke {
        block.push_str(v);
        block.push_str("\r\n");
    }
    block
}

/// HTML fragment inserted into text/html parts (ASCII only).
fn html_fragment(vermerke: &[String]) -> String {
    let lines: Vec<String> = vermerke.iter().map(|v| html_escape(v)).collect();
    format!("<hr>\r\n<p>{}</p>\r\n", lines.join("<br>\r\n"))
}

/// Appends the Vermerke to a text/plain or text/html part. Returns `None` if the part's
/// charset or transfer encoding does not allow it.
pub(crate) fn append_to_text_part(
    header: &HeaderBlock,
    content_type: &ContentType,
    raw_body: &[u8],
    vermerke: &[String],
) -> Option<ModifiedPart> {
    let cte = header
        .value("Content-Transfer-Encoding")
        .map_or_else(|| "7bit".to_owned(), |v| v.to_ascii_lowercase());
    let decoded = match cte.as_str() {
        "7bit" | "8bit" | "binary" => raw_body.to_vec(),
        "quoted-printable" => qp_decode(raw_body),
        "base64" => base64_decode_tolerant(raw_body).ok()?,
        _ => return None,
    };
    let charset_label = content_type.param("charset");
    let mut new_header = header.clone();
    let is_html = content_type.is("text/html");
    let (new_decoded, addition) = if is_html {
        if charset_label.is_some_and(is_ascii_incompatible) {
            return None;
        }
        let fragment = html_fragment(vermerke).into_bytes();
        let at = find_last_ignore_case(&decoded, b"</body").unwrap_or(decoded.len());
        let mut out = decoded.get(..at).unwrap_or_default().to_vec();
        out.extend_from_slice(&fragment);
        out.extend_from_slice(decoded.get(at..).unwrap_or_default());
        (out, fragment)
    } else {
        let block = plain_block(vermerke);
        let addition = match Charset::from_label(charset_label) {
            Charset::Ascii if decoded.is_ascii() => {
                let mut ct = content_type.clone();
                ct.set_param("charset", "utf-8");
                new_header.replace(
                    "Content-Type",
                    HeaderField::new_folded("Content-Type", &ct.to_value()).ok()?,
                );
                block.into_bytes()
            }
            Charset::Ascii | Charset::Other => return None,
            charset => charset.encode(&block)?,
        };
        let mut addition_with_break = Vec::with_capacity(addition.len() + 2);
        if !decoded.is_empty() && !ends_with_newline(&decoded) {
            addition_with_break.extend_from_slice(b"\r\n");
        }
        addition_with_break.extend_from_slice(&addition);
        let mut out = decoded.clone();
        out.extend_from_slice(&addition_with_break);
        (out, addition_with_break)
    };
    let body = match cte.as_str() {
        "8bit" | "binary" => new_decoded,
        "7bit" if addition.is_ascii() => new_decoded,
        "7bit" => {
            new_header.replace(
                "Content-Transfer-Encoding",
                HeaderField::new("Content-Transfer-Encoding", "quoted-printable").ok()?,
            );
            qp_encode(&new_decoded)
        }
        "quoted-printable" if !is_html => {
            let mut out = raw_body.to_vec();
            let raw_needs_break = !out.is_empty() && !ends_with_newline(&out);
            let tail = if raw_needs_break {
                // A hard line break is written here; drop the one the addition carries.
                out.extend_from_slice(b"\r\n");
                addition
                    .strip_prefix(b"\r\n".as_slice())
                    .unwrap_or(&addition)
            } else {
                addition.as_slice()
            };
            out.extend_from_slice(&qp_encode(tail));
            out
        }
        "quoted-printable" => qp_encode(&new_decoded),
        _ => base64_lines(&new_decoded),
    };
    Some(ModifiedPart {
        header: new_header,
        body,
    })
}

/// UTF-16/UTF-32/UTF-7 labels: an ASCII fragment cannot simply be inserted.
fn is_ascii_incompatible(label: &str) -> bool {
    let l = label.to_ascii_lowercase();
    l.starts_with("utf-16") || l.starts_with("utf-32") || l.starts_with("ucs") || l == "utf-7"
}

/// Offset of the last case-insensitive occurrence of `needle`.
fn find_last_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack
        .windows(needle.len())
        .rposition(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vermerke() -> Vec<String> {
        vec!["Die Nachricht wurde entschlüsselt.".to_owned()]
    }

    fn run(header: &str, body: &[u8]) -> Option<ModifiedPart> {
        let (h, _) = HeaderBlock::parse(header.as_bytes()).unwrap();
        let ct = ContentType::of(&h);
        append_to_text_part(&h, &ct, body, &vermerke())
    }

    #[test]
    fn qp_body_ending_in_soft_break_gets_a_hard_break() {
        let part = run(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
            b"abc=\r\n",
        )
        .unwrap();
        assert_eq!(
            qp_decode(&part.body),
            "abc\r\n\r\n---------------------------------------------\r\nDie Nachricht wurde entschlüsselt.\r\n".as_bytes()
        );
    }

    #[test]
    fn qp_body_without_line_break() {
        let part = run(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
            b"abc",
        )
        .unwrap();
        assert!(part.body.starts_with(b"abc\r\n\r\n-----"));
        assert!(qp_decode(&part.body).starts_with(b"abc\r\n\r\n---"));
    }

    #[test]
    fn html_in_quoted_printable_and_base64() {
        let part = run(
            "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
            b"<body>Gr=C3=BC=C3=9Fe</body>",
        )
        .unwrap();
        assert_eq!(
            qp_decode(&part.body),
            "<body>Grüße<hr>\r\n<p>Die Nachricht wurde entschl&#252;sselt.</p>\r\n</body>"
                .as_bytes()
        );
        let part = run(
            "Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            b"PGJvZHk+PC9ib2R5Pg==",
        )
        .unwrap();
        assert_eq!(
            base64_decode_tolerant(&part.body).unwrap(),
            b"<body><hr>\r\n<p>Die Nachricht wurde entschl&#252;sselt.</p>\r\n</body>"
        );
    }

    #[test]
    fn empty_body_gets_the_block_without_extra_break() {
        let part = run(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
            b"",
        )
        .unwrap();
        assert_eq!(
            part.body,
            "\r\n---------------------------------------------\r\nDie Nachricht wurde entschlüsselt.\r\n".as_bytes()
        );
    }

    #[test]
    fn unsupported_parts_are_left_alone() {
        assert!(run("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n", b"x").is_none());
        assert!(run("Content-Type: text/html; charset=UTF-16\r\n\r\n", b"x").is_none());
        assert!(run("Content-Type: text/plain; charset=shift_jis\r\n\r\n", b"x").is_none());
        // US-ASCII label with 8-bit content: relabelling would change its meaning.
        assert!(run("Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", b"\xe4").is_none());
        assert!(run("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n", b"!!!").is_none());
    }

    #[test]
    fn latin9_and_windows_1252_are_transcoded() {
        for label in ["ISO-8859-15", "windows-1252"] {
            let part = run(
                &format!("Content-Type: text/plain; charset={label}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"),
                b"x\r\n",
            )
            .unwrap();
            assert!(part.body.ends_with(b"entschl\xfcsselt.\r\n"), "{label}");
        }
    }
}
