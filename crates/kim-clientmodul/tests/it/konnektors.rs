//! Several Konnektors behind one Clientmodul: two software Konnektors with the test cards
//! split between them, user names with and without KonnektorId (and UserId for the HBA),
//! python smtplib/poplib as the practice software.
//!
//! Konnektor A (default): the SMC-B of the Arztpraxis Schmidt and the HBA of Dr. Alice
//! Schmidt. Konnektor B (`KonnB`): the SMC-B of the Zahnarztpraxis Weber.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kim_clientmodul::{Konnektors, ReceiveConfig, Running, RunningPop3, SendConfig};
use kim_konnektor::client::{KonnektorClient, KonnektorConfig};
use kim_message::cms::CertInfo;
use kim_message::cms::signed::SignedData;
use kim_message::open::software::LocalSignatureCheck;
use kim_message::open::{self, OpenContext, Opened, SignatureCheck, SignatureOutcome};
use kim_store::{Account, AccountStore};
use kim_ti_sim::RunningSim;
use kim_ti_sim::model::CardKind;

use crate::harness::{ARZT, Chain, HBA, PASSWORD, PRAXIS, pki, trust};

const SCHMIDT: &str = "1-2.58.00000040";
const WEBER: &str = "2-2.58.00000041";
const ALICE: &str = "1-1.58.00000050";
const KONN_B: &str = "KonnB";

/// Two software Konnektors and one Clientmodul (SMTP and POP3) using both.
struct Two {
    chain: Chain,
    a: RunningSim,
    b: RunningSim,
    smtp: Running,
    pop3: RunningPop3,
}

impl Two {
    async fn start() -> Two {
        Two::start_with(&[]).await
    }

    /// Like [`Two::start`], the cards of `hsm_b` being HSM-Bs instead of SMC-Bs.
    async fn start_with(hsm_b: &[&str]) -> Two {
        let chain = Chain::start(|_| {}).await;
        let a = sim(&[SCHMIDT, ALICE], hsm_b).await;
        let b = sim(&[WEBER], hsm_b).await;
        let konnektors = Konnektors::single(client(&a))
            .with(kim_types::KonnektorId::parse(KONN_B).unwrap(), client(&b));
        let fd_tls = crate::harness::fachdienst_tls();
        let send = SendConfig::new("127.0.0.1:0".parse().unwrap(), "cm.test", fd_tls.clone());
        let smtp = kim_clientmodul::start(send, konnektors.clone(), chain.vzd_client.clone(), None)
            .await
            .unwrap();
        let receive = ReceiveConfig::new("127.0.0.1:0".parse().unwrap(), "cm.test", fd_tls);
        let pop3 = kim_clientmodul::start_pop3(receive, konnektors, chain.vzd_client.clone(), None)
            .await
            .unwrap();
        Two {
            chain,
            a,
            b,
            smtp,
            pop3,
        }
    }

    /// SMTP user name of `address`, with `konnektor_id` if given.
    fn smtp_user(&self, address: &str, konnektor_id: Option<&str>) -> String {
        let base = self.chain.user(address);
        konnektor_id.map_or(base.clone(), |id| format!("{base}#{id}"))
    }

    /// POP3 user name of `address` with optional UserId and KonnektorId.
    fn pop3_user(
        &self,
        address: &str,
        user_id: Option<&str>,
        konnektor_id: Option<&str>,
    ) -> String {
        let port = self.chain.fd.as_ref().unwrap().pop3_addr.port();
        let mut name = format!("{address}#localhost:{port}#Mandant1#ClientID1#Workplace1");
        if user_id.is_some() || konnektor_id.is_some() {
            name = format!("{name}#{}", user_id.unwrap_or("*"));
        }
        if let Some(id) = konnektor_id {
            name = format!("{name}#{id}");
        }
        name
    }

    /// Sends a mail with `subject` through the Clientmodul; prints the outcome.
    async fn send(&self, user: &str, from: &str, to: &str, subject: &str) -> String {
        let mail = format!(
            "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\
             Date: Fri, 04 Dec 2026 10:00:00 +0100\r\nMessage-ID: <{}@praxis.test>\r\n\r\n\
             Inhalt {subject}.\r\n",
            subject.replace(' ', "-")
        );
        self.chain
            .python(&format!(
                "s = smtplib.SMTP('127.0.0.1', {port})\n\
                 try:\n    s.login({user:?}, password)\n\
                 except smtplib.SMTPAuthenticationError as e:\n    \
                 print('refused', e.smtp_code, e.smtp_error.decode()); sys.exit(0)\n\
                 print('refused:', s.sendmail({from:?}, [{to:?}], base64.b64decode({b64:?})))\n\
                 s.quit()\n",
                port = self.smtp.smtp_addr.port(),
                b64 = STANDARD.encode(mail),
            ))
            .await
    }

