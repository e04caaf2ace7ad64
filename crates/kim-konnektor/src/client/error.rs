//! [`ClientError`]: what went wrong talking to a Konnektor, split by blame.

use crate::fault::{SoapFault, is_transient};
use crate::service::Service;

/// Why a Konnektor call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Our configuration is unusable (bad URL, TLS material).
    #[error("Konnektor configuration: {0}")]
    Config(String),
    /// The Konnektor could not be reached (TCP or TLS handshake failed).
    #[error("Konnektor at {url} not reachable: {detail}")]
    Connect {
        /// Address dialled.
        url: String,
        /// Cause.
        detail: String,
    },
    /// The TLS handshake failed on a certificate: the Konnektor's is not trusted or does not
    /// name the host, or the Konnektor refused ours. Not transient: needs configuration.
    #[error("TLS with the Konnektor at {url} failed: {detail}")]
    Tls {
        /// Address dialled.
        url: String,
        /// Cause, as the TLS library names it.
        detail: String,
    },
    /// No answer in time.
    #[error("Konnektor call {operation} timed out after {seconds} s")]
    Timeout {
        /// Operation (or `connector.sds`).
        operation: String,
        /// The limit that expired.
        seconds: u64,
    },
    /// The Konnektor refused our credentials (HTTP 401/403).
    #[error("Konnektor refused the client authentication (HTTP {status})")]
    Unauthorized {
        /// HTTP status.
        status: u16,
    },
    /// The Konnektor answered with a SOAP fault.
    #[error("Konnektor fault in {operation}: {fault}")]
    Fault {
        /// Operation called.
        operation: String,
        /// The fault, with its TelematikError.
        fault: Box<SoapFault>,
    },
    /// The Konnektor does not offer a version of a service this client implements.
    #[error("Konnektor offers no supported version of {0} in connector.sds")]
    ServiceNotOffered(Service),
    /// The Konnektor answered something that is not what the protocol allows (HTTP status,
    /// content, schema).
    #[error("Konnektor protocol error in {operation}: {detail}")]
    Protocol {
        /// Operation (or `connector.sds`).
        operation: String,
        /// What was wrong.
        detail: String,
    },
    /// The request could not be written (a value the schema does not allow).
    #[error("request {operation} cannot be written: {detail}")]
    Request {
        /// Operation.
        operation: String,
        /// What was wrong.
        detail: String,
    },
}

impl ClientError {
    /// The gematik error code of a SOAP fault (code of the last trace, A_14159).
    pub fn code(&self) -> Option<u32> {
        match self {
            ClientError::Fault { fault, .. } => fault.code(),
            _ => None,
        }
    }

    /// Whether repeating the same call later may succeed without any change: connection
    /// problems, timeouts, HTTP 5xx without a fault, and faults whose code is transient
    /// ([`is_transient`]).
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Connect { .. } | ClientError::Timeout { .. } => true,
            ClientError::Fault { fault, .. } => fault.code().is_some_and(is_transient),
            ClientError::Config(_)
            | ClientError::Tls { .. }
            | ClientError::Unauthorized { .. }
            | ClientError::ServiceNotOffered(_)
            | ClientError::Protocol { .. }
            | ClientError::Request { .. } => false,
        }
    }
}
