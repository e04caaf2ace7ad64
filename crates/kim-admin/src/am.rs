//! REST clients of the Fachdienst's administration interfaces: `I_AccountManager_Service`
//! (AccountManager.yaml 2.4.0; kim-spec §7), `I_ServiceInformation` (1.0.3) and
//! `I_AccountLimit_Service` (1.1.4).
//!
//! Every Account Manager operation sends the card's token as `Authorization: Bearer` (see
//! [`crate::auth::sign_jwt`]); passwords, initial passwords and OTPs travel base64-encoded
//! (yaml `format: byte`) in the headers `password`, `iniPassword`, `otp`, and new passwords
//! base64-encoded in the JSON bodies. Non-2xx answers become [`AdminError::Http`] with the
//! status and the yaml's error body (`message`, `traceId`).
//!
//! Transport: HTTPS through kim-tls (rustls, ring) with the trust anchors of the Fachdienst
//! and, where the provider requires it, the Clientmodul's TLS client certificate
//! ([`AmClientConfig::tls`]); plain `http://` only when no TLS options are given (tests).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::AdminError;

/// Path of the Account Manager below the Fachdienst's origin (yaml `servers`).
pub const ACCOUNT_MANAGER_PATH: &str = "/AccountMgmt/v2.4";
/// Path of ServiceInformation's operation below the origin.
pub const SERVICE_INFORMATION_PATH: &str = "/ServiceInformation/v1.0/serviceinfo";
/// Path of AccountLimit's operation below the origin.
pub const ACCOUNT_LIMIT_PATH: &str = "/AccountLimit/v1.1/limit";

/// The `Account` schema as the Account Manager returns it (getAccount).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// `referenceID`: the provider's contract number or registration code.
    #[serde(
        rename = "referenceID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reference_id: Option<String>,
    /// `username`: the KIM address.
    #[serde(default)]
    pub username: String,
    /// `kimVersion`, e.g. `1.5+`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kim_version: Option<String>,
    /// `regStat`: `registered` or `deregistered`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_stat: Option<String>,
    /// `deregDate`: end of the deregistration window (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dereg_date: Option<i64>,
    /// `dataTimeToLive` in days (10..=365).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_time_to_live: Option<u16>,
    /// `maxMailSize` in bytes (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_mail_size: Option<i64>,
    /// `noVzdMailEntry`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_vzd_mail_entry: Option<bool>,
}

/// A new account for registerAccount: the address, the first password and the options.
#[derive(Clone, Default)]
pub struct NewAccount {
    /// `referenceID` (required when ServiceInformation says `referenceIdRequired`).
    pub reference_id: Option<String>,
    /// The KIM address to register.
    pub username: String,
    /// The account's password (sent base64-encoded).
    pub password: Zeroizing<String>,
    /// `kimVersion` (the Account Manager's default when `None`).
    pub kim_version: Option<String>,
    /// `dataTimeToLive` in days.
    pub data_time_to_live: Option<u16>,
    /// `noVzdMailEntry`.
    pub no_vzd_mail_entry: Option<bool>,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("reference_id", &self.reference_id)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("kim_version", &self.kim_version)
            .field("data_time_to_live", &self.data_time_to_live)
            .field("no_vzd_mail_entry", &self.no_vzd_mail_entry)
            .finish()
    }
}

/// setAccount: the fields to change (`None` stays as it is).
#[derive(Clone, Default)]
pub struct AccountUpdate {
    /// A new password (sent base64-encoded).
    pub password: Option<Zeroizing<String>>,
    /// A new `kimVersion`.
    pub kim_version: Option<String>,
    /// A new `dataTimeToLive` in days.
    pub data_time_to_live: Option<u16>,
    /// A new `noVzdMailEntry`.
    pub no_vzd_mail_entry: Option<bool>,
}

impl std::fmt::Debug for AccountUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountUpdate")
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("kim_version", &self.kim_version)
            .field("data_time_to_live", &self.data_time_to_live)
            .field("no_vzd_mail_entry", &self.no_vzd_mail_entry)
            .finish()
    }
}

/// The `OutOfOfficeNotification` schema. Dates are RFC 3339 date-times, e.g.
/// `2026-07-20T17:32:28Z`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutOfOffice {
    /// From this point on the notice is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// After this point the notice is no longer sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// The text of the notice (at most 2048 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether the notice is switched on.
    #[serde(default)]
    pub active: bool,
}

