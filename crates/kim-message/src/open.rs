//! Opening: received message → what the Clientmodul hands to the client (gemSpec_CM_KOMLE
//! 3.4.x receive algorithm; digest §4.4, §4.6, §4.7).
//!
//! Every outcome is a message: the original unchanged (no `X-KOM-LE-Version`, A_21390), the
//! delivered inner message with result headers and Vermerke, or the error mail the spec
//! requires. [`open`] never fails on bad input; only a bug in building the error mail itself
//! is returned as an error, and the caller then delivers the original unchanged.
//!
//! Decryption and signature checking are traits: the Konnektor (DecryptDocument,
//! VerifyDocument) in production; software keys and a local check in the simulator,
//! the CLI and tests.

use crate::cms::signed::VerifyFailure;
use crate::cms::{AuthEnvelopedData, CmsError, RecipientEmail, RecipientEmails, SignedData};
use crate::mime::{
    self, DecryptionFailure, DeliveryResult, ErrorMailContext, ErrorMailKind, MimeError,
    OuterContent, OuterError, OuterMessage,
};

/// Why decryption did not succeed (maps to X-KIM-DecryptionResult 01/02/03).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// 01: no key for any entry addressed to the receiver (card not inserted, wrong card).
    #[error("key not available: {0}")]
    KeyNotAvailable(String),
    /// 02: the message is not in the profile's format, or decryption failed on its content.
    #[error("wrong format: {0}")]
    WrongFormat(String),
    /// 03: the Konnektor did not answer.
    #[error("Konnektor unavailable: {0}")]
    KonnektorUnavailable(String),
}

impl DecryptError {
    fn failure(&self) -> DecryptionFailure {
        match self {
            DecryptError::KeyNotAvailable(_) => DecryptionFailure::KeyNotAvailable,
            DecryptError::WrongFormat(_) => DecryptionFailure::WrongFormat,
            DecryptError::KonnektorUnavailable(_) => DecryptionFailure::KonnektorUnavailable,
        }
    }
}

/// Decrypts an AuthEnvelopedData for the receiver (Konnektor DecryptDocument).
pub trait Decryptor {
    /// `cms` is the ContentInfo as received (what a Konnektor is sent), handed over by
    /// value so that it can go on without a copy (or be decrypted in place); `entries` are
    /// the recipient-emails entries naming the receiver, from which the card/key is chosen
    /// (KOM-LE-A_2043).
    fn decrypt(&self, cms: Vec<u8>, entries: &[RecipientEmail]) -> Result<Vec<u8>, DecryptError>;
}

/// The outcome of a signature check (Konnektor VerifyDocument, nonQES).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureOutcome {
    /// ID 01.
    Valid,
    /// ID 07: mathematically valid, certificate status undeterminable (positive).
    Inconclusive,
    /// IDs 02–06.
    Invalid(VerifyFailure),
}

impl SignatureOutcome {
    pub fn integrity_id(&self) -> &'static str {
        match self {
            SignatureOutcome::Valid => "01",
            SignatureOutcome::Inconclusive => "07",
            SignatureOutcome::Invalid(f) => f.integrity_id(),
        }
    }
}

/// Checks the SignedData: `signed` is its parsed form, `der` the ContentInfo as received
/// (what a Konnektor is sent), handed over by value so that it can go on without a copy.
pub trait SignatureCheck {
    fn check(&self, signed: &SignedData, der: Vec<u8>) -> SignatureOutcome;
}

/// Values from outside: who receives, and the clock-derived values for new messages.
#[derive(Debug, Clone, Copy)]
pub struct OpenContext<'a> {
    /// The receiver's KIM address (the POP3 user, KOM-LE-A_2044).
    pub receiver: &'a str,
    /// Message-ID for a generated error mail.
    pub error_message_id: &'a str,
    /// RFC 5322 date for a generated error mail if the received message has none.
    pub date: &'a str,
}

/// What the client receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Not a KOM-LE message: hand it over unchanged (A_21390).
    PassThrough,
    /// Decrypted and checked; `message` carries the result headers and Vermerke.
    /// `positive` is true when every integrity ID is 01 or 07.
    Delivered {
        message: Vec<u8>,
        integrity_ids: Vec<String>,
        positive: bool,
    },
    /// An error mail (E1, E2) replacing the message; `decryption_id` for E2.
    ErrorMail {
        message: Vec<u8>,
        decryption_id: Option<String>,
        reason: String,
    },
}

