//! Seal and open end to end: the gematik vectors, every decryption and integrity path, and
//! round trips of random mails.

use crate::support::{gematik, pem_der};
use kim_message::cms::enveloped::{self, Encoding};
use kim_message::cms::signed::{self, SignOptions};
use kim_message::cms::soft::{SoftwareKey, SoftwareSigner};
use kim_message::cms::{Attribute, CertInfo, RecipientEmail, RecipientEmails, SignedData, oid};
use kim_message::mime::{self, OuterParams};
use kim_message::open::software::{LocalSignatureCheck, SoftwareDecryptor};
use kim_message::open::{OpenContext, Opened, open};
use kim_message::seal::{RecipientCert, SealOptions, seal};
use kim_testkit::pki::{KeyAlgorithm, TestPki};

const A: &str = "1-2.58.00000040";
const B: &str = "2-2.58.00000041";
const ADDR_A: &str = "praxis.schmidt@test.kim.telematik";
const ADDR_B: &str = "zahnarzt.weber@test.kim.telematik";

fn ctx(receiver: &str) -> OpenContext<'_> {
    OpenContext {
        receiver,
        error_message_id: "<err-1@test>",
        date: "Mon, 23 Nov 2026 10:00:00 +0000",
    }
}

/// The outer KOM-LE message (version 1.0) around `cms` for the prepared mail `inner`.
fn outer_v1(inner: &[u8], cms: &[u8]) -> Result<Vec<u8>, mime::MimeError> {
    mime::outer_message(
        inner,
        cms,
        &OuterParams {
            kom_le_version: "1.0".into(),
            ..OuterParams::default()
        },
    )
}

fn header_values(message: &[u8], name: &str) -> Vec<String> {
    let (h, _) = mime::HeaderBlock::parse(message).unwrap();
    h.get_all(name).map(|f| f.value()).collect()
}

// ---------------------------------------------------------------- gematik vectors

fn gematik_key(name: &str) -> (SoftwareKey, CertInfo) {
    (
        SoftwareKey::from_pkcs8_der(&pem_der(&gematik(&format!("{name}.prv.pem")))).unwrap(),
        CertInfo::parse(&pem_der(&gematik(&format!("{name}.pem")))).unwrap(),
    )
}

/// The positive vector: `.02` wrapped correctly, encrypted for the TEST-ONLY certificates
/// with the recipient-emails attribute the signature carries, as the sample's outer message.
fn gematik_positive_vector() -> Vec<u8> {
    let signed = gematik("inputEmail.txt.02.signedcms");
    let sd = SignedData::parse(&signed).unwrap();
    let emails: Attribute = sd.signer_infos[0]
        .signed_attr(&oid::RECIPIENT_EMAILS)
        .unwrap()
        .clone();
    let entity = mime::signed_data_entity(&signed);
    let certs = [
        gematik_key("hci-enc-2-kim-bsp").1,
        gematik_key("hci-enc-3-kim-bsp").1,
    ];
    let env = enveloped::build(
        &entity,
        &certs,
        &[emails],
        &[3u8; 32],
        &[4u8; 12],
        &mut getrandom::SysRng,
        Encoding::BerChunked(1000),
    )
    .unwrap();
    let inner = mime::unwrap_rfc822(sd.econtent.as_deref().unwrap())
        .unwrap()
        .to_vec();
    outer_v1(&inner, &env).unwrap()
}

