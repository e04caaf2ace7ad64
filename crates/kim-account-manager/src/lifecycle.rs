//! The end of a deregistration (A_19464-03): once `deregDate` has passed, the account and its
//! mailbox are deleted. The Fachdienst runs [`purge_deregistered`] periodically; the address
//! left the VZD already when the deregistration started.

use kim_store::{AccountStore, RegState};

use crate::AmError;

/// Deletes every account whose deregistration window ended before `now`; returns how many.
/// Message blobs of the deleted mailboxes are no longer referenced and go with the next
/// `kim_store::recover` (or the blob cleanup of the caller).
///
/// # Errors
/// [`AmError::Store`] if listing or deleting fails (accounts deleted so far stay deleted).
pub async fn purge_deregistered(store: &dyn AccountStore, now: i64) -> Result<usize, AmError> {
    let mut purged = 0;
    for account in store.list_accounts(None).await? {
        if let RegState::Deregistered { until, .. } = account.state
            && until < now
        {
            store.delete_account(&account.address).await?;
            purged += 1;
        }
    }
    if purged > 0 {
        tracing::info!(purged, "accounts deleted after their deregistration window");
    }
    Ok(purged)
}
