//! Integration tests of the registration portal over real HTTP: the portal and the real
//! Account Manager router on loopback ports over one SQLite store, the VZD simulator, and an
//! SMTP sink (kim-smtp's server engine) that captures the notification mails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod mail;
mod portal;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kim_account_manager::cert::ProviderCa;
use kim_account_manager::vzd::{HttpVzdClient, VzdClientConfig, VzdDirectory};
use kim_account_manager::{AccountManagerConfig, AccountManagerState, Clock};
use kim_portal::{Mailer, PortalConfig, PortalState, Security, Transport};
use kim_smtp::server::{
    DataSpool, ListenerConfig, ServerConfig, SessionEnd, SessionInfo, SmtpBackend, accept_loop,
};
use kim_smtp::{Envelope, MailFrom, RcptTo, Reply};
use kim_store::{AccountStore, Contract, SqliteStore};
use kim_testkit::pki::{Issued, KeyAlgorithm, KeyPair, TestPki};
use kim_vzd_sim::{RunningVzd, VzdSim, VzdSimConfig};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const PRAXIS_TID: &str = "1-2.58.00000040";
pub const CONTRACT: &str = "V-2026-0001";
pub const LOCKED_CONTRACT: &str = "V-2026-0002";
pub const INI_PASSWORD: &str = "Start-Passwort-1";
pub const VZD_TOKEN: &str = "vzd-sim-token";
pub const PASSWORD: &str = "Geheim-2026!";
pub const DOMAIN: &str = "test.kim.telematik";
pub const RECOVERY: &str = "praxis@beispiel.de";

pub fn pki() -> &'static TestPki {
    TestPki::shared_default().unwrap()
}

pub fn b64(text: &str) -> String {
    STANDARD.encode(text.as_bytes())
}

/// A captured mail: envelope recipient and the message text.
#[derive(Debug, Clone)]
pub struct Captured {
    pub to: String,
    pub text: String,
}

impl Captured {
    /// The decoded subject and body (base64 UTF-8, as the portal writes them).
    pub fn subject(&self) -> String {
        let line = self
            .text
            .split("\r\n")
            .find(|l| l.starts_with("Subject: "))
            .unwrap_or_default()
            .trim_start_matches("Subject: ")
            .to_owned();
        decode_words(&line)
    }

    pub fn body(&self) -> String {
        let (_, body) = self.text.split_once("\r\n\r\n").unwrap();
        let joined: String = body.split("\r\n").collect();
        let text = String::from_utf8(STANDARD.decode(joined).unwrap()).unwrap();
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "bare LF in a mail"
        );
        text.replace("\r\n", "\n")
    }
}

fn decode_words(line: &str) -> String {
    if !line.starts_with("=?UTF-8?B?") {
        return line.to_owned();
    }
    line.split_whitespace()
        .map(|w| {
            let inner = w.trim_start_matches("=?UTF-8?B?").trim_end_matches("?=");
            String::from_utf8(STANDARD.decode(inner).unwrap()).unwrap()
        })
        .collect()
}

/// The SMTP sink: accepts every mail without AUTH and keeps it.
#[derive(Debug, Default)]
pub struct Sink {
    pub mails: Mutex<Vec<Captured>>,
    /// While set, every RCPT is refused with 550.
    pub refuse: std::sync::atomic::AtomicBool,
}

#[derive(Debug)]
pub struct SinkSpool {
    sink: Arc<Sink>,
    data: Vec<u8>,
}

impl DataSpool for SinkSpool {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), Reply> {
        self.data.extend_from_slice(chunk);
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct SinkBackend(Arc<Sink>);

impl SmtpBackend for SinkBackend {
    type Spool = SinkSpool;

    async fn authenticate(&self, _: &SessionInfo, _: &str, _: &str) -> Result<(), Reply> {
        Err(Reply::plain(503, "no AUTH here"))
    }

    async fn mail_from(&self, _: &SessionInfo, _: Option<&str>, _: &MailFrom) -> Result<(), Reply> {
        Ok(())
    }