    /// Every message through the POP3 proxy for `user` (RETR, nothing deleted); `Err` with
    /// the proxy's answer when the login is refused.
    async fn retr_all(&self, user: &str) -> Result<Vec<String>, String> {
        let out = self
            .chain
            .python(&format!(
                "p = poplib.POP3('127.0.0.1', {port})\np.user({user:?})\n\
                 try:\n    p.pass_(password)\n\
                 except poplib.error_proto as e:\n    print('ERR', e.args[0].decode()); sys.exit(0)\n\
                 n = len(p.list()[1])\n\
                 for i in range(n): print(base64.b64encode(b'\\r\\n'.join(p.retr(i + 1)[1])).decode())\n\
                 p.quit()\n",
                port = self.pop3.pop3_addr.port(),
            ))
            .await;
        if let Some(err) = out.strip_prefix("ERR ") {
            return Err(err.trim().to_string());
        }
        Ok(out
            .lines()
            .map(|l| String::from_utf8_lossy(&STANDARD.decode(l).unwrap()).into_owned())
            .collect())
    }

    /// Sends a mail with `subject` from the Arztpraxis to the Zahnarztpraxis and checks
    /// that the Zahnarztpraxis's POP3 user at Konnektor B receives it decrypted and
    /// verified.
    async fn praxis_to_arzt_at_b(&self, subject: &str) {
        let out = self
            .send(&self.smtp_user(PRAXIS, None), PRAXIS, ARZT, subject)
            .await;
        assert!(out.contains("refused: {}"), "{out}");
        self.assert_delivered(&self.pop3_user(ARZT, None, Some(KONN_B)), subject)
            .await;
    }

    /// Checks that `pop3_user` receives one message, `subject`, decrypted and verified.
    async fn assert_delivered(&self, pop3_user: &str, subject: &str) {
        let got = self.retr_all(pop3_user).await.unwrap();
        assert_eq!(got.len(), 1);
        for field in [
            "X-KIM-DecryptionResult: 00",
            "X-KIM-IntegrityCheckResult: 01",
            &format!("Subject: {subject}"),
        ] {
            assert!(got[0].contains(field), "{field} missing in\n{}", got[0]);
        }
    }

    async fn stop(self) {
        self.smtp.shutdown().await;
        self.pop3.shutdown().await;
        self.a.shutdown().await;
        self.b.shutdown().await;
        self.chain.stop().await;
    }
}

/// A software Konnektor with only the cards of `telematik_ids`; those in `hsm_b` are
/// HSM-Bs (same keys, PIN verified from the start).
async fn sim(telematik_ids: &[&str], hsm_b: &[&str]) -> RunningSim {
    let mut config = kim_ti_sim::SimConfig::from_test_pki(pki()).unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config
        .cards
        .retain(|c| telematik_ids.contains(&c.telematik_id.as_str()));
    assert_eq!(config.cards.len(), telematik_ids.len());
    for card in &mut config.cards {
        if hsm_b.contains(&card.telematik_id.as_str()) {
            card.kind = CardKind::Hsmb;
            card.pins = kim_ti_sim::config::default_pins(CardKind::Hsmb);
        }
    }
    kim_ti_sim::KonnektorSim::start(config).await.unwrap()
}

fn client(sim: &RunningSim) -> Arc<KonnektorClient> {
    let base = sim.sds_url().trim_end_matches("/connector.sds").to_string();
    Arc::new(KonnektorClient::new(KonnektorConfig::new(base, trust())).unwrap())
}

/// Remembers the Telematik-ID of the signer certificate while checking locally.
struct SignerRecorder {
    check: LocalSignatureCheck,
    signer: Mutex<Option<String>>,
}

impl SignatureCheck for SignerRecorder {
    fn check(&self, signed: &SignedData, der: Vec<u8>) -> SignatureOutcome {
        let tid = signed
            .certificates
            .first()
            .and_then(|der| CertInfo::parse(der).ok())
            .and_then(|c| c.telematik_id());
        *self.signer.lock().unwrap() = tid;
        self.check.check(signed, der)
    }
}

