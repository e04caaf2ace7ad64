//! The check of the Fachdienst's server certificate (C.FD.TLS-S) at the Konnektor
//! (KOM-LE-A_2074, KOM-LE-A_2075-01, A_22348; kim-spec §5).
//!
//! After the TLS handshake with the MTA or the POP3 server, and before any credential is
//! sent, the server's leaf certificate is given to the Konnektor's `VerifyCertificate`
//! in the session's context. `INVALID` aborts the connection; `VALID` is remembered by the
//! certificate's SHA-256 fingerprint until its notAfter, but never longer than
//! [`FdCertSettings::max_ttl`]. `INCONCLUSIVE` (e.g. OCSP unreachable) lets the
//! connection proceed without remembering the result. A Konnektor that cannot be asked is
//! a failure: the check is never skipped silently.
//!
//! Main types: [`FachdienstCertCheck`] (settings and the cache, shared by the SMTP and
//! POP3 sides through [`crate::SendConfig::fachdienst_cert_check`] and
//! [`crate::ReceiveConfig::fachdienst_cert_check`]), [`CertCheckError`].
//!
//! Invariants: only `VALID` answers are cached; an entry never outlives the certificate;
//! the cache holds at most [`MAX_ENTRIES`] fingerprints.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kim_konnektor::client::Konnektor;
use kim_konnektor::model::{Context, VerificationResult};
use kim_konnektor::ops::VerifyCertificate;
use kim_message::cms::CertInfo;
use kim_smtp::Reply;
use kim_tls::tokio_rustls::client::TlsStream;
use sha2::{Digest, Sha256};

/// Most fingerprints remembered at once (a Clientmodul talks to a handful of servers).
pub const MAX_ENTRIES: usize = 256;

/// Settings of the certificate check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdCertSettings {
    /// Check the Fachdienst's certificate at the Konnektor (default `true`). Switching it
    /// off is meant for tests of other things only; a warning is logged per connection.
    pub enabled: bool,
    /// Longest time a `VALID` result is remembered (default 12 h, TTL_ENC_CERT of
    /// Tab_Konf_Param: "cache of certificates and check results"). The manual has no
    /// `cm.properties` key for it; the certificate's notAfter always ends an entry.
    pub max_ttl: Duration,
}

impl Default for FdCertSettings {
    fn default() -> Self {
        FdCertSettings {
            enabled: true,
            max_ttl: Duration::from_secs(12 * 3600),
        }
    }
}

/// Why the connection to the Fachdienst is aborted.
#[derive(Debug, thiserror::Error)]
pub enum CertCheckError {
    /// The Konnektor reports the certificate `INVALID` (the Fachdienst's fault).
    #[error("the Fachdienst's server certificate is INVALID at the Konnektor (code {code:?})")]
    Invalid {
        /// gematik code of the embedded error, if any (e.g. 4206).
        code: Option<u32>,
    },
    /// The server sent no certificate, or one that cannot be read (the Fachdienst's fault).
    #[error("the Fachdienst's server certificate is unusable: {0}")]
    Certificate(String),
    /// The Konnektor could not be asked (the Konnektor's fault).
    #[error("the Konnektor could not check the Fachdienst's certificate: {0}")]
    Konnektor(String),
}

impl CertCheckError {
    /// The reply to the practice software on the SMTP side (Tab_SMTP_Verbindung: no
    /// connection to the MTA, `454 4.7.0`).
    pub fn smtp_reply(&self) -> Reply {
        Reply::new(454, (4, 7, 0), self.short())
    }

    /// The `-ERR` text on the POP3 side (Tab_POP3_Verbindung).
    pub fn pop3_text(&self) -> String {
        format!("[SYS/TEMP] {}", self.short())
    }

    fn short(&self) -> &'static str {
        match self {
            CertCheckError::Invalid { .. } => {
                "KIM mail server certificate rejected by the Konnektor (INVALID)"
            }
            CertCheckError::Certificate(_) => "KIM mail server certificate unusable",
            CertCheckError::Konnektor(_) => {
                "Konnektor not available to check the KIM mail server certificate"
            }
        }
    }
}

/// The check with its cache of `VALID` fingerprints.
#[derive(Debug, Default)]
pub struct FachdienstCertCheck {
    settings: FdCertSettings,
    valid_until: Mutex<HashMap<[u8; 32], Instant>>,
}

