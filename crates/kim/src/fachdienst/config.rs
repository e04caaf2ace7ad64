//! The Fachdienst daemon's configuration file (TOML) and its validation.
//!
//! Every error names the key, the value and what is allowed, so that an operator can fix the
//! file without reading code. Unknown keys are refused (a typo must not silently fall back to
//! a default).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// Smallest message size limit accepted: a sealed 15 MiB Client-Mail must fit (≈ 21 MiB after
/// signing, encryption and base64; kim-spec §6.1).
pub const MIN_MESSAGE_SIZE: u64 = 24 * 1024 * 1024;
/// Largest message size limit accepted (1 GiB).
pub const MAX_MESSAGE_SIZE: u64 = 1024 * 1024 * 1024;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Host name used in greetings and generated mail (e.g. `fd.kim.example`).
    pub hostname: String,
    /// Mail domains served by this Fachdienst.
    pub domains: Vec<String>,
    /// Directory of the SQLite database and the message files; created if missing. Relative
    /// paths are taken from the directory of the configuration file.
    pub data_dir: PathBuf,
    /// fsync message files and directories before answering (crash safety). Only benchmarks
    /// of the disk-less case turn it off.
    #[serde(default = "yes")]
    pub fsync: bool,
    /// TLS identity and client CAs.
    pub tls: TlsConfig,
    /// SMTPS submission listener.
    #[serde(default)]
    pub smtp: SmtpConfig,
    /// POP3S retrieval listener.
    #[serde(default)]
    pub pop3: Pop3Config,
    /// SMTPS listener for mail relayed by other Fachdienste (no AUTH; local recipients only).
    #[serde(default)]
    pub inbound: Option<InboundConfig>,
    /// Relaying to other Fachdienste; without it, foreign domains are refused.
    #[serde(default)]
    pub relay: Option<RelayConfig>,
    /// Retention: how often mail older than an account's dataTimeToLive is purged.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// HTTPS listener of the REST interfaces (Account Manager, AccountLimit,
    /// ServiceInformation, KAS); without it they are not served.
    #[serde(default)]
    pub http: Option<HttpConfig>,
    /// The attachment service (KAS), served on `http`.
    #[serde(default)]
    pub kas: KasSection,
    /// The ServiceInformation document, served on `http` and used by the Account Manager.
    #[serde(default)]
    pub service_information: ServiceInformationSection,
    /// The Account Manager, served on `http`; without it accounts cannot register.
    #[serde(default)]
    pub account_manager: Option<AccountManagerSection>,
    /// The public registration portal (own listener); needs `[account_manager]`.
    #[serde(default)]
    pub portal: Option<PortalSection>,
}

/// The registration portal ("Teilnehmeranwendung"): its listener, the links it mails and
/// where its mails go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalSection {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Serve HTTPS with the `[tls]` identity (no client certificate). `false` only behind a
    /// TLS-terminating proxy or on loopback.
    #[serde(default = "yes")]
    pub tls: bool,
    /// Public origin of the portal, e.g. `https://portal.fd.example`; links in mails start
    /// with it. Default: the scheme and the bound listen address.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Origin of the practices' Clientmodul administration UI, the target of registration
    /// links.
    #[serde(default = "default_cm_ui_base")]
    pub cm_ui_base: String,
    /// Sender (`From`) of the portal's mails.
    pub sender: String,
    /// SMTP relay `host:port` for the portal's mails.
    #[serde(default)]
    pub relay: Option<String>,
    /// Protection of the relay connection: `starttls`, `tls` (implicit) or `plain`.
    #[serde(default = "default_relay_security")]
    pub relay_security: String,
    /// CA certificates of the relay's server certificate (PEM); default `tls.client_ca_pem`.
    #[serde(default)]
    pub relay_ca_pem: Option<PathBuf>,
    /// Instead of a relay: write each mail as an `.eml` file into this directory.
    #[serde(default)]
    pub mail_dir: Option<PathBuf>,
    /// Hours a reservation and its registration link stay valid (1..=720; manual: 96).
    #[serde(default = "default_registration_hours")]
    pub registration_hours: u64,
    /// Hours deregistration and unlock links stay valid (1..=168).
    #[serde(default = "default_confirmation_hours")]
    pub confirmation_hours: u64,
    /// Seconds between purges of expired reservations and links (60..=86400).
    #[serde(default = "default_portal_purge")]
    pub purge_interval_secs: u64,
}

