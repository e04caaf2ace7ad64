//! Blob storage: the bytes of messages and KAS objects.
//!
//! [`FileBlobStore`] layout under its root:
//! ```text
//! mail/<aa>/<uuid>      message
//! kas/<aa>/<uuid>       KAS object
//! tmp/                  left by older versions; cleared at start
//! ```
//! A blob is written under its final name; commit = `fsync` the file, then `fsync` its
//! directory. Nothing reads a blob except through a record, and records are written only
//! after the commit, so a blob being written is never served. A writer dropped without
//! commit removes its file; a crash mid-write leaves a file without a record, which
//! [`crate::recover`] removes at the next start. (Writing under the final name instead of
//! renaming a temporary file saves one journal commit per message.)

use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use async_trait::async_trait;
use tokio::fs;
use tokio::io::{AsyncRead, AsyncWriteExt};

use crate::StoreError;

/// Which kind of blob; each lives in its own area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace {
    /// Messages (mailboxes and relay queue).
    Mail,
    /// KAS objects.
    Kas,
}

impl Namespace {
    fn dir(self) -> &'static str {
        match self {
            Self::Mail => "mail",
            Self::Kas => "kas",
        }
    }
}

/// The name of a committed blob: `<namespace>/<uuid>`. Only keys of that shape are accepted,
/// so a key can never name a path outside the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

impl BlobKey {
    /// Parses a stored key.
    ///
    /// # Errors
    /// [`StoreError::InvalidKey`] unless it is `mail/<uuid>` or `kas/<uuid>`.
    pub fn parse(key: &str) -> Result<Self, StoreError> {
        let valid = key.split_once('/').is_some_and(|(ns, id)| {
            matches!(ns, "mail" | "kas") && uuid::Uuid::parse_str(id).is_ok()
        });
        if valid {
            Ok(Self(key.to_owned()))
        } else {
            Err(StoreError::InvalidKey(key.chars().take(80).collect()))
        }
    }

    /// Filled in right after a row is read.
    pub(crate) fn placeholder() -> Self {
        Self(String::new())
    }

    fn new(ns: Namespace, id: uuid::Uuid) -> Self {
        Self(format!("{}/{}", ns.dir(), id.hyphenated()))
    }

    /// The key as stored.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn parts(&self) -> (&str, &str) {
        self.0.split_once('/').unwrap_or(("", ""))
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A committed blob opened for reading.
pub struct BlobReader {
    /// Size in bytes.
    pub size: u64,
    /// The bytes.
    pub reader: Pin<Box<dyn AsyncRead + Send + Sync>>,
}

impl fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobReader")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// A blob being written. Dropping it without [`BlobWriter::commit`] discards it.
#[async_trait]
pub trait BlobWriter: Send {
    /// Appends bytes.
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError>;
    /// Bytes written so far.
    fn written(&self) -> u64;
    /// Makes the blob durable and visible under its key.
    async fn commit(self: Box<Self>) -> Result<BlobKey, StoreError>;
}

/// Where blobs live.
#[async_trait]
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Starts a new blob.
    async fn create(&self, ns: Namespace) -> Result<Box<dyn BlobWriter>, StoreError>;
    /// Opens a committed blob. [`StoreError::NotFound`] if it does not exist.
    async fn open(&self, key: &BlobKey) -> Result<BlobReader, StoreError>;
    /// Deletes a blob; deleting a missing blob is not an error.
    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError>;
    /// Every committed blob of a namespace (for [`crate::recover`]).
    async fn list(&self, ns: Namespace) -> Result<Vec<BlobKey>, StoreError>;
}

/// Blobs as files under one directory.
#[derive(Debug, Clone)]
pub struct FileBlobStore {
    root: PathBuf,
    fsync: bool,
}

impl FileBlobStore {
    /// Opens (creating) the store under `root` and removes leftovers in `tmp/`.
    ///
    /// `fsync = false` is for benchmarks that want to show the cost of durability; the
    /// Fachdienst always passes `true`.
    ///
    /// # Errors
    /// The directories cannot be created or read.
    pub async fn open(root: impl Into<PathBuf>, fsync: bool) -> Result<Self, StoreError> {
        let root = root.into();
        let tmp = root.join("tmp");
        if fs::try_exists(&tmp).await.unwrap_or(false) {
            fs::remove_dir_all(&tmp)
                .await
                .map_err(|e| StoreError::io(format!("clearing {}", tmp.display()), e))?;
        }
        for dir in ["mail", "kas"] {
            let path = root.join(dir);
            fs::create_dir_all(&path)
                .await
                .map_err(|e| StoreError::io(format!("creating {}", path.display()), e))?;
        }
        Ok(Self { root, fsync })
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        let (ns, id) = key.parts();
        self.root
            .join(ns)
            .join(id.get(..2).unwrap_or("00"))
            .join(id)
    }
}

