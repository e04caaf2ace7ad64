//! A byte-range view of a MIME entity tree (RFC 2045, RFC 2046 §5.1), used to modify single
//! parts while every other byte of the message stays as it was.

use std::ops::Range;

use super::content_type::ContentType;
use super::errors::MimeError;
use super::header::HeaderBlock;

/// Deepest multipart nesting that is descended into; deeper parts are treated as opaque.
const MAX_DEPTH: usize = 32;

/// One MIME entity inside a message buffer.
#[derive(Debug, Clone)]
pub(crate) struct Entity {
    /// Where the entity's header starts.
    pub start: usize,
    /// Where the header fields end (start of the empty line).
    pub header_end: usize,
    /// The entity's body (for multiparts including preamble and epilogue).
    pub body: Range<usize>,
    /// The parsed header.
    pub header: HeaderBlock,
    /// The content type (RFC 2045 default if absent).
    pub content_type: ContentType,
    /// Child entities of a multipart whose boundary was found.
    pub children: Vec<Entity>,
    /// For multiparts: offset of the first boundary delimiter line.
    pub first_delimiter: Option<usize>,
}

impl Entity {
    /// Builds the entity from an already parsed header (top level of a message).
    pub fn from_header(
        buf: &[u8],
        header: HeaderBlock,
        header_end: usize,
        body: Range<usize>,
    ) -> Self {
        Self::assemble(buf, 0, header, header_end, body, 0)
    }

    fn parse_at_depth(buf: &[u8], range: Range<usize>, depth: usize) -> Result<Self, MimeError> {
        let slice = buf
            .get(range.clone())
            .ok_or(MimeError::MalformedMime("entity outside message"))?;
        let (header, body_off) = HeaderBlock::parse(slice)?;
        let header_len = header.to_bytes().len();
        let body = range.start + body_off..range.end;
        Ok(Self::assemble(
            buf,
            range.start,
            header,
            range.start + header_len,
            body,
            depth,
        ))
    }

    fn assemble(
        buf: &[u8],
        start: usize,
        header: HeaderBlock,
        header_end: usize,
        body: Range<usize>,
        depth: usize,
    ) -> Self {
        let content_type = ContentType::of(&header);
        let mut entity = Self {
            start,
            header_end,
            body,
            header,
            content_type,
            children: Vec::new(),
            first_delimiter: None,
        };
        if entity.content_type.is_multipart()
            && depth < MAX_DEPTH
            && let Some(boundary) = entity.content_type.param("boundary").map(str::to_owned)
        {
            let parts = split_multipart(buf, entity.body.clone(), &boundary);
            entity.first_delimiter = parts.first_delimiter;
            // A part that cannot be parsed makes the multipart opaque.
            let children: Result<Vec<_>, _> = parts
                .parts
                .into_iter()
                .map(|r| Self::parse_at_depth(buf, r, depth + 1))
                .collect();
            entity.children = children.unwrap_or_default();
            if entity.children.is_empty() {
                entity.first_delimiter = None;
            }
        }
        entity
    }

    /// True if `Content-Disposition` says `attachment`.
    pub fn is_attachment(&self) -> bool {
        self.header
            .value("Content-Disposition")
            .and_then(|v| {
                v.split(';')
                    .next()
                    .map(|d| d.trim().eq_ignore_ascii_case("attachment"))
            })
            .unwrap_or(false)
    }

    /// The lower-cased `Content-Transfer-Encoding` (RFC 2045 default `7bit`).
    pub fn transfer_encoding(&self) -> String {
        self.header
            .value("Content-Transfer-Encoding")
            .map(|v| v.to_ascii_lowercase())
            .unwrap_or_else(|| "7bit".to_owned())
    }
}

/// The parts of a multipart body.
#[derive(Debug, Default)]
pub(crate) struct Parts {
    /// Byte ranges of the parts (header start to content end, excluding the line ending
    /// that belongs to the next delimiter).
    pub parts: Vec<Range<usize>>,
    /// Offset of the first delimiter line.
    pub first_delimiter: Option<usize>,
}

