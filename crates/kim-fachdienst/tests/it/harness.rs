use std::path::PathBuf;
use std::sync::Arc;

use std::time::Duration;

use kim_fachdienst::routes::Routes;
use kim_fachdienst::server::{Inbound, Listeners, Running, start};
use kim_fachdienst::{Fachdienst, Policy, RetryPolicy};
use kim_store::{Account, AccountStore, Contract, FileBlobStore, SqliteStore, StoredMessage};
use kim_testkit::pki::TestPki;
use kim_tls::{ClientAuth, ClientOptions, Identity, TrustAnchors};
use tokio::io::AsyncReadExt;

pub const PRAXIS: &str = "praxis.schmidt@test.kim.telematik";
pub const ARZT: &str = "zahnarzt.weber@test.kim.telematik";
pub const PASSWORD: &str = "Sehr-geheim-1";

pub struct Env {
    pub dir: tempfile::TempDir,
    pub fd: Fachdienst,
    pub running: Option<Running>,
}

fn pki() -> &'static TestPki {
    TestPki::shared_default().unwrap()
}

/// How one Fachdienst instance is set up.
pub struct Setup {
    pub domain: &'static str,
    pub accounts: Vec<&'static str>,
    /// `(pattern, host:port)` relay routes.
    pub routes: Vec<(String, String)>,
    /// Inbound listener port for other Fachdienste (0 = none).
    pub inbound_port: u16,
    pub retry: RetryPolicy,
}

impl Setup {
    pub fn new(domain: &'static str, accounts: &[&'static str]) -> Setup {
        Setup {
            domain,
            accounts: accounts.to_vec(),
            routes: Vec::new(),
            inbound_port: 0,
            retry: fast_retry(),
        }
    }
}

/// Back-off settings for tests: immediate wake-ups, short timeouts.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        first_retry: Duration::from_secs(60),
        factor: 2,
        max_interval: Duration::from_secs(600),
        window: Duration::from_secs(86_400),
        poll_interval: Duration::from_millis(50),
        timeout: Duration::from_secs(10),
    }
}

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The relay client TLS: the CA bundle and a client certificate. The test PKI has no
/// C.FD.TLS-C profile; the Clientmodul certificate (clientAuth) stands in for it.
fn relay_client_tls() -> Arc<kim_tls::rustls::ClientConfig> {
    let client = &pki().tls_entity("clientmodul").unwrap().issued;
    let mut chain = vec![client.certificate_der.clone()];
    chain.extend(client.chain_der.iter().cloned());
    let identity = Identity::from_der(chain, client.private_key_pkcs8_der.to_vec()).unwrap();
    let trust = TrustAnchors::from_pem(pki().ca_bundle_pem().unwrap().as_bytes()).unwrap();
    kim_tls::client_config(ClientOptions {
        trust,
        identity: Some(identity),
        danger_accept_any_hostname: false,
    })
    .unwrap()
}

pub fn tls() -> Arc<kim_tls::rustls::ServerConfig> {
    let issued = &pki().tls_entity("fachdienst").unwrap().issued;
    let mut chain = vec![issued.certificate_der.clone()];
    chain.extend(issued.chain_der.iter().cloned());
    let identity = Identity::from_der(chain, issued.private_key_pkcs8_der.to_vec()).unwrap();
    let trust = TrustAnchors::from_pem(pki().ca_bundle_pem().unwrap().as_bytes()).unwrap();
    kim_tls::server_config(&identity, ClientAuth::Required(trust)).unwrap()
}

pub fn account(address: &str, password_hash: &str) -> Account {
    Account::registered(address, "V-100", "1-2.58.00000040", password_hash, 0)
}

impl Env {
    /// A Fachdienst for `test.kim.telematik` with the accounts PRAXIS and ARZT.
    pub async fn start() -> Env {
        Env::start_with(Setup::new("test.kim.telematik", &[PRAXIS, ARZT])).await
    }

