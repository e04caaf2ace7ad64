//! Garbage in, error out: truncated, mutated and random inputs never panic.

use kim_pkcs12::{BuildOptions, Pkcs12Error, build, parse};
use rand_core::Rng;

use crate::support::{self, KeyKind};

#[test]
fn every_prefix_of_real_files_is_an_error() {
    let id = support::identity(KeyKind::Brainpool);
    let ours = build(
        &id.key_der,
        &id.cert_der,
        &[&id.ca_der],
        "pw",
        &BuildOptions::default(),
        &mut support::rng(1),
    )
    .unwrap();
    for (file, password) in [
        (crate::fixtures::data("hci-enc-2-kim-bsp.p12"), "00"),
        (ours, "pw"),
    ] {
        assert!(parse(&file, password).is_ok());
        for len in 0..file.len() {
            let err = parse(&file[..len], password).unwrap_err();
            assert!(
                matches!(
                    err,
                    Pkcs12Error::Truncated { .. } | Pkcs12Error::Malformed { .. }
                ),
                "prefix of {len} bytes: {err}"
            );
        }
    }
}

/// Flips each byte of `file` in turn; every outcome is fine except a panic.
fn mutate_every_byte(file: &[u8], password: &str) -> (usize, usize) {
    let mut ok = 0;
    let mut errors = 0;
    for i in 0..file.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut garbled = file.to_vec();
            garbled[i] ^= mask;
            match parse(&garbled, password) {
                Ok(_) => ok += 1,
                Err(_) => errors += 1,
            }
        }
    }
    (ok, errors)
}

#[test]
fn mutated_files_without_mac_never_panic() {
    // Without a MAC, mutations reach the decryption and bag parsers.
    let id = support::identity(KeyKind::Rsa);
    let d = id.dir.path();
    let legacy = [
        "-legacy",
        "-provider",
        "legacy",
        "-provider",
        "default",
        "-iter",
        "1",
    ];
    for extra in [
        &["-iter", "1"][..],
        &["-iter", "1", "-certpbe", "NONE", "-keypbe", "NONE"][..],
        &legacy[..],
    ] {
        let mut args = vec![
            "pkcs12",
            "-export",
            "-nomac",
            "-inkey",
            "leaf.key",
            "-in",
            "leaf.pem",
            "-certfile",
            "ca.pem",
            "-passout",
            "pass:pw",
            "-out",
            "m.p12",
        ];
        args.extend_from_slice(extra);
        support::openssl(d, &args);
        let file = std::fs::read(d.join("m.p12")).unwrap();
        assert!(parse(&file, "pw").is_ok(), "{extra:?}");
        let (_, errors) = mutate_every_byte(&file, "pw");
        assert!(
            errors > 0,
            "{extra:?}: mutations must be detected somewhere"
        );
    }
}

#[test]
fn mutated_files_with_mac_are_rejected() {
    let id = support::identity(KeyKind::Brainpool);
    let options = BuildOptions {
        friendly_name: None,
        iterations: 1,
    };
    let file = build(
        &id.key_der,
        &id.cert_der,
        &[],
        "pw",
        &options,
        &mut support::rng(2),
    )
    .unwrap();
    // Every byte is covered by the MAC, is one of its inputs, or is structure we check.
    let (ok, _) = mutate_every_byte(&file, "pw");
    assert_eq!(ok, 0, "a mutated file was accepted");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = support::rng(42);
    for round in 0..4000u32 {
        let len = (rng.next_u32() % 700) as usize;
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        // Give half of the inputs a plausible outer header so the parser gets further.
        if round % 2 == 0 && len > 8 {
            bytes[0] = 0x30;
            bytes[1] = 0x80;
            bytes[2..5].copy_from_slice(&[0x02, 0x01, 0x03]);
            bytes[5] = [0x30, 0x24, 0xa0, 0x04][(round / 2 % 4) as usize];
            bytes[6] = 0x80;
        }
        assert!(parse(&bytes, "pw").is_err());
    }
}

#[test]
fn deeply_nested_indefinite_lengths_are_refused() {
    let mut bytes = vec![0x30, 0x80, 0x02, 0x01, 0x03];
    bytes.extend(std::iter::repeat_n([0x30u8, 0x80], 100_000).flatten());
    let err = parse(&bytes, "pw").unwrap_err();
    assert!(
        matches!(
            err,
            Pkcs12Error::Malformed { .. } | Pkcs12Error::Truncated { .. }
        ),
        "{err}"
    );
}
