//! The POP3 client: one command at a time, every wait bounded by a timeout, RETR/TOP
//! bodies streamed through [`MessageReader`].

mod reader;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use zeroize::Zeroizing;

pub use reader::MessageReader;

use crate::dotstuff::DotUnstuffer;
use crate::response::{ResponseCode, split_code};

/// Longest status or listing line accepted from a server.
const MAX_REPLY_LINE: usize = 8 * 1024;
/// Most lines accepted in a CAPA, LIST or UIDL listing.
const MAX_LISTING: usize = 1_000_000;
/// Read granularity.
const READ_CHUNK: usize = 8 * 1024;

/// Why a client operation failed, split by blame.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered `-ERR`, possibly with an RFC 2449 response code.
    #[error("server refused: {}{text}", code.as_ref().map(|c| format!("[{c}] ")).unwrap_or_default())]
    Negative {
        /// The extended response code, if the server sent one.
        code: Option<ResponseCode>,
        /// The rest of the status line.
        text: String,
    },
    /// Reading from or writing to the server failed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The server did not answer within the timeout.
    #[error("server did not answer in time")]
    Timeout,
    /// The server sent something POP3 does not allow.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The caller passed an argument that cannot be sent (e.g. containing CR or LF).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

impl ClientError {
    /// The RFC 2449 response code of a `-ERR`, if any.
    pub fn code(&self) -> Option<&ResponseCode> {
        match self {
            ClientError::Negative { code, .. } => code.as_ref(),
            _ => None,
        }
    }
}

/// A POP3 client session on a connected (and, for POP3S, TLS-wrapped) stream.
///
/// `Debug` shows the state, never buffered message bytes.
pub struct Pop3Client<S> {
    io: S,
    buf: BytesMut,
    timeout: Duration,
    greeting: String,
    /// State of a RETR/TOP body that has not been read to its end.
    body: Option<DotUnstuffer>,
}