fn default_cm_ui_base() -> String {
    kim_portal::DEFAULT_CM_UI_BASE.into()
}
fn default_relay_security() -> String {
    "starttls".into()
}
fn default_registration_hours() -> u64 {
    96
}
fn default_confirmation_hours() -> u64 {
    24
}
fn default_portal_purge() -> u64 {
    600
}

/// The Account Manager: JWT trust, the CA of `createCert`, the VZD it writes to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountManagerSection {
    /// CA certificates (PEM bundle) the AUT certificates of SMC-B and HBA in JWTs chain to.
    pub card_ca_pem: PathBuf,
    /// The provider CA certificate (PEM) that issues Clientmodul certificates (C.CM.TLS-CS).
    pub provider_ca_cert_pem: PathBuf,
    /// Its PKCS#8 private key (PEM).
    pub provider_ca_key_pem: PathBuf,
    /// Validity of issued Clientmodul certificates in days (1..=1825).
    #[serde(default = "default_cert_days")]
    pub cert_validity_days: u32,
    /// The VZD maintenance API.
    pub vzd: VzdSection,
}

/// The VZD maintenance API the Account Manager writes `mail`, `komLeData`, `kimData` to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VzdSection {
    /// Base URL, e.g. `https://vzd.example:8443`.
    pub base_url: String,
    /// The Fachdienst's FAD name.
    pub fad: String,
    /// Bearer token, if the VZD uses tokens.
    #[serde(default)]
    pub bearer_token: Option<String>,
    /// CA certificates of the VZD's server certificate (PEM); default `tls.client_ca_pem`.
    #[serde(default)]
    pub server_ca_pem: Option<PathBuf>,
    /// Client certificate chain for mutual TLS (PEM); default: the server's `tls` identity.
    #[serde(default)]
    pub client_chain_pem: Option<PathBuf>,
    /// Its PKCS#8 key (PEM).
    #[serde(default)]
    pub client_key_pem: Option<PathBuf>,
}

fn default_cert_days() -> u32 {
    730
}

/// The inbound SMTPS listener for other Fachdienste.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundConfig {
    /// Address to listen on (implicit TLS, client certificate required).
    pub listen: SocketAddr,
    /// CA certificates the other Fachdienste' client certificates chain to; default
    /// `tls.client_ca_pem`.
    #[serde(default)]
    pub client_ca_pem: Option<PathBuf>,
}

/// Relaying to other Fachdienste over SMTPS with mutual TLS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// The Fachdienst's TLS client certificate chain (PEM, leaf first).
    pub client_chain_pem: PathBuf,
    /// Its PKCS#8 key.
    pub client_key_pem: PathBuf,
    /// CA certificates the peers' server certificates chain to; default
    /// `tls.client_ca_pem`.
    #[serde(default)]
    pub server_ca_pem: Option<PathBuf>,
    /// Seconds before the first retry (1..=86400).
    #[serde(default = "default_first_retry")]
    pub first_retry_secs: u64,
    /// Upper bound of one retry delay in seconds (1..=86400).
    #[serde(default = "default_max_interval")]
    pub max_interval_secs: u64,
    /// Seconds after arrival when undelivered recipients bounce (60..=2592000).
    #[serde(default = "default_window")]
    pub window_secs: u64,
    /// Routing table: which MTAs serve which domains.
    pub routes: Vec<RouteConfig>,
}

/// One routing entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// `domain` or `*.suffix`.
    pub domain: String,
    /// `host:port` of the MTAs, tried in order.
    pub targets: Vec<String>,
}

