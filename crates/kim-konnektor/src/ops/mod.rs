//! One struct per request and per response of the Konnektor operations KIM uses
//! (konnektor.md §6). Field order follows the schema element order.
//!
//! Element names and namespaces are given in each type's docs; the XML mapping lives in the
//! per-service submodules.

mod card;
mod cert;
pub(crate) mod common;
mod crypt;
mod report;
mod sig;

use crate::fault::TelematikError;
use crate::model::{
    CardHandle, CardInfo, CardType, CertRef, CmsProperty, Context, Crypt, DateTime, Document,
    EncryptionType, HighLevelResult, JobNumber, KeyOnCard, PinResult, PinStatus, PinType,
    SignatureObject, SignatureScheme, SignatureType, Status, TimestampType, TvMode,
    VerificationResult, X509DataInfo,
};

/// `EVT:GetCards` (EventService 7.2; konnektor.md §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetCards {
    /// `@mandant-wide` (default false).
    pub mandant_wide: bool,
    /// `CCTX:Context`.
    pub context: Context,
    /// `CARDCMN:CtId` filter.
    pub ct_id: Option<String>,
    /// `CARDCMN:SlotId` filter.
    pub slot_id: Option<u32>,
    /// `CARDCMN:CardType` filter.
    pub card_type: Option<CardType>,
}

/// `EVT:GetCardsResponse`: `CONN:Status`, `CARD:Cards`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetCardsResponse {
    /// `CONN:Status`.
    pub status: Status,
    /// `CARD:Cards/CARD:Card`.
    pub cards: Vec<CardInfo>,
}

/// `CARD:GetPinStatus` (CardService 8.1; konnektor.md §6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetPinStatus {
    /// `CCTX:Context`.
    pub context: Context,
    /// `CONN:CardHandle`.
    pub card_handle: CardHandle,
    /// `CARDCMN:PinTyp`.
    pub pin_type: PinType,
}

/// `CARD:GetPinStatusResponse`: `CONN:Status`, `CARD:PinStatus?`, `CARD:LeftTries?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetPinStatusResponse {
    /// `CONN:Status`.
    pub status: Status,
    /// `CARD:PinStatus`.
    pub pin_status: Option<PinStatus>,
    /// `CARD:LeftTries`.
    pub left_tries: Option<u32>,
}

/// `CARD:VerifyPin` (CardService 8.1; konnektor.md §6.2). The PIN itself is never sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPin {
    /// `CCTX:Context`.
    pub context: Context,
    /// `CONN:CardHandle`.
    pub card_handle: CardHandle,
    /// `CARDCMN:PinTyp`.
    pub pin_type: PinType,
}

/// `CARD:VerifyPinResponse`: `CONN:Status`, `CARDCMN:PinResult`, `CARDCMN:LeftTries?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPinResponse {
    /// `CONN:Status`.
    pub status: Status,
    /// `CARDCMN:PinResult`.
    pub pin_result: PinResult,
    /// `CARDCMN:LeftTries`.
    pub left_tries: Option<u32>,
}

/// `CERT:ReadCardCertificate` (CertificateService 6.0; konnektor.md §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadCardCertificate {
    /// `CONN:CardHandle`.
    pub card_handle: CardHandle,
    /// `CCTX:Context`.
    pub context: Context,
    /// `CERT:CertRefList/CERT:CertRef` (1..n).
    pub cert_refs: Vec<CertRef>,
    /// `CERT:Crypt` (RSA | ECC; only CertificateService ≥ 6.0.1).
    pub crypt: Option<Crypt>,
}

/// `CERT:ReadCardCertificateResponse`: `CONN:Status`, `CERTCMN:X509DataInfoList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadCardCertificateResponse {
    /// `CONN:Status`.
    pub status: Status,
    /// `CERTCMN:X509DataInfo` entries (1..n).
    pub infos: Vec<X509DataInfo>,
}

/// `CERT:VerifyCertificate` (konnektor.md §6.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyCertificate {
    /// `CCTX:Context`.
    pub context: Context,
    /// `CERTCMN:X509Certificate` DER.
    pub certificate: Vec<u8>,
    /// `CERT:VerificationTime`.
    pub verification_time: Option<DateTime>,
}

/// `CERT:VerifyCertificateResponse`: `CONN:Status`, `CERT:VerificationStatus`
/// { `CERT:VerificationResult`, `GERROR:Error?` }, `CERT:RoleList` { `CERT:Role`+ }.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyCertificateResponse {
    /// `CONN:Status`.
    pub status: Status,
    /// `CERT:VerificationStatus/CERT:VerificationResult`.
    pub verification_result: VerificationResult,
    /// `CERT:VerificationStatus/GERROR:Error`.
    pub verification_error: Option<TelematikError>,
    /// `CERT:RoleList/CERT:Role` (profession OIDs); empty = no RoleList element.
    pub roles: Vec<String>,
}

