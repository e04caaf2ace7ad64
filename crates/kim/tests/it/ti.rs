//! The simulated TI as a Clientmodul meets it: the Konnektor client (`kim-konnektor`) and
//! the VZD client (`kim-vzd`) drive the software Konnektor and the directory over real
//! HTTPS and LDAP, through the whole KIM send-and-receive sequence of Konnektor operations;
//! and `kim ti serve` / `kim ti card` as a user runs them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use kim_konnektor::client::{ClientError, Konnektor, KonnektorClient, KonnektorConfig};
use kim_konnektor::model::{
    CardHandle, CardType, CertRef, CmsProperty, Context, Crypt, Document, EncryptionType,
    HighLevelResult, KeyOnCard, PinResult, PinStatus, PinType, SignatureObject, SignatureType,
    TvMode,
};
use kim_konnektor::ops::{
    DecryptDocument, EncryptDocument, ExternalAuthenticate, GetCards, GetJobNumber, GetPinStatus,
    ReadCardCertificate, RecipientKeys, SignDocument, SignRequest, VerifyDocument, VerifyPin,
};
use kim_message::cms::AuthEnvelopedData;
use kim_message::cms::common::CertInfo;
use kim_message::cms::signed::SignedData;
use kim_message::seal::RecipientCert;
use kim_testkit::pki::TestPki;
use kim_types::KimAddress;
use sha2::Digest;

const SENDER: &str = "praxis.schmidt@test.kim.telematik";
const RECIPIENT: &str = "zahnarzt.weber@test.kim.telematik";

fn pki() -> &'static TestPki {
    TestPki::shared_default().unwrap()
}

fn trust() -> kim_tls::TrustAnchors {
    kim_tls::TrustAnchors::from_pem(pki().ca_bundle_pem().unwrap().as_bytes()).unwrap()
}

fn context() -> Context {
    Context::new("Mandant1", "ClientID1", "Workplace1").unwrap()
}

/// The card handle of the SMC-B with `telematik_id` (via its ICCSN).
async fn smcb_handle(konnektor: &KonnektorClient, telematik_id: &str) -> CardHandle {
    let iccsn = &pki().card(telematik_id).unwrap().spec.iccsn;
    let cards = konnektor
        .get_cards(&GetCards {
            mandant_wide: false,
            context: context(),
            ct_id: None,
            slot_id: None,
            card_type: Some(CardType::SmcB),
        })
        .await
        .unwrap();
    assert!(cards.cards.iter().all(|c| c.card_type == CardType::SmcB));
    cards
        .cards
        .into_iter()
        .find(|c| c.iccsn.as_ref().map(|i| i.as_str()) == Some(iccsn.as_str()))
        .unwrap()
        .handle
}

