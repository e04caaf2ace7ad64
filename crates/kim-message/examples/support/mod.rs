//! Inputs shared by the `message` benchmark and the measuring examples: realistic
//! Client-Mails of a given size and the parties (signer, recipients, decryptor, trust) from
//! the deterministic test PKI.
//!
//! A Client-Mail here is `multipart/mixed` with a short German text part and one base64
//! attachment (`application/pdf`) that makes up the requested size. The attachment bytes
//! are pseudo-random, so nothing in the pipeline can profit from repetitive content.

#![allow(
    dead_code,
    reason = "included by several targets that each use a different part of it"
)]

use std::error::Error;

use base64::Engine;
use kim_message::cms::CertInfo;
use kim_message::cms::soft::{SoftwareKey, SoftwareSigner};
use kim_message::open::software::{LocalSignatureCheck, SoftwareDecryptor};
use kim_message::open::{OpenContext, Opened};
use kim_message::seal::{RecipientCert, SealOptions};
use kim_testkit::pki::{Issued, KeyAlgorithm, TestPki};

pub type BoxError = Box<dyn Error + Send + Sync>;

/// Card Telematik-ID of the sender (practice A).
pub const SENDER: &str = "1-2.58.00000040";
/// Card Telematik-ID of the receiver (practice B).
pub const RECEIVER: &str = "2-2.58.00000041";
pub const ADDR_SENDER: &str = "praxis.schmidt@test.kim.telematik";
pub const ADDR_RECEIVER: &str = "zahnarzt.weber@test.kim.telematik";

/// Everything seal and open need besides the message.
pub struct Parties {
    pub signer: SoftwareSigner,
    pub recipients: Vec<RecipientCert>,
    pub decryptor: SoftwareDecryptor,
    pub check: LocalSignatureCheck,
}

/// Signer (sender's signing key), recipients (receiver first, then the sender itself, as
/// KOM-LE-A_2111-01 requires), the receiver's decryption key and the test PKI's CAs.
pub fn parties(alg: KeyAlgorithm) -> Result<Parties, BoxError> {
    let pki = TestPki::shared_default().map_err(|e| e.to_string())?;
    let card = |tid: &str| pki.card(tid).ok_or_else(|| format!("no card {tid}"));
    let (a, b) = (card(SENDER)?, card(RECEIVER)?);
    let key = |i: &Issued| SoftwareKey::from_pkcs8_der(&i.private_key_pkcs8_der);
    let cert = |i: &Issued| CertInfo::parse(&i.certificate_der);
    let trust = pki
        .cas()
        .iter()
        .map(|c| CertInfo::parse(&c.certificate_der))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Parties {
        signer: SoftwareSigner::new(key(a.signing(alg))?, cert(a.signing(alg))?)?,
        recipients: vec![
            RecipientCert {
                address: ADDR_RECEIVER.into(),
                cert: cert(b.enc(alg))?,
            },
            RecipientCert {
                address: ADDR_SENDER.into(),
                cert: cert(a.enc(alg))?,
            },
        ],
        decryptor: SoftwareDecryptor {
            keys: vec![(key(b.enc(alg))?, cert(b.enc(alg))?)],
        },
        check: LocalSignatureCheck { trust },
    })
}

/// The receiving context (the receiver's address and fixed values for error mails).
pub fn context() -> OpenContext<'static> {
    OpenContext {
        receiver: ADDR_RECEIVER,
        error_message_id: "<err-1@bench.test>",
        date: "Mon, 23 Nov 2026 10:00:00 +0000",
    }
}

pub fn seal_options() -> SealOptions {
    SealOptions {
        signing_time: 1_795_000_000,
        ..SealOptions::default()
    }
}

/// Seals `client_mail` for the receiver and the sender.
pub fn seal(p: &Parties, client_mail: &[u8]) -> Result<Vec<u8>, BoxError> {
    let sealed = kim_message::seal::seal(
        client_mail,
        &p.signer,
        &p.recipients,
        &seal_options(),
        &mut getrandom::SysRng,
    )?;
    Ok(sealed.message)
}

/// Opens `received` and fails unless it was delivered with a positive integrity result.
pub fn open(p: &Parties, received: &[u8]) -> Result<Vec<u8>, BoxError> {
    match kim_message::open::open(received, &context(), &p.decryptor, &p.check)? {
        Opened::Delivered {
            message,
            positive: true,
            ..
        } => Ok(message),
        other => Err(format!("not delivered positively: {other:?}").into()),
    }
}

const TEXT: &str = "Sehr geehrte Kollegin, sehr geehrter Kollege,\r\n\r\n\
anbei der Befund unserer gemeinsamen Patientin mit der Bitte um Kenntnisnahme.\r\n\
Die Aufnahmen liegen als PDF bei. Für Rückfragen stehen wir gern zur Verfügung.\r\n\r\n\
Mit freundlichen Grüßen\r\nPraxis Dr. Schmidt\r\n";

const BOUNDARY: &str = "----=_Part_4711_bench";

/// A Client-Mail of about `size` bytes (at least one attachment line): header, a text
/// part and a base64 attachment whose encoded lines fill the rest.
pub fn client_mail(size: usize) -> Vec<u8> {
    let mut mail = format!(
        "From: Praxis Schmidt <{ADDR_SENDER}>\r\n\
         To: Zahnarztpraxis Weber <{ADDR_RECEIVER}>\r\n\
         Subject: Befund\r\n\
         Date: Mon, 23 Nov 2026 09:00:00 +0100\r\n\
         Message-ID: <bench-{size}@praxis.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{BOUNDARY}\"\r\n\
         \r\n\
         --{BOUNDARY}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         \r\n\
         {TEXT}\r\n\
         --{BOUNDARY}\r\n\
         Content-Type: application/pdf; name=\"befund.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"befund.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n"
    )
    .into_bytes();
    let trailer = format!("\r\n--{BOUNDARY}--\r\n");
    // A full line is 76 characters plus CRLF and carries 57 bytes.
    let room = size.saturating_sub(mail.len() + trailer.len()).max(78);
    let raw = pseudo_random((room / 78 * 57).max(57));
    let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
    for (i, line) in encoded.as_bytes().chunks(76).enumerate() {
        if i > 0 {
            mail.extend_from_slice(b"\r\n");
        }
        mail.extend_from_slice(line);
    }
    mail.extend_from_slice(trailer.as_bytes());
    mail
}

/// Deterministic incompressible bytes (xorshift64*).
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Parses `rsa`/`rsa2048` or `ecc`/`bp256` (brainpoolP256r1).
pub fn algorithm(name: &str) -> Result<KeyAlgorithm, BoxError> {
    match name.to_ascii_lowercase().as_str() {
        "rsa" | "rsa2048" => Ok(KeyAlgorithm::Rsa2048),
        "ecc" | "bp256" | "brainpoolp256r1" => Ok(KeyAlgorithm::BrainpoolP256r1),
        other => Err(format!("unknown key algorithm {other:?} (rsa, ecc)").into()),
    }
}
