//! Framing and parsing of server replies (RFC 5321 §4.2) with `smtp-proto`.

use smtp_proto::response::parser::ResponseReceiver;
use smtp_proto::{
    EXT_8BIT_MIME, EXT_DSN, EXT_ENHANCED_STATUS_CODES, EXT_PIPELINING, EXT_SIZE, EhloResponse,
};

use super::{Capabilities, ClientError};
use crate::Reply;

/// Longest reply accepted (all lines together).
pub(super) const MAX_REPLY: usize = 64 * 1024;

/// Length of the first complete reply in `buf` (through the LF of its last line), if
/// one is complete.
pub(super) fn complete_reply_len(buf: &[u8]) -> Option<usize> {
    let mut offset = 0;
    while let Some(pos) = memchr::memchr(b'\n', buf.get(offset..)?) {
        let line = buf.get(offset..offset + pos + 1)?;
        offset += pos + 1;
        if line.get(3) != Some(&b'-') {
            return Some(offset);
        }
    }
    None
}

/// Parses one complete reply.
pub(super) fn parse_reply(raw: &[u8]) -> Result<Reply, ClientError> {
    let response = ResponseReceiver::default()
        .parse(&mut raw.iter())
        .map_err(|e| ClientError::Protocol(format!("malformed reply: {e}")))?;
    let [class, subject, detail] = response.esc;
    let enhanced = (class != 0).then_some((class, u16::from(subject), u16::from(detail)));
    let text = response
        .message
        .split('\n')
        .map(|line| line.trim_end_matches('\r'))
        .collect::<Vec<_>>()
        .join("\n");
    if !(200..=599).contains(&response.code) {
        return Err(ClientError::Protocol(format!(
            "reply code {} out of range",
            response.code
        )));
    }
    Ok(Reply {
        code: response.code,
        enhanced,
        text,
    })
}

/// Reads the extensions of a complete `250` EHLO reply.
pub(super) fn parse_ehlo(raw: &[u8]) -> Result<Capabilities, ClientError> {
    let ehlo = EhloResponse::parse(&mut raw.iter())
        .map_err(|e| ClientError::Protocol(format!("malformed EHLO reply: {e}")))?;
    let size = ehlo.size as u64;
    Ok(Capabilities {
        hostname: ehlo.hostname.clone(),
        pipelining: ehlo.has_capability(EXT_PIPELINING),
        size: (ehlo.has_capability(EXT_SIZE) && size > 0).then_some(size),
        dsn: ehlo.has_capability(EXT_DSN),
        eight_bit_mime: ehlo.has_capability(EXT_8BIT_MIME),
        enhanced_status_codes: ehlo.has_capability(EXT_ENHANCED_STATUS_CODES),
        auth_plain: ehlo.auth_mechanisms & smtp_proto::AUTH_PLAIN != 0,
        auth_login: ehlo.auth_mechanisms & smtp_proto::AUTH_LOGIN != 0,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn reply_framing() {
        assert_eq!(complete_reply_len(b"250 OK\r\n"), Some(8));
        assert_eq!(complete_reply_len(b"250-a\r\n250 b\r\nxyz"), Some(14));
        assert_eq!(complete_reply_len(b"250-a\r\n250 b"), None);
        assert_eq!(complete_reply_len(b"250\r\n"), Some(5));
        assert_eq!(complete_reply_len(b""), None);
    }

    #[test]
    fn replies_with_and_without_enhanced_codes() {
        let reply = parse_reply(b"550 5.1.1 No such user\r\n").unwrap();
        assert_eq!(reply, Reply::new(550, (5, 1, 1), "No such user"));
        let reply = parse_reply(b"220 mx.test ESMTP\r\n").unwrap();
        assert_eq!(reply, Reply::plain(220, "mx.test ESMTP"));
        let reply = parse_reply(b"451-4.3.0 one\r\n451 4.3.0 two\r\n").unwrap();
        assert_eq!(reply.text, "one\ntwo");
        assert!(parse_reply(b"abc\r\n").is_err());
    }

    #[test]
    fn round_trip_of_our_own_replies() {
        for reply in [
            Reply::new(250, (2, 1, 5), "Recipient OK"),
            Reply::new(452, (4, 5, 3), "Too many recipients"),
            Reply::new(214, (2, 0, 0), "a\nb"),
        ] {
            assert_eq!(parse_reply(&reply.to_wire()).unwrap(), reply);
        }
    }

    #[test]
    fn ehlo_capabilities() {
        let raw = b"250-mx.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n\
250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n";
        let caps = parse_ehlo(raw).unwrap();
        assert_eq!(
            caps,
            Capabilities {
                hostname: "mx.test".into(),
                pipelining: true,
                size: Some(1000),
                dsn: true,
                eight_bit_mime: true,
                enhanced_status_codes: true,
                auth_plain: true,
                auth_login: true,
            }
        );
        let bare = parse_ehlo(b"250 mx.test\r\n").unwrap();
        assert!(!bare.pipelining && !bare.dsn && bare.size.is_none());
    }
}
