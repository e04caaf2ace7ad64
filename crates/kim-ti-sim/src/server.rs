//! The HTTPS server (tokio + hyper 1 + rustls via kim-tls).
//!
//! Routes: `GET /connector.sds`; `POST /ws/<Service>` (dispatch on the body element's QName,
//! SOAPAction ignored, so quoted/unquoted/absent/`crypt/` variants all work; `text/xml` and
//! MTOM `multipart/related` accepted); `/admin/…` JSON for loopback peers ([`crate::admin`]).
//!
//! Limits: bodies above [`MAX_BODY_BYTES`] are refused with fault 4280 before they are read
//! (documents above 25 MB are 4280 from the parser); header read, TLS handshake, body read
//! and the operation are each bounded by the configured request timeout. A failing or
//! panicking handler becomes a 4001 fault.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use zeroize::Zeroizing;

use crate::config::{ClientAuthMode, IdentitySource, MAX_DOCUMENT_BYTES, SimConfig};
use crate::fault::Fault;
use crate::knobs::{Knobs, Operation, Verdict};
use crate::ops::Konnektor;

/// HTTP body limit: a 25 MB document in base64 (4/3) plus 1 MiB for the envelope.
pub const MAX_BODY_BYTES: usize = MAX_DOCUMENT_BYTES / 3 * 4 + 1024 * 1024;

/// Bodies above this size get a directly mapped buffer (see `read_body`).
const LARGE_BODY: usize = 1024 * 1024;
/// Above glibc's `DEFAULT_MMAP_THRESHOLD_MAX` (32 MiB on 64-bit).
const MMAP_ALWAYS: usize = 33 * 1024 * 1024;

/// Longest a stalled request is held before the connection is dropped.
const MAX_STALL: Duration = Duration::from_secs(600);

/// Errors starting the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The TLS identity or trust could not be used.
    #[error("TLS setup: {0}")]
    Tls(#[from] kim_tls::TlsError),
    /// The worker threads could not be started.
    #[error("cannot start worker threads: {0}")]
    Threads(std::io::Error),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// State shared by all connections.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) konnektor: Konnektor,
    pub(crate) knobs: Knobs,
    pub(crate) sds_tls: Vec<u8>,
    pool: crate::pool::CpuPool,
    basic: Option<Zeroizing<Vec<u8>>>,
}

/// Entry point of the simulator.
#[derive(Debug)]
pub struct KonnektorSim;

/// A running simulator; dropping it does not stop it, call [`RunningSim::shutdown`].
#[derive(Debug)]
pub struct RunningSim {
    addr: SocketAddr,
    plain_addr: Option<SocketAddr>,
    sds_url: String,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl KonnektorSim {
    /// Validates `config`, binds the listeners and starts serving (needs a tokio runtime).
    pub async fn start(config: SimConfig) -> Result<RunningSim, SimError> {
        config.validate()?;
        let konnektor = Konnektor::new(&config)?;
        let identity = match &config.tls.identity {
            IdentitySource::Der { chain, pkcs8 } => {
                kim_tls::Identity::from_der(chain.clone(), pkcs8.to_vec())?
            }
            IdentitySource::Pkcs12 { bytes, password } => {
                kim_tls::Identity::from_pkcs12(bytes, password)?
            }
        };
        let client_auth = match &config.tls.client_auth {
            ClientAuthMode::Certificate { trusted_cas } => {
                kim_tls::ClientAuth::Required(kim_tls::TrustAnchors::from_der(trusted_cas.clone())?)
            }
            _ => kim_tls::ClientAuth::None,
        };
        let tls = tokio_rustls::TlsAcceptor::from(kim_tls::server_config(&identity, client_auth)?);
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| SimError::Bind { addr, source })
        };
        let listener = bind(config.listen).await?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
        let plain = match config.plain_listen {
            Some(a) => Some(bind(a).await?),
            None => None,
        };
        let plain_addr = plain.as_ref().and_then(|l| l.local_addr().ok());
        let https_base = format!("https://{addr}");
        let http_base = plain_addr.map(|a| format!("http://{a}"));
        let sds_tls = crate::soap::connector_sds(&config, &https_base, http_base.as_deref());
        let basic = match &config.tls.client_auth {
            ClientAuthMode::Basic { user, password } => Some(Zeroizing::new(
                format!("{user}:{}", password.as_str()).into_bytes(),
            )),
            _ => None,
        };
        let knobs = Knobs::new(config.knobs.clone());
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        let pool = crate::pool::CpuPool::new(threads).map_err(SimError::Threads)?;
        let shared = Arc::new(Shared {
            config,
            konnektor,
            knobs,
            sds_tls,
            pool,
            basic,
        });
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(accept_loop(
            listener,
            Some(tls),
            shared.clone(),
            stop_rx.clone(),
        ))];
        if let Some(p) = plain {
            tasks.push(tokio::spawn(accept_loop(p, None, shared.clone(), stop_rx)));
        }
        tracing::info!(%addr, plain = ?plain_addr, "Konnektor simulator listening");
        Ok(RunningSim {
            addr,
            plain_addr,
            sds_url: format!("{https_base}/connector.sds"),
            shared,
            stop,
            tasks,
        })
    }
}

