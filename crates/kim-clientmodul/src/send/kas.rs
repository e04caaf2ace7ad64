//! The seam for large Client-Mails (gemSpec_CM_KOMLE 3.2.1, A_19356-06 … A_23467).
//!
//! A Client-Mail above the KAS threshold is encrypted with a fresh AES-256-GCM key,
//! uploaded to the KAS and replaced by the KIM-Attachment body. The implementation
//! (getLimits, streamed upload with exact `Content-Length`, 451/521 mapping) plugs in
//! here; without one, large mails are answered with `451` and the MTA transaction is
//! reset (A_19363-03: the KAS is not available).

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
}

/// Boxed future of [`KasUpload::upload`].
pub type UploadFuture<'a> = Pin<Box<dyn Future<Output = Result<KasClientMail, Reply>> + Send + 'a>>;

/// Uploads a large Client-Mail to the KAS of the sender's Fachdienst.
pub trait KasUpload: Send + Sync + std::fmt::Debug {
    /// Encrypts and uploads `mail` (headers already processed) for `recipients`, with the
    /// mailbox credentials of the session. `Err` is the reply for the practice software
    /// (`451` on failure, `521` when the quota is exhausted, A_22419-01).
    fn upload<'a>(
        &'a self,
        sender: &'a str,
        password: &'a str,
        recipients: &'a [String],
        mail: &'a [u8],
    ) -> UploadFuture<'a>;
}