/// Retention purge.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Seconds between purge runs (60..=86400).
    pub purge_interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            purge_interval_secs: 3600,
        }
    }
}

/// The HTTPS listener of the REST interfaces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Public origin of this listener, e.g. `https://kas.example.kim.telematik:443`; KAS
    /// shared links start with it.
    pub public_url: String,
}

/// KAS settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KasSection {
    /// Largest object (`maxMailSize`) in bytes; KIM 1.5: 734003200 (700 MiB).
    pub max_mail_size: u64,
    /// Downloads per recipient and object before 429.
    pub download_limit: u32,
    /// Seconds between purges of expired objects (60..=86400).
    pub purge_interval_secs: u64,
}

impl Default for KasSection {
    fn default() -> Self {
        Self {
            max_mail_size: kim_kas::MAX_MAIL_SIZE,
            download_limit: 1000,
            purge_interval_secs: 3600,
        }
    }
}

/// The ServiceInformation document (field meanings as in ServiceInformation.yaml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceInformationSection {
    /// `kimServiceVersion`, e.g. `1.5.3`.
    pub kim_service_version: String,
    /// `passwordPolicyRegEx`.
    pub password_policy_reg_ex: String,
    /// `passwordPolicyDisplay` (shown to users, German).
    pub password_policy_display: String,
    /// `jwtExpiration` in seconds (300..=21600).
    pub jwt_expiration: u32,
    /// `referenceIdRequired`.
    pub reference_id_required: bool,
    /// `initialPasswordRequired`.
    pub initial_password_required: bool,
}

impl Default for ServiceInformationSection {
    fn default() -> Self {
        Self {
            kim_service_version: "1.5.3".into(),
            // The policy the Account Manager enforces (A_2163).
            password_policy_reg_ex: kim_account_manager::rules::PASSWORD_POLICY_REGEX.into(),
            password_policy_display: "Mindestens 8 Zeichen aus mindestens drei der Gruppen \
                                      Kleinbuchstaben, Großbuchstaben, Ziffern und Sonderzeichen"
                .into(),
            jwt_expiration: 3600,
            reference_id_required: true,
            initial_password_required: true,
        }
    }
}

impl ServiceInformationSection {
    /// The document as kim-kas serves it.
    pub fn document(&self) -> kim_kas::ServiceInformation {
        kim_kas::ServiceInformation {
            kim_service_version: self.kim_service_version.clone(),
            password_policy_reg_ex: self.password_policy_reg_ex.clone(),
            password_policy_display: self.password_policy_display.clone(),
            jwt_expiration: self.jwt_expiration,
            reference_id_required: self.reference_id_required,
            initial_password_required: self.initial_password_required,
        }
    }
}

fn default_first_retry() -> u64 {
    300
}
fn default_max_interval() -> u64 {
    4 * 3600
}
fn default_window() -> u64 {
    5 * 86_400
}

/// TLS files (PEM).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain of the server (C.FD.TLS-S), leaf first.
    pub chain_pem: PathBuf,
    /// Its PKCS#8 private key.
    pub key_pem: PathBuf,
    /// CA certificates that Clientmodul certificates (C.CM.TLS-CS) must chain to. A client
    /// certificate is always required.
    pub client_ca_pem: PathBuf,
}

/// The SMTPS listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Address to listen on (implicit TLS).
    pub listen: SocketAddr,
    /// Largest message accepted, in bytes (EHLO SIZE).
    pub max_message_size: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 465)),
            max_message_size: 32 * 1024 * 1024,
        }
    }
}

/// The POP3S listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pop3Config {
    /// Address to listen on (implicit TLS).
    pub listen: SocketAddr,
}

impl Default for Pop3Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 995)),
        }
    }
}

fn yes() -> bool {
    true
}

