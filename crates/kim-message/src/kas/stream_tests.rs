//! Tests of the streaming KAS crypto against the one-shot `aes-gcm` crate and `sha2`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code"
)]

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use std::io::{self, Read, Write};

use super::super::hasher::Mode;
use super::super::test_support::{TrickleReader, random_bytes, rng};
use super::*;
use sha2::{Digest, Sha256};

const MODES: [Mode; 2] = [Mode::Inline, Mode::Threaded];

const SIZES: [usize; 9] = [0, 1, 15, 16, 17, 65535, 65536, 65537, (1 << 20) + 3];

fn one_shot_seal(key: &[u8; 32], iv: &[u8; 12], pt: &[u8]) -> Vec<u8> {
    let aead = Aes256Gcm::new(key.into());
    let mut blob = iv.to_vec();
    blob.extend(aead.encrypt(&Nonce::from(*iv), pt).unwrap());
    blob
}

fn key_iv(seed: u64) -> ([u8; 32], [u8; 12]) {
    let (key, iv) = generate_key_and_iv_from(&mut rng(seed)).unwrap();
    (*key, iv)
}

#[test]
fn encrypt_matches_the_one_shot_aes_gcm() {
    let mut r = rng(1);
    for ((i, &size), mode) in SIZES.iter().enumerate().zip(MODES.iter().cycle()) {
        let (key, iv) = key_iv(100 + i as u64);
        let pt = random_bytes(&mut r, size);
        let mut blob = Vec::new();
        let summary = encrypt_stream_with(*mode, &key, &iv, pt.as_slice(), &mut blob).unwrap();
        assert_eq!(blob, one_shot_seal(&key, &iv, &pt), "size {size}");
        assert_eq!(summary.plaintext_size, size as u64);
        assert_eq!(summary.blob_size, blob.len() as u64);
        assert_eq!(blob_size(size as u64), blob.len() as u64);
        let sha: [u8; 32] = Sha256::digest(&pt).into();
        assert_eq!(summary.plaintext_sha256, sha, "size {size}");
    }
}

#[test]
fn decrypt_reads_one_shot_blobs() {
    let mut r = rng(2);
    for (i, &size) in SIZES.iter().enumerate() {
        let (key, iv) = key_iv(200 + i as u64);
        let pt = random_bytes(&mut r, size);
        let blob = one_shot_seal(&key, &iv, &pt);
        let mut out = Vec::new();
        let summary = decrypt_stream(&key, blob.as_slice(), &mut out).unwrap();
        assert_eq!(out, pt, "size {size}");
        assert_eq!(summary.plaintext_size, size as u64);
        assert_eq!(
            summary.plaintext_sha256,
            <[u8; 32]>::from(Sha256::digest(&pt))
        );
    }
}

#[test]
fn small_random_reads_give_the_same_blob() {
    let mut r = rng(3);
    for (i, &size) in SIZES.iter().enumerate() {
        let (key, iv) = key_iv(300 + i as u64);
        let pt = random_bytes(&mut r, size);
        let expected = one_shot_seal(&key, &iv, &pt);

        for mode in MODES {
            let mut blob = Vec::new();
            let reader = TrickleReader::new(&pt, i as u64);
            let enc = encrypt_stream_with(mode, &key, &iv, reader, &mut blob).unwrap();
            assert_eq!(blob, expected, "encrypt, size {size}, {mode:?}");
            assert_eq!(enc.plaintext_sha256, <[u8; 32]>::from(Sha256::digest(&pt)));

            let mut out = Vec::new();
            let reader = TrickleReader::new(&blob, 50 + i as u64);
            let dec = decrypt_stream_with(mode, &key, reader, &mut out).unwrap();
            assert_eq!(out, pt, "decrypt, size {size}, {mode:?}");
            assert_eq!(dec.plaintext_sha256, enc.plaintext_sha256);
        }
    }
}

fn sample_blob() -> ([u8; 32], Vec<u8>, Vec<u8>) {
    let (key, iv) = key_iv(7);
    let pt = random_bytes(&mut rng(8), 70_000);
    (key, one_shot_seal(&key, &iv, &pt), pt)
}

#[test]
fn altered_ciphertext_byte_fails_authentication() {
    let (key, mut blob, _) = sample_blob();
    for pos in [12, 12 + 65_535, blob.len() - 17] {
        blob[pos] ^= 0x01;
        let err = decrypt_to_vec(&key, blob.as_slice()).unwrap_err();
        assert!(matches!(err, KasError::TagMismatch), "pos {pos}: {err}");
        assert_eq!(err.code(), Some(4007));
        blob[pos] ^= 0x01;
    }
    decrypt_to_vec(&key, blob.as_slice()).unwrap();
}

#[test]
fn altered_tag_iv_or_key_fails_authentication() {
    let (key, blob, _) = sample_blob();
    for pos in [0, 11, blob.len() - 16, blob.len() - 1] {
        let mut bad = blob.clone();
        bad[pos] ^= 0x80;
        let err = decrypt_to_vec(&key, bad.as_slice()).unwrap_err();
        assert!(matches!(err, KasError::TagMismatch), "pos {pos}: {err}");
    }
    let mut wrong_key = key;
    wrong_key[31] ^= 1;
    let err = decrypt_to_vec(&wrong_key, blob.as_slice()).unwrap_err();
    assert!(matches!(err, KasError::TagMismatch), "{err}");
}

