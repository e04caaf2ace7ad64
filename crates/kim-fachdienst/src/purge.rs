//! Retention: messages older than their account's `dataTimeToLive` (10..=365 days, default
//! 90; kim-spec §6.1) are deleted with their blobs, and accounts whose deregistration window
//! (`deregDate`, A_19464-03, KOM-LE-A_2139-03) has ended are deleted with their mailbox.
//!
//! A mailbox is purged only while the purge holds its [`MailboxLocks`] entry: a mailbox with
//! an open POP3 session is skipped and purged in a later round, so a session's snapshot never
//! loses a message under it.

use std::collections::BTreeMap;

use kim_store::{BlobKey, RegState, StoreError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::Fachdienst;
use crate::pop3::MailboxLocks;

/// What one purge round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// Messages deleted for age.
    pub messages: usize,
    /// Blobs deleted (no record used them any more).
    pub blobs: usize,
    /// Accounts deleted after their deregistration window.
    pub accounts: usize,
    /// Mailboxes skipped because a session held them.
    pub skipped_mailboxes: usize,
}

/// Starts the periodic purge (every [`crate::Policy::purge_interval`], first round at once).
pub fn spawn(fd: Fachdienst, locks: MailboxLocks, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match run_once(&fd, &locks, crate::now()).await {
                Ok(purged) if purged != Purged::default() => {
                    tracing::info!(?purged, "retention purge");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention purge failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(fd.policy.purge_interval) => {}
            }
        }
    })
}

/// One purge round at time `now`.
///
/// # Errors
/// Storage failed; what was deleted before stays deleted.
pub async fn run_once(
    fd: &Fachdienst,
    locks: &MailboxLocks,
    now: i64,
) -> Result<Purged, StoreError> {
    let mut purged = Purged::default();
    let mut by_mailbox: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for m in fd.meta.expired_messages(now).await? {
        by_mailbox.entry(m.mailbox).or_default().push(m.id);
    }
    for (mailbox, ids) in by_mailbox {
        let Some(_guard) = locks.try_lock(&mailbox) else {
            purged.skipped_mailboxes += 1;
            continue;
        };
        let free = fd.meta.delete_messages(&mailbox, &ids).await?;
        purged.messages += ids.len();
        purged.blobs += delete_blobs(fd, free).await;
    }
    for account in fd.meta.list_accounts(None).await? {
        let RegState::Deregistered { until, .. } = account.state else {
            continue;
        };
        if now < until {
            continue;
        }
        let Some(_guard) = locks.try_lock(&account.address) else {
            purged.skipped_mailboxes += 1;
            continue;
        };
        let ids: Vec<i64> = fd
            .meta
            .mailbox(&account.address)
            .await?
            .iter()
            .map(|m| m.id)
            .collect();
        if !ids.is_empty() {
            let free = fd.meta.delete_messages(&account.address, &ids).await?;
            purged.messages += ids.len();
            purged.blobs += delete_blobs(fd, free).await;
        }
        fd.meta.delete_account(&account.address).await?;
        purged.accounts += 1;
    }
    Ok(purged)
}

async fn delete_blobs(fd: &Fachdienst, blobs: Vec<BlobKey>) -> usize {
    let mut deleted = 0;
    for blob in blobs {
        match fd.blobs.delete(&blob).await {
            Ok(()) => deleted += 1,
            // The record is gone; `kim_store::recover` removes the blob at the next start.
            Err(e) => tracing::warn!(error = %e, "cannot delete purged blob"),
        }
    }
    deleted
}
