//! The whole chain on loopback: software Konnektor, simulated VZD, a Fachdienst with two
//! accounts and the Clientmodul's SMTP proxy, plus real clients (python, swaks).

use std::path::PathBuf;
use std::sync::Arc;

use kim_clientmodul::{FachdienstTls, Running, SendConfig};
use kim_fachdienst::server::{Listeners, start};
use kim_fachdienst::{Fachdienst, Policy};
use kim_konnektor::client::{KonnektorClient, KonnektorConfig};
use kim_store::{Account, AccountStore, Contract, FileBlobStore, SqliteStore};
use kim_testkit::pki::TestPki;
use kim_tls::{ClientAuth, Identity, TrustAnchors};

pub const PRAXIS: &str = "praxis.schmidt@test.kim.telematik";
pub const ARZT: &str = "zahnarzt.weber@test.kim.telematik";
/// In the directory (an HBA), but without a mailbox at the Fachdienst.
pub const HBA: &str = "alice.schmidt@test.kim.telematik";
pub const PASSWORD: &str = "Sehr-geheim-1";

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

fn account(address: &str, password_hash: &str) -> Account {
    Account::registered(address, "V-100", "1-2.58.00000040", password_hash, 0)
}

pub struct Chain {
    pub dir: tempfile::TempDir,
    pub konnektor: Option<kim_ti_sim::RunningSim>,
    pub vzd: Option<kim_vzd_sim::RunningVzd>,
    pub fd: Option<kim_fachdienst::server::Running>,
    /// The Fachdienst's state (accounts, storage), e.g. for a KAS router.
    pub fd_state: Fachdienst,
    pub cm: Option<Running>,
    pub konnektor_client: Arc<KonnektorClient>,
    pub vzd_client: Arc<kim_vzd::VzdClient>,
}

impl Chain {
    /// Everything running; the Clientmodul with `adjust` applied to its configuration.
    pub async fn start(adjust: impl FnOnce(&mut SendConfig)) -> Chain {
        let dir = tempfile::tempdir().unwrap();
        let mut sim_config = kim_ti_sim::SimConfig::from_test_pki(pki()).unwrap();
        sim_config.listen = "127.0.0.1:0".parse().unwrap();
        let konnektor = kim_ti_sim::KonnektorSim::start(sim_config).await.unwrap();
        let vzd = kim_vzd_sim::VzdSim::start(kim_vzd_sim::VzdSimConfig {
            data_dir: dir.path().join("vzd"),
            ..kim_vzd_sim::VzdSimConfig::default()
        })
        .await
        .unwrap();
        let (fd, fd_state) = start_fachdienst(&dir).await;
        let base = konnektor
            .sds_url()
            .trim_end_matches("/connector.sds")
            .to_string();
        let konnektor_client =
            Arc::new(KonnektorClient::new(KonnektorConfig::new(base, trust())).unwrap());
        let vzd_client = Arc::new(
            kim_vzd::VzdClient::new(kim_vzd::VzdClientConfig::new(&format!(
                "ldap://{}",
                vzd.ldap_addr.unwrap()
            )))
            .unwrap(),
        );
        let mut chain = Chain {
            dir,
            konnektor: Some(konnektor),
            vzd: Some(vzd),
            fd: Some(fd),
            fd_state,
            cm: None,
            konnektor_client,
            vzd_client,
        };
        chain.cm = Some(chain.start_cm(adjust).await);
        chain
    }

    /// A (further) Clientmodul on the same Konnektor, VZD and Fachdienst.
    pub async fn start_cm(&self, adjust: impl FnOnce(&mut SendConfig)) -> Running {
        self.start_cm_with(adjust, None).await
    }

