//! Successful sending: smtplib and swaks through the Clientmodul; the KOM-LE message at
//! the Fachdienst decrypts with the recipient's key and its signature verifies.

use kim_message::open::{self, OpenContext, Opened};

use crate::harness::{ARZT, Chain, PRAXIS};

const WEBER: &str = "2-2.58.00000041";

/// Opens a KOM-LE message as the Zahnarztpraxis Weber with its software keys.
pub fn open_as_weber(message: &[u8]) -> (Vec<u8>, Vec<String>) {
    let (decryptor, check) = crate::harness::software_receiver(WEBER);
    let ctx = OpenContext {
        receiver: ARZT,
        error_message_id: "<error@test>",
        date: "Thu, 03 Dec 2026 12:00:00 +0000",
    };
    let opened = open::open(message, &ctx, &decryptor, &check).unwrap();
    match opened {
        Opened::Delivered {
            message,
            integrity_ids,
            positive,
        } => {
            assert!(positive, "integrity {integrity_ids:?}");
            (message, integrity_ids)
        }
        other => panic!("not delivered: {other:?}"),
    }
}

fn header_block(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    text.split("\r\n\r\n").next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtplib_mail_reaches_the_fachdienst_sealed_and_opens_with_a_valid_signature() {
    let chain = Chain::start(|_| {}).await;
    let user = chain.user(PRAXIS);
    let out = chain
        .python(&format!(
            r#"
msg = (b"From: Praxis Schmidt <{PRAXIS}>\r\nTo: <{ARZT}>\r\nSubject: Befund\r\n"
       b"Date: Thu, 03 Dec 2026 10:00:00 +0100\r\nMessage-ID: <befund-1@praxis.test>\r\n"
       b"X-KIM-Sendersystem: TestPVS;1.0\r\n\r\nGuten Tag, anbei der Befund.\r\n")
s = smtplib.SMTP('127.0.0.1', cm_port)
code, ehlo = s.ehlo('pvs.praxis.test')
print(ehlo.decode())
s.login({user:?}, password)
print('refused:', s.sendmail({PRAXIS:?}, [{ARZT:?}], msg))
s.quit()
"#
        ))
        .await;
    for keyword in [
        "SIZE 734003200",
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        "DSN",
        "AUTH LOGIN PLAIN",
    ] {
        assert!(out.contains(keyword), "{keyword} missing in {out}");
    }
    assert!(out.contains("refused: {}"), "{out}");

    let messages = chain.fetch(ARZT).await;
    assert_eq!(messages.len(), 1, "one message for the recipient");
    let outer = &messages[0];
    let header = header_block(outer);
    for field in [
        "Subject: KOM-LE-Nachricht",
        "X-KOM-LE-Version: 1.0",
        "From: Praxis Schmidt <praxis.schmidt@test.kim.telematik>",
        "To: <zahnarzt.weber@test.kim.telematik>",
        "Date: Thu, 03 Dec 2026 10:00:00 +0100",
        "Message-ID: <befund-1@praxis.test>",
        "X-KIM-Dienstkennung: KIM-Mail;Default;V1.0",
        "X-KIM-Sendersystem: TestPVS;1.0",
        "X-KIM-CMVersion: KIMRS_0.1.0",
        "X-KIM-PTVersion: 1.5.2-3",
        "Expires: ",
        "Content-Transfer-Encoding: base64",
        "smime-type=authenticated-enveloped-data",
    ] {
        assert!(header.contains(field), "{field} missing in\n{header}");
    }
    assert!(!header.contains("Subject: Befund"), "{header}");

    let (delivered, ids) = open_as_weber(outer);
    let text = String::from_utf8_lossy(&delivered);
    assert!(text.contains("Guten Tag, anbei der Befund."), "{text}");
    assert!(text.contains("Subject: Befund"), "{text}");
    assert!(!ids.is_empty());
    // No DSN for the sender: every recipient was reached.
    assert!(chain.fetch(PRAXIS).await.is_empty());
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaks_sends_through_the_clientmodul() {
    let chain = Chain::start(|_| {}).await;
    let port = chain.cm_port().to_string();
    let user = chain.user(PRAXIS);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("swaks")
            .args(["--server", "127.0.0.1", "--port", &port])
            .args(["--auth", "LOGIN", "--auth-user", &user])
            .args(["--auth-password", crate::harness::PASSWORD])
            .args(["--from", PRAXIS, "--to", ARZT])
            .args(["--header", "Subject: Laborwerte"])
            .args(["--body", "Die Laborwerte sind unauffaellig."])
            .output()
    })
    .await
    .unwrap()
    .expect("swaks runs (apt-get install -y swaks)");
    let transcript = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{transcript}");
    assert!(transcript.contains("<-  235 2.7.0"), "{transcript}");
    assert!(
        transcript.contains("<-  220 cm.praxis.test ESMTP"),
        "{transcript}"
    );

    let messages = chain.fetch(ARZT).await;
    assert_eq!(messages.len(), 1);
    assert!(header_block(&messages[0]).contains("X-KOM-LE-Version: 1.0"));
    let (delivered, _) = open_as_weber(&messages[0]);
    let text = String::from_utf8_lossy(&delivered);
    assert!(text.contains("Die Laborwerte sind unauffaellig."), "{text}");
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kom_le_message_forwarded_to_oneself_is_resubmitted_unchanged() {
    forwarded_to_oneself(r#"b"Original.\r\n""#, false).await;
}

/// The same with a KOM-LE message above the KAS threshold (a mail of 14 MiB sealed whole):
/// the forward is re-submitted, not moved to the KAS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kom_le_message_above_the_kas_threshold_forwarded_to_oneself_is_resubmitted() {
    forwarded_to_oneself(r#"b"Befundzeile 0123456789 abcdefghij\r\n" * 420000"#, true).await;
}

/// Sends a mail with the body of the Python expression `body` from PRAXIS to ARZT, has
/// ARZT forward the KOM-LE message to himself as message/rfc822 (KOM-LE-A_2029) and checks
/// that exactly it is re-submitted; `large`: the forward is above the KAS threshold.
async fn forwarded_to_oneself(body: &str, large: bool) {
    let chain = Chain::start(|_| {}).await;
    let praxis = chain.user(PRAXIS);
    chain
        .python(&format!(
            r#"
s = smtplib.SMTP('127.0.0.1', cm_port)
s.login({praxis:?}, password)
s.sendmail({PRAXIS:?}, [{ARZT:?}], b"From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nMessage-ID: <orig@praxis.test>\r\n\r\n" + {body})
s.quit()
"#
        ))
        .await;
    let original = chain.fetch(ARZT).await.remove(0);
    assert_eq!(
        original.len() as u64 > kim_clientmodul::KAS_THRESHOLD,
        large,
        "{} bytes",
        original.len()
    );
    let original_body = String::from_utf8_lossy(&original)
        .split_once("\r\n\r\n")
        .unwrap()
        .1
        .to_string();

    // KOM-LE-A_2029: the recipient forwards the KOM-LE message to himself as message/rfc822.
    let arzt = chain.user(ARZT);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("original.eml");
    std::fs::write(&path, &original).unwrap();
    chain
        .python(&format!(
            r#"
inner = open({path:?}, 'rb').read()
fwd = (b"From: <{ARZT}>\r\nTo: <{ARZT}>\r\nSubject: Fwd\r\nMessage-ID: <fwd@weber.test>\r\n"
       b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n"
       b"Content-Type: text/plain\r\n\r\nBitte erneut verarbeiten.\r\n--b1\r\n"
       b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b1--\r\n")
s = smtplib.SMTP('127.0.0.1', cm_port)
s.login({arzt:?}, password)
print(s.sendmail({ARZT:?}, [{ARZT:?}], fwd))
s.quit()
"#
        ))
        .await;
    let resubmitted = chain.fetch(ARZT).await;
    assert_eq!(resubmitted.len(), 1);
    let text = String::from_utf8_lossy(&resubmitted[0]);
    let (header, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(header.contains("X-KOM-LE-Version: 1.0"), "{header}");
    assert!(header.contains(&format!("From: {ARZT}")), "{header}");
    assert!(
        !header.contains("Subject: Fwd"),
        "the wrapper is discarded: {header}"
    );
    assert_eq!(body, original_body, "the encrypted body is unchanged");
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_with_tls_and_client_certificate() {
    let chain = Chain::start(|_| {}).await;
    let tls = chain
        .start_cm(|c| {
            c.proxy_tls = kim_clientmodul::ProxyTls::TlsClientCertificate {
                identity: crate::harness::identity("clientmodul"),
                client_cas: crate::harness::trust(),
            };
        })
        .await;
    let port = tls.smtp_addr.port();
    let user = chain.user(PRAXIS);
    let out = chain
        .python(&format!(
            r#"
s = smtplib.SMTP_SSL('localhost', {port}, context=ctx())
s.login({user:?}, password)
print('OK', s.sendmail({PRAXIS:?}, [{ARZT:?}], b"From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nMessage-ID: <tls@praxis.test>\r\n\r\nUeber TLS.\r\n"))
s.quit()
try:
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    smtplib.SMTP_SSL('localhost', {port}, context=c).ehlo()
    print('NOCERT accepted')
except Exception as e:
    print('NOCERT refused', type(e).__name__)
"#
        ))
        .await;
    assert!(out.contains("OK {}"), "{out}");
    assert!(out.contains("NOCERT refused"), "{out}");
    let messages = chain.fetch(ARZT).await;
    assert_eq!(messages.len(), 1);
    let (delivered, _) = open_as_weber(&messages[0]);
    assert!(String::from_utf8_lossy(&delivered).contains("Ueber TLS."));
    tls.shutdown().await;
    chain.stop().await;
}

/// A mail between the spool's memory limit (4 MiB) and the KAS threshold (15 MiB) lies in
/// the spool file but is sealed whole: no KAS (none is configured here) and version 1.0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spooled_mail_below_the_kas_threshold_is_sealed_whole() {
    let chain = Chain::start(|_| {}).await;
    let user = chain.user(PRAXIS);
    let out = chain
        .python(&format!(
            r#"
body = b"Zeile mit Befunddaten 0123456789 abcdefghijklmnopqrstuvwxyz\r\n" * 100000
msg = (b"From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nSubject: Sechs MiB\r\n"
       b"Date: Thu, 03 Dec 2026 10:00:00 +0100\r\nMessage-ID: <gross-1@praxis.test>\r\n\r\n" + body)
assert 4 * 1024 * 1024 < len(msg) < 15 * 1024 * 1024, len(msg)
s = smtplib.SMTP('127.0.0.1', cm_port)
s.login({user:?}, password)
print('refused:', s.sendmail({PRAXIS:?}, [{ARZT:?}], msg))
s.quit()
"#
        ))
        .await;
    assert!(out.contains("refused: {}"), "{out}");
    let messages = chain.fetch(ARZT).await;
    assert_eq!(messages.len(), 1);
    let header = header_block(&messages[0]);
    assert!(header.contains("X-KOM-LE-Version: 1.0"), "{header}");
    assert!(!header.contains("X-KIM-KAS-Size"), "{header}");
    let (delivered, _) = open_as_weber(&messages[0]);
    assert!(delivered.len() > 6_000_000, "{}", delivered.len());
    chain.stop().await;
}
