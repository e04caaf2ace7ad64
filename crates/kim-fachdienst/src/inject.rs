//! Mail the Fachdienst writes itself (DSNs, bounces, autoreplies) takes the same durable
//! paths as submitted mail: blob committed, then one [`Acceptance`] with either a local
//! delivery or a relay queue entry. It always has the null sender `<>`.

use kim_store::{Acceptance, BlobKey, Namespace, QueueEntry, QueuedRecipient, StoreError};

use crate::{Fachdienst, now};

/// Where generated mail went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    /// Into a local mailbox.
    Local,
    /// Into the relay queue.
    Queued,
    /// Nowhere: the recipient is neither local and active nor routed.
    Dropped,
}

/// Envelope data of a new relay queue entry.
#[derive(Debug, Clone)]
pub(crate) struct NewEntry<'a> {
    pub blob: &'a BlobKey,
    pub size: u64,
    pub mail_from: &'a str,
    pub ret: Option<String>,
    pub envid: Option<String>,
    pub domain: &'a str,
    pub recipients: Vec<QueuedRecipient>,
    pub received: i64,
}

/// A queue entry due immediately.
pub(crate) fn queue_entry(new: NewEntry<'_>) -> QueueEntry {
    QueueEntry {
        id: uuid::Uuid::new_v4().hyphenated().to_string(),
        blob: new.blob.clone(),
        size: new.size,
        mail_from: new.mail_from.to_owned(),
        ret: new.ret,
        envid: new.envid,
        domain: new.domain.to_owned(),
        recipients: new.recipients,
        created: new.received,
        attempts: 0,
        next_attempt: new.received,
        last_error: None,
    }
}

pub(crate) fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

impl Fachdienst {
    /// Stores `message` for `to` with the null sender: local delivery if `to` is an active
    /// local account, the relay queue if its domain has a route, otherwise dropped (logged).
    ///
    /// # Errors
    /// Storage failed; nothing is stored then.
    pub(crate) async fn inject(&self, to: &str, message: &[u8]) -> Result<Injected, StoreError> {
        let to = to.to_ascii_lowercase();
        let domain = domain_of(&to);
        let local = self.policy.is_local_domain(domain);
        if local && !self.can_receive(&to).await? {
            tracing::info!("generated mail dropped: local recipient cannot receive");
            return Ok(Injected::Dropped);
        }
        if !local && self.routes.lookup(domain).is_none() {
            tracing::info!(domain, "generated mail dropped: no route");
            return Ok(Injected::Dropped);
        }
        let mut writer = self.blobs.create(Namespace::Mail).await?;
        writer.write(message).await?;
        let size = writer.written();
        let blob = writer.commit().await?;
        let received = now();
        let mut acceptance = Acceptance {
            blob: blob.clone(),
            size,
            received,
            local: Vec::new(),
            relay: Vec::new(),
        };
        if local {
            acceptance.local.push(to.clone());
        } else {
            acceptance.relay.push(queue_entry(NewEntry {
                blob: &blob,
                size,
                mail_from: "",
                ret: None,
                envid: None,
                domain,
                recipients: vec![QueuedRecipient {
                    address: to.clone(),
                    notify: vec!["NEVER".into()],
                    orcpt: None,
                }],
                received,
            }));
        }
        if let Err(e) = self.meta.accept(&acceptance).await {
            let _ = self.blobs.delete(&blob).await;
            return Err(e);
        }
        if local {
            Ok(Injected::Local)
        } else {
            self.queue_wakeup.notify_one();
            Ok(Injected::Queued)
        }
    }

    /// The `From` of DSNs: the mailer daemon of the first local domain.
    pub(crate) fn mailer_daemon(&self) -> String {
        let domain = self
            .policy
            .domains
            .first()
            .map_or(self.policy.hostname.as_str(), String::as_str);
        format!("Mail Delivery System <MAILER-DAEMON@{domain}>")
    }
}
