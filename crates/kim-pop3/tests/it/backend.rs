//! A test backend: one directory per mailbox, one file per message (file name = UID), a
//! lock set, and counters for logins and commits.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use kim_pop3::{AuthError, Maildrop, MaildropError, MessageInfo, Pop3Backend, SessionInfo};

#[derive(Debug)]
pub struct DirBackend {
    root: PathBuf,
    passwords: Mutex<HashMap<String, String>>,
    locks: Arc<Mutex<HashSet<String>>>,
    pub commits: Arc<AtomicUsize>,
    /// Client certificates seen at login (DER), to check that TLS details arrive.
    pub client_certs: Mutex<Vec<Option<Vec<u8>>>>,
}

impl DirBackend {
    pub fn new(root: &Path) -> DirBackend {
        DirBackend {
            root: root.to_path_buf(),
            passwords: Mutex::default(),
            locks: Arc::default(),
            commits: Arc::default(),
            client_certs: Mutex::default(),
        }
    }

    pub fn add_user(&self, user: &str, password: &str) {
        std::fs::create_dir_all(self.root.join(user)).unwrap();
        self.passwords
            .lock()
            .unwrap()
            .insert(user.into(), password.into());
    }

    pub fn deliver(&self, user: &str, uid: &str, message: &[u8]) {
        std::fs::write(self.root.join(user).join(uid), message).unwrap();
    }

    /// UIDs currently stored for `user`, sorted.
    pub fn stored(&self, user: &str) -> Vec<String> {
        let mut uids: Vec<String> = std::fs::read_dir(self.root.join(user))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        uids.sort();
        uids
    }

    pub fn mailbox_dir(&self, user: &str) -> PathBuf {
        self.root.join(user)
    }

    pub fn commits(&self) -> usize {
        self.commits.load(Ordering::SeqCst)
    }

    pub fn is_locked(&self, user: &str) -> bool {
        self.locks.lock().unwrap().contains(user)
    }
}

impl Pop3Backend for DirBackend {
    type Maildrop = DirMaildrop;

    async fn authenticate(
        &self,
        session: &SessionInfo,
        user: &str,
        password: &str,
    ) -> Result<DirMaildrop, AuthError> {
        self.client_certs
            .lock()
            .unwrap()
            .push(session.client_cert.as_ref().map(|c| c.to_vec()));
        let known = self.passwords.lock().unwrap().get(user).cloned();
        if known.as_deref() != Some(password) {
            return Err(AuthError::Invalid);
        }
        if user == "locked" {
            return Err(AuthError::Locked("account locked".into()));
        }
        if !self.locks.lock().unwrap().insert(user.to_owned()) {
            return Err(AuthError::InUse);
        }
        let dir = self.root.join(user);
        let messages = self
            .stored(user)
            .into_iter()
            .map(|uid| {
                let size = std::fs::metadata(dir.join(&uid)).unwrap().len();
                MessageInfo { uid, size }
            })
            .collect();
        Ok(DirMaildrop {
            dir,
            user: user.to_owned(),
            messages,
            locks: self.locks.clone(),
            commits: self.commits.clone(),
        })
    }
}

#[derive(Debug)]
pub struct DirMaildrop {
    dir: PathBuf,
    user: String,
    messages: Vec<MessageInfo>,
    locks: Arc<Mutex<HashSet<String>>>,
    commits: Arc<AtomicUsize>,
}

impl Maildrop for DirMaildrop {
    type Reader = tokio::fs::File;

    fn messages(&self) -> &[MessageInfo] {
        &self.messages
    }

    async fn open(&mut self, index: usize) -> Result<tokio::fs::File, MaildropError> {
        let info = self
            .messages
            .get(index)
            .ok_or_else(|| MaildropError::Storage(format!("no message {index}")))?;
        Ok(tokio::fs::File::open(self.dir.join(&info.uid)).await?)
    }

    async fn commit(self, deleted: Vec<usize>) -> Result<(), MaildropError> {
        for index in deleted {
            let info = &self.messages[index];
            tokio::fs::remove_file(self.dir.join(&info.uid)).await?;
        }
        self.commits.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl Drop for DirMaildrop {
    fn drop(&mut self) {
        self.locks.lock().unwrap().remove(&self.user);
    }
}
