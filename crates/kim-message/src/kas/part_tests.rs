//! Tests of the KAS MIME form on hand-written mails (the gematik samples are in
//! `conformance_tests.rs`).

#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

use super::*;

fn att(n: u64) -> KimAttachment {
    KimAttachment {
        link: format!("https://kas.example/attachments/v2.4/attachment/{n}"),
        k: "AZtUCtV3M5mTC/XzfDDl25mZ4FwoOADyaIi3Fn8wH6w=".into(),
        hash: "Wc148UGImi84VG3H/fF+3x6ouGMknls6hf2wn0qcqjU=".into(),
        size: 20_000_000 + n,
    }
}

fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

#[test]
fn body_part_has_the_exact_shape() {
    let a = att(1);
    let mut expected =
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Disposition: x-kas\r\n\r\n".to_vec();
    expected.extend(a.to_json());
    assert_eq!(attachment_body_part(&a), expected);
}

#[test]
fn replaces_mime_fields_with_folds_and_keeps_the_rest_byte_exact() {
    let mail = crlf(
        "Received: from a\n\tby b; Mon, 1 Jan 2024 00:00:00 +0000\n\
         From: <a@x.kim.telematik>\n\
         content-type: multipart/mixed;\n boundary=\"b1\"\n\
         Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n\
         MIME-Version: 1.0\n\
         Content-Transfer-Encoding :7bit\n\
         CONTENT-DISPOSITION: inline;\n\t filename=\"x\"\n\
         X-Content-Type: kept\n\
         \n\
         --b1\nContent-Type: text/plain\n\nhello\n--b1--\n",
    );
    let a = att(2);
    let out = replace_body_with_attachment(&mail, &a).unwrap();
    let mut expected = crlf(
        "Received: from a\n\tby b; Mon, 1 Jan 2024 00:00:00 +0000\n\
         From: <a@x.kim.telematik>\n\
         Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n\
         MIME-Version: 1.0\n\
         X-Content-Type: kept\n",
    );
    expected.extend(attachment_body_part(&a));
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&expected)
    );
}

#[test]
fn lf_only_mail_gets_lf_lines_and_a_mime_version() {
    let mail = b"From: <a@x>\nSubject: s\n\nbody\n";
    let a = att(3);
    let out = replace_body_with_attachment(mail, &a).unwrap();
    let mut expected = b"From: <a@x>\nSubject: s\nMIME-Version: 1.0\n\
        Content-Type: text/plain; charset=utf-8\nContent-Disposition: x-kas\n\n"
        .to_vec();
    expected.extend(a.to_json());
    assert_eq!(out, expected);
}

#[test]
fn mail_without_body_or_final_line_end() {
    let a = att(4);
    let out = replace_body_with_attachment(b"Subject: s\r\nMIME-Version: 1.0", &a).unwrap();
    let mut expected = b"Subject: s\r\nMIME-Version: 1.0\r\n".to_vec();
    expected.extend(attachment_body_part(&a));
    assert_eq!(out, expected);
}

#[test]
fn rejects_mails_without_header_fields() {
    for mail in [&b""[..], b"\r\nbody", b" folded: first\r\n\r\n"] {
        let err = replace_body_with_attachment(mail, &att(5)).unwrap_err();
        assert!(matches!(err, KasError::MalformedMail(_)), "{err}");
    }
}

#[test]
fn the_built_mail_is_found_again() {
    for mail in [
        &b"From: <a@x>\r\nSubject: s\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n"[..],
        b"From: <a@x>\nSubject: s\n\nplain\n",
    ] {
        let a = att(6);
        let out = replace_body_with_attachment(mail, &a).unwrap();
        assert!(contains_kas_part(&out));
        assert_eq!(find_attachments(&out).unwrap(), vec![a]);
    }
}

const MULTI: &str = "From: <a@x>\n\
    MIME-Version: 1.0\n\
    Content-Type: multipart/mixed; boundary=\"outer\"\n\
    \n\
    --outer\n\
    Content-Type: text/plain\n\
    \n\
    text\n\
    --outer\n\
    Content-Type: multipart/alternative; boundary=\"inner\"\n\
    \n\
    --inner\n\
    Content-Type: text/plain; charset=utf-8\n\
    Content-Disposition: X-KAS\n\
    \n\
    JSON1\n\
    --inner--\n\
    --outer\n\
    Content-Type: text/plain; charset=utf-8\n\
    Content-Disposition: x-kas\n\
    Content-Transfer-Encoding: base64\n\
    \n\
    JSON2B64\n\
    --outer--\n";

fn multi(a1: &KimAttachment, a2: &KimAttachment) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(a2.to_json());
    MULTI
        .replace("JSON1", std::str::from_utf8(&a1.to_json()).unwrap())
        .replace("JSON2B64", &b64)
        .into_bytes()
}

