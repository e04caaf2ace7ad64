//! End-to-end throughput of the Fachdienst: SMTPS submission and POP3S retrieval of 100 KiB
//! messages over real loopback sockets with mutual TLS, on SQLite + message files with fsync
//! on (the production setting).
//!
//! `cargo bench -p kim-fachdienst --bench throughput` prints messages/s for submission, for
//! retrieval (RETR + DELE, deletion committed at QUIT) and for both together.
//!
//! Knobs (environment): `FD_BENCH_MESSAGES` (default 2000), `FD_BENCH_CLIENTS` (concurrent
//! connections, default 16), `FD_BENCH_SIZE_KIB` (default 100), `FD_BENCH_DIR` (directory for
//! the store, default a temporary directory under the current directory so that it is on
//! disk, not tmpfs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark harness"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use kim_fachdienst::server::{Listeners, start};
use kim_fachdienst::{Fachdienst, Policy};
use kim_pop3::Pop3Client;
use kim_smtp::client::SmtpClient;
use kim_smtp::{MailFrom, RcptTo};
use kim_store::{Account, AccountStore, Contract, FileBlobStore, SqliteStore};
use kim_testkit::pki::TestPki;
use kim_tls::tokio_rustls::TlsConnector;
use kim_tls::{ClientAuth, ClientOptions, Identity, TrustAnchors};
use tokio::net::TcpStream;

const PASSWORD: &str = "Bench-Passwort-1";
const TIMEOUT: Duration = Duration::from_secs(60);

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn identity(name: &str) -> Identity {
    let issued = &TestPki::shared_default()
        .unwrap()
        .tls_entity(name)
        .unwrap()
        .issued;
    let mut chain = vec![issued.certificate_der.clone()];
    chain.extend(issued.chain_der.iter().cloned());
    Identity::from_der(chain, issued.private_key_pkcs8_der.to_vec()).unwrap()
}

fn trust() -> TrustAnchors {
    let pki = TestPki::shared_default().unwrap();
    TrustAnchors::from_pem(pki.ca_bundle_pem().unwrap().as_bytes()).unwrap()
}

fn address(i: usize) -> String {
    format!("praxis{i}@test.kim.telematik")
}

async fn provision(dir: &std::path::Path, accounts: usize) -> Fachdienst {
    let meta = SqliteStore::open(&dir.join("fd.sqlite")).unwrap();
    let blobs = FileBlobStore::open(dir.join("blobs"), true).await.unwrap();
    let hash = kim_store::password::hash(PASSWORD).unwrap();
    meta.create_contract(&Contract::new(
        "BENCH",
        &hash,
        vec!["test.kim.telematik".into()],
        u32::try_from(accounts).unwrap(),
        0,
    ))
    .await
    .unwrap();
    for i in 0..accounts {
        let tid = format!("1-2.58.{i:08}");
        meta.create_account(&Account::registered(&address(i), "BENCH", &tid, &hash, 0))
            .await
            .unwrap();
    }
    Fachdienst::new(
        Arc::new(meta),
        Arc::new(blobs),
        Policy::new("fd.test.kim.telematik", vec!["test.kim.telematik".into()]),
    )
}

fn message(from: &str, to: &str, n: usize, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: bench {n}\r\nMessage-ID: <b{n}@bench>\r\n\
         Content-Type: application/pkcs7-mime\r\n\r\n"
    )
    .into_bytes();
    let line = b"MIIBench0base64line0of0a0sealed0KOM0LE0message0AAAAAAAAAAAAAAAAAAAAAAAAAA\r\n";
    while m.len() < size {
        m.extend_from_slice(line);
    }
    m
}

async fn tls(
    connector: &TlsConnector,
    addr: std::net::SocketAddr,
) -> impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let name = kim_tls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

#[tokio::main]
async fn main() {
    let messages = env("FD_BENCH_MESSAGES", 2000);
    let clients = env("FD_BENCH_CLIENTS", 16);
    let size = env("FD_BENCH_SIZE_KIB", 100) * 1024;
    let base = std::env::var("FD_BENCH_DIR").unwrap_or_else(|_| ".".into());
    let dir = tempfile::tempdir_in(base).unwrap();
    let fd = provision(dir.path(), clients).await;
    let server_tls =
        kim_tls::server_config(&identity("fachdienst"), ClientAuth::Required(trust())).unwrap();
    let running = start(
        fd,
        Listeners {
            smtp: "127.0.0.1:0".parse().unwrap(),
            pop3: "127.0.0.1:0".parse().unwrap(),
            tls: server_tls,
            inbound: None,
        },
    )
    .await
    .unwrap();
    let connector = TlsConnector::from(
        kim_tls::client_config(ClientOptions {
            trust: trust(),
            identity: Some(identity("clientmodul")),
            danger_accept_any_hostname: false,
        })
        .unwrap(),
    );

    // Submission: client c sends to account (c + 1) % clients, one connection each.
    let per_client = messages / clients;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let (connector, addr) = (connector.clone(), running.smtp_addr);
        tasks.spawn(async move {
            let stream = tls(&connector, addr).await;
            let (mut smtp, _) = SmtpClient::connect(stream, TIMEOUT).await.unwrap();
            smtp.ehlo("bench.client").await.unwrap();
            let (from, to) = (address(c), address((c + 1) % clients));
            smtp.auth_plain(&from, PASSWORD).await.unwrap();
            for n in 0..per_client {
                let body = message(&from, &to, n, size);
                let mail = MailFrom {
                    address: from.clone(),
                    size: Some(body.len() as u64),
                    ..MailFrom::default()
                };
                let rcpt = RcptTo::new(to.clone());
                let outcome = smtp.send(&mail, &[rcpt], body.as_slice()).await.unwrap();
                assert!(outcome.accepted(), "{outcome:?}");
            }
            smtp.quit().await.unwrap();
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let submit = started.elapsed();
    let total = per_client * clients;

    // Retrieval: one POP3 session per mailbox, RETR + DELE everything, QUIT commits.
    let started = Instant::now();
    for c in 0..clients {
        let (connector, addr) = (connector.clone(), running.pop3_addr);
        tasks.spawn(async move {
            let stream = tls(&connector, addr).await;
            let mut pop = Pop3Client::connect(stream, TIMEOUT).await.unwrap();
            pop.user(&address(c)).await.unwrap();
            pop.pass(PASSWORD).await.unwrap();
            let (count, _) = pop.stat().await.unwrap();
            assert_eq!(count as usize, per_client);
            for i in 1..=count {
                let mut sink = tokio::io::sink();
                let octets = pop.retr_into(i, &mut sink).await.unwrap();
                assert!(octets as usize >= size);
                pop.dele(i).await.unwrap();
            }
            pop.quit().await.unwrap();
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let retrieve = started.elapsed();
    running.shutdown().await;

    let rate = |d: Duration| total as f64 / d.as_secs_f64();
    println!(
        "fachdienst throughput: {total} messages of {} KiB, {clients} connections, fsync on",
        size / 1024
    );
    println!(
        "  SMTPS submission:        {:>8.0} messages/s ({:.2} s)",
        rate(submit),
        submit.as_secs_f64()
    );
    println!(
        "  POP3S RETR + DELE:       {:>8.0} messages/s ({:.2} s)",
        rate(retrieve),
        retrieve.as_secs_f64()
    );
    println!(
        "  submission + retrieval:  {:>8.0} messages/s",
        rate(submit + retrieve)
    );
}
