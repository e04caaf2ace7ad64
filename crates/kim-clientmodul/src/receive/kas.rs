//! The seam for KOM-LE messages whose E-Mail-Daten lie on the KAS (gemSpec_CM_KOMLE 3.2.2,
//! A_19368 … A_19374-03; kim-spec §4.5).
//!
//! The receive side finds the KIM-Attachment in the decrypted Client-Mail and asks a
//! [`KasDownload`] for the E-Mail-Daten: downloaded with the `recipient` header over mutual
//! TLS, AES-256-GCM decrypted and checked against the attachment's SHA-256. Each failure has
//! its own error code, which the receive side turns into the spec's error mail.

use std::future::Future;
use std::pin::Pin;

use kim_message::kas::KimAttachment;

/// The restored E-Mail-Daten: the decrypted Client-Mail, its hash already checked.
#[derive(Debug)]
pub struct DownloadedMail {
    /// An unnamed temporary file holding the plaintext, read position at 0.
    pub file: std::fs::File,
    /// Length of the plaintext in bytes.
    pub len: u64,
}

/// Why the E-Mail-Daten could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KasFetchError {
    /// The download failed (connection, TLS, HTTP status other than 429): code 4006.
    #[error("KAS download failed: {0}")]
    Download(String),
    /// The KAS answered 429 Too Many Requests: code 4013 (A_22412-01).
    #[error("KAS download refused with 429 Too Many Requests")]
    TooManyRequests,
    /// AES-256-GCM decryption failed: code 4007 (A_19371-04).
    #[error("KAS data could not be decrypted: {0}")]
    Decrypt(String),
    /// The plaintext's SHA-256 differs from the attachment's `hash`: code 4012 (A_19372-03).
    #[error("KAS data does not match the attachment's hash")]
    HashMismatch,
}

impl KasFetchError {
    /// The `X-KIM-Fehlermeldung` code of the failure.
    pub fn code(&self) -> u16 {
        match self {
            KasFetchError::Download(_) => 4006,
            KasFetchError::TooManyRequests => 4013,
            KasFetchError::Decrypt(_) => 4007,
            KasFetchError::HashMismatch => 4012,
        }
    }
}

/// Boxed future of [`KasDownload::download`].
pub type DownloadFuture<'a> =
    Pin<Box<dyn Future<Output = Result<DownloadedMail, KasFetchError>> + Send + 'a>>;

/// Restores the E-Mail-Daten of one KIM-Attachment for a receiver.
pub trait KasDownload: Send + Sync + std::fmt::Debug {
    /// Downloads `attachment.link` as `recipient` (the POP3 user's KIM address, sent as the
    /// `recipient` header, A_19370-04), decrypts it with the attachment's key and checks its
    /// hash. No credentials are sent: `readMailData` has no authentication besides mutual
    /// TLS (AttachmentService.yaml), and the link may point to another provider's KAS.
    ///
    /// `server_check` is the session's check of the KAS's certificate at the Konnektor
    /// (A_22348), done before anything is sent to the KAS.
    fn download<'a>(
        &'a self,
        attachment: &'a KimAttachment,
        recipient: &'a str,
        server_check: &'a dyn crate::fd_cert::ServerCheck,
    ) -> DownloadFuture<'a>;
}
