//! `addMailData` with AccountLimit `getLimits` in front (kim-spec §3.6 steps 2–6).
//!
//! Reactions (A_19363-03, A_22419-01, A_19355-01): `201` → the KIM-Attachment; `507`, or
//! a `remainQuota` smaller than the blob → `521`; a mail above `maxMailSize` → `552 5.3.4`;
//! anything else (connection, TLS, other status, stall) → `451`.

use std::io::{Cursor, Read};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kim_message::kas::{
    KimAttachment, blob_size, encrypt_stream, generate_key_and_iv, replace_body_with_attachment,
};
use kim_smtp::Reply;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::pipe::{ChannelWriter, DEPTH, Item, Progress};
use super::{ATTACHMENT_PATH, HttpKas, LIMIT_PATH, perf};
use crate::send::kas::{KasClientMail, KasInput};
use crate::send::rfc5322_date;

/// The `AccountLimit` schema (`AccountLimit.yaml` 1.1.4); −1 means unlimited.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Limits {
    data_time_to_live: u32,
    max_mail_size: u64,
    remain_quota: i64,
}

pub(super) async fn upload(kas: &HttpKas, input: KasInput<'_>) -> Result<KasClientMail, Reply> {
    let started = Instant::now();
    kas.approve_server(&kas.settings.base_url, input.server_check)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "KAS server certificate not usable");
            Reply::new(
                451,
                (4, 7, 0),
                "KIM Attachment Service: server certificate rejected",
            )
        })?;
    let size = input.plaintext_len();
    let mut ttl_days = kas.settings.data_time_to_live_days;
    if kas.settings.account_limit {
        let limits = get_limits(kas, input.sender, input.password).await?;
        check_limits(&limits, size)?;
        ttl_days = limits.data_time_to_live;
    }
    let (key, iv) = generate_key_and_iv().map_err(|e| failed("key generation", &e))?;
    let boundary = format!("kim-kas-{}", uuid::Uuid::new_v4().simple());
    let expires = rfc5322_date(unix_now().saturating_add(i64::from(ttl_days) * 86_400));
    let (prefix, suffix) = form_frame(&boundary, &input, &expires, blob_size(size));
    let length = (prefix.len() as u64 + suffix.len() as u64).saturating_add(blob_size(size));
    let (tx, rx) = mpsc::channel::<Item>(DEPTH);
    let progress = Progress::new();
    let header = input.header.to_vec();
    let body = input.body.take(input.body_len);
    // Whatever way this function returns, the encryption thread stops sending.
    let cancel = CancellationToken::new();
    let _stop = cancel.clone().drop_guard();
    let encryption = tokio::task::spawn_blocking(move || {
        let mut writer = ChannelWriter::new(tx, cancel);
        let result = writer.send(Ok(Bytes::from(prefix))).and_then(|()| {
            let input = Cursor::new(header).chain(body);
            encrypt_stream(&key, &iv, input, &mut writer).map_err(std::io::Error::other)
        });
        match result {
            Ok(summary) => {
                writer.send(Ok(Bytes::from(suffix)))?;
                Ok((summary, key))
            }
            Err(e) => {
                // Aborts the request instead of sending a short body.
                let _ = writer.send(Err(std::io::Error::other(e.to_string())));
                Err(e)
            }
        }
    });
    let request = kas
        .http
        .post(kas.url(ATTACHMENT_PATH))
        .basic_auth(input.sender, Some(input.password))
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(CONTENT_LENGTH, length)
        .body(reqwest::Body::wrap_stream(body_stream(
            rx,
            progress.clone(),
        )))
        .send();
    let response = watch(request, &progress, kas.settings.timeout).await;
    let link = shared_link(response, kas.settings.timeout).await?;
    let (summary, key) = match encryption.await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return Err(failed("encryption", &e)),
        Err(e) => return Err(failed("encryption task", &e)),
    };
    let att = KimAttachment::from_upload(link.clone(), &key, &summary);
    let mail = replace_body_with_attachment(input.header, &att)
        .map_err(|e| failed("KIM-Attachment", &e))?;
    perf(started, "upload");
    tracing::info!(size = summary.plaintext_size, "mail data stored on the KAS");
    Ok(KasClientMail {
        mail,
        size: summary.plaintext_size,
        link,
    })
}