impl<S> std::fmt::Debug for Pop3Client<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pop3Client")
            .field("greeting", &self.greeting)
            .field("buffered", &self.buf.len())
            .field("timeout", &self.timeout)
            .field("in_body", &self.body.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Pop3Client<S> {
    /// Reads the greeting; `timeout` bounds every later wait for the server.
    pub async fn connect(io: S, timeout: Duration) -> Result<Pop3Client<S>, ClientError> {
        let mut client = Pop3Client {
            io,
            buf: BytesMut::with_capacity(READ_CHUNK),
            timeout,
            greeting: String::new(),
            body: None,
        };
        client.greeting = client.read_status().await?;
        Ok(client)
    }

    /// The text of the server's `+OK` greeting.
    pub fn greeting(&self) -> &str {
        &self.greeting
    }

    /// The underlying stream.
    pub fn into_inner(self) -> S {
        self.io
    }

    /// CAPA: the capability lines.
    pub async fn capa(&mut self) -> Result<Vec<String>, ClientError> {
        self.simple("CAPA").await?;
        self.read_listing().await
    }

    /// USER.
    pub async fn user(&mut self, name: &str) -> Result<String, ClientError> {
        check_argument(name)?;
        self.simple(&format!("USER {name}")).await
    }

    /// PASS; the password is never logged.
    pub async fn pass(&mut self, password: &str) -> Result<String, ClientError> {
        check_argument(password)?;
        let line = Zeroizing::new(format!("PASS {password}"));
        self.simple(&line).await
    }

    /// AUTH PLAIN (RFC 5034) with an empty authzid; as initial response or after the
    /// server's `+ ` continuation.
    pub async fn auth_plain(
        &mut self,
        user: &str,
        password: &str,
        initial_response: bool,
    ) -> Result<String, ClientError> {
        let raw = Zeroizing::new(format!("\0{user}\0{password}").into_bytes());
        let encoded = Zeroizing::new(STANDARD.encode(raw.as_slice()));
        if initial_response {
            let line = Zeroizing::new(format!("AUTH PLAIN {}", encoded.as_str()));
            return self.simple(&line).await;
        }
        self.send_line("AUTH PLAIN").await?;
        let line = self.read_line().await?;
        if !(line.as_slice() == b"+" || line.starts_with(b"+ ")) {
            return Err(status_error(&line));
        }
        self.send_line(&encoded).await?;
        self.read_status().await
    }

    /// STAT: message count and total octets.
    pub async fn stat(&mut self) -> Result<(u32, u64), ClientError> {
        let text = self.simple("STAT").await?;
        let mut fields = text.split_whitespace();
        match (fields.next(), fields.next()) {
            (Some(count), Some(octets)) => Ok((parse_num(count)?, parse_num(octets)?)),
            _ => Err(ClientError::Protocol(format!("STAT reply {text:?}"))),
        }
    }

    /// LIST: message numbers and sizes.
    pub async fn list(&mut self) -> Result<Vec<(u32, u64)>, ClientError> {
        self.simple("LIST").await?;
        let lines = self.read_listing().await?;
        lines
            .iter()
            .map(|line| scan_pair(line, parse_num))
            .collect()
    }

    /// LIST n: the size of one message.
    pub async fn list_one(&mut self, n: u32) -> Result<u64, ClientError> {
        let text = self.simple(&format!("LIST {n}")).await?;
        scan_pair(&text, parse_num).map(|(_, size)| size)
    }

    /// UIDL: message numbers and unique-ids.
    pub async fn uidl(&mut self) -> Result<Vec<(u32, String)>, ClientError> {
        self.simple("UIDL").await?;
        let lines = self.read_listing().await?;
        lines
            .iter()
            .map(|line| scan_pair(line, |s| Ok(s.to_owned())))
            .collect()
    }

    /// UIDL n: the unique-id of one message.
    pub async fn uidl_one(&mut self, n: u32) -> Result<String, ClientError> {
        let text = self.simple(&format!("UIDL {n}")).await?;
        scan_pair(&text, |s| Ok(s.to_owned())).map(|(_, uid)| uid)
    }

    /// RETR n: a reader of the un-stuffed message that ends at the terminator.
    pub async fn retr(&mut self, n: u32) -> Result<MessageReader<'_, S>, ClientError> {
        self.simple(&format!("RETR {n}")).await?;
        self.body = Some(DotUnstuffer::new());
        Ok(MessageReader::new(self))
    }

    /// TOP n lines: a reader of the headers and the first `lines` body lines.
    pub async fn top(&mut self, n: u32, lines: u64) -> Result<MessageReader<'_, S>, ClientError> {
        self.simple(&format!("TOP {n} {lines}")).await?;
        self.body = Some(DotUnstuffer::new());
        Ok(MessageReader::new(self))
    }

    /// RETR n into `sink`; returns the number of message octets.
    pub async fn retr_into<W>(&mut self, n: u32, sink: &mut W) -> Result<u64, ClientError>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let mut reader = self.retr(n).await?;
        let copied = tokio::io::copy(&mut reader, sink)
            .await
            .map_err(reader::io_error)?;
        Ok(copied)
    }

    /// DELE n.
    pub async fn dele(&mut self, n: u32) -> Result<String, ClientError> {
        self.simple(&format!("DELE {n}")).await
    }

    /// RSET.
    pub async fn rset(&mut self) -> Result<String, ClientError> {
        self.simple("RSET").await
    }

    /// NOOP.
    pub async fn noop(&mut self) -> Result<String, ClientError> {
        self.simple("NOOP").await
    }

    /// QUIT; the server commits deletions and closes the connection.
    pub async fn quit(&mut self) -> Result<String, ClientError> {
        self.simple("QUIT").await
    }

    /// Sends any single-line command and returns the `+OK` text (for proxies).
    pub async fn command(&mut self, line: &str) -> Result<String, ClientError> {
        check_argument(line)?;
        self.simple(line).await
    }

    async fn simple(&mut self, line: &str) -> Result<String, ClientError> {
        self.send_line(line).await?;
        self.read_status().await
    }

    async fn send_line(&mut self, line: &str) -> Result<(), ClientError> {
        self.finish_body().await?;
        let mut bytes = Zeroizing::new(Vec::with_capacity(line.len() + 2));
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        let write = async {
            self.io.write_all(&bytes).await?;
            self.io.flush().await
        };
        tokio::time::timeout(self.timeout, write)
            .await
            .map_err(|_| ClientError::Timeout)??;
        Ok(())
    }

    /// Skips the rest of a body whose reader was dropped early.
    async fn finish_body(&mut self) -> Result<(), ClientError> {
        let mut scratch = Vec::new();
        while let Some(decoder) = self.body.as_mut() {
            scratch.clear();
            let consumed = decoder.decode(&self.buf, &mut scratch);
            self.buf.advance(consumed);
            if decoder.is_done() {
                self.body = None;
            } else {
                self.fill().await?;
            }
        }
        Ok(())
    }

    async fn fill(&mut self) -> Result<(), ClientError> {
        self.buf.reserve(READ_CHUNK);
        let read = self.io.read_buf(&mut self.buf);
        let n = tokio::time::timeout(self.timeout, read)
            .await
            .map_err(|_| ClientError::Timeout)??;
        if n == 0 {
            return Err(ClientError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(())
    }

    /// One line without CRLF.
    async fn read_line(&mut self) -> Result<Vec<u8>, ClientError> {
        loop {
            if let Some(end) = memchr::memchr(b'\n', &self.buf) {
                let line = self.buf.split_to(end + 1);
                let line = line.strip_suffix(b"\n").unwrap_or(&line);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                return Ok(line.to_vec());
            }
            if self.buf.len() > MAX_REPLY_LINE {
                return Err(ClientError::Protocol("reply line too long".into()));
            }
            self.fill().await?;
        }
    }

    /// A status line: `+OK text` → text, `-ERR` → [`ClientError::Negative`].
    async fn read_status(&mut self) -> Result<String, ClientError> {
        let line = self.read_line().await?;
        if let Some(rest) = line.strip_prefix(b"+OK") {
            if rest.first().is_some_and(|&b| b != b' ') {
                return Err(status_error(&line));
            }
            return Ok(String::from_utf8_lossy(rest).trim().to_owned());
        }
        Err(status_error(&line))
    }

    /// The lines of a multi-line listing up to the terminator, un-stuffed.
    async fn read_listing(&mut self) -> Result<Vec<String>, ClientError> {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line().await?;
            if line.as_slice() == b"." {
                return Ok(lines);
            }
            if lines.len() >= MAX_LISTING {
                return Err(ClientError::Protocol("listing too long".into()));
            }
            let line = line.strip_prefix(b".").unwrap_or(&line);
            lines.push(String::from_utf8_lossy(line).into_owned());
        }
    }
}