#[test]
fn gematik_positive_vector_opens_with_07_without_and_05_with_the_sample_cas() {
    let message = gematik_positive_vector();
    let decryptor = SoftwareDecryptor {
        keys: vec![gematik_key("hci-enc-3-kim-bsp")],
    };
    let opened = open(
        &message,
        &ctx("musterempfaenger@komle.de"),
        &decryptor,
        &LocalSignatureCheck::default(),
    )
    .unwrap();
    let Opened::Delivered {
        message: delivered,
        integrity_ids,
        positive,
    } = opened
    else {
        panic!("{opened:?}")
    };
    assert_eq!(integrity_ids, ["07"]);
    assert!(positive);
    assert_eq!(header_values(&delivered, "X-KIM-DecryptionResult"), ["00"]);
    let text = String::from_utf8_lossy(&delivered);
    assert!(
        text.contains("This is a message just to say hello."),
        "{text}"
    );
    assert!(text.contains("Die Nachricht wurde entschl"), "{text}");

    // The signer's CA (GEM.SMCB-CA24) is not in the sample set: the path cannot be built.
    let trust = vec![
        CertInfo::parse(&pem_der(&gematik("GEM.KOMP-CA24-TEST-ONLY.pem"))).unwrap(),
        CertInfo::parse(&pem_der(&gematik("GEM.RCA2-TEST-ONLY.pem"))).unwrap(),
    ];
    let opened = open(
        &message,
        &ctx("musterempfaenger@komle.de"),
        &decryptor,
        &LocalSignatureCheck { trust },
    )
    .unwrap();
    assert!(
        matches!(opened, Opened::Delivered { ref integrity_ids, positive: false, .. } if integrity_ids == &["05"]),
        "{opened:?}"
    );
}

#[test]
fn gematik_encrypted_wrap_decrypts_then_reports_the_signature_format_error() {
    let received = gematik("inputEmail.txt.05.encryptedwrap");
    for (key, receiver) in [
        ("hci-enc-3-kim-bsp", "musterempfaenger@komle.de"),
        ("hci-enc-2-kim-bsp", "mustersender@komle.de"),
    ] {
        let decryptor = SoftwareDecryptor {
            keys: vec![gematik_key(key)],
        };
        let opened = open(
            &received,
            &ctx(receiver),
            &decryptor,
            &LocalSignatureCheck::default(),
        )
        .unwrap();
        let Opened::Delivered {
            message,
            integrity_ids,
            positive,
        } = opened
        else {
            panic!("{opened:?}")
        };
        assert_eq!(integrity_ids, ["04"]);
        assert!(!positive);
        assert_eq!(header_values(&message, "X-KIM-DecryptionResult"), ["00"]);
        assert_eq!(
            header_values(&message, "X-KIM-IntegrityCheckResult"),
            ["04"]
        );
        assert!(
            header_values(&message, "X-KOM-LE-Version").is_empty(),
            "an error mail must not look like KOM-LE"
        );
        assert!(String::from_utf8_lossy(&message).contains("Sicherheitsverletzung"));
        // The received message travels along byte-exact.
        assert!(
            message
                .windows(received.len())
                .any(|w| w == received.as_slice())
        );
    }
}

// ---------------------------------------------------------------- test PKI round trips

struct Parties {
    signer: SoftwareSigner,
    recipients: Vec<RecipientCert>,
    decryptor: SoftwareDecryptor,
    trust: Vec<CertInfo>,
}

fn parties(alg: KeyAlgorithm) -> Parties {
    let pki = TestPki::shared_default().unwrap();
    let (a, b) = (pki.card(A).unwrap(), pki.card(B).unwrap());
    let key = |i: &kim_testkit::pki::Issued| {
        SoftwareKey::from_pkcs8_der(&i.private_key_pkcs8_der).unwrap()
    };
    let cert = |i: &kim_testkit::pki::Issued| CertInfo::parse(&i.certificate_der).unwrap();
    Parties {
        signer: SoftwareSigner::new(key(a.signing(alg)), cert(a.signing(alg))).unwrap(),
        recipients: vec![
            RecipientCert {
                address: ADDR_B.into(),
                cert: cert(b.enc(alg)),
            },
            RecipientCert {
                address: ADDR_A.into(),
                cert: cert(a.enc(alg)),
            },
        ],
        decryptor: SoftwareDecryptor {
            keys: vec![(key(b.enc(alg)), cert(b.enc(alg)))],
        },
        trust: pki
            .cas()
            .iter()
            .map(|c| CertInfo::parse(&c.certificate_der).unwrap())
            .collect(),
    }
}

