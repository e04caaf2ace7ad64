//! Directory data, Dienstkennung, Telematik-ID and secrets, as the send and receive pipelines
//! use them.

use kim_types::{
    Dienstkennung, KimAddress, KimVersion, Secret, TelematikId, VzdDataError, VzdVersionEntry,
};

#[test]
fn recipient_versions_from_ldap_attributes() {
    // komLeData and kimData values as the api-vzd examples show them.
    let kom_le =
        VzdVersionEntry::parse_kom_le_data("1.5+,mc_smcb_za@dom1.komle.telematik-test").unwrap();
    let kim = VzdVersionEntry::parse_kim_data(
        "mz_smcb_za@dom2.kim.telematik-test,1.0,DALE-UV;Einsendung;V1.0|eEB;V1.0",
    )
    .unwrap();

    assert!(kom_le.version().supports_large_messages());
    assert!(kom_le.version().is_kas_capable());
    assert!(!kim.version().is_kas_capable());
    assert!(kim.address().is_test());
    assert_eq!(kim.app_tags().len(), 2);

    // An entry without komLeData is treated as 1.0.
    assert_eq!(KimVersion::default(), KimVersion::V1_0);

    // Writing back: komLeData has no room for app tags; kimData keeps them.
    assert_eq!(
        kim.to_kom_le_data(),
        "1.0,mz_smcb_za@dom2.kim.telematik-test"
    );
    assert_eq!(
        VzdVersionEntry::parse_kim_data(&kim.to_kim_data()).unwrap(),
        kim
    );
}

#[test]
fn directory_garbage_is_reported_not_guessed() {
    assert_eq!(
        VzdVersionEntry::parse_kom_le_data("2.0,a@x.kim.telematik")
            .unwrap_err()
            .to_string(),
        r#"unknown KIM version "2.0" (known: 1.0, 1.5, 1.5+)"#
    );
    assert_eq!(
        VzdVersionEntry::parse_kom_le_data("1.5,1.0"),
        Err(VzdDataError::NoAddress)
    );
}

#[test]
fn building_an_entry_for_the_account_manager() {
    let address = KimAddress::parse_for_registration("praxis@arzt.kim.telematik").unwrap();
    let entry = VzdVersionEntry::new(address, KimVersion::V1_5Plus, vec![]).unwrap();
    assert_eq!(entry.to_kom_le_data(), "1.5+,praxis@arzt.kim.telematik");
    assert_eq!(entry.to_kim_data(), "praxis@arzt.kim.telematik,1.5+");
}

#[test]
fn dienstkennung_default_and_filtering() {
    let header_value = "eAU;Lieferung;V1.0";
    let d = Dienstkennung::parse(header_value).unwrap();
    assert_eq!(d.fachanwendung(), "eAU");
    assert_ne!(d, Dienstkennung::DEFAULT);
    assert_eq!(Dienstkennung::ABWESEND.kategorie(), "Abwesend");
    // Spaces are not allowed (kim-spec §2.7), so a sloppy header is refused, not repaired.
    assert!(Dienstkennung::parse("eAU; Lieferung; V1.0").is_err());
}

#[test]
fn telematik_id_and_secret_in_logs() {
    let id = TelematikId::parse("1-2-ARZT-1234").unwrap();
    let logged = Secret::redacted(id.clone());
    assert_eq!(format!("telematik_id={logged}"), "telematik_id=[REDACTED]");
    assert_eq!(format!("{logged:?}"), "Secret([REDACTED])");
    assert_eq!(logged.expose_secret(), &id);

    let pin = Secret::new(vec![1_u8, 2, 3, 4]);
    let copy = pin.clone();
    assert_eq!(copy.expose_secret(), &[1, 2, 3, 4]);
}
