//! The client-side interface: one [`Operation`] impl per request type, giving the SOAP
//! action, the complete request envelope and the response parser.

use crate::envelope::{Envelope, EnvelopeError, MtomError, split_http_body, write_envelope};
use crate::fault::SoapFault;
use crate::ops::{
    DecryptDocument, DecryptDocumentResponse, EncryptDocument, EncryptDocumentResponse,
    ExternalAuthenticate, ExternalAuthenticateResponse, GetCards, GetCardsResponse, GetJobNumber,
    GetJobNumberResponse, GetPinStatus, GetPinStatusResponse, ReadCardCertificate,
    ReadCardCertificateResponse, SignDocument, SignDocumentResponse, VerifyCertificate,
    VerifyCertificateResponse, VerifyDocument, VerifyDocumentResponse, VerifyPin,
    VerifyPinResponse,
};
use crate::service::{Service, ServiceVersion, SigNamespace};
use crate::xml::read::{Attachments, Node, SchemaError};
use crate::xml::{XmlError, XmlWriter, ns};

/// A value that cannot be written as schema-valid XML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot write {element}: {problem}")]
pub struct WriteError {
    /// The element concerned.
    pub element: &'static str,
    /// What is wrong.
    pub problem: &'static str,
}

pub(crate) fn non_empty<T>(list: &[T], element: &'static str) -> Result<(), WriteError> {
    if list.is_empty() {
        Err(WriteError {
            element,
            problem: "the schema requires at least one entry",
        })
    } else {
        Ok(())
    }
}

/// Why a response envelope did not yield a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The Konnektor answered with a SOAP fault.
    #[error("Konnektor answered with {0}")]
    Fault(SoapFault),
    /// The HTTP body or its Content-Type is unusable.
    #[error("response body: {0}")]
    Body(MtomError),
    /// Not well-formed or hostile XML.
    #[error("response is not acceptable XML: {0}")]
    Xml(XmlError),
    /// Not a SOAP 1.1 envelope with one body element.
    #[error("response envelope: {0}")]
    Envelope(SchemaError),
    /// The body element is not the expected response element.
    #[error("expected {expected} in the response body, found {found}")]
    UnexpectedBody {
        /// Expected `{ns}local`.
        expected: String,
        /// Found `{ns}local`.
        found: String,
    },
    /// The response element violates the schema.
    #[error("response body: {0}")]
    Schema(SchemaError),
}

impl ResponseError {
    /// The Konnektor error code of a fault (last trace, A_14159).
    #[must_use]
    pub fn code(&self) -> Option<u32> {
        match self {
            Self::Fault(f) => f.code(),
            _ => None,
        }
    }

    /// Whether repeating the same request later may succeed ([`crate::fault::is_transient`]
    /// of the fault code).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        self.code().is_some_and(crate::fault::is_transient)
    }
}

impl From<EnvelopeError> for ResponseError {
    fn from(e: EnvelopeError) -> Self {
        match e {
            EnvelopeError::Xml(x) => Self::Xml(x),
            EnvelopeError::Structure(s) => Self::Envelope(s),
        }
    }
}

/// One Konnektor operation as seen by a client.
pub trait Operation {
    /// The response type.
    type Response;
    /// The service the operation belongs to.
    const SERVICE: Service;
    /// The operation name, e.g. `"GetCards"`.
    const NAME: &'static str;
    /// SOAPAction for the negotiated service version (the WSDL value; DecryptDocument uses
    /// the `…/conn/crypt/EncryptionService/v6.1#DecryptDocument` form of the WSDL).
    fn soap_action(version: &ServiceVersion) -> String;
    /// Complete SOAP envelope bytes for this request.
    ///
    /// # Errors
    /// [`WriteError`] when a required list is empty.
    fn to_envelope(&self, version: &ServiceVersion) -> Result<Vec<u8>, WriteError>;
    /// Parses a response envelope: the response, or the fault, or why it is unusable.
    ///
    /// # Errors
    /// [`ResponseError`]; a SOAP fault is [`ResponseError::Fault`].
    fn parse_response(envelope: &[u8]) -> Result<Self::Response, ResponseError> {
        Self::parse_response_parts(envelope, &Attachments::new())
    }
    /// Parses an HTTP response body by its `Content-Type`: plain `text/xml` or MTOM
    /// `multipart/related` (a Konnektor answers with MTOM when the request used it).
    ///
    /// # Errors
    /// [`ResponseError`]; an unusable body or Content-Type is [`ResponseError::Body`].
    fn parse_http_response(
        content_type: &str,
        body: &[u8],
    ) -> Result<Self::Response, ResponseError> {
        let http = split_http_body(content_type, body).map_err(ResponseError::Body)?;
        Self::parse_response_parts(http.envelope, &http.attachments)
    }
    /// Parses a response envelope whose `xop:Include` elements refer to `parts`.
    ///
    /// # Errors
    /// As [`Operation::parse_response`].
    fn parse_response_parts(
        envelope: &[u8],
        parts: &Attachments<'_>,
    ) -> Result<Self::Response, ResponseError>;
}

