//! Failures: context ids, card handles, PINs, sizes, malformed requests, client
//! authentication, the TOML configuration, and that no key material leaks.

use std::time::Duration;

use kim_konnektor::model::*;
use kim_konnektor::ops::*;
use kim_ti_sim::SimConfig;
use kim_ti_sim::config::ClientAuthMode;

use crate::common::*;

fn sign(handle: &CardHandle, crypt: Option<Crypt>, context: Context) -> SignDocument {
    SignDocument {
        card_handle: handle.clone(),
        crypt,
        context,
        tv_mode: TvMode::None,
        job_number: Some(JobNumber::new("ABC-123").unwrap()),
        requests: vec![SignRequest {
            request_id: "r1".into(),
            signature_type: Some(SignatureType::new(SignatureType::CMS)),
            signed_properties: vec![],
            include_econtent: Some(true),
            document: Document::new(b"doc".to_vec()),
            include_revocation_info: false,
        }],
    }
}

fn job(m: &str, c: &str, w: &str) -> GetJobNumber {
    GetJobNumber {
        context: Context::new(m, c, w).unwrap(),
    }
}

const EMPTY_MANDANT: &str = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SIG:GetJobNumber xmlns:SIG="http://ws.gematik.de/conn/SignatureService/v7.5" xmlns:CCTX="http://ws.gematik.de/conn/ConnectorContext/v2.0" xmlns:CONN="http://ws.gematik.de/conn/ConnectorCommon/v5.0"><CCTX:Context><CONN:MandantId></CONN:MandantId><CONN:ClientSystemId>ClientID1</CONN:ClientSystemId><CONN:WorkplaceId>Workplace1</CONN:WorkplaceId></CCTX:Context></SIG:GetJobNumber></soap:Body></soap:Envelope>"#;

const WRONG_ORDER: &str = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><CARD:GetPinStatus xmlns:CARD="http://ws.gematik.de/conn/CardService/v8.1" xmlns:CCTX="http://ws.gematik.de/conn/ConnectorContext/v2.0" xmlns:CONN="http://ws.gematik.de/conn/ConnectorCommon/v5.0" xmlns:CARDCMN="http://ws.gematik.de/conn/CardServiceCommon/v2.0"><CONN:CardHandle>X</CONN:CardHandle><CCTX:Context><CONN:MandantId>Mandant1</CONN:MandantId><CONN:ClientSystemId>ClientID1</CONN:ClientSystemId><CONN:WorkplaceId>Workplace1</CONN:WorkplaceId></CCTX:Context><CARDCMN:PinTyp>PIN.SMC</CARDCMN:PinTyp></CARD:GetPinStatus></soap:Body></soap:Envelope>"#;