#[async_trait]
impl BlobStore for FileBlobStore {
    async fn create(&self, ns: Namespace) -> Result<Box<dyn BlobWriter>, StoreError> {
        let id = uuid::Uuid::new_v4();
        let key = BlobKey::new(ns, id);
        let path = self.path(&key);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .await
                .map_err(|e| StoreError::io(format!("creating {}", dir.display()), e))?;
        }
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .map_err(|e| StoreError::io(format!("creating {}", path.display()), e))?;
        Ok(Box::new(FileWriter {
            file: Some(tokio::io::BufWriter::with_capacity(256 * 1024, file)),
            pending: PendingPath(Some(path)),
            key,
            written: 0,
            fsync: self.fsync,
        }))
    }

    async fn open(&self, key: &BlobKey) -> Result<BlobReader, StoreError> {
        let path = self.path(key);
        let file = match fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    what: format!("blob {key}"),
                });
            }
            Err(e) => return Err(StoreError::io(format!("opening {}", path.display()), e)),
        };
        let size = file
            .metadata()
            .await
            .map_err(|e| StoreError::io(format!("stat {}", path.display()), e))?
            .len();
        Ok(BlobReader {
            size,
            reader: Box::pin(tokio::io::BufReader::with_capacity(128 * 1024, file)),
        })
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        let path = self.path(key);
        match fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(format!("deleting {}", path.display()), e)),
        }
    }

    async fn list(&self, ns: Namespace) -> Result<Vec<BlobKey>, StoreError> {
        let base = self.root.join(ns.dir());
        let mut keys = Vec::new();
        let mut shards = read_dir(&base).await?;
        while let Some(shard) = next_entry(&mut shards, &base).await? {
            let shard_path = shard.path();
            if !shard_path.is_dir() {
                continue;
            }
            let mut files = read_dir(&shard_path).await?;
            while let Some(file) = next_entry(&mut files, &shard_path).await? {
                let name = file.file_name();
                let name = name.to_string_lossy();
                if let Ok(key) = BlobKey::parse(&format!("{}/{name}", ns.dir())) {
                    keys.push(key);
                }
            }
        }
        Ok(keys)
    }
}

async fn read_dir(path: &Path) -> Result<fs::ReadDir, StoreError> {
    fs::read_dir(path)
        .await
        .map_err(|e| StoreError::io(format!("listing {}", path.display()), e))
}

async fn next_entry(
    dir: &mut fs::ReadDir,
    path: &Path,
) -> Result<Option<fs::DirEntry>, StoreError> {
    dir.next_entry()
        .await
        .map_err(|e| StoreError::io(format!("listing {}", path.display()), e))
}

/// Removes the file of an uncommitted blob unless disarmed (at commit).
struct PendingPath(Option<PathBuf>);

impl Drop for PendingPath {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

struct FileWriter {
    file: Option<tokio::io::BufWriter<fs::File>>,
    pending: PendingPath,
    key: BlobKey,
    written: u64,
    fsync: bool,
}

#[async_trait]
impl BlobWriter for FileWriter {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        let Some(file) = self.file.as_mut() else {
            return Err(StoreError::Task("write after failed write".into()));
        };
        if let Err(e) = file.write_all(chunk).await {
            self.file = None;
            return Err(StoreError::io(format!("writing blob {}", self.key), e));
        }
        self.written += chunk.len() as u64;
        Ok(())
    }

    fn written(&self) -> u64 {
        self.written
    }

    async fn commit(mut self: Box<Self>) -> Result<BlobKey, StoreError> {
        let Some(mut file) = self.file.take() else {
            return Err(StoreError::Task("commit after failed write".into()));
        };
        let ctx = |what: &str| format!("{what} blob {}", self.key);
        file.flush()
            .await
            .map_err(|e| StoreError::io(ctx("flushing"), e))?;
        let file = file.into_inner().into_std().await;
        if self.fsync {
            let Some(path) = self.pending.0.clone() else {
                return Err(StoreError::Task("blob committed twice".into()));
            };
            // One trip to the blocking pool for both syncs.
            tokio::task::spawn_blocking(move || sync_file_and_dir(&file, &path))
                .await
                .map_err(|e| StoreError::Task(format!("blob commit task: {e}")))?
                .map_err(|(what, e)| StoreError::io(ctx(what), e))?;
        }
        // Durable (or not asked to be): keep the file.
        self.pending.0 = None;
        Ok(self.key.clone())
    }
}

/// `fsync` the blob's file, then its directory (which holds the new name).
fn sync_file_and_dir(
    file: &std::fs::File,
    path: &Path,
) -> Result<(), (&'static str, std::io::Error)> {
    file.sync_all().map_err(|e| ("syncing", e))?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ("syncing the directory of", e))
}