impl RunningSim {
    /// The bound HTTPS address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound plain HTTP address, if configured.
    pub fn plain_addr(&self) -> Option<SocketAddr> {
        self.plain_addr
    }

    /// `https://<addr>/connector.sds`.
    pub fn sds_url(&self) -> &str {
        &self.sds_url
    }

    /// Cards, model and operations, for in-process control in tests.
    pub fn konnektor(&self) -> &Konnektor {
        &self.shared.konnektor
    }

    /// Fault-injection knobs.
    pub fn knobs(&self) -> &Knobs {
        &self.shared.knobs
    }

    /// Stops accepting connections and waits for the accept loops to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let tls = tls.clone();
        let shared = shared.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, tls, shared, stop).await;
        });
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    let timeout = shared.config.request_timeout;
    let is_tls = tls.is_some();
    let svc_shared = shared.clone();
    let service = hyper::service::service_fn(move |req| {
        let shared = svc_shared.clone();
        let stop = stop.clone();
        async move { route(req, peer, is_tls, shared, stop).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .keep_alive(true);
    match tls {
        Some(acceptor) => {
            let stream = match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::info!(%peer, error = %e, "TLS handshake rejected");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        }
        None => {
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        }
    }
}

type Reply = Response<Full<Bytes>>;

/// Error type that makes hyper close the connection without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection refused by knob")]
pub(crate) struct Refused;

pub(crate) fn reply(status: StatusCode, content_type: &str, body: Vec<u8>) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

fn fault_reply(f: &Fault) -> Reply {
    tracing::info!(code = f.code, detail = %f.detail, "fault");
    reply(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/xml; charset=UTF-8",
        crate::soap::fault_envelope(f),
    )
}

async fn route(
    req: Request<Incoming>,
    peer: SocketAddr,
    is_tls: bool,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) -> Result<Reply, Refused> {
    if shared.basic.is_some() && !basic_ok(&req, &shared) {
        let mut r = reply(
            StatusCode::UNAUTHORIZED,
            "text/plain",
            b"authentication required".to_vec(),
        );
        r.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic realm=\"Konnektor\""),
        );
        return Ok(r);
    }
    let path = req.uri().path().to_string();
    if path.starts_with("/admin/") {
        if !peer.ip().is_loopback() {
            return Ok(reply(
                StatusCode::FORBIDDEN,
                "text/plain",
                b"admin API is loopback only".to_vec(),
            ));
        }
        return Ok(crate::admin::handle(req, &shared).await);
    }
    let plain_soap_refused = !is_tls && shared.config.tls_mandatory;
    match (req.method(), path.as_str()) {
        (&Method::GET, "/connector.sds") => {
            if !is_tls && shared.config.tls_mandatory && !shared.config.sds_over_plain_http {
                return Ok(reply(
                    StatusCode::FORBIDDEN,
                    "text/plain",
                    b"TLS mandatory".to_vec(),
                ));
            }
            apply_knob(&shared, Operation::ServiceDirectory, stop)
                .await?
                .map_or_else(
                    || {
                        Ok(reply(
                            StatusCode::OK,
                            "text/xml; charset=UTF-8",
                            shared.sds_tls.clone(),
                        ))
                    },
                    Ok,
                )
        }
        (&Method::POST, p) if p.starts_with("/ws/") => {
            if plain_soap_refused {
                return Ok(reply(
                    StatusCode::FORBIDDEN,
                    "text/plain",
                    b"TLS mandatory".to_vec(),
                ));
            }
            soap(req, shared, stop).await
        }
        _ => Ok(reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            b"not found".to_vec(),
        )),
    }
}

