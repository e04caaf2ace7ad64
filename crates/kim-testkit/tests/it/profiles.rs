//! `openssl x509 -text` shows the key usages, policies and names of each profile.

use kim_testkit::pki::{CardKeyRole, CardKind, Issued, KeyAlgorithm};

use crate::{openssl, pki, put};

fn text(issued: &Issued) -> String {
    let dir = tempfile::tempdir().unwrap();
    let pem = put(
        dir.path(),
        "c.pem",
        issued.certificate_pem().unwrap().as_bytes(),
    );
    let run = openssl(&["x509", "-in", &pem, "-noout", "-text"]);
    assert!(run.ok, "{}", run.stderr);
    run.stdout
}

/// The line after `heading` in openssl's text output, trimmed.
fn line_after(text: &str, heading: &str) -> String {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.contains(heading) {
            return lines.next().unwrap_or_default().trim().to_string();
        }
    }
    panic!("{heading} not found in\n{text}");
}

/// Expected (key usage line, role policy OID) per kind, role and algorithm.
fn expected(kind: CardKind, role: CardKeyRole, alg: KeyAlgorithm) -> (&'static str, &'static str) {
    let rsa = alg == KeyAlgorithm::Rsa2048;
    let usage = match role {
        CardKeyRole::Aut if rsa => "Digital Signature, Key Encipherment",
        CardKeyRole::Aut => "Digital Signature",
        CardKeyRole::Enc if rsa => "Key Encipherment, Data Encipherment",
        CardKeyRole::Enc => "Key Agreement",
        CardKeyRole::Sig => "Non Repudiation",
    };
    let policy = match (kind, role) {
        (CardKind::Smcb, CardKeyRole::Aut) => "1.2.276.0.76.4.77",
        (CardKind::Smcb, CardKeyRole::Enc) => "1.2.276.0.76.4.76",
        (CardKind::Smcb, CardKeyRole::Sig) => "1.2.276.0.76.4.78",
        (CardKind::Hba, CardKeyRole::Aut) => "1.2.276.0.76.4.75",
        (CardKind::Hba, CardKeyRole::Enc) => "1.2.276.0.76.4.74",
        (CardKind::Hba, CardKeyRole::Sig) => "1.2.276.0.76.4.72",
    };
    (usage, policy)
}

#[test]
fn card_certificates_show_key_usage_policies_and_names() {
    let mut checked = 0;
    for card in &pki().cards {
        for (role, alg, issued) in card.all() {
            let text = text(issued);
            let (usage, role_policy) = expected(card.spec.kind, role, alg);
            assert!(text.contains("X509v3 Key Usage: critical"), "{text}");
            assert_eq!(
                line_after(&text, "X509v3 Key Usage"),
                usage,
                "{}",
                issued.label
            );
            assert_eq!(
                line_after(&text, "X509v3 Certificate Policies"),
                "Policy: 1.2.276.0.76.4.163"
            );
            assert!(text.contains(&format!("Policy: {role_policy}")), "{text}");
            assert!(
                text.contains("X509v3 Basic Constraints: critical"),
                "{text}"
            );
            assert_eq!(line_after(&text, "X509v3 Basic Constraints"), "CA:FALSE");
            assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
            assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");
            let subject = text
                .lines()
                .find(|l| l.trim_start().starts_with("Subject:"))
                .unwrap();
            assert!(
                subject.contains(&format!("CN = {}", card.spec.holder)),
                "{subject}"
            );
            assert!(
                subject.contains(&format!("serialNumber = 75.{}", card.spec.iccsn)),
                "{subject}"
            );
            let email = card.spec.email.as_deref().unwrap();
            assert!(text.contains(&format!("email:{email}")), "{text}");
            assert!(text.contains(&card.spec.telematik_id), "{text}");
            let qc = card.spec.kind == CardKind::Hba && role == CardKeyRole::Sig;
            assert_eq!(text.contains("qcStatements"), qc, "{}", issued.label);
            checked += 1;
        }
    }
    assert_eq!(checked, 18);
}

#[test]
fn tls_certificates_show_eku_san_and_policy() {
    let pki = pki();
    let cases = [
        (
            "konnektor",
            "TLS Web Server Authentication",
            "1.2.276.0.76.4.79",
        ),
        (
            "fachdienst",
            "TLS Web Server Authentication",
            "1.2.276.0.76.4.169",
        ),
        (
            "clientmodul",
            "TLS Web Client Authentication, TLS Web Server Authentication",
            "1.2.276.0.76.4.175",
        ),
    ];
    for (name, eku, policy) in cases {
        let entity = pki.tls_entity(name).unwrap();
        assert_eq!(entity.issued.algorithm, KeyAlgorithm::Rsa2048);
        let text = text(&entity.issued);
        assert_eq!(
            line_after(&text, "X509v3 Extended Key Usage"),
            eku,
            "{name}"
        );
        assert_eq!(line_after(&text, "X509v3 Key Usage"), "Digital Signature");
        assert!(text.contains(&format!("Policy: {policy}")), "{text}");
        let san = line_after(&text, "X509v3 Subject Alternative Name");
        assert!(san.contains("DNS:localhost"), "{san}");
        assert!(san.contains("IP Address:127.0.0.1"), "{san}");
        assert!(
            san.contains(&format!("DNS:{}", entity.spec.common_name)),
            "{san}"
        );
        assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    }
}

#[test]
fn private_keys_match_their_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let card = pki().cards.first().unwrap();
    for alg in KeyAlgorithm::ALL {
        let issued = card.enc(alg);
        let cert = put(
            dir.path(),
            "c.pem",
            issued.certificate_pem().unwrap().as_bytes(),
        );
        let key = put(
            dir.path(),
            "k.pem",
            issued.private_key_pem().unwrap().as_bytes(),
        );
        let from_cert = openssl(&["x509", "-in", &cert, "-noout", "-pubkey"]);
        let from_key = openssl(&["pkey", "-in", &key, "-pubout"]);
        assert!(
            from_cert.ok && from_key.ok,
            "{} {}",
            from_cert.stderr,
            from_key.stderr
        );
        assert_eq!(from_cert.stdout, from_key.stdout, "{}", issued.label);
    }
}
