//! A 500 MiB Client-Mail through the Clientmodul and the KAS: peak memory and throughput.
//!
//! `cargo bench -p kim-clientmodul --bench large_mail` runs two processes:
//! - a child (this binary again, `KIM_LARGE_MAIL_ROLE=peers`) with the software Konnektor,
//!   the simulated VZD (sender and recipient with `1.5+`), the Fachdienst (SMTPS) and its
//!   KAS + AccountLimit over HTTPS with mutual TLS;
//! - this process with the Clientmodul's SMTP proxy and a streaming SMTP client that
//!   generates the mail on the fly (64 KiB at a time).
//!
//! The figure reported is `VmHWM` (peak resident set) of this process, i.e. the Clientmodul
//! plus the tiny client; the Fachdienst's memory is not in it. Also printed: time and MiB/s
//! from the first DATA byte to the final `250`.
//!
//! Knobs (environment): `CM_BENCH_MIB` (mail size, default 500), `CM_BENCH_DIR`
//! (directory for the Fachdienst's store, default a temporary directory under the current
//! directory so that it is on disk, not tmpfs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "benchmark harness"
)]

use std::io::{BufRead, Write as _};
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use kim_clientmodul::kas::HttpKas;
use kim_clientmodul::{FachdienstTls, KasSettings, SendConfig};
use kim_fachdienst::server::{Listeners, start};
use kim_fachdienst::{Fachdienst, Policy};
use kim_kas::{
    AccountLimitConfig, KasConfig, KasState, LimitState, account_limit_router, kas_router,
};
use kim_konnektor::client::{KonnektorClient, KonnektorConfig};
use kim_store::{Account, AccountStore, Contract, FileBlobStore, SqliteStore};
use kim_testkit::pki::TestPki;
use kim_tls::tokio_rustls::TlsAcceptor;
use kim_tls::{ClientAuth, Identity, TrustAnchors};
use kim_types::KimVersion;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const PRAXIS: &str = "praxis.schmidt@test.kim.telematik";
const ARZT: &str = "zahnarzt.weber@test.kim.telematik";
const PASSWORD: &str = "Sehr-geheim-1";

fn pki() -> &'static TestPki {
    TestPki::shared_default().unwrap()
}

fn trust() -> TrustAnchors {
    TrustAnchors::from_pem(pki().ca_bundle_pem().unwrap().as_bytes()).unwrap()
}

fn identity(name: &str) -> Identity {
    let issued = &pki().tls_entity(name).unwrap().issued;
    let mut chain = vec![issued.certificate_der.clone()];
    chain.extend(issued.chain_der.iter().cloned());
    Identity::from_der(chain, issued.private_key_pkcs8_der.to_vec()).unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("large_mail: benchmark");
        return;
    }
    if std::env::var("KIM_LARGE_MAIL_ROLE").as_deref() == Ok("peers") {
        peers().await;
    } else {
        clientmodul().await;
    }
}

/// The child: everything but the Clientmodul. Prints one line with the addresses, then
/// runs until stdin closes.
async fn peers() {
    let base = std::env::var("CM_BENCH_DIR").unwrap_or_else(|_| ".".into());
    let dir = tempfile::tempdir_in(base).unwrap();
    let mut sim = kim_ti_sim::SimConfig::from_test_pki(pki()).unwrap();
    sim.listen = "127.0.0.1:0".parse().unwrap();
    let konnektor = kim_ti_sim::KonnektorSim::start(sim).await.unwrap();
    let vzd = kim_vzd_sim::VzdSim::start(kim_vzd_sim::VzdSimConfig {
        data_dir: dir.path().join("vzd"),
        ..kim_vzd_sim::VzdSimConfig::default()
    })
    .await
    .unwrap();
    for mut seed in kim_vzd_sim::seeds_from_test_pki(pki()).unwrap() {
        for (_, version) in &mut seed.addresses {
            *version = KimVersion::V1_5Plus;
        }
        vzd.seed(seed).unwrap();
    }
    let fd = fachdienst(&dir).await;
    let tls =
        kim_tls::server_config(&identity("fachdienst"), ClientAuth::Required(trust())).unwrap();
    let running = start(
        fd.clone(),
        Listeners {
            smtp: "127.0.0.1:0".parse().unwrap(),
            pop3: "127.0.0.1:0".parse().unwrap(),
            tls: tls.clone(),
            inbound: None,
        },
    )
    .await
    .unwrap();
    let kas_base = serve_kas(fd, tls).await;
    let sds = konnektor.sds_url();
    println!(
        "READY {} ldap://{} {} {kas_base}",
        sds.trim_end_matches("/connector.sds"),
        vzd.ldap_addr.unwrap(),
        running.smtp_addr.port(),
    );
    std::io::stdout().flush().unwrap();
    let _ = tokio::task::spawn_blocking(|| for _ in std::io::stdin().lock().lines() {}).await;
}

async fn fachdienst(dir: &tempfile::TempDir) -> Fachdienst {
    let meta = SqliteStore::open(&dir.path().join("fd.sqlite")).unwrap();
    let blobs = FileBlobStore::open(dir.path().join("blobs"), true)
        .await
        .unwrap();
    let hash = kim_store::password::hash(PASSWORD).unwrap();
    let domains = vec!["test.kim.telematik".to_string()];
    meta.create_contract(&Contract::new("V-100", &hash, domains.clone(), 5, 0))
        .await
        .unwrap();
    for a in [PRAXIS, ARZT] {
        let account = Account::registered(a, "V-100", "1-2.58.00000040", &hash, 0);
        meta.create_account(&account).await.unwrap();
    }
    Fachdienst::new(
        Arc::new(meta),
        Arc::new(blobs),
        Policy::new("fd.test.kim.telematik", domains),
    )
}

