//! Building blocks shared by SignedData and AuthEnvelopedData: AlgorithmIdentifier,
//! IssuerAndSerialNumber, Attribute, and the certificate fields CMS needs.
//!
//! Certificates are read with the same tolerant reader as CMS (real TI certificates are
//! not always strictly DER), keeping the raw encodings of issuer, subject and key so that
//! comparisons use fields, never whole-structure byte compares (gematik FAQ).

use super::CmsError;
use super::ber::{self, BerError, Seq, Tag, Tlv};
use super::der;
use super::oid;
use const_oid::ObjectIdentifier as Oid;

/// AlgorithmIdentifier with its parameters kept as DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgId {
    pub oid: Oid,
    /// DER of the parameters, `None` when absent (a NULL is kept as `05 00`).
    pub params: Option<Vec<u8>>,
}

impl AlgId {
    pub fn new(oid: Oid, params: Option<Vec<u8>>) -> Self {
        AlgId { oid, params }
    }

    pub(crate) fn parse(t: Tlv<'_>) -> Result<Self, BerError> {
        let t = t.expect_universal(Tag::SEQUENCE, "AlgorithmIdentifier")?;
        let mut s = Seq::new(t)?;
        let oid = s.next("algorithm")?.oid()?;
        let params = if s.is_empty() {
            None
        } else {
            Some(s.next("parameters")?.to_der()?)
        };
        s.finish()?;
        Ok(AlgId { oid, params })
    }

    pub fn to_der(&self) -> Vec<u8> {
        let o = der::oid(&self.oid);
        match &self.params {
            Some(p) => der::sequence(&[&o, p]),
            None => der::sequence(&[&o]),
        }
    }

    /// `sha256` with absent parameters (RFC 5754 recommends absent; NULL is accepted on read).
    pub fn sha256() -> Self {
        AlgId::new(oid::SHA256, None)
    }

    /// True for SHA-256 with absent or NULL parameters.
    pub fn is_sha256(&self) -> bool {
        self.oid == oid::SHA256 && self.params.as_deref().is_none_or(|p| p == [0x05, 0x00])
    }
}

impl std::fmt::Display for AlgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&oid::name(&self.oid))
    }
}

/// IssuerAndSerialNumber (RFC 5652 10.2.4): the issuer Name as DER and the serial's
/// magnitude (leading zero octets removed) so that equal certificates compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IssuerSerial {
    pub issuer: Vec<u8>,
    pub serial: Vec<u8>,
}

impl IssuerSerial {
    pub fn new(issuer_der: Vec<u8>, serial_content: &[u8]) -> Self {
        let skip = serial_content.iter().take_while(|b| **b == 0).count();
        let serial = serial_content.get(skip..).unwrap_or_default().to_vec();
        IssuerSerial {
            issuer: issuer_der,
            serial,
        }
    }

    pub(crate) fn parse(t: Tlv<'_>) -> Result<Self, BerError> {
        let t = t.expect_universal(Tag::SEQUENCE, "IssuerAndSerialNumber")?;
        let mut s = Seq::new(t)?;
        let issuer = s
            .next("issuer")?
            .expect_universal(Tag::SEQUENCE, "issuer Name")?
            .to_der()?;
        let serial = s
            .next("serialNumber")?
            .expect_universal(Tag::INTEGER, "serialNumber")?;
        s.finish()?;
        Ok(IssuerSerial::new(issuer, serial.content))
    }

    pub fn to_der(&self) -> Vec<u8> {
        der::sequence(&[&self.issuer, &der::uint_bytes(&self.serial)])
    }

    /// The serial number in upper-case hex, as `openssl x509 -serial` prints it.
    pub fn serial_hex(&self) -> String {
        if self.serial.is_empty() {
            return "00".into();
        }
        self.serial.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// A readable form of the issuer DN (`CN=..., O=...`).
    pub fn issuer_text(&self) -> String {
        name_text(&self.issuer)
    }
}

impl std::fmt::Display for IssuerSerial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "serial {} issued by {}",
            self.serial_hex(),
            self.issuer_text()
        )
    }
}

/// An Attribute: type and the DER of each value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub oid: Oid,
    pub values: Vec<Vec<u8>>,
}

