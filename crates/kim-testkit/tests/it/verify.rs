//! `openssl verify` accepts every leaf in its own hierarchy and rejects it in the other.

use kim_testkit::pki::{Ca, Issued, KeyAlgorithm};

use crate::{openssl, pki, put};

/// Verifies `leaf` with `root` as trust anchor and `intermediate` as untrusted.
fn verify(dir: &std::path::Path, root: &Ca, intermediate: &Ca, leaf: &Issued) -> crate::Run {
    let root = put(dir, "root.pem", root.certificate_pem().unwrap().as_bytes());
    let inter = put(
        dir,
        "inter.pem",
        intermediate.certificate_pem().unwrap().as_bytes(),
    );
    let leaf = put(dir, "leaf.pem", leaf.certificate_pem().unwrap().as_bytes());
    openssl(&["verify", "-CAfile", &root, "-untrusted", &inter, &leaf])
}

/// Every card and TLS leaf with the CA that must have issued it.
fn leaves() -> Vec<(&'static Ca, &'static Ca, &'static Issued)> {
    let pki = pki();
    let mut all = Vec::new();
    for card in &pki.cards {
        for (_, alg, issued) in card.all() {
            let (root, ca) = match (card.spec.kind, alg) {
                (kim_testkit::pki::CardKind::Smcb, KeyAlgorithm::Rsa2048) => {
                    (&pki.root_rsa, &pki.smcb_ca)
                }
                (kim_testkit::pki::CardKind::Smcb, KeyAlgorithm::BrainpoolP256r1) => {
                    (&pki.root_ecc, &pki.smcb_ca_ecc)
                }
                (kim_testkit::pki::CardKind::Hba, KeyAlgorithm::Rsa2048) => {
                    (&pki.root_rsa, &pki.hba_ca)
                }
                (kim_testkit::pki::CardKind::Hba, KeyAlgorithm::BrainpoolP256r1) => {
                    (&pki.root_ecc, &pki.hba_ca_ecc)
                }
            };
            all.push((root, ca, issued));
        }
    }
    for tls in &pki.tls {
        all.push((&pki.root_rsa, &pki.component_ca, &tls.issued));
    }
    all
}

#[test]
fn openssl_verifies_every_leaf_in_its_hierarchy() {
    let dir = tempfile::tempdir().unwrap();
    let leaves = leaves();
    // 3 cards x 6 certificates + 3 TLS certificates
    assert_eq!(leaves.len(), 21);
    for (root, ca, leaf) in leaves {
        let run = verify(dir.path(), root, ca, leaf);
        assert!(run.ok, "{}: {} {}", leaf.label, run.stdout, run.stderr);
        assert!(run.stdout.trim_end().ends_with(": OK"), "{}", run.stdout);
    }
}

#[test]
fn openssl_rejects_leaf_under_the_other_algorithms_root() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let card = pki.cards.first().unwrap();
    let run = verify(
        dir.path(),
        &pki.root_ecc,
        &pki.smcb_ca,
        card.enc(KeyAlgorithm::Rsa2048),
    );
    assert!(
        !run.ok,
        "RSA leaf must not verify under the ECC root: {}",
        run.stdout
    );
    let run = verify(
        dir.path(),
        &pki.root_rsa,
        &pki.smcb_ca,
        card.enc(KeyAlgorithm::BrainpoolP256r1),
    );
    assert!(
        !run.ok,
        "ECC leaf must not verify under the RSA SMC-B CA: {}",
        run.stdout
    );
}

#[test]
fn brainpool_leaves_carry_ecdsa_signatures_over_brainpool_keys() {
    let dir = tempfile::tempdir().unwrap();
    let card = pki().cards.first().unwrap();
    let leaf = put(
        dir.path(),
        "leaf.pem",
        card.signing(KeyAlgorithm::BrainpoolP256r1)
            .certificate_pem()
            .unwrap()
            .as_bytes(),
    );
    let text = openssl(&["x509", "-in", &leaf, "-noout", "-text"]).stdout;
    assert!(
        text.contains("Signature Algorithm: ecdsa-with-SHA256"),
        "{text}"
    );
    assert!(text.contains("ASN1 OID: brainpoolP256r1"), "{text}");
}

#[test]
fn ca_certificates_have_ca_extensions() {
    let dir = tempfile::tempdir().unwrap();
    for ca in pki().cas() {
        let pem = put(
            dir.path(),
            "ca.pem",
            ca.certificate_pem().unwrap().as_bytes(),
        );
        let text = openssl(&["x509", "-in", &pem, "-noout", "-text"]).stdout;
        assert!(text.contains("CA:TRUE"), "{text}");
        assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
        assert!(text.contains("TEST-ONLY"), "{text}");
        assert!(text.contains("Policy: 1.2.276.0.76.4.163"), "{text}");
    }
}

#[test]
fn tls_certificates_pass_openssl_purpose_and_name_checks() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let root = put(
        dir.path(),
        "root.pem",
        pki.root_rsa.certificate_pem().unwrap().as_bytes(),
    );
    let komp = put(
        dir.path(),
        "komp.pem",
        pki.component_ca.certificate_pem().unwrap().as_bytes(),
    );
    let check = |name: &str, extra: &[&str]| {
        let leaf = pki
            .tls_entity(name)
            .unwrap()
            .issued
            .certificate_pem()
            .unwrap();
        let leaf = put(dir.path(), "leaf.pem", leaf.as_bytes());
        let mut args = vec!["verify", "-CAfile", &root, "-untrusted", &komp];
        args.extend_from_slice(extra);
        args.push(&leaf);
        openssl(&args)
    };
    for name in ["konnektor", "fachdienst"] {
        let run = check(
            name,
            &["-purpose", "sslserver", "-verify_hostname", "localhost"],
        );
        assert!(run.ok, "{name}: {} {}", run.stdout, run.stderr);
        let run = check(name, &["-purpose", "sslserver", "-verify_ip", "127.0.0.1"]);
        assert!(run.ok, "{name}: {} {}", run.stdout, run.stderr);
        let run = check(name, &["-purpose", "sslclient"]);
        assert!(
            !run.ok,
            "{name} must not be usable as TLS client certificate"
        );
        let run = check(name, &["-verify_hostname", "example.org"]);
        assert!(!run.ok, "{name} must not match example.org");
    }
    let run = check("clientmodul", &["-purpose", "sslclient"]);
    assert!(run.ok, "clientmodul: {} {}", run.stdout, run.stderr);
}

#[test]
fn brainpool_tls_certificate_chains_to_the_ecc_component_ca() {
    let mut spec = kim_testkit::pki::PkiSpec::from_u64_seed(7);
    let mut tls = kim_testkit::pki::TlsSpec::localhost(
        "fd-ecc",
        kim_testkit::pki::TlsProfile::FachdienstServer,
        "fd-ecc.test",
    );
    tls.algorithm = KeyAlgorithm::BrainpoolP256r1;
    spec.tls.push(tls);
    let generated = kim_testkit::pki::TestPki::generate(&spec).unwrap();
    let entity = generated.tls_entity("fd-ecc").unwrap();
    assert_eq!(entity.issued.algorithm, KeyAlgorithm::BrainpoolP256r1);
    let dir = tempfile::tempdir().unwrap();
    let run = verify(
        dir.path(),
        &generated.root_ecc,
        &generated.component_ca_ecc,
        &entity.issued,
    );
    assert!(run.ok, "{} {}", run.stdout, run.stderr);
}
