//! The whole KIM system on loopback: test PKI, software Konnektor, VZD, Fachdienst and
//! Clientmodul, wired together as a practice and a provider would wire them.
//!
//! State lives in one directory: `pki/` (TEST-ONLY keys, deterministic), `vzd/` (the
//! directory's database), `fachdienst/` (`fachdienst.toml`, database and message files).
//! Starting again on the same directory keeps mailboxes, accounts and directory entries.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use kim_clientmodul::{FachdienstTls, KasSettings, ProxyTls, ReceiveConfig, SendConfig};
use kim_konnektor::client::{KonnektorClient, KonnektorConfig};
use kim_store::{Account, Contract};
use kim_testkit::pki::TestPki;
use kim_tls::{Identity, TrustAnchors};

use crate::fachdienst::{self, Launched, config::Config};

/// Password of every PKCS#12 file of the sandbox PKI (TEST-ONLY).
pub const P12_PASSWORD: &str = "00";
/// The KIM domain of the sandbox.
pub const DOMAIN: &str = "test.kim.telematik";
/// Contract (referenceID) the sandbox mailboxes belong to.
pub const CONTRACT: &str = "SANDBOX-1";
/// Initial password of the contract (registration of further addresses).
pub const CONTRACT_PASSWORD: &str = "Sandbox-Vertrag-1";
/// Bearer token of the Account Manager at the VZD maintenance API (TEST-ONLY).
const VZD_TOKEN: &str = "vzd-sim-token";
const VZD_FAD: &str = "kim-sim";

/// A practice of the sandbox: its mailbox and the Konnektor context its card is in.
#[derive(Debug, Clone)]
pub struct Practice {
    pub address: &'static str,
    pub password: &'static str,
    pub telematik_id: &'static str,
    pub mandant: &'static str,
    pub client_system: &'static str,
    pub workplace: &'static str,
    /// UserId for HBA access (`None`: SMC-B only).
    pub user_id: Option<&'static str>,
}

/// Practice A (Dr. Schmidt, SMC-B in `Mandant1`) and practice B (Dr. Weber, SMC-B in
/// `Mandant2`): two tenants of one Konnektor.
pub const PRACTICES: [Practice; 2] = [
    Practice {
        address: "praxis.schmidt@test.kim.telematik",
        password: "Sandbox-Schmidt-1",
        telematik_id: "1-2.58.00000040",
        mandant: "Mandant1",
        client_system: "ClientID1",
        workplace: "Workplace1",
        user_id: Some("alice.schmidt"),
    },
    Practice {
        address: "zahnarzt.weber@test.kim.telematik",
        password: "Sandbox-Weber-1",
        telematik_id: "2-2.58.00000041",
        mandant: "Mandant2",
        client_system: "ClientID2",
        workplace: "Workplace3",
        user_id: None,
    },
];

/// The doctor's HBA (Dr. Alice Schmidt), in practice A's terminal.
pub const HBA_TELEMATIK_ID: &str = "1-1.58.00000050";

/// Listening ports; 0 picks a free one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ports {
    pub konnektor: u16,
    pub ldap: u16,
    pub vzd_api: u16,
    pub fd_smtp: u16,
    pub fd_pop3: u16,
    pub fd_https: u16,
    pub cm_smtp: u16,
    pub cm_pop3: u16,
    /// The administration web UI.
    pub admin_ui: u16,
}

impl Ports {
    /// Consecutive ports from `base`.
    pub fn from_base(base: u16) -> anyhow::Result<Ports> {
        let port = |i: u16| {
            base.checked_add(i)
                .with_context(|| format!("--base-port {base}: the sandbox needs 9 ports"))
        };
        Ok(Ports {
            konnektor: port(0)?,
            ldap: port(1)?,
            vzd_api: port(2)?,
            fd_smtp: port(3)?,
            fd_pop3: port(4)?,
            fd_https: port(5)?,
            cm_smtp: port(6)?,
            cm_pop3: port(7)?,
            admin_ui: port(8)?,
        })
    }

