//! Configuration of the send side (the SMTP proxy).
//!
//! Field docs name the `cm.properties` key of the Clientmodul manual (chapter 4, table of
//! configuration parameters) where one exists; loading that file is a later step, this
//! struct is what it will be validated into.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kim_tls::{Identity, TrustAnchors};
use kim_types::KimVersion;

use crate::fd_cert::FachdienstCertCheck;

/// Client-Mails above this size go through the KAS (gemSpec_CM_KOMLE 3.2.1: 15 MiB).
pub const KAS_THRESHOLD: u64 = 15 * 1024 * 1024;

/// Largest mail a Fachdienst accepts at all when the AccountLimit service is not asked
/// (`maxMailSize` example value, 700 MiB).
pub const DEFAULT_MAX_MAIL_SIZE: u64 = 734_003_200;

/// How the practice software connects to the proxy (`clientmodul.proxy.tls`:
/// `NONE`, `TLS`, `TLS_CLIENT_CERTIFICATE`; KOM-LE-A_2066/2067, KOM-LE-A_2181).
#[derive(Debug, Clone)]
pub enum ProxyTls {
    /// `NONE`: plain SMTP (only on the same host as the practice software).
    None,
    /// `TLS`: implicit TLS with this server identity.
    Tls {
        /// The proxy's server certificate and key.
        identity: Identity,
    },
    /// `TLS_CLIENT_CERTIFICATE`: implicit TLS, the client must present a certificate
    /// issued by one of `client_cas`.
    TlsClientCertificate {
        /// The proxy's server certificate and key.
        identity: Identity,
        /// CAs of accepted client certificates.
        client_cas: TrustAnchors,
    },
}

/// Mutual TLS towards the Fachdienst MTA (KOM-LE-A_2074, KOM-LE-A_2182-01).
#[derive(Debug, Clone)]
pub struct FachdienstTls {
    /// The Clientmodul's C.CM.TLS-CS identity from the provider's PKCS#12.
    pub identity: Identity,
    /// CAs the Fachdienst's C.FD.TLS-S certificate must chain to.
    pub trust: TrustAnchors,
    /// Accept a server certificate that does not name the dialled host (chain still
    /// checked). Logged at start when set.
    pub danger_accept_any_hostname: bool,
}

impl FachdienstTls {
    /// The rustls client configuration for the MTA and the POP3 server (mutual TLS with the
    /// Clientmodul's identity); warns once when host names are not checked.
    ///
    /// # Errors
    /// [`crate::StartError::Tls`] if the identity or trust anchors are unusable.
    pub(crate) fn client_config(
        &self,
    ) -> Result<Arc<kim_tls::rustls::ClientConfig>, crate::StartError> {
        if self.danger_accept_any_hostname {
            tracing::warn!("danger_accept_any_hostname: the Fachdienst's host name is not checked");
        }
        kim_tls::client_config(kim_tls::ClientOptions {
            trust: self.trust.clone(),
            identity: Some(self.identity.clone()),
            danger_accept_any_hostname: self.danger_accept_any_hostname,
        })
        .map_err(|source| crate::StartError::Tls {
            what: "fachdienst",
            source,
        })
    }
}

/// Settings of the send side.
#[derive(Debug, Clone)]
pub struct SendConfig {
    /// Listen address; its port is `clientmodul.proxy.smtp.port` (default 25).
    pub listen: SocketAddr,
    /// `clientmodul.proxy.tls`.
    pub proxy_tls: ProxyTls,
    /// Name in the greeting and EHLO reply.
    pub hostname: String,
    /// `clientmodul.proxy.smtp.timeout.server` (SMTP_TIMEOUT_SERVER, default 300 s): how
    /// long to wait for a reply of the MTA.
    pub timeout_server: Duration,
    /// `clientmodul.proxy.smtp.timeout.client` (SMTP_TIMEOUT_CLIENT, default 300 s): how
    /// long to wait for the next command of the practice software.
    pub timeout_client: Duration,
    /// `clientmodul.proxy.smtp.threads` bounds concurrent sessions here.
    pub max_sessions: usize,
    /// MTA used when the user name does not name one (A_23541 lets the user name win).
    pub default_mta: Option<(String, u16)>,
    /// TLS towards the Fachdienst.
    pub fachdienst_tls: FachdienstTls,
    /// `maxMailSize` of the account (AccountLimit, A_19355-01); larger Client-Mails get
    /// `552 5.3.4`. Also advertised as EHLO `SIZE` (at least 35882577, KOM-LE-A_2007).
    pub max_mail_size: u64,
    /// Client-Mails above this size need the KAS (15 MiB, A_19356-06).
    pub kas_threshold: u64,
    /// The KIM version this Clientmodul implements (A_21387-01 compares it with the
    /// sender's `komLeData`).
    pub kim_version: KimVersion,
    /// `X-KIM-CMVersion` (A_21388-01), e.g. `KIMRS_0.1.0`.
    pub cm_version: Option<String>,
    /// `X-KIM-PTVersion` (A_21388-01), e.g. `1.5.2-3`.
    pub pt_version: Option<String>,
    /// `dataTimeToLive` in days for `Expires` (A_22417-01) when AccountLimit is not asked.
    pub data_time_to_live_days: u32,
    /// Client-Mails above this many bytes are spooled to an unnamed temporary file
    /// instead of memory while DATA is received (4 MiB by default); large mails then
    /// stream from that file to the KAS.
    pub spool_memory_limit: u64,
    /// The check of the MTA's server certificate at the Konnektor (KOM-LE-A_2075-01),
    /// on by default; share one instance with the receive side so both use one cache.
    pub fachdienst_cert_check: Arc<FachdienstCertCheck>,
}

