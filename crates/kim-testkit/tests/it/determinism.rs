//! Same spec, same bytes; adding a card changes nothing else; another seed changes all.

use kim_testkit::pki::{CardKind, CardSpec, PkiSpec, TestPki, profiles};

use crate::pki;

/// (label, certificate DER, PKCS#8 DER) of every CA, card and TLS certificate.
fn material(pki: &TestPki) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let mut all: Vec<_> = pki
        .cas()
        .iter()
        .map(|ca| {
            (
                ca.label.clone(),
                ca.certificate_der.clone(),
                ca.private_key_pkcs8_der.to_vec(),
            )
        })
        .collect();
    for card in &pki.cards {
        for (_, _, issued) in card.all() {
            all.push((
                issued.label.clone(),
                issued.certificate_der.clone(),
                issued.private_key_pkcs8_der.to_vec(),
            ));
        }
    }
    for tls in &pki.tls {
        all.push((
            tls.issued.label.clone(),
            tls.issued.certificate_der.clone(),
            tls.issued.private_key_pkcs8_der.to_vec(),
        ));
    }
    all
}

#[test]
fn same_spec_gives_byte_identical_certificates_and_keys() {
    let again = TestPki::generate(&PkiSpec::small_default()).unwrap();
    let first = material(pki());
    assert_eq!(first.len(), 8 + 18 + 3);
    assert_eq!(first, material(&again));
}

#[test]
fn adding_a_card_leaves_every_other_entity_unchanged() {
    let mut spec = PkiSpec::small_default();
    spec.cards.push(CardSpec {
        kind: CardKind::Hba,
        holder: "Dr. Carla Zahn TEST-ONLY".into(),
        telematik_id: "2-1.58.00000051".into(),
        profession_oid: profiles::OID_ZAHNARZT,
        iccsn: "80276883110000200002".into(),
        email: None,
    });
    let extended = TestPki::generate(&spec).unwrap();
    let extended_material = material(&extended);
    for entry in material(pki()) {
        assert!(extended_material.contains(&entry), "{} changed", entry.0);
    }
    let added = extended.card("2-1.58.00000051").unwrap();
    assert_eq!(added.all().len(), 6);
}

#[test]
fn another_seed_gives_other_keys() {
    let bare = |seed| TestPki::generate(&PkiSpec::from_u64_seed(seed)).unwrap();
    let (a, b) = (bare(1), bare(2));
    assert_ne!(a.root_rsa.certificate_der, b.root_rsa.certificate_der);
    assert_ne!(
        *a.root_ecc.private_key_pkcs8_der,
        *b.root_ecc.private_key_pkcs8_der
    );
    assert_ne!(a.root_rsa.certificate_der, pki().root_rsa.certificate_der);
}
