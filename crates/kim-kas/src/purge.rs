//! Deletion of KAS objects past their `expires` (kim-spec §6.2): the record first, then the
//! blob, so a crash in between leaves only an unreferenced blob that `kim_store::recover`
//! removes at the next start.

use std::time::Duration;

use kim_fachdienst::Fachdienst;
use kim_store::{BlobStore, KasStore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{KasError, now};

/// Deletes every object whose `expires` lies before `now` (Unix seconds) with its blob;
/// returns how many.
///
/// # Errors
/// Storage failed; objects deleted before the failure stay deleted.
pub async fn purge_expired(
    meta: &dyn KasStore,
    blobs: &dyn BlobStore,
    now: i64,
) -> Result<usize, KasError> {
    let expired = meta.expired_objects(now).await?;
    let mut purged = 0;
    for object in expired {
        if let Some(blob) = meta.delete_object(&object.id).await? {
            blobs.delete(&blob).await?;
        }
        purged += 1;
    }
    if purged > 0 {
        tracing::info!(purged, "expired mail data deleted");
    }
    Ok(purged)
}

/// Runs [`purge_expired`] now and then every `every` until `cancel` fires. Failures are
/// logged and retried at the next round.
pub fn spawn_purge(fd: Fachdienst, every: Duration, cancel: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = ticker.tick() => {
                    let meta: &dyn KasStore = &*fd.meta;
                    if let Err(e) = purge_expired(meta, &*fd.blobs, now()).await {
                        tracing::error!(error = %e, "purging expired mail data failed");
                    }
                }
            }
        }
    })
}
