//! `kim sandbox`: the whole KIM system on this machine.
//!
//! One process starts on loopback the test PKI, the software Konnektor (two practices'
//! SMC-Bs in two tenants and a doctor's HBA), the VZD, a Fachdienst with its REST
//! interfaces, and the Clientmodul's SMTP and POP3 proxies with its administration web UI.
//! Without `--serve` it sends a sample Arztbrief from practice A to practice B through the
//! Clientmodul as practice software would, fetches it as B through the Clientmodul, prints
//! the delivered message with its Vermerke and stops. With `--serve` it keeps running, with its state in
//! `--state-dir`, and writes `sandbox.json` there for scripts.

mod info;
mod system;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use kim_smtp::{MailFrom, RcptTo};
use tokio::net::TcpStream;

use crate::Outcome;
use crate::message::{now, rfc5322_date};
pub use info::SandboxInfo;
use system::{PRACTICES, Ports, System};

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Keep the system running (until Ctrl-C or SIGTERM) instead of the one-message demo.
    #[arg(long)]
    serve: bool,
    /// State directory (PKI, directory, mailboxes, `sandbox.json`); kept across restarts.
    /// Default: `kim-sandbox` with `--serve`, a temporary directory without.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// First of nine consecutive loopback ports (Konnektor, VZD LDAP, VZD API, Fachdienst
    /// SMTPS, POP3S, HTTPS, Clientmodul SMTP, POP3, administration UI). Default with
    /// `--serve`: 18400;
    /// without: free ports chosen by the system.
    #[arg(long)]
    base_port: Option<u16>,
}

pub fn run(args: &SandboxArgs) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        if args.serve {
            serve(args).await
        } else {
            demo(args).await
        }
    })
}

async fn serve(args: &SandboxArgs) -> anyhow::Result<Outcome> {
    let dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("kim-sandbox"));
    let ports = Ports::from_base(args.base_port.unwrap_or(18400))?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let _logs = init_logging(Some(&dir.join("log")))?;
    let system = System::start(&dir, ports).await?;
    let info = SandboxInfo::collect(&system)?;
    info.write(&system.dir)?;
    println!(
        "KIM sandbox (TEST-ONLY keys), state in {}",
        system.dir.display()
    );
    println!("  Konnektor   {}", info.konnektor.sds_url);
    println!(
        "  VZD         {}  base {}",
        info.vzd.ldap_url, info.vzd.base_dn
    );
    println!("  Fachdienst  {}", system.fachdienst_summary());
    println!("  Account Manager {}", info.fachdienst.account_manager_url);
    println!(
        "  Clientmodul SMTP {}  POP3 {}",
        system.cm_smtp_addr(),
        system.cm_pop3_addr()
    );
    println!("  Admin UI    {}", info.admin_ui_url);
    println!(
        "  Settings    {}",
        system.dir.join("sandbox.json").display()
    );
    println!();
    print!("{}", info.guide());
    println!("READY");
    crate::fachdienst::wait_for_signal().await?;
    system.shutdown().await;
    println!("stopped");
    Ok(Outcome::Success)
}

async fn demo(args: &SandboxArgs) -> anyhow::Result<Outcome> {
    let temp;
    let dir = match &args.state_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().context("creating a temporary state directory")?;
            temp.path().to_path_buf()
        }
    };
    let ports = match args.base_port {
        Some(base) => Ports::from_base(base)?,
        None => Ports::default(),
    };
    let _logs = init_logging(None)?;
    let started = Instant::now();
    let system = System::start(&dir, ports).await?;
    eprintln!(
        "[sandbox] Konnektor, VZD, Fachdienst and Clientmodul running in {:.2?} (TEST-ONLY keys)",
        started.elapsed()
    );
    let result = exchange(&system).await;
    system.shutdown().await;
    let delivered = result?;
    eprintln!("[sandbox] the delivered message:");
    use std::io::Write as _;
    std::io::stdout().write_all(&delivered)?;
    let positive = header_value(&delivered, "X-KIM-DecryptionResult").as_deref() == Some("00")
        && matches!(
            header_value(&delivered, "X-KIM-IntegrityCheckResult").as_deref(),
            Some("01" | "07")
        );
    Ok(if positive {
        Outcome::Success
    } else {
        Outcome::Negative
    })
}

