//! Truncated and garbage input must give errors or pass-through, never panics.

use super::*;
use kim_message::mime::{
    DeliveryResult, ErrorMailContext, ErrorMailKind, HeaderBlock, OuterMessage, build_delivered,
    compare_outer_inner, error_mail, extract_self_forward, parse_signed_data_entity,
    prepare_client_mail, unwrap_rfc822,
};
use proptest::prelude::*;

fn complex_mail() -> Vec<u8> {
    b"From: \"A, B\" <a@x.de>\r\nTo: g: c@y.de, (x) d@z.de;\r\nMessage-ID: <1@x>\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\npre\r\n--o\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe=\r\n\r\n--a\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGh0bWw+PGJvZHk+aGk8L2JvZHk+PC9odG1sPg==\r\n--a--\r\n--o\r\nContent-Type: message/rfc822\r\n\r\nX-KOM-LE-Version: 1.0\r\nFrom: q@x\r\n\r\nAAAA\r\n--o--\r\n".to_vec()
}

fn exercise(data: &[u8]) {
    let outer = HeaderBlock::parse(b"Received: x\r\nFrom: a@x.de\r\n\r\n")
        .unwrap()
        .0;
    let _ = OuterMessage::parse(data);
    let _ = prepare_client_mail(data);
    let _ = parse_signed_data_entity(data);
    let _ = unwrap_rfc822(data);
    let _ = extract_self_forward(data, "me@x.de");
    let _ = build_delivered(data, &outer, &DeliveryResult::decrypted(&["01"]));
    if let Ok((h, _)) = HeaderBlock::parse(data) {
        let _ = compare_outer_inner(&h, &outer);
        assert_eq!(h.to_bytes(), &data[..h.to_bytes().len()]);
    }
    let _ = error_mail(
        &ErrorMailKind::LargeMessagesDisabled,
        data,
        &ErrorMailContext {
            receiver: "e@x.de",
            message_id: "<m@x>",
            date: "Mon, 1 Jan 2026 00:00:00 +0000",
        },
    );
}

#[test]
fn every_prefix_of_the_samples_is_handled() {
    let complex = complex_mail();
    let samples: [&[u8]; 5] = [
        ENCRYPTED_WRAP,
        SIGNED_WRAP,
        RFC822_WRAP,
        INPUT_EMAIL,
        &complex,
    ];
    let mut checked = 0usize;
    for sample in samples {
        for len in 0..=sample.len() {
            exercise(&sample[..len]);
            checked += 1;
        }
    }
    assert!(checked > 10_000);
}

#[test]
fn truncated_outer_message_never_yields_wrong_cms() {
    let header_len = find(ENCRYPTED_WRAP, b"\r\n\r\n").unwrap() + 4;
    for len in 0..ENCRYPTED_WRAP.len() {
        if let Ok(m) = OuterMessage::parse(&ENCRYPTED_WRAP[..len]) {
            // A truncated body decodes to a prefix of the CMS, never other bytes;
            // the CMS parser then detects the truncation.
            assert!(len > header_len);
            assert!(
                m.cms.len() <= ENCRYPTED_CMS.len(),
                "only missing padding may decode fully"
            );
            assert!(ENCRYPTED_CMS.starts_with(&m.cms));
        }
    }
}

#[test]
fn truncated_multipart_is_delivered_or_rejected() {
    let complex = complex_mail();
    let outer = HeaderBlock::default();
    for len in 0..complex.len() {
        if let Ok(out) =
            build_delivered(&complex[..len], &outer, &DeliveryResult::decrypted(&["01"]))
        {
            assert!(find(&out, b"X-KIM-DecryptionResult: 00\r\n").is_some());
        }
    }
    let full = build_delivered(&complex, &outer, &DeliveryResult::decrypted(&["01"])).unwrap();
    let msg = parse(&full);
    assert!(
        msg.body_text(0)
            .unwrap()
            .contains("Die Signatur wurde erfolgreich geprüft.")
    );
    assert!(
        msg.body_html(0)
            .unwrap()
            .contains("Die Signatur wurde erfolgreich gepr&#252;ft.")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_do_not_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&data);
    }

    #[test]
    fn mutated_complex_mail_does_not_panic(
        pos in 0usize..400,
        byte in any::<u8>(),
    ) {
        let mut data = complex_mail();
        let i = pos % data.len();
        data[i] = byte;
        exercise(&data);
    }
}
