//! Receive-side error paths end to end through the real KAS (`HttpKas` against the
//! Fachdienst's KAS router) and the POP3 proxy: a KAS blob altered on disk (E5, 4007), a
//! KIM-Attachment whose hash does not match the stored data (E5, 4012), two
//! KIM-Attachments in one message (A_19369-02), and recipient-emails changed in the
//! unprotected attributes of a sealed message (ID 09, E6). The send side uploads with a
//! lowered KAS threshold so that the mails stay small.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use kim_clientmodul::send::{KasInput, KasUpload};
use kim_clientmodul::{ReceiveConfig, RunningPop3};
use kim_message::kas::{KimAttachment, find_attachments, replace_body_with_attachment};

use crate::harness::{ARZT, Chain, PASSWORD, PRAXIS, seal_soft};
use crate::kas_env::{KasCheck, KasServer, allow_large_messages, http_kas, start_kas};
use crate::receive::pop3_user;

/// Client-Mails above this size go through the KAS in these tests.
const THRESHOLD: u64 = 64 * 1024;

struct KasChain {
    chain: Chain,
    kas: KasServer,
    recv: RunningPop3,
}

impl KasChain {
    /// The chain with the KAS, a send side that uploads above [`THRESHOLD`] and a POP3
    /// proxy that downloads; Praxis and Zahnarztpraxis have `1.5+`.
    async fn start() -> KasChain {
        let mut chain = Chain::start(|_| {}).await;
        let kas = start_kas(chain.fd_state.clone()).await;
        allow_large_messages(&chain, &[PRAXIS, ARZT]);
        let (upload, download) = http_kas(&kas.base_url, true).into_seams();
        let cm = chain
            .start_cm_with(|c| c.kas_threshold = THRESHOLD, Some(upload))
            .await;
        chain.cm.replace(cm).unwrap().shutdown().await;
        let config = ReceiveConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            "cm.praxis.test",
            crate::harness::fachdienst_tls(),
        );
        let recv = kim_clientmodul::start_pop3(
            config,
            kim_clientmodul::Konnektors::single(chain.konnektor_client.clone()),
            chain.vzd_client.clone(),
            Some(download),
        )
        .await
        .unwrap();
        KasChain { chain, kas, recv }
    }

    /// Every message of ARZT through the proxy (RETR, not deleted).
    async fn retr_all(&self) -> Vec<String> {
        let out = self
            .chain
            .python(&format!(
                "p = poplib.POP3('127.0.0.1', {})\np.user({:?}); p.pass_(password)\n\
                 for i in range(len(p.list()[1])):\n    \
                 print(base64.b64encode(b'\\r\\n'.join(p.retr(i + 1)[1])).decode())\np.quit()\n",
                self.recv.pop3_addr.port(),
                pop3_user(&self.chain, ARZT)
            ))
            .await;
        out.lines()
            .map(|l| String::from_utf8(STANDARD.decode(l).unwrap()).unwrap())
            .collect()
    }

    /// Puts `raw` into ARZT's mailbox over the Fachdienst's SMTPS (as PRAXIS).
    async fn deposit(&self, raw: &[u8]) {
        self.chain
            .python(&format!(
                "s = smtplib.SMTP_SSL('localhost', {}, context=ctx())\ns.login({PRAXIS:?}, password)\n\
                 s.sendmail({PRAXIS:?}, [{ARZT:?}], base64.b64decode({:?}))\ns.quit()\n",
                self.chain.fd.as_ref().unwrap().smtp_addr.port(),
                STANDARD.encode(raw)
            ))
            .await;
    }

    async fn stop(self) {
        self.recv.shutdown().await;
        drop(self.kas);
        self.chain.stop().await;
    }
}

