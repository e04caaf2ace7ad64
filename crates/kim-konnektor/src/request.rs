//! The server-side interface: [`Request::parse_envelope`] dispatches on the QName of the SOAP
//! body element (never on SOAPAction, konnektor.md §1.1), [`Response::to_envelope`] writes
//! the answer in the same SignatureService namespace as the request.

use crate::envelope::{
    Envelope, EnvelopeError, MtomError, split_http_body, write_envelope, write_mtom_envelope,
};
use crate::fault::SoapFault;
use crate::model::{CardHandle, Context, DateTime};
use crate::operation::{WriteError, non_empty};
use crate::ops::{
    DecryptDocument, DecryptDocumentResponse, EncryptDocument, EncryptDocumentResponse,
    ExternalAuthenticate, ExternalAuthenticateResponse, GetCards, GetCardsResponse, GetJobNumber,
    GetJobNumberResponse, GetPinStatus, GetPinStatusResponse, ReadCardCertificate,
    ReadCardCertificateResponse, SignDocument, SignDocumentResponse, VerifyCertificate,
    VerifyCertificateResponse, VerifyDocument, VerifyDocumentResponse, VerifyPin,
    VerifyPinResponse,
};
use crate::service::{Service, SigNamespace};
use crate::xml::read::{Node, SchemaError, SchemaProblem};
use crate::xml::{XmlError, XmlWriter, ns};

/// A parsed Konnektor request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "requests are handled one at a time; boxing adds nothing"
)]
pub enum Request {
    /// EventService.
    GetCards(GetCards),
    /// CardService.
    GetPinStatus(GetPinStatus),
    /// CardService.
    VerifyPin(VerifyPin),
    /// CertificateService.
    ReadCardCertificate(ReadCardCertificate),
    /// CertificateService.
    VerifyCertificate(VerifyCertificate),
    /// SignatureService (v7.4 or v7.5 namespace).
    GetJobNumber(GetJobNumber, SigNamespace),
    /// SignatureService (v7.4 or v7.5 namespace).
    SignDocument(SignDocument, SigNamespace),
    /// SignatureService (v7.4 or v7.5 namespace).
    VerifyDocument(VerifyDocument, SigNamespace),
    /// EncryptionService.
    EncryptDocument(EncryptDocument),
    /// EncryptionService.
    DecryptDocument(DecryptDocument),
    /// AuthSignatureService (v7.4 SignatureService namespace).
    ExternalAuthenticate(ExternalAuthenticate),
}

