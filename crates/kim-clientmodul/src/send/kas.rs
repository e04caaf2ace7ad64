//! The seam for large Client-Mails (gemSpec_CM_KOMLE 3.2.1, A_19356-06 … A_23467).
//!
//! A Client-Mail above the KAS threshold is encrypted with a fresh AES-256-GCM key,
//! uploaded to the KAS and replaced by the KIM-Attachment body. The implementation
//! ([`crate::kas::HttpKas`]: getLimits, streamed upload with exact `Content-Length`,
//! 451/521 mapping) plugs in here; without one, large mails are answered with `451` and
//! the MTA transaction is reset (A_19363-03: the KAS is not available).

use std::future::Future;
use std::pin::Pin;

use kim_smtp::Reply;

/// What a KAS upload produced: the reduced "KAS Client-Mail" to seal instead of the
/// original, and the `X-KIM-KAS-Size` value (A_23467).
#[derive(Debug, Clone)]
pub struct KasClientMail {
    /// The Client-Mail with its body replaced by the KIM-Attachment part (A_19359-07).
    pub mail: Vec<u8>,
    /// Size of the plaintext E-Mail-Daten.
    pub size: u64,
    /// The `sharedLink` of the stored object (deleted again if the MTA refuses the mail).
    pub link: String,
}

/// One processed Client-Mail to upload: its (small) processed header block in memory and
/// its body in a file.
#[derive(Debug)]
pub struct KasInput<'a> {
    /// The sender's KIM address (Basic auth user).
    pub sender: &'a str,
    /// The mailbox password (Basic auth).
    pub password: &'a str,
    /// The recipients allowed to download (`recipients` form fields).
    pub recipients: &'a [String],
    /// `Message-ID` of the mail (`messageID` form field).
    pub message_id: &'a str,
    /// The processed header block including the empty line that ends it (A_19363-03:
    /// header processing happens before the upload).
    pub header: &'a [u8],
    /// The body: an independent handle positioned at its first byte.
    pub body: std::fs::File,
    /// Length of the body in bytes.
    pub body_len: u64,
    /// The session's check of the KAS's certificate at the Konnektor (A_22348), done
    /// before anything is sent to the KAS.
    pub server_check: &'a dyn crate::fd_cert::ServerCheck,
}

impl KasInput<'_> {
    /// Size of the plaintext E-Mail-Daten: header block plus body.
    pub fn plaintext_len(&self) -> u64 {
        (self.header.len() as u64).saturating_add(self.body_len)
    }
}

/// Boxed future of [`KasUpload::upload`].
pub type UploadFuture<'a> = Pin<Box<dyn Future<Output = Result<KasClientMail, Reply>> + Send + 'a>>;

/// Boxed future of [`KasUpload::delete`].
pub type DeleteFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Uploads a large Client-Mail to the KAS of the sender's Fachdienst.
pub trait KasUpload: Send + Sync + std::fmt::Debug {
    /// Encrypts and uploads the mail of `input`. `Err` is the reply for the practice
    /// software: `451` on failure (A_19363-03), `521` when the quota is exhausted
    /// (A_22419-01), `552` above `maxMailSize` (A_19355-01).
    fn upload<'a>(&'a self, input: KasInput<'a>) -> UploadFuture<'a>;

    /// Deletes an uploaded object again (the mail did not reach the MTA); best effort.
    fn delete<'a>(&'a self, link: &'a str, sender: &'a str, password: &'a str) -> DeleteFuture<'a>;
}
