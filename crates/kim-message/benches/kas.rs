//! Throughput of the KAS blob crypto (AES-256-GCM + SHA-256, `kim_message::kas`).
//!
//! `cargo bench -p kim-message --bench kas` runs the criterion benchmarks: encrypt and decrypt
//! of 1 MiB and 64 MiB held in memory.
//!
//! With `KAS_BENCH_STREAM_MIB=<n>` set, the binary instead streams `n` MiB from a generating
//! reader through `encrypt_stream` and `decrypt_stream` into `io::sink()` (nothing held in
//! memory) and prints MB/s and the process's peak RSS (`VmHWM`). Run it under
//! `/usr/bin/time -v` for an outside view of the peak RSS; see docs/performance.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark harness"
)]

use std::hint::black_box;
use std::io::{self, Read};
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput};
use kim_message::kas::{KasError, contains_kas_part, decrypt_stream, encrypt_stream};

const MIB: usize = 1024 * 1024;
const KEY: [u8; 32] = [0x42; 32];
const IV: [u8; 12] = [0x24; 12];

/// Deterministic filler that looks random enough for a cipher benchmark.
fn pattern(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// A reader producing `remaining` bytes by cycling through a 1 MiB pattern.
struct Generator {
    pattern: Vec<u8>,
    pos: usize,
    remaining: u64,
}

impl Generator {
    fn new(total: u64) -> Self {
        Self {
            pattern: pattern(MIB),
            pos: 0,
            remaining: total,
        }
    }
}

impl Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left_in_pattern = self.pattern.len() - self.pos;
        let n = buf
            .len()
            .min(left_in_pattern)
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        buf[..n].copy_from_slice(&self.pattern[self.pos..self.pos + n]);
        self.pos = (self.pos + n) % self.pattern.len();
        self.remaining -= n as u64;
        Ok(n)
    }
}

fn in_memory(c: &mut Criterion) {
    for (name, size) in [("1MiB", MIB), ("64MiB", 64 * MIB)] {
        let plaintext = pattern(size);
        let mut blob = Vec::with_capacity(size + 28);
        encrypt_stream(&KEY, &IV, plaintext.as_slice(), &mut blob).unwrap();
        let mut out = Vec::with_capacity(size + 28);

        let mut group = c.benchmark_group("kas");
        group.throughput(Throughput::Bytes(size as u64));
        if size > MIB {
            group.sample_size(10);
        }
        group.bench_with_input(BenchmarkId::new("encrypt", name), &plaintext, |b, pt| {
            b.iter(|| {
                out.clear();
                black_box(encrypt_stream(&KEY, &IV, pt.as_slice(), &mut out).unwrap())
            });
        });
        group.bench_with_input(BenchmarkId::new("decrypt", name), &blob, |b, blob| {
            b.iter(|| {
                out.clear();
                black_box(decrypt_stream(&KEY, blob.as_slice(), &mut out).unwrap())
            });
        });
        group.finish();
    }
}

/// The send-side A_22341 check on a 64 MiB mail that has no KAS part (the common case).
fn kas_part_check(c: &mut Criterion) {
    let mut mail = b"From: <a@x.kim.telematik>\r\nMIME-Version: 1.0\r\n\
        Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
    while mail.len() < 64 * MIB {
        mail.extend_from_slice(line);
    }
    let mut group = c.benchmark_group("kas");
    group.throughput(Throughput::Bytes(mail.len() as u64));
    group.sample_size(10);
    group.bench_function("contains_kas_part/64MiB", |b| {
        b.iter(|| assert!(!contains_kas_part(black_box(&mail))));
    });
    group.finish();
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (user + system) the process has used so far, in seconds, from `/proc/self/stat`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// CPU time of the calling thread in seconds, from `/proc/thread-self/schedstat` (ns).
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(stat.split_whitespace().next()?.parse::<f64>().ok()? / 1e9)
}

/// Runs `f`, printing wall-clock and CPU-time throughput over `total` bytes, and how the CPU
/// time splits between the calling thread and helper threads.
fn measure<T>(label: &str, total: u64, f: impl FnOnce() -> T) -> T {
    let (cpu0, own0) = (cpu_seconds(), thread_cpu_seconds());
    let start = Instant::now();
    let out = f();
    let wall = start.elapsed().as_secs_f64();
    let mb = total as f64 / 1e6;
    println!("{label}: wall {wall:.3} s = {:.0} MB/s", mb / wall);
    if let Some((c0, c1)) = cpu0.zip(cpu_seconds()) {
        let cpu = c1 - c0;
        println!("  CPU {cpu:.2} s = {:.0} MB/s per CPU-second", mb / cpu);
        if let Some((o0, o1)) = own0.zip(thread_cpu_seconds()) {
            let own = o1 - o0;
            let helpers = (cpu - own).max(0.0);
            println!(
                "  calling thread {own:.2} s, helper threads {helpers:.2} s; \
                 bound with one free core per thread: {:.0} MB/s",
                mb / own.max(helpers)
            );
        }
    }
    out
}

fn streamed(mib: u64) {
    let total = mib * MIB as u64;

    let summary = measure(&format!("encrypt_stream {mib} MiB -> sink"), total, || {
        encrypt_stream(&KEY, &IV, Generator::new(total), io::sink()).unwrap()
    });
    assert_eq!(summary.plaintext_size, total);

    // The generated bytes are not a real blob, so the tag check fails at the very end; every
    // byte is still authenticated, decrypted and hashed, which is what is measured.
    let result = measure(&format!("decrypt_stream {mib} MiB -> sink"), total, || {
        decrypt_stream(&KEY, Generator::new(total + 28), io::sink())
    });
    assert!(matches!(result, Err(KasError::TagMismatch)));
    match peak_rss_kib() {
        Some(kib) => println!("peak RSS (VmHWM): {kib} KiB"),
        None => println!("peak RSS (VmHWM): unavailable"),
    }
}

fn main() {
    if let Some(mib) = std::env::var("KAS_BENCH_STREAM_MIB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        streamed(mib);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    in_memory(&mut c);
    kas_part_check(&mut c);
    c.final_summary();
}
