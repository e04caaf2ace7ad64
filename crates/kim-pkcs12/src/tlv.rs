//! A small BER reader and DER writer (X.690).
//!
//! The reader accepts BER: definite and indefinite lengths, and constructed (chunked) OCTET
//! STRINGs, as Java keytool and some other producers emit. It never panics: every length is
//! checked against the remaining input, and nesting of indefinite lengths is bounded.
//!
//! The writer emits DER: definite minimal lengths, primitive strings, sorted SET OF.

use std::borrow::Cow;

use crate::Pkcs12Error;

/// Universal tags (identifier octets) used in PKCS#12.
pub(crate) mod tag {
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const BMP_STRING: u8 = 0x1e;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
    /// `[0]` constructed (EXPLICIT tagging).
    pub(crate) const CONTEXT_0: u8 = 0xa0;
    /// `[0]` primitive (IMPLICIT OCTET STRING).
    pub(crate) const CONTEXT_0_PRIMITIVE: u8 = 0x80;
    /// `[1]` constructed.
    pub(crate) const CONTEXT_1: u8 = 0xa1;
}

/// The constructed bit of an identifier octet.
const CONSTRUCTED: u8 = 0x20;
/// Nesting depth beyond which we refuse indefinite-length input (guards the stack).
const MAX_DEPTH: u32 = 48;

/// One decoded element: its identifier octet and its content octets.
///
/// For an indefinite-length element, `content` spans the children without the end-of-contents
/// marker, so children are read the same way in both forms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Element<'a> {
    pub(crate) tag: u8,
    pub(crate) content: &'a [u8],
    depth: u32,
}

