//! Transfer and header encodings: base64 in 76-character lines (RFC 2045 §6.8),
//! quoted-printable (RFC 2045 §6.7), RFC 2047 encoded words, single-byte charsets, HTML
//! escaping and boundary selection.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use sha2::{Digest as _, Sha256};

use super::errors::MimeError;

/// Maximum encoded line length of base64 and quoted-printable bodies (RFC 2045).
const LINE: usize = 76;

/// Base64 of `data` in lines of 76 characters, each line (including the last) ending in
/// CRLF. Empty input gives an empty output.
pub(crate) fn base64_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    base64_lines_into(data, &mut out);
    out
}

/// [`base64_lines`] appended to `out`.
pub(crate) fn base64_lines_into(data: &[u8], out: &mut Vec<u8>) {
    /// Input bytes of one full line.
    const IN_LINE: usize = LINE / 4 * 3;
    /// Lines encoded per call into the stack buffer (no whole-size intermediate).
    const BLOCK_LINES: usize = 64;
    let engine = &base64::engine::general_purpose::STANDARD;
    let lines = data.len().div_ceil(IN_LINE);
    out.reserve(lines * (LINE + 2));
    let mut buf = [0u8; LINE * BLOCK_LINES];
    // Every block but the last is whole lines, so the lines fall where they would in one
    // encoding of all of `data`.
    for block in data.chunks(IN_LINE * BLOCK_LINES) {
        // The buffer holds the encoding of a whole block, padding included.
        let n = engine.encode_slice(block, &mut buf).unwrap_or_default();
        for line in buf.get(..n).unwrap_or_default().chunks(LINE) {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Decodes base64, ignoring all ASCII whitespace (CRLF, LF, spaces) and tolerating missing
/// padding.
pub(crate) fn base64_decode_tolerant(data: &[u8]) -> Result<Vec<u8>, MimeError> {
    // White space inside a line is rare: decode with whole lines first, and only if that
    // fails filter every byte.
    decode_lines(data, false).or_else(|_| decode_lines(data, true))
}

/// Decodes base64 `data` whose lines are found with memchr and copied into a 64 KiB chunk
/// buffer (trimmed at both ends; with `filter_inner`, white space inside lines is dropped
/// too); each full chunk is decoded with one call. No compacted copy of the whole input.
fn decode_lines(data: &[u8], filter_inner: bool) -> Result<Vec<u8>, MimeError> {
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    /// Compacted base64 is decoded in chunks of this size (a multiple of four).
    const CHUNK: usize = 64 * 1024;
    let err = |e: base64::DecodeError| MimeError::Base64(e.to_string());
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 3);
    let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK + 128);
    let mut rest = data;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                rest.get(i + 1..).unwrap_or_default(),
            ),
            None => (rest, &[][..]),
        };
        rest = next;
        let line = line.trim_ascii();
        if filter_inner {
            chunk.extend(line.iter().copied().filter(|b| !b.is_ascii_whitespace()));
        } else {
            chunk.extend_from_slice(line);
        }
        if chunk.len() >= CHUNK {
            let whole = chunk.len() / 4 * 4;
            ENGINE
                .decode_vec(chunk.get(..whole).unwrap_or_default(), &mut out)
                .map_err(err)?;
            chunk.drain(..whole);
        }
    }
    if !chunk.is_empty() {
        ENGINE.decode_vec(&chunk, &mut out).map_err(err)?;
    }
    Ok(out)
}

/// Quoted-printable encoding of text: CRLF and bare LF become hard line breaks (CRLF);
/// lines are soft-broken to at most 76 characters.
pub(crate) fn qp_encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    let mut line_len = 0usize;
    let mut i = 0;
    while let Some(&b) = data.get(i) {
        let at_line_end = |j: usize| {
            matches!(
                data.get(j..),
                Some([b'\n', ..] | [b'\r', b'\n', ..]) | Some([])
            )
        };
        if b == b'\n' || (b == b'\r' && data.get(i + 1) == Some(&b'\n')) {
            out.extend_from_slice(b"\r\n");
            line_len = 0;
            i += if b == b'\r' { 2 } else { 1 };
            continue;
        }
        let literal = match b {
            b' ' | b'\t' => !at_line_end(i + 1),
            b'=' => false,
            33..=126 => true,
            _ => false,
        };
        let width = if literal { 1 } else { 3 };
        // Keep room for the soft line break "=" within 76 characters.
        if line_len + width > LINE - 1 {
            out.extend_from_slice(b"=\r\n");
            line_len = 0;
        }
        if literal {
            out.push(b);
        } else {
            out.extend_from_slice(format!("={b:02X}").as_bytes());
        }
        line_len += width;
        i += 1;
    }
    out
}

