//! `AuthEnvelopedData::parse`, `recipient_emails`, `profile_findings` and decryption: the
//! path every incoming encrypted KIM message takes (gemSMIME_KOMLE 2.2).
//!
//! The content is decrypted with a fixed 32-byte key (the seed corpus holds messages
//! encrypted under exactly this key, so the fuzzer starts from inputs that decrypt). Key
//! unwrapping runs for a brainpoolP256r1 recipient (ECDH, X9.63 KDF, AES key wrap on the
//! attacker's ephemeral point and wrapped key) with a TEST-ONLY software key.
//!
//! Invariant: a successful decryption returns exactly as many bytes as were encrypted.

#![no_main]

use kim_message::cms::soft::SoftwareKey;
use kim_message::cms::{AuthEnvelopedData, CertInfo};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// The content-encryption key of the seed messages (see examples/make_seeds.rs).
const FIXED_CEK: [u8; 32] = [0x42; 32];

static BRAINPOOL: LazyLock<Option<(SoftwareKey, CertInfo)>> = LazyLock::new(|| {
    let key = SoftwareKey::from_pkcs8_der(include_bytes!("../keys/bp256-test-only.key.der"));
    let cert = CertInfo::parse(include_bytes!("../keys/bp256-test-only.crt.der"));
    key.ok().zip(cert.ok())
});

fuzz_target!(|data: &[u8]| {
    let Ok(env) = AuthEnvelopedData::parse(data) else {
        return;
    };
    if let Ok(emails) = env.recipient_emails() {
        for entry in &emails.0 {
            let _ = entry.rid.to_string();
        }
    }
    let _ = env.profile_findings();
    for info in &env.recipient_infos {
        for rid in info.recipient_ids() {
            let _ = rid.to_string();
        }
    }
    if let Ok(plain) = env.decrypt_content(&FIXED_CEK) {
        assert_eq!(plain.len(), env.encrypted_content.len());
    }
    let Some((key, cert)) = BRAINPOOL.as_ref() else {
        panic!("the TEST-ONLY brainpool key or certificate in fuzz/keys does not load");
    };
    if let Ok(cek) = key.unwrap_cek(&env, cert) {
        let _ = env.decrypt_content(&cek);
    }
});
