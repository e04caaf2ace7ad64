//! Delivered message: trace fields, result headers, Vermerke (KOM-LE-A_2179-02,
//! KOM-LE-A_2050-05, A_21236, A_20628).

use super::*;
use kim_message::mime::{DeliveryResult, HeaderBlock, build_delivered, unwrap_rfc822};

const OUTER: &[u8] = b"Return-Path: <k@komle.de>\r\n\
Received: from mta1 by mta2;\r\n\tMon, 23 Nov 2026 10:00:02 +0100\r\n\
Subject: KOM-LE-Nachricht\r\n\
Received: from cm by mta1; Mon, 23 Nov 2026 10:00:01 +0100\r\n\
X-KOM-LE-Version: 1.0\r\n\r\n";

/// The Vermerk block as bytes of UTF-8 text (typed again from the spec, not the constants).
const BLOCK_UTF8: &str = "\r\n---------------------------------------------\r\nDie Nachricht wurde entschlüsselt.\r\nDie Signatur wurde erfolgreich geprüft.\r\n";

fn outer() -> HeaderBlock {
    header_of(OUTER)
}

fn deliver(inner: &[u8]) -> Vec<u8> {
    build_delivered(inner, &outer(), &DeliveryResult::decrypted(&["01"])).unwrap()
}

fn body_of(message: &[u8]) -> &[u8] {
    &message[find(message, b"\r\n\r\n").unwrap() + 4..]
}