impl FachdienstCertCheck {
    /// A check with `settings` and an empty cache.
    pub fn new(settings: FdCertSettings) -> FachdienstCertCheck {
        FachdienstCertCheck {
            settings,
            valid_until: Mutex::new(HashMap::new()),
        }
    }

    /// The settings this check was built with.
    pub fn settings(&self) -> FdCertSettings {
        self.settings
    }

    /// Checks the DER certificate `leaf` (`None`: the server sent none).
    ///
    /// # Errors
    /// [`CertCheckError`]: the connection must be closed without sending credentials.
    pub async fn check<K: Konnektor>(
        &self,
        konnektor: &K,
        context: &Context,
        leaf: Option<&[u8]>,
    ) -> Result<(), CertCheckError> {
        if !self.settings.enabled {
            tracing::warn!("the Fachdienst's certificate is not checked (switched off)");
            return Ok(());
        }
        let leaf = leaf.ok_or_else(|| CertCheckError::Certificate("none sent".into()))?;
        let fingerprint: [u8; 32] = Sha256::digest(leaf).into();
        let started = Instant::now();
        if self.cached(&fingerprint, started) {
            perf(started, "hit");
            return Ok(());
        }
        let cert = CertInfo::parse(leaf).map_err(|e| CertCheckError::Certificate(e.to_string()))?;
        let request = VerifyCertificate {
            context: context.clone(),
            certificate: leaf.to_vec(),
            verification_time: None,
        };
        let response = konnektor.verify_certificate(&request).await;
        perf(started, "miss");
        let response = response.map_err(|e| {
            tracing::warn!(error = %e, "VerifyCertificate for the Fachdienst failed");
            CertCheckError::Konnektor(e.to_string())
        })?;
        match response.verification_result {
            VerificationResult::Valid => {
                self.remember(fingerprint, cert.not_after, Instant::now());
                Ok(())
            }
            VerificationResult::Inconclusive => {
                tracing::warn!("Fachdienst certificate INCONCLUSIVE at the Konnektor; not cached");
                Ok(())
            }
            VerificationResult::Invalid => {
                let code = response.verification_error.as_ref().and_then(|e| e.code());
                tracing::warn!(?code, "Fachdienst certificate INVALID at the Konnektor");
                Err(CertCheckError::Invalid { code })
            }
        }
    }

    fn cached(&self, fingerprint: &[u8; 32], now: Instant) -> bool {
        let Ok(mut cache) = self.valid_until.lock() else {
            return false;
        };
        match cache.get(fingerprint) {
            Some(until) if *until > now => true,
            Some(_) => {
                cache.remove(fingerprint);
                false
            }
            None => false,
        }
    }

    /// Remembers a `VALID` result until notAfter (unix seconds), at most `max_ttl`.
    fn remember(&self, fingerprint: [u8; 32], not_after: i64, now: Instant) {
        let left = u64::try_from(not_after.saturating_sub(unix_now())).unwrap_or(0);
        let ttl = Duration::from_secs(left).min(self.settings.max_ttl);
        if ttl.is_zero() {
            return;
        }
        let Ok(mut cache) = self.valid_until.lock() else {
            return;
        };
        if cache.len() >= MAX_ENTRIES {
            cache.retain(|_, until| *until > now);
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(fingerprint, now + ttl);
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Emits the performance event of one check (target `kim_perf`).
fn perf(started: Instant, cache: &'static str) {
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(target: "kim_perf", step = "verify_fd_cert", cache, ms, "step timed");
}

/// What a connection to the Fachdienst needs for the check: the shared check, the
/// session's Konnektor and its context.
#[derive(Debug)]
pub struct CertGate<'a, K> {
    /// The check with its cache.
    pub check: &'a FachdienstCertCheck,
    /// The Konnektor of the session.
    pub konnektor: &'a K,
    /// The session's context (from the user name).
    pub context: &'a Context,
}

/// Boxed future of [`ServerCheck::check_leaf`].
pub type CheckFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), CertCheckError>> + Send + 'a>>;

/// The certificate check as the KAS client takes it, without the Konnektor's type: a
/// [`CertGate`] checking a leaf certificate that was not presented on a stream of its own.
pub trait ServerCheck: Send + Sync {
    /// Checks the DER certificate `leaf` (`None`: the server sent none), as
    /// [`FachdienstCertCheck::check`] does.
    fn check_leaf<'a>(&'a self, leaf: Option<&'a [u8]>) -> CheckFuture<'a>;
}

impl std::fmt::Debug for dyn ServerCheck + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerCheck")
    }
}

