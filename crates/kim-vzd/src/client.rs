//! [`VzdClient`]: address lookups over LDAP/LDAPS with a bounded connection pool and a TTL
//! cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kim_types::KimAddress;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope};
use tokio::sync::{Mutex, Semaphore};

use crate::cache::{CacheConfig, TtlCache};
use crate::entry::VzdEntry;
use crate::{VzdError, pdu};

/// The VZD search base (kim-spec §10).
pub const VZD_BASE_DN: &str = "dc=data,dc=vzd";

/// Attributes requested for an address lookup.
pub const LOOKUP_ATTRIBUTES: [&str; 8] = [
    "telematikID",
    "displayName",
    "cn",
    "personalEntry",
    "mail",
    "komLeData",
    "kimData",
    "userCertificate;binary",
];

/// Client configuration.
#[derive(Debug, Clone)]
pub struct VzdClientConfig {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// TLS client configuration for `ldaps://` (build it with `kim-tls`, including the
    /// client certificate the Konnektor's LDAP proxy asks for, A_21223-01).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Simple bind DN and password; anonymous when `None`.
    pub bind: Option<(String, String)>,
    /// Search base.
    pub base_dn: String,
    /// Time allowed for TCP connect, TLS handshake and bind.
    pub connect_timeout: Duration,
    /// Time allowed for one search.
    pub request_timeout: Duration,
    /// Most connections open at once (1..=64).
    pub pool_size: usize,
    /// Answer cache.
    pub cache: CacheConfig,
}

impl VzdClientConfig {
    /// Defaults for `url`: base `dc=data,dc=vzd`, 5 s connect, 10 s request, 4 connections.
    #[must_use]
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            tls: None,
            bind: None,
            base_dn: VZD_BASE_DN.to_owned(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            pool_size: 4,
            cache: CacheConfig::default(),
        }
    }

    fn validate(&self) -> Result<(), VzdError> {
        let invalid = |key, value: String, allowed| VzdError::Config {
            key,
            value,
            allowed,
        };
        let ldaps = self.url.starts_with("ldaps://");
        if !ldaps && !self.url.starts_with("ldap://") {
            return Err(invalid("url", self.url.clone(), "ldap://… or ldaps://…"));
        }
        if ldaps && self.tls.is_none() {
            return Err(invalid(
                "tls",
                "none".into(),
                "a TLS client configuration for ldaps://",
            ));
        }
        if !(1..=64).contains(&self.pool_size) {
            return Err(invalid("pool_size", self.pool_size.to_string(), "1..=64"));
        }
        for (key, d) in [
            ("connect_timeout", self.connect_timeout),
            ("request_timeout", self.request_timeout),
        ] {
            if d.is_zero() || d > Duration::from_secs(300) {
                return Err(invalid(
                    key,
                    format!("{d:?}"),
                    "more than 0 s, at most 300 s",
                ));
            }
        }
        Ok(())
    }
}

/// Counters of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientStats {
    /// Lookups answered from the cache.
    pub cache_hits: u64,
    /// Searches sent to the directory.
    pub searches: u64,
    /// Connections opened.
    pub connections: u64,
}

/// Looks up KIM addresses in the VZD.
#[derive(Debug)]
pub struct VzdClient {
    config: VzdClientConfig,
    idle: Mutex<Vec<Ldap>>,
    permits: Semaphore,
    cache: std::sync::Mutex<TtlCache<String, Arc<Vec<VzdEntry>>>>,
    cache_hits: AtomicU64,
    searches: AtomicU64,
    connections: AtomicU64,
}

impl VzdClient {
    /// A client; connects lazily on the first lookup.
    ///
    /// # Errors
    /// [`VzdError::Config`] for an invalid configuration.
    pub fn new(config: VzdClientConfig) -> Result<Self, VzdError> {
        config.validate()?;
        Ok(Self {
            permits: Semaphore::new(config.pool_size),
            cache: std::sync::Mutex::new(TtlCache::new(config.cache)),
            config,
            idle: Mutex::new(Vec::new()),
            cache_hits: AtomicU64::new(0),
            searches: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        })
    }

