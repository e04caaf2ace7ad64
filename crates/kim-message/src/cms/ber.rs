//! A BER-tolerant TLV reader (X.690).
//!
//! Konnektors emit CMS in BER: indefinite lengths and constructed (chunked) OCTET STRINGs
//! (gemSMIME_KOMLE 2.2, observed on the gematik sample). This reader accepts definite and
//! indefinite lengths, high tag numbers and constructed strings, and never panics: every
//! malformed input yields a [`BerError`] naming the offset and what was wrong.
//!
//! Elements borrow from the input; [`Tlv::octets`] concatenates chunked strings (copying
//! only when the string really is chunked).

use std::borrow::Cow;

/// Nesting deeper than this is rejected. KOM-LE structures nest at most about 16 levels
/// (recipient-emails inside a signed attribute inside SignedData inside ContentInfo); the
/// limit also bounds the cost of nested indefinite lengths, whose parse time grows with
/// size × depth.
pub const MAX_DEPTH: usize = 32;

/// Nesting of indefinite-length elements. Finding the end of an indefinite element means
/// reading its subtree, and every indefinite ancestor reads it again, so this bounds the
/// parse cost factor. Konnektor output nests about five indefinite levels.
pub const MAX_INDEFINITE_DEPTH: usize = 16;

/// Levels of constructed segments a constructed string may have. BER allows any nesting;
/// real encoders write one level (chunks directly inside the constructed string).
pub const MAX_STRING_NESTING: usize = 2;

/// Tag class (X.690 8.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Universal,
    Application,
    Context,
    Private,
}

/// An identifier octet(s): class, constructed bit and tag number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    pub class: Class,
    pub constructed: bool,
    pub number: u32,
}

impl Tag {
    pub const BOOLEAN: u32 = 1;
    pub const INTEGER: u32 = 2;
    pub const BIT_STRING: u32 = 3;
    pub const OCTET_STRING: u32 = 4;
    pub const NULL: u32 = 5;
    pub const OID: u32 = 6;
    pub const UTF8_STRING: u32 = 12;
    pub const SEQUENCE: u32 = 16;
    pub const SET: u32 = 17;
    pub const PRINTABLE_STRING: u32 = 19;
    pub const IA5_STRING: u32 = 22;
    pub const UTC_TIME: u32 = 23;
    pub const GENERALIZED_TIME: u32 = 24;

    /// True for a universal tag with the given number (primitive or constructed).
    pub fn is_universal(&self, number: u32) -> bool {
        self.class == Class::Universal && self.number == number
    }

    /// True for a context-specific tag `[number]`.
    pub fn is_context(&self, number: u32) -> bool {
        self.class == Class::Context && self.number == number
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.constructed {
            "constructed"
        } else {
            "primitive"
        };
        match self.class {
            Class::Universal => write!(f, "universal {} ({kind})", self.number),
            Class::Application => write!(f, "[APPLICATION {}] ({kind})", self.number),
            Class::Context => write!(f, "[{}] ({kind})", self.number),
            Class::Private => write!(f, "[PRIVATE {}] ({kind})", self.number),
        }
    }
}

/// What was wrong with a BER encoding, and where (offset from the start of the outermost
/// element being read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BerError {
    #[error("truncated at offset {offset}: {what}")]
    Truncated { offset: usize, what: &'static str },
    #[error("invalid encoding at offset {offset}: {what}")]
    Invalid { offset: usize, what: String },
    #[error("nesting deeper than {MAX_DEPTH} levels at offset {offset}")]
    TooDeep { offset: usize },
    #[error("expected {expected}, found {found} at offset {offset}")]
    Unexpected {
        offset: usize,
        expected: String,
        found: Tag,
    },
    #[error("{count} trailing bytes after the element at offset {offset}")]
    Trailing { offset: usize, count: usize },
}

/// One element: tag, content bytes and the complete raw encoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: Tag,
    /// Content octets. For indefinite lengths: everything between the header and the
    /// end-of-contents marker (i.e. the encoded children).
    pub content: &'a [u8],
    /// The whole element as it appeared in the input (header, content, end-of-contents).
    pub raw: &'a [u8],
    /// Offset of `raw` in the input the reader started from (for error messages).
    pub offset: usize,
    pub indefinite: bool,
    depth: usize,
    /// Number of indefinite-length ancestors.
    indefinite_depth: usize,
}

