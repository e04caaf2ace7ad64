//! Error DSNs to the sender (gemSpec_CM_KOMLE 3.4 step 13, A_20650-05): unsigned,
//! unencrypted RFC 3464 reports with `X-KIM-Fehlermeldung`, submitted through the same
//! authenticated MTA session as the message.

use kim_message::mime::dsn::{DsnParams, DsnRecipient, sender_dsn};
use kim_smtp::{MailFrom, RcptTo};

use super::mta::MtaClient;

/// Builds the DSN for `affected` and submits it to `sender`. Failures are logged only:
/// the message itself was already answered.
pub async fn send(
    mta: &mut MtaClient,
    hostname: &str,
    sender: &str,
    affected: &[DsnRecipient],
    original_header: &[u8],
    now: i64,
) {
    if affected.is_empty() {
        return;
    }
    let date = rfc5322_date(now);
    let message_id = format!("<{}@{hostname}>", uuid::Uuid::new_v4());
    let dsn = match sender_dsn(&DsnParams {
        reporting_mta: hostname,
        from: sender,
        to: sender,
        date: &date,
        message_id: &message_id,
        recipients: affected,
        original: Some(original_header),
    }) {
        Ok(dsn) => dsn,
        Err(e) => {
            tracing::error!(error = %e, "building the sender DSN failed");
            return;
        }
    };
    let mail = MailFrom {
        address: sender.to_string(),
        size: Some(dsn.len() as u64),
        ..MailFrom::default()
    };
    match mta
        .send(&mail, &[RcptTo::new(sender)], dsn.as_slice())
        .await
    {
        Ok(outcome) if outcome.accepted() => {
            let codes: Vec<&str> = affected.iter().map(|r| r.code.code()).collect();
            tracing::info!(codes = ?codes, "sender DSN submitted");
        }
        Ok(outcome) => tracing::warn!(reply = ?outcome.data_reply, "sender DSN refused"),
        Err(e) => tracing::warn!(error = %e, "sender DSN not submitted"),
    }
}

/// The header block of a mail (up to and including the empty line), for
/// `text/rfc822-headers`.
pub fn header_of(mail: &[u8]) -> &[u8] {
    let end = mail
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| mail.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
        .unwrap_or(mail.len());
    mail.get(..end).unwrap_or(mail)
}

pub use kim_types::time::rfc5322_date;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc5322() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_709_210_096),
            "Thu, 29 Feb 2024 12:34:56 +0000"
        );
    }

    #[test]
    fn header_block_ends_at_the_empty_line() {
        assert_eq!(
            header_of(b"A: 1\r\nB: 2\r\n\r\nbody"),
            b"A: 1\r\nB: 2\r\n\r\n"
        );
        assert_eq!(header_of(b"A: 1\n\nbody"), b"A: 1\n\n");
        assert_eq!(header_of(b"A: 1"), b"A: 1");
    }
}
