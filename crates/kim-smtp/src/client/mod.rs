//! The SMTP client: greeting, EHLO, AUTH PLAIN, one or more transactions, QUIT.
//!
//! Used for Fachdienst-to-Fachdienst relay over SMTPS and by the Clientmodul. The caller
//! brings the connected (TLS) stream. Every wait on the server is bounded by the
//! configured timeout. Errors say whether a retry can help ([`ClientError::is_transient`]).

mod replies;
mod stuffing;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub use stuffing::DotStuffer;

use crate::{MailFrom, RcptTo, Reply};

/// What the server announced in its EHLO reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// The server's name from the first EHLO line.
    pub hostname: String,
    /// `PIPELINING` (RFC 2920).
    pub pipelining: bool,
    /// `SIZE` (RFC 1870) with a non-zero limit.
    pub size: Option<u64>,
    /// `DSN` (RFC 3461).
    pub dsn: bool,
    /// `8BITMIME` (RFC 6152).
    pub eight_bit_mime: bool,
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    pub enhanced_status_codes: bool,
    /// `AUTH … PLAIN …`.
    pub auth_plain: bool,
    /// `AUTH … LOGIN …`.
    pub auth_login: bool,
}

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused `command` with `reply`.
    #[error("{command} refused: {reply}")]
    Rejected {
        /// The command (or `greeting`).
        command: &'static str,
        /// The server's reply.
        reply: Reply,
    },
    /// The server sent something that is not SMTP.
    #[error("protocol violation by the server: {0}")]
    Protocol(String),
    /// The server did not answer within the timeout.
    #[error("no reply from the server within {0:?}")]
    Timeout(Duration),
    /// The connection failed.
    #[error("connection I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Reading the message content failed.
    #[error("reading the message: {0}")]
    Message(std::io::Error),
    /// The caller's input cannot be sent (no recipients, control characters in an
    /// address or the EHLO name).
    #[error("cannot send: {0}")]
    InvalidInput(String),
}

impl ClientError {
    /// Retrying later may succeed: 4xx replies, I/O failures, timeouts, garbled replies.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Rejected { reply, .. } => !reply.is_permanent(),
            ClientError::Protocol(_) | ClientError::Timeout(_) | ClientError::Io(_) => true,
            ClientError::Message(_) | ClientError::InvalidInput(_) => false,
        }
    }

    /// Retrying will fail the same way: 5xx replies, an unreadable message.
    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }
}

/// Result of one transaction that MAIL FROM got through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    /// The reply to each RCPT, in the order given.
    pub rcpt_replies: Vec<Reply>,
    /// The reply to DATA if it was refused, otherwise the reply after the content;
    /// `None` when no recipient was accepted.
    pub data_reply: Option<Reply>,
}

impl SendOutcome {
    /// The verdict for recipient `index`: `Ok` with the final reply if the message was
    /// accepted for it, otherwise `Err` with the reply that refused it.
    pub fn recipient(&self, index: usize) -> Option<Result<&Reply, &Reply>> {
        let rcpt = self.rcpt_replies.get(index)?;
        if !rcpt.is_positive() {
            return Some(Err(rcpt));
        }
        let data = self.data_reply.as_ref()?;
        Some(if data.code / 100 == 2 {
            Ok(data)
        } else {
            Err(data)
        })
    }

    /// Whether the server took responsibility for the message for at least one recipient.
    pub fn accepted(&self) -> bool {
        self.data_reply.as_ref().is_some_and(|r| r.code / 100 == 2)
    }
}

/// An SMTP client session on a connected stream.
#[derive(Debug)]
pub struct SmtpClient<S> {
    stream: S,
    buf: Vec<u8>,
    timeout: Duration,
    capabilities: Capabilities,
}

const READ_CHUNK: usize = 64 * 1024;

impl<S: AsyncRead + AsyncWrite + Unpin + Send> SmtpClient<S> {
    /// Reads the greeting; `timeout` bounds every later wait on the server too.
    pub async fn connect(
        stream: S,
        timeout: Duration,
    ) -> Result<(SmtpClient<S>, Reply), ClientError> {
        let mut client = SmtpClient {
            stream,
            buf: Vec::new(),
            timeout,
            capabilities: Capabilities::default(),
        };
        let greeting = client.read_reply().await?;
        if greeting.code != 220 {
            return Err(ClientError::Rejected {
                command: "greeting",
                reply: greeting,
            });
        }
        Ok((client, greeting))
    }

    /// A session on a stream whose greeting was already read, e.g. the TLS stream after a
    /// `STARTTLS` exchange on the plain connection (RFC 3207: the client starts over with
    /// EHLO). `timeout` bounds every wait on the server.
    pub fn resume(stream: S, timeout: Duration) -> SmtpClient<S> {
        SmtpClient {
            stream,
            buf: Vec::new(),
            timeout,
            capabilities: Capabilities::default(),
        }
    }

