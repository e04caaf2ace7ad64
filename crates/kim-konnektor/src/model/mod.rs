//! Domain values carried by the Konnektor operations (konnektor.md §4, §6).
//!
//! Every type here is plain Rust: no XML. Values with a lexical rule in the gematik schemas
//! (context ids, ICCSN, job numbers, dates) are validated on construction, so a value of these
//! types is always writable as schema-valid XML. Enumerations keep the exact wire strings
//! (`as_str` / `from_wire`).

use std::fmt;

/// A value that violates the lexical rule of its schema type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: {rule}")]
pub struct ValueError {
    /// The schema type or element, e.g. `MandantId`.
    pub kind: &'static str,
    /// The rejected value (truncated to 80 characters).
    pub value: String,
    /// The rule it violates.
    pub rule: &'static str,
}

impl ValueError {
    /// Builds an error; the value is truncated to 80 characters.
    #[must_use]
    pub fn new(kind: &'static str, value: &str, rule: &'static str) -> Self {
        Self {
            kind,
            value: value.chars().take(80).collect(),
            rule,
        }
    }
}

/// Defines a fieldless enum with exact wire strings, `as_str`, `from_wire` and `Display`.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $kind:literal { $($(#[$vdoc:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The exact wire string.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// Parses the exact wire string (case-sensitive, as the schema enumerations are).
            ///
            /// # Errors
            /// [`ValueError`](crate::model::ValueError) naming the schema type when the string is
            /// not one of its values.
            pub fn from_wire(s: &str) -> Result<Self, $crate::model::ValueError> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err($crate::model::ValueError::new($kind, s, "not a value of the enumeration")),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;

mod time;

pub use time::{Date, DateTime};

fn check_len(kind: &'static str, value: &str, max: usize) -> Result<(), ValueError> {
    let n = value.chars().count();
    if n == 0 {
        return Err(ValueError::new(kind, value, "must not be empty"));
    }
    if n > max {
        return Err(ValueError::new(
            kind,
            value,
            "longer than the schema allows (64 characters)",
        ));
    }
    Ok(())
}

/// Call context `CCTX:Context` (ConnectorContext.xsd v2.0; konnektor.md §4).
///
/// Invariant: every id has 1..=64 characters (`string ≤ 64`; an empty id is rejected too,
/// because a Konnektor answers it with 4021 at best).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Context {
    mandant_id: String,
    client_system_id: String,
    workplace_id: String,
    user_id: Option<String>,
}

impl Context {
    /// Maximum length of each id.
    pub const MAX_ID_LEN: usize = 64;

    /// Builds a context without `UserId`.
    ///
    /// # Errors
    /// [`ValueError`] naming the first id that is empty or longer than 64 characters.
    pub fn new(
        mandant_id: &str,
        client_system_id: &str,
        workplace_id: &str,
    ) -> Result<Self, ValueError> {
        check_len("MandantId", mandant_id, Self::MAX_ID_LEN)?;
        check_len("ClientSystemId", client_system_id, Self::MAX_ID_LEN)?;
        check_len("WorkplaceId", workplace_id, Self::MAX_ID_LEN)?;
        Ok(Self {
            mandant_id: mandant_id.to_owned(),
            client_system_id: client_system_id.to_owned(),
            workplace_id: workplace_id.to_owned(),
            user_id: None,
        })
    }

    /// Adds the optional `UserId` (needed for HBA use).
    ///
    /// # Errors
    /// [`ValueError`] when the id is empty or longer than 64 characters.
    pub fn with_user_id(mut self, user_id: &str) -> Result<Self, ValueError> {
        check_len("UserId", user_id, Self::MAX_ID_LEN)?;
        self.user_id = Some(user_id.to_owned());
        Ok(self)
    }

    /// `CONN:MandantId`.
    #[must_use]
    pub fn mandant_id(&self) -> &str {
        &self.mandant_id
    }

    /// `CONN:ClientSystemId`.
    #[must_use]
    pub fn client_system_id(&self) -> &str {
        &self.client_system_id
    }

