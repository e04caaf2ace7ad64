//! The validated, typed `cm.properties`.
//!
//! [`CmConfig::parse`] checks every entry against [`crate::keys`]: unknown keys (with a hint),
//! repeated keys, values outside their range (naming key, value, range and line), and the
//! required keys; absent keys take the manual's defaults.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::CmConfigError;
use crate::keys::{self, KONNEKTOR_PREFIX, KONNEKTOR_SUBKEYS, KeySpec, Kind};
use crate::properties;

/// `clientmodul.core.konnektor.tlsAuth`: how the Clientmodul authenticates to a Konnektor
/// (Tab_Konf_Param TLS_AUTH_KONNEKTOR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsAuth {
    /// Client certificate from the key store entry `KON…_CERTIFICATE-pk`.
    Certificate,
    /// HTTP Basic with the key store entry `KON…_PASSWORD-cred`.
    Password,
    /// No client authentication.
    None,
}

/// `clientmodul.proxy.tls`: TLS towards the practice software (KOM-LE-A_2066/2067).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyTlsMode {
    /// Plain (practice software on the same host).
    None,
    /// Implicit TLS with the `CLIENT_CERTIFICATE-pk` identity.
    Tls,
    /// Implicit TLS; the practice software presents a certificate from the trust store.
    TlsClientCertificate,
}

/// A Konnektor call context (MandantId, ClientSystemId, WorkplaceId, optional UserId).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextIds {
    /// `MandantId`.
    pub mandant_id: String,
    /// `ClientSystemId`.
    pub client_system_id: String,
    /// `WorkplaceId`.
    pub workplace_id: String,
    /// `UserId` (HBA use).
    pub user_id: Option<String>,
}

/// One Konnektor: the default one (`id == None`, keys `clientmodul.core.konnektor.*`) or a
/// further one (`clientmodul.konnektor.<id>.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KonnektorSettings {
    /// The KonnektorId of the user names; `None` for the default Konnektor.
    pub id: Option<String>,
    /// URL of `connector.sds`.
    pub sds_url: String,
    /// Client authentication.
    pub tls_auth: TlsAuth,
    /// Accept a Konnektor certificate that does not name the host (chain still checked).
    pub danger_accept_any_hostname: bool,
    /// The call context.
    pub context: ContextIds,
}

impl KonnektorSettings {
    /// Base URL (the SDS URL without `/connector.sds`).
    pub fn base_url(&self) -> &str {
        self.sds_url
            .strip_suffix("/connector.sds")
            .unwrap_or(&self.sds_url)
    }

    /// Key store partner name: `KON` or `KON.<id>`.
    pub fn partner(&self) -> String {
        match &self.id {
            None => "KON".into(),
            Some(id) => format!("KON.{id}"),
        }
    }

    /// Host of the SDS URL.
    pub fn host(&self) -> &str {
        url_host(&self.sds_url)
    }
}

/// Settings of the SMTP and POP3 proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    /// `clientmodul.proxy.enabled`.
    pub enabled: bool,
    /// `clientmodul.proxy.bind` (extension).
    pub bind: IpAddr,
    /// `clientmodul.proxy.hostname` (extension): greeting name.
    pub hostname: String,
    /// `clientmodul.proxy.smtp.port`.
    pub smtp_port: u16,
    /// `clientmodul.proxy.pop3.port`.
    pub pop3_port: u16,
    /// `clientmodul.proxy.tls`.
    pub tls: ProxyTlsMode,
    /// `clientmodul.proxy.smtp.threads` (0 in the file: logical CPUs × 2).
    pub smtp_threads: usize,
    /// `clientmodul.proxy.pop3.threads` (0 in the file: logical CPUs × 2).
    pub pop3_threads: usize,
    /// `clientmodul.proxy.smtp.timeout.server`.
    pub smtp_timeout_server: Duration,
    /// `clientmodul.proxy.smtp.timeout.client`.
    pub smtp_timeout_client: Duration,
    /// `clientmodul.proxy.pop3.timeout.server`.
    pub pop3_timeout_server: Duration,
    /// `clientmodul.proxy.pop3.timeout.client`.
    pub pop3_timeout_client: Duration,
}

