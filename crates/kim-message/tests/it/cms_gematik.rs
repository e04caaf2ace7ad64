//! The gematik S/MIME profile sample as a conformance vector.

use crate::support::{gematik, pem_der};
use kim_message::cms::soft::SoftwareKey;
use kim_message::cms::{AuthEnvelopedData, CertInfo, CmsError, SignedData, ber};

fn recipient(name: &str) -> (SoftwareKey, CertInfo) {
    let key = SoftwareKey::from_pkcs8_der(&pem_der(&gematik(&format!("{name}.prv.pem")))).unwrap();
    let cert = CertInfo::parse(&pem_der(&gematik(&format!("{name}.pem")))).unwrap();
    (key, cert)
}

#[test]
fn encrypted_sample_decrypts_with_each_recipient_key_to_the_signed_wrap() {
    let env = AuthEnvelopedData::parse(&gematik("inputEmail.txt.04.encryptedcms")).unwrap();
    let expected = gematik("inputEmail.txt.03.signedwrap");
    for name in ["hci-enc-2-kim-bsp", "hci-enc-3-kim-bsp"] {
        let (key, cert) = recipient(name);
        let plain = key.decrypt(&env, &cert).unwrap();
        assert_eq!(plain, expected, "recipient {name}");
    }
}

#[test]
fn encrypted_sample_is_ber_with_chunks_and_profile_conformant() {
    let bytes = gematik("inputEmail.txt.04.encryptedcms");
    let top = ber::parse(&bytes).unwrap();
    assert!(
        top.indefinite,
        "the Konnektor sample uses indefinite lengths"
    );
    let env = AuthEnvelopedData::parse(&bytes).unwrap();
    assert_eq!(env.encrypted_content.len(), 3367);
    assert_eq!(env.nonce.len(), 12);
    assert_eq!(env.mac.len(), 16);
    assert_eq!(env.recipient_infos.len(), 2);
    assert_eq!(env.profile_findings(), Vec::<String>::new());
}

#[test]
fn the_envelope_without_its_content_keeps_everything_else() {
    let bytes = gematik("inputEmail.txt.04.encryptedcms");
    let whole = AuthEnvelopedData::parse(&bytes).unwrap();
    let light = AuthEnvelopedData::parse_without_content(&bytes).unwrap();
    assert!(light.encrypted_content.is_empty());
    assert_eq!(light.recipient_infos.len(), whole.recipient_infos.len());
    assert_eq!(light.nonce, whole.nonce);
    assert_eq!(light.mac, whole.mac);
    assert_eq!(light.auth_attrs_der, whole.auth_attrs_der);
    assert_eq!(
        light.recipient_emails().unwrap(),
        whole.recipient_emails().unwrap()
    );
    assert_eq!(light.profile_findings(), whole.profile_findings());
    // Malformed input is refused the same way.
    let cut = bytes.get(..bytes.len() / 2).unwrap();
    assert!(AuthEnvelopedData::parse_without_content(cut).is_err());
}

#[test]
fn recipient_emails_are_readable_before_decryption() {
    let env = AuthEnvelopedData::parse(&gematik("inputEmail.txt.04.encryptedcms")).unwrap();
    let emails = env.recipient_emails().unwrap();
    let mut pairs: Vec<(String, String)> = emails
        .0
        .iter()
        .map(|e| (e.email.clone(), e.rid.serial_hex()))
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        vec![
            (
                "musterempfaenger@komle.de".to_string(),
                "9F52A80078E4".to_string()
            ),
            (
                "mustersender@komle.de".to_string(),
                "FF22A88FFD24".to_string()
            ),
        ]
    );
    let (_, cert_b) = recipient("hci-enc-3-kim-bsp");
    let hits: Vec<_> = emails.for_address("MusterEmpfaenger@KOMLE.de").collect();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].rid, cert_b.issuer_serial);
}

#[test]
fn signed_sample_verifies_and_carries_the_wrapped_mail() {
    let sd = SignedData::parse(&gematik("inputEmail.txt.02.signedcms")).unwrap();
    assert_eq!(
        sd.econtent.as_deref(),
        Some(gematik("inputEmail.txt.01.rfc822wrap").as_slice())
    );
    let signer = sd.verify(&[]).unwrap();
    assert!(
        signer.subject_text().contains("Asclepios"),
        "{}",
        signer.subject_text()
    );
    assert_eq!(sd.profile_findings(), Vec::<String>::new());
    // The signed recipient-emails equal the unprotected ones of the encrypted sample (ID 09 check).
    let signed = kim_message::cms::RecipientEmails::from_attribute(
        sd.signer_infos[0]
            .signed_attr(&kim_message::cms::oid::RECIPIENT_EMAILS)
            .unwrap(),
    )
    .unwrap();
    let env = AuthEnvelopedData::parse(&gematik("inputEmail.txt.04.encryptedcms")).unwrap();
    assert!(signed.same_entries(&env.recipient_emails().unwrap()));
}