/// Splits a multipart body at its boundary delimiters (RFC 2046 §5.1.1). A missing close
/// delimiter ends the last part at the end of the body.
pub(crate) fn split_multipart(buf: &[u8], body: Range<usize>, boundary: &str) -> Parts {
    let mut result = Parts::default();
    let mut delimiter = Vec::with_capacity(boundary.len() + 2);
    delimiter.extend_from_slice(b"--");
    delimiter.extend_from_slice(boundary.as_bytes());
    let mut part_start: Option<usize> = None;
    // Delimiter lines are found with a substring search (a 15 MiB attachment has some
    // 200,000 lines); a hit counts only at the start of a line, as RFC 2046 requires.
    let region = buf.get(body.clone()).unwrap_or_default();
    let finder = memchr::memmem::Finder::new(&delimiter);
    let mut from = 0usize;
    while let Some(rel) = region.get(from..).and_then(|r| finder.find(r)) {
        let pos = from + rel;
        let at_line_start = pos == 0 || region.get(pos - 1) == Some(&b'\n');
        let line = body.start + pos;
        let line_end = region
            .get(pos..)
            .and_then(|r| memchr::memchr(b'\n', r))
            .map_or(body.end, |p| line + p + 1);
        from = if at_line_start {
            line_end - body.start
        } else {
            pos + 1
        };
        if !at_line_start {
            continue;
        }
        let text = buf.get(line..line_end).unwrap_or_default();
        if let Some(after) = text.strip_prefix(delimiter.as_slice()) {
            let is_close = after.starts_with(b"--");
            let rest = if is_close {
                after.get(2..).unwrap_or_default()
            } else {
                after
            };
            if rest.iter().all(|b| b.is_ascii_whitespace()) {
                if result.first_delimiter.is_none() {
                    result.first_delimiter = Some(line);
                }
                if let Some(start) = part_start.take() {
                    result.parts.push(start..content_end(buf, start, line));
                }
                if is_close {
                    return result;
                }
                part_start = Some(line_end);
            }
        }
    }
    if let Some(start) = part_start {
        result.parts.push(start..body.end);
    }
    result
}

/// End of a part's content: the line ending before the delimiter line belongs to the
/// delimiter.
fn content_end(buf: &[u8], start: usize, delimiter_line: usize) -> usize {
    let before = buf.get(..delimiter_line).unwrap_or_default();
    let le = if before.ends_with(b"\r\n") {
        2
    } else if before.ends_with(b"\n") {
        1
    } else {
        0
    };
    delimiter_line.saturating_sub(le).max(start)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn splits_parts_and_keeps_bytes() {
        let msg = b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\nA: 1\r\n\r\none\r\n--b  \r\n\r\ntwo\r\n--b--\r\nepi";
        let (h, off) = HeaderBlock::parse(msg).unwrap();
        let e = Entity::from_header(msg, h, off - 2, off..msg.len());
        assert_eq!(e.children.len(), 2);
        assert_eq!(
            &msg[e.children[0].start..e.children[0].body.end],
            b"A: 1\r\n\r\none"
        );
        assert_eq!(&msg[e.children[0].body.clone()], b"one");
        assert_eq!(&msg[e.children[1].body.clone()], b"two");
        assert_eq!(e.first_delimiter, Some(off + 5));
    }

    #[test]
    fn unterminated_multipart_and_lf() {
        let msg = b"Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\nonly\n";
        let (h, off) = HeaderBlock::parse(msg).unwrap();
        let e = Entity::from_header(msg, h, off - 1, off..msg.len());
        assert_eq!(e.children.len(), 1);
        assert_eq!(&msg[e.children[0].body.clone()], b"only\n");
    }

    #[test]
    fn prefix_of_boundary_is_not_a_delimiter() {
        let msg = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--bx\r\n--b--\r\n";
        let (h, off) = HeaderBlock::parse(msg).unwrap();
        let e = Entity::from_header(msg, h, off - 2, off..msg.len());
        assert_eq!(e.children.len(), 1);
        assert_eq!(&msg[e.children[0].body.clone()], b"--bx");
    }
}