    /// Every 0 replaced by a port that is free now (the Fachdienst's KAS links and the
    /// practice software's settings need the port before the listener exists).
    fn resolved(self) -> anyhow::Result<Ports> {
        let pick = |p: u16| -> anyhow::Result<u16> {
            if p != 0 {
                return Ok(p);
            }
            let l = StdListener::bind("127.0.0.1:0").context("finding a free port")?;
            Ok(l.local_addr()?.port())
        };
        Ok(Ports {
            konnektor: pick(self.konnektor)?,
            ldap: pick(self.ldap)?,
            vzd_api: pick(self.vzd_api)?,
            fd_smtp: pick(self.fd_smtp)?,
            fd_pop3: pick(self.fd_pop3)?,
            fd_https: pick(self.fd_https)?,
            cm_smtp: pick(self.cm_smtp)?,
            cm_pop3: pick(self.cm_pop3)?,
            admin_ui: pick(self.admin_ui)?,
        })
    }
}

/// The running system.
pub struct System {
    pub dir: PathBuf,
    pub ports: Ports,
    konnektor: kim_ti_sim::RunningSim,
    vzd: kim_vzd_sim::RunningVzd,
    fachdienst: Launched,
    cm_smtp: kim_clientmodul::Running,
    cm_pop3: kim_clientmodul::RunningPop3,
    admin_ui: kim_admin_web::RunningAdminWeb,
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

impl System {
    /// Starts everything with state in `dir`.
    pub async fn start(dir: &Path, ports: Ports) -> anyhow::Result<System> {
        let ports = ports.resolved()?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = dir
            .canonicalize()
            .with_context(|| format!("resolving {}", dir.display()))?;
        let pki = TestPki::shared_default()
            .map_err(|e| anyhow::anyhow!("generating the test PKI: {e}"))?;
        let pki_dir = dir.join("pki");
        if !pki_dir.join("manifest.txt").exists() {
            pki.write_dir(&pki_dir, P12_PASSWORD)
                .with_context(|| format!("writing the test PKI to {}", pki_dir.display()))?;
        }
        let konnektor_config = konnektor_config(pki, ports.konnektor)?;
        let mut seeds = crate::ti::vzd_seeds(&konnektor_config)?;
        // The sandbox practices have consented to large messages (A_23505): `1.5+`.
        for seed in &mut seeds {
            for (_, version) in &mut seed.addresses {
                *version = kim_types::KimVersion::V1_5Plus;
            }
        }
        let konnektor = kim_ti_sim::KonnektorSim::start(konnektor_config)
            .await
            .context("starting the Konnektor")?;
        let vzd = start_vzd(&dir, &pki_dir, seeds, ports).await?;
        let config = write_fachdienst_config(&dir, &pki_dir, ports)?;
        provision(&config).await?;
        let fachdienst = fachdienst::launch(&config)
            .await
            .context("starting the Fachdienst")?;

        let trust = TrustAnchors::from_file(&pki_dir.join("ca-bundle.pem"))
            .context("reading the sandbox CA bundle")?;
        let base = konnektor
            .sds_url()
            .trim_end_matches("/connector.sds")
            .to_string();
        let konnektor_client = Arc::new(
            KonnektorClient::new(KonnektorConfig::new(base, trust.clone()))
                .context("Konnektor client")?,
        );
        let vzd_client = Arc::new(
            kim_vzd::VzdClient::new(kim_vzd::VzdClientConfig::new(&format!(
                "ldap://127.0.0.1:{}",
                ports.ldap
            )))
            .context("VZD client")?,
        );
        let fd_tls = FachdienstTls {
            identity: Identity::from_files(
                &pki_dir.join("tls/clientmodul.crt.pem"),
                &pki_dir.join("tls/clientmodul.key.pem"),
            )
            .context("the Clientmodul's TLS identity")?,
            trust,
            danger_accept_any_hostname: false,
        };
        let kas = kim_clientmodul::kas::HttpKas::new(
            KasSettings::new(format!("https://localhost:{}", ports.fd_https)),
            &fd_tls,
        )
        .context("the Clientmodul's KAS client")?;
        let (kas_upload, kas_download) = kas.into_seams();
        // Plain towards the practice software: it runs on the same host (KOM-LE-A_2067).
        let mut send = SendConfig::new(local(ports.cm_smtp), "localhost", fd_tls.clone());
        send.proxy_tls = ProxyTls::None;
        let cm_smtp_check = send.fachdienst_cert_check.clone();
        let konnektors = kim_clientmodul::Konnektors::single(konnektor_client.clone());
        let cm_smtp = kim_clientmodul::start(
            send,
            konnektors.clone(),
            vzd_client.clone(),
            Some(kas_upload),
        )
        .await
        .context("starting the Clientmodul's SMTP proxy")?;
        let admin_ui = start_admin_ui(&dir, ports, konnektor_client, &fd_tls).await?;
        let mut receive = ReceiveConfig::new(local(ports.cm_pop3), "localhost", fd_tls);
        receive.proxy_tls = ProxyTls::None;
        receive.fachdienst_cert_check = cm_smtp_check;
        let cm_pop3 =
            kim_clientmodul::start_pop3(receive, konnektors, vzd_client, Some(kas_download))
                .await
                .context("starting the Clientmodul's POP3 proxy")?;
        Ok(System {
            dir,
            ports,
            konnektor,
            vzd,
            fachdienst,
            cm_smtp,
            cm_pop3,
            admin_ui,
        })
    }

