//! The Clientmodul's KAS client (gemSpec_CM_KOMLE 3.2.1/3.2.2; kim-spec §3.6, §4.5, §8):
//! [`HttpKas`] implements both seams, [`KasUpload`] for the send side and [`KasDownload`]
//! for the receive side, over HTTPS with mutual TLS (C.CM.TLS-CS, A_19362) and Basic
//! authentication with the mailbox credentials.
//!
//! - Upload (`upload` module): AccountLimit `getLimits` (A_22416), then one streamed
//!   `multipart/form-data` POST with the exact `Content-Length` (A_22427-01); the mail is
//!   encrypted with AES-256-GCM on a blocking thread straight into the request body.
//! - Download (`download` module): `GET` the link with the `recipient` header
//!   (A_19370-04), decrypt on a blocking thread straight into an unnamed temporary file,
//!   check the SHA-256 (A_19371-04, A_19372-03).
//!
//! Neither direction holds more than about 1 MiB of the mail in memory. A transfer in
//! which nothing moves for `CM_KAS_TIMEOUT` is aborted.
//!
//! The server's certificate is checked at the Konnektor like the MTA's (A_22348, kim-spec
//! §5): before a transfer, one handshake without payload fetches the KAS's leaf certificate
//! for the session's [`ServerCheck`]; the HTTP client only completes handshakes with
//! certificates approved that way, so no credential leaves before the check.

mod download;
mod pipe;
mod upload;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use kim_message::kas::KimAttachment;
use kim_tls::ClientOptions;
use sha2::{Digest as _, Sha256};

use crate::config::{FachdienstTls, KasSettings};
use crate::error::StartError;
use crate::fd_cert::{ConnectFailure, ServerCheck, connect_checked, peer_leaf};
use crate::receive::kas::{DownloadFuture, KasDownload};
use crate::send::kas::{DeleteFuture, KasInput, KasUpload, UploadFuture};

/// Path of the AttachmentService below the base URL (`AttachmentService.yaml` 2.4.0).
pub const ATTACHMENT_PATH: &str = "/attachments/v2.4/attachment/";
/// Path of `getLimits` below the base URL (`AccountLimit.yaml` 1.1.x).
pub const LIMIT_PATH: &str = "/AccountLimit/v1.1/limit";

/// The KAS and AccountLimit client of one Fachdienst.
#[derive(Debug, Clone)]
pub struct HttpKas {
    http: reqwest::Client,
    settings: KasSettings,
    /// TLS for the handshake that fetches a KAS's certificate before it is checked.
    probe: Arc<kim_tls::rustls::ClientConfig>,
    /// SHA-256 fingerprints of KAS certificates the Konnektor found valid; `http` completes
    /// handshakes with these only.
    approved: Arc<Mutex<VecDeque<[u8; 32]>>>,
}

/// Most approved KAS certificates remembered (the oldest approval goes first, never the
/// one just made).
const MAX_APPROVED: usize = 64;

