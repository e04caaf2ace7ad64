//! The receive side: messages sealed by the send side (or placed into the mailbox over the
//! Fachdienst's SMTPS directly) fetched through the Clientmodul's POP3 proxy with python
//! poplib and curl; every error path created for real at the software Konnektor.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::sync::Arc;

use kim_clientmodul::{Konnektors, ReceiveConfig, RunningPop3};
use kim_konnektor::client::{KonnektorClient, KonnektorConfig};
use kim_ti_sim::knobs::{Knob, Operation};

use crate::harness::{ARZT, Chain, PASSWORD, PRAXIS, identity, trust};

/// ICCSN of the Zahnarztpraxis Weber's SMC-B in the test PKI.
fn weber_iccsn() -> String {
    crate::harness::pki()
        .card("2-2.58.00000041")
        .unwrap()
        .spec
        .iccsn
        .clone()
}

/// The POP3 proxy on the chain's Konnektor, VZD and Fachdienst.
pub async fn start_recv(chain: &Chain, adjust: impl FnOnce(&mut ReceiveConfig)) -> RunningPop3 {
    start_recv_with(chain, chain.konnektor_client.clone(), adjust).await
}

/// The POP3 proxy with its own Konnektor client.
pub async fn start_recv_with(
    chain: &Chain,
    konnektor: Arc<KonnektorClient>,
    adjust: impl FnOnce(&mut ReceiveConfig),
) -> RunningPop3 {
    let mut config = ReceiveConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        "cm.praxis.test",
        crate::harness::fachdienst_tls(),
    );
    adjust(&mut config);
    kim_clientmodul::start_pop3(
        config,
        Konnektors::single(konnektor),
        chain.vzd_client.clone(),
        None,
    )
    .await
    .unwrap()
}

/// The POP3 user name of `address` at the proxy.
pub fn pop3_user(chain: &Chain, address: &str) -> String {
    format!(
        "{address}#localhost:{}#Mandant1#ClientID1#Workplace1",
        chain.fd.as_ref().unwrap().pop3_addr.port()
    )
}

/// Runs `script` with `recv_port`, `user` (ARZT's POP3 user name) and `b64(x)` defined.
async fn py(chain: &Chain, recv: &RunningPop3, script: &str) -> String {
    let prelude = format!(
        "recv_port = {}\nuser = {:?}\nfd_smtp_port = {}\nctx_ca = {:?}\n\
         def b64(x): return base64.b64encode(x).decode()\n\
         import time\n\
         def proxy():\n    for _ in range(100):\n        \
         p = poplib.POP3('127.0.0.1', recv_port)\n        p.user(user)\n        \
         try:\n            p.pass_(password); return p\n        \
         except poplib.error_proto as e:\n            \
         if b'IN-USE' not in e.args[0]: raise\n            p.quit(); time.sleep(0.05)\n    \
         raise Exception('mailbox stays locked')\n",
        recv.pop3_addr.port(),
        pop3_user(chain, ARZT),
        chain.fd.as_ref().unwrap().smtp_addr.port(),
        chain.dir.path().join("ca.pem"),
    );
    chain.python(&format!("{prelude}{script}")).await
}

fn decode_lines(out: &str) -> Vec<Vec<u8>> {
    out.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| STANDARD.decode(l).unwrap())
        .collect()
}

/// Every message through the proxy (RETR), without deleting.
async fn retr_all(chain: &Chain, recv: &RunningPop3) -> Vec<Vec<u8>> {
    let out = py(
        chain,
        recv,
        "p = proxy()\nn = len(p.list()[1])\n\
         for i in range(n): print(b64(b'\\r\\n'.join(p.retr(i + 1)[1])))\np.quit()\n",
    )
    .await;
    decode_lines(&out)
}

/// Puts `raw` into ARZT's mailbox over the Fachdienst's SMTPS (as PRAXIS).
async fn deposit(chain: &Chain, recv: &RunningPop3, raw: &[u8]) {
    py(
        chain,
        recv,
        &format!(
            "s = smtplib.SMTP_SSL('localhost', fd_smtp_port, context=ctx())\n\
             s.login({PRAXIS:?}, password)\n\
             s.sendmail({PRAXIS:?}, [{ARZT:?}], base64.b64decode({:?}))\ns.quit()\n",
            STANDARD.encode(raw)
        ),
    )
    .await;
}

