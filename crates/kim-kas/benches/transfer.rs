//! Uploads and downloads one `maxMailSize` object (700 MiB) through the real KAS router over
//! loopback HTTP and prints throughput and the peak resident memory of the process (`VmHWM`
//! from `/proc/self/status`): the upload is streamed into the blob store and the download out
//! of it, so the peak must stay far below the object size (target < 64 MiB).
//!
//! `cargo bench -p kim-kas --bench transfer`; `KAS_BENCH_MIB=100` for a smaller object.
//! Blobs are fsynced as in production; the object lands in a temporary directory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::Instant;

use kim_fachdienst::{Fachdienst, Policy};
use kim_kas::{KasConfig, KasState, MAX_MAIL_SIZE, kas_router};
use kim_store::{Account, AccountStore, FileBlobStore, RegState, SqliteStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const USER: &str = "praxis@test.kim.telematik";
const RECIPIENT: &str = "arzt@test.kim.telematik";
const PASSWORD: &str = "Bench-Passwort-1";
const CHUNK: usize = 256 * 1024;
const BOUNDARY: &str = "kas-bench-boundary-7d3f";

fn main() {
    let size = std::env::var("KAS_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(MAX_MAIL_SIZE, |mib| mib * 1024 * 1024);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench(size));
}

async fn bench(size: u64) {
    let dir = tempfile::tempdir().unwrap();
    let fd = fachdienst(dir.path()).await;
    let config = KasConfig::new("https://kas.test.kim.telematik").unwrap();
    let router = kas_router(KasState::new(fd, config).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let pattern = pattern();
    println!(
        "object: {} MiB, peak RSS before: {} KiB",
        size >> 20,
        vm_hwm()
    );

    let start = Instant::now();
    let link = upload(addr, size, &pattern).await;
    report("upload", size, start);

    let start = Instant::now();
    let path = link
        .strip_prefix("https://kas.test.kim.telematik")
        .unwrap()
        .to_owned();
    download(addr, &path, size, &pattern).await;
    report("download", size, start);
    let peak = vm_hwm();
    println!(
        "peak RSS (VmHWM): {peak} KiB = {:.1} MiB",
        peak as f64 / 1024.0
    );
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB not below 64 MiB");
}

async fn fachdienst(dir: &std::path::Path) -> Fachdienst {
    let meta = SqliteStore::open(&dir.join("fd.sqlite")).unwrap();
    let blobs = FileBlobStore::open(dir.join("blobs"), true).await.unwrap();
    let account = Account {
        address: USER.into(),
        reference_id: "V-1".into(),
        telematik_id: "1-2.58.00000040".into(),
        password_hash: kim_store::password::hash(PASSWORD).unwrap(),
        kim_version: "1.5+".into(),
        data_time_to_live: 90,
        no_vzd_mail_entry: false,
        state: RegState::Registered,
        failed_logins: 0,
        locked: false,
        otp: None,
        out_of_office: None,
        quota: -1,
        created: 0,
    };
    meta.create_account(&account).await.unwrap();
    Fachdienst::new(
        Arc::new(meta),
        Arc::new(blobs),
        Policy::new("fd", vec!["test.kim.telematik".into()]),
    )
}

/// One chunk of pseudo-random bytes, sent over and over.
fn pattern() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..CHUNK)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// `addMailData` written by hand, so the client holds one chunk at a time.
async fn upload(addr: std::net::SocketAddr, size: u64, pattern: &[u8]) -> String {
    use base64::Engine as _;
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"messageID\"\r\n\r\n<b@test>\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"recipients\"\r\n\r\n{RECIPIENT}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"expires\"\r\n\r\n\
         Fri, 31 Dec 2099 23:59:59 +0000\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=attachment; filename=attachment.enc\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let total = head.len() as u64 + size + tail.len() as u64;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let request = format!(
        "POST /attachments/v2.4/attachment/ HTTP/1.1\r\nHost: kas\r\nConnection: close\r\n\
         Authorization: Basic {auth}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {total}\r\n\r\n"
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left.min(CHUNK as u64)).unwrap();
        stream.write_all(&pattern[..n]).await.unwrap();
        left -= n as u64;
    }
    stream.write_all(tail.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    json["sharedLink"].as_str().unwrap().to_owned()
}

/// `readMailData`, compared chunk by chunk with what was sent.
async fn download(addr: std::net::SocketAddr, path: &str, size: u64, pattern: &[u8]) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: kas\r\nConnection: close\r\nrecipient: {RECIPIENT}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; CHUNK];
    let mut head = Vec::new();
    let body_start = loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed in the header");
        head.extend_from_slice(&buf[..n]);
        if let Some(pos) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let header = String::from_utf8_lossy(&head[..body_start]).to_ascii_lowercase();
    assert!(header.starts_with("http/1.1 200"), "{header}");
    assert!(
        header.contains(&format!("content-length: {size}\r\n")),
        "{header}"
    );
    let mut offset = 0u64;
    check(&head[body_start..], &mut offset, pattern);
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        check(&buf[..n], &mut offset, pattern);
    }
    assert_eq!(offset, size, "downloaded size");
}

fn check(mut bytes: &[u8], offset: &mut u64, pattern: &[u8]) {
    while !bytes.is_empty() {
        let at = usize::try_from(*offset % CHUNK as u64).unwrap();
        let n = bytes.len().min(CHUNK - at);
        assert!(
            bytes[..n] == pattern[at..at + n],
            "bytes at {offset} differ"
        );
        *offset += n as u64;
        bytes = &bytes[n..];
    }
}

fn report(what: &str, size: u64, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{what}: {:.1} s, {:.0} MiB/s, peak RSS so far {} KiB",
        secs,
        size as f64 / 1048576.0 / secs,
        vm_hwm()
    );
}

/// `VmHWM` of this process in KiB.
fn vm_hwm() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
