//! Renewal of the Clientmodul's TLS client certificate C.CM.TLS-CS (A_21381): when the
//! certificate expires within [`RENEW_WITHIN_SECS`], a card of the practice authenticates
//! at the Account Manager and createCert issues a new PKCS#12; if that fails, the account
//! gets a notification with error code 4016 (Tab_Fehlercodes_KOMLE-Clientmodule) in its
//! own mailbox.
//!
//! This module holds the steps without clock, timer or storage: callers pass `now`, keep
//! the schedule, store the result and deliver the notification (the `kim clientmodul
//! serve` daemon does all three).

use kim_konnektor::client::Konnektor;
use kim_message::cms::CertInfo;
use kim_message::mime::dsn::{DsnParams, DsnRecipient, SendErrorCode, sender_dsn};
use zeroize::Zeroizing;

use crate::{AccountManagerClient, AdminError, CardKind, Context, select_card, sign_jwt};

/// Renew when the certificate expires within this many seconds (30 days, A_21381).
pub const RENEW_WITHIN_SECS: i64 = 30 * 86_400;

/// Seconds from `now` until `cert_der` expires (negative once expired).
///
/// # Errors
/// [`AdminError::Input`] if the certificate cannot be parsed.
pub fn remaining_secs(cert_der: &[u8], now: i64) -> Result<i64, AdminError> {
    let info = CertInfo::parse(cert_der)
        .map_err(|e| AdminError::Input(format!("TLS certificate of the Clientmodul: {e}")))?;
    Ok(info.not_after.saturating_sub(now))
}

/// Whether `cert_der` is due for renewal at `now` (expires within 30 days).
///
/// # Errors
/// [`AdminError::Input`] if the certificate cannot be parsed.
pub fn is_due(cert_der: &[u8], now: i64) -> Result<bool, AdminError> {
    Ok(remaining_secs(cert_der, now)? < RENEW_WITHIN_SECS)
}

/// What a renewal needs besides the Konnektor and the Account Manager.
pub struct RenewRequest<'a> {
    /// The Konnektor context the card is in.
    pub context: &'a Context,
    /// The card that authenticates: by Telematik-ID, else by kind, else the first SMC-B.
    pub telematik_id: Option<&'a str>,
    /// The card kind (default SMC-B when no Telematik-ID is given).
    pub kind: Option<CardKind>,
    /// The account whose createCert is called.
    pub username: &'a str,
    /// Its password.
    pub password: &'a str,
    /// commonName of the new certificate.
    pub common_name: &'a str,
    /// The password the new PKCS#12 is protected with.
    pub cert_password: &'a str,
}

impl std::fmt::Debug for RenewRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenewRequest")
            .field("telematik_id", &self.telematik_id)
            .field("kind", &self.kind)
            .field("common_name", &self.common_name)
            .finish_non_exhaustive()
    }
}

/// Authenticates with the card and has the Account Manager issue a new certificate;
/// returns the PKCS#12 (DER) protected by `request.cert_password`.
///
/// # Errors
/// Every [`AdminError`] of card selection, token signing and createCert.
pub async fn renew<K: Konnektor>(
    konnektor: &K,
    am: &AccountManagerClient,
    request: &RenewRequest<'_>,
    now: i64,
) -> Result<Zeroizing<Vec<u8>>, AdminError> {
    let kind = match (request.kind, request.telematik_id) {
        (None, None) => Some(CardKind::SmcB),
        (kind, _) => kind,
    };
    let card = select_card(konnektor, request.context, kind, request.telematik_id).await?;
    let jwt = Zeroizing::new(sign_jwt(konnektor, request.context, &card, now).await?);
    let p12 = am
        .create_cert(
            &jwt,
            request.username,
            request.password,
            request.common_name,
            Some(request.cert_password),
        )
        .await?;
    Ok(Zeroizing::new(p12))
}

/// The notification of a failed renewal: a DSN-style report to the account's own address
/// with `X-KIM-Fehlermeldung: 4016` and the line `Fehlertext: <message>`.
///
/// # Errors
/// [`AdminError::Input`] if an argument cannot be written into a mail header.
pub fn failure_notice(
    address: &str,
    hostname: &str,
    message: &str,
    now: i64,
    message_id: &str,
) -> Result<Vec<u8>, AdminError> {
    let date = kim_types::time::rfc5322_date(now);
    let recipients = [DsnRecipient {
        address: address.to_owned(),
        code: SendErrorCode::Pkcs12RenewalFailed,
        detail: Some(format!(
            "Fehlertext: {}",
            message.replace(['\r', '\n'], " ")
        )),
    }];
    sender_dsn(&DsnParams {
        reporting_mta: hostname,
        from: address,
        to: address,
        date: &date,
        message_id,
        recipients: &recipients,
        original: None,
    })
    .map_err(|e| AdminError::Input(format!("renewal notification: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn due_within_thirty_days() {
        let pki = kim_testkit::pki::TestPki::shared_default().unwrap();
        let cert = &pki
            .tls_entity("clientmodul")
            .unwrap()
            .issued
            .certificate_der;
        let not_after = CertInfo::parse(cert).unwrap().not_after;
        assert!(!is_due(cert, not_after - RENEW_WITHIN_SECS - 1).unwrap());
        assert!(is_due(cert, not_after - RENEW_WITHIN_SECS + 1).unwrap());
        assert!(is_due(cert, not_after + 1).unwrap());
        assert_eq!(remaining_secs(cert, not_after - 5).unwrap(), 5);
        assert!(is_due(b"not a certificate", 0).is_err());
    }

    #[test]
    fn the_notice_carries_code_4016_and_the_error_text() {
        let mail = failure_notice(
            "praxis@test.kim.telematik",
            "cm.local",
            "Der KIM-Fachdienst ist nicht erreichbar.\r\nZeile 2",
            1_767_225_600,
            "<n1@cm.local>",
        )
        .unwrap();
        let text = String::from_utf8(mail).unwrap();
        assert!(text.contains("X-KIM-Fehlermeldung: 4016\r\n"), "{text}");
        assert!(text.contains("To: praxis@test.kim.telematik\r\n"), "{text}");
        assert!(
            text.contains("Fehlertext: Der KIM-Fachdienst ist nicht erreichbar.  Zeile 2"),
            "{text}"
        );
        assert!(text.contains("Fehler 4016"), "{text}");
    }
}