    /// The administration web UI, e.g. `http://127.0.0.1:18408/`.
    pub fn admin_ui_url(&self) -> String {
        self.admin_ui.url()
    }

    /// The Fachdienst's registration portal, e.g. `http://127.0.0.1:40123/`.
    pub fn portal_url(&self) -> Option<String> {
        self.fachdienst.portal_addr.map(|a| format!("http://{a}/"))
    }

    pub fn konnektor_sds_url(&self) -> &str {
        self.konnektor.sds_url()
    }

    pub fn cm_smtp_addr(&self) -> SocketAddr {
        self.cm_smtp.smtp_addr
    }

    pub fn cm_pop3_addr(&self) -> SocketAddr {
        self.cm_pop3.pop3_addr
    }

    /// The Clientmodul user name of `practice` up to the WorkplaceId.
    fn user_name(&self, practice: &Practice, port: u16) -> String {
        format!(
            "{}#localhost:{port}#{}#{}#{}",
            practice.address, practice.mandant, practice.client_system, practice.workplace
        )
    }

    /// SMTP user name: the UserId is field 6, after the KonnektorId (`*`: the default
    /// Konnektor; kim-spec §3.1).
    pub fn smtp_user(&self, practice: &Practice) -> String {
        let user = self.user_name(practice, self.ports.fd_smtp);
        match practice.user_id {
            Some(id) => format!("{user}#*#{id}"),
            None => user,
        }
    }

    /// POP3 user name: the UserId is field 5 (kim-spec §4.1).
    pub fn pop3_user(&self, practice: &Practice) -> String {
        let user = self.user_name(practice, self.ports.fd_pop3);
        match practice.user_id {
            Some(id) => format!("{user}#{id}"),
            None => user,
        }
    }

    pub fn https_base(&self) -> String {
        format!("https://localhost:{}", self.ports.fd_https)
    }

    pub fn konnektor_cards(&self) -> Vec<kim_ti_sim::cards::CardView> {
        self.konnektor.konnektor().cards.list(None)
    }

    pub fn fachdienst_summary(&self) -> String {
        self.fachdienst.summary()
    }

