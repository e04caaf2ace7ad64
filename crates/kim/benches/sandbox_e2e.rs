//! End to end through the sandbox: `kim sandbox --serve` in its own process (Konnektor, VZD,
//! Fachdienst and Clientmodul), mails sent through the Clientmodul's SMTP proxy and fetched
//! through its POP3 proxy, as practice software does.
//!
//! Reports start-up time and idle memory of the sandbox process, per-size latency of send
//! and of fetch (10 KiB, 1 MiB, 15 MiB − 64 KiB just below the KAS threshold, 100 MiB through
//! the KAS), the time per step from the performance log, the peak resident memory of the
//! process after each size, and the end-to-end rate of small mails: both practices send to
//! each other concurrently, then both fetch concurrently.
//!
//! `cargo bench -p kim --bench sandbox_e2e` (`SANDBOX_E2E_SIZES_KIB=10,1024` and
//! `SANDBOX_E2E_SMALL=400` change the run).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark harness"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kim_smtp::{MailFrom, RcptTo};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(600);

struct Mailbox {
    address: String,
    password: String,
    smtp_port: u16,
    smtp_user: String,
    pop3_port: u16,
    pop3_user: String,
}

/// Every performance-log line so far (files in `dir/log`).
fn perf_lines(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir.join("log"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    names.retain(|p: &std::path::PathBuf| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("performance"))
    });
    names.sort();
    names
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Sum of the step durations (µs where logged, else ms) in `lines`, per step.
fn step_sums(lines: &[String]) -> std::collections::BTreeMap<String, f64> {
    let mut sums = std::collections::BTreeMap::new();
    for line in lines {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .map(str::to_string)
        };
        let Some(step) = field("step=") else { continue };
        let secs = match (field("us="), field("ms=")) {
            (Some(us), _) => us.parse::<f64>().unwrap_or(0.0) / 1e6,
            (None, Some(ms)) => ms.parse::<f64>().unwrap_or(0.0) / 1e3,
            _ => continue,
        };
        *sums.entry(step).or_insert(0.0) += secs;
    }
    sums
}

/// CPU time of this process (the test client) so far: the sum over its threads of the time
/// on a CPU (`/proc/self/task/*/schedstat`, nanoseconds).
fn own_cpu() -> Duration {
    let ns: u64 = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn start(dir: &std::path::Path) -> (Child, Vec<Mailbox>, Duration) {
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kim"))
        .args(["sandbox", "--serve", "--base-port", "21400", "--state-dir"])
        .arg(dir)
        .env("KIM_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap() == "READY" {
            break;
        }
    }
    let started = t.elapsed();
    std::thread::spawn(move || for _ in lines {});
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("sandbox.json")).unwrap()).unwrap();
    let s = |m: &serde_json::Value, k: &str| m[k].as_str().unwrap().to_string();
    let mailboxes = info["mailboxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| Mailbox {
            address: s(m, "address"),
            password: s(m, "password"),
            smtp_port: m["smtp_port"].as_u64().unwrap() as u16,
            smtp_user: s(m, "smtp_user"),
            pop3_port: m["pop3_port"].as_u64().unwrap() as u16,
            pop3_user: s(m, "pop3_user"),
        })
        .collect();
    (child, mailboxes, started)
}

