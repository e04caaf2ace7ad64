//! `kim sandbox`: the local KIM sandbox.
//!
//! Today it runs the message layer end to end on one machine: it creates the test PKI,
//! seals a sample Arztbrief from practice A (Dr. Schmidt, SMC-B) to practice B (Dr. Weber,
//! SMC-B) — signed with A's C.HCI.OSIG, encrypted for B's and A's C.HCI.ENC, encoded as a
//! Konnektor does (BER) — and opens it as B, checking the signature and the certificate
//! path, then prints the delivered message with its result headers and Vermerke. The
//! Konnektor simulator, VZD, Fachdienst and Clientmodul join it as they are built.

use crate::Outcome;
use crate::message::{now, rfc5322_date};
use anyhow::{Context, bail};
use clap::Args;
use kim_message::cms::CertInfo;
use kim_message::cms::enveloped::Encoding;
use kim_message::cms::soft::{SoftwareKey, SoftwareSigner};
use kim_message::open::software::{LocalSignatureCheck, SoftwareDecryptor};
use kim_message::open::{self, OpenContext, Opened};
use kim_message::seal::{self, RecipientCert, SealOptions};
use kim_testkit::pki::{Issued, KeyAlgorithm, PkiSpec, TestPki};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Use the cards' brainpoolP256r1 keys instead of RSA-2048.
    #[arg(long)]
    ecc: bool,
    /// Also write the PKI, the Client-Mail, the KOM-LE message and the delivered message
    /// to this directory.
    #[arg(long)]
    out: Option<PathBuf>,
}

const PRACTICE_A: &str = "1-2.58.00000040";
const PRACTICE_B: &str = "2-2.58.00000041";

pub fn run(args: &SandboxArgs) -> anyhow::Result<Outcome> {
    let alg = if args.ecc {
        KeyAlgorithm::BrainpoolP256r1
    } else {
        KeyAlgorithm::Rsa2048
    };
    let started = Instant::now();
    let pki = TestPki::generate(&PkiSpec::small_default()).context("creating the test PKI")?;
    eprintln!(
        "[sandbox] test PKI created in {:.2?} (TEST-ONLY keys)",
        started.elapsed()
    );
    let (Some(a), Some(b)) = (pki.card(PRACTICE_A), pki.card(PRACTICE_B)) else {
        bail!("the default test PKI lacks the sandbox practices");
    };
    let addr_a = card_address(a.enc(alg))?;
    let addr_b = card_address(b.enc(alg))?;

    let client_mail = arztbrief(&addr_a, &addr_b, now());
    let signer = SoftwareSigner::new(software_key(a.signing(alg))?, cert(a.signing(alg))?)?;
    let recipients = vec![
        RecipientCert {
            address: addr_b.clone(),
            cert: cert(b.enc(alg))?,
        },
        RecipientCert {
            address: addr_a.clone(),
            cert: cert(a.enc(alg))?,
        },
    ];
    let t = Instant::now();
    let options = SealOptions {
        signing_time: now(),
        encoding: Encoding::BerChunked(1000),
        ..SealOptions::default()
    };
    let sealed = seal::seal(
        &client_mail,
        &signer,
        &recipients,
        &options,
        &mut getrandom::SysRng,
    )?;
    eprintln!(
        "[sandbox] sealed {} -> {}: {} bytes Client-Mail, {} bytes KOM-LE message, signed and encrypted ({:?}) in {:.2?}",
        addr_a,
        addr_b,
        client_mail.len(),
        sealed.message.len(),
        alg,
        t.elapsed()
    );

    let trust: Vec<CertInfo> = pki
        .cas()
        .iter()
        .map(|c| CertInfo::parse(&c.certificate_der))
        .collect::<Result<_, _>>()?;
    let decryptor = SoftwareDecryptor {
        keys: vec![(software_key(b.enc(alg))?, cert(b.enc(alg))?)],
    };
    let check = LocalSignatureCheck { trust };
    let date = rfc5322_date(now());
    let ctx = OpenContext {
        receiver: &addr_b,
        error_message_id: "<sandbox-error@kim.invalid>",
        date: &date,
    };
    let t = Instant::now();
    let opened = open::open(&sealed.message, &ctx, &decryptor, &check)?;
    let (delivered, outcome) = match opened {
        Opened::Delivered {
            message,
            integrity_ids,
            positive,
        } => {
            eprintln!(
                "[sandbox] opened as {} in {:.2?}: X-KIM-DecryptionResult 00, X-KIM-IntegrityCheckResult {}",
                addr_b,
                t.elapsed(),
                integrity_ids.join(",")
            );
            (
                message,
                if positive {
                    Outcome::Success
                } else {
                    Outcome::Negative
                },
            )
        }
        Opened::ErrorMail {
            message, reason, ..
        } => {
            eprintln!("[sandbox] opening failed: {reason}");
            (message, Outcome::Negative)
        }
        Opened::PassThrough => bail!("the sealed message was not recognised as KOM-LE"),
    };
    if let Some(dir) = &args.out {
        pki.write_dir(&dir.join("pki"), "00")
            .context("writing the PKI")?;
        for (name, bytes) in [
            ("client-mail.eml", &client_mail),
            ("kom-le-message.eml", &sealed.message),
            ("delivered.eml", &delivered),
        ] {
            std::fs::write(dir.join(name), bytes)
                .with_context(|| format!("writing {}", dir.join(name).display()))?;
        }
        eprintln!("[sandbox] files written to {}", dir.display());
    }
    eprintln!("[sandbox] the delivered message:");
    std::io::stdout().write_all(&delivered)?;
    Ok(outcome)
}