/// The gematik code in a fault envelope.
fn fault_code(body: &[u8]) -> u32 {
    match kim_konnektor::Envelope::parse(body).unwrap().fault() {
        Some(f) => f.code().unwrap(),
        None => panic!("no fault: {}", String::from_utf8_lossy(body)),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn context_ids_are_checked() {
    let mut cfg = default_config();
    // Workplace2 loses ClientID1 so that Mandant1/ClientID1/Workplace2 is 4014.
    cfg.model.workplaces[1].client_systems.clear();
    let sim = start(cfg).await;
    let c = client();
    let cases = [
        (job("MandantX", "ClientID1", "Workplace1"), 4004),
        (job("Mandant1", "ClientX", "Workplace1"), 4005),
        (job("Mandant1", "ClientID1", "WorkplaceX"), 4006),
        (job("Mandant1", "ClientID2", "Workplace1"), 4010),
        (job("Mandant1", "ClientID1", "Workplace3"), 4011),
        (job("Mandant1", "ClientID1", "Workplace2"), 4014),
    ];
    for (req, expected) in cases {
        assert_eq!(code(call(&c, &sim, &req, V_SIG).await), expected, "{req:?}");
    }
    let (status, body) = post_raw(
        &c,
        &sim,
        "SignatureService",
        "text/xml; charset=UTF-8",
        EMPTY_MANDANT.into(),
    )
    .await;
    validate_response("fault", &body);
    assert_eq!((status, fault_code(&body)), (500, 4021));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn card_handles_are_valid_for_one_insertion_and_only_where_reachable() {
    let sim = start(default_config()).await;
    let c = client();
    let unknown = CardHandle::new("SMC-B-0-00000000").unwrap();
    let e = call(
        &c,
        &sim,
        &GetPinStatus {
            context: ctx(),
            card_handle: unknown,
            pin_type: PinType::Smc,
        },
        V_CARD,
    )
    .await;
    assert_eq!(code(e), 4101);

    let h = verified(&c, &sim, SMCB).await;
    // Workplace2 reaches CT2 only.
    let wp2 = Context::new("Mandant1", "ClientID1", "Workplace2").unwrap();
    assert_eq!(
        code(call(&c, &sim, &sign(&h, None, wp2), V_SIG).await),
        4012
    );

    // Remove and re-insert through the admin API: the old handle is gone, the PIN unverified.
    let admin = |p: &str| url(&sim, &format!("/admin/cards/{SMCB}/{p}"));
    assert_eq!(c.post(admin("remove")).send().await.unwrap().status(), 200);
    assert_eq!(
        code(call(&c, &sim, &sign(&h, None, ctx()), V_SIG).await),
        4101
    );
    assert_eq!(c.post(admin("insert")).send().await.unwrap().status(), 200);
    let h2 = handle_of(&c, &sim, SMCB).await;
    assert_ne!(h, h2);
    assert_eq!(
        code(call(&c, &sim, &sign(&h2, None, ctx()), V_SIG).await),
        4085
    );
    let s = call(
        &c,
        &sim,
        &GetPinStatus {
            context: ctx(),
            card_handle: h2,
            pin_type: PinType::Smc,
        },
        V_CARD,
    )
    .await
    .unwrap();
    assert_eq!(s.pin_status, Some(PinStatus::Verifiable));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn private_key_operations_need_a_verified_pin_and_a_blocked_pin_stays_blocked() {
    let sim = start(default_config()).await;
    let c = client();
    let h = handle_of(&c, &sim, SMCB).await;
    // Certificates are readable without PIN.
    call(
        &c,
        &sim,
        &ReadCardCertificate {
            card_handle: h.clone(),
            context: ctx(),
            cert_refs: vec![CertRef::Enc],
            crypt: None,
        },
        V_CERT,
    )
    .await
    .unwrap();
    assert_eq!(
        code(call(&c, &sim, &sign(&h, Some(Crypt::Ecc), ctx()), V_SIG).await),
        4085
    );
    let ext = ExternalAuthenticate {
        card_handle: h.clone(),
        context: ctx(),
        signature_type: None,
        signature_scheme: None,
        binary_string: Document::new(vec![0; 32]),
    };
    assert_eq!(code(call(&c, &sim, &ext, V_AUTH).await), 4085);
    let dec = DecryptDocument {
        context: ctx(),
        private_key_on_card: KeyOnCard {
            card_handle: h.clone(),
            key_reference: None,
            crypt: None,
        },
        document: Document::new(vec![0x30, 0x00]),
    };
    assert_eq!(code(call(&c, &sim, &dec, V_ENC).await), 4085);

    // Three wrong PIN entries scripted through the admin API.
    let r = c
        .post(url(&sim, &format!("/admin/cards/{SMCB}/pin")))
        .body(r#"{"pin":"PIN.SMC","script":["wrong","wrong","wrong"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let verify = VerifyPin {
        context: ctx(),
        card_handle: h.clone(),
        pin_type: PinType::Smc,
    };
    let mut results = Vec::new();
    for _ in 0..4 {
        let r = call(&c, &sim, &verify, V_CARD).await.unwrap();
        results.push((r.pin_result, r.left_tries));
    }
    assert_eq!(
        results,
        vec![
            (PinResult::Rejected, Some(2)),
            (PinResult::Rejected, Some(1)),
            (PinResult::NowBlocked, Some(0)),
            (PinResult::WasBlocked, Some(0)),
        ]
    );
    let s = call(
        &c,
        &sim,
        &GetPinStatus {
            context: ctx(),
            card_handle: h.clone(),
            pin_type: PinType::Smc,
        },
        V_CARD,
    )
    .await
    .unwrap();
    assert_eq!(s.pin_status, Some(PinStatus::Blocked));
    assert_eq!(
        code(call(&c, &sim, &sign(&h, None, ctx()), V_SIG).await),
        4085
    );
    sim.shutdown().await;
}

/// The example configuration, pointed at the test PKI, with an RSA-only (G2.0) SMC-B.
fn example_config(extra: &str) -> SimConfig {
    let dir = tempfile::tempdir().unwrap().keep();
    let g20 = dir.join("g20");
    std::fs::create_dir_all(&g20).unwrap();
    for f in ["aut-rsa", "enc-rsa", "osig-rsa"] {
        for ext in ["crt.der", "key.pem"] {
            std::fs::copy(
                pki_dir().join(format!("cards/2-2.58.00000041/{f}.{ext}")),
                g20.join(format!("{f}.{ext}")),
            )
            .unwrap();
        }
    }
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/konnektor.toml"),
    )
    .unwrap();
    let mut text = example
        .replace("pki/", &format!("{}/", pki_dir().display()))
        .replace("127.0.0.1:8443", "127.0.0.1:0")
        .replace("127.0.0.1:8080", "127.0.0.1:0");
    text.push_str(&format!(
        "\n[[card]]\ntype = \"SMC-B\"\niccsn = \"80276883110000100002\"\nholder = \"G2.0\"\ntelematik_id = \"2-2.58.00000041\"\nterminal = \"CT1\"\nslot = 3\nkeys = \"{}\"\n{extra}",
        g20.display()
    ));
    let path = dir.join("konnektor.toml");
    std::fs::write(&path, text).unwrap();
    SimConfig::load(&path).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_toml_loads_and_an_rsa_only_card_answers_4258_for_ecc() {
    let cfg = example_config("");
    assert_eq!(cfg.cards.len(), 3);
    assert_eq!(
        cfg.cards[2].keys.len(),
        3,
        "only the RSA pairs present are loaded"
    );
    let sim = start(cfg).await;
    assert!(sim.plain_addr().is_some());
    let c = client();
    let h = verified(&c, &sim, SMCB2).await;
    assert_eq!(
        code(call(&c, &sim, &sign(&h, Some(Crypt::Ecc), ctx()), V_SIG).await),
        4258
    );
    let r = call(&c, &sim, &sign(&h, Some(Crypt::RsaEcc), ctx()), V_SIG)
        .await
        .unwrap();
    let cms = &r.responses[0].signature.as_ref().unwrap().data;
    let sd = kim_message::cms::SignedData::parse(cms).unwrap();
    assert_eq!(
        sd.signer_infos[0].signature_algorithm.oid,
        kim_message::cms::oid::RSASSA_PSS,
        "RSA_ECC falls back to RSA"
    );

    // connector.sds over plain HTTP (ANCL_DVD_OPEN), SOAP over plain HTTP refused.
    let plain = format!("http://{}", sim.plain_addr().unwrap());
    let r = c
        .get(format!("{plain}/connector.sds"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{plain}/ws/EventService"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    sim.shutdown().await;
}

#[test]
fn config_errors_name_key_value_and_range() {
    let base = std::path::Path::new("/nonexistent");
    let cases = [
        ("listen = \"nope\"", "listen"),
        (
            "listen = \"127.0.0.1:0\"\n[tls]\npkcs12 = \"x.p12\"\n[trust]\nca_certificates = []\n[client_auth]\nmode = \"magic\"",
            "(key `tls.pkcs12`)",
        ),
    ];
    for (text, key) in cases {
        let e = SimConfig::from_toml_str(text, base)
            .unwrap_err()
            .to_string();
        assert!(e.contains(key) || e.contains("syntax"), "{e}");
    }
    let dir = pki_dir().display().to_string();
    let text = format!(
        "listen = \"127.0.0.1:0\"\n[tls]\ncertificate_chain = \"{dir}/tls/konnektor.crt.pem\"\nprivate_key = \"{dir}/tls/konnektor.key.pem\"\n[client_auth]\nmode = \"magic\"\n[trust]\nca_certificates = [\"{dir}/ca-bundle.pem\"]\n"
    );
    let e = SimConfig::from_toml_str(&text, base)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("client_auth.mode")
            && e.contains("magic")
            && e.contains("none | certificate | basic"),
        "{e}"
    );
    let bad_slot = text.replace("magic", "none")
        + "[[card_terminal]]\nid = \"CT1\"\nslots = 2\n[[card]]\ntype = \"SMC-B\"\niccsn = \"80276883110000100001\"\nholder = \"x\"\ntelematik_id = \"1\"\nterminal = \"CT1\"\nslot = 5\nkeys = \""
        + &dir
        + "/cards/1-2.58.00000040\"\n";
    let e = SimConfig::from_toml_str(&bad_slot, base)
        .unwrap_err()
        .to_string();
    assert!(e.contains("card[0].slot") && e.contains("1..=2"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn oversize_documents_are_4280_and_malformed_requests_4000() {
    let sim = start(default_config()).await;
    let c = client();
    let h = verified(&c, &sim, SMCB).await;
    let mut big = sign(&h, None, ctx());
    // Exactly 25 MB is accepted.
    // (The signed answer exceeds what the client library accepts, so read it raw.)
    big.requests[0].document = Document::new(vec![b'a'; 26_214_400]);
    let env = kim_konnektor::Operation::to_envelope(&big, &V_SIG).unwrap();
    drop(big);
    let (status, answer) = post_raw(&c, &sim, "SignatureService", "text/xml", env.clone()).await;
    assert_eq!(status, 200);
    let sig_start = answer
        .windows(17)
        .position(|w| w == b"<dss:Base64Signat")
        .unwrap();
    assert!(
        answer[..sig_start]
            .windows(23)
            .any(|w| w == b"<CONN:Result>OK</CONN:R")
    );
    drop(answer);
    // Three bytes more (the client library refuses to write it, so patch the base64).
    let tag = b"<dss:Base64Data>";
    let at = env.windows(tag.len()).position(|w| w == tag).unwrap() + tag.len();
    let over = [&env[..at], b"YWFh", &env[at..]].concat();
    let (status, body) = post_raw(
        &c,
        &sim,
        "SignatureService",
        "text/xml; charset=UTF-8",
        over,
    )
    .await;
    validate_response("fault", &body);
    assert_eq!((status, fault_code(&body)), (500, 4280));
    // A body far above the limit is refused from its Content-Length.
    let (status, body) = post_raw(
        &c,
        &sim,
        "SignatureService",
        "text/xml",
        vec![b' '; 40 * 1024 * 1024],
    )
    .await;
    assert_eq!((status, fault_code(&body)), (500, 4280));

    for (ct, body) in [
        ("text/xml; charset=UTF-8", b"<soap:Envelope".to_vec()),
        ("text/xml; charset=UTF-8", b"\x00\xff garbage".to_vec()),
        ("text/xml; charset=UTF-8", WRONG_ORDER.as_bytes().to_vec()),
        (
            "text/xml; charset=ISO-8859-1",
            EMPTY_MANDANT.as_bytes().to_vec(),
        ),
        (
            "text/xml",
            EMPTY_MANDANT
                .replace("GetJobNumber", "GetNothing")
                .into_bytes(),
        ),
    ] {
        let (status, answer) = post_raw(&c, &sim, "SignatureService", ct, body).await;
        validate_response("fault", &answer);
        assert_eq!((status, fault_code(&answer)), (500, 4000));
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_rejects_missing_and_foreign_client_certificates() {
    let mut cfg = default_config();
    cfg.tls.client_auth = ClientAuthMode::Certificate {
        trusted_cas: vec![pki().component_ca.certificate_der.clone()],
    };
    let sim = start(cfg).await;
    let req = GetJobNumber { context: ctx() };
    let body = kim_konnektor::Operation::to_envelope(&req, &V_SIG).unwrap();
    let send = |c: reqwest::Client| {
        let u = url(&sim, "/ws/SignatureService");
        let b = body.clone();
        async move {
            c.post(u)
                .header("Content-Type", "text/xml")
                .body(b)
                .send()
                .await
        }
    };
    assert!(send(client()).await.is_err(), "no client certificate");
    // An SMC-B AUT certificate chains to the SMC-B CA, not to the trusted component CA.
    let aut = pki()
        .card("1-2.58.00000040")
        .unwrap()
        .aut(kim_testkit::pki::KeyAlgorithm::Rsa2048);
    let mut chain = vec![aut.certificate_der.clone()];
    chain.extend(aut.chain_der.iter().cloned());
    let foreign = kim_tls::Identity::from_der(chain, aut.private_key_pkcs8_der.to_vec()).unwrap();
    assert!(
        send(client_with(Some(foreign), Duration::from_secs(10)))
            .await
            .is_err(),
        "foreign client certificate"
    );
    let ok = send(client_with(
        Some(clientmodul_identity()),
        Duration::from_secs(10),
    ))
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_answers_401_for_wrong_or_missing_credentials() {
    let mut cfg = default_config();
    cfg.tls.client_auth = ClientAuthMode::Basic {
        user: "cm".into(),
        password: zeroize::Zeroizing::new("geheim".into()),
    };
    let sim = start(cfg).await;
    let c = client();
    let u = url(&sim, "/connector.sds");
    assert_eq!(c.get(&u).send().await.unwrap().status(), 401);
    assert_eq!(
        c.get(&u)
            .basic_auth("cm", Some("falsch"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        c.get(&u)
            .basic_auth("cm", Some("geheimX"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        c.get(&u)
            .basic_auth("cm", Some("geheim"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn knobs_delay_fail_unavailable_and_stall() {
    let sim = start(default_config()).await;
    let c = client();
    let set = |op: &str, json: &str| {
        let r = c
            .put(url(&sim, &format!("/admin/knobs/{op}")))
            .body(json.to_string())
            .send();
        async move { assert_eq!(r.await.unwrap().status(), 200) }
    };
    let req = GetJobNumber { context: ctx() };

    set("GetJobNumber", r#"{"delay":300}"#).await;
    let t = std::time::Instant::now();
    call(&c, &sim, &req, V_SIG).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));

    set("GetJobNumber", r#"{"fail_next":2,"fail_code":4085}"#).await;
    assert_eq!(code(call(&c, &sim, &req, V_SIG).await), 4085);
    assert_eq!(code(call(&c, &sim, &req, V_SIG).await), 4085);
    call(&c, &sim, &req, V_SIG).await.unwrap();

    set("GetJobNumber", r#"{"unavailable":"fault4002"}"#).await;
    assert_eq!(code(call(&c, &sim, &req, V_SIG).await), 4002);
    set("GetJobNumber", r#"{"unavailable":"refuse"}"#).await;
    let body = kim_konnektor::Operation::to_envelope(&req, &V_SIG).unwrap();
    let refused = c
        .post(url(&sim, "/ws/SignatureService"))
        .body(body.clone())
        .send()
        .await;
    assert!(refused.is_err(), "connection closed without an answer");

    set("GetJobNumber", r#"{"stall":true}"#).await;
    let impatient = client_with(None, Duration::from_secs(1));
    let t = std::time::Instant::now();
    let stalled = impatient
        .post(url(&sim, "/ws/SignatureService"))
        .body(body)
        .send()
        .await;
    assert!(stalled.unwrap_err().is_timeout());
    assert!(t.elapsed() < Duration::from_secs(5));

    set("GetJobNumber", "{}").await;
    call(&c, &sim, &req, V_SIG).await.unwrap();
    // Other operations were never affected.
    let knobs: serde_json::Value = serde_json::from_slice(
        &c.get(url(&sim, "/admin/knobs"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(knobs, serde_json::json!({}));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_key_material_in_responses_admin_output_debug_or_logs() {
    capture_logs();
    let cfg = default_config();
    let debug = format!("{cfg:?}");
    let sim = start(cfg).await;
    let c = client();
    let h = verified(&c, &sim, SMCB).await;
    let mut seen = Vec::new();
    seen.push(debug.into_bytes());
    seen.push(format!("{:?}", sim.konnektor()).into_bytes());
    seen.push(
        c.get(url(&sim, "/admin/cards"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec(),
    );
    for crypt in [Crypt::Rsa, Crypt::Ecc] {
        let r = call(&c, &sim, &sign(&h, Some(crypt), ctx()), V_SIG)
            .await
            .unwrap();
        seen.push(r.responses[0].signature.as_ref().unwrap().data.clone());
    }
    let (_, fault) = post_raw(&c, &sim, "SignatureService", "text/xml", b"<x/>".to_vec()).await;
    seen.push(fault);
    let e = call(
        &c,
        &sim,
        &GetJobNumber {
            context: Context::new("MandantX", "C", "W").unwrap(),
        },
        V_SIG,
    )
    .await;
    assert_eq!(code(e), 4004);
    let logs = logs();
    assert!(
        logs.windows(4).any(|w| w == b"4004"),
        "the fault was logged: {}",
        String::from_utf8_lossy(&logs)
    );
    seen.push(logs);
    let card = pki().card("1-2.58.00000040").unwrap();
    for (_, _, issued) in card.all() {
        let key = &issued.private_key_pkcs8_der;
        let pem = issued.private_key_pem().unwrap();
        let line = pem.lines().nth(2).unwrap().to_string();
        // 24 bytes from the middle of the PKCS#8 structure (private key material).
        let probe = &key[key.len() / 2..key.len() / 2 + 24];
        for s in &seen {
            assert!(
                !s.windows(probe.len()).any(|w| w == probe),
                "{} key bytes leaked",
                issued.label
            );
            assert!(
                !s.windows(line.len()).any(|w| w == line.as_bytes()),
                "{} key PEM leaked",
                issued.label
            );
        }
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_never_stops_the_server() {
    let sim = start(default_config()).await;
    let c = client();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..50 {
        let len = (i * 37) % 700;
        let body: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed & 0xff) as u8
            })
            .collect();
        let ct = if i % 3 == 0 {
            "multipart/related; boundary=x; type=\"application/xop+xml\""
        } else {
            "text/xml"
        };
        let (status, answer) = post_raw(&c, &sim, "EncryptionService", ct, body).await;
        assert_eq!(status, 500);
        assert_eq!(fault_code(&answer), 4000);
    }
    call(&c, &sim, &GetJobNumber { context: ctx() }, V_SIG)
        .await
        .unwrap();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_body_that_never_completes_is_bounded_by_the_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut cfg = default_config();
    cfg.request_timeout = Duration::from_millis(700);
    let sim = start(cfg).await;
    let trust = kim_tls::TrustAnchors::from_pem(pki().ca_bundle_pem().unwrap().as_bytes()).unwrap();
    let tls = kim_tls::client_config(kim_tls::ClientOptions {
        trust,
        identity: None,
        danger_accept_any_hostname: false,
    })
    .unwrap();
    let tcp = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .unwrap();
    stream
        .write_all(b"POST /ws/SignatureService HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<soap:Envelope")
        .await
        .unwrap();
    let t = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server never gave up");
    assert!(t.elapsed() < Duration::from_secs(5));
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 500"), "{text}");
    assert!(text.contains("<GERROR:Code>4000</GERROR:Code>"), "{text}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mandant_wide_get_cards_sees_the_terminals_of_every_workplace() {
    let sim = start(default_config()).await;
    let c = client();
    let wp2 = Context::new("Mandant1", "ClientID1", "Workplace2").unwrap();
    let get = |mandant_wide| GetCards {
        mandant_wide,
        context: wp2.clone(),
        ct_id: None,
        slot_id: None,
        card_type: None,
    };
    assert_eq!(
        call(&c, &sim, &get(false), V_EVT)
            .await
            .unwrap()
            .cards
            .len(),
        0
    );
    assert_eq!(
        call(&c, &sim, &get(true), V_EVT).await.unwrap().cards.len(),
        3
    );
    sim.shutdown().await;
}