impl std::fmt::Debug for Tlv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tlv")
            .field("tag", &self.tag)
            .field("offset", &self.offset)
            .field("len", &self.content.len())
            .field("indefinite", &self.indefinite)
            .finish()
    }
}

/// Reads exactly one element spanning all of `input`.
pub fn parse(input: &[u8]) -> Result<Tlv<'_>, BerError> {
    let (tlv, rest) = read(input, 0, 0, 0)?;
    if !rest.is_empty() {
        return Err(BerError::Trailing {
            offset: tlv.raw.len(),
            count: rest.len(),
        });
    }
    Ok(tlv)
}

/// Reads the first element of `input`, returning it and the remaining bytes.
pub fn parse_prefix(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), BerError> {
    read(input, 0, 0, 0)
}

fn truncated(offset: usize, what: &'static str) -> BerError {
    BerError::Truncated { offset, what }
}

fn read_tag(input: &[u8], offset: usize) -> Result<(Tag, usize), BerError> {
    let first = *input.first().ok_or(truncated(offset, "identifier"))?;
    let class = match first >> 6 {
        0 => Class::Universal,
        1 => Class::Application,
        2 => Class::Context,
        _ => Class::Private,
    };
    let constructed = first & 0x20 != 0;
    if first & 0x1f != 0x1f {
        let number = u32::from(first & 0x1f);
        return Ok((
            Tag {
                class,
                constructed,
                number,
            },
            1,
        ));
    }
    let mut number: u32 = 0;
    for (i, b) in input.iter().enumerate().skip(1) {
        if i > 5 || number > (u32::MAX >> 7) {
            return Err(BerError::Invalid {
                offset,
                what: "tag number too large".into(),
            });
        }
        number = (number << 7) | u32::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Ok((
                Tag {
                    class,
                    constructed,
                    number,
                },
                i + 1,
            ));
        }
    }
    Err(truncated(offset, "high tag number"))
}

/// Returns (length or None for indefinite, header bytes consumed by the length).
fn read_len(input: &[u8], offset: usize) -> Result<(Option<usize>, usize), BerError> {
    let first = *input.first().ok_or(truncated(offset, "length"))?;
    if first < 0x80 {
        return Ok((Some(usize::from(first)), 1));
    }
    if first == 0x80 {
        return Ok((None, 1));
    }
    let n = usize::from(first & 0x7f);
    if n > std::mem::size_of::<usize>() || n == 0x7f {
        return Err(BerError::Invalid {
            offset,
            what: format!("length of {n} octets"),
        });
    }
    let bytes = input
        .get(1..=n)
        .ok_or(truncated(offset, "long-form length"))?;
    let len = bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Ok((Some(len), 1 + n))
}

fn read(
    input: &[u8],
    base: usize,
    depth: usize,
    indefinite_depth: usize,
) -> Result<(Tlv<'_>, &[u8]), BerError> {
    if depth > MAX_DEPTH {
        return Err(BerError::TooDeep { offset: base });
    }
    let (tag, tag_len) = read_tag(input, base)?;
    let after_tag = input.get(tag_len..).ok_or(truncated(base, "length"))?;
    let (len, len_len) = read_len(after_tag, base + tag_len)?;
    let header = tag_len + len_len;
    match len {
        Some(len) => {
            let end = header.checked_add(len).ok_or(truncated(base, "content"))?;
            let content = input.get(header..end).ok_or(BerError::Truncated {
                offset: base,
                what: "content shorter than its length",
            })?;
            let raw = input.get(..end).ok_or(truncated(base, "content"))?;
            let rest = input.get(end..).unwrap_or_default();
            Ok((
                Tlv {
                    tag,
                    content,
                    raw,
                    offset: base,
                    indefinite: false,
                    depth,
                    indefinite_depth,
                },
                rest,
            ))
        }
        None => {
            if !tag.constructed {
                return Err(BerError::Invalid {
                    offset: base,
                    what: "indefinite length on a primitive element".into(),
                });
            }
            if indefinite_depth >= MAX_INDEFINITE_DEPTH {
                return Err(BerError::Invalid {
                    offset: base,
                    what: format!(
                        "indefinite lengths nested more than {MAX_INDEFINITE_DEPTH} levels"
                    ),
                });
            }
            // Walk the children until the end-of-contents marker.
            let mut pos = header;
            loop {
                let rest = input
                    .get(pos..)
                    .ok_or(truncated(base + pos, "end-of-contents"))?;
                if rest.len() < 2 {
                    return Err(truncated(base + pos, "end-of-contents"));
                }
                if rest.starts_with(&[0, 0]) {
                    let content = input.get(header..pos).unwrap_or_default();
                    let end = pos + 2;
                    let raw = input.get(..end).unwrap_or_default();
                    let after = input.get(end..).unwrap_or_default();
                    return Ok((
                        Tlv {
                            tag,
                            content,
                            raw,
                            offset: base,
                            indefinite: true,
                            depth,
                            indefinite_depth,
                        },
                        after,
                    ));
                }
                let (child, _) = read(rest, base + pos, depth + 1, indefinite_depth + 1)?;
                pos += child.raw.len();
            }
        }
    }
}

