//! The MTA's submission policy: [`Mta`] implements [`SmtpBackend`] for the `kim-smtp` engine.
//!
//! - AUTH PLAIN/LOGIN with the KIM address and the mailbox password (KOM-LE-A_2161); three
//!   wrong passwords lock the account.
//! - A_23421: the AUTH user must equal the MAIL FROM address.
//! - KOM-LE-A_2147: only `RET=HDRS` is allowed for DSNs.
//! - SIZE (at MAIL and on the content) is enforced by the engine with
//!   [`crate::Policy::max_message_size`].
//! - RCPT TO: a registered local account, or (submission only, authenticated sender) an
//!   address in a foreign domain that has a route; anything else is refused with
//!   `550 5.7.1` (no open relay).
//! - A_23422: the header's originator fields are checked before the message is accepted.
//! - The message is stored durably (blob committed, mailbox records and one relay queue
//!   entry per foreign domain committed in one transaction) before `250`.
//! - After local delivery: success DSNs for `NOTIFY=SUCCESS` and out-of-office replies.
//!
//! The inbound role serves other Fachdienste (mutual TLS, no AUTH): any sender outside the
//! local domains including the null sender of a DSN, local recipients only, no originator checks (the sending
//! Fachdienst made them).

use std::collections::BTreeMap;

use kim_smtp::server::{DataSpool, SessionInfo, SmtpBackend};
use kim_smtp::{Envelope, MailFrom, Notify, RcptTo, Reply, Ret};
use kim_store::{Acceptance, BlobWriter, Namespace, QueueEntry, QueuedRecipient};

use crate::accounts::{AuthFailure, Purpose};
use crate::inject::{NewEntry, domain_of, queue_entry};
use crate::{Fachdienst, now, originator};

/// Header bytes kept for the originator checks; a header block longer than this is refused.
const MAX_HEADER: usize = 256 * 1024;

/// Who the MTA serves on a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Clientmodule of this Fachdienst's accounts: AUTH required, relay allowed.
    Submission,
    /// Other Fachdienste: no AUTH, local recipients only.
    Inbound,
}

/// The SMTP backend of the Fachdienst.
#[derive(Debug, Clone)]
pub struct Mta {
    fd: Fachdienst,
    role: Role,
}

impl Mta {
    /// The submission MTA over `fd`.
    #[must_use]
    pub fn new(fd: Fachdienst) -> Self {
        Self {
            fd,
            role: Role::Submission,
        }
    }

    /// The MTA over `fd` in `role`.
    #[must_use]
    pub fn with_role(fd: Fachdienst, role: Role) -> Self {
        Self { fd, role }
    }
}

/// Message content being received: the blob and a copy of the header block.
pub struct Spool {
    writer: Box<dyn BlobWriter>,
    header: Vec<u8>,
    header_done: bool,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("written", &self.writer.written())
            .finish_non_exhaustive()
    }
}

impl DataSpool for Spool {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), Reply> {
        if !self.header_done {
            // Search only the new bytes (plus three for a CRLFCRLF across the chunk border).
            let from = self.header.len().saturating_sub(3);
            self.header.extend_from_slice(chunk);
            let tail = self.header.get(from..).unwrap_or_default();
            if let Some(end) = find(tail, b"\r\n\r\n").map(|i| from + i) {
                self.header.truncate(end + 4);
                self.header_done = true;
            } else if self.header.len() > MAX_HEADER {
                return Err(Reply::new(552, (5, 3, 4), "Message header too long"));
            }
        }
        self.writer.write(chunk).await.map_err(|e| {
            tracing::error!(error = %e, "spool write failed");
            Reply::new(451, (4, 3, 0), "Temporary storage failure, try again later")
        })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn temporary() -> Reply {
    Reply::new(451, (4, 3, 0), "Temporary storage failure, try again later")
}

fn relay_denied() -> Reply {
    Reply::new(
        550,
        (5, 7, 1),
        "Relaying denied: recipient domain not served here",
    )
}

/// NOTIFY as stored in the queue (RFC 3461 keywords).
pub(crate) fn notify_words(notify: Notify) -> Vec<String> {
    match notify {
        Notify::Default => Vec::new(),
        Notify::Never => vec!["NEVER".into()],
        Notify::On {
            success,
            failure,
            delay,
        } => [(success, "SUCCESS"), (failure, "FAILURE"), (delay, "DELAY")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, w)| (*w).to_owned())
            .collect(),
    }
}

impl SmtpBackend for Mta {
    type Spool = Spool;

    async fn authenticate(
        &self,
        _s: &SessionInfo,
        user: &str,
        password: &str,
    ) -> Result<(), Reply> {
        match self.fd.login(user, password, Purpose::Send).await {
            Ok(_) => Ok(()),
            Err(AuthFailure::Invalid) => Err(Reply::new(
                535,
                (5, 7, 8),
                "Authentication credentials invalid",
            )),
            Err(AuthFailure::Temporary) => Err(Reply::new(
                454,
                (4, 7, 0),
                "Temporary authentication failure",
            )),
            Err(
                e @ (AuthFailure::Locked | AuthFailure::ContractLocked | AuthFailure::Deregistered),
            ) => Err(Reply::new(
                535,
                (5, 7, 8),
                format!("Authentication refused: {e}"),
            )),
        }
    }

