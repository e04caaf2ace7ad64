//! The async session engine: reads, decodes, dispatches, answers.
//!
//! Replies are collected while decoded input is available and written when the decoder
//! needs more bytes, so a pipelining client (RFC 2920) gets its replies in order and in
//! as few packets as possible. Every read and write is bounded by a timeout and raced
//! against the shutdown token.

use std::time::Duration;

use smtp_proto::Request;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::decoder::{Decoder, Event};
use super::{ServerConfig, SessionError, SessionInfo, SmtpBackend};
use crate::Envelope;
use crate::reply::{Reply, canned};

/// Read buffer size; DATA is handed to the spool in chunks of at most this size.
const READ_CHUNK: usize = 64 * 1024;
/// Replies are flushed early once this much is pending.
const MAX_PENDING_OUTPUT: usize = 64 * 1024;

/// Where the session is. Each variant carries only what is valid in it.
pub(super) enum State<Sp> {
    /// No EHLO/HELO yet.
    Connected,
    /// EHLO/HELO done, no transaction.
    Greeted { helo: String },
    /// Inside AUTH, waiting for a SASL response line.
    Auth { helo: String, step: AuthStep },
    /// MAIL accepted, collecting recipients.
    Mail { envelope: Envelope },
    /// Receiving content.
    Data(DataState<Sp>),
}

/// Which SASL response AUTH is waiting for.
pub(super) enum AuthStep {
    /// The PLAIN message (RFC 4616).
    Plain,
    /// The LOGIN user name.
    LoginUser,
    /// The LOGIN password for `user`.
    LoginPassword { user: String },
}

/// A transaction between `354` and the dot.
pub(super) struct DataState<Sp> {
    pub envelope: Envelope,
    /// `None` once the transaction failed; the rest of the content is discarded.
    pub spool: Option<Sp>,
    /// Content bytes received so far.
    pub received: u64,
    /// Why the transaction failed, answered after the dot.
    pub failure: Option<Reply>,
}

/// Whether the session goes on after an event.
pub(super) enum Flow {
    Continue,
    Quit,
}

pub(super) struct Session<'a, S, B: SmtpBackend> {
    stream: S,
    pub info: &'a SessionInfo,
    pub cfg: &'a ServerConfig,
    pub backend: &'a B,
    pub decoder: Decoder,
    out: Vec<u8>,
    pub state: State<B::Spool>,
    pub auth_user: Option<String>,
    errors: u32,
    /// A 421 reply (from the backend) was queued: close after sending it.
    closing: bool,
}

impl<'a, S, B> Session<'a, S, B>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: SmtpBackend,
{
    pub fn new(stream: S, info: &'a SessionInfo, cfg: &'a ServerConfig, backend: &'a B) -> Self {
        Session {
            stream,
            info,
            cfg,
            backend,
            decoder: Decoder::new(),
            out: Vec::new(),
            state: State::Connected,
            auth_user: None,
            errors: 0,
            closing: false,
        }
    }