impl Config {
    /// Reads, parses and validates `path`; relative paths in it are resolved against the
    /// file's directory.
    ///
    /// # Errors
    /// The file cannot be read, is not valid TOML for this schema, or a value is out of range.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the configuration {}", path.display()))?;
        let mut config: Config =
            toml::from_str(&text).with_context(|| format!("configuration {}", path.display()))?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        config.resolve(base);
        config
            .validate()
            .with_context(|| format!("configuration {}", path.display()))?;
        Ok(config)
    }

    fn resolve(&mut self, base: &Path) {
        let mut paths = vec![
            &mut self.data_dir,
            &mut self.tls.chain_pem,
            &mut self.tls.key_pem,
            &mut self.tls.client_ca_pem,
        ];
        if let Some(inbound) = &mut self.inbound {
            paths.extend(inbound.client_ca_pem.as_mut());
        }
        if let Some(am) = &mut self.account_manager {
            paths.push(&mut am.card_ca_pem);
            paths.push(&mut am.provider_ca_cert_pem);
            paths.push(&mut am.provider_ca_key_pem);
            paths.extend(am.vzd.server_ca_pem.as_mut());
            paths.extend(am.vzd.client_chain_pem.as_mut());
            paths.extend(am.vzd.client_key_pem.as_mut());
        }
        if let Some(portal) = &mut self.portal {
            paths.extend(portal.relay_ca_pem.as_mut());
            paths.extend(portal.mail_dir.as_mut());
        }
        if let Some(relay) = &mut self.relay {
            paths.push(&mut relay.client_chain_pem);
            paths.push(&mut relay.client_key_pem);
            paths.extend(relay.server_ca_pem.as_mut());
        }
        for p in paths {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }

    /// Checks every value for its allowed range.
    ///
    /// # Errors
    /// The first value out of range, naming key, value and the allowed values.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !is_host_name(&self.hostname) {
            bail!(
                "hostname = {:?}: expected a DNS host name (letters, digits, '-', '.')",
                self.hostname
            );
        }
        if self.domains.is_empty() {
            bail!("domains = []: at least one mail domain is required");
        }
        for d in &self.domains {
            if !is_host_name(d) || !d.contains('.') {
                bail!("domains: {d:?} is not a mail domain (e.g. \"praxis.kim.telematik\")");
            }
        }
        let size = self.smtp.max_message_size;
        if !(MIN_MESSAGE_SIZE..=MAX_MESSAGE_SIZE).contains(&size) {
            bail!(
                "smtp.max_message_size = {size}: allowed {MIN_MESSAGE_SIZE}..={MAX_MESSAGE_SIZE} \
                 bytes (a sealed 15 MiB mail needs about 21 MiB)"
            );
        }
        self.validate_listeners()?;
        if let Some(relay) = &self.relay {
            range("relay.first_retry_secs", relay.first_retry_secs, 1, 86_400)?;
            range(
                "relay.max_interval_secs",
                relay.max_interval_secs,
                1,
                86_400,
            )?;
            range("relay.window_secs", relay.window_secs, 60, 30 * 86_400)?;
            if relay.routes.is_empty() {
                bail!("relay.routes = []: at least one route is required (or leave out [relay])");
            }
        }
        if let Some(am) = &self.account_manager {
            let days = u64::from(am.cert_validity_days);
            range("account_manager.cert_validity_days", days, 1, 1825)?;
            if self.http.is_none() {
                bail!("[account_manager] is served on [http]: add an [http] section");
            }
            if am.vzd.client_chain_pem.is_some() != am.vzd.client_key_pem.is_some() {
                bail!("account_manager.vzd: client_chain_pem and client_key_pem go together");
            }
        }
        if let Some(portal) = &self.portal {
            portal.validate(self.account_manager.is_some())?;
        }
        let jwt = u64::from(self.service_information.jwt_expiration);
        range("service_information.jwt_expiration", jwt, 300, 21_600)?;
        let purge = self.retention.purge_interval_secs;
        range("retention.purge_interval_secs", purge, 60, 86_400)?;
        range(
            "kas.purge_interval_secs",
            self.kas.purge_interval_secs,
            60,
            86_400,
        )?;
        Ok(())
    }

    fn validate_listeners(&self) -> anyhow::Result<()> {
        let mut seen: Vec<(&str, SocketAddr)> = vec![("smtp.listen", self.smtp.listen)];
        seen.push(("pop3.listen", self.pop3.listen));
        if let Some(inbound) = &self.inbound {
            seen.push(("inbound.listen", inbound.listen));
        }
        if let Some(http) = &self.http {
            seen.push(("http.listen", http.listen));
        }
        if let Some(portal) = &self.portal {
            seen.push(("portal.listen", portal.listen));
        }
        for (i, (key, addr)) in seen.iter().enumerate() {
            if addr.port() == 0 {
                continue;
            }
            if let Some((other, _)) = seen.iter().skip(i + 1).find(|(_, a)| a == addr) {
                bail!("{key} and {other} are both {addr}: they need different ports");
            }
        }
        Ok(())
    }
}

