//! A_23422: originator checks on the header of a submitted message, before it is accepted.

use mail_parser::{Address, HeaderName, MessageParser};

/// Why a message's originator headers are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginatorError {
    /// No `From` field.
    #[error("message has no From header")]
    NoFrom,
    /// `From` does not contain the envelope sender.
    #[error("From header does not match the envelope sender")]
    FromMismatch,
    /// `Sender` differs from the envelope sender.
    #[error("Sender header does not match the envelope sender")]
    SenderMismatch,
    /// A `Reply-To` address outside KIM.
    #[error("Reply-To address outside KIM: {0}")]
    ReplyToOutsideKim(String),
}

fn addresses(addr: Option<&Address<'_>>) -> Vec<String> {
    addr.map(|a| {
        a.iter()
            .filter_map(|a| a.address())
            .map(str::to_ascii_lowercase)
            .collect()
    })
    .unwrap_or_default()
}

/// Checks the header block `header` (the message up to and including the blank line) of a
/// message submitted with envelope sender `mail_from` to `rcpts`.
///
/// Exception of A_23422: a message with exactly one recipient equal to the sender (sending to
/// oneself) is never refused.
///
/// # Errors
/// The first failed check.
pub fn check(
    header: &[u8],
    mail_from: &str,
    rcpts: &[String],
    reply_to_suffixes: &[String],
) -> Result<(), OriginatorError> {
    if let [only] = rcpts
        && only.eq_ignore_ascii_case(mail_from)
    {
        return Ok(());
    }
    let sender = mail_from.to_ascii_lowercase();
    let message = MessageParser::new().parse_headers(header);
    let Some(message) = message else {
        return Err(OriginatorError::NoFrom);
    };
    if !message.headers().iter().any(|h| h.name == HeaderName::From) {
        return Err(OriginatorError::NoFrom);
    }
    let from = addresses(message.from());
    if from.is_empty() {
        return Err(OriginatorError::NoFrom);
    }
    if !from.contains(&sender) {
        return Err(OriginatorError::FromMismatch);
    }
    if message
        .headers()
        .iter()
        .any(|h| h.name == HeaderName::Sender)
    {
        let senders = addresses(message.sender());
        if senders.len() != 1 || senders.first() != Some(&sender) {
            return Err(OriginatorError::SenderMismatch);
        }
    }
    for reply_to in addresses(message.reply_to()) {
        let domain = reply_to.rsplit_once('@').map_or("", |(_, d)| d);
        let dotted = format!(".{domain}");
        if !reply_to_suffixes
            .iter()
            .any(|s| dotted.ends_with(s.as_str()))
        {
            return Err(OriginatorError::ReplyToOutsideKim(reply_to));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "praxis@test.kim.telematik";

    fn suffixes() -> Vec<String> {
        vec![".kim.telematik".into()]
    }

    fn run(header: &str, rcpts: &[&str]) -> Result<(), OriginatorError> {
        let rcpts: Vec<String> = rcpts.iter().map(|s| (*s).to_owned()).collect();
        check(header.as_bytes(), ME, &rcpts, &suffixes())
    }

    const OTHER: &[&str] = &["arzt@test.kim.telematik"];

    #[test]
    fn matching_from_passes() {
        assert_eq!(
            run(
                "From: Praxis <Praxis@test.kim.telematik>\r\nSubject: x\r\n\r\n",
                OTHER
            ),
            Ok(())
        );
    }

    #[test]
    fn each_a_23422_case_is_refused() {
        assert_eq!(
            run("Subject: x\r\n\r\n", OTHER),
            Err(OriginatorError::NoFrom)
        );
        assert_eq!(
            run("From: boss@test.kim.telematik\r\n\r\n", OTHER),
            Err(OriginatorError::FromMismatch)
        );
        assert_eq!(
            run(
                "From: a@test.kim.telematik, b@test.kim.telematik\r\n\r\n",
                OTHER
            ),
            Err(OriginatorError::FromMismatch)
        );
        assert_eq!(
            run(
                &format!("From: {ME}\r\nSender: x@test.kim.telematik\r\n\r\n"),
                OTHER
            ),
            Err(OriginatorError::SenderMismatch)
        );
        assert_eq!(
            run(
                &format!("From: {ME}\r\nReply-To: evil@example.com\r\n\r\n"),
                OTHER
            ),
            Err(OriginatorError::ReplyToOutsideKim(
                "evil@example.com".into()
            ))
        );
        assert_eq!(
            run(
                &format!("From: {ME}\r\nReply-To: x@kim.telematik.example.com\r\n\r\n"),
                OTHER
            ),
            Err(OriginatorError::ReplyToOutsideKim(
                "x@kim.telematik.example.com".into()
            ))
        );
    }

    #[test]
    fn several_from_including_the_sender_sender_and_kim_reply_to_pass() {
        let h = format!(
            "From: {ME}, kollege@test.kim.telematik\r\nSender: {ME}\r\nReply-To: sek@test.kim.telematik\r\n\r\n"
        );
        assert_eq!(run(&h, OTHER), Ok(()));
    }

    #[test]
    fn sending_to_oneself_is_never_refused() {
        assert_eq!(run("Subject: no from\r\n\r\n", &[ME]), Ok(()));
        assert_eq!(
            run("Subject: no from\r\n\r\n", &[ME, "arzt@test.kim.telematik"]),
            Err(OriginatorError::NoFrom)
        );
    }
}
