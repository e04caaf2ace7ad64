//! Sample values for every operation, used by the golden-file and property tests.

use kim_konnektor::fault::{ErrorType, Severity, TelematikError, Trace};
use kim_konnektor::model::*;
use kim_konnektor::ops::*;

pub fn ctx() -> Context {
    Context::new("Mandant1", "ClientID1", "Workplace1").unwrap()
}

pub fn handle() -> CardHandle {
    CardHandle::new("SMC-B-80276883110000123456").unwrap()
}

pub fn ts(s: &str) -> DateTime {
    DateTime::new(s).unwrap()
}

/// Stand-in DER bytes (the XML layer does not interpret them).
pub fn der(tag: u8) -> Vec<u8> {
    vec![0x30, 0x06, 0x02, 0x01, tag, 0x04, 0x01, 0xff]
}

pub fn recipient_emails() -> CmsProperty {
    CmsProperty {
        identifier: CmsProperty::RECIPIENT_EMAILS.to_owned(),
        attribute_der: der(0xa1),
    }
}

pub fn trace(code: u32, severity: Severity, detail: Option<&str>) -> Trace {
    let mut t = Trace::standard(code, severity, ErrorType::Technical);
    t.event_id = "0b6e3c0a-7d1e-4c8f-9d0e-222222222222".into();
    t.instance = "Konnektor-Simulator".into();
    t.log_reference = "log-4711".into();
    t.detail = detail.map(str::to_owned);
    t
}

pub fn error(code: u32, severity: Severity, detail: Option<&str>) -> TelematikError {
    TelematikError {
        message_id: "0b6e3c0a-7d1e-4c8f-9d0e-111111111111".into(),
        timestamp: ts("2025-01-01T12:00:00Z"),
        traces: vec![trace(code, severity, detail)],
    }
}

pub fn get_cards() -> GetCards {
    GetCards {
        mandant_wide: false,
        context: ctx(),
        ct_id: None,
        slot_id: None,
        card_type: Some(CardType::SmcB),
    }
}

pub fn get_cards_response() -> GetCardsResponse {
    let v = |major, minor, revision| VersionInfo {
        major,
        minor,
        revision,
    };
    GetCardsResponse {
        status: Status::ok(),
        cards: vec![
            CardInfo {
                handle: handle(),
                card_type: CardType::SmcB,
                version: Some(CardVersion {
                    cos: v(4, 5, 0),
                    object_system: v(4, 8, 0),
                    card_pt_pers: None,
                    data_structure: None,
                    logging: None,
                    atr: Some(v(1, 0, 0)),
                    gdo: None,
                    key_info: None,
                }),
                iccsn: Some(Iccsn::new("80276883110000123456").unwrap()),
                ct_id: "CT1".into(),
                slot_id: 1,
                insert_time: ts("2025-01-01T08:00:00Z"),
                holder_name: Some("Praxis Dr. Müller & Partner".into()),
                kvnr: None,
                certificate_expiration_date: Some(Date::new("2029-12-31").unwrap()),
            },
            CardInfo {
                handle: CardHandle::new("HBA-80276883110000999999").unwrap(),
                card_type: CardType::Hba,
                version: None,
                iccsn: None,
                ct_id: "CT2".into(),
                slot_id: 2,
                insert_time: ts("2025-01-01T08:05:00.250+01:00"),
                holder_name: None,
                kvnr: None,
                certificate_expiration_date: None,
            },
        ],
    }
}

pub fn get_pin_status() -> GetPinStatus {
    GetPinStatus {
        context: ctx(),
        card_handle: handle(),
        pin_type: PinType::Smc,
    }
}

pub fn get_pin_status_response() -> GetPinStatusResponse {
    GetPinStatusResponse {
        status: Status::ok(),
        pin_status: Some(PinStatus::Verifiable),
        left_tries: Some(3),
    }
}

pub fn verify_pin() -> VerifyPin {
    VerifyPin {
        context: ctx()
            .with_user_id("00000000-0000-4000-8000-000000000001")
            .unwrap(),
        card_handle: handle(),
        pin_type: PinType::Ch,
    }
}

pub fn verify_pin_response() -> VerifyPinResponse {
    VerifyPinResponse {
        status: Status::ok(),
        pin_result: PinResult::Rejected,
        left_tries: Some(2),
    }
}

pub fn read_card_certificate() -> ReadCardCertificate {
    ReadCardCertificate {
        card_handle: handle(),
        context: ctx(),
        cert_refs: vec![CertRef::Enc, CertRef::Aut],
        crypt: Some(Crypt::Ecc),
    }
}

pub fn read_card_certificate_response() -> ReadCardCertificateResponse {
    ReadCardCertificateResponse {
        status: Status::ok(),
        infos: vec![
            X509DataInfo {
                cert_ref: CertRef::Enc,
                x509: Some(X509Data {
                    issuer_name: "CN=GEM.SMCB-CA51 TEST-ONLY,OU=Institution des Gesundheitswesens-CA der Telematikinfrastruktur,O=gematik GmbH NOT-VALID,C=DE".into(),
                    serial: "123456789012345".into(),
                    subject_name: "CN=Praxis Dr. Test,O=2-2.58.00000040 NOT-VALID,C=DE".into(),
                    certificate: der(1),
                }),
            },
            X509DataInfo { cert_ref: CertRef::Aut, x509: None },
        ],
    }
}

pub fn verify_certificate() -> VerifyCertificate {
    VerifyCertificate {
        context: ctx(),
        certificate: der(2),
        verification_time: Some(ts("2025-01-01T12:00:00Z")),
    }
}