impl Attribute {
    pub(crate) fn parse(t: Tlv<'_>) -> Result<Self, BerError> {
        let t = t.expect_universal(Tag::SEQUENCE, "Attribute")?;
        let mut s = Seq::new(t)?;
        let oid = s.next("attrType")?.oid()?;
        let set = s
            .next("attrValues")?
            .expect_universal(Tag::SET, "attrValues")?;
        s.finish()?;
        let values = set
            .children()
            .map(|v| v.and_then(|v| v.to_der()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Attribute { oid, values })
    }

    /// Parses a whole DER/BER `Attribute` (as passed to the Konnektor as CMSAttribute).
    pub fn from_der(bytes: &[u8]) -> Result<Self, CmsError> {
        Ok(Attribute::parse(ber::parse(bytes)?)?)
    }

    pub fn to_der(&self) -> Vec<u8> {
        let values: Vec<&[u8]> = self.values.iter().map(Vec::as_slice).collect();
        der::sequence(&[&der::oid(&self.oid), &der::set_of(&values)])
    }

    /// The single value of a single-valued attribute.
    pub fn single_value(&self) -> Result<&[u8], CmsError> {
        match self.values.as_slice() {
            [v] => Ok(v),
            _ => Err(CmsError::Profile(format!(
                "attribute {} must have exactly one value, has {}",
                oid::name(&self.oid),
                self.values.len()
            ))),
        }
    }
}

/// Parses a `SET OF Attribute` (or its implicitly tagged form).
pub(crate) fn parse_attributes(t: Tlv<'_>) -> Result<Vec<Attribute>, BerError> {
    t.children().map(|a| a.and_then(Attribute::parse)).collect()
}

/// Readable distinguished name: `CN=..., O=..., C=...` (most specific first). Values that
/// are not strings are shown as `#hex`.
pub fn name_text(name_der: &[u8]) -> String {
    let Ok(name) = ber::parse(name_der) else {
        return "<unreadable name>".into();
    };
    let mut parts = Vec::new();
    for rdn in name.children().flatten() {
        for atv in rdn.children().flatten() {
            let mut it = atv.children().flatten();
            let (Some(ty), Some(val)) = (it.next(), it.next()) else {
                continue;
            };
            let key = match ty.oid().map(|o| o.to_string()).unwrap_or_default().as_str() {
                "2.5.4.3" => "CN".to_string(),
                "2.5.4.6" => "C".into(),
                "2.5.4.10" => "O".into(),
                "2.5.4.11" => "OU".into(),
                "2.5.4.5" => "serialNumber".into(),
                "2.5.4.7" => "L".into(),
                other => other.to_string(),
            };
            let value = String::from_utf8(val.content.to_vec())
                .unwrap_or_else(|_| format!("#{}", hex::encode(val.content)));
            parts.push(format!("{key}={value}"));
        }
    }
    parts.reverse();
    parts.join(", ")
}

/// The fields of an X.509 certificate that CMS processing needs.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// The certificate as given (DER).
    pub der: Vec<u8>,
    pub issuer_serial: IssuerSerial,
    pub subject: Vec<u8>,
    /// SubjectPublicKeyInfo (DER).
    pub spki: Vec<u8>,
    pub key_algorithm: Oid,
    /// The named curve for EC keys.
    pub curve: Option<Oid>,
    pub not_before: i64,
    pub not_after: i64,
    /// The signed part, its signature algorithm and signature (for path checks).
    pub tbs: Vec<u8>,
    pub signature_algorithm: AlgId,
    pub signature: Vec<u8>,
    /// Extensions as (oid, critical, DER value of extnValue's content).
    pub extensions: Vec<(Oid, bool, Vec<u8>)>,
}

impl CertInfo {
    /// Reads a certificate; the error names the field that is wrong.
    pub fn parse(der_bytes: &[u8]) -> Result<Self, CmsError> {
        let cert = ber::parse(der_bytes).map_err(|e| CmsError::Certificate(e.to_string()))?;
        Self::from_tlv(cert).map_err(|e| CmsError::Certificate(e.to_string()))
    }