impl HttpKas {
    /// A client for the services at `settings.base_url` with the Clientmodul's TLS
    /// identity and trust anchors of `tls`.
    ///
    /// # Errors
    /// [`StartError::Tls`] if the TLS configuration cannot be built, [`StartError::Config`]
    /// if the base URL is not an `https://` URL or the timeout is zero.
    pub fn new(settings: KasSettings, tls: &FachdienstTls) -> Result<HttpKas, StartError> {
        validate(&settings)?;
        let options = || ClientOptions {
            trust: tls.trust.clone(),
            identity: Some(tls.identity.clone()),
            danger_accept_any_hostname: tls.danger_accept_any_hostname,
        };
        let tls_error = |source| StartError::Tls {
            what: "kas",
            source,
        };
        let approved = Arc::new(Mutex::new(VecDeque::new()));
        let known = approved.clone();
        let approval: kim_tls::Approval = Arc::new(move |leaf: &[u8]| {
            let fingerprint: [u8; 32] = Sha256::digest(leaf).into();
            known.lock().is_ok_and(|set| set.contains(&fingerprint))
        });
        let config = kim_tls::client_config_approved(options(), approval).map_err(tls_error)?;
        let probe = kim_tls::client_config(options()).map_err(tls_error)?;
        // No client-wide read timeout: reqwest's would also bound the whole upload.
        // Inactivity is watched per transfer instead.
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*config).clone())
            .connect_timeout(settings.timeout)
            .no_proxy()
            .build()
            .map_err(|e| StartError::Config {
                key: "kas",
                value: e.to_string(),
                reason: "an HTTP client",
            })?;
        Ok(HttpKas {
            http,
            settings,
            probe,
            approved,
        })
    }

    /// Fetches the certificate of the server of `url` in a handshake that sends nothing,
    /// has `check` check it at the Konnektor and approves it for this client's connections.
    ///
    /// # Errors
    /// Why the server may not be used (unreachable, no certificate, refused by the check).
    pub(crate) async fn approve_server(
        &self,
        url: &str,
        check: &dyn ServerCheck,
    ) -> Result<(), String> {
        let url = reqwest::Url::parse(url).map_err(|e| format!("URL {url}: {e}"))?;
        let host = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
            .ok_or_else(|| format!("URL {url} without a host"))?;
        let port = url.port_or_known_default().unwrap_or(443);
        let stream = connect_checked(&host, port, &self.probe, check, self.settings.timeout)
            .await
            .map_err(|failure| match failure {
                ConnectFailure::Unreachable(what) => format!("{what} with {host}:{port}"),
                ConnectFailure::Refused(e) => e.to_string(),
            })?;
        let leaf = peer_leaf(&stream);
        drop(stream);
        if let (Some(leaf), Ok(mut approved)) = (leaf, self.approved.lock()) {
            let fingerprint: [u8; 32] = Sha256::digest(&leaf).into();
            if !approved.contains(&fingerprint) {
                if approved.len() >= MAX_APPROVED {
                    approved.pop_front();
                }
                approved.push_back(fingerprint);
            }
        }
        Ok(())
    }

    /// The same client behind both seams, for [`crate::start`] and the receive side.
    pub fn into_seams(self) -> (Arc<dyn KasUpload>, Arc<dyn KasDownload>) {
        let kas = Arc::new(self);
        (kas.clone(), kas)
    }

    /// The settings this client was built with.
    pub fn settings(&self) -> &KasSettings {
        &self.settings
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.base_url.trim_end_matches('/'))
    }
}

fn validate(settings: &KasSettings) -> Result<(), StartError> {
    let url = &settings.base_url;
    let host = url.strip_prefix("https://").unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(StartError::Config {
            key: "kas.base_url",
            value: url.clone(),
            reason: "an https:// URL",
        });
    }
    if settings.timeout.is_zero() {
        return Err(StartError::Config {
            key: "CM_KAS_TIMEOUT",
            value: "0".into(),
            reason: "at least 1 s",
        });
    }
    Ok(())
}

/// Emits the performance event of one KAS transfer (target `kim_perf`).
fn perf(started: std::time::Instant, direction: &'static str) {
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(target: "kim_perf", step = "kas", direction, ms, "step timed");
}

impl KasUpload for HttpKas {
    fn upload<'a>(&'a self, input: KasInput<'a>) -> UploadFuture<'a> {
        Box::pin(upload::upload(self, input))
    }

    fn delete<'a>(&'a self, link: &'a str, sender: &'a str, password: &'a str) -> DeleteFuture<'a> {
        Box::pin(upload::delete(self, link, sender, password))
    }
}

impl KasDownload for HttpKas {
    fn download<'a>(
        &'a self,
        attachment: &'a KimAttachment,
        recipient: &'a str,
        server_check: &'a dyn ServerCheck,
    ) -> DownloadFuture<'a> {
        Box::pin(download::download(
            self,
            attachment,
            recipient,
            server_check,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "test code")]
    use super::*;

    #[test]
    fn only_https_base_urls_and_positive_timeouts_are_accepted() {
        assert!(validate(&KasSettings::new("https://kas.example:8443")).is_ok());
        for bad in [
            "http://kas.example",
            "https://",
            "kas.example",
            "https://a b",
        ] {
            assert!(validate(&KasSettings::new(bad)).is_err(), "{bad}");
        }
        let mut zero = KasSettings::new("https://kas.example");
        zero.timeout = std::time::Duration::ZERO;
        assert!(validate(&zero).is_err());
    }
}
