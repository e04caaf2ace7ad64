//! `readMailData` and the restoration of the E-Mail-Daten (kim-spec §4.5 steps 3–5):
//! `GET` the link with the `recipient` header over mutual TLS (no credentials: the
//! operation has none, and the link may name another provider's KAS), decrypt the stream
//! into an unnamed temporary file, check the SHA-256.
//!
//! Failures: `429` → [`KasFetchError::TooManyRequests`] (4013); connection, TLS, other
//! status, stall → [`KasFetchError::Download`] (4006); tag mismatch or a blob too short →
//! [`KasFetchError::Decrypt`] (4007); hash mismatch → [`KasFetchError::HashMismatch`] (4012).
//! Plaintext written before a failed check is discarded with the file.

use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use kim_message::kas::{DecryptSummary, KasError, KimAttachment, decrypt_stream, verify_hash};
use reqwest::StatusCode;
use tokio::sync::mpsc;

use super::pipe::{ChannelReader, DEPTH, Item};
use super::{HttpKas, perf};
use crate::receive::kas::{DownloadedMail, KasFetchError};

pub(super) async fn download(
    kas: &HttpKas,
    att: &KimAttachment,
    recipient: &str,
    server_check: &dyn crate::fd_cert::ServerCheck,
) -> Result<DownloadedMail, KasFetchError> {
    let started = Instant::now();
    kas.approve_server(&att.link, server_check)
        .await
        .map_err(|e| download_error(&format!("the KAS's TLS certificate: {e}")))?;
    let key = att
        .key()
        .map_err(|e| KasFetchError::Decrypt(e.to_string()))?;
    let timeout = kas.settings.timeout;
    let request = kas
        .http
        .get(&att.link)
        .header("recipient", recipient)
        .send();
    let response = tokio::time::timeout(timeout, request)
        .await
        .map_err(|_| download_error(&"timed out"))?
        .map_err(|e| download_error(&e))?;
    match response.status() {
        StatusCode::OK => {}
        StatusCode::TOO_MANY_REQUESTS => return Err(KasFetchError::TooManyRequests),
        status => return Err(download_error(&format!("HTTP {}", status.as_u16()))),
    }
    let (tx, rx) = mpsc::channel::<Item>(DEPTH);
    let decryption = tokio::task::spawn_blocking(move || {
        let file = tempfile::tempfile()?;
        let mut out = BufWriter::new(file);
        let summary = decrypt_stream(&key, ChannelReader::new(rx), &mut out)?;
        let file = out.into_inner().map_err(|e| KasError::Io(e.into_error()))?;
        Ok::<_, KasError>((summary, file))
    });
    let pumped = pump(response, &tx, timeout).await;
    drop(tx);
    let decrypted = decryption
        .await
        .map_err(|e| KasFetchError::Download(format!("decryption task: {e}")))?;
    // A broken transfer is a download failure, even if decryption noticed it first.
    pumped?;
    let (summary, file) = decrypted.map_err(decrypt_error)?;
    finish(att, summary, file, started)
}

/// Moves the response body into the decryption channel; the first failure is also sent
/// so that decryption stops.
async fn pump(
    mut response: reqwest::Response,
    tx: &mpsc::Sender<Item>,
    timeout: Duration,
) -> Result<(), KasFetchError> {
    loop {
        let chunk = match tokio::time::timeout(timeout, response.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(e)) => return Err(abort(tx, e.to_string()).await),
            Err(_) => return Err(abort(tx, "timed out".into()).await),
        };
        if tx.send(Ok(chunk)).await.is_err() {
            // Decryption stopped early (it reports why).
            return Ok(());
        }
    }
}

async fn abort(tx: &mpsc::Sender<Item>, why: String) -> KasFetchError {
    let _ = tx.send(Err(std::io::Error::other(why.clone()))).await;
    download_error(&why)
}

fn finish(
    att: &KimAttachment,
    summary: DecryptSummary,
    mut file: std::fs::File,
    started: Instant,
) -> Result<DownloadedMail, KasFetchError> {
    verify_hash(att, &summary).map_err(|e| match e {
        KasError::HashMismatch => KasFetchError::HashMismatch,
        other => KasFetchError::Decrypt(other.to_string()),
    })?;
    file.flush()
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .map_err(|e| KasFetchError::Download(format!("temporary file: {e}")))?;
    perf(started, "download");
    tracing::info!(
        size = summary.plaintext_size,
        "mail data restored from the KAS"
    );
    Ok(DownloadedMail {
        file,
        len: summary.plaintext_size,
    })
}

fn decrypt_error(e: KasError) -> KasFetchError {
    match e {
        KasError::Io(e) => KasFetchError::Download(format!("transfer or temporary file: {e}")),
        other => KasFetchError::Decrypt(other.to_string()),
    }
}

fn download_error(why: &dyn std::fmt::Display) -> KasFetchError {
    tracing::warn!(error = %why, "KAS download failed");
    KasFetchError::Download(why.to_string())
}
