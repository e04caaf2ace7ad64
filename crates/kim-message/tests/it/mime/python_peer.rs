//! Our generated messages read by a second independent parser: Python's `email` package
//! (python3 is part of the test environment; the test fails if it is missing).

use super::*;
use kim_message::mime::{
    DecryptionFailure, DeliveryResult, DsnParams, DsnRecipient, ErrorMailContext, ErrorMailKind,
    OuterParams, SendErrorCode, build_delivered, error_mail, outer_message, prepare_client_mail,
    sender_dsn, unwrap_rfc822,
};

const SCRIPT: &str = r#"
import email, email.policy, json, sys
out = []
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.default)
    parts, defects = [], [type(d).__name__ for d in msg.defects]
    for part in msg.walk():
        parts.append(part.get_content_type())
        defects += [type(d).__name__ for d in part.defects]
    body = msg.get_body(preferencelist=('plain',))
    out.append({
        'subject': str(msg['subject']),
        'parts': parts,
        'defects': defects,
        'codes': [str(v) for v in msg.get_all('X-KIM-Fehlermeldung', [])],
        'text': body.get_content() if body is not None else None,
    })
print(json.dumps(out))
"#;

fn python_read(messages: &[Vec<u8>]) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let path = dir.path().join(format!("m{i}.eml"));
        std::fs::write(&path, m).unwrap();
        paths.push(path);
    }
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .args(&paths)
        .output()
        .expect("python3 must be installed for the interop tests");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn python_email_reads_our_messages_without_defects() {
    let ctx = ErrorMailContext {
        receiver: "musterempfaenger@komle.de",
        message_id: "<e@cm>",
        date: "Mon, 23 Nov 2026 10:00:00 +0000",
    };
    let prepared = prepare_client_mail(INPUT_EMAIL).unwrap();
    let outer = outer_message(
        &prepared.bytes,
        ENCRYPTED_CMS,
        &OuterParams {
            kom_le_version: "1.0".to_owned(),
            ..OuterParams::default()
        },
    )
    .unwrap();
    let e2 = error_mail(
        &ErrorMailKind::DecryptionFailed {
            failure: DecryptionFailure::WrongFormat,
            with_error_code: true,
        },
        ENCRYPTED_WRAP,
        &ctx,
    )
    .unwrap();
    let e3 = error_mail(&ErrorMailKind::LargeMessagesDisabled, ENCRYPTED_WRAP, &ctx).unwrap();
    let delivered = build_delivered(
        unwrap_rfc822(RFC822_WRAP).unwrap(),
        &header_of(ENCRYPTED_WRAP),
        &DeliveryResult::decrypted(&["01"]),
    )
    .unwrap();
    let recipients = [DsnRecipient {
        address: "a@x.kim.telematik".to_owned(),
        code: SendErrorCode::AmbiguousCertificates,
        detail: None,
    }];
    let dsn = sender_dsn(&DsnParams {
        reporting_mta: "cm.local",
        from: "mustersender@komle.de",
        to: "mustersender@komle.de",
        date: "Mon, 23 Nov 2026 10:00:00 +0000",
        message_id: "<d@cm>",
        recipients: &recipients,
        original: Some(&prepared.bytes),
    })
    .unwrap();

    let read = python_read(&[outer, e2, e3, delivered, dsn]);
    for (i, r) in read.iter().enumerate() {
        assert_eq!(r["defects"], serde_json::json!([]), "message {i}: {r}");
    }
    assert_eq!(read[0]["subject"], "KOM-LE-Nachricht");
    assert_eq!(
        read[0]["parts"],
        serde_json::json!(["application/pkcs7-mime"])
    );
    assert_eq!(
        read[1]["subject"],
        "Die Nachricht konnte nicht entschlüsselt werden"
    );
    assert_eq!(
        read[1]["parts"],
        serde_json::json!([
            "multipart/mixed",
            "text/plain",
            "message/rfc822",
            "application/pkcs7-mime"
        ])
    );
    assert_eq!(read[1]["codes"], serde_json::json!(["4010"]));
    assert!(
        read[1]["text"]
            .as_str()
            .unwrap()
            .starts_with("Die Nachricht wurde als eine verschlüsselte KIM-Nachricht")
    );
    assert_eq!(
        read[2]["subject"],
        "Die KIM-Nachricht kann nicht empfangen werden, weil der Empfang großer Nachrichten nicht aktiviert wurde"
    );
    assert!(
        read[3]["text"]
            .as_str()
            .unwrap()
            .replace("\r\n", "\n")
            .ends_with(
                "Die Nachricht wurde entschlüsselt.\nDie Signatur wurde erfolgreich geprüft.\n"
            )
    );
    // Python presents the delivery-status blocks (per message, per recipient) as
    // text/plain sub-parts.
    assert_eq!(
        read[4]["parts"],
        serde_json::json!([
            "multipart/report",
            "text/plain",
            "message/delivery-status",
            "text/plain",
            "text/plain",
            "text/rfc822-headers"
        ])
    );
    assert_eq!(read[4]["codes"], serde_json::json!(["4005"]));
}