impl<'a> Tlv<'a> {
    /// The children of a constructed element.
    pub fn children(&self) -> Children<'a> {
        Children {
            rest: if self.tag.constructed {
                self.content
            } else {
                &[]
            },
            offset: self.offset + (self.raw.len() - self.content.len() - self.eoc_len()),
            depth: self.depth + 1,
            indefinite_depth: self.indefinite_depth + usize::from(self.indefinite),
        }
    }

    fn eoc_len(&self) -> usize {
        if self.indefinite { 2 } else { 0 }
    }

    /// All children, or the first error.
    pub fn child_vec(&self) -> Result<Vec<Tlv<'a>>, BerError> {
        self.children().collect()
    }

    /// Fails unless the tag is universal `number`.
    pub fn expect_universal(self, number: u32, name: &str) -> Result<Self, BerError> {
        if self.tag.is_universal(number) {
            Ok(self)
        } else {
            Err(self.unexpected(name))
        }
    }

    /// An "expected X" error for this element.
    pub fn unexpected(&self, expected: &str) -> BerError {
        BerError::Unexpected {
            offset: self.offset,
            expected: expected.to_string(),
            found: self.tag,
        }
    }

    /// The value of a string type, concatenating the chunks of a constructed encoding.
    /// Borrowed when primitive, owned when chunked.
    pub fn octets(&self) -> Result<Cow<'a, [u8]>, BerError> {
        if !self.tag.constructed {
            return Ok(Cow::Borrowed(self.content));
        }
        let mut out = Vec::with_capacity(self.content.len());
        self.append_octets(&mut out, 0)?;
        Ok(Cow::Owned(out))
    }

    fn append_octets(&self, out: &mut Vec<u8>, level: usize) -> Result<(), BerError> {
        if !self.tag.constructed {
            out.extend_from_slice(self.content);
            return Ok(());
        }
        if level >= MAX_STRING_NESTING {
            return Err(BerError::Invalid {
                offset: self.offset,
                what: format!("constructed string nested more than {MAX_STRING_NESTING} levels"),
            });
        }
        for child in self.children() {
            let child = child?;
            let is_chunk = child.tag.is_universal(Tag::OCTET_STRING)
                || (child.tag.class == self.tag.class && child.tag.number == self.tag.number);
            if !is_chunk {
                return Err(child.unexpected("OCTET STRING chunk"));
            }
            child.append_octets(out, level + 1)?;
        }
        Ok(())
    }

    /// An OBJECT IDENTIFIER's content bytes (checked to be a primitive OID).
    pub fn oid(&self) -> Result<const_oid::ObjectIdentifier, BerError> {
        if !self.tag.is_universal(Tag::OID) || self.tag.constructed {
            return Err(self.unexpected("OBJECT IDENTIFIER"));
        }
        const_oid::ObjectIdentifier::from_bytes(self.content).map_err(|e| BerError::Invalid {
            offset: self.offset,
            what: format!("object identifier: {e}"),
        })
    }

    /// A small non-negative INTEGER (versions, lengths).
    pub fn small_uint(&self) -> Result<u64, BerError> {
        if !self.tag.is_universal(Tag::INTEGER) || self.tag.constructed {
            return Err(self.unexpected("INTEGER"));
        }
        let bytes = self.content;
        if bytes.is_empty() || bytes.len() > 8 || bytes.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(BerError::Invalid {
                offset: self.offset,
                what: "INTEGER is not a small non-negative number".into(),
            });
        }
        Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// Re-encodes this element in DER form: definite lengths, constructed universal strings
    /// joined into primitive ones. Content is otherwise kept (SET OF order is not changed:
    /// a signature covers the order the signer used).
    pub fn to_der(&self) -> Result<Vec<u8>, BerError> {
        let mut out = Vec::with_capacity(self.raw.len());
        self.write_der(&mut out)?;
        Ok(out)
    }

    fn write_der(&self, out: &mut Vec<u8>) -> Result<(), BerError> {
        if !self.tag.constructed && !self.indefinite {
            out.extend_from_slice(self.raw);
            return Ok(());
        }
        let is_string = self.tag.class == Class::Universal
            && matches!(self.tag.number, 3 | 4 | 12 | 18..=22 | 25..=30);
        if is_string {
            let value = self.octets()?;
            let tag = Tag {
                constructed: false,
                ..self.tag
            };
            super::der::write_header(out, tag, value.len());
            out.extend_from_slice(&value);
            return Ok(());
        }
        let mut inner = Vec::with_capacity(self.content.len());
        for child in self.children() {
            child?.write_der(&mut inner)?;
        }
        super::der::write_header(out, self.tag, inner.len());
        out.extend_from_slice(&inner);
        Ok(())
    }
}

