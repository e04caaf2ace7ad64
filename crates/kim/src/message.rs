//! `kim message inspect | seal | open`: KOM-LE messages with software keys.
//!
//! The forms are fixed (other tools script against them):
//! - `kim message inspect FILE`
//! - `kim message seal --signer SIGNER.p12 --password PW --recipient CERT.pem [--recipient ...] CLIENT_MAIL`
//! - `kim message open --key ENC.p12 --password PW [--trust CA.pem] FILE`

use crate::Outcome;
use anyhow::{Context, bail};
use clap::Subcommand;
use kim_message::cms::CertInfo;
use kim_message::cms::soft::{SoftwareKey, SoftwareSigner};
use kim_message::open::software::{LocalSignatureCheck, SoftwareDecryptor};
use kim_message::open::{self, OpenContext, Opened};
use kim_message::seal::{self, RecipientCert, SealOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum MessageCommand {
    /// Shows the structure of a message or CMS object without any key: KIM headers, version,
    /// algorithms, recipient infos, recipient-emails entries and, where visible, the signer.
    Inspect {
        /// An outer KOM-LE message, a CMS object (DER/BER) or a signed-data MIME entity.
        file: PathBuf,
    },
    /// Signs and encrypts a Client-Mail into a KOM-LE message (printed to stdout).
    Seal {
        /// PKCS#12 with the signer's key and certificate (C.HCI.OSIG).
        #[arg(long)]
        signer: PathBuf,
        /// Password of the signer's PKCS#12.
        #[arg(long)]
        password: String,
        /// Recipient ENC certificate (PEM or DER); pass the sender's own like any other. The
        /// KIM address is taken from the certificate's subjectAltName, or given as
        /// `ADDRESS=CERT.pem`.
        #[arg(long = "recipient", required = true)]
        recipients: Vec<String>,
        /// The Client-Mail (RFC 5322).
        client_mail: PathBuf,
    },
    /// Decrypts and checks a KOM-LE message; prints the delivered message with result
    /// headers and Vermerke, or the error mail the spec requires.
    Open {
        /// PKCS#12 with the receiver's ENC key and certificate.
        #[arg(long)]
        key: PathBuf,
        /// Password of the PKCS#12.
        #[arg(long)]
        password: String,
        /// CA certificates (PEM bundle or DER) to validate the signer's certificate path;
        /// without it a valid signature yields integrity result 07.
        #[arg(long)]
        trust: Option<PathBuf>,
        /// The receiver's KIM address (default: the address recipient-emails gives for the
        /// key's certificate).
        #[arg(long)]
        receiver: Option<String>,
        /// The received message.
        file: PathBuf,
    },
}

pub fn run(cmd: MessageCommand) -> anyhow::Result<Outcome> {
    match cmd {
        MessageCommand::Inspect { file } => {
            let report = kim_message::inspect::inspect(&read(&file)?);
            print!("{}", report.text);
            if report.problems.is_empty() {
                println!("no problems found");
                Ok(Outcome::Success)
            } else {
                println!("problems:");
                for p in &report.problems {
                    println!("  - {p}");
                }
                Ok(Outcome::Negative)
            }
        }
        MessageCommand::Seal {
            signer,
            password,
            recipients,
            client_mail,
        } => {
            let (key, cert) = load_p12(&signer, &password)?;
            let signer = SoftwareSigner::new(key, cert).context("signer key and certificate")?;
            let recipients = recipients
                .iter()
                .map(|r| recipient(r))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let sealed = seal::seal(
                &read(&client_mail)?,
                &signer,
                &recipients,
                &SealOptions {
                    signing_time: now(),
                    ..SealOptions::default()
                },
                &mut getrandom::SysRng,
            )
            .with_context(|| format!("sealing {}", client_mail.display()))?;
            std::io::stdout().write_all(&sealed.message)?;
            Ok(Outcome::Success)
        }
        MessageCommand::Open {
            key,
            password,
            trust,
            receiver,
            file,
        } => {
            let received = read(&file)?;
            let (key, cert) = load_p12(&key, &password)?;
            let trust = match trust {
                Some(p) => load_certs(&p)?,
                None => Vec::new(),
            };
            let receiver = match receiver {
                Some(r) => r,
                None => default_receiver(&received, &cert),
            };
            let decryptor = SoftwareDecryptor {
                keys: vec![(key, cert)],
            };
            let check = LocalSignatureCheck { trust };
            let date = rfc5322_date(now());
            let id = format!("<{}.{}@kim-cli.invalid>", now(), std::process::id());
            let ctx = OpenContext {
                receiver: &receiver,
                error_message_id: &id,
                date: &date,
            };
            let opened = open::open(&received, &ctx, &decryptor, &check)
                .context("building the result message")?;
            report_opened(&received, opened)
        }
    }
}

fn report_opened(received: &[u8], opened: Opened) -> anyhow::Result<Outcome> {
    let mut out = std::io::stdout();
    match opened {
        Opened::PassThrough => {
            eprintln!("kim: not a KOM-LE message (no X-KOM-LE-Version): passed through unchanged");
            out.write_all(received)?;
            Ok(Outcome::Success)
        }
        Opened::Delivered {
            message,
            integrity_ids,
            positive,
        } => {
            eprintln!(
                "kim: X-KIM-DecryptionResult: 00, X-KIM-IntegrityCheckResult: {}",
                integrity_ids.join(", ")
            );
            out.write_all(&message)?;
            Ok(if positive {
                Outcome::Success
            } else {
                Outcome::Negative
            })
        }
        Opened::ErrorMail {
            message,
            decryption_id,
            reason,
        } => {
            match decryption_id {
                Some(id) => {
                    eprintln!("kim: X-KIM-DecryptionResult: {id} ({reason}); error mail follows")
                }
                None => eprintln!("kim: {reason}; error mail follows"),
            }
            out.write_all(&message)?;
            Ok(Outcome::Negative)
        }
    }
}

/// The address recipient-emails lists for this certificate, else its subjectAltName e-mail.
fn default_receiver(received: &[u8], cert: &CertInfo) -> String {
    let from_emails = kim_message::mime::OuterMessage::parse(received)
        .ok()
        .and_then(|o| kim_message::cms::AuthEnvelopedData::parse(&o.cms).ok())
        .and_then(|env| env.recipient_emails().ok())
        .and_then(|emails| {
            emails
                .0
                .into_iter()
                .find(|e| e.rid == cert.issuer_serial)
                .map(|e| e.email)
        });
    from_emails
        .or_else(|| cert.email_addresses().into_iter().next())
        .unwrap_or_default()
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn load_p12(path: &Path, password: &str) -> anyhow::Result<(SoftwareKey, CertInfo)> {
    let store = kim_pkcs12::parse(&read(path)?, password)
        .with_context(|| format!("reading PKCS#12 {}", path.display()))?;
    let key = SoftwareKey::from_pkcs8_der(&store.private_key)
        .with_context(|| format!("key in {}", path.display()))?;
    let cert = CertInfo::parse(&store.certificate)
        .with_context(|| format!("certificate in {}", path.display()))?;
    Ok((key, cert))
}

/// Certificates from a PEM bundle or a single DER file.
pub fn load_certs(path: &Path) -> anyhow::Result<Vec<CertInfo>> {
    let bytes = read(path)?;
    let ders = pem_blocks(&bytes)
        .with_context(|| format!("reading certificates from {}", path.display()))?;
    let ders = if ders.is_empty() { vec![bytes] } else { ders };
    ders.iter()
        .map(|d| CertInfo::parse(d).with_context(|| format!("certificate in {}", path.display())))
        .collect()
}

fn pem_blocks(bytes: &[u8]) -> anyhow::Result<Vec<Vec<u8>>> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let tail = rest.get(start..).unwrap_or_default();
        let Some(end) = tail.find("-----END CERTIFICATE-----") else {
            bail!("unterminated PEM certificate block");
        };
        let block_end = end + "-----END CERTIFICATE-----".len();
        let block = tail.get(..block_end).unwrap_or_default();
        let (_, der) =
            pem_rfc7468::decode_vec(block.as_bytes()).map_err(|e| anyhow::anyhow!("PEM: {e}"))?;
        out.push(der);
        rest = tail.get(block_end..).unwrap_or_default();
    }
    Ok(out)
}

fn recipient(arg: &str) -> anyhow::Result<RecipientCert> {
    let (address, path) = match arg.split_once('=') {
        Some((a, p)) if a.contains('@') => (Some(a.to_string()), p),
        _ => (None, arg),
    };
    let mut certs = load_certs(Path::new(path))?;
    if certs.len() != 1 {
        bail!(
            "{path}: expected exactly one certificate, found {}",
            certs.len()
        );
    }
    let cert = certs.remove(0);
    let address = match address.or_else(|| cert.email_addresses().into_iter().next()) {
        Some(a) => a,
        None => bail!("{path}: the certificate has no e-mail address; pass it as ADDRESS={path}"),
    };
    kim_types::KimAddress::parse(&address)
        .with_context(|| format!("recipient address {address:?}"))?;
    Ok(RecipientCert { address, cert })
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub use kim_types::time::rfc5322_date;
