//! The KAS in the real daemon: `kim fachdienst serve` in its own process, a 700 MiB object
//! uploaded with `curl -F` and downloaded again over HTTPS with the Clientmodul certificate,
//! and the daemon's peak resident memory (`VmHWM` of its process) afterwards.
//!
//! `cargo bench -p kim --bench kas_daemon` (`KAS_DAEMON_MIB` changes the size; the object is
//! written to a temporary file under the current directory first).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark harness"
)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use kim_store::{Account, AccountStore, SqliteStore};

const USER: &str = "praxis.schmidt@test.kim.telematik";
const RECIPIENT: &str = "zahnarzt.weber@test.kim.telematik";
const PASSWORD: &str = "Bench-Passwort-1";

fn kim(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kim"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn write_object(path: &Path, mib: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let chunk: Vec<u8> = (0..1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect();
    for _ in 0..mib {
        file.write_all(&chunk).unwrap();
    }
    file.flush().unwrap();
}

fn curl(pki: &Path) -> Command {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--fail-with-body", "--cacert"])
        .arg(pki.join("ca-bundle.pem"))
        .arg("--cert")
        .arg(pki.join("tls/clientmodul.crt.pem"))
        .arg("--key")
        .arg(pki.join("tls/clientmodul.key.pem"));
    cmd
}

#[tokio::main]
async fn main() {
    let mib: usize = std::env::var("KAS_DAEMON_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(700);
    let dir = tempfile::tempdir_in(".").unwrap();
    let pki = dir.path().join("pki");
    kim(&["pki", "create", "--out", pki.to_str().unwrap()]);
    let config = dir.path().join("fd.toml");
    std::fs::write(
        &config,
        format!(
            "hostname = \"fd.test.kim.telematik\"\ndomains = [\"test.kim.telematik\"]\n\
             data_dir = \"data\"\n[tls]\nchain_pem = \"{p}/tls/fachdienst.crt.pem\"\n\
             key_pem = \"{p}/tls/fachdienst.key.pem\"\nclient_ca_pem = \"{p}/ca-bundle.pem\"\n\
             [smtp]\nlisten = \"127.0.0.1:0\"\n[pop3]\nlisten = \"127.0.0.1:0\"\n\
             [http]\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://localhost\"\n",
            p = pki.display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    kim(&[
        "fachdienst",
        "contract",
        "create",
        "-c",
        config,
        "--reference-id",
        "BENCH",
        "--max-accounts",
        "2",
    ]);
    let store = SqliteStore::open(&dir.path().join("data/fachdienst.sqlite")).unwrap();
    let hash = kim_store::password::hash(PASSWORD).unwrap();
    for a in [USER, RECIPIENT] {
        store
            .create_account(&Account::registered(
                a,
                "BENCH",
                "1-2.58.00000040",
                &hash,
                0,
            ))
            .await
            .unwrap();
    }
    drop(store);

    let mut daemon = Command::new(env!("CARGO_BIN_EXE_kim"))
        .args(["fachdienst", "serve", "-c", config])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(daemon.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.rsplit_once(':').unwrap().1.trim().to_owned();
    let base = format!("https://localhost:{port}/attachments/v2.4/attachment");
    let before = peak_rss_kib(daemon.id());

    let object = dir.path().join("object.bin");
    write_object(&object, mib);
    let started = Instant::now();
    let out = curl(&pki)
        .args(["-u", &format!("{USER}:{PASSWORD}")])
        .args(["--form-string", &format!("recipients={RECIPIENT}")])
        .args(["--form-string", "messageID=<bench@test.kim.telematik>"])
        .args(["--form-string", "expires=Mon, 1 Jan 2035 00:00:00 +0000"])
        .arg("-F")
        .arg(format!(
            "attachment=@{};type=application/octet-stream",
            object.display()
        ))
        .arg(format!("{base}/"))
        .output()
        .unwrap();
    let upload = started.elapsed();
    let body = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "upload: {body} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = link["sharedLink"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    let started = Instant::now();
    let out = curl(&pki)
        .args([
            "-H",
            &format!("recipient: {RECIPIENT}"),
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
        ])
        .arg(format!("{base}/{id}"))
        .output()
        .unwrap();
    let download = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(size, (mib * 1024 * 1024) as u64);
    let peak = peak_rss_kib(daemon.id());
    daemon.kill().unwrap();
    daemon.wait().unwrap();

    let mb = mib as f64;
    println!("kas in the daemon: {mib} MiB over HTTPS (curl, mutual TLS), fsync on");
    println!(
        "  upload:   {:>7.0} MiB/s ({:.2} s)",
        mb / upload.as_secs_f64(),
        upload.as_secs_f64()
    );
    println!(
        "  download: {:>7.0} MiB/s ({:.2} s)",
        mb / download.as_secs_f64(),
        download.as_secs_f64()
    );
    println!(
        "  daemon peak RSS: {:.1} MiB (after start: {:.1} MiB)",
        peak as f64 / 1024.0,
        before as f64 / 1024.0
    );
    assert!(
        peak < 64 * 1024,
        "daemon peak RSS {peak} KiB is not below 64 MiB"
    );
}