fn mail(body: &str) -> Vec<u8> {
    format!(
        "From: Praxis Schmidt <{ADDR_A}>\r\nTo: <{ADDR_B}>\r\nSubject: Befund\r\nDate: Mon, 23 Nov 2026 09:00:00 +0100\r\nMessage-ID: <m1@praxis.test>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}"
    )
    .into_bytes()
}

fn sealed(p: &Parties, client_mail: &[u8]) -> Vec<u8> {
    seal(
        client_mail,
        &p.signer,
        &p.recipients,
        &SealOptions {
            signing_time: 1_795_000_000,
            ..SealOptions::default()
        },
        &mut getrandom::SysRng,
    )
    .unwrap()
    .message
}

#[test]
fn rsa_and_ecc_messages_open_with_01_and_their_vermerke() {
    for alg in [KeyAlgorithm::Rsa2048, KeyAlgorithm::BrainpoolP256r1] {
        let p = parties(alg);
        let message = sealed(&p, &mail("Guten Tag, Grüße!\r\n"));
        let check = LocalSignatureCheck {
            trust: p.trust.clone(),
        };
        let opened = open(&message, &ctx(ADDR_B), &p.decryptor, &check).unwrap();
        let Opened::Delivered {
            message,
            integrity_ids,
            positive,
        } = opened
        else {
            panic!("{alg:?}: {opened:?}")
        };
        assert_eq!(integrity_ids, ["01"], "{alg:?}");
        assert!(positive);
        let text = String::from_utf8(message).unwrap();
        assert!(text.contains("Guten Tag, Grüße!\r\n\r\n---------------------------------------------\r\nDie Nachricht wurde entschlüsselt.\r\nDie Signatur wurde erfolgreich geprüft."), "{text}");
    }
}

/// A sender can sign an inner message carrying `X-KOM-LE-Version`; the delivered message
/// must not look like a KOM-LE message to the next Clientmodul.
#[test]
fn a_signed_inner_kom_le_version_is_not_delivered() {
    let p = parties(KeyAlgorithm::Rsa2048);
    let client = String::from_utf8(mail("x\r\n")).unwrap().replacen(
        "Subject:",
        "X-KOM-LE-Version: 1.0\r\nSubject:",
        1,
    );
    let message = sealed(&p, client.as_bytes());
    let opened = open(
        &message,
        &ctx(ADDR_B),
        &p.decryptor,
        &LocalSignatureCheck {
            trust: p.trust.clone(),
        },
    )
    .unwrap();
    let Opened::Delivered {
        message,
        integrity_ids,
        ..
    } = opened
    else {
        panic!("{opened:?}")
    };
    assert_eq!(integrity_ids, ["01"]);
    assert!(header_values(&message, "X-KOM-LE-Version").is_empty());
}

#[test]
fn tampered_outer_from_gives_08() {
    let p = parties(KeyAlgorithm::Rsa2048);
    let message = sealed(&p, &mail("x\r\n"));
    let forged = String::from_utf8(message).unwrap().replacen(
        &format!("<{ADDR_A}>"),
        "<chef@boss.kim.telematik>",
        1,
    );
    let check = LocalSignatureCheck {
        trust: p.trust.clone(),
    };
    let opened = open(forged.as_bytes(), &ctx(ADDR_B), &p.decryptor, &check).unwrap();
    let Opened::Delivered {
        message,
        integrity_ids,
        positive,
    } = opened
    else {
        panic!("{opened:?}")
    };
    assert_eq!(integrity_ids, ["08"]);
    assert!(!positive);
    assert_eq!(
        header_values(&message, "X-KIM-IntegrityCheckResult"),
        ["08"]
    );
    assert!(String::from_utf8_lossy(&message).contains("[ID 08]"));
}

