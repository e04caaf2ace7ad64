//! Tag Email-Account: registerAccount, setAccount, getAccount, deregisterAccount,
//! revokeDeregistration (AccountManager.yaml 2.4.0; kim-spec §6.3).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use kim_store::{Account, Contract, RegState, StoreError};
use serde::Deserialize;

use super::{ApiResult, Owner, authorize, caller, hash_secret, json_body, no_content, username};
use crate::error::json_response;
use crate::rules::{self, b64_header, decode_b64_text};
use crate::vzd::{self, VzdAddress};
use crate::{AccountManagerState, AmError};

/// `maxMailSize` (yaml: minimum = maximum = 734003200 bytes).
pub const MAX_MAIL_SIZE: i64 = 734_003_200;
/// Default `dataTimeToLive` in days.
const DEFAULT_TTL: u16 = 90;
/// Default `kimVersion` of a new account that names none.
const DEFAULT_VERSION: &str = "1.5";
/// Length of the deregistration window (A_19464-03: at least 30 days).
pub const DEREGISTRATION_DAYS: i64 = 30;

/// The `Account` schema as a request body. Read-only fields are accepted and ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountBody {
    #[serde(rename = "referenceID")]
    reference_id: Option<String>,
    username: Option<String>,
    password: Option<String>,
    kim_version: Option<String>,
    data_time_to_live: Option<i64>,
    no_vzd_mail_entry: Option<bool>,
}

/// The `Account` schema of getAccount.
fn account_json(account: &Account) -> serde_json::Value {
    let mut v = serde_json::json!({
        "referenceID": account.reference_id,
        "username": account.address,
        "kimVersion": account.kim_version,
        "dataTimeToLive": account.data_time_to_live,
        "maxMailSize": MAX_MAIL_SIZE,
        "noVzdMailEntry": account.no_vzd_mail_entry,
    });
    let (reg_stat, dereg_date) = match account.state {
        RegState::Registered => ("registered", None),
        RegState::Deregistered { until, .. } => ("deregistered", Some(until)),
    };
    if let Some(map) = v.as_object_mut() {
        map.insert("regStat".into(), reg_stat.into());
        if let Some(date) = dereg_date {
            map.insert("deregDate".into(), date.into());
        }
    }
    v
}

fn vzd_address(account: &Account) -> VzdAddress {
    VzdAddress {
        mail: account.address.clone(),
        version: account.kim_version.clone(),
        no_vzd_mail_entry: account.no_vzd_mail_entry,
    }
}

/// How a registration was authorised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Authorised {
    /// With the contract's initial password.
    Contract,
    /// With the token of the portal's reservation of the address (manual §3.1).
    Reservation,
}

/// The contract of a registration, authenticated by `referenceID` + `iniPassword` (401).
///
/// An address reserved by the registration portal can only be registered with the
/// reservation's token as `iniPassword` and its contract as `referenceID` while the
/// reservation is valid; anyone else gets 409. An expired token is refused with 401.
async fn registration_contract(
    state: &AccountManagerState,
    headers: &HeaderMap,
    reference_id: Option<&str>,
    username: Option<&str>,
) -> Result<(Contract, Authorised), AmError> {
    let refused = || AmError::Unauthorized("unknown referenceID or wrong iniPassword".into());
    let ini_password = b64_header(headers, "iniPassword")?;
    let reference_id = reference_id
        .filter(|r| !r.is_empty() && r.chars().count() <= 256)
        .ok_or_else(|| AmError::Unauthorized("referenceID missing or invalid".into()))?;
    let reservation = match username {
        Some(u) => state.store().reservation(&rules::account_key(u)).await?,
        None => None,
    };
    let now = state.now();
    let by_token = reservation
        .as_ref()
        .filter(|r| r.token_hash == kim_store::password::token_digest(&ini_password));
    if let Some(r) = by_token {
        if r.expires <= now {
            return Err(AmError::Unauthorized(
                "the registration link has expired; the address is no longer reserved".into(),
            ));
        }
        if r.reference_id != reference_id {
            return Err(AmError::Unauthorized(
                "the registration token belongs to another referenceID".into(),
            ));
        }
    }
    let contract = state
        .store()
        .contract(reference_id)
        .await?
        .ok_or_else(refused)?;
    let authorised = if by_token.is_some() {
        Authorised::Reservation
    } else if super::verify_secret(ini_password, contract.ini_password_hash.clone()).await? {
        Authorised::Contract
    } else {
        return Err(refused());
    };
    if contract.locked {
        return Err(AmError::Unauthorized(
            "the contract is locked by the provider".into(),
        ));
    }
    if authorised == Authorised::Contract && reservation.is_some_and(|r| r.expires > now) {
        // Reserved by a pending registration at the portal.
        return Err(AmError::AddressTaken);
    }
    Ok((contract, authorised))
}

