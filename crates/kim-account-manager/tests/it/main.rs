//! Integration tests of the Account Manager against real peers: `curl`, Python `urllib` and
//! `cryptography`, `openssl pkcs12`/`verify`, `ldapsearch`, schemathesis; the VZD simulator
//! runs in-process and the router listens on a loopback port.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod account;
mod cert;
mod jwt;
mod ooo;
mod porting;
mod schema;
mod vzd;

use std::process::Output;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kim_account_manager::vzd::{HttpVzdClient, VzdClientConfig, VzdDirectory};
use kim_account_manager::{AccountManagerConfig, AccountManagerState, Clock};
use kim_store::{AccountStore, Contract, SqliteStore};
use kim_testkit::pki::{Issued, KeyAlgorithm, KeyPair, TestPki};
use kim_vzd_sim::{RunningVzd, VzdSim, VzdSimConfig};
use serde_json::{Value, json};

/// Test PKI cards (`PkiSpec::small_default`).
pub const PRAXIS_TID: &str = "1-2.58.00000040";
pub const ZAHNARZT_TID: &str = "2-2.58.00000041";
pub const HBA_TID: &str = "1-1.58.00000050";
/// The contract every test registers under.
pub const CONTRACT: &str = "V-2026-0001";
pub const INI_PASSWORD: &str = "Start-Passwort-1";
pub const VZD_TOKEN: &str = "vzd-sim-token";
/// A password that meets the policy.
pub const PASSWORD: &str = "Geheim-2026!";

pub fn pki() -> &'static TestPki {
    TestPki::shared_default().unwrap()
}

/// Base64 as the yaml's `format: byte`.
pub fn b64(text: &str) -> String {
    STANDARD.encode(text.as_bytes())
}

/// A running Account Manager with its VZD simulator and store.
#[derive(Debug)]
pub struct Env {
    /// `http://127.0.0.1:<port>/AccountMgmt/v2.4`
    pub url: String,
    pub origin: String,
    pub vzd: RunningVzd,
    pub store: Arc<SqliteStore>,
    pub clock: Arc<kim_account_manager::OffsetClock>,
    pub dir: tempfile::TempDir,
}

pub fn config(trust: Vec<Vec<u8>>) -> AccountManagerConfig {
    let ca = &pki().component_ca;
    let mut config = AccountManagerConfig::new(
        trust,
        ca.certificate_der.clone(),
        ca.private_key_pkcs8_der.clone(),
    );
    config.jwt_expiration_secs = 3600;
    config
}

pub fn trust() -> Vec<Vec<u8>> {
    pki()
        .cas()
        .iter()
        .map(|c| c.certificate_der.clone())
        .collect()
}

impl Env {
    pub async fn start() -> Env {
        Env::start_with(|_| {}, None).await
    }

