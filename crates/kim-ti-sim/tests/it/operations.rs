//! Every operation over HTTPS with real peers checking the results: kim-message and the
//! `openssl` CLI for the CMS and signatures, xmllint for every response (in `call`).

use std::process::Command;

use kim_konnektor::model::*;
use kim_konnektor::ops::*;
use kim_message::cms::soft::SoftwareKey;
use kim_message::cms::{AuthEnvelopedData, CertInfo, RecipientEmail, RecipientEmails, SignedData};
use kim_testkit::pki::{CardKeyRole, KeyAlgorithm};

use crate::common::*;

fn card(telematik_id: &str) -> &'static kim_testkit::pki::Card {
    pki().card(telematik_id).unwrap()
}

fn recipient_emails_attr() -> Vec<u8> {
    let c = card("2-2.58.00000041");
    let cert = CertInfo::parse(&c.enc(KeyAlgorithm::Rsa2048).certificate_der).unwrap();
    RecipientEmails(vec![RecipientEmail {
        email: "zahnarzt.weber@test.kim.telematik".into(),
        rid: cert.issuer_serial,
    }])
    .to_attribute_der()
}

fn sign_request(handle: &CardHandle, crypt: Option<Crypt>, doc: &[u8]) -> SignDocument {
    SignDocument {
        card_handle: handle.clone(),
        crypt,
        context: ctx(),
        tv_mode: TvMode::None,
        job_number: Some(JobNumber::new("ABC-123").unwrap()),
        requests: vec![SignRequest {
            request_id: "KimSignRequest".into(),
            signature_type: Some(SignatureType::new(SignatureType::CMS)),
            signed_properties: vec![CmsProperty {
                identifier: CmsProperty::RECIPIENT_EMAILS.into(),
                attribute_der: recipient_emails_attr(),
            }],
            include_econtent: Some(true),
            document: Document::new(doc.to_vec()),
            include_revocation_info: false,
        }],
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn card_service_flow_get_cards_pin_status_verify_pin_read_certificate() {
    let sim = start(default_config()).await;
    let c = client();
    let all = call(
        &c,
        &sim,
        &GetCards {
            mandant_wide: false,
            context: ctx(),
            ct_id: None,
            slot_id: None,
            card_type: None,
        },
        V_EVT,
    )
    .await
    .unwrap();
    assert_eq!(all.cards.len(), 3);
    let smcbs = call(
        &c,
        &sim,
        &GetCards {
            mandant_wide: false,
            context: ctx(),
            ct_id: Some("CT1".into()),
            slot_id: None,
            card_type: Some(CardType::SmcB),
        },
        V_EVT,
    )
    .await
    .unwrap();
    assert_eq!(smcbs.cards.len(), 2);
    assert!(smcbs.cards.iter().all(|c| c.card_type == CardType::SmcB));

    let h = handle_of(&c, &sim, SMCB).await;
    let status = |h: CardHandle| GetPinStatus {
        context: ctx(),
        card_handle: h,
        pin_type: PinType::Smc,
    };
    let s = call(&c, &sim, &status(h.clone()), V_CARD).await.unwrap();
    assert_eq!(s.pin_status, Some(PinStatus::Verifiable));
    assert_eq!(s.left_tries, Some(3));
    let h = verified(&c, &sim, SMCB).await;
    let s = call(&c, &sim, &status(h.clone()), V_CARD).await.unwrap();
    assert_eq!(s.pin_status, Some(PinStatus::Verified));

    let expected = card("1-2.58.00000040");
    for (crypt, alg) in [
        (None, KeyAlgorithm::Rsa2048),
        (Some(Crypt::Ecc), KeyAlgorithm::BrainpoolP256r1),
    ] {
        let r = call(
            &c,
            &sim,
            &ReadCardCertificate {
                card_handle: h.clone(),
                context: ctx(),
                cert_refs: vec![CertRef::Enc, CertRef::Aut, CertRef::Sig],
                crypt,
            },
            V_CERT,
        )
        .await
        .unwrap();
        let ders: Vec<&Vec<u8>> = r
            .infos
            .iter()
            .map(|i| &i.x509.as_ref().unwrap().certificate)
            .collect();
        assert_eq!(
            ders[0],
            &expected.get(CardKeyRole::Enc, alg).certificate_der
        );
        assert_eq!(
            ders[1],
            &expected.get(CardKeyRole::Aut, alg).certificate_der
        );
        assert_eq!(
            ders[2],
            &expected.get(CardKeyRole::Sig, alg).certificate_der
        );
        let cert = CertInfo::parse(ders[0]).unwrap();
        let serial = &r.infos[0].x509.as_ref().unwrap().serial;
        assert_eq!(
            serial,
            &kim_ti_sim::soap::decimal(&cert.issuer_serial.serial)
        );
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn job_numbers_match_the_pattern() {
    let sim = start(default_config()).await;
    let c = client();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let r = call(&c, &sim, &GetJobNumber { context: ctx() }, V_SIG)
            .await
            .unwrap();
        assert!(JobNumber::new(r.job_number.as_str()).is_ok());
        assert!(seen.insert(r.job_number.as_str().to_string()), "repeated");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_document_rsa_pss_and_brainpool_verify_with_kim_message_and_openssl() {
    let sim = start(default_config()).await;
    let c = client();
    let h = verified(&c, &sim, SMCB).await;
    let doc = b"Content-Type: message/rfc822\r\n\r\nFrom: a@x\r\nTo: b@y\r\n\r\nHallo Welt\r\n";
    for (crypt, alg_oid) in [
        (Some(Crypt::Rsa), kim_message::cms::oid::RSASSA_PSS),
        (None, kim_message::cms::oid::RSASSA_PSS),
        (Some(Crypt::Ecc), kim_message::cms::oid::ECDSA_WITH_SHA256),
        (
            Some(Crypt::RsaEcc),
            kim_message::cms::oid::ECDSA_WITH_SHA256,
        ),
    ] {
        let r = call(&c, &sim, &sign_request(&h, crypt, doc), V_SIG)
            .await
            .unwrap();
        let cms = r.responses[0].signature.as_ref().unwrap().data.clone();
        let sd = SignedData::parse(&cms).unwrap();
        assert_eq!(sd.econtent.as_deref(), Some(&doc[..]));
        assert_eq!(
            sd.certificates.len(),
            1,
            "exactly the signer certificate (A_2122)"
        );
        assert!(
            sd.profile_findings().is_empty(),
            "{:?}",
            sd.profile_findings()
        );
        let si = &sd.signer_infos[0];
        assert_eq!(si.signature_algorithm.oid, alg_oid, "{crypt:?}");
        let attr = si
            .signed_attr(&kim_message::cms::oid::RECIPIENT_EMAILS)
            .unwrap();
        assert_eq!(
            attr.to_der(),
            recipient_emails_attr(),
            "attribute exactly as passed (A_2127)"
        );
        let signer = sd.verify(&[]).unwrap();
        let trust: Vec<CertInfo> = pki()
            .cas()
            .iter()
            .map(|ca| CertInfo::parse(&ca.certificate_der).unwrap())
            .collect();
        kim_message::cms::signed::check_path(&signer, &trust, kim_ti_sim::clock::now_unix())
            .unwrap();

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sig.der"), &cms).unwrap();
        let content = run(Command::new("openssl")
            .args([
                "cms", "-verify", "-inform", "DER", "-purpose", "any", "-binary",
            ])
            .arg("-in")
            .arg(dir.path().join("sig.der"))
            .arg("-CAfile")
            .arg(pki_dir().join("ca-bundle.pem")));
        assert_eq!(content, doc);
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_document_valid_tampered_and_not_signed() {
    let sim = start(default_config()).await;
    let c = client();
    let h = verified(&c, &sim, SMCB).await;
    let r = call(
        &c,
        &sim,
        &sign_request(&h, Some(Crypt::Ecc), b"Inhalt"),
        V_SIG,
    )
    .await
    .unwrap();
    let cms = r.responses[0].signature.as_ref().unwrap().data.clone();
    let ok = call(&c, &sim, &verify(cms.clone()), V_SIG).await.unwrap();
    assert_eq!(ok.high_level_result, VerificationResult::Valid);
    assert_eq!(ok.status.code(), None);
    let report = ok.report.unwrap();
    assert_eq!(report.signers.len(), 1);
    let s = &report.signers[0];
    assert_eq!(
        (s.format_ok, s.sig_math_ok, s.path_validity),
        (
            DetailResult::Valid,
            DetailResult::Valid,
            DetailResult::Valid
        )
    );
    let signer = CertInfo::parse(
        &card("1-2.58.00000040")
            .signing(KeyAlgorithm::BrainpoolP256r1)
            .certificate_der,
    )
    .unwrap();
    assert_eq!(
        s.signer_serial,
        kim_ti_sim::soap::decimal(&signer.issuer_serial.serial)
    );

    let mut tampered = cms.clone();
    let pos = tampered.windows(6).position(|w| w == b"Inhalt").unwrap();
    tampered[pos] = b'X';
    let bad = call(&c, &sim, &verify(tampered), V_SIG).await.unwrap();
    assert_eq!(bad.high_level_result, VerificationResult::Invalid);
    assert_eq!(bad.status.code(), Some(4115));
    assert_eq!(
        bad.report.unwrap().signers[0].sig_math_ok,
        DetailResult::Invalid,
        "report consistent with 4115"
    );

    let garbage = call(&c, &sim, &verify(vec![0x30, 0x03, 0x02, 0x01, 0x00]), V_SIG)
        .await
        .unwrap();
    assert_eq!(garbage.status.code(), Some(4112));

    sim.konnektor().set_ocsp_unavailable(true);
    let unknown = call(&c, &sim, &verify(cms), V_SIG).await.unwrap();
    assert_eq!(unknown.high_level_result, VerificationResult::Inconclusive);
    assert_eq!(unknown.status.code(), Some(4264));
    sim.shutdown().await;
}

fn encrypt_request(certs: Vec<Vec<u8>>, doc: &[u8], with_attr: bool) -> EncryptDocument {
    EncryptDocument {
        context: ctx(),
        recipient_keys: RecipientKeys {
            certificate_on_card: None,
            certificates: certs,
        },
        document: Document::new(doc.to_vec()),
        encryption_type: Some(EncryptionType::Cms),
        unprotected_properties: if with_attr {
            vec![CmsProperty {
                identifier: CmsProperty::RECIPIENT_EMAILS.into(),
                attribute_der: recipient_emails_attr(),
            }]
        } else {
            vec![]
        },
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn encrypt_document_opens_with_kim_message_and_openssl_and_decrypt_document_reverses_it() {
    let sim = start(default_config()).await;
    let c = client();
    let weber = card("2-2.58.00000041");
    let rsa = weber.enc(KeyAlgorithm::Rsa2048);
    let ecc = weber.enc(KeyAlgorithm::BrainpoolP256r1);
    let doc: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let r = call(
        &c,
        &sim,
        &encrypt_request(
            vec![rsa.certificate_der.clone(), ecc.certificate_der.clone()],
            &doc,
            true,
        ),
        V_ENC,
    )
    .await
    .unwrap();
    let cms = r.document.unwrap().data;
    assert_eq!(
        &cms[..2],
        &[0x30, 0x80],
        "BER with indefinite length like real Konnektors"
    );
    let env = AuthEnvelopedData::parse(&cms).unwrap();
    assert_eq!(env.recipient_infos.len(), 2);
    assert!(!env.originator_info_present);
    assert_eq!(
        env.recipient_emails().unwrap().to_attribute_der(),
        recipient_emails_attr()
    );
    for issued in [rsa, ecc] {
        let key = SoftwareKey::from_pkcs8_der(&issued.private_key_pkcs8_der).unwrap();
        let cert = CertInfo::parse(&issued.certificate_der).unwrap();
        assert_eq!(key.decrypt(&env, &cert).unwrap(), doc);
    }

    // openssl cannot read KIM's unauthAttrs; without them it decrypts the RSA recipient.
    let r = call(
        &c,
        &sim,
        &encrypt_request(vec![rsa.certificate_der.clone()], &doc, false),
        V_ENC,
    )
    .await
    .unwrap();
    let plain_cms = r.document.unwrap().data;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.p7m"), &plain_cms).unwrap();
    let base = pki_dir().join("cards/2-2.58.00000041");
    let out = run(Command::new("openssl")
        .args(["cms", "-decrypt", "-inform", "DER", "-binary"])
        .arg("-in")
        .arg(dir.path().join("m.p7m"))
        .arg("-recip")
        .arg(base.join("enc-rsa.crt.pem"))
        .arg("-inkey")
        .arg(base.join("enc-rsa.key.pem")));
    assert_eq!(out, doc);

    // DecryptDocument with Weber's card (RSA, ECC, and without Crypt).
    let h = verified(&c, &sim, SMCB2).await;
    for crypt in [Some(Crypt::Rsa), Some(Crypt::Ecc), None] {
        let d = call(
            &c,
            &sim,
            &DecryptDocument {
                context: ctx(),
                private_key_on_card: KeyOnCard {
                    card_handle: h.clone(),
                    key_reference: None,
                    crypt,
                },
                document: Document::new(cms.clone()),
            },
            V_ENC,
        )
        .await
        .unwrap();
        assert_eq!(d.document.unwrap().data, doc, "{crypt:?}");
    }
    // The other practice's card is no recipient: an error trace, no plaintext.
    let other = verified(&c, &sim, SMCB).await;
    let e = call(
        &c,
        &sim,
        &DecryptDocument {
            context: ctx(),
            private_key_on_card: KeyOnCard {
                card_handle: other,
                key_reference: None,
                crypt: None,
            },
            document: Document::new(cms),
        },
        V_ENC,
    )
    .await;
    assert_eq!(code(e), 4001);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn encrypt_document_rejects_an_untrusted_recipient_certificate() {
    let mut cfg = default_config();
    // Trust only the RSA hierarchy: brainpool certificates no longer chain.
    cfg.trust = vec![
        pki().root_rsa.certificate_der.clone(),
        pki().smcb_ca.certificate_der.clone(),
    ];
    let sim = start(cfg).await;
    let c = client();
    let ecc = card("2-2.58.00000041").enc(KeyAlgorithm::BrainpoolP256r1);
    let e = call(
        &c,
        &sim,
        &encrypt_request(vec![ecc.certificate_der.clone()], b"x", true),
        V_ENC,
    )
    .await;
    assert_eq!(code(e), 4206);
    sim.shutdown().await;
}

fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    let int = |b: &[u8]| {
        let mut v: Vec<u8> = b.iter().copied().skip_while(|x| *x == 0).collect();
        if v.first().is_none_or(|x| x & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let (r, s) = raw.split_at(32);
    let body = [int(r), int(s)].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn external_authenticate_pss_pkcs1_and_ecdsa_verify_with_openssl() {
    let sim = start(default_config()).await;
    let c = client();
    let h = verified(&c, &sim, SMCB).await;
    let hash: Vec<u8> = (0..32).collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hash"), &hash).unwrap();
    let base = pki_dir().join("cards/1-2.58.00000040");
    type Case<'a> = (
        Option<&'a str>,
        Option<SignatureScheme>,
        &'a str,
        &'a [&'a str],
    );
    let cases: [Case; 3] = [
        (
            None,
            None,
            "aut-rsa",
            &[
                "-pkeyopt",
                "rsa_padding_mode:pss",
                "-pkeyopt",
                "rsa_pss_saltlen:32",
                "-pkeyopt",
                "digest:sha256",
            ],
        ),
        (
            Some(SignatureType::RSA),
            Some(SignatureScheme::RsassaPkcs1V15),
            "aut-rsa",
            &["-pkeyopt", "digest:sha256"],
        ),
        (Some(SignatureType::ECDSA), None, "aut-ecc", &[]),
    ];
    for (ty, scheme, key, opts) in cases {
        let r = call(
            &c,
            &sim,
            &ExternalAuthenticate {
                card_handle: h.clone(),
                context: ctx(),
                signature_type: ty.map(SignatureType::new),
                signature_scheme: scheme,
                binary_string: Document::new(hash.clone()),
            },
            V_AUTH,
        )
        .await
        .unwrap();
        let sig = r.signature.unwrap();
        let mut bytes = sig.data;
        if key == "aut-ecc" {
            assert_eq!(bytes.len(), 64, "plain R||S");
            assert_eq!(sig.signature_type.unwrap().as_str(), SignatureType::ECDSA);
            bytes = ecdsa_der(&bytes);
        } else {
            assert_eq!(bytes.len(), 256);
        }
        std::fs::write(dir.path().join("sig"), &bytes).unwrap();
        let out = run(Command::new("openssl")
            .args(["pkeyutl", "-verify", "-certin"])
            .arg("-inkey")
            .arg(base.join(format!("{key}.crt.pem")))
            .arg("-in")
            .arg(dir.path().join("hash"))
            .arg("-sigfile")
            .arg(dir.path().join("sig"))
            .args(opts));
        assert!(
            String::from_utf8_lossy(&out).contains("Signature Verified Successfully"),
            "{key} {scheme:?}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_certificate_valid_with_roles_and_invalid_when_untrusted() {
    let mut cfg = default_config();
    cfg.trust.retain(|der| der != &pki().hba_ca.certificate_der);
    let sim = start(cfg).await;
    let c = client();
    let check = |der: Vec<u8>| VerifyCertificate {
        context: ctx(),
        certificate: der,
        verification_time: None,
    };
    let smcb = card("1-2.58.00000040")
        .enc(KeyAlgorithm::Rsa2048)
        .certificate_der
        .clone();
    let r = call(&c, &sim, &check(smcb), V_CERT).await.unwrap();
    assert_eq!(r.verification_result, VerificationResult::Valid);
    assert_eq!(
        r.roles,
        vec!["1.2.276.0.76.4.50".to_string()],
        "Betriebsstätte Arzt"
    );
    let fd = pki()
        .tls_entity("fachdienst")
        .unwrap()
        .issued
        .certificate_der
        .clone();
    let r = call(&c, &sim, &check(fd), V_CERT).await.unwrap();
    assert_eq!(r.verification_result, VerificationResult::Valid);
    let hba = card("1-1.58.00000050")
        .enc(KeyAlgorithm::Rsa2048)
        .certificate_der
        .clone();
    let r = call(&c, &sim, &check(hba), V_CERT).await.unwrap();
    assert_eq!(r.verification_result, VerificationResult::Invalid);
    assert_eq!(r.verification_error.and_then(|e| e.code()), Some(4206));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connector_sds_is_schema_valid_and_names_the_bound_address() {
    let sim = start(default_config()).await;
    let c = client();
    let body = c
        .get(url(&sim, "/connector.sds"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), &body).unwrap();
    let xsd = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../spec/konnektor/conn/ServiceDirectory.xsd");
    run(Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd)
        .arg(tmp.path()));
    let sds = kim_konnektor::sds::ConnectorServices::parse(&body).unwrap();
    assert!(sds.ecc_capable());
    let sig = sds
        .select(kim_konnektor::Service::SignatureService)
        .unwrap();
    assert_eq!(sig.version, kim_konnektor::ServiceVersion::new(7, 5, 6));
    let port = sim.addr().port();
    assert!(sig.endpoint_tls.unwrap().contains(&format!(":{port}/")));

    // A Konnektor without ECC (A_17464).
    let mut cfg = default_config();
    cfg.services = kim_ti_sim::config::no_ecc_services();
    let old = start(cfg).await;
    let body = c
        .get(old.sds_url().replace("127.0.0.1", "localhost"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let sds = kim_konnektor::sds::ConnectorServices::parse(&body).unwrap();
    assert!(!sds.ecc_capable());
    old.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_document_4206_for_an_untrusted_signer_and_4253_without_signer() {
    use kim_message::cms::der;
    let mut cfg = default_config();
    cfg.trust.retain(|d| d != &pki().smcb_ca.certificate_der);
    let sim = start(cfg).await;
    let c = client();
    let h = verified(&c, &sim, SMCB).await;
    let r = call(
        &c,
        &sim,
        &sign_request(&h, Some(Crypt::Rsa), b"Inhalt"),
        V_SIG,
    )
    .await
    .unwrap();
    let cms = r.responses[0].signature.as_ref().unwrap().data.clone();
    let r = call(&c, &sim, &verify(cms), V_SIG).await.unwrap();
    assert_eq!(r.high_level_result, VerificationResult::Inconclusive);
    assert_eq!(r.status.code(), Some(4206));
    let s = &r.report.unwrap().signers[0];
    assert_eq!(
        (s.sig_math_ok, s.path_validity),
        (DetailResult::Valid, DetailResult::Invalid)
    );

    // SignedData { version 1, digestAlgorithms {}, eContent "x", signerInfos {} }.
    let encap = der::sequence(&[
        &der::oid(&kim_message::cms::oid::DATA),
        &der::context_constructed(0, &[&der::octet_string(b"x")]),
    ]);
    let sd = der::sequence(&[&der::uint(1), &der::set_of(&[]), &encap, &der::set_of(&[])]);
    let unsigned = kim_message::cms::content_info_der(&kim_message::cms::oid::SIGNED_DATA, &sd);
    let r = call(&c, &sim, &verify(unsigned), V_SIG).await.unwrap();
    assert_eq!(r.high_level_result, VerificationResult::Invalid);
    assert_eq!(r.status.code(), Some(4253));

    // Detached signatures are not offered (KIM needs opaque ones, KOM-LE-A_2103).
    let mut detached = sign_request(&h, None, b"x");
    detached.requests[0].include_econtent = Some(false);
    assert_eq!(code(call(&c, &sim, &detached, V_SIG).await), 4111);
    sim.shutdown().await;
}

/// VerifyDocument of an enveloping CMS signature, asking for the verification report, as KIM
/// sends it (konnektor.md §6.7).
fn verify(sig: Vec<u8>) -> VerifyDocument {
    VerifyDocument {
        context: ctx(),
        tv_mode: None,
        return_verification_report: Some(ReturnVerificationReport::kim_default()),
        document: None,
        signature: Some(SignatureObject {
            signature_type: Some(SignatureType::new(SignatureType::CMS)),
            data: sig,
        }),
        include_revocation_info: false,
    }
}