impl PortalSection {
    fn validate(&self, has_account_manager: bool) -> anyhow::Result<()> {
        if !has_account_manager {
            bail!("[portal] issues certificates with the provider CA of [account_manager]: add it");
        }
        for (key, url) in [
            ("portal.public_url", self.public_url.as_deref()),
            ("portal.cm_ui_base", Some(self.cm_ui_base.as_str())),
        ] {
            if let Some(url) = url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                bail!("{key} = {url:?}: expected an http:// or https:// origin");
            }
        }
        let sender_ok = self
            .sender
            .rsplit_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && (d.contains('.') || d == "localhost"))
            && !self
                .sender
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
        if !sender_ok {
            bail!("portal.sender = {:?}: expected a mail address", self.sender);
        }
        match (&self.relay, &self.mail_dir) {
            (Some(_), Some(_)) => bail!("[portal]: relay and mail_dir exclude each other"),
            (None, None) => bail!("[portal]: set relay (\"host:port\") or mail_dir"),
            (Some(relay), None) => {
                let port = relay
                    .rsplit_once(':')
                    .and_then(|(h, p)| (!h.is_empty()).then_some(p.parse::<u16>().ok()).flatten());
                if port.is_none_or(|p| p == 0) {
                    bail!("portal.relay = {relay:?}: expected host:port");
                }
            }
            (None, Some(_)) => {}
        }
        self.security()?;
        range("portal.registration_hours", self.registration_hours, 1, 720)?;
        range("portal.confirmation_hours", self.confirmation_hours, 1, 168)?;
        range(
            "portal.purge_interval_secs",
            self.purge_interval_secs,
            60,
            86_400,
        )
    }

    /// `relay_security` as the mailer's setting.
    ///
    /// # Errors
    /// An unknown value.
    pub fn security(&self) -> anyhow::Result<kim_portal::Security> {
        match self.relay_security.as_str() {
            "starttls" => Ok(kim_portal::Security::StartTls),
            "tls" => Ok(kim_portal::Security::Tls),
            "plain" => Ok(kim_portal::Security::Plain),
            other => {
                bail!("portal.relay_security = {other:?}: allowed \"starttls\", \"tls\", \"plain\"")
            }
        }
    }
}

fn range(key: &str, value: u64, min: u64, max: u64) -> anyhow::Result<()> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        bail!("{key} = {value}: allowed {min}..={max}")
    }
}

