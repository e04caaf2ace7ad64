//! The connection: buffered input split into commands, an output buffer that is flushed
//! only when no further pipelined command is waiting (RFC 2449 §6.6), every wait bounded by
//! the idle timeout and interruptible by the shutdown token.

use std::future::Future;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use super::{ServerConfig, SessionError, Stop};
use crate::command::{Command, CommandError, CommandParser, Line, Parsed};
use crate::response::{self, ResponseCode};

/// Read granularity; also the bound by which the input buffer can exceed one line.
const READ_CHUNK: usize = 4096;

/// Longest wait for the last response and the TLS close when a session ends.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the client sent next.
pub(crate) enum Incoming {
    Command(Command),
    Invalid(CommandError),
    Closed,
}

/// A SASL continuation line.
pub(crate) enum RawLine {
    Line(Zeroizing<Vec<u8>>),
    TooLong,
    Closed,
}

pub(crate) struct Conn<S> {
    io: S,
    input: BytesMut,
    /// Response bytes not yet written.
    pub(crate) out: Vec<u8>,
    /// True while a RETR/TOP body is being sent (no status line may be written).
    pub(crate) streaming: bool,
    parser: CommandParser,
    timeout: Duration,
    shutdown: CancellationToken,
    bad_commands: u32,
    max_bad_commands: u32,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Conn<S> {
    pub(crate) fn new(io: S, cfg: &ServerConfig, shutdown: CancellationToken) -> Conn<S> {
        Conn {
            io,
            input: BytesMut::with_capacity(READ_CHUNK),
            out: Vec::with_capacity(READ_CHUNK),
            streaming: false,
            parser: CommandParser::new(cfg.max_line),
            timeout: cfg.idle_timeout,
            shutdown,
            bad_commands: 0,
            max_bad_commands: cfg.max_bad_commands,
        }
    }

    pub(crate) fn ok(&mut self, text: &str) {
        response::ok(&mut self.out, text);
    }

    pub(crate) fn err(&mut self, code: Option<&ResponseCode>, text: &str) {
        response::err(&mut self.out, code, text);
    }

    /// Answers an invalid command with `-ERR` and counts it; too many end the session.
    pub(crate) fn bad_command(&mut self, text: &str) -> Result<(), SessionError> {
        self.bad_commands = self.bad_commands.saturating_add(1);
        if self.bad_commands > self.max_bad_commands {
            self.err(None, "too many invalid commands, closing connection");
            return Err(SessionError::TooManyErrors);
        }
        self.err(None, text);
        Ok(())
    }

    /// The next command; flushes pending responses before waiting for the client.
    pub(crate) async fn next_command(&mut self) -> Result<Incoming, Stop> {
        loop {
            let (consumed, parsed) = self.parser.parse(&self.input);
            self.input.advance(consumed);
            match parsed {
                Parsed::Command(command) => return Ok(Incoming::Command(command)),
                Parsed::Invalid(e) => return Ok(Incoming::Invalid(e)),
                Parsed::NeedMore => {
                    self.flush().await?;
                    if !self.fill().await? {
                        return Ok(Incoming::Closed);
                    }
                }
            }
        }
    }

    /// The next raw line (a SASL response); flushes pending responses first.
    pub(crate) async fn next_raw_line(&mut self) -> Result<RawLine, Stop> {
        loop {
            let (consumed, line) = self.parser.lines().next_line(&self.input);
            let result = match line {
                Line::Complete(line) => Some(RawLine::Line(Zeroizing::new(line.to_vec()))),
                Line::TooLong => Some(RawLine::TooLong),
                Line::NeedMore => None,
            };
            self.input.advance(consumed);
            if let Some(result) = result {
                return Ok(result);
            }
            self.flush().await?;
            if !self.fill().await? {
                return Ok(RawLine::Closed);
            }
        }
    }

    /// Reads more input; `false` on end of stream.
    async fn fill(&mut self) -> Result<bool, Stop> {
        self.input.reserve(READ_CHUNK);
        let read = self.io.read_buf(&mut self.input);
        let n = bounded(&self.shutdown, self.timeout, read).await??;
        Ok(n > 0)
    }

    /// Writes and flushes the pending responses.
    pub(crate) async fn flush(&mut self) -> Result<(), Stop> {
        if self.out.is_empty() {
            return Ok(());
        }
        let Conn {
            io, out, shutdown, ..
        } = self;
        let write = async {
            io.write_all(out).await?;
            io.flush().await
        };
        bounded(shutdown, self.timeout, write).await??;
        self.out.clear();
        Ok(())
    }

    /// Runs a backend call bounded by the idle timeout.
    pub(crate) async fn backend<T>(&self, call: impl Future<Output = T>) -> Result<T, Stop> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| Stop::Error(SessionError::BackendTimeout))
    }

    /// Writes what is pending (even after shutdown was requested) and shuts the stream
    /// down, waiting at most [`CLOSE_TIMEOUT`]; errors no longer matter here.
    pub(crate) async fn close(&mut self) {
        let Conn { io, out, .. } = self;
        let close = async {
            io.write_all(out).await?;
            io.flush().await?;
            io.shutdown().await
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT.min(self.timeout), close).await;
        self.out.clear();
    }
}

/// Waits for `io` at most `timeout`, or until `shutdown` is cancelled.
async fn bounded<T>(
    shutdown: &CancellationToken,
    timeout: Duration,
    io: impl Future<Output = std::io::Result<T>>,
) -> Result<std::io::Result<T>, Stop> {
    tokio::select! {
        _ = shutdown.cancelled() => Err(Stop::Shutdown),
        result = tokio::time::timeout(timeout, io) => {
            result.map_err(|_| Stop::Error(SessionError::IdleTimeout))
        }
    }
}
