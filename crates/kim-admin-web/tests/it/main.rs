//! The administration UI over plain HTTP (reqwest, cookies and forms by hand) against real
//! peers on loopback: the software Konnektor (kim-ti-sim) with the test PKI's cards, the
//! Account Manager and ServiceInformation routers over SQLite, the VZD simulator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod errors;
mod security;

use std::sync::Arc;

use kim_account_manager::vzd::{HttpVzdClient, VzdClientConfig, VzdDirectory};
use kim_account_manager::{AccountManagerConfig, AccountManagerState};
use kim_admin::{AccountManagerClient, AmClientConfig, Context};
use kim_admin_web::{AdminWebConfig, KonnektorChoice, RunningAdminWeb};
use kim_konnektor::client::{KonnektorClient, KonnektorConfig};
use kim_store::{AccountStore, Contract, SqliteStore};
use kim_testkit::pki::TestPki;
use kim_tls::TrustAnchors;
use kim_vzd_sim::{RunningVzd, VzdSim, VzdSimConfig};
use reqwest::header::{CONTENT_TYPE, COOKIE, HOST, LOCATION, SET_COOKIE};

pub const HBA_TID: &str = "1-1.58.00000050";
pub const PRAXIS_TID: &str = "1-2.58.00000040";
pub const CONTRACT: &str = "V-2026-0001";
pub const INI_PASSWORD: &str = "Start-Passwort-1";
pub const PASSWORD: &str = "Geheim-2026!";

pub fn pki() -> &'static TestPki {
    TestPki::shared_default().unwrap()
}

/// reqwest is built without a default rustls provider (as the workspace does): the ring
/// provider for plain HTTP clients too.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Konnektor, VZD, Account Manager + ServiceInformation (plain HTTP) and the UI.
#[derive(Debug)]
pub struct Env {
    pub _dir: tempfile::TempDir,
    pub _sim: kim_ti_sim::RunningSim,
    pub _vzd: RunningVzd,
    pub ui: RunningAdminWeb,
}

impl Env {
    pub async fn start() -> Env {
        install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let trust = TrustAnchors::from_pem(pki().ca_bundle_pem().unwrap().as_bytes()).unwrap();
        let mut sim_config = kim_ti_sim::SimConfig::from_test_pki(pki()).unwrap();
        sim_config.listen = "127.0.0.1:0".parse().unwrap();
        let sim = kim_ti_sim::KonnektorSim::start(sim_config).await.unwrap();
        let base = sim.sds_url().trim_end_matches("/connector.sds").to_string();
        let konnektor = KonnektorClient::new(KonnektorConfig::new(base, trust)).unwrap();

        let vzd = VzdSim::start(VzdSimConfig {
            data_dir: dir.path().join("vzd"),
            ..VzdSimConfig::default()
        })
        .await
        .unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("fd.sqlite")).unwrap());
        store
            .create_contract(&Contract::new(
                CONTRACT,
                &kim_store::password::hash(INI_PASSWORD).unwrap(),
                vec!["test.kim.telematik".into()],
                5,
                0,
            ))
            .await
            .unwrap();
        let vzd_client: Arc<dyn VzdDirectory> = Arc::new(
            HttpVzdClient::new(VzdClientConfig {
                base_url: format!("http://{}", vzd.rest_addr.unwrap()),
                fad: "kim-sim".into(),
                bearer_token: Some("vzd-sim-token".into()),
                tls: None,
                timeout: std::time::Duration::from_secs(10),
            })
            .unwrap(),
        );
        let ca = &pki().component_ca;
        let config = AccountManagerConfig::new(
            pki()
                .cas()
                .iter()
                .map(|c| c.certificate_der.clone())
                .collect(),
            ca.certificate_der.clone(),
            ca.private_key_pkcs8_der.clone(),
        );
        let state = AccountManagerState::new(config, store, vzd_client).unwrap();
        let router = kim_account_manager::router(state).merge(
            kim_kas::service_information_router(kim_kas::ServiceInformation {
                kim_service_version: "1.5.3".into(),
                password_policy_reg_ex: kim_account_manager::rules::PASSWORD_POLICY_REGEX.into(),
                password_policy_display: "Mindestens 8 Zeichen aus drei Zeichenklassen.".into(),
                jwt_expiration: 300,
                reference_id_required: true,
                initial_password_required: true,
            })
            .unwrap(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        let am = AccountManagerClient::new(AmClientConfig::new(
            format!("http://{addr}{}", kim_account_manager::BASE_PATH),
            None,
        ))
        .unwrap();
        let ui = kim_admin_web::start(AdminWebConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            konnektors: vec![KonnektorChoice {
                label: "Test-Konnektor".into(),
                client: Arc::new(konnektor),
                contexts: vec![Context::new("Mandant1", "ClientID1", "Workplace1").unwrap()],
            }],
            account_manager: Arc::new(am),
            key_store: None,
        })
        .await
        .unwrap();
        Env {
            _dir: dir,
            _sim: sim,
            _vzd: vzd,
            ui,
        }
    }

    /// A browser-like client with its own session.
    pub async fn browser(&self) -> Browser {
        let mut b = Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap(),
            base: format!("http://{}", self.ui.addr),
            cookie: String::new(),
            csrf: String::new(),
        };
        let page = b.get("/").await;
        assert_eq!(page.status, 200, "{}", page.body);
        b
    }
}

