//! Test servers on 127.0.0.1 (plain TCP or implicit TLS with the test PKI), fixture
//! messages, PEM files for external peers, and client connections.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kim_pop3::{Pop3Client, ServerConfig, SessionInfo};
use kim_testkit::pki::TestPki;
use kim_tls::rustls::pki_types::{CertificateDer, ServerName};
use kim_tls::tokio_rustls::client::TlsStream;
use kim_tls::tokio_rustls::{TlsAcceptor, TlsConnector};
use kim_tls::{ClientAuth, ClientOptions, Identity, TrustAnchors};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::backend::DirBackend;

pub const USER: &str = "praxis.schmidt@test.kim.telematik";
pub const PASSWORD: &str = "geheim 123";
pub const OTHER_USER: &str = "zahnarzt.weber@test.kim.telematik";
/// Safety bound for waits in tests; never reached when the code under test works.
pub const WAIT: Duration = Duration::from_secs(60);

/// Message 1: lines that begin with dots, including a line that is a single dot.
pub const M1: &[u8] =
    b"From: a@test.kim.telematik\r\nSubject: first\r\n\r\nHello\r\n.leading dot\r\n\
..two dots\r\n.\r\nend\r\n";
/// Message 3: headers and an empty body.
pub const M3: &[u8] = b"Subject: empty\r\n\r\n";

/// Message 2: about 100 KiB, so that RETR needs several chunks.
pub fn m2() -> Vec<u8> {
    let mut m = b"From: b@test.kim.telematik\r\nSubject: second\r\n\r\n".to_vec();
    for i in 0..2000 {
        m.extend_from_slice(format!("line {i:05} {}\r\n", "x".repeat(40)).as_bytes());
    }
    m
}

pub fn pki() -> &'static TestPki {
    TestPki::shared_default().unwrap()
}

pub fn identity(name: &str) -> Identity {
    let issued = &pki().tls_entity(name).unwrap().issued;
    let mut chain = vec![issued.certificate_der.clone()];
    chain.extend(issued.chain_der.iter().cloned());
    Identity::from_der(chain, issued.private_key_pkcs8_der.to_vec()).unwrap()
}

pub fn trust() -> TrustAnchors {
    TrustAnchors::from_pem(pki().ca_bundle_pem().unwrap().as_bytes()).unwrap()
}

/// PEM files for external peers: CA bundle, Clientmodul client certificate (with its CA)
/// and key.
pub struct PemFiles {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn pem_files() -> PemFiles {
    let dir = tempfile::tempdir().unwrap();
    let issued = &pki().tls_entity("clientmodul").unwrap().issued;
    let ca = dir.path().join("ca.pem");
    let cert = dir.path().join("client.pem");
    let key = dir.path().join("client.key");
    std::fs::write(&ca, pki().ca_bundle_pem().unwrap()).unwrap();
    let chain = issued.certificate_pem().unwrap() + &pki().component_ca.certificate_pem().unwrap();
    std::fs::write(&cert, chain).unwrap();
    std::fs::write(&key, issued.private_key_pem().unwrap().as_bytes()).unwrap();
    PemFiles { dir, ca, cert, key }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Tls,
    TlsClientCert,
}

pub struct Server {
    pub addr: SocketAddr,
    pub backend: Arc<DirBackend>,
    pub shutdown: CancellationToken,
    sessions: mpsc::UnboundedReceiver<Result<(), String>>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// A server with the two users; USER has messages M1, M2, M3.
    pub async fn start(mode: Mode, cfg: ServerConfig) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let backend = Arc::new(DirBackend::new(dir.path()));
        backend.add_user(USER, PASSWORD);
        backend.add_user(OTHER_USER, "other");
        backend.add_user("locked", "locked");
        backend.deliver(USER, "1-first", M1);
        backend.deliver(USER, "2-second", &m2());
        backend.deliver(USER, "3-third", M3);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = match mode {
            Mode::Plain => None,
            Mode::Tls => Some(ClientAuth::Optional(trust())),
            Mode::TlsClientCert => Some(ClientAuth::Required(trust())),
        }
        .map(|auth| {
            TlsAcceptor::from(kim_tls::server_config(&identity("fachdienst"), auth).unwrap())
        });
        let (tx, sessions) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let (cfg, served, token) = (Arc::new(cfg), backend.clone(), shutdown.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, peer)) = listener.accept().await else {
                    return;
                };
                let (cfg, backend, tx, token, acceptor) = (
                    cfg.clone(),
                    served.clone(),
                    tx.clone(),
                    token.clone(),
                    acceptor.clone(),
                );
                tokio::spawn(async move {
                    let result = session(tcp, peer, acceptor, &cfg, &backend, token).await;
                    let _ = tx.send(result);
                });
            }
        });
        Server {
            addr,
            backend,
            shutdown,
            sessions,
            _dir: dir,
        }
    }

    /// The result of the next session that ends.
    pub async fn session_result(&mut self) -> Result<(), String> {
        tokio::time::timeout(WAIT, self.sessions.recv())
            .await
            .expect("a session should end")
            .expect("server task alive")
    }
}

async fn session(
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    cfg: &ServerConfig,
    backend: &DirBackend,
    token: CancellationToken,
) -> Result<(), String> {
    let Some(acceptor) = acceptor else {
        let info = SessionInfo {
            peer,
            tls: false,
            client_cert: None,
        };
        return kim_pop3::serve_until(tcp, info, cfg, backend, token)
            .await
            .map_err(|e| e.to_string());
    };
    let tls = acceptor
        .accept(tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let client_cert = kim_tls::peer_leaf(&tls).map(CertificateDer::from);
    let info = SessionInfo {
        peer,
        tls: true,
        client_cert,
    };
    kim_pop3::serve_until(tls, info, cfg, backend, token)
        .await
        .map_err(|e| e.to_string())
}

pub async fn connect_tls(addr: SocketAddr, client_cert: bool) -> Pop3Client<TlsStream<TcpStream>> {
    let options = ClientOptions {
        trust: trust(),
        identity: client_cert.then(|| identity("clientmodul")),
        danger_accept_any_hostname: false,
    };
    let connector = TlsConnector::from(kim_tls::client_config(options).unwrap());
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    Pop3Client::connect(tls, WAIT).await.unwrap()
}

/// Runs an external program to completion off the async workers; fails clearly if it is
/// not installed.
pub async fn run(
    program: &str,
    args: Vec<String>,
    env: Vec<(String, String)>,
) -> std::process::Output {
    let program = program.to_owned();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(&program)
            .args(&args)
            .envs(env)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {program} (is it installed? see scripts/test): {e}")
            })
    })
    .await
    .unwrap()
}
