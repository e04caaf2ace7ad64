//! Integration tests of kim-admin against real peers on loopback: the software Konnektor
//! (kim-ti-sim) over its SOAP/TLS interface, the real Account Manager, ServiceInformation and
//! AccountLimit routers served over HTTPS with mutual TLS, the VZD simulator, SQLite; tokens
//! are checked independently with Python's `cryptography` and the `openssl` CLI.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod am;
mod cards;
mod jwt;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use kim_account_manager::vzd::{HttpVzdClient, VzdClientConfig, VzdDirectory};
use kim_account_manager::{AccountManagerConfig, AccountManagerState, Clock};
use kim_admin::{AccountManagerClient, AmClientConfig, Context};
use kim_fachdienst::{Fachdienst, Policy};
use kim_kas::{AccountLimitConfig, LimitState, ServiceInformation};
use kim_konnektor::client::{KonnektorClient, KonnektorConfig};
use kim_store::{AccountStore, Contract, FileBlobStore, SqliteStore};
use kim_testkit::pki::TestPki;
use kim_ti_sim::RunningSim;
use kim_tls::{ClientAuth, ClientOptions, Identity, TrustAnchors};
use kim_vzd_sim::{RunningVzd, VzdSim, VzdSimConfig};

/// Cards of the test PKI (`PkiSpec::small_default`).
pub const PRAXIS_TID: &str = "1-2.58.00000040";
pub const PRAXIS_ICCSN: &str = "80276883110000100001";
pub const ZAHNARZT_TID: &str = "2-2.58.00000041";
pub const HBA_TID: &str = "1-1.58.00000050";
pub const HBA_ICCSN: &str = "80276883110000200001";
/// The contract every test registers under.
pub const CONTRACT: &str = "V-2026-0001";
pub const INI_PASSWORD: &str = "Start-Passwort-1";
pub const VZD_TOKEN: &str = "vzd-sim-token";
/// A password that meets the policy.
pub const PASSWORD: &str = "Geheim-2026!";

pub fn pki() -> &'static TestPki {
    TestPki::shared_default().unwrap()
}

pub fn trust() -> TrustAnchors {
    TrustAnchors::from_pem(pki().ca_bundle_pem().unwrap().as_bytes()).unwrap()
}

pub fn identity(name: &str) -> Identity {
    let issued = &pki().tls_entity(name).unwrap().issued;
    let mut chain = vec![issued.certificate_der.clone()];
    chain.extend(issued.chain_der.iter().cloned());
    Identity::from_der(chain, issued.private_key_pkcs8_der.to_vec()).unwrap()
}

/// The context of the default information model that reaches terminal CT1 (all cards).
pub fn ctx() -> Context {
    Context::new("Mandant1", "ClientID1", "Workplace1").unwrap()
}

/// The software Konnektor with every card of the test PKI, and a client for it.
pub async fn konnektor() -> (RunningSim, KonnektorClient) {
    konnektor_with(|_| {}).await
}

/// The software Konnektor with `adjust` applied to its default configuration.
pub async fn konnektor_with(
    adjust: impl FnOnce(&mut kim_ti_sim::SimConfig),
) -> (RunningSim, KonnektorClient) {
    let mut config = kim_ti_sim::SimConfig::from_test_pki(pki()).unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    adjust(&mut config);
    let sim = kim_ti_sim::KonnektorSim::start(config).await.unwrap();
    let base = sim.sds_url().trim_end_matches("/connector.sds").to_string();
    let client = KonnektorClient::new(KonnektorConfig::new(base, trust())).unwrap();
    (sim, client)
}

/// Konnektor, VZD, and the Fachdienst's REST side (Account Manager, ServiceInformation,
/// AccountLimit) over HTTPS with a required client certificate.
#[derive(Debug)]
pub struct Env {
    pub dir: tempfile::TempDir,
    pub sim: RunningSim,
    pub konnektor: KonnektorClient,
    pub vzd: RunningVzd,
    pub store: Arc<SqliteStore>,
    pub clock: Arc<kim_account_manager::OffsetClock>,
    /// `https://127.0.0.1:<port>`
    pub origin: String,
    /// A client with the Clientmodul's TLS identity.
    pub am: AccountManagerClient,
}