/// Opens `received` for `ctx.receiver`.
pub fn open(
    received: &[u8],
    ctx: &OpenContext<'_>,
    decryptor: &dyn Decryptor,
    check: &dyn SignatureCheck,
) -> Result<Opened, MimeError> {
    let outer = match OuterMessage::parse(received) {
        Ok(o) => o,
        Err(OuterError::NotKomLe) => return Ok(Opened::PassThrough),
        Err(OuterError::Malformed(e)) => {
            return decryption_error(received, ctx, DecryptError::WrongFormat(e.to_string()));
        }
    };
    let version = outer.kom_le_version().to_string();
    if !mime::version_supported(&version) {
        let kind = ErrorMailKind::UnsupportedVersion {
            version: version.clone(),
            supported: "1.0 und 1.5".into(),
        };
        let message = mime::error_mail(&kind, received, &error_ctx(ctx))?;
        return Ok(Opened::ErrorMail {
            message,
            decryption_id: None,
            reason: format!("unsupported X-KOM-LE-Version {version:?} (code 4008)"),
        });
    }
    let mut outer = outer;
    let cms = std::mem::take(&mut outer.cms);
    let (plaintext, env_emails) = match decrypt(cms, outer.content, ctx, decryptor) {
        Ok(p) => p,
        Err(e) => return decryption_error(received, ctx, e),
    };
    // Decrypted (result 00). Everything from here on is an integrity finding.
    match inner_checks(plaintext, &outer, &env_emails, check) {
        Ok((signed, ids)) => {
            let inner = signed
                .econtent
                .as_deref()
                .and_then(|e| mime::unwrap_rfc822(e).ok())
                .unwrap_or_default();
            finish(inner, &outer, ids)
        }
        Err(failure) => {
            // The signed message could not be read: the received message stands in for it.
            let result = DeliveryResult::decrypted(&[failure.integrity_id()]);
            let message = mime::integrity_error_mail(received, &outer.header, &result)?;
            Ok(Opened::Delivered {
                message,
                integrity_ids: result.integrity_ids,
                positive: false,
            })
        }
    }
}

fn error_ctx<'a>(ctx: &OpenContext<'a>) -> ErrorMailContext<'a> {
    ErrorMailContext {
        receiver: ctx.receiver,
        message_id: ctx.error_message_id,
        date: ctx.date,
    }
}

fn decryption_error(
    received: &[u8],
    ctx: &OpenContext<'_>,
    e: DecryptError,
) -> Result<Opened, MimeError> {
    let failure = e.failure();
    let kind = ErrorMailKind::DecryptionFailed {
        failure,
        with_error_code: true,
    };
    let message = mime::error_mail(&kind, received, &error_ctx(ctx))?;
    Ok(Opened::ErrorMail {
        message,
        decryption_id: Some(failure.id().to_string()),
        reason: e.to_string(),
    })
}

/// Reads the envelope's recipient-emails (without copying the ciphertext), picks the
/// receiver's entries and hands the CMS bytes to the decryptor.
fn decrypt(
    cms: Vec<u8>,
    content: OuterContent,
    ctx: &OpenContext<'_>,
    decryptor: &dyn Decryptor,
) -> Result<(Vec<u8>, RecipientEmails), DecryptError> {
    if content == OuterContent::EnvelopedData {
        return Err(DecryptError::WrongFormat(
            "EnvelopedData instead of AuthEnvelopedData".into(),
        ));
    }
    let env = AuthEnvelopedData::parse_without_content(&cms)
        .map_err(|e| DecryptError::WrongFormat(e.to_string()))?;
    let emails = env
        .recipient_emails()
        .map_err(|e| DecryptError::WrongFormat(e.to_string()))?;
    let entries: Vec<RecipientEmail> = emails.for_address(ctx.receiver).cloned().collect();
    if entries.is_empty() {
        return Err(DecryptError::KeyNotAvailable(format!(
            "recipient-emails has no entry for {}",
            ctx.receiver
        )));
    }
    drop(env);
    let plaintext = decryptor.decrypt(cms, &entries)?;
    Ok((plaintext, emails))
}

