//! Conformance of the KAS module with the gematik samples (`shared/spec/samples/KAS/`,
//! api-kim) and interoperability of the blob format with an independent AES-GCM
//! implementation (Python `cryptography`, OpenSSL underneath).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::path::Path;
use std::process::Command;

use super::test_support::{kas_sample, random_bytes, rng};
use super::*;

const UPLOADED: &str = "1_3_Client-Mail_hochgeladen.txt";
const RECEIVED_PROCESSED: &str = "2_2_KOM-LE-Mail_prozessiert.txt";

/// The body of a sample mail: everything after the first empty line.
fn body(mail: &[u8]) -> &[u8] {
    let text = std::str::from_utf8(mail).unwrap();
    let at = text.find("\n\n").expect("sample has a header block") + 2;
    &mail[at..]
}

fn to_crlf(mail: &[u8]) -> Vec<u8> {
    String::from_utf8(mail.to_vec())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes()
}

#[test]
fn sample_json_parses_and_serialises_byte_exact() {
    for name in [UPLOADED, RECEIVED_PROCESSED] {
        let mail = kas_sample(name);
        let json = body(&mail);
        let att = KimAttachment::parse_json(json).unwrap();
        assert_eq!(att.to_json(), json, "{name}");
        assert_eq!(att.size, 27_262_976);
        assert_eq!(att.key().unwrap().len(), 32);
        assert_eq!(att.sha256().unwrap().len(), 32);
        assert!(
            att.link
                .starts_with("https://kas.gematik.kim.telematik-test/attachments/")
        );
    }
}

#[test]
fn building_the_uploaded_sample_from_the_processed_one() {
    let processed = kas_sample("1_2_Client-Mail_prozessiert.txt");
    let uploaded = kas_sample(UPLOADED);
    let att = KimAttachment::parse_json(body(&uploaded)).unwrap();

    let built = replace_body_with_attachment(&processed, &att).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&built),
        String::from_utf8_lossy(&uploaded)
    );

    // The same in the CRLF form a mail has on the wire.
    let built = replace_body_with_attachment(&to_crlf(&processed), &att).unwrap();
    assert_eq!(built, to_crlf(&uploaded));
    assert!(built.ends_with(&attachment_body_part(&att)));
}

#[test]
fn detection_on_the_samples() {
    let expected = KimAttachment::parse_json(body(&kas_sample(UPLOADED))).unwrap();
    for name in [UPLOADED, RECEIVED_PROCESSED] {
        for mail in [kas_sample(name), to_crlf(&kas_sample(name))] {
            assert!(contains_kas_part(&mail), "{name}");
            assert_eq!(
                find_attachments(&mail).unwrap(),
                vec![expected.clone()],
                "{name}"
            );
        }
    }
    for name in [
        "1_1_Client-Mail_empfangen.txt",
        "1_2_Client-Mail_prozessiert.txt",
        "1_4_KOM-LE-Mail_finalisiert.txt",
        "2_1_KOM-LE-Mail_empfangen.txt",
        "2_3_Client-Mail_heruntergeladen.txt",
        "2_4_Client-Mail_finalisiert.txt",
    ] {
        let mail = kas_sample(name);
        assert!(!contains_kas_part(&mail), "{name}");
        assert_eq!(find_attachments(&mail).unwrap(), vec![], "{name}");
    }
}

#[test]
fn the_samples_fixture_folder_is_complete() {
    let dir = super::test_support::kas_samples_dir();
    let count = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "txt"))
        })
        .count();
    assert_eq!(
        count,
        8,
        "expected the 8 api-kim KAS samples in {}",
        dir.display()
    );
}

/// Runs `python3 -c <script> <args…>`; fails the test if Python or `cryptography` is missing.
fn python(script: &str, args: &[&Path]) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 is required for the AES-GCM interop test (with `cryptography`)");
    assert!(
        out.status.success(),
        "python3 failed (is python3-cryptography installed?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const PY_DECRYPT: &str = r"
import sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key = open(sys.argv[1], 'rb').read()
blob = open(sys.argv[2], 'rb').read()
open(sys.argv[3], 'wb').write(AESGCM(key).decrypt(blob[:12], blob[12:], None))
";

const PY_ENCRYPT: &str = r"
import os, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key = AESGCM.generate_key(bit_length=256)
iv = os.urandom(12)
pt = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(key)
open(sys.argv[3], 'wb').write(iv + AESGCM(key).encrypt(iv, pt, None))
";

#[test]
fn python_cryptography_decrypts_our_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let (key_file, blob_file, out_file) = (
        dir.path().join("key"),
        dir.path().join("blob"),
        dir.path().join("out"),
    );
    for (i, size) in [0usize, 17, 65_536, 300_001].into_iter().enumerate() {
        let pt = random_bytes(&mut rng(40 + i as u64), size);
        let (key, iv) = generate_key_and_iv().unwrap();
        std::fs::write(&key_file, key.as_slice()).unwrap();
        let blob = std::fs::File::create(&blob_file).unwrap();
        let summary = encrypt_stream(&key, &iv, pt.as_slice(), blob).unwrap();
        assert_eq!(
            std::fs::metadata(&blob_file).unwrap().len(),
            summary.blob_size
        );

        python(PY_DECRYPT, &[&key_file, &blob_file, &out_file]);
        assert_eq!(std::fs::read(&out_file).unwrap(), pt, "size {size}");
    }
}

#[test]
fn we_decrypt_python_cryptography_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let (pt_file, key_file, blob_file) = (
        dir.path().join("pt"),
        dir.path().join("key"),
        dir.path().join("blob"),
    );
    for (i, size) in [0usize, 1, 65_535, 1_048_579].into_iter().enumerate() {
        let pt = random_bytes(&mut rng(60 + i as u64), size);
        std::fs::write(&pt_file, &pt).unwrap();
        python(PY_ENCRYPT, &[&pt_file, &key_file, &blob_file]);

        let key: [u8; 32] = std::fs::read(&key_file).unwrap().try_into().unwrap();
        let blob = std::fs::File::open(&blob_file).unwrap();
        let mut out = Vec::new();
        let summary = decrypt_stream(&key, std::io::BufReader::new(blob), &mut out).unwrap();
        assert_eq!(out, pt, "size {size}");
        assert_eq!(summary.plaintext_size, size as u64);

        // And the same blob with one bit flipped in its middle is refused.
        let mut bad = std::fs::read(&blob_file).unwrap();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x10;
        let err = decrypt_to_vec(&key, bad.as_slice()).unwrap_err();
        assert!(matches!(err, KasError::TagMismatch), "size {size}: {err}");
    }
}
