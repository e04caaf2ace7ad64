//! Error mails on receive, E1–E6 (A_2046, KOM-LE-A_2047-02, A_21391-02, A_19370-04,
//! A_22412-01, A_23512, A_19369-02, A_19371-04, A_19372-03, A_23165).

use super::*;
use kim_message::mime::{
    DecryptionFailure, DeliveryResult, ErrorMailContext, ErrorMailKind, KasFailure, OuterError,
    OuterMessage, error_mail, integrity_error_mail, kas_error_mail, unwrap_rfc822,
};
use mail_parser::MimeHeaders as _;

const RECEIVER: &str = "musterempfaenger@komle.de";

fn ctx() -> ErrorMailContext<'static> {
    ErrorMailContext {
        receiver: RECEIVER,
        message_id: "err-1@cm.local",
        date: "Mon, 23 Nov 2026 10:00:00 +0000",
    }
}

/// Checks the common E1–E4 shape and returns (subject, text, header).
fn check_common(mail: &[u8]) -> (String, String, kim_message::mime::HeaderBlock) {
    assert!(is_crlf_only(&mail[..find(mail, b"\r\n\r\n").unwrap()]));
    let h = header_of(mail);
    assert!(
        !h.contains("X-KOM-LE-Version"),
        "error mails pass receiving CMs unchanged"
    );
    assert_eq!(OuterMessage::parse(mail).unwrap_err(), OuterError::NotKomLe);
    let sample = header_of(ENCRYPTED_WRAP);
    for name in ["Date", "From", "Reply-To", "To"] {
        assert_eq!(
            h.get(name).unwrap().raw(),
            sample.get(name).unwrap().raw(),
            "{name}"
        );
    }
    assert!(!h.contains("Cc") && !h.contains("Sender"));
    assert_eq!(h.value("Message-ID").as_deref(), Some("<err-1@cm.local>"));
    let msg = parse(mail);
    let ct = msg.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("mixed")));
    assert_eq!(msg.parts.len(), 3, "root, text, message/rfc822");
    let text_ct = msg.parts[1].content_type().unwrap();
    assert_eq!(
        (text_ct.ctype(), text_ct.subtype()),
        ("text", Some("plain"))
    );
    let embedded_ct = msg.parts[2].content_type().unwrap();
    assert_eq!(
        (embedded_ct.ctype(), embedded_ct.subtype()),
        ("message", Some("rfc822"))
    );
    assert_eq!(
        part_body(&msg, 2),
        ENCRYPTED_WRAP,
        "received message attached byte-exact"
    );
    (
        msg.subject().unwrap().to_owned(),
        msg.body_text(0).unwrap().into_owned(),
        h,
    )
}

#[test]
fn e1_unsupported_version() {
    let kind = ErrorMailKind::UnsupportedVersion {
        version: "2.0".to_owned(),
        supported: "1.0 und 1.5".to_owned(),
    };
    let mail = error_mail(&kind, ENCRYPTED_WRAP, &ctx()).unwrap();
    let (subject, text, h) = check_common(&mail);
    assert_eq!(
        subject,
        "Die KIM-Version der empfangenen Nachricht wird nicht unterstützt"
    );
    assert!(text.starts_with(
        "Das verwendete Clientmodul unterstützt die in der empfangenen Nachricht angegebene KIM-Version 2.0 nicht."
    ));
    assert!(text.contains("1.0 und 1.5") && text.contains(RECEIVER));
    assert_eq!(h.value("X-KIM-Fehlermeldung").as_deref(), Some("4008"));
}

