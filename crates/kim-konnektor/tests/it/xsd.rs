//! Every golden file validates with `xmllint --schema` against the vendored gematik XSDs.
//! A generated wrapper schema imports the service schemas and a minimal SOAP 1.1 envelope
//! schema whose `Body` content is validated strictly, so the body element is checked against
//! its global element declaration. The test fails if xmllint is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::data_dir;

const SOAP_XSD: &str = r###"<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
    targetNamespace="http://schemas.xmlsoap.org/soap/envelope/" elementFormDefault="qualified">
  <xs:element name="Envelope">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="Header" minOccurs="0">
          <xs:complexType><xs:sequence><xs:any namespace="##other" processContents="lax" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
        </xs:element>
        <xs:element name="Body">
          <xs:complexType><xs:sequence><xs:any namespace="##any" processContents="strict" minOccurs="1" maxOccurs="1"/></xs:sequence></xs:complexType>
        </xs:element>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
  <xs:element name="Fault">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="faultcode" type="xs:QName" form="unqualified"/>
        <xs:element name="faultstring" type="xs:string" form="unqualified"/>
        <xs:element name="faultactor" type="xs:anyURI" form="unqualified" minOccurs="0"/>
        <xs:element name="detail" form="unqualified" minOccurs="0">
          <xs:complexType><xs:sequence><xs:any namespace="##any" processContents="strict" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
        </xs:element>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
"###;

/// Namespace → vendored schema file (relative to spec/konnektor).
const IMPORTS: &[(&str, &str)] = &[
    (
        "http://ws.gematik.de/conn/EventService/v7.2",
        "conn/EventService.xsd",
    ),
    (
        "http://ws.gematik.de/conn/CardService/v8.1",
        "conn/CardService_v8_1_3.xsd",
    ),
    (
        "http://ws.gematik.de/conn/CertificateService/v6.0",
        "conn/CertificateService_v6_0_2.xsd",
    ),
    (
        "http://ws.gematik.de/conn/SignatureService/v7.5",
        "conn/SignatureService_V7_5_6.xsd",
    ),
    (
        "http://ws.gematik.de/conn/SignatureService/v7.4",
        "conn/SignatureService_V7_4_4.xsd",
    ),
    (
        "http://ws.gematik.de/conn/EncryptionService/v6.1",
        "conn/EncryptionService_v6_1_2.xsd",
    ),
    (
        "http://ws.gematik.de/conn/ServiceDirectory/v3.1",
        "conn/ServiceDirectory.xsd",
    ),
    (
        "http://ws.gematik.de/tel/error/v2.0",
        "tel/error/TelematikError.xsd",
    ),
];

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../spec/konnektor")
        .canonicalize()
        .unwrap()
}

/// Writes the wrapper schema into `dir` and returns its path.
pub fn wrapper_schema(dir: &Path) -> PathBuf {
    wrapper_schema_with(dir, "all.xsd", &[])
}

/// Like [`wrapper_schema`], with some namespaces mapped to other schema files.
pub fn wrapper_schema_with(dir: &Path, name: &str, overrides: &[(&str, &str)]) -> PathBuf {
    let soap = dir.join("soap-envelope.xsd");
    std::fs::write(&soap, SOAP_XSD).unwrap();
    let mut xsd = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n",
    );
    xsd.push_str(&format!(
        "  <xs:import namespace=\"http://schemas.xmlsoap.org/soap/envelope/\" schemaLocation=\"{}\"/>\n",
        soap.display()
    ));
    for (ns, file) in IMPORTS {
        let file = overrides
            .iter()
            .find(|(o, _)| o == ns)
            .map_or(*file, |(_, f)| *f);
        xsd.push_str(&format!(
            "  <xs:import namespace=\"{ns}\" schemaLocation=\"{}\"/>\n",
            spec_dir().join(file).display()
        ));
    }
    xsd.push_str("</xs:schema>\n");
    let path = dir.join(name);
    std::fs::write(&path, xsd).unwrap();
    path
}

/// Runs xmllint on `files`; returns (success, combined output).
pub fn xmllint(schema: &Path, files: &[PathBuf]) -> (bool, String) {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema)
        .args(files)
        .output()
        .expect("xmllint must be installed (libxml2-utils; scripts/test installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn golden_files_validate_against_the_gematik_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = wrapper_schema(tmp.path());
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir("soap"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    assert!(files.len() > 30, "found only {} golden files", files.len());
    let (ok, out) = xmllint(&schema, &files);
    assert!(ok, "{out}");
    for f in &files {
        assert!(
            out.contains(&format!("{} validates", f.display())),
            "{} not reported valid:\n{out}",
            f.display()
        );
    }
}

#[test]
fn external_authenticate_validates_against_the_auth_signature_service_schema() {
    // AuthSignatureService_v7_4_1.wsdl imports SignatureService.xsd (7.4.2), not 7.4.4.
    let tmp = tempfile::tempdir().unwrap();
    let schema = wrapper_schema_with(
        tmp.path(),
        "auth.xsd",
        &[(
            "http://ws.gematik.de/conn/SignatureService/v7.4",
            "conn/SignatureService.xsd",
        )],
    );
    let files: Vec<PathBuf> = [
        "ExternalAuthenticate-request.xml",
        "ExternalAuthenticate-response.xml",
    ]
    .iter()
    .map(|f| data_dir("soap").join(f))
    .collect();
    let (ok, out) = xmllint(&schema, &files);
    assert!(ok, "{out}");
}

#[test]
fn the_validator_rejects_wrong_order_and_wrong_namespace() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = wrapper_schema(tmp.path());
    let golden =
        std::fs::read_to_string(data_dir("soap").join("ReadCardCertificate-request.xml")).unwrap();
    // CardHandle after Context instead of before.
    let handle = "      <CONN:CardHandle>SMC-B-80276883110000123456</CONN:CardHandle>\n";
    let reordered = golden.replacen(handle, "", 1).replacen(
        "      </CCTX:Context>\n",
        &format!("      </CCTX:Context>\n{handle}"),
        1,
    );
    assert_ne!(reordered, golden);
    // CertRef in the CERTCMN namespace instead of CERT.
    let wrong_ns = golden.replace("<CERT:CertRef>C.ENC</CERT:CertRef>", "<CERTCMN:CertRef xmlns:CERTCMN=\"http://ws.gematik.de/conn/CertificateServiceCommon/v2.0\">C.ENC</CERTCMN:CertRef>");
    assert_ne!(wrong_ns, golden);
    for (name, text) in [("reordered.xml", reordered), ("wrong-ns.xml", wrong_ns)] {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        let (ok, out) = xmllint(&schema, std::slice::from_ref(&p));
        assert!(!ok, "{name} unexpectedly valid: {out}");
    }
}
