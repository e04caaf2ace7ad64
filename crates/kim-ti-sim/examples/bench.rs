//! Throughput and memory of SignDocument + EncryptDocument round trips over HTTPS.
//!
//! Run: `cargo build --release -p kim-ti-sim --examples && target/release/examples/bench`
//! (spawns `konnektor_sim` from the same directory and reads its VmHWM from /proc).
//! One round trip = SignDocument (SMC-B, RSA) of the document, then EncryptDocument of the
//! resulting SignedData to the other practice's RSA and ECC certificates.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "benchmark binary"
)]

use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use kim_konnektor::model::*;
use kim_konnektor::ops::*;
use kim_konnektor::{Operation, ServiceVersion};
use kim_testkit::pki::{KeyAlgorithm, TestPki};

const SIG: ServiceVersion = ServiceVersion::new(7, 5, 6);
const ENC: ServiceVersion = ServiceVersion::new(6, 1, 1);

fn ctx() -> Context {
    Context::new("Mandant1", "ClientID1", "Workplace1").unwrap()
}

struct Bench {
    client: reqwest::Client,
    base: String,
    handle: CardHandle,
    recipients: Vec<Vec<u8>>,
}

impl Bench {
    async fn post<O: Operation>(&self, op: &O, v: ServiceVersion, service: &str) -> O::Response {
        let body = op.to_envelope(&v).unwrap();
        let answer = self
            .client
            .post(format!("{}/ws/{service}", self.base))
            .header("Content-Type", "text/xml; charset=UTF-8")
            .body(body)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        O::parse_response(&answer).unwrap()
    }

    async fn round_trip(&self, doc: Vec<u8>) -> usize {
        let sign = SignDocument {
            card_handle: self.handle.clone(),
            crypt: Some(Crypt::Rsa),
            context: ctx(),
            tv_mode: TvMode::None,
            job_number: Some(JobNumber::new("BEN-001").unwrap()),
            requests: vec![SignRequest {
                request_id: "b".into(),
                signature_type: Some(SignatureType::new(SignatureType::CMS)),
                signed_properties: vec![],
                include_econtent: Some(true),
                document: Document::new(doc),
                include_revocation_info: false,
            }],
        };
        let signed = self.post(&sign, SIG, "SignatureService").await;
        drop(sign);
        let cms = signed
            .responses
            .into_iter()
            .next()
            .unwrap()
            .signature
            .unwrap()
            .data;
        let enc = EncryptDocument {
            context: ctx(),
            recipient_keys: RecipientKeys {
                certificate_on_card: None,
                certificates: self.recipients.clone(),
            },
            document: Document::new(cms),
            encryption_type: Some(EncryptionType::Cms),
            unprotected_properties: vec![],
        };
        let r = self.post(&enc, ENC, "EncryptionService").await;
        r.document.unwrap().data.len()
    }
}

fn vm(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let exe = std::env::current_exe().unwrap();
    let sim_bin = exe.with_file_name("konnektor_sim");
    let mut child = Command::new(&sim_bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (build the examples first)", sim_bin.display()));
    let pid = child.id();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("LISTENING ")
        .unwrap()
        .parse()
        .unwrap();

    let pki = TestPki::shared_default().unwrap();
    let trust = kim_tls::TrustAnchors::from_pem(pki.ca_bundle_pem().unwrap().as_bytes()).unwrap();
    let tls = kim_tls::client_config(kim_tls::ClientOptions {
        trust,
        identity: None,
        danger_accept_any_hostname: false,
    })
    .unwrap();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .no_proxy()
        .build()
        .unwrap();
    let base = format!("https://localhost:{port}");
    let cards: GetCardsResponse = {
        let b = Bench {
            client: client.clone(),
            base: base.clone(),
            handle: CardHandle::new("x").unwrap(),
            recipients: vec![],
        };
        b.post(
            &GetCards {
                mandant_wide: false,
                context: ctx(),
                ct_id: None,
                slot_id: None,
                card_type: Some(CardType::SmcB),
            },
            ServiceVersion::new(7, 2, 0),
            "EventService",
        )
        .await
    };
    let handle = cards
        .cards
        .iter()
        .find(|c| c.iccsn.as_ref().unwrap().as_str() == "80276883110000100001")
        .unwrap()
        .handle
        .clone();
    let weber = pki.card("2-2.58.00000041").unwrap();
    let bench = Arc::new(Bench {
        client,
        base,
        handle: handle.clone(),
        recipients: vec![
            weber.enc(KeyAlgorithm::Rsa2048).certificate_der.clone(),
            weber
                .enc(KeyAlgorithm::BrainpoolP256r1)
                .certificate_der
                .clone(),
        ],
    });
    bench
        .post(
            &VerifyPin {
                context: ctx(),
                card_handle: handle,
                pin_type: PinType::Smc,
            },
            ServiceVersion::new(8, 1, 2),
            "CardService",
        )
        .await;

    // 10 KiB documents, 8 concurrent clients.
    let small = vec![b'x'; 10 * 1024];
    for _ in 0..20 {
        bench.round_trip(small.clone()).await;
    }
    let n = 800;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let b = bench.clone();
        let doc = small.clone();
        tasks.push(tokio::spawn(async move {
            for _ in (w..n).step_by(8) {
                b.round_trip(doc.clone()).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "10 KiB: {n} sign+encrypt round trips in {secs:.2} s = {:.0} per second",
        n as f64 / secs
    );

    // 15 MiB documents, one at a time.
    let rss_before = vm(pid, "VmRSS:");
    let hwm_before = vm(pid, "VmHWM:");
    let big_len = 15 * 1024 * 1024;
    let mut times = Vec::new();
    for _ in 0..3 {
        let doc = vec![b'y'; big_len];
        let t = Instant::now();
        bench.round_trip(doc).await;
        times.push(t.elapsed().as_secs_f64());
    }
    let hwm = vm(pid, "VmHWM:");
    println!(
        "15 MiB: round trips {} s",
        times
            .iter()
            .map(|t| format!("{t:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "simulator memory: VmRSS before {} KiB, VmHWM before {} KiB, VmHWM after {} KiB; peak above the pre-run RSS {:.2}x the document",
        rss_before,
        hwm_before,
        hwm,
        (hwm.saturating_sub(rss_before) * 1024) as f64 / big_len as f64
    );
    drop(child.stdin.take());
    let _ = child.wait();
}