/// Whether `s` is a plausible DNS name: labels of letters, digits and inner hyphens.
fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
hostname = "fd.test.kim.telematik"
domains = ["test.kim.telematik"]
data_dir = "data"
[tls]
chain_pem = "fd.pem"
key_pem = "fd.key"
client_ca_pem = "ca.pem"
"#;

    fn parse(text: &str) -> anyhow::Result<Config> {
        let mut c: Config = toml::from_str(text)?;
        c.resolve(Path::new("/etc/kim"));
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn minimal_file_gets_defaults_and_absolute_paths() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.smtp.listen.port(), 465);
        assert_eq!(c.pop3.listen.port(), 995);
        assert!(c.fsync);
        assert_eq!(c.data_dir, PathBuf::from("/etc/kim/data"));
        assert_eq!(c.tls.client_ca_pem, PathBuf::from("/etc/kim/ca.pem"));
    }

    #[test]
    fn the_example_file_is_valid() {
        let c = parse(include_str!("../../examples/fachdienst.toml")).unwrap();
        assert_eq!(c.relay.as_ref().unwrap().routes.len(), 2);
        assert_eq!(c.http.unwrap().listen.port(), 443);
        assert_eq!(c.kas.max_mail_size, kim_kas::MAX_MAIL_SIZE);
        assert!(c.account_manager.is_some());
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse(&format!(
            "{MINIMAL}\n[pop3]\nlisten = \"127.0.0.1:1\"\nport = 3\n"
        ))
        .unwrap_err();
        assert!(format!("{err:#}").contains("port"), "{err:#}");
    }

    #[test]
    fn out_of_range_values_name_key_value_and_range() {
        let err = parse(&format!("{MINIMAL}\n[smtp]\nmax_message_size = 1000\n")).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("smtp.max_message_size = 1000"), "{text}");
        assert!(text.contains("25165824..=1073741824"), "{text}");

        let err =
            parse(&MINIMAL.replace("[\"test.kim.telematik\"]", "[\"bad domain\"]")).unwrap_err();
        assert!(format!("{err:#}").contains("\"bad domain\""));
        let err = parse(&MINIMAL.replace("fd.test.kim.telematik", "-x")).unwrap_err();
        assert!(format!("{err:#}").contains("hostname = \"-x\""));
    }

    const AM: &str = r#"
[http]
listen = "127.0.0.1:8443"
public_url = "https://localhost:8443"
[account_manager]
card_ca_pem = "ca.pem"
provider_ca_cert_pem = "komp.pem"
provider_ca_key_pem = "komp.key"
[account_manager.vzd]
base_url = "https://vzd:8443"
fad = "fad"
"#;

    #[test]
    fn portal_section() {
        let portal = "[portal]\nlisten = \"127.0.0.1:8080\"\nsender = \"portal@fd.example\"\n";
        let c = parse(&format!("{MINIMAL}{AM}{portal}mail_dir = \"mails\"\n")).unwrap();
        let p = c.portal.unwrap();
        assert_eq!(p.mail_dir, Some(PathBuf::from("/etc/kim/mails")));
        assert_eq!(p.cm_ui_base, "http://127.0.0.1:12001");
        assert_eq!(p.registration_hours, 96);
        assert!(p.tls);
        let c = parse(&format!(
            "{MINIMAL}{AM}{portal}relay = \"mail.example:587\"\nrelay_security = \"tls\"\n"
        ))
        .unwrap();
        assert_eq!(
            c.portal.unwrap().security().unwrap(),
            kim_portal::Security::Tls
        );
        for (extra, needle) in [
            ("", "relay (\"host:port\") or mail_dir"),
            ("relay = \"x\"\n", "expected host:port"),
            (
                "mail_dir = \"m\"\nrelay_security = \"ssl\"\n",
                "relay_security = \"ssl\"",
            ),
            (
                "mail_dir = \"m\"\nregistration_hours = 0\n",
                "registration_hours = 0",
            ),
            ("mail_dir = \"m\"\ncm_ui_base = \"ftp://x\"\n", "cm_ui_base"),
        ] {
            let err = parse(&format!("{MINIMAL}{AM}{portal}{extra}")).unwrap_err();
            assert!(format!("{err:#}").contains(needle), "{needle}: {err:#}");
        }
        let err = parse(&format!("{MINIMAL}{portal}mail_dir = \"m\"\n")).unwrap_err();
        assert!(format!("{err:#}").contains("[account_manager]"), "{err:#}");
    }

    #[test]
    fn same_port_for_both_listeners_is_refused() {
        let text = format!(
            "{MINIMAL}\n[smtp]\nlisten = \"127.0.0.1:2000\"\n[pop3]\nlisten = \"127.0.0.1:2000\"\n"
        );
        assert!(format!("{:#}", parse(&text).unwrap_err()).contains("different ports"));
    }
}
