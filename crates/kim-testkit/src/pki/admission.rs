//! The Admission extension (`id-isismtt-at-admission`, 1.3.36.8.3.3) of Common PKI /
//! ISIS-MTT, as the TI uses it on SMC-B and HBA certificates (gemSpec_PKI,
//! "Admission"): `registrationNumber` carries the Telematik-ID, `professionOIDs` the
//! institution or profession (gemSpec_OID Tab_PKI_402/403).
//!
//! ```asn1
//! AdmissionSyntax ::= SEQUENCE {
//!     admissionAuthority   GeneralName OPTIONAL,
//!     contentsOfAdmissions SEQUENCE OF Admissions }
//! Admissions ::= SEQUENCE {
//!     admissionAuthority [0] EXPLICIT GeneralName OPTIONAL,
//!     namingAuthority    [1] EXPLICIT NamingAuthority OPTIONAL,
//!     professionInfos    SEQUENCE OF ProfessionInfo }
//! ProfessionInfo ::= SEQUENCE {
//!     namingAuthority    [0] EXPLICIT NamingAuthority OPTIONAL,
//!     professionItems    SEQUENCE OF DirectoryString,
//!     professionOIDs     SEQUENCE OF OBJECT IDENTIFIER OPTIONAL,
//!     registrationNumber PrintableString OPTIONAL,
//!     addProfessionInfo  OCTET STRING OPTIONAL }
//! ```
//!
//! The gematik TEST-ONLY sample `hci-enc-2-kim-bsp` has exactly this shape with one
//! `Admissions` holding one `ProfessionInfo`; [`Admission`] models that shape.

use der::asn1::{OctetString, PrintableString, Utf8StringRef};
use der::{Any, Decode, Encode, Sequence};
use spki::ObjectIdentifier;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::{DirectoryString, GeneralName};
use x509_cert::name::Name;

use super::PkiError;

/// `id-isismtt-at-admission`.
pub const ID_ADMISSION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.36.8.3.3");

/// The content of an Admission extension with one profession entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// `admissionAuthority` as directoryName (the chamber), if present.
    pub authority: Option<Name>,
    /// `professionItems`: human-readable profession or institution texts.
    pub profession_items: Vec<String>,
    /// `professionOIDs` (gemSpec_OID Tab_PKI_402 professions, Tab_PKI_403 institutions).
    pub profession_oids: Vec<ObjectIdentifier>,
    /// `registrationNumber`: the Telematik-ID.
    pub registration_number: Option<String>,
}

#[derive(Sequence)]
struct AdmissionSyntaxAsn1 {
    admission_authority: Option<GeneralName>,
    contents_of_admissions: Vec<AdmissionsAsn1>,
}

#[derive(Sequence)]
struct AdmissionsAsn1 {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    admission_authority: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    naming_authority: Option<Any>,
    profession_infos: Vec<ProfessionInfoAsn1>,
}

#[derive(Sequence)]
struct ProfessionInfoAsn1 {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    naming_authority: Option<Any>,
    profession_items: Vec<DirectoryString>,
    profession_oids: Option<Vec<ObjectIdentifier>>,
    registration_number: Option<PrintableString>,
    add_profession_info: Option<OctetString>,
}

impl Admission {
    /// DER encoding of the `AdmissionSyntax` value (the extension's extnValue content).
    pub fn to_der(&self) -> Result<Vec<u8>, PkiError> {
        let mut items = Vec::with_capacity(self.profession_items.len());
        for item in &self.profession_items {
            items.push(DirectoryString::Utf8String(
                Utf8StringRef::new(item)?.to_string(),
            ));
        }
        let registration_number = match &self.registration_number {
            Some(number) => {
                Some(
                    PrintableString::new(number).map_err(|_| PkiError::InvalidSpec {
                        what: format!("registrationNumber {number:?} is not a PrintableString"),
                    })?,
                )
            }
            None => None,
        };
        let value = AdmissionSyntaxAsn1 {
            admission_authority: self.authority.clone().map(GeneralName::DirectoryName),
            contents_of_admissions: vec![AdmissionsAsn1 {
                admission_authority: None,
                naming_authority: None,
                profession_infos: vec![ProfessionInfoAsn1 {
                    naming_authority: None,
                    profession_items: items,
                    profession_oids: if self.profession_oids.is_empty() {
                        None
                    } else {
                        Some(self.profession_oids.clone())
                    },
                    registration_number,
                    add_profession_info: None,
                }],
            }],
        };
        Ok(value.to_der()?)
    }