/// `-ERR [code] text` → Negative; anything else that is not `+OK` → Protocol.
fn status_error(line: &[u8]) -> ClientError {
    match line.strip_prefix(b"-ERR") {
        Some(rest) if rest.is_empty() || rest.first() == Some(&b' ') => {
            let (code, text) = split_code(&String::from_utf8_lossy(rest));
            ClientError::Negative { code, text }
        }
        _ => ClientError::Protocol(format!(
            "unexpected status line {:?}",
            String::from_utf8_lossy(line.get(..line.len().min(80)).unwrap_or_default())
        )),
    }
}

fn check_argument(text: &str) -> Result<(), ClientError> {
    if text.bytes().any(|b| b == b'\r' || b == b'\n') {
        return Err(ClientError::InvalidArgument("CR or LF in a command"));
    }
    Ok(())
}

fn parse_num<T: std::str::FromStr>(text: &str) -> Result<T, ClientError> {
    text.parse()
        .map_err(|_| ClientError::Protocol(format!("not a number: {text:?}")))
}

/// `n value` (extra fields after the value are ignored, RFC 1939 §7 allows them in LIST).
fn scan_pair<T>(
    line: &str,
    value: impl Fn(&str) -> Result<T, ClientError>,
) -> Result<(u32, T), ClientError> {
    let mut fields = line.split_whitespace();
    match (fields.next(), fields.next()) {
        (Some(n), Some(v)) => Ok((parse_num(n)?, value(v)?)),
        _ => Err(ClientError::Protocol(format!("listing line {line:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_errors_carry_codes() {
        let e = status_error(b"-ERR [IN-USE] maildrop already locked");
        assert_eq!(e.code(), Some(&ResponseCode::InUse));
        assert!(e.to_string().contains("[IN-USE] maildrop already locked"));
        assert!(matches!(
            status_error(b"-ERR"),
            ClientError::Negative { code: None, .. }
        ));
        assert!(matches!(status_error(b"-ERRx"), ClientError::Protocol(_)));
        assert!(matches!(
            status_error(b"* OK imap"),
            ClientError::Protocol(_)
        ));
    }

    #[test]
    fn listing_lines_are_checked() {
        assert_eq!(
            scan_pair("3 120 extra", parse_num::<u64>).ok(),
            Some((3, 120))
        );
        assert!(scan_pair("3", parse_num::<u64>).is_err());
        assert!(scan_pair("x 1", parse_num::<u64>).is_err());
        assert!(check_argument("a\r\nDELE 1").is_err());
    }
}
