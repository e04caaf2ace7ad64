//! python-zeep (loaded offline from the vendored WSDLs) as an independent SOAP peer:
//! requests zeep builds are parsed by `Request::parse_envelope`, and zeep deserializes the
//! golden responses and faults this crate writes. Fails if python3 or zeep is missing.

use base64::Engine as _;
use kim_konnektor::model::*;
use kim_konnektor::ops::*;
use kim_konnektor::{Request, SigNamespace};
use serde_json::{Value, json};

use crate::data_dir;
use crate::samples::*;

fn run(args: &[&str]) -> Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/zeep_peer.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 with zeep must be installed (scripts/test installs it)");
    assert!(
        out.status.success(),
        "zeep peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn requests_built_by_zeep_parse_to_the_expected_values() {
    let all = run(&["requests"]);
    let parse = |name: &str| {
        let xml = all[name]
            .as_str()
            .unwrap_or_else(|| panic!("zeep produced no {name}"));
        Request::parse_envelope("text/xml; charset=utf-8", xml.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    assert_eq!(parse("GetCards"), Request::GetCards(get_cards()));
    assert_eq!(
        parse("GetPinStatus"),
        Request::GetPinStatus(get_pin_status())
    );
    assert_eq!(
        parse("ReadCardCertificate"),
        Request::ReadCardCertificate(read_card_certificate())
    );
    assert_eq!(
        parse("GetJobNumber"),
        Request::GetJobNumber(get_job_number(), SigNamespace::V7_5)
    );
    let mut sign = sign_document();
    let doc = &mut sign.requests[0].document;
    doc.data = b"Content-Type: message/rfc822\r\n\r\nFrom: a@x\r\n\r\nHallo\r\n".to_vec();
    doc.short_text = None;
    assert_eq!(
        parse("SignDocument"),
        Request::SignDocument(sign, SigNamespace::V7_5)
    );
    let mut verify = verify_document();
    verify.return_verification_report = None;
    assert_eq!(
        parse("VerifyDocument"),
        Request::VerifyDocument(verify, SigNamespace::V7_5)
    );
    let mut enc = encrypt_document();
    enc.recipient_keys.certificate_on_card = None;
    enc.document = Document::new(b"signed entity".to_vec());
    assert_eq!(parse("EncryptDocument"), Request::EncryptDocument(enc));
    let mut dec = decrypt_document();
    dec.private_key_on_card.key_reference = None;
    assert_eq!(parse("DecryptDocument"), Request::DecryptDocument(dec));
    let auth = ExternalAuthenticate {
        signature_type: Some(SignatureType::new(SignatureType::RSA)),
        signature_scheme: Some(SignatureScheme::RsassaPss),
        binary_string: Document {
            data: vec![0; 32],
            mime_type: Some("application/octet-stream".into()),
            short_text: None,
        },
        ..external_authenticate()
    };
    assert_eq!(
        parse("ExternalAuthenticate"),
        Request::ExternalAuthenticate(auth)
    );
}

#[test]
fn zeep_reads_the_golden_responses() {
    let dir = data_dir("soap");
    let got = run(&["responses", dir.to_str().unwrap()]);
    let cards = get_cards_response();
    let certs = read_card_certificate_response();
    let x509 = certs.infos[0].x509.as_ref().unwrap();
    let vr = verify_document_response();
    let expected = json!({
        "GetCards": ["OK", [cards.cards[0].handle.as_str(), cards.cards[1].handle.as_str()], cards.cards[0].holder_name],
        "GetPinStatus": [get_pin_status_response().pin_status.unwrap().as_str(), 3],
        "VerifyPin": [verify_pin_response().pin_result.as_str(), 2],
        "ReadCardCertificate": ["C.ENC", x509.serial, b64(&x509.certificate), "C.AUT"],
        "VerifyCertificate": ["INCONCLUSIVE", verify_certificate_response().roles],
        "GetJobNumber": get_job_number_response().job_number.as_str(),
        "SignDocument": ["KimSignRequest", b64(&sign_document_response().responses[0].signature.as_ref().unwrap().data)],
        "VerifyDocument": ["Warning", vr.status.code().unwrap(), vr.high_level_result.as_str()],
        "SignDocument-v7.4": ["KimSignRequest"],
        "EncryptDocument": b64(&encrypt_document_response().document.unwrap().data),
        "DecryptDocument": String::from_utf8(decrypt_document_response().document.unwrap().data).unwrap(),
        "ExternalAuthenticate": [SignatureType::ECDSA, 64],
        "Fault-4004": ["soap:Server", "Ungültige Mandanten-ID", "4004"],
    });
    assert_eq!(got, expected);
}