#[test]
fn altered_signed_content_is_an_integrity_failure() {
    let mut bytes = gematik("inputEmail.txt.02.signedcms");
    // Flip a byte of the body text inside eContent ("This is a message ...").
    let pos = bytes.windows(4).position(|w| w == b"This").unwrap();
    bytes[pos] = b't';
    let sd = SignedData::parse(&bytes).unwrap();
    assert_eq!(sd.verify(&[]).unwrap_err().integrity_id(), "02");
}

#[test]
fn the_sample_signed_wrap_holds_a_line_ending_mangled_signature() {
    // Defect of the sample: the SignedData inside .03 is .02 with bare CR/LF expanded.
    let wrap = gematik("inputEmail.txt.03.signedwrap");
    let body = &wrap[wrap.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
    assert_eq!(body.len(), 3180);
    assert!(matches!(
        SignedData::parse(body),
        Err(CmsError::Encoding(_))
    ));
}

#[test]
fn wrong_key_cannot_decrypt() {
    let env = AuthEnvelopedData::parse(&gematik("inputEmail.txt.04.encryptedcms")).unwrap();
    let (key_a, _) = recipient("hci-enc-2-kim-bsp");
    let (_, cert_b) = recipient("hci-enc-3-kim-bsp");
    // Key A presented with certificate B: the RecipientInfo for B cannot be opened with A's key.
    assert!(matches!(
        key_a.decrypt(&env, &cert_b),
        Err(CmsError::Decryption(_))
    ));
}

#[test]
fn flipped_ciphertext_byte_fails_the_gcm_tag() {
    let mut env = AuthEnvelopedData::parse(&gematik("inputEmail.txt.04.encryptedcms")).unwrap();
    env.encrypted_content[100] ^= 1;
    let (key, cert) = recipient("hci-enc-2-kim-bsp");
    assert!(matches!(
        key.decrypt(&env, &cert),
        Err(CmsError::Decryption(_))
    ));
}

#[test]
fn every_truncation_of_the_samples_is_an_error_not_a_panic() {
    for name in [
        "inputEmail.txt.02.signedcms",
        "inputEmail.txt.04.encryptedcms",
    ] {
        let bytes = gematik(name);
        for len in 0..bytes.len() {
            let _ = SignedData::parse(&bytes[..len]);
            assert!(AuthEnvelopedData::parse(&bytes[..len]).is_err() || len == bytes.len());
        }
        // Single-byte corruption at every position.
        for pos in 0..bytes.len() {
            let mut b = bytes.clone();
            b[pos] ^= 0xff;
            let _ = SignedData::parse(&b).map(|sd| sd.verify(&[]));
            let _ = AuthEnvelopedData::parse(&b).map(|e| e.recipient_emails());
        }
    }
}

#[test]
fn telematik_id_is_the_registration_number_not_the_authority_country() {
    // The sample's Admission names an admissionAuthority (C=DE, O=Zahnärztekammer Nordrhein)
    // before the ProfessionInfo whose registrationNumber is the Telematik-ID.
    let cert = CertInfo::parse(&pem_der(&gematik("hci-enc-2-kim-bsp.pem"))).unwrap();
    assert_eq!(cert.telematik_id().as_deref(), Some("2-290002"));
}

#[test]
fn telematik_id_of_every_test_pki_card_certificate() {
    let pki = kim_testkit::pki::TestPki::shared_default().unwrap();
    let mut checked = 0;
    for card in &pki.cards {
        for (role, algorithm, issued) in card.all() {
            let cert = CertInfo::parse(&issued.certificate_der).unwrap();
            assert_eq!(
                cert.telematik_id().as_deref(),
                Some(card.spec.telematik_id.as_str()),
                "{role:?} {algorithm:?} of {}",
                card.spec.telematik_id
            );
            checked += 1;
        }
    }
    assert!(checked >= 18, "{checked}");
}