    /// The extension (non-critical, as on the gematik samples).
    pub fn to_extension(&self) -> Result<Extension, PkiError> {
        Ok(Extension {
            extn_id: ID_ADMISSION,
            critical: false,
            extn_value: OctetString::new(self.to_der()?)?,
        })
    }

    /// Parses an `AdmissionSyntax` value. Takes the first `Admissions` and its first
    /// `ProfessionInfo`; the admission authority is taken from the outer field, or
    /// from the inner one if the outer is absent.
    pub fn from_der(der: &[u8]) -> Result<Admission, PkiError> {
        let syntax = AdmissionSyntaxAsn1::from_der(der)?;
        let admissions = syntax
            .contents_of_admissions
            .into_iter()
            .next()
            .ok_or_else(|| PkiError::Malformed {
                what: "Admission extension without contentsOfAdmissions".into(),
            })?;
        let info = admissions
            .profession_infos
            .into_iter()
            .next()
            .ok_or_else(|| PkiError::Malformed {
                what: "Admission extension without professionInfos".into(),
            })?;
        let authority = match syntax
            .admission_authority
            .or(admissions.admission_authority)
        {
            Some(GeneralName::DirectoryName(name)) => Some(name),
            _ => None,
        };
        Ok(Admission {
            authority,
            profession_items: info
                .profession_items
                .iter()
                .map(|item| item.value().into_owned())
                .collect(),
            profession_oids: info.profession_oids.unwrap_or_default(),
            registration_number: info.registration_number.map(|n| n.to_string()),
        })
    }

    /// Finds and parses the Admission extension of a DER certificate; `Ok(None)` if
    /// the certificate has none.
    pub fn from_certificate_der(certificate_der: &[u8]) -> Result<Option<Admission>, PkiError> {
        let certificate = Certificate::from_der(certificate_der)?;
        let extensions = certificate.tbs_certificate().extensions();
        let Some(extension) = extensions
            .into_iter()
            .flatten()
            .find(|e| e.extn_id == ID_ADMISSION)
        else {
            return Ok(None);
        };
        Admission::from_der(extension.extn_value.as_bytes()).map(Some)
    }

    /// The Telematik-ID (`registrationNumber`), if present.
    pub fn telematik_id(&self) -> Option<&str> {
        self.registration_number.as_deref()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::pki::names::{COUNTRY, ORGANIZATION, build_name};

    /// extnValue content of the Admission extension of the gematik TEST-ONLY sample
    /// certificate `hci-enc-2-kim-bsp.pem` (SMIME-Profil.zip, recipientAkeys.zip).
    const GEMATIK_SAMPLE: &str = "3065a4343032310b300906035504061302444531233021060355040a0c1a5a61686ec3a4727a74656b616d6d6572204e6f7264726865696e302d302b3029302730100c0e5a61686e61727a74707261786973300906072a8214004c04331308322d323930303032";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn parses_gematik_sample() {
        let admission = Admission::from_der(&hex(GEMATIK_SAMPLE)).unwrap();
        assert_eq!(admission.telematik_id(), Some("2-290002"));
        assert_eq!(
            admission.profession_items,
            vec!["Zahnarztpraxis".to_string()]
        );
        assert_eq!(
            admission.profession_oids,
            vec![ObjectIdentifier::new_unwrap("1.2.276.0.76.4.51")]
        );
        assert_eq!(
            admission.authority.unwrap().to_string(),
            "O=Zahnärztekammer Nordrhein,C=DE"
        );
    }

    #[test]
    fn encodes_like_the_gematik_sample() {
        let admission = Admission {
            authority: Some(
                build_name(&[(COUNTRY, "DE"), (ORGANIZATION, "Zahnärztekammer Nordrhein")])
                    .unwrap(),
            ),
            profession_items: vec!["Zahnarztpraxis".into()],
            profession_oids: vec![ObjectIdentifier::new_unwrap("1.2.276.0.76.4.51")],
            registration_number: Some("2-290002".into()),
        };
        assert_eq!(admission.to_der().unwrap(), hex(GEMATIK_SAMPLE));
    }
}
