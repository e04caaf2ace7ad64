//! The connection to the practice software: commands in (with [`CommandParser`]), replies
//! out, every wait bounded by POP3_TIMEOUT_CLIENT and the shutdown token.

use std::time::Duration;

use bytes::{Buf, BytesMut};
use kim_pop3::{Command, CommandParser, DEFAULT_MAX_LINE, DotStuffer, Line, Parsed};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// Bytes dot-stuffed and written at a time.
const CHUNK: usize = 64 * 1024;

/// What the client sent next.
pub(crate) enum Incoming {
    Command(Command),
    Invalid(String),
    Closed,
}

/// Why the session stops.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnError {
    #[error("client connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("client idle timeout")]
    Timeout,
    #[error("shutdown")]
    Shutdown,
}

pub(crate) struct Conn<S> {
    io: S,
    buf: BytesMut,
    parser: CommandParser,
    timeout: Duration,
    shutdown: CancellationToken,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    pub(crate) fn new(io: S, timeout: Duration, shutdown: CancellationToken) -> Conn<S> {
        Conn {
            io,
            buf: BytesMut::with_capacity(1024),
            parser: CommandParser::new(DEFAULT_MAX_LINE),
            timeout,
            shutdown,
        }
    }

    /// Writes `+OK text`.
    pub(crate) async fn ok(&mut self, text: &str) -> Result<(), ConnError> {
        let line = if text.is_empty() {
            "+OK\r\n".to_string()
        } else {
            format!("+OK {text}\r\n")
        };
        self.write(line.as_bytes()).await
    }

    /// Writes `-ERR text`.
    pub(crate) async fn err(&mut self, text: &str) -> Result<(), ConnError> {
        let clean: String = text.chars().filter(|c| !c.is_control()).collect();
        self.write(format!("-ERR {clean}\r\n").as_bytes()).await
    }

    pub(crate) async fn write(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        let write = async {
            self.io.write_all(bytes).await?;
            self.io.flush().await
        };
        tokio::time::timeout(self.timeout, write)
            .await
            .map_err(|_| ConnError::Timeout)??;
        Ok(())
    }

    /// `+OK status` followed by `message` dot-stuffed and the terminating `.` line.
    pub(crate) async fn multi_line(
        &mut self,
        status: &str,
        message: &[u8],
    ) -> Result<(), ConnError> {
        self.ok(status).await?;
        let mut stuffer = DotStuffer::new();
        let mut out = Vec::with_capacity(CHUNK + CHUNK / 8);
        for chunk in message.chunks(CHUNK) {
            out.clear();
            stuffer.encode(chunk, &mut out);
            self.write(&out).await?;
        }
        out.clear();
        stuffer.finish(&mut out);
        self.write(&out).await
    }

    /// The next command.
    pub(crate) async fn next_command(&mut self) -> Result<Incoming, ConnError> {
        loop {
            let (consumed, parsed) = self.parser.parse(&self.buf);
            self.buf.advance(consumed);
            match parsed {
                Parsed::Command(c) => return Ok(Incoming::Command(c)),
                Parsed::Invalid(e) => return Ok(Incoming::Invalid(e.to_string())),
                Parsed::NeedMore => {
                    if !self.fill().await? {
                        return Ok(Incoming::Closed);
                    }
                }
            }
        }
    }

    /// One raw line (a SASL continuation); `None` when the client closed or the line was
    /// too long.
    pub(crate) async fn raw_line(&mut self) -> Result<Option<String>, ConnError> {
        loop {
            let (consumed, line) = self.parser.lines().next_line(&self.buf);
            let result = match line {
                Line::Complete(line) => Some(Some(String::from_utf8_lossy(line).into_owned())),
                Line::TooLong => Some(None),
                Line::NeedMore => None,
            };
            self.buf.advance(consumed);
            if let Some(result) = result {
                return Ok(result);
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Reads more; `false` at end of stream.
    async fn fill(&mut self) -> Result<bool, ConnError> {
        self.buf.reserve(1024);
        let read = tokio::select! {
            r = tokio::time::timeout(self.timeout, self.io.read_buf(&mut self.buf)) => r,
            () = self.shutdown.cancelled() => return Err(ConnError::Shutdown),
        };
        let n = read.map_err(|_| ConnError::Timeout)??;
        Ok(n > 0)
    }

    pub(crate) async fn close(&mut self) {
        let _ = tokio::time::timeout(self.timeout, self.io.shutdown()).await;
    }
}
