//! Receiving side: outer message, inner layers, ID 08 comparison (A_21390, KOM-LE-A_2042,
//! KOM-LE-A_2299-01, KOM-LE-A_2048-01).

use super::*;
use kim_message::mime::{
    HeaderBlock, MimeError, OuterContent, OuterError, OuterMessage, compare_outer_inner,
    into_signed_data, parse_signed_data_entity, prepare_client_mail, unwrap_rfc822,
    version_supported,
};

#[test]
fn gematik_outer_message_decodes_to_the_sample_cms() {
    let outer = OuterMessage::parse(ENCRYPTED_WRAP).unwrap();
    assert_eq!(outer.kom_le_version(), "1.0");
    assert_eq!(outer.content, OuterContent::AuthEnvelopedData);
    assert_eq!(outer.cms, ENCRYPTED_CMS);
    assert_eq!(
        outer.header.to_bytes(),
        &ENCRYPTED_WRAP[..find(ENCRYPTED_WRAP, b"\r\n\r\n").unwrap() + 2]
    );
}

#[test]
fn outer_body_decoding_tolerates_lf_and_spaces() {
    let lf: Vec<u8> = ENCRYPTED_WRAP
        .iter()
        .copied()
        .filter(|&b| b != b'\r')
        .collect();
    assert_eq!(OuterMessage::parse(&lf).unwrap().cms, ENCRYPTED_CMS);
    let at = find(ENCRYPTED_WRAP, b"\r\n\r\n").unwrap() + 4;
    let mut spaced = ENCRYPTED_WRAP[..at].to_vec();
    for chunk in ENCRYPTED_WRAP[at..].chunks(10) {
        spaced.extend_from_slice(chunk);
        spaced.extend_from_slice(b" \t");
    }
    assert_eq!(OuterMessage::parse(&spaced).unwrap().cms, ENCRYPTED_CMS);
}

#[test]
fn non_kom_le_messages_are_passed_through() {
    assert_eq!(
        OuterMessage::parse(INPUT_EMAIL).unwrap_err(),
        OuterError::NotKomLe
    );
    assert_eq!(
        OuterMessage::parse(b"garbage without header").unwrap_err(),
        OuterError::NotKomLe
    );
    assert_eq!(OuterMessage::parse(b"").unwrap_err(), OuterError::NotKomLe);
}

fn with_header_replaced(name: &str, raw: &[u8]) -> Vec<u8> {
    let (mut h, body) = HeaderBlock::parse(ENCRYPTED_WRAP).unwrap();
    h.replace(name, kim_message::mime::HeaderField::from_raw(raw).unwrap());
    let mut out = h.to_bytes();
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&ENCRYPTED_WRAP[body..]);
    out
}

#[test]
fn malformed_kom_le_messages_are_distinguished() {
    let wrong_type = with_header_replaced("Content-Type", b"Content-Type: text/plain\r\n");
    assert!(matches!(
        OuterMessage::parse(&wrong_type).unwrap_err(),
        OuterError::Malformed(MimeError::UnexpectedHeader {
            field: "Content-Type",
            ..
        })
    ));
    let enveloped = with_header_replaced(
        "Content-Type",
        b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n",
    );
    assert_eq!(
        OuterMessage::parse(&enveloped).unwrap().content,
        OuterContent::EnvelopedData
    );
    let wrong_cte = with_header_replaced(
        "Content-Transfer-Encoding",
        b"Content-Transfer-Encoding: 8bit\r\n",
    );
    assert!(matches!(
        OuterMessage::parse(&wrong_cte).unwrap_err(),
        OuterError::Malformed(MimeError::UnexpectedHeader {
            field: "Content-Transfer-Encoding",
            ..
        })
    ));
    let at = find(ENCRYPTED_WRAP, b"\r\n\r\n").unwrap() + 4;
    let mut bad_b64 = ENCRYPTED_WRAP[..at].to_vec();
    bad_b64.extend_from_slice(b"not*base64!\r\n");
    assert!(matches!(
        OuterMessage::parse(&bad_b64).unwrap_err(),
        OuterError::Malformed(MimeError::Base64(_))
    ));
    let empty = &ENCRYPTED_WRAP[..at];
    assert_eq!(
        OuterMessage::parse(empty).unwrap_err(),
        OuterError::Malformed(MimeError::EmptyBody)
    );
}

#[test]
fn versions() {
    for v in ["1.0", "1.5", "1.5+", " 1.5 "] {
        assert!(version_supported(v), "{v}");
    }
    for v in ["2.0", "1.1", "", "1.0.0", "V1.0"] {
        assert!(!version_supported(v), "{v}");
    }
}

