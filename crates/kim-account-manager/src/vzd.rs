//! Writes of KIM addresses into the VZD through the maintenance REST API
//! `I_Directory_Application_Maintenance` (api-vzd yaml 1.4.9, KOM-LE Fachdaten):
//! `GET`/`PUT /DirectoryEntries/{telematikID}/KOM-LE_Fachdaten/{fad}`. The whole address list
//! of an entry is always rewritten (read-modify-write, as the yaml requires).
//!
//! [`VzdDirectory`] is the seam the router uses; [`HttpVzdClient`] is the implementation over
//! HTTP(S) (reqwest with a rustls configuration from kim-tls; mutual TLS or a Bearer token).

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Why a VZD call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VzdError {
    /// The entry is inactive (`active` = false); the caller answers 423.
    #[error("the VZD entry is inactive")]
    Locked,
    /// No directory entry with this Telematik-ID (kept out of the message: logs carry no
    /// identifiers).
    #[error("no VZD entry with the requested telematikID")]
    NoEntry(String),
    /// The VZD refused the request (status and its message).
    #[error("VZD answered {status}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its `message`, if any.
        message: String,
    },
    /// Network, TLS or an unreadable answer.
    #[error("VZD unreachable: {0}")]
    Transport(String),
    /// Our configuration is unusable (URL, TLS material).
    #[error("VZD client configuration: {0}")]
    Config(String),
}

/// One KIM address of an entry (`FAD_Req.komLeData[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VzdAddress {
    /// The KIM address.
    pub mail: String,
    /// `1.0`, `1.5` or `1.5+`.
    pub version: String,
    /// `noVzdMailEntry`: the address is left out of `mail` and `komLeData` (only `kimData`).
    #[serde(default, rename = "noVzdMailEntry")]
    pub no_vzd_mail_entry: bool,
}

/// The KOM-LE Fachdaten of directory entries, read and replaced as a whole.
#[async_trait]
pub trait VzdDirectory: Send + Sync + std::fmt::Debug {
    /// The addresses of the entry `telematik_id`.
    async fn addresses(&self, telematik_id: &str) -> Result<Vec<VzdAddress>, VzdError>;
    /// Replaces the addresses of the entry `telematik_id`.
    async fn set_addresses(
        &self,
        telematik_id: &str,
        addresses: &[VzdAddress],
    ) -> Result<(), VzdError>;
}

/// Adds or replaces `address` in the entry of `telematik_id`.
///
/// # Errors
/// [`VzdError`] from the directory.
pub async fn upsert(
    vzd: &dyn VzdDirectory,
    telematik_id: &str,
    address: VzdAddress,
) -> Result<(), VzdError> {
    let mut list = vzd.addresses(telematik_id).await?;
    list.retain(|a| !a.mail.eq_ignore_ascii_case(&address.mail));
    list.push(address);
    vzd.set_addresses(telematik_id, &list).await
}

/// Removes `mail` from the entry of `telematik_id` (nothing to do if absent).
///
/// # Errors
/// [`VzdError`] from the directory.
pub async fn remove(
    vzd: &dyn VzdDirectory,
    telematik_id: &str,
    mail: &str,
) -> Result<(), VzdError> {
    let mut list = vzd.addresses(telematik_id).await?;
    let before = list.len();
    list.retain(|a| !a.mail.eq_ignore_ascii_case(mail));
    if list.len() == before {
        return Ok(());
    }
    vzd.set_addresses(telematik_id, &list).await
}

/// How [`HttpVzdClient`] reaches the VZD.
#[derive(Debug, Clone)]
pub struct VzdClientConfig {
    /// Base URL, e.g. `https://vzd.example:8443` (no trailing path needed).
    pub base_url: String,
    /// The Fachdienst's FAD name in the paths (`{fad}`).
    pub fad: String,
    /// `Authorization: Bearer` token, if the VZD uses tokens.
    pub bearer_token: Option<String>,
    /// TLS trust and client identity for `https` URLs.
    pub tls: Option<kim_tls::ClientOptions>,
    /// Timeout of one request.
    pub timeout: Duration,
}

/// [`VzdDirectory`] over the maintenance REST API.
#[derive(Debug)]
pub struct HttpVzdClient {
    config: VzdClientConfig,
    http: reqwest::Client,
}

/// `FAD1` as the VZD returns it (only the parts read here).
#[derive(Debug, Deserialize)]
struct Fad1 {
    #[serde(default)]
    mail: Vec<String>,
    #[serde(default, rename = "komLeData")]
    kom_le_data: Vec<Fad1Address>,
    #[serde(default, rename = "kimData")]
    kim_data: Vec<Fad1Address>,
}

#[derive(Debug, Deserialize)]
struct Fad1Address {
    mail: String,
    #[serde(default)]
    version: Option<String>,
}

impl HttpVzdClient {
    /// Builds the client; nothing is sent yet.
    ///
    /// # Errors
    /// [`VzdError::Config`] for an unusable URL or TLS configuration.
    pub fn new(config: VzdClientConfig) -> Result<Self, VzdError> {
        let url = reqwest::Url::parse(&config.base_url)
            .map_err(|e| VzdError::Config(format!("base_url {:?}: {e}", config.base_url)))?;
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .no_proxy();
        match (&config.tls, url.scheme()) {
            (Some(options), _) => {
                let tls = kim_tls::client_config(options.clone())
                    .map_err(|e| VzdError::Config(e.to_string()))?;
                builder = builder.tls_backend_preconfigured((*tls).clone());
            }
            (None, "https") => {
                return Err(VzdError::Config(
                    "an https base_url needs a TLS configuration".into(),
                ));
            }
            (None, _) => {
                // Plain HTTP (tests, a VZD behind a local TLS terminator): reqwest still
                // wants a TLS backend; give it one that trusts nothing.
                builder = builder.tls_backend_preconfigured(plain_http_tls()?);
            }
        }
        let http = builder
            .build()
            .map_err(|e| VzdError::Config(format!("HTTP client: {e}")))?;
        Ok(Self { config, http })
    }

