//! Distinguished names in the layout of the TI certificates: `C` as PrintableString,
//! `serialNumber` as PrintableString, all other attributes as UTF8String, one
//! attribute per RDN, in the order given.

use der::asn1::{PrintableStringRef, SetOfVec, Utf8StringRef};
use der::{Any, Decode, Encode};
use spki::ObjectIdentifier;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use super::PkiError;

/// `id-at-countryName`.
pub const COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
/// `id-at-organizationName`.
pub const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// `id-at-organizationalUnitName`.
pub const ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
/// `id-at-commonName`.
pub const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// `id-at-serialNumber`.
pub const SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
/// `id-at-givenName`.
pub const GIVEN_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.42");
/// `id-at-surname`.
pub const SURNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.4");

/// Builds a [`Name`] from `(attribute type, value)` pairs, one RDN each.
pub(crate) fn build_name(attributes: &[(ObjectIdentifier, &str)]) -> Result<Name, PkiError> {
    let mut rdns = Vec::with_capacity(attributes.len());
    for (oid, value) in attributes {
        let any = if *oid == COUNTRY || *oid == SERIAL_NUMBER {
            let printable = PrintableStringRef::new(value).map_err(|_| PkiError::InvalidSpec {
                what: format!("DN attribute {oid}: {value:?} is not a PrintableString"),
            })?;
            Any::encode_from(&printable)?
        } else {
            Any::encode_from(&Utf8StringRef::new(value)?)?
        };
        let mut set = SetOfVec::new();
        set.insert(AttributeTypeAndValue {
            oid: *oid,
            value: any,
        })?;
        rdns.push(RelativeDistinguishedName::from(set));
    }
    // `Name` has no public constructor from an RdnSequence; go through DER.
    let der = RdnSequence::from(rdns).to_der()?;
    Ok(Name::from_der(&der)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn country_is_printable_and_others_utf8() {
        let name = build_name(&[(COUNTRY, "DE"), (COMMON_NAME, "Zahnärztin TEST-ONLY")]).unwrap();
        let der = name.to_der().unwrap();
        // PrintableString "DE"
        assert!(der.windows(4).any(|w| w == [0x13, 0x02, b'D', b'E']));
        // UTF8String tag followed by the length of the UTF-8 encoded CN
        let cn = "Zahnärztin TEST-ONLY".as_bytes();
        assert!(der.windows(2).any(|w| w == [0x0c, cn.len() as u8]));
        assert_eq!(name.to_string(), "CN=Zahnärztin TEST-ONLY,C=DE");
    }

    #[test]
    fn rejects_non_printable_serial_number() {
        assert!(build_name(&[(SERIAL_NUMBER, "ä")]).is_err());
    }
}
