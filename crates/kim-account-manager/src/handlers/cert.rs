//! Tag Certificate: createCert (`POST /account/{username}/cert`).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::{ApiResult, Owner, authorize, json_body, username};
use crate::cert::{check_common_name, issue};
use crate::error::json_response;
use crate::rules::decode_b64_text;
use crate::{AccountManagerState, AmError};

/// `CertificateParameters`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CertBody {
    common_name: Option<String>,
    cert_password: Option<String>,
}

/// createCert: a PKCS#12 with a fresh C.CM.TLS-CS certificate, protected by `certPassword`
/// (base64) or, without it, by the empty password.
pub(crate) async fn create(
    State(state): State<AccountManagerState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let username = username(path)?;
    let (_, account) = authorize(&state, &headers, &username, Owner::Bound).await?;
    let body: CertBody = json_body(body)?;
    let cn = check_common_name(body.common_name.as_deref().unwrap_or_default())?;
    let password = match &body.cert_password {
        Some(p) => decode_b64_text(p, "certPassword")?,
        None => zeroize::Zeroizing::new(String::new()),
    };
    let now = state.now();
    let days = state.config().cert_validity_days;
    let worker = state.clone();
    let address = account.address.clone();
    let issued = tokio::task::spawn_blocking(move || {
        issue(worker.provider_ca(), &cn, now, days, &password, &address)
    })
    .await
    .map_err(|e| AmError::Internal(format!("certificate task: {e}")))??;
    tracing::info!("Clientmodul certificate issued");
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "file": STANDARD.encode(&issued.pkcs12) }),
    ))
}
