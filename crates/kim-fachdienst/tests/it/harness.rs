use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use kim_fachdienst::server::{Listeners, Running, start};
use kim_fachdienst::{Fachdienst, Policy};
use kim_store::{Account, AccountStore, Contract, FileBlobStore, RegState, SqliteStore};
use kim_testkit::pki::TestPki;
use kim_tls::{ClientAuth, Identity, TrustAnchors};

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

fn tls() -> Arc<kim_tls::rustls::ServerConfig> {
    let issued = &pki().tls_entity("fachdienst").unwrap().issued;
    let mut chain = vec![issued.certificate_der.clone()];
    chain.extend(issued.chain_der.iter().cloned());
    let identity = Identity::from_der(chain, issued.private_key_pkcs8_der.to_vec()).unwrap();
    let trust = TrustAnchors::from_pem(pki().ca_bundle_pem().unwrap().as_bytes()).unwrap();
    kim_tls::server_config(&identity, ClientAuth::Required(trust)).unwrap()
}

pub fn account(address: &str, password_hash: &str) -> Account {
    Account {
        address: address.into(),
        reference_id: "V-100".into(),
        telematik_id: "1-2.58.00000040".into(),
        password_hash: password_hash.into(),
        kim_version: "1.5+".into(),
        data_time_to_live: 90,
        no_vzd_mail_entry: false,
        state: RegState::Registered,
        failed_logins: 0,
        locked: false,
        otp: None,
        out_of_office: None,
        quota: -1,
        created: 0,
    }
}

impl Env {
    /// A Fachdienst for `test.kim.telematik` with the accounts PRAXIS and ARZT.
    pub async fn start() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let meta = SqliteStore::open(&dir.path().join("fd.sqlite")).unwrap();
        let blobs = FileBlobStore::open(dir.path().join("blobs"), true)
            .await
            .unwrap();
        let hash = kim_store::password::hash(PASSWORD).unwrap();
        meta.create_contract(&Contract {
            reference_id: "V-100".into(),
            ini_password_hash: hash.clone(),
            domains: vec!["test.kim.telematik".into()],
            max_accounts: 5,
            locked: false,
            created: 0,
        })
        .await
        .unwrap();
        for a in [PRAXIS, ARZT] {
            meta.create_account(&account(a, &hash)).await.unwrap();
        }
        let fd = Fachdienst {
            meta: Arc::new(meta),
            blobs: Arc::new(blobs),
            policy: Arc::new(Policy::new(
                "fd.test.kim.telematik",
                vec!["test.kim.telematik".into()],
            )),
        };
        let running = start(
            fd.clone(),
            Listeners {
                smtp: "127.0.0.1:0".parse().unwrap(),
                pop3: "127.0.0.1:0".parse().unwrap(),
                tls: tls(),
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

    fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    /// Runs a Python script with `smtp_port`, `pop3_port`, `ca`, `cert`, `key` defined and a
    /// `ctx(with_cert=True)` helper; returns stdout, panics with stderr on failure.
    pub async fn python(&self, script: &str) -> String {
        let files = self.pki_files();
        let prelude = format!(
            "import smtplib, poplib, ssl, sys\n\
             smtp_port = {}\npop3_port = {}\n\
             def ctx(with_cert=True):\n    c = ssl.create_default_context(cafile={:?})\n    \
             if with_cert: c.load_cert_chain({:?}, {:?})\n    return c\n",
            self.running().smtp_addr.port(),
            self.running().pop3_addr.port(),
            files.0,
            files.1,
            files.2,
        );
        let program = format!("{prelude}{script}");
        let output = tokio::task::spawn_blocking(move || {
            Command::new("python3").arg("-c").arg(program).output()
        })
        .await
        .unwrap()
        .expect("python3 runs (apt-get install -y python3)");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "python failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
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