impl<'a> Element<'a> {
    /// A reader over the children of a constructed element.
    pub(crate) fn children(&self, what: &'static str) -> Result<Reader<'a>, Pkcs12Error> {
        if self.tag & CONSTRUCTED == 0 {
            return Err(Pkcs12Error::malformed(
                what,
                "expected a constructed element",
            ));
        }
        Ok(Reader {
            data: self.content,
            depth: self.depth + 1,
        })
    }

    /// The octets of a string type, joining the chunks of a constructed (BER) string.
    pub(crate) fn octets(&self, what: &'static str) -> Result<Cow<'a, [u8]>, Pkcs12Error> {
        if self.tag & CONSTRUCTED == 0 {
            return Ok(Cow::Borrowed(self.content));
        }
        let mut out = Vec::with_capacity(self.content.len());
        let mut chunks = self.children(what)?;
        while !chunks.is_empty() {
            let chunk = chunks.read_any(what)?;
            out.extend_from_slice(&chunk.octets(what)?);
        }
        Ok(Cow::Owned(out))
    }

    /// A non-negative INTEGER that fits in `u64`.
    pub(crate) fn uint(&self, what: &'static str) -> Result<u64, Pkcs12Error> {
        let bytes = self.content;
        match bytes.first() {
            None => return Err(Pkcs12Error::malformed(what, "empty INTEGER")),
            Some(b) if b & 0x80 != 0 => {
                return Err(Pkcs12Error::malformed(what, "negative INTEGER"));
            }
            Some(_) => {}
        }
        let significant = match bytes.iter().position(|&b| b != 0) {
            Some(i) => bytes.get(i..).unwrap_or_default(),
            None => &[],
        };
        if significant.len() > 8 {
            return Err(Pkcs12Error::malformed(what, "INTEGER too large"));
        }
        Ok(significant
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }
}

/// Reads consecutive elements from a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    depth: u32,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, depth: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The identifier octet of the next element, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads the next element whatever its tag.
    pub(crate) fn read_any(&mut self, what: &'static str) -> Result<Element<'a>, Pkcs12Error> {
        if self.depth > MAX_DEPTH {
            return Err(Pkcs12Error::malformed(what, "nesting too deep"));
        }
        let (element, rest) = split_element(self.data, self.depth, what)?;
        self.data = rest;
        Ok(element)
    }

    /// Reads the next element and returns its complete encoding (header included).
    pub(crate) fn read_raw(&mut self, what: &'static str) -> Result<&'a [u8], Pkcs12Error> {
        let before = self.data;
        self.read_any(what)?;
        let consumed = before.len() - self.data.len();
        before
            .get(..consumed)
            .ok_or(Pkcs12Error::Truncated { what })
    }

    /// Reads the next element and checks its tag.
    pub(crate) fn read(&mut self, tag: u8, what: &'static str) -> Result<Element<'a>, Pkcs12Error> {
        let element = self.read_any(what)?;
        if element.tag != tag {
            return Err(Pkcs12Error::malformed(
                what,
                format!("expected tag 0x{tag:02x}, found 0x{:02x}", element.tag),
            ));
        }
        Ok(element)
    }

    /// Reads the next element if it has `tag`.
    pub(crate) fn read_optional(
        &mut self,
        tag: u8,
        what: &'static str,
    ) -> Result<Option<Element<'a>>, Pkcs12Error> {
        if self.peek_tag() == Some(tag) {
            self.read(tag, what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads a SEQUENCE and returns a reader over its children.
    pub(crate) fn sequence(&mut self, what: &'static str) -> Result<Reader<'a>, Pkcs12Error> {
        self.read(tag::SEQUENCE, what)?.children(what)
    }

    /// Reads an OBJECT IDENTIFIER and returns its content octets.
    pub(crate) fn oid(&mut self, what: &'static str) -> Result<&'a [u8], Pkcs12Error> {
        Ok(self.read(tag::OID, what)?.content)
    }

    /// Reads an OCTET STRING (primitive or constructed).
    pub(crate) fn octet_string(
        &mut self,
        what: &'static str,
    ) -> Result<Cow<'a, [u8]>, Pkcs12Error> {
        let element = self.read_any(what)?;
        if element.tag & !CONSTRUCTED != tag::OCTET_STRING {
            return Err(Pkcs12Error::malformed(
                what,
                format!("expected OCTET STRING, found tag 0x{:02x}", element.tag),
            ));
        }
        element.octets(what)
    }

    /// Reads a non-negative INTEGER that fits in `u64`.
    pub(crate) fn uint(&mut self, what: &'static str) -> Result<u64, Pkcs12Error> {
        self.read(tag::INTEGER, what)?.uint(what)
    }

    /// The remaining input, unread.
    #[cfg(test)]
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.data
    }
}

/// Splits the first element off `data`.
fn split_element<'a>(
    data: &'a [u8],
    depth: u32,
    what: &'static str,
) -> Result<(Element<'a>, &'a [u8]), Pkcs12Error> {
    let truncated = Pkcs12Error::Truncated { what };
    let (&tag, mut rest) = data.split_first().ok_or(truncated.clone())?;
    if tag & 0x1f == 0x1f {
        // High tag number form: skip the subsequent identifier octets. PKCS#12 uses none of
        // these, so the element is kept with its first identifier octet only.
        loop {
            let (&b, r) = rest.split_first().ok_or(truncated.clone())?;
            rest = r;
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let (&first_len, r) = rest.split_first().ok_or(truncated.clone())?;
    rest = r;
    if first_len == 0x80 {
        return split_indefinite(tag, rest, depth, what);
    }
    let len = if first_len & 0x80 == 0 {
        usize::from(first_len)
    } else {
        let count = usize::from(first_len & 0x7f);
        if count > std::mem::size_of::<usize>() || count == 0x7f {
            return Err(Pkcs12Error::malformed(what, "length field too long"));
        }
        let (len_bytes, r) = rest.split_at_checked(count).ok_or(truncated.clone())?;
        rest = r;
        len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let (content, rest) = rest.split_at_checked(len).ok_or(truncated)?;
    Ok((
        Element {
            tag,
            content,
            depth,
        },
        rest,
    ))
}

/// Splits an indefinite-length element whose header has been consumed: finds the
/// end-of-contents marker by walking the children.
fn split_indefinite<'a>(
    tag: u8,
    body: &'a [u8],
    depth: u32,
    what: &'static str,
) -> Result<(Element<'a>, &'a [u8]), Pkcs12Error> {
    if tag & CONSTRUCTED == 0 {
        return Err(Pkcs12Error::malformed(
            what,
            "indefinite length on a primitive element",
        ));
    }
    if depth >= MAX_DEPTH {
        return Err(Pkcs12Error::malformed(what, "nesting too deep"));
    }
    let mut cursor = body;
    loop {
        if cursor.starts_with(&[0, 0]) {
            let consumed = body.len() - cursor.len();
            let content = body
                .get(..consumed)
                .ok_or(Pkcs12Error::Truncated { what })?;
            let rest = cursor.get(2..).unwrap_or_default();
            return Ok((
                Element {
                    tag,
                    content,
                    depth,
                },
                rest,
            ));
        }
        let (_, rest) = split_element(cursor, depth + 1, what)?;
        cursor = rest;
    }
}

// ---------------------------------------------------------------------------------------------
// DER writer
// ---------------------------------------------------------------------------------------------

/// Encodes one element with a DER definite length.
pub(crate) fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        // Fits in the short form; the cast cannot truncate.
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// Encodes a constructed element whose content is the concatenation of `parts`.
pub(crate) fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    encode(tag, &parts.concat())
}

/// `SEQUENCE { parts... }`.
pub(crate) fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    constructed(tag::SEQUENCE, parts)
}

/// `SET OF` with its elements sorted as DER requires (X.690 §11.6).
pub(crate) fn set_of(mut elements: Vec<Vec<u8>>) -> Vec<u8> {
    elements.sort();
    encode(tag::SET, &elements.concat())
}

/// An OBJECT IDENTIFIER.
pub(crate) fn oid(oid: &der::asn1::ObjectIdentifier) -> Vec<u8> {
    encode(tag::OID, oid.as_bytes())
}

/// An OCTET STRING.
pub(crate) fn octet_string(bytes: &[u8]) -> Vec<u8> {
    encode(tag::OCTET_STRING, bytes)
}

/// A non-negative INTEGER.
pub(crate) fn uint(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    let mut content = bytes.get(skip..).unwrap_or_default().to_vec();
    if content.first().is_some_and(|b| b & 0x80 != 0) {
        content.insert(0, 0);
    }
    encode(tag::INTEGER, &content)
}

/// `NULL`.
pub(crate) fn null() -> Vec<u8> {
    encode(tag::NULL, &[])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn reads_indefinite_length_and_chunked_octet_string() {
        // SEQUENCE (indefinite) { OCTET STRING constructed (indefinite) { "ab", "c" }, INTEGER 5 }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0x00, 0x00, 0x02,
            0x01, 0x05, 0x00, 0x00, 0xff,
        ];
        let mut outer = Reader::new(&ber);
        let mut seq = outer.sequence("test").unwrap();
        assert_eq!(&*seq.octet_string("test").unwrap(), b"abc");
        assert_eq!(seq.uint("test").unwrap(), 5);
        assert!(seq.is_empty());
        assert_eq!(outer.remaining(), &[0xff]);
    }

    #[test]
    fn long_lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 65535, 65536] {
            let content = vec![7u8; len];
            let der = octet_string(&content);
            let mut reader = Reader::new(&der);
            assert_eq!(&*reader.octet_string("test").unwrap(), &content[..]);
            assert!(reader.is_empty());
        }
    }

    #[test]
    fn integers_are_minimal() {
        assert_eq!(uint(0), [2, 1, 0]);
        assert_eq!(uint(128), [2, 2, 0, 128]);
        assert_eq!(uint(2048), [2, 2, 8, 0]);
        for v in [0u64, 1, 127, 128, 255, 256, 100_000, u64::MAX] {
            assert_eq!(Reader::new(&uint(v)).uint("test").unwrap(), v);
        }
    }

    #[test]
    fn rejects_truncated_and_oversized_lengths() {
        assert!(matches!(
            Reader::new(&[0x30, 0x05, 0x02]).read_any("x"),
            Err(Pkcs12Error::Truncated { .. })
        ));
        assert!(
            Reader::new(&[0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9])
                .read_any("x")
                .is_err()
        );
        assert!(Reader::new(&[0x04, 0x80, 0, 0]).read_any("x").is_err());
        // Deep indefinite nesting is refused, not a stack overflow.
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 10_000)
            .flatten()
            .collect();
        assert!(Reader::new(&deep).read_any("x").is_err());
    }
}
