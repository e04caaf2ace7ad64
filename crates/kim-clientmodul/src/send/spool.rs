//! The DATA spool: the Client-Mail is kept in memory up to
//! [`crate::SendConfig::spool_memory_limit`] and spills to an unnamed temporary file
//! beyond it, so that a mail of several hundred MiB never sits in memory (it streams from
//! the file to the KAS). The file has no name: it disappears with its last handle, also
//! after a crash (KOM-LE-A_2005: content is kept only for the transaction).

use std::io::{Read, Seek, SeekFrom, Write};

use kim_smtp::Reply;
use kim_smtp::server::DataSpool;
use tokio::io::AsyncWriteExt;

/// The content of one message, held until the end of DATA (at most the KAS threshold
/// when no KAS is configured, otherwise at most `maxMailSize`).
#[derive(Debug)]
pub struct Spool {
    memory: Vec<u8>,
    file: Option<tokio::fs::File>,
    len: u64,
    spill_at: u64,
    limit: u64,
    over_limit: Reply,
}

/// The received Client-Mail.
#[derive(Debug)]
pub(crate) enum MailData {
    /// Small enough to stay in memory.
    Memory(Vec<u8>),
    /// Spilled: the whole mail in an unnamed file (read position undefined).
    File(MailFile),
}

/// A Client-Mail in an unnamed temporary file.
#[derive(Debug)]
pub(crate) struct MailFile {
    pub file: std::fs::File,
    pub len: u64,
}

impl MailFile {
    /// Writes `bytes` into a fresh unnamed file (on a blocking thread).
    pub async fn from_bytes(bytes: Vec<u8>) -> std::io::Result<MailFile> {
        blocking(move || {
            let mut file = tempfile::tempfile()?;
            file.write_all(&bytes)?;
            Ok(MailFile {
                len: bytes.len() as u64,
                file,
            })
        })
        .await
    }

    /// An independent handle positioned at `offset`.
    pub fn reader_at(&self, offset: u64) -> std::io::Result<std::fs::File> {
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(file)
    }

    /// Reads at most `max` bytes from the start (the header block is looked for in them).
    pub async fn head(&self, max: u64) -> std::io::Result<Vec<u8>> {
        let file = self.reader_at(0)?;
        blocking(move || {
            let mut out = Vec::new();
            file.take(max).read_to_end(&mut out)?;
            Ok(out)
        })
        .await
    }
}

/// Runs `f` on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?
}

impl Spool {
    /// An empty spool that refuses content beyond `limit` with `over_limit` and spills to
    /// a file beyond `spill_at` bytes.
    pub(crate) fn new(limit: u64, over_limit: Reply, spill_at: u64) -> Spool {
        Spool {
            memory: Vec::new(),
            file: None,
            len: 0,
            spill_at,
            limit,
            over_limit,
        }
    }

    /// The received content.
    pub(crate) async fn finish(self) -> Result<MailData, Reply> {
        match self.file {
            None => Ok(MailData::Memory(self.memory)),
            Some(mut file) => {
                file.flush().await.map_err(spool_error)?;
                Ok(MailData::File(MailFile {
                    file: file.into_std().await,
                    len: self.len,
                }))
            }
        }
    }

    async fn spill(&mut self) -> Result<(), Reply> {
        let file = blocking(tempfile::tempfile).await.map_err(spool_error)?;
        let mut file = tokio::fs::File::from_std(file);
        file.write_all(&self.memory).await.map_err(spool_error)?;
        self.memory = Vec::new();
        self.file = Some(file);
        tracing::debug!("DATA spilled to a temporary file");
        Ok(())
    }
}

impl DataSpool for Spool {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), Reply> {
        let len = self.len.saturating_add(chunk.len() as u64);
        if len > self.limit {
            self.memory = Vec::new();
            self.file = None;
            return Err(self.over_limit.clone());
        }
        self.len = len;
        if self.file.is_none() && len > self.spill_at {
            self.spill().await?;
        }
        match &mut self.file {
            Some(file) => file.write_all(chunk).await.map_err(spool_error),
            None => {
                self.memory.extend_from_slice(chunk);
                Ok(())
            }
        }
    }
}

fn spool_error(e: std::io::Error) -> Reply {
    tracing::warn!(error = %e, "DATA spool file failed");
    Reply::new(451, (4, 3, 0), "Local error in processing: spool")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "test code")]
    use super::*;

    async fn fill(spool: &mut Spool, chunks: &[&[u8]]) -> Result<(), Reply> {
        for chunk in chunks {
            spool.write(chunk).await?;
        }
        Ok(())
    }

    #[tokio::test]
    async fn small_content_stays_in_memory() {
        let mut spool = Spool::new(100, Reply::new(552, (5, 3, 4), "x"), 10);
        fill(&mut spool, &[b"abc", b"defg"]).await.unwrap();
        match spool.finish().await.unwrap() {
            MailData::Memory(bytes) => assert_eq!(bytes, b"abcdefg"),
            MailData::File(_) => panic!("spilled below the threshold"),
        }
    }

    #[tokio::test]
    async fn content_beyond_the_threshold_is_in_the_file_in_order() {
        let mut spool = Spool::new(100, Reply::new(552, (5, 3, 4), "x"), 10);
        fill(&mut spool, &[b"0123456", b"789abc", b"def"])
            .await
            .unwrap();
        let MailData::File(file) = spool.finish().await.unwrap() else {
            panic!("not spilled");
        };
        assert_eq!(file.len, 16);
        assert_eq!(file.head(100).await.unwrap(), b"0123456789abcdef");
        let mut tail = String::new();
        file.reader_at(10)
            .unwrap()
            .read_to_string(&mut tail)
            .unwrap();
        assert_eq!(tail, "abcdef");
    }

    #[tokio::test]
    async fn content_beyond_the_limit_is_refused_with_the_configured_reply() {
        let mut spool = Spool::new(8, Reply::new(552, (5, 3, 4), "too big"), 4);
        let err = fill(&mut spool, &[b"01234", b"5678"]).await.unwrap_err();
        assert_eq!(err.code, 552);
    }
}