/// Quoted-printable decoding; soft line breaks are removed, invalid escapes are kept
/// literally (RFC 2045 §6.7 note 1: robust decoding).
pub(crate) fn qp_decode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while let Some(&b) = data.get(i) {
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        let rest = data.get(i + 1..).unwrap_or_default();
        // Soft line break: "=" followed by optional whitespace and a line ending.
        let ws = rest
            .iter()
            .take_while(|c| **c == b' ' || **c == b'\t')
            .count();
        let after_ws = rest.get(ws..).unwrap_or_default();
        if after_ws.starts_with(b"\r\n") {
            i += 1 + ws + 2;
        } else if after_ws.starts_with(b"\n") {
            i += 1 + ws + 1;
        } else if let Some(v) = rest.get(..2).and_then(hex_pair) {
            out.push(v);
            i += 3;
        } else {
            out.push(b'=');
            i += 1;
        }
    }
    out
}

fn hex_pair(pair: &[u8]) -> Option<u8> {
    let s = std::str::from_utf8(pair).ok()?;
    u8::from_str_radix(s, 16).ok()
}

/// A header value for `text`: unchanged if it is printable ASCII, otherwise RFC 2047
/// `=?UTF-8?B?…?=` encoded words of at most 39 input bytes each, folded with CRLF SP.
pub(crate) fn encode_header_text(text: &str) -> String {
    if text.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return text.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 39 {
            words.push(encoded_word(&chunk));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(encoded_word(&chunk));
    }
    words.join("\r\n ")
}

fn encoded_word(chunk: &str) -> String {
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(chunk.as_bytes())
    )
}

/// Charsets the Vermerk can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    /// UTF-8.
    Utf8,
    /// US-ASCII (also the RFC 2045 default when no charset is given).
    Ascii,
    /// ISO-8859-1 and its superset windows-1252 for the printable range used here.
    Latin1,
    /// ISO-8859-15 (Latin-9): Latin-1 except eight code points.
    Latin9,
    /// Anything else.
    Other,
}

impl Charset {
    /// Classifies a charset label (case-insensitive, common aliases).
    pub(crate) fn from_label(label: Option<&str>) -> Self {
        let Some(label) = label else {
            return Self::Ascii;
        };
        match label.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Self::Utf8,
            "us-ascii" | "ascii" | "ansi_x3.4-1968" | "iso646-us" | "us" => Self::Ascii,
            "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1" | "cp819"
            | "windows-1252" | "cp1252" => Self::Latin1,
            "iso-8859-15" | "iso8859-15" | "iso_8859-15" | "latin-9" | "latin9" => Self::Latin9,
            _ => Self::Other,
        }
    }

    /// Encodes `text` in this charset; `None` if a character cannot be represented (or the
    /// charset is not supported for writing).
    ///
    /// Latin-1/Latin-9 are encoded by hand: every character up to U+00FF maps to the byte
    /// of the same value, except the C1 range (not printable, and different in
    /// windows-1252) and, for Latin-9, the eight code points ISO-8859-15 replaced.
    pub(crate) fn encode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Self::Utf8 => Some(text.as_bytes().to_vec()),
            Self::Ascii => text.is_ascii().then(|| text.as_bytes().to_vec()),
            Self::Latin1 | Self::Latin9 => text
                .chars()
                .map(|c| {
                    let cp = u32::from(c);
                    let replaced_in_latin9 =
                        matches!(cp, 0xA4 | 0xA6 | 0xA8 | 0xB4 | 0xB8 | 0xBC | 0xBD | 0xBE);
                    let c1 = (0x80..0xA0).contains(&cp);
                    if c1 || (self == Self::Latin9 && replaced_in_latin9) {
                        None
                    } else {
                        u8::try_from(cp).ok()
                    }
                })
                .collect(),
            Self::Other => None,
        }
    }
}

/// Escapes text for HTML; non-ASCII characters become numeric character references so the
/// result is ASCII and valid in any ASCII-compatible charset.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_ascii() => out.push(c),
            c => out.push_str(&format!("&#{};", u32::from(c))),
        }
    }
    out
}

/// A multipart boundary that does not occur in any of `contents`. Derived from a hash of
/// the contents (no random numbers), so output is reproducible.
pub(crate) fn choose_boundary(contents: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for c in contents {
        hasher.update(c);
    }
    let digest = hasher.finalize();
    let mut counter = 0u32;
    loop {
        let mut h = Sha256::new();
        h.update(digest);
        h.update(counter.to_be_bytes());
        let hex: String = h
            .finalize()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect();
        let boundary = format!("=_kim_{hex}");
        let needle = boundary.as_bytes();
        let clash = contents
            .iter()
            .any(|c| c.windows(needle.len()).any(|w| w == needle));
        if !clash {
            return boundary;
        }
        counter = counter.wrapping_add(1);
    }
}