/// KAS + AccountLimit over HTTPS; returns the base URL.
async fn serve_kas(fd: Fachdienst, tls: Arc<kim_tls::rustls::ServerConfig>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!(
        "https://localhost:{}",
        listener.local_addr().unwrap().port()
    );
    let router = kas_router(KasState::new(fd.clone(), KasConfig::new(&base).unwrap()).unwrap())
        .merge(account_limit_router(
            LimitState::new(fd, AccountLimitConfig::default()).unwrap(),
        ));
    let acceptor = TlsAcceptor::from(tls);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router))
                        .await;
                }
            });
        }
    });
    base
}

/// The parent: the Clientmodul, and a streaming SMTP client.
async fn clientmodul() {
    let mib: u64 = std::env::var("CM_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .env("KIM_LARGE_MAIL_ROLE", "peers")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let parts: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(parts.first(), Some(&"READY"), "peers: {line}");
    let (konnektor_base, ldap, fd_port, kas_base) = (parts[1], parts[2], parts[3], parts[4]);

    let fd_tls = FachdienstTls {
        identity: identity("clientmodul"),
        trust: trust(),
        danger_accept_any_hostname: false,
    };
    let konnektor =
        Arc::new(KonnektorClient::new(KonnektorConfig::new(konnektor_base, trust())).unwrap());
    let vzd = Arc::new(kim_vzd::VzdClient::new(kim_vzd::VzdClientConfig::new(ldap)).unwrap());
    let (upload, _) = HttpKas::new(KasSettings::new(kas_base), &fd_tls)
        .unwrap()
        .into_seams();
    let config = SendConfig::new("127.0.0.1:0".parse().unwrap(), "cm.bench", fd_tls);
    let konnektors = kim_clientmodul::Konnektors::single(konnektor);
    let cm = kim_clientmodul::start(config, konnektors, vzd, Some(upload))
        .await
        .unwrap();
    let user = format!("{PRAXIS}#localhost:{fd_port}#Mandant1#ClientID1#Workplace1");
    let rss_before = vm_kib("VmRSS:");
    let started = Instant::now();
    let reply = send(cm.smtp_addr, &user, mib * 1024 * 1024).await;
    let elapsed = started.elapsed();
    assert!(reply.starts_with("250"), "final reply: {reply}");
    let hwm = vm_kib("VmHWM:");
    let secs = elapsed.as_secs_f64();
    println!("large_mail: {mib} MiB Client-Mail through the Clientmodul and the KAS");
    println!("  time {secs:.1} s, {:.1} MiB/s", mib as f64 / secs);
    println!(
        "  Clientmodul process peak RSS (VmHWM) {} MiB (RSS before sending {} MiB)",
        hwm / 1024,
        rss_before / 1024
    );
    cm.shutdown().await;
    drop(child.stdin.take());
    let _ = child.wait();
}

/// Plain SMTP with AUTH PLAIN; DATA generated in 64 KiB pieces of 80-byte lines.
async fn send(addr: std::net::SocketAddr, user: &str, size: u64) -> String {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let auth = base64::engine::general_purpose::STANDARD.format_plain(user);
    expect(&mut read, "220").await;
    for (command, code) in [
        ("EHLO bench\r\n".to_string(), "250"),
        (format!("AUTH PLAIN {auth}\r\n"), "235"),
        (format!("MAIL FROM:<{PRAXIS}>\r\n"), "250"),
        (format!("RCPT TO:<{ARZT}>\r\n"), "250"),
        ("DATA\r\n".to_string(), "354"),
    ] {
        write.write_all(command.as_bytes()).await.unwrap();
        expect(&mut read, code).await;
    }
    let header = format!(
        "From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nSubject: Grosse Bilddaten\r\n\
         Date: Thu, 03 Dec 2026 10:00:00 +0100\r\nMessage-ID: <bench@praxis.test>\r\n\r\n"
    );
    write.write_all(header.as_bytes()).await.unwrap();
    let line = [b'x'; 78];
    let mut chunk = Vec::with_capacity(64 * 1024);
    let mut sent = header.len() as u64;
    while sent < size {
        chunk.clear();
        while chunk.len() < 64 * 1024 - 80 {
            chunk.extend_from_slice(&line);
            chunk.extend_from_slice(b"\r\n");
        }
        write.write_all(&chunk).await.unwrap();
        sent += chunk.len() as u64;
    }
    write.write_all(b".\r\n").await.unwrap();
    let reply = last_reply(&mut read).await;
    let _ = write.write_all(b"QUIT\r\n").await;
    reply
}

trait PlainAuth {
    fn format_plain(&self, user: &str) -> String;
}

impl PlainAuth for base64::engine::GeneralPurpose {
    fn format_plain(&self, user: &str) -> String {
        self.encode(format!("\0{user}\0{PASSWORD}"))
    }
}

async fn expect(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>, code: &str) {
    let reply = last_reply(read).await;
    assert!(reply.starts_with(code), "expected {code}, got {reply}");
}

async fn last_reply(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
    loop {
        let mut line = String::new();
        read.read_line(&mut line).await.unwrap();
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            return line;
        }
    }
}

/// A `/proc/self/status` value in KiB.
fn vm_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
