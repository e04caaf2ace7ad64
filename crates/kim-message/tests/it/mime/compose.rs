//! Sending side: prepare, wraps, outer message, self-forward (KOM-LE-A_2097ff, A_19488-02,
//! KOM-LE-A_2299-01, KOM-LE-A_2029).

use super::*;
use kim_message::mime::{
    DecryptionFailure, ErrorMailContext, ErrorMailKind, MimeError, OuterMessage, OuterParams,
    error_mail, extract_self_forward, outer_message, prepare_client_mail,
    prepare_client_mail_owned, rfc822_wrap, signed_data_entity,
};
use mail_parser::MimeHeaders as _;

#[test]
fn gematik_rfc822_wrap_is_reproduced_byte_exact() {
    let prepared = prepare_client_mail(INPUT_EMAIL).unwrap();
    assert!(prepared.dienstkennung_inserted);
    assert_eq!(prepared.dienstkennung, "KIM-Mail;Default;V1.0");
    assert_eq!(
        prepared.message_id,
        "<Mime4j.0.81c65006d0c27d68.1641cd879c4>"
    );
    assert_eq!(rfc822_wrap(&prepared.bytes), RFC822_WRAP);
}

#[test]
fn prepare_keeps_existing_dienstkennung_and_is_idempotent() {
    let mail =
        b"From: a@x.de\nMessage-ID: <1@x>\nX-KIM-Dienstkennung: eAU;Lieferung;V1.0\n\nbody\n";
    let prepared = prepare_client_mail(mail).unwrap();
    assert!(!prepared.dienstkennung_inserted);
    assert_eq!(prepared.dienstkennung, "eAU;Lieferung;V1.0");
    assert_eq!(
        prepared.bytes,
        b"From: a@x.de\r\nMessage-ID: <1@x>\r\nX-KIM-Dienstkennung: eAU;Lieferung;V1.0\r\n\r\nbody\r\n"
    );
    let again = prepare_client_mail(&prepared.bytes).unwrap();
    assert_eq!(again.bytes, prepared.bytes);
}

#[test]
fn prepare_accepts_a_header_only_mail() {
    let prepared = prepare_client_mail(b"Message-ID: <1@x>\nX-KIM-Dienstkennung: a;b;c").unwrap();
    assert_eq!(
        prepared.bytes,
        b"Message-ID: <1@x>\r\nX-KIM-Dienstkennung: a;b;c\r\n\r\n"
    );
}

#[test]
fn prepare_by_value_gives_the_same_result() {
    let cases: [&[u8]; 7] = [
        INPUT_EMAIL,
        b"From: a@x.de\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n",
        b"From: a@x.de\nMessage-ID: <1@x>\nX-KIM-Dienstkennung: eAU;Lieferung;V1.0\n\nbody\n",
        b"Message-ID: <1@x>\r\nSubject: folded\r\n  line\r\n\r\n\r\n.\r\nbody",
        b"Message-ID: <1@x>\nX-KIM-Dienstkennung: a;b;c",
        b"From: a@x.de\r\n\r\nbody",
        b"this is not a mail\r\n",
    ];
    for mail in cases {
        let borrowed = prepare_client_mail(mail);
        let owned = prepare_client_mail_owned(mail.to_vec());
        match (borrowed, owned) {
            (Ok(b), Ok(o)) => {
                assert_eq!(o.bytes, b.bytes);
                assert_eq!(o.message_id, b.message_id);
                assert_eq!(o.dienstkennung, b.dienstkennung);
                assert_eq!(o.dienstkennung_inserted, b.dienstkennung_inserted);
            }
            (Err(b), Err(o)) => assert_eq!(o, b),
            (b, o) => panic!("{b:?} against {o:?}"),
        }
    }
}

#[test]
fn prepare_requires_message_id_and_a_header() {
    assert_eq!(
        prepare_client_mail(b"From: a@x.de\r\n\r\nbody").unwrap_err(),
        MimeError::MissingHeader("Message-ID")
    );
    assert!(prepare_client_mail(b"\r\nonly a body").is_err());
    assert!(prepare_client_mail(b"this is not a mail\r\n").is_err());
}

