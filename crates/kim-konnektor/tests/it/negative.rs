//! Negative parser cases: each malformed request gives the right error (kind, path,
//! Konnektor code), never a panic.

use kim_konnektor::xml::{SchemaError, SchemaProblem, XmlError};
use kim_konnektor::{Operation, Request, RequestError, ResponseError};

use crate::data_dir;

const CT: &str = "text/xml; charset=UTF-8";
const SIG75: &str = "http://ws.gematik.de/conn/SignatureService/v7.5";

fn golden(name: &str) -> String {
    std::fs::read_to_string(data_dir("soap").join(name)).unwrap()
}

fn mutate(name: &str, from: &str, to: &str) -> String {
    let g = golden(name);
    assert!(g.contains(from), "{from} not in {name}");
    g.replacen(from, to, 1)
}

fn schema_err(xml: &str) -> (SchemaError, u32) {
    match Request::parse_envelope(CT, xml.as_bytes()) {
        Err(e @ RequestError::Schema(_)) => {
            let code = e.code();
            let RequestError::Schema(s) = e else {
                unreachable!()
            };
            (s, code)
        }
        other => panic!("expected a schema error, got {other:?}"),
    }
}

fn xml_err(xml: &[u8]) -> XmlError {
    match Request::parse_envelope(CT, xml) {
        Err(e @ RequestError::Xml(_)) => {
            assert_eq!(e.code(), 4000);
            let RequestError::Xml(x) = e else {
                unreachable!()
            };
            x
        }
        other => panic!("expected an XML error, got {other:?}"),
    }
}

#[test]
fn wrong_element_order() {
    let handle = "      <CONN:CardHandle>SMC-B-80276883110000123456</CONN:CardHandle>\n";
    let xml = golden("ReadCardCertificate-request.xml")
        .replacen(handle, "", 1)
        .replacen(
            "      </CCTX:Context>\n",
            &format!("      </CCTX:Context>\n{handle}"),
            1,
        );
    let (e, code) = schema_err(&xml);
    assert_eq!(code, 4000);
    assert_eq!(
        e.to_string(),
        "ReadCardCertificate: unexpected element {http://ws.gematik.de/conn/ConnectorContext/v2.0}Context, \
         expected {http://ws.gematik.de/conn/ConnectorCommon/v5.0}CardHandle"
    );
}

#[test]
fn unknown_element_in_optional_inputs() {
    let xml = mutate(
        "SignDocument-request.xml",
        "<SIG:IncludeEContent>",
        "<SIG:Foo/><SIG:IncludeEContent>",
    );
    let (e, code) = schema_err(&xml);
    assert_eq!(code, 4000);
    assert_eq!(
        e.to_string(),
        format!("SignDocument/SignRequest[1]/OptionalInputs: unexpected element {{{SIG75}}}Foo")
    );
}

#[test]
fn schema_valid_but_unsupported_option() {
    let xml = mutate(
        "SignDocument-request.xml",
        "<SIG:IncludeEContent>",
        "<SIG:ViewerInfo/><SIG:IncludeEContent>",
    );
    let (e, _) = schema_err(&xml);
    assert_eq!(
        e.path,
        "SignDocument/SignRequest[1]/OptionalInputs/ViewerInfo"
    );
    assert_eq!(e.problem, SchemaProblem::Unsupported("SIG:ViewerInfo"));
}

#[test]
fn missing_required_element() {
    let xml = mutate(
        "SignDocument-request.xml",
        "<SIG:IncludeRevocationInfo>false</SIG:IncludeRevocationInfo>",
        "",
    );
    let (e, _) = schema_err(&xml);
    assert_eq!(e.path, "SignDocument/SignRequest[1]");
    assert_eq!(
        e.problem,
        SchemaProblem::Missing(format!("{{{SIG75}}}IncludeRevocationInfo"))
    );
}

#[test]
fn missing_attribute() {
    let xml = mutate(
        "SignDocument-request.xml",
        " RequestID=\"KimSignRequest\"",
        "",
    );
    let (e, _) = schema_err(&xml);
    assert_eq!(e.problem, SchemaProblem::MissingAttribute("RequestID"));
}

#[test]
fn wrong_namespace() {
    let xml = mutate(
        "ReadCardCertificate-request.xml",
        "<CERT:CertRef>C.ENC</CERT:CertRef>",
        "<CERTCMN:CertRef xmlns:CERTCMN=\"http://ws.gematik.de/conn/CertificateServiceCommon/v2.0\">C.ENC</CERTCMN:CertRef>",
    );
    let (e, _) = schema_err(&xml);
    assert_eq!(e.path, "ReadCardCertificate/CertRefList");
    assert!(
        matches!(e.problem, SchemaProblem::Unexpected { ref found, .. } if found.contains("CertificateServiceCommon"))
    );
}