/// The `ServiceInformation` schema (ServiceInformation.yaml 1.0.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInformation {
    /// Version(s) of the KIM backend, `;`-separated.
    #[serde(default)]
    pub kim_service_version: Option<String>,
    /// The password policy as a Java regular expression (see [`crate::check_password`]).
    #[serde(default)]
    pub password_policy_reg_ex: Option<String>,
    /// The password policy for people.
    #[serde(default)]
    pub password_policy_display: Option<String>,
    /// Token lifetime in seconds (300..=21600).
    #[serde(default)]
    pub jwt_expiration: Option<u32>,
    /// Whether registration needs a `referenceID`.
    #[serde(default)]
    pub reference_id_required: Option<bool>,
    /// Whether registration needs an initial password.
    #[serde(default)]
    pub initial_password_required: Option<bool>,
}

/// The `Limit` schema of AccountLimit.yaml 1.1.4 (`-1` = unlimited).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountLimit {
    /// `dataTimeToLive` in days.
    #[serde(default)]
    pub data_time_to_live: Option<i64>,
    /// `maxMailSize` in bytes.
    #[serde(default)]
    pub max_mail_size: Option<i64>,
    /// `quota` in bytes.
    #[serde(default)]
    pub quota: Option<i64>,
    /// `remainQuota` in bytes.
    #[serde(default)]
    pub remain_quota: Option<i64>,
}

/// Largest answer body read from the Fachdienst (a PKCS#12 file is a few KiB).
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// How to reach the Account Manager.
#[derive(Debug, Clone)]
pub struct AmClientConfig {
    /// Base URL including the version path, e.g.
    /// `https://kim.example.de/AccountMgmt/v2.4` ([`ACCOUNT_MANAGER_PATH`]).
    pub base_url: String,
    /// TLS: the Fachdienst's trust anchors and, if the provider requires it, the
    /// Clientmodul's client certificate. `None`: plain HTTP (only for `http://` URLs).
    pub tls: Option<kim_tls::ClientOptions>,
    /// Limit for one whole request (connect, send, answer).
    pub timeout: Duration,
}

impl AmClientConfig {
    /// A configuration with a 30 s request limit.
    #[must_use]
    pub fn new(base_url: impl Into<String>, tls: Option<kim_tls::ClientOptions>) -> Self {
        Self {
            base_url: base_url.into(),
            tls,
            timeout: Duration::from_secs(30),
        }
    }
}

/// The REST client of the Account Manager (and of ServiceInformation and AccountLimit on
/// the same Fachdienst). Cheap to clone.
#[derive(Debug, Clone)]
pub struct AccountManagerClient {
    http: reqwest::Client,
    base: String,
}

fn b64(secret: &str) -> Zeroizing<String> {
    Zeroizing::new(STANDARD.encode(secret.as_bytes()))
}

/// Percent-encodes a path segment (everything but unreserved characters and `@`).
fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@' | b'+') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The yaml's error body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    message: Option<String>,
    trace_id: Option<String>,
}

impl AccountManagerClient {
    /// A client for `config`.
    ///
    /// # Errors
    /// [`AdminError::Input`] for a base URL that is not `https://` (or `http://` without TLS
    /// options), unusable TLS material, or a zero timeout.
    pub fn new(config: AmClientConfig) -> Result<Self, AdminError> {
        let base = config.base_url.trim().trim_end_matches('/').to_owned();
        let https = base.starts_with("https://");
        if !(https || (base.starts_with("http://") && config.tls.is_none())) {
            return Err(AdminError::Input(format!(
                "Account Manager URL {base:?}: expected https:// (http:// only without TLS \
                 settings)"
            )));
        }
        if config.timeout.is_zero() {
            return Err(AdminError::Input("Account Manager timeout is zero".into()));
        }
        // No redirects: the password and OTP headers must not follow to another place.
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if let Some(tls) = config.tls {
            let rustls = kim_tls::client_config(tls)
                .map_err(|e| AdminError::Input(format!("TLS settings: {e}")))?;
            builder = builder.tls_backend_preconfigured((*rustls).clone());
        } else if https {
            return Err(AdminError::Input(
                "an https:// URL needs TLS settings (trust anchors)".into(),
            ));
        } else {
            builder = builder.tls_backend_preconfigured(plain_http_tls()?);
        }
        let http = builder
            .build()
            .map_err(|e| AdminError::Input(format!("HTTP client: {e}")))?;
        Ok(Self { http, base })
    }