/// The account a valid registration body describes (420/422/400 for broken rules), bound to
/// the caller's Telematik-ID.
async fn new_account(
    state: &AccountManagerState,
    contract: &Contract,
    body: &AccountBody,
    telematik_id: String,
) -> Result<Account, AmError> {
    let username = body
        .username
        .as_deref()
        .ok_or_else(|| AmError::BadRequest("username missing".into()))?;
    let address = rules::registration_address(username, &contract.domains)?;
    let password = body
        .password
        .as_deref()
        .ok_or_else(|| AmError::BadRequest("password missing".into()))
        .and_then(|p| decode_b64_text(p, "password"))?;
    rules::check_password(&password)?;
    let kim_version = match &body.kim_version {
        Some(v) => rules::kim_version(v)?,
        None => DEFAULT_VERSION.to_owned(),
    };
    let data_time_to_live = match body.data_time_to_live {
        Some(d) => rules::data_time_to_live(d)?,
        None => DEFAULT_TTL,
    };
    Ok(Account {
        address,
        reference_id: contract.reference_id.clone(),
        telematik_id,
        password_hash: hash_secret(password).await?,
        kim_version,
        data_time_to_live,
        no_vzd_mail_entry: body.no_vzd_mail_entry.unwrap_or(false),
        state: RegState::Registered,
        failed_logins: 0,
        locked: false,
        otp: None,
        out_of_office: None,
        quota: -1,
        created: state.now(),
    })
}

/// registerAccount: `POST /account`. In all error cases the account is not created (yaml):
/// a failed VZD write removes it again.
pub(crate) async fn register(
    State(state): State<AccountManagerState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let caller = caller(&state, &headers)?;
    let body: AccountBody = json_body(body)?;
    let (contract, authorised) = registration_contract(
        &state,
        &headers,
        body.reference_id.as_deref(),
        body.username.as_deref(),
    )
    .await?;
    let account = new_account(&state, &contract, &body, caller.telematik_id).await?;
    let existing = state
        .store()
        .list_accounts(Some(&contract.reference_id))
        .await?;
    if existing.iter().any(|a| a.address == account.address) {
        return Err(AmError::AddressTaken);
    }
    if existing.len() >= contract.max_accounts as usize {
        return Err(AmError::Policy(format!(
            "the contract allows {} accounts",
            contract.max_accounts
        )));
    }
    match state.store().create_account(&account).await {
        Ok(()) => {}
        Err(StoreError::Conflict { .. }) => return Err(AmError::AddressTaken),
        Err(e) => return Err(e.into()),
    }
    let written = vzd::upsert(state.vzd(), &account.telematik_id, vzd_address(&account)).await;
    if let Err(e) = written {
        state.store().delete_account(&account.address).await?;
        return Err(e.into());
    }
    if authorised == Authorised::Reservation {
        // The account exists; losing the contact data must not undo the registration.
        if let Err(e) = state.store().complete_reservation(&account.address).await {
            tracing::error!(error = %e, "cannot move the reservation's contact data");
        }
    }
    tracing::info!("account registered");
    Ok(no_content())
}