    /// Queues a reply. Protocol errors count towards `max_errors`.
    pub fn reply(&mut self, reply: Reply) {
        if matches!(reply.code, 500..=504 | 535 | 555) {
            self.errors = self.errors.saturating_add(1);
        }
        // RFC 5321 §3.8: after 421 the server closes the connection.
        self.closing |= reply.code == 421;
        self.out.extend_from_slice(&reply.to_wire());
    }

    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), SessionError> {
        let greeting = Reply::plain(220, format!("{} ESMTP ready", self.cfg.hostname));
        self.reply(greeting);
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            while let Some(event) = self.decoder.next_event() {
                let flow = self.handle(event).await;
                if self.errors >= self.cfg.max_errors {
                    return self
                        .close_with(canned::too_many_errors(), SessionError::TooManyErrors)
                        .await;
                }
                if self.closing {
                    self.flush().await?;
                    self.finish().await;
                    return Err(SessionError::ServiceClosing);
                }
                if let Flow::Quit = flow {
                    self.flush().await?;
                    self.finish().await;
                    return Ok(());
                }
                if self.out.len() >= MAX_PENDING_OUTPUT {
                    self.flush().await?;
                }
            }
            self.flush().await?;
            let (timeout, in_data) = if self.decoder.in_data() {
                (self.cfg.data_timeout, true)
            } else {
                (self.cfg.command_timeout, false)
            };
            let read = tokio::select! {
                () = shutdown.cancelled() => {
                    return self.close_with(canned::shutting_down(), SessionError::Shutdown).await;
                }
                read = tokio::time::timeout(timeout, self.stream.read(&mut buf)) => read,
            };
            let count = match read {
                Err(_) => {
                    return self
                        .close_with(canned::timeout(), SessionError::Timeout)
                        .await;
                }
                // A TLS peer that closes without close_notify shows up as UnexpectedEof.
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(SessionError::PeerClosed { in_data });
                }
                Ok(Err(e)) => return Err(SessionError::Io(e)),
                Ok(Ok(0)) => return Err(SessionError::PeerClosed { in_data }),
                Ok(Ok(count)) => count,
            };
            self.decoder.push(buf.get(..count).unwrap_or_default());
        }
    }

    async fn handle(&mut self, event: Event) -> Flow {
        match event {
            Event::Command(Ok(request)) => return self.command(request).await,
            Event::Command(Err(error)) => {
                let reply = parse_error_reply(&error, self.cfg.unknown_command_code);
                self.reply(reply);
            }
            Event::LineTooLong => {
                if matches!(self.state, State::Auth { .. }) {
                    self.state = self.state_after_transaction();
                }
                self.reply(canned::line_too_long());
            }
            Event::Line(line) => self.auth_line(&line).await,
            Event::Data(chunk) => self.data_chunk(&chunk).await,
            Event::DataEnd => self.data_end().await,
        }
        Flow::Continue
    }

    async fn command(&mut self, request: Request<String>) -> Flow {
        match request {
            Request::Ehlo { host } => self.hello(host, true),
            Request::Helo { host } => self.hello(host, false),
            Request::Auth {
                mechanism,
                initial_response,
            } => self.auth(mechanism, &initial_response).await,
            Request::Mail { from } => self.mail(from).await,
            Request::Rcpt { to } => self.rcpt(to).await,
            Request::Data => self.data().await,
            Request::Rset => {
                self.state = self.state_after_transaction();
                self.reply(canned::ok());
            }
            Request::Noop { .. } => self.reply(canned::ok()),
            Request::Vrfy { .. } => self.reply(Reply::new(
                252,
                (2, 5, 0),
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Request::Help { .. } => self.reply(Reply::new(
                214,
                (2, 0, 0),
                "Commands: EHLO HELO AUTH MAIL RCPT DATA RSET NOOP VRFY HELP QUIT",
            )),
            Request::Quit => {
                self.reply(Reply::new(221, (2, 0, 0), "Bye"));
                return Flow::Quit;
            }
            Request::Lhlo { .. } => {
                self.reply(canned::unknown_command(self.cfg.unknown_command_code))
            }
            other => self.reply(canned::not_implemented(other.name())),
        }
        Flow::Continue
    }

    /// The state after a finished, aborted or reset transaction or AUTH exchange: greeted
    /// if EHLO/HELO was seen.
    pub fn state_after_transaction(&mut self) -> State<B::Spool> {
        match std::mem::replace(&mut self.state, State::Connected) {
            State::Connected => State::Connected,
            State::Greeted { helo } | State::Auth { helo, .. } => State::Greeted { helo },
            State::Mail { envelope } => State::Greeted {
                helo: envelope.helo,
            },
            State::Data(data) => State::Greeted {
                helo: data.envelope.helo,
            },
        }
    }

    async fn flush(&mut self) -> Result<(), SessionError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let write = async {
            self.stream.write_all(&self.out).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(self.cfg.command_timeout, write).await {
            Ok(Ok(())) => {
                self.out.clear();
                Ok(())
            }
            Ok(Err(e)) => Err(SessionError::Io(e)),
            Err(_) => Err(SessionError::Timeout),
        }
    }

    /// Best-effort orderly close (TLS close_notify).
    async fn finish(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.stream.shutdown()).await;
    }

    async fn close_with(mut self, reply: Reply, error: SessionError) -> Result<(), SessionError> {
        self.out.extend_from_slice(&reply.to_wire());
        self.flush().await?;
        self.finish().await;
        Err(error)
    }
}

/// The reply for a command `smtp-proto` could not parse.
fn parse_error_reply(error: &smtp_proto::Error, unknown_code: u16) -> Reply {
    use smtp_proto::Error as E;
    match error {
        E::UnknownCommand => canned::unknown_command(unknown_code),
        E::InvalidSenderAddress => Reply::new(501, (5, 1, 7), "Invalid sender address"),
        E::InvalidRecipientAddress => Reply::new(501, (5, 1, 3), "Invalid recipient address"),
        E::SyntaxError { syntax } => canned::syntax(&format!("Syntax: {syntax}")),
        E::InvalidParameter { param } => {
            canned::bad_arguments(&format!("Invalid value of parameter {param}"))
        }
        E::UnsupportedParameter { param } => canned::unsupported_parameter(param),
        E::NeedsMoreData { .. } | E::ResponseTooLong | E::InvalidResponse { .. } => {
            canned::syntax("Syntax error")
        }
    }
}