    fn from_tlv(cert: Tlv<'_>) -> Result<Self, BerError> {
        let cert = cert.expect_universal(Tag::SEQUENCE, "Certificate")?;
        let mut c = Seq::new(cert)?;
        let tbs = c
            .next("tbsCertificate")?
            .expect_universal(Tag::SEQUENCE, "TBSCertificate")?;
        let signature_algorithm = AlgId::parse(c.next("signatureAlgorithm")?)?;
        let sig = c
            .next("signature")?
            .expect_universal(Tag::BIT_STRING, "signature")?;
        let signature = bit_string_bytes(&sig)?;

        let mut t = Seq::new(tbs)?;
        t.optional_context(0)?;
        let serial = t
            .next("serialNumber")?
            .expect_universal(Tag::INTEGER, "serialNumber")?;
        t.next("signature")?;
        let issuer = t
            .next("issuer")?
            .expect_universal(Tag::SEQUENCE, "issuer")?
            .to_der()?;
        let validity = t
            .next("validity")?
            .expect_universal(Tag::SEQUENCE, "validity")?;
        let subject = t
            .next("subject")?
            .expect_universal(Tag::SEQUENCE, "subject")?
            .to_der()?;
        let spki_tlv = t.next("subjectPublicKeyInfo")?;
        let spki = spki_tlv.to_der()?;
        let mut k = Seq::new(spki_tlv)?;
        let key_alg = AlgId::parse(k.next("algorithm")?)?;
        let curve = match (&key_alg.params, key_alg.oid == oid::EC_PUBLIC_KEY) {
            (Some(p), true) => Some(ber::parse(p)?.oid()?),
            _ => None,
        };
        let mut v = Seq::new(validity)?;
        let not_before = parse_time(&v.next("notBefore")?)?;
        let not_after = parse_time(&v.next("notAfter")?)?;
        t.optional_context(1)?;
        t.optional_context(2)?;
        let mut extensions = Vec::new();
        if let Some(ext) = t.optional_context(3)? {
            let list = Seq::new(ext)?.next("extensions")?;
            for e in list.children() {
                let mut es = Seq::new(e?)?;
                let id = es.next("extnID")?.oid()?;
                let critical = match es.optional_universal(Tag::BOOLEAN)? {
                    Some(b) => b.content.first().is_some_and(|x| *x != 0),
                    None => false,
                };
                let value = es.next("extnValue")?.octets()?.into_owned();
                extensions.push((id, critical, value));
            }
        }
        Ok(CertInfo {
            der: cert.raw.to_vec(),
            issuer_serial: IssuerSerial::new(issuer, serial.content),
            subject,
            spki,
            key_algorithm: key_alg.oid,
            curve,
            not_before,
            not_after,
            tbs: tbs.to_der()?,
            signature_algorithm,
            signature,
            extensions,
        })
    }

    /// Readable subject DN.
    pub fn subject_text(&self) -> String {
        name_text(&self.subject)
    }

    /// The Telematik-ID from the Admission extension (1.3.36.8.3.3, Common PKI
    /// `AdmissionSyntax`): the `registrationNumber` of the first `ProfessionInfo` that has one.
    /// The optional admissionAuthority names (whose country is also a PrintableString) are
    /// skipped by structure.
    pub fn telematik_id(&self) -> Option<String> {
        let admission = Oid::new_unwrap("1.3.36.8.3.3");
        let (_, _, value) = self.extensions.iter().find(|(o, _, _)| *o == admission)?;
        admission_registration_number(ber::parse(value).ok()?)
    }

    /// The subjectKeyIdentifier extension's key identifier (the OCTET STRING inside
    /// extnValue), if present.
    pub fn subject_key_identifier(&self) -> Option<Vec<u8>> {
        let ski = Oid::new_unwrap("2.5.29.14");
        let (_, _, value) = self.extensions.iter().find(|(o, _, _)| *o == ski)?;
        let t = ber::parse(value)
            .ok()?
            .expect_universal(Tag::OCTET_STRING, "keyIdentifier")
            .ok()?;
        Some(t.octets().ok()?.into_owned())
    }

    /// The rfc822Name entries of the subjectAltName extension.
    pub fn email_addresses(&self) -> Vec<String> {
        let san = Oid::new_unwrap("2.5.29.17");
        let Some((_, _, value)) = self.extensions.iter().find(|(o, _, _)| *o == san) else {
            return Vec::new();
        };
        let Ok(names) = ber::parse(value) else {
            return Vec::new();
        };
        names
            .children()
            .flatten()
            .filter(|n| n.tag.is_context(1) && !n.tag.constructed)
            .filter_map(|n| String::from_utf8(n.content.to_vec()).ok())
            .collect()
    }

    /// A short description of the key: `RSA-2048` or `EC brainpoolP256r1`.
    pub fn key_description(&self) -> String {
        match (&self.curve, public_key_bits(self)) {
            (Some(c), _) => format!("EC {}", oid::name(c)),
            (None, Some(bits)) => format!("RSA-{bits}"),
            (None, None) => oid::name(&self.key_algorithm),
        }
    }
}