#[test]
fn signed_data_entity_is_read_from_the_sample_and_from_lf() {
    let header_len = find(SIGNED_WRAP, b"\r\n\r\n").unwrap() + 4;
    assert_eq!(
        signed_data(SIGNED_WRAP).unwrap(),
        &SIGNED_WRAP[header_len..]
    );
    let lf = b"MIME-Version: 1.0\nContent-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\nContent-Transfer-Encoding: binary\n\n\x30\x80\r\n\x00";
    assert_eq!(signed_data(lf).unwrap(), b"\x30\x80\r\n\x00");
    let b64 = b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAK\r\n";
    assert_eq!(signed_data(b64).unwrap(), b"\x30\x80\x0a");
    assert!(matches!(
        signed_data(b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\nx"),
        Err(MimeError::UnexpectedHeader {
            field: "Content-Type",
            ..
        })
    ));
    assert_eq!(
        signed_data(b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n\r\n"),
        Err(MimeError::EmptyBody)
    );
    assert!(matches!(
        signed_data(b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nx"),
        Err(MimeError::UnexpectedHeader {
            field: "Content-Transfer-Encoding",
            ..
        })
    ));
    assert!(signed_data(b"\x30\x82\x01").is_err());
}

/// The SignedData bytes of a decrypted entity, read both by reference and by value (the
/// two must agree, errors included).
fn signed_data(entity: &[u8]) -> Result<Vec<u8>, MimeError> {
    let borrowed = parse_signed_data_entity(entity).map(|d| d.into_owned());
    let owned = into_signed_data(entity.to_vec());
    assert_eq!(borrowed, owned);
    owned
}

#[test]
fn rfc822_unwrap_gives_the_prepared_mail() {
    let prepared = prepare_client_mail(INPUT_EMAIL).unwrap();
    assert_eq!(
        unwrap_rfc822(RFC822_WRAP).unwrap(),
        prepared.bytes.as_slice()
    );
    assert!(unwrap_rfc822(b"Content-Type: text/plain\r\n\r\nx").is_err());
    assert!(unwrap_rfc822(b"Content-Type: message/rfc822\r\n\r\n").is_err());
}

fn header(text: &str) -> HeaderBlock {
    HeaderBlock::parse(text.as_bytes()).unwrap().0
}

#[test]
fn id08_comparison_ignores_display_names_and_case() {
    let inner = header(
        "From: Karl <Karl@Komle.de>\r\nTo: a@x.de,\r\n b@y.de\r\nCc: c@z.de\r\nReply-To: r@x.de\r\n\r\n",
    );
    let outer = header(
        "From: \"Someone else\" <karl@komle.DE>\r\nTo: B <b@y.de>, a@x.de\r\nCc: (c) c@z.de\r\nReply-To: <R@X.DE>\r\n\r\n",
    );
    assert_eq!(compare_outer_inner(&outer, &inner), Ok(()));
}

#[test]
fn id08_comparison_reports_changed_fields() {
    let inner = header("From: k@komle.de\r\nTo: a@x.de\r\nCc: c@z.de\r\n\r\n");
    let changed = header("From: k@komle.de\r\nTo: a@x.de, extra@evil.de\r\n\r\n");
    assert_eq!(
        compare_outer_inner(&changed, &inner),
        Err(vec!["To".to_owned(), "Cc".to_owned()])
    );
    let sender = header("From: k@komle.de\r\nSender: s@x.de\r\nTo: a@x.de\r\nCc: c@z.de\r\n\r\n");
    assert_eq!(
        compare_outer_inner(&sender, &inner),
        Err(vec!["Sender".to_owned()])
    );
    let from = header("From: K <k2@komle.de>\r\nTo: a@x.de\r\nCc: c@z.de\r\n\r\n");
    assert_eq!(
        compare_outer_inner(&from, &inner),
        Err(vec!["From".to_owned()])
    );
    // Repeated fields are merged into one set.
    let split = header("From: k@komle.de\r\nTo: a@x.de\r\nCc: c@z.de\r\nto: a@x.de\r\n\r\n");
    assert_eq!(compare_outer_inner(&split, &inner), Ok(()));
}

#[test]
fn id08_on_the_gematik_sample_is_clean() {
    let outer = OuterMessage::parse(ENCRYPTED_WRAP).unwrap();
    let inner = header_of(unwrap_rfc822(RFC822_WRAP).unwrap());
    assert_eq!(compare_outer_inner(&outer.header, &inner), Ok(()));
}
