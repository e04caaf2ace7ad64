//! Shapes seen from Konnektors in the field (own sample files in tests/data/field): default
//! namespaces, JAX-WS style prefixes, vendor traces before the gematik code, faults from older
//! Konnektors, MTOM request bodies, requests without SOAPAction.

use kim_konnektor::model::{CardType, ResultKind};
use kim_konnektor::ops::{DecryptDocument, GetCards, ReadCardCertificate, SignDocument};
use kim_konnektor::{Operation, Request, RequestError, ResponseError, fault::FaultCode};

use crate::{data_dir, samples};

fn field(name: &str) -> Vec<u8> {
    std::fs::read(data_dir("field").join(name)).unwrap()
}

#[test]
fn fault_with_gerror_in_default_namespace_gives_the_last_trace_code() {
    let err = SignDocument::parse_response(&field("fault-default-namespace.xml")).unwrap_err();
    let ResponseError::Fault(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(f.fault_code, FaultCode::Server);
    assert_eq!(err.code(), Some(4085));
    let e = f.error.as_ref().unwrap();
    assert_eq!(e.traces.len(), 2);
    assert_eq!(e.traces[0].code, 104_711);
    assert_eq!(e.traces[1].detail.as_deref(), Some("PIN.SMC"));
    assert_eq!(e.message_id, "");
}

#[test]
fn old_konnektor_rejects_crypt_with_4000() {
    let err = ReadCardCertificate::parse_response(&field("readcert-fault-4000-old-konnektor.xml"))
        .unwrap_err();
    let ResponseError::Fault(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(f.fault_code, FaultCode::Client);
    assert_eq!(f.code(), Some(4000));
    assert!(
        f.error.as_ref().unwrap().traces[0]
            .detail
            .as_deref()
            .unwrap()
            .starts_with("cvc-complex-type.2.4.d")
    );
}

#[test]
fn get_cards_response_with_arbitrary_prefixes_and_default_namespaces() {
    let r = GetCards::parse_response(&field("getcards-response-jaxws-prefixes.xml")).unwrap();
    assert_eq!(r.status.result, ResultKind::Ok);
    assert_eq!(r.cards.len(), 2);
    assert_eq!(r.cards[0].card_type, CardType::SmcB);
    assert_eq!(
        r.cards[0].iccsn.as_ref().unwrap().as_str(),
        "80276001011699900861"
    );
    assert_eq!(
        r.cards[0]
            .certificate_expiration_date
            .as_ref()
            .unwrap()
            .as_str(),
        "2028-06-30+02:00"
    );
    assert_eq!(r.cards[1].handle.as_str(), "b19e");
    assert_eq!(r.cards[1].slot_id, 4);
}

#[test]
fn mtom_request_is_resolved() {
    let golden =
        std::fs::read_to_string(data_dir("soap").join("DecryptDocument-request.xml")).unwrap();
    let with_xop = golden.replace(
        "<dss:Base64Data>MAYCAQgEAf8=</dss:Base64Data>",
        "<dss:Base64Data><xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:doc%401\"/></dss:Base64Data>",
    );
    assert_ne!(with_xop, golden);
    let payload = samples::der(8);
    let mut body = Vec::new();
    body.extend_from_slice(b"--MIMEBoundary_1\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"text/xml\"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <root.message@cxf.apache.org>\r\n\r\n");
    body.extend_from_slice(with_xop.as_bytes());
    body.extend_from_slice(b"\r\n--MIMEBoundary_1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <doc@1>\r\n\r\n");
    body.extend_from_slice(&payload);
    body.extend_from_slice(b"\r\n--MIMEBoundary_1--\r\n");
    let ct = "multipart/related; type=\"application/xop+xml\"; boundary=\"MIMEBoundary_1\"; start=\"<root.message@cxf.apache.org>\"; start-info=\"text/xml\"";
    let (Request::DecryptDocument(d), true) = Request::parse_http(ct, &body).unwrap() else {
        panic!()
    };
    assert_eq!(d, samples::decrypt_document());
    // A reference to a missing part names it.
    let broken = String::from_utf8_lossy(&body).replace("cid:doc%401", "cid:nope");
    let err = Request::parse_envelope(ct, broken.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    // MTOM is refused for the CardService.
    let pin = std::fs::read_to_string(data_dir("soap").join("VerifyPin-request.xml")).unwrap();
    let mtom_pin = format!("--b\r\nContent-ID: <r>\r\n\r\n{pin}\r\n--b--\r\n");
    let err = Request::parse_envelope(
        "multipart/related; type=\"application/xop+xml\"; boundary=b",
        mtom_pin.as_bytes(),
    )
    .unwrap_err();
    assert_eq!(err, RequestError::MtomNotAllowed("CardService"));
}

#[test]
fn header_and_whitespace_variants_are_accepted() {
    let golden = std::fs::read_to_string(data_dir("soap").join("GetCards-request.xml")).unwrap();
    let with_header = golden.replace("<soap:Body>", "<soap:Header><wsa:Action xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">x</wsa:Action></soap:Header><soap:Body>");
    let crlf = golden.replace('\n', "\r\n");
    for (ct, xml) in [("text/xml", with_header), ("text/xml;charset=utf-8", crlf)] {
        let r = Request::parse_envelope(ct, xml.as_bytes()).unwrap();
        assert_eq!(r, Request::GetCards(samples::get_cards()));
    }
    let _ = DecryptDocument::NAME;
}

#[test]
fn request_accessors_for_the_access_check() {
    let read = |f: &str| std::fs::read(data_dir("soap").join(f)).unwrap();
    let sign = Request::parse_envelope("text/xml", &read("SignDocument-v7.4-request.xml")).unwrap();
    assert_eq!(sign.context(), &samples::ctx());
    assert_eq!(sign.card_handle(), Some(&samples::handle()));
    assert_eq!(
        (sign.name(), sign.service()),
        ("SignDocument", kim_konnektor::Service::SignatureService)
    );
    let cards = Request::parse_envelope("text/xml", &read("GetCards-request.xml")).unwrap();
    assert_eq!(cards.card_handle(), None);
    let auth =
        Request::parse_envelope("text/xml", &read("ExternalAuthenticate-request.xml")).unwrap();
    assert_eq!(auth.service(), kim_konnektor::Service::AuthSignatureService);
}

#[test]
fn transient_faults() {
    let fault = |code| {
        let f = kim_konnektor::SoapFault::standard(code, samples::ts("2025-01-01T00:00:00Z"), None);
        GetCards::parse_response(&f.to_envelope()).unwrap_err()
    };
    assert!(fault(4002).is_transient());
    assert!(!fault(4085).is_transient());
}

#[test]
fn detailed_verification_report_from_a_konnektor() {
    use kim_konnektor::model::{DetailResult, VerificationResult};
    let r = kim_konnektor::ops::VerifyDocument::parse_response(&field(
        "verifydocument-response-detailed-report.xml",
    ))
    .unwrap();
    assert_eq!(r.status.result, ResultKind::Warning);
    assert_eq!(r.status.code(), Some(4115));
    assert_eq!(r.high_level_result, VerificationResult::Invalid);
    let report = r.report.unwrap();
    assert_eq!(
        report.verification_time.unwrap().as_str(),
        "2024-05-14T08:12:44Z"
    );
    let s = &report.signers[0];
    assert_eq!(report.signers.len(), 1);
    assert_eq!(
        (s.format_ok, s.sig_math_ok, s.path_validity),
        (
            DetailResult::Valid,
            DetailResult::Invalid,
            DetailResult::Valid
        )
    );
    assert_eq!(s.signer_serial, "400000000000123");
    assert_eq!(
        s.result_major,
        "urn:oasis:names:tc:dss:1.0:resultmajor:ResponderError"
    );
    assert_eq!(
        s.signer_issuer,
        "C=DE, O=gematik GmbH NOT-VALID, CN=GEM.SMCB-CA9 TEST-ONLY"
    );
}

#[test]
fn mtom_response_round_trip_and_python_email_reads_it() {
    use kim_konnektor::model::{Document, Status};
    use kim_konnektor::ops::DecryptDocumentResponse;
    let data: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    let resp = DecryptDocumentResponse {
        status: Status::ok(),
        document: Some(Document::new(data.clone())),
    };
    let (ct, body) = kim_konnektor::Response::DecryptDocument(resp.clone())
        .to_mtom_envelope()
        .unwrap();
    assert!(
        ct.starts_with("multipart/related; type=\"application/xop+xml\""),
        "{ct}"
    );
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("<dss:Base64Data><xop:Include"), "{text}");
    assert_eq!(
        DecryptDocument::parse_http_response(&ct, &body).unwrap(),
        resp
    );
    // Small values stay inline.
    let small = kim_konnektor::Response::DecryptDocument(samples::decrypt_document_response());
    let (ct2, body2) = small.to_mtom_envelope().unwrap();
    assert!(!String::from_utf8_lossy(&body2).contains("xop:Include"));
    assert_eq!(
        DecryptDocument::parse_http_response(&ct2, &body2).unwrap(),
        samples::decrypt_document_response()
    );
    // An independent MIME parser (Python's email package) sees the root part and the binary part.
    let dir = tempfile::tempdir().unwrap();
    let (msg_path, data_path) = (dir.path().join("mtom.bin"), dir.path().join("data.bin"));
    let mut msg = format!("Content-Type: {ct}\r\nMIME-Version: 1.0\r\n\r\n").into_bytes();
    msg.extend_from_slice(&body);
    std::fs::write(&msg_path, &msg).unwrap();
    std::fs::write(&data_path, &data).unwrap();
    let script = "import email,sys\n\
        m=email.message_from_bytes(open(sys.argv[1],'rb').read())\n\
        ps=m.get_payload()\n\
        same=ps[1].get_payload(decode=True)==open(sys.argv[2],'rb').read()\n\
        print(len(ps), ps[0].get_content_type(), ps[1]['Content-ID'], same)";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&msg_path)
        .arg(&data_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "2 application/xop+xml <part1@kim-konnektor> True"
    );
}
