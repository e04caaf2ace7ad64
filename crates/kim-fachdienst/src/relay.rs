//! The relay queue worker: sends queued messages to the Fachdienst responsible for their
//! domain (kim-spec §6.1: SMTPS with mutual TLS between Fachdienste).
//!
//! For every due entry ([`kim_store::QueueStore::due`]) the worker tries the route's MTAs
//! in order: TCP, TLS with the Fachdienst's client certificate, EHLO, then one transaction
//! with the stored envelope (`RET`, `ENVID`, per recipient `NOTIFY`, `ORCPT`). Per recipient:
//! - accepted: done; if the peer does not offer DSN and the sender asked for
//!   `NOTIFY=SUCCESS`, a `relayed` DSN (RFC 3461 §5.2.2);
//! - permanently refused (5xx): a failure DSN to the sender (if NOTIFY allows);
//! - transiently refused or no MTA reachable: retried with exponential back-off
//!   ([`crate::RetryPolicy`]); after the first failed attempt a delay DSN goes to senders
//!   that asked with `NOTIFY=DELAY`; once the retry window since arrival has passed, the
//!   recipient is bounced with `Status: 4.4.7`.
//!
//! Bounces are stored before the entry changes, so a crash can repeat a bounce but never
//! lose one. The entry is removed when no recipient is left, and its blob deleted if no
//! other record uses it.

use std::time::Duration;

use kim_smtp::client::{ClientError, SmtpClient};
use kim_smtp::{MailFrom, Notify, RcptTo, Reply, Ret};
use kim_store::{BlobKey, QueueEntry, QueuedRecipient, StoreError};
use kim_tls::tokio_rustls::TlsConnector;
use rustls_pki_types::ServerName;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::dsn::{self, Action, Recipient};
use crate::routes::Target;
use crate::{Fachdienst, now};

/// Entries taken per round.
const BATCH: usize = 32;
/// Largest original header returned in a bounce.
const MAX_BOUNCE_HEADER: usize = 256 * 1024;

/// Why a delivery attempt did not get through to a peer, split by blame.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The domain has no route or no TLS client configuration (our configuration).
    #[error("no route to {0}")]
    NoRoute(String),
    /// A route's host is not a valid TLS server name (our configuration).
    #[error("invalid server name {0:?}")]
    ServerName(String),
    /// Connecting, TLS or the SMTP dialogue with the peer failed.
    #[error("{target}: {source}")]
    Peer {
        /// `host:port`.
        target: String,
        /// What went wrong.
        source: ClientError,
    },
    /// Reading the queued message failed (our storage).
    #[error("storage: {0}")]
    Storage(#[from] StoreError),
}

impl RelayError {
    fn is_permanent(&self) -> bool {
        match self {
            RelayError::NoRoute(_) | RelayError::ServerName(_) => true,
            RelayError::Peer { source, .. } => source.is_permanent(),
            RelayError::Storage(_) => false,
        }
    }
}

/// The result for one recipient of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Accepted by the peer; `peer_dsn` says whether it took the DSN request along.
    Delivered {
        peer_dsn: bool,
    },
    Failed {
        status: String,
        diagnostic: String,
    },
    Retry {
        diagnostic: String,
    },
}

/// Starts the worker; it runs until `shutdown` is cancelled.
pub fn spawn(fd: Fachdienst, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(run(fd, shutdown))
}

/// The worker loop: a round whenever woken (new entry) or every poll interval.
pub async fn run(fd: Fachdienst, shutdown: CancellationToken) {
    loop {
        let handled = tokio::select! {
            () = shutdown.cancelled() => return,
            handled = run_once(&fd) => handled,
        };
        if handled == BATCH {
            continue;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = fd.queue_wakeup.notified() => {}
            () = tokio::time::sleep(fd.policy.retry.poll_interval) => {}
        }
    }
}

/// One round over the due entries; returns how many were handled.
pub async fn run_once(fd: &Fachdienst) -> usize {
    let due = match fd.meta.due(now(), BATCH).await {
        Ok(due) => due,
        Err(e) => {
            tracing::error!(error = %e, "relay queue unreadable");
            return 0;
        }
    };
    let count = due.len();
    for entry in due {
        if let Err(e) = process(fd, entry).await {
            tracing::error!(error = %e, "relay queue entry not updated");
        }
    }
    count
}