#[test]
fn tampered_unprotected_recipient_emails_gives_09() {
    let p = parties(KeyAlgorithm::Rsa2048);
    let prepared = mime::prepare_client_mail(&mail("x\r\n")).unwrap();
    let certs: Vec<CertInfo> = p.recipients.iter().map(|r| r.cert.clone()).collect();
    let honest = kim_message::seal::recipient_emails(&p.recipients).to_attribute();
    // The attacker relabels A's entry so that another user would try to decrypt it.
    let mut forged = kim_message::seal::recipient_emails(&p.recipients);
    forged.0[1].email = "mallory@evil.kim.telematik".into();
    let signed = signed::build(
        &mime::rfc822_wrap(&prepared.bytes),
        &p.signer,
        &SignOptions {
            signing_time: 1_795_000_000,
            extra_signed_attrs: vec![honest],
        },
    )
    .unwrap();
    let env = enveloped::build(
        &mime::signed_data_entity(&signed),
        &certs,
        &[forged.to_attribute()],
        &[1; 32],
        &[2; 12],
        &mut getrandom::SysRng,
        Encoding::Der,
    )
    .unwrap();
    let message = outer_v1(&prepared.bytes, &env).unwrap();
    let opened = open(
        &message,
        &ctx(ADDR_B),
        &p.decryptor,
        &LocalSignatureCheck {
            trust: p.trust.clone(),
        },
    )
    .unwrap();
    assert!(
        matches!(opened, Opened::Delivered { ref integrity_ids, positive: false, .. } if integrity_ids == &["09"]),
        "{opened:?}"
    );
}

#[test]
fn unknown_version_gives_e1_and_missing_version_passes_through() {
    let p = parties(KeyAlgorithm::Rsa2048);
    let message = String::from_utf8(sealed(&p, &mail("x\r\n"))).unwrap();
    let v2 = message.replace("X-KOM-LE-Version: 1.0", "X-KOM-LE-Version: 2.0");
    let opened = open(
        v2.as_bytes(),
        &ctx(ADDR_B),
        &p.decryptor,
        &LocalSignatureCheck::default(),
    )
    .unwrap();
    let Opened::ErrorMail {
        message: e1,
        decryption_id: None,
        ..
    } = opened
    else {
        panic!("{opened:?}")
    };
    assert_eq!(header_values(&e1, "X-KIM-Fehlermeldung"), ["4008"]);
    assert!(header_values(&e1, "X-KOM-LE-Version").is_empty());

    let plain = mail("no KOM-LE here\r\n");
    let opened = open(
        &plain,
        &ctx(ADDR_B),
        &p.decryptor,
        &LocalSignatureCheck::default(),
    )
    .unwrap();
    assert_eq!(opened, Opened::PassThrough);
}

fn expect_e2(received: &[u8], decryptor: &SoftwareDecryptor, receiver: &str, id: &str) {
    let opened = open(
        received,
        &ctx(receiver),
        decryptor,
        &LocalSignatureCheck::default(),
    )
    .unwrap();
    let Opened::ErrorMail {
        message,
        decryption_id,
        reason,
    } = opened
    else {
        panic!("{opened:?}")
    };
    assert_eq!(decryption_id.as_deref(), Some(id), "{reason}");
    assert_eq!(header_values(&message, "X-KIM-DecryptionResult"), [id]);
    assert!(
        message.windows(received.len()).any(|w| w == received),
        "original attached"
    );
}