/// A Client-Mail of about `lines` × 80 bytes.
fn client_mail(id: &str, lines: usize) -> Vec<u8> {
    let mut mail = format!(
        "From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nSubject: Befund {id}\r\n\
         Date: Fri, 04 Dec 2026 10:00:00 +0100\r\nMessage-ID: <{id}@praxis.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    .into_bytes();
    for i in 0..lines {
        mail.extend_from_slice(format!("Zeile {i:06} {}\r\n", "x".repeat(66)).as_bytes());
    }
    mail
}

fn header(message: &str) -> &str {
    message.split("\r\n\r\n").next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kas_mail_is_restored_through_the_proxy_and_an_altered_blob_gives_4007() {
    let env = KasChain::start().await;
    let user = env.chain.user(PRAXIS);
    let path = env.chain.dir.path().join("kas.eml");
    std::fs::write(&path, client_mail("kas", 3000)).unwrap();
    let out = env
        .chain
        .python(&format!(
            "s = smtplib.SMTP('127.0.0.1', cm_port)\ns.login({user:?}, password)\n\
             print(s.sendmail({PRAXIS:?}, [{ARZT:?}], open({path:?}, 'rb').read()))\ns.quit()\n"
        ))
        .await;
    assert_eq!(out.trim(), "{}", "{out}");

    let restored = env.retr_all().await;
    assert_eq!(restored.len(), 1);
    let head = header(&restored[0]);
    assert!(head.contains("X-KIM-DecryptionResult: 00"), "{head}");
    assert!(head.contains("X-KIM-IntegrityCheckResult: 01"), "{head}");
    assert!(head.contains("Subject: Befund kas"), "{head}");
    // The text part carries the Vermerk now and is quoted-printable.
    let unfolded = restored[0].replace("=\r\n", "");
    assert!(unfolded.contains(&format!("\r\nZeile 002999 {}\r\n", "x".repeat(66))));
    assert!(
        unfolded.contains("Die Nachricht wurde entschl=C3=BCsselt."),
        "{unfolded}"
    );
    assert!(!restored[0].contains("x-kas"), "not restored: {head}");

    // A_19371-04: the stored object no longer decrypts → E5 with 4007.
    crate::kas_env::tamper_largest_blob(&env.chain.dir.path().join("blobs"), 1000);
    let replaced = env.retr_all().await;
    let head = header(&replaced[0]);
    assert!(head.contains("X-KIM-Fehlermeldung: 4007"), "{head}");
    assert!(head.contains("Subject: Befund kas"), "{head}");
    assert!(
        replaced[0].ends_with("\r\n\r\nAbgerufene E-Mail-Daten konnten nicht entschlüsselt werden"),
        "{}",
        replaced[0]
    );
    assert!(!replaced[0].contains("Zeile 0"), "{}", replaced[0]);
    env.stop().await;
}

/// Uploads `mail` for ARZT with the Clientmodul's KAS client; returns its attachment.
async fn upload(env: &KasChain, mail: &[u8]) -> KimAttachment {
    let split = mail.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let (header, body) = mail.split_at(split);
    let mut file = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut file, body).unwrap();
    std::io::Seek::rewind(&mut file).unwrap();
    let recipients = [ARZT.to_string()];
    let check = KasCheck::new(&env.chain);
    let uploaded = http_kas(&env.kas.base_url, true)
        .upload(KasInput {
            sender: PRAXIS,
            password: PASSWORD,
            recipients: &recipients,
            message_id: "<hash@praxis.test>",
            header,
            body: file,
            body_len: body.len() as u64,
            server_check: &check.gate(),
        })
        .await
        .unwrap();
    find_attachments(&uploaded.mail).unwrap().remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_mismatch_gives_4012_and_two_attachments_the_ambiguity_text() {
    let env = KasChain::start().await;
    let mail = client_mail("hash", 100);
    let mut wrong = upload(&env, &mail).await;
    // The stored data decrypts, but the sender's hash names other data.
    wrong.hash = STANDARD.encode([7u8; 32]);
    let hash_mail = replace_body_with_attachment(&mail, &wrong).unwrap();
    env.deposit(&seal_soft(&hash_mail)).await;

    let two = upload(&env, &client_mail("two", 100)).await;
    let json = String::from_utf8(two.to_json()).unwrap();
    let part = format!(
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: x-kas\r\n\r\n{json}\r\n"
    );
    let ambiguous = format!(
        "From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nSubject: Befund two\r\n\
         Date: Fri, 04 Dec 2026 10:00:00 +0100\r\nMessage-ID: <two@praxis.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n{part}{part}--b--\r\n"
    );
    env.deposit(&seal_soft(ambiguous.as_bytes())).await;

    let got = env.retr_all().await;
    assert_eq!(got.len(), 2);
    // A_19372-03: security text variant 2 and 4012.
    let head = header(&got[0]);
    assert!(head.contains("X-KIM-Fehlermeldung: 4012"), "{head}");
    assert!(head.contains("Subject: Befund hash"), "{head}");
    assert!(
        got[0].contains(
            "Beim Empfang dieser KIM-Nachricht wurde eine Sicherheitsverletzung erkannt."
        ),
        "{}",
        got[0]
    );
    assert!(
        got[0].contains(
            "Bitte antworten Sie nicht auf diese Nachricht. Sie können diese Nachricht löschen."
        ),
        "{}",
        got[0]
    );
    assert!(!got[0].contains("Zeile 0"), "{}", got[0]);
    // A_19369-02: no error code is defined for the ambiguous structure.
    let head = header(&got[1]);
    assert!(head.contains("Subject: Befund two"), "{head}");
    assert!(!head.contains("X-KIM-Fehlermeldung"), "{head}");
    assert!(
        got[1].ends_with(
            "\r\n\r\nNachricht konnte aufgrund uneindeutiger Informationen nicht abgerufen werden"
        ),
        "{}",
        got[1]
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipient_emails_changed_outside_the_signature_give_id_09() {
    let env = KasChain::start().await;
    let user = env.chain.user(PRAXIS);
    let out = env
        .chain
        .python(&format!(
            "s = smtplib.SMTP('127.0.0.1', cm_port)\ns.login({user:?}, password)\n\
             print(s.sendmail({PRAXIS:?}, [{ARZT:?}], base64.b64decode({:?})))\ns.quit()\n",
            STANDARD.encode(client_mail("id09", 5))
        ))
        .await;
    assert_eq!(out.trim(), "{}", "{out}");
    let sealed = env.chain.fetch(ARZT).await.remove(0);
    let text = String::from_utf8(sealed).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut der = STANDARD.decode(body.replace("\r\n", "")).unwrap();
    // The sender's entry of the unprotected recipient-emails now names another mailbox
    // (the signed attribute inside the encrypted content cannot be seen or changed).
    let from = PRAXIS.as_bytes();
    let at = der
        .windows(from.len())
        .rposition(|w| w == from)
        .expect("sender in the unprotected attributes");
    der[at + 13] = b'X';
    let encoded = STANDARD.encode(&der);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let tampered = format!("{head}\r\n\r\n{}\r\n", lines.join("\r\n"));
    env.deposit(tampered.as_bytes()).await;

    let got = env.retr_all().await;
    assert_eq!(got.len(), 1);
    let head = header(&got[0]);
    assert!(head.contains("X-KIM-DecryptionResult: 00"), "{head}");
    assert!(head.contains("X-KIM-IntegrityCheckResult: 09"), "{head}");
    assert!(
        got[0].contains(
            "Beim Empfang dieser KIM-Nachricht wurde eine Sicherheitsverletzung erkannt."
        ),
        "{}",
        got[0]
    );
    assert!(got[0].contains("[ID 09]"), "{}", got[0]);
    env.stop().await;
}