#[test]
fn truncated_blobs() {
    let (key, blob, _) = sample_blob();
    for len in [0, 1, 11, 12, 27] {
        let err = decrypt_to_vec(&key, &blob[..len]).unwrap_err();
        assert!(
            matches!(err, KasError::TooShort { actual, minimum: 28 } if actual == len as u64),
            "len {len}: {err}"
        );
        assert_eq!(err.code(), Some(4007));
    }
    // Long enough for IV and tag, but cut: the last 16 bytes are taken as the tag and fail.
    for len in [28, 1000, blob.len() - 1] {
        let err = decrypt_to_vec(&key, &blob[..len]).unwrap_err();
        assert!(matches!(err, KasError::TagMismatch), "len {len}: {err}");
    }
}

#[test]
fn empty_plaintext_blob_is_iv_and_tag() {
    let (key, iv) = key_iv(9);
    let mut blob = Vec::new();
    let s = encrypt_stream(&key, &iv, io::empty(), &mut blob).unwrap();
    assert_eq!(blob.len(), 28);
    assert_eq!(s.blob_size, 28);
    let (pt, d) = decrypt_to_vec(&key, blob.as_slice()).unwrap();
    assert!(pt.is_empty());
    assert_eq!(d.plaintext_size, 0);
}

#[test]
fn hash_check_against_the_attachment() {
    let (key, iv) = key_iv(10);
    let pt = b"Subject: x\r\n\r\nbody\r\n";
    let mut blob = Vec::new();
    let enc = encrypt_stream(&key, &iv, &pt[..], &mut blob).unwrap();
    let att = KimAttachment::from_upload("https://kas.example/a/1".into(), &key, &enc);
    assert_eq!(att.key().unwrap(), key);
    assert_eq!(att.size, pt.len() as u64);

    let (_, dec) = decrypt_to_vec(&att.key().unwrap(), blob.as_slice()).unwrap();
    verify_hash(&att, &dec).unwrap();

    let mut other = att.clone();
    other.hash = KimAttachment::from_upload(
        String::new(),
        &key,
        &EncryptSummary {
            plaintext_sha256: [0xaa; 32],
            ..enc
        },
    )
    .hash;
    let err = verify_hash(&other, &dec).unwrap_err();
    assert!(matches!(err, KasError::HashMismatch), "{err}");
    assert_eq!(err.code(), Some(4012));
}

#[test]
fn fresh_keys_differ_and_injected_ones_repeat() {
    let (k1, iv1) = generate_key_and_iv().unwrap();
    let (k2, iv2) = generate_key_and_iv().unwrap();
    assert_ne!(*k1, *k2);
    assert_ne!(iv1, iv2);
    assert_eq!(key_iv(5), key_iv(5));
    assert_ne!(key_iv(5), key_iv(6));
}

/// A reader that fails after `ok` bytes, and a writer that fails at once.
struct FailingReader {
    ok: usize,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ok == 0 {
            return Err(io::Error::other("disk gone"));
        }
        let n = self.ok.min(buf.len());
        buf[..n].fill(0);
        self.ok -= n;
        Ok(n)
    }
}

struct FailingWriter;

impl Write for FailingWriter {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("socket closed"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn io_errors_are_reported_in_both_modes() {
    let (key, iv) = key_iv(11);
    for mode in MODES {
        let reader = FailingReader { ok: 300_000 };
        let err = encrypt_stream_with(mode, &key, &iv, reader, io::sink()).unwrap_err();
        assert!(matches!(err, KasError::Io(_)), "{mode:?}: {err}");
        assert_eq!(err.code(), None);
        let err = encrypt_stream_with(mode, &key, &iv, &b"abc"[..], FailingWriter).unwrap_err();
        assert!(matches!(err, KasError::Io(_)), "{mode:?}: {err}");
        let reader = FailingReader { ok: 5 };
        let err = decrypt_stream_with(mode, &key, reader, io::sink()).unwrap_err();
        assert!(matches!(err, KasError::Io(_)), "{mode:?}: {err}");
        let reader = FailingReader { ok: 200_000 };
        let err = decrypt_stream_with(mode, &key, reader, io::sink()).unwrap_err();
        assert!(matches!(err, KasError::Io(_)), "{mode:?}: {err}");
    }
}

#[test]
fn blob_size_adds_iv_and_tag() {
    assert_eq!(blob_size(0), 28);
    assert_eq!(blob_size(734_003_200), 734_003_228);
    assert_eq!(blob_size(u64::MAX), u64::MAX);
}

mod never_panic {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn random_blobs_are_refused(blob in prop::collection::vec(any::<u8>(), 0..200)) {
            let err = decrypt_to_vec(&[3; 32], blob.as_slice()).unwrap_err();
            let refused = matches!(err, KasError::TooShort { .. } | KasError::TagMismatch);
            prop_assert!(refused, "{}", err);
        }
    }
}

#[test]
fn wiping_vec_collects_every_write() {
    let data = random_bytes(&mut rng(12), 100_000);
    let mut v = WipingVec(zeroize::Zeroizing::new(Vec::new()));
    for piece in data.chunks(777) {
        v.write_all(piece).unwrap();
    }
    assert_eq!(v.0.as_slice(), data.as_slice());
}
