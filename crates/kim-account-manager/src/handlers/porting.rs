//! Tag Porting: getOTP and setTID move an address to the Telematik-ID of another card
//! (kim-spec §6.3). getOTP is signed with the old card, setTID with the new one; the OTP is
//! valid for seven days, stored hashed, and a new one replaces the old.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kim_store::{Otp, RegState};
use zeroize::Zeroizing;

use super::{ApiResult, Owner, authorize, hash_secret, no_content, username, verify_secret};
use crate::error::json_response;
use crate::rules::b64_header;
use crate::vzd;
use crate::{AccountManagerState, AmError};

/// Validity of an OTP (one week).
pub const OTP_VALIDITY_SECS: i64 = 7 * 86_400;
/// Characters of a generated OTP (RFC 4648 base32 alphabet: 5 bits each, no modulo bias).
const OTP_LEN: usize = 20;
const OTP_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn new_otp() -> Result<Zeroizing<String>, AmError> {
    let mut bytes = Zeroizing::new([0u8; OTP_LEN]);
    getrandom::fill(bytes.as_mut_slice())
        .map_err(|e| AmError::Internal(format!("system random generator: {e}")))?;
    let text: String = bytes
        .iter()
        .map(|b| {
            char::from(
                OTP_ALPHABET
                    .get(usize::from(b & 31))
                    .copied()
                    .unwrap_or(b'A'),
            )
        })
        .collect();
    Ok(Zeroizing::new(text))
}

/// getOTP: `GET /account/{username}/OTP`.
pub(crate) async fn get_otp(
    State(state): State<AccountManagerState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult {
    let username = username(path)?;
    let (_, mut account) = authorize(&state, &headers, &username, Owner::Bound).await?;
    let otp = new_otp()?;
    let encoded = STANDARD.encode(otp.as_bytes());
    account.otp = Some(Otp {
        hash: hash_secret(otp).await?,
        expires: state.now().saturating_add(OTP_VALIDITY_SECS),
    });
    state.store().update_account(&account).await?;
    tracing::info!("porting OTP issued");
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "otp": encoded }),
    ))
}

/// setTID: `PUT /account/{username}/telematikID`. 403 for a wrong or missing OTP, 408 for
/// an expired one; then the address leaves the old VZD entry and joins the new card's.
pub(crate) async fn set_tid(
    State(state): State<AccountManagerState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult {
    let username = username(path)?;
    let (caller, mut account) = authorize(&state, &headers, &username, Owner::AnyCard).await?;
    let offered = b64_header(&headers, "otp")?;
    let stored = account
        .otp
        .clone()
        .ok_or_else(|| AmError::Forbidden("invalid OTP".into()))?;
    if !verify_secret(offered, stored.hash).await? {
        return Err(AmError::Forbidden("invalid OTP".into()));
    }
    if state.now() > stored.expires {
        return Err(AmError::OtpExpired);
    }
    let old = account.telematik_id.clone();
    if account.state == RegState::Registered && old != caller.telematik_id {
        let address = vzd::VzdAddress {
            mail: account.address.clone(),
            version: account.kim_version.clone(),
            no_vzd_mail_entry: account.no_vzd_mail_entry,
        };
        vzd::upsert(state.vzd(), &caller.telematik_id, address).await?;
        if let Err(e) = vzd::remove(state.vzd(), &old, &account.address).await {
            // Keep both entries consistent: undo the addition, then report.
            let _ = vzd::remove(state.vzd(), &caller.telematik_id, &account.address).await;
            return Err(e.into());
        }
    }
    account.telematik_id = caller.telematik_id;
    account.otp = None;
    state.store().update_account(&account).await?;
    tracing::info!("address moved to another Telematik-ID");
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn otps_are_base32_and_differ() {
        let a = new_otp().unwrap();
        let b = new_otp().unwrap();
        assert_eq!(a.len(), OTP_LEN);
        assert!(a.bytes().all(|c| OTP_ALPHABET.contains(&c)));
        assert_ne!(*a, *b);
    }
}
