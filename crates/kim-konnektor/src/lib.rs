//! Typed Konnektor SOAP interface for KIM: the gematik base-service operations a KIM
//! Clientmodul calls (EventService, CardService, CertificateService, SignatureService,
//! EncryptionService, AuthSignatureService), their error model and the service directory
//! `connector.sds` (see `shared/docs/konnektor.md`).
//!
//! Main types:
//! - [`model`]: validated domain values ([`model::Context`], [`model::CardHandle`],
//!   [`model::JobNumber`], [`model::Document`], enumerations with exact wire strings).
//! - [`fault`]: [`fault::TelematikError`], [`fault::Trace`], [`fault::SoapFault`] and the table
//!   of Konnektor codes ([`fault::standard_text`], [`fault::is_transient`]).
//! - [`ops`]: one struct per request and response.
//! - [`sds`]: `connector.sds` and version selection; [`service`]: [`service::Service`],
//!   [`service::ServiceVersion`].
//!
//! Invariants: values of the model types are always schema-writable (lengths and patterns
//! are checked on construction); prefixes never matter, only namespaces.

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
