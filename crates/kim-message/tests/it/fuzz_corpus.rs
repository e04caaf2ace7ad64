//! Replays every file of the fuzz corpora and regressions (`fuzz/corpus/*`,
//! `fuzz/regressions/*`) through the parsers and the receive path in an ordinary test run,
//! with the fuzz targets' invariants, so that CI exercises them without a sanitizer build.

use kim_message::cms::soft::SoftwareKey;
use kim_message::cms::{Attribute, AuthEnvelopedData, CertInfo, RecipientEmails, SignedData, ber};
use kim_message::mime::{self, DeliveryResult, HeaderBlock, OuterMessage};
use kim_message::open::software::{LocalSignatureCheck, SoftwareDecryptor};
use kim_message::open::{OpenContext, Opened, open};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_below(&p, out);
        } else if p.file_name().is_some_and(|n| n != "README.md") {
            out.push(p);
        }
    }
}

fn decryptor() -> SoftwareDecryptor {
    let keys = fuzz_dir().join("keys");
    let key =
        SoftwareKey::from_pkcs8_der(&std::fs::read(keys.join("bp256-test-only.key.der")).unwrap())
            .unwrap();
    let cert =
        CertInfo::parse(&std::fs::read(keys.join("bp256-test-only.crt.der")).unwrap()).unwrap();
    SoftwareDecryptor {
        keys: vec![(key, cert)],
    }
}

fn replay(data: &[u8], decryptor: &SoftwareDecryptor) {
    if let Ok(t) = ber::parse(data)
        && let Ok(der) = t.to_der()
    {
        let again = ber::parse(&der).unwrap().to_der().unwrap();
        assert_eq!(again, der, "to_der is a fixed point");
    }
    if let Ok(sd) = SignedData::parse(data) {
        let _ = sd.profile_findings();
        let _ = sd.verify(&[]);
    }
    if let Ok(env) = AuthEnvelopedData::parse(data) {
        let _ = env.recipient_emails();
        if let Ok(plain) = env.decrypt_content(&[0x42; 32]) {
            assert_eq!(plain.len(), env.encrypted_content.len());
        }
    }
    if let Ok(cert) = CertInfo::parse(data) {
        let _ = (
            cert.telematik_id(),
            cert.key_description(),
            cert.subject_text(),
        );
    }
    if let Ok(attr) = Attribute::from_der(data) {
        let _ = RecipientEmails::from_attribute(&attr);
    }
    let _ = kim_message::inspect::inspect(data);
    if let Ok((header, _)) = HeaderBlock::parse(data) {
        assert!(
            data.starts_with(&header.to_bytes()),
            "header writes back byte-exact"
        );
        if let Ok(delivered) =
            mime::build_delivered(data, &header, &DeliveryResult::decrypted(&["01"]))
        {
            assert!(HeaderBlock::parse(&delivered).is_ok());
        }
    }
    let _ = OuterMessage::parse(data);
    let ctx = OpenContext {
        receiver: "fuzz@test.kim.telematik",
        error_message_id: "<f@x>",
        date: "Mon, 23 Nov 2026 10:00:00 +0000",
    };
    let produced = match open(data, &ctx, decryptor, &LocalSignatureCheck::default()) {
        Ok(Opened::Delivered { message, .. } | Opened::ErrorMail { message, .. }) => message,
        Ok(Opened::PassThrough) | Err(_) => return,
    };
    let (header, _) = HeaderBlock::parse(&produced).unwrap();
    assert!(!header.contains("X-KOM-LE-Version"));
}

#[test]
fn every_fuzz_corpus_and_regression_file_replays_cleanly() {
    let mut files = Vec::new();
    files_below(&fuzz_dir().join("corpus"), &mut files);
    files_below(&fuzz_dir().join("regressions"), &mut files);
    assert!(
        files.len() > 30,
        "fuzz corpus not found below {}",
        fuzz_dir().display()
    );
    let decryptor = decryptor();
    for f in &files {
        replay(&std::fs::read(f).unwrap(), &decryptor);
    }
}

#[test]
fn the_open_seeds_decrypt_with_the_fuzz_key() {
    // Guards the seeds: if they stop decrypting, the open target only fuzzes error paths.
    let decryptor = decryptor();
    let data = std::fs::read(fuzz_dir().join("corpus/open/sealed-bp256.eml")).unwrap();
    let ctx = OpenContext {
        receiver: "fuzz@test.kim.telematik",
        error_message_id: "<f@x>",
        date: "Mon, 23 Nov 2026 10:00:00 +0000",
    };
    let opened = open(&data, &ctx, &decryptor, &LocalSignatureCheck::default()).unwrap();
    assert!(
        matches!(opened, Opened::Delivered { positive: true, .. }),
        "{opened:?}"
    );
}