impl Env {
    pub async fn start() -> Env {
        Env::start_trusting(
            pki()
                .cas()
                .iter()
                .map(|c| c.certificate_der.clone())
                .collect(),
        )
        .await
    }

    /// An environment whose Account Manager accepts AUT certificates of `cas` only.
    pub async fn start_trusting(cas: Vec<Vec<u8>>) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let (sim, konnektor) = konnektor().await;
        let vzd = VzdSim::start(VzdSimConfig {
            data_dir: dir.path().join("vzd"),
            ..VzdSimConfig::default()
        })
        .await
        .unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("fd.sqlite")).unwrap());
        store
            .create_contract(&Contract {
                reference_id: CONTRACT.into(),
                ini_password_hash: kim_store::password::hash(INI_PASSWORD).unwrap(),
                domains: vec!["test.kim.telematik".into()],
                max_accounts: 5,
                locked: false,
                created: 0,
            })
            .await
            .unwrap();
        let vzd_client: Arc<dyn VzdDirectory> = Arc::new(
            HttpVzdClient::new(VzdClientConfig {
                base_url: format!("http://{}", vzd.rest_addr.unwrap()),
                fad: "kim-sim".into(),
                bearer_token: Some(VZD_TOKEN.into()),
                tls: None,
                timeout: std::time::Duration::from_secs(10),
            })
            .unwrap(),
        );
        let ca = &pki().component_ca;
        let mut config = AccountManagerConfig::new(
            cas,
            ca.certificate_der.clone(),
            ca.private_key_pkcs8_der.clone(),
        );
        config.jwt_expiration_secs = 600;
        let clock = Arc::new(kim_account_manager::OffsetClock::default());
        let state = AccountManagerState::new(config, store.clone(), vzd_client)
            .unwrap()
            .with_clock(clock.clone());
        let blobs = FileBlobStore::open(dir.path().join("blobs"), true)
            .await
            .unwrap();
        let fd = Fachdienst::new(
            store.clone(),
            Arc::new(blobs),
            Policy::new("fd.test.kim.telematik", vec!["test.kim.telematik".into()]),
        );
        let router = kim_account_manager::router(state)
            .merge(kim_kas::account_limit_router(
                LimitState::new(fd, AccountLimitConfig::default()).unwrap(),
            ))
            .merge(
                kim_kas::service_information_router(ServiceInformation {
                    kim_service_version: "1.5.3".into(),
                    password_policy_reg_ex: kim_account_manager::rules::PASSWORD_POLICY_REGEX
                        .into(),
                    password_policy_display: kim_account_manager::rules::PASSWORD_POLICY_DISPLAY
                        .into(),
                    jwt_expiration: 600,
                    reference_id_required: true,
                    initial_password_required: true,
                })
                .unwrap(),
            );
        let addr = serve_https(router).await;
        let origin = format!("https://{addr}");
        let am = am_client(&origin, Some(identity("clientmodul")));
        Env {
            dir,
            sim,
            konnektor,
            vzd,
            store,
            clock,
            origin,
            am,
        }
    }

    /// The Account Manager's time.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// A client of the Account Manager at `origin` with the Fachdienst's trust anchors.
pub fn am_client(origin: &str, identity: Option<Identity>) -> AccountManagerClient {
    AccountManagerClient::new(AmClientConfig::new(
        format!("{origin}/AccountMgmt/v2.4"),
        Some(ClientOptions {
            trust: trust(),
            identity,
            danger_accept_any_hostname: false,
        }),
    ))
    .unwrap()
}

/// Serves `router` over TLS (the PKI's `fachdienst` identity, client certificate from the
/// PKI's CAs required) on a loopback port.
async fn serve_https(router: axum::Router) -> SocketAddr {
    let tls =
        kim_tls::server_config(&identity("fachdienst"), ClientAuth::Required(trust())).unwrap();
    let acceptor = kim_tls::tokio_rustls::TlsAcceptor::from(tls);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = TowerToHyperService::new(router);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

/// Runs a command off the async runtime; panics with a clear message if it fails to start.
pub async fn run(program: &str, args: Vec<String>) -> std::process::Output {
    let program = program.to_owned();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(&program)
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("{program} could not be started: {e}"))
    })
    .await
    .unwrap()
}