/// `SIG:GetJobNumber` (SignatureService 7.4 or 7.5; konnektor.md §6.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetJobNumber {
    /// `CCTX:Context`.
    pub context: Context,
}

/// `SIG:GetJobNumberResponse`: only `SIG:JobNumber`, no Status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetJobNumberResponse {
    /// `SIG:JobNumber`.
    pub job_number: JobNumber,
}

/// `SIG:SignRequest` inside SignDocument (konnektor.md §6.6). Of the `SIG:OptionalInputs`
/// only the parts KIM uses are supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignRequest {
    /// `@RequestID` (echoed in the response).
    pub request_id: String,
    /// `SIG:OptionalInputs/dss:SignatureType`.
    pub signature_type: Option<SignatureType>,
    /// `SIG:OptionalInputs/dss:Properties/dss:SignedProperties/dss:Property`.
    pub signed_properties: Vec<CmsProperty>,
    /// `SIG:OptionalInputs/SIG:IncludeEContent`.
    pub include_econtent: Option<bool>,
    /// `SIG:Document` (`dss:Base64Data`, `@ShortText`).
    pub document: Document,
    /// `SIG:IncludeRevocationInfo` (required).
    pub include_revocation_info: bool,
}

/// `SIG:SignDocument` (konnektor.md §6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignDocument {
    /// `CONN:CardHandle`.
    pub card_handle: CardHandle,
    /// `SIG:Crypt`.
    pub crypt: Option<Crypt>,
    /// `CCTX:Context`.
    pub context: Context,
    /// `SIG:TvMode`.
    pub tv_mode: TvMode,
    /// `SIG:JobNumber`.
    pub job_number: Option<JobNumber>,
    /// `SIG:SignRequest` (1..n).
    pub requests: Vec<SignRequest>,
}

/// `SIG:SignResponse`: `@RequestID`, `CONN:Status`, `dss:SignatureObject?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignResponse {
    /// `@RequestID`.
    pub request_id: String,
    /// `CONN:Status`.
    pub status: Status,
    /// `dss:SignatureObject/dss:Base64Signature`.
    pub signature: Option<SignatureObject>,
}

/// `SIG:SignDocumentResponse`: one `SIG:SignResponse` per request, no top-level Status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignDocumentResponse {
    /// `SIG:SignResponse` (1..n).
    pub responses: Vec<SignResponse>,
}

/// `vr:ReturnVerificationReport` options (OASIS DSS-X verification report profile).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReturnVerificationReport {
    /// `vr:IncludeVerifier`.
    pub include_verifier: Option<bool>,
    /// `vr:IncludeCertificateValues`.
    pub include_certificate_values: Option<bool>,
    /// `vr:IncludeRevocationValues`.
    pub include_revocation_values: Option<bool>,
    /// `vr:ExpandBinaryValues`.
    pub expand_binary_values: Option<bool>,
    /// `vr:ReportDetailLevel` URI.
    pub report_detail_level: Option<String>,
}

impl ReturnVerificationReport {
    /// The `allDetails` report detail level.
    pub const ALL_DETAILS: &'static str =
        "urn:oasis:names:tc:dss:1.0:profiles:verificationreport:reportdetail:allDetails";

    /// The options OpenKIM-style KIM clients send (konnektor.md §6.7).
    #[must_use]
    pub fn kim_default() -> Self {
        Self {
            include_verifier: Some(false),
            include_certificate_values: Some(true),
            include_revocation_values: Some(true),
            expand_binary_values: Some(false),
            report_detail_level: Some(Self::ALL_DETAILS.to_owned()),
        }
    }
}

/// `SIG:VerifyDocument` (konnektor.md §6.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyDocument {
    /// `CCTX:Context`.
    pub context: Context,
    /// `SIG:TvMode`.
    pub tv_mode: Option<TvMode>,
    /// `SIG:OptionalInputs/vr:ReturnVerificationReport`.
    pub return_verification_report: Option<ReturnVerificationReport>,
    /// `SIG:Document` (detached signatures only).
    pub document: Option<Document>,
    /// `dss:SignatureObject/dss:Base64Signature`.
    pub signature: Option<SignatureObject>,
    /// `SIG:IncludeRevocationInfo` (required).
    pub include_revocation_info: bool,
}

pub use crate::model::DetailResult;