/// Parses `bytes` as a response whose body element must be `{one of nss}local`.
pub(crate) fn parse_response_with<T>(
    bytes: &[u8],
    parts: &Attachments<'_>,
    nss: &[&str],
    local: &str,
    parse: impl FnOnce(Node<'_, '_>) -> Result<T, SchemaError>,
) -> Result<T, ResponseError> {
    let env = Envelope::parse(bytes)?;
    if let Some(f) = env.fault() {
        return Err(ResponseError::Fault(f));
    }
    let body = env.body();
    if !nss.iter().any(|n| body.is(n, local)) {
        let expected = format!("{{{}}}{local}", nss.first().copied().unwrap_or_default());
        return Err(ResponseError::UnexpectedBody {
            expected,
            found: body.expanded_name(),
        });
    }
    parse(Node::new(body, local, parts)).map_err(ResponseError::Schema)
}

fn envelope(capacity: usize, f: impl FnOnce(&mut XmlWriter)) -> Vec<u8> {
    write_envelope(capacity, f)
}

const SIG_BOTH: &[&str] = &[ns::SIG75, ns::SIG74];

macro_rules! plain_operation {
    ($req:ty, $resp:ty, $service:expr, $name:literal, $action_base:literal, $resp_ns:expr, |$s:ident, $v:ident| $check:expr) => {
        impl Operation for $req {
            type Response = $resp;
            const SERVICE: Service = $service;
            const NAME: &'static str = $name;

            fn soap_action(_version: &ServiceVersion) -> String {
                concat!($action_base, "#", $name).to_owned()
            }

            fn to_envelope(&self, version: &ServiceVersion) -> Result<Vec<u8>, WriteError> {
                let ($s, $v) = (self, version);
                $check?;
                Ok(envelope(0, |w| self.write(w)))
            }

            fn parse_response_parts(
                envelope: &[u8],
                parts: &Attachments<'_>,
            ) -> Result<Self::Response, ResponseError> {
                parse_response_with(
                    envelope,
                    parts,
                    &[$resp_ns],
                    concat!($name, "Response"),
                    <$resp>::parse,
                )
            }
        }
    };
}

fn ok() -> Result<(), WriteError> {
    Ok(())
}

plain_operation!(
    GetCards,
    GetCardsResponse,
    Service::EventService,
    "GetCards",
    "http://ws.gematik.de/conn/EventService/v7.2",
    ns::EVT,
    |_s, _v| ok()
);
plain_operation!(
    GetPinStatus,
    GetPinStatusResponse,
    Service::CardService,
    "GetPinStatus",
    "http://ws.gematik.de/conn/CardService/v8.1",
    ns::CARD,
    |_s, _v| ok()
);
plain_operation!(
    VerifyPin,
    VerifyPinResponse,
    Service::CardService,
    "VerifyPin",
    "http://ws.gematik.de/conn/CardService/v8.1",
    ns::CARD,
    |_s, _v| ok()
);
plain_operation!(
    ReadCardCertificate,
    ReadCardCertificateResponse,
    Service::CertificateService,
    "ReadCardCertificate",
    "http://ws.gematik.de/conn/CertificateService/v6.0",
    ns::CERT,
    |s, v| {
        non_empty(&s.cert_refs, "CERT:CertRefList")?;
        crypt_supported(
            s.crypt.is_some(),
            v,
            ServiceVersion::new(6, 0, 1),
            "CERT:Crypt",
        )
    }
);
plain_operation!(
    VerifyCertificate,
    VerifyCertificateResponse,
    Service::CertificateService,
    "VerifyCertificate",
    "http://ws.gematik.de/conn/CertificateService/v6.0",
    ns::CERT,
    |_s, _v| ok()
);
plain_operation!(
    EncryptDocument,
    EncryptDocumentResponse,
    Service::EncryptionService,
    "EncryptDocument",
    "http://ws.gematik.de/conn/EncryptionService/v6.1",
    ns::CRYPT,
    |s, v| {
        document_size(s.document.data.len())?;
        let crypt = s
            .recipient_keys
            .certificate_on_card
            .as_ref()
            .is_some_and(|k| k.crypt.is_some());
        crypt_supported(crypt, v, ServiceVersion::new(6, 1, 1), "CRYPT:Crypt")
    }
);
plain_operation!(
    DecryptDocument,
    DecryptDocumentResponse,
    Service::EncryptionService,
    "DecryptDocument",
    "http://ws.gematik.de/conn/crypt/EncryptionService/v6.1",
    ns::CRYPT,
    |s, v| {
        document_size(s.document.data.len())?;
        crypt_supported(
            s.private_key_on_card.crypt.is_some(),
            v,
            ServiceVersion::new(6, 1, 1),
            "CRYPT:Crypt",
        )
    }
);
plain_operation!(
    ExternalAuthenticate,
    ExternalAuthenticateResponse,
    Service::AuthSignatureService,
    "ExternalAuthenticate",
    "http://ws.gematik.de/conn/SignatureService/v7.4",
    ns::SIG74,
    |_s, _v| ok()
);

