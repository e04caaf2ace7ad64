//! Writes the generated seed files of the fuzz corpora (the gematik samples and the
//! hand-made BER cases are copied by `fuzz/make-seeds.sh`).
//!
//! Run from `fuzz/`: `cargo run --example make_seeds -- corpus`. Uses the TEST-ONLY keys in
//! `fuzz/keys/`; AuthEnvelopedData seeds are encrypted under the fixed content-encryption key
//! that the `auth_enveloped` target decrypts with.

use kim_message::cms::enveloped::{self, Encoding};
use kim_message::cms::signed::{self, SignOptions};
use kim_message::cms::soft::{SoftwareKey, SoftwareSigner};
use kim_message::cms::{
    AuthEnvelopedData, CertInfo, CmsError, RecipientEmail, RecipientEmails, SignedData, oid,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use std::path::{Path, PathBuf};

const FIXED_CEK: [u8; 32] = [0x42; 32];
const NONCE: [u8; 12] = [0x24; 12];
const CONTENT: &[u8] = b"Content-Type: text/plain\r\n\r\nTEST-ONLY\r\n";

const GEMATIK_ENCRYPTED: &[u8] =
    include_bytes!("../../crates/kim-message/tests/data/gematik/inputEmail.txt.04.encryptedcms");
const GEMATIK_SIGNED: &[u8] =
    include_bytes!("../../crates/kim-message/tests/data/gematik/inputEmail.txt.02.signedcms");

struct Identity {
    key: &'static [u8],
    cert: &'static [u8],
}

const RSA: Identity = Identity {
    key: include_bytes!("../keys/hci-enc-2-kim-bsp.key.der"),
    cert: include_bytes!("../keys/hci-enc-2-kim-bsp.crt.der"),
};
const BRAINPOOL: Identity = Identity {
    key: include_bytes!("../keys/bp256-test-only.key.der"),
    cert: include_bytes!("../keys/bp256-test-only.crt.der"),
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: make_seeds CORPUS_DIR")?,
    );
    let rsa_cert = CertInfo::parse(RSA.cert)?;
    let bp_cert = CertInfo::parse(BRAINPOOL.cert)?;
    let emails = RecipientEmails(vec![
        entry("a@x.kim.telematik", &rsa_cert),
        entry("b@y.kim.telematik", &bp_cert),
    ]);
    let attr = emails.to_attribute();
    write(
        &out,
        "recipient_emails",
        "generated-two-entries.der",
        &attr.to_der(),
    )?;

    for (name, id) in [("rsa-pss", &RSA), ("bp256-ecdsa", &BRAINPOOL)] {
        let signer = SoftwareSigner::new(
            SoftwareKey::from_pkcs8_der(id.key)?,
            CertInfo::parse(id.cert)?,
        )?;
        let options = SignOptions {
            signing_time: 1_763_900_000,
            extra_signed_attrs: vec![attr.clone()],
        };
        let signed = signed::build(CONTENT, &signer, &options)?;
        write(
            &out,
            "signed_data",
            &format!("generated-{name}.der"),
            &signed,
        )?;
    }

    let recipients = [rsa_cert, bp_cert.clone()];
    let attrs = std::slice::from_ref(&attr);
    let sealed = [
        ("rsa-bp256-der", seal(&recipients, attrs, Encoding::Der)?),
        (
            "rsa-bp256-ber-chunked",
            seal(&recipients, attrs, Encoding::BerChunked(16))?,
        ),
        (
            "bp256-no-unauth",
            seal(std::slice::from_ref(&bp_cert), &[], Encoding::Der)?,
        ),
    ];
    // The target unwraps with the brainpool key: every seed must reach a successful unwrap.
    let bp_key = SoftwareKey::from_pkcs8_der(BRAINPOOL.key)?;
    for (name, env) in &sealed {
        let cek = bp_key.unwrap_cek(&AuthEnvelopedData::parse(env)?, &bp_cert)?;
        if cek != FIXED_CEK {
            return Err(format!("{name}: the brainpool recipient unwraps another key").into());
        }
        write(
            &out,
            "auth_enveloped",
            &format!("generated-{name}.der"),
            env,
        )?;
    }
    write(&out, "certificate", "generated-bp256.der", BRAINPOOL.cert)?;
    gematik_attributes(&out)
}

/// The recipient-emails attributes of the gematik samples: unauthAttrs of the encrypted
/// message and the signed attribute of the signed one.
fn gematik_attributes(out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let env = AuthEnvelopedData::parse(GEMATIK_ENCRYPTED)?;
    for (i, a) in env.unauth_attrs.iter().enumerate() {
        write(
            out,
            "recipient_emails",
            &format!("gematik-04-unauth-{i}.der"),
            &a.to_der(),
        )?;
    }
    let sd = SignedData::parse(GEMATIK_SIGNED)?;
    for si in &sd.signer_infos {
        if let Some(a) = si.signed_attr(&oid::RECIPIENT_EMAILS) {
            write(
                out,
                "recipient_emails",
                "gematik-02-signed-attr.der",
                &a.to_der(),
            )?;
        }
    }
    Ok(())
}

fn entry(email: &str, cert: &CertInfo) -> RecipientEmail {
    RecipientEmail {
        email: email.into(),
        rid: cert.issuer_serial.clone(),
    }
}

fn seal(
    recipients: &[CertInfo],
    attrs: &[kim_message::cms::Attribute],
    encoding: Encoding,
) -> Result<Vec<u8>, CmsError> {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let env = enveloped::build(
        CONTENT, recipients, attrs, &FIXED_CEK, &NONCE, &mut rng, encoding,
    )?;
    // The auth_enveloped target relies on these seeds decrypting under FIXED_CEK.
    let plain = AuthEnvelopedData::parse(&env)?.decrypt_content(&FIXED_CEK)?;
    if plain != CONTENT {
        return Err(CmsError::Decryption(
            "seed does not decrypt to its content".into(),
        ));
    }
    Ok(env)
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), bytes)
}
