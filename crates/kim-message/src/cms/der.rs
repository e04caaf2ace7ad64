//! A minimal DER writer for the structures this crate emits.
//!
//! Encoders return `Vec<u8>` holding one complete element; constructed elements take their
//! already encoded children. `set_of` sorts its members as DER requires (X.690 11.6).

use super::ber::{Class, Tag};
use const_oid::ObjectIdentifier;

/// Appends identifier and definite length octets.
pub fn write_header(out: &mut Vec<u8>, tag: Tag, len: usize) {
    let class_bits: u8 = match tag.class {
        Class::Universal => 0x00,
        Class::Application => 0x40,
        Class::Context => 0x80,
        Class::Private => 0xc0,
    };
    let cons = if tag.constructed { 0x20 } else { 0 };
    if tag.number < 31 {
        // The tag number fits in five bits here.
        out.push(class_bits | cons | (tag.number as u8));
    } else {
        out.push(class_bits | cons | 0x1f);
        let mut groups = Vec::new();
        let mut n = tag.number;
        loop {
            groups.push((n & 0x7f) as u8);
            n >>= 7;
            if n == 0 {
                break;
            }
        }
        for (i, g) in groups.iter().enumerate().rev() {
            out.push(if i == 0 { *g } else { g | 0x80 });
        }
    }
    write_len(out, len);
}

fn write_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = bytes.get(skip..).unwrap_or_default();
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
}

fn element(tag: Tag, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    write_header(&mut out, tag, content.len());
    out.extend_from_slice(content);
    out
}

fn universal(number: u32, constructed: bool) -> Tag {
    Tag {
        class: Class::Universal,
        constructed,
        number,
    }
}

/// Concatenates encoded children.
fn join(children: &[&[u8]]) -> Vec<u8> {
    let mut content = Vec::with_capacity(children.iter().map(|c| c.len()).sum());
    for c in children {
        content.extend_from_slice(c);
    }
    content
}

/// `SEQUENCE { children }`.
pub fn sequence(children: &[&[u8]]) -> Vec<u8> {
    element(universal(Tag::SEQUENCE, true), &join(children))
}

/// `SET OF` with members sorted by their encodings.
pub fn set_of(children: &[&[u8]]) -> Vec<u8> {
    let mut sorted: Vec<&[u8]> = children.to_vec();
    sorted.sort();
    element(universal(Tag::SET, true), &join(&sorted))
}

/// `[number] IMPLICIT` constructed, e.g. `[0] IMPLICIT SET OF Attribute`.
pub fn context_constructed(number: u32, children: &[&[u8]]) -> Vec<u8> {
    element(
        Tag {
            class: Class::Context,
            constructed: true,
            number,
        },
        &join(children),
    )
}

/// `[number] IMPLICIT` primitive, e.g. `[0] IMPLICIT OCTET STRING`.
pub fn context_primitive(number: u32, content: &[u8]) -> Vec<u8> {
    element(
        Tag {
            class: Class::Context,
            constructed: false,
            number,
        },
        content,
    )
}

/// One level of [`nested`]: identifier octet, encoded fields before the inner element, encoded
/// fields after it.
pub type Layer<'a> = (u8, Vec<&'a [u8]>, Vec<&'a [u8]>);