/// Why a request could not be parsed; [`RequestError::code`] is the Konnektor code to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Content-Type or MTOM structure unusable.
    #[error("request body: {0}")]
    Body(#[from] MtomError),
    /// MTOM sent to a service that must not accept it (TIP1-A_5694-03).
    #[error("MTOM is only accepted for SignatureService and EncryptionService, not for {0}")]
    MtomNotAllowed(&'static str),
    /// Not well-formed or hostile XML.
    #[error("request XML: {0}")]
    Xml(XmlError),
    /// Not a SOAP 1.1 envelope with one body element.
    #[error("request envelope: {0}")]
    Envelope(SchemaError),
    /// The body element is no operation this Konnektor offers.
    #[error("unknown operation {0}")]
    UnknownOperation(String),
    /// The operation element violates the schema.
    #[error("{0}")]
    Schema(SchemaError),
}

impl From<EnvelopeError> for RequestError {
    fn from(e: EnvelopeError) -> Self {
        match e {
            EnvelopeError::Xml(x) => Self::Xml(x),
            EnvelopeError::Structure(s) => Self::Envelope(s),
        }
    }
}

impl RequestError {
    /// The Konnektor code for this failure: 4280 for a document over 25 MB (A_19052-01), 4021
    /// for an empty mandatory context id, 4000 ("Syntaxfehler") for everything else.
    #[must_use]
    pub fn code(&self) -> u32 {
        match self {
            Self::Schema(SchemaError {
                problem: SchemaProblem::TooLarge(_),
                ..
            }) => 4280,
            Self::Schema(SchemaError {
                problem: SchemaProblem::Value(v),
                ..
            }) if v.value.is_empty()
                && matches!(v.kind, "MandantId" | "ClientSystemId" | "WorkplaceId") =>
            {
                4021
            }
            _ => 4000,
        }
    }

    /// The SOAP fault to answer with: [`SoapFault::standard`] for [`RequestError::code`],
    /// with this error's text as `GERROR:Detail`.
    #[must_use]
    pub fn to_fault(&self, timestamp: DateTime) -> SoapFault {
        SoapFault::standard(self.code(), timestamp, Some(self.to_string()))
    }
}

impl Request {
    /// Parses an HTTP request body (plain `text/xml` or MTOM multipart) into a request,
    /// dispatching on the body element's QName.
    ///
    /// # Errors
    /// [`RequestError`] naming the problem; see [`RequestError::code`].
    pub fn parse_envelope(content_type: &str, body: &[u8]) -> Result<Self, RequestError> {
        Self::parse_http(content_type, body).map(|(r, _)| r)
    }

    /// Like [`Request::parse_envelope`], also telling whether the body was MTOM (the answer
    /// then uses MTOM too: [`Response::to_mtom_envelope`]).
    ///
    /// # Errors
    /// As [`Request::parse_envelope`].
    pub fn parse_http(content_type: &str, body: &[u8]) -> Result<(Self, bool), RequestError> {
        let http = split_http_body(content_type, body)?;
        let env = Envelope::parse(http.envelope)?;
        let el = env.body();
        let node = Node::new(el, el.local(), &http.attachments);
        let sig = SigNamespace::from_uri(el.ns());
        let req = match (el.ns(), el.local(), sig) {
            (ns::EVT, "GetCards", _) => {
                Self::GetCards(GetCards::parse(node).map_err(RequestError::Schema)?)
            }
            (ns::CARD, "GetPinStatus", _) => {
                Self::GetPinStatus(GetPinStatus::parse(node).map_err(RequestError::Schema)?)
            }
            (ns::CARD, "VerifyPin", _) => {
                Self::VerifyPin(VerifyPin::parse(node).map_err(RequestError::Schema)?)
            }
            (ns::CERT, "ReadCardCertificate", _) => Self::ReadCardCertificate(
                ReadCardCertificate::parse(node).map_err(RequestError::Schema)?,
            ),
            (ns::CERT, "VerifyCertificate", _) => Self::VerifyCertificate(
                VerifyCertificate::parse(node).map_err(RequestError::Schema)?,
            ),
            (ns::CRYPT, "EncryptDocument", _) => {
                Self::EncryptDocument(EncryptDocument::parse(node).map_err(RequestError::Schema)?)
            }
            (ns::CRYPT, "DecryptDocument", _) => {
                Self::DecryptDocument(DecryptDocument::parse(node).map_err(RequestError::Schema)?)
            }
            (ns::SIG74, "ExternalAuthenticate", _) => Self::ExternalAuthenticate(
                ExternalAuthenticate::parse(node).map_err(RequestError::Schema)?,
            ),
            (_, "GetJobNumber", Some(s)) => {
                Self::GetJobNumber(GetJobNumber::parse(node).map_err(RequestError::Schema)?, s)
            }
            (_, "SignDocument", Some(s)) => {
                Self::SignDocument(SignDocument::parse(node).map_err(RequestError::Schema)?, s)
            }
            (_, "VerifyDocument", Some(s)) => Self::VerifyDocument(
                VerifyDocument::parse(node).map_err(RequestError::Schema)?,
                s,
            ),
            _ => return Err(RequestError::UnknownOperation(el.expanded_name())),
        };
        if http.mtom
            && !matches!(
                req.service(),
                Service::SignatureService | Service::EncryptionService
            )
        {
            return Err(RequestError::MtomNotAllowed(req.service().name()));
        }
        Ok((req, http.mtom))
    }

    /// The call context (every operation carries one; the Konnektor checks it first,
    /// TUC_KON_000).
    #[must_use]
    pub fn context(&self) -> &Context {
        match self {
            Self::GetCards(r) => &r.context,
            Self::GetPinStatus(r) => &r.context,
            Self::VerifyPin(r) => &r.context,
            Self::ReadCardCertificate(r) => &r.context,
            Self::VerifyCertificate(r) => &r.context,
            Self::GetJobNumber(r, _) => &r.context,
            Self::SignDocument(r, _) => &r.context,
            Self::VerifyDocument(r, _) => &r.context,
            Self::EncryptDocument(r) => &r.context,
            Self::DecryptDocument(r) => &r.context,
            Self::ExternalAuthenticate(r) => &r.context,
        }
    }

    /// The card the operation addresses, if any.
    #[must_use]
    pub fn card_handle(&self) -> Option<&CardHandle> {
        match self {
            Self::GetPinStatus(r) => Some(&r.card_handle),
            Self::VerifyPin(r) => Some(&r.card_handle),
            Self::ReadCardCertificate(r) => Some(&r.card_handle),
            Self::SignDocument(r, _) => Some(&r.card_handle),
            Self::DecryptDocument(r) => Some(&r.private_key_on_card.card_handle),
            Self::EncryptDocument(r) => r
                .recipient_keys
                .certificate_on_card
                .as_ref()
                .map(|k| &k.card_handle),
            Self::ExternalAuthenticate(r) => Some(&r.card_handle),
            Self::GetCards(_)
            | Self::VerifyCertificate(_)
            | Self::GetJobNumber(..)
            | Self::VerifyDocument(..) => None,
        }
    }

    /// The operation name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::GetCards(_) => "GetCards",
            Self::GetPinStatus(_) => "GetPinStatus",
            Self::VerifyPin(_) => "VerifyPin",
            Self::ReadCardCertificate(_) => "ReadCardCertificate",
            Self::VerifyCertificate(_) => "VerifyCertificate",
            Self::GetJobNumber(..) => "GetJobNumber",
            Self::SignDocument(..) => "SignDocument",
            Self::VerifyDocument(..) => "VerifyDocument",
            Self::EncryptDocument(_) => "EncryptDocument",
            Self::DecryptDocument(_) => "DecryptDocument",
            Self::ExternalAuthenticate(_) => "ExternalAuthenticate",
        }
    }

    /// The service the operation belongs to.
    #[must_use]
    pub fn service(&self) -> Service {
        match self {
            Self::GetCards(_) => Service::EventService,
            Self::GetPinStatus(_) | Self::VerifyPin(_) => Service::CardService,
            Self::ReadCardCertificate(_) | Self::VerifyCertificate(_) => {
                Service::CertificateService
            }
            Self::GetJobNumber(..) | Self::SignDocument(..) | Self::VerifyDocument(..) => {
                Service::SignatureService
            }
            Self::EncryptDocument(_) | Self::DecryptDocument(_) => Service::EncryptionService,
            Self::ExternalAuthenticate(_) => Service::AuthSignatureService,
        }
    }
}

