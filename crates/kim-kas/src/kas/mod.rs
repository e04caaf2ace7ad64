//! The KIM attachment service (I_Attachment_Service, `AttachmentService.yaml` 2.4.0,
//! kim-spec §6.2 and §8): `addMailData` ([`upload`]), `readMailData`, `HEAD` (A_24002) and
//! `deleteMailData`.

mod limiter;
mod quota;
mod upload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kim_fachdienst::{Fachdienst, Purpose};
use kim_store::{KasObject, StoreError};

use crate::{KasError, MAX_MAIL_SIZE, auth, now};
use limiter::DownloadLimiter;
use quota::Reservations;

/// Base path of the KAS API (the yaml's `servers`).
pub const KAS_BASE_PATH: &str = "/attachments/v2.4";

/// Room for the multipart framing and the text fields on top of the mail data.
const FORM_OVERHEAD: u64 = 1024 * 1024;

/// Settings of the attachment service.
#[derive(Debug, Clone)]
pub struct KasConfig {
    /// Public origin (and base path from the DNS-SD TXT record, if any) the shared links
    /// start with, e.g. `https://kas.example.kim.telematik:8443`; [`KAS_BASE_PATH`] and
    /// `/attachment/<uuid>` are appended.
    pub public_base_url: String,
    /// Largest object accepted (`maxMailSize`), [`MAX_MAIL_SIZE`] by default; larger uploads
    /// get `413`.
    pub max_mail_size: u64,
    /// Downloads per recipient and object before `429` (reference: 1000).
    pub download_limit: u32,
    /// Time without a download after which the counter starts again (reference: 5 min).
    pub download_idle_reset: Duration,
}

