//! A simulated Verzeichnisdienst (VZD) for development, tests and the sandbox: an LDAPv3
//! directory under `dc=data,dc=vzd` (kim-spec §10) as a Clientmodul queries it, and the
//! KOM-LE Fachdaten part of the maintenance REST API `I_Directory_Application_Maintenance`
//! (api-vzd yaml 1.4.9) as a Fachdienst writes it. Not a production component.
//!
//! Main types:
//!
//! * [`VzdSim::start`] → [`RunningVzd`]: bound LDAP / LDAPS / REST addresses, statistics,
//!   runtime seeding, shutdown.
//! * [`VzdSimConfig`] (TOML-able, validated; errors name key, value and allowed range).
//! * [`SeedEntry`]: base data of an entry (Telematik-ID, holder, card kind, profession OID,
//!   DER certificates, addresses with versions); [`seeds_from_test_pki`] builds them from the
//!   test PKI's cards.
//! * [`model`]: entries and their LDAP attributes; [`filter`]: LDAP filter evaluation;
//!   [`rest`]: the maintenance API; [`store`]: SQLite persistence.
//!
//! Invariants:
//!
//! * Only entries with at least one certificate are visible to LDAP searches and the REST
//!   search (the VZD "flat list").
//! * Fachdaten written through the REST API are in SQLite before the response is sent and are
//!   visible to the next LDAP search; seeding never overwrites persisted Fachdaten.
//! * No request, however malformed, panics the server: undecodable LDAP input closes only that
//!   connection.

pub mod config;
pub mod filter;
mod ldap;
pub mod model;
pub mod rest;
mod server;
pub mod store;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use kim_testkit::pki::{CardKind, KeyAlgorithm, TestPki};
use kim_types::{KimAddress, KimVersion, TelematikId};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

pub use config::{ApiClient, ConfigError, TlsFiles, VzdSimConfig};
use model::Directory;
pub use model::{BASE_DN, HolderKind, PostalAddress, SeedEntry};
use server::Protocol;
use store::{Store, StoreError};

/// `maxKOMLEadr` given to every entry seeded from the test PKI.
pub const TEST_PKI_MAX_KOM_LE_ADR: u32 = 3;

