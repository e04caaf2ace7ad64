//! Receiving KOM-LE messages with a KIM-Attachment (kim-spec §4.5): the receiver's own
//! directory version decides (E3, 4018); the E-Mail-Daten come from a `KasDownload`
//! (here a stand-in that hands out prepared results, as the KAS client is a separate
//! component) and are delivered with result headers and Vermerke, or become E4.

use std::collections::VecDeque;
use std::io::{Seek, Write};
use std::sync::{Arc, Mutex};

use kim_clientmodul::ReceiveConfig;
use kim_clientmodul::receive::kas::{DownloadFuture, DownloadedMail, KasDownload, KasFetchError};
use kim_message::kas::{KimAttachment, replace_body_with_attachment};
use kim_types::KimVersion;

use crate::harness::{ARZT, Chain, PRAXIS, pki};
use crate::receive::pop3_user;

/// Hands out prepared results in order and records who asked.
#[derive(Debug, Default)]
struct StandInKas {
    results: Mutex<VecDeque<Result<Vec<u8>, KasFetchError>>>,
    asked: Mutex<Vec<(String, String)>>,
}

impl KasDownload for StandInKas {
    fn download<'a>(
        &'a self,
        attachment: &'a KimAttachment,
        recipient: &'a str,
        _server_check: &'a dyn kim_clientmodul::fd_cert::ServerCheck,
    ) -> DownloadFuture<'a> {
        Box::pin(async move {
            self.asked
                .lock()
                .unwrap()
                .push((attachment.link.clone(), recipient.to_string()));
            let next = self.results.lock().unwrap().pop_front();
            let data = next.unwrap_or_else(|| Err(KasFetchError::Download("none left".into())))?;
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(&data).unwrap();
            file.rewind().unwrap();
            Ok(DownloadedMail {
                file,
                len: data.len() as u64,
            })
        })
    }
}

fn client_mail() -> Vec<u8> {
    format!(
        "From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nSubject: Grosser Befund\r\n\
         Date: Thu, 03 Dec 2026 10:00:00 +0100\r\nMessage-ID: <kas@praxis.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\nDer große Befund liegt bei.\r\n"
    )
    .into_bytes()
}

/// The Client-Mail in KAS form, sealed with the test PKI's software keys (the send side
/// refuses Client-Mails that already carry a KAS part).
fn sealed_kas_message() -> Vec<u8> {
    let attachment = KimAttachment {
        link: "https://kas.test/attachments/v2.4/attachment/abc".into(),
        k: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
        hash: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".into(),
        size: 42,
    };
    let mail = replace_body_with_attachment(&client_mail(), &attachment).unwrap();
    crate::harness::seal_soft(&mail)
}

/// Gives the Zahnarztpraxis Weber the directory version `1.5+` (large messages enabled).
fn enable_large_messages(chain: &Chain) {
    let mut seeds = kim_vzd_sim::seeds_from_test_pki(pki()).unwrap();
    let mut weber = seeds
        .drain(..)
        .find(|s| s.telematik_id.as_str() == "2-2.58.00000041")
        .unwrap();
    for (_, version) in &mut weber.addresses {
        *version = KimVersion::V1_5Plus;
    }
    chain.vzd.as_ref().unwrap().seed(weber).unwrap();
    chain.vzd_client.clear_cache();
}

async fn start(chain: &Chain, kas: Arc<StandInKas>) -> kim_clientmodul::RunningPop3 {
    let config = ReceiveConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        "cm.praxis.test",
        crate::harness::fachdienst_tls(),
    );
    kim_clientmodul::start_pop3(
        config,
        kim_clientmodul::Konnektors::single(chain.konnektor_client.clone()),
        chain.vzd_client.clone(),
        Some(kas),
    )
    .await
    .unwrap()
}

/// Deposits `raw` for ARZT at the Fachdienst and retrieves everything through the proxy.
async fn deposit_and_retrieve(
    chain: &Chain,
    recv: &kim_clientmodul::RunningPop3,
    raw: &[u8],
) -> Vec<String> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let script = format!(
        "s = smtplib.SMTP_SSL('localhost', {fd}, context=ctx())\ns.login({PRAXIS:?}, password)\n\
         s.sendmail({PRAXIS:?}, [{ARZT:?}], base64.b64decode({raw:?}))\ns.quit()\n\
         p = poplib.POP3('127.0.0.1', {port})\np.user({user:?}); p.pass_(password)\n\
         for i in range(len(p.list()[1])):\n    \
         print(base64.b64encode(b'\\r\\n'.join(p.retr(i + 1)[1])).decode())\n    p.dele(i + 1)\n\
         p.quit()\n",
        fd = chain.fd.as_ref().unwrap().smtp_addr.port(),
        raw = b64.encode(raw),
        port = recv.pop3_addr.port(),
        user = pop3_user(chain, ARZT),
    );
    chain
        .python(&script)
        .await
        .lines()
        .map(|l| String::from_utf8(b64.decode(l).unwrap()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kas_message_for_a_receiver_without_plus_version_becomes_e3() {
    let chain = Chain::start(|_| {}).await;
    let kas = Arc::new(StandInKas::default());
    let recv = start(&chain, kas.clone()).await;
    let got = deposit_and_retrieve(&chain, &recv, &sealed_kas_message()).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("X-KIM-Fehlermeldung: 4018"), "{}", got[0]);
    assert!(
        got[0].contains("X-KOM-LE-Version: 1.0"),
        "original attached"
    );
    assert!(kas.asked.lock().unwrap().is_empty(), "downloaded anyway");
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kas_message_is_restored_and_a_refused_download_becomes_e4() {
    let chain = Chain::start(|_| {}).await;
    enable_large_messages(&chain);
    let kas = Arc::new(StandInKas::default());
    kas.results
        .lock()
        .unwrap()
        .extend([Ok(client_mail()), Err(KasFetchError::TooManyRequests)]);
    let recv = start(&chain, kas.clone()).await;
    let sealed = sealed_kas_message();
    let restored = deposit_and_retrieve(&chain, &recv, &sealed).await;
    let refused = deposit_and_retrieve(&chain, &recv, &sealed).await;

    let restored = &restored[0];
    for expected in [
        "X-KIM-DecryptionResult: 00",
        "X-KIM-IntegrityCheckResult: 01",
        "Der große Befund liegt bei.",
        "Die Nachricht wurde entschlüsselt.",
    ] {
        assert!(
            restored.contains(expected),
            "{expected} missing in {restored}"
        );
    }
    assert!(!restored.contains("x-kas"), "{restored}");
    let asked = kas.asked.lock().unwrap().clone();
    assert_eq!(asked[0].1, ARZT);
    assert!(
        refused[0].contains("X-KIM-Fehlermeldung: 4013"),
        "{}",
        refused[0]
    );
    recv.shutdown().await;
    chain.stop().await;
}