    /// Stops the Clientmodul first, then the Fachdienst, the VZD and the Konnektor.
    pub async fn shutdown(self) {
        self.admin_ui.shutdown().await;
        self.cm_smtp.shutdown().await;
        self.cm_pop3.shutdown().await;
        self.fachdienst.shutdown().await;
        self.vzd.shutdown().await;
        self.konnektor.shutdown().await;
    }
}

/// The default Konnektor of the test PKI, with practice B's SMC-B moved to its own
/// tenant: terminal `CT3` at `Mandant2` / `ClientID2` / `Workplace3`.
fn konnektor_config(pki: &TestPki, port: u16) -> anyhow::Result<kim_ti_sim::SimConfig> {
    let mut config = kim_ti_sim::SimConfig::from_test_pki(pki)?;
    config.listen = local(port);
    config
        .model
        .card_terminals
        .push(kim_ti_sim::config::CardTerminalConfig {
            id: "CT3".into(),
            slots: 2,
        });
    for workplace in &mut config.model.workplaces {
        if workplace.id == "Workplace3" {
            workplace.card_terminals.push("CT3".into());
        }
    }
    let b = &PRACTICES[1];
    let card = config
        .cards
        .iter_mut()
        .find(|c| c.telematik_id == b.telematik_id)
        .context("the test PKI lacks practice B's SMC-B")?;
    card.terminal = "CT3".into();
    card.slot = 1;
    Ok(config)
}

/// The Clientmodul's administration web UI over the sandbox Konnektor (both practices'
/// contexts, practice A's with the doctor's UserId for the HBA) and the Fachdienst's Account
/// Manager; certificates are imported into `clientmodul/keystore.json` of the state
/// directory.
async fn start_admin_ui(
    dir: &Path,
    ports: Ports,
    konnektor: Arc<KonnektorClient>,
    fd_tls: &FachdienstTls,
) -> anyhow::Result<kim_admin_web::RunningAdminWeb> {
    let mut contexts = Vec::new();
    for p in &PRACTICES {
        let ctx = kim_admin::Context::new(p.mandant, p.client_system, p.workplace)
            .map_err(|e| anyhow::anyhow!("Konnektor context: {e}"))?;
        contexts.push(match p.user_id {
            Some(user) => ctx
                .with_user_id(user)
                .map_err(|e| anyhow::anyhow!("Konnektor context: {e}"))?,
            None => ctx,
        });
    }
    let am = kim_admin::AccountManagerClient::new(kim_admin::AmClientConfig::new(
        format!(
            "https://localhost:{}{}",
            ports.fd_https,
            kim_account_manager::BASE_PATH
        ),
        Some(kim_tls::ClientOptions {
            trust: fd_tls.trust.clone(),
            identity: Some(fd_tls.identity.clone()),
            danger_accept_any_hostname: false,
        }),
    ))
    .context("the Account Manager client")?;
    let cm_dir = dir.join("clientmodul");
    std::fs::create_dir_all(&cm_dir).with_context(|| format!("creating {}", cm_dir.display()))?;
    let password_file = cm_dir.join("store-password");
    kim_cm_config::StorePassword::load_or_create(&password_file)
        .with_context(|| format!("{}", password_file.display()))?;
    kim_admin_web::start(kim_admin_web::AdminWebConfig {
        listen: local(ports.admin_ui),
        konnektors: vec![kim_admin_web::KonnektorChoice {
            label: "Sandbox-Konnektor".into(),
            client: konnektor,
            contexts,
        }],
        account_manager: Arc::new(am),
        key_store: Some(kim_admin_web::KeyStoreTarget {
            key_store: cm_dir.join("keystore.json"),
            password_file,
            live: None,
        }),
    })
    .await
    .context("starting the administration UI")
}

async fn start_vzd(
    dir: &Path,
    pki_dir: &Path,
    seeds: Vec<kim_vzd_sim::SeedEntry>,
    ports: Ports,
) -> anyhow::Result<kim_vzd_sim::RunningVzd> {
    let config = kim_vzd_sim::VzdSimConfig {
        data_dir: dir.join("vzd"),
        ldap_listen: Some(local(ports.ldap)),
        ldaps_listen: None,
        rest_listen: Some(local(ports.vzd_api)),
        rest_https: true,
        tls: Some(kim_vzd_sim::TlsFiles {
            chain_pem: pki_dir.join("tls/konnektor.crt.pem"),
            key_pem: pki_dir.join("tls/konnektor.key.pem"),
            client_ca_pem: Some(pki_dir.join("ca-bundle.pem")),
        }),
        api_clients: vec![kim_vzd_sim::ApiClient {
            fad: VZD_FAD.into(),
            token: Some(VZD_TOKEN.into()),
            client_certificate_pem: None,
        }],
        seed_test_pki: false,
        ..kim_vzd_sim::VzdSimConfig::default()
    };
    kim_vzd_sim::VzdSim::start_with(config, kim_vzd_sim::StartOptions { tls: None, seeds })
        .await
        .context("starting the VZD")
}

/// Writes `fachdienst/fachdienst.toml` (rewritten at every start: the ports may change)
/// and loads it through the daemon's own validation.
fn write_fachdienst_config(dir: &Path, pki: &Path, ports: Ports) -> anyhow::Result<Config> {
    let fd_dir = dir.join("fachdienst");
    std::fs::create_dir_all(&fd_dir).with_context(|| format!("creating {}", fd_dir.display()))?;
    let pki = pki.display();
    let text = format!(
        "# Written by `kim sandbox` at every start (TEST-ONLY keys).\n\
hostname = \"localhost\"\n\
domains = [\"{DOMAIN}\"]\n\
data_dir = \"data\"\n\
[tls]\n\
chain_pem = \"{pki}/tls/fachdienst.crt.pem\"\n\
key_pem = \"{pki}/tls/fachdienst.key.pem\"\n\
client_ca_pem = \"{pki}/ca-bundle.pem\"\n\
[smtp]\n\
listen = \"127.0.0.1:{smtp}\"\n\
[pop3]\n\
listen = \"127.0.0.1:{pop3}\"\n\
[http]\n\
listen = \"127.0.0.1:{https}\"\n\
public_url = \"https://localhost:{https}\"\n\
# Registration portal: plain HTTP on loopback, port chosen at start (see the summary);\n\
# its mails go to portal-mails/*.eml instead of a relay.\n\
[portal]\n\
listen = \"127.0.0.1:0\"\n\
tls = false\n\
sender = \"portal@localhost\"\n\
cm_ui_base = \"http://127.0.0.1:{admin_ui}\"\n\
mail_dir = \"portal-mails\"\n\
[account_manager]\n\
card_ca_pem = \"{pki}/ca-bundle.pem\"\n\
provider_ca_cert_pem = \"{pki}/ca/rsa/komp.crt.pem\"\n\
provider_ca_key_pem = \"{pki}/ca/rsa/komp.key.pem\"\n\
[account_manager.vzd]\n\
base_url = \"https://localhost:{vzd}\"\n\
fad = \"{VZD_FAD}\"\n\
bearer_token = \"{VZD_TOKEN}\"\n\
server_ca_pem = \"{pki}/ca-bundle.pem\"\n\
# The test PKI's Fachdienst certificate is for servers only (no clientAuth).\n\
client_chain_pem = \"{pki}/tls/clientmodul.crt.pem\"\n\
client_key_pem = \"{pki}/tls/clientmodul.key.pem\"\n",
        smtp = ports.fd_smtp,
        pop3 = ports.fd_pop3,
        https = ports.fd_https,
        vzd = ports.vzd_api,
        admin_ui = ports.admin_ui,
    );
    let path = fd_dir.join("fachdienst.toml");
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Config::load(&path)
}

/// The contract and the two practices' mailboxes, created on the first start only (later
/// password changes and registrations are kept).
async fn provision(config: &Config) -> anyhow::Result<()> {
    let fd = fachdienst::open_storage(config).await?;
    let meta = fd.meta.as_ref();
    if meta.contract(CONTRACT).await?.is_none() {
        let hash = kim_store::password::hash(CONTRACT_PASSWORD)?;
        meta.create_contract(&Contract::new(
            CONTRACT,
            &hash,
            vec![DOMAIN.into()],
            10,
            now(),
        ))
        .await
        .context("creating the sandbox contract")?;
    }
    for p in &PRACTICES {
        if meta.account(p.address).await?.is_none() {
            let hash = kim_store::password::hash(p.password)?;
            let account = Account::registered(p.address, CONTRACT, p.telematik_id, &hash, now());
            meta.create_account(&account)
                .await
                .with_context(|| format!("creating the mailbox {}", p.address))?;
        }
    }
    Ok(())
}

fn now() -> i64 {
    crate::message::now()
}
