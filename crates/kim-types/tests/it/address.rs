//! Addresses as keys: the Clientmodul maps recipients to certificates by address, whatever
//! case the mail client or the directory used.

use std::collections::{BTreeSet, HashMap};

use kim_types::{AddressError, KimAddress};

#[test]
fn addresses_from_different_sources_meet_in_one_map() {
    let from_vzd = KimAddress::parse("praxis.dr.mueller@arzt.kim.telematik").unwrap();
    let from_client: KimAddress = "Praxis.Dr.Mueller@ARZT.kim.telematik".parse().unwrap();

    let mut certificates: HashMap<KimAddress, &str> = HashMap::new();
    certificates.insert(from_vzd, "enc-cert");
    assert_eq!(certificates.get(&from_client), Some(&"enc-cert"));

    // The client's spelling is kept for the header, never rewritten.
    assert_eq!(
        from_client.to_string(),
        "Praxis.Dr.Mueller@ARZT.kim.telematik"
    );
}

#[test]
fn sorted_set_deduplicates_case_variants() {
    let mut set = BTreeSet::new();
    let inserted: Vec<bool> = [
        "b@x.kim.telematik",
        "A@x.kim.telematik",
        "a@X.KIM.TELEMATIK",
        "c@x.kim.telematik-test",
    ]
    .iter()
    .map(|s| set.insert(KimAddress::parse(s).unwrap()))
    .collect();
    assert_eq!(inserted, [true, true, false, true]);
    // `insert` keeps the first spelling; order ignores case ('b' after 'A').
    let listed: Vec<&str> = set.iter().map(KimAddress::as_str).collect();
    assert_eq!(
        listed,
        [
            "A@x.kim.telematik",
            "b@x.kim.telematik",
            "c@x.kim.telematik-test"
        ]
    );
}

#[test]
fn gematik_sample_addresses_are_readable_but_not_registrable() {
    for sample in ["mustersender@komle.de", "musterempfaenger@komle.de"] {
        let address = KimAddress::parse(sample).unwrap();
        assert!(!address.is_production() && !address.is_test());
        assert_eq!(
            KimAddress::parse_for_registration(sample),
            Err(AddressError::DomainSuffix)
        );
    }
    let spec = "erik.mustermann@hrst_domain.kim.telematik";
    assert!(KimAddress::parse(spec).unwrap().is_production());
    let err = KimAddress::parse_for_registration(spec).unwrap_err();
    assert_eq!(err.to_string(), "domain contains '_' at position 4");
}

#[test]
fn error_is_a_std_error_usable_with_question_mark() {
    fn read(s: &str) -> Result<KimAddress, Box<dyn std::error::Error>> {
        Ok(KimAddress::parse(s)?)
    }
    let err = read("kein-at-zeichen").unwrap_err();
    assert_eq!(err.to_string(), "contains no '@'");
}
