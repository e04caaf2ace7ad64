//! The one error type of the crate and its single mapping to HTTP (`CommonSchemas.yaml`
//! `Error` body `{"message", "traceId"}`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::vzd::VzdError;

/// Why an Account Manager operation failed, split by blame.
#[derive(Debug, thiserror::Error)]
pub enum AmError {
    // --- the caller's fault -------------------------------------------------------------
    /// Malformed input: JSON, header encoding, value out of range (400).
    #[error("{0}")]
    BadRequest(String),
    /// JWT, referenceID/iniPassword or password not accepted (401).
    #[error("{0}")]
    Unauthorized(String),
    /// revokeDeregistration of a registered account, invalid OTP (403).
    #[error("{0}")]
    Forbidden(String),
    /// No account with this address (404).
    #[error("email account not available")]
    NotFound,
    /// No such route (404 with the yaml body).
    #[error("unknown resource")]
    NotFoundRoute,
    /// The route exists, the method does not (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The OTP of setTID has expired (408).
    #[error("the one-time password has expired")]
    OtpExpired,
    /// The address is taken (409).
    #[error("the e-mail address is already taken")]
    AddressTaken,
    /// Address or password breaks the provider's rules (420).
    #[error("{0}")]
    Policy(String),
    /// `kimVersion` unknown (422).
    #[error("kimVersion {0:?} is not supported (supported: 1.0, 1.5, 1.5+)")]
    UnsupportedVersion(String),
    // --- upstream -------------------------------------------------------------------------
    /// The VZD entry is inactive (423).
    #[error("the VZD entry is locked (inactive)")]
    VzdLocked,
    /// The VZD cannot be reached or refused the write (502).
    #[error("directory service: {0}")]
    Vzd(VzdError),
    // --- ours -----------------------------------------------------------------------------
    /// Storage failed (500).
    #[error("storage: {0}")]
    Store(#[from] kim_store::StoreError),
    /// Any other fault of this service (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<VzdError> for AmError {
    fn from(e: VzdError) -> Self {
        match e {
            VzdError::Locked => AmError::VzdLocked,
            other => AmError::Vzd(other),
        }
    }
}

impl AmError {
    /// The HTTP status of this error (AccountManager.yaml 2.4.0).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        let code = match self {
            AmError::BadRequest(_) => 400,
            AmError::Unauthorized(_) => 401,
            AmError::Forbidden(_) => 403,
            AmError::NotFound | AmError::NotFoundRoute => 404,
            AmError::MethodNotAllowed => 405,
            AmError::OtpExpired => 408,
            AmError::AddressTaken => 409,
            AmError::Policy(_) => 420,
            AmError::UnsupportedVersion(_) => 422,
            AmError::VzdLocked => 423,
            AmError::Vzd(_) => 502,
            AmError::Store(_) | AmError::Internal(_) => 500,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The message sent to the client: internal details stay in the log.
    fn public_message(&self) -> String {
        match self {
            AmError::Store(_) | AmError::Internal(_) => "internal server error".into(),
            AmError::Vzd(_) => {
                "the directory service cannot be reached or returned an error".into()
            }
            other => other.to_string(),
        }
    }
}

/// `application/json; charset=utf-8`, the media type of every yaml response.
pub(crate) const JSON_UTF8: &str = "application/json; charset=utf-8";

/// A JSON response with the yaml's media type.
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    response
}

impl IntoResponse for AmError {
    fn into_response(self) -> Response {
        let status = self.status();
        let trace_id = uuid::Uuid::new_v4().simple().to_string();
        if status.is_server_error() {
            tracing::error!(trace_id, status = status.as_u16(), error = %self, "account manager request failed");
        } else {
            tracing::info!(trace_id, status = status.as_u16(), error = %self, "account manager request refused");
        }
        let body = serde_json::json!({"message": self.public_message(), "traceId": trace_id});
        json_response(status, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_yaml_status() {
        let cases = [
            (AmError::BadRequest(String::new()), 400),
            (AmError::Unauthorized(String::new()), 401),
            (AmError::Forbidden(String::new()), 403),
            (AmError::NotFound, 404),
            (AmError::OtpExpired, 408),
            (AmError::AddressTaken, 409),
            (AmError::Policy(String::new()), 420),
            (AmError::UnsupportedVersion(String::new()), 422),
            (AmError::VzdLocked, 423),
            (AmError::Vzd(VzdError::Transport("x".into())), 502),
            (AmError::Internal(String::new()), 500),
        ];
        for (error, code) in cases {
            assert_eq!(error.status().as_u16(), code, "{error:?}");
        }
    }

    #[test]
    fn internal_details_are_not_sent() {
        let e = AmError::Internal("secret path /var/x".into());
        assert_eq!(e.public_message(), "internal server error");
    }
}