    /// An environment with an adjusted configuration and optionally another VZD seam.
    pub async fn start_with(
        adjust: impl FnOnce(&mut AccountManagerConfig),
        vzd_override: Option<Arc<dyn VzdDirectory>>,
    ) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let vzd = VzdSim::start(VzdSimConfig {
            data_dir: dir.path().join("vzd"),
            ..VzdSimConfig::default()
        })
        .await
        .unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("fd.sqlite")).unwrap());
        store
            .create_contract(&contract(CONTRACT, 3, false))
            .await
            .unwrap();
        let client: Arc<dyn VzdDirectory> = match vzd_override {
            Some(v) => v,
            None => Arc::new(
                HttpVzdClient::new(VzdClientConfig {
                    base_url: format!("http://{}", vzd.rest_addr.unwrap()),
                    fad: "kim-sim".into(),
                    bearer_token: Some(VZD_TOKEN.into()),
                    tls: None,
                    timeout: std::time::Duration::from_secs(10),
                })
                .unwrap(),
            ),
        };
        let mut cfg = config(trust());
        adjust(&mut cfg);
        let clock = Arc::new(kim_account_manager::OffsetClock::default());
        let state = AccountManagerState::new(cfg, store.clone(), client)
            .unwrap()
            .with_clock(clock.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = kim_account_manager::router(state);
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let origin = format!("http://{addr}");
        Env {
            url: format!("{origin}/AccountMgmt/v2.4"),
            origin,
            vzd,
            store,
            clock,
            dir,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A PS256 (RSA card) or ES256 (brainpool card) token of the card `tid`, `nbf` = now.
    pub fn jwt(&self, tid: &str, alg: KeyAlgorithm) -> String {
        let aut = pki().card(tid).unwrap().aut(alg);
        jwt_for(aut, json!({"nbf": self.now()}))
    }

    /// registerAccount with the contract's credentials; returns (status, body).
    pub async fn register(&self, tid: &str, address: &str) -> (u16, String) {
        let body = json!({
            "referenceID": CONTRACT,
            "username": address,
            "password": b64(PASSWORD),
            "kimVersion": "1.5+",
        });
        let headers = vec![
            auth(&self.jwt(tid, KeyAlgorithm::Rsa2048)),
            ("iniPassword".to_owned(), b64(INI_PASSWORD)),
        ];
        curl(
            "POST",
            &format!("{}/account", self.url),
            &headers,
            Some(&body.to_string()),
        )
        .await
    }

    /// A request on `/account/{address}{suffix}` with the card `tid` and `PASSWORD`.
    pub async fn call(
        &self,
        method: &str,
        address: &str,
        suffix: &str,
        tid: &str,
        body: Option<&str>,
    ) -> (u16, String) {
        let headers = vec![
            auth(&self.jwt(tid, KeyAlgorithm::Rsa2048)),
            ("password".to_owned(), b64(PASSWORD)),
        ];
        let url = format!("{}/account/{address}{suffix}", self.url);
        curl(method, &url, &headers, body).await
    }

    /// The sim's directory entries holding `mail` (REST search), as (telematikID, entry).
    pub async fn vzd_entries(&self, mail: &str) -> Vec<Value> {
        let url = format!(
            "http://{}/DirectoryEntries/KOM-LE_Fachdaten?kimData={mail}*",
            self.vzd.rest_addr.unwrap()
        );
        let (status, body) = curl("GET", &url, &[auth(VZD_TOKEN)], None).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// LDAP view of `mail`: `ldapsearch (kimData=<mail>*)`, LDIF text.
    pub async fn ldap(&self, mail: &str) -> String {
        let mut args: Vec<String> = ["-x", "-LLL", "-o", "ldif-wrap=no", "-H"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        args.push(format!("ldap://{}", self.vzd.ldap_addr.unwrap()));
        args.extend([
            "-b".into(),
            kim_vzd_sim::BASE_DN.into(),
            format!("(kimData={mail}*)"),
            "telematikID".into(),
            "mail".into(),
            "komLeData".into(),
            "kimData".into(),
        ]);
        let out = run("ldapsearch", args).await;
        assert!(
            out.status.success(),
            "ldapsearch: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

pub fn contract(reference_id: &str, max_accounts: u32, locked: bool) -> Contract {
    Contract {
        reference_id: reference_id.into(),
        ini_password_hash: kim_store::password::hash(INI_PASSWORD).unwrap(),
        domains: vec!["test.kim.telematik".into()],
        max_accounts,
        locked,
        created: 0,
    }
}

/// `Authorization: Bearer <token>`.
pub fn auth(token: &str) -> (String, String) {
    ("Authorization".into(), format!("Bearer {token}"))
}

/// A compact JWS signed with the key of `aut`: PS256 for RSA, ES256 (brainpool, r||s) else.
pub fn jwt_for(aut: &Issued, claims: Value) -> String {
    let alg = match aut.algorithm {
        KeyAlgorithm::Rsa2048 => "PS256",
        KeyAlgorithm::BrainpoolP256r1 => "ES256",
    };
    let header = json!({"alg": alg, "typ": "JWT", "x5c": [STANDARD.encode(&aut.certificate_der)]});
    sign_jws(aut, &header, &claims)
}

/// Signs `header.claims` with the key of `aut` as its algorithm demands.
pub fn sign_jws(aut: &Issued, header: &Value, claims: &Value) -> String {
    use rand_core::SeedableRng;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = match aut.key_pair().unwrap() {
        KeyPair::Rsa(key) => {
            use rsa::signature::{RandomizedSigner, SignatureEncoding};
            let signer = rsa::pss::SigningKey::<sha2::Sha256>::new(key);
            let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
            signer.sign_with_rng(&mut rng, input.as_bytes()).to_vec()
        }
        KeyPair::Ecc(key) => {
            use ecdsa::signature::Signer;
            let sig: ecdsa::Signature<bp256::BrainpoolP256r1> = key.sign(input.as_bytes());
            sig.to_bytes().to_vec()
        }
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Runs a command off the async runtime; panics with a clear message if it is missing.
pub async fn run(program: &str, args: Vec<String>) -> Output {
    run_in(std::env::temp_dir(), program, args).await
}

/// As [`run`] in the working directory `dir` (tools that leave caches behind).
pub async fn run_in(dir: std::path::PathBuf, program: &str, args: Vec<String>) -> Output {
    let program = program.to_owned();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(&program)
            .current_dir(dir)
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("{program} is required for this test but not runnable: {e}"))
    })
    .await
    .unwrap()
}

/// `curl` a request; returns (HTTP status, body).
pub async fn curl(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> (u16, String) {
    let mut args: Vec<String> = vec![
        "-s".into(),
        "-X".into(),
        method.into(),
        "-w".into(),
        "\n%{http_code}".into(),
    ];
    for (name, value) in headers {
        args.push("-H".into());
        args.push(format!("{name}: {value}"));
    }
    if let Some(b) = body {
        args.extend([
            "-H".into(),
            "Content-Type: application/json; charset=utf-8".into(),
            "--data-binary".into(),
            b.into(),
        ]);
    }
    args.push(url.into());
    let out = run("curl", args).await;
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.parse().unwrap(), body.to_owned())
}

/// Asserts the yaml's error body: a message and a non-empty traceId.
pub fn assert_error_body(body: &str) -> Value {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert!(v["message"].is_string(), "{body}");
    let trace = v["traceId"].as_str().unwrap();
    assert!(!trace.is_empty() && trace.len() <= 255, "{body}");
    v
}