/// A text/plain mail of about `size` bytes (base64 lines of pseudo-random data in a
/// multipart with a text part, as an Arztbrief with attachment).
fn mail(from: &str, to: &str, size: usize, n: usize) -> Vec<u8> {
    let mut out = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Bench {n}\r\nMessage-ID: <bench-{n}@sandbox>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nBefund anbei.\r\n--b\r\n\
         Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ n as u64;
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    while out.len() < size {
        for _ in 0..76 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.push(B64[(x % 64) as usize]);
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--b--\r\n");
    out
}

async fn send(m: &Mailbox, to: &str, content: &[u8]) {
    let stream = TcpStream::connect(("127.0.0.1", m.smtp_port))
        .await
        .unwrap();
    let (mut smtp, _) = kim_smtp::client::SmtpClient::connect(stream, TIMEOUT)
        .await
        .unwrap();
    smtp.ehlo("bench").await.unwrap();
    smtp.auth_plain(&m.smtp_user, &m.password).await.unwrap();
    let from = MailFrom {
        address: m.address.clone(),
        ..MailFrom::default()
    };
    let outcome = smtp.send(&from, &[RcptTo::new(to)], content).await.unwrap();
    assert!(outcome.accepted(), "{outcome:?}");
    let _ = smtp.quit().await;
}

/// Fetches and deletes every message; returns their sizes and checks the result headers.
async fn fetch_all(m: &Mailbox) -> Vec<usize> {
    let stream = TcpStream::connect(("127.0.0.1", m.pop3_port))
        .await
        .unwrap();
    let mut pop3 = kim_pop3::Pop3Client::connect(stream, TIMEOUT)
        .await
        .unwrap();
    pop3.user(&m.pop3_user).await.unwrap();
    pop3.pass(&m.password).await.unwrap();
    let list = pop3.list().await.unwrap();
    let mut sizes = Vec::new();
    for (n, _) in list {
        let msg = pop3.retr(n).await.unwrap().to_vec().await.unwrap();
        let head = &msg[..msg.len().min(64 * 1024)];
        let text = String::from_utf8_lossy(head);
        assert!(text.contains("X-KIM-DecryptionResult: 00"), "{text}");
        sizes.push(msg.len());
        pop3.dele(n).await.unwrap();
    }
    pop3.quit().await.unwrap();
    sizes
}

fn main() {
    let sizes: Vec<usize> = std::env::var("SANDBOX_E2E_SIZES_KIB")
        .unwrap_or_else(|_| "10,1024,15296,102400".into())
        .split(',')
        .map(|s| s.trim().parse::<usize>().unwrap() * 1024)
        .collect();
    let small: usize = std::env::var("SANDBOX_E2E_SMALL")
        .ok()
        .map(|s| s.parse().unwrap())
        .unwrap_or(400);
    let dir = tempfile::tempdir_in(".").unwrap();
    let (mut child, boxes, started) = start(dir.path());
    let pid = child.id();
    std::thread::sleep(Duration::from_secs(1));
    println!(
        "sandbox start-up {:.2} s, idle RSS {} KiB (whole system in one process)",
        started.as_secs_f64(),
        status_kib(pid, "VmRSS:")
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (a, b) = (&boxes[0], &boxes[1]);
    rt.block_on(async {
        for size in &sizes {
            let before = perf_lines(dir.path()).len();
            let content = mail(&a.address, &b.address, *size, 0);
            let cpu = own_cpu();
            let t = Instant::now();
            send(a, &b.address, &content).await;
            let sent = t.elapsed();
            let t = Instant::now();
            let got = fetch_all(b).await;
            let fetched = t.elapsed();
            let client_cpu = (own_cpu() - cpu).as_secs_f64();
            assert_eq!(got.len(), 1);
            let mib = content.len() as f64 / (1024.0 * 1024.0);
            println!(
                "{:>9} KiB: send {:>8.3} s, fetch {:>8.3} s, end to end {:>8.3} s = {:>6.1} MiB/s; peak RSS {} KiB",
                size / 1024,
                sent.as_secs_f64(),
                fetched.as_secs_f64(),
                (sent + fetched).as_secs_f64(),
                mib / (sent + fetched).as_secs_f64(),
                status_kib(pid, "VmHWM:")
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
            let lines = perf_lines(dir.path());
            let sums = step_sums(lines.get(before..).unwrap_or_default());
            let total = (sent + fetched).as_secs_f64();
            let konnektor: f64 = ["cards", "sign", "encrypt", "decrypt", "verify"]
                .iter()
                .filter_map(|s| sums.get(*s))
                .sum();
            let steps: Vec<String> = sums
                .iter()
                .map(|(k, v)| format!("{k} {:.3} s", v))
                .collect();
            // The Fachdienst's part as the Clientmodul sees it: the logins at the MTA and
            // the POP3 server, relaying to the MTA and reading the message.
            let fachdienst: f64 = ["mta_login", "mta", "pop3_login", "fetch", "kas"]
                .iter()
                .filter_map(|s| sums.get(*s))
                .sum();
            let rest = total - konnektor - fachdienst;
            println!(
                "            steps: {}; Konnektor calls {:.0} %, Fachdienst {:.0} %, \
                 the rest (Clientmodul and the test client) {:.0} %; the test client's CPU \
                 time {:.3} s, the rest without it {:.0} %",
                steps.join(", "),
                100.0 * konnektor / total,
                100.0 * fachdienst / total,
                100.0 * rest / total,
                client_cpu,
                100.0 * (rest - client_cpu).max(0.0) / total
            );
        }
        // Small mails: 8 concurrent senders (half A→B, half B→A), then both fetch at once.
        let t = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        let senders = 8;
        for s in 0..senders {
            let (from, to) = if s % 2 == 0 { (a, b) } else { (b, a) };
            let from = Mailbox {
                address: from.address.clone(),
                password: from.password.clone(),
                smtp_port: from.smtp_port,
                smtp_user: from.smtp_user.clone(),
                pop3_port: 0,
                pop3_user: String::new(),
            };
            let to = to.address.clone();
            let content = mail(&from.address, &to, 10 * 1024, s);
            let count = small / senders + usize::from(s < small % senders);
            tasks.spawn(async move {
                for _ in 0..count {
                    send(&from, &to, &content).await;
                }
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
        let sent = t.elapsed();
        let (got_a, got_b) = tokio::join!(fetch_all(a), fetch_all(b));
        let total = t.elapsed();
        assert_eq!(got_a.len() + got_b.len(), small);
        println!(
            "{small} mails of 10 KiB, {senders} senders in both directions: sent in {:.2} s ({:.0}/s), \
             sent + fetched (two mailboxes at once) in {:.2} s = {:.0} mails/s end to end",
            sent.as_secs_f64(),
            small as f64 / sent.as_secs_f64(),
            total.as_secs_f64(),
            small as f64 / total.as_secs_f64()
        );
    });
    println!(
        "peak RSS of the sandbox process {} KiB",
        status_kib(pid, "VmHWM:")
    );
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
}
