//! Delivery status notifications the sending Clientmodul returns to the sender
//! (RFC 3464 multipart/report; gemSpec_CM_KOMLE A_20650-05, Tab_Fehlercodes_KOMLE-Clientmodule;
//! digest §3.4 step 13 and §3.8).

use super::encoding::{choose_boundary, identity_cte};
use super::error_mail::angle;
use super::errors::MimeError;
use super::header::{HeaderBlock, HeaderField};

/// Error codes of Tab_Fehlercodes_KOMLE-Clientmodule (A_20650-05), written into
/// `X-KIM-Fehlermeldung`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SendErrorCode {
    /// 4001: recipient removed, its KIM version does not allow this (large) message.
    RecipientVersionTooLow,
    /// 4002: the encrypted mail data could not be uploaded to the KAS.
    KasUploadFailed,
    /// 4003: no unique Telematik-ID with an encryption certificate found.
    NoUniqueTelematikId,
    /// 4004: the message could not be encrypted for all recipients.
    NotEncryptableForAll,
    /// 4005: the recipient has several encryption certificates with different Telematik-IDs.
    AmbiguousCertificates,
    /// 4006: the encrypted mail data could not be loaded from the KAS.
    KasDownloadFailed,
    /// 4007: error while decrypting the mail data from the KAS.
    KasDecryptFailed,
    /// 4008: the stated KIM version is not supported.
    UnsupportedVersion,
    /// 4009: not decryptable, key not available.
    KeyNotAvailable,
    /// 4010: not decryptable, wrong format.
    WrongFormat,
    /// 4011: Konnektor not available for decryption.
    KonnektorUnavailable,
    /// 4012: the hash of the KAS mail data does not match.
    KasHashMismatch,
    /// 4013: the KAS refused the download (HTTP 429).
    KasTooManyRequests,
    /// 4014: the message was manipulated after encryption.
    ManipulatedAfterEncryption,
    /// 4015: recipient-emails manipulated.
    RecipientEmailsManipulated,
    /// 4016: error while renewing the PKCS#12 file.
    Pkcs12RenewalFailed,
    /// 4017: the Clientmodul's KIM version is lower than the one in the directory.
    ClientmodulOutdated,
    /// 4018: the receiver has not enabled large messages.
    LargeMessagesDisabled,
    /// 4019: defined in KIM 1.5.3; its meaning is not known to us.
    Code4019,
}

impl SendErrorCode {
    /// All codes in numeric order.
    pub const ALL: [Self; 19] = [
        Self::RecipientVersionTooLow,
        Self::KasUploadFailed,
        Self::NoUniqueTelematikId,
        Self::NotEncryptableForAll,
        Self::AmbiguousCertificates,
        Self::KasDownloadFailed,
        Self::KasDecryptFailed,
        Self::UnsupportedVersion,
        Self::KeyNotAvailable,
        Self::WrongFormat,
        Self::KonnektorUnavailable,
        Self::KasHashMismatch,
        Self::KasTooManyRequests,
        Self::ManipulatedAfterEncryption,
        Self::RecipientEmailsManipulated,
        Self::Pkcs12RenewalFailed,
        Self::ClientmodulOutdated,
        Self::LargeMessagesDisabled,
        Self::Code4019,
    ];

