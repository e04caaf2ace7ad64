//! Persistence of the KIM Fachdienst, behind traits.
//!
//! Two halves:
//! - [`BlobStore`]: message and attachment bytes. [`FileBlobStore`] writes a blob under its
//!   final name and `fsync`s file and directory on [`BlobWriter::commit`]; blobs are reached
//!   only through records written after the commit, so an unfinished blob is never served; a
//!   writer dropped without commit removes its file.
//! - [`MetaStore`] = [`AccountStore`] + [`MailStore`] + [`QueueStore`] + [`KasStore`] +
//!   [`PortalStore`]: records, some pointing at blobs. [`SqliteStore`] keeps them in one SQLite database in WAL mode with
//!   `synchronous=FULL`: when a call returns, the change is on disk.
//!
//! Invariants the Fachdienst builds on:
//! - A message is answered `250` (or a KAS upload `201`) only after its blob is committed and
//!   the record pointing at it is committed (issue 4, storage). A `kill -9` at any point leaves
//!   at most an unreferenced blob, which [`recover`] removes at the next start.
//! - A blob referenced by several records (one message delivered to several local mailboxes)
//!   is deleted when the last record goes.
//!
//! The embedded default is SQLite + files; PostgreSQL and S3-compatible object storage can
//! implement the same traits for a multi-node deployment.

pub mod blob;
mod error;
pub mod model;
pub mod password;
mod schema;
mod sqlite;

use async_trait::async_trait;

pub use blob::{BlobKey, BlobReader, BlobStore, BlobWriter, FileBlobStore, Namespace};
pub use error::StoreError;
pub use model::{
    Acceptance, Account, Contract, KasObject, LoginFailure, Otp, OutOfOffice, PortalCertificate,
    PortalPurge, PortalToken, Profile, QueueEntry, QueuedRecipient, RegState, Reservation,
    StoredMessage, TokenPurpose, Usage,
};
pub use sqlite::SqliteStore;

/// Contracts, accounts, login failures and the autoreply log.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates a contract. [`StoreError::Conflict`] if the reference id exists.
    async fn create_contract(&self, contract: &Contract) -> Result<(), StoreError>;
    /// The contract with this reference id.
    async fn contract(&self, reference_id: &str) -> Result<Option<Contract>, StoreError>;
    /// Replaces a contract's mutable fields. [`StoreError::NotFound`] if absent.
    async fn update_contract(&self, contract: &Contract) -> Result<(), StoreError>;
    /// All contracts, ordered by reference id.
    async fn list_contracts(&self) -> Result<Vec<Contract>, StoreError>;

    /// Creates an account. [`StoreError::Conflict`] if the address is taken.
    async fn create_account(&self, account: &Account) -> Result<(), StoreError>;
    /// The account with this address (lower case).
    async fn account(&self, address: &str) -> Result<Option<Account>, StoreError>;
    /// Replaces an account's fields. [`StoreError::NotFound`] if absent.
    async fn update_account(&self, account: &Account) -> Result<(), StoreError>;
    /// Deletes an account with its mailbox and pending autoreply log.
    async fn delete_account(&self, address: &str) -> Result<(), StoreError>;
    /// Accounts, optionally only those of one contract, ordered by address.
    async fn list_accounts(&self, reference_id: Option<&str>) -> Result<Vec<Account>, StoreError>;
    /// Records a failed login; locks the account when the count reaches `threshold`.
    /// [`StoreError::NotFound`] if the account does not exist.
    async fn record_login_failure(
        &self,
        address: &str,
        threshold: u32,
    ) -> Result<LoginFailure, StoreError>;
    /// Resets the failed-login counter after a successful login.
    async fn clear_login_failures(&self, address: &str) -> Result<(), StoreError>;
    /// Records that `account` sent an autoreply to `sender` on `day` (days since the epoch);
    /// `true` if this is the first one that day (RFC 3834: at most one per sender and period).
    async fn autoreply_once(
        &self,
        account: &str,
        sender: &str,
        day: i64,
    ) -> Result<bool, StoreError>;

    /// The registration portal's reservation of `address` (lower case), expired or not.
    async fn reservation(&self, address: &str) -> Result<Option<Reservation>, StoreError>;
    /// Completes the reservation of `address` after its account was created: its contact
    /// data become the account's [`Profile`], the reservation is removed.
    /// [`StoreError::NotFound`] if there is none.
    async fn complete_reservation(&self, address: &str) -> Result<(), StoreError>;
}