#[test]
fn decryption_failures_give_e2_with_the_right_id() {
    let p = parties(KeyAlgorithm::Rsa2048);
    let message = sealed(&p, &mail("x\r\n"));
    // Wrong key: the receiver's entry exists, but this key is not it.
    let pki = TestPki::shared_default().unwrap();
    let other = pki
        .card("1-1.58.00000050")
        .unwrap()
        .enc(KeyAlgorithm::Rsa2048);
    let wrong = SoftwareDecryptor {
        keys: vec![(
            SoftwareKey::from_pkcs8_der(&other.private_key_pkcs8_der).unwrap(),
            CertInfo::parse(&other.certificate_der).unwrap(),
        )],
    };
    expect_e2(&message, &wrong, ADDR_B, "01");
    // Receiver not among recipient-emails.
    expect_e2(
        &message,
        &p.decryptor,
        "someone.else@test.kim.telematik",
        "01",
    );

    // A flipped byte in the encrypted content: the GCM tag fails.
    let outer = mime::OuterMessage::parse(&message).unwrap();
    let mut cms = outer.cms.clone();
    let env = kim_message::cms::AuthEnvelopedData::parse(&cms).unwrap();
    let at = cms
        .windows(32)
        .position(|w| w == &env.encrypted_content[..32])
        .unwrap()
        + 10;
    cms[at] ^= 0x01;
    let tampered = outer_v1(
        &mime::prepare_client_mail(&mail("x\r\n")).unwrap().bytes,
        &cms,
    )
    .unwrap();
    expect_e2(&tampered, &p.decryptor, ADDR_B, "02");

    // Truncated CMS and garbage base64.
    let truncated = outer_v1(
        &mime::prepare_client_mail(&mail("x\r\n")).unwrap().bytes,
        &outer.cms[..outer.cms.len() / 2],
    )
    .unwrap();
    expect_e2(&truncated, &p.decryptor, ADDR_B, "02");
    let text = String::from_utf8(message.clone()).unwrap();
    let body_start = text.find("\r\n\r\n").unwrap() + 4;
    let garbage = format!("{}!!!! not base64 ????\r\n", &text[..body_start]);
    expect_e2(garbage.as_bytes(), &p.decryptor, ADDR_B, "02");
}

#[test]
fn enveloped_data_instead_of_auth_enveloped_data_gives_02() {
    let p = parties(KeyAlgorithm::Rsa2048);
    let message = String::from_utf8(sealed(&p, &mail("x\r\n"))).unwrap();
    let relabelled = message.replace(
        "smime-type=authenticated-enveloped-data",
        "smime-type=enveloped-data",
    );
    expect_e2(relabelled.as_bytes(), &p.decryptor, ADDR_B, "02");
}

/// A multipart/alternative without its closing boundary (found by the round-trip property
/// test): the Vermerk goes into the text part and every original byte is kept.
#[test]
fn unterminated_inner_multipart_keeps_every_byte() {
    let p = parties(KeyAlgorithm::Rsa2048);
    let client = format!(
        "From: <{ADDR_A}>\r\nTo: <{ADDR_B}>\r\nSubject: \r\nDate: Mon, 23 Nov 2026 09:00:00 +0100\r\nMessage-ID: <p@t>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\r\n--b1--\r\n"
    );
    let message = sealed(&p, client.as_bytes());
    let opened = open(
        &message,
        &ctx(ADDR_B),
        &p.decryptor,
        &LocalSignatureCheck {
            trust: p.trust.clone(),
        },
    )
    .unwrap();
    let Opened::Delivered {
        message: delivered,
        integrity_ids,
        ..
    } = opened
    else {
        panic!("{opened:?}")
    };
    assert_eq!(integrity_ids, ["01"]);
    let text = String::from_utf8(delivered).unwrap();
    let body = &client[client.find("\r\n\r\n").unwrap() + 4..];
    let vermerk = "\r\n---------------------------------------------\r\nDie Nachricht wurde entschlüsselt.\r\nDie Signatur wurde erfolgreich geprüft.\r\n";
    let at = body.find("\r\n--b1\r\nContent-Type: application").unwrap();
    let expected_body = format!("{}{}{}", &body[..at], vermerk, &body[at..]);
    assert!(text.ends_with(&expected_body), "{text}");
}

