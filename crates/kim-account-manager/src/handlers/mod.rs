//! The operation handlers, one file per tag of the yaml, and what they share: caller
//! authentication (JWT, account ownership, header password), JSON bodies, blocking hashing.

pub(crate) mod account;
pub(crate) mod cert;
pub(crate) mod ooo;
pub(crate) mod porting;

use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kim_store::{Account, password};
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::jwt::Caller;
use crate::rules::{account_key, b64_header};
use crate::{AccountManagerState, AmError};

/// Result of a handler.
pub(crate) type ApiResult = Result<Response, AmError>;

/// 204 No Content.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The `{username}` path parameter, normalised.
pub(crate) fn username(path: Result<Path<String>, PathRejection>) -> Result<String, AmError> {
    let Path(raw) = path.map_err(|e| AmError::BadRequest(format!("path: {}", e.body_text())))?;
    if raw.is_empty() || raw.chars().count() > 256 {
        return Err(AmError::BadRequest(
            "username must have 1 to 256 characters".into(),
        ));
    }
    Ok(account_key(&raw))
}

/// Parses an optional JSON body (`{}` when empty).
pub(crate) fn json_body<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, AmError> {
    let body = body.map_err(|e| AmError::BadRequest(format!("request body: {}", e.body_text())))?;
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &body
    };
    serde_json::from_slice(text).map_err(|e| AmError::BadRequest(format!("request body: {e}")))
}

/// Hashes a secret off the async runtime.
pub(crate) async fn hash_secret(secret: Zeroizing<String>) -> Result<String, AmError> {
    tokio::task::spawn_blocking(move || password::hash(&secret))
        .await
        .map_err(|e| AmError::Internal(format!("hashing task: {e}")))?
        .map_err(AmError::Store)
}

/// Verifies a secret against a PHC string off the async runtime.
pub(crate) async fn verify_secret(secret: Zeroizing<String>, phc: String) -> Result<bool, AmError> {
    tokio::task::spawn_blocking(move || password::verify(&secret, &phc))
        .await
        .map_err(|e| AmError::Internal(format!("verification task: {e}")))
}

/// Whose card must sign the JWT of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The card the account is bound to (every operation but setTID).
    Bound,
    /// Any trusted card (setTID: the new card; ownership is proven by the OTP).
    AnyCard,
}

/// The caller of a request from its `Authorization` header.
pub(crate) fn caller(state: &AccountManagerState, headers: &HeaderMap) -> Result<Caller, AmError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    state
        .jwt()
        .verify_header(value, state.now())
        .map_err(|e| AmError::Unauthorized(e.to_string()))
}

/// Authenticates an account operation: JWT (401), account exists (404), the card owns it
/// (401), its contract is not locked by the provider (401), the `password` header (400 if
/// missing or not base64, 401 if wrong).
pub(crate) async fn authorize(
    state: &AccountManagerState,
    headers: &HeaderMap,
    username: &str,
    owner: Owner,
) -> Result<(Caller, Account), AmError> {
    let caller = caller(state, headers)?;
    let account = state
        .store()
        .account(username)
        .await?
        .ok_or(AmError::NotFound)?;
    if owner == Owner::Bound && account.telematik_id != caller.telematik_id {
        return Err(AmError::Unauthorized(
            "the card of the JWT does not own this account".into(),
        ));
    }
    let password = b64_header(headers, "password")?;
    if let Some(contract) = state.store().contract(&account.reference_id).await?
        && contract.locked
    {
        return Err(AmError::Unauthorized(
            "the contract of this account is locked by the provider".into(),
        ));
    }
    if !verify_secret(password, account.password_hash.clone()).await? {
        return Err(AmError::Unauthorized("wrong password".into()));
    }
    Ok((caller, account))
}
