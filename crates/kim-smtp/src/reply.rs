//! SMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 2034, RFC 3463).

use std::fmt;

/// One SMTP reply: a three-digit code, an optional enhanced status code and text.
///
/// The text may hold several lines separated by `\n`; [`Reply::to_wire`] writes them as a
/// multi-line reply (`250-…` continuation lines, `250 …` last line), each line carrying
/// the enhanced code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Reply code, 200…599.
    pub code: u16,
    /// Enhanced status code `class.subject.detail` (RFC 3463), if any.
    pub enhanced: Option<(u8, u16, u16)>,
    /// Human-readable text; `\n` separates lines.
    pub text: String,
}

/// Whether a reply is success, a transient failure or a permanent one (RFC 5321 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// 2xx and 3xx.
    Positive,
    /// 4xx: retry later.
    Transient,
    /// 5xx (and any code outside 200…599): do not retry.
    Permanent,
}

impl Reply {
    /// A reply with an enhanced status code.
    pub fn new(code: u16, enhanced: (u8, u16, u16), text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced: Some(enhanced),
            text: text.into(),
        }
    }

    /// A reply without an enhanced status code (greeting, `334` challenges).
    pub fn plain(code: u16, text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced: None,
            text: text.into(),
        }
    }

    /// Success, transient or permanent failure.
    pub fn severity(&self) -> Severity {
        match self.code {
            200..=399 => Severity::Positive,
            400..=499 => Severity::Transient,
            _ => Severity::Permanent,
        }
    }

    /// 2xx or 3xx.
    pub fn is_positive(&self) -> bool {
        self.severity() == Severity::Positive
    }

    /// 5xx: the same request will fail again.
    pub fn is_permanent(&self) -> bool {
        self.severity() == Severity::Permanent
    }

    /// 4xx: the request may succeed later.
    pub fn is_transient(&self) -> bool {
        self.severity() == Severity::Transient
    }

    /// The reply as sent on the wire, CRLF-terminated. Control characters in the text are
    /// replaced by spaces so a backend cannot break the framing.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len() + 16);
        let lines: Vec<&str> = self.text.split('\n').collect();
        let last = lines.len().saturating_sub(1);
        for (index, line) in lines.iter().enumerate() {
            let separator = if index == last { ' ' } else { '-' };
            out.extend_from_slice(format!("{:03}{separator}", self.code.min(999)).as_bytes());
            if let Some((class, subject, detail)) = self.enhanced {
                out.extend_from_slice(format!("{class}.{subject}.{detail}").as_bytes());
                if !line.is_empty() {
                    out.push(b' ');
                }
            }
            out.extend(
                line.trim_end_matches('\r')
                    .bytes()
                    .map(|b| if b.is_ascii_control() { b' ' } else { b }),
            );
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some((class, subject, detail)) = self.enhanced {
            write!(f, " {class}.{subject}.{detail}")?;
        }
        if !self.text.is_empty() {
            write!(f, " {}", self.text.replace('\n', " / "))?;
        }
        Ok(())
    }
}

/// Replies the server engine sends itself (codes per RFC 5321 §4.2.2, enhanced codes per
/// RFC 3463 and the RFCs of the extensions).
pub(crate) mod canned {
    use super::Reply;

    pub fn ok() -> Reply {
        Reply::new(250, (2, 0, 0), "OK")
    }
    pub fn bad_sequence(text: &str) -> Reply {
        Reply::new(503, (5, 5, 1), text)
    }
    pub fn unknown_command(code: u16) -> Reply {
        Reply::new(code, (5, 5, 1), "Command unrecognized")
    }
    pub fn line_too_long() -> Reply {
        Reply::new(500, (5, 5, 2), "Line too long")
    }
    pub fn not_implemented(command: &str) -> Reply {
        Reply::new(502, (5, 5, 1), format!("{command} not implemented"))
    }
    pub fn syntax(text: &str) -> Reply {
        Reply::new(501, (5, 5, 2), text)
    }
    pub fn bad_arguments(text: &str) -> Reply {
        Reply::new(501, (5, 5, 4), text)
    }
    pub fn unsupported_parameter(param: &str) -> Reply {
        Reply::new(555, (5, 5, 4), format!("Unsupported parameter {param}"))
    }
    pub fn too_big() -> Reply {
        Reply::new(
            552,
            (5, 3, 4),
            "Message size exceeds fixed maximum message size",
        )
    }
    pub fn auth_required() -> Reply {
        Reply::new(530, (5, 7, 0), "Authentication required")
    }
    pub fn too_many_errors() -> Reply {
        Reply::new(421, (4, 7, 0), "Too many errors, closing connection")
    }
    pub fn timeout() -> Reply {
        Reply::new(421, (4, 4, 2), "Idle timeout, closing connection")
    }
    pub fn shutting_down() -> Reply {
        Reply::new(421, (4, 3, 2), "Service shutting down, closing connection")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn single_line_with_enhanced_code() {
        let reply = Reply::new(250, (2, 1, 0), "Sender OK");
        assert_eq!(reply.to_wire(), b"250 2.1.0 Sender OK\r\n");
    }

    #[test]
    fn multi_line_repeats_the_enhanced_code() {
        let reply = Reply::new(214, (2, 0, 0), "Commands:\nEHLO MAIL");
        assert_eq!(
            reply.to_wire(),
            b"214-2.0.0 Commands:\r\n214 2.0.0 EHLO MAIL\r\n"
        );
    }

    #[test]
    fn plain_reply_and_empty_text() {
        assert_eq!(Reply::plain(334, "").to_wire(), b"334 \r\n");
        assert_eq!(Reply::new(250, (2, 0, 0), "").to_wire(), b"250 2.0.0\r\n");
    }

    #[test]
    fn control_characters_cannot_break_framing() {
        let reply = Reply::plain(550, "no\rsuch\x00user");
        assert_eq!(reply.to_wire(), b"550 no such user\r\n");
    }

    #[test]
    fn severity_by_class() {
        assert!(Reply::plain(250, "").is_positive());
        assert!(Reply::plain(354, "").is_positive());
        assert!(Reply::plain(451, "").is_transient());
        assert!(Reply::plain(550, "").is_permanent());
        assert!(Reply::plain(0, "").is_permanent());
    }

    #[test]
    fn display_is_one_line() {
        let reply = Reply::new(550, (5, 1, 1), "a\nb");
        assert_eq!(reply.to_string(), "550 5.1.1 a / b");
    }
}