    /// The capabilities of the last EHLO (empty before).
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// EHLO with `name`; returns the server's extensions.
    pub async fn ehlo(&mut self, name: &str) -> Result<&Capabilities, ClientError> {
        check_no_controls("EHLO name", name)?;
        self.write(format!("EHLO {name}\r\n").as_bytes()).await?;
        let raw = self.read_raw_reply().await?;
        let reply = replies::parse_reply(&raw)?;
        if reply.code != 250 {
            return Err(ClientError::Rejected {
                command: "EHLO",
                reply,
            });
        }
        self.capabilities = replies::parse_ehlo(&raw)?;
        Ok(&self.capabilities)
    }

    /// AUTH PLAIN with initial response (RFC 4954, RFC 4616).
    pub async fn auth_plain(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        let message = STANDARD.encode(format!("\0{user}\0{password}"));
        self.write(format!("AUTH PLAIN {message}\r\n").as_bytes())
            .await?;
        let mut reply = self.read_reply().await?;
        if reply.code == 334 {
            // A server that ignores the initial response asks again.
            self.write(format!("{message}\r\n").as_bytes()).await?;
            reply = self.read_reply().await?;
        }
        if reply.code != 235 {
            return Err(ClientError::Rejected {
                command: "AUTH",
                reply,
            });
        }
        Ok(())
    }

    /// AUTH LOGIN (user name and password in answer to two `334` challenges).
    pub async fn auth_login(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        self.write(b"AUTH LOGIN\r\n").await?;
        for answer in [user, password] {
            let reply = self.read_reply().await?;
            if reply.code != 334 {
                return Err(ClientError::Rejected {
                    command: "AUTH",
                    reply,
                });
            }
            self.write(format!("{}\r\n", STANDARD.encode(answer)).as_bytes())
                .await?;
        }
        let reply = self.read_reply().await?;
        if reply.code != 235 {
            return Err(ClientError::Rejected {
                command: "AUTH",
                reply,
            });
        }
        Ok(())
    }

    /// One transaction: MAIL, RCPT for each recipient, DATA with `content` (CRLF
    /// normalised, dot-stuffed). Pipelined if the server offers PIPELINING. DSN, SIZE and
    /// BODY parameters are sent only if the server announced them.
    ///
    /// `Err` if MAIL was refused or the connection failed; otherwise the outcome per
    /// recipient. After a failed transaction the session is ready for the next one.
    pub async fn send<R: AsyncRead + Unpin>(
        &mut self,
        mail: &MailFrom,
        rcpts: &[RcptTo],
        content: R,
    ) -> Result<SendOutcome, ClientError> {
        if rcpts.is_empty() {
            return Err(ClientError::InvalidInput("no recipients".into()));
        }
        check_no_controls("sender", &mail.address)?;
        for rcpt in rcpts {
            check_no_controls("recipient", &rcpt.address)?;
        }
        let caps = &self.capabilities;
        let mail_line = mail.to_command(caps.dsn, caps.eight_bit_mime, caps.size.is_some());
        let rcpt_lines: Vec<String> = rcpts.iter().map(|r| r.to_command(caps.dsn)).collect();
        if self.capabilities.pipelining {
            let mut batch = mail_line.into_bytes();
            for line in &rcpt_lines {
                batch.extend_from_slice(line.as_bytes());
            }
            batch.extend_from_slice(b"DATA\r\n");
            self.write(&batch).await?;
            let mail_reply = self.read_reply().await?;
            let mut rcpt_replies = Vec::with_capacity(rcpts.len());
            for _ in rcpts {
                rcpt_replies.push(self.read_reply().await?);
            }
            let data_reply = self.read_reply().await?;
            self.finish_transaction(mail_reply, rcpt_replies, data_reply, content)
                .await
        } else {
            self.write(mail_line.as_bytes()).await?;
            let mail_reply = self.read_reply().await?;
            if !mail_reply.is_positive() {
                return Err(ClientError::Rejected {
                    command: "MAIL FROM",
                    reply: mail_reply,
                });
            }
            let mut rcpt_replies = Vec::with_capacity(rcpts.len());
            for line in &rcpt_lines {
                self.write(line.as_bytes()).await?;
                rcpt_replies.push(self.read_reply().await?);
            }
            if !rcpt_replies.iter().any(Reply::is_positive) {
                self.rset().await?;
                return Ok(SendOutcome {
                    rcpt_replies,
                    data_reply: None,
                });
            }
            self.write(b"DATA\r\n").await?;
            let data_reply = self.read_reply().await?;
            self.finish_transaction(mail_reply, rcpt_replies, data_reply, content)
                .await
        }
    }