/// One answer of the UI.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub set_cookie: Vec<String>,
}

/// Cookie and CSRF token of one session.
#[derive(Debug)]
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

/// Percent-encoding for form bodies.
pub fn enc(text: &str) -> String {
    kim_admin_web::html::url_encode(text)
}

impl Browser {
    async fn read(&mut self, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookie: Vec<String> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookie {
            if let Some(pair) = c.split(';').next()
                && pair.starts_with("kim_admin_sitzung=")
                && !pair.ends_with('=')
            {
                self.cookie = pair.to_owned();
            }
        }
        let body = response.text().await.unwrap();
        if let Some(i) = body.find("name=\"csrf\" value=\"") {
            let rest = &body[i + 19..];
            self.csrf = rest[..rest.find('"').unwrap()].to_owned();
        }
        Page {
            status,
            location,
            body,
            set_cookie,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        self.read(r).await
    }

    /// POSTs `fields` plus the session's CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// POSTs exactly `fields`.
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.read(r).await
    }

    /// A GET with another `Host` header.
    pub async fn get_with_host(&mut self, path: &str, host: &str) -> Page {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header(HOST, host)
            .send()
            .await
            .unwrap();
        self.read(r).await
    }

    /// The radio value of the card with Telematik-ID `tid` on the current card page.
    pub async fn card_value(&mut self, tid: &str) -> String {
        let page = self.get("/").await;
        card_value_in(&page.body, tid)
    }

    /// Chooses the card `tid` (expects the redirect).
    pub async fn choose_card(&mut self, tid: &str) {
        let value = self.card_value(tid).await;
        let page = self.post("/karte", &[("karte", &value)]).await;
        assert_eq!(page.status, 303, "{}", page.body);
    }
}

/// The radio value of the card `tid` in a card choice page.
pub fn card_value_in(body: &str, tid: &str) -> String {
    let label = body
        .find(&format!("Telematik-ID {tid},"))
        .unwrap_or_else(|| panic!("card {tid} listed: {body}"));
    let before = &body[..label];
    let i = before.rfind("value=\"").unwrap();
    let rest = &before[i + 7..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Asserts the German `text` is shown as the error of `field` and associated with it.
pub fn assert_field_error(body: &str, field: &str, text: &str) {
    let error_id = format!("feld-{field}-fehler");
    let input = body
        .find(&format!("id=\"feld-{field}\""))
        .unwrap_or_else(|| panic!("field {field} in {body}"));
    let tag_end = input + body[input..].find('>').unwrap();
    let tag = &body[input..tag_end];
    let described = tag
        .split("aria-describedby=\"")
        .nth(1)
        .unwrap_or_else(|| panic!("{field} has aria-describedby: {tag}"));
    let described = &described[..described.find('"').unwrap()];
    assert!(
        described.split(' ').any(|id| id == error_id),
        "{field}: aria-describedby {described:?} names {error_id}"
    );
    assert!(tag.contains("aria-invalid=\"true\""), "{field}: {tag}");
    let msg_start = body
        .find(&format!("<p id=\"{error_id}\" class=\"fehler\">"))
        .unwrap_or_else(|| panic!("error element {error_id} in {body}"));
    let msg = &body[msg_start..msg_start + body[msg_start..].find("</p>").unwrap()];
    assert!(msg.contains(text), "{field}: {msg:?} contains {text:?}");
    // The message sits in the field's block, right after the input.
    let block_end = tag_end + body[tag_end..].find("</div>").unwrap();
    assert!(
        msg_start > input && msg_start < block_end,
        "{field}: the error is beside the field"
    );
}