    /// `CONN:WorkplaceId`.
    #[must_use]
    pub fn workplace_id(&self) -> &str {
        &self.workplace_id
    }

    /// `CONN:UserId`, if present.
    #[must_use]
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }
}

impl From<&kim_types::KonnektorContext> for Context {
    /// The context of an SMTP/POP3 login name (gemSpec_CM_KOMLE 3.3.2.2). kim-types ids are
    /// already 1..=64 characters, so the conversion cannot fail.
    fn from(c: &kim_types::KonnektorContext) -> Self {
        Self {
            mandant_id: c.mandant_id.as_str().to_owned(),
            client_system_id: c.client_system_id.as_str().to_owned(),
            workplace_id: c.workplace_id.as_str().to_owned(),
            user_id: c.user_id.as_ref().map(|u| u.as_str().to_owned()),
        }
    }
}

/// `CONN:CardHandle`: opaque, valid for one insertion cycle of a card (konnektor.md §6.1).
/// Invariant: 1..=128 characters (`CONN:CardHandleType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardHandle(String);

impl CardHandle {
    /// Wraps a handle.
    ///
    /// # Errors
    /// [`ValueError`] when the handle is empty or longer than 128 characters.
    pub fn new(handle: &str) -> Result<Self, ValueError> {
        if handle.is_empty() {
            return Err(ValueError::new("CardHandle", handle, "must not be empty"));
        }
        if handle.chars().count() > 128 {
            return Err(ValueError::new(
                "CardHandle",
                handle,
                "longer than 128 characters",
            ));
        }
        Ok(Self(handle.to_owned()))
    }

    /// The handle text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CardHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

wire_enum! {
    /// `CARDCMN:CardTypeType` (CardServiceCommon.xsd v2.0). `HBAx` and `SM-B` are filter groups.
    CardType, "CardType" {
        /// Elektronische Gesundheitskarte.
        Egk = "EGK",
        /// HBA with qualified signature only.
        HbaQSig = "HBA-qSig",
        /// Heilberufsausweis.
        Hba = "HBA",
        /// Institution card.
        SmcB = "SMC-B",
        /// Institution identity in an HSM.
        HsmB = "HSM-B",
        /// Card terminal security module.
        SmcKt = "SMC-KT",
        /// Krankenversichertenkarte.
        Kvk = "KVK",
        /// ZOD 2.0 card.
        Zod20 = "ZOD_2.0",
        /// Unknown card.
        Unknown = "UNKNOWN",
        /// Filter group: HBA, HBA-qSig, ZOD_2.0.
        HbaX = "HBAx",
        /// Filter group: SMC-B, HSM-B.
        SmB = "SM-B",
    }
}

impl CardType {
    /// An institution identity: an SMC-B, or an HSM-B (the same keys and certificate
    /// profiles held in an HSM), accepted wherever an SMC-B is (konnektor.md §5).
    #[must_use]
    pub fn is_institution(self) -> bool {
        matches!(self, CardType::SmcB | CardType::HsmB)
    }
}

/// `CARDCMN:Iccsn`: exactly 20 decimal digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iccsn(String);

impl Iccsn {
    /// Validates an ICCSN.
    ///
    /// # Errors
    /// [`ValueError`] unless the value is exactly 20 ASCII digits.
    pub fn new(value: &str) -> Result<Self, ValueError> {
        if value.len() != 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::new("Iccsn", value, "must be exactly 20 digits"));
        }
        Ok(Self(value.to_owned()))
    }

    /// The digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Three-part version of a card object (`CARD:VersionInfoType`: Major, Minor, Revision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionInfo {
    /// `CARD:Major`.
    pub major: u16,
    /// `CARD:Minor`.
    pub minor: u16,
    /// `CARD:Revision`.
    pub revision: u16,
}

