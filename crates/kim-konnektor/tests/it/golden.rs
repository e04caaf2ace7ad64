//! Golden SOAP envelopes for every operation (requests and responses), faults 4000, 4004,
//! 4085, 4280 and connector.sds. `UPDATE_EXPECT=1` rewrites the files from the writers;
//! otherwise the writers must reproduce them byte for byte and the parsers must read them
//! back to equal values.

use kim_konnektor::model::DateTime;
use kim_konnektor::ops::*;
use kim_konnektor::sds::ConnectorServices;
use kim_konnektor::{Operation, Request, Response, ServiceVersion, SigNamespace, SoapFault};

use crate::samples::*;
use crate::{data_dir, update_expect};

/// Parses golden bytes back and compares them with the value they were written from.
pub type Check = Box<dyn Fn(&[u8]) -> Result<(), String>>;

/// A golden case: file name, the writer's bytes, and a check that parses the bytes back.
pub struct Case {
    pub file: String,
    pub bytes: Vec<u8>,
    pub check: Check,
}

const CT: &str = "text/xml; charset=UTF-8";

fn v(s: &str) -> ServiceVersion {
    ServiceVersion::parse(s).unwrap()
}

fn request_case<O: Operation + 'static>(
    file: &str,
    op: O,
    version: &str,
    expected: Request,
) -> Case {
    let bytes = op.to_envelope(&v(version)).unwrap();
    Case {
        file: file.to_owned(),
        bytes,
        check: Box::new(move |b| {
            let got = Request::parse_envelope(CT, b).map_err(|e| e.to_string())?;
            if got == expected {
                Ok(())
            } else {
                Err(format!("parsed {got:?}"))
            }
        }),
    }
}

fn response_case<O>(file: &str, response: Response, expected: O::Response) -> Case
where
    O: Operation + 'static,
    O::Response: PartialEq + std::fmt::Debug + 'static,
{
    let bytes = response.to_envelope().unwrap();
    Case {
        file: file.to_owned(),
        bytes,
        check: Box::new(move |b| {
            let got = O::parse_response(b).map_err(|e| e.to_string())?;
            if got == expected {
                Ok(())
            } else {
                Err(format!("parsed {got:?}"))
            }
        }),
    }
}

fn fault_case(file: &str, fault: SoapFault) -> Case {
    let bytes = fault.to_envelope();
    Case {
        file: file.to_owned(),
        bytes,
        check: Box::new(move |b| match GetCards::parse_response(b) {
            Err(kim_konnektor::ResponseError::Fault(f)) if f == fault => Ok(()),
            other => Err(format!("parsed {other:?}")),
        }),
    }
}

macro_rules! pair {
    ($out:ident, $name:literal, $op:ty, $req:expr, $ver:literal, $reqv:expr, $resp:expr, $respv:expr) => {
        $out.push(request_case(
            concat!($name, "-request.xml"),
            $req,
            $ver,
            $reqv,
        ));
        $out.push(response_case::<$op>(
            concat!($name, "-response.xml"),
            $respv,
            $resp,
        ));
    };
}