pub fn verify_certificate_response() -> VerifyCertificateResponse {
    VerifyCertificateResponse {
        status: Status::ok(),
        verification_result: VerificationResult::Inconclusive,
        verification_error: Some(error(4264, Severity::Warning, None)),
        roles: vec!["1.2.276.0.76.4.50".into()],
    }
}

pub fn get_job_number() -> GetJobNumber {
    GetJobNumber { context: ctx() }
}

pub fn get_job_number_response() -> GetJobNumberResponse {
    GetJobNumberResponse {
        job_number: JobNumber::new("ABC-475").unwrap(),
    }
}

pub fn sign_document() -> SignDocument {
    let mut mail = b"Content-Type: message/rfc822\r\n\r\n".to_vec();
    mail.extend_from_slice(
        b"From: a@x.kim.telematik\r\nTo: b@y.kim.telematik\r\nSubject: Test\r\n\r\nHallo\r\n",
    );
    SignDocument {
        card_handle: handle(),
        crypt: Some(Crypt::Ecc),
        context: ctx(),
        tv_mode: TvMode::None,
        job_number: Some(JobNumber::new("ABC-475").unwrap()),
        requests: vec![SignRequest {
            request_id: "KimSignRequest".into(),
            signature_type: Some(SignatureType::new(SignatureType::CMS)),
            signed_properties: vec![recipient_emails()],
            include_econtent: Some(true),
            document: Document {
                data: mail,
                mime_type: Some("text/plain; charset=utf-8".into()),
                short_text: Some("KIM Nachricht".into()),
            },
            include_revocation_info: false,
        }],
    }
}

pub fn sign_document_response() -> SignDocumentResponse {
    SignDocumentResponse {
        responses: vec![SignResponse {
            request_id: "KimSignRequest".into(),
            status: Status::ok(),
            signature: Some(SignatureObject {
                signature_type: Some(SignatureType::new(SignatureType::CMS)),
                data: der(3),
            }),
        }],
    }
}

pub fn verify_document() -> VerifyDocument {
    VerifyDocument {
        context: ctx(),
        tv_mode: None,
        return_verification_report: Some(ReturnVerificationReport::kim_default()),
        document: None,
        signature: Some(SignatureObject {
            signature_type: Some(SignatureType::new(SignatureType::CMS)),
            data: der(4),
        }),
        include_revocation_info: false,
    }
}

pub fn verify_document_response() -> VerifyDocumentResponse {
    VerifyDocumentResponse {
        status: Status::warning(error(
            4264,
            Severity::Warning,
            Some("OCSP responder not reachable"),
        )),
        high_level_result: VerificationResult::Valid,
        timestamp_type: TimestampType::SignatureEmbedded,
        timestamp: ts("2025-01-01T12:00:00Z"),
        report: Some(VerificationReport {
            verification_time: Some(ts("2025-01-01T12:00:05Z")),
            signers: vec![SignerReport {
                result_major: "urn:oasis:names:tc:dss:1.0:resultmajor:Success".into(),
                format_ok: DetailResult::Valid,
                sig_math_ok: DetailResult::Valid,
                path_validity: DetailResult::Indetermined,
                signer_issuer: "CN=GEM.SMCB-CA51 TEST-ONLY,O=gematik GmbH NOT-VALID,C=DE".into(),
                signer_serial: "987654321".into(),
            }],
        }),
    }
}

pub fn encrypt_document() -> EncryptDocument {
    EncryptDocument {
        context: ctx(),
        recipient_keys: RecipientKeys {
            certificate_on_card: Some(KeyOnCard {
                card_handle: handle(),
                key_reference: None,
                crypt: Some(Crypt::Ecc),
            }),
            certificates: vec![der(5), der(6)],
        },
        document: Document::new(
            b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n\r\n\x30\x80\x00\x00"
                .to_vec(),
        ),
        encryption_type: Some(EncryptionType::Cms),
        unprotected_properties: vec![recipient_emails()],
    }
}

pub fn encrypt_document_response() -> EncryptDocumentResponse {
    EncryptDocumentResponse {
        status: Status::ok(),
        document: Some(Document::new(der(7))),
    }
}

pub fn decrypt_document() -> DecryptDocument {
    DecryptDocument {
        context: ctx(),
        private_key_on_card: KeyOnCard {
            card_handle: handle(),
            key_reference: Some("C.ENC".into()),
            crypt: Some(Crypt::Ecc),
        },
        document: Document::new(der(8)),
    }
}

pub fn decrypt_document_response() -> DecryptDocumentResponse {
    DecryptDocumentResponse {
        status: Status::ok(),
        document: Some(Document::new(
            b"Content-Type: text/plain\r\n\r\nHallo".to_vec(),
        )),
    }
}

pub fn external_authenticate() -> ExternalAuthenticate {
    ExternalAuthenticate {
        card_handle: handle(),
        context: ctx(),
        signature_type: Some(SignatureType::new(SignatureType::ECDSA)),
        signature_scheme: None,
        binary_string: Document {
            data: vec![0x5a; 32],
            mime_type: Some("application/octet-stream".into()),
            short_text: None,
        },
    }
}

pub fn external_authenticate_response() -> ExternalAuthenticateResponse {
    ExternalAuthenticateResponse {
        status: Status::ok(),
        signature: Some(SignatureObject {
            signature_type: Some(SignatureType::new(SignatureType::ECDSA)),
            data: vec![0x11; 64],
        }),
    }
}