#[test]
fn signed_data_entity_matches_gematik_header() {
    let header_len = find(SIGNED_WRAP, b"\r\n\r\n").unwrap() + 4;
    let der = &SIGNED_WRAP[header_len..];
    assert_eq!(signed_data_entity(der), SIGNED_WRAP);
    assert_eq!(
        &SIGNED_WRAP[..header_len],
        b"MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\nContent-Transfer-Encoding: binary\r\nContent-Disposition: attachment; filename=smime.p7m\r\n\r\n"
    );
}

/// An inner mail with folded, 8-bit and encoded-word address fields, X-KIM headers, Bcc
/// and fields the Clientmodul sets itself.
const INNER: &[u8] = b"Date: Mon, 23 Nov 2026 10:00:00 +0100 (CET)\r\n\
From: =?UTF-8?Q?Dr._J=C3=BCrgen?= <j@praxis.kim.telematik>\r\n\
Sender: \"M\xc3\xbcller, Anna\"\r\n\t<anna@praxis.kim.telematik>\r\n\
To: a@x.kim.telematik,\r\n  B <b@y.kim.telematik>\r\n\
Cc: (team) c@z.kim.telematik\r\n\
Bcc: secret@x.kim.telematik\r\n\
Reply-To: r@praxis.kim.telematik\r\n\
Subject: Befund\r\n\
Message-ID: <abc.123@praxis>\r\n\
X-KIM-Sendersystem: MeinPVS;2.0.0\r\n\
x-kim-support: support@pvs.example\r\n\
X-KIM-CMVersion: FAKE_9.9.9\r\n\
X-KIM-Dienstkennung: KIM-Mail;Default;V1.0\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hallo\r\n";

fn params() -> OuterParams {
    OuterParams {
        kom_le_version: "1.0".to_owned(),
        cm_version: Some("XYZ_2.1.2-8".to_owned()),
        pt_version: Some("1.5.0-2".to_owned()),
        kon_version: Some(
            "<secunet konnektor 2.0.0><Konnektor PTV4Plus><4.80.3><2.0.0><4.10.1><null>".to_owned(),
        ),
        expires: Some("Thu, 21 Feb 2027 10:00:00 +0100".to_owned()),
        kas_size: None,
    }
}

#[test]
fn outer_message_copies_fields_byte_exact_and_sets_profile_fields() {
    let cms: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    let outer = outer_message(INNER, &cms, &params()).unwrap();
    let header_len = find(&outer, b"\r\n\r\n").unwrap() + 2;
    let header = &outer[..header_len];
    for field in [
        &b"Date: Mon, 23 Nov 2026 10:00:00 +0100 (CET)\r\n"[..],
        b"From: =?UTF-8?Q?Dr._J=C3=BCrgen?= <j@praxis.kim.telematik>\r\n",
        b"Sender: \"M\xc3\xbcller, Anna\"\r\n\t<anna@praxis.kim.telematik>\r\n",
        b"To: a@x.kim.telematik,\r\n  B <b@y.kim.telematik>\r\n",
        b"Cc: (team) c@z.kim.telematik\r\n",
        b"Reply-To: r@praxis.kim.telematik\r\n",
        b"Message-ID: <abc.123@praxis>\r\n",
        b"X-KIM-Sendersystem: MeinPVS;2.0.0\r\n",
        b"x-kim-support: support@pvs.example\r\n",
        b"X-KIM-Dienstkennung: KIM-Mail;Default;V1.0\r\n",
        b"Subject: KOM-LE-Nachricht\r\n",
        b"X-KOM-LE-Version: 1.0\r\n",
        b"X-KIM-CMVersion: XYZ_2.1.2-8\r\n",
        b"X-KIM-PTVersion: 1.5.0-2\r\n",
        b"Expires: Thu, 21 Feb 2027 10:00:00 +0100\r\n",
        b"MIME-Version: 1.0\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Disposition: attachment; filename=smime.p7m\r\n",
    ] {
        assert!(
            find(header, field).is_some(),
            "missing {:?}",
            String::from_utf8_lossy(field)
        );
    }
    assert!(find(header, b"Bcc").is_none(), "Bcc must not be copied");
    assert!(find(header, b"secret@").is_none());
    assert!(
        find(header, b"FAKE_9.9.9").is_none(),
        "client X-KIM-CMVersion dropped"
    );
    assert!(
        find(header, b"Befund").is_none(),
        "inner subject must not leak"
    );
    assert_eq!(header_of(&outer).get_all("Subject").count(), 1);

    let msg = parse(&outer);
    assert_eq!(msg.subject(), Some("KOM-LE-Nachricht"));
    let ct = msg.content_type().unwrap();
    assert_eq!(ct.ctype(), "application");
    assert_eq!(ct.subtype(), Some("pkcs7-mime"));
    assert_eq!(
        ct.attribute("smime-type"),
        Some("authenticated-enveloped-data")
    );
    assert_eq!(ct.attribute("name"), Some("smime.p7m"));
    assert_eq!(
        raw_values(&msg, "X-KIM-KONVersion")[0]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        "<secunet konnektor 2.0.0><Konnektor PTV4Plus><4.80.3><2.0.0><4.10.1><null>"
    );
    assert_eq!(
        msg.parts[0].contents(),
        cms.as_slice(),
        "mail-parser decodes our base64"
    );

    let body = &outer[header_len + 2..];
    let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    assert_eq!(lines.last().unwrap(), b"", "body ends with CRLF");
    for line in &lines[..lines.len() - 2] {
        assert_eq!(line.len(), 77, "76 characters plus CR");
        assert!(line.ends_with(b"\r"));
    }
    assert!(is_crlf_only(&outer));

    let parsed = OuterMessage::parse(&outer).unwrap();
    assert_eq!(parsed.cms, cms);
    assert_eq!(parsed.kom_le_version(), "1.0");
}

