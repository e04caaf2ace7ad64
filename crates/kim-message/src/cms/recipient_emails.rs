//! The recipient-emails attribute (gemSMIME_KOMLE, KOM-LE-A_2114-01 … A_2117).
//!
//! ```asn1
//! id-recipientEmails OBJECT IDENTIFIER ::= { 1 2 276 0 76 4 173 }
//! RecipientEmails ::= SET SIZE (1..MAX) OF RecipientEmail   -- the attribute's values
//! RecipientEmail  ::= SEQUENCE { emailAddress IA5String, rid RecipientIdentifier }
//! ```
//! `rid` must be the issuerAndSerialNumber alternative. The attribute travels twice: as an
//! unauthenticated attribute of the AuthEnvelopedData (read before decryption to choose the
//! card) and as a signed attribute (integrity); a mismatch is integrity result 09.

use super::ber::{self, Seq, Tag};
use super::common::{Attribute, IssuerSerial};
use super::{CmsError, oid};

/// One entry: a KIM address and the certificate it was encrypted for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecipientEmail {
    /// The address exactly as carried (compare case-insensitively).
    pub email: String,
    pub rid: IssuerSerial,
}

impl RecipientEmail {
    fn to_der(&self) -> Vec<u8> {
        super::der::sequence(&[&super::der::ia5_string(&self.email), &self.rid.to_der()])
    }

    fn parse(value: &[u8]) -> Result<Self, CmsError> {
        let t = ber::parse(value)?.expect_universal(Tag::SEQUENCE, "RecipientEmail")?;
        let mut s = Seq::new(t)?;
        let email_t = s
            .next("emailAddress")?
            .expect_universal(Tag::IA5_STRING, "emailAddress")?;
        let email_bytes = email_t.octets()?;
        if !email_bytes.is_ascii() {
            return Err(CmsError::Profile(
                "recipient-emails: emailAddress is not IA5".into(),
            ));
        }
        let email = String::from_utf8_lossy(&email_bytes).into_owned();
        let rid_t = s.next("rid")?;
        if !rid_t.tag.is_universal(Tag::SEQUENCE) {
            return Err(CmsError::Profile(
                "recipient-emails: rid must be issuerAndSerialNumber (KOM-LE-A_2115-02)".into(),
            ));
        }
        let rid = IssuerSerial::parse(rid_t)?;
        s.finish()?;
        Ok(RecipientEmail { email, rid })
    }
}

/// The entries of one recipient-emails attribute.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecipientEmails(pub Vec<RecipientEmail>);

impl RecipientEmails {
    /// Encodes the complete `Attribute` (DER; values sorted as DER SET OF requires). This is
    /// the `CMSAttribute` passed to SignDocument and EncryptDocument (KOM-LE-A_2190/2191).
    pub fn to_attribute_der(&self) -> Vec<u8> {
        self.to_attribute().to_der()
    }

    pub fn to_attribute(&self) -> Attribute {
        Attribute {
            oid: oid::RECIPIENT_EMAILS,
            values: self.0.iter().map(RecipientEmail::to_der).collect(),
        }
    }

    /// Reads the entries of a recipient-emails `Attribute`.
    pub fn from_attribute(attr: &Attribute) -> Result<Self, CmsError> {
        if attr.oid != oid::RECIPIENT_EMAILS {
            return Err(CmsError::Profile(format!(
                "expected the recipient-emails attribute, found {}",
                oid::name(&attr.oid)
            )));
        }
        if attr.values.is_empty() {
            return Err(CmsError::Profile(
                "recipient-emails attribute is empty".into(),
            ));
        }
        attr.values
            .iter()
            .map(|v| RecipientEmail::parse(v))
            .collect::<Result<Vec<_>, _>>()
            .map(RecipientEmails)
    }

    /// Entries whose address equals `address`, compared case-insensitively (KOM-LE-A_2043).
    pub fn for_address<'a>(&'a self, address: &'a str) -> impl Iterator<Item = &'a RecipientEmail> {
        self.0
            .iter()
            .filter(move |e| e.email.eq_ignore_ascii_case(address))
    }

    /// Set equality with case-insensitive addresses (the ID 09 comparison).
    pub fn same_entries(&self, other: &RecipientEmails) -> bool {
        let norm = |r: &RecipientEmails| {
            let mut v: Vec<(String, IssuerSerial)> =
                r.0.iter()
                    .map(|e| (e.email.to_ascii_lowercase(), e.rid.clone()))
                    .collect();
            v.sort_by(|a, b| {
                (&a.0, &a.1.serial, &a.1.issuer).cmp(&(&b.0, &b.1.serial, &b.1.issuer))
            });
            v.dedup();
            v
        };
        norm(self) == norm(other)
    }
}