impl KasConfig {
    /// The reference settings for `public_base_url`.
    ///
    /// # Errors
    /// [`KasError::Config`] if `public_base_url` is not an `http(s)://` URL.
    pub fn new(public_base_url: impl Into<String>) -> Result<Self, KasError> {
        let config = Self {
            public_base_url: public_base_url.into(),
            max_mail_size: MAX_MAIL_SIZE,
            download_limit: 1000,
            download_idle_reset: Duration::from_secs(300),
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks every value.
    ///
    /// # Errors
    /// [`KasError::Config`] naming the key, the value and the allowed range.
    pub fn validate(&self) -> Result<(), KasError> {
        let url = &self.public_base_url;
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        if host.is_none_or(|h| h.is_empty() || h.contains(char::is_whitespace)) {
            return Err(KasError::Config {
                key: "public_base_url",
                value: url.clone(),
                reason: "an https:// URL without spaces".into(),
            });
        }
        if self.max_mail_size == 0 {
            return Err(config_error("max_mail_size", self.max_mail_size, "≥ 1"));
        }
        if self.download_limit == 0 {
            return Err(config_error("download_limit", self.download_limit, "≥ 1"));
        }
        Ok(())
    }

    /// The shared link of object `id`.
    #[must_use]
    pub fn shared_link(&self, id: &str) -> String {
        format!(
            "{}{KAS_BASE_PATH}/attachment/{id}",
            self.public_base_url.trim_end_matches('/')
        )
    }
}

fn config_error(key: &'static str, value: impl ToString, reason: &str) -> KasError {
    KasError::Config {
        key,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// What the KAS handlers share.
#[derive(Debug, Clone)]
pub struct KasState {
    fd: Fachdienst,
    config: Arc<KasConfig>,
    downloads: Arc<DownloadLimiter>,
    reservations: Arc<Reservations>,
}

impl KasState {
    /// State over the Fachdienst's storage and logins.
    ///
    /// # Errors
    /// [`KasError::Config`] if `config` is invalid.
    pub fn new(fd: Fachdienst, config: KasConfig) -> Result<Self, KasError> {
        config.validate()?;
        let downloads = DownloadLimiter::new(config.download_limit, config.download_idle_reset);
        Ok(Self {
            fd,
            config: Arc::new(config),
            downloads: Arc::new(downloads),
            reservations: Arc::default(),
        })
    }
}

/// The KAS routes under [`KAS_BASE_PATH`]: `POST /attachment/` (also without the slash),
/// `GET`/`HEAD`/`DELETE /attachment/{attachmentId}`. The body limit is raised to
/// `maxMailSize` plus form overhead.
pub fn kas_router(state: KasState) -> Router {
    let limit = state.config.max_mail_size.saturating_add(FORM_OVERHEAD);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    Router::new()
        .route(&format!("{KAS_BASE_PATH}/attachment/"), post(upload::add))
        .route(&format!("{KAS_BASE_PATH}/attachment"), post(upload::add))
        .route(
            &format!("{KAS_BASE_PATH}/attachment/{{attachment_id}}"),
            get(read).head(head).delete(delete),
        )
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The object `id` if it exists and has not expired.
async fn live_object(state: &KasState, id: &str) -> Result<KasObject, KasError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(KasError::NotFound);
    }
    match state.fd.meta.object(id).await? {
        Some(object) if object.expires > now() => Ok(object),
        _ => Err(KasError::NotFound),
    }
}

/// The `recipient` header, lower case.
fn recipient(headers: &HeaderMap) -> Result<String, KasError> {
    let value = headers
        .get("recipient")
        .ok_or_else(|| KasError::BadRequest("header recipient missing".into()))?
        .to_str()
        .map_err(|_| KasError::BadRequest("header recipient is not ASCII".into()))?
        .trim()
        .to_ascii_lowercase();
    if !upload::is_email(&value) {
        return Err(KasError::BadRequest(
            "header recipient is not an e-mail address".into(),
        ));
    }
    Ok(value)
}

/// An object the caller named in `recipient` may read.
async fn readable(
    state: &KasState,
    headers: &HeaderMap,
    id: &str,
) -> Result<(KasObject, String), KasError> {
    let recipient = recipient(headers)?;
    let object = live_object(state, id).await?;
    if !object.recipients.contains(&recipient) {
        return Err(KasError::Forbidden(
            "recipient not included in the recipient list of the mail".into(),
        ));
    }
    Ok((object, recipient))
}

/// `readMailData`: the stored bytes, streamed, with their `Content-Length`.
async fn read(
    State(state): State<KasState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, KasError> {
    let (object, recipient) = readable(&state, &headers, &id).await?;
    if !state
        .downloads
        .admit(&recipient, &object.id, Instant::now())
    {
        return Err(KasError::TooManyDownloads);
    }
    let blob = match state.fd.blobs.open(&object.blob).await {
        Ok(blob) => blob,
        Err(StoreError::NotFound { .. }) => return Err(KasError::NotFound),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(id = %object.id, size = blob.size, "mail data downloaded");
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
        blob.reader,
        128 * 1024,
    ));
    Ok(octet_stream(StatusCode::OK, blob.size, body))
}

/// `HEAD` (A_24002): availability and size for a listed recipient, without counting.
async fn head(
    State(state): State<KasState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, KasError> {
    let (object, _) = readable(&state, &headers, &id).await?;
    Ok(octet_stream(StatusCode::OK, object.size, Body::empty()))
}

fn octet_stream(status: StatusCode, size: u64, body: Body) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    response
}

/// `deleteMailData`: by the uploader only.
async fn delete(
    State(state): State<KasState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, KasError> {
    let account = auth::login(&state.fd, &headers, Purpose::Retrieve).await?;
    let object = live_object(&state, &id).await?;
    if object.owner != account.address {
        return Err(KasError::Forbidden(
            "only the uploader may delete mail data".into(),
        ));
    }
    if let Some(blob) = state.fd.meta.delete_object(&object.id).await? {
        state.fd.blobs.delete(&blob).await?;
    }
    tracing::info!(id = %object.id, "mail data deleted");
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_link_joins_origin_base_path_and_id() {
        let config = KasConfig::new("https://kas.example.kim.telematik:8443/").ok();
        let link = config.map(|c| c.shared_link("0c6a"));
        assert_eq!(
            link.as_deref(),
            Some("https://kas.example.kim.telematik:8443/attachments/v2.4/attachment/0c6a")
        );
    }

    #[test]
    fn invalid_config_names_the_key() {
        let err = KasConfig::new("kas.example").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("public_base_url")));
        let mut config = KasConfig::new("https://kas").ok();
        if let Some(c) = config.as_mut() {
            c.download_limit = 0;
        }
        let err = config.map(|c| c.validate());
        assert!(matches!(
            err,
            Some(Err(KasError::Config {
                key: "download_limit",
                ..
            }))
        ));
    }
}
