//! Errors of the REST APIs, split by blame, and their one mapping to HTTP.
//!
//! Every error answer carries the `Error` schema of `CommonSchemas.yaml`:
//! `{"message": …, "traceId": …}` as `application/json; charset=utf-8`. The trace id is also
//! logged, so an operator finds the cause of an answer a user reports.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kim_store::StoreError;

/// The media type of every JSON answer, as the yamls spell it.
pub(crate) const JSON: &str = "application/json; charset=utf-8";

/// A failure of a KAS, AccountLimit or ServiceInformation request, or of their configuration.
#[derive(Debug, thiserror::Error)]
pub enum KasError {
    // --- the client's fault (4xx) ---
    /// Malformed input: missing header or form field, invalid value (`400`).
    #[error("{0}")]
    BadRequest(String),
    /// Missing or wrong Basic credentials, or a locked / deregistered account (`401`).
    #[error("{0}")]
    Unauthorized(String),
    /// Not a listed recipient, or not the uploader (`403`).
    #[error("{0}")]
    Forbidden(String),
    /// Unknown or expired object (`404`).
    #[error("resource not found")]
    NotFound,
    /// Larger than `maxMailSize` (`413`, A_19378-02).
    #[error("mail data larger than maxMailSize")]
    TooLarge,
    /// Downloaded too often (`429`).
    #[error("mail data downloaded too many times; try again later")]
    TooManyDownloads,
    /// The account's quota does not hold the object (`507`, A_19378-02).
    #[error("quota exceeded: {needed} bytes needed, {remaining} bytes remaining")]
    QuotaExceeded {
        /// Size of the upload.
        needed: u64,
        /// What the quota still allows.
        remaining: u64,
    },

    // --- our configuration ---
    /// An invalid configuration value.
    #[error("invalid configuration {key} = {value:?}: {reason}")]
    Config {
        /// The key.
        key: &'static str,
        /// The value given.
        value: String,
        /// The allowed range.
        reason: String,
    },

    // --- upstream: storage ---
    /// Storage failed (`500`).
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The account store could not check the login (`500`).
    #[error("authentication backend unavailable")]
    AuthBackend,

    // --- a bug ---
    /// Something that cannot happen did (`500`).
    #[error("internal: {0}")]
    Internal(String),
}

impl KasError {
    /// The HTTP status this error is answered with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyDownloads => StatusCode::TOO_MANY_REQUESTS,
            Self::QuotaExceeded { .. } => StatusCode::INSUFFICIENT_STORAGE,
            Self::Config { .. } | Self::Store(_) | Self::AuthBackend | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for KasError {
    fn into_response(self) -> Response {
        let status = self.status();
        let trace_id = trace_id();
        let message = if status.is_server_error() {
            tracing::error!(trace_id, error = %self, "request failed");
            "internal error".to_owned()
        } else {
            tracing::info!(trace_id, status = status.as_u16(), error = %self, "request refused");
            self.to_string()
        };
        let body = serde_json::json!({ "message": message, "traceId": trace_id }).to_string();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"KIM\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// 16 hex digits, unique per answer.
fn trace_id() -> String {
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(16);
    id
}

/// A JSON answer with the yamls' media type.
pub(crate) fn json(status: StatusCode, value: &impl serde::Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => {
            let mut response = (status, body).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
            response
        }
        Err(e) => KasError::Internal(format!("unserialisable answer: {e}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_are_never_5xx() {
        let client = [
            KasError::BadRequest("x".into()),
            KasError::Unauthorized("x".into()),
            KasError::Forbidden("x".into()),
            KasError::NotFound,
            KasError::TooLarge,
            KasError::TooManyDownloads,
            KasError::QuotaExceeded {
                needed: 2,
                remaining: 1,
            },
        ];
        let codes: Vec<u16> = client.iter().map(|e| e.status().as_u16()).collect();
        assert_eq!(codes, [400, 401, 403, 404, 413, 429, 507]);
    }

    #[test]
    fn server_errors_hide_the_cause() {
        let response = KasError::AuthBackend.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], JSON);
    }

    #[test]
    fn trace_ids_are_16_hex_digits() {
        let id = trace_id();
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