/// `CARD:CardVersion` (CardService 8.1.3 XSD): COS and object-system version are required,
/// the others optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardVersion {
    /// `CARD:COSVersion`.
    pub cos: VersionInfo,
    /// `CARD:ObjectSystemVersion`.
    pub object_system: VersionInfo,
    /// `CARD:CardPTPersVersion`.
    pub card_pt_pers: Option<VersionInfo>,
    /// `CARD:DataStructureVersion`.
    pub data_structure: Option<VersionInfo>,
    /// `CARD:LoggingVersion`.
    pub logging: Option<VersionInfo>,
    /// `CARD:ATRVersion`.
    pub atr: Option<VersionInfo>,
    /// `CARD:GDOVersion`.
    pub gdo: Option<VersionInfo>,
    /// `CARD:KeyInfoVersion`.
    pub key_info: Option<VersionInfo>,
}

/// `CARD:Card` of `CARD:CardInfoType` (konnektor.md §6.1), in schema order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardInfo {
    /// `CONN:CardHandle`.
    pub handle: CardHandle,
    /// `CARDCMN:CardType` (concrete type in responses).
    pub card_type: CardType,
    /// `CARD:CardVersion`.
    pub version: Option<CardVersion>,
    /// `CARDCMN:Iccsn`.
    pub iccsn: Option<Iccsn>,
    /// `CARDCMN:CtId`.
    pub ct_id: String,
    /// `CARDCMN:SlotId` (positive integer).
    pub slot_id: u32,
    /// `CARD:InsertTime`.
    pub insert_time: DateTime,
    /// `CARD:CardHolderName`.
    pub holder_name: Option<String>,
    /// `CARD:Kvnr` (eGK only).
    pub kvnr: Option<String>,
    /// `CARD:CertificateExpirationDate`.
    pub certificate_expiration_date: Option<Date>,
}

wire_enum! {
    /// `CARDCMN:PinTypType` values KIM uses (konnektor.md §6.2).
    PinType, "PinTyp" {
        /// SMC-B PIN.
        Smc = "PIN.SMC",
        /// HBA cardholder PIN.
        Ch = "PIN.CH",
        /// HBA QES PIN.
        Qes = "PIN.QES",
    }
}

wire_enum! {
    /// `CARD:PinStatus` (CardService 8.1.3; `DISABLED` since 8.1.3).
    PinStatus, "PinStatus" {
        /// PIN verified in this card session.
        Verified = "VERIFIED",
        /// Card still has its transport PIN.
        TransportPin = "TRANSPORT_PIN",
        /// Empty PIN (not yet set).
        EmptyPin = "EMPTY_PIN",
        /// PIN blocked.
        Blocked = "BLOCKED",
        /// PIN can be verified.
        Verifiable = "VERIFIABLE",
        /// PIN disabled.
        Disabled = "DISABLED",
    }
}

wire_enum! {
    /// `CARDCMN:PinResult` (konnektor.md §6.2).
    PinResult, "PinResult" {
        /// PIN correct.
        Ok = "OK",
        /// Error.
        Error = "ERROR",
        /// Wrong PIN.
        Rejected = "REJECTED",
        /// PIN was already blocked.
        WasBlocked = "WASBLOCKED",
        /// PIN is now blocked.
        NowBlocked = "NOWBLOCKED",
        /// Transport PIN still active.
        TransportPin = "TRANSPORT_PIN",
    }
}

wire_enum! {
    /// `CERTCMN:CertRefEnum` (konnektor.md §6.3).
    CertRef, "CertRef" {
        /// Authentication certificate.
        Aut = "C.AUT",
        /// Encryption certificate.
        Enc = "C.ENC",
        /// Organisation signature certificate (SMC-B).
        Sig = "C.SIG",
        /// Qualified signature certificate (HBA).
        Qes = "C.QES",
    }
}

wire_enum! {
    /// Key algorithm selector (`Crypt` in the Certificate, Signature and Encryption services).
    /// `RSA_ECC` is not allowed by CertificateService (`CERT:CryptType` = RSA | ECC).
    Crypt, "Crypt" {
        /// RSA-2048 keys.
        Rsa = "RSA",
        /// brainpoolP256r1 keys.
        Ecc = "ECC",
        /// ECC if available, else RSA.
        RsaEcc = "RSA_ECC",
    }
}

