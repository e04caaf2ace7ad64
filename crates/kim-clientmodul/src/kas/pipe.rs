//! Bridges between the blocking AES-256-GCM stream functions of `kim-message` (which run
//! on a blocking thread over `Read`/`Write`) and the asynchronous HTTP bodies: bounded
//! channels of 64 KiB chunks, so memory stays constant whatever the mail size.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Size of the chunks handed across.
pub(crate) const CHUNK: usize = 64 * 1024;
/// Chunks in flight per channel (1 MiB).
pub(crate) const DEPTH: usize = 16;

/// A chunk or the failure that ends the stream.
pub(crate) type Item = io::Result<Bytes>;

/// `Write` on a blocking thread (of the tokio blocking pool) that sends 64 KiB chunks
/// into a channel; sending gives up when `cancel` fires, so the thread never outlives
/// an abandoned request.
#[derive(Debug)]
pub(crate) struct ChannelWriter {
    tx: mpsc::Sender<Item>,
    cancel: CancellationToken,
    buf: Vec<u8>,
}

impl ChannelWriter {
    pub(crate) fn new(tx: mpsc::Sender<Item>, cancel: CancellationToken) -> ChannelWriter {
        ChannelWriter {
            tx,
            cancel,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    /// Sends one item; `BrokenPipe` if the receiver is gone or the transfer was cancelled.
    pub(crate) fn send(&self, item: Item) -> io::Result<()> {
        let closed = || io::Error::new(io::ErrorKind::BrokenPipe, "HTTP body closed");
        let handle = tokio::runtime::Handle::try_current().map_err(|_| closed())?;
        handle.block_on(async {
            tokio::select! {
                sent = self.tx.send(item) => sent.map_err(|_| closed()),
                () = self.cancel.cancelled() => Err(closed()),
            }
        })
    }

    fn send_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.send(Ok(chunk))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK.saturating_sub(self.buf.len());
        let n = room.min(data.len());
        self.buf
            .extend_from_slice(data.get(..n).unwrap_or_default());
        if self.buf.len() >= CHUNK {
            self.send_buf()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buf()
    }
}

/// `Read` on a blocking thread over chunks from a channel; a sent error is returned as
/// the read error, the closed channel is the end of the data.
#[derive(Debug)]
pub(crate) struct ChannelReader {
    rx: mpsc::Receiver<Item>,
    current: Bytes,
}

impl ChannelReader {
    pub(crate) fn new(rx: mpsc::Receiver<Item>) -> ChannelReader {
        ChannelReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        let chunk = self.current.split_to(n);
        out.get_mut(..n)
            .ok_or_else(|| io::Error::other("read buffer"))?
            .copy_from_slice(&chunk);
        Ok(n)
    }
}

/// Progress of a transfer for an inactivity timeout (CM_KAS_TIMEOUT): the time of the
/// last chunk that moved.
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    start: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Progress {
    pub(crate) fn new() -> Progress {
        Progress {
            start: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records that data moved now.
    pub(crate) fn tick(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(now, Ordering::Relaxed);
    }

    /// Time since data last moved.
    pub(crate) fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }

    /// Resolves once nothing moved for `limit` (checked a few times per `limit`).
    pub(crate) async fn stalled(&self, limit: Duration) {
        let step = (limit / 4).max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(step).await;
            if self.idle() >= limit {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "test code")]
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bytes_written_on_one_side_are_read_unchanged_on_the_other() {
        let (tx, rx) = mpsc::channel(DEPTH);
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let writer = tokio::task::spawn_blocking(move || {
            let mut w = ChannelWriter::new(tx, CancellationToken::new());
            for piece in sent.chunks(7_777) {
                w.write_all(piece).unwrap();
            }
            w.flush().unwrap();
        });
        let reader = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            ChannelReader::new(rx).read_to_end(&mut out).unwrap();
            out
        });
        writer.await.unwrap();
        assert_eq!(reader.await.unwrap(), data);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_transfer_releases_a_blocked_writer() {
        let (tx, _rx) = mpsc::channel(1);
        let cancel = CancellationToken::new();
        let writer = ChannelWriter::new(tx, cancel.clone());
        let blocked = tokio::task::spawn_blocking(move || {
            writer.send(Ok(Bytes::from_static(b"1")))?;
            writer.send(Ok(Bytes::from_static(b"2")))
        });
        cancel.cancel();
        let err = blocked.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sent_error_is_the_readers_error() {
        let (tx, rx) = mpsc::channel(DEPTH);
        tx.send(Ok(Bytes::from_static(b"abc"))).await.unwrap();
        tx.send(Err(io::Error::other("connection reset")))
            .await
            .unwrap();
        let err = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            ChannelReader::new(rx).read_to_end(&mut out).unwrap_err()
        })
        .await
        .unwrap();
        assert_eq!(err.to_string(), "connection reset");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_closed_body_is_a_broken_pipe_for_the_writer() {
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        let err = tokio::task::spawn_blocking(move || {
            let mut w = ChannelWriter::new(tx, CancellationToken::new());
            w.write_all(&[0u8; CHUNK]).unwrap_err()
        })
        .await
        .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
