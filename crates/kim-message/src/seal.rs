//! Sealing: Client-Mail → KOM-LE message (gemSMIME_KOMLE 2.1; gemSpec_CM_KOMLE 3.4 steps
//! 4 and 8–11).
//!
//! 1. [`mime::prepare_client_mail`]: CRLF, Message-ID required, default Dienstkennung
//!    (A_19488-02).
//! 2. [`mime::rfc822_wrap`]: the eContent.
//! 3. [`crate::cms::signed::build`] with the recipient-emails attribute as a signed attribute
//!    (KOM-LE-A_2127), signed by the given [`CmsSigner`] (the Konnektor in production).
//! 4. [`mime::signed_data_entity`] (KOM-LE-A_2299-01).
//! 5. [`crate::cms::enveloped::build`] for every recipient certificate including the sender's
//!    (KOM-LE-A_2111-01), recipient-emails as unauthenticated attribute (A_2107).
//! 6. [`mime::outer_message`] (KOM-LE-A_2097 … A_2102).

use crate::cms::enveloped::{self, Encoding};
use crate::cms::signed::{self, CmsSigner, SignOptions};
use crate::cms::{CertInfo, CmsError, RecipientEmail, RecipientEmails};
use crate::mime::{self, MimeError, OuterParams};

/// A recipient certificate and the KIM address it is used for (from the VZD).
#[derive(Debug, Clone)]
pub struct RecipientCert {
    pub address: String,
    pub cert: CertInfo,
}

/// Inputs of [`seal`] that come from outside (clock, configuration).
#[derive(Debug, Clone)]
pub struct SealOptions {
    /// signingTime (seconds since the Unix epoch).
    pub signing_time: i64,
    /// Values for the outer header.
    pub outer: OuterParams,
    /// DER, or BER the way Konnektors write it.
    pub encoding: Encoding,
}

impl Default for SealOptions {
    fn default() -> Self {
        SealOptions {
            signing_time: 0,
            outer: OuterParams {
                kom_le_version: "1.0".into(),
                ..OuterParams::default()
            },
            encoding: Encoding::Der,
        }
    }
}

/// A sealed message.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// The outer KOM-LE message (RFC 5322, CRLF).
    pub message: Vec<u8>,
    pub message_id: String,
    pub dienstkennung: String,
}

/// Why sealing failed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The Client-Mail is not acceptable (no header, no Message-ID, …).
    #[error("client mail: {0}")]
    ClientMail(#[from] MimeError),
    /// Signing or encryption failed.
    #[error("{0}")]
    Cms(#[from] CmsError),
    #[error("no recipient certificates")]
    NoRecipients,
    #[error("random number generator failed")]
    Random,
}

/// The recipient-emails attribute for the given certificates (one entry each, A_2115-02).
pub fn recipient_emails(recipients: &[RecipientCert]) -> RecipientEmails {
    RecipientEmails(
        recipients
            .iter()
            .map(|r| RecipientEmail {
                email: r.address.clone(),
                rid: r.cert.issuer_serial.clone(),
            })
            .collect(),
    )
}

/// Seals `client_mail` for `recipients` (include the sender's own certificate).
pub fn seal(
    client_mail: &[u8],
    signer: &dyn CmsSigner,
    recipients: &[RecipientCert],
    options: &SealOptions,
    rng: &mut (impl rand_core::TryCryptoRng + ?Sized),
) -> Result<Sealed, SealError> {
    if recipients.is_empty() {
        return Err(SealError::NoRecipients);
    }
    let prepared = mime::prepare_client_mail(client_mail)?;
    let emails = recipient_emails(recipients).to_attribute();
    // Each layer is dropped as soon as the next exists: a large mail is held about twice.
    let entity = {
        let econtent = mime::rfc822_wrap(&prepared.bytes);
        let signed_der = signed::build(
            &econtent,
            signer,
            &SignOptions {
                signing_time: options.signing_time,
                extra_signed_attrs: vec![emails.clone()],
            },
        )?;
        drop(econtent);
        mime::signed_data_entity(&signed_der)
    };
    let mut cek = zeroize::Zeroizing::new([0u8; 32]);
    let mut nonce = [0u8; 12];
    rng.try_fill_bytes(cek.as_mut_slice())
        .map_err(|_| SealError::Random)?;
    rng.try_fill_bytes(&mut nonce)
        .map_err(|_| SealError::Random)?;
    let certs: Vec<CertInfo> = recipients.iter().map(|r| r.cert.clone()).collect();
    let env = enveloped::build(
        &entity,
        &certs,
        &[emails],
        &cek,
        &nonce,
        rng,
        options.encoding,
    )?;
    drop(entity);
    let message = mime::outer_message(&prepared.bytes, &env, &options.outer)?;
    Ok(Sealed {
        message,
        message_id: prepared.message_id,
        dienstkennung: prepared.dienstkennung,
    })
}
