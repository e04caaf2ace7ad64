//! SHA-256 over the plaintext of a KAS stream, computed either inline or on a helper thread.
//!
//! SHA-256 costs about as much CPU per byte as AES-GCM. On a machine with a second core the
//! hash runs on a scoped helper thread, so hashing overlaps with encryption and I/O. The
//! plaintext buffers travel to the helper and back through channels: a fixed set of
//! [`POOL`] buffers of one chunk each, so memory stays constant.

use std::io;
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::thread;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::error::KasError;

/// A plaintext buffer; wiped when dropped.
pub(crate) type Buf = Zeroizing<Vec<u8>>;

/// Plaintext buffers in circulation when hashing on the helper thread.
const POOL: usize = 4;

/// Whether the hash runs on the caller's thread or a helper thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Inline,
    Threaded,
}

impl Mode {
    /// Threaded when the machine offers more than one core to this process.
    pub(crate) fn auto() -> Self {
        match thread::available_parallelism() {
            Ok(n) if n.get() > 1 => Self::Threaded,
            _ => Self::Inline,
        }
    }
}

/// Receives plaintext chunks in order and hands back a buffer for the next one.
pub(crate) enum PlaintextHasher {
    Inline(Sha256, Buf),
    Threaded {
        work: SyncSender<(Buf, usize)>,
        free: Receiver<Buf>,
        spare: Vec<Buf>,
    },
}

impl PlaintextHasher {
    /// A buffer to read the first chunk into.
    pub(crate) fn first_buffer(&mut self) -> Result<Buf, KasError> {
        match self {
            Self::Inline(_, buf) => Ok(std::mem::take(buf)),
            Self::Threaded { spare, free, .. } => next_free(spare, free),
        }
    }

    /// Hashes the first `n` bytes of `buf` and returns a buffer (of the same size) for the
    /// next chunk. Chunks are hashed in the order they are given.
    pub(crate) fn consume(&mut self, buf: Buf, n: usize) -> Result<Buf, KasError> {
        match self {
            Self::Inline(sha, _) => {
                sha.update(buf.get(..n).unwrap_or_default());
                Ok(buf)
            }
            Self::Threaded { work, free, spare } => {
                work.send((buf, n)).map_err(|_| helper_gone())?;
                next_free(spare, free)
            }
        }
    }
}

fn next_free(spare: &mut Vec<Buf>, free: &Receiver<Buf>) -> Result<Buf, KasError> {
    match spare.pop() {
        Some(buf) => Ok(buf),
        None => free.recv().map_err(|_| helper_gone()),
    }
}

fn helper_gone() -> KasError {
    KasError::Io(io::Error::other(
        "SHA-256 helper thread stopped unexpectedly",
    ))
}

/// Runs `body` with a [`PlaintextHasher`] whose buffers hold `chunk` bytes, and returns the
/// body's result together with the SHA-256 of everything it fed to the hasher.
///
/// In [`Mode::Threaded`] the hash runs on a scoped helper thread that ends before this
/// function returns, also when `body` fails. If the thread cannot be started, the hash runs
/// inline.
pub(crate) fn with_hasher<T, F>(
    mode: Mode,
    chunk: usize,
    body: F,
) -> Result<(T, [u8; 32]), KasError>
where
    F: FnOnce(&mut PlaintextHasher) -> Result<T, KasError>,
{
    let body = match mode {
        Mode::Inline => body,
        Mode::Threaded => match threaded(chunk, body) {
            Outcome::Done(result) => return result,
            Outcome::NotStarted(body) => body,
        },
    };
    let mut hasher = PlaintextHasher::Inline(Sha256::new(), Zeroizing::new(vec![0; chunk]));
    let value = body(&mut hasher)?;
    match hasher {
        PlaintextHasher::Inline(sha, _) => Ok((value, sha.finalize().into())),
        PlaintextHasher::Threaded { .. } => Err(helper_gone()),
    }
}

enum Outcome<F, R> {
    /// The helper thread could not be spawned; the body has not run.
    NotStarted(F),
    Done(R),
}

fn threaded<T, F>(chunk: usize, body: F) -> Outcome<F, Result<(T, [u8; 32]), KasError>>
where
    F: FnOnce(&mut PlaintextHasher) -> Result<T, KasError>,
{
    thread::scope(|scope| {
        let (work_tx, work_rx) = sync_channel::<(Buf, usize)>(POOL);
        let (free_tx, free_rx) = channel::<Buf>();
        let spawned = thread::Builder::new()
            .name("kas-sha256".into())
            .spawn_scoped(scope, move || {
                let mut sha = Sha256::new();
                for (buf, n) in work_rx {
                    sha.update(buf.get(..n).unwrap_or_default());
                    // The receiver is gone only when the body has finished or failed; the
                    // buffer is then simply dropped (and wiped).
                    let _ = free_tx.send(buf);
                }
                <[u8; 32]>::from(sha.finalize())
            });
        let Ok(helper) = spawned else {
            return Outcome::NotStarted(body);
        };
        let mut hasher = PlaintextHasher::Threaded {
            work: work_tx,
            free: free_rx,
            spare: (0..POOL).map(|_| Zeroizing::new(vec![0; chunk])).collect(),
        };
        let value = body(&mut hasher);
        // Closing the work channel lets the helper finish the queued chunks and stop.
        drop(hasher);
        let digest = helper.join().map_err(|_| helper_gone());
        Outcome::Done(value.and_then(|v| Ok((v, digest?))))
    })
}
