//! [`KonnektorClient`]: SOAP over HTTPS with service discovery.

use std::sync::Arc;

use tokio::sync::RwLock;

use super::{ClientError, KonnektorAuth, KonnektorConfig};
use crate::operation::{Operation, ResponseError};
use crate::sds::{ConnectorServices, SelectedService};
use crate::service::Service;

/// Upper bound of a response body we accept: a 25 MB document base64-encoded plus envelope.
const MAX_RESPONSE_BYTES: usize = 40 * 1024 * 1024;

/// The service directory as read from `/connector.sds`, with the chosen version per service.
#[derive(Debug)]
pub(crate) struct Directory {
    pub(crate) services: ConnectorServices,
    selected: Vec<SelectedService>,
}

impl Directory {
    fn select(&self, service: Service) -> Result<&SelectedService, ClientError> {
        self.selected
            .iter()
            .find(|s| s.service == service)
            .ok_or(ClientError::ServiceNotOffered(service))
    }
}

/// A Konnektor reached over HTTPS. Cheap to share (`Arc`); calls may run concurrently.
#[derive(Debug)]
pub struct KonnektorClient {
    config: KonnektorConfig,
    http: reqwest::Client,
    directory: RwLock<Option<Arc<Directory>>>,
}

impl KonnektorClient {
    /// Builds the HTTPS client. Nothing is sent until the first call.
    pub fn new(config: KonnektorConfig) -> Result<KonnektorClient, ClientError> {
        let base = reqwest::Url::parse(&config.base_url)
            .map_err(|e| ClientError::Config(format!("base_url {:?}: {e}", config.base_url)))?;
        if base.scheme() != "https" {
            return Err(ClientError::Config(format!(
                "base_url {:?}: the Konnektor is always reached over TLS (https://), KOM-LE-A_2070",
                config.base_url
            )));
        }
        let identity = match &config.auth {
            KonnektorAuth::Certificate(identity) => Some(identity.clone()),
            KonnektorAuth::None | KonnektorAuth::Basic { .. } => None,
        };
        let tls = kim_tls::client_config(kim_tls::ClientOptions {
            trust: config.trust.clone(),
            identity,
            danger_accept_any_hostname: config.danger_accept_any_hostname,
        })
        .map_err(|e| ClientError::Config(e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*tls).clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .no_proxy()
            .build()
            .map_err(|e| ClientError::Config(format!("HTTP client: {e}")))?;
        Ok(KonnektorClient {
            config,
            http,
            directory: RwLock::new(None),
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &KonnektorConfig {
        &self.config
    }

    /// The service directory, read from `/connector.sds` on first use and cached.
    pub(crate) async fn directory(&self) -> Result<Arc<Directory>, ClientError> {
        if let Some(dir) = self.directory.read().await.as_ref() {
            return Ok(dir.clone());
        }
        self.reload().await
    }

    /// Reads `/connector.sds` again and replaces the cached directory.
    pub async fn refresh(&self) -> Result<ConnectorServices, ClientError> {
        Ok(self.reload().await?.services.clone())
    }

    async fn reload(&self) -> Result<Arc<Directory>, ClientError> {
        let dir = self.fetch_directory().await?;
        *self.directory.write().await = Some(dir.clone());
        Ok(dir)
    }

    async fn fetch_directory(&self) -> Result<Arc<Directory>, ClientError> {
        let url = format!(
            "{}/connector.sds",
            self.config.base_url.trim_end_matches('/')
        );
        let request = self.authorize(self.http.get(&url));
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error("connector.sds", &url, &e))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(ClientError::Unauthorized {
                status: status.as_u16(),
            });
        }
        if !status.is_success() {
            return Err(protocol("connector.sds", format!("HTTP status {status}")));
        }
        let body = read_body(response, "connector.sds").await?;
        let mut services = ConnectorServices::parse(&body)
            .map_err(|e| protocol("connector.sds", e.to_string()))?;
        if self.config.rewrite_endpoints {
            services
                .rewrite_endpoints(&self.config.base_url)
                .map_err(|e| ClientError::Config(e.to_string()))?;
        }
        let selected = Service::ALL
            .iter()
            .filter_map(|service| services.select(*service))
            .collect();
        Ok(Arc::new(Directory { services, selected }))
    }

    /// Sends one operation to the endpoint of its service and parses the answer.
    ///
    /// When the endpoint cannot be reached, the directory is read again and the call is
    /// repeated once (KOM-LE-A_2076): nothing was delivered, so repeating is safe.
    pub async fn call<O: Operation>(&self, operation: &O) -> Result<O::Response, ClientError> {
        match self.call_once(operation).await {
            Err(ClientError::Connect { .. }) => {
                self.reload().await?;
                self.call_once(operation).await
            }
            other => other,
        }
    }

    async fn call_once<O: Operation>(&self, operation: &O) -> Result<O::Response, ClientError> {
        let name = O::NAME;
        let dir = self.directory().await?;
        let selected = dir.select(O::SERVICE)?;
        let url = selected.endpoint_tls.clone().ok_or_else(|| {
            protocol(
                name,
                format!("connector.sds lists no EndpointTLS for {}", O::SERVICE),
            )
        })?;
        let envelope =
            operation
                .to_envelope(&selected.version)
                .map_err(|e| ClientError::Request {
                    operation: name.into(),
                    detail: e.to_string(),
                })?;
        let action = O::soap_action(&selected.version);
        let request = self
            .authorize(self.http.post(&url))
            .header("Content-Type", "text/xml; charset=UTF-8")
            .header("SOAPAction", format!("\"{action}\""))
            .body(envelope);
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(name, &url, &e))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(ClientError::Unauthorized {
                status: status.as_u16(),
            });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("text/xml")
            .to_string();
        let body = read_body(response, name).await?;
        // A fault comes with HTTP 500; anything else but 200 is a protocol error unless the
        // body parses as a fault.
        match O::parse_http_response(&content_type, &body) {
            Ok(parsed) if status.is_success() => Ok(parsed),
            Ok(_) => Err(protocol(
                name,
                format!("HTTP status {status} with a response body"),
            )),
            Err(ResponseError::Fault(fault)) => Err(ClientError::Fault {
                operation: name.into(),
                fault: Box::new(fault),
            }),
            Err(other) if status.is_success() => Err(protocol(name, other.to_string())),
            Err(other) => Err(protocol(name, format!("HTTP status {status}: {other}"))),
        }
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.config.auth {
            KonnektorAuth::Basic { user, password } => request.basic_auth(user, Some(password)),
            KonnektorAuth::None | KonnektorAuth::Certificate(_) => request,
        }
    }

    fn transport_error(&self, operation: &str, url: &str, e: &reqwest::Error) -> ClientError {
        if e.is_timeout() {
            let limit = if e.is_connect() {
                self.config.connect_timeout
            } else {
                self.config.request_timeout
            };
            return ClientError::Timeout {
                operation: operation.into(),
                seconds: limit.as_secs(),
            };
        }
        let detail = error_chain(e);
        if is_certificate_problem(&detail) {
            return ClientError::Tls {
                url: url.into(),
                detail,
            };
        }
        if e.is_connect() {
            return ClientError::Connect {
                url: url.into(),
                detail,
            };
        }
        protocol(operation, detail)
    }
}

/// Whether a transport error text is rustls reporting a certificate problem (ours refused by
/// the peer, or the peer's refused by us).
fn is_certificate_problem(detail: &str) -> bool {
    detail.contains("invalid peer certificate")
        || detail.contains("CertificateRequired")
        || detail.contains("BadCertificate")
        || detail.contains("UnknownCA")
        || detail.contains("peer sent no certificates")
}

fn protocol(operation: &str, detail: String) -> ClientError {
    ClientError::Protocol {
        operation: operation.into(),
        detail,
    }
}

/// The error and its causes on one line (reqwest's own message omits the TLS reason).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn read_body(
    mut response: reqwest::Response,
    operation: &str,
) -> Result<Vec<u8>, ClientError> {
    if response
        .content_length()
        .is_some_and(|len| len > MAX_RESPONSE_BYTES as u64)
    {
        return Err(protocol(operation, "response larger than 40 MiB".into()));
    }
    let capacity = response
        .content_length()
        .and_then(|len| usize::try_from(len).ok())
        .unwrap_or(0);
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        if e.is_timeout() {
            ClientError::Timeout {
                operation: operation.into(),
                seconds: 0,
            }
        } else {
            protocol(operation, error_chain(&e))
        }
    })? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(protocol(operation, "response larger than 40 MiB".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
