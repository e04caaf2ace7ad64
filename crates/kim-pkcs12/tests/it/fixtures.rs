//! Committed key stores (see tests/data/SOURCE.md): the gematik TEST-ONLY samples (3DES key
//! bag, RC2-40 certificate bag, SHA-1 MAC with 100000 iterations, password `00`) and files made
//! by Java keytool.

use std::path::PathBuf;

use kim_pkcs12::{Pkcs12Error, parse};

use crate::support;

pub fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check(stem: &str) {
    let pfx = data(&format!("{stem}.p12"));
    let store = parse(&pfx, "00").unwrap();
    let key = support::pem_to_der(&data(&format!("{stem}.prv.pem")), "PRIVATE KEY");
    let cert = support::pem_to_der(&data(&format!("{stem}.pem")), "CERTIFICATE");
    assert_eq!(*store.private_key, key);
    assert_eq!(store.certificate, cert);
    assert!(store.ca_certificates.is_empty());
    assert_eq!(store.friendly_name.as_deref(), Some("alias"));
    assert_eq!(parse(&pfx, "01").unwrap_err(), Pkcs12Error::MacMismatch);
    assert_eq!(parse(&pfx, "").unwrap_err(), Pkcs12Error::MacMismatch);
}

#[test]
fn reads_recipient_a() {
    check("hci-enc-2-kim-bsp");
}

#[test]
fn reads_recipient_b() {
    check("hci-enc-3-kim-bsp");
}

fn check_keytool(stem: &str, alias: &str) {
    let pfx = data(&format!("{stem}.p12"));
    let store = parse(&pfx, "geheim1").unwrap();
    let key = support::pem_to_der(&data(&format!("{stem}.key.pem")), "PRIVATE KEY");
    let cert = support::pem_to_der(&data(&format!("{stem}.cert.pem")), "CERTIFICATE");
    assert_eq!(*store.private_key, key);
    assert_eq!(store.certificate, cert);
    assert!(store.ca_certificates.is_empty());
    assert_eq!(store.friendly_name.as_deref(), Some(alias));
    assert_eq!(
        parse(&pfx, "geheim2").unwrap_err(),
        Pkcs12Error::MacMismatch
    );
}

#[test]
fn reads_java_keytool_default_store() {
    check_keytool("keytool-rsa", "kim test");
}

#[test]
fn reads_java_keytool_legacy_store() {
    check_keytool("keytool-legacy-ec", "kim legacy");
}
