//! The Admission extension parses with `openssl asn1parse -strparse` and carries the
//! Telematik-ID and profession OID.

use kim_testkit::pki::{Admission, KeyAlgorithm};

use crate::{openssl, pki, put};

/// Offset of the Admission extnValue OCTET STRING in `openssl asn1parse` output.
fn admission_offset(asn1: &str) -> String {
    let mut lines = asn1.lines();
    while let Some(line) = lines.next() {
        if line.contains("Professional Information or basis for Admission") {
            let next = lines.next().unwrap();
            assert!(next.contains("OCTET STRING"), "{next}");
            return next.split(':').next().unwrap().trim().to_string();
        }
    }
    panic!("no Admission extension in\n{asn1}");
}

#[test]
fn openssl_strparse_reads_admission_with_telematik_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for card in &pki().cards {
        for (_, _, issued) in card.all() {
            let pem = put(
                dir.path(),
                "c.pem",
                issued.certificate_pem().unwrap().as_bytes(),
            );
            let asn1 = openssl(&["asn1parse", "-in", &pem]).stdout;
            let offset = admission_offset(&asn1);
            let inner = openssl(&["asn1parse", "-in", &pem, "-strparse", &offset, "-i"]);
            assert!(inner.ok, "{}", inner.stderr);
            let expected_id = format!("PRINTABLESTRING   :{}", card.spec.telematik_id);
            assert!(inner.stdout.contains(&expected_id), "{}", inner.stdout);
            let expected_oid = format!(":{}", card.spec.profession_oid);
            assert!(inner.stdout.contains(&expected_oid), "{}", inner.stdout);
            assert!(
                inner.stdout.contains("cont [ 4 ]"),
                "admissionAuthority: {}",
                inner.stdout
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 18);
}

#[test]
fn admission_round_trips_through_the_parser() {
    let card = pki().card("2-2.58.00000041").unwrap();
    let issued = card.enc(KeyAlgorithm::BrainpoolP256r1);
    let admission = Admission::from_certificate_der(&issued.certificate_der)
        .unwrap()
        .unwrap();
    assert_eq!(admission.telematik_id(), Some("2-2.58.00000041"));
    assert_eq!(
        admission.profession_items,
        vec!["Zahnarztpraxis".to_string()]
    );
    assert_eq!(
        issued.telematik_id().unwrap().as_deref(),
        Some("2-2.58.00000041")
    );
    // TLS certificates have no Admission extension.
    let tls = pki().tls_entity("fachdienst").unwrap();
    assert!(
        Admission::from_certificate_der(&tls.issued.certificate_der)
            .unwrap()
            .is_none()
    );
}
