//! The Fachdienst's KAS and AccountLimit routers on an HTTPS listener with mutual TLS
//! (C.FD.TLS-S towards C.CM.TLS-CS), over the same storage as the chain's Fachdienst;
//! the directory entries of the Praxis and the Zahnarztpraxis with version `1.5+`.

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use kim_clientmodul::KasSettings;
use kim_clientmodul::kas::HttpKas;
use kim_fachdienst::Fachdienst;
use kim_kas::{
    AccountLimitConfig, KasConfig, KasState, LimitState, account_limit_router, kas_router,
};
use kim_tls::ClientAuth;
use kim_tls::tokio_rustls::TlsAcceptor;
use kim_types::KimVersion;

use crate::harness::{ARZT, Chain, PRAXIS, identity, pki, trust};

/// Downloads per recipient and object before `429`.
pub const DOWNLOADS: u32 = 3;

pub struct KasServer {
    pub base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for KasServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves KAS + AccountLimit of `fd` at `https://localhost:<port>`.
pub async fn start_kas(fd: Fachdienst) -> KasServer {
    start_kas_as(fd, identity("fachdienst")).await
}

/// [`start_kas`] presenting `server` as its TLS certificate.
pub async fn start_kas_as(fd: Fachdienst, server: kim_tls::Identity) -> KasServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!(
        "https://localhost:{}",
        listener.local_addr().unwrap().port()
    );
    let mut config = KasConfig::new(&base_url).unwrap();
    config.download_limit = DOWNLOADS;
    let router = kas_router(KasState::new(fd.clone(), config).unwrap()).merge(
        account_limit_router(LimitState::new(fd, AccountLimitConfig::default()).unwrap()),
    );
    serve_https(listener, server, TowerToHyperService::new(router))
}

/// Serves `service` on `listener` over HTTPS with mutual TLS (C.CM.TLS-CS clients),
/// presenting `server`, at `https://localhost:<port>`.
pub fn serve_https<S, B>(
    listener: tokio::net::TcpListener,
    server: kim_tls::Identity,
    service: S,
) -> KasServer
where
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<B>,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let base_url = format!(
        "https://localhost:{}",
        listener.local_addr().unwrap().port()
    );
    let tls = kim_tls::server_config(&server, ClientAuth::Required(trust())).unwrap();
    let acceptor = TlsAcceptor::from(tls);
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, service) = (acceptor.clone(), service.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    KasServer { base_url, task }
}

/// The Clientmodul's check of a KAS's certificate at `chain`'s Konnektor in the context of
/// the test user names (Mandant1, ClientID1, Workplace1), with its own cache.
pub struct KasCheck {
    check: kim_clientmodul::fd_cert::FachdienstCertCheck,
    context: kim_konnektor::model::Context,
    konnektor: std::sync::Arc<kim_konnektor::client::KonnektorClient>,
}

impl KasCheck {
    pub fn new(chain: &Chain) -> KasCheck {
        KasCheck {
            check: kim_clientmodul::fd_cert::FachdienstCertCheck::new(Default::default()),
            context: kim_konnektor::model::Context::new("Mandant1", "ClientID1", "Workplace1")
                .unwrap(),
            konnektor: chain.konnektor_client.clone(),
        }
    }

    pub fn gate(
        &self,
    ) -> kim_clientmodul::fd_cert::CertGate<'_, kim_konnektor::client::KonnektorClient> {
        kim_clientmodul::fd_cert::CertGate {
            check: &self.check,
            konnektor: self.konnektor.as_ref(),
            context: &self.context,
        }
    }
}

/// The Clientmodul's KAS client for `base_url`.
pub fn http_kas(base_url: &str, account_limit: bool) -> HttpKas {
    let mut settings = KasSettings::new(base_url);
    settings.account_limit = account_limit;
    HttpKas::new(settings, &crate::harness::fachdienst_tls()).unwrap()
}

/// Gives `addresses` the version `1.5+` in the directory (consent to large messages).
pub fn allow_large_messages(chain: &Chain, addresses: &[&str]) {
    let vzd = chain.vzd.as_ref().unwrap();
    for mut seed in kim_vzd_sim::seeds_from_test_pki(pki()).unwrap() {
        let mut changed = false;
        for (address, version) in &mut seed.addresses {
            if addresses
                .iter()
                .any(|a| address.to_string().eq_ignore_ascii_case(a))
            {
                *version = KimVersion::V1_5Plus;
                changed = true;
            }
        }
        if changed {
            vzd.seed(seed).unwrap();
        }
    }
    chain.vzd_client.clear_cache();
}

/// The chain with the KAS running and a Clientmodul that uploads to it; Praxis and
/// Zahnarztpraxis have `1.5+`.
pub async fn kas_chain(account_limit: bool) -> (Chain, KasServer) {
    let mut chain = Chain::start(|_| {}).await;
    let kas = start_kas(chain.fd_state.clone()).await;
    allow_large_messages(&chain, &[PRAXIS, ARZT]);
    let (upload, _) = http_kas(&kas.base_url, account_limit).into_seams();
    let cm = chain.start_cm_with(|_| {}, Some(upload)).await;
    if let Some(old) = chain.cm.replace(cm) {
        old.shutdown().await;
    }
    (chain, kas)
}

/// Sets the quota of `address` at the Fachdienst.
pub async fn set_quota(fd: &Fachdienst, address: &str, quota: i64) {
    let mut account = fd.meta.account(address).await.unwrap().unwrap();
    account.quota = quota;
    fd.meta.update_account(&account).await.unwrap();
}

/// Flips the byte at `offset` of the largest file under `dir` (the stored KAS object: a
/// ciphertext byte for offsets past the 12-byte IV).
pub fn tamper_largest_blob(dir: &std::path::Path, offset: usize) {
    let (_, path) = blob_files(dir).into_iter().max().expect("no blob stored");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[offset] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
}

/// Every file below `dir` (the Fachdienst's blob store) with its length; none if `dir`
/// does not exist yet.
pub fn blob_files(dir: &std::path::Path) -> Vec<(u64, std::path::PathBuf)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((std::fs::metadata(&path).unwrap().len(), path));
            }
        }
    }
    files
}