/// Records of the registration portal: reservations, contact data, confirmation tokens and
/// issued Clientmodul certificates.
#[async_trait]
pub trait PortalStore: AccountStore {
    /// Reserves an address: in one transaction, an expired reservation of it (`expires` ≤
    /// `now`) is dropped, then [`StoreError::Conflict`] if an account or a valid reservation
    /// holds it.
    async fn reserve(&self, reservation: &Reservation, now: i64) -> Result<(), StoreError>;
    /// Removes the reservation of `address` if it still carries `token_hash` (the
    /// registration could not be announced).
    async fn cancel_reservation(&self, address: &str, token_hash: &str) -> Result<(), StoreError>;
    /// The contact data of an account.
    async fn profile(&self, address: &str) -> Result<Option<Profile>, StoreError>;
    /// Stores a confirmation token.
    async fn put_token(&self, token: &PortalToken) -> Result<(), StoreError>;
    /// The token with this digest, left in place (download sessions).
    async fn token(&self, hash: &str) -> Result<Option<PortalToken>, StoreError>;
    /// Removes and returns the token with this digest: a confirmation link works once.
    async fn take_token(&self, hash: &str) -> Result<Option<PortalToken>, StoreError>;
    /// Stores an issued certificate; returns its number.
    async fn add_certificate(
        &self,
        address: &str,
        pkcs12: &[u8],
        created: i64,
    ) -> Result<i64, StoreError>;
    /// The certificates of an account, oldest first.
    async fn certificates(&self, address: &str) -> Result<Vec<PortalCertificate>, StoreError>;
    /// Marks a certificate as downloaded.
    async fn mark_downloaded(&self, number: i64) -> Result<(), StoreError>;
    /// Drops reservations and tokens whose validity ended before or at `now`, and
    /// certificates and contact data of addresses with neither account nor reservation.
    async fn purge_portal(&self, now: i64) -> Result<PortalPurge, StoreError>;
}

/// Mailboxes.
#[async_trait]
pub trait MailStore: Send + Sync {
    /// Stores local deliveries and relay entries of one accepted message in one transaction.
    async fn accept(&self, acceptance: &Acceptance) -> Result<(), StoreError>;
    /// The messages of a mailbox, oldest first.
    async fn mailbox(&self, address: &str) -> Result<Vec<StoredMessage>, StoreError>;
    /// Deletes messages of a mailbox (ids from [`MailStore::mailbox`]) in one transaction and
    /// returns the blobs no record references any more, for the caller to delete.
    async fn delete_messages(&self, address: &str, ids: &[i64])
    -> Result<Vec<BlobKey>, StoreError>;
    /// Count and bytes of a mailbox.
    async fn usage(&self, address: &str) -> Result<Usage, StoreError>;
    /// Messages older than their account's `dataTimeToLive` at `now`.
    async fn expired_messages(&self, now: i64) -> Result<Vec<StoredMessage>, StoreError>;
}

/// The relay queue.
#[async_trait]
pub trait QueueStore: Send + Sync {
    /// Entries whose next attempt is due at `now`, oldest first, at most `limit`.
    async fn due(&self, now: i64, limit: usize) -> Result<Vec<QueueEntry>, StoreError>;
    /// All entries, oldest first.
    async fn queue(&self) -> Result<Vec<QueueEntry>, StoreError>;
    /// Replaces an entry (attempts, next attempt, remaining recipients, last error).
    async fn update_queue_entry(&self, entry: &QueueEntry) -> Result<(), StoreError>;
    /// Removes an entry; returns its blob if no record references it any more.
    async fn remove_queue_entry(&self, id: &str) -> Result<Option<BlobKey>, StoreError>;
}

/// Objects of the attachment service.
#[async_trait]
pub trait KasStore: Send + Sync {
    /// Records an uploaded object (its blob already committed).
    async fn put_object(&self, object: &KasObject) -> Result<(), StoreError>;
    /// The object with this id.
    async fn object(&self, id: &str) -> Result<Option<KasObject>, StoreError>;
    /// Deletes the record; returns its blob for the caller to delete.
    async fn delete_object(&self, id: &str) -> Result<Option<BlobKey>, StoreError>;
    /// Objects whose `expires` is before `now`.
    async fn expired_objects(&self, now: i64) -> Result<Vec<KasObject>, StoreError>;
    /// Bytes stored by an owner (for the quota).
    async fn owner_usage(&self, owner: &str) -> Result<u64, StoreError>;
}

/// Every record store the Fachdienst needs.
#[async_trait]
pub trait MetaStore: AccountStore + MailStore + QueueStore + KasStore + PortalStore {
    /// Every blob key some record references.
    async fn referenced_blobs(&self) -> Result<std::collections::HashSet<BlobKey>, StoreError>;
}

/// Start-up recovery after a crash: deletes blobs no record references (written, but the
/// record was never committed, so the sender never saw a success). Run before serving.
///
/// # Errors
/// A storage failure.
pub async fn recover(meta: &dyn MetaStore, blobs: &dyn BlobStore) -> Result<usize, StoreError> {
    let referenced = meta.referenced_blobs().await?;
    let mut removed = 0;
    for ns in [Namespace::Mail, Namespace::Kas] {
        for key in blobs.list(ns).await? {
            if !referenced.contains(&key) {
                blobs.delete(&key).await?;
                removed += 1;
            }
        }
    }
    if removed > 0 {
        tracing::info!(
            removed,
            "removed unreferenced blobs left by an interrupted write"
        );
    }
    Ok(removed)
}