fn cert(issued: &Issued) -> anyhow::Result<CertInfo> {
    Ok(CertInfo::parse(&issued.certificate_der)?)
}

fn software_key(issued: &Issued) -> anyhow::Result<SoftwareKey> {
    Ok(SoftwareKey::from_pkcs8_der(&issued.private_key_pkcs8_der)?)
}

fn card_address(issued: &Issued) -> anyhow::Result<String> {
    cert(issued)?
        .email_addresses()
        .into_iter()
        .next()
        .context("the sandbox card certificate has no e-mail address")
}

/// A sample Arztbrief: multipart/mixed with German UTF-8 text and a small attachment.
fn arztbrief(from: &str, to: &str, now: i64) -> Vec<u8> {
    let date = rfc5322_date(now);
    format!(
        "From: Arztpraxis Dr. Alice Schmidt <{from}>\r\n\
To: Zahnarztpraxis Dr. Bernd Weber <{to}>\r\n\
Subject: =?UTF-8?Q?Arztbrief_=C3=BCber_Patientin_M=C3=BCller?=\r\n\
Date: {date}\r\n\
Message-ID: <arztbrief-{now}@praxis-schmidt.test>\r\n\
MIME-Version: 1.0\r\n\
X-KIM-Dienstkennung: Arztbrief;VHitG-Versand;V1.2\r\n\
X-KIM-Sendersystem: kim-sandbox;0.1.0\r\n\
Content-Type: multipart/mixed; boundary=\"arztbrief-boundary\"\r\n\
\r\n\
--arztbrief-boundary\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Sehr geehrter Herr Kollege Weber,\r\n\
\r\n\
anbei der Befund unserer gemeinsamen Patientin Frau Müller (geb. 01.02.1960).\r\n\
Die Zahnbehandlung kann aus ärztlicher Sicht wie geplant erfolgen.\r\n\
\r\n\
Mit freundlichen Grüßen\r\n\
Dr. Alice Schmidt\r\n\
\r\n\
--arztbrief-boundary\r\n\
Content-Type: application/pdf; name=\"befund.pdf\"\r\n\
Content-Disposition: attachment; filename=\"befund.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWls\r\n\
ZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9GCg==\r\n\
--arztbrief-boundary--\r\n"
    )
    .into_bytes()
}