#[test]
fn rsa_ecc_is_not_a_certificate_service_crypt() {
    let xml = mutate(
        "ReadCardCertificate-request.xml",
        "<CERT:Crypt>ECC</CERT:Crypt>",
        "<CERT:Crypt>RSA_ECC</CERT:Crypt>",
    );
    let (e, _) = schema_err(&xml);
    assert_eq!(e.path, "ReadCardCertificate/Crypt");
}

#[test]
fn non_utf8_declaration() {
    let xml = mutate(
        "GetCards-request.xml",
        "encoding=\"UTF-8\"",
        "encoding=\"ISO-8859-1\"",
    );
    assert_eq!(
        xml_err(xml.as_bytes()),
        XmlError::Encoding("ISO-8859-1".into())
    );
    let latin1 = xml.replacen("Mandant1", "Mandant\u{e4}", 1);
    let bytes: Vec<u8> = latin1
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    assert!(matches!(xml_err(&bytes), XmlError::NotUtf8(_)));
}

#[test]
fn doctype_and_entities_are_rejected() {
    let xxe = mutate(
        "GetCards-request.xml",
        "<soap:Envelope",
        "<!DOCTYPE soap:Envelope [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<soap:Envelope",
    );
    assert_eq!(xml_err(xxe.as_bytes()), XmlError::Doctype);
    let entity = mutate("GetCards-request.xml", "Mandant1", "&x;");
    assert_eq!(xml_err(entity.as_bytes()), XmlError::Entity("x".into()));
}

#[test]
fn deep_nesting() {
    let deep = format!("{}{}", "<a>".repeat(70), "</a>".repeat(70));
    let xml = mutate(
        "SignDocument-request.xml",
        "<CMSAttribute>",
        &format!("{deep}<CMSAttribute>"),
    );
    assert_eq!(xml_err(xml.as_bytes()), XmlError::TooDeep);
}

#[test]
fn truncated_xml() {
    let g = golden("SignDocument-request.xml");
    for cut in [g.len() / 2, g.len() - 20, 60] {
        let e = xml_err(g.as_bytes().get(..cut).unwrap());
        assert!(
            matches!(e, XmlError::Truncated(_) | XmlError::Syntax { .. }),
            "{cut}: {e:?}"
        );
    }
}

#[test]
fn invalid_base64() {
    let xml = mutate(
        "DecryptDocument-request.xml",
        "<dss:Base64Data>",
        "<dss:Base64Data>*",
    );
    let (e, code) = schema_err(&xml);
    assert_eq!(code, 4000);
    assert_eq!(e.path, "DecryptDocument/Document/Base64Data");
    assert!(matches!(e.problem, SchemaProblem::Base64(_)));
}

#[test]
fn bad_job_number() {
    let xml = mutate(
        "SignDocument-request.xml",
        "<SIG:JobNumber>ABC-475<",
        "<SIG:JobNumber>SOFT-KON-001<",
    );
    let (e, _) = schema_err(&xml);
    assert_eq!(e.path, "SignDocument/JobNumber");
    assert!(matches!(e.problem, SchemaProblem::Value(ref v) if v.kind == "JobNumber"));
    // The same in a response the client parses.
    let resp = mutate("GetJobNumber-response.xml", ">ABC-475<", ">abc-475<");
    let err = kim_konnektor::ops::GetJobNumber::parse_response(resp.as_bytes()).unwrap_err();
    assert!(
        matches!(err, ResponseError::Schema(ref s) if s.path == "GetJobNumberResponse/JobNumber"),
        "{err:?}"
    );
}

#[test]
fn context_ids() {
    let long = "M".repeat(65);
    let xml = mutate("GetCards-request.xml", ">Mandant1<", &format!(">{long}<"));
    let (e, code) = schema_err(&xml);
    assert_eq!(code, 4000);
    assert_eq!(e.path, "GetCards/Context");
    assert!(matches!(e.problem, SchemaProblem::Value(ref v) if v.kind == "MandantId"));
    let ok64 = mutate(
        "GetCards-request.xml",
        ">Mandant1<",
        &format!(">{}<", "M".repeat(64)),
    );
    assert!(Request::parse_envelope(CT, ok64.as_bytes()).is_ok());
    let empty = mutate("GetCards-request.xml", ">Workplace1<", "><");
    let (_, code) = schema_err(&empty);
    assert_eq!(code, 4021);
}