    async fn mail_from(
        &self,
        _s: &SessionInfo,
        auth_user: Option<&str>,
        mail: &MailFrom,
    ) -> Result<(), Reply> {
        if mail.ret == Some(Ret::Full) {
            return Err(Reply::new(555, (5, 5, 4), "Only RET=HDRS is supported"));
        }
        if self.role == Role::Inbound {
            // Mail from this Fachdienst's own domains is only ever submitted here.
            if self.fd.policy.is_local_domain(domain_of(&mail.address)) {
                return Err(Reply::new(
                    550,
                    (5, 7, 1),
                    "Sender address in a local domain must be submitted with AUTH",
                ));
            }
            return Ok(());
        }
        let Some(user) = auth_user else {
            return Err(Reply::new(530, (5, 7, 0), "Authentication required"));
        };
        // A_23421: the authenticated user and the envelope sender are the same address.
        if !user.trim().eq_ignore_ascii_case(&mail.address) {
            return Err(Reply::new(
                550,
                (5, 7, 1),
                "Sender address does not match the authenticated user (A_23421)",
            ));
        }
        Ok(())
    }

    async fn rcpt_to(&self, _s: &SessionInfo, env: &Envelope, rcpt: &RcptTo) -> Result<(), Reply> {
        let address = rcpt.address.to_ascii_lowercase();
        let domain = domain_of(&address);
        if !self.fd.policy.is_local_domain(domain) {
            // Never an open relay: only an authenticated local sender, only routed domains.
            let may_relay = self.role == Role::Submission
                && env.auth_user.is_some()
                && self.fd.routes.lookup(domain).is_some();
            return if may_relay {
                Ok(())
            } else {
                Err(relay_denied())
            };
        }
        match self.fd.can_receive(&address).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Reply::new(
                550,
                (5, 1, 1),
                "Recipient address rejected: no such active mailbox",
            )),
            Err(e) => {
                tracing::error!(error = %e, "recipient lookup failed");
                Err(Reply::new(451, (4, 3, 0), "Temporary lookup failure"))
            }
        }
    }

    async fn data_start(&self, _s: &SessionInfo, _env: &Envelope) -> Result<Spool, Reply> {
        let writer = self.fd.blobs.create(Namespace::Mail).await.map_err(|e| {
            tracing::error!(error = %e, "cannot create spool");
            temporary()
        })?;
        Ok(Spool {
            writer,
            header: Vec::new(),
            header_done: false,
        })
    }

    async fn data_end(&self, _s: &SessionInfo, env: Envelope, spool: Spool) -> Reply {
        let rcpts: Vec<String> = env
            .rcpts
            .iter()
            .map(|r| r.address.to_ascii_lowercase())
            .collect();
        let mut header = spool.header;
        if !spool.header_done {
            // A message without a body: the whole content is the header.
            header.extend_from_slice(b"\r\n");
        }
        if self.role == Role::Submission
            && let Err(e) = originator::check(
                &header,
                &env.mail_from.address,
                &rcpts,
                &self.fd.policy.reply_to_suffixes,
            )
        {
            return Reply::new(550, (5, 7, 1), format!("Message refused (A_23422): {e}"));
        }
        let size = spool.writer.written();
        let blob = match spool.writer.commit().await {
            Ok(blob) => blob,
            Err(e) => {
                tracing::error!(error = %e, "cannot commit message");
                return temporary();
            }
        };
        let received = now();
        let mut acceptance = Acceptance {
            blob: blob.clone(),
            size,
            received,
            local: Vec::new(),
            relay: Vec::new(),
        };
        acceptance.relay = self.split(&env, &mut acceptance);
        if let Err(e) = self.fd.meta.accept(&acceptance).await {
            tracing::error!(error = %e, "cannot record message");
            let _ = self.fd.blobs.delete(&blob).await;
            return temporary();
        }
        if !acceptance.relay.is_empty() {
            self.fd.queue_wakeup.notify_one();
        }
        tracing::info!(
            size,
            local = acceptance.local.len(),
            relay = acceptance.relay.len(),
            "message accepted"
        );
        self.fd
            .after_local_delivery(&env, &header, &acceptance.local, received)
            .await;
        Reply::new(
            250,
            (2, 0, 0),
            format!(
                "Ok: queued as {}",
                blob.as_str().rsplit('/').next().unwrap_or("")
            ),
        )
    }
}

impl Mta {
    /// Fills `acceptance.local` and returns one relay entry per foreign domain.
    fn split(&self, env: &Envelope, acceptance: &mut Acceptance) -> Vec<QueueEntry> {
        let mut foreign: BTreeMap<String, Vec<QueuedRecipient>> = BTreeMap::new();
        for rcpt in &env.rcpts {
            let address = rcpt.address.to_ascii_lowercase();
            let domain = domain_of(&address).to_owned();
            if self.fd.policy.is_local_domain(&domain) {
                acceptance.local.push(address);
            } else {
                foreign.entry(domain).or_default().push(QueuedRecipient {
                    address,
                    notify: notify_words(rcpt.notify),
                    orcpt: rcpt.orcpt.clone(),
                });
            }
        }
        let ret = env.mail_from.ret.map(|r| match r {
            Ret::Full => "FULL".to_owned(),
            Ret::Hdrs => "HDRS".to_owned(),
        });
        foreign
            .into_iter()
            .map(|(domain, recipients)| {
                queue_entry(NewEntry {
                    blob: &acceptance.blob,
                    size: acceptance.size,
                    mail_from: &env.mail_from.address,
                    ret: ret.clone(),
                    envid: env.mail_from.envid.clone(),
                    domain: &domain,
                    recipients,
                    received: acceptance.received,
                })
            })
            .collect()
    }
}
