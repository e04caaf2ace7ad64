//! Tag Out of Office Notification: getOutOfOffice and updateOutOfOffice (kim-spec §6.3).
//!
//! Rules: a missing `active` means `false`; the first update needs every field;
//! `active=false` alone keeps the stored values; `active=true` needs every field;
//! before any update getOutOfOffice answers `{"active": false}` only.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use kim_store::OutOfOffice;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{ApiResult, Owner, authorize, json_body, no_content, username};
use crate::error::json_response;
use crate::{AccountManagerState, AmError};

/// Longest `message` (yaml `maxLength: 2048`).
const MESSAGE_MAX: usize = 2048;

/// `OutOfOfficeNotification` as a request body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OooBody {
    start_date: Option<String>,
    end_date: Option<String>,
    message: Option<String>,
    active: Option<bool>,
}

fn parse_date(value: &str, name: &str) -> Result<i64, AmError> {
    OffsetDateTime::parse(value, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| AmError::BadRequest(format!("{name} is not an RFC 3339 date-time")))
}

fn format_date(secs: i64) -> Result<String, AmError> {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .ok_or_else(|| AmError::Internal(format!("stored date {secs} unrepresentable")))
}

/// The new settings from the stored ones and a request, by the rules above.
fn merge(stored: Option<&OutOfOffice>, body: &OooBody) -> Result<OutOfOffice, AmError> {
    let active = body.active.unwrap_or(false);
    let start = body
        .start_date
        .as_deref()
        .map(|d| parse_date(d, "startDate"))
        .transpose()?;
    let end = body
        .end_date
        .as_deref()
        .map(|d| parse_date(d, "endDate"))
        .transpose()?;
    if let Some(m) = &body.message
        && m.chars().count() > MESSAGE_MAX
    {
        return Err(AmError::BadRequest(format!(
            "message longer than {MESSAGE_MAX} characters"
        )));
    }
    let complete = start.is_some() && end.is_some() && body.message.is_some();
    let merged = match (stored, complete) {
        (_, true) => OutOfOffice {
            active,
            start: start.unwrap_or_default(),
            end: end.unwrap_or_default(),
            message: body.message.clone().unwrap_or_default(),
        },
        (Some(s), false) if !active => OutOfOffice {
            active,
            start: start.unwrap_or(s.start),
            end: end.unwrap_or(s.end),
            message: body.message.clone().unwrap_or_else(|| s.message.clone()),
        },
        (Some(_), false) => {
            return Err(AmError::BadRequest(
                "active=true needs startDate, endDate and message".into(),
            ));
        }
        (None, false) => {
            return Err(AmError::BadRequest(
                "the first update needs startDate, endDate and message".into(),
            ));
        }
    };
    if merged.start > merged.end {
        return Err(AmError::BadRequest("startDate is after endDate".into()));
    }
    Ok(merged)
}

/// getOutOfOffice: `GET /account/{username}/outofoffice`.
pub(crate) async fn get(
    State(state): State<AccountManagerState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult {
    let username = username(path)?;
    let (_, account) = authorize(&state, &headers, &username, Owner::Bound).await?;
    let body = match &account.out_of_office {
        None => serde_json::json!({ "active": false }),
        Some(o) => serde_json::json!({
            "startDate": format_date(o.start)?,
            "endDate": format_date(o.end)?,
            "message": o.message,
            "active": o.active,
        }),
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// updateOutOfOffice: `PUT /account/{username}/outofoffice`.
pub(crate) async fn update(
    State(state): State<AccountManagerState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let username = username(path)?;
    let (_, mut account) = authorize(&state, &headers, &username, Owner::Bound).await?;
    let body: OooBody = json_body(body)?;
    account.out_of_office = Some(merge(account.out_of_office.as_ref(), &body)?);
    state.store().update_account(&account).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn body(
        start: Option<&str>,
        end: Option<&str>,
        msg: Option<&str>,
        active: Option<bool>,
    ) -> OooBody {
        OooBody {
            start_date: start.map(str::to_owned),
            end_date: end.map(str::to_owned),
            message: msg.map(str::to_owned),
            active,
        }
    }

    const S: &str = "2021-07-20T17:32:28Z";
    const E: &str = "2021-07-28T17:32:28+02:00";

    #[test]
    fn first_update_needs_every_field_and_missing_active_is_false() {
        assert!(merge(None, &body(Some(S), None, Some("x"), Some(false))).is_err());
        let o = merge(None, &body(Some(S), Some(E), Some("Urlaub"), None)).unwrap();
        assert!(!o.active);
        assert_eq!(o.start, 1_626_802_348);
        assert_eq!(o.end, 1_627_493_548 - 7200);
    }

    #[test]
    fn inactive_alone_keeps_values_active_needs_all() {
        let stored = merge(None, &body(Some(S), Some(E), Some("Urlaub"), Some(true))).unwrap();
        let off = merge(Some(&stored), &body(None, None, None, Some(false))).unwrap();
        assert_eq!(
            (off.start, off.end, off.message.as_str(), off.active),
            (stored.start, stored.end, "Urlaub", false)
        );
        assert!(merge(Some(&stored), &body(None, None, None, Some(true))).is_err());
    }

    #[test]
    fn bad_dates_and_order_are_400() {
        assert!(merge(None, &body(Some("gestern"), Some(E), Some("x"), None)).is_err());
        assert!(merge(None, &body(Some(E), Some(S), Some("x"), None)).is_err());
        let long = "x".repeat(2049);
        assert!(merge(None, &body(Some(S), Some(E), Some(&long), None)).is_err());
    }
}