async fn process(fd: &Fachdienst, entry: QueueEntry) -> Result<(), StoreError> {
    let verdicts = attempt_all(fd, &entry).await;
    let t = now();
    let expired = t >= entry.created.saturating_add(fd.policy.retry.window_secs());
    let mut bounced = Vec::new();
    let mut relayed = Vec::new();
    let mut remaining = Vec::new();
    let mut last_error = None;
    for (rcpt, verdict) in entry.recipients.iter().zip(verdicts) {
        match verdict {
            Verdict::Delivered { peer_dsn: true } => {}
            Verdict::Delivered { peer_dsn: false } => {
                relayed.push((rcpt, "2.0.0".to_owned(), String::new()));
            }
            Verdict::Failed { status, diagnostic } => bounced.push((rcpt, status, diagnostic)),
            Verdict::Retry { diagnostic } if expired => {
                bounced.push((rcpt, "4.4.7".into(), diagnostic));
            }
            Verdict::Retry { diagnostic } => {
                last_error = Some(diagnostic);
                remaining.push(rcpt.clone());
            }
        }
    }
    report(fd, &entry, &bounced, Action::Failed).await;
    report(fd, &entry, &relayed, Action::Relayed).await;
    if entry.attempts == 0 {
        let delayed: Vec<_> = remaining
            .iter()
            .map(|r| {
                (
                    r,
                    "4.4.1".to_owned(),
                    last_error.clone().unwrap_or_default(),
                )
            })
            .collect();
        report(fd, &entry, &delayed, Action::Delayed).await;
    }
    if remaining.is_empty() {
        if let Some(blob) = fd.meta.remove_queue_entry(&entry.id).await?
            && let Err(e) = fd.blobs.delete(&blob).await
        {
            tracing::warn!(error = %e, "cannot delete relayed blob");
        }
        return Ok(());
    }
    let attempts = entry.attempts.saturating_add(1);
    let next = t.saturating_add(fd.policy.retry.delay_after(attempts));
    tracing::info!(attempts, remaining = remaining.len(), "relay deferred");
    fd.meta
        .update_queue_entry(&QueueEntry {
            recipients: remaining,
            attempts,
            next_attempt: next,
            last_error,
            ..entry
        })
        .await
}

/// Tries the route's MTAs in order until one gives an answer per recipient.
async fn attempt_all(fd: &Fachdienst, entry: &QueueEntry) -> Vec<Verdict> {
    let all = |v: Verdict| vec![v; entry.recipients.len()];
    let (Some(targets), Some(_)) = (fd.routes.lookup(&entry.domain), fd.routes.tls()) else {
        let e = RelayError::NoRoute(entry.domain.clone());
        return all(Verdict::Failed {
            status: "5.4.4".into(),
            diagnostic: format!("x-local; {e}"),
        });
    };
    let mut last = RelayError::NoRoute(entry.domain.clone());
    for target in targets {
        match attempt(fd, entry, target).await {
            Ok(outcome) => return outcome,
            Err(e) if e.is_permanent() => {
                tracing::info!(error = %e, "relay refused permanently");
                return all(Verdict::Failed {
                    status: status_of_error(&e),
                    diagnostic: diagnostic_of_error(&e),
                });
            }
            Err(e) => {
                tracing::info!(error = %e, "relay attempt failed");
                last = e;
            }
        }
    }
    all(Verdict::Retry {
        diagnostic: diagnostic_of_error(&last),
    })
}

async fn attempt(
    fd: &Fachdienst,
    entry: &QueueEntry,
    target: &Target,
) -> Result<Vec<Verdict>, RelayError> {
    let timeout = fd.policy.retry.timeout;
    let name = format!("{}:{}", target.host, target.port);
    let peer = |source: ClientError| RelayError::Peer {
        target: name.clone(),
        source,
    };
    let tls = fd
        .routes
        .tls()
        .ok_or_else(|| RelayError::NoRoute(entry.domain.clone()))?;
    let server_name = ServerName::try_from(target.host.clone())
        .map_err(|_| RelayError::ServerName(target.host.clone()))?;
    let tcp = bounded(
        timeout,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(peer)?;
    let stream = bounded(
        timeout,
        TlsConnector::from(tls.clone()).connect(server_name, tcp),
    )
    .await
    .map_err(peer)?;
    let (mut client, _greeting) = SmtpClient::connect(stream, timeout).await.map_err(peer)?;
    let peer_dsn = client.ehlo(&fd.policy.hostname).await.map_err(peer)?.dsn;
    let content = fd.blobs.open(&entry.blob).await?;
    let rcpts: Vec<RcptTo> = entry.recipients.iter().map(rcpt_to).collect();
    let outcome = client
        .send(&mail_from(entry), &rcpts, content.reader)
        .await
        .map_err(peer)?;
    let _ = client.quit().await;
    Ok((0..rcpts.len())
        .map(|i| match outcome.recipient(i) {
            Some(Ok(_)) => Verdict::Delivered { peer_dsn },
            Some(Err(reply)) if reply.is_permanent() => Verdict::Failed {
                status: status_of(reply),
                diagnostic: diagnostic_of(reply),
            },
            Some(Err(reply)) => Verdict::Retry {
                diagnostic: diagnostic_of(reply),
            },
            None => Verdict::Retry {
                diagnostic: "x-local; no reply for this recipient".into(),
            },
        })
        .collect())
}

async fn bounded<T, E: Into<std::io::Error>>(
    timeout: Duration,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, ClientError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ClientError::Io(e.into())),
        Err(_) => Err(ClientError::Timeout(timeout)),
    }
}

