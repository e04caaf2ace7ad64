//! The PROCESS state for Client-Mails above the KAS threshold (gemSpec_CM_KOMLE 3.2.1;
//! kim-spec §3.4 steps 2–7 and §3.6), without ever holding the mail in memory.
//!
//! The mail lies in an unnamed spool file. Only its header block (at most
//! [`MAX_HEADER`]) is read into memory and processed (Dienstkennung, recipient fields,
//! A_19363-03: before the upload); the body streams from the file through the AES-256-GCM
//! encryption into the upload. What is signed and encrypted at the Konnektor is the small
//! KAS Client-Mail with the KIM-Attachment (A_19359-07, A_19365-02).
//!
//! The body is passed on unchanged: SMTP DATA delivers CRLF lines, so the line-end
//! normalisation of small mails is not repeated for it.

use std::io::Read;

use kim_konnektor::client::Konnektor;
use kim_message::mime::compose::prepare_client_mail;
use kim_smtp::{Envelope, Reply};

use super::kas::{KasClientMail, KasInput};
use super::process::{
    dropped_list, filter_headers, finish, gate_large, refresh, resolve_all, seal_with_retry,
};
use super::spool::{MailFile, blocking};
use super::{Session, Shared};
use crate::error::SendFailure;
use crate::fd_cert::CertGate;

/// Largest header block accepted for a large mail.
pub const MAX_HEADER: u64 = 1024 * 1024;

/// Largest mail to oneself that is read whole to look for a forwarded KOM-LE message: a
/// message sealed whole is at most about 21 MiB (15 MiB in base64), forwarded perhaps in
/// base64 once more.
pub(super) const MAX_SELF_FORWARD: u64 = 64 * 1024 * 1024;

/// Runs the send algorithm for the large mail in `mail`.
pub(super) async fn process<K: Konnektor>(
    shared: &Shared<K>,
    session: &mut Session,
    envelope: &Envelope,
    mail: MailFile,
) -> Result<Reply, SendFailure> {
    let sender = envelope.mail_from.address.clone();
    let head = mail.head(MAX_HEADER).await.map_err(spool_error)?;
    let body_offset = header_end(&head).ok_or_else(|| {
        SendFailure::ClientMail("no end of the header block within the first MiB".into())
    })?;
    if scan_for_kas_part(&mail).await? {
        return Err(SendFailure::AlreadyKas);
    }
    let header = head.get(..body_offset).unwrap_or_default();
    let prepared =
        prepare_client_mail(header).map_err(|e| SendFailure::ClientMail(e.to_string()))?;
    let kas = shared
        .kas
        .clone()
        .ok_or_else(|| SendFailure::KasUnavailable("no KAS configured".into()))?;
    let (ecc, me, mut targets, mut affected) =
        resolve_all(shared, session, &sender, envelope).await?;
    if targets
        .iter()
        .any(|t| !t.resolved.version.supports_large_messages())
    {
        // A_22340: a cached version without `+` is asked again before the recipient goes.
        shared.vzd.clear_cache();
        refresh(shared, &mut targets, ecc, &mut affected).await?;
    }
    gate_large(&mut targets, &mut affected);
    if targets.is_empty() {
        return Err(SendFailure::NoRecipient(dropped_list(&affected)));
    }
    let header = filter_headers(prepared.bytes, &targets)?;
    let recipients: Vec<String> = targets.iter().map(|t| t.rcpt.address.clone()).collect();
    let password = session.password.expose_secret().clone();
    let gate = CertGate {
        check: &shared.config.fachdienst_cert_check,
        konnektor: shared.konnektor(&session.user)?.konnektor.as_ref(),
        context: &session.context,
    };
    let input = KasInput {
        sender: &sender,
        password: &password,
        recipients: &recipients,
        message_id: &prepared.message_id,
        header: &header,
        body: mail.reader_at(body_offset as u64).map_err(spool_error)?,
        body_len: mail.len.saturating_sub(body_offset as u64),
        server_check: &gate,
    };
    let KasClientMail {
        mail: kas_mail,
        size,
        link,
    } = kas.upload(input).await.map_err(SendFailure::Kas)?;
    drop(mail);
    let mut to_seal = kas_mail;
    let sealed = seal_with_retry(
        shared,
        session,
        (&sender, me),
        &mut targets,
        &mut affected,
        &mut to_seal,
        (Some(size), ecc),
    )
    .await;
    let result = match sealed {
        Ok(outer) => {
            finish(
                shared, session, envelope, targets, &affected, &outer, &to_seal,
            )
            .await
        }
        Err(e) => Err(e),
    };
    if !matches!(&result, Ok(reply) if reply.is_positive()) {
        // Release 1.5.3-3: the object of a mail that was not sent is deleted again.
        kas.delete(&link, &sender, &password).await;
    }
    result
}

/// Offset of the first body byte: after the first empty line (CRLF or bare LF).
fn header_end(head: &[u8]) -> Option<usize> {
    let crlf = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let lf = head.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A_22341 on the spool file: is there a line starting with `Content-Disposition: x-kas`
/// (the same rule as for small mails), read in 64 KiB chunks.
async fn scan_for_kas_part(mail: &MailFile) -> Result<bool, SendFailure> {
    let file = mail.reader_at(0).map_err(spool_error)?;
    blocking(move || {
        let mut scanner = KasLineScanner::default();
        let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                return Ok(false);
            }
            if scanner.feed(buf.get(..n).unwrap_or_default()) {
                return Ok(true);
            }
        }
    })
    .await
    .map_err(spool_error)
}

/// Matches `content-disposition: x-kas` (ASCII case-insensitive) at line starts across
/// chunk boundaries.
#[derive(Debug)]
struct KasLineScanner {
    /// Bytes of the needle matched so far on this line, `None` once the line failed.
    matched: Option<usize>,
}

impl Default for KasLineScanner {
    fn default() -> Self {
        KasLineScanner { matched: Some(0) }
    }
}

impl KasLineScanner {
    const NEEDLE: &'static [u8] = b"content-disposition: x-kas";

    /// Feeds a chunk; true once the needle was found at a line start.
    fn feed(&mut self, chunk: &[u8]) -> bool {
        for &byte in chunk {
            if byte == b'\n' {
                self.matched = Some(0);
                continue;
            }
            self.matched = self.matched.and_then(|i| {
                let expected = Self::NEEDLE.get(i)?;
                (byte.to_ascii_lowercase() == *expected).then_some(i + 1)
            });
            if self.matched == Some(Self::NEEDLE.len()) {
                return true;
            }
        }
        false
    }
}

fn spool_error(e: std::io::Error) -> SendFailure {
    SendFailure::Spool(e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "test code")]
    use super::*;

    #[test]
    fn the_header_ends_at_the_first_empty_line() {
        assert_eq!(header_end(b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\n"), Some(14));
        assert_eq!(header_end(b"A: 1\n\nbody"), Some(6));
        assert_eq!(header_end(b"A: 1\r\nB: 2\r\n"), None);
    }

    #[test]
    fn kas_lines_are_found_across_chunk_boundaries_only_at_line_starts() {
        let mail =
            b"Subject: content-disposition: x-kas\r\n\r\n--b\r\nContent-Disposition: X-KAS\r\n";
        for split in 1..mail.len() {
            let mut scanner = KasLineScanner::default();
            let (a, b) = mail.split_at(split);
            assert!(scanner.feed(a) || scanner.feed(b), "split at {split}");
        }
        let mut scanner = KasLineScanner::default();
        assert!(!scanner.feed(b"Subject: about content-disposition: x-kas\r\n\r\nbody\r\n"));
    }
}
