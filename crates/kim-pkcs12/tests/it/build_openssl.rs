//! `build` output is read by `openssl pkcs12` (OpenSSL 3).

use kim_pkcs12::{BuildOptions, build};

use crate::support::{self, KeyKind};

fn check_openssl_reads_our_file(kind: KeyKind, password: &str) {
    let id = support::identity(kind);
    let d = id.dir.path();
    let options = BuildOptions {
        friendly_name: Some("KIM Test"),
        ..BuildOptions::default()
    };
    let pfx = build(
        &id.key_der,
        &id.cert_der,
        &[&id.ca_der],
        password,
        &options,
        &mut support::rng(7),
    )
    .unwrap();
    std::fs::write(d.join("ours.p12"), &pfx).unwrap();
    let passin = format!("pass:{password}");

    let pem = support::openssl(
        d,
        &["pkcs12", "-in", "ours.p12", "-passin", &passin, "-nodes"],
    );
    let keys = support::pem_blocks(&pem, "PRIVATE KEY");
    assert_eq!(keys, vec![id.key_der.clone()], "openssl prints our key");
    let certs = support::pem_blocks(&pem, "CERTIFICATE");
    assert_eq!(
        certs,
        vec![id.cert_der.clone(), id.ca_der.clone()],
        "openssl prints leaf then CA"
    );
    let text = String::from_utf8_lossy(&pem);
    assert!(
        text.contains("friendlyName: KIM Test"),
        "friendly name shown: {text}"
    );
    assert!(text.contains("localKeyID:"), "localKeyID shown: {text}");

    // -info reports the algorithms; stderr carries the info lines.
    let (ok, _, info) = support::openssl_status(
        d,
        &[
            "pkcs12", "-in", "ours.p12", "-passin", &passin, "-info", "-noout",
        ],
    );
    assert!(ok, "openssl pkcs12 -info failed: {info}");
    assert!(info.contains("MAC: sha256, Iteration 2048"), "{info}");
    assert!(info.contains("MAC length: 32, salt length: 16"), "{info}");
    assert!(
        info.contains(
            "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256"
        ),
        "{info}"
    );
    assert!(
        info.contains(
            "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256"
        ),
        "{info}"
    );

    // A wrong password is refused by openssl's MAC check.
    let (ok, _, err) = support::openssl_status(
        d,
        &[
            "pkcs12",
            "-in",
            "ours.p12",
            "-passin",
            "pass:wrong",
            "-nodes",
        ],
    );
    assert!(!ok, "openssl accepted a wrong password");
    assert!(err.contains("Mac verify error"), "{err}");
}

#[test]
fn openssl_reads_built_rsa_store() {
    check_openssl_reads_our_file(KeyKind::Rsa, "geheim");
}

#[test]
fn openssl_reads_built_brainpool_store() {
    check_openssl_reads_our_file(KeyKind::Brainpool, "Zugang-äöü 1");
}

#[test]
fn openssl_reads_built_store_with_empty_password() {
    check_openssl_reads_our_file(KeyKind::Rsa, "");
}

#[test]
fn same_seed_gives_identical_bytes_and_other_seed_differs() {
    let id = support::identity(KeyKind::Brainpool);
    let options = BuildOptions::default();
    let make = |seed| {
        build(
            &id.key_der,
            &id.cert_der,
            &[],
            "pw",
            &options,
            &mut support::rng(seed),
        )
        .unwrap()
    };
    assert_eq!(make(1), make(1));
    assert_ne!(make(1), make(2));
}

#[test]
fn refuses_a_key_that_does_not_belong_to_the_certificate() {
    let id = support::identity(KeyKind::Rsa);
    // The CA certificate is not the leaf key's certificate.
    let err = build(
        &id.key_der,
        &id.ca_der,
        &[],
        "pw",
        &BuildOptions::default(),
        &mut support::rng(1),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            kim_pkcs12::Pkcs12Error::InvalidInput {
                what: "private key",
                ..
            }
        ),
        "{err}"
    );
    let err = build(
        &id.cert_der,
        &id.cert_der,
        &[],
        "pw",
        &BuildOptions::default(),
        &mut support::rng(1),
    )
    .unwrap_err();
    assert!(err.to_string().contains("PKCS#8"), "{err}");
    let options = BuildOptions {
        iterations: 0,
        ..BuildOptions::default()
    };
    let err = build(
        &id.key_der,
        &id.cert_der,
        &[],
        "pw",
        &options,
        &mut support::rng(1),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            kim_pkcs12::Pkcs12Error::InvalidInput {
                what: "iterations",
                ..
            }
        ),
        "{err}"
    );
}