/// Why the simulator could not start or seed.
#[derive(Debug, thiserror::Error)]
pub enum VzdSimError {
    /// Invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Requested address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// LDAPS or HTTPS configured without a TLS server configuration.
    #[error("{listener} needs a TLS server configuration (config key tls)")]
    TlsMissing {
        /// `ldaps_listen` or `rest_https`.
        listener: &'static str,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// TLS material could not be loaded.
    #[error("config key {key}: {source}")]
    Tls {
        /// The config key naming the file.
        key: &'static str,
        /// The cause.
        source: kim_tls::TlsError,
    },
    /// A client certificate file could not be read.
    #[error("config key api_clients.client_certificate_pem: {path}: {reason}")]
    ClientCertificate {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// Seed data are unusable (e.g. a test PKI card with an invalid Telematik-ID).
    #[error("seed data: {0}")]
    Seed(String),
    /// A lock was poisoned by a panicking thread.
    #[error("internal state lock poisoned")]
    Poisoned,
}

/// Counters of a running simulator.
#[derive(Debug, Default)]
pub struct Stats {
    /// LDAP(S) connections accepted.
    pub ldap_connections: AtomicU64,
    /// LDAP search requests received.
    pub ldap_searches: AtomicU64,
}

/// State shared by all listeners.
#[derive(Debug)]
pub struct Shared {
    config: VzdSimConfig,
    /// FAD and DER leaf certificate of each REST client configured by certificate.
    client_certs: Vec<(String, Vec<u8>)>,
    directory: RwLock<Directory>,
    store: Mutex<Store>,
    stats: Stats,
}

/// Entry point of the simulator.
#[derive(Debug)]
pub struct VzdSim;

/// Extra start options that do not fit a TOML file.
#[derive(Debug, Default)]
pub struct StartOptions {
    /// TLS server configuration for LDAPS and HTTPS (overrides `config.tls`).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Entries seeded before the listeners open (after the test PKI seeds, if enabled).
    pub seeds: Vec<SeedEntry>,
}

/// A running simulator. Dropping it stops the listeners.
#[derive(Debug)]
pub struct RunningVzd {
    /// Bound plain LDAP address.
    pub ldap_addr: Option<SocketAddr>,
    /// Bound LDAPS address.
    pub ldaps_addr: Option<SocketAddr>,
    /// Bound REST address.
    pub rest_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl VzdSim {
    /// Validates `config`, opens the data directory, seeds and starts the listeners.
    ///
    /// # Errors
    /// [`VzdSimError`] naming the failing part.
    pub async fn start(config: VzdSimConfig) -> Result<RunningVzd, VzdSimError> {
        Self::start_with(config, StartOptions::default()).await
    }

    /// As [`VzdSim::start`], with a TLS configuration and extra seeds.
    ///
    /// # Errors
    /// [`VzdSimError`] naming the failing part.
    pub async fn start_with(
        config: VzdSimConfig,
        options: StartOptions,
    ) -> Result<RunningVzd, VzdSimError> {
        config.validate()?;
        let tls = match options.tls {
            Some(t) => Some(t),
            None => tls_from_files(&config)?,
        };
        let store = Store::open(&config.data_dir)?;
        let default_fad = config
            .api_clients
            .first()
            .map_or("kim-sim", |c| c.fad.as_str());
        let mut directory = Directory::new(store.load()?, default_fad);
        if config.seed_test_pki {
            let pki = TestPki::shared_default()
                .map_err(|e| VzdSimError::Seed(format!("test PKI: {e}")))?;
            for seed in seeds_from_test_pki(pki)? {
                directory.seed(seed);
            }
        }
        for seed in options.seeds {
            directory.seed(seed);
        }
        let client_certs = load_client_certificates(&config)?;
        let shared = Arc::new(Shared {
            client_certs,
            config,
            directory: RwLock::new(directory),
            store: Mutex::new(store),
            stats: Stats::default(),
        });
        start_listeners(shared, tls).await
    }
}

/// Server configuration from `config.tls` (PEM files), if set.
fn tls_from_files(config: &VzdSimConfig) -> Result<Option<Arc<rustls::ServerConfig>>, VzdSimError> {
    let Some(files) = &config.tls else {
        return Ok(None);
    };
    let identity =
        kim_tls::Identity::from_files(&files.chain_pem, &files.key_pem).map_err(|source| {
            VzdSimError::Tls {
                key: "tls.chain_pem",
                source,
            }
        })?;
    let client_auth = match &files.client_ca_pem {
        Some(path) => kim_tls::ClientAuth::Optional(
            kim_tls::TrustAnchors::from_file(path).map_err(|source| VzdSimError::Tls {
                key: "tls.client_ca_pem",
                source,
            })?,
        ),
        None => kim_tls::ClientAuth::None,
    };
    kim_tls::server_config(&identity, client_auth)
        .map(Some)
        .map_err(|source| VzdSimError::Tls { key: "tls", source })
}

fn load_client_certificates(config: &VzdSimConfig) -> Result<Vec<(String, Vec<u8>)>, VzdSimError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut out = Vec::new();
    for client in &config.api_clients {
        let Some(path) = &client.client_certificate_pem else {
            continue;
        };
        let der =
            CertificateDer::from_pem_file(path).map_err(|e| VzdSimError::ClientCertificate {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        out.push((client.fad.clone(), der.to_vec()));
    }
    Ok(out)
}

async fn start_listeners(
    shared: Arc<Shared>,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<RunningVzd, VzdSimError> {
    let cancel = CancellationToken::new();
    let mut running = RunningVzd {
        ldap_addr: None,
        ldaps_addr: None,
        rest_addr: None,
        shared: Arc::clone(&shared),
        cancel: cancel.clone(),
        tasks: Vec::new(),
    };
    let acceptor = |listener: &'static str| {
        tls.clone()
            .map(TlsAcceptor::from)
            .ok_or(VzdSimError::TlsMissing { listener })
    };
    let c = &shared.config;
    let plan = [
        (c.ldap_listen, Protocol::Ldap, None),
        (c.ldaps_listen, Protocol::Ldap, Some("ldaps_listen")),
        (
            c.rest_listen,
            Protocol::Rest,
            c.rest_https.then_some("rest_https"),
        ),
    ];
    for (i, (addr, protocol, tls_key)) in plan.into_iter().enumerate() {
        let Some(addr) = addr else { continue };
        let acc = tls_key.map(acceptor).transpose()?;
        let (bound, task) =
            server::listen(addr, protocol, acc, Arc::clone(&shared), cancel.clone()).await?;
        running.tasks.push(task);
        match i {
            0 => running.ldap_addr = Some(bound),
            1 => running.ldaps_addr = Some(bound),
            _ => running.rest_addr = Some(bound),
        }
    }
    Ok(running)
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// LDAP(S) connections accepted so far.
    pub ldap_connections: u64,
    /// LDAP searches received so far.
    pub ldap_searches: u64,
}

impl RunningVzd {
    /// Adds or replaces an entry while running (persisted Fachdaten still win).
    ///
    /// # Errors
    /// [`VzdSimError::Poisoned`] if the directory lock is poisoned.
    pub fn seed(&self, entry: SeedEntry) -> Result<(), VzdSimError> {
        let mut dir = self
            .shared
            .directory
            .write()
            .map_err(|_| VzdSimError::Poisoned)?;
        dir.seed(entry);
        Ok(())
    }

    /// Current counters.
    #[must_use]
    pub fn stats(&self) -> StatsSnapshot {
        let s = &self.shared.stats;
        StatsSnapshot {
            ldap_connections: s.ldap_connections.load(Ordering::Relaxed),
            ldap_searches: s.ldap_searches.load(Ordering::Relaxed),
        }
    }

    /// The configuration the simulator runs with.
    #[must_use]
    pub fn config(&self) -> &VzdSimConfig {
        &self.shared.config
    }

    /// Stops all listeners and open connections and waits for the accept loops to end.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for RunningVzd {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// One seed per card of `pki`: SMC-B → institution, HBA → person; the card's ENC certificates
/// (RSA and ECC), its `email` as the only address with version `1.5`, `maxKOMLEadr`
/// [`TEST_PKI_MAX_KOM_LE_ADR`]. `entryType` and the postal address are simulator placeholders.
///
/// # Errors
/// [`VzdSimError::Seed`] when a card's Telematik-ID or address does not parse.
pub fn seeds_from_test_pki(pki: &TestPki) -> Result<Vec<SeedEntry>, VzdSimError> {
    let mut out = Vec::with_capacity(pki.cards.len());
    for card in &pki.cards {
        let spec = &card.spec;
        let telematik_id = TelematikId::parse(&spec.telematik_id)
            .map_err(|e| VzdSimError::Seed(format!("{}: {e}", spec.telematik_id)))?;
        let mut addresses = Vec::new();
        if let Some(mail) = &spec.email {
            let a =
                KimAddress::parse(mail).map_err(|e| VzdSimError::Seed(format!("{mail}: {e}")))?;
            addresses.push((a, KimVersion::V1_5));
        }
        let (kind, entry_type) = match spec.kind {
            CardKind::Smcb => (HolderKind::Institution, "2"),
            CardKind::Hba => (HolderKind::Person, "1"),
        };
        let (given_name, surname) = match kind {
            HolderKind::Person => split_person_name(&spec.holder),
            HolderKind::Institution => (None, None),
        };
        out.push(SeedEntry {
            telematik_id,
            holder: spec.holder.clone(),
            kind,
            profession_oid: spec.profession_oid.to_string(),
            entry_type: entry_type.into(),
            domain_ids: Vec::new(),
            given_name,
            surname,
            postal: Some(PostalAddress {
                street: "Friedrichstraße 1".into(),
                postal_code: "10117".into(),
                locality: "Berlin".into(),
                state: "Berlin".into(),
                country: "DE".into(),
            }),
            certificates: KeyAlgorithm::ALL
                .iter()
                .map(|alg| card.enc(*alg).certificate_der.clone())
                .collect(),
            addresses,
            max_kom_le_adr: Some(TEST_PKI_MAX_KOM_LE_ADR),
        });
    }
    Ok(out)
}

/// `givenName` and `sn` from a holder name: titles (`Dr.`, …) and the `TEST-ONLY` marker are
/// dropped, the last remaining word is the surname.
fn split_person_name(holder: &str) -> (Option<String>, Option<String>) {
    let words: Vec<&str> = holder
        .split_whitespace()
        .filter(|w| !w.ends_with('.') && *w != "TEST-ONLY")
        .collect();
    match words.split_last() {
        Some((sn, given)) if !given.is_empty() => (Some(given.join(" ")), Some((*sn).into())),
        Some((sn, _)) => (None, Some((*sn).into())),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn person_names_split_into_given_name_and_surname() {
        assert_eq!(
            split_person_name("Dr. Alice Schmidt TEST-ONLY"),
            (Some("Alice".into()), Some("Schmidt".into()))
        );
        assert_eq!(split_person_name("Weber"), (None, Some("Weber".into())));
    }

    #[test]
    fn test_pki_seeds_carry_both_enc_certificates() {
        let pki = TestPki::shared_default().unwrap();
        let seeds = seeds_from_test_pki(pki).unwrap();
        assert_eq!(seeds.len(), pki.cards.len());
        let hba = seeds.iter().find(|s| s.kind == HolderKind::Person).unwrap();
        assert_eq!(hba.certificates.len(), 2);
        let card = pki.card(hba.telematik_id.as_str()).unwrap();
        assert_eq!(
            hba.certificates[1],
            card.enc(KeyAlgorithm::BrainpoolP256r1).certificate_der
        );
    }
}
