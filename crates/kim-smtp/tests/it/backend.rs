//! A file-backed test backend: spools to a temporary file, "delivers" by renaming it,
//! records what it saw.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use kim_smtp::server::{DataSpool, SessionInfo, SmtpBackend};
use kim_smtp::{Envelope, MailFrom, RcptTo, Reply, Ret};
use tokio::io::AsyncWriteExt;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub envelope: Envelope,
    pub content: Vec<u8>,
    pub client_cert: Option<Vec<u8>>,
    pub tls: bool,
}

#[derive(Debug, Default)]
struct Shared {
    delivered: Mutex<Vec<Delivered>>,
    logins: Mutex<Vec<String>>,
    aborted: AtomicUsize,
    largest_chunk: AtomicUsize,
    spool_seq: AtomicUsize,
}

/// Users `alice`/`secret` and `bob`/`hunter2`. Senders containing `refused` get 550,
/// `RET=FULL` gets 555 (KIM returns headers only), recipients `unknown@…` 550 5.1.1,
/// `full@…` 452 4.2.2, `overload@…` 421 (closes the session).
#[derive(Debug, Clone)]
pub struct TestBackend {
    dir: Arc<tempfile::TempDir>,
    shared: Arc<Shared>,
}

impl TestBackend {
    pub fn new() -> TestBackend {
        TestBackend {
            dir: Arc::new(tempfile::tempdir().unwrap()),
            shared: Arc::default(),
        }
    }

    pub fn delivered(&self) -> Vec<Delivered> {
        self.shared.delivered.lock().unwrap().clone()
    }

    pub fn logins(&self) -> Vec<String> {
        self.shared.logins.lock().unwrap().clone()
    }

    pub fn aborted(&self) -> usize {
        self.shared.aborted.load(Ordering::SeqCst)
    }

    pub fn largest_chunk(&self) -> usize {
        self.shared.largest_chunk.load(Ordering::SeqCst)
    }

    /// Files left in the spool directory (temporary files of unfinished transactions).
    pub fn spool_files(&self) -> usize {
        std::fs::read_dir(self.dir.path()).unwrap().count()
    }
}

pub struct TestSpool {
    file: tokio::fs::File,
    path: PathBuf,
    shared: Arc<Shared>,
    done: bool,
}

impl Drop for TestSpool {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
            self.shared.aborted.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl DataSpool for TestSpool {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), Reply> {
        self.shared
            .largest_chunk
            .fetch_max(chunk.len(), Ordering::SeqCst);
        self.file
            .write_all(chunk)
            .await
            .map_err(|_| Reply::new(451, (4, 3, 0), "Spool write failed"))
    }
}

impl SmtpBackend for TestBackend {
    type Spool = TestSpool;

    async fn authenticate(&self, _: &SessionInfo, user: &str, password: &str) -> Result<(), Reply> {
        let known = matches!((user, password), ("alice", "secret") | ("bob", "hunter2"));
        if !known {
            return Err(Reply::new(
                535,
                (5, 7, 8),
                "Authentication credentials invalid",
            ));
        }
        self.shared.logins.lock().unwrap().push(user.to_string());
        Ok(())
    }

    async fn mail_from(
        &self,
        _: &SessionInfo,
        _: Option<&str>,
        mail: &MailFrom,
    ) -> Result<(), Reply> {
        if mail.address.contains("refused") {
            return Err(Reply::new(550, (5, 7, 1), "Sender refused"));
        }
        if mail.ret == Some(Ret::Full) {
            return Err(Reply::new(555, (5, 5, 4), "RET=FULL not supported"));
        }
        Ok(())
    }

    async fn rcpt_to(&self, _: &SessionInfo, _: &Envelope, rcpt: &RcptTo) -> Result<(), Reply> {
        if rcpt.address.starts_with("unknown@") {
            return Err(Reply::new(550, (5, 1, 1), "No such user"));
        }
        if rcpt.address.starts_with("overload@") {
            return Err(Reply::new(421, (4, 3, 2), "Overloaded, closing"));
        }
        if rcpt.address.starts_with("full@") {
            return Err(Reply::new(452, (4, 2, 2), "Mailbox full"));
        }
        Ok(())
    }

    async fn data_start(&self, _: &SessionInfo, _: &Envelope) -> Result<TestSpool, Reply> {
        let seq = self.shared.spool_seq.fetch_add(1, Ordering::SeqCst);
        let path = self.dir.path().join(format!("spool-{seq}.tmp"));
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(|_| Reply::new(451, (4, 3, 0), "Cannot spool"))?;
        Ok(TestSpool {
            file,
            path,
            shared: self.shared.clone(),
            done: false,
        })
    }

    async fn data_end(
        &self,
        session: &SessionInfo,
        envelope: Envelope,
        mut spool: TestSpool,
    ) -> Reply {
        if spool.file.sync_all().await.is_err() {
            return Reply::new(451, (4, 3, 0), "Cannot store");
        }
        spool.done = true;
        let content = tokio::fs::read(&spool.path).await.unwrap_or_default();
        let _ = tokio::fs::remove_file(&spool.path).await;
        let mut delivered = self.shared.delivered.lock().unwrap();
        delivered.push(Delivered {
            envelope,
            content,
            client_cert: session.client_cert.as_ref().map(|c| c.as_ref().to_vec()),
            tls: session.tls,
        });
        Reply::new(250, (2, 0, 0), format!("Queued as {}", delivered.len()))
    }
}