/// All SOAP golden cases.
pub fn soap_cases() -> Vec<Case> {
    let (v74, v75) = (SigNamespace::V7_4, SigNamespace::V7_5);
    let mut c = Vec::with_capacity(40);
    pair!(
        c,
        "GetCards",
        GetCards,
        get_cards(),
        "7.2.0",
        Request::GetCards(get_cards()),
        get_cards_response(),
        Response::GetCards(get_cards_response())
    );
    pair!(
        c,
        "GetPinStatus",
        GetPinStatus,
        get_pin_status(),
        "8.1.2",
        Request::GetPinStatus(get_pin_status()),
        get_pin_status_response(),
        Response::GetPinStatus(get_pin_status_response())
    );
    pair!(
        c,
        "VerifyPin",
        VerifyPin,
        verify_pin(),
        "8.1.2",
        Request::VerifyPin(verify_pin()),
        verify_pin_response(),
        Response::VerifyPin(verify_pin_response())
    );
    pair!(
        c,
        "ReadCardCertificate",
        ReadCardCertificate,
        read_card_certificate(),
        "6.0.1",
        Request::ReadCardCertificate(read_card_certificate()),
        read_card_certificate_response(),
        Response::ReadCardCertificate(read_card_certificate_response())
    );
    pair!(
        c,
        "VerifyCertificate",
        VerifyCertificate,
        verify_certificate(),
        "6.0.1",
        Request::VerifyCertificate(verify_certificate()),
        verify_certificate_response(),
        Response::VerifyCertificate(verify_certificate_response())
    );
    pair!(
        c,
        "GetJobNumber",
        GetJobNumber,
        get_job_number(),
        "7.5.6",
        Request::GetJobNumber(get_job_number(), v75),
        get_job_number_response(),
        Response::GetJobNumber(get_job_number_response(), v75)
    );
    pair!(
        c,
        "GetJobNumber-v7.4",
        GetJobNumber,
        get_job_number(),
        "7.4.2",
        Request::GetJobNumber(get_job_number(), v74),
        get_job_number_response(),
        Response::GetJobNumber(get_job_number_response(), v74)
    );
    pair!(
        c,
        "SignDocument",
        SignDocument,
        sign_document(),
        "7.5.6",
        Request::SignDocument(sign_document(), v75),
        sign_document_response(),
        Response::SignDocument(sign_document_response(), v75)
    );
    pair!(
        c,
        "SignDocument-v7.4",
        SignDocument,
        sign_document(),
        "7.4.2",
        Request::SignDocument(sign_document(), v74),
        sign_document_response(),
        Response::SignDocument(sign_document_response(), v74)
    );
    pair!(
        c,
        "VerifyDocument",
        VerifyDocument,
        verify_document(),
        "7.5.6",
        Request::VerifyDocument(verify_document(), v75),
        verify_document_response(),
        Response::VerifyDocument(verify_document_response(), v75)
    );
    pair!(
        c,
        "VerifyDocument-v7.4",
        VerifyDocument,
        verify_document(),
        "7.4.2",
        Request::VerifyDocument(verify_document(), v74),
        verify_document_response(),
        Response::VerifyDocument(verify_document_response(), v74)
    );
    pair!(
        c,
        "EncryptDocument",
        EncryptDocument,
        encrypt_document(),
        "6.1.1",
        Request::EncryptDocument(encrypt_document()),
        encrypt_document_response(),
        Response::EncryptDocument(encrypt_document_response())
    );
    pair!(
        c,
        "DecryptDocument",
        DecryptDocument,
        decrypt_document(),
        "6.1.1",
        Request::DecryptDocument(decrypt_document()),
        decrypt_document_response(),
        Response::DecryptDocument(decrypt_document_response())
    );
    pair!(
        c,
        "ExternalAuthenticate",
        ExternalAuthenticate,
        external_authenticate(),
        "7.4.1",
        Request::ExternalAuthenticate(external_authenticate()),
        external_authenticate_response(),
        Response::ExternalAuthenticate(external_authenticate_response())
    );
    let t = || DateTime::new("2025-01-01T12:00:00Z").unwrap();
    c.push(fault_case("Fault-4000.xml", SoapFault::standard(4000, t(), Some("cvc-complex-type.2.4.a: Invalid content was found starting with element 'CERT:Crypt'".into()))));
    let mut f4004 = SoapFault::standard(4004, t(), Some("MandantId 'MandantX' unknown".into()));
    f4004.error = Some(error(
        4004,
        kim_konnektor::fault::Severity::Error,
        Some("MandantId 'MandantX' unknown"),
    ));
    c.push(fault_case("Fault-4004.xml", f4004));
    c.push(fault_case(
        "Fault-4085.xml",
        SoapFault::standard(4085, t(), None),
    ));
    c.push(fault_case(
        "Fault-4280.xml",
        SoapFault::standard(4280, t(), Some("document of 26214401 bytes".into())),
    ));
    c
}

/// The simulator-style connector.sds.
pub fn sds_sample() -> ConnectorServices {
    use kim_konnektor::sds::*;
    let version = |ns: &str, v: &str, path: &str| ServiceVersionInfo {
        target_namespace: ns.into(),
        version: v.into(),
        abstract_text: Some(format!("Version {v}")),
        endpoint: None,
        endpoint_tls: Some(format!("https://konnektor.local:443/ws/{path}")),
        wsdl: None,
    };
    let service = |name: &str, versions| ServiceInfo {
        name: name.into(),
        abstract_text: Some(name.into()),
        versions,
    };
    let w = "http://ws.gematik.de/conn/";
    ConnectorServices {
        product_information: ProductInformation {
            information_date: Some("2025-01-01T12:00:00Z".into()),
            product_type: Some("Konnektor".into()),
            product_type_version: Some("5.1.0".into()),
            product_vendor_id: Some("OSKIM".into()),
            product_code: Some("KONSIM".into()),
            hw_version: Some("1.0.0".into()),
            fw_version: Some("0.1.0".into()),
            central_version: None,
            product_vendor_name: Some("KIM in Rust".into()),
            product_name: Some("Konnektor-Simulator".into()),
        },
        tls_mandatory: true,
        client_aut_mandatory: false,
        services: vec![
            service(
                "EventService",
                vec![version(
                    &format!("{w}EventService/WSDL/v7.2"),
                    "7.2.0",
                    "EventService",
                )],
            ),
            service(
                "CardService",
                vec![
                    version(&format!("{w}CardService/WSDL/v8.1"), "8.1.0", "CardService"),
                    version(&format!("{w}CardService/WSDL/v8.1"), "8.1.2", "CardService"),
                ],
            ),
            service(
                "CertificateService",
                vec![version(
                    &format!("{w}CertificateService/WSDL/v6.0"),
                    "6.0.1",
                    "CertificateService",
                )],
            ),
            service(
                "SignatureService",
                vec![
                    version(
                        &format!("{w}SignatureService/WSDL/v7.4"),
                        "7.4.2",
                        "SignatureService/v7.4",
                    ),
                    ServiceVersionInfo {
                        endpoint: Some("http://konnektor.local:80/ws/SignatureService/v7.5".into()),
                        ..version(
                            &format!("{w}SignatureService/WSDL/v7.5"),
                            "7.5.6",
                            "SignatureService/v7.5",
                        )
                    },
                ],
            ),
            service(
                "EncryptionService",
                vec![version(
                    &format!("{w}EncryptionService/WSDL/v6.1"),
                    "6.1.1",
                    "EncryptionService",
                )],
            ),
            service(
                "AuthSignatureService",
                vec![version(
                    &format!("{w}AuthSignatureService/WSDL/v7.4"),
                    "7.4.1",
                    "AuthSignatureService",
                )],
            ),
        ],
    }
}

