//! Transport variants: MTOM requests on the Signature/Encryption endpoints, SOAPAction
//! quoted/unquoted/absent/`crypt/`, dispatch on the body element.

use kim_konnektor::Operation;
use kim_konnektor::model::*;
use kim_konnektor::ops::*;

use crate::common::*;

fn mtom(xml: &str, attachment: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(b"--MIMEBoundary_1\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"text/xml\"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <root@sim>\r\n\r\n");
    body.extend_from_slice(xml.as_bytes());
    body.extend_from_slice(b"\r\n--MIMEBoundary_1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <doc@1>\r\n\r\n");
    body.extend_from_slice(attachment);
    body.extend_from_slice(b"\r\n--MIMEBoundary_1--\r\n");
    body
}

const MTOM_CT: &str = "multipart/related; type=\"application/xop+xml\"; boundary=\"MIMEBoundary_1\"; start=\"<root@sim>\"; start-info=\"text/xml\"";

#[tokio::test(flavor = "multi_thread")]
async fn mtom_sign_document_uses_the_attachment_and_card_service_refuses_mtom() {
    let sim = start(default_config()).await;
    let c = client();
    let h = verified(&c, &sim, SMCB).await;
    let placeholder = b"PLACEHOLDER".to_vec();
    let req = SignDocument {
        card_handle: h.clone(),
        crypt: Some(Crypt::Rsa),
        context: ctx(),
        tv_mode: TvMode::None,
        job_number: Some(JobNumber::new("MTO-001").unwrap()),
        requests: vec![SignRequest {
            request_id: "m1".into(),
            signature_type: Some(SignatureType::new(SignatureType::CMS)),
            signed_properties: vec![],
            include_econtent: Some(true),
            document: Document::new(placeholder.clone()),
            include_revocation_info: false,
        }],
    };
    let xml = String::from_utf8(req.to_envelope(&V_SIG).unwrap()).unwrap();
    let b64 = "UExBQ0VIT0xERVI="; // base64("PLACEHOLDER")
    assert!(xml.contains(b64));
    let xml = xml.replace(
        b64,
        "<xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:doc%401\"/>",
    );
    let attachment: Vec<u8> = (0..5000u32).map(|i| (i % 256) as u8).collect();
    let (status, answer) = post_raw(
        &c,
        &sim,
        "SignatureService",
        MTOM_CT,
        mtom(&xml, &attachment),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    validate_response("SignDocument", &answer);
    let r = SignDocument::parse_response(&answer).unwrap();
    let cms = &r.responses[0].signature.as_ref().unwrap().data;
    let sd = kim_message::cms::SignedData::parse(cms).unwrap();
    assert_eq!(sd.econtent.as_deref(), Some(&attachment[..]));

    let pin = VerifyPin {
        context: ctx(),
        card_handle: h,
        pin_type: PinType::Smc,
    };
    let xml = String::from_utf8(pin.to_envelope(&V_CARD).unwrap()).unwrap();
    let (status, answer) = post_raw(&c, &sim, "CardService", MTOM_CT, mtom(&xml, b"")).await;
    assert_eq!(status, 500);
    let f = kim_konnektor::Envelope::parse(&answer)
        .unwrap()
        .fault()
        .unwrap();
    assert_eq!(f.code(), Some(4000));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn soap_action_is_ignored_and_the_body_element_decides() {
    let sim = start(default_config()).await;
    let c = client();
    let h = handle_of(&c, &sim, SMCB).await;
    let dec = DecryptDocument {
        context: ctx(),
        private_key_on_card: KeyOnCard {
            card_handle: h,
            key_reference: None,
            crypt: None,
        },
        document: Document::new(vec![0x30, 0x00]),
    };
    let body = dec.to_envelope(&V_ENC).unwrap();
    for action in [
        Some("\"http://ws.gematik.de/conn/crypt/EncryptionService/v6.1#DecryptDocument\""),
        Some("http://ws.gematik.de/conn/EncryptionService/v6.1#DecryptDocument"),
        Some("\"urn:something-else\""),
        None,
    ] {
        let mut r = c
            .post(url(&sim, "/ws/EncryptionService"))
            .header("Content-Type", "text/xml; charset=UTF-8")
            .body(body.clone());
        if let Some(a) = action {
            r = r.header("SOAPAction", a);
        }
        let answer = r.send().await.unwrap().bytes().await.unwrap();
        // PIN not verified: the operation ran (4085), it was not rejected as unknown (4000).
        let f = kim_konnektor::Envelope::parse(&answer)
            .unwrap()
            .fault()
            .unwrap();
        assert_eq!(f.code(), Some(4085), "{action:?}");
    }
    sim.shutdown().await;
}
