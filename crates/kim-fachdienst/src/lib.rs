//! The KIM Fachdienst (provider side): the MTA that takes submissions from Clientmodule over
//! SMTPS, relays to other Fachdienste and delivers locally, and the POP3S server the
//! Clientmodule retrieve from, on the crash-safe storage of `kim-store`.
//!
//! Main types:
//! - [`Fachdienst`]: storage, policy and routing table, shared by every part.
//! - [`mta::Mta`]: the [`kim_smtp::server::SmtpBackend`], in two roles. Submission: SMTP AUTH
//!   against the accounts, A_23421 (AUTH user = MAIL FROM), A_23422 (originator header
//!   checks), local delivery and relay. Inbound (from other Fachdienste, mutual TLS, no AUTH):
//!   local recipients only.
//! - [`routes::Routes`]: domain or `*.suffix` → MTAs, with the TLS client configuration.
//! - [`relay`]: the queue worker that sends to other Fachdienste with back-off and bounces.
//! - [`dsn`]: delivery status notifications (RFC 3464, KOM-LE-A_2147).
//! - [`autoreply`]: out-of-office replies (KOM-LE-A_2223/2224/2277/2278, RFC 3834).
//! - [`purge`]: retention (`dataTimeToLive`) and end of the deregistration window.
//! - [`pop3::Pop3`]: the [`kim_pop3::Pop3Backend`]: login, one session per mailbox,
//!   deletions only in the UPDATE state.
//! - [`server::start`]: the listeners (implicit TLS requiring a client certificate) and the
//!   background jobs.
//!
//! Invariants:
//! - A message is answered `250` only after its blob and every record for it (mailbox
//!   entries and relay queue entries) are durable, in one transaction.
//! - No open relay: a foreign domain is accepted only from an authenticated local sender and
//!   only if it has a route; the inbound listener accepts local recipients only.
//! - A queue entry is removed only after the peer accepted the message or the sender was
//!   notified (bounce stored first); the blob is deleted with the last record using it.
//! - Generated mail (DSNs, autoreplies) has the null sender `<>`; no DSN and no autoreply is
//!   ever sent about a message with the null sender, so they cannot loop.
//! - A mailbox is changed by a POP3 session only in the UPDATE state; the retention purge
//!   takes the same mailbox lock and skips a mailbox with an open session.
//! - Three consecutive wrong passwords lock an account (KOM-LE-A_2167-05); locked accounts,
//!   accounts of locked contracts and deregistered accounts cannot send; deregistered
//!   accounts can still retrieve until `deregDate`.

mod accounts;
pub mod autoreply;
pub mod dsn;
mod inject;
pub mod mta;
mod originator;
pub mod pop3;
pub mod purge;
pub mod relay;
mod rfc5322;
pub mod routes;
pub mod server;

use std::sync::Arc;
use std::time::Duration;

pub use accounts::{AuthFailure, Purpose};
use kim_store::{BlobStore, MetaStore};
use routes::Routes;

/// Failed logins after which an account is locked (KOM-LE-A_2167-05).
pub const LOCK_THRESHOLD: u32 = 3;

/// Policy settings of a Fachdienst.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Host name in greetings.
    pub hostname: String,
    /// Mail domains served here (lower case).
    pub domains: Vec<String>,
    /// Largest message accepted (EHLO SIZE). Must cover a sealed 15 MiB Client-Mail.
    pub max_message_size: u64,
    /// Domain suffixes allowed in `Reply-To` (A_23422): `.kim.telematik` in production,
    /// `.kim.telematik-test` in the test environments.
    pub reply_to_suffixes: Vec<String>,
    /// Relay retry schedule.
    pub retry: RetryPolicy,
    /// How often the retention purge runs.
    pub purge_interval: Duration,
}

