//! The PROCESS state of RETR (gemSpec_CM_KOMLE 3.4.2.4; kim-spec §4.4): one message from
//! the Fachdienst in, one message for the client out.
//!
//! The message logic is `kim_message::open::open` (pass-through, E1, E2, the signed layer,
//! IDs 08/09, E6, result headers and Vermerke). Its `Decryptor` and `SignatureCheck` are
//! synchronous, the Konnektor is not: `open` runs on a blocking thread and the two adapters
//! below drive the Konnektor calls on the runtime from there, so no runtime worker waits.
//!
//! Poison isolation: whatever fails, the client receives a message: the one `open` built,
//! or (should building the error mail itself fail, or the blocking task die) the received
//! message unchanged.

use std::sync::{Arc, Mutex};

use kim_konnektor::client::Konnektor;
use kim_message::cms::{RecipientEmail, SignedData};
use kim_message::mime;
use kim_message::open::{
    self, DecryptError, Decryptor, OpenContext, Opened, SignatureCheck, SignatureOutcome,
};
use tokio::runtime::Handle;

use super::kas::KasDownload;
use super::kas_receive;
use super::konnektor::{ReceiveKonnektor, Receiver};
use crate::fd_cert::{CertGate, FachdienstCertCheck};

/// Everything RETR processing needs about the session.
#[derive(Debug, Clone)]
pub(crate) struct Recipient {
    /// The POP3 user's KIM address (KOM-LE-A_2044).
    pub address: String,
    pub konnektor: Receiver,
    /// Host name for generated Message-IDs.
    pub hostname: String,
}

/// What processing produced, for the operation log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    PassThrough,
    Delivered { ids: Vec<String>, positive: bool },
    ErrorMail { reason: String },
    Unprocessed { reason: String },
}

/// Processes one received message; never fails.
pub(crate) async fn process<K: Konnektor + 'static>(
    received: Vec<u8>,
    recipient: &Recipient,
    konnektor: &Arc<ReceiveKonnektor<K>>,
    kas: Option<&Arc<dyn KasDownload>>,
    vzd: &kim_vzd::VzdClient,
    cert_check: &FachdienstCertCheck,
) -> (Vec<u8>, Outcome) {
    let received = Arc::new(received);
    let task = {
        let (received, recipient, konnektor) =
            (received.clone(), recipient.clone(), konnektor.clone());
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || run_open(&received, &recipient, konnektor, handle))
    };
    let (result, kas_inner) = match task.await {
        Ok((result, inner)) => (Ok(result), inner),
        Err(e) => (Err(e), None),
    };
    let take = |received: Arc<Vec<u8>>| Arc::try_unwrap(received).unwrap_or_else(|a| (*a).clone());
    match result {
        Ok(Ok(Opened::PassThrough)) => (take(received), Outcome::PassThrough),
        Ok(Ok(Opened::Delivered {
            message,
            integrity_ids,
            positive,
        })) => {
            let outcome = Outcome::Delivered {
                ids: integrity_ids,
                positive,
            };
            match (kas, kas_inner) {
                (Some(kas), Some(inner)) if positive => {
                    let gate = CertGate {
                        check: cert_check,
                        konnektor: konnektor.konnektor(),
                        context: &recipient.konnektor.context,
                    };
                    let message = kas_receive::restore(
                        message, &inner, &received, recipient, kas, vzd, &gate,
                    )
                    .await;
                    (message, outcome)
                }
                _ => (message, outcome),
            }
        }
        Ok(Ok(Opened::ErrorMail {
            message, reason, ..
        })) => (message, Outcome::ErrorMail { reason }),
        Ok(Err(e)) => (
            take(received),
            Outcome::Unprocessed {
                reason: e.to_string(),
            },
        ),
        Err(e) => (
            take(received),
            Outcome::Unprocessed {
                reason: format!("processing task: {e}"),
            },
        ),
    }
}

/// Runs `open`; also returns the decrypted Client-Mail when it carries a KIM-Attachment
/// part (found before the Vermerke change its text part).
fn run_open<K: Konnektor + 'static>(
    received: &[u8],
    recipient: &Recipient,
    konnektor: Arc<ReceiveKonnektor<K>>,
    handle: Handle,
) -> (Result<Opened, mime::MimeError>, Option<Vec<u8>>) {
    let message_id = format!("<{}@{}>", uuid::Uuid::new_v4(), recipient.hostname);
    let date = kim_types::time::rfc5322_date(unix_now());
    let ctx = OpenContext {
        receiver: &recipient.address,
        error_message_id: &message_id,
        date: &date,
    };
    let kas_inner = Mutex::new(None);
    let adapter = Adapter {
        konnektor,
        receiver: &recipient.konnektor,
        handle,
        kas_inner: &kas_inner,
    };
    let opened = open::open(received, &ctx, &adapter, &adapter);
    (opened, kas_inner.into_inner().ok().flatten())
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// Drives the async Konnektor from `open`'s blocking thread. The CMS bytes `open` hands
/// over go into the requests as they are (no copy of a large message).
struct Adapter<'a, K> {
    konnektor: Arc<ReceiveKonnektor<K>>,
    receiver: &'a Receiver,
    handle: Handle,
    kas_inner: &'a Mutex<Option<Vec<u8>>>,
}

impl<K: Konnektor + 'static> Decryptor for Adapter<'_, K> {
    fn decrypt(&self, cms: Vec<u8>, entries: &[RecipientEmail]) -> Result<Vec<u8>, DecryptError> {
        self.handle
            .block_on(self.konnektor.decrypt(self.receiver, entries, cms))
    }
}

impl<K: Konnektor + 'static> SignatureCheck for Adapter<'_, K> {
    fn check(&self, signed: &SignedData, der: Vec<u8>) -> SignatureOutcome {
        let inner = signed
            .econtent
            .as_deref()
            .and_then(|e| mime::unwrap_rfc822(e).ok())
            .filter(|inner| kim_message::kas::contains_kas_part(inner));
        if let (Some(inner), Ok(mut slot)) = (inner, self.kas_inner.lock()) {
            *slot = Some(inner.to_vec());
        }
        self.handle
            .block_on(self.konnektor.verify(&self.receiver.context, der))
    }
}