#[test]
fn e2_decryption_failed_all_ids() {
    let cases = [
        (
            DecryptionFailure::KeyNotAvailable,
            "01",
            "4009",
            "Der für die Entschlüsselung der Nachricht benötigte Schlüssel wurde nicht gefunden. Überprüfen Sie ob die entsprechende Karte gesteckt ist und leiten Sie diese Nachricht an Ihre eigene E-Mail-Adresse (musterempfaenger@komle.de) weiter. Beim nächsten Abholen wird der Entschlüsselungsvorgang wiederholt.",
        ),
        (
            DecryptionFailure::WrongFormat,
            "02",
            "4010",
            "Die Nachricht wurde als eine verschlüsselte KIM-Nachricht gekennzeichnet, konnte aber auf Grund des falschen Formats nicht entschlüsselt werden. Die Verschlüsselte Nachricht befindet sich im Anhang. Bitte kontaktieren Sie den Absender der Nachricht.",
        ),
        (
            DecryptionFailure::KonnektorUnavailable,
            "03",
            "4011",
            "Die Entschlüsselung konnte nicht erfolgen, weil der Konnektor nicht antwortet. Stellen Sie sicher, dass der Konnektor wieder zur Verfügung steht und leiten Sie diese Nachricht an Ihre eigene E-Mail-Adresse (musterempfaenger@komle.de) weiter. Beim nächsten Abholen wird der Entschlüsselungsvorgang wiederholt.",
        ),
    ];
    for (failure, id, code, expected_text) in cases {
        for with_error_code in [true, false] {
            let kind = ErrorMailKind::DecryptionFailed {
                failure,
                with_error_code,
            };
            let mail = error_mail(&kind, ENCRYPTED_WRAP, &ctx()).unwrap();
            let (subject, text, h) = check_common(&mail);
            assert_eq!(subject, "Die Nachricht konnte nicht entschlüsselt werden");
            assert_eq!(text, expected_text);
            assert_eq!(h.value("X-KIM-DecryptionResult").as_deref(), Some(id));
            let codes: Vec<String> = h
                .get_all("X-KIM-Fehlermeldung")
                .map(|f| f.value())
                .collect();
            if with_error_code {
                assert_eq!(codes, [code]);
            } else {
                assert!(codes.is_empty());
            }
        }
    }
}

#[test]
fn e3_large_messages_disabled() {
    let mail = error_mail(
        &ErrorMailKind::LargeMessagesDisabled,
        ENCRYPTED_WRAP,
        &ctx(),
    )
    .unwrap();
    let (subject, text, h) = check_common(&mail);
    assert_eq!(
        subject,
        "Die KIM-Nachricht kann nicht empfangen werden, weil der Empfang großer Nachrichten nicht aktiviert wurde"
    );
    assert!(text.contains("Account Manager") && text.contains("weiter"));
    assert_eq!(h.value("X-KIM-Fehlermeldung").as_deref(), Some("4018"));
}

#[test]
fn e4_kas_download_failed_and_429() {
    for (too_many_requests, code) in [(false, "4006"), (true, "4013")] {
        let kind = ErrorMailKind::KasDownloadFailed { too_many_requests };
        let mail = error_mail(&kind, ENCRYPTED_WRAP, &ctx()).unwrap();
        let (subject, text, h) = check_common(&mail);
        assert_eq!(subject, "Die E-Mail-Daten konnten nicht abgerufen werden");
        assert_eq!(
            text,
            "Die E-Mail-Daten dieser Nachricht konnten nicht heruntergeladen werden. Bitte leiten Sie diese Nachricht nach einer angemessenen Zeit an Ihre eigene E-Mail-Adresse (musterempfaenger@komle.de) weiter. Beim nächsten Abholen wird der Download wiederholt."
        );
        assert_eq!(h.value("X-KIM-Fehlermeldung").as_deref(), Some(code));
    }
}

#[test]
fn error_mail_uses_given_date_when_received_has_none() {
    let received = b"From: a@x.de\r\nX-KOM-LE-Version: 1.0\r\n\r\nAAAA\r\n";
    let mail = error_mail(&ErrorMailKind::LargeMessagesDisabled, received, &ctx()).unwrap();
    assert_eq!(
        header_of(&mail).value("Date").as_deref(),
        Some("Mon, 23 Nov 2026 10:00:00 +0000")
    );
    assert_eq!(part_body(&parse(&mail), 2), received);
}

const KAS_MAIL: &[u8] = b"From: k@komle.de\r\nTo: e@komle.de\r\nSubject: Gro\xc3\x9fe Datei\r\nMessage-ID: <kas@x>\r\nX-KIM-Fehlermeldung: 4001\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n";