#[test]
fn outer_message_kas_size_and_version_1_5() {
    let p = OuterParams {
        kom_le_version: "1.5".to_owned(),
        kas_size: Some(27_262_976),
        ..OuterParams::default()
    };
    let outer = outer_message(INNER, b"x", &p).unwrap();
    let h = header_of(&outer);
    assert_eq!(h.value("X-KOM-LE-Version").as_deref(), Some("1.5"));
    assert_eq!(h.value("X-KIM-KAS-Size").as_deref(), Some("27262976"));
    assert!(!h.contains("Expires"));
    assert!(!h.contains("X-KIM-CMVersion"));
}

#[test]
fn outer_message_rejects_injection_and_missing_message_id() {
    let mut p = params();
    p.expires = Some("Thu\r\nBcc: x@y".to_owned());
    assert!(outer_message(INNER, b"x", &p).is_err());
    for version in ["", "1.5+", "2.0", "1.0\r\nX: y"] {
        let p = OuterParams {
            kom_le_version: version.to_owned(),
            ..params()
        };
        assert!(matches!(
            outer_message(INNER, b"x", &p),
            Err(MimeError::InvalidArgument {
                name: "kom_le_version",
                ..
            })
        ));
    }
    assert_eq!(
        outer_message(b"From: a@x.de\r\n\r\nb", b"x", &params()).unwrap_err(),
        MimeError::MissingHeader("Message-ID")
    );
}

#[test]
fn outer_message_of_gematik_sample_matches_sample_except_date() {
    let prepared = prepare_client_mail(INPUT_EMAIL).unwrap();
    let p = OuterParams {
        kom_le_version: "1.0".to_owned(),
        ..OuterParams::default()
    };
    let ours = outer_message(&prepared.bytes, ENCRYPTED_CMS, &p).unwrap();
    let ours_h = header_of(&ours);
    let sample_h = header_of(ENCRYPTED_WRAP);
    // The sample's outer Date differs from the inner one (sample bug); ours is the inner.
    assert_eq!(
        ours_h.get("Date").unwrap().raw(),
        b"Date: Wed, 20 Jun 2020 12:58:26 +0200\r\n"
    );
    for name in [
        "From",
        "Reply-To",
        "To",
        "Message-ID",
        "Subject",
        "X-KOM-LE-Version",
        "X-KIM-Dienstkennung",
        "MIME-Version",
        "Content-Transfer-Encoding",
        "Content-Disposition",
    ] {
        assert_eq!(
            ours_h.get(name).unwrap().raw(),
            sample_h.get(name).unwrap().raw(),
            "{name}"
        );
    }
    let mut our_names: Vec<String> = ours_h
        .fields()
        .iter()
        .map(|f| f.name().to_owned())
        .collect();
    let mut sample_names: Vec<String> = sample_h
        .fields()
        .iter()
        .map(|f| f.name().to_owned())
        .collect();
    our_names.sort();
    sample_names.sort();
    assert_eq!(our_names, sample_names);
    // Same base64 lines as the sample (the sample lacks the final CRLF).
    let ours_body = &ours[find(&ours, b"\r\n\r\n").unwrap() + 4..];
    let sample_body = &ENCRYPTED_WRAP[find(ENCRYPTED_WRAP, b"\r\n\r\n").unwrap() + 4..];
    assert_eq!(ours_body.strip_suffix(b"\r\n").unwrap(), sample_body);
}