fn public_key_bits(cert: &CertInfo) -> Option<usize> {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::PublicKey::from_public_key_der(&cert.spki).ok()?;
    Some(key.size() * 8)
}

/// Depth-first search for the registrationNumber (a PrintableString) in AdmissionSyntax.
/// `AdmissionSyntax ::= SEQUENCE { admissionAuthority GeneralName OPTIONAL,
/// contentsOfAdmissions SEQUENCE OF Admissions }`; `Admissions ::= SEQUENCE {
/// admissionAuthority [0] OPTIONAL, namingAuthority [1] OPTIONAL, professionInfos SEQUENCE OF
/// ProfessionInfo }`; `ProfessionInfo ::= SEQUENCE { namingAuthority [0] OPTIONAL,
/// professionItems SEQUENCE OF DirectoryString, professionOIDs SEQUENCE OF OID OPTIONAL,
/// registrationNumber PrintableString OPTIONAL, addProfessionInfo OCTET STRING OPTIONAL }`.
fn admission_registration_number(syntax: Tlv<'_>) -> Option<String> {
    fn universal_sequences<'a>(t: &Tlv<'a>) -> Vec<Tlv<'a>> {
        t.children()
            .flatten()
            .filter(|c| c.tag.is_universal(Tag::SEQUENCE))
            .collect()
    }
    // A GeneralName is context-tagged (or, as directoryName, [4]); the SEQUENCE OF
    // Admissions is the universal SEQUENCE among the children.
    let contents = universal_sequences(&syntax).into_iter().next_back()?;
    for admissions in contents.children().flatten() {
        let Some(infos) = universal_sequences(&admissions).into_iter().next_back() else {
            continue;
        };
        for info in infos.children().flatten() {
            let number = info
                .children()
                .flatten()
                .find(|c| c.tag.is_universal(Tag::PRINTABLE_STRING));
            if let Some(number) = number {
                return String::from_utf8(number.content.to_vec()).ok();
            }
        }
    }
    None
}

/// The bytes of a BIT STRING without unused bits.
pub(crate) fn bit_string_bytes(t: &Tlv<'_>) -> Result<Vec<u8>, BerError> {
    let v = t.octets()?;
    match v.split_first() {
        Some((0, rest)) => Ok(rest.to_vec()),
        _ => Err(BerError::Invalid {
            offset: t.offset,
            what: "BIT STRING with unused bits where a byte string is required".into(),
        }),
    }
}

/// UTCTime or GeneralizedTime (`Z` form) to Unix seconds.
pub fn parse_time(t: &Tlv<'_>) -> Result<i64, BerError> {
    let text = std::str::from_utf8(t.content).map_err(|_| BerError::Invalid {
        offset: t.offset,
        what: "time is not ASCII".into(),
    })?;
    let bad = || BerError::Invalid {
        offset: t.offset,
        what: format!("unsupported time {text:?}"),
    };
    let digits = text.strip_suffix('Z').ok_or_else(bad)?;
    let (year, rest) = if t.tag.is_universal(Tag::UTC_TIME) {
        let yy: i64 = digits
            .get(0..2)
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        (
            if yy < 50 { 2000 + yy } else { 1900 + yy },
            digits.get(2..).ok_or_else(bad)?,
        )
    } else if t.tag.is_universal(Tag::GENERALIZED_TIME) {
        let y: i64 = digits
            .get(0..4)
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        (y, digits.get(4..).ok_or_else(bad)?)
    } else {
        return Err(t.unexpected("UTCTime or GeneralizedTime"));
    };
    let field = |i: usize| -> Result<i64, BerError> {
        rest.get(i..i + 2)
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)
    };
    let (mo, d, h, mi) = (field(0)?, field(2)?, field(4)?, field(6)?);
    let s = if rest.len() >= 10 { field(8)? } else { 0 };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    Ok(days_from_civil(year, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn times_round_trip_through_the_writer() {
        for t in [0i64, 951_782_400, 1_607_930_225, 2_524_607_999] {
            let enc = der::utc_time(t);
            assert_eq!(parse_time(&ber::parse(&enc).unwrap()).unwrap(), t);
        }
    }

    #[test]
    fn serial_magnitudes_compare_equal() {
        let a = IssuerSerial::new(vec![0x30, 0x00], &[0x00, 0x9f, 0x52]);
        let b = IssuerSerial::new(vec![0x30, 0x00], &[0x9f, 0x52]);
        assert_eq!(a, b);
        assert_eq!(a.serial_hex(), "9F52");
    }
}