    /// A (further) Clientmodul with a KAS uploader.
    pub async fn start_cm_with(
        &self,
        adjust: impl FnOnce(&mut SendConfig),
        kas: Option<Arc<dyn kim_clientmodul::send::KasUpload>>,
    ) -> Running {
        let mut config = SendConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            "cm.praxis.test",
            fachdienst_tls(),
        );
        adjust(&mut config);
        kim_clientmodul::start(
            config,
            kim_clientmodul::Konnektors::single(self.konnektor_client.clone()),
            self.vzd_client.clone(),
            kas,
        )
        .await
        .unwrap()
    }

    pub fn cm_port(&self) -> u16 {
        self.cm.as_ref().unwrap().smtp_addr.port()
    }

    /// The SMTP user name of `address` at this Clientmodul.
    pub fn user(&self, address: &str) -> String {
        format!(
            "{address}#localhost:{}#Mandant1#ClientID1#Workplace1",
            self.fd.as_ref().unwrap().smtp_addr.port()
        )
    }

    /// Runs a Python script with `cm_port`, `pop3_port`, `password` and `ctx()` (TLS
    /// context with the Clientmodul's client certificate for the Fachdienst) defined;
    /// returns stdout, panics with stderr on failure.
    pub async fn python(&self, script: &str) -> String {
        let (ca, cert, key) = self.pki_files();
        let prelude = format!(
            "import smtplib, poplib, ssl, sys, base64\n\
             cm_port = {}\npop3_port = {}\npassword = {PASSWORD:?}\n\
             def ctx():\n    c = ssl.create_default_context(cafile={ca:?})\n    \
             c.load_cert_chain({cert:?}, {key:?})\n    return c\n\
             def fetch(user):\n    p = poplib.POP3_SSL('localhost', pop3_port, context=ctx())\n    \
             p.user(user); p.pass_(password)\n    n = len(p.list()[1])\n    \
             msgs = [b'\\r\\n'.join(p.retr(i + 1)[1]) for i in range(n)]\n    \
             for i in range(n): p.dele(i + 1)\n    p.quit()\n    return msgs\n",
            self.cm_port(),
            self.fd.as_ref().unwrap().pop3_addr.port(),
        );
        let program = format!("{prelude}{script}");
        tokio::task::spawn_blocking(move || kim_testkit::peers::python(&program))
            .await
            .unwrap()
    }

    /// The messages in `address`'s mailbox at the Fachdienst (deleted there), base64 lines.
    pub async fn fetch(&self, address: &str) -> Vec<Vec<u8>> {
        let out = self
            .python(&format!(
                "for m in fetch({address:?}): print(base64.b64encode(m).decode())\n"
            ))
            .await;
        use base64::Engine as _;
        out.lines()
            .map(|l| base64::engine::general_purpose::STANDARD.decode(l).unwrap())
            .collect()
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

    pub async fn stop(mut self) {
        if let Some(cm) = self.cm.take() {
            cm.shutdown().await;
        }
        if let Some(fd) = self.fd.take() {
            fd.shutdown().await;
        }
        if let Some(vzd) = self.vzd.take() {
            vzd.shutdown().await;
        }
        if let Some(k) = self.konnektor.take() {
            k.shutdown().await;
        }
    }
}

async fn start_fachdienst(
    dir: &tempfile::TempDir,
) -> (kim_fachdienst::server::Running, Fachdienst) {
    start_fachdienst_as(dir, identity("fachdienst")).await
}

/// A Fachdienst with the accounts of the chain, serving `issued` as its TLS certificate.
pub async fn start_fachdienst_as(
    dir: &tempfile::TempDir,
    issued: Identity,
) -> (kim_fachdienst::server::Running, Fachdienst) {
    start_provider(
        dir,
        Provider {
            domain: "test.kim.telematik",
            accounts: &[PRAXIS, ARZT],
            routes: &[],
        },
        issued,
    )
    .await
}

/// One KIM provider's Fachdienst.
pub struct Provider<'a> {
    pub domain: &'a str,
    /// Mailboxes (password [`PASSWORD`]).
    pub accounts: &'a [&'a str],
    /// Relay routes `(domain pattern, host:port)` to other providers' inbound ports.
    pub routes: &'a [(&'a str, String)],
}

/// A Fachdienst for `provider` serving `issued`, with an inbound port for other
/// providers' relays (`Running::inbound_addr`).
pub async fn start_provider(
    dir: &tempfile::TempDir,
    provider: Provider<'_>,
    issued: Identity,
) -> (kim_fachdienst::server::Running, Fachdienst) {
    let meta = SqliteStore::open(&dir.path().join("fd.sqlite")).unwrap();
    let blobs = FileBlobStore::open(dir.path().join("blobs"), true)
        .await
        .unwrap();
    let hash = kim_store::password::hash(PASSWORD).unwrap();
    meta.create_contract(&Contract::new(
        "V-100",
        &hash,
        vec![provider.domain.into()],
        5,
        0,
    ))
    .await
    .unwrap();
    for a in provider.accounts {
        meta.create_account(&account(a, &hash)).await.unwrap();
    }
    let mut fd = Fachdienst::new(
        Arc::new(meta),
        Arc::new(blobs),
        Policy::new(
            format!("fd.{}", provider.domain),
            vec![provider.domain.into()],
        ),
    );
    if !provider.routes.is_empty() {
        // The test PKI has no C.FD.TLS-C profile; the Clientmodul's certificate
        // (clientAuth) stands in for the relaying Fachdienst's.
        let relay_tls = kim_tls::client_config(kim_tls::ClientOptions {
            trust: trust(),
            identity: Some(identity("clientmodul")),
            danger_accept_any_hostname: false,
        })
        .unwrap();
        let mut routes = kim_fachdienst::routes::Routes::new(relay_tls);
        for (pattern, target) in provider.routes {
            routes.add(pattern, &[target.as_str()]).unwrap();
        }
        fd = fd.with_routes(routes);
    }
    let tls = kim_tls::server_config(&issued, ClientAuth::Required(trust())).unwrap();
    let running = start(
        fd.clone(),
        Listeners {
            smtp: "127.0.0.1:0".parse().unwrap(),
            pop3: "127.0.0.1:0".parse().unwrap(),
            tls: tls.clone(),
            inbound: Some(kim_fachdienst::server::Inbound {
                addr: "127.0.0.1:0".parse().unwrap(),
                tls,
            }),
        },
    )
    .await
    .unwrap();
    (running, fd)
}