    /// The code as written into `X-KIM-Fehlermeldung`.
    pub fn code(self) -> &'static str {
        match self {
            Self::RecipientVersionTooLow => "4001",
            Self::KasUploadFailed => "4002",
            Self::NoUniqueTelematikId => "4003",
            Self::NotEncryptableForAll => "4004",
            Self::AmbiguousCertificates => "4005",
            Self::KasDownloadFailed => "4006",
            Self::KasDecryptFailed => "4007",
            Self::UnsupportedVersion => "4008",
            Self::KeyNotAvailable => "4009",
            Self::WrongFormat => "4010",
            Self::KonnektorUnavailable => "4011",
            Self::KasHashMismatch => "4012",
            Self::KasTooManyRequests => "4013",
            Self::ManipulatedAfterEncryption => "4014",
            Self::RecipientEmailsManipulated => "4015",
            Self::Pkcs12RenewalFailed => "4016",
            Self::ClientmodulOutdated => "4017",
            Self::LargeMessagesDisabled => "4018",
            Self::Code4019 => "4019",
        }
    }

    /// The code for a numeric value.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code.trim())
    }

    /// A short German description (our wording).
    pub fn description(self) -> &'static str {
        match self {
            Self::RecipientVersionTooLow => {
                "Der Empfänger wurde entfernt, weil seine KIM-Version den Empfang dieser großen Nachricht nicht erlaubt."
            }
            Self::KasUploadFailed => {
                "Die verschlüsselten E-Mail-Daten konnten nicht auf den KAS hochgeladen werden."
            }
            Self::NoUniqueTelematikId => {
                "Für den Empfänger wurde keine eindeutige Telematik-ID mit Verschlüsselungszertifikat gefunden."
            }
            Self::NotEncryptableForAll => {
                "Die Nachricht konnte nicht für alle Empfänger verschlüsselt werden."
            }
            Self::AmbiguousCertificates => {
                "Für den Empfänger existieren mehrere Verschlüsselungszertifikate mit unterschiedlichen Telematik-IDs."
            }
            Self::KasDownloadFailed => {
                "Die verschlüsselten E-Mail-Daten konnten nicht vom KAS geladen werden."
            }
            Self::KasDecryptFailed => {
                "Beim Entschlüsseln der E-Mail-Daten vom KAS ist ein Fehler aufgetreten."
            }
            Self::UnsupportedVersion => {
                "Das Clientmodul unterstützt die in der Nachricht angegebene KIM-Version nicht."
            }
            Self::KeyNotAvailable => {
                "Die Nachricht konnte nicht entschlüsselt werden, weil der Schlüssel nicht verfügbar ist."
            }
            Self::WrongFormat => {
                "Die Nachricht konnte wegen eines falschen Formats nicht entschlüsselt werden."
            }
            Self::KonnektorUnavailable => {
                "Der Konnektor war für die Entschlüsselung nicht erreichbar."
            }
            Self::KasHashMismatch => "Der Hashwert der E-Mail-Daten vom KAS stimmt nicht überein.",
            Self::KasTooManyRequests => "Der KAS hat den Abruf wegen zu vieler Zugriffe abgelehnt.",
            Self::ManipulatedAfterEncryption => {
                "Die Nachricht wurde nach dem Verschlüsseln verändert."
            }
            Self::RecipientEmailsManipulated => {
                "Die Empfängerangaben der Nachricht wurden verändert."
            }
            Self::Pkcs12RenewalFailed => {
                "Beim Erneuern der PKCS#12-Datei ist ein Fehler aufgetreten."
            }
            Self::ClientmodulOutdated => {
                "Die KIM-Version des Clientmoduls ist niedriger als die im Verzeichnisdienst hinterlegte Version."
            }
            Self::LargeMessagesDisabled => {
                "Der Empfänger hat den Empfang großer Nachrichten nicht aktiviert."
            }
            Self::Code4019 => "Fehler 4019 (KIM 1.5.3).",
        }
    }

    /// The RFC 3463 status code used in the DSN (our mapping).
    pub fn status(self) -> &'static str {
        match self {
            Self::RecipientVersionTooLow | Self::LargeMessagesDisabled => "5.3.4",
            Self::NoUniqueTelematikId
            | Self::NotEncryptableForAll
            | Self::AmbiguousCertificates => "5.7.5",
            Self::KasUploadFailed | Self::Pkcs12RenewalFailed => "5.3.0",
            Self::ClientmodulOutdated => "5.7.0",
            _ => "5.0.0",
        }
    }
}

impl std::fmt::Display for SendErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One affected recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnRecipient {
    /// The recipient address.
    pub address: String,
    /// Why the message was not delivered to it.
    pub code: SendErrorCode,
    /// Optional extra text for the Diagnostic-Code (e.g. the upstream error).
    pub detail: Option<String>,
}

/// Inputs of a sender DSN (no clock or random numbers inside).
#[derive(Debug, Clone)]
pub struct DsnParams<'a> {
    /// Host name of the Clientmodul (`Reporting-MTA: dns; <host>`).
    pub reporting_mta: &'a str,
    /// `From` of the DSN (the Clientmodul's identity, e.g. `postmaster@…` or the sender).
    pub from: &'a str,
    /// The sender of the original message (the DSN's `To`).
    pub to: &'a str,
    /// RFC 5322 date of the DSN.
    pub date: &'a str,
    /// Message-ID of the DSN (with or without angle brackets).
    pub message_id: &'a str,
    /// Affected recipients.
    pub recipients: &'a [DsnRecipient],
    /// The original message or just its header; its header block is attached as
    /// text/rfc822-headers.
    pub original: Option<&'a [u8]>,
}

/// German subject of the sender DSN (our wording).
pub const DSN_SUBJECT: &str = "Die KIM-Nachricht konnte nicht an alle Empfänger zugestellt werden";