/// Practice A sends the Arztbrief through the Clientmodul; practice B fetches it.
async fn exchange(system: &System) -> anyhow::Result<Vec<u8>> {
    let (a, b) = (&PRACTICES[0], &PRACTICES[1]);
    let mail = arztbrief(a.address, b.address, now());
    let t = Instant::now();
    let stream = TcpStream::connect(system.cm_smtp_addr()).await?;
    let (mut smtp, _) = kim_smtp::client::SmtpClient::connect(stream, TIMEOUT)
        .await
        .context("connecting to the Clientmodul (SMTP)")?;
    smtp.ehlo("praxis-schmidt.sandbox").await?;
    smtp.auth_plain(&system.smtp_user(a), a.password)
        .await
        .context("AUTH at the Clientmodul")?;
    let from = MailFrom {
        address: a.address.into(),
        ..MailFrom::default()
    };
    let outcome = smtp
        .send(&from, &[RcptTo::new(b.address)], mail.as_slice())
        .await
        .context("sending the Arztbrief")?;
    if !outcome.accepted() {
        bail!("the Clientmodul refused the Arztbrief: {outcome:?}");
    }
    let _ = smtp.quit().await;
    eprintln!(
        "[sandbox] {} sent an Arztbrief ({} bytes) to {} through the Clientmodul in {:.2?}: \
         signed with its SMC-B, encrypted at the Konnektor, delivered by the Fachdienst",
        a.address,
        mail.len(),
        b.address,
        t.elapsed()
    );
    let t = Instant::now();
    let stream = TcpStream::connect(system.cm_pop3_addr()).await?;
    let mut pop3 = kim_pop3::Pop3Client::connect(stream, TIMEOUT)
        .await
        .context("connecting to the Clientmodul (POP3)")?;
    pop3.user(&system.pop3_user(b)).await?;
    pop3.pass(b.password)
        .await
        .context("login at the Clientmodul (POP3)")?;
    let list = pop3.list().await?;
    let Some(&(n, _)) = list.last() else {
        bail!("{}'s mailbox is empty", b.address);
    };
    let delivered = pop3.retr(n).await?.to_vec().await?;
    pop3.dele(n).await?;
    pop3.quit().await?;
    eprintln!(
        "[sandbox] {} fetched it through the Clientmodul in {:.2?}: decrypted with its SMC-B, \
         signature checked at the Konnektor",
        b.address,
        t.elapsed()
    );
    Ok(delivered)
}

/// Console log on stderr (`KIM_LOG`, default `warn`) and, with `files`, the Clientmodul's
/// operation and performance log files there (manual §4.6); keep the guard until the end.
fn init_logging(files: Option<&std::path::Path>) -> anyhow::Result<Option<kim_logs::LogGuard>> {
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{EnvFilter, Layer as _, layer::SubscriberExt as _};
    let console_filter = || {
        EnvFilter::try_from_env("KIM_LOG").unwrap_or_else(|_| EnvFilter::new("warn,kim_perf=off"))
    };
    let Some(dir) = files else {
        let console = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(console_filter());
        let _ = tracing_subscriber::registry().with(console).try_init();
        return Ok(None);
    };
    let mut config = kim_logs::LogConfig::new(dir);
    config.level = kim_logs::LogConfig::operation_level(true);
    config.performance = true;
    let (file_layer, guard) = kim_logs::layer(&config, std::sync::Arc::new(kim_logs::SystemClock))
        .context("setting up the log files")?;
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(console_filter());
    tracing_subscriber::registry()
        .with(file_layer)
        .with(console)
        .try_init()
        .context("installing the logger")?;
    Ok(Some(guard))
}

const TIMEOUT: Duration = Duration::from_secs(60);

/// The first value of header `name` in the message's header block (unfolded, trimmed).
fn header_value(message: &[u8], name: &str) -> Option<String> {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(message.len());
    let head = String::from_utf8_lossy(message.get(..end)?);
    let prefix = format!("{}:", name.to_ascii_lowercase());
    head.split("\r\n")
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .and_then(|l| l.get(prefix.len()..))
        .map(|v| v.trim().to_string())
}

/// A sample Arztbrief: multipart/mixed with German UTF-8 text and a small attachment.
pub fn arztbrief(from: &str, to: &str, now: i64) -> Vec<u8> {
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