// ---------------------------------------------------------------- property tests

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    fn header_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ -~]{0,60}",
            Just("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=".to_string()),
            Just("Überweisung für Müller".to_string()),
        ]
    }

    fn body_line() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ -~]{0,120}",
            "[a-zäöüß ]{0,40}",
            Just("x".repeat(1500)),
            Just(".".to_string()),
            Just(String::new())
        ]
    }

    prop_compose! {
        fn client_mail()(
            subject in header_text(),
            lines in proptest::collection::vec(body_line(), 0..12),
            attachment in proptest::collection::vec(any::<u8>(), 0..3000),
            html in any::<bool>(),
            multipart in any::<bool>(),
            lf_only in any::<bool>(),
        ) -> Vec<u8> {
            use base64::Engine;
            let text = lines.join("\r\n");
            let mut m = format!("From: <{ADDR_A}>\r\nTo: <{ADDR_B}>\r\nSubject: {subject}\r\nDate: Mon, 23 Nov 2026 09:00:00 +0100\r\nMessage-ID: <p@t>\r\nMIME-Version: 1.0\r\n");
            if multipart {
                let b64 = base64::engine::general_purpose::STANDARD.encode(&attachment);
                let wrapped: Vec<String> = b64.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
                let alt = if html {
                    format!("--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>{text}</p></body></html>\r\n--alt--\r\n")
                } else { "--alt--\r\n".to_string() };
                m.push_str(&format!("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n{alt}--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n", wrapped.join("\r\n")));
            } else {
                m.push_str(&format!("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"));
            }
            if lf_only { m.replace("\r\n", "\n").into_bytes() } else { m.into_bytes() }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// The signed content equals the prepared Client-Mail byte for byte, the delivered
        /// message keeps every part but the Vermerk text, and the result is positive.
        #[test]
        fn random_mails_round_trip(client in client_mail()) {
            let p = parties(KeyAlgorithm::Rsa2048);
            let message = sealed(&p, &client);
            let prepared = mime::prepare_client_mail(&client).unwrap();

            // Byte-exact through the cryptographic layers.
            let outer = mime::OuterMessage::parse(&message).unwrap();
            let env = kim_message::cms::AuthEnvelopedData::parse(&outer.cms).unwrap();
            let (key, cert) = &p.decryptor.keys[0];
            let entity = key.decrypt(&env, cert).unwrap();
            let der = mime::parse_signed_data_entity(&entity).unwrap();
            let sd = SignedData::parse(&der).unwrap();
            prop_assert_eq!(mime::unwrap_rfc822(sd.econtent.as_deref().unwrap()).unwrap(), prepared.bytes.as_slice());

            let check = LocalSignatureCheck { trust: p.trust.clone() };
            let opened = open(&message, &ctx(ADDR_B), &p.decryptor, &check).unwrap();
            let Opened::Delivered { message: delivered, integrity_ids, positive } = opened else {
                return Err(TestCaseError::fail("not delivered"));
            };
            prop_assert_eq!(integrity_ids, vec!["01".to_string()]);
            prop_assert!(positive);
            // The attachment part, from its boundary to the end, is unchanged.
            let marker: &[u8] = b"--b1\r\nContent-Type: application/octet-stream";
            if let Some(pos) = prepared.bytes.windows(marker.len()).position(|w| w == marker) {
                let tail = &prepared.bytes[pos..];
                prop_assert!(delivered.windows(tail.len()).any(|w| w == tail));
            }
        }
    }

    /// The sealed envelope carries one recipient-emails entry per recipient certificate, the
    /// signed attribute the same entries (KOM-LE-A_2115-02, A_2127).
    #[test]
    fn sealed_messages_carry_the_recipient_emails() {
        let p = parties(KeyAlgorithm::Rsa2048);
        let message = sealed(&p, &mail("x\r\n"));
        let outer = mime::OuterMessage::parse(&message).unwrap();
        let env = kim_message::cms::AuthEnvelopedData::parse(&outer.cms).unwrap();
        let unprotected = env.recipient_emails().unwrap();
        let expected: Vec<RecipientEmail> = p
            .recipients
            .iter()
            .map(|r| RecipientEmail {
                email: r.address.clone(),
                rid: r.cert.issuer_serial.clone(),
            })
            .collect();
        assert!(unprotected.same_entries(&RecipientEmails(expected)));
        let (key, cert) = &p.decryptor.keys[0];
        let entity = key.decrypt(&env, cert).unwrap();
        let sd = SignedData::parse(&mime::parse_signed_data_entity(&entity).unwrap()).unwrap();
        let signed = RecipientEmails::from_attribute(
            sd.signer_infos[0]
                .signed_attr(&oid::RECIPIENT_EMAILS)
                .unwrap(),
        )
        .unwrap();
        assert!(signed.same_entries(&unprotected));
    }
}