/// Settings shared by all Konnektors and the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreSettings {
    /// `clientmodul.core.konnektor.connection.timeout`.
    pub connection_timeout: Duration,
    /// `clientmodul.core.konnektor.receive.timeout`.
    pub receive_timeout: Duration,
    /// `clientmodul.core.konnektor.dvd.cache.maxTtl`.
    pub sds_cache_ttl: Duration,
    /// `clientmodul.core.konnektor.ntp.updateDelay`.
    pub ntp_update_delay: Duration,
    /// The VZD: `clientmodul.core.vzd.uri` (extension) or else
    /// `ldaps://<default Konnektor host>:<clientmodul.core.konnektor.vzd.ldaps.port>`.
    pub vzd_url: String,
    /// `clientmodul.core.konnektor.vzd.cache.maxTtl`.
    pub vzd_cache_ttl: Duration,
    /// `clientmodul.core.konnektor.vzd.poolSize`.
    pub vzd_pool_size: usize,
    /// `clientmodul.core.konnektor.certificates.cache.maxTtl` (days, as a duration).
    pub email_iccsn_ttl: Duration,
    /// `clientmodul.core.tls.revocation.check`.
    pub revocation_check: bool,
}

/// The Fachdienst as far as the configuration names it (extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FachdienstSettings {
    /// `clientmodul.fachdienst.smtp`: MTA used when the user name names none.
    pub smtp: Option<(String, u16)>,
    /// `clientmodul.fachdienst.pop3`: POP3 server printed in the user names.
    pub pop3: Option<(String, u16)>,
    /// `clientmodul.fachdienst.kas`: base URL of the KAS and AccountLimit services for
    /// mails over 15 MiB; without it such mails are answered with `451`.
    pub kas: Option<String>,
    /// `clientmodul.fachdienst.account_manager`: base URL of the Account Manager including
    /// its version path (e.g. `https://fd.example/AccountMgmt/v2.4`), for `kim account`
    /// and the renewal of the Clientmodul's TLS certificate (A_21381).
    pub account_manager: Option<String>,
    /// `clientmodul.fachdienst.renewal.interval`: how often the certificate's expiry is
    /// checked (default one hour).
    pub renewal_interval: Duration,
    /// `clientmodul.fachdienst.renewal.telematikId`: the card that authenticates the
    /// renewal; default: the first SMC-B in the default Konnektor context.
    pub renewal_telematik_id: Option<String>,
    /// `clientmodul.fachdienst.danger_accept_any_hostname`.
    pub danger_accept_any_hostname: bool,
}

/// Auth Client, UI and log switches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthAndLogSettings {
    /// `clientmodul.auth.service.endpoint`.
    pub auth_endpoint: String,
    /// `clientmodul.auth.service.port`.
    pub auth_port: u16,
    /// `clientmodul.auth.client.ui.enabled`.
    pub auth_ui: bool,
    /// `clientmodul.auth.client.headless.enabled`.
    pub auth_headless: bool,
    /// `clientmodul.proxy.ui.enabled`.
    pub proxy_ui: bool,
    /// `clientmodul.core.log.performance`.
    pub log_performance: bool,
    /// `clientmodul.core.log.operation`.
    pub log_operation: bool,
    /// `clientmodul.core.log.retainDays`.
    pub log_retain_days: u32,
}

/// Where the key store, trust store and their password live (extensions; relative paths
/// are taken from the directory of `cm.properties`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorePaths {
    /// Key store file.
    pub key_store: PathBuf,
    /// Trust store file.
    pub trust_store: PathBuf,
    /// The per-installation password file (mode 0600).
    pub password_file: PathBuf,
}

/// The whole validated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmConfig {
    /// SMTP/POP3 proxy.
    pub proxy: ProxySettings,
    /// The default Konnektor first, then the further ones by id.
    pub konnektors: Vec<KonnektorSettings>,
    /// Timeouts and caches.
    pub core: CoreSettings,
    /// The Fachdienst.
    pub fachdienst: FachdienstSettings,
    /// Auth Client, UI and logs.
    pub auth_log: AuthAndLogSettings,
    /// Stores.
    pub stores: StorePaths,
}

/// Entries by key with their line.
struct Entries {
    map: BTreeMap<String, (String, usize)>,
}