    /// Every entry whose `mail` is `address` (several entries: the caller decides, 4003;
    /// none: empty). Answers are cached, empty ones with the negative TTL.
    ///
    /// # Errors
    /// [`VzdError`] when the directory cannot be asked or answers garbage. One unusable entry
    /// fails the whole lookup: dropping it could hide the several-entries case (4003).
    pub async fn lookup(&self, address: &KimAddress) -> Result<Vec<VzdEntry>, VzdError> {
        let key = address.as_str().to_ascii_lowercase();
        if let Some(hit) = self.cache_get(&key) {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit.as_ref().clone());
        }
        let filter = format!("(mail={})", ldap3::ldap_escape(address.as_str()));
        let raw = self.search(&filter).await?;
        let mut entries = Vec::with_capacity(raw.len());
        for (dn, attrs) in raw {
            entries.push(VzdEntry::from_attributes(&dn, &attrs)?);
        }
        if let Ok(mut cache) = self.cache.lock() {
            let negative = entries.is_empty();
            cache.insert(key, Arc::new(entries.clone()), negative, Instant::now());
        }
        Ok(entries)
    }

    /// Drops all cached answers.
    pub fn clear_cache(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }

    /// Current counters.
    #[must_use]
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            searches: self.searches.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
        }
    }

    fn cache_get(&self, key: &String) -> Option<Arc<Vec<VzdEntry>>> {
        self.cache.lock().ok()?.get(key, Instant::now())
    }

    /// Runs a search on a pooled connection. A pooled connection that fails at the transport
    /// level is dropped and the search retried once on a fresh one.
    async fn search(&self, filter: &str) -> Result<Vec<(String, crate::RawAttributes)>, VzdError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| self.unreachable("connection pool closed"))?;
        let pooled = self.idle.lock().await.pop();
        let reused = pooled.is_some();
        let mut ldap = match pooled {
            Some(l) => l,
            None => self.connect().await?,
        };
        let mut result = self.search_on(&mut ldap, filter).await;
        if reused && matches!(result, Err(VzdError::Unreachable { .. })) {
            ldap = self.connect().await?;
            result = self.search_on(&mut ldap, filter).await;
        }
        match result {
            Ok(found) => {
                self.idle.lock().await.push(ldap);
                Ok(found)
            }
            Err(e) => {
                // The connection is in an unknown state; never reuse it.
                let _ = tokio::time::timeout(Duration::from_millis(100), ldap.unbind()).await;
                Err(e)
            }
        }
    }

    async fn search_on(
        &self,
        ldap: &mut Ldap,
        filter: &str,
    ) -> Result<Vec<(String, crate::RawAttributes)>, VzdError> {
        self.searches.fetch_add(1, Ordering::Relaxed);
        let timeout = self.config.request_timeout;
        let search = ldap.with_timeout(timeout).search(
            &self.config.base_dn,
            Scope::Subtree,
            filter,
            LOOKUP_ATTRIBUTES.to_vec(),
        );
        let result = tokio::time::timeout(timeout, search)
            .await
            .map_err(|_| VzdError::Timeout(timeout))?
            .map_err(|e| self.ldap_error(e))?;
        // sizeLimitExceeded (4) still delivers the entries found so far.
        if result.1.rc != 0 && result.1.rc != 4 {
            return Err(VzdError::Protocol {
                operation: "search",
                code: result.1.rc,
                text: result.1.text,
            });
        }
        result.0.into_iter().map(|e| pdu::read_entry(e.0)).collect()
    }

    async fn connect(&self) -> Result<Ldap, VzdError> {
        let timeout = self.config.connect_timeout;
        let mut settings = LdapConnSettings::new().set_conn_timeout(timeout);
        if let Some(tls) = &self.config.tls {
            settings = settings.set_config(Arc::clone(tls));
        }
        let connecting = LdapConnAsync::with_settings(settings, &self.config.url);
        let (conn, mut ldap) = tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| VzdError::Timeout(timeout))?
            .map_err(|e| self.ldap_error(e))?;
        self.connections.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "VZD connection ended");
            }
        });
        if let Some((dn, password)) = &self.config.bind {
            let bind = ldap.with_timeout(timeout).simple_bind(dn, password);
            let res = tokio::time::timeout(timeout, bind)
                .await
                .map_err(|_| VzdError::Timeout(timeout))?
                .map_err(|e| self.ldap_error(e))?;
            if res.rc != 0 {
                return Err(VzdError::Protocol {
                    operation: "bind",
                    code: res.rc,
                    text: res.text,
                });
            }
        }
        Ok(ldap)
    }

    fn unreachable(&self, reason: &str) -> VzdError {
        VzdError::Unreachable {
            url: self.config.url.clone(),
            reason: reason.to_owned(),
        }
    }

    fn ldap_error(&self, e: LdapError) -> VzdError {
        match e {
            LdapError::Timeout { .. } => VzdError::Timeout(self.config.request_timeout),
            LdapError::LdapResult { result } => VzdError::Protocol {
                operation: "search",
                code: result.rc,
                text: result.text,
            },
            LdapError::FilterParsing => VzdError::Config {
                key: "filter",
                value: String::new(),
                allowed: "an RFC 4515 filter",
            },
            other => self.unreachable(&other.to_string()),
        }
    }
}