/// When the relay queue retries a transiently failed delivery and when it gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry.
    pub first_retry: Duration,
    /// Each further delay is the previous one times this factor.
    pub factor: u32,
    /// Upper bound of a single delay.
    pub max_interval: Duration,
    /// After this time since arrival, remaining recipients are bounced.
    pub window: Duration,
    /// How often the worker looks for due entries when nothing wakes it.
    pub poll_interval: Duration,
    /// Bound of every wait on a peer (connect, TLS, each SMTP reply).
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// 5 minutes, doubling, at most 4 hours apart, for 5 days; poll every 30 s; 5 minute
    /// timeouts (RFC 5321 §4.5.3.2).
    fn default() -> Self {
        Self {
            first_retry: Duration::from_secs(300),
            factor: 2,
            max_interval: Duration::from_secs(4 * 3600),
            window: Duration::from_secs(5 * 86_400),
            poll_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// Delay in seconds before attempt number `attempts + 1` (after `attempts` failures).
    #[must_use]
    pub fn delay_after(&self, attempts: u32) -> i64 {
        let first = self.first_retry.as_secs().max(1);
        let max = self.max_interval.as_secs().max(first);
        let factor = u64::from(self.factor.max(1));
        let mut delay = first;
        for _ in 1..attempts {
            delay = delay.saturating_mul(factor).min(max);
        }
        i64::try_from(delay.min(max)).unwrap_or(i64::MAX)
    }

    /// The retry window in whole seconds.
    #[must_use]
    pub fn window_secs(&self) -> i64 {
        i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX)
    }
}

impl Policy {
    /// Defaults for `domains`: 32 MiB messages (a 15 MiB Client-Mail is ≈ 21 MiB sealed and
    /// base64-encoded), production and test Reply-To suffixes.
    #[must_use]
    pub fn new(hostname: impl Into<String>, domains: Vec<String>) -> Self {
        Self {
            hostname: hostname.into(),
            domains: domains
                .into_iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            max_message_size: 32 * 1024 * 1024,
            reply_to_suffixes: vec![".kim.telematik".into(), ".kim.telematik-test".into()],
            retry: RetryPolicy::default(),
            purge_interval: Duration::from_secs(3600),
        }
    }

    /// Whether `domain` is served here.
    #[must_use]
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// Storage and policy shared by the servers.
#[derive(Clone)]
pub struct Fachdienst {
    /// Records.
    pub meta: Arc<dyn MetaStore>,
    /// Message bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// Settings.
    pub policy: Arc<Policy>,
    /// Where foreign domains are relayed to.
    pub routes: Arc<Routes>,
    /// Wakes the relay worker when an entry was queued.
    pub queue_wakeup: Arc<tokio::sync::Notify>,
    /// Recent successful password checks (a Clientmodul logs in for every mail, the KAS
    /// for every request): 10 minutes, at most 100 000 entries.
    pub passwords: Arc<kim_store::password::VerifyCache>,
}

impl Fachdienst {
    /// A Fachdienst without relay routes.
    #[must_use]
    pub fn new(meta: Arc<dyn MetaStore>, blobs: Arc<dyn BlobStore>, policy: Policy) -> Self {
        Self {
            meta,
            blobs,
            policy: Arc::new(policy),
            routes: Arc::new(Routes::none()),
            queue_wakeup: Arc::default(),
            passwords: Arc::new(kim_store::password::VerifyCache::new(
                Duration::from_secs(600),
                100_000,
            )),
        }
    }

    /// The same Fachdienst relaying with `routes`.
    #[must_use]
    pub fn with_routes(mut self, routes: Routes) -> Self {
        self.routes = Arc::new(routes);
        self
    }
}

impl std::fmt::Debug for Fachdienst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fachdienst")
            .field("blobs", &self.blobs)
            .field("policy", &self.policy)
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

/// Current time in Unix seconds.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_grows_by_the_factor_up_to_the_maximum() {
        let retry = RetryPolicy {
            first_retry: Duration::from_secs(60),
            factor: 3,
            max_interval: Duration::from_secs(1000),
            ..RetryPolicy::default()
        };
        let delays: Vec<i64> = (1..=5).map(|n| retry.delay_after(n)).collect();
        assert_eq!(delays, vec![60, 180, 540, 1000, 1000]);
    }
}
