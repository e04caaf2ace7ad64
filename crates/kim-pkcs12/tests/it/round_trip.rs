//! build → parse round trips.

use kim_pkcs12::{BuildOptions, build, parse};

use crate::support::{self, KeyKind};

#[test]
fn build_then_parse_returns_the_inputs() {
    for kind in [KeyKind::Rsa, KeyKind::Brainpool] {
        let id = support::identity(kind);
        for (password, name) in [
            ("pw", Some("Zahnarztpraxis")),
            ("", None),
            ("ä€𝄞", Some("𝄞")),
        ] {
            let options = BuildOptions {
                friendly_name: name,
                iterations: 10,
            };
            let pfx = build(
                &id.key_der,
                &id.cert_der,
                &[&id.ca_der, &id.ca_der],
                password,
                &options,
                &mut support::rng(3),
            )
            .unwrap();
            let store = parse(&pfx, password).unwrap();
            assert_eq!(*store.private_key, id.key_der);
            assert_eq!(store.certificate, id.cert_der);
            assert_eq!(
                store.ca_certificates,
                vec![id.ca_der.clone(), id.ca_der.clone()]
            );
            assert_eq!(store.friendly_name.as_deref(), name);
        }
    }
}

#[test]
fn debug_output_does_not_show_the_key() {
    let id = support::identity(KeyKind::Brainpool);
    let pfx = build(
        &id.key_der,
        &id.cert_der,
        &[],
        "pw",
        &BuildOptions::default(),
        &mut support::rng(1),
    )
    .unwrap();
    let store = parse(&pfx, "pw").unwrap();
    let debug = format!("{store:?}");
    assert!(debug.contains("bytes redacted"), "{debug}");
    let key_hex: String = id.key_der[..8].iter().map(|b| format!("{b}, ")).collect();
    assert!(!debug.contains(&key_hex), "{debug}");
}
