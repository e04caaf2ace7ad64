//! Receiving KOM-LE messages whose E-Mail-Daten lie on the KAS (gemSpec_CM_KOMLE 3.2.2;
//! kim-spec §4.5): the receiver's own VZD version must carry `+` (A_23512, E3 with 4018),
//! exactly one KIM-Attachment (A_19369-02), download through [`KasDownload`] (E4 with
//! 4006/4013, E5 with 4007/4012), then the restored Client-Mail with the trace fields,
//! result headers and Vermerke of the delivered message (A_19374-03).

use std::io::Read;
use std::sync::Arc;

use kim_message::kas::find_attachments;
use kim_message::mime::{
    self, DeliveryResult, ErrorMailContext, ErrorMailKind, HeaderBlock, KasFailure,
};
use kim_types::KimAddress;

use super::kas::{KasDownload, KasFetchError};
use super::process::Recipient;

/// Largest restored Client-Mail held in memory (the Fachdienst limit `maxMailSize`).
const MAX_RESTORED: u64 = crate::DEFAULT_MAX_MAIL_SIZE;

/// Replaces `delivered` (a positively checked message with a KIM-Attachment) by the
/// restored Client-Mail or the matching error mail; `inner` is the decrypted Client-Mail
/// before the Vermerke, `received` the KOM-LE message as fetched (attached to E3/E4).
pub(crate) async fn restore(
    delivered: Vec<u8>,
    inner: &[u8],
    received: &[u8],
    recipient: &Recipient,
    kas: &Arc<dyn KasDownload>,
    vzd: &kim_vzd::VzdClient,
    server_check: &dyn crate::fd_cert::ServerCheck,
) -> Vec<u8> {
    match try_restore(
        &delivered,
        inner,
        received,
        recipient,
        kas,
        vzd,
        server_check,
    )
    .await
    {
        Ok(message) => message,
        Err(e) => {
            tracing::warn!(error = %e, "KAS message could not be restored; delivered as decrypted");
            delivered
        }
    }
}

async fn try_restore(
    delivered: &[u8],
    inner: &[u8],
    received: &[u8],
    recipient: &Recipient,
    kas: &Arc<dyn KasDownload>,
    vzd: &kim_vzd::VzdClient,
    server_check: &dyn crate::fd_cert::ServerCheck,
) -> Result<Vec<u8>, String> {
    if !large_messages_enabled(&recipient.address, vzd).await {
        tracing::info!(
            code = 4018,
            "KAS message refused: large messages not enabled"
        );
        return error_mail(&ErrorMailKind::LargeMessagesDisabled, received, recipient)
            .map_err(|e| e.to_string());
    }
    let attachments = match find_attachments(inner) {
        Ok(list) if list.len() == 1 => list,
        _ => return kas_failure(KasFailure::Ambiguous, delivered).map_err(|e| e.to_string()),
    };
    let Some(attachment) = attachments.first() else {
        return kas_failure(KasFailure::Ambiguous, delivered).map_err(|e| e.to_string());
    };
    let started = std::time::Instant::now();
    let downloaded = kas
        .download(attachment, &recipient.address, server_check)
        .await;
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(target: "kim_perf", step = "kas", ms, "step timed");
    let mail = match downloaded {
        Ok(mail) => mail,
        Err(e) => {
            tracing::info!(code = e.code(), "KAS download failed");
            return match e {
                KasFetchError::Download(_) | KasFetchError::TooManyRequests => {
                    let kind = ErrorMailKind::KasDownloadFailed {
                        too_many_requests: e == KasFetchError::TooManyRequests,
                    };
                    error_mail(&kind, received, recipient)
                }
                KasFetchError::Decrypt(_) => kas_failure(KasFailure::DecryptFailed, delivered),
                KasFetchError::HashMismatch => kas_failure(KasFailure::HashMismatch, delivered),
            }
            .map_err(|e| e.to_string());
        }
    };
    let plaintext = read_all(mail).map_err(|e| format!("reading the KAS data: {e}"))?;
    // The delivered message carries the outer trace fields; `build_delivered` copies them.
    let (header, _) = HeaderBlock::parse(delivered).map_err(|e| e.to_string())?;
    mime::build_delivered(&plaintext, &header, &result_of(&header)).map_err(|e| e.to_string())
}

/// The result headers of the delivered message (decryption 00 and its integrity IDs).
fn result_of(header: &HeaderBlock) -> DeliveryResult {
    let ids: Vec<String> = header
        .get_all("X-KIM-IntegrityCheckResult")
        .map(|f| f.value().trim().to_string())
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    DeliveryResult::decrypted(&refs)
}

/// A_23512: the receiver's own directory entry must announce `1.5+`.
async fn large_messages_enabled(address: &str, vzd: &kim_vzd::VzdClient) -> bool {
    let Ok(address) = KimAddress::parse(address) else {
        return false;
    };
    match vzd.lookup(&address).await {
        Ok(entries) => entries
            .iter()
            .any(|e| e.version_of(&address).supports_large_messages()),
        Err(e) => {
            // Not the sender's fault and not provably disabled: try the download.
            tracing::warn!(error = %e, "directory not reachable for the own KIM version");
            true
        }
    }
}

fn error_mail(
    kind: &ErrorMailKind,
    received: &[u8],
    recipient: &Recipient,
) -> Result<Vec<u8>, mime::MimeError> {
    let message_id = format!("<{}@{}>", uuid::Uuid::new_v4(), recipient.hostname);
    let date = kim_types::time::rfc5322_date(super::process::unix_now());
    let ctx = ErrorMailContext {
        receiver: &recipient.address,
        message_id: &message_id,
        date: &date,
    };
    mime::error_mail(kind, received, &ctx)
}

/// E5: the delivered message with its body replaced (A_19369-02, A_19371-04, A_19372-03).
fn kas_failure(failure: KasFailure, delivered: &[u8]) -> Result<Vec<u8>, mime::MimeError> {
    tracing::info!(?failure, "KAS message replaced by an error text");
    mime::kas_error_mail(failure, delivered)
}

fn read_all(mail: super::kas::DownloadedMail) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(usize::try_from(mail.len.min(MAX_RESTORED)).unwrap_or(0));
    mail.file.take(MAX_RESTORED).read_to_end(&mut out)?;
    Ok(out)
}