    async fn finish_transaction<R: AsyncRead + Unpin>(
        &mut self,
        mail_reply: Reply,
        rcpt_replies: Vec<Reply>,
        data_reply: Reply,
        content: R,
    ) -> Result<SendOutcome, ClientError> {
        let any_rcpt = rcpt_replies.iter().any(Reply::is_positive);
        if data_reply.code == 354 {
            // Also when the server wrongly accepted DATA without recipients: the dot
            // line must follow to keep the session in sync.
            let final_reply = if mail_reply.is_positive() && any_rcpt {
                self.write_content(content).await?;
                self.read_reply().await?
            } else {
                self.write(b".\r\n").await?;
                let _ignored = self.read_reply().await?;
                self.rset().await?;
                data_reply.clone()
            };
            if !mail_reply.is_positive() {
                return Err(ClientError::Rejected {
                    command: "MAIL FROM",
                    reply: mail_reply,
                });
            }
            return Ok(SendOutcome {
                rcpt_replies,
                data_reply: any_rcpt.then_some(final_reply),
            });
        }
        self.rset().await?;
        if !mail_reply.is_positive() {
            return Err(ClientError::Rejected {
                command: "MAIL FROM",
                reply: mail_reply,
            });
        }
        Ok(SendOutcome {
            rcpt_replies,
            data_reply: any_rcpt.then_some(data_reply),
        })
    }

    async fn write_content<R: AsyncRead + Unpin>(
        &mut self,
        mut content: R,
    ) -> Result<(), ClientError> {
        let mut stuffer = DotStuffer::new();
        let mut input = vec![0u8; READ_CHUNK];
        let mut output = Vec::with_capacity(READ_CHUNK + READ_CHUNK / 16);
        loop {
            let count = content
                .read(&mut input)
                .await
                .map_err(ClientError::Message)?;
            if count == 0 {
                break;
            }
            output.clear();
            stuffer.push(input.get(..count).unwrap_or_default(), &mut output);
            self.write(&output).await?;
        }
        output.clear();
        stuffer.finish(&mut output);
        self.write(&output).await
    }

    /// RSET.
    pub async fn rset(&mut self) -> Result<(), ClientError> {
        self.simple("RSET").await
    }

    /// NOOP.
    pub async fn noop(&mut self) -> Result<(), ClientError> {
        self.simple("NOOP").await
    }

    /// QUIT, then an orderly close of the stream.
    pub async fn quit(mut self) -> Result<(), ClientError> {
        self.simple("QUIT").await?;
        let _ = tokio::time::timeout(self.timeout, self.stream.shutdown()).await;
        Ok(())
    }

    /// The stream, e.g. to inspect TLS state.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    async fn simple(&mut self, command: &'static str) -> Result<(), ClientError> {
        self.write(format!("{command}\r\n").as_bytes()).await?;
        let reply = self.read_reply().await?;
        if reply.code / 100 != 2 {
            return Err(ClientError::Rejected { command, reply });
        }
        Ok(())
    }

    /// STARTTLS (RFC 3207): asks the server to start TLS and hands back the plain stream
    /// for the caller's handshake; continue with [`SmtpClient::resume`] on the TLS stream
    /// and a new EHLO. Bytes the server sent after its `220` are refused (they would be
    /// read as if they had come over TLS).
    pub async fn starttls(mut self) -> Result<S, ClientError> {
        self.write(b"STARTTLS\r\n").await?;
        let reply = self.read_reply().await?;
        if reply.code != 220 {
            return Err(ClientError::Rejected {
                command: "STARTTLS",
                reply,
            });
        }
        if !self.buf.is_empty() {
            return Err(ClientError::Protocol(
                "data after the STARTTLS reply".into(),
            ));
        }
        Ok(self.stream)
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        let write = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(self.timeout, write).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(ClientError::Timeout(self.timeout)),
        }
    }

    async fn read_reply(&mut self) -> Result<Reply, ClientError> {
        let raw = self.read_raw_reply().await?;
        replies::parse_reply(&raw)
    }

    async fn read_raw_reply(&mut self) -> Result<Vec<u8>, ClientError> {
        let mut chunk = vec![0u8; 4096];
        loop {
            if let Some(len) = replies::complete_reply_len(&self.buf) {
                let raw: Vec<u8> = self.buf.drain(..len).collect();
                return Ok(raw);
            }
            if self.buf.len() > replies::MAX_REPLY {
                return Err(ClientError::Protocol("reply too long".into()));
            }
            let read = tokio::time::timeout(self.timeout, self.stream.read(&mut chunk)).await;
            match read {
                Err(_) => return Err(ClientError::Timeout(self.timeout)),
                Ok(Err(e)) => return Err(ClientError::Io(e)),
                Ok(Ok(0)) => {
                    return Err(ClientError::Io(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "connection closed by the server",
                    )));
                }
                Ok(Ok(count)) => self
                    .buf
                    .extend_from_slice(chunk.get(..count).unwrap_or_default()),
            }
        }
    }
}

/// Refuses values that would break the command line (CR, LF and other controls, `<`/`>`
/// in addresses are left to the server).
fn check_no_controls(what: &str, value: &str) -> Result<(), ClientError> {
    if value.chars().any(char::is_control) {
        return Err(ClientError::InvalidInput(format!(
            "{what} contains control characters"
        )));
    }
    Ok(())
}
