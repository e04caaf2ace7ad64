//! Reads a SearchResultEntry PDU (RFC 4511 §4.5.2) without panicking on malformed input
//! (`ldap3::SearchEntry::construct` panics on malformed entries, so it is not used).

use ldap3::asn1::{PL, StructureTag, TagClass};

use crate::VzdError;
use crate::entry::RawAttributes;

/// `[APPLICATION 4]` SearchResultEntry.
const SEARCH_RESULT_ENTRY: u64 = 4;

fn bad(dn: &str, reason: &str) -> VzdError {
    VzdError::BadData {
        dn: dn.to_owned(),
        reason: reason.to_owned(),
    }
}

fn primitive(tag: StructureTag) -> Option<Vec<u8>> {
    match tag.payload {
        PL::P(bytes) => Some(bytes),
        PL::C(_) => None,
    }
}

fn constructed(tag: StructureTag) -> Option<Vec<StructureTag>> {
    match tag.payload {
        PL::C(inner) => Some(inner),
        PL::P(_) => None,
    }
}

/// DN and attributes (names lower-cased, options after `;` removed) of an entry PDU.
///
/// # Errors
/// [`VzdError::BadData`] naming the malformed part.
pub fn read_entry(tag: StructureTag) -> Result<(String, RawAttributes), VzdError> {
    if tag.class != TagClass::Application || tag.id != SEARCH_RESULT_ENTRY {
        return Err(bad("", "not a SearchResultEntry"));
    }
    let mut parts = constructed(tag)
        .ok_or_else(|| bad("", "primitive SearchResultEntry"))?
        .into_iter();
    let dn = parts
        .next()
        .and_then(primitive)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| bad("", "objectName missing or not UTF-8"))?;
    let list = parts
        .next()
        .and_then(constructed)
        .ok_or_else(|| bad(&dn, "attribute list missing"))?;
    let mut attrs = RawAttributes::new();
    for attribute in list {
        let mut pieces = constructed(attribute)
            .ok_or_else(|| bad(&dn, "attribute is not a SEQUENCE"))?
            .into_iter();
        let name = pieces
            .next()
            .and_then(primitive)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| bad(&dn, "attribute type missing or not UTF-8"))?;
        let values = pieces
            .next()
            .and_then(constructed)
            .ok_or_else(|| bad(&dn, "attribute values missing"))?;
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            out.push(primitive(v).ok_or_else(|| bad(&dn, "constructed attribute value"))?);
        }
        let key = name.split(';').next().unwrap_or(&name).to_ascii_lowercase();
        attrs.entry(key).or_default().extend(out);
    }
    Ok((dn, attrs))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn prim(bytes: &[u8]) -> StructureTag {
        StructureTag {
            class: TagClass::Universal,
            id: 4,
            payload: PL::P(bytes.to_vec()),
        }
    }

    fn cons(class: TagClass, id: u64, inner: Vec<StructureTag>) -> StructureTag {
        StructureTag {
            class,
            id,
            payload: PL::C(inner),
        }
    }

    #[test]
    fn reads_binary_attribute_under_its_plain_lower_case_name() {
        let attr = cons(
            TagClass::Universal,
            16,
            vec![
                prim(b"userCertificate;binary"),
                cons(TagClass::Universal, 17, vec![prim(&[0x30, 0x00])]),
            ],
        );
        let entry = cons(
            TagClass::Application,
            4,
            vec![
                prim(b"uid=1,dc=data,dc=vzd"),
                cons(TagClass::Universal, 16, vec![attr]),
            ],
        );
        let (dn, attrs) = read_entry(entry).unwrap();
        assert_eq!(dn, "uid=1,dc=data,dc=vzd");
        assert_eq!(attrs.get("usercertificate"), Some(&vec![vec![0x30, 0x00]]));
    }

    #[test]
    fn malformed_entries_are_bad_data() {
        let no_attrs = cons(TagClass::Application, 4, vec![prim(b"uid=1")]);
        assert!(matches!(
            read_entry(no_attrs),
            Err(VzdError::BadData { .. })
        ));
        let wrong = cons(TagClass::Application, 5, vec![]);
        assert!(read_entry(wrong).is_err());
        let bad_attr = cons(
            TagClass::Application,
            4,
            vec![
                prim(b"uid=1"),
                cons(TagClass::Universal, 16, vec![prim(b"x")]),
            ],
        );
        assert!(read_entry(bad_attr).is_err());
    }
}