fn sds_case() -> Case {
    let sds = sds_sample();
    Case {
        file: "connector.sds.xml".into(),
        bytes: sds.to_xml(),
        check: Box::new(move |b| {
            let got = ConnectorServices::parse(b).map_err(|e| e.to_string())?;
            if got == sds {
                Ok(())
            } else {
                Err(format!("parsed {got:?}"))
            }
        }),
    }
}

pub fn all_cases() -> Vec<Case> {
    let mut c = soap_cases();
    c.push(sds_case());
    c
}

#[test]
fn writers_reproduce_golden_files_and_parsers_read_them_back() {
    let dir = data_dir("soap");
    let cases = all_cases();
    assert!(cases.len() >= 2 * 14 + 5);
    let mut failures = Vec::new();
    for case in &cases {
        let path = dir.join(&case.file);
        if update_expect() {
            std::fs::write(&path, &case.bytes).unwrap();
        }
        let golden = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_EXPECT=1)", path.display()));
        if golden != case.bytes {
            failures.push(format!(
                "{}: writer output differs from the golden file",
                case.file
            ));
            continue;
        }
        if let Err(e) = (case.check)(&golden) {
            failures.push(format!("{}: {e}", case.file));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_golden_file_has_a_case() {
    let names: Vec<String> = all_cases().into_iter().map(|c| c.file).collect();
    let mut found = 0;
    for entry in std::fs::read_dir(data_dir("soap")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(names.contains(&name), "stale golden file {name}");
        found += 1;
    }
    assert_eq!(found, names.len());
}

#[test]
fn soap_actions_match_the_wsdls() {
    let a = |s: String| s;
    assert_eq!(
        a(GetCards::soap_action(&v("7.2.0"))),
        "http://ws.gematik.de/conn/EventService/v7.2#GetCards"
    );
    assert_eq!(
        SignDocument::soap_action(&v("7.5.6")),
        "http://ws.gematik.de/conn/SignatureService/v7.5#SignDocument"
    );
    assert_eq!(
        SignDocument::soap_action(&v("7.4.2")),
        "http://ws.gematik.de/conn/SignatureService/v7.4#SignDocument"
    );
    assert_eq!(
        DecryptDocument::soap_action(&v("6.1.1")),
        "http://ws.gematik.de/conn/crypt/EncryptionService/v6.1#DecryptDocument"
    );
    assert_eq!(
        ExternalAuthenticate::soap_action(&v("7.4.1")),
        "http://ws.gematik.de/conn/SignatureService/v7.4#ExternalAuthenticate"
    );
    // Every action appears verbatim in the vendored WSDLs.
    let wsdl_dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/konnektor/conn");
    let mut all = String::new();
    for e in std::fs::read_dir(wsdl_dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "wsdl") {
            all.push_str(&std::fs::read_to_string(p).unwrap());
        }
    }
    let actions = [
        GetCards::soap_action(&v("7.2.0")),
        GetPinStatus::soap_action(&v("8.1.2")),
        VerifyPin::soap_action(&v("8.1.2")),
        ReadCardCertificate::soap_action(&v("6.0.1")),
        VerifyCertificate::soap_action(&v("6.0.1")),
        GetJobNumber::soap_action(&v("7.5.6")),
        GetJobNumber::soap_action(&v("7.4.2")),
        SignDocument::soap_action(&v("7.5.6")),
        VerifyDocument::soap_action(&v("7.4.2")),
        EncryptDocument::soap_action(&v("6.1.1")),
        DecryptDocument::soap_action(&v("6.1.1")),
        ExternalAuthenticate::soap_action(&v("7.4.1")),
    ];
    for action in actions {
        assert!(
            all.contains(&format!("soapAction=\"{action}\"")),
            "{action} not in any WSDL"
        );
    }
}