/// The transfer encoding label for embedding `data` unencoded: `7bit` if it is ASCII,
/// `8bit` otherwise (binary lines are not expected in mail messages).
pub(crate) fn identity_cte(data: &[u8]) -> &'static str {
    if data.is_ascii() { "7bit" } else { "8bit" }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn tolerant_decode_takes_every_line_shape() {
        let data: Vec<u8> = (0u8..=255).cycle().take(70_000).collect();
        let lines = base64_lines(&data);
        assert_eq!(base64_decode_tolerant(&lines).unwrap(), data);
        // LF only, trailing blanks, and white space inside lines (the fallback path).
        let text = String::from_utf8(lines).unwrap();
        let lf = text.replace("\r\n", "\n");
        assert_eq!(base64_decode_tolerant(lf.as_bytes()).unwrap(), data);
        let blanks = text.replace("\r\n", " \t\r\n");
        assert_eq!(base64_decode_tolerant(blanks.as_bytes()).unwrap(), data);
        let inner: String = text
            .chars()
            .enumerate()
            .flat_map(|(i, c)| if i % 37 == 5 { vec![' ', c] } else { vec![c] })
            .collect();
        assert_eq!(base64_decode_tolerant(inner.as_bytes()).unwrap(), data);
        assert!(base64_decode_tolerant(b"QUJD*A==").is_err());
    }

    #[test]
    fn base64_lines_equal_one_encoding_cut_into_lines() {
        use base64::Engine as _;
        for len in [0, 1, 56, 57, 58, 3647, 3648, 3649, 57 * 64 * 3 + 5, 100_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let whole = base64::engine::general_purpose::STANDARD.encode(&data);
            let mut expected = Vec::new();
            for line in whole.as_bytes().chunks(LINE) {
                expected.extend_from_slice(line);
                expected.extend_from_slice(b"\r\n");
            }
            assert_eq!(base64_lines(&data), expected, "length {len}");
        }
    }

    #[test]
    fn base64_lines_are_76_with_crlf() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let enc = base64_lines(&data);
        let text = std::str::from_utf8(&enc).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.last(), Some(&""));
        for line in &lines[..lines.len() - 2] {
            assert_eq!(line.len(), 76);
        }
        assert_eq!(base64_decode_tolerant(&enc).unwrap(), data);
        let lf = text.replace("\r\n", "\n");
        assert_eq!(base64_decode_tolerant(lf.as_bytes()).unwrap(), data);
        assert!(base64_decode_tolerant(b"a*b=").is_err());
    }

    #[test]
    fn qp_round_trip_and_limits() {
        let text = "Grüße = Test \r\nline with trailing space \r\n".to_owned() + &"x".repeat(200);
        let enc = qp_encode(text.as_bytes());
        for line in enc.split(|&b| b == b'\n') {
            assert!(line.len() <= 77, "{}", line.len());
        }
        assert!(enc.windows(4).any(|w| w == b"=3D "));
        assert!(enc.windows(5).any(|w| w == b"=20\r\n"));
        assert_eq!(qp_decode(&enc), text.as_bytes());
        assert_eq!(qp_decode(b"a=\r\nb=C3=BC=zz"), "abü=zz".as_bytes());
    }

    #[test]
    fn header_text_encoding() {
        assert_eq!(encode_header_text("KOM-LE-Nachricht"), "KOM-LE-Nachricht");
        let enc = encode_header_text(&"großer Text ".repeat(6));
        assert!(enc.starts_with("=?UTF-8?B?"));
        for line in enc.split("\r\n") {
            assert!(line.len() <= 66);
        }
    }

    #[test]
    fn latin_encoding() {
        assert_eq!(Charset::Latin1.encode("ü").unwrap(), [0xFC]);
        assert_eq!(Charset::Latin9.encode("ß").unwrap(), [0xDF]);
        assert!(Charset::Latin9.encode("¤").is_none());
        assert!(Charset::Latin1.encode("€").is_none());
        assert!(Charset::Ascii.encode("ü").is_none());
        assert_eq!(Charset::from_label(Some("ISO-8859-1")), Charset::Latin1);
        assert_eq!(Charset::from_label(None), Charset::Ascii);
    }

    #[test]
    fn boundary_avoids_content() {
        let b = choose_boundary(&[b"abc"]);
        assert!(b.starts_with("=_kim_"));
        let clash = format!("x{b}y");
        let b2 = choose_boundary(&[b"abc", clash.as_bytes()]);
        assert_ne!(b, b2);
    }
}