/// Encodes nested elements around one large content without copying it once per level.
///
/// `layers` are listed from the outermost inwards: each gives the identifier octet, the
/// encoded fields before the inner element, and the encoded fields after it. The innermost
/// element is `(tag, content)` written last. Used for the SignedData and AuthEnvelopedData
/// builders, whose eContent / encryptedContent can be hundreds of megabytes.
pub fn nested(layers: &[Layer<'_>], inner_tag: u8, inner: &[u8]) -> Vec<u8> {
    // Lengths from the inside out.
    let mut lengths = Vec::with_capacity(layers.len());
    let mut len = header_len(inner.len()) + inner.len();
    for (_, before, after) in layers.iter().rev() {
        let content = before
            .iter()
            .chain(after.iter())
            .map(|p| p.len())
            .sum::<usize>()
            + len;
        lengths.push(content);
        len = header_len(content) + content;
    }
    lengths.reverse();
    let mut out = Vec::with_capacity(len);
    for ((tag, before, _), content_len) in layers.iter().zip(&lengths) {
        out.push(*tag);
        write_len(&mut out, *content_len);
        for p in before {
            out.extend_from_slice(p);
        }
    }
    out.push(inner_tag);
    write_len(&mut out, inner.len());
    out.extend_from_slice(inner);
    for (_, _, after) in layers.iter().rev() {
        for p in after {
            out.extend_from_slice(p);
        }
    }
    out
}

/// Identifier (one octet) plus length octets for a content of `len` bytes.
fn header_len(len: usize) -> usize {
    let mut v = Vec::with_capacity(9);
    write_len(&mut v, len);
    1 + v.len()
}

/// Replaces the identifier of an encoded constructed element (IMPLICIT retagging of a
/// SET OF into `[n]`), keeping length and content.
pub fn retag(encoded: &[u8], new_first_octet: u8) -> Vec<u8> {
    let mut out = encoded.to_vec();
    if let Some(first) = out.first_mut() {
        *first = new_first_octet;
    }
    out
}

pub fn octet_string(value: &[u8]) -> Vec<u8> {
    element(universal(Tag::OCTET_STRING, false), value)
}

pub fn ia5_string(value: &str) -> Vec<u8> {
    element(universal(Tag::IA5_STRING, false), value.as_bytes())
}

pub fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

pub fn oid(value: &ObjectIdentifier) -> Vec<u8> {
    element(universal(Tag::OID, false), value.as_bytes())
}

/// A non-negative INTEGER from a small number.
pub fn uint(value: u64) -> Vec<u8> {
    uint_bytes(&value.to_be_bytes())
}

/// A non-negative INTEGER from big-endian magnitude bytes (leading zeros trimmed, a zero
/// octet prepended when the high bit is set).
pub fn uint_bytes(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|b| **b == 0).count();
    let trimmed = magnitude.get(skip..).unwrap_or_default();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    element(universal(Tag::INTEGER, false), &content)
}

/// An INTEGER whose content octets are already in DER form (e.g. a certificate serial).
pub fn integer_raw(content: &[u8]) -> Vec<u8> {
    element(universal(Tag::INTEGER, false), content)
}

/// UTCTime from seconds since the Unix epoch (years 1950–2049, as CMS signingTime requires).
pub fn utc_time(unix_seconds: i64) -> Vec<u8> {
    let (y, mo, d, h, mi, s) = civil_from_unix(unix_seconds);
    let text = format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        y.rem_euclid(100),
        mo,
        d,
        h,
        mi,
        s
    );
    element(universal(Tag::UTC_TIME, false), text.as_bytes())
}

pub use kim_types::time::civil_from_unix;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn integers_are_minimal() {
        assert_eq!(uint(0), [0x02, 0x01, 0x00]);
        assert_eq!(uint(127), [0x02, 0x01, 0x7f]);
        assert_eq!(uint(128), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(uint_bytes(&[0, 0, 1, 0]), [0x02, 0x02, 0x01, 0x00]);
    }

    #[test]
    fn long_lengths() {
        let v = octet_string(&[0u8; 300]);
        assert_eq!(&v[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn nested_equals_the_composed_encoding() {
        let big = vec![7u8; 70_000];
        let a = uint(1);
        let b = null();
        let expected = sequence(&[&a, &context_constructed(0, &[&octet_string(&big)]), &b]);
        let got = nested(
            &[(0x30, vec![&a], vec![&b]), (0xa0, vec![], vec![])],
            0x04,
            &big,
        );
        assert_eq!(got, expected);
    }

    #[test]
    fn set_of_is_sorted() {
        let a = uint(2);
        let b = uint(1);
        assert_eq!(set_of(&[&a, &b]), [0x31, 0x06, 2, 1, 1, 2, 1, 2]);
    }

    #[test]
    fn utc_time_matches_known_dates() {
        // 2020-12-14T07:17:05Z, the signingTime of the gematik sample.
        assert_eq!(&utc_time(1_607_930_225)[2..], b"201214071705Z");
        assert_eq!(civil_from_unix(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_from_unix(951_782_400), (2000, 2, 29, 0, 0, 0));
    }
}
