//! POP3 for KIM: the Fachdienst's POP3 server (implicit TLS on port 995) and the
//! Clientmodul's POP3 proxy are built on this crate.
//!
//! Implements RFC 1939 (POP3 with UIDL and TOP), RFC 2449 (CAPA, PIPELINING, RESP-CODES,
//! AUTH-RESP-CODE and the `[AUTH]`, `[IN-USE]`, `[SYS/TEMP]` codes) and RFC 5034 (SASL AUTH
//! with PLAIN, RFC 4616, as initial response or after a `+ ` continuation; `*` cancels).
//! KIM requires UIDL on the Fachdienst (KOM-LE-A_2151) and USER/PASS plus SASL PLAIN towards
//! the Clientmodul (KOM-LE-A_2031, A_2034/2035).
//!
//! Main types:
//! - Sans-IO: [`CommandParser`] (bytes → [`Command`], "need more", or [`CommandError`]),
//!   [`LineSplitter`], [`DotStuffer`] / [`DotUnstuffer`] (multi-line bodies).
//! - Server: [`serve`] / [`serve_until`] run one session against a [`Pop3Backend`], whose
//!   [`Maildrop`] is the locked mailbox; [`ServerConfig`], [`SessionInfo`],
//!   [`MessageInfo`], [`AuthError`], [`SessionError`].
//! - Client: [`Pop3Client`] with [`MessageReader`] for RETR/TOP bodies and [`ClientError`].
//!
//! Invariants:
//! - No panic on network input: message numbers, lines and SASL data are validated, and a
//!   line longer than the limit is answered with `-ERR` and skipped to its end.
//! - Deletions happen only in the UPDATE state (QUIT after login, [`Maildrop::commit`]);
//!   every other end of a session (drop, timeout, I/O error mid-RETR) deletes nothing.
//! - Message bodies are streamed in constant memory in both directions; they, passwords
//!   and SASL responses never reach `tracing` or `Debug` output ([`Sensitive`]).
//! - Every wait on the peer is bounded by a timeout.
//!
//! Plugging in a mailbox store (the Fachdienst does this with its storage and TLS):
//!
//! ```no_run
//! use kim_pop3::{AuthError, Maildrop, MaildropError, MessageInfo, Pop3Backend, ServerConfig, SessionInfo};
//!
//! struct Store;
//! struct Mailbox(Vec<MessageInfo>);
//!
//! impl Pop3Backend for Store {
//!     type Maildrop = Mailbox;
//!     async fn authenticate(&self, _: &SessionInfo, user: &str, password: &str)
//!         -> Result<Mailbox, AuthError> {
//!         // Check the credentials and take the mailbox lock here.
//!         if (user, password) != ("u", "p") { return Err(AuthError::Invalid); }
//!         Ok(Mailbox(vec![MessageInfo { uid: "a1".into(), size: 3 }]))
//!     }
//! }
//!
//! impl Maildrop for Mailbox {
//!     type Reader = &'static [u8];
//!     fn messages(&self) -> &[MessageInfo] { &self.0 }
//!     async fn open(&mut self, _: usize) -> Result<&'static [u8], MaildropError> { Ok(b"x\r\n") }
//!     async fn commit(self, _deleted: Vec<usize>) -> Result<(), MaildropError> { Ok(()) }
//! }
//!
//! # async fn accept_loop() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:1110").await?;
//! let cfg = std::sync::Arc::new(ServerConfig::default());
//! let store = std::sync::Arc::new(Store);
//! loop {
//!     let (tcp, peer) = listener.accept().await?;
//!     let (cfg, store) = (cfg.clone(), store.clone());
//!     tokio::spawn(async move {
//!         let info = SessionInfo { peer, tls: false, client_cert: None };
//!         let _ = kim_pop3::serve(tcp, info, &cfg, &*store).await;
//!     });
//! }
//! # }
//! ```

mod client;
mod command;
mod dotstuff;
mod response;
mod server;

pub use client::{ClientError, MessageReader, Pop3Client};
pub use command::{
    Command, CommandError, CommandParser, DEFAULT_MAX_LINE, Line, LineSplitter, Parsed, Sensitive,
};
pub use dotstuff::{DotStuffer, DotUnstuffer};
pub use response::ResponseCode;
pub use server::{
    AuthError, ListenerConfig, Maildrop, MaildropError, MessageInfo, Pop3Backend, ServerConfig,
    SessionEnd, SessionError, SessionInfo, accept_loop, serve, serve_until,
};