    async fn rcpt_to(&self, _: &SessionInfo, _: &Envelope, _: &RcptTo) -> Result<(), Reply> {
        if self.0.refuse.load(Ordering::SeqCst) {
            return Err(Reply::new(550, (5, 1, 1), "mailbox unavailable"));
        }
        Ok(())
    }

    async fn data_start(&self, _: &SessionInfo, _: &Envelope) -> Result<SinkSpool, Reply> {
        Ok(SinkSpool {
            sink: self.0.clone(),
            data: Vec::new(),
        })
    }

    async fn data_end(&self, _: &SessionInfo, envelope: Envelope, spool: SinkSpool) -> Reply {
        let text = String::from_utf8_lossy(&spool.data).into_owned();
        let mut mails = spool.sink.mails.lock().unwrap();
        for rcpt in envelope.rcpts {
            mails.push(Captured {
                to: rcpt.address,
                text: text.clone(),
            });
        }
        Reply::new(250, (2, 0, 0), "queued")
    }
}

#[derive(Debug)]
pub struct Env {
    pub state: PortalState,
    pub portal: String,
    pub am: String,
    pub store: Arc<SqliteStore>,
    pub clock: Arc<kim_account_manager::OffsetClock>,
    pub sink: Arc<Sink>,
    pub vzd: RunningVzd,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    _stop: CancellationToken,
}

pub fn contract(reference_id: &str, locked: bool) -> Contract {
    Contract {
        reference_id: reference_id.into(),
        ini_password_hash: kim_store::password::hash(INI_PASSWORD).unwrap(),
        domains: vec![DOMAIN.into(), "zweite.kim.telematik".into()],
        max_accounts: 5,
        locked,
        created: 0,
    }
}

impl Env {
    pub async fn start() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let stop = CancellationToken::new();
        // SMTP sink.
        let sink = Arc::new(Sink::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let smtp_port = listener.local_addr().unwrap().port();
        let mut cfg = ServerConfig::new("sink.example");
        cfg.require_auth = false;
        cfg.auth_mechanisms = Vec::new();
        tokio::spawn(accept_loop(
            listener,
            ListenerConfig::plain(),
            Arc::new(cfg),
            Arc::new(SinkBackend(sink.clone())),
            stop.clone(),
            |_: SessionEnd| {},
        ));
        // VZD simulator.
        let vzd = VzdSim::start(VzdSimConfig {
            data_dir: dir.path().join("vzd"),
            ..VzdSimConfig::default()
        })
        .await
        .unwrap();
        let vzd_client: Arc<dyn VzdDirectory> = Arc::new(
            HttpVzdClient::new(VzdClientConfig {
                base_url: format!("http://{}", vzd.rest_addr.unwrap()),
                fad: "kim-sim".into(),
                bearer_token: Some(VZD_TOKEN.into()),
                tls: None,
                timeout: Duration::from_secs(10),
            })
            .unwrap(),
        );
        let store = Arc::new(SqliteStore::open(&dir.path().join("fd.sqlite")).unwrap());
        store
            .create_contract(&contract(CONTRACT, false))
            .await
            .unwrap();
        store
            .create_contract(&contract(LOCKED_CONTRACT, true))
            .await
            .unwrap();
        let clock = Arc::new(kim_account_manager::OffsetClock::default());
        // Account Manager.
        let ca = &pki().component_ca;
        let trust: Vec<Vec<u8>> = pki()
            .cas()
            .iter()
            .map(|c| c.certificate_der.clone())
            .collect();
        let mut am_config = AccountManagerConfig::new(
            trust,
            ca.certificate_der.clone(),
            ca.private_key_pkcs8_der.clone(),
        );
        am_config.jwt_expiration_secs = 3600;
        let am_state = AccountManagerState::new(am_config, store.clone(), vzd_client.clone())
            .unwrap()
            .with_clock(clock.clone());
        let am = serve(kim_account_manager::router(am_state)).await;
        // Portal.
        let portal_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let portal = format!("http://{}", portal_listener.local_addr().unwrap());
        let mailer = Mailer {
            transport: Transport::Smtp {
                host: "127.0.0.1".into(),
                port: smtp_port,
                security: Security::Plain,
                tls: None,
                timeout: Duration::from_secs(10),
            },
            sender: "portal@fd.test.kim.telematik".into(),
            hostname: "fd.test.kim.telematik".into(),
        };
        let provider =
            ProviderCa::new(ca.certificate_der.clone(), &ca.private_key_pkcs8_der).unwrap();
        let state = PortalState::new(
            PortalConfig::new(&portal, kim_portal::DEFAULT_CM_UI_BASE),
            store.clone(),
            mailer,
            provider,
            Some(vzd_client),
        )
        .with_clock(clock.clone());
        let app = kim_portal::router(state.clone());
        tokio::spawn(async move {
            axum::serve(portal_listener, app).await.unwrap();
        });
        Env {
            state,
            portal,
            am: format!("{am}/AccountMgmt/v2.4"),
            store,
            clock,
            sink,
            vzd,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .tls_backend_preconfigured(
                    rustls::ClientConfig::builder_with_provider(Arc::new(
                        rustls::crypto::ring::default_provider(),
                    ))
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
                )
                .build()
                .unwrap(),
            dir,
            _stop: stop,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// One certificate renewal round at the test clock's time.
    pub async fn renew(&self) -> usize {
        kim_portal::renew_expiring(&self.state, self.now())
            .await
            .unwrap()
    }

    /// POST a form to the portal; (status, body).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.portal))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encode_form(form))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// GET from the portal (path or full URL); (status, content type, body bytes).
    pub async fn get(&self, path_or_url: &str) -> (u16, String, Vec<u8>) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.portal)
        };
        let response = self.http.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, kind, response.bytes().await.unwrap().to_vec())
    }

    /// Whether the VZD simulator holds `mail` in some entry's `kimData`.
    pub async fn vzd_has(&self, mail: &str) -> bool {
        let url = format!(
            "http://{}/DirectoryEntries/KOM-LE_Fachdaten?kimData={mail}*",
            self.vzd.rest_addr.unwrap()
        );
        let response = self
            .http
            .get(url)
            .bearer_auth(VZD_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let entries: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        !entries.as_array().unwrap().is_empty()
    }

    /// The mails captured so far.
    pub fn mails(&self) -> Vec<Captured> {
        self.sink.mails.lock().unwrap().clone()
    }

    /// Completes registration step 3 for `local`@DOMAIN under `contract`.
    pub async fn register(&self, local: &str, contract: &str, email: &str) -> (u16, String) {
        self.post(
            "/registrieren",
            &[
                ("email", email),
                ("lanr", "123456789"),
                ("bsnr", ""),
                ("kzv", ""),
                ("ik", ""),
                ("contract", contract),
                ("local", local),
                ("domain", DOMAIN),
                ("schritt", "3"),
            ],
        )
        .await
    }

    /// registerAccount at the Account Manager with `ini_password`; (status, body).
    pub async fn register_account(
        &self,
        address: &str,
        reference_id: &str,
        ini_password: &str,
    ) -> (u16, String) {
        let aut = pki().card(PRAXIS_TID).unwrap().aut(KeyAlgorithm::Rsa2048);
        let token = jwt_for(aut, json!({"nbf": self.now()}));
        let body = json!({
            "referenceID": reference_id,
            "username": address,
            "password": b64(PASSWORD),
            "kimVersion": "1.5+",
        });
        let response = self
            .http
            .post(format!("{}/account", self.am))
            .header("Authorization", format!("Bearer {token}"))
            .header("iniPassword", b64(ini_password))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

pub fn encode_form(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn pct(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A compact JWS signed with the key of `aut`: PS256 for RSA, ES256 (brainpool) else.
pub fn jwt_for(aut: &Issued, claims: Value) -> String {
    use rand_core::SeedableRng;
    let alg = match aut.algorithm {
        KeyAlgorithm::Rsa2048 => "PS256",
        KeyAlgorithm::BrainpoolP256r1 => "ES256",
    };
    let header = json!({"alg": alg, "typ": "JWT", "x5c": [STANDARD.encode(&aut.certificate_der)]});
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

/// The first `https?://…` link in `text` that starts with `prefix`.
pub fn link(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no link {prefix} in\n{text}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}

/// A query parameter of a URL (no percent-decoding beyond `%40`).
pub fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} missing in {url}"))
        .replace("%40", "@")
}
