//! Simulator configuration (TOML-able) and its validation.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Largest `max_size_limit` accepted.
pub const MAX_SIZE_LIMIT: u32 = 100_000;

/// Configuration of [`crate::VzdSim`]. Every listener is optional; port 0 picks a free port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VzdSimConfig {
    /// Directory holding `vzd.sqlite` (created if missing).
    pub data_dir: PathBuf,
    /// Plain LDAP listener.
    pub ldap_listen: Option<SocketAddr>,
    /// LDAPS listener (needs `tls`).
    pub ldaps_listen: Option<SocketAddr>,
    /// Maintenance REST API listener.
    pub rest_listen: Option<SocketAddr>,
    /// Serve the REST API over HTTPS (needs `tls`); plain HTTP is for tests only.
    pub rest_https: bool,
    /// Server certificate and key for LDAPS and HTTPS.
    pub tls: Option<TlsFiles>,
    /// DN accepted in a simple bind (with `bind_password`).
    pub bind_dn: Option<String>,
    /// Password for `bind_dn`.
    pub bind_password: Option<String>,
    /// Whether searches without a successful bind are allowed.
    pub allow_anonymous: bool,
    /// Server-side size limit: at most this many entries per search (1..=100000).
    pub max_size_limit: u32,
    /// Close an LDAP connection idle this long, in seconds (1..=86400).
    pub idle_timeout_secs: u64,
    /// Clients of the maintenance API: each one's FAD and its Bearer token.
    pub api_clients: Vec<ApiClient>,
    /// Seed one entry per card of `kim_testkit::pki::TestPki::shared_default()` at start.
    pub seed_test_pki: bool,
}

/// Certificate chain and key files (PEM) of the simulator's TLS listeners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub chain_pem: PathBuf,
    /// PKCS#8 private key.
    pub key_pem: PathBuf,
    /// CA bundle for client certificates; when set, clients may authenticate with a
    /// certificate (required for the REST clients configured by certificate).
    #[serde(default)]
    pub client_ca_pem: Option<PathBuf>,
}

/// One client of the maintenance API, identified by a Bearer token, by its TLS client
/// certificate (mutual TLS, as the yaml names), or by either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiClient {
    /// The FAD the client maintains (the `{fad}` path parameter must equal it).
    pub fad: String,
    /// Its Bearer token.
    #[serde(default)]
    pub token: Option<String>,
    /// Its TLS client certificate (PEM); compared byte for byte with the peer's leaf.
    #[serde(default)]
    pub client_certificate_pem: Option<PathBuf>,
}

impl Default for VzdSimConfig {
    fn default() -> Self {
        let local = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            data_dir: PathBuf::from("vzd-data"),
            ldap_listen: Some(local),
            ldaps_listen: None,
            rest_listen: Some(local),
            rest_https: false,
            tls: None,
            bind_dn: None,
            bind_password: None,
            allow_anonymous: true,
            max_size_limit: 100,
            idle_timeout_secs: 300,
            api_clients: vec![ApiClient {
                fad: "kim-sim".into(),
                token: Some("vzd-sim-token".into()),
                client_certificate_pem: None,
            }],
            seed_test_pki: true,
        }
    }
}

/// An invalid configuration value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config key {key}: value {value:?} invalid, allowed: {allowed}")]
pub struct ConfigError {
    /// The key.
    pub key: &'static str,
    /// The offending value.
    pub value: String,
    /// What is allowed.
    pub allowed: &'static str,
}

fn invalid(key: &'static str, value: impl ToString, allowed: &'static str) -> ConfigError {
    ConfigError {
        key,
        value: value.to_string(),
        allowed,
    }
}

impl VzdSimConfig {
    /// Parses TOML and validates.
    ///
    /// # Errors
    /// [`ConfigError`] naming the key (`toml` for syntax errors).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Self =
            toml::from_str(text).map_err(|e| invalid("toml", e.message(), "a valid TOML file"))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and dependencies between keys.
    ///
    /// # Errors
    /// [`ConfigError`] for the first invalid key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_SIZE_LIMIT).contains(&self.max_size_limit) {
            return Err(invalid("max_size_limit", self.max_size_limit, "1..=100000"));
        }
        if !(1..=86_400).contains(&self.idle_timeout_secs) {
            return Err(invalid(
                "idle_timeout_secs",
                self.idle_timeout_secs,
                "1..=86400",
            ));
        }
        if self.bind_dn.is_some() != self.bind_password.is_some() {
            return Err(invalid(
                "bind_password",
                if self.bind_password.is_some() {
                    "set"
                } else {
                    "unset"
                },
                "set exactly when bind_dn is set",
            ));
        }
        if !self.allow_anonymous && self.bind_dn.is_none() {
            return Err(invalid(
                "allow_anonymous",
                false,
                "true unless bind_dn and bind_password are set",
            ));
        }
        for c in &self.api_clients {
            if c.fad.is_empty() || c.fad.contains('/') {
                return Err(invalid("api_clients.fad", &c.fad, "non-empty, without '/'"));
            }
            if c.token.is_none() && c.client_certificate_pem.is_none() {
                return Err(invalid(
                    "api_clients.token",
                    "unset",
                    "a token or a client_certificate_pem per client",
                ));
            }
            if let Some(token) = &c.token
                && (token.len() < 8 || !token.bytes().all(|b| b.is_ascii_graphic()))
            {
                return Err(invalid(
                    "api_clients.token",
                    "(redacted)",
                    "at least 8 printable ASCII characters",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn default_is_valid_and_toml_round_trips() {
        let c = VzdSimConfig::default();
        c.validate().unwrap();
        let text = toml::to_string(&c).unwrap();
        assert_eq!(VzdSimConfig::from_toml(&text).unwrap(), c);
    }

    #[test]
    fn errors_name_key_value_and_range() {
        let e = VzdSimConfig::from_toml("max_size_limit = 0").unwrap_err();
        assert_eq!(e.key, "max_size_limit");
        assert_eq!(e.value, "0");
        assert_eq!(
            e.to_string(),
            "config key max_size_limit: value \"0\" invalid, allowed: 1..=100000"
        );
        let e = VzdSimConfig::from_toml("bind_dn = \"cn=admin\"").unwrap_err();
        assert_eq!(e.key, "bind_password");
        let e = VzdSimConfig::from_toml("no_such_key = 1").unwrap_err();
        assert_eq!(e.key, "toml");
    }
}
