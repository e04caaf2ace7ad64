//! connector.sds: lenient parsing of field shapes, version selection (KOM-LE-A_2077), ECC
//! capability (A_17464), endpoint rewrite, X-KIM-KONVersion.

use kim_konnektor::sds::ConnectorServices;
use kim_konnektor::{Service, ServiceVersion};

use crate::data_dir;
use crate::golden::sds_sample;

fn field_sds() -> ConnectorServices {
    ConnectorServices::parse(
        &std::fs::read(data_dir("field").join("sds-default-namespace.xml")).unwrap(),
    )
    .unwrap()
}

#[test]
fn default_namespace_product_information_with_missing_parts() {
    let sds = field_sds();
    let pi = &sds.product_information;
    assert_eq!(pi.product_type.as_deref(), Some("Konnektor"));
    assert_eq!(pi.fw_version.as_deref(), Some("4.10.1"));
    assert_eq!(pi.information_date, None);
    assert_eq!(pi.product_name, None);
    assert!(sds.tls_mandatory && sds.client_aut_mandatory);
    assert_eq!(sds.services.len(), 5);
    assert_eq!(
        pi.kon_version_header(),
        "<><Konnektor><4.80.3><2.0.0><4.10.1>"
    );
}

#[test]
fn highest_supported_version_per_service() {
    let sds = field_sds();
    let sig = sds.select(Service::SignatureService).unwrap();
    assert_eq!(sig.version, ServiceVersion::new(7, 5, 5));
    assert_eq!(
        sig.endpoint_tls.as_deref(),
        Some("https://192.168.10.20:443/service/v75/signservice")
    );
    // CardService 9.0.0 is in a WSDL namespace this crate does not implement.
    assert_eq!(
        sds.select(Service::CardService).unwrap().version,
        ServiceVersion::new(8, 1, 2)
    );
    assert_eq!(
        sds.select(Service::EncryptionService)
            .unwrap()
            .endpoint
            .as_deref(),
        Some("http://192.168.10.20:80/service/encryptionservice")
    );
    assert_eq!(sds.select(Service::EventService), None);
    assert!(sds.ecc_capable());
}

#[test]
fn ecc_capability_needs_both_minimum_versions() {
    let mut sds = field_sds();
    for s in &mut sds.services {
        s.versions.retain(|v| v.version != "6.1.1");
    }
    assert!(!sds.ecc_capable(), "EncryptionService 6.1.0 only");
    let mut sds = field_sds();
    for s in &mut sds.services {
        if s.name == "SignatureService" {
            s.versions.retain(|v| v.version == "7.4.0");
        }
    }
    assert!(!sds.ecc_capable(), "SignatureService 7.4.0 only");
    for s in &mut sds.services {
        if s.name == "SignatureService" {
            s.versions[0].version = "7.4.1".into();
        }
    }
    assert!(sds.ecc_capable());
}

#[test]
fn endpoint_rewrite_keeps_paths() {
    let mut sds = field_sds();
    sds.rewrite_endpoints("https://kon.example:8443/").unwrap();
    let sig = sds.select(Service::SignatureService).unwrap();
    assert_eq!(
        sig.endpoint_tls.as_deref(),
        Some("https://kon.example:8443/service/v75/signservice")
    );
    let enc = sds.select(Service::EncryptionService).unwrap();
    assert_eq!(
        enc.endpoint.as_deref(),
        Some("https://kon.example:8443/service/encryptionservice")
    );
    assert!(sds.rewrite_endpoints("kon.example").is_err());
    assert!(sds.rewrite_endpoints("https://kon.example/path").is_err());
}

#[test]
fn written_sds_round_trips_and_selects() {
    let sds = sds_sample();
    let again = ConnectorServices::parse(&sds.to_xml()).unwrap();
    assert_eq!(again, sds);
    assert_eq!(
        again.select(Service::SignatureService).unwrap().version,
        ServiceVersion::new(7, 5, 6)
    );
    assert_eq!(
        again.product_information.kon_version_header(),
        "<Konnektor-Simulator><Konnektor><5.1.0><1.0.0><0.1.0>"
    );
}

#[test]
fn not_an_sds() {
    assert!(ConnectorServices::parse(b"<x/>").is_err());
    assert!(ConnectorServices::parse(b"<!DOCTYPE x><x/>").is_err());
}