/// Iterator over the children of a constructed element.
#[derive(Debug, Clone)]
pub struct Children<'a> {
    rest: &'a [u8],
    offset: usize,
    depth: usize,
    indefinite_depth: usize,
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<Tlv<'a>, BerError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match read(self.rest, self.offset, self.depth, self.indefinite_depth) {
            Ok((tlv, rest)) => {
                self.offset += tlv.raw.len();
                self.rest = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// A cursor over the children of a SEQUENCE, for schema-driven decoding.
#[derive(Debug)]
pub struct Seq<'a> {
    parent: Tlv<'a>,
    items: std::iter::Peekable<Children<'a>>,
}

impl<'a> Seq<'a> {
    /// Opens a constructed element (SEQUENCE, SET or an explicit context tag).
    pub fn new(parent: Tlv<'a>) -> Result<Self, BerError> {
        if !parent.tag.constructed {
            return Err(parent.unexpected("a constructed element"));
        }
        Ok(Seq {
            parent,
            items: parent.children().peekable(),
        })
    }

    /// The next element, which must exist.
    pub fn next(&mut self, name: &'static str) -> Result<Tlv<'a>, BerError> {
        match self.items.next() {
            Some(item) => item,
            None => Err(BerError::Truncated {
                offset: self.parent.offset,
                what: name,
            }),
        }
    }

    /// The next element if its tag is context `[number]`.
    pub fn optional_context(&mut self, number: u32) -> Result<Option<Tlv<'a>>, BerError> {
        match self.items.peek() {
            Some(Ok(t)) if t.tag.is_context(number) => self.items.next().transpose(),
            Some(Err(e)) => Err(e.clone()),
            _ => Ok(None),
        }
    }