/// The request future, aborted when nothing moved for `timeout` (CM_KAS_TIMEOUT).
async fn watch<F>(request: F, progress: &Progress, timeout: Duration) -> Result<F::Output, Reply>
where
    F: std::future::Future,
{
    progress.tick();
    tokio::select! {
        out = request => Ok(out),
        () = progress.stalled(timeout) => Err(unavailable("timed out")),
    }
}

/// The chunks of `rx` as a body stream that records progress.
fn body_stream(
    rx: mpsc::Receiver<Item>,
    progress: Progress,
) -> impl futures_util::Stream<Item = Item> + Send + 'static {
    futures_util::stream::unfold((rx, progress), |(mut rx, progress)| async move {
        let item = rx.recv().await?;
        progress.tick();
        Some((item, (rx, progress)))
    })
}

/// The status of the upload → the `sharedLink`, or the reply for the practice software.
async fn shared_link(
    response: Result<Result<reqwest::Response, reqwest::Error>, Reply>,
    timeout: Duration,
) -> Result<String, Reply> {
    let response = response?.map_err(|e| failed("upload", &e))?;
    let status = response.status();
    if status == StatusCode::INSUFFICIENT_STORAGE {
        return Err(quota_exhausted());
    }
    if status != StatusCode::CREATED {
        tracing::warn!(status = status.as_u16(), "KAS refused the upload");
        return Err(unavailable("refused"));
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Created {
        shared_link: String,
    }
    let body = tokio::time::timeout(timeout, response.bytes())
        .await
        .map_err(|_| unavailable("timed out"))?
        .map_err(|e| failed("upload response", &e))?;
    let created: Created =
        serde_json::from_slice(&body).map_err(|e| failed("upload response", &e))?;
    Ok(created.shared_link)
}

/// `GET /AccountLimit/v1.1/limit` with the mailbox credentials.
async fn get_limits(kas: &HttpKas, user: &str, password: &str) -> Result<Limits, Reply> {
    let request = kas
        .http
        .get(kas.url(LIMIT_PATH))
        .basic_auth(user, Some(password))
        .send();
    let timeout = kas.settings.timeout;
    let response = tokio::time::timeout(timeout, request)
        .await
        .map_err(|_| unavailable("AccountLimit timed out"))?
        .map_err(|e| failed("getLimits", &e))?;
    if !response.status().is_success() {
        tracing::warn!(
            status = response.status().as_u16(),
            "AccountLimit refused getLimits"
        );
        return Err(unavailable("AccountLimit refused"));
    }
    let body = tokio::time::timeout(timeout, response.bytes())
        .await
        .map_err(|_| unavailable("AccountLimit timed out"))?
        .map_err(|e| failed("getLimits", &e))?;
    serde_json::from_slice(&body).map_err(|e| failed("getLimits response", &e))
}

/// A_19355-01 (`maxMailSize`) and A_22419-01 (quota) before anything is uploaded.
pub(crate) fn check_limits(limits: &Limits, size: u64) -> Result<(), Reply> {
    if size > limits.max_mail_size {
        return Err(Reply::new(
            552,
            (5, 3, 4),
            "Message size exceeds fixed maximum message size",
        ));
    }
    if u64::try_from(limits.remain_quota).is_ok_and(|remain| blob_size(size) > remain) {
        return Err(quota_exhausted());
    }
    Ok(())
}

/// The multipart framing around the blob: the fields `messageID`, `recipients` (one part
/// each), `expires`, then the `attachment` part headers; and the closing delimiter.
fn form_frame(
    boundary: &str,
    input: &KasInput<'_>,
    expires: &str,
    blob_len: u64,
) -> (Vec<u8>, Vec<u8>) {
    let mut prefix = String::new();
    let mut field = |name: &str, value: &str| {
        prefix.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    };
    field("messageID", input.message_id);
    for recipient in input.recipients {
        field("recipients", recipient);
    }
    field("expires", expires);
    prefix.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; \
         filename=\"attachment.enc\"\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {blob_len}\r\n\r\n"
    ));
    let suffix = format!("\r\n--{boundary}--\r\n");
    (prefix.into_bytes(), suffix.into_bytes())
}

