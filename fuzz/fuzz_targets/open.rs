//! The whole receive path, `kim_message::open::open`, with a TEST-ONLY brainpoolP256r1 key:
//! outer parser, envelope, key agreement, AES-GCM, signed layer, the ID 08/09 checks,
//! Vermerke and every error mail (digest §4.4–§4.7).
//!
//! Invariants: `open` never fails on input (only building an error mail around unreadable
//! bytes may, and then the caller passes the original on); whatever it produces is a mail
//! without `X-KOM-LE-Version`, so it passes through the next Clientmodul unchanged.

#![no_main]

use kim_message::cms::soft::SoftwareKey;
use kim_message::cms::CertInfo;
use kim_message::mime::HeaderBlock;
use kim_message::open::software::{LocalSignatureCheck, SoftwareDecryptor};
use kim_message::open::{open, OpenContext, Opened};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// The address the seed messages are encrypted for (fuzz/make-seeds.sh).
const RECEIVER: &str = "fuzz@test.kim.telematik";

static DECRYPTOR: LazyLock<SoftwareDecryptor> = LazyLock::new(|| {
    let key = SoftwareKey::from_pkcs8_der(include_bytes!("../keys/bp256-test-only.key.der"));
    let cert = CertInfo::parse(include_bytes!("../keys/bp256-test-only.crt.der"));
    SoftwareDecryptor {
        keys: key.ok().zip(cert.ok()).into_iter().collect(),
    }
});

fuzz_target!(|data: &[u8]| {
    let ctx = OpenContext {
        receiver: RECEIVER,
        error_message_id: "<fuzz@kim.invalid>",
        date: "Mon, 23 Nov 2026 10:00:00 +0000",
    };
    let check = LocalSignatureCheck::default();
    let message = match open(data, &ctx, &*DECRYPTOR, &check) {
        Ok(Opened::PassThrough) | Err(_) => return,
        Ok(Opened::Delivered { message, integrity_ids, .. }) => {
            assert!(!integrity_ids.is_empty());
            message
        }
        Ok(Opened::ErrorMail { message, .. }) => message,
    };
    let (header, _) = HeaderBlock::parse(&message).expect("a produced message parses");
    assert!(
        !header.contains("X-KOM-LE-Version"),
        "a produced message must not look like KOM-LE"
    );
});