/// `CERTCMN:X509Data` inside an `X509DataInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X509Data {
    /// `CERTCMN:X509IssuerName` (DN text as the Konnektor renders it — do not compare).
    pub issuer_name: String,
    /// `CERTCMN:X509SerialNumber` in decimal.
    pub serial: String,
    /// `CERTCMN:X509SubjectName`.
    pub subject_name: String,
    /// `CERTCMN:X509Certificate` DER bytes.
    pub certificate: Vec<u8>,
}

/// `CERTCMN:X509DataInfo` (konnektor.md §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X509DataInfo {
    /// `CERTCMN:CertRef`.
    pub cert_ref: CertRef,
    /// `CERTCMN:X509Data`, absent when the card has no such certificate.
    pub x509: Option<X509Data>,
}

wire_enum! {
    /// `CONN:Status/CONN:Result` (konnektor.md §5.1).
    ResultKind, "Result" {
        /// Success without traces.
        Ok = "OK",
        /// Success with Info/Warning traces.
        Warning = "Warning",
    }
}

/// `CONN:Status` (konnektor.md §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `CONN:Result`.
    pub result: ResultKind,
    /// Embedded `GERROR:Error` (warnings, or the Konnektor code of a verification outcome).
    pub error: Option<crate::fault::TelematikError>,
}

impl Status {
    /// `OK` without error.
    #[must_use]
    pub fn ok() -> Self {
        Self {
            result: ResultKind::Ok,
            error: None,
        }
    }

    /// `Warning` carrying `error`.
    #[must_use]
    pub fn warning(error: crate::fault::TelematikError) -> Self {
        Self {
            result: ResultKind::Warning,
            error: Some(error),
        }
    }

    /// The gematik code of the last trace, if an error is embedded (A_14159).
    #[must_use]
    pub fn code(&self) -> Option<u32> {
        self.error
            .as_ref()
            .and_then(crate::fault::TelematikError::code)
    }
}

wire_enum! {
    /// `VerificationResult` of VerifyCertificate and `HighLevelResult` of VerifyDocument.
    VerificationResult, "VerificationResult" {
        /// Valid.
        Valid = "VALID",
        /// Could not be decided.
        Inconclusive = "INCONCLUSIVE",
        /// Invalid.
        Invalid = "INVALID",
    }
}

wire_enum! {
    /// `dss:ResultMajor` / `vr:ResultMajor` detail values of the OASIS verification report
    /// (konnektor.md §6.7).
    DetailResult, "ResultMajor" {
        /// Valid.
        Valid = "urn:oasis:names:tc:dss:1.0:detail:valid",
        /// Invalid.
        Invalid = "urn:oasis:names:tc:dss:1.0:detail:invalid",
        /// Could not be determined.
        Indetermined = "urn:oasis:names:tc:dss:1.0:detail:indetermined",
    }
}