/// Reads the signed layer, checks signature, header consistency (08) and recipient-emails
/// (09). Returns the inner message and the integrity IDs, or the ID 04 failure when the
/// signed layer cannot be read at all.
fn inner_checks(
    plaintext: Vec<u8>,
    outer: &OuterMessage,
    env_emails: &RecipientEmails,
    check: &dyn SignatureCheck,
) -> Result<(SignedData, Vec<String>), VerifyFailure> {
    let format = |e: &dyn std::fmt::Display| VerifyFailure::Format(e.to_string());
    let der = mime::into_signed_data(plaintext).map_err(|e| format(&e))?;
    let signed = SignedData::parse(&der).map_err(|e| match e {
        CmsError::Profile(_) | CmsError::Encoding(_) => format(&e),
        other => VerifyFailure::Other(other.to_string()),
    })?;
    let econtent = signed
        .econtent
        .as_deref()
        .ok_or(VerifyFailure::NoSignature)?;
    let inner = mime::unwrap_rfc822(econtent).map_err(|e| format(&e))?;
    let (inner_header, _) = mime::HeaderBlock::parse(inner).map_err(|e| format(&e))?;

    let mut ids = vec![check.check(&signed, der).integrity_id().to_string()];
    if mime::compare_outer_inner(&outer.header, &inner_header).is_err() {
        ids.push("08".into());
    }
    let signed_emails = signed
        .signer_infos
        .first()
        .and_then(|si| si.signed_attr(&crate::cms::oid::RECIPIENT_EMAILS))
        .and_then(|a| RecipientEmails::from_attribute(a).ok());
    if !signed_emails.is_some_and(|s| s.same_entries(env_emails)) {
        ids.push("09".into());
    }
    // A valid signature is not reported next to a finding that overrides it.
    if ids.len() > 1 && matches!(ids.first().map(String::as_str), Some("01" | "07")) {
        ids.remove(0);
    }
    Ok((signed, ids))
}

fn finish(inner: &[u8], outer: &OuterMessage, ids: Vec<String>) -> Result<Opened, MimeError> {
    let positive = ids.iter().all(|id| id == "01" || id == "07");
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let result = DeliveryResult::decrypted(&refs);
    let message = if positive {
        mime::build_delivered(inner, &outer.header, &result)?
    } else {
        mime::integrity_error_mail(inner, &outer.header, &result)?
    };
    Ok(Opened::Delivered {
        message,
        integrity_ids: ids,
        positive,
    })
}

/// Software implementations of [`Decryptor`] and [`SignatureCheck`] (simulator, CLI, tests).
#[cfg(feature = "software-keys")]
pub mod software {
    use super::*;
    use crate::cms::CertInfo;
    use crate::cms::signed::check_path;
    use crate::cms::soft::SoftwareKey;

    /// Decrypts with software keys, choosing the key whose certificate an entry names.
    #[derive(Debug, Default)]
    pub struct SoftwareDecryptor {
        pub keys: Vec<(SoftwareKey, CertInfo)>,
    }

    impl Decryptor for SoftwareDecryptor {
        fn decrypt(
            &self,
            cms: Vec<u8>,
            entries: &[RecipientEmail],
        ) -> Result<Vec<u8>, DecryptError> {
            let candidate = self
                .keys
                .iter()
                .find(|(_, cert)| entries.iter().any(|e| e.rid == cert.issuer_serial));
            let Some((key, cert)) = candidate else {
                let named: Vec<String> = entries.iter().map(|e| e.rid.to_string()).collect();
                return Err(DecryptError::KeyNotAvailable(format!(
                    "no key for {}",
                    named.join("; ")
                )));
            };
            // Parsed again with the ciphertext, which is then decrypted in place.
            let env = AuthEnvelopedData::parse(&cms)
                .map_err(|e| DecryptError::WrongFormat(e.to_string()))?;
            drop(cms);
            key.decrypt_owned(env, cert).map_err(|e| match e {
                CmsError::NoMatchingRecipient(m) => DecryptError::KeyNotAvailable(m),
                other => DecryptError::WrongFormat(other.to_string()),
            })
        }
    }

    /// Verifies locally: mathematics always, the certificate path only against `trust`
    /// (docs/adr/0004): no trust list → 07 when the signature is valid.
    #[derive(Debug, Default)]
    pub struct LocalSignatureCheck {
        pub trust: Vec<CertInfo>,
    }

    impl SignatureCheck for LocalSignatureCheck {
        fn check(&self, signed: &SignedData, _der: Vec<u8>) -> SignatureOutcome {
            let signer = match signed.verify(&[]) {
                Ok(s) => s,
                Err(f) => return SignatureOutcome::Invalid(f),
            };
            if self.trust.is_empty() {
                return SignatureOutcome::Inconclusive;
            }
            let at = signing_time(signed).unwrap_or(signer.not_before);
            match check_path(&signer, &self.trust, at) {
                Ok(()) => SignatureOutcome::Valid,
                Err(f) => SignatureOutcome::Invalid(f),
            }
        }
    }

    fn signing_time(signed: &SignedData) -> Option<i64> {
        let attr = signed
            .signer_infos
            .first()?
            .signed_attr(&crate::cms::oid::SIGNING_TIME)?;
        let value = attr.single_value().ok()?;
        crate::cms::common::parse_time(&crate::cms::ber::parse(value).ok()?).ok()
    }
}