    fn url(&self, telematik_id: &str) -> String {
        format!(
            "{}/DirectoryEntries/{}/KOM-LE_Fachdaten/{}",
            self.config.base_url.trim_end_matches('/'),
            percent_path(telematik_id),
            percent_path(&self.config.fad)
        )
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.config.bearer_token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn check(
        telematik_id: &str,
        response: reqwest::Response,
    ) -> Result<bytes::Bytes, VzdError> {
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| VzdError::Transport(e.to_string()))?;
        match status {
            200..=299 => Ok(body),
            404 => Err(VzdError::NoEntry(telematik_id.to_owned())),
            423 => Err(VzdError::Locked),
            _ => {
                let message = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                    .unwrap_or_default();
                Err(VzdError::Refused { status, message })
            }
        }
    }
}

impl Fad1 {
    /// Every address of the entry: `kimData` lists all with their versions (those missing from
    /// `komLeData` have `noVzdMailEntry`); `mail` values without Fachdaten count as KIM 1.0
    /// (kim-spec §10), so a rewrite never drops them.
    fn into_addresses(self) -> Vec<VzdAddress> {
        let Fad1 {
            mail,
            kom_le_data,
            kim_data,
        } = self;
        let mut out: Vec<VzdAddress> = kim_data
            .into_iter()
            .map(|k| {
                let listed = kom_le_data
                    .iter()
                    .any(|m| m.mail.eq_ignore_ascii_case(&k.mail));
                VzdAddress {
                    version: k.version.unwrap_or_else(|| "1.0".into()),
                    mail: k.mail,
                    no_vzd_mail_entry: !listed,
                }
            })
            .collect();
        for m in mail {
            if !out.iter().any(|a| a.mail.eq_ignore_ascii_case(&m)) {
                out.push(VzdAddress {
                    mail: m,
                    version: "1.0".into(),
                    no_vzd_mail_entry: false,
                });
            }
        }
        out
    }
}

/// A rustls configuration (ring provider) with no trust anchors: no https URL can succeed.
fn plain_http_tls() -> Result<rustls::ClientConfig, VzdError> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| VzdError::Config(format!("TLS: {e}")))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth())
}

/// Percent-encodes everything but unreserved characters (RFC 3986) for a path segment.
fn percent_path(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[async_trait]
impl VzdDirectory for HttpVzdClient {
    async fn addresses(&self, telematik_id: &str) -> Result<Vec<VzdAddress>, VzdError> {
        let response = self
            .authorize(self.http.get(self.url(telematik_id)))
            .send()
            .await
            .map_err(|e| VzdError::Transport(e.to_string()))?;
        let body = Self::check(telematik_id, response).await?;
        let fad: Fad1 = serde_json::from_slice(&body)
            .map_err(|e| VzdError::Transport(format!("unreadable FAD1: {e}")))?;
        Ok(fad.into_addresses())
    }

    async fn set_addresses(
        &self,
        telematik_id: &str,
        addresses: &[VzdAddress],
    ) -> Result<(), VzdError> {
        let mail: Vec<&str> = addresses.iter().map(|a| a.mail.as_str()).collect();
        let body = serde_json::json!({"mail": mail, "komLeData": addresses});
        let response = self
            .authorize(self.http.put(self.url(telematik_id)))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| VzdError::Transport(e.to_string()))?;
        Self::check(telematik_id, response).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(percent_path("1-2.58.00000040"), "1-2.58.00000040");
        assert_eq!(percent_path("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn fad1_addresses_keep_mail_only_and_hidden_entries() {
        let fad: Fad1 = serde_json::from_value(serde_json::json!({
            "mail": ["a@x.kim.telematik", "old@x.kim.telematik"],
            "komLeData": [{"mail": "a@x.kim.telematik", "version": "1.5"}],
            "kimData": [
                {"mail": "a@x.kim.telematik", "version": "1.5", "appTags": []},
                {"mail": "h@x.kim.telematik", "version": "1.5+", "appTags": []}
            ]
        }))
        .unwrap();
        let addresses = fad.into_addresses();
        let expect = |mail: &str, version: &str, hidden: bool| VzdAddress {
            mail: mail.into(),
            version: version.into(),
            no_vzd_mail_entry: hidden,
        };
        assert_eq!(
            addresses,
            vec![
                expect("a@x.kim.telematik", "1.5", false),
                expect("h@x.kim.telematik", "1.5+", true),
                expect("old@x.kim.telematik", "1.0", false),
            ]
        );
    }

    #[test]
    fn https_without_tls_configuration_is_refused() {
        let config = VzdClientConfig {
            base_url: "https://vzd.invalid".into(),
            fad: "fd".into(),
            bearer_token: None,
            tls: None,
            timeout: Duration::from_secs(5),
        };
        assert!(matches!(
            HttpVzdClient::new(config),
            Err(VzdError::Config(_))
        ));
    }
}
