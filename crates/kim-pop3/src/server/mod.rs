//! The POP3 server session engine: one [`serve`] call runs one connection from greeting to
//! QUIT against a [`Pop3Backend`].
//!
//! States (RFC 1939 §3): AUTHORIZATION ([`authorization`]), TRANSACTION ([`transaction`])
//! and UPDATE (the QUIT in TRANSACTION, which calls [`Maildrop::commit`]). A session that
//! ends any other way (QUIT before login, connection lost, idle timeout, shutdown, a write
//! error in the middle of RETR) drops the maildrop without commit: nothing is deleted.

mod authorization;
mod capa;
mod conn;
mod listener;
mod transaction;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

use crate::command::DEFAULT_MAX_LINE;
use crate::response::ResponseCode;
use conn::{Conn, Incoming};
pub use listener::{ListenerConfig, SessionEnd, accept_loop};

/// What the engine knows about the connection; handed to [`Pop3Backend::authenticate`].
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// Whether the connection is TLS-protected.
    pub tls: bool,
    /// The client's TLS leaf certificate, if it sent one.
    pub client_cert: Option<CertificateDer<'static>>,
}

/// One message of a maildrop snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    /// The unique-id (RFC 1939 §7: 1 to 70 characters in 0x21..=0x7E), stable across
    /// sessions.
    pub uid: String,
    /// Size in octets as sent (CRLF line endings, before byte-stuffing).
    pub size: u64,
}

impl MessageInfo {
    /// Whether `uid` is a valid RFC 1939 unique-id.
    pub fn uid_is_valid(uid: &str) -> bool {
        (1..=70).contains(&uid.len()) && uid.bytes().all(|b| (0x21..=0x7E).contains(&b))
    }
}

/// Why a login was refused; each variant has its own `-ERR` response code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// Wrong user name or password: `-ERR [AUTH]`.
    Invalid,
    /// The account may not log in (e.g. locked after failed attempts, KOM-LE-A_2167-05):
    /// `-ERR [AUTH] text`.
    Locked(String),
    /// Another session holds the maildrop lock: `-ERR [IN-USE]`.
    InUse,
    /// A temporary failure (storage unavailable): `-ERR [SYS/TEMP] text`.
    Temporary(String),
}

/// A backend failure while reading or updating a maildrop.
#[derive(Debug, thiserror::Error)]
pub enum MaildropError {
    /// Storage I/O failed.
    #[error("maildrop I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Storage refused the operation.
    #[error("maildrop storage: {0}")]
    Storage(String),
}

/// Verifies credentials and hands out locked maildrops.
pub trait Pop3Backend: Send + Sync + 'static {
    /// The maildrop type.
    type Maildrop: Maildrop;

    /// Verifies the credentials AND takes the exclusive maildrop lock (one session per
    /// mailbox, RFC 1939 §4). The password is never logged by the engine.
    fn authenticate(
        &self,
        session: &SessionInfo,
        user: &str,
        password: &str,
    ) -> impl Future<Output = Result<Self::Maildrop, AuthError>> + Send;
}

/// A locked maildrop. Dropping it without [`Maildrop::commit`] must release the lock and
/// delete nothing.
pub trait Maildrop: Send {
    /// The raw bytes of one message.
    type Reader: AsyncRead + Unpin + Send;

    /// The snapshot taken at login; message number `n` is index `n - 1`.
    fn messages(&self) -> &[MessageInfo];

    /// Opens message `index` (into [`Maildrop::messages`]).
    fn open(
        &mut self,
        index: usize,
    ) -> impl Future<Output = Result<Self::Reader, MaildropError>> + Send;

    /// UPDATE state: deletes these messages (indices into [`Maildrop::messages`]), then
    /// releases the lock.
    fn commit(self, deleted: Vec<usize>) -> impl Future<Output = Result<(), MaildropError>> + Send;
}

/// Session settings, validated by construction (every field has a safe default).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Text of the `+OK` greeting.
    pub greeting: String,
    /// Value of the CAPA `IMPLEMENTATION` line; `None` leaves it out.
    pub implementation: Option<String>,
    /// Whether USER/PASS is offered besides SASL PLAIN.
    pub allow_user_pass: bool,
    /// Inactivity limit for reads and writes; RFC 1939 §3 asks for at least 10 minutes.
    pub idle_timeout: Duration,
    /// Invalid or out-of-state commands tolerated before the session is closed.
    pub max_bad_commands: u32,
    /// Failed logins tolerated before the session is closed.
    pub max_auth_failures: u32,
    /// Longest accepted command line including CRLF.
    pub max_line: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            greeting: "POP3 server ready".into(),
            implementation: None,
            allow_user_pass: true,
            idle_timeout: Duration::from_secs(600),
            max_bad_commands: 10,
            max_auth_failures: 3,
            max_line: DEFAULT_MAX_LINE,
        }
    }
}

