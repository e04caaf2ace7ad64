//! `addMailData`: the multipart upload (kim-spec §3.6 step 5, §8).
//!
//! Order of checks: Basic credentials (`401`), the request's `Content-Length` (required by
//! A_22427-01; missing `400`, above `maxMailSize` + form overhead `413`) before a byte of the
//! body is read, the attachment part's own `Content-Length` if given (`413`, quota `507`),
//! then the bytes are counted while they stream into the blob (`413` as soon as they pass
//! `maxMailSize`). The form fields may come in any order; the blob is committed only when
//! the whole form is valid, and the record only after the blob.

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use kim_fachdienst::Purpose;
use kim_store::{Account, BlobWriter, KasObject, Namespace};

use super::quota::Reservation;
use super::{FORM_OVERHEAD, KasState};
use crate::error::json;
use crate::limits::used_bytes;
use crate::{KasError, auth, now};

/// Longest accepted text field (messageID, one recipient, expires).
const MAX_TEXT_FIELD: usize = 4096;
/// Most recipients of one object.
const MAX_RECIPIENTS: usize = 1000;

/// The form as read so far.
#[derive(Default)]
struct Form {
    message_id: Option<String>,
    recipients: Vec<String>,
    expires: Option<i64>,
    attachment: Option<Box<dyn BlobWriter>>,
    /// Held from the start of the attachment until its record is committed.
    reservation: Option<Reservation>,
    /// Quota left for this upload; `None` = unlimited.
    remaining: Option<u64>,
}

/// `POST /attachment/`.
pub(super) async fn add(
    State(state): State<KasState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, KasError> {
    let account = auth::login(&state.fd, &headers, Purpose::Send).await?;
    let max = state.config.max_mail_size;
    let declared = content_length(&headers)?
        .ok_or_else(|| KasError::BadRequest("header Content-Length missing".into()))?;
    if declared > max.saturating_add(FORM_OVERHEAD) {
        return Err(KasError::TooLarge);
    }
    let mut multipart = multipart.map_err(|r| KasError::BadRequest(r.body_text()))?;
    let mut form = Form::default();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if let Err(e) = read_field(&state, &account, field, &mut form, declared).await {
            drain(&mut multipart).await;
            return Err(e);
        }
    }
    let object = store(&state, &account, form).await?;
    tracing::info!(id = %object.id, size = object.size, recipients = object.recipients.len(), "mail data stored");
    let link = state.config.shared_link(&object.id);
    Ok(json(
        StatusCode::CREATED,
        &serde_json::json!({ "sharedLink": link }),
    ))
}

/// Reads and discards the rest of a refused request's body (at most its declared length,
/// checked above, and for at most [`DRAIN_TIME`]): closing a connection with unread data
/// makes the kernel reset it, and a client still sending would lose the refusal (e.g. `507`)
/// and see a broken connection instead.
async fn drain(multipart: &mut Multipart) {
    let rest = async {
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, rest).await;
}

/// Longest time a refused upload's body is read on.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(60);

/// Checks the complete form, commits the blob, then the record (the order the crash-safety
/// invariant needs); the quota reservation is released only after the record is committed.
async fn store(state: &KasState, account: &Account, form: Form) -> Result<KasObject, KasError> {
    let (Some(message_id), Some(expires), Some(writer)) =
        (form.message_id, form.expires, form.attachment)
    else {
        return Err(KasError::BadRequest(
            "form fields messageID, expires and attachment are required".into(),
        ));
    };
    if form.recipients.is_empty() {
        return Err(KasError::BadRequest(
            "at least one form field recipients is required".into(),
        ));
    }
    let size = writer.written();
    if let Some(remaining) = form.remaining.filter(|r| size > *r) {
        return Err(KasError::QuotaExceeded {
            needed: size,
            remaining,
        });
    }
    let blob = writer.commit().await?;
    let created = now();
    let ttl = i64::from(account.data_time_to_live).saturating_mul(86_400);
    let object = KasObject {
        id: uuid::Uuid::new_v4().hyphenated().to_string(),
        owner: account.address.clone(),
        blob: blob.clone(),
        size,
        message_id,
        recipients: form.recipients,
        expires: expires.min(created.saturating_add(ttl)),
        created,
    };
    if let Err(e) = state.fd.meta.put_object(&object).await {
        if let Err(e) = state.fd.blobs.delete(&blob).await {
            tracing::warn!(error = %e, "orphaned KAS blob; removed at the next start");
        }
        return Err(e.into());
    }
    drop(form.reservation);
    Ok(object)
}

/// What the account may still store; `None` = unlimited.
async fn remaining_quota(state: &KasState, account: &Account) -> Result<Option<u64>, KasError> {
    let Ok(quota) = u64::try_from(account.quota) else {
        return Ok(None);
    };
    let used = used_bytes(&state.fd, &account.address).await?;
    Ok(Some(quota.saturating_sub(used)))
}