/// Opens a KOM-LE message with the software keys of the card `receiver_tid`; returns the
/// subject line and the signer's Telematik-ID.
fn subject_and_signer(message: &[u8], receiver: &str, receiver_tid: &str) -> (String, String) {
    let (decryptor, check) = crate::harness::software_receiver(receiver_tid);
    let recorder = SignerRecorder {
        check,
        signer: Mutex::new(None),
    };
    let ctx = OpenContext {
        receiver,
        error_message_id: "<error@test>",
        date: "Fri, 04 Dec 2026 12:00:00 +0000",
    };
    let opened = open::open(message, &ctx, &decryptor, &recorder).unwrap();
    let Opened::Delivered {
        message, positive, ..
    } = opened
    else {
        panic!("not delivered: {opened:?}");
    };
    assert!(positive);
    let text = String::from_utf8_lossy(&message).into_owned();
    let subject = text
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap()
        .to_string();
    let signer = recorder.signer.lock().unwrap().clone().unwrap();
    (subject, signer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mail_is_signed_by_the_card_of_the_konnektor_its_user_name_selects() {
    let two = Two::start().await;
    let sent = [
        (two.smtp_user(PRAXIS, None), PRAXIS, ARZT, "A default"),
        // Before the next one: a card handle of B must not be used at A.
        (two.smtp_user(ARZT, Some(KONN_B)), ARZT, PRAXIS, "B Weber"),
        (two.smtp_user(ARZT, None), ARZT, PRAXIS, "A first SMC-B"),
    ];
    for (user, from, to, subject) in &sent {
        let out = two.send(user, from, to, subject).await;
        assert!(out.contains("refused: {}"), "{subject}: {out}");
    }
    let mut seen: Vec<(String, String)> = Vec::new();
    for m in two.chain.fetch(ARZT).await {
        seen.push(subject_and_signer(&m, ARZT, WEBER));
    }
    for m in two.chain.fetch(PRAXIS).await {
        seen.push(subject_and_signer(&m, PRAXIS, SCHMIDT));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("A default".to_string(), SCHMIDT.to_string()),
            ("A first SMC-B".to_string(), SCHMIDT.to_string()),
            ("B Weber".to_string(), WEBER.to_string()),
        ]
    );
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_konnektor_id_is_refused_at_auth_and_at_login() {
    let two = Two::start().await;
    let out = two
        .send(&two.smtp_user(PRAXIS, Some("KonnX")), PRAXIS, ARZT, "x")
        .await;
    assert!(out.starts_with("refused 501 5.5.4"), "{out}");
    assert!(out.contains("KonnX"), "{out}");
    let err = two
        .retr_all(&two.pop3_user(ARZT, None, Some("KonnX")))
        .await
        .unwrap_err();
    assert!(err.starts_with("-ERR"), "{err}");
    assert!(err.contains("KonnX"), "{err}");
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_decrypted_at_the_konnektor_the_pop3_user_name_selects() {
    let two = Two::start().await;
    // Weber's SMC-B is at B only.
    two.praxis_to_arzt_at_b("Befund").await;
    // A: the key is not there (E2 with result 01); the ICCSN cache of B is not consulted.
    let at_a = two
        .retr_all(&two.pop3_user(ARZT, None, None))
        .await
        .unwrap();
    assert_eq!(at_a.len(), 1);
    assert!(
        at_a[0].contains("X-KIM-DecryptionResult: 01"),
        "{}",
        at_a[0]
    );
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_user_id_the_hba_decrypts_and_without_it_the_key_is_not_available() {
    let two = Two::start().await;
    let store = kim_store::SqliteStore::open(&two.chain.dir.path().join("fd.sqlite")).unwrap();
    let hash = kim_store::password::hash(PASSWORD).unwrap();
    store
        .create_account(&Account::registered(HBA, "V-100", ALICE, &hash, 0))
        .await
        .unwrap();
    let out = two
        .send(&two.smtp_user(PRAXIS, None), PRAXIS, HBA, "An Dr Schmidt")
        .await;
    assert!(out.contains("refused: {}"), "{out}");

    two.assert_delivered(&two.pop3_user(HBA, Some("User1"), None), "An Dr Schmidt")
        .await;
    let without = two.retr_all(&two.pop3_user(HBA, None, None)).await.unwrap();
    assert!(
        without[0].contains("X-KIM-DecryptionResult: 01"),
        "{}",
        without[0]
    );
    // The HBA is at the default Konnektor, not at B.
    let at_b = two
        .retr_all(&two.pop3_user(HBA, Some("User1"), Some(KONN_B)))
        .await
        .unwrap();
    assert!(
        at_b[0].contains("X-KIM-DecryptionResult: 01"),
        "{}",
        at_b[0]
    );
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hsm_b_signs_and_decrypts_where_an_smc_b_would() {
    // Weber's institution identity is an HSM-B at Konnektor B.
    let two = Two::start_with(&[WEBER]).await;
    let out = two
        .send(&two.smtp_user(ARZT, Some(KONN_B)), ARZT, PRAXIS, "Vom HSM")
        .await;
    assert!(out.contains("refused: {}"), "{out}");
    let sent = two.chain.fetch(PRAXIS).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        subject_and_signer(&sent[0], PRAXIS, SCHMIDT),
        ("Vom HSM".to_string(), WEBER.to_string())
    );

    two.praxis_to_arzt_at_b("An das HSM").await;
    two.stop().await;
}
