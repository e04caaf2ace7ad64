//! A minimal HTTPS server for the client tests: real sockets, real TLS, answers produced by a
//! closure per request.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use kim_tls::tokio_rustls::TlsAcceptor;
use tokio::net::TcpListener;

/// What the server saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub soap_action: Option<String>,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub client_cert: Option<Vec<u8>>,
}

/// The answer: status, content type, body; `None` = never answer (stall).
pub type Answer = Option<(u16, &'static str, Vec<u8>)>;

pub struct TestServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub fn base_url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

pub async fn start<F>(tls: Arc<kim_tls::rustls::ServerConfig>, answer: F) -> TestServer
where
    F: Fn(&Seen) -> Answer + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let answer = Arc::new(answer);
    let acceptor = TlsAcceptor::from(tls);
    let seen_task = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let seen = seen_task.clone();
            let answer = answer.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let client_cert = kim_tls::peer_leaf(&tls);
                let service = service_fn(move |req: Request<Incoming>| {
                    let seen = seen.clone();
                    let answer = answer.clone();
                    let client_cert = client_cert.clone();
                    async move {
                        let header = |name: &str| {
                            req.headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string)
                        };
                        let mut record = Seen {
                            method: req.method().to_string(),
                            path: req.uri().path().to_string(),
                            soap_action: header("soapaction"),
                            authorization: header("authorization"),
                            content_type: header("content-type"),
                            body: Vec::new(),
                            client_cert,
                        };
                        record.body = req.into_body().collect().await?.to_bytes().to_vec();
                        seen.lock().unwrap().push(record.clone());
                        match answer(&record) {
                            Some((status, content_type, body)) => Ok::<_, hyper::Error>(
                                Response::builder()
                                    .status(status)
                                    .header("content-type", content_type)
                                    .body(Full::new(Bytes::from(body)))
                                    .unwrap(),
                            ),
                            None => {
                                std::future::pending::<()>().await;
                                unreachable!()
                            }
                        }
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    TestServer { addr, seen, task }
}