    /// The base URL (with the version path).
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The Fachdienst's origin (`scheme://host:port`) derived from the base URL.
    #[must_use]
    pub fn origin(&self) -> &str {
        let after_scheme = self.base.find("://").map_or(0, |i| i + 3);
        match self.base.get(after_scheme..).and_then(|r| r.find('/')) {
            Some(i) => self.base.get(..after_scheme + i).unwrap_or(&self.base),
            None => &self.base,
        }
    }

    fn account_url(&self, username: &str, suffix: &str) -> String {
        format!("{}/account/{}{suffix}", self.base, segment(username.trim()))
    }

    /// Sends a request and returns the body of a 2xx answer.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Vec<u8>, AdminError> {
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                AdminError::Transport("no answer in time".into())
            } else {
                AdminError::Transport(error_chain(&e))
            }
        })?;
        let status = response.status().as_u16();
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| AdminError::Transport(format!("reading the answer: {e}")))?
        {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(AdminError::Protocol(format!(
                    "answer longer than {MAX_ANSWER_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
        Err(AdminError::Http {
            status,
            message: parsed.as_ref().and_then(|b| b.message.clone()),
            trace_id: parsed.and_then(|b| b.trace_id),
        })
    }

    fn authorized(
        &self,
        method: reqwest::Method,
        url: String,
        jwt: &str,
        password: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .bearer_auth(jwt)
            .header("password", b64(password).as_str())
    }

    /// registerAccount (`POST /account`): creates `account`, bound to the card of `jwt`.
    ///
    /// # Errors
    /// [`AdminError::Http`] 401 (token, referenceID or initial password refused), 409 (address
    /// taken), 420 (address or password policy), 422, 423, 502; transport errors.
    pub async fn register(
        &self,
        jwt: &str,
        account: &NewAccount,
        ini_password: Option<&str>,
    ) -> Result<(), AdminError> {
        let mut body = serde_json::Map::new();
        if let Some(r) = &account.reference_id {
            body.insert("referenceID".into(), r.clone().into());
        }
        body.insert("username".into(), account.username.trim().into());
        body.insert(
            "password".into(),
            b64(&account.password).as_str().to_owned().into(),
        );
        if let Some(v) = &account.kim_version {
            body.insert("kimVersion".into(), v.clone().into());
        }
        if let Some(d) = account.data_time_to_live {
            body.insert("dataTimeToLive".into(), d.into());
        }
        if let Some(f) = account.no_vzd_mail_entry {
            body.insert("noVzdMailEntry".into(), f.into());
        }
        let body = Zeroizing::new(serde_json::Value::Object(body).to_string());
        let mut request = self
            .http
            .post(format!("{}/account", self.base))
            .bearer_auth(jwt)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.as_str().to_owned());
        if let Some(ini) = ini_password {
            request = request.header("iniPassword", b64(ini).as_str());
        }
        self.send(request).await.map(drop)
    }

    /// getAccount (`GET /account/{username}`).
    ///
    /// # Errors
    /// [`AdminError::Http`] 401 (token, card or password), 404; [`AdminError::Protocol`] for
    /// a body that is not an `Account`.
    pub async fn get(
        &self,
        jwt: &str,
        username: &str,
        password: &str,
    ) -> Result<Account, AdminError> {
        let url = self.account_url(username, "");
        let body = self
            .send(self.authorized(reqwest::Method::GET, url, jwt, password))
            .await?;
        serde_json::from_slice(&body).map_err(|e| AdminError::Protocol(format!("Account: {e}")))
    }

    /// setAccount (`PUT /account/{username}`): changes the fields of `update` that are set.
    ///
    /// # Errors
    /// [`AdminError::Http`] 400, 401, 404, 420 (new password breaks the policy), 422, 423, 502.
    pub async fn set(
        &self,
        jwt: &str,
        username: &str,
        password: &str,
        update: &AccountUpdate,
    ) -> Result<(), AdminError> {
        let mut body = serde_json::Map::new();
        if let Some(p) = &update.password {
            body.insert("password".into(), b64(p).as_str().to_owned().into());
        }
        if let Some(v) = &update.kim_version {
            body.insert("kimVersion".into(), v.clone().into());
        }
        if let Some(d) = update.data_time_to_live {
            body.insert("dataTimeToLive".into(), d.into());
        }
        if let Some(f) = update.no_vzd_mail_entry {
            body.insert("noVzdMailEntry".into(), f.into());
        }
        let body = Zeroizing::new(serde_json::Value::Object(body).to_string());
        let url = self.account_url(username, "");
        let request = self
            .authorized(reqwest::Method::PUT, url, jwt, password)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.as_str().to_owned());
        self.send(request).await.map(drop)
    }

    /// deregisterAccount (`DELETE /account/{username}`): starts the 30-day window.
    ///
    /// # Errors
    /// [`AdminError::Http`] 401, 404, 502.
    pub async fn deregister(
        &self,
        jwt: &str,
        username: &str,
        password: &str,
    ) -> Result<(), AdminError> {
        let url = self.account_url(username, "");
        self.send(self.authorized(reqwest::Method::DELETE, url, jwt, password))
            .await
            .map(drop)
    }

    /// revokeDeregistration (`PUT /account/{username}/revokeDeregistration`).
    ///
    /// # Errors
    /// [`AdminError::Http`] 401, 403 (not deregistered), 404, 423, 502.
    pub async fn revoke_deregistration(
        &self,
        jwt: &str,
        username: &str,
        password: &str,
    ) -> Result<(), AdminError> {
        let url = self.account_url(username, "/revokeDeregistration");
        self.send(self.authorized(reqwest::Method::PUT, url, jwt, password))
            .await
            .map(drop)
    }

    /// getOTP (`GET /account/{username}/OTP`): the one-time password (decoded) that moves
    /// the address to another card with [`Self::set_tid`].
    ///
    /// # Errors
    /// [`AdminError::Http`] 401, 404; [`AdminError::Protocol`] for a malformed body.
    pub async fn get_otp(
        &self,
        jwt: &str,
        username: &str,
        password: &str,
    ) -> Result<Zeroizing<String>, AdminError> {
        #[derive(Deserialize)]
        struct Otp {
            otp: String,
        }
        let url = self.account_url(username, "/OTP");
        let body = Zeroizing::new(
            self.send(self.authorized(reqwest::Method::GET, url, jwt, password))
                .await?,
        );
        let otp: Otp = serde_json::from_slice(&body)
            .map_err(|_| AdminError::Protocol("getOTP answer without otp".into()))?;
        let otp = Zeroizing::new(otp.otp);
        let decoded = Zeroizing::new(
            STANDARD
                .decode(otp.trim())
                .map_err(|_| AdminError::Protocol("otp is not base64".into()))?,
        );
        String::from_utf8(decoded.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| AdminError::Protocol("otp is not UTF-8".into()))
    }

    /// setTID (`PUT /account/{username}/telematikID`): binds the address to the card that
    /// signed `jwt`, authorised by `otp` from [`Self::get_otp`].
    ///
    /// # Errors
    /// [`AdminError::Http`] 401, 403 (invalid OTP), 404, 408 (OTP expired), 423, 502.
    pub async fn set_tid(
        &self,
        jwt: &str,
        username: &str,
        password: &str,
        otp: &str,
    ) -> Result<(), AdminError> {
        let url = self.account_url(username, "/telematikID");
        let request = self
            .authorized(reqwest::Method::PUT, url, jwt, password)
            .header("otp", b64(otp).as_str());
        self.send(request).await.map(drop)
    }

    /// createCert (`POST /account/{username}/cert`): a new Clientmodul TLS certificate with
    /// CN `<common_name>#CM`, as PKCS#12 DER (encrypted with `cert_password` if given).
    ///
    /// # Errors
    /// [`AdminError::Http`] 400 (e.g. empty common name), 401, 404, 502;
    /// [`AdminError::Protocol`] for a malformed body.
    pub async fn create_cert(
        &self,
        jwt: &str,
        username: &str,
        password: &str,
        common_name: &str,
        cert_password: Option<&str>,
    ) -> Result<Vec<u8>, AdminError> {
        #[derive(Deserialize)]
        struct File {
            file: String,
        }
        let mut body = serde_json::Map::new();
        body.insert("commonName".into(), common_name.into());
        if let Some(p) = cert_password {
            body.insert("certPassword".into(), b64(p).as_str().to_owned().into());
        }
        let body = Zeroizing::new(serde_json::Value::Object(body).to_string());
        let url = self.account_url(username, "/cert");
        let request = self
            .authorized(reqwest::Method::POST, url, jwt, password)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.as_str().to_owned());
        let answer = self.send(request).await?;
        let file: File = serde_json::from_slice(&answer)
            .map_err(|_| AdminError::Protocol("createCert answer without file".into()))?;
        STANDARD
            .decode(file.file.trim())
            .map_err(|_| AdminError::Protocol("createCert file is not base64".into()))
    }

    /// getOutOfOffice (`GET /account/{username}/outofoffice`).
    ///
    /// # Errors
    /// [`AdminError::Http`] 401, 404; [`AdminError::Protocol`] for a malformed body.
    pub async fn get_out_of_office(
        &self,
        jwt: &str,
        username: &str,
        password: &str,
    ) -> Result<OutOfOffice, AdminError> {
        let url = self.account_url(username, "/outofoffice");
        let body = self
            .send(self.authorized(reqwest::Method::GET, url, jwt, password))
            .await?;
        serde_json::from_slice(&body)
            .map_err(|e| AdminError::Protocol(format!("OutOfOfficeNotification: {e}")))
    }

    /// updateOutOfOffice (`PUT /account/{username}/outofoffice`).
    ///
    /// # Errors
    /// [`AdminError::Http`] 400 (dates, missing fields), 401, 404.
    pub async fn update_out_of_office(
        &self,
        jwt: &str,
        username: &str,
        password: &str,
        notice: &OutOfOffice,
    ) -> Result<(), AdminError> {
        let body = serde_json::to_string(notice)
            .map_err(|e| AdminError::Input(format!("out-of-office notice: {e}")))?;
        let url = self.account_url(username, "/outofoffice");
        let request = self
            .authorized(reqwest::Method::PUT, url, jwt, password)
            .header("content-type", "application/json; charset=utf-8")
            .body(body);
        self.send(request).await.map(drop)
    }

    /// getServiceInformation (`GET /ServiceInformation/v1.0/serviceinfo`, no
    /// authentication) at `origin` (`scheme://host:port`; [`Self::origin`] for the Account
    /// Manager's own).
    ///
    /// # Errors
    /// [`AdminError::Http`], transport errors, [`AdminError::Protocol`] for a malformed body.
    pub async fn service_information(
        &self,
        origin: &str,
    ) -> Result<ServiceInformation, AdminError> {
        let url = format!(
            "{}{SERVICE_INFORMATION_PATH}",
            origin.trim().trim_end_matches('/')
        );
        let body = self.send(self.http.get(url)).await?;
        serde_json::from_slice(&body)
            .map_err(|e| AdminError::Protocol(format!("ServiceInformation: {e}")))
    }

    /// getLimits (`GET /AccountLimit/v1.1/limit`, HTTP Basic with the mailbox's address and
    /// password) at `origin`.
    ///
    /// # Errors
    /// [`AdminError::Http`] 401, 404; transport errors; [`AdminError::Protocol`].
    pub async fn account_limit(
        &self,
        origin: &str,
        username: &str,
        password: &str,
    ) -> Result<AccountLimit, AdminError> {
        let url = format!(
            "{}{ACCOUNT_LIMIT_PATH}",
            origin.trim().trim_end_matches('/')
        );
        let body = self
            .send(self.http.get(url).basic_auth(username, Some(password)))
            .await?;
        serde_json::from_slice(&body).map_err(|e| AdminError::Protocol(format!("Limit: {e}")))
    }
}

