//! Test servers on 127.0.0.1 (plain TCP and implicit TLS), PKI files for external tools,
//! a raw line-level client for dialog tests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use kim_smtp::server::{ListenerConfig, ServerConfig, SessionEnd, SessionError, accept_loop};
use kim_testkit::pki::TestPki;
use kim_tls::{ClientAuth, Identity, TrustAnchors};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

use crate::backend::TestBackend;

/// Bound on waits for things that happen promptly; only reached if the code is broken.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn pki() -> &'static TestPki {
    TestPki::shared_default().unwrap()
}

pub fn identity(name: &str) -> Identity {
    let issued = &pki().tls_entity(name).unwrap().issued;
    let mut chain = vec![issued.certificate_der.clone()];
    chain.extend(issued.chain_der.iter().cloned());
    Identity::from_der(chain, issued.private_key_pkcs8_der.to_vec()).unwrap()
}

/// Server TLS configuration with the `fachdienst` identity, client certificates optional.
pub fn tls_config() -> Arc<kim_tls::rustls::ServerConfig> {
    kim_tls::server_config(&identity("fachdienst"), ClientAuth::Optional(trust())).unwrap()
}

pub fn trust() -> TrustAnchors {
    TrustAnchors::from_pem(pki().ca_bundle_pem().unwrap().as_bytes()).unwrap()
}

/// DER of the `clientmodul` TLS certificate.
pub fn clientmodul_cert() -> Vec<u8> {
    pki()
        .tls_entity("clientmodul")
        .unwrap()
        .issued
        .certificate_der
        .clone()
}

/// CA bundle and the `clientmodul` certificate and key as PEM files.
pub struct PkiFiles {
    _dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

pub fn pki_files() -> &'static PkiFiles {
    static FILES: OnceLock<PkiFiles> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let client = &pki().tls_entity("clientmodul").unwrap().issued;
        let ca = dir.path().join("ca.pem");
        let client_cert = dir.path().join("clientmodul.pem");
        let client_key = dir.path().join("clientmodul.key");
        std::fs::write(&ca, pki().ca_bundle_pem().unwrap()).unwrap();
        std::fs::write(&client_cert, client.certificate_pem().unwrap()).unwrap();
        std::fs::write(&client_key, client.private_key_pem().unwrap().as_bytes()).unwrap();
        PkiFiles {
            _dir: dir,
            ca,
            client_cert,
            client_key,
        }
    })
}

/// Defaults for tests: AUTH allowed without TLS so plain-TCP peers can log in.
pub fn config() -> ServerConfig {
    let mut cfg = ServerConfig::new("mx.test.kim.telematik");
    cfg.require_tls_for_auth = false;
    cfg
}

/// A server accepting any number of connections until dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub backend: TestBackend,
    pub shutdown: CancellationToken,
    results: Mutex<mpsc::UnboundedReceiver<Result<(), SessionError>>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestServer {
    /// Plain TCP.
    pub async fn plain(cfg: ServerConfig) -> TestServer {
        TestServer::start(cfg, ListenerConfig::plain()).await
    }

    /// Implicit TLS with the `fachdienst` identity; client certificates optional.
    pub async fn tls(cfg: ServerConfig) -> TestServer {
        TestServer::start(cfg, ListenerConfig::tls(tls_config())).await
    }

    /// Serves with the crate's accept loop.
    pub async fn start(cfg: ServerConfig, listen: ListenerConfig) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let backend = TestBackend::new();
        let shutdown = CancellationToken::new();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(accept_loop(
            listener,
            listen,
            Arc::new(cfg),
            Arc::new(backend.clone()),
            shutdown.clone(),
            move |end: SessionEnd| {
                let _ = tx.send(end.result);
            },
        ));
        TestServer {
            addr,
            backend,
            shutdown,
            results: Mutex::new(rx),
        }
    }

    /// How the next finished session ended.
    pub async fn next_result(&self) -> Result<(), SessionError> {
        let mut results = self.results.lock().await;
        tokio::time::timeout(PATIENCE, results.recv())
            .await
            .expect("a session ended")
            .expect("server running")
    }
}

/// The path of an external tool; fails the test with the package to install if missing.
pub fn tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` not found in PATH: install it (apt-get install -y {package})")
        })
}

/// Runs a command off the async runtime; panics with its output if it failed.
pub async fn run(mut command: Command) -> Output {
    let description = format!("{command:?}");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot run {description}: {e}"));
    assert!(
        output.status.success(),
        "{description} failed: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A line-level client for dialog tests.
pub struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects and returns the client with the greeting already read.
    pub async fn connect(server: &TestServer) -> Raw {
        let stream = TcpStream::connect(server.addr).await.unwrap();
        let mut raw = Raw {
            stream,
            buf: Vec::new(),
        };
        let greeting = raw.reply().await;
        assert!(greeting.starts_with("220 "), "{greeting}");
        raw
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// The next complete reply (all lines, CRLF kept).
    pub async fn reply(&mut self) -> String {
        loop {
            if let Some(len) = complete_reply(&self.buf) {
                let raw: Vec<u8> = self.buf.drain(..len).collect();
                return String::from_utf8(raw).unwrap();
            }
            let mut chunk = [0u8; 4096];
            let count = tokio::time::timeout(PATIENCE, self.stream.read(&mut chunk))
                .await
                .expect("reply in time")
                .unwrap();
            assert!(
                count > 0,
                "connection closed; pending: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..count]);
        }
    }

    /// Sends `line` + CRLF and returns the reply.
    pub async fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Asserts the server closed the connection (after any pending replies).
    pub async fn expect_closed(&mut self) {
        let mut chunk = [0u8; 256];
        let count = tokio::time::timeout(PATIENCE, self.stream.read(&mut chunk))
            .await
            .expect("close in time")
            .unwrap_or(0);
        assert_eq!(
            count,
            0,
            "unexpected {:?}",
            String::from_utf8_lossy(&chunk[..count])
        );
    }

    pub fn into_stream(self) -> TcpStream {
        self.stream
    }
}

fn complete_reply(buf: &[u8]) -> Option<usize> {
    let mut offset = 0;
    while let Some(pos) = buf[offset..].iter().position(|&b| b == b'\n') {
        let line = &buf[offset..offset + pos + 1];
        offset += pos + 1;
        if line.get(3) != Some(&b'-') {
            return Some(offset);
        }
    }
    None
}

/// `AUTH PLAIN` initial response for `user`/`password`.
pub fn plain_token(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}
