//! Two providers: the Praxis has a second mailbox at provider A (`other.kim.telematik`,
//! with its own KAS), the Zahnarztpraxis's mailbox is at provider B (the chain's
//! Fachdienst). A large mail goes through A's KAS and A's MTA, which relays it to B's
//! inbound port; the Zahnarztpraxis's Clientmodul fetches it from B and downloads the mail
//! data from A's KAS, not from its own provider's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kim_clientmodul::ReceiveConfig;
use kim_types::{KimAddress, KimVersion};

use crate::harness::{ARZT, Chain, PRAXIS, Provider, identity, pki, start_provider};
use crate::kas_env::{allow_large_messages, blob_files, http_kas, start_kas};

/// The Praxis's mailbox at provider A (same SMC-B, a second address in its directory entry).
const SENDER: &str = "praxis.schmidt@other.kim.telematik";
/// Mails above this go through the KAS (small, to keep the test fast).
const THRESHOLD: u64 = 64 * 1024;

/// Adds [`SENDER`] with `1.5+` to the Praxis's directory entry.
fn add_sender_address(chain: &Chain) {
    let mut seed = kim_vzd_sim::seeds_from_test_pki(pki())
        .unwrap()
        .into_iter()
        .find(|s| s.telematik_id.as_str() == "1-2.58.00000040")
        .unwrap();
    for (_, version) in &mut seed.addresses {
        *version = KimVersion::V1_5Plus;
    }
    seed.addresses
        .push((KimAddress::parse(SENDER).unwrap(), KimVersion::V1_5Plus));
    chain.vzd.as_ref().unwrap().seed(seed).unwrap();
    chain.vzd_client.clear_cache();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_mail_from_another_provider_is_downloaded_from_that_providers_kas() {
    let chain = Chain::start(|_| {}).await;
    allow_large_messages(&chain, &[PRAXIS, ARZT]);
    add_sender_address(&chain);
    let inbound_b = chain.fd.as_ref().unwrap().inbound_addr.unwrap().port();
    let dir_a = tempfile::tempdir().unwrap();
    let routes = [("test.kim.telematik", format!("localhost:{inbound_b}"))];
    let (fd_a, state_a) = start_provider(
        &dir_a,
        Provider {
            domain: "other.kim.telematik",
            accounts: &[SENDER],
            routes: &routes,
        },
        identity("fachdienst"),
    )
    .await;
    let kas_a = start_kas(state_a).await;
    let kas_b = start_kas(chain.fd_state.clone()).await;

    // The Praxis sends from its mailbox at A, through A's KAS.
    let (upload, _) = http_kas(&kas_a.base_url, true).into_seams();
    let cm = chain
        .start_cm_with(|c| c.kas_threshold = THRESHOLD, Some(upload))
        .await;
    let mut mail = format!(
        "From: <{SENDER}>\r\nTo: <{ARZT}>\r\nSubject: Befund von A\r\n\
         Date: Fri, 04 Dec 2026 10:00:00 +0100\r\nMessage-ID: <a-1@praxis.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    );
    for i in 0..2000 {
        mail.push_str(&format!("Zeile {i:06} {}\r\n", "y".repeat(66)));
    }
    let user = format!(
        "{SENDER}#localhost:{}#Mandant1#ClientID1#Workplace1",
        fd_a.smtp_addr.port()
    );
    let path = chain.dir.path().join("from-a.eml");
    std::fs::write(&path, &mail).unwrap();
    let out = chain
        .python(&format!(
            "s = smtplib.SMTP('127.0.0.1', {})\ns.login({user:?}, password)\n\
             print(s.sendmail({SENDER:?}, [{ARZT:?}], open({path:?}, 'rb').read()))\ns.quit()\n",
            cm.smtp_addr.port(),
        ))
        .await;
    assert_eq!(out.trim(), "{}", "{out}");
    let stored_at_a = blob_files(&dir_a.path().join("blobs"));
    assert!(
        stored_at_a.iter().any(|(len, _)| *len > 2000 * 80),
        "the mail data is not at A's KAS: {stored_at_a:?}"
    );

    // A's MTA relays the small KOM-LE message to B.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while chain.fd_state.meta.mailbox(ARZT).await.unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no relay from A to B"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The Zahnarztpraxis's Clientmodul belongs to B (its own KAS is B's) and restores the
    // mail from the link to A's KAS.
    let (_, download) = http_kas(&kas_b.base_url, true).into_seams();
    let recv = kim_clientmodul::start_pop3(
        ReceiveConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            "cm.zahnarzt.test",
            crate::harness::fachdienst_tls(),
        ),
        kim_clientmodul::Konnektors::single(chain.konnektor_client.clone()),
        chain.vzd_client.clone(),
        Some(download),
    )
    .await
    .unwrap();
    let pop3_user = format!(
        "{ARZT}#localhost:{}#Mandant1#ClientID1#Workplace1",
        chain.fd.as_ref().unwrap().pop3_addr.port()
    );
    let out = chain
        .python(&format!(
            "p = poplib.POP3('127.0.0.1', {})\np.user({pop3_user:?}); p.pass_(password)\n\
             for i in range(len(p.list()[1])):\n    \
             print(base64.b64encode(b'\\r\\n'.join(p.retr(i + 1)[1])).decode())\np.quit()\n",
            recv.pop3_addr.port(),
        ))
        .await;
    let delivered: Vec<String> = out
        .lines()
        .map(|l| String::from_utf8(STANDARD.decode(l).unwrap()).unwrap())
        .collect();
    assert_eq!(delivered.len(), 1);
    let head = delivered[0].split("\r\n\r\n").next().unwrap();
    for field in [
        "X-KIM-DecryptionResult: 00",
        "X-KIM-IntegrityCheckResult: 01",
        "Subject: Befund von A",
    ] {
        assert!(head.contains(field), "{field} missing in\n{head}");
    }
    let unfolded = delivered[0].replace("=\r\n", "");
    assert!(
        unfolded.contains(&format!("\r\nZeile 001999 {}\r\n", "y".repeat(66))),
        "not restored: {head}"
    );
    assert!(!delivered[0].contains("x-kas"), "not restored: {head}");

    recv.shutdown().await;
    cm.shutdown().await;
    fd_a.shutdown().await;
    drop((kas_a, kas_b));
    chain.stop().await;
}