impl CmConfig {
    /// Reads and validates a file.
    ///
    /// # Errors
    /// [`CmConfigError::Io`] or any validation error.
    pub fn load(path: &Path) -> Result<CmConfig, CmConfigError> {
        let bytes = std::fs::read(path).map_err(|e| CmConfigError::io(path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        CmConfig::parse(&properties::decode(&bytes), base)
    }

    /// Validates the text of a file; relative store paths are resolved against `base`.
    ///
    /// # Errors
    /// The first problem found, in file order.
    pub fn parse(text: &str, base: &Path) -> Result<CmConfig, CmConfigError> {
        let entries = Entries::collect(properties::parse(text)?)?;
        let default = entries.konnektor(None)?;
        let mut konnektors = vec![default];
        for id in entries.konnektor_ids() {
            konnektors.push(entries.konnektor(Some(&id))?);
        }
        let core = entries.core(konnektors.first().map(KonnektorSettings::host))?;
        Ok(CmConfig {
            proxy: entries.proxy()?,
            konnektors,
            core,
            fachdienst: FachdienstSettings {
                smtp: entries.host_port("clientmodul.fachdienst.smtp")?,
                pop3: entries.host_port("clientmodul.fachdienst.pop3")?,
                kas: entries.get("clientmodul.fachdienst.kas").map(|(v, _)| v),
                account_manager: entries
                    .get("clientmodul.fachdienst.account_manager")
                    .map(|(v, _)| v.trim_end_matches('/').to_owned()),
                renewal_interval: entries.secs("clientmodul.fachdienst.renewal.interval")?,
                renewal_telematik_id: entries
                    .get("clientmodul.fachdienst.renewal.telematikId")
                    .map(|(v, _)| v),
                danger_accept_any_hostname: entries
                    .bool("clientmodul.fachdienst.danger_accept_any_hostname")?,
            },
            auth_log: entries.auth_log()?,
            stores: StorePaths {
                key_store: base.join(entries.text("clientmodul.store.keyStore")?),
                trust_store: base.join(entries.text("clientmodul.store.trustStore")?),
                password_file: base.join(entries.text("clientmodul.store.passwordFile")?),
            },
        })
    }

    /// The default Konnektor.
    pub fn default_konnektor(&self) -> Option<&KonnektorSettings> {
        self.konnektors.first()
    }
}

impl Entries {
    fn collect(props: Vec<properties::Property>) -> Result<Entries, CmConfigError> {
        let mut map: BTreeMap<String, (String, usize)> = BTreeMap::new();
        for p in props {
            let key = if p.key == keys::WORKPLACE_ALIAS.0 {
                keys::WORKPLACE_ALIAS.1.to_owned()
            } else {
                p.key
            };
            let spec = spec_of(&key).ok_or_else(|| CmConfigError::UnknownKey {
                hint: keys::closest(&key),
                key: key.clone(),
                line: p.line,
            })?;
            let value = p.value.trim_end().to_owned();
            check(&key, &spec.kind, &value, p.line)?;
            if let Some((_, first)) = map.get(&key) {
                return Err(CmConfigError::Duplicate {
                    key,
                    line: p.line,
                    first: *first,
                });
            }
            map.insert(key, (value, p.line));
        }
        Ok(Entries { map })
    }

    /// The value of `key` or its default; `None` if neither.
    fn get(&self, key: &str) -> Option<(String, usize)> {
        if let Some(v) = self.map.get(key) {
            return Some(v.clone());
        }
        spec_of(key)
            .and_then(|s| s.default)
            .map(|d| (d.to_owned(), 0))
    }

    fn required(&self, key: &str, what: &'static str) -> Result<String, CmConfigError> {
        self.get(key)
            .map(|(v, _)| v)
            .ok_or_else(|| CmConfigError::Missing {
                key: key.to_owned(),
                what,
            })
    }

    fn text(&self, key: &str) -> Result<String, CmConfigError> {
        self.required(key, "no default")
    }

    fn int(&self, key: &str) -> Result<u64, CmConfigError> {
        let (v, line) = self.get(key).ok_or_else(|| CmConfigError::Missing {
            key: key.to_owned(),
            what: "no default",
        })?;
        v.parse().map_err(|_| CmConfigError::Invalid {
            key: key.to_owned(),
            value: v,
            allowed: "a number".into(),
            line,
        })
    }

    fn secs(&self, key: &str) -> Result<Duration, CmConfigError> {
        Ok(Duration::from_secs(self.int(key)?))
    }

    fn port(&self, key: &str) -> Result<u16, CmConfigError> {
        let v = self.int(key)?;
        Ok(u16::try_from(v).unwrap_or(u16::MAX))
    }

    fn bool(&self, key: &str) -> Result<bool, CmConfigError> {
        Ok(self.text(key)?.eq_ignore_ascii_case("true"))
    }

    fn threads(&self, key: &str) -> Result<usize, CmConfigError> {
        let n = usize::try_from(self.int(key)?).unwrap_or(200);
        if n > 0 {
            return Ok(n);
        }
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Ok(cpus * 2)
    }

    fn host_port(&self, key: &str) -> Result<Option<(String, u16)>, CmConfigError> {
        let Some((v, line)) = self.get(key) else {
            return Ok(None);
        };
        split_host_port(&v)
            .map(Some)
            .ok_or_else(|| invalid(key, &v, &Kind::HostPort, line))
    }

    fn konnektor_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .map
            .keys()
            .filter_map(|k| k.strip_prefix(KONNEKTOR_PREFIX))
            .filter_map(|rest| {
                KONNEKTOR_SUBKEYS.iter().find_map(|s| {
                    rest.strip_suffix(s.name)
                        .and_then(|id| id.strip_suffix('.'))
                        .map(str::to_owned)
                })
            })
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    fn konnektor(&self, id: Option<&str>) -> Result<KonnektorSettings, CmConfigError> {
        let name = |sub: &str| match id {
            None => format!("clientmodul.core.konnektor.{sub}"),
            Some(id) => format!("{KONNEKTOR_PREFIX}{id}.{sub}"),
        };
        let opt = |sub: &str| self.get(&name(sub)).map(|(v, _)| v);
        let tls_auth = match opt("tlsAuth").as_deref() {
            Some("PASSWORD") => TlsAuth::Password,
            Some("NONE") => TlsAuth::None,
            _ => TlsAuth::Certificate,
        };
        let danger = opt("danger_accept_any_hostname").is_some_and(|v| v == "true");
        let context = ContextIds {
            mandant_id: self.required(&name("context.mandantId"), "Konnektor context")?,
            client_system_id: self
                .required(&name("context.clientSystemId"), "Konnektor context")?,
            workplace_id: self.required(&name("context.workplaceId"), "Konnektor context")?,
            user_id: opt("context.userId"),
        };
        Ok(KonnektorSettings {
            id: id.map(str::to_owned),
            sds_url: self.required(&name("uri"), "URL of the Konnektor's connector.sds")?,
            tls_auth,
            danger_accept_any_hostname: danger,
            context,
        })
    }

    fn core(&self, konnektor_host: Option<&str>) -> Result<CoreSettings, CmConfigError> {
        let vzd_url = match self.get("clientmodul.core.vzd.uri") {
            Some((v, _)) => v,
            None => format!(
                "ldaps://{}:{}",
                konnektor_host.unwrap_or("localhost"),
                self.port("clientmodul.core.konnektor.vzd.ldaps.port")?
            ),
        };
        Ok(CoreSettings {
            connection_timeout: self.secs("clientmodul.core.konnektor.connection.timeout")?,
            receive_timeout: self.secs("clientmodul.core.konnektor.receive.timeout")?,
            sds_cache_ttl: self.secs("clientmodul.core.konnektor.dvd.cache.maxTtl")?,
            ntp_update_delay: self.secs("clientmodul.core.konnektor.ntp.updateDelay")?,
            vzd_url,
            vzd_cache_ttl: self.secs("clientmodul.core.konnektor.vzd.cache.maxTtl")?,
            vzd_pool_size: usize::try_from(self.int("clientmodul.core.konnektor.vzd.poolSize")?)
                .unwrap_or(4),
            email_iccsn_ttl: Duration::from_secs(
                86400 * self.int("clientmodul.core.konnektor.certificates.cache.maxTtl")?,
            ),
            revocation_check: self.bool("clientmodul.core.tls.revocation.check")?,
        })
    }

    fn proxy(&self) -> Result<ProxySettings, CmConfigError> {
        let bind = self.text("clientmodul.proxy.bind")?;
        let tls = match self.text("clientmodul.proxy.tls")?.as_str() {
            "TLS" => ProxyTlsMode::Tls,
            "TLS_CLIENT_CERTIFICATE" => ProxyTlsMode::TlsClientCertificate,
            _ => ProxyTlsMode::None,
        };
        Ok(ProxySettings {
            enabled: self.bool("clientmodul.proxy.enabled")?,
            bind: bind.parse().unwrap_or(IpAddr::from([127, 0, 0, 1])),
            hostname: self.text("clientmodul.proxy.hostname")?,
            smtp_port: self.port("clientmodul.proxy.smtp.port")?,
            pop3_port: self.port("clientmodul.proxy.pop3.port")?,
            tls,
            smtp_threads: self.threads("clientmodul.proxy.smtp.threads")?,
            pop3_threads: self.threads("clientmodul.proxy.pop3.threads")?,
            smtp_timeout_server: self.secs("clientmodul.proxy.smtp.timeout.server")?,
            smtp_timeout_client: self.secs("clientmodul.proxy.smtp.timeout.client")?,
            pop3_timeout_server: self.secs("clientmodul.proxy.pop3.timeout.server")?,
            pop3_timeout_client: self.secs("clientmodul.proxy.pop3.timeout.client")?,
        })
    }

    fn auth_log(&self) -> Result<AuthAndLogSettings, CmConfigError> {
        Ok(AuthAndLogSettings {
            auth_endpoint: self.text("clientmodul.auth.service.endpoint")?,
            auth_port: self.port("clientmodul.auth.service.port")?,
            auth_ui: self.bool("clientmodul.auth.client.ui.enabled")?,
            auth_headless: self.bool("clientmodul.auth.client.headless.enabled")?,
            proxy_ui: self.bool("clientmodul.proxy.ui.enabled")?,
            log_performance: self.bool("clientmodul.core.log.performance")?,
            log_operation: self.bool("clientmodul.core.log.operation")?,
            log_retain_days: u32::try_from(self.int("clientmodul.core.log.retainDays")?)
                .unwrap_or(30),
        })
    }
}

/// The spec of a key: a top-level one or a Konnektor section's sub key.
fn spec_of(key: &str) -> Option<&'static KeySpec> {
    if let Some(spec) = keys::find(key) {
        return Some(spec);
    }
    let rest = key.strip_prefix(KONNEKTOR_PREFIX)?;
    KONNEKTOR_SUBKEYS.iter().find(|s| {
        rest.strip_suffix(s.name)
            .and_then(|id| id.strip_suffix('.'))
            .is_some_and(valid_konnektor_id)
    })
}

/// A KonnektorId: 1..=64 of `[A-Za-z0-9_-]` (it appears in `#`-separated user names).
fn valid_konnektor_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn invalid(key: &str, value: &str, kind: &Kind, line: usize) -> CmConfigError {
    CmConfigError::Invalid {
        key: key.to_owned(),
        value: value.to_owned(),
        allowed: kind.allowed(),
        line,
    }
}

/// Checks one value against its kind.
fn check(key: &str, kind: &Kind, value: &str, line: usize) -> Result<(), CmConfigError> {
    let ok = match kind {
        Kind::Int { min, max } => value
            .parse::<u64>()
            .is_ok_and(|v| (*min..=*max).contains(&v)),
        Kind::Bool => value == "true" || value == "false",
        Kind::Choice(words) => words.contains(&value),
        Kind::HttpUrl => {
            (value.starts_with("https://") || value.starts_with("http://"))
                && !url_host(value).is_empty()
        }
        Kind::LdapUrl => {
            (value.starts_with("ldaps://") || value.starts_with("ldap://"))
                && !url_host(value).is_empty()
        }
        Kind::HostPort => split_host_port(value).is_some(),
        Kind::Ip => value.parse::<IpAddr>().is_ok(),
        Kind::Path | Kind::Text => !value.is_empty(),
        Kind::Id => (1..=64).contains(&value.chars().count()),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(key, value, kind, line))
    }
}

/// `host:port` with a port in 1..=65535 (IPv6 in brackets).
pub fn split_host_port(value: &str) -> Option<(String, u16)> {
    let (host, port) = value.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

/// The host part of `scheme://host[:port][/path]`.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
