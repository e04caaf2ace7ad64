//! The `.p12` files of `write_dir` open with `openssl pkcs12` and hold key, leaf and chain.

use kim_testkit::pki::KeyAlgorithm;

use crate::{P12_PASSWORD, openssl, out, pki, written};

#[test]
fn openssl_reads_every_p12_with_key_and_chain() {
    let (_, manifest) = written();
    let pass = format!("pass:{P12_PASSWORD}");
    let mut checked = 0;
    for entry in manifest.entries.iter().filter(|e| e.path.ends_with(".p12")) {
        let path = out(&entry.path);
        let run = openssl(&[
            "pkcs12",
            "-in",
            path.to_str().unwrap(),
            "-passin",
            &pass,
            "-nodes",
        ]);
        assert!(run.ok, "{}: {}", entry.path, run.stderr);
        assert_eq!(
            run.stdout.matches("-----BEGIN PRIVATE KEY-----").count(),
            1,
            "{}",
            entry.path
        );
        // leaf + issuing CA + root
        assert_eq!(
            run.stdout.matches("-----BEGIN CERTIFICATE-----").count(),
            3,
            "{}",
            entry.path
        );
        // The key inside equals the .key.pem next to it.
        let key_pem =
            std::fs::read_to_string(out(&entry.path.replace(".p12", ".key.pem"))).unwrap();
        assert!(run.stdout.contains(key_pem.trim_end()), "{}", entry.path);
        checked += 1;
    }
    // 3 cards x 6 + 3 TLS
    assert_eq!(checked, 21);
}

#[test]
fn p12_carries_the_label_as_friendly_name_and_rejects_a_wrong_password() {
    let path = out("cards/1-2.58.00000040/enc-ecc.p12");
    let path = path.to_str().unwrap();
    let pass = format!("pass:{P12_PASSWORD}");
    let info = openssl(&[
        "pkcs12", "-in", path, "-passin", &pass, "-nokeys", "-clcerts",
    ]);
    assert!(info.ok, "{}", info.stderr);
    assert!(
        info.stdout
            .contains("friendlyName: smcb/1-2.58.00000040/enc/ecc"),
        "{}",
        info.stdout
    );
    let wrong = openssl(&["pkcs12", "-in", path, "-passin", "pass:wrong", "-nodes"]);
    assert!(!wrong.ok, "wrong password accepted");
}

#[test]
fn p12_round_trips_through_kim_pkcs12_and_is_reproducible() {
    let card = pki().card("1-1.58.00000050").unwrap();
    let issued = card.signing(KeyAlgorithm::Rsa2048);
    let a = issued.to_pkcs12("secret", [1; 32]).unwrap();
    assert_eq!(a, issued.to_pkcs12("secret", [1; 32]).unwrap());
    assert_ne!(a, issued.to_pkcs12("secret", [2; 32]).unwrap());
    let store = kim_pkcs12::parse(&a, "secret").unwrap();
    assert_eq!(*store.private_key, *issued.private_key_pkcs8_der);
    assert_eq!(store.certificate, issued.certificate_der);
    assert_eq!(store.ca_certificates, issued.chain_der);
}
