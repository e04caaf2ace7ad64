//! VZD client: finds the directory entries of a KIM address over LDAP or LDAPS (kim-spec §10:
//! search base `dc=data,dc=vzd`, filter `(mail=<address>)`, attributes `telematikID`,
//! `displayName`, `personalEntry`, `mail`, `komLeData`, `kimData`, `userCertificate;binary`).
//!
//! Main types:
//!
//! * [`VzdClient`] with [`VzdClientConfig`]: `lookup(&KimAddress)` returns **all** entries
//!   carrying the address (several entries with different Telematik-IDs are the caller's
//!   4003 case; none is an empty list). A bounded pool of LDAP connections (reused, dropped
//!   and re-opened on error), a per-request timeout, and a [`TtlCache`] of answers (positive
//!   and negative TTLs, bounded size).
//! * [`VzdEntry`]: Telematik-ID, display name, `personalEntry`, addresses, per-address KIM
//!   version ([`VzdEntry::version_of`], missing ⇒ 1.0), certificates split by key algorithm
//!   ([`VzdEntry::rsa_certificates`], [`VzdEntry::ecc_certificates`]),
//!   [`VzdEntry::usable_certificates`] (validity window and Telematik-ID) and
//!   [`VzdEntry::check_telematik_ids`] (the 4005 case).
//! * [`VzdError`], split by blame, with [`VzdError::is_transient`].
//!
//! ```no_run
//! use kim_types::KimAddress;
//! use kim_vzd::{VzdClient, VzdClientConfig};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = VzdClient::new(VzdClientConfig::new("ldap://127.0.0.1:3389"))?;
//! let address = KimAddress::parse("praxis.schmidt@test.kim.telematik")?;
//! let entries = client.lookup(&address).await?;
//! match entries.as_slice() {
//!     [] => println!("not in the directory"),
//!     [entry] => {
//!         entry.check_telematik_ids()?; // 4005 otherwise
//!         let version = entry.version_of(&address);
//!         let certs = entry.usable_certificates_now();
//!         println!("{} certificate(s), KIM {version}", certs.len());
//!     }
//!     _ => println!("several entries: 4003"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Invariants: nothing the directory sends can panic the client (entries are read with a
//! checked PDU reader, not `ldap3::SearchEntry::construct`); a connection that saw an error is
//! never returned to the pool. TLS configuration comes from the caller (`kim-tls`), including
//! the client certificate the Konnektor's LDAP proxy requires (A_21223-01).

pub mod cache;
mod client;
mod entry;
mod error;
mod pdu;

pub use cache::{CacheConfig, TtlCache};
pub use client::{ClientStats, LOOKUP_ATTRIBUTES, VZD_BASE_DN, VzdClient, VzdClientConfig};
pub use entry::{KeyAlgorithm, RawAttributes, TelematikIdMismatch, VzdCertificate, VzdEntry};
pub use error::VzdError;
