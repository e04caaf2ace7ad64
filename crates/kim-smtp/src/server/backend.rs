//! What the engine asks of the component that owns the mail: [`SmtpBackend`] and
//! [`DataSpool`].

use std::future::Future;
use std::net::SocketAddr;

use rustls_pki_types::CertificateDer;

use crate::{Envelope, MailFrom, RcptTo, Reply};

/// Facts about the connection, fixed for the session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// Whether the connection is TLS (implicit TLS; STARTTLS is not offered).
    pub tls: bool,
    /// The client's TLS leaf certificate, if it sent one.
    pub client_cert: Option<CertificateDer<'static>>,
}

/// Decisions about a session, made by the Fachdienst (or the Clientmodul's proxy).
///
/// Every method may refuse with a [`Reply`] that goes to the client unchanged, so the
/// backend chooses codes and texts (for example `535 5.7.8` for bad credentials,
/// `550 5.1.1` for an unknown recipient, `452 4.2.2` for a full mailbox). A `421` reply
/// closes the connection after it is sent (RFC 5321 §3.8).
pub trait SmtpBackend: Send + Sync + 'static {
    /// Where DATA content goes while it arrives.
    type Spool: DataSpool;

    /// Checks a user name and password from AUTH PLAIN or LOGIN.
    fn authenticate(
        &self,
        session: &SessionInfo,
        user: &str,
        password: &str,
    ) -> impl Future<Output = Result<(), Reply>> + Send;

    /// Accepts or refuses a sender; `auth_user` is the authenticated user, if any.
    fn mail_from(
        &self,
        session: &SessionInfo,
        auth_user: Option<&str>,
        mail: &MailFrom,
    ) -> impl Future<Output = Result<(), Reply>> + Send;

    /// Accepts or refuses a recipient; `envelope` holds the recipients accepted so far.
    fn rcpt_to(
        &self,
        session: &SessionInfo,
        envelope: &Envelope,
        rcpt: &RcptTo,
    ) -> impl Future<Output = Result<(), Reply>> + Send;

    /// Opens a spool for the message content (e.g. a temporary file).
    fn data_start(
        &self,
        session: &SessionInfo,
        envelope: &Envelope,
    ) -> impl Future<Output = Result<Self::Spool, Reply>> + Send;

    /// The content is complete: take responsibility for the message (store durably before
    /// answering 250) or refuse it. The returned reply goes to the client.
    fn data_end(
        &self,
        session: &SessionInfo,
        envelope: Envelope,
        spool: Self::Spool,
    ) -> impl Future<Output = Reply> + Send;
}

/// Receives message content in chunks, dot-unstuffed, CRLF line ends as sent.
///
/// Dropping a spool without passing it to [`SmtpBackend::data_end`] means the transaction
/// was aborted (size exceeded, connection lost, shutdown): the implementation discards
/// what it stored.
pub trait DataSpool: Send {
    /// Appends a chunk. An error aborts the transaction; the reply is sent after the
    /// terminating dot.
    fn write(&mut self, chunk: &[u8]) -> impl Future<Output = Result<(), Reply>> + Send;
}