    pub async fn start_with(setup: Setup) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let meta = SqliteStore::open(&dir.path().join("fd.sqlite")).unwrap();
        let blobs = FileBlobStore::open(dir.path().join("blobs"), true)
            .await
            .unwrap();
        let hash = kim_store::password::hash(PASSWORD).unwrap();
        meta.create_contract(&Contract::new(
            "V-100",
            &hash,
            vec![setup.domain.into()],
            5,
            0,
        ))
        .await
        .unwrap();
        for a in &setup.accounts {
            meta.create_account(&account(a, &hash)).await.unwrap();
        }
        let mut policy = Policy::new(format!("fd.{}", setup.domain), vec![setup.domain.into()]);
        policy.retry = setup.retry;
        let mut fd = Fachdienst::new(Arc::new(meta), Arc::new(blobs), policy);
        if !setup.routes.is_empty() {
            let mut routes = Routes::new(relay_client_tls());
            for (pattern, target) in &setup.routes {
                routes.add(pattern, &[target.as_str()]).unwrap();
            }
            fd = fd.with_routes(routes);
        }
        let inbound = (setup.inbound_port != 0).then(|| Inbound {
            addr: format!("127.0.0.1:{}", setup.inbound_port).parse().unwrap(),
            tls: tls(),
        });
        let running = start(
            fd.clone(),
            Listeners {
                smtp: "127.0.0.1:0".parse().unwrap(),
                pop3: "127.0.0.1:0".parse().unwrap(),
                tls: tls(),
                inbound,
            },
        )
        .await
        .unwrap();
        Env {
            dir,
            fd,
            running: Some(running),
        }
    }

    /// Waits (bounded) until `mailbox` holds `count` messages and returns their contents.
    pub async fn wait_for_mail(&self, mailbox: &str, count: usize) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let messages = self.fd.meta.mailbox(mailbox).await.unwrap();
            if messages.len() >= count {
                assert_eq!(
                    messages.len(),
                    count,
                    "more mail than expected in {mailbox}"
                );
                let mut out = Vec::new();
                for m in &messages {
                    out.push(self.content(m).await);
                }
                return out;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{mailbox} has {} of {count} messages",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn content(&self, m: &StoredMessage) -> String {
        let mut blob = self.fd.blobs.open(&m.blob).await.unwrap();
        let mut bytes = Vec::new();
        blob.reader.read_to_end(&mut bytes).await.unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    /// Runs a Python script with `smtp_port`, `pop3_port`, `ca`, `cert`, `key` defined and a
    /// `ctx(with_cert=True)` helper; returns stdout, panics with stderr on failure.
    pub async fn python(&self, script: &str) -> String {
        let files = self.pki_files();
        let prelude = format!(
            "import smtplib, poplib, ssl, sys\n\
             smtp_port = {}\npop3_port = {}\ninbound_port = {}\n\
             def ctx(with_cert=True):\n    c = ssl.create_default_context(cafile={:?})\n    \
             if with_cert: c.load_cert_chain({:?}, {:?})\n    return c\n",
            self.running().smtp_addr.port(),
            self.running().pop3_addr.port(),
            self.running().inbound_addr.map_or(0, |a| a.port()),
            files.0,
            files.1,
            files.2,
        );
        let program = format!("{prelude}{script}");
        tokio::task::spawn_blocking(move || kim_testkit::peers::python(&program))
            .await
            .unwrap()
    }

    fn pki_files(&self) -> (PathBuf, PathBuf, PathBuf) {
        let client = &pki().tls_entity("clientmodul").unwrap().issued;
        let (ca, cert, key) = (
            self.dir.path().join("ca.pem"),
            self.dir.path().join("cm.pem"),
            self.dir.path().join("cm.key"),
        );
        std::fs::write(&ca, pki().ca_bundle_pem().unwrap()).unwrap();
        std::fs::write(&cert, client.certificate_pem().unwrap()).unwrap();
        std::fs::write(&key, client.private_key_pem().unwrap().as_bytes()).unwrap();
        (ca, cert, key)
    }

    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }
}
