//! `sandbox.json` for PVS developers' scripts, and the same settings as a setup guide for
//! Thunderbird (or any practice software speaking SMTP and POP3).

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::system::{HBA_TELEMATIK_ID, P12_PASSWORD, PRACTICES, Practice, System};

#[derive(Debug, Serialize)]
pub struct SandboxInfo {
    /// PEM with every CA of the sandbox PKI.
    pub ca_file: String,
    pub konnektor: KonnektorInfo,
    pub vzd: VzdInfo,
    pub fachdienst: FachdienstInfo,
    pub mailboxes: Vec<Mailbox>,
    /// The doctor's HBA (decryption with `user_id` in the user name).
    pub hba: Card,
    /// The Clientmodul's administration web UI (card login, registration, account
    /// administration).
    pub admin_ui_url: String,
    /// The Fachdienst's registration portal (its mails land in
    /// `fachdienst/portal-mails/*.eml`), if it runs.
    pub portal_url: Option<String>,
    /// Where `kim sandbox --serve` keeps its state.
    pub state_dir: String,
    /// Marks every key and password here as test material.
    pub test_only: bool,
}

#[derive(Debug, Serialize)]
pub struct KonnektorInfo {
    pub sds_url: String,
    pub client_p12: String,
    pub client_p12_password: String,
    pub contexts: Vec<KonnektorContext>,
}

#[derive(Debug, Serialize)]
pub struct KonnektorContext {
    pub mandant_id: String,
    pub client_system_id: String,
    pub workplace_id: String,
    pub user_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct VzdInfo {
    pub ldap_url: String,
    pub base_dn: String,
}

#[derive(Debug, Serialize)]
pub struct FachdienstInfo {
    pub smtp: String,
    pub pop3: String,
    pub account_manager_url: String,
    pub account_limit_url: String,
    pub service_information_url: String,
    pub kas_url: String,
    /// The Clientmodul's TLS client certificate (C.CM.TLS-CS) towards the Fachdienst.
    pub client_p12: String,
    pub client_p12_password: String,
    pub contract_reference_id: String,
    pub contract_initial_password: String,
}

#[derive(Debug, Serialize)]
pub struct Mailbox {
    pub address: String,
    pub password: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_user: String,
    pub pop3_host: String,
    pub pop3_port: u16,
    pub pop3_user: String,
    pub card: Card,
}

#[derive(Debug, Serialize)]
pub struct Card {
    #[serde(rename = "type")]
    pub card_type: String,
    pub telematik_id: String,
    pub iccsn: String,
    pub enc_p12: String,
    /// OSIG (SMC-B) or QES (HBA) key.
    pub osig_p12: String,
    pub aut_p12: String,
    pub p12_password: String,
}

impl SandboxInfo {
    pub fn collect(system: &System) -> anyhow::Result<SandboxInfo> {
        let pki = system.dir.join("pki");
        let path = |rel: &str| pki.join(rel).display().to_string();
        let cards = system.konnektor_cards();
        let card = |telematik_id: &str, signing: &str| -> anyhow::Result<Card> {
            let view = cards
                .iter()
                .find(|c| c.telematik_id == telematik_id)
                .with_context(|| format!("the Konnektor has no card {telematik_id}"))?;
            let file = |role: &str| path(&format!("cards/{telematik_id}/{role}-rsa.p12"));
            Ok(Card {
                card_type: view.kind.wire().to_string(),
                telematik_id: telematik_id.to_string(),
                iccsn: view.iccsn.clone(),
                enc_p12: file("enc"),
                osig_p12: file(signing),
                aut_p12: file("aut"),
                p12_password: P12_PASSWORD.into(),
            })
        };
        let https = system.https_base();
        let mut mailboxes = Vec::new();
        for p in &PRACTICES {
            mailboxes.push(mailbox(system, p, card(p.telematik_id, "osig")?));
        }
        Ok(SandboxInfo {
            ca_file: path("ca-bundle.pem"),
            konnektor: KonnektorInfo {
                sds_url: system.konnektor_sds_url().to_string(),
                client_p12: path("tls/clientmodul.p12"),
                client_p12_password: P12_PASSWORD.into(),
                contexts: PRACTICES
                    .iter()
                    .map(|p| KonnektorContext {
                        mandant_id: p.mandant.into(),
                        client_system_id: p.client_system.into(),
                        workplace_id: p.workplace.into(),
                        user_id: p.user_id.map(str::to_string),
                    })
                    .collect(),
            },
            vzd: VzdInfo {
                ldap_url: format!("ldap://127.0.0.1:{}", system.ports.ldap),
                base_dn: "dc=data,dc=vzd".into(),
            },
            fachdienst: FachdienstInfo {
                smtp: format!("localhost:{}", system.ports.fd_smtp),
                pop3: format!("localhost:{}", system.ports.fd_pop3),
                account_manager_url: format!("{https}{}", kim_account_manager::BASE_PATH),
                account_limit_url: format!("{https}{}", kim_kas::ACCOUNT_LIMIT_BASE_PATH),
                service_information_url: format!(
                    "{https}{}",
                    kim_kas::SERVICE_INFORMATION_BASE_PATH
                ),
                kas_url: format!("{https}{}", kim_kas::KAS_BASE_PATH),
                client_p12: path("tls/clientmodul.p12"),
                client_p12_password: P12_PASSWORD.into(),
                contract_reference_id: super::system::CONTRACT.into(),
                contract_initial_password: super::system::CONTRACT_PASSWORD.into(),
            },
            mailboxes,
            hba: card(HBA_TELEMATIK_ID, "qes")?,
            admin_ui_url: system.admin_ui_url(),
            portal_url: system.portal_url(),
            state_dir: system.dir.display().to_string(),
            test_only: true,
        })
    }

