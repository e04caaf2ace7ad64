//! The SMTP server side: the sans-IO [`decoder`], the backend seam ([`SmtpBackend`],
//! [`DataSpool`]), the async engine [`serve`] and the [`accept_loop`] for a listening
//! socket.
//!
//! The engine owns the protocol: framing, command syntax, sequence, extensions (SIZE,
//! PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES, DSN parameters, AUTH PLAIN/LOGIN), limits
//! and timeouts. KIM policy is the backend's: for the Fachdienst that is checking that
//! the authenticated user equals the MAIL FROM address (A_23421, `auth_user` is passed to
//! [`SmtpBackend::mail_from`]), refusing `RET=FULL` (only `RET=HDRS`, KOM-LE-A_2147),
//! account locks after failed logins (KOM-LE-A_2167-05) and durable storage before the
//! final `250`. The greeting contains `ESMTP` and EHLO lists the keywords the Clientmodul
//! table requires (KOM-LE-A_2007).

mod auth;
mod backend;
mod config;
mod data;
pub mod decoder;
mod hello;
mod listener;
mod session;
mod transaction;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

pub use backend::{DataSpool, SessionInfo, SmtpBackend};
pub use config::{AuthMechanism, ServerConfig};
pub use listener::{ListenerConfig, SessionEnd, accept_loop};

/// Why a session ended other than by QUIT.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The client closed the connection without QUIT; `in_data` if it did so inside DATA
    /// (the transaction was aborted, the spool dropped).
    #[error("connection closed by the client without QUIT (inside DATA: {in_data})")]
    PeerClosed {
        /// The connection ended between `354` and the dot.
        in_data: bool,
    },
    /// The client sent nothing for longer than the configured timeout (`421 4.4.2` sent).
    #[error("client idle for longer than the timeout")]
    Timeout,
    /// The client exceeded `max_errors` bad commands (`421 4.7.0` sent).
    #[error("too many bad commands")]
    TooManyErrors,
    /// The TLS handshake failed or timed out (no SMTP was spoken).
    #[error("TLS handshake: {0}")]
    Handshake(std::io::Error),
    /// Reading or writing the connection failed.
    #[error("connection I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The backend answered `421`; the connection was closed after that reply.
    #[error("backend answered 421, connection closed")]
    ServiceClosing,
    /// The shutdown token was cancelled (`421 4.3.2` sent).
    #[error("server shutting down")]
    Shutdown,
}

/// Runs one SMTP session on `stream` (already TLS-wrapped for implicit TLS) until QUIT,
/// error, timeout or `shutdown`. Returns `Ok(())` after QUIT.
///
/// The greeting is sent first; the backend decides about credentials, senders,
/// recipients and messages. A transaction not finished when the session ends is aborted
/// by dropping its spool.
pub async fn serve<S, B>(
    stream: S,
    info: SessionInfo,
    cfg: &ServerConfig,
    backend: &B,
    shutdown: CancellationToken,
) -> Result<(), SessionError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: SmtpBackend,
{
    session::Session::new(stream, &info, cfg, backend)
        .run(shutdown)
        .await
}