/// Builds the DSN (RFC 3464): `multipart/report; report-type=delivery-status` with a German
/// text part naming each recipient and the reason, a `message/delivery-status` part
/// (`Reporting-MTA`, per recipient `Final-Recipient`, `Action: failed`, `Status`,
/// `Diagnostic-Code`) and, if given, the original header as `text/rfc822-headers`. One
/// `X-KIM-Fehlermeldung` field per distinct code (A_20650-05).
pub fn sender_dsn(params: &DsnParams<'_>) -> Result<Vec<u8>, MimeError> {
    if params.recipients.is_empty() {
        return Err(MimeError::InvalidArgument {
            name: "recipients",
            reason: "a DSN needs at least one affected recipient",
        });
    }
    for value in [params.from, params.to, params.date, params.message_id] {
        if value.is_empty() || value.chars().any(char::is_control) {
            return Err(MimeError::InvalidArgument {
                name: "from, to, date or message_id",
                reason: "empty or contains control characters",
            });
        }
    }
    let tokens = std::iter::once(params.reporting_mta)
        .chain(params.recipients.iter().map(|r| r.address.as_str()));
    for value in tokens {
        if value.is_empty() || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(MimeError::InvalidArgument {
                name: "reporting_mta or recipient address",
                reason: "empty or contains whitespace or control characters",
            });
        }
    }
    let text = human_text(params.recipients);
    let status = delivery_status(params)?;
    let original_header = match params.original {
        Some(original) => {
            let (block, _) = HeaderBlock::parse(original)?;
            Some(super::lines::to_crlf(&block.to_bytes()).into_owned())
        }
        None => None,
    };
    let boundary = choose_boundary(&[
        text.as_bytes(),
        &status,
        original_header.as_deref().unwrap_or_default(),
    ]);
    let mut header = HeaderBlock::default();
    header.push(HeaderField::new("Date", params.date)?);
    header.push(HeaderField::new("From", params.from)?);
    header.push(HeaderField::new("To", params.to)?);
    header.push(HeaderField::new_unstructured("Subject", DSN_SUBJECT)?);
    header.push(HeaderField::new("Message-ID", &angle(params.message_id))?);
    header.push(HeaderField::new("Auto-Submitted", "auto-replied")?);
    let mut codes: Vec<SendErrorCode> = params.recipients.iter().map(|r| r.code).collect();
    codes.sort();
    codes.dedup();
    for code in codes {
        header.push(HeaderField::new("X-KIM-Fehlermeldung", code.code())?);
    }
    let mut out = super::error_mail::begin_multipart_with_text(
        &mut header,
        "multipart/report; report-type=delivery-status",
        &boundary,
        &text,
    )?;
    out.extend_from_slice(b"Content-Type: message/delivery-status\r\n\r\n");
    out.extend_from_slice(&status);
    if let Some(original_header) = original_header {
        out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
        out.extend_from_slice(
            format!(
                "Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: {}\r\n\r\n",
                identity_cte(&original_header)
            )
            .as_bytes(),
        );
        out.extend_from_slice(&original_header);
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok(out)
}

fn human_text(recipients: &[DsnRecipient]) -> String {
    let mut text = String::from(
        "Ihre KIM-Nachricht konnte nicht an alle Empfänger zugestellt werden.\r\n\r\nBetroffene Empfänger:\r\n",
    );
    for r in recipients {
        text.push_str(&format!(
            "\r\n{}\r\n  Fehler {}: {}\r\n",
            r.address,
            r.code.code(),
            r.code.description()
        ));
        if let Some(detail) = &r.detail {
            text.push_str(&format!("  {}\r\n", detail.replace(['\r', '\n'], " ")));
        }
    }
    text
}

/// The `message/delivery-status` content (RFC 3464 §2.2, §2.3).
fn delivery_status(params: &DsnParams<'_>) -> Result<Vec<u8>, MimeError> {
    let mut out = HeaderBlock::default();
    out.push(HeaderField::new(
        "Reporting-MTA",
        &format!("dns; {}", params.reporting_mta),
    )?);
    let mut status = out.to_bytes();
    for r in params.recipients {
        let mut block = HeaderBlock::default();
        block.push(HeaderField::new(
            "Final-Recipient",
            &format!("rfc822; {}", r.address),
        )?);
        block.push(HeaderField::new("Action", "failed")?);
        block.push(HeaderField::new("Status", r.code.status())?);
        let mut diagnostic = format!("X-KIM; {} {}", r.code.code(), ascii_description(r.code));
        if let Some(detail) = &r.detail {
            diagnostic.push_str(" - ");
            diagnostic.push_str(&detail.replace(['\r', '\n'], " "));
        }
        block.push(HeaderField::new_folded(
            "Diagnostic-Code",
            &ascii_only(&diagnostic),
        )?);
        status.extend_from_slice(b"\r\n");
        block.write_to(&mut status);
    }
    Ok(status)
}

/// Delivery-status fields are US-ASCII (RFC 3464 §2.1.2): umlauts are transliterated.
fn ascii_description(code: SendErrorCode) -> String {
    ascii_only(code.description())
}

fn ascii_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'Ä' => out.push_str("Ae"),
            'Ö' => out.push_str("Oe"),
            'Ü' => out.push_str("Ue"),
            'ß' => out.push_str("ss"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}
