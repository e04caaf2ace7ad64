//! Successful sending: smtplib and swaks through the Clientmodul; the KOM-LE message at
//! the Fachdienst decrypts with the recipient's key and its signature verifies.

use kim_message::cms::CertInfo;
use kim_message::cms::soft::SoftwareKey;
use kim_message::open::software::{LocalSignatureCheck, SoftwareDecryptor};
use kim_message::open::{self, OpenContext, Opened};
use kim_testkit::pki::KeyAlgorithm;

use crate::harness::{ARZT, Chain, PRAXIS, pki};

const WEBER: &str = "2-2.58.00000041";

/// Opens a KOM-LE message as the Zahnarztpraxis Weber with its software keys.
fn open_as_weber(message: &[u8]) -> (Vec<u8>, Vec<String>) {
    let card = pki().card(WEBER).unwrap();
    let keys = [KeyAlgorithm::Rsa2048, KeyAlgorithm::BrainpoolP256r1]
        .into_iter()
        .map(|alg| {
            let issued = card.enc(alg);
            (
                SoftwareKey::from_pkcs8_der(&issued.private_key_pkcs8_der).unwrap(),
                CertInfo::parse(&issued.certificate_der).unwrap(),
            )
        })
        .collect();
    let trust = pki()
        .cas()
        .iter()
        .map(|c| CertInfo::parse(&c.certificate_der).unwrap())
        .collect();
    let ctx = OpenContext {
        receiver: ARZT,
        error_message_id: "<error@test>",
        date: "Thu, 03 Dec 2026 12:00:00 +0000",
    };
    let opened = open::open(
        message,
        &ctx,
        &SoftwareDecryptor { keys },
        &LocalSignatureCheck { trust },
    )
    .unwrap();
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