/// Constant-time comparison of the Basic credentials.
fn basic_ok(req: &Request<Incoming>, shared: &Shared) -> bool {
    use base64::Engine as _;
    let Some(expected) = &shared.basic else {
        return true;
    };
    let Some(given) = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
    else {
        return false;
    };
    let given = Zeroizing::new(given);
    let mut diff = u8::from(given.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        diff |= e ^ given.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

/// Consults the knobs: `Ok(None)` = run the operation, `Ok(Some(reply))` = answer this
/// instead, `Err` = drop the connection.
async fn apply_knob(
    shared: &Shared,
    op: Operation,
    mut stop: watch::Receiver<bool>,
) -> Result<Option<Reply>, Refused> {
    let (delay, verdict) = shared.knobs.consult(op);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match verdict {
        Verdict::Proceed => Ok(None),
        Verdict::Refuse => Err(Refused),
        Verdict::Fail(code) => Ok(Some(fault_reply(&Fault::new(
            code,
            format!("{} failed by fault injection", op.name()),
        )))),
        Verdict::Stall => {
            tokio::select! {
                _ = tokio::time::sleep(MAX_STALL) => {}
                _ = stop.changed() => {}
            }
            Err(Refused)
        }
    }
}

async fn soap(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) -> Result<Reply, Refused> {
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = match read_body(req.into_body(), shared.config.request_timeout).await {
        Ok(b) => b,
        Err(f) => return Ok(fault_reply(&f)),
    };
    // Parsing a large document (base64 decoding) is CPU work: off the async workers.
    let pool = shared.pool.clone();
    let parsed = pool
        .run(move || {
            let parsed = kim_konnektor::Request::parse_envelope(&content_type, &body);
            drop(body);
            parsed.map_err(|e| Fault::new(e.code(), e.to_string()))
        })
        .await;
    let request = match parsed {
        Ok(Ok(r)) => r,
        Ok(Err(f)) => return Ok(fault_reply(&f)),
        Err(join) => {
            return Ok(fault_reply(&Fault::internal(format!(
                "parser failed: {join}"
            ))));
        }
    };
    let op = crate::soap::operation_of(&request);
    if let Some(r) = apply_knob(&shared, op, stop).await? {
        return Ok(r);
    }
    let timeout = shared.config.request_timeout;
    let job_shared = shared.clone();
    let worker = pool.run(move || {
        let response = crate::soap::handle(&job_shared.konnektor, request)?;
        crate::soap::response_envelope(&response)
            .map_err(|e| Fault::internal(format!("response not writable: {e}")))
    });
    let outcome = match tokio::time::timeout(timeout, worker).await {
        Ok(Ok(r)) => r,
        Ok(Err(join)) => Err(Fault::internal(format!("handler failed: {join}"))),
        Err(_) => Err(Fault::internal("operation timed out")),
    };
    Ok(match outcome {
        Ok(envelope) => {
            tracing::debug!(operation = op.name(), "ok");
            reply(StatusCode::OK, "text/xml; charset=UTF-8", envelope)
        }
        Err(f) => fault_reply(&f),
    })
}

/// Reads the body into one buffer sized by Content-Length; 4280 above [`MAX_BODY_BYTES`].
/// An oversize body is drained without being stored (so that the client, which is still
/// sending, receives the fault), bounded by the request timeout.
async fn read_body(body: Incoming, timeout: Duration) -> Result<Vec<u8>, Fault> {
    use hyper::body::Body as _;
    let too_large = |n: u64| {
        Fault::new(
            4280,
            format!("request body of {n} bytes exceeds {MAX_BODY_BYTES} bytes"),
        )
    };
    let hint = body.size_hint();
    let announced = hint.exact().unwrap_or(hint.lower());
    let mut buf = Vec::new();
    let mut keep = announced <= MAX_BODY_BYTES as u64;
    if keep {
        let len = usize::try_from(announced).unwrap_or(0);
        // Large bodies get a capacity above glibc's largest mmap threshold (32 MiB): the
        // buffer is then mapped directly and returned to the OS when dropped, instead of
        // staying in a per-thread arena. Untouched capacity costs no resident memory.
        buf.reserve_exact(if len > LARGE_BODY {
            len.max(MMAP_ALWAYS)
        } else {
            len
        });
    }
    let mut total: u64 = 0;
    let read = async {
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| Fault::syntax(format!("request body: {e}")))?;
            if let Ok(data) = frame.into_data() {
                total += data.len() as u64;
                if total > MAX_BODY_BYTES as u64 {
                    keep = false;
                    buf = Vec::new();
                }
                if keep {
                    buf.extend_from_slice(&data);
                }
            }
        }
        Ok::<(), Fault>(())
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(())) if total > MAX_BODY_BYTES as u64 => Err(too_large(total)),
        Ok(Ok(())) => Ok(buf),
        Ok(Err(f)) => Err(f),
        Err(_) if total > MAX_BODY_BYTES as u64 || announced > MAX_BODY_BYTES as u64 => {
            Err(too_large(total.max(announced)))
        }
        Err(_) => Err(Fault::syntax("request body not received in time")),
    }
}
