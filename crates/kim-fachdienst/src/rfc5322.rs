//! The few RFC 5322 pieces generated mail needs: dates, Message-IDs and reading fields of a
//! received header block.

use mail_parser::{HeaderName, HeaderValue, MessageParser};

pub(crate) use kim_types::time::rfc5322_date as date;

/// A fresh Message-ID `<uuid@host>` (with angle brackets).
pub(crate) fn message_id(host: &str) -> String {
    format!("<{}@{host}>", uuid::Uuid::new_v4().simple())
}

/// What generated mail needs to know about a received message's header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HeaderFacts {
    /// `Message-ID` with angle brackets.
    pub message_id: Option<String>,
    /// `Auto-Submitted` value (lower case, without comments/parameters).
    pub auto_submitted: Option<String>,
    /// `Precedence` value (lower case).
    pub precedence: Option<String>,
    /// A `List-Id` (or other `List-*` field) is present.
    pub list: bool,
    /// `X-KIM-Dienstkennung` value.
    pub dienstkennung: Option<String>,
    /// The Content-Type is `multipart/report` (a DSN or MDN).
    pub report: bool,
}

/// Reads the facts from a header block (up to and including the blank line).
pub(crate) fn facts(header: &[u8]) -> HeaderFacts {
    let Some(message) = MessageParser::new().parse_headers(header) else {
        return HeaderFacts::default();
    };
    let mut out = HeaderFacts {
        message_id: message.message_id().map(|id| format!("<{id}>")),
        ..HeaderFacts::default()
    };
    for h in message.headers() {
        let name = h.name.as_str().to_ascii_lowercase();
        let text = || text_of(&h.value);
        match name.as_str() {
            "auto-submitted" => out.auto_submitted = Some(token(&text())),
            "precedence" => out.precedence = Some(token(&text())),
            "x-kim-dienstkennung" => out.dienstkennung = Some(text().trim().to_owned()),
            n if n.starts_with("list-") => out.list = true,
            _ => {}
        }
        if h.name == HeaderName::ContentType
            && let HeaderValue::ContentType(ct) = &h.value
        {
            out.report = ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"));
        }
    }
    out
}

fn text_of(value: &HeaderValue<'_>) -> String {
    match value {
        HeaderValue::Text(t) => t.to_string(),
        HeaderValue::TextList(l) => l.join(","),
        HeaderValue::ContentType(ct) => ct.ctype().to_owned(),
        _ => String::new(),
    }
}

/// The first token of a field value, lower case (`auto-replied; x=y` → `auto-replied`).
fn token(value: &str) -> String {
    value
        .split([';', '(', ' ', '\t'])
        .find(|s| !s.is_empty())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The header block of a message: up to and including the first empty line (or all of it).
pub(crate) fn header_block(message: &[u8]) -> &[u8] {
    message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .and_then(|i| message.get(..i + 4))
        .unwrap_or(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_known_points() {
        assert_eq!(date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(date(1_796_339_100), "Thu, 03 Dec 2026 23:05:00 +0000");
    }

    #[test]
    fn facts_are_read_case_insensitively() {
        let f = facts(
            b"Message-ID: <a@b>\r\nAUTO-SUBMITTED: Auto-Generated (x)\r\nPrecedence: BULK\r\n\
              List-Unsubscribe: <mailto:x@y>\r\nX-KIM-Dienstkennung: KIM-Mail;Abwesend;V1.0\r\n\
              Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n",
        );
        assert_eq!(f.message_id.as_deref(), Some("<a@b>"));
        assert_eq!(f.auto_submitted.as_deref(), Some("auto-generated"));
        assert_eq!(f.precedence.as_deref(), Some("bulk"));
        assert!(f.list && f.report);
        assert_eq!(f.dienstkennung.as_deref(), Some("KIM-Mail;Abwesend;V1.0"));
        assert_eq!(facts(b"Subject: x\r\n\r\n"), HeaderFacts::default());
    }

    #[test]
    fn header_block_ends_after_the_blank_line() {
        assert_eq!(header_block(b"A: b\r\n\r\nbody"), b"A: b\r\n\r\n");
        assert_eq!(header_block(b"A: b\r\n"), b"A: b\r\n");
    }
}