/// `mail` signed by the Praxis and encrypted for the Zahnarztpraxis and the Praxis with
/// the test PKI's software keys (the send side refuses Client-Mails with a KAS part).
pub fn seal_soft(mail: &[u8]) -> Vec<u8> {
    let alg = kim_testkit::pki::KeyAlgorithm::Rsa2048;
    let praxis = pki().card("1-2.58.00000040").unwrap();
    let weber = pki().card("2-2.58.00000041").unwrap();
    let cert = |der: &[u8]| kim_message::cms::CertInfo::parse(der).unwrap();
    let signing = praxis.signing(alg);
    let signer = kim_message::cms::soft::SoftwareSigner::new(
        kim_message::cms::soft::SoftwareKey::from_pkcs8_der(&signing.private_key_pkcs8_der)
            .unwrap(),
        cert(&signing.certificate_der),
    )
    .unwrap();
    let recipients = [
        kim_message::seal::RecipientCert {
            address: ARZT.into(),
            cert: cert(&weber.enc(alg).certificate_der),
        },
        kim_message::seal::RecipientCert {
            address: PRAXIS.into(),
            cert: cert(&praxis.enc(alg).certificate_der),
        },
    ];
    kim_message::seal::seal(
        mail,
        &signer,
        &recipients,
        &kim_message::seal::SealOptions::default(),
        &mut getrandom::SysRng,
    )
    .unwrap()
    .message
}

/// The Clientmodul's mutual TLS towards the test Fachdienst.
/// A Fachdienst server identity from a second test PKI whose CAs the Konnektor does not
/// know, and that PKI's CA bundle (PEM), so that a Clientmodul may trust it while
/// VerifyCertificate says INVALID.
pub async fn stranger_fachdienst() -> (Identity, String) {
    use kim_testkit::pki::{PkiSpec, TlsProfile, TlsSpec};
    let stranger = tokio::task::spawn_blocking(|| {
        let mut spec = PkiSpec::from_u64_seed(0x5EED_FDCE);
        spec.tls = vec![TlsSpec::localhost(
            "fachdienst",
            TlsProfile::FachdienstServer,
            "fachdienst.other.kim.telematik",
        )];
        TestPki::generate(&spec).unwrap()
    })
    .await
    .unwrap();
    let issued = &stranger.tls_entity("fachdienst").unwrap().issued;
    let mut chain_der = vec![issued.certificate_der.clone()];
    chain_der.extend(issued.chain_der.iter().cloned());
    let identity = Identity::from_der(chain_der, issued.private_key_pkcs8_der.to_vec()).unwrap();
    (identity, stranger.ca_bundle_pem().unwrap())
}

pub fn fachdienst_tls() -> FachdienstTls {
    FachdienstTls {
        identity: identity("clientmodul"),
        trust: trust(),
        danger_accept_any_hostname: false,
    }
}

/// Software stand-ins for the receiver's Konnektor: the ENC keys (RSA and ECC) of the test
/// PKI's card `telematik_id`, and a signature check trusting every CA of the test PKI.
pub fn software_receiver(
    telematik_id: &str,
) -> (
    kim_message::open::software::SoftwareDecryptor,
    kim_message::open::software::LocalSignatureCheck,
) {
    use kim_message::cms::CertInfo;
    use kim_testkit::pki::KeyAlgorithm;
    let card = pki().card(telematik_id).unwrap();
    let keys = [KeyAlgorithm::Rsa2048, KeyAlgorithm::BrainpoolP256r1]
        .into_iter()
        .map(|alg| {
            let issued = card.enc(alg);
            (
                kim_message::cms::soft::SoftwareKey::from_pkcs8_der(&issued.private_key_pkcs8_der)
                    .unwrap(),
                CertInfo::parse(&issued.certificate_der).unwrap(),
            )
        })
        .collect();
    let trust = pki()
        .cas()
        .iter()
        .map(|c| CertInfo::parse(&c.certificate_der).unwrap())
        .collect();
    (
        kim_message::open::software::SoftwareDecryptor { keys },
        kim_message::open::software::LocalSignatureCheck { trust },
    )
}
