//! The POP3 side: [`Pop3`] implements [`Pop3Backend`] for the `kim-pop3` engine.
//!
//! One session per mailbox at a time (`[IN-USE]` for a second), the message list is the
//! snapshot at login, and deletions reach the store only in the UPDATE state (RFC 1939 §6).
//! Deleted blobs are removed after the records are committed. The retention purge takes the
//! same [`MailboxLocks`], so it never changes a mailbox under an open session's snapshot.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use kim_pop3::{AuthError, Maildrop, MaildropError, MessageInfo, Pop3Backend, SessionInfo};
use kim_store::StoredMessage;
use tokio::io::AsyncRead;

use crate::Fachdienst;
use crate::accounts::{AuthFailure, Purpose};

/// The set of mailboxes in use (by a POP3 session or the purge), shared by clones.
#[derive(Debug, Clone, Default)]
pub struct MailboxLocks(Arc<Mutex<HashSet<String>>>);

impl MailboxLocks {
    /// Takes the lock of `mailbox`; `None` if it is held (or the table is poisoned).
    #[must_use]
    pub fn try_lock(&self, mailbox: &str) -> Option<MailboxGuard> {
        let mut set = self.0.lock().ok()?;
        set.insert(mailbox.to_owned()).then(|| MailboxGuard {
            locks: self.clone(),
            mailbox: mailbox.to_owned(),
        })
    }
}

/// Releases the mailbox lock when dropped, however the holder ends.
#[derive(Debug)]
pub struct MailboxGuard {
    locks: MailboxLocks,
    mailbox: String,
}

impl Drop for MailboxGuard {
    fn drop(&mut self) {
        if let Ok(mut set) = self.locks.0.lock() {
            set.remove(&self.mailbox);
        }
    }
}

/// The POP3 backend of the Fachdienst.
#[derive(Debug, Clone)]
pub struct Pop3 {
    fd: Fachdienst,
    locks: MailboxLocks,
}

impl Pop3 {
    /// The POP3 backend over `fd` with its own lock table.
    #[must_use]
    pub fn new(fd: Fachdienst) -> Self {
        Self::with_locks(fd, MailboxLocks::default())
    }

    /// The POP3 backend over `fd` sharing `locks` (with the purge).
    #[must_use]
    pub fn with_locks(fd: Fachdienst, locks: MailboxLocks) -> Self {
        Self { fd, locks }
    }
}

/// An open mailbox.
#[derive(Debug)]
pub struct Mailbox {
    fd: Fachdienst,
    stored: Vec<StoredMessage>,
    infos: Vec<MessageInfo>,
    lock: MailboxGuard,
}

impl Pop3Backend for Pop3 {
    type Maildrop = Mailbox;

    async fn authenticate(
        &self,
        _s: &SessionInfo,
        user: &str,
        password: &str,
    ) -> Result<Mailbox, AuthError> {
        let account = match self.fd.login(user, password, Purpose::Retrieve).await {
            Ok(a) => a,
            Err(AuthFailure::Invalid) => return Err(AuthError::Invalid),
            Err(AuthFailure::Temporary) => {
                return Err(AuthError::Temporary("storage unavailable".into()));
            }
            Err(e) => return Err(AuthError::Locked(e.to_string())),
        };
        let mailbox = account.address;
        let lock = self.locks.try_lock(&mailbox).ok_or(AuthError::InUse)?;
        let stored = self.fd.meta.mailbox(&mailbox).await.map_err(|e| {
            tracing::error!(error = %e, "cannot list mailbox");
            AuthError::Temporary("storage unavailable".into())
        })?;
        let infos = stored
            .iter()
            .map(|m| MessageInfo {
                uid: m.uid.clone(),
                size: m.size,
            })
            .collect();
        Ok(Mailbox {
            fd: self.fd.clone(),
            stored,
            infos,
            lock,
        })
    }
}

impl Maildrop for Mailbox {
    type Reader = Pin<Box<dyn AsyncRead + Send + Sync>>;

    fn messages(&self) -> &[MessageInfo] {
        &self.infos
    }

    async fn open(&mut self, index: usize) -> Result<Self::Reader, MaildropError> {
        let message = self
            .stored
            .get(index)
            .ok_or_else(|| MaildropError::Storage(format!("no message {index}")))?;
        let blob = self
            .fd
            .blobs
            .open(&message.blob)
            .await
            .map_err(|e| MaildropError::Storage(e.to_string()))?;
        Ok(blob.reader)
    }

    async fn commit(self, deleted: Vec<usize>) -> Result<(), MaildropError> {
        let ids: Vec<i64> = deleted
            .iter()
            .filter_map(|&i| self.stored.get(i))
            .map(|m| m.id)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mailbox = &self.lock.mailbox;
        let free = self
            .fd
            .meta
            .delete_messages(mailbox, &ids)
            .await
            .map_err(|e| MaildropError::Storage(e.to_string()))?;
        for blob in free {
            if let Err(e) = self.fd.blobs.delete(&blob).await {
                // The record is gone; the blob is removed at the next start by `recover`.
                tracing::warn!(error = %e, "cannot delete message blob");
            }
        }
        Ok(())
    }
}