impl DetailResult {
    /// Reads a ResultMajor URI leniently: the three detail URIs, any URI ending in
    /// `:valid`/`:invalid`/`:indetermined`/`:indeterminate`, and `…:resultmajor:Success` (valid).
    ///
    /// # Errors
    /// [`ValueError`] for anything else.
    pub fn from_uri_lenient(uri: &str) -> Result<Self, ValueError> {
        if let Ok(v) = Self::from_wire(uri) {
            return Ok(v);
        }
        let tail = uri
            .rsplit([':', '#', '/'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match tail.as_str() {
            "valid" | "success" => Ok(Self::Valid),
            "invalid" => Ok(Self::Invalid),
            "indetermined" | "indeterminate" => Ok(Self::Indetermined),
            _ => Err(ValueError::new(
                "ResultMajor",
                uri,
                "not a known verification result URI",
            )),
        }
    }
}

/// `SIG:HighLevelResult` uses the same three values.
pub type HighLevelResult = VerificationResult;

wire_enum! {
    /// `SIG:TimestampType` (konnektor.md §6.7, TIP1-A_5545).
    TimestampType, "TimestampType" {
        /// Signing time embedded in the signature.
        SignatureEmbedded = "SIGNATURE_EMBEDDED_TIMESTAMP",
        /// Qualified time stamp.
        Qualified = "QUALIFIED_TIMESTAMP",
        /// Time given by the caller.
        UserDefined = "USER_DEFINED_TIMESTAMP",
        /// Konnektor system time.
        System = "SYSTEM_TIMESTAMP",
    }
}

wire_enum! {
    /// `SIG:TvMode` (trusted viewer).
    TvMode, "TvMode" {
        /// No trusted viewer (KIM).
        None = "NONE",
        /// Display without confirmation.
        Unconfirmed = "UNCONFIRMED",
        /// Display with confirmation.
        Confirmed = "CONFIRMED",
    }
}

/// A document transported as `dss:Base64Data` inside `CONN:Document`, `SIG:Document` or
/// `SIG:BinaryString` (ConnectorCommon.xsd `DocumentType`). `Base64XML` is not supported.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// Decoded content.
    pub data: Vec<u8>,
    /// `dss:Base64Data/@MimeType`.
    pub mime_type: Option<String>,
    /// `@ShortText` of the document element (where the schema has it).
    pub short_text: Option<String>,
}

impl Document {
    /// A document without attributes.
    #[must_use]
    pub fn new(data: Vec<u8>) -> Self {
        Self {
            data,
            mime_type: None,
            short_text: None,
        }
    }
}

/// A `dss:Property` whose value is one un-namespaced `<CMSAttribute>` holding a DER CMS
/// attribute (konnektor.md §6.6, §6.8; e.g. the KIM recipient-emails attribute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmsProperty {
    /// `dss:Identifier` (KIM: `RecipientEmailsAttribute`).
    pub identifier: String,
    /// DER of the attribute in `dss:Value/CMSAttribute`.
    pub attribute_der: Vec<u8>,
}

impl CmsProperty {
    /// The identifier KIM uses for the recipient-emails attribute.
    pub const RECIPIENT_EMAILS: &'static str = "RecipientEmailsAttribute";
}

/// `dss:SignatureType` URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignatureType(pub String);

impl SignatureType {
    /// CMS / CAdES (`urn:ietf:rfc:5652`), used by KIM for SignDocument/VerifyDocument.
    pub const CMS: &'static str = "urn:ietf:rfc:5652";
    /// RSA for ExternalAuthenticate (`urn:ietf:rfc:3447`).
    pub const RSA: &'static str = "urn:ietf:rfc:3447";
    /// ECDSA (plain R||S) for ExternalAuthenticate (`urn:bsi:tr:03111:ecdsa`).
    pub const ECDSA: &'static str = "urn:bsi:tr:03111:ecdsa";

    /// Wraps a URI.
    #[must_use]
    pub fn new(uri: &str) -> Self {
        Self(uri.to_owned())
    }

    /// The URI.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

wire_enum! {
    /// `SIG:SignatureSchemes` for ExternalAuthenticate with RSA keys (konnektor.md §6.10).
    SignatureScheme, "SignatureSchemes" {
        /// RSASSA-PSS (the default when omitted).
        RsassaPss = "RSASSA-PSS",
        /// PKCS#1 v1.5 over a DigestInfo.
        RsassaPkcs1V15 = "RSASSA-PKCS1-v1_5",
    }
}

/// `SIG:JobNumber`: pattern `[A-Z][A-Z][A-Z]-[0-9][0-9][0-9]` (TIP1-A_4642).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobNumber(String);

impl JobNumber {
    /// Validates a job number.
    ///
    /// # Errors
    /// [`ValueError`] when the text does not match `[A-Z]{3}-[0-9]{3}`.
    pub fn new(value: &str) -> Result<Self, ValueError> {
        let ok = matches!(value.as_bytes(), [a, b, c, b'-', d, e, f]
            if [a, b, c].iter().all(|x| x.is_ascii_uppercase())
                && [d, e, f].iter().all(|x| x.is_ascii_digit()));
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValueError::new(
                "JobNumber",
                value,
                "must match [A-Z]{3}-[0-9]{3}",
            ))
        }
    }

    /// The job number.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