/// A response to write.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "responses are written one at a time; boxing adds nothing"
)]
pub enum Response {
    /// EventService.
    GetCards(GetCardsResponse),
    /// CardService.
    GetPinStatus(GetPinStatusResponse),
    /// CardService.
    VerifyPin(VerifyPinResponse),
    /// CertificateService.
    ReadCardCertificate(ReadCardCertificateResponse),
    /// CertificateService.
    VerifyCertificate(VerifyCertificateResponse),
    /// SignatureService, in the request's namespace.
    GetJobNumber(GetJobNumberResponse, SigNamespace),
    /// SignatureService, in the request's namespace.
    SignDocument(SignDocumentResponse, SigNamespace),
    /// SignatureService, in the request's namespace.
    VerifyDocument(VerifyDocumentResponse, SigNamespace),
    /// EncryptionService.
    EncryptDocument(EncryptDocumentResponse),
    /// EncryptionService.
    DecryptDocument(DecryptDocumentResponse),
    /// AuthSignatureService.
    ExternalAuthenticate(ExternalAuthenticateResponse),
}

impl Response {
    /// The complete SOAP envelope (inline base64, no MTOM).
    ///
    /// # Errors
    /// [`WriteError`] when a list the schema requires to be non-empty is empty.
    pub fn to_envelope(&self) -> Result<Vec<u8>, WriteError> {
        self.check()?;
        Ok(write_envelope(self.size_hint(), |w| self.write(w)))
    }

    /// The response as MTOM `multipart/related` (for requests that used MTOM): returns the
    /// HTTP `Content-Type` and body.
    ///
    /// # Errors
    /// As [`Response::to_envelope`].
    pub fn to_mtom_envelope(&self) -> Result<(String, Vec<u8>), WriteError> {
        self.check()?;
        Ok(write_mtom_envelope(self.size_hint(), |w| self.write(w)))
    }

    fn check(&self) -> Result<(), WriteError> {
        match self {
            Self::ReadCardCertificate(r) => non_empty(&r.infos, "CERTCMN:X509DataInfoList"),
            Self::VerifyCertificate(r) => non_empty(&r.roles, "CERT:RoleList"),
            Self::SignDocument(r, _) => non_empty(&r.responses, "SIG:SignResponse"),
            _ => Ok(()),
        }
    }

    fn size_hint(&self) -> usize {
        let doc =
            |d: &Option<crate::model::Document>| d.as_ref().map_or(0, |d| d.data.len() / 3 * 4 + 4);
        match self {
            Self::EncryptDocument(r) => doc(&r.document),
            Self::DecryptDocument(r) => doc(&r.document),
            Self::SignDocument(r, _) => r
                .responses
                .iter()
                .map(|s| s.signature.as_ref().map_or(0, |s| s.data.len() / 3 * 4 + 4))
                .sum(),
            _ => 0,
        }
    }

    /// Writes the body element.
    pub fn write(&self, w: &mut XmlWriter) {
        match self {
            Self::GetCards(r) => r.write(w),
            Self::GetPinStatus(r) => r.write(w),
            Self::VerifyPin(r) => r.write(w),
            Self::ReadCardCertificate(r) => r.write(w),
            Self::VerifyCertificate(r) => r.write(w),
            Self::GetJobNumber(r, s) => r.write(w, *s),
            Self::SignDocument(r, s) => r.write(w, *s),
            Self::VerifyDocument(r, s) => r.write(w, *s),
            Self::EncryptDocument(r) => r.write(w),
            Self::DecryptDocument(r) => r.write(w),
            Self::ExternalAuthenticate(r) => r.write(w),
        }
    }
}