fn e2_mail(received: &[u8]) -> Vec<u8> {
    error_mail(
        &ErrorMailKind::DecryptionFailed {
            failure: DecryptionFailure::KeyNotAvailable,
            with_error_code: true,
        },
        received,
        &ErrorMailContext {
            receiver: "musterempfaenger@komle.de",
            message_id: "<err-1@cm.local>",
            date: "Mon, 23 Nov 2026 10:00:00 +0000",
        },
    )
    .unwrap()
}

#[test]
fn self_forward_extracts_embedded_kom_le_message() {
    let e2 = e2_mail(ENCRYPTED_WRAP);
    // The user forwards the error mail as attachment to himself.
    let mut forward = b"From: Steffi <musterempfaenger@komle.de>\r\nTo: musterempfaenger@komle.de\r\nMessage-ID: <fw@x>\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"fw\"\r\n\r\n--fw\r\nContent-Type: text/plain\r\n\r\nsiehe Anhang\r\n--fw\r\nContent-Type: message/rfc822\r\n\r\n".to_vec();
    forward.extend_from_slice(&e2);
    forward.extend_from_slice(b"\r\n--fw--\r\n");
    let extracted = extract_self_forward(&forward, "musterempfaenger@komle.de").unwrap();
    let h = header_of(&extracted);
    assert_eq!(h.get_all("From").count(), 1);
    assert_eq!(
        h.get("From").unwrap().raw(),
        b"From: musterempfaenger@komle.de\r\n"
    );
    // Everything except From is the original KOM-LE message.
    let mut expected_h = header_of(ENCRYPTED_WRAP);
    expected_h.replace(
        "From",
        kim_message::mime::HeaderField::new("From", "musterempfaenger@komle.de").unwrap(),
    );
    assert_eq!(h, expected_h);
    let body_at = find(&extracted, b"\r\n\r\n").unwrap() + 4;
    let sample_body_at = find(ENCRYPTED_WRAP, b"\r\n\r\n").unwrap() + 4;
    assert_eq!(&extracted[body_at..], &ENCRYPTED_WRAP[sample_body_at..]);
    assert_eq!(OuterMessage::parse(&extracted).unwrap().cms, ENCRYPTED_CMS);
}

#[test]
fn self_forward_decodes_base64_attachment_and_ignores_plain_mails() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(ENCRYPTED_WRAP);
    let mut forward = b"From: a@x.de\r\nMessage-ID: <fw@x>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    for chunk in b64.as_bytes().chunks(76) {
        forward.extend_from_slice(chunk);
        forward.extend_from_slice(b"\r\n");
    }
    forward.extend_from_slice(b"--b--\r\n");
    let extracted = extract_self_forward(&forward, "a@x.de").unwrap();
    assert_eq!(OuterMessage::parse(&extracted).unwrap().cms, ENCRYPTED_CMS);

    assert!(extract_self_forward(INPUT_EMAIL, "a@x.de").is_none());
    // A forwarded ordinary mail (no X-KOM-LE-Version) is not a self-forward.
    let mut plain =
        b"From: a@x.de\r\nMessage-ID: <p@x>\r\nContent-Type: message/rfc822\r\n\r\n".to_vec();
    plain.extend_from_slice(INPUT_EMAIL);
    assert!(extract_self_forward(&plain, "a@x.de").is_none());
    // Top-level message/rfc822 with a KOM-LE message.
    let mut top =
        b"From: a@x.de\r\nMessage-ID: <p@x>\r\nContent-Type: message/rfc822\r\n\r\n".to_vec();
    top.extend_from_slice(ENCRYPTED_WRAP);
    assert!(extract_self_forward(&top, "a@x.de").is_some());
    assert!(extract_self_forward(&top, "a@x.de\r\nBcc: evil@x").is_none());
}