async fn read_field(
    state: &KasState,
    account: &Account,
    mut field: Field<'_>,
    form: &mut Form,
    declared: u64,
) -> Result<(), KasError> {
    match field.name().unwrap_or_default() {
        "messageID" => form.message_id = Some(text(field).await?),
        "recipients" => {
            let address = text(field).await?.trim().to_ascii_lowercase();
            if !is_email(&address) {
                return Err(KasError::BadRequest(
                    "recipients must be e-mail addresses".into(),
                ));
            }
            if form.recipients.len() >= MAX_RECIPIENTS {
                return Err(KasError::BadRequest("too many recipients".into()));
            }
            if !form.recipients.contains(&address) {
                form.recipients.push(address);
            }
        }
        "expires" => {
            let value = text(field).await?;
            let date = mail_parser::DateTime::parse_rfc822(value.trim())
                .filter(mail_parser::DateTime::is_valid)
                .ok_or_else(|| KasError::BadRequest("expires is not an RFC 5322 date".into()))?;
            let expires = date.to_timestamp();
            if expires <= now() {
                return Err(KasError::BadRequest("expires lies in the past".into()));
            }
            form.expires = Some(expires);
        }
        "attachment" => {
            if form.attachment.is_some() {
                return Err(KasError::BadRequest("more than one attachment".into()));
            }
            let part_length = content_length(field.headers())?;
            start_attachment(
                state,
                account,
                form,
                part_length.unwrap_or(declared),
                part_length.is_some(),
            )
            .await?;
            let writer = state.fd.blobs.create(Namespace::Kas).await?;
            form.attachment = Some(stream(state, &mut field, writer, part_length).await?);
        }
        _ => while field.chunk().await.map_err(multipart_error)?.is_some() {},
    }
    Ok(())
}

/// Size and quota checks before the attachment is read: reserves `expected` bytes, then
/// compares with what the store and the other uploads of the account hold. A declared part
/// length is exact; the request's length is only an upper bound, so it is held against the
/// quota only after streaming.
async fn start_attachment(
    state: &KasState,
    account: &Account,
    form: &mut Form,
    expected: u64,
    exact: bool,
) -> Result<(), KasError> {
    if exact && expected > state.config.max_mail_size {
        return Err(KasError::TooLarge);
    }
    let (reservation, others) = state.reservations.reserve(&account.address, expected);
    let remaining = remaining_quota(state, account)
        .await?
        .map(|r| r.saturating_sub(others));
    form.reservation = Some(reservation);
    form.remaining = remaining;
    match remaining {
        Some(remaining) if exact && expected > remaining => Err(KasError::QuotaExceeded {
            needed: expected,
            remaining,
        }),
        _ => Ok(()),
    }
}

/// Streams the attachment into `writer`, counting; the quota is checked against the final
/// size by [`add`].
async fn stream(
    state: &KasState,
    field: &mut Field<'_>,
    mut writer: Box<dyn BlobWriter>,
    part_length: Option<u64>,
) -> Result<Box<dyn BlobWriter>, KasError> {
    let max = state.config.max_mail_size;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        let total = writer.written().saturating_add(chunk.len() as u64);
        if total > max {
            return Err(KasError::TooLarge);
        }
        if part_length.is_some_and(|l| total > l) {
            return Err(KasError::BadRequest(
                "attachment longer than its Content-Length".into(),
            ));
        }
        writer.write(&chunk).await?;
    }
    if part_length.is_some_and(|l| writer.written() != l) {
        return Err(KasError::BadRequest(
            "attachment shorter than its Content-Length".into(),
        ));
    }
    Ok(writer)
}

/// A short text field, read in chunks up to [`MAX_TEXT_FIELD`].
async fn text(mut field: Field<'_>) -> Result<String, KasError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(KasError::BadRequest("form field too long".into()));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| KasError::BadRequest("form field not UTF-8".into()))
}

/// A `Content-Length` header, if present.
fn content_length(headers: &HeaderMap) -> Result<Option<u64>, KasError> {
    headers
        .get(header::CONTENT_LENGTH)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| KasError::BadRequest("invalid Content-Length".into()))
        })
        .transpose()
}

/// A body that ends early or breaks the multipart syntax is the client's fault (`400`), one
/// that passes the body limit is `413`.
fn multipart_error(e: MultipartError) -> KasError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        KasError::TooLarge
    } else {
        KasError::BadRequest(format!("invalid multipart body: {}", e.body_text()))
    }
}

/// `local@domain` with printable ASCII and no spaces: the yaml's `format: email`, loosely.
pub(super) fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && value.len() <= 256
        && value.bytes().all(|b| b.is_ascii_graphic())
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_check() {
        assert!(is_email("praxis.schmidt@test.kim.telematik"));
        for bad in ["", "a", "@b", "a@", "a b@c", "a@b@c", "ä@b"] {
            assert!(!is_email(bad), "{bad:?}");
        }
    }

    #[test]
    fn content_length_parses_or_is_400() {
        let mut headers = HeaderMap::new();
        assert!(matches!(content_length(&headers), Ok(None)));
        headers.insert(header::CONTENT_LENGTH, 42.into());
        assert!(matches!(content_length(&headers), Ok(Some(42))));
        headers.insert(
            header::CONTENT_LENGTH,
            axum::http::HeaderValue::from_static("x"),
        );
        assert!(matches!(
            content_length(&headers),
            Err(KasError::BadRequest(_))
        ));
    }

    #[test]
    fn rfc5322_dates_with_two_digit_years_parse() {
        let d = mail_parser::DateTime::parse_rfc822("Tue, 1 Jul 03 10:52:37 +0200");
        assert!(d.is_some_and(|d| d.year == 2003));
    }
}