async fn verify_pin(konnektor: &KonnektorClient, handle: &CardHandle) {
    let status = konnektor
        .get_pin_status(&GetPinStatus {
            context: context(),
            card_handle: handle.clone(),
            pin_type: PinType::Smc,
        })
        .await
        .unwrap();
    if status.pin_status != Some(PinStatus::Verified) {
        let result = konnektor
            .verify_pin(&VerifyPin {
                context: context(),
                card_handle: handle.clone(),
                pin_type: PinType::Smc,
            })
            .await
            .unwrap();
        assert_eq!(result.pin_result, PinResult::Ok);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kim_sequence_of_konnektor_operations_with_vzd_lookups() {
    let mut sim_config = kim_ti_sim::SimConfig::from_test_pki(pki()).unwrap();
    sim_config.listen = "127.0.0.1:0".parse().unwrap();
    let sim = kim_ti_sim::KonnektorSim::start(sim_config).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let vzd = kim_vzd_sim::VzdSim::start(kim_vzd_sim::VzdSimConfig {
        data_dir: data.path().to_path_buf(),
        ..kim_vzd_sim::VzdSimConfig::default()
    })
    .await
    .unwrap();

    let base = sim.sds_url().trim_end_matches("/connector.sds").to_string();
    let konnektor = KonnektorClient::new(KonnektorConfig::new(base, trust())).unwrap();
    let directory = kim_vzd::VzdClient::new(kim_vzd::VzdClientConfig::new(&format!(
        "ldap://{}",
        vzd.ldap_addr.unwrap()
    )))
    .unwrap();
    assert!(konnektor.ecc_capable().await.unwrap());

    // Directory: the ENC certificates of recipient and sender (RSA and ECC each).
    let mut recipients = Vec::new();
    for address in [RECIPIENT, SENDER] {
        let address = KimAddress::parse(address).unwrap();
        let entries = directory.lookup(&address).await.unwrap();
        assert_eq!(entries.len(), 1, "{address}");
        let certs = entries[0].usable_certificates_now();
        assert_eq!(certs.len(), 2, "RSA and ECC for {address}");
        for cert in certs {
            recipients.push(RecipientCert {
                address: address.to_string(),
                cert: CertInfo::parse(&cert.der).unwrap(),
            });
        }
    }
    let attribute = kim_message::seal::recipient_emails(&recipients).to_attribute_der();
    let property = CmsProperty {
        identifier: "RecipientEmailsAttribute".into(),
        attribute_der: attribute.clone(),
    };

    // Sender side: SMC-B, PIN, job number, SignDocument (ECC), EncryptDocument.
    let sender_card = smcb_handle(&konnektor, "1-2.58.00000040").await;
    verify_pin(&konnektor, &sender_card).await;
    let job = konnektor
        .get_job_number(&GetJobNumber { context: context() })
        .await
        .unwrap()
        .job_number;
    let mail = b"From: <praxis.schmidt@test.kim.telematik>\r\nTo: <zahnarzt.weber@test.kim.telematik>\r\nMessage-ID: <1@test>\r\nSubject: Arztbrief\r\n\r\nGuten Tag.\r\n";
    let wrapped = kim_message::mime::compose::rfc822_wrap(mail);
    let signed = konnektor
        .sign_document(&SignDocument {
            card_handle: sender_card.clone(),
            crypt: Some(Crypt::Ecc),
            context: context(),
            tv_mode: TvMode::None,
            job_number: Some(job),
            requests: vec![SignRequest {
                request_id: "KimSignRequest".into(),
                signature_type: Some(SignatureType::new(SignatureType::CMS)),
                signed_properties: vec![property.clone()],
                include_econtent: Some(true),
                document: Document::new(wrapped.clone()),
                include_revocation_info: false,
            }],
        })
        .await
        .unwrap();
    let signature = signed.responses[0].signature.clone().unwrap().data;
    let parsed = SignedData::parse(&signature).unwrap();
    let signer = parsed.verify(&[]).unwrap();
    assert_eq!(
        signer.telematik_id().as_deref(),
        Some("1-2.58.00000040"),
        "signed with the sender's SMC-B"
    );
    assert!(
        signer.key_description().contains("brainpool"),
        "{}",
        signer.key_description()
    );

    let entity = kim_message::mime::compose::signed_data_entity(&signature);
    let encrypted = konnektor
        .encrypt_document(&EncryptDocument {
            context: context(),
            recipient_keys: RecipientKeys {
                certificate_on_card: None,
                certificates: recipients.iter().map(|r| r.cert.der.clone()).collect(),
            },
            document: Document::new(entity.clone()),
            encryption_type: Some(EncryptionType::Cms),
            unprotected_properties: vec![property],
        })
        .await
        .unwrap()
        .document
        .unwrap()
        .data;
    let envelope = AuthEnvelopedData::parse(&encrypted).unwrap();
    assert_eq!(envelope.recipient_infos.len(), 4);
    assert_eq!(
        envelope.recipient_emails().unwrap().to_attribute_der(),
        attribute
    );

    // Receiving side: the recipient's SMC-B decrypts (ECC key), then VerifyDocument.
    let recipient_card = smcb_handle(&konnektor, "2-2.58.00000041").await;
    let request = DecryptDocument {
        context: context(),
        private_key_on_card: KeyOnCard {
            card_handle: recipient_card.clone(),
            key_reference: None,
            crypt: Some(Crypt::Ecc),
        },
        document: Document::new(encrypted.clone()),
    };
    // Without a verified PIN the Konnektor refuses (4085), as a real one does.
    let refused = konnektor.decrypt_document(&request).await.unwrap_err();
    assert_eq!(refused.code(), Some(4085), "{refused}");
    assert!(matches!(refused, ClientError::Fault { .. }));
    verify_pin(&konnektor, &recipient_card).await;
    let plain = konnektor
        .decrypt_document(&request)
        .await
        .unwrap()
        .document
        .unwrap()
        .data;
    assert_eq!(plain, entity);

    let verified = konnektor
        .verify_document(&VerifyDocument {
            context: context(),
            tv_mode: None,
            return_verification_report: None,
            document: None,
            signature: Some(SignatureObject {
                signature_type: Some(SignatureType::new(SignatureType::CMS)),
                data: signature,
            }),
            include_revocation_info: false,
        })
        .await
        .unwrap();
    assert_eq!(verified.high_level_result, HighLevelResult::Valid);

    // The recipient's certificates as the card reports them match the directory's.
    let read = konnektor
        .read_card_certificate(&ReadCardCertificate {
            card_handle: recipient_card.clone(),
            context: context(),
            cert_refs: vec![CertRef::Enc],
            crypt: Some(Crypt::Ecc),
        })
        .await
        .unwrap();
    let card_cert = read.infos[0].x509.clone().unwrap().certificate;
    assert!(recipients.iter().any(|r| r.cert.der == card_cert));

    // ExternalAuthenticate (Account Manager JWT): ECDSA over a SHA-256 hash, R||S.
    let hash = sha2::Sha256::digest(b"header.payload").to_vec();
    let auth = konnektor
        .external_authenticate(&ExternalAuthenticate {
            card_handle: sender_card,
            context: context(),
            signature_type: Some(SignatureType::new(SignatureType::ECDSA)),
            signature_scheme: None,
            binary_string: Document::new(hash),
        })
        .await
        .unwrap();
    assert_eq!(auth.signature.unwrap().data.len(), 64);

    sim.shutdown().await;
    vzd.shutdown().await;
}

#[test]
fn kim_ti_serve_and_card_commands() {
    let data = tempfile::tempdir().unwrap();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_kim"))
        .args(["ti", "serve", "--seconds", "60", "--data"])
        .arg(data.path())
        .args([
            "--konnektor",
            "127.0.0.1:0",
            "--ldap",
            "127.0.0.1:0",
            "--ldaps",
            "127.0.0.1:0",
            "--vzd-api",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = serve.stdout.take().unwrap();
    let mut summary = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line == "READY" {
            break;
        }
        summary.push(line);
    }
    let field = |name: &str| -> String {
        summary
            .iter()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {summary:?}"))
            .trim_start()
            .trim_start_matches(name)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let sds = field("Konnektor");
    let ldap = field("VZD (LDAP)");
    let trust = data.path().join("pki/ca-bundle.pem");
    assert!(trust.exists());

    // ldapsearch finds the practice, seeded from the Konnektor's card configuration, with
    // its ENC certificates and the profession OID of its Admission.
    let out = Command::new("ldapsearch")
        .args([
            "-x",
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-H",
            &ldap,
            "-b",
            "dc=data,dc=vzd",
        ])
        .arg(format!("(mail={RECIPIENT})"))
        .args([
            "telematikID",
            "professionOID",
            "komLeData",
            "userCertificate;binary",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("telematikID: 2-2.58.00000041"), "{text}");
    assert!(text.contains("professionOID: 1.2.276.0.76.4.51"), "{text}");
    assert!(
        text.contains(&format!("komLeData: 1.5,{RECIPIENT}")),
        "{text}"
    );
    assert_eq!(
        text.matches("userCertificate;binary::").count(),
        2,
        "{text}"
    );

    // Card control: remove the recipient's SMC-B, then it has no handle.
    let konnektor = sds.trim_end_matches("/connector.sds").to_string();
    let iccsn = pki().card("2-2.58.00000041").unwrap().spec.iccsn.clone();
    let card = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_kim"))
            .args(["ti", "card"])
            .args(args)
            .args(["--konnektor", &konnektor, "--trust"])
            .arg(&trust)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, stdout, stderr) = card(&["remove", &iccsn]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let (_, listing, _) = card(&["list"]);
    let cards: serde_json::Value = serde_json::from_str(&listing).unwrap();
    let removed = cards
        .as_array()
        .or_else(|| cards["cards"].as_array())
        .unwrap()
        .iter()
        .find(|c| c["iccsn"] == iccsn.as_str())
        .unwrap()
        .clone();
    assert!(removed["handle"].is_null(), "{removed}");
    let (code, _, _) = card(&["insert", &iccsn]);
    assert_eq!(code, Some(0));
    let (code, _, stderr) = card(&["insert", "123"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("20 digits"), "{stderr}");

    serve.kill().unwrap();
    let _ = serve.wait();
    std::thread::sleep(Duration::from_millis(10));
}