/// Why a session ended abnormally. A client closing the connection, with or without QUIT,
/// is not an error.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Reading from or writing to the client failed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The client was idle (or did not read) for longer than the idle timeout.
    #[error("idle timeout")]
    IdleTimeout,
    /// The client sent too many invalid commands or failed logins.
    #[error("too many invalid commands")]
    TooManyErrors,
    /// The backend failed while a message was being sent or deletions were committed.
    #[error("backend: {0}")]
    Backend(#[from] MaildropError),
    /// The backend did not answer within the idle timeout.
    #[error("backend timeout")]
    BackendTimeout,
}

/// Runs one POP3 session on `stream` until QUIT, disconnect or error.
pub async fn serve<S, B>(
    stream: S,
    info: SessionInfo,
    cfg: &ServerConfig,
    backend: &B,
) -> Result<(), SessionError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: Pop3Backend,
{
    serve_until(stream, info, cfg, backend, CancellationToken::new()).await
}

/// Like [`serve`], but ends the session when `shutdown` is cancelled: a waiting client gets
/// `-ERR [SYS/TEMP]` and nothing is deleted.
pub async fn serve_until<S, B>(
    stream: S,
    info: SessionInfo,
    cfg: &ServerConfig,
    backend: &B,
    shutdown: CancellationToken,
) -> Result<(), SessionError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: Pop3Backend,
{
    let mut conn = Conn::new(stream, cfg, shutdown);
    let result = run(&mut conn, &info, cfg, backend).await;
    match result {
        Err(Stop::Shutdown) => {
            if !conn.streaming {
                // Not inside a multi-line response: the client can read a status line.
                conn.err(Some(&ResponseCode::SysTemp), "server shutting down");
            }
            conn.close().await;
            Ok(())
        }
        Err(Stop::Error(e)) => {
            tracing::debug!(peer = %info.peer, error = %e, "POP3 session aborted");
            if !matches!(e, SessionError::Io(_)) {
                // Deliver the final -ERR (too many errors, failed commit) if possible.
                conn.close().await;
            }
            Err(e)
        }
        Ok(()) => {
            conn.close().await;
            Ok(())
        }
    }
}

/// How a session loop stops early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The shutdown token was cancelled while waiting for the client.
    Shutdown,
    /// A session error.
    Error(SessionError),
}

impl From<SessionError> for Stop {
    fn from(e: SessionError) -> Self {
        Stop::Error(e)
    }
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Self {
        Stop::Error(SessionError::Io(e))
    }
}

impl From<MaildropError> for Stop {
    fn from(e: MaildropError) -> Self {
        Stop::Error(SessionError::Backend(e))
    }
}

/// The session states that carry data.
enum State<M> {
    Authorization(authorization::AuthState),
    Transaction(transaction::Transaction<M>),
}

async fn run<S, B>(
    conn: &mut Conn<S>,
    info: &SessionInfo,
    cfg: &ServerConfig,
    backend: &B,
) -> Result<(), Stop>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: Pop3Backend,
{
    conn.ok(&cfg.greeting);
    let mut state = State::Authorization(authorization::AuthState::default());
    loop {
        let command = match conn.next_command().await? {
            Incoming::Closed => return Ok(()),
            Incoming::Invalid(e) => {
                conn.bad_command(&e.to_string())?;
                continue;
            }
            Incoming::Command(command) => command,
        };
        tracing::trace!(peer = %info.peer, command = command.keyword(), "POP3 command");
        state = match state {
            State::Authorization(mut auth) => {
                match authorization::handle(conn, info, cfg, backend, &mut auth, command).await? {
                    authorization::Next::Stay => State::Authorization(auth),
                    authorization::Next::LoggedIn(maildrop) => {
                        State::Transaction(transaction::Transaction::new(maildrop))
                    }
                    authorization::Next::Quit => return Ok(()),
                }
            }
            State::Transaction(mut tx) => {
                match transaction::handle(conn, cfg, &mut tx, command).await? {
                    transaction::Next::Stay => State::Transaction(tx),
                    transaction::Next::Quit => return tx.update(conn).await,
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_validation_follows_rfc_1939() {
        assert!(MessageInfo::uid_is_valid("a"));
        assert!(MessageInfo::uid_is_valid(&"~".repeat(70)));
        assert!(!MessageInfo::uid_is_valid(""));
        assert!(!MessageInfo::uid_is_valid(&"a".repeat(71)));
        assert!(!MessageInfo::uid_is_valid("with space"));
        assert!(!MessageInfo::uid_is_valid("tab\t"));
        assert!(!MessageInfo::uid_is_valid("ümlaut"));
    }

    #[test]
    fn defaults_respect_the_rfc_minimum_timeout() {
        let cfg = ServerConfig::default();
        assert!(cfg.idle_timeout >= Duration::from_secs(600));
        assert_eq!(cfg.max_line, 512);
    }
}