/// setAccount: `PUT /account/{username}`. Unspecified fields stay; the call also unlocks an
/// account locked after wrong mailbox logins.
pub(crate) async fn set(
    State(state): State<AccountManagerState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let username = username(path)?;
    let (_, mut account) = authorize(&state, &headers, &username, Owner::Bound).await?;
    let body: AccountBody = json_body(body)?;
    if body
        .reference_id
        .as_deref()
        .is_some_and(|r| r != account.reference_id)
    {
        return Err(AmError::BadRequest("referenceID cannot be changed".into()));
    }
    if body
        .username
        .as_deref()
        .is_some_and(|u| !u.eq_ignore_ascii_case(&account.address))
    {
        return Err(AmError::BadRequest("username cannot be changed".into()));
    }
    let new_password = match &body.password {
        Some(p) => {
            let p = decode_b64_text(p, "password")?;
            rules::check_password(&p)?;
            Some(p)
        }
        None => None,
    };
    let vzd_before = vzd_address(&account);
    if let Some(v) = &body.kim_version {
        account.kim_version = rules::kim_version(v)?;
    }
    if let Some(d) = body.data_time_to_live {
        account.data_time_to_live = rules::data_time_to_live(d)?;
    }
    if let Some(flag) = body.no_vzd_mail_entry {
        account.no_vzd_mail_entry = flag;
    }
    if let Some(p) = new_password {
        account.password_hash = hash_secret(p).await?;
    }
    // The owner, proven by card and password, lifts a lock after wrong logins (manual §3.3).
    account.locked = false;
    account.failed_logins = 0;
    let vzd_after = vzd_address(&account);
    if vzd_after != vzd_before && account.state == RegState::Registered {
        vzd::upsert(state.vzd(), &account.telematik_id, vzd_after).await?;
    }
    state.store().update_account(&account).await?;
    Ok(no_content())
}

/// getAccount: `GET /account/{username}`.
pub(crate) async fn get(
    State(state): State<AccountManagerState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult {
    let username = username(path)?;
    let (_, account) = authorize(&state, &headers, &username, Owner::Bound).await?;
    Ok(json_response(StatusCode::OK, &account_json(&account)))
}

/// deregisterAccount: `DELETE /account/{username}`. Starts the 30-day window
/// (A_19464-03); the address leaves the VZD at once. Repeating it keeps the first window.
pub(crate) async fn deregister(
    State(state): State<AccountManagerState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult {
    let username = username(path)?;
    let (_, mut account) = authorize(&state, &headers, &username, Owner::Bound).await?;
    if account.state != RegState::Registered {
        return Ok(no_content());
    }
    vzd::remove(state.vzd(), &account.telematik_id, &account.address).await?;
    let now = state.now();
    account.state = RegState::Deregistered {
        since: now,
        until: now.saturating_add(DEREGISTRATION_DAYS * 86_400),
    };
    state.store().update_account(&account).await?;
    tracing::info!("account deregistered");
    Ok(no_content())
}

/// revokeDeregistration: `PUT /account/{username}/revokeDeregistration` (A_23175): 403 if
/// the account is not deregistered; the address returns to the VZD.
pub(crate) async fn revoke(
    State(state): State<AccountManagerState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult {
    let username = username(path)?;
    let (_, mut account) = authorize(&state, &headers, &username, Owner::Bound).await?;
    match account.state {
        RegState::Registered => {
            return Err(AmError::Forbidden(
                "the email account has not been deregistered".into(),
            ));
        }
        // The window is over: the account awaits deletion and is no longer available.
        RegState::Deregistered { until, .. } if state.now() > until => {
            return Err(AmError::NotFound);
        }
        RegState::Deregistered { .. } => {}
    }
    vzd::upsert(state.vzd(), &account.telematik_id, vzd_address(&account)).await?;
    account.state = RegState::Registered;
    state.store().update_account(&account).await?;
    tracing::info!("deregistration revoked");
    Ok(no_content())
}