fn mail_from(entry: &QueueEntry) -> MailFrom {
    MailFrom {
        address: entry.mail_from.clone(),
        size: Some(entry.size),
        ret: entry.ret.as_deref().map(|r| {
            if r.eq_ignore_ascii_case("FULL") {
                Ret::Full
            } else {
                Ret::Hdrs
            }
        }),
        envid: entry.envid.clone(),
        body: None,
    }
}

fn rcpt_to(r: &QueuedRecipient) -> RcptTo {
    let has = |w: &str| r.notify.iter().any(|n| n.eq_ignore_ascii_case(w));
    let notify = if r.notify.is_empty() {
        Notify::Default
    } else if has("NEVER") {
        Notify::Never
    } else {
        Notify::On {
            success: has("SUCCESS"),
            failure: has("FAILURE"),
            delay: has("DELAY"),
        }
    };
    RcptTo {
        address: r.address.clone(),
        notify,
        orcpt: r.orcpt.clone(),
    }
}

fn status_of(reply: &Reply) -> String {
    match reply.enhanced {
        Some((c, s, d)) => format!("{c}.{s}.{d}"),
        None if reply.code >= 500 => "5.0.0".into(),
        None => "4.0.0".into(),
    }
}

fn diagnostic_of(reply: &Reply) -> String {
    format!(
        "smtp; {} {}",
        reply.code,
        reply.text.replace(['\r', '\n'], " ")
    )
}

fn status_of_error(e: &RelayError) -> String {
    match e {
        RelayError::Peer {
            source: ClientError::Rejected { reply, .. },
            ..
        } => status_of(reply),
        RelayError::NoRoute(_) | RelayError::ServerName(_) => "5.4.4".into(),
        _ => "5.0.0".into(),
    }
}

fn diagnostic_of_error(e: &RelayError) -> String {
    match e {
        RelayError::Peer {
            source: ClientError::Rejected { reply, .. },
            ..
        } => diagnostic_of(reply),
        other => format!("x-local; {}", other.to_string().replace(['\r', '\n'], " ")),
    }
}

/// A failure, delay or relayed DSN for the recipients whose NOTIFY asks for it.
async fn report(
    fd: &Fachdienst,
    entry: &QueueEntry,
    affected: &[(&QueuedRecipient, String, String)],
    action: Action,
) {
    let wanted = |r: &QueuedRecipient| match action {
        Action::Delayed => dsn::wants_delay(&r.notify),
        Action::Relayed | Action::Delivered => dsn::wants_success(&r.notify),
        Action::Failed => dsn::wants_failure(&r.notify),
    };
    let recipients: Vec<Recipient> = affected
        .iter()
        .filter(|(r, _, _)| wanted(r))
        .map(|(r, status, diagnostic)| Recipient {
            final_recipient: r.address.clone(),
            original_recipient: r.orcpt.clone(),
            action,
            status: status.clone(),
            diagnostic: (!diagnostic.is_empty()).then(|| diagnostic.clone()),
        })
        .collect();
    if recipients.is_empty() || entry.mail_from.is_empty() {
        return;
    }
    let header = read_header(fd, &entry.blob).await;
    fd.send_dsn(
        &entry.mail_from,
        entry.envid.as_deref(),
        &header,
        entry.created,
        &recipients,
    )
    .await;
}

/// The header block of a stored message (at most [`MAX_BOUNCE_HEADER`] bytes).
async fn read_header(fd: &Fachdienst, blob: &BlobKey) -> Vec<u8> {
    let mut header = Vec::new();
    let Ok(opened) = fd.blobs.open(blob).await else {
        return header;
    };
    let mut reader = opened.reader;
    let mut chunk = vec![0u8; 16 * 1024];
    while header.len() < MAX_BOUNCE_HEADER {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => header.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
        if header.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let end = crate::rfc5322::header_block(&header).len();
    header.truncate(end);
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_notify_becomes_the_rcpt_parameter_again() {
        let r = |notify: &[&str]| QueuedRecipient {
            address: "a@b".into(),
            notify: notify.iter().map(|s| (*s).to_owned()).collect(),
            orcpt: Some("A@b".into()),
        };
        assert_eq!(rcpt_to(&r(&[])).notify, Notify::Default);
        assert_eq!(rcpt_to(&r(&["NEVER"])).notify, Notify::Never);
        assert_eq!(
            rcpt_to(&r(&["SUCCESS", "FAILURE"])).to_command(true),
            "RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;A@b\r\n"
        );
    }

    #[test]
    fn status_and_diagnostic_come_from_the_reply() {
        let reply = Reply::new(550, (5, 1, 1), "no such\r\nmailbox");
        assert_eq!(status_of(&reply), "5.1.1");
        assert_eq!(diagnostic_of(&reply), "smtp; 550 no such  mailbox");
        assert_eq!(status_of(&Reply::plain(451, "later")), "4.0.0");
    }
}
