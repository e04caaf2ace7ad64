//! Typed Konnektor SOAP interface for KIM: the gematik base-service operations a KIM
//! Clientmodul calls, their error model and the service directory `connector.sds`
//! (`shared/docs/konnektor.md`; schemas vendored in `spec/konnektor/`).
//!
//! | Service (namespace version) | Operations |
//! |---|---|
//! | EventService 7.2 | [`ops::GetCards`] |
//! | CardService 8.1 | [`ops::GetPinStatus`], [`ops::VerifyPin`] |
//! | CertificateService 6.0 | [`ops::ReadCardCertificate`], [`ops::VerifyCertificate`] |
//! | SignatureService 7.4 and 7.5 | [`ops::GetJobNumber`], [`ops::SignDocument`], [`ops::VerifyDocument`] |
//! | EncryptionService 6.1 | [`ops::EncryptDocument`], [`ops::DecryptDocument`] |
//! | AuthSignatureService 7.4 (SignatureService v7.4 body) | [`ops::ExternalAuthenticate`] |
//!
//! Main types:
//! - [`model`]: validated values ([`model::Context`], [`model::CardHandle`],
//!   [`model::JobNumber`], [`model::Iccsn`], [`model::Document`], enumerations with the exact
//!   wire strings).
//! - [`fault`]: [`TelematikError`], [`Trace`], [`SoapFault`]; the code table
//!   [`fault::standard_text`] and [`fault::is_transient`].
//! - Client side: the [`Operation`] trait (SOAP action, request envelope, response parser
//!   returning [`ResponseError`], whose [`ResponseError::code`] is the Konnektor code of a
//!   fault).
//! - Simulator side: [`Request::parse_envelope`] (plain or MTOM body, dispatch on the body
//!   element's QName), [`RequestError::code`] (4000 / 4021 / 4280), [`Response::to_envelope`],
//!   [`SoapFault::to_envelope`].
//! - [`sds::ConnectorServices`]: parse/write `connector.sds`, version selection, ECC rule.
//! - [`xml`]: the hardened reader, strict schema-order access and the writer used by all of
//!   the above.
//!
//! Invariants:
//! - Values of the model types are always schema-writable: lengths and patterns are checked
//!   on construction, so writers only fail for empty lists the schema requires
//!   ([`WriteError`]).
//! - Only namespaces matter, never prefixes; the reader rejects non-UTF-8 input, DOCTYPE,
//!   entity references other than the predefined ones, and nesting deeper than 64.
//! - Parsers never panic on untrusted input; every schema violation names its path.
//! - Writers produce exactly the element order and qualification of the gematik schemas
//!   (checked in the tests with xmllint against the vendored XSDs and with python-zeep).
//!
//! Client use:
//! ```
//! use kim_konnektor::{Operation, ServiceVersion};
//! use kim_konnektor::model::{CardType, Context};
//! use kim_konnektor::ops::GetCards;
//!
//! let request = GetCards {
//!     mandant_wide: false,
//!     context: Context::new("Mandant1", "ClientID1", "Workplace1")?,
//!     ct_id: None,
//!     slot_id: None,
//!     card_type: Some(CardType::SmcB),
//! };
//! let version = ServiceVersion::new(7, 2, 0);
//! assert_eq!(GetCards::soap_action(&version), "http://ws.gematik.de/conn/EventService/v7.2#GetCards");
//! let body = request.to_envelope(&version)?;
//! # let _ = body;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Simulator use:
//! ```
//! use kim_konnektor::{Request, Response};
//! use kim_konnektor::model::{DateTime, JobNumber};
//! use kim_konnektor::ops::GetJobNumberResponse;
//!
//! let body = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
//!   <GetJobNumber xmlns="http://ws.gematik.de/conn/SignatureService/v7.5"><Context
//!     xmlns="http://ws.gematik.de/conn/ConnectorContext/v2.0"><MandantId
//!     xmlns="http://ws.gematik.de/conn/ConnectorCommon/v5.0">M</MandantId><ClientSystemId
//!     xmlns="http://ws.gematik.de/conn/ConnectorCommon/v5.0">C</ClientSystemId><WorkplaceId
//!     xmlns="http://ws.gematik.de/conn/ConnectorCommon/v5.0">W</WorkplaceId></Context></GetJobNumber>
//! </s:Body></s:Envelope>"#;
//! let answer = match Request::parse_envelope("text/xml; charset=UTF-8", body) {
//!     Ok(Request::GetJobNumber(_req, ns)) => {
//!         Response::GetJobNumber(GetJobNumberResponse { job_number: JobNumber::new("ABC-475")? }, ns).to_envelope()?
//!     }
//!     Ok(_) => unreachable!(),
//!     Err(e) => e.to_fault(DateTime::new("2025-01-01T12:00:00Z")?).to_envelope(),
//! };
//! assert!(String::from_utf8(answer)?.contains("<SIG:JobNumber>ABC-475</SIG:JobNumber>"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod envelope;
pub mod fault;
pub mod model;
pub mod operation;
pub mod ops;
pub mod request;
pub mod sds;
pub mod service;
pub mod xml;

pub use envelope::{Envelope, EnvelopeError, MtomError, split_http_body};
pub use fault::{SoapFault, TelematikError, Trace};
pub use operation::{Operation, ResponseError, WriteError};
pub use request::{Request, RequestError, Response};
pub use service::{Service, ServiceVersion, SigNamespace};
pub use xml::{SchemaError, SchemaProblem, XmlError};