#[test]
fn e5_kas_errors_replace_the_body() {
    let cases = [
        (KasFailure::DecryptFailed, Some("4007"), "Abgerufene E-Mail-Daten konnten nicht entschlüsselt werden".to_owned()),
        (KasFailure::HashMismatch, Some("4012"), "Beim Empfang dieser KIM-Nachricht wurde eine Sicherheitsverletzung erkannt. Dies kann eine technisches Ursache haben oder auf eine missbräuchliche Nutzung des KIM-Dienstes hinweisen. Zu Ihrem Schutz wurde der Inhalt dieser Nachricht durch diesen Text ausgetauscht. Bitte antworten Sie nicht auf diese Nachricht. Sie können diese Nachricht löschen.".to_owned()),
        (KasFailure::Ambiguous, None, "Nachricht konnte aufgrund uneindeutiger Informationen nicht abgerufen werden".to_owned()),
    ];
    for (failure, code, expected) in cases {
        let mail = kas_error_mail(failure, KAS_MAIL).unwrap();
        let h = header_of(&mail);
        for name in ["From", "To", "Subject", "Message-ID"] {
            assert_eq!(
                h.get(name).unwrap().raw(),
                header_of(KAS_MAIL).get(name).unwrap().raw()
            );
        }
        let codes: Vec<String> = h
            .get_all("X-KIM-Fehlermeldung")
            .map(|f| f.value())
            .collect();
        assert_eq!(codes, code.into_iter().collect::<Vec<_>>());
        let msg = parse(&mail);
        assert_eq!(msg.parts.len(), 1);
        assert_eq!(msg.body_text(0).unwrap().trim_end(), expected);
        assert!(!h.contains("X-KOM-LE-Version"));
    }
}

#[test]
fn e6_integrity_failure_embeds_the_decrypted_original() {
    let inner = unwrap_rfc822(RFC822_WRAP).unwrap();
    let outer = header_of(
        b"Return-Path: <a@b>\r\nReceived: from x by y; Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n",
    );
    let result = DeliveryResult::decrypted(&["08"]);
    let mail = integrity_error_mail(inner, &outer, &result).unwrap();
    let h = header_of(&mail);
    assert_eq!(h.fields()[0].raw(), b"Return-Path: <a@b>\r\n");
    assert!(h.fields()[1].is("Received"));
    assert_eq!(h.value("X-KIM-DecryptionResult").as_deref(), Some("00"));
    assert_eq!(h.value("X-KIM-IntegrityCheckResult").as_deref(), Some("08"));
    assert!(!h.contains("X-KOM-LE-Version"));
    let inner_h = header_of(inner);
    for name in [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "X-KIM-Dienstkennung",
    ] {
        assert_eq!(
            h.get(name).unwrap().raw(),
            inner_h.get(name).unwrap().raw(),
            "{name}"
        );
    }
    let msg = parse(&mail);
    assert_eq!(msg.subject(), Some("Saying Hello"));
    assert_eq!(msg.parts.len(), 3);
    assert_eq!(
        part_body(&msg, 2),
        inner,
        "decrypted original embedded byte-exact"
    );
    let expected = "Beim Empfang dieser KIM-Nachricht wurde eine Sicherheitsverletzung erkannt. Dies kann eine technisches Ursache haben oder auf eine missbräuchliche Nutzung des KIM-Dienstes hinweisen. Zu Ihrem Schutz wurde der Inhalt dieser Nachricht durch diesen Text ausgetauscht. Bitte kontaktieren Sie den Absender und/oder Ihren Administrator. Die entschlüsselte Nachricht wurde in diese Fehlernachricht eingebettet und kann, abhängig vom verwendeten E-Mail-Client, in eigener Verantwortung eingesehen bzw. verarbeitet werden.\r\n\r\nErgänzende Informationen:\r\n[Entschlüsselung] Die Nachricht wurde entschlüsselt.\r\n[Integritätsprüfung] [ID 08] Die Signatur der Nachricht wurde geprüft. Die Prüfung hat ergeben, dass die Nachricht nach dem Verschlüsseln manipuliert wurde. Möglicherweise wurde die verschlüsselte Nachricht auch an einen nicht empfangsberechtigten Personenkreis versendet.";
    assert_eq!(msg.body_text(0).unwrap(), expected);
}
