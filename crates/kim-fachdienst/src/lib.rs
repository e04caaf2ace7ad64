//! The KIM Fachdienst (provider side): the MTA that takes submissions from Clientmodule over
//! SMTPS and the POP3S server they retrieve from, on the crash-safe storage of `kim-store`.
//!
//! Main types:
//! - [`Fachdienst`]: storage plus policy, shared by both servers.
//! - [`mta::Mta`]: the [`kim_smtp::server::SmtpBackend`]: SMTP AUTH against the accounts,
//!   A_23421 (AUTH user = MAIL FROM), A_23422 (originator header checks), local delivery.
//! - [`pop3::Pop3`]: the [`kim_pop3::Pop3Backend`]: login, one session per mailbox,
//!   deletions only in the UPDATE state.
//! - [`server::start`]: both listeners with implicit TLS that requires a client certificate
//!   (C.CM.TLS-CS).
//!
//! Invariants:
//! - A message is answered `250` only after its blob and the mailbox records are durable.
//! - A mailbox is changed only by a POP3 session that reached the UPDATE state.
//! - Mail for a domain this Fachdienst does not serve is refused (no open relay); relaying to
//!   other Fachdienste is not part of this crate yet.
//! - Three consecutive wrong passwords lock an account (KOM-LE-A_2167-05); locked accounts,
//!   accounts of locked contracts and deregistered accounts cannot send; deregistered
//!   accounts can still retrieve until `deregDate`.

mod accounts;
pub mod mta;
mod originator;
pub mod pop3;
pub mod server;

use std::sync::Arc;

pub use accounts::{AuthFailure, Purpose};
use kim_store::{BlobStore, MetaStore};

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
}

impl std::fmt::Debug for Fachdienst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fachdienst")
            .field("blobs", &self.blobs)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Current time in Unix seconds.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
