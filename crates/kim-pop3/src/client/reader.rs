//! [`MessageReader`]: the body of a RETR or TOP response as an [`AsyncRead`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::{ClientError, Pop3Client};

/// Reads a RETR/TOP body: un-stuffs it and ends (EOF) at the terminator line. Fails with
/// [`io::ErrorKind::TimedOut`] when the server stalls longer than the client's timeout and
/// with [`io::ErrorKind::UnexpectedEof`] when the connection ends before the terminator.
///
/// Dropping the reader early is allowed: the client skips the rest of the body before its
/// next command. `Debug` shows no message bytes.
pub struct MessageReader<'a, S> {
    client: &'a mut Pop3Client<S>,
    /// Decoded bytes that did not fit into the caller's buffer.
    pending: Vec<u8>,
    pending_pos: usize,
    deadline: Pin<Box<Sleep>>,
    /// True while the last poll returned `Pending`: the deadline runs only across such
    /// waits, not across the caller's own pauses between reads.
    waiting: bool,
}

impl<S> std::fmt::Debug for MessageReader<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageReader")
            .field("client", &self.client)
            .field(
                "pending",
                &(self.pending.len() - self.pending_pos.min(self.pending.len())),
            )
            .finish_non_exhaustive()
    }
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin> MessageReader<'a, S> {
    pub(super) fn new(client: &'a mut Pop3Client<S>) -> MessageReader<'a, S> {
        let deadline = Box::pin(tokio::time::sleep(client.timeout));
        MessageReader {
            client,
            pending: Vec::new(),
            pending_pos: 0,
            deadline,
            waiting: false,
        }
    }

    /// Reads the whole body into memory (for small messages and tests).
    pub async fn to_vec(mut self) -> Result<Vec<u8>, ClientError> {
        let mut body = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut self, &mut body)
            .await
            .map_err(io_error)?;
        Ok(body)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MessageReader<'_, S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.waiting {
            let timeout = this.client.timeout;
            this.deadline.as_mut().reset(Instant::now() + timeout);
        }
        this.waiting = false;
        loop {
            if let Some(pending) = this.pending.get(this.pending_pos..)
                && !pending.is_empty()
            {
                let n = pending.len().min(out.remaining());
                out.put_slice(pending.get(..n).unwrap_or_default());
                this.pending_pos += n;
                return Poll::Ready(Ok(()));
            }
            let client = &mut *this.client;
            let Some(decoder) = client.body.as_mut() else {
                return Poll::Ready(Ok(()));
            };
            if decoder.is_done() {
                client.body = None;
                return Poll::Ready(Ok(()));
            }
            if !client.buf.is_empty() {
                this.pending.clear();
                this.pending_pos = 0;
                let consumed = decoder.decode(&client.buf, &mut this.pending);
                client.buf.advance(consumed);
                continue;
            }
            let mut chunk = [0u8; super::READ_CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut client.io).poll_read(cx, &mut read) {
                Poll::Ready(result) => {
                    result?;
                    if read.filled().is_empty() {
                        return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                    }
                    client.buf.extend_from_slice(read.filled());
                }
                Poll::Pending => {
                    this.waiting = true;
                    ready!(this.deadline.as_mut().poll(cx));
                    this.waiting = false;
                    return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
                }
            }
        }
    }
}

/// Maps a body read error to the client's error type.
pub(super) fn io_error(e: io::Error) -> ClientError {
    if e.kind() == io::ErrorKind::TimedOut {
        ClientError::Timeout
    } else {
        ClientError::Io(e)
    }
}