    /// Writes `dir/sandbox.json` (mode 0600: it holds passwords) via a temporary file.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let json = serde_json::to_vec_pretty(self)?;
        let tmp = dir.join("sandbox.json.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(&json)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        let path = dir.join("sandbox.json");
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// The practice-software settings as a step-by-step guide.
    pub fn guide(&self) -> String {
        let mut out = String::from(
            "Practice software setup (Thunderbird: Account Settings → Add Mail Account → \
             Configure manually)\n",
        );
        for m in &self.mailboxes {
            out.push_str(&format!(
                "\n  Mailbox {address}\n\
                 \x20   Incoming  POP3  server {ph}  port {pp}  connection security: none  \
                 authentication: normal password\n\
                 \x20             user name {pu}\n\
                 \x20   Outgoing  SMTP  server {sh}  port {sp}  connection security: none  \
                 authentication: normal password\n\
                 \x20             user name {su}\n\
                 \x20   Password  {pw}\n\
                 \x20   Card      {ct} {tid} (ICCSN {iccsn})\n",
                address = m.address,
                ph = m.pop3_host,
                pp = m.pop3_port,
                pu = m.pop3_user,
                sh = m.smtp_host,
                sp = m.smtp_port,
                su = m.smtp_user,
                pw = m.password,
                ct = m.card.card_type,
                tid = m.card.telematik_id,
                iccsn = m.card.iccsn,
            ));
        }
        out.push_str(&format!(
            "\n  Account administration (register further addresses with contract {} and \
             initial password {}, out-of-office, password, certificate): open {} in a browser \
             on this machine.\n",
            self.fachdienst.contract_reference_id,
            self.fachdienst.contract_initial_password,
            self.admin_ui_url
        ));
        out.push_str(
            "\n  The Clientmodul listens on 127.0.0.1 only, so the connection to it is not \
             encrypted; it signs and encrypts every mail before it leaves for the Fachdienst.\n  \
             In Thunderbird set \"Leave messages on server\" off: the Fachdienst keeps the \
             encrypted original until the client deletes it.\n",
        );
        out
    }
}

fn mailbox(system: &System, p: &Practice, card: Card) -> Mailbox {
    Mailbox {
        address: p.address.into(),
        password: p.password.into(),
        smtp_host: "127.0.0.1".into(),
        smtp_port: system.cm_smtp_addr().port(),
        smtp_user: system.smtp_user(p),
        pop3_host: "127.0.0.1".into(),
        pop3_port: system.cm_pop3_addr().port(),
        pop3_user: system.pop3_user(p),
        card,
    }
}