/// `DELETE` of an object whose mail did not reach the MTA (release 1.5.3-3); best effort.
pub(super) async fn delete(kas: &HttpKas, link: &str, user: &str, password: &str) {
    let request = kas
        .http
        .delete(link)
        .basic_auth(user, Some(password))
        .send();
    match tokio::time::timeout(kas.settings.timeout, request).await {
        Ok(Ok(response)) if response.status().is_success() => {
            tracing::info!("KAS object deleted after the failed send");
        }
        Ok(Ok(response)) => {
            tracing::warn!(
                status = response.status().as_u16(),
                "KAS refused the delete"
            );
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "KAS delete failed"),
        Err(_) => tracing::warn!("KAS delete timed out"),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn failed(what: &str, error: &dyn std::fmt::Display) -> Reply {
    tracing::warn!(what, error = %error, "KAS upload failed");
    unavailable("failed")
}

/// A_19363-03: `451` (and RSET towards the MTA).
fn unavailable(why: &str) -> Reply {
    Reply::new(
        451,
        (4, 3, 0),
        format!("KIM Attachment Service: upload {why}"),
    )
}

/// A_22419-01: `521` (and the MTA connection is closed).
fn quota_exhausted() -> Reply {
    Reply::new(
        521,
        (5, 2, 2),
        "KIM Attachment Service: storage quota exhausted",
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "test code")]
    use super::*;

    fn limits(max: u64, remain: i64) -> Limits {
        Limits {
            data_time_to_live: 90,
            max_mail_size: max,
            remain_quota: remain,
        }
    }

    #[test]
    fn limits_give_552_above_max_mail_size_and_521_without_quota() {
        assert_eq!(check_limits(&limits(100, -1), 101).unwrap_err().code, 552);
        assert_eq!(check_limits(&limits(1000, 100), 100).unwrap_err().code, 521);
        assert!(check_limits(&limits(1000, 128), 100).is_ok());
        assert!(check_limits(&limits(1000, -1), 1000).is_ok());
    }

    /// A certificate check the form frame never calls.
    struct Unused;

    impl crate::fd_cert::ServerCheck for Unused {
        fn check_leaf<'a>(&'a self, _leaf: Option<&'a [u8]>) -> crate::fd_cert::CheckFuture<'a> {
            Box::pin(async { Err(crate::fd_cert::CertCheckError::Konnektor("unused".into())) })
        }
    }

    #[test]
    fn the_form_frame_has_one_recipients_part_per_address_and_the_blob_length() {
        let recipients = ["a@x.kim.telematik".to_string(), "b@x.kim.telematik".into()];
        let input = KasInput {
            sender: "s@x.kim.telematik",
            password: "p",
            recipients: &recipients,
            message_id: "<m@x>",
            header: b"Subject: x\r\n\r\n",
            body: tempfile::tempfile().unwrap(),
            body_len: 0,
            server_check: &Unused,
        };
        let (prefix, suffix) = form_frame("B", &input, "Thu, 03 Dec 2026 10:00:00 +0000", 77);
        let prefix = String::from_utf8(prefix).unwrap();
        assert_eq!(prefix.matches("name=\"recipients\"").count(), 2);
        assert!(prefix.starts_with("--B\r\nContent-Disposition: form-data; name=\"messageID\""));
        assert!(prefix.ends_with("Content-Length: 77\r\n\r\n"));
        assert_eq!(suffix, b"\r\n--B--\r\n");
    }
}
