//! SMTP for KIM: the server session engine the Fachdienst MTA (and the Clientmodul's SMTP
//! proxy) plug into, and the client for relaying between Fachdienste.
//!
//! Parsing of commands, DATA dot-unstuffing and EHLO/reply parsing are done by
//! `smtp-proto`; this crate adds line framing, the session state machine, the extensions
//! and the I/O.
//!
//! Main types:
//! - [`server::decoder::Decoder`]: sans-IO input side of a server session (bytes in,
//!   commands, SASL lines and dot-unstuffed content out), feedable in chunks of any size.
//! - [`server::serve`] with [`server::SmtpBackend`] and [`server::DataSpool`]: one
//!   session on any async stream; the backend decides about credentials, senders,
//!   recipients and messages, content is streamed to its spool.
//! - [`server::accept_loop`] with [`server::ListenerConfig`]: a listening socket with
//!   implicit TLS (handshake bounded by a timeout, client certificate handed to the
//!   backend in [`server::SessionInfo`]), a session limit and a graceful stop.
//! - [`client::SmtpClient`]: greeting, EHLO, AUTH PLAIN, pipelined transactions with
//!   dot-stuffing, QUIT; errors classified transient or permanent.
//! - [`Reply`], [`Envelope`], [`MailFrom`], [`RcptTo`]: shared vocabulary.
//!
//! A backend and one session per accepted connection:
//!
//! ```no_run
//! use kim_smtp::server::{DataSpool, ServerConfig, SessionInfo, SmtpBackend, serve};
//! use kim_smtp::{Envelope, MailFrom, RcptTo, Reply};
//!
//! struct Sink;
//! struct Count(usize);
//!
//! impl DataSpool for Count {
//!     async fn write(&mut self, chunk: &[u8]) -> Result<(), Reply> {
//!         self.0 += chunk.len();
//!         Ok(())
//!     }
//! }
//!
//! impl SmtpBackend for Sink {
//!     type Spool = Count;
//!     async fn authenticate(&self, _: &SessionInfo, user: &str, pw: &str) -> Result<(), Reply> {
//!         if (user, pw) == ("alice", "secret") { Ok(()) }
//!         else { Err(Reply::new(535, (5, 7, 8), "Authentication credentials invalid")) }
//!     }
//!     async fn mail_from(&self, _: &SessionInfo, _: Option<&str>, _: &MailFrom) -> Result<(), Reply> {
//!         Ok(())
//!     }
//!     async fn rcpt_to(&self, _: &SessionInfo, _: &Envelope, _: &RcptTo) -> Result<(), Reply> {
//!         Ok(())
//!     }
//!     async fn data_start(&self, _: &SessionInfo, _: &Envelope) -> Result<Count, Reply> {
//!         Ok(Count(0))
//!     }
//!     async fn data_end(&self, _: &SessionInfo, _: Envelope, spool: Count) -> Reply {
//!         Reply::new(250, (2, 0, 0), format!("{} bytes accepted", spool.0))
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:2525").await?;
//! let cfg = ServerConfig::new("mx.example.kim.telematik");
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! let (tcp, peer) = listener.accept().await?;
//! let info = SessionInfo { peer, tls: false, client_cert: None };
//! let _ended = serve(tcp, info, &cfg, &Sink, shutdown).await;
//! # Ok(())
//! # }
//! ```
//!
//! Supported: RFC 5321, 1870 (SIZE), 2920 (PIPELINING), 3461 (DSN parameters),
//! 4954 (AUTH PLAIN, LOGIN), 2034 (ENHANCEDSTATUSCODES), 6152 (8BITMIME). Not supported:
//! STARTTLS (implicit TLS is used, as KIM requires), CHUNKING, SMTPUTF8.
//!
//! Invariants:
//! - No panic on any input; command lines are limited to 512 bytes (AUTH to 12288) and
//!   an over-long line is answered with `500 5.5.2` without losing synchronisation.
//! - Memory per session is bounded: message content is handed to the spool in chunks as
//!   it arrives, never buffered whole; oversized content is read to the dot and dropped.
//! - A transaction is only handed to [`server::SmtpBackend::data_end`] after the
//!   terminating dot; any other end drops the spool.
//! - The library does not log; passwords and content never appear in errors.

pub mod client;
mod envelope;
mod reply;
pub mod server;

/// Re-exported: [`server::decoder::Event`] carries its parsed commands.
pub use smtp_proto;

pub use envelope::{Body, Envelope, MailFrom, Notify, RcptTo, Ret, xtext_encode};
pub use reply::{Reply, Severity};
