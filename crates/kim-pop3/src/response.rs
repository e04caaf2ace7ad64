//! Status lines: `+OK text` and `-ERR [CODE] text` with the extended response codes of
//! RFC 2449 §8 and RFC 3206.

use std::fmt;

/// Longest text a status line carries; longer texts (e.g. from a backend) are cut.
const MAX_TEXT: usize = 200;

/// An extended response code (RFC 2449 §8, RFC 3206).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseCode {
    /// `[AUTH]`: the credentials were wrong or the account may not log in.
    Auth,
    /// `[IN-USE]`: the maildrop is locked by another session.
    InUse,
    /// `[LOGIN-DELAY]`: logging in again so soon is refused.
    LoginDelay,
    /// `[SYS/TEMP]`: a temporary server problem.
    SysTemp,
    /// `[SYS/PERM]`: a permanent server problem.
    SysPerm,
    /// Any other code, as sent.
    Other(String),
}

impl ResponseCode {
    /// The code as written between the brackets.
    pub fn as_str(&self) -> &str {
        match self {
            ResponseCode::Auth => "AUTH",
            ResponseCode::InUse => "IN-USE",
            ResponseCode::LoginDelay => "LOGIN-DELAY",
            ResponseCode::SysTemp => "SYS/TEMP",
            ResponseCode::SysPerm => "SYS/PERM",
            ResponseCode::Other(code) => code,
        }
    }

    /// Reads a code (without brackets); matching is case-insensitive.
    pub fn parse(code: &str) -> ResponseCode {
        match code.to_ascii_uppercase().as_str() {
            "AUTH" => ResponseCode::Auth,
            "IN-USE" => ResponseCode::InUse,
            "LOGIN-DELAY" => ResponseCode::LoginDelay,
            "SYS/TEMP" => ResponseCode::SysTemp,
            "SYS/PERM" => ResponseCode::SysPerm,
            _ => ResponseCode::Other(code.to_owned()),
        }
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Appends `+OK text` CRLF.
pub(crate) fn ok(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b"+OK");
    push_text(out, text);
}

/// Appends `-ERR [code] text` CRLF.
pub(crate) fn err(out: &mut Vec<u8>, code: Option<&ResponseCode>, text: &str) {
    out.extend_from_slice(b"-ERR");
    if let Some(code) = code {
        out.extend_from_slice(b" [");
        out.extend_from_slice(code.as_str().as_bytes());
        out.push(b']');
    }
    push_text(out, text);
}

/// Appends ` text` CRLF, with control characters replaced and the length bounded, so that
/// no text (e.g. from a backend) can inject a line.
fn push_text(out: &mut Vec<u8>, text: &str) {
    if !text.is_empty() {
        out.push(b' ');
        for c in text.chars().take(MAX_TEXT) {
            if c.is_control() {
                out.push(b' ');
            } else {
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Splits the text after `-ERR` into an optional response code and the rest.
pub(crate) fn split_code(text: &str) -> (Option<ResponseCode>, String) {
    let trimmed = text.trim_start();
    if let Some(after) = trimmed.strip_prefix('[')
        && let Some(end) = after.find(']')
    {
        let code = after.get(..end).unwrap_or_default();
        let rest = after.get(end + 1..).unwrap_or_default().trim_start();
        if !code.is_empty() && !code.contains(' ') {
            return (Some(ResponseCode::parse(code)), rest.to_owned());
        }
    }
    (None, trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_carry_code_and_sanitised_text() {
        let mut out = Vec::new();
        ok(&mut out, "ready");
        err(
            &mut out,
            Some(&ResponseCode::InUse),
            "locked\r\n+OK injected",
        );
        err(&mut out, None, "");
        assert_eq!(
            out,
            b"+OK ready\r\n-ERR [IN-USE] locked  +OK injected\r\n-ERR\r\n".to_vec()
        );
    }

    #[test]
    fn codes_round_trip_and_split() {
        for code in [
            ResponseCode::Auth,
            ResponseCode::InUse,
            ResponseCode::LoginDelay,
            ResponseCode::SysTemp,
            ResponseCode::SysPerm,
            ResponseCode::Other("X-FOO".into()),
        ] {
            assert_eq!(ResponseCode::parse(code.as_str()), code);
        }
        assert_eq!(
            split_code(" [sys/temp] try later"),
            (Some(ResponseCode::SysTemp), "try later".into())
        );
        assert_eq!(split_code(" no code"), (None, "no code".into()));
        assert_eq!(
            split_code("[not a code] x"),
            (None, "[not a code] x".into())
        );
        assert_eq!(split_code("[unterminated"), (None, "[unterminated".into()));
    }
}