/// Sends `mail` from PRAXIS to ARZT through the send side and returns the KOM-LE message
/// as the Fachdienst stored it (taken out of the mailbox).
async fn seal(chain: &Chain, recv: &RunningPop3, mail: &[u8]) -> Vec<u8> {
    let user = chain.user(PRAXIS);
    py(
        chain,
        recv,
        &format!(
            "s = smtplib.SMTP('127.0.0.1', cm_port)\ns.login({user:?}, password)\n\
             r = s.sendmail({PRAXIS:?}, [{ARZT:?}], base64.b64decode({:?}))\n\
             assert r == {{}}, r\ns.quit()\n",
            STANDARD.encode(mail)
        ),
    )
    .await;
    let mut stored = chain.fetch(ARZT).await;
    assert_eq!(stored.len(), 1);
    stored.pop().unwrap()
}

fn client_mail(id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Praxis Schmidt <{PRAXIS}>\r\nTo: <{ARZT}>\r\nSubject: Befund {id}\r\n\
         Date: Thu, 03 Dec 2026 10:00:00 +0100\r\nMessage-ID: <{id}@praxis.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn text(message: &[u8]) -> String {
    String::from_utf8_lossy(message).into_owned()
}

fn header(message: &[u8]) -> String {
    text(message).split("\r\n\r\n").next().unwrap().to_string()
}

fn replace(message: &[u8], from: &str, to: &str) -> Vec<u8> {
    let t = text(message);
    assert!(t.contains(from), "{from:?} not in the message");
    t.replacen(from, to, 1).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_mail_is_delivered_decrypted_with_results_and_vermerke() {
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |_| {}).await;
    let sealed = seal(
        &chain,
        &recv,
        &client_mail("b1", "Grüße, anbei der Befund."),
    )
    .await;
    deposit(&chain, &recv, &sealed).await;
    let got = retr_all(&chain, &recv).await;
    assert_eq!(got.len(), 1);
    let head = header(&got[0]);
    for field in [
        "X-KIM-DecryptionResult: 00",
        "X-KIM-IntegrityCheckResult: 01",
        "Subject: Befund b1",
        "Message-ID: <b1@praxis.test>",
    ] {
        assert!(head.contains(field), "{field} missing in\n{head}");
    }
    assert!(!head.contains("X-KOM-LE-Version"), "{head}");
    let body = text(&got[0]);
    assert!(body.contains("Grüße, anbei der Befund."), "{body}");
    assert!(
        body.contains("Die Nachricht wurde entschlüsselt."),
        "{body}"
    );
    assert!(
        body.contains("Die Signatur wurde erfolgreich geprüft."),
        "{body}"
    );
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_with_html_and_a_binary_attachment_keeps_the_parts_byte_exact() {
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |_| {}).await;
    let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let attachment = STANDARD
        .encode(&binary)
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n");
    let mail = format!(
        "From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nSubject: Anhang\r\n\
         Date: Thu, 03 Dec 2026 10:00:00 +0100\r\nMessage-ID: <mp@praxis.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n\
         --XYZ\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         <html><body><p>Befund für Herrn Müller</p></body></html>\r\n\
         --XYZ\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"bild.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--XYZ--\r\n"
    );
    let sealed = seal(&chain, &recv, mail.as_bytes()).await;
    deposit(&chain, &recv, &sealed).await;
    let got = retr_all(&chain, &recv).await;
    let body = text(&got[0]);
    assert!(body.contains("X-KIM-IntegrityCheckResult: 01"), "{body}");
    let part = format!(
        "Content-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"bild.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--XYZ--"
    );
    assert!(body.contains(&part), "attachment part changed:\n{body}");
    assert!(body.contains("Befund für Herrn Müller"), "{body}");
    assert!(
        body.contains("<p>Die Nachricht wurde entschl&#252;sselt.<br>"),
        "{body}"
    );
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_that_is_not_kom_le_passes_unchanged_and_top_is_forwarded_as_top_0() {
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |_| {}).await;
    deposit(
        &chain,
        &recv,
        &client_mail("plain", "Unverschlüsselt.\r\n.Punkt"),
    )
    .await;
    let out = py(
        &chain,
        &recv,
        "p = proxy()\nprint('#top'); print(b64(b'\\r\\n'.join(p.top(1, 5)[1])))\n\
         print(b64(b'\\r\\n'.join(p.retr(1)[1])))\np.quit()\n",
    )
    .await;
    let got = decode_lines(&out);
    let (top, retr) = (text(&got[0]), &got[1]);
    assert!(top.contains("Subject: Befund plain"), "{top}");
    assert!(
        !top.contains("Unverschlüsselt"),
        "TOP leaked body lines: {top}"
    );
    assert!(!top.contains("MIME-Version"), "{top}");
    let direct = chain.fetch(ARZT).await;
    assert_eq!(&direct[0], retr, "pass-through changed the message");
    assert!(text(retr).contains("\r\n.Punkt"), "dot-stuffing broken");
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_version_garbage_cms_and_a_tampered_header_become_error_mails() {
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |_| {}).await;
    let sealed = seal(&chain, &recv, &client_mail("e", "Inhalt.")).await;
    let version = replace(&sealed, "X-KOM-LE-Version: 1.0", "X-KOM-LE-Version: 9.0");
    let body_start = text(&sealed).find("\r\n\r\n").unwrap() + 4;
    let mut garbage = sealed[..body_start].to_vec();
    garbage.extend_from_slice(STANDARD.encode([0x30u8, 0x80, 1, 2, 3, 4, 5]).as_bytes());
    garbage.extend_from_slice(b"\r\n");
    let tampered = replace(
        &sealed,
        &format!("To: <{ARZT}>"),
        &format!("To: <{ARZT}>, <mallory@test.kim.telematik>"),
    );
    for m in [&version, &garbage, &tampered] {
        deposit(&chain, &recv, m).await;
    }
    let got = retr_all(&chain, &recv).await;
    assert_eq!(got.len(), 3);
    let e1 = text(&got[0]);
    assert!(e1.contains("X-KIM-Fehlermeldung: 4008"), "{e1}");
    assert!(e1.contains("KIM-Version 9.0 nicht"), "{e1}");
    assert!(
        e1.contains("X-KOM-LE-Version: 9.0"),
        "original attached: {e1}"
    );
    let e2 = header(&got[1]);
    assert!(e2.contains("X-KIM-DecryptionResult: 02"), "{e2}");
    let e6 = text(&got[2]);
    assert!(e6.contains("X-KIM-DecryptionResult: 00"), "{e6}");
    assert!(e6.contains("X-KIM-IntegrityCheckResult: 08"), "{e6}");
    assert!(e6.contains("Sicherheitsverletzung"), "{e6}");
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_card_gives_01() {
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |c| {
        c.ttl_email_iccsn = std::time::Duration::ZERO;
    })
    .await;
    let sealed = seal(&chain, &recv, &client_mail("k", "Inhalt.")).await;
    deposit(&chain, &recv, &sealed).await;
    let sim = chain.konnektor.as_ref().unwrap();
    sim.konnektor().cards.remove(&weber_iccsn()).unwrap();
    let got = retr_all(&chain, &recv).await;
    let e2 = text(&got[0]);
    assert!(e2.contains("X-KIM-DecryptionResult: 01"), "{e2}");
    assert!(
        e2.contains("Der für die Entschlüsselung der Nachricht benötigte"),
        "{e2}"
    );
    assert!(
        e2.contains("X-KOM-LE-Version: 1.0"),
        "original attached: {e2}"
    );
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_konnektor_gives_03() {
    let mut chain = Chain::start(|_| {}).await;
    // One login while the Konnektor runs: the Fachdienst's certificate is then cached as
    // VALID (A_22348) and later logins need no Konnektor.
    let check = Arc::new(kim_clientmodul::fd_cert::FachdienstCertCheck::default());
    let shared = check.clone();
    let probe = start_recv(&chain, |c| c.fachdienst_cert_check = shared).await;
    assert!(retr_all(&chain, &probe).await.is_empty());
    let sealed = seal(&chain, &probe, &client_mail("down", "Inhalt.")).await;
    deposit(&chain, &probe, &sealed).await;
    probe.shutdown().await;
    let sim = chain.konnektor.take().unwrap();
    let base = sim.sds_url().trim_end_matches("/connector.sds").to_string();
    sim.shutdown().await;
    // A client that has no kept-alive connection to the stopped Konnektor.
    let fresh = Arc::new(KonnektorClient::new(KonnektorConfig::new(base, trust())).unwrap());
    let recv = start_recv_with(&chain, fresh, |c| c.fachdienst_cert_check = check).await;
    let got = retr_all(&chain, &recv).await;
    let e2 = text(&got[0]);
    assert!(e2.contains("X-KIM-DecryptionResult: 03"), "{e2}");
    assert!(e2.contains("weil der Konnektor nicht antwortet"), "{e2}");
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_konnektor_gives_03_after_konnektor_timeout() {
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |c| {
        c.konnektor_timeout = std::time::Duration::from_secs(2);
    })
    .await;
    let sealed = seal(&chain, &recv, &client_mail("stall", "Inhalt.")).await;
    deposit(&chain, &recv, &sealed).await;
    let stall = Knob {
        stall: true,
        ..Knob::default()
    };
    let sim = chain.konnektor.as_ref().unwrap();
    sim.knobs().set(Operation::DecryptDocument, stall);
    let got = retr_all(&chain, &recv).await;
    let e2 = header(&got[0]);
    assert!(e2.contains("X-KIM-DecryptionResult: 03"), "{e2}");
    sim.knobs().set(Operation::DecryptDocument, Knob::default());
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_message_between_two_good_ones_reaches_the_client_and_dele_waits_for_quit() {
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |_| {}).await;
    let first = seal(&chain, &recv, &client_mail("g1", "Erste.")).await;
    let second = seal(&chain, &recv, &client_mail("g2", "Zweite.")).await;
    let poison = replace(
        &first,
        "X-KOM-LE-Version: 1.0",
        "X-KOM-LE-Version: 1.0\r\nX-Poison: 1",
    );
    let body_start = text(&poison).find("\r\n\r\n").unwrap() + 4;
    let mut poison = poison[..body_start].to_vec();
    poison.extend_from_slice(b"!!! not base64 at all !!!\r\n");
    for m in [&first, &poison, &second] {
        deposit(&chain, &recv, m).await;
    }
    let out = py(
        &chain,
        &recv,
        "p = proxy()\nfor i in range(3):\n    print(b64(b'\\r\\n'.join(p.retr(i + 1)[1])))\n    \
         p.dele(i + 1)\np.file.close(); p.sock.close()\n\
         p = proxy()\nprint('#count', len(p.list()[1]))\n\
         for i in range(3): p.dele(i + 1)\np.quit()\n\
         p = proxy()\nprint('#after', len(p.list()[1]))\np.quit()\n",
    )
    .await;
    let got = decode_lines(&out);
    assert_eq!(got.len(), 3, "{out}");
    assert!(text(&got[0]).contains("Erste."));
    assert!(header(&got[1]).contains("X-KIM-DecryptionResult: 02"));
    assert!(text(&got[2]).contains("Zweite."));
    assert!(out.contains("#count 3"), "deleted without QUIT: {out}");
    assert!(out.contains("#after 0"), "not deleted after QUIT: {out}");
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_refusals_name_the_problem_and_capa_lists_the_table() {
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |_| {}).await;
    let out = py(
        &chain,
        &recv,
        &format!(
            "p = poplib.POP3('127.0.0.1', recv_port)\nprint(p.getwelcome().decode())\n\
             print(sorted(p.capa().keys()))\n\
             for u in ['{ARZT}#localhost:1#Mandant1##Workplace1', '{ARZT}#x', user]:\n    \
             try:\n        p.user(u); p.pass_('wrong' if u == user else password); print('OK?')\n    \
             except poplib.error_proto as e: print(e)\n\
             auth = base64.b64encode(b'\\0' + user.encode() + b'\\0' + password.encode()).decode()\n\
             print(p._shortcmd('AUTH PLAIN ' + auth).decode())\nprint(p.stat())\np.quit()\n"
        ),
    )
    .await;
    assert!(out.contains("+OK KOM-LE Clientmodul POP3"), "{out}");
    assert!(out.contains("['SASL', 'TOP', 'UIDL', 'USER']"), "{out}");
    assert!(out.contains("field 3 (ClientSystemId): empty"), "{out}");
    assert!(out.contains("too few fields"), "{out}");
    assert!(out.contains("-ERR [AUTH]"), "{out}");
    assert!(!out.contains("OK?"), "{out}");
    assert!(out.contains("+OK logged in"), "{out}");
    assert!(out.contains("(0, 0)"), "{out}");
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_retrieves_a_decrypted_mail() {
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |_| {}).await;
    let sealed = seal(&chain, &recv, &client_mail("curl", "Per curl.")).await;
    deposit(&chain, &recv, &sealed).await;
    let url = format!("pop3://127.0.0.1:{}/1", recv.pop3_addr.port());
    // The user name contains ':' (host:port), which `-u` would split at: use a netrc file.
    let netrc = chain.dir.path().join("netrc");
    std::fs::write(
        &netrc,
        format!(
            "machine 127.0.0.1 login {} password {PASSWORD}\n",
            pop3_user(&chain, ARZT)
        ),
    )
    .unwrap();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-sS", "--max-time", "60", "--netrc-file"])
            .arg(&netrc)
            .arg(&url)
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("curl does not run ({e}); apt-get install -y curl"));
    let out = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(out.contains("X-KIM-DecryptionResult: 00"), "{out}");
    assert!(out.contains("Per curl."), "{out}");
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetchmail_retrieves_and_deletes_over_the_tls_proxy() {
    use std::os::unix::fs::PermissionsExt;
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |c| {
        c.proxy_tls = kim_clientmodul::ProxyTls::Tls {
            identity: identity("fachdienst"),
        };
    })
    .await;
    let plain = start_recv(&chain, |_| {}).await;
    let sealed = seal(&chain, &plain, &client_mail("fm", "Per fetchmail.")).await;
    deposit(&chain, &plain, &sealed).await;
    deposit(&chain, &plain, &client_mail("fm2", "Nicht verschlüsselt.")).await;

    let home = chain.dir.path().join("fetchmail");
    std::fs::create_dir_all(&home).unwrap();
    let ca = home.join("ca.pem");
    std::fs::write(&ca, crate::harness::pki().ca_bundle_pem().unwrap()).unwrap();
    let rc = home.join("fetchmailrc");
    let poll = format!(
        "poll localhost protocol pop3 port {}\n  user \"{}\" password \"{PASSWORD}\"\n",
        recv.pop3_addr.port(),
        pop3_user(&chain, ARZT)
    );
    std::fs::write(&rc, poll).unwrap();
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mbox = home.join("mbox");
    let mda = format!("cat >> {}", mbox.display());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("fetchmail")
            .env("FETCHMAILHOME", &home)
            .arg("--fetchmailrc")
            .arg(&rc)
            .args(["--nodetach", "--ssl", "--sslcertck", "--sslcertfile"])
            .arg(&ca)
            // fetchmail fetches with `TOP n <many>` unless told to take all messages; the
            // proxy answers TOP with the header only (KOM-LE-A_2041), so RETR is forced.
            .args(["--all", "--auth", "password", "--mda", &mda])
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("fetchmail does not run ({e}); apt-get install -y fetchmail"));
    assert!(
        output.status.success(),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let delivered = std::fs::read_to_string(&mbox).unwrap();
    assert!(
        delivered.contains("X-KIM-DecryptionResult: 00"),
        "{delivered}"
    );
    assert!(delivered.contains("Per fetchmail."), "{delivered}");
    assert!(delivered.contains("Subject: Befund fm2"), "{delivered}");
    assert!(chain.fetch(ARZT).await.is_empty(), "not deleted upstream");
    recv.shutdown().await;
    plain.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inconclusive_certificate_status_is_delivered_with_07() {
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |_| {}).await;
    let sealed = seal(&chain, &recv, &client_mail("ocsp", "OCSP weg.")).await;
    deposit(&chain, &recv, &sealed).await;
    let sim = chain.konnektor.as_ref().unwrap();
    sim.konnektor().set_ocsp_unavailable(true);
    let got = retr_all(&chain, &recv).await;
    let body = text(&got[0]);
    assert!(body.contains("X-KIM-IntegrityCheckResult: 07"), "{body}");
    assert!(body.contains("OCSP weg."), "{body}");
    assert!(
        body.contains("Die Signatur wurde erfolgreich geprüft."),
        "{body}"
    );
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_client_certificate_admits_only_clients_with_a_certificate() {
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |c| {
        c.proxy_tls = kim_clientmodul::ProxyTls::TlsClientCertificate {
            identity: identity("fachdienst"),
            client_cas: trust(),
        };
    })
    .await;
    let out = py(
        &chain,
        &recv,
        "p = poplib.POP3_SSL('localhost', recv_port, context=ctx())\n\
         p.user(user); p.pass_(password); print('stat', p.stat()); p.quit()\n\
         bare = ssl.create_default_context(cafile=ctx_ca)\n\
         try:\n    p = poplib.POP3_SSL('localhost', recv_port, context=bare)\n    \
         p.user(user); p.pass_(password); print('admitted without certificate')\n\
         except (ssl.SSLError, OSError, poplib.error_proto) as e: print('refused')\n",
    )
    .await;
    assert!(out.contains("stat (0, 0)"), "{out}");
    assert!(out.contains("refused"), "{out}");
    assert!(!out.contains("admitted"), "{out}");
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_settings_are_refused_naming_the_key() {
    let chain = Chain::start(|_| {}).await;
    let mut config = ReceiveConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        "cm.praxis.test",
        crate::harness::fachdienst_tls(),
    );
    config.konnektor_timeout = std::time::Duration::ZERO;
    let err = kim_clientmodul::start_pop3(
        config,
        Konnektors::single(chain.konnektor_client.clone()),
        chain.vzd_client.clone(),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("clientmodul.core.konnektor.receive.timeout"),
        "{err}"
    );
    chain.stop().await;
}