#[test]
fn plain_utf8_8bit_gets_the_vermerk_block_and_headers() {
    let inner = "From: k@komle.de\r\nX-KIM-IntegrityCheckResult: 01\r\nMessage-ID: <1@x>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n";
    let out = deliver(inner.as_bytes());
    let expected = format!(
        "Return-Path: <k@komle.de>\r\nReceived: from mta1 by mta2;\r\n\tMon, 23 Nov 2026 10:00:02 +0100\r\nReceived: from cm by mta1; Mon, 23 Nov 2026 10:00:01 +0100\r\nFrom: k@komle.de\r\nMessage-ID: <1@x>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nX-KIM-DecryptionResult: 00\r\nX-KIM-IntegrityCheckResult: 01\r\n\r\nGrüße\r\n{BLOCK_UTF8}"
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn text_without_final_line_break_and_several_integrity_ids() {
    let inner = b"Message-ID: <1@x>\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: binary\r\n\r\nkurz";
    let result = DeliveryResult::decrypted(&["01", "X42"]);
    let out = build_delivered(inner, &HeaderBlock::default(), &result).unwrap();
    assert_eq!(body_of(&out), format!("kurz\r\n{BLOCK_UTF8}").as_bytes());
    let h = header_of(&out);
    let ids: Vec<String> = h
        .get_all("X-KIM-IntegrityCheckResult")
        .map(|f| f.value())
        .collect();
    assert_eq!(ids, ["01", "X42"]);
    assert!(!h.contains("Return-Path"));
}

#[test]
fn gematik_inner_latin1_7bit_is_reencoded_quoted_printable() {
    let inner = unwrap_rfc822(RFC822_WRAP).unwrap();
    let out = deliver(inner);
    let msg = parse(&out);
    let text = msg.body_text(0).unwrap();
    assert_eq!(
        text.replace("\r\n", "\n"),
        "This is a message just to say hello.\n\n\n---------------------------------------------\nDie Nachricht wurde entschlüsselt.\nDie Signatur wurde erfolgreich geprüft.\n"
    );
    let h = header_of(&out);
    assert_eq!(
        h.value("Content-Transfer-Encoding").as_deref(),
        Some("quoted-printable")
    );
    assert_eq!(
        h.value("Content-Type").as_deref(),
        Some("text/plain; charset=ISO-8859-1")
    );
    assert!(find(body_of(&out), b"entschl=FCsselt.").is_some());
    assert!(body_of(&out).is_ascii());
    // The original header fields are all still there, byte-exact and in order.
    let inner_h = header_of(inner);
    let out_fields: Vec<&[u8]> = h.fields().iter().map(|f| f.raw()).collect();
    let inner_fields: Vec<&[u8]> = inner_h.fields().iter().map(|f| f.raw()).collect();
    assert_eq!(
        &out_fields[3..3 + inner_fields.len()],
        inner_fields.as_slice()
    );
}

#[test]
fn latin1_quoted_printable_part_gets_qp_latin1_appended() {
    let inner = b"Message-ID: <1@x>\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n";
    let out = deliver(inner);
    assert_eq!(
        body_of(&out),
        b"Gr=FC=DFe\r\n\r\n---------------------------------------------\r\nDie Nachricht wurde entschl=FCsselt.\r\nDie Signatur wurde erfolgreich gepr=FCft.\r\n"
    );
    let msg = parse(&out);
    assert!(msg.body_text(0).unwrap().starts_with("Grüße\r\n\r\n---"));
}

#[test]
fn base64_text_part_is_decoded_extended_and_reencoded() {
    use base64::Engine as _;
    let original = "Zeile eins\r\nZeile zwei mit ä\r\n".repeat(10);
    let b64 = base64::engine::general_purpose::STANDARD.encode(original.as_bytes());
    let inner = format!(
        "Message-ID: <1@x>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n"
    );
    let out = deliver(inner.as_bytes());
    let body = body_of(&out);
    for line in body.split(|&b| b == b'\n') {
        assert!(line.len() <= 77);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(
            body.iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect::<Vec<_>>(),
        )
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!("{original}{BLOCK_UTF8}")
    );
}

const ATTACHMENT_B64: &str = "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K\r\neJwr5HIK4TI2UzA0MDCwMFAwBQBHsgTzCmVuZHN0cmVhbQplbmRvYmoK\r\n";

fn mixed_alternative() -> Vec<u8> {
    format!(
        "From: k@komle.de\r\nMessage-ID: <1@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\nThis is a multi-part message.\r\n--outer\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nHallo\r\n--alt\r\nContent-Type: multipart/related; boundary=rel\r\n\r\n--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Hallo</p></BODY></html>\r\n--rel\r\nContent-Type: image/png\r\nContent-ID: <img1>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--rel--\r\n--alt--\r\n--outer\r\nContent-Type: application/pdf; name=\"befund.pdf\"\r\nContent-Disposition: attachment; filename=\"befund.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{ATTACHMENT_B64}\r\n--outer\r\nContent-Type: text/plain; name=notes.txt\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\nnot displayed\r\n--outer--\r\nepilogue\r\n"
    )
    .into_bytes()
}

#[test]
fn alternative_in_mixed_modifies_plain_and_html_only() {
    let inner = mixed_alternative();
    let out = deliver(&inner);
    let attachment_part = format!(
        "Content-Type: application/pdf; name=\"befund.pdf\"\r\nContent-Disposition: attachment; filename=\"befund.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{ATTACHMENT_B64}\r\n--outer\r\n"
    );
    assert!(
        find(&out, attachment_part.as_bytes()).is_some(),
        "attachment unchanged"
    );
    assert!(find(&out, b"Content-ID: <img1>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--rel--").is_some());
    assert!(find(&out, b"\r\n\r\nnot displayed\r\n--outer--\r\nepilogue\r\n").is_some());
    assert!(
        find(
            &out,
            b"\r\n\r\nThis is a multi-part message.\r\n--outer\r\n"
        )
        .is_some()
    );
    assert!(
        find(
            &out,
            format!("Hallo\r\n{BLOCK_UTF8}\r\n--alt\r\n").as_bytes()
        )
        .is_some()
    );
    assert!(find(
        &out,
        b"<html><body><p>Hallo</p><hr>\r\n<p>Die Nachricht wurde entschl&#252;sselt.<br>\r\nDie Signatur wurde erfolgreich gepr&#252;ft.</p>\r\n</BODY></html>"
    )
    .is_some());
    // Exactly two Vermerk insertions.
    assert_eq!(out.windows(9).filter(|w| w == b"Signatur ").count(), 2);

    // mail-parser sees the same structure, the same attachment bytes and the Vermerke.
    let before = parse(&inner);
    let after = parse(&out);
    assert_eq!(before.parts.len(), after.parts.len());
    assert_eq!(
        before.attachment(0).unwrap().contents(),
        after.attachment(0).unwrap().contents()
    );
    assert!(
        after
            .body_text(0)
            .unwrap()
            .contains("Die Signatur wurde erfolgreich geprüft.")
    );
    assert!(
        after
            .body_html(0)
            .unwrap()
            .contains("Die Signatur wurde erfolgreich gepr&#252;ft.")
    );
}

#[test]
fn html_without_body_tag_gets_fragment_appended() {
    let inner = b"Message-ID: <1@x>\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n<p>Hallo</p>\r\n";
    let out = deliver(inner);
    assert_eq!(
        body_of(&out),
        b"<p>Hallo</p>\r\n<hr>\r\n<p>Die Nachricht wurde entschl&#252;sselt.<br>\r\nDie Signatur wurde erfolgreich gepr&#252;ft.</p>\r\n"
    );
}

#[test]
fn us_ascii_plain_is_relabelled_utf8_and_qp() {
    let inner =
        b"Message-ID: <1@x>\r\nContent-Type: text/plain; format=flowed\r\n\r\nHello = world\r\n";
    let out = deliver(inner);
    let h = header_of(&out);
    assert_eq!(
        h.value("Content-Type").as_deref(),
        Some("text/plain; format=flowed; charset=utf-8")
    );
    assert_eq!(
        h.value("Content-Transfer-Encoding").as_deref(),
        Some("quoted-printable")
    );
    let msg = parse(&out);
    assert_eq!(
        msg.body_text(0).unwrap(),
        format!("Hello = world\r\n{BLOCK_UTF8}")
    );
}

#[test]
fn unknown_charset_gets_an_extra_part() {
    let inner = b"Message-ID: <1@x>\r\nContent-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xf0\xd2\xc9\xd7\xc5\xd4\r\n";
    let out = deliver(inner);
    let body_start = find(&out, b"\r\n\r\n").unwrap() + 4;
    assert!(find(&out[body_start..], b"Content-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xf0\xd2\xc9\xd7\xc5\xd4\r\n\r\n--").is_some());
    let msg = parse(&out);
    assert_eq!(msg.parts.len(), 3);
}

#[test]
fn single_attachment_is_wrapped_byte_exact() {
    let inner = format!(
        "From: k@komle.de\r\nMessage-ID: <1@x>\r\nMIME-Version: 1.0\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{ATTACHMENT_B64}"
    );
    let out = deliver(inner.as_bytes());
    let h = header_of(&out);
    assert!(
        h.value("Content-Type")
            .unwrap()
            .starts_with("multipart/mixed; boundary=")
    );
    assert!(!h.contains("Content-Disposition"));
    assert_eq!(h.get_all("MIME-Version").count(), 1);
    let original_entity = format!(
        "\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{ATTACHMENT_B64}\r\n--"
    );
    assert!(find(&out, original_entity.as_bytes()).is_some());
    let msg = parse(&out);
    assert_eq!(msg.parts.len(), 3);
    assert_eq!(
        msg.body_text(0).unwrap(),
        "---------------------------------------------\r\nDie Nachricht wurde entschlüsselt.\r\nDie Signatur wurde erfolgreich geprüft.\r\n"
    );
    let before = parse(inner.as_bytes());
    assert_eq!(
        msg.attachment(0).unwrap().contents(),
        before.parts[0].contents()
    );
}

#[test]
fn mixed_with_only_an_attachment_gets_a_first_text_part() {
    let inner = format!(
        "Message-ID: <1@x>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{ATTACHMENT_B64}\r\n--b--\r\n"
    );
    let out = deliver(inner.as_bytes());
    let expected_tail = format!(
        "\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n---------------------------------------------\r\nDie Nachricht wurde entschlüsselt.\r\nDie Signatur wurde erfolgreich geprüft.\r\n\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{ATTACHMENT_B64}\r\n--b--\r\n"
    );
    assert!(out.ends_with(expected_tail.as_bytes()));
}

#[test]
fn lf_only_input_is_delivered_with_crlf() {
    let inner = b"From: k@komle.de\nMessage-ID: <1@x>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nZeile\n";
    let out = deliver(inner);
    assert!(is_crlf_only(&out));
    assert_eq!(body_of(&out), format!("Zeile\r\n{BLOCK_UTF8}").as_bytes());
}

#[test]
fn empty_vermerke_only_add_headers() {
    let inner = b"Message-ID: <1@x>\r\n\r\nbody\r\n";
    let result = DeliveryResult {
        decryption: "00".to_owned(),
        integrity_ids: vec!["02".to_owned()],
        vermerke: vec![],
    };
    let out = build_delivered(inner, &outer(), &result).unwrap();
    assert_eq!(body_of(&out), b"body\r\n");
    assert_eq!(
        header_of(&out)
            .value("X-KIM-IntegrityCheckResult")
            .as_deref(),
        Some("02")
    );
    let bad = DeliveryResult {
        decryption: "00\r\nX: y".to_owned(),
        ..result
    };
    assert!(build_delivered(inner, &outer(), &bad).is_err());
}

#[test]
fn digest_and_signed_multiparts_are_wrapped_not_modified() {
    for ty in [
        "multipart/digest",
        "multipart/signed; protocol=\"application/pkcs7-signature\"",
    ] {
        let inner = format!(
            "Message-ID: <1@x>\r\nContent-Type: {ty}; boundary=d\r\n\r\n--d\r\n\r\nFrom: a@x.de\r\n\r\nhi\r\n--d--\r\n"
        );
        let out = deliver(inner.as_bytes());
        let original_body = "\r\n\r\n--d\r\n\r\nFrom: a@x.de\r\n\r\nhi\r\n--d--\r\n";
        assert!(find(&out, original_body.as_bytes()).is_some(), "{ty}");
        assert!(find(&out, b"hi\r\n\r\n---").is_none(), "{ty}");
        assert_eq!(
            parse(&out).body_text(0).unwrap().lines().nth(1),
            Some("Die Nachricht wurde entschlüsselt.")
        );
    }
}