    /// The next element if it is universal `number`.
    pub fn optional_universal(&mut self, number: u32) -> Result<Option<Tlv<'a>>, BerError> {
        match self.items.peek() {
            Some(Ok(t)) if t.tag.is_universal(number) => self.items.next().transpose(),
            Some(Err(e)) => Err(e.clone()),
            _ => Ok(None),
        }
    }

    /// True when all children were consumed.
    pub fn is_empty(&mut self) -> bool {
        self.items.peek().is_none()
    }

    /// Fails if children remain (strict structures).
    pub fn finish(mut self) -> Result<(), BerError> {
        match self.items.next() {
            None => Ok(()),
            Some(Ok(t)) => Err(BerError::Invalid {
                offset: t.offset,
                what: format!("unexpected extra element {}", t.tag),
            }),
            Some(Err(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn definite_and_indefinite_give_the_same_octets() {
        // OCTET STRING "abc" in DER, and as a constructed, indefinite, two-chunk string.
        let der = [0x04, 0x03, b'a', b'b', b'c'];
        let ber = [
            0x24, 0x80, 0x04, 0x01, b'a', 0x04, 0x02, b'b', b'c', 0x00, 0x00,
        ];
        assert_eq!(parse(&der).unwrap().octets().unwrap().as_ref(), b"abc");
        let t = parse(&ber).unwrap();
        assert!(t.indefinite);
        assert_eq!(t.octets().unwrap().as_ref(), b"abc");
        assert_eq!(t.to_der().unwrap(), der);
    }

    #[test]
    fn nested_indefinite_sequences_normalise_to_der() {
        let ber = [
            0x30, 0x80, 0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
        ];
        let der = parse(&ber).unwrap().to_der().unwrap();
        assert_eq!(der, [0x30, 0x07, 0x30, 0x03, 0x02, 0x01, 0x05, 0x04, 0x00]);
    }

    #[test]
    fn high_tag_numbers_and_long_lengths() {
        let mut input = vec![0x9f, 0x81, 0x00, 0x82, 0x01, 0x00];
        input.extend(std::iter::repeat_n(7u8, 256));
        let t = parse(&input).unwrap();
        assert_eq!(t.tag.number, 128);
        assert!(t.tag.is_context(128));
        assert_eq!(t.content.len(), 256);
    }

    #[test]
    fn malformed_inputs_are_errors_not_panics() {
        let cases: &[&[u8]] = &[
            &[],
            &[0x30],
            &[0x30, 0x05, 0x02],
            &[0x04, 0x80, 0x00, 0x00],
            &[0x30, 0x80, 0x02, 0x01, 0x01],
            &[0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            &[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00],
        ];
        for case in cases {
            assert!(parse(case).is_err(), "{case:02x?}");
        }
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let mut input = vec![0x05, 0x00];
        for _ in 0..(MAX_DEPTH + 5) {
            input = crate::cms::der::sequence(&[&input]);
        }
        // Definite lengths are only descended into when walked: walk down to the limit.
        let mut t = parse(&input).unwrap();
        let err = loop {
            match t.children().next() {
                Some(Ok(child)) => t = child,
                Some(Err(e)) => break e,
                None => panic!("reached the bottom without hitting the depth limit"),
            }
        };
        assert!(matches!(err, BerError::TooDeep { .. }), "{err}");
    }

    #[test]
    fn deeply_nested_indefinite_lengths_are_rejected_but_definite_ones_are_not() {
        let nest = |levels: usize, indefinite: bool| {
            let mut v = Vec::new();
            let mut inner = vec![0x05, 0x00];
            for _ in 0..levels {
                v.clear();
                if indefinite {
                    v.extend_from_slice(&[0x30, 0x80]);
                    v.extend_from_slice(&inner);
                    v.extend_from_slice(&[0, 0]);
                } else {
                    v.push(0x30);
                    v.push(u8::try_from(inner.len()).unwrap());
                    v.extend_from_slice(&inner);
                }
                inner = v.clone();
            }
            inner
        };
        assert!(parse(&nest(MAX_INDEFINITE_DEPTH, true)).is_ok());
        assert!(parse(&nest(MAX_INDEFINITE_DEPTH + 1, true)).is_err());
        assert!(parse(&nest(MAX_INDEFINITE_DEPTH + 4, false)).is_ok());
    }

    #[test]
    fn deeply_nested_string_segments_are_rejected() {
        // One level of chunks, and chunks of chunks, are read; a third level is refused.
        let two = [
            0x24, 0x80, 0x24, 0x80, 0x04, 0x01, b'a', 0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(parse(&two).unwrap().octets().unwrap().as_ref(), b"a");
        let three = [
            0x24, 0x80, 0x24, 0x80, 0x24, 0x80, 0x04, 0x01, b'a', 0, 0, 0, 0, 0, 0,
        ];
        assert!(parse(&three).unwrap().octets().is_err());
    }

    #[test]
    fn trailing_bytes_are_reported() {
        assert!(matches!(
            parse(&[0x05, 0x00, 0xff]),
            Err(BerError::Trailing { count: 1, .. })
        ));
    }
}