impl<K: Konnektor> ServerCheck for CertGate<'_, K> {
    fn check_leaf<'a>(&'a self, leaf: Option<&'a [u8]>) -> CheckFuture<'a> {
        Box::pin(self.check.check(self.konnektor, self.context, leaf))
    }
}

/// Why a checked connection to the Fachdienst was not made.
#[derive(Debug)]
pub(crate) enum ConnectFailure {
    /// TCP, TLS or the host name failed (`what` names the step, for the log).
    Unreachable(&'static str),
    /// The certificate check refused the server.
    Refused(CertCheckError),
}

/// TCP connect, TLS handshake and the certificate check of the server's leaf by `check`,
/// each bounded by `timeout`: the start of every connection to the Fachdienst's MTA and
/// POP3 server, and the KAS client's probe before a transfer.
pub(crate) async fn connect_checked(
    host: &str,
    port: u16,
    tls: &std::sync::Arc<kim_tls::rustls::ClientConfig>,
    check: &dyn ServerCheck,
    timeout: Duration,
) -> Result<TlsStream<tokio::net::TcpStream>, ConnectFailure> {
    use ConnectFailure::Unreachable;
    let name = rustls_pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| Unreachable("host name"))?;
    let tcp = tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port)))
        .await
        .map_err(|_| Unreachable("connect timeout"))?
        .map_err(|_| Unreachable("connect"))?;
    let _ = tcp.set_nodelay(true);
    let connector = kim_tls::tokio_rustls::TlsConnector::from(tls.clone());
    let stream = tokio::time::timeout(timeout, connector.connect(name, tcp))
        .await
        .map_err(|_| Unreachable("TLS handshake timeout"))?
        .map_err(|_| Unreachable("TLS handshake"))?;
    let leaf = peer_leaf(&stream);
    tokio::time::timeout(timeout, check.check_leaf(leaf.as_deref()))
        .await
        .map_err(|_| {
            ConnectFailure::Refused(CertCheckError::Konnektor("no answer in time".into()))
        })?
        .map_err(ConnectFailure::Refused)?;
    Ok(stream)
}

/// The DER leaf certificate the server presented on `stream`, if any.
pub(crate) fn peer_leaf<IO>(stream: &TlsStream<IO>) -> Option<Vec<u8>> {
    stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .map(|c| c.as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(max_ttl: Duration) -> FachdienstCertCheck {
        FachdienstCertCheck::new(FdCertSettings {
            enabled: true,
            max_ttl,
        })
    }

    #[test]
    fn an_entry_lives_until_max_ttl_at_most() {
        let c = check(Duration::from_secs(60));
        let now = Instant::now();
        c.remember([1; 32], unix_now() + 3600, now);
        assert!(c.cached(&[1; 32], now + Duration::from_secs(59)));
        assert!(!c.cached(&[1; 32], now + Duration::from_secs(61)));
        assert!(!c.cached(&[2; 32], now));
    }

    #[test]
    fn an_entry_never_outlives_the_certificate() {
        let c = check(Duration::from_secs(3600));
        let now = Instant::now();
        c.remember([1; 32], unix_now() + 10, now);
        assert!(c.cached(&[1; 32], now));
        assert!(!c.cached(&[1; 32], now + Duration::from_secs(20)));
        c.remember([3; 32], unix_now() - 10, now);
        assert!(!c.cached(&[3; 32], now));
    }

    #[test]
    fn the_cache_is_bounded() {
        let c = check(Duration::from_secs(3600));
        let now = Instant::now();
        for i in 0..=MAX_ENTRIES {
            let mut fp = [0; 32];
            fp[..8].copy_from_slice(&(i as u64).to_be_bytes());
            c.remember(fp, unix_now() + 3600, now);
        }
        let len = c.valid_until.lock().map(|m| m.len()).unwrap_or(usize::MAX);
        assert!(len <= MAX_ENTRIES, "{len}");
    }

    #[test]
    fn replies_name_the_reason_and_are_temporary() {
        let invalid = CertCheckError::Invalid { code: Some(4206) };
        let reply = invalid.smtp_reply();
        assert_eq!(reply.code, 454);
        assert!(reply.to_string().contains("INVALID"), "{reply}");
        let down = CertCheckError::Konnektor("refused".into());
        assert!(
            down.pop3_text()
                .starts_with("[SYS/TEMP] Konnektor not available")
        );
    }
}