/// Settings of the KAS client (upload on the send side, download on the receive side).
#[derive(Debug, Clone)]
pub struct KasSettings {
    /// Origin (plus base path) of the Fachdienst's REST services, e.g.
    /// `https://kas.example.kim.telematik:8443`: found by DNS-SD (A_19361-01) or taken
    /// from the host of the user name. `/attachments/v2.4/attachment/` and
    /// `/AccountLimit/v1.1/limit` are appended.
    pub base_url: String,
    /// `CM_KAS_TIMEOUT` (default 30 s): inactivity timeout of a KAS connection
    /// (connect, and between two reads).
    pub timeout: Duration,
    /// Ask AccountLimit `getLimits` before an upload (A_22416) for `maxMailSize`,
    /// `remainQuota` and `dataTimeToLive`; without it the [`SendConfig`] values are used.
    pub account_limit: bool,
    /// `dataTimeToLive` in days used for the upload's `expires` when AccountLimit is not
    /// asked.
    pub data_time_to_live_days: u32,
}

impl KasSettings {
    /// Defaults: 30 s `CM_KAS_TIMEOUT`, AccountLimit asked, 90 days time to live.
    pub fn new(base_url: impl Into<String>) -> KasSettings {
        KasSettings {
            base_url: base_url.into(),
            timeout: Duration::from_secs(30),
            account_limit: true,
            data_time_to_live_days: 90,
        }
    }
}

impl SendConfig {
    /// Defaults of the manual where it has them: plain proxy, 300 s timeouts, 64 sessions,
    /// 700 MiB `maxMailSize`, 15 MiB KAS threshold, KIM 1.5+, 90 days time to live.
    pub fn new(
        listen: SocketAddr,
        hostname: impl Into<String>,
        fachdienst_tls: FachdienstTls,
    ) -> SendConfig {
        SendConfig {
            listen,
            proxy_tls: ProxyTls::None,
            hostname: hostname.into(),
            timeout_server: Duration::from_secs(300),
            timeout_client: Duration::from_secs(300),
            max_sessions: 64,
            default_mta: None,
            fachdienst_tls,
            max_mail_size: DEFAULT_MAX_MAIL_SIZE,
            kas_threshold: KAS_THRESHOLD,
            kim_version: KimVersion::V1_5Plus,
            cm_version: Some(concat!("KIMRS_", env!("CARGO_PKG_VERSION")).to_string()),
            pt_version: Some("1.5.2-3".to_string()),
            data_time_to_live_days: 90,
            spool_memory_limit: 4 * 1024 * 1024,
            fachdienst_cert_check: Arc::default(),
        }
    }
}

/// Settings of the receive side (the POP3 proxy, gemSpec_CM_KOMLE 3.4.2; kim-spec §4).
#[derive(Debug, Clone)]
pub struct ReceiveConfig {
    /// Listen address; its port is `clientmodul.proxy.pop3.port` (manual default 995).
    pub listen: SocketAddr,
    /// `clientmodul.proxy.tls` (shared with the send side).
    pub proxy_tls: ProxyTls,
    /// Name in the `+OK` greeting.
    pub hostname: String,
    /// `clientmodul.proxy.pop3.timeout.server` (POP3_TIMEOUT_SERVER, default 300 s): how
    /// long to wait for the Fachdienst's POP3 server.
    pub timeout_server: Duration,
    /// `clientmodul.proxy.pop3.timeout.client` (POP3_TIMEOUT_CLIENT, default 300 s): how
    /// long to wait for the next command of the practice software.
    pub timeout_client: Duration,
    /// `clientmodul.core.konnektor.receive.timeout` (KONNEKTOR_TIMEOUT, default 60 s): a
    /// Konnektor call
    /// that takes longer counts as "Konnektor not available" (decryption result 03).
    pub konnektor_timeout: Duration,
    /// `clientmodul.core.konnektor.certificates.cache.maxTtl` (TTL_EMAIL_ICCSN, default
    /// 30 days): how long the card found for a receiver address is remembered.
    pub ttl_email_iccsn: Duration,
    /// `clientmodul.proxy.pop3.threads` bounds concurrent sessions here.
    pub max_sessions: usize,
    /// POP3 server used when the user name does not name one.
    pub default_pop3: Option<(String, u16)>,
    /// TLS towards the Fachdienst (C.CM.TLS-CS, mutual).
    pub fachdienst_tls: FachdienstTls,
    /// The check of the POP3 server's certificate at the Konnektor (KOM-LE-A_2075-01),
    /// on by default; share one instance with the send side so both use one cache.
    pub fachdienst_cert_check: Arc<FachdienstCertCheck>,
}

impl ReceiveConfig {
    /// Defaults of the manual: plain proxy, 300 s POP3 timeouts, 60 s Konnektor timeout,
    /// 30 days TTL_EMAIL_ICCSN, 64 sessions.
    pub fn new(
        listen: SocketAddr,
        hostname: impl Into<String>,
        fachdienst_tls: FachdienstTls,
    ) -> ReceiveConfig {
        ReceiveConfig {
            listen,
            proxy_tls: ProxyTls::None,
            hostname: hostname.into(),
            timeout_server: Duration::from_secs(300),
            timeout_client: Duration::from_secs(300),
            konnektor_timeout: Duration::from_secs(60),
            ttl_email_iccsn: Duration::from_secs(30 * 24 * 3600),
            max_sessions: 64,
            default_pop3: None,
            fachdienst_tls,
            fachdienst_cert_check: Arc::default(),
        }
    }
}