/// One signer's `vr:DetailedSignatureReport`, reduced to what KIM evaluates
/// (konnektor.md §6.7: FormatOK → 4112, SigMathOK → 4115, PathValiditySummary → 4206).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerReport {
    /// `vr:IndividualReport/dss:Result/dss:ResultMajor` as sent (a DSS result-major URI such
    /// as `urn:oasis:names:tc:dss:1.0:resultmajor:Success` or a detail URI).
    pub result_major: String,
    /// `vr:FormatOK/vr:ResultMajor`.
    pub format_ok: DetailResult,
    /// `vr:SignatureOK/vr:SigMathOK/vr:ResultMajor`.
    pub sig_math_ok: DetailResult,
    /// `vr:CertificatePathValidity/vr:PathValiditySummary/vr:ResultMajor`.
    pub path_validity: DetailResult,
    /// `vr:CertificatePathValidity/vr:CertificateIdentifier/ds:X509IssuerName`.
    pub signer_issuer: String,
    /// `…/ds:X509SerialNumber` (decimal).
    pub signer_serial: String,
}

/// Simplified `vr:VerificationReport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationReport {
    /// `dss:VerificationTimeInfo/dss:VerificationTime`.
    pub verification_time: Option<DateTime>,
    /// One `vr:IndividualReport` per signer (reports without a `vr:DetailedSignatureReport`
    /// are skipped when parsing).
    pub signers: Vec<SignerReport>,
}

/// `SIG:VerifyDocumentResponse`: `CONN:Status` (a Konnektor code such as 4115/4253/4112/4206/
/// 4264 arrives as a trace here), `SIG:VerificationResult`, `SIG:OptionalOutputs?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyDocumentResponse {
    /// `CONN:Status`.
    pub status: Status,
    /// `SIG:VerificationResult/SIG:HighLevelResult`.
    pub high_level_result: HighLevelResult,
    /// `SIG:VerificationResult/SIG:TimestampType`.
    pub timestamp_type: TimestampType,
    /// `SIG:VerificationResult/SIG:Timestamp`.
    pub timestamp: DateTime,
    /// `SIG:OptionalOutputs/vr:VerificationReport`.
    pub report: Option<VerificationReport>,
}

/// `CRYPT:RecipientKeys`: `CRYPT:CertificateOnCard?`, `CRYPT:Certificate*`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecipientKeys {
    /// `CRYPT:CertificateOnCard`.
    pub certificate_on_card: Option<KeyOnCard>,
    /// `CRYPT:Certificate` DER values.
    pub certificates: Vec<Vec<u8>>,
}

/// `CRYPT:EncryptDocument` (EncryptionService 6.1; konnektor.md §6.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptDocument {
    /// `CCTX:Context`.
    pub context: Context,
    /// `CRYPT:RecipientKeys`.
    pub recipient_keys: RecipientKeys,
    /// `CONN:Document`.
    pub document: Document,
    /// `CRYPT:OptionalInputs/CRYPT:EncryptionType`.
    pub encryption_type: Option<EncryptionType>,
    /// `CRYPT:OptionalInputs/CRYPT:UnprotectedProperties/dss:Property`.
    pub unprotected_properties: Vec<CmsProperty>,
}

/// `CRYPT:EncryptDocumentResponse`: `CONN:Status`, `CRYPT:OptionalOutputs?`, `CONN:Document?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptDocumentResponse {
    /// `CONN:Status`.
    pub status: Status,
    /// `CONN:Document` (DER ContentInfo).
    pub document: Option<Document>,
}

/// `CRYPT:DecryptDocument` (konnektor.md §6.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptDocument {
    /// `CCTX:Context`.
    pub context: Context,
    /// `CRYPT:PrivateKeyOnCard`.
    pub private_key_on_card: KeyOnCard,
    /// `CONN:Document` (DER ContentInfo).
    pub document: Document,
}

/// `CRYPT:DecryptDocumentResponse`: `CONN:Status`, `CONN:Document?`, `CRYPT:OptionalOutputs?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptDocumentResponse {
    /// `CONN:Status`.
    pub status: Status,
    /// `CONN:Document` (plaintext).
    pub document: Option<Document>,
}

/// `SIG:ExternalAuthenticate` in the SignatureService **v7.4** namespace (AuthSignatureService
/// 7.4; konnektor.md §6.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalAuthenticate {
    /// `CONN:CardHandle`.
    pub card_handle: CardHandle,
    /// `CCTX:Context`.
    pub context: Context,
    /// `SIG:OptionalInputs/dss:SignatureType`.
    pub signature_type: Option<SignatureType>,
    /// `SIG:OptionalInputs/SIG:SignatureSchemes`.
    pub signature_scheme: Option<SignatureScheme>,
    /// `SIG:BinaryString/dss:Base64Data` (the hash to sign).
    pub binary_string: Document,
}

/// `SIG:ExternalAuthenticateResponse`: `CONN:Status`, `dss:SignatureObject?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalAuthenticateResponse {
    /// `CONN:Status`.
    pub status: Status,
    /// `dss:SignatureObject/dss:Base64Signature` (raw signature).
    pub signature: Option<SignatureObject>,
}
