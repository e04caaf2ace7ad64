//! BER input: indefinite lengths everywhere and chunked OCTET STRINGs, as some producers write.

use kim_pkcs12::{BuildOptions, build, parse};

use crate::support::{self, KeyKind};

/// Re-encodes DER as BER: every constructed element gets an indefinite length, every OCTET
/// STRING and `[0] IMPLICIT OCTET STRING` longer than 8 bytes becomes a constructed string of
/// 7-byte chunks. The octets inside OCTET STRINGs are kept, so the MAC still verifies.
fn der_to_ber(mut der: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let tag = der[0];
        let (len, header) = match der[1] {
            n if n < 0x80 => (usize::from(n), 2),
            n => {
                let count = usize::from(n & 0x7f);
                let len = der[2..2 + count]
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
                (len, 2 + count)
            }
        };
        let content = &der[header..header + len];
        if tag & 0x20 != 0 {
            out.extend_from_slice(&[tag, 0x80]);
            out.extend(der_to_ber(content));
            out.extend_from_slice(&[0, 0]);
        } else if (tag == 0x04 || tag == 0x80) && len > 8 {
            out.extend_from_slice(&[tag | 0x20, 0x80]);
            for chunk in content.chunks(7) {
                out.extend_from_slice(&[0x04, chunk.len() as u8]);
                out.extend_from_slice(chunk);
            }
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&der[..header + len]);
        }
        der = &der[header + len..];
    }
    out
}

#[test]
fn reads_ber_with_indefinite_lengths_and_chunked_strings() {
    let id = support::identity(KeyKind::Rsa);
    let d = id.dir.path();
    let options = BuildOptions {
        friendly_name: Some("ber"),
        iterations: 16,
    };
    let der = build(
        &id.key_der,
        &id.cert_der,
        &[&id.ca_der],
        "pw",
        &options,
        &mut support::rng(5),
    )
    .unwrap();
    let ber = der_to_ber(&der);
    assert_ne!(ber, der);
    assert!(ber.starts_with(&[0x30, 0x80]));
    // OpenSSL accepts the BER form too, so it is a valid encoding of the same file.
    std::fs::write(d.join("ber.p12"), &ber).unwrap();
    support::openssl(
        d,
        &[
            "pkcs12", "-in", "ber.p12", "-passin", "pass:pw", "-nodes", "-out", "ber.pem",
        ],
    );

    let store = parse(&ber, "pw").unwrap();
    assert_eq!(*store.private_key, id.key_der);
    assert_eq!(store.certificate, id.cert_der);
    assert_eq!(store.ca_certificates, vec![id.ca_der.clone()]);
    assert_eq!(store.friendly_name.as_deref(), Some("ber"));
}

#[test]
fn reads_ber_form_of_the_legacy_gematik_sample() {
    let der = crate::fixtures::data("hci-enc-2-kim-bsp.p12");
    let ber = der_to_ber(&der);
    assert_eq!(parse(&ber, "00").unwrap(), parse(&der, "00").unwrap());
}
