//! Seal and open of realistic Client-Mails (text part plus base64 attachment) of 1 KiB,
//! 1 MiB and 15 MiB with RSA-2048 keys, and 1 MiB with brainpoolP256r1 keys.
//!
//! Throughput: seal counts the Client-Mail, open counts the received KOM-LE message.
//!
//! ```text
//! cargo bench -p kim-message --bench message [-- FILTER]
//! ```

#![allow(
    clippy::panic,
    reason = "a benchmark whose setup fails must stop, not measure an error path"
)]

use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use kim_testkit::pki::KeyAlgorithm;

#[path = "../examples/support/mod.rs"]
mod support;

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// (label, key algorithm, Client-Mail size).
const CASES: [(&str, KeyAlgorithm, usize); 4] = [
    ("rsa/1KiB", KeyAlgorithm::Rsa2048, KIB),
    ("rsa/1MiB", KeyAlgorithm::Rsa2048, MIB),
    ("rsa/15MiB", KeyAlgorithm::Rsa2048, 15 * MIB),
    ("ecc/1MiB", KeyAlgorithm::BrainpoolP256r1, MIB),
];

fn message(c: &mut Criterion) {
    for (label, alg, size) in CASES {
        let parties = match support::parties(alg) {
            Ok(p) => p,
            Err(e) => panic!("test PKI: {e}"),
        };
        let mail = support::client_mail(size);
        let received = match support::seal(&parties, &mail) {
            Ok(m) => m,
            Err(e) => panic!("seal {label}: {e}"),
        };
        if let Err(e) = support::open(&parties, &received) {
            panic!("open {label}: {e}");
        }
        let large = size >= 4 * MIB;

        let mut group = c.benchmark_group("seal");
        configure(&mut group, large);
        group.throughput(Throughput::Bytes(mail.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| support::seal(&parties, &mail).map(|m| m.len()).ok());
        });
        group.finish();

        let mut group = c.benchmark_group("open");
        configure(&mut group, large);
        group.throughput(Throughput::Bytes(received.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| support::open(&parties, &received).map(|m| m.len()).ok());
        });
        group.finish();
    }
}

fn configure(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    large: bool,
) {
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    if large {
        // One iteration takes tens of milliseconds or more: ten samples of one iteration.
        group.sample_size(10);
        group.sampling_mode(SamplingMode::Flat);
    } else {
        group.sample_size(30);
    }
}

criterion_group!(benches, message);
criterion_main!(benches);
