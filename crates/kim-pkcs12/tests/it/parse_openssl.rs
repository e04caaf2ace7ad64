//! `parse` reads what `openssl pkcs12 -export` writes, in its default and legacy modes and
//! with other algorithm choices.

use kim_pkcs12::{Pkcs12Error, parse};

use crate::support::{self, Identity, KeyKind};

/// Exports the identity (key, leaf, CA) with `openssl pkcs12 -export` and extra `args`.
fn export(id: &Identity, password: &str, args: &[&str]) -> Vec<u8> {
    let d = id.dir.path();
    let passout = format!("pass:{password}");
    let mut all = vec![
        "pkcs12",
        "-export",
        "-inkey",
        "leaf.key",
        "-in",
        "leaf.pem",
        "-certfile",
        "ca.pem",
        "-name",
        "Praxis Ärztin",
        "-passout",
        &passout,
        "-out",
        "exported.p12",
    ];
    all.extend_from_slice(args);
    support::openssl(d, &all);
    std::fs::read(d.join("exported.p12")).unwrap()
}

fn check(kind: KeyKind, password: &str, args: &[&str]) {
    let id = support::identity(kind);
    let pfx = export(&id, password, args);
    let store = parse(&pfx, password).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert_eq!(*store.private_key, id.key_der, "{args:?}: key");
    assert_eq!(store.certificate, id.cert_der, "{args:?}: leaf certificate");
    assert_eq!(
        store.ca_certificates,
        vec![id.ca_der.clone()],
        "{args:?}: CA certificates"
    );
    assert_eq!(
        store.friendly_name.as_deref(),
        Some("Praxis Ärztin"),
        "{args:?}: friendly name"
    );
    if args.contains(&"-nomac") {
        return;
    }
    let wrong = if password.is_empty() { "x" } else { "wrong" };
    assert_eq!(
        parse(&pfx, wrong).unwrap_err(),
        Pkcs12Error::MacMismatch,
        "{args:?}: wrong password"
    );
}

const LEGACY: &[&str] = &["-legacy", "-provider", "legacy", "-provider", "default"];

#[test]
fn reads_openssl_default_rsa() {
    check(KeyKind::Rsa, "geheim", &[]);
}

#[test]
fn reads_openssl_default_brainpool() {
    check(KeyKind::Brainpool, "geheim", &[]);
}

#[test]
fn reads_openssl_legacy_rsa() {
    check(KeyKind::Rsa, "geheim", LEGACY);
}

#[test]
fn reads_openssl_legacy_brainpool() {
    check(KeyKind::Brainpool, "geheim", LEGACY);
}

#[test]
fn reads_openssl_default_with_empty_password() {
    check(KeyKind::Rsa, "", &[]);
}

#[test]
fn reads_openssl_legacy_with_empty_password() {
    check(KeyKind::Brainpool, "", LEGACY);
}

#[test]
fn reads_other_pbes2_ciphers_and_mac_digests() {
    let id = support::identity(KeyKind::Rsa);
    let cases: &[&[&str]] = &[
        &[
            "-keypbe",
            "aes-128-cbc",
            "-certpbe",
            "aes-192-cbc",
            "-macalg",
            "sha384",
        ],
        &[
            "-keypbe",
            "des-ede3-cbc",
            "-certpbe",
            "aes-128-cbc",
            "-macalg",
            "sha512",
        ],
        &[
            "-keypbe",
            "aes-256-cbc",
            "-certpbe",
            "NONE",
            "-macalg",
            "sha1",
            "-iter",
            "1",
        ],
        &[
            "-keypbe",
            "PBE-SHA1-RC2-128",
            "-certpbe",
            "PBE-SHA1-3DES",
            "-provider",
            "legacy",
            "-provider",
            "default",
        ],
        &["-nomac"],
        &[
            "-nomac",
            "-keypbe",
            "PBE-SHA1-3DES",
            "-certpbe",
            "PBE-SHA1-RC2-40",
            "-provider",
            "legacy",
            "-provider",
            "default",
        ],
    ];
    for args in cases {
        let pfx = export(&id, "pw", args);
        let store = parse(&pfx, "pw").unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert_eq!(*store.private_key, id.key_der, "{args:?}");
        assert_eq!(store.certificate, id.cert_der, "{args:?}");
        assert_eq!(store.ca_certificates, vec![id.ca_der.clone()], "{args:?}");
    }
}

#[test]
fn nomac_with_wrong_password_is_a_decryption_error() {
    let id = support::identity(KeyKind::Rsa);
    let pfx = export(&id, "pw", &["-nomac"]);
    let err = parse(&pfx, "wrong").unwrap_err();
    assert!(matches!(err, Pkcs12Error::DecryptionFailed { .. }), "{err}");
}

#[test]
fn key_without_certificate_and_certificate_without_key_are_named() {
    let id = support::identity(KeyKind::Rsa);
    let d = id.dir.path();
    support::openssl(
        d,
        &[
            "pkcs12", "-export", "-nocerts", "-inkey", "leaf.key", "-passout", "pass:pw", "-out",
            "k.p12",
        ],
    );
    let err = parse(&std::fs::read(d.join("k.p12")).unwrap(), "pw").unwrap_err();
    assert_eq!(err, Pkcs12Error::NoCertificate);
    support::openssl(
        d,
        &[
            "pkcs12", "-export", "-nokeys", "-in", "leaf.pem", "-passout", "pass:pw", "-out",
            "c.p12",
        ],
    );
    let err = parse(&std::fs::read(d.join("c.p12")).unwrap(), "pw").unwrap_err();
    assert_eq!(err, Pkcs12Error::NoPrivateKey);
}

#[test]
fn unsupported_algorithms_are_named_by_oid() {
    let id = support::identity(KeyKind::Rsa);
    let legacy = ["-provider", "legacy", "-provider", "default"];
    let pfx = export(
        &id,
        "pw",
        &[&["-keypbe", "PBE-SHA1-RC4-128"][..], &legacy].concat(),
    );
    assert_eq!(
        parse(&pfx, "pw").unwrap_err(),
        Pkcs12Error::UnsupportedAlgorithm {
            what: "password-based encryption scheme",
            oid: "1.2.840.113549.1.12.1.1".into()
        }
    );
    let pfx = export(&id, "pw", &["-macalg", "sha224"]);
    assert_eq!(
        parse(&pfx, "pw").unwrap_err(),
        Pkcs12Error::UnsupportedAlgorithm {
            what: "MAC digest algorithm",
            oid: "2.16.840.1.101.3.4.2.4".into()
        }
    );
}

/// KIM 1.5.3 `createCert`: without `certPassword` the provider hands out an unencrypted
/// PKCS#12 (KOM-LE-A_2182-01 client certificate from the provider's PKCS#12).
#[test]
fn reads_unencrypted_store_without_mac() {
    let id = support::identity(KeyKind::Brainpool);
    let pfx = export(&id, "", &["-keypbe", "NONE", "-certpbe", "NONE", "-nomac"]);
    for password in ["", "any password is irrelevant without encryption or MAC"] {
        let store = parse(&pfx, password).unwrap();
        assert_eq!(*store.private_key, id.key_der);
        assert_eq!(store.certificate, id.cert_der);
        assert_eq!(store.ca_certificates, vec![id.ca_der.clone()]);
    }
    // The same, but with a MAC over the empty password.
    let pfx = export(&id, "", &["-keypbe", "NONE", "-certpbe", "NONE"]);
    assert_eq!(*parse(&pfx, "").unwrap().private_key, id.key_der);
    assert_eq!(parse(&pfx, "x").unwrap_err(), Pkcs12Error::MacMismatch);
}
