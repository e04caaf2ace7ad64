//! Throughput of the POP3 hot path: byte-stuffing and un-stuffing of a 15 MiB KOM-LE-like
//! message (base64 lines of 76 characters), and a whole RETR session (server engine and
//! client over an in-memory pipe).
//!
//! `cargo bench -p kim-pop3 --bench pop3`; criterion reports MB/s (10^6 bytes of message).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark harness"
)]

use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use kim_pop3::{
    AuthError, DotStuffer, DotUnstuffer, Maildrop, MaildropError, MessageInfo, Pop3Backend,
    Pop3Client, ServerConfig, SessionInfo,
};

const MIB: usize = 1024 * 1024;

/// Headers and base64 body lines, as a KOM-LE message looks on the wire.
fn message(len: usize) -> Bytes {
    let mut m = b"From: a@test.kim.telematik\r\nSubject: KOM-LE-Nachricht\r\n\r\n".to_vec();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0usize;
    while m.len() < len {
        for _ in 0..76 {
            m.push(alphabet[i % 64]);
            i = i.wrapping_mul(31).wrapping_add(7);
        }
        m.extend_from_slice(b"\r\n");
    }
    Bytes::from(m)
}

fn stuff(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 16);
    let mut stuffer = DotStuffer::new();
    for chunk in msg.chunks(64 * 1024) {
        stuffer.encode(chunk, &mut out);
    }
    stuffer.finish(&mut out);
    out
}

struct OneMessage(Bytes);

struct Drop1(Bytes, Vec<MessageInfo>);

impl Pop3Backend for OneMessage {
    type Maildrop = Drop1;

    async fn authenticate(&self, _: &SessionInfo, _: &str, _: &str) -> Result<Drop1, AuthError> {
        let info = MessageInfo {
            uid: "m".into(),
            size: self.0.len() as u64,
        };
        Ok(Drop1(self.0.clone(), vec![info]))
    }
}

impl Maildrop for Drop1 {
    type Reader = Cursor<Bytes>;

    fn messages(&self) -> &[MessageInfo] {
        &self.1
    }

    async fn open(&mut self, _: usize) -> Result<Cursor<Bytes>, MaildropError> {
        Ok(Cursor::new(self.0.clone()))
    }

    async fn commit(self, _: Vec<usize>) -> Result<(), MaildropError> {
        Ok(())
    }
}

async fn retr_session(msg: Bytes) -> u64 {
    let (client_end, server_end) = tokio::io::duplex(256 * 1024);
    let server = tokio::spawn(async move {
        let info = SessionInfo {
            peer: "127.0.0.1:1".parse().unwrap(),
            tls: false,
            client_cert: None,
        };
        kim_pop3::serve(server_end, info, &ServerConfig::default(), &OneMessage(msg)).await
    });
    let mut client = Pop3Client::connect(client_end, Duration::from_secs(60))
        .await
        .unwrap();
    client.user("u").await.unwrap();
    client.pass("p").await.unwrap();
    let n = client.retr_into(1, &mut tokio::io::sink()).await.unwrap();
    client.quit().await.unwrap();
    server.await.unwrap().unwrap();
    n
}

fn main() {
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    let msg = message(15 * MIB);
    let wire = stuff(&msg);
    let mut group = c.benchmark_group("pop3_15MiB");
    group.throughput(Throughput::Bytes(msg.len() as u64));
    group.bench_function("dot_stuff", |b| {
        b.iter(|| black_box(stuff(black_box(&msg))))
    });
    group.bench_function("dot_unstuff", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(wire.len());
            let mut decoder = DotUnstuffer::new();
            for chunk in wire.chunks(64 * 1024) {
                decoder.decode(chunk, &mut out);
            }
            assert!(decoder.is_done());
            black_box(out)
        })
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    group.bench_function("retr_session", |b| {
        b.iter(|| {
            assert_eq!(
                runtime.block_on(retr_session(msg.clone())),
                msg.len() as u64
            )
        })
    });
    group.finish();
    c.final_summary();
}