wire_enum! {
    /// `CRYPT:EncryptionType` (konnektor.md §6.8).
    EncryptionType, "EncryptionType" {
        /// XML encryption.
        XmlEnc = "http://www.w3.org/TR/xmlenc-core/",
        /// CMS (KIM).
        Cms = "urn:ietf:rfc:5652",
        /// S/MIME.
        Smime = "urn:ietf:rfc:5751",
    }
}

/// `CRYPT:KeyOnCardType`: `CONN:CardHandle`, `CRYPT:KeyReference?`, `CRYPT:Crypt?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOnCard {
    /// `CONN:CardHandle`.
    pub card_handle: CardHandle,
    /// `CRYPT:KeyReference` (schema default `C.ENC`).
    pub key_reference: Option<String>,
    /// `CRYPT:Crypt`.
    pub crypt: Option<Crypt>,
}

/// `dss:SignatureObject` with a `dss:Base64Signature` (the only form KIM uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureObject {
    /// `dss:Base64Signature/@Type`.
    pub signature_type: Option<SignatureType>,
    /// Decoded signature (CMS ContentInfo DER, or raw signature bytes for ExternalAuthenticate).
    pub data: Vec<u8>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn context_rejects_65_chars_and_empty() {
        let long = "a".repeat(65);
        let err = Context::new(&long, "c", "w").unwrap_err();
        assert_eq!(err.kind, "MandantId");
        assert!(Context::new("m", "", "w").is_err());
        assert!(Context::new("m", "c", &"w".repeat(64)).is_ok());
        assert_eq!(
            Context::new("m", "c", "w")
                .unwrap()
                .with_user_id(&long)
                .unwrap_err()
                .kind,
            "UserId"
        );
    }

    #[test]
    fn from_login_context() {
        let k = kim_types::KonnektorContext::new(
            kim_types::MandantId::parse("1").unwrap(),
            kim_types::ClientSystemId::parse("KOM_LE").unwrap(),
            kim_types::WorkplaceId::parse("7").unwrap(),
        );
        let c = Context::from(&k);
        assert_eq!(
            (
                c.mandant_id(),
                c.client_system_id(),
                c.workplace_id(),
                c.user_id()
            ),
            ("1", "KOM_LE", "7", None)
        );
    }

    #[test]
    fn job_number_pattern() {
        assert!(JobNumber::new("ABC-475").is_ok());
        for bad in [
            "abc-475",
            "AB-4750",
            "ABC475",
            "SOFT-KON-001",
            "ABC-47a",
            "",
        ] {
            assert!(JobNumber::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn iccsn_and_dates() {
        assert!(Iccsn::new("80276883110000123456").is_ok());
        assert!(Iccsn::new("8027688311000012345").is_err());
        assert!(DateTime::new("2025-01-01T12:00:00Z").is_ok());
        assert!(DateTime::new("2025-01-01T12:00:00.123+01:00").is_ok());
        assert!(DateTime::new("2025-01-01 12:00:00").is_err());
        assert!(DateTime::new("2025-01-01T12:00:00.Z").is_err());
        assert!(Date::new("2029-12-31").is_ok());
        assert!(Date::new("2029-12-3").is_err());
    }

    #[test]
    fn wire_enums_round_trip() {
        for t in CardType::ALL {
            assert_eq!(CardType::from_wire(t.as_str()).unwrap(), *t);
        }
        assert_eq!(CardType::from_wire("ZOD_2.0").unwrap(), CardType::Zod20);
        assert!(CardType::from_wire("smc-b").is_err());
        assert_eq!(Crypt::from_wire("RSA_ECC").unwrap(), Crypt::RsaEcc);
    }
}