/// A rustls configuration (ring provider) without trust anchors for `http://` clients
/// (reqwest needs one): no `https://` URL can succeed with it.
fn plain_http_tls() -> Result<kim_tls::rustls::ClientConfig, AdminError> {
    use kim_tls::rustls;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AdminError::Input(format!("TLS: {e}")))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth())
}

/// The error and its sources in one line (reqwest hides the cause behind `source()`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn path_segments_keep_addresses_and_escape_the_rest() {
        assert_eq!(
            segment("a.b-c_d@x.kim.telematik"),
            "a.b-c_d@x.kim.telematik"
        );
        assert_eq!(segment("a/b?c#d e%"), "a%2Fb%3Fc%23d%20e%25");
    }

    #[test]
    fn origin_and_url_rules() {
        let c = AccountManagerClient::new(AmClientConfig::new(
            "http://127.0.0.1:8080/AccountMgmt/v2.4/",
            None,
        ))
        .unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:8080/AccountMgmt/v2.4");
        assert_eq!(c.origin(), "http://127.0.0.1:8080");
        assert!(AccountManagerClient::new(AmClientConfig::new("ftp://x", None)).is_err());
        assert!(AccountManagerClient::new(AmClientConfig::new("https://x", None)).is_err());
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let a = NewAccount {
            username: "a@x.kim.telematik".into(),
            password: Zeroizing::new("Geheim-2026!".into()),
            ..NewAccount::default()
        };
        assert!(!format!("{a:?}").contains("Geheim"));
        let u = AccountUpdate {
            password: Some(Zeroizing::new("Geheim-2026!".into())),
            ..AccountUpdate::default()
        };
        assert!(!format!("{u:?}").contains("Geheim"));
    }
}
