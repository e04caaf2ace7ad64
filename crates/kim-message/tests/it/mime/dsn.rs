//! Sender DSNs (RFC 3464; A_20650-05, digest §3.4 step 13 and §3.8).

use super::*;
use kim_message::mime::{DsnParams, DsnRecipient, SendErrorCode, sender_dsn};
use mail_parser::MimeHeaders as _;

fn recipients() -> Vec<DsnRecipient> {
    vec![
        DsnRecipient {
            address: "alt@praxis.kim.telematik".to_owned(),
            code: SendErrorCode::RecipientVersionTooLow,
            detail: None,
        },
        DsnRecipient {
            address: "x@klinik.kim.telematik".to_owned(),
            code: SendErrorCode::NotEncryptableForAll,
            detail: Some("Zertifikat gesperrt".to_owned()),
        },
        DsnRecipient {
            address: "y@klinik.kim.telematik".to_owned(),
            code: SendErrorCode::RecipientVersionTooLow,
            detail: None,
        },
    ]
}

#[test]
fn dsn_is_a_delivery_status_report() {
    let recipients = recipients();
    let dsn = sender_dsn(&DsnParams {
        reporting_mta: "cm.praxis.local",
        from: "mustersender@komle.de",
        to: "mustersender@komle.de",
        date: "Mon, 23 Nov 2026 10:00:00 +0100",
        message_id: "dsn-1@cm.praxis.local",
        recipients: &recipients,
        original: Some(INPUT_EMAIL),
    })
    .unwrap();
    assert!(is_crlf_only(&dsn));
    let h = header_of(&dsn);
    let codes: Vec<String> = h
        .get_all("X-KIM-Fehlermeldung")
        .map(|f| f.value())
        .collect();
    assert_eq!(codes, ["4001", "4004"], "one field per distinct code");
    assert!(!h.contains("X-KOM-LE-Version"));
    let msg = parse(&dsn);
    assert_eq!(
        msg.subject(),
        Some("Die KIM-Nachricht konnte nicht an alle Empfänger zugestellt werden")
    );
    assert_eq!(msg.message_id(), Some("dsn-1@cm.praxis.local"));
    let ct = msg.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("report")));
    assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
    assert_eq!(msg.parts.len(), 4);
    let text = msg.body_text(0).unwrap();
    for r in &recipients {
        assert!(text.contains(&r.address));
    }
    assert!(text.contains("Fehler 4004") && text.contains("Zertifikat gesperrt"));
    let status_ct = msg.parts[2].content_type().unwrap();
    assert_eq!(
        (status_ct.ctype(), status_ct.subtype()),
        ("message", Some("delivery-status"))
    );
    let status = String::from_utf8(part_body(&msg, 2).to_vec()).unwrap();
    assert!(status.starts_with("Reporting-MTA: dns; cm.praxis.local\r\n\r\n"));
    assert_eq!(status.matches("Final-Recipient: rfc822; ").count(), 3);
    assert_eq!(status.matches("Action: failed\r\n").count(), 3);
    assert!(status.contains("Final-Recipient: rfc822; x@klinik.kim.telematik\r\nAction: failed\r\nStatus: 5.7.5\r\nDiagnostic-Code: X-KIM; 4004 "));
    assert!(status.is_ascii());
    let headers_ct = msg.parts[3].content_type().unwrap();
    assert_eq!(
        (headers_ct.ctype(), headers_ct.subtype()),
        ("text", Some("rfc822-headers"))
    );
    let original_header =
        kim_message::mime::to_crlf(&INPUT_EMAIL[..find(INPUT_EMAIL, b"\n\n").unwrap() + 1])
            .into_owned();
    assert_eq!(part_body(&msg, 3), original_header.as_slice());
}

#[test]
fn dsn_rejects_bad_input() {
    let base = DsnParams {
        reporting_mta: "cm",
        from: "a@x.de",
        to: "a@x.de",
        date: "Mon, 23 Nov 2026 10:00:00 +0100",
        message_id: "<d@x>",
        recipients: &[],
        original: None,
    };
    assert!(sender_dsn(&base).is_err(), "no recipients");
    let bad = [DsnRecipient {
        address: "a@x.de\r\nBcc: y@z".to_owned(),
        code: SendErrorCode::KasUploadFailed,
        detail: None,
    }];
    assert!(
        sender_dsn(&DsnParams {
            recipients: &bad,
            ..base.clone()
        })
        .is_err()
    );
    let ok = [DsnRecipient {
        address: "a@x.de".to_owned(),
        code: SendErrorCode::KasUploadFailed,
        detail: None,
    }];
    let dsn = sender_dsn(&DsnParams {
        recipients: &ok,
        ..base
    })
    .unwrap();
    assert_eq!(
        parse(&dsn).parts.len(),
        3,
        "no headers part without original"
    );
}

#[test]
fn error_codes_are_4001_to_4019() {
    let codes: Vec<&str> = SendErrorCode::ALL.iter().map(|c| c.code()).collect();
    let expected: Vec<String> = (4001..=4019).map(|n: u32| n.to_string()).collect();
    assert_eq!(codes, expected);
    for code in SendErrorCode::ALL {
        assert_eq!(SendErrorCode::from_code(code.code()), Some(code));
        assert!(!code.description().is_empty());
        assert!(code.status().starts_with("5."));
    }
    assert_eq!(SendErrorCode::from_code("4020"), None);
    assert_eq!(SendErrorCode::LargeMessagesDisabled.to_string(), "4018");
}