#[test]
fn finds_every_kas_part_in_nested_multiparts() {
    let (a1, a2) = (att(7), att(8));
    let mail = multi(&a1, &a2);
    assert_eq!(
        find_attachments(&mail).unwrap(),
        vec![a1.clone(), a2.clone()]
    );
    assert!(contains_kas_part(&mail));
    let crlf_mail = String::from_utf8(mail).unwrap().replace('\n', "\r\n");
    assert_eq!(
        find_attachments(crlf_mail.as_bytes()).unwrap(),
        vec![a1, a2]
    );
}

#[test]
fn ordinary_mails_have_no_kas_part() {
    let cases: [&[u8]; 4] = [
        b"From: <a@x>\r\nSubject: about x-kas\r\n\r\nThe word x-kas in a body.\r\n",
        b"From: <a@x>\r\nContent-Disposition: attachment; filename=x-kas\r\n\r\n{}\r\n",
        b"From: <a@x>\r\nContent-Type: text/plain\r\n\r\nContent-Disposition: x-kas\r\n",
        b"From: <a@x>\r\n\r\n",
    ];
    for mail in cases {
        assert!(
            !contains_kas_part(mail),
            "{}",
            String::from_utf8_lossy(mail)
        );
        assert_eq!(find_attachments(mail).unwrap(), vec![]);
    }
}

#[test]
fn attached_messages_are_not_searched() {
    let inner =
        replace_body_with_attachment(b"From: <b@y>\r\nSubject: i\r\n\r\nx", &att(9)).unwrap();
    let mut mail = b"From: <a@x>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
        --b\r\nContent-Type: message/rfc822\r\n\r\n"
        .to_vec();
    mail.extend(&inner);
    mail.extend(b"\r\n--b--\r\n");
    assert_eq!(find_attachments(&mail).unwrap(), vec![]);
    assert!(!contains_kas_part(&mail));
}

#[test]
fn broken_kas_structure_is_an_error_naming_the_field() {
    let mail = b"From: <a@x>\r\nContent-Type: text/plain; charset=utf-8\r\n\
        Content-Disposition: x-kas\r\n\r\n{\"link\":\"l\",\"hash\":\"h\",\"size\":1}";
    assert!(contains_kas_part(mail));
    let err = find_attachments(mail).unwrap_err();
    assert!(matches!(err, KasError::MissingField("k")), "{err}");
}

#[test]
fn x_kas_search_finds_every_position_and_case() {
    let needles: [&[u8]; 4] = [b"x-kas", b"X-KAS", b"x-Kas", b"X-kAs"];
    for len in 5..40 {
        for pos in 0..=len - 5 {
            for needle in needles {
                let mut hay = vec![b'-'; len];
                hay[pos..pos + 5].copy_from_slice(needle);
                assert!(contains_x_kas(&hay), "len {len} pos {pos}");
                hay[pos + 4] = b't';
                assert!(!contains_x_kas(&hay), "len {len} pos {pos}");
            }
        }
    }
    assert!(!contains_x_kas(b""));
    assert!(!contains_x_kas(b"x-ka"));
    assert!(!contains_x_kas(b"-kas x- kas xkas"));
}

mod never_panic {
    use super::*;
    use proptest::prelude::*;

    /// Mail-like input: header-ish lines, MIME keywords and arbitrary bytes mixed.
    fn mail_like() -> impl Strategy<Value = Vec<u8>> {
        let pieces = prop::sample::select(vec![
            &b"Content-Type: text/plain; charset=utf-8\r\n"[..],
            b"Content-Disposition: x-kas\r\n",
            b"Content-Type: multipart/mixed; boundary=b\r\n",
            b"\r\n",
            b"\n",
            b"--b\r\n",
            b"--b--\r\n",
            b" folded\r\n",
            b"{\"link\":\"l\",\"k\":\"k\",\"hash\":\"h\",\"size\":1}",
            b"Subject: x\r\n",
        ]);
        let piece = prop_oneof![
            pieces.prop_map(<[u8]>::to_vec),
            prop::collection::vec(any::<u8>(), 0..16)
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn mime_functions_never_panic(mail in mail_like()) {
            let found = find_attachments(&mail);
            let contains = contains_kas_part(&mail);
            // Whatever find_attachments accepted, contains_kas_part must report.
            if let Ok(list) = &found {
                prop_assert_eq!(!list.is_empty(), contains);
            }
            if let Ok(out) = replace_body_with_attachment(&mail, &att(1)) {
                prop_assert!(out.ends_with(&att(1).to_json()));
            }
        }

        #[test]
        fn json_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = KimAttachment::parse_json(&bytes);
        }
    }
}