/// `Crypt` exists only from CertificateService 6.0.1 and EncryptionService 6.1.1 on; older
/// Konnektors answer it with 4000 (konnektor.md §1.1), so it is refused before sending.
fn crypt_supported(
    present: bool,
    version: &ServiceVersion,
    since: ServiceVersion,
    element: &'static str,
) -> Result<(), WriteError> {
    if present && *version < since {
        return Err(WriteError {
            element,
            problem: "not supported by the negotiated service version",
        });
    }
    Ok(())
}

fn document_size(len: usize) -> Result<(), WriteError> {
    if len > crate::xml::read::MAX_DOCUMENT_SIZE {
        return Err(WriteError {
            element: "Document",
            problem: "larger than the Konnektor's 25 MB limit (4280)",
        });
    }
    Ok(())
}

fn sig_action(version: &ServiceVersion, name: &str) -> String {
    let v = match SigNamespace::for_version(version) {
        SigNamespace::V7_4 => "v7.4",
        SigNamespace::V7_5 => "v7.5",
    };
    format!("http://ws.gematik.de/conn/SignatureService/{v}#{name}")
}

macro_rules! sig_operation {
    ($req:ty, $resp:ty, $name:literal, |$s:ident| $check:expr, $cap:expr) => {
        impl Operation for $req {
            type Response = $resp;
            const SERVICE: Service = Service::SignatureService;
            const NAME: &'static str = $name;

            fn soap_action(version: &ServiceVersion) -> String {
                sig_action(version, $name)
            }

            fn to_envelope(&self, version: &ServiceVersion) -> Result<Vec<u8>, WriteError> {
                let $s = self;
                $check?;
                let capacity = $cap;
                let sig = SigNamespace::for_version(version);
                Ok(envelope(capacity, |w| self.write(w, sig)))
            }

            fn parse_response_parts(
                envelope: &[u8],
                parts: &Attachments<'_>,
            ) -> Result<Self::Response, ResponseError> {
                parse_response_with(
                    envelope,
                    parts,
                    SIG_BOTH,
                    concat!($name, "Response"),
                    <$resp>::parse,
                )
            }
        }
    };
}

sig_operation!(
    GetJobNumber,
    GetJobNumberResponse,
    "GetJobNumber",
    |s| ok(),
    zero(s)
);
sig_operation!(
    SignDocument,
    SignDocumentResponse,
    "SignDocument",
    |s| {
        non_empty(&s.requests, "SIG:SignRequest")?;
        s.requests
            .iter()
            .try_for_each(|r| document_size(r.document.data.len()))
    },
    s_cap(s)
);
sig_operation!(
    VerifyDocument,
    VerifyDocumentResponse,
    "VerifyDocument",
    |s| ok(),
    zero(s)
);

fn zero<T>(_: &T) -> usize {
    0
}

fn s_cap(s: &SignDocument) -> usize {
    s.requests
        .iter()
        .map(|r| r.document.data.len() / 3 * 4 + 4)
        .sum()
}