#[test]
fn document_over_25_mb_is_4280() {
    let big = base64_of_len(26_214_401);
    let xml = mutate(
        "DecryptDocument-request.xml",
        "<dss:Base64Data>MAYCAQgEAf8=",
        &format!("<dss:Base64Data>{big}"),
    );
    let (e, code) = schema_err(&xml);
    assert_eq!(code, 4280, "{e}");
    let exact = base64_of_len(26_214_400);
    let ok = mutate(
        "DecryptDocument-request.xml",
        "<dss:Base64Data>MAYCAQgEAf8=",
        &format!("<dss:Base64Data>{exact}"),
    );
    let Request::DecryptDocument(d) = Request::parse_envelope(CT, ok.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(d.document.data.len(), 26_214_400);
}

fn base64_of_len(n: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(vec![0x42u8; n])
}

#[test]
fn unknown_operation_and_wrong_envelope() {
    let xml = mutate(
        "GetCards-request.xml",
        "EVT:GetCards ",
        "EVT:GetCardTerminals ",
    )
    .replace("</EVT:GetCards>", "</EVT:GetCardTerminals>");
    let e = Request::parse_envelope(CT, xml.as_bytes()).unwrap_err();
    assert_eq!(
        e,
        RequestError::UnknownOperation(
            "{http://ws.gematik.de/conn/EventService/v7.2}GetCardTerminals".into()
        )
    );
    assert_eq!(e.code(), 4000);
    let soap12 = golden("GetCards-request.xml").replace(
        "http://schemas.xmlsoap.org/soap/envelope/",
        "http://www.w3.org/2003/05/soap-envelope",
    );
    assert!(matches!(
        Request::parse_envelope(CT, soap12.as_bytes()),
        Err(RequestError::Envelope(_))
    ));
    let two = mutate("GetCards-request.xml", "  </soap:Body>", "<x/></soap:Body>");
    assert!(matches!(
        Request::parse_envelope(CT, two.as_bytes()),
        Err(RequestError::Envelope(_))
    ));
    assert!(matches!(
        Request::parse_envelope(
            "text/xml; charset=ISO-8859-1",
            golden("GetCards-request.xml").as_bytes()
        ),
        Err(RequestError::Body(_))
    ));
}

#[test]
fn response_of_the_wrong_operation() {
    let err =
        kim_konnektor::ops::GetCards::parse_response(golden("VerifyPin-response.xml").as_bytes())
            .unwrap_err();
    assert!(
        matches!(err, ResponseError::UnexpectedBody { .. }),
        "{err:?}"
    );
}

#[test]
fn request_error_becomes_a_4000_fault() {
    let xml = mutate(
        "SignDocument-request.xml",
        "<SIG:JobNumber>ABC-475<",
        "<SIG:JobNumber>X<",
    );
    let err = Request::parse_envelope(CT, xml.as_bytes()).unwrap_err();
    let fault = err.to_fault(kim_konnektor::model::DateTime::new("2025-01-01T00:00:00Z").unwrap());
    assert_eq!(fault.code(), Some(4000));
    assert_eq!(fault.fault_string, "Syntaxfehler");
    let detail = fault.error.as_ref().unwrap().traces[0]
        .detail
        .clone()
        .unwrap();
    assert!(detail.contains("SignDocument/JobNumber"), "{detail}");
    let env = fault.to_envelope();
    assert_eq!(
        kim_konnektor::ops::SignDocument::parse_response(&env)
            .unwrap_err()
            .code(),
        Some(4000)
    );
}

#[test]
fn crypt_is_refused_for_service_versions_without_it() {
    use kim_konnektor::ServiceVersion;
    use kim_konnektor::ops::{DecryptDocument, EncryptDocument, ReadCardCertificate};
    let read = crate::samples::read_card_certificate();
    let err = read.to_envelope(&ServiceVersion::new(6, 0, 0)).unwrap_err();
    assert_eq!(err.element, "CERT:Crypt");
    assert!(read.to_envelope(&ServiceVersion::new(6, 0, 1)).is_ok());
    let without = ReadCardCertificate {
        crypt: None,
        ..read
    };
    assert!(without.to_envelope(&ServiceVersion::new(6, 0, 0)).is_ok());
    let dec = crate::samples::decrypt_document();
    assert!(dec.to_envelope(&ServiceVersion::new(6, 1, 0)).is_err());
    assert!(DecryptDocument::to_envelope(&dec, &ServiceVersion::new(6, 1, 1)).is_ok());
    let enc = crate::samples::encrypt_document();
    assert!(EncryptDocument::to_envelope(&enc, &ServiceVersion::new(6, 1, 0)).is_err());
    let read = crate::samples::read_card_certificate();
    let empty = ReadCardCertificate {
        cert_refs: vec![],
        ..read
    };
    assert_eq!(
        empty
            .to_envelope(&ServiceVersion::new(6, 0, 1))
            .unwrap_err()
            .element,
        "CERT:CertRefList"
    );
}
