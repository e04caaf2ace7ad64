//! Throughput of the SMTP data path: the server's DATA decoder, the client's dot-stuffer,
//! and a whole transaction (client → `serve` over an in-memory stream → a spool that
//! discards).
//!
//! `cargo bench -p kim-smtp --bench session` runs the criterion benchmarks on 8 MiB.
//!
//! With `SMTP_BENCH_STREAM_MIB=<n>` set, the binary instead sends one message of `n` MiB
//! generated on the fly through the client and the server engine and prints MB/s and the
//! process's peak RSS (`VmHWM`): the peak stays flat as `n` grows because neither side
//! holds the message.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark harness"
)]

use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use kim_smtp::client::{DotStuffer, SmtpClient};
use kim_smtp::server::decoder::{Decoder, Event};
use kim_smtp::server::{DataSpool, ServerConfig, SessionInfo, SmtpBackend, serve};
use kim_smtp::{Envelope, MailFrom, RcptTo, Reply};
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::sync::CancellationToken;

const MIB: usize = 1024 * 1024;
/// A typical base64 body line, plus a dot line now and then.
const LINE: &[u8] =
    b"TWFpbCBib2R5IGxpbmUgd2l0aCBiYXNlNjQgY29udGVudCBvZiBhIEtPTS1MRSBtZXNzYWdlLg==\r\n";

/// `len` bytes of message content, produced while read.
struct Generated {
    remaining: usize,
    offset: usize,
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        while self.remaining > 0 && buf.remaining() > 0 {
            let start = self.offset;
            let take = (LINE.len() - start)
                .min(buf.remaining())
                .min(self.remaining);
            buf.put_slice(&LINE[start..start + take]);
            self.offset = (start + take) % LINE.len();
            self.remaining -= take;
        }
        Poll::Ready(Ok(()))
    }
}

struct Discard;

struct CountingSpool(u64);

impl DataSpool for CountingSpool {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), Reply> {
        self.0 += black_box(chunk).len() as u64;
        Ok(())
    }
}

impl SmtpBackend for Discard {
    type Spool = CountingSpool;
    async fn authenticate(&self, _: &SessionInfo, _: &str, _: &str) -> Result<(), Reply> {
        Ok(())
    }
    async fn mail_from(&self, _: &SessionInfo, _: Option<&str>, _: &MailFrom) -> Result<(), Reply> {
        Ok(())
    }
    async fn rcpt_to(&self, _: &SessionInfo, _: &Envelope, _: &RcptTo) -> Result<(), Reply> {
        Ok(())
    }
    async fn data_start(&self, _: &SessionInfo, _: &Envelope) -> Result<CountingSpool, Reply> {
        Ok(CountingSpool(0))
    }
    async fn data_end(&self, _: &SessionInfo, _: Envelope, spool: CountingSpool) -> Reply {
        Reply::new(250, (2, 0, 0), format!("{} bytes", spool.0))
    }
}

/// One transaction of `len` bytes through client and server; returns the final reply.
async fn transaction(len: usize) -> Reply {
    let (client_end, server_end) = tokio::io::duplex(256 * 1024);
    let mut cfg = ServerConfig::new("bench.test");
    cfg.require_auth = false;
    cfg.max_message_size = u64::MAX;
    let info = SessionInfo {
        peer: "127.0.0.1:25".parse().unwrap(),
        tls: false,
        client_cert: None,
    };
    let server = tokio::spawn(async move {
        serve(server_end, info, &cfg, &Discard, CancellationToken::new()).await
    });
    let (mut client, _) = SmtpClient::connect(client_end, Duration::from_secs(60))
        .await
        .unwrap();
    client.ehlo("client.test").await.unwrap();
    let mail = MailFrom {
        address: "a@b.de".into(),
        ..MailFrom::default()
    };
    let content = Generated {
        remaining: len,
        offset: 0,
    };
    let outcome = client
        .send(&mail, &[RcptTo::new("c@d.de")], content)
        .await
        .unwrap();
    client.quit().await.unwrap();
    server.await.unwrap().unwrap();
    outcome.data_reply.unwrap()
}

fn content(len: usize) -> Vec<u8> {
    let mut body: Vec<u8> = LINE.iter().copied().cycle().take(len).collect();
    for (index, byte) in body.iter_mut().enumerate() {
        if index % (LINE.len() * 50) == 0 {
            *byte = b'.';
        }
    }
    body
}

fn benchmarks(c: &mut Criterion) {
    let len = 8 * MIB;
    let body = content(len);
    let mut stuffed = b"DATA\r\n".to_vec();
    let mut stuffer = DotStuffer::new();
    stuffer.push(&body, &mut stuffed);
    stuffer.finish(&mut stuffed);

    let mut group = c.benchmark_group("smtp");
    group.throughput(Throughput::Bytes(len as u64));
    group.sample_size(10);
    group.bench_function("dot-stuff 8 MiB", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(len + len / 32);
            let mut stuffer = DotStuffer::new();
            for chunk in body.chunks(64 * 1024) {
                stuffer.push(chunk, &mut out);
            }
            stuffer.finish(&mut out);
            black_box(out.len())
        });
    });
    group.bench_function("decode DATA 8 MiB", |b| {
        b.iter(|| {
            let mut decoder = Decoder::new();
            let mut total = 0;
            for chunk in stuffed.chunks(64 * 1024) {
                decoder.push(chunk);
                while let Some(event) = decoder.next_event() {
                    match event {
                        Event::Command(_) => decoder.start_data(),
                        Event::Data(bytes) => total += bytes.len(),
                        _ => {}
                    }
                }
            }
            black_box(total)
        });
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    group.bench_function("transaction 8 MiB", |b| {
        b.iter(|| runtime.block_on(transaction(len)));
    });
    group.finish();
}

/// Peak resident set size of this process in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn streamed(mib: usize) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let start = Instant::now();
    let reply = runtime.block_on(transaction(mib * MIB));
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{mib} MiB through client and server in {seconds:.2} s: {:.0} MB/s, peak RSS {} KiB, reply {reply}",
        (mib * MIB) as f64 / seconds / 1e6,
        peak_rss_kib().map_or("?".to_string(), |k| k.to_string()),
    );
}

fn main() {
    if let Some(mib) = std::env::var("SMTP_BENCH_STREAM_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        streamed(mib);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    benchmarks(&mut c);
    c.final_summary();
}
