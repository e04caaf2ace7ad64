//! Large mails through the KAS: smtplib sends 20 MiB through the Clientmodul, the
//! KOM-LE message at the Fachdienst carries the KIM-Attachment, and the Clientmodul's
//! download restores the exact bytes; the refusals of A_19363-03, A_22419-01 and
//! A_19356-06; the download failures of A_19370-04 … A_19372-03.

use std::io::Read;

use base64::Engine as _;
use kim_clientmodul::receive::kas::{KasDownload, KasFetchError};
use kim_clientmodul::send::{KasInput, KasUpload};
use kim_message::kas::KimAttachment;

use crate::harness::{ARZT, Chain, HBA, PASSWORD, PRAXIS};
use crate::kas_env::{KasCheck, http_kas, kas_chain, serve_https, set_quota, start_kas};
use crate::send::open_as_weber;

/// 20 MiB of 80-byte CRLF lines.
const LINES: usize = 262_144;

/// Sends a 20 MiB mail from the Praxis to `to` with smtplib; the mail is written to
/// `path` first. Prints `refused: {...}` or `error: <code> <text>`.
fn big_mail_script(path: &std::path::Path, user: &str, to: &[&str]) -> String {
    format!(
        r#"
body = b''.join(b'%07d ' % i + b'x' * 70 + b'\r\n' for i in range({LINES}))
msg = (b"From: Praxis Schmidt <{PRAXIS}>\r\nTo: {to_header}\r\nSubject: Grosser Befund\r\n"
       b"Date: Thu, 03 Dec 2026 10:00:00 +0100\r\nMessage-ID: <gross-1@praxis.test>\r\n\r\n" + body)
open({path:?}, 'wb').write(msg)
s = smtplib.SMTP('127.0.0.1', cm_port)
s.login({user:?}, password)
try:
    print('refused:', s.sendmail({PRAXIS:?}, {to:?}, msg))
except smtplib.SMTPResponseException as e:
    print('error:', e.smtp_code, e.smtp_error.decode())
try:
    s.quit()
except Exception:
    pass
"#,
        to_header = to
            .iter()
            .map(|a| format!("<{a}>"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

fn header_block(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    text.split("\r\n\r\n").next().unwrap().to_string()
}

/// The KIM-Attachment JSON in a delivered message (its text part also carries the
/// Vermerk and is quoted-printable there, so the JSON object is cut out and decoded).
fn attachment_in(delivered: &[u8]) -> KimAttachment {
    let text = String::from_utf8_lossy(delivered)
        .replace("=\r\n", "")
        .replace("=3D", "=");
    let start = text.find("{\"link\"").expect("no KIM-Attachment");
    let end = start + text[start..].find('}').unwrap() + 1;
    KimAttachment::parse_json(&text.as_bytes()[start..end]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mib_mail_goes_through_the_kas_and_downloads_to_the_exact_bytes() {
    let (chain, kas) = kas_chain(true).await;
    let sent = chain.dir.path().join("sent.eml");
    let out = chain
        .python(&big_mail_script(&sent, &chain.user(PRAXIS), &[ARZT]))
        .await;
    assert!(out.contains("refused: {}"), "{out}");
    let original = std::fs::read(&sent).unwrap();

    let messages = chain.fetch(ARZT).await;
    assert_eq!(messages.len(), 1);
    assert!(messages[0].len() < 1024 * 1024, "the mail data went inline");
    let outer = header_block(&messages[0]);
    assert!(outer.contains("X-KOM-LE-Version: 1.5\r\n"), "{outer}");
    let (delivered, _) = open_as_weber(&messages[0]);
    let att = attachment_in(&delivered);
    assert!(att.link.starts_with(&kas.base_url), "{}", att.link);
    assert!(
        outer.contains(&format!("X-KIM-KAS-Size: {}\r\n", att.size)),
        "{outer}"
    );

    let check = KasCheck::new(&chain);
    let restored = http_kas(&kas.base_url, true)
        .download(&att, ARZT, &check.gate())
        .await
        .unwrap();
    let mut bytes = Vec::new();
    let mut file = restored.file;
    file.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes.len() as u64, restored.len);
    assert_eq!(restored.len, att.size);
    // The processed Client-Mail: the original headers plus the default Dienstkennung,
    // and the body byte for byte.
    let split = original.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let (header, body) = original.split_at(split);
    assert!(bytes.ends_with(body), "body changed");
    let restored_header = String::from_utf8_lossy(&bytes[..bytes.len() - body.len()]);
    let original_header = String::from_utf8_lossy(header);
    for line in original_header.split("\r\n").filter(|l| !l.is_empty()) {
        assert!(restored_header.contains(line), "{line} missing");
    }
    assert!(restored_header.contains("X-KIM-Dienstkennung: KIM-Mail;Default;V1.0\r\n"));
    drop(kas);
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_fail_with_the_code_of_their_cause() {
    let chain = Chain::start(|_| {}).await;
    let kas = start_kas(chain.fd_state.clone()).await;
    let client = http_kas(&kas.base_url, true);
    let check = KasCheck::new(&chain);
    let gate = check.gate();
    let header = b"From: <praxis.schmidt@test.kim.telematik>\r\nMessage-ID: <k@x>\r\n\r\n";
    let body: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut file = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut file, &body).unwrap();
    std::io::Seek::rewind(&mut file).unwrap();
    let recipients = [ARZT.to_string()];
    let uploaded = client
        .upload(KasInput {
            sender: PRAXIS,
            password: PASSWORD,
            recipients: &recipients,
            message_id: "<k@x>",
            header,
            body: file,
            body_len: body.len() as u64,
            server_check: &gate,
        })
        .await
        .unwrap();
    assert_eq!(uploaded.size, (header.len() + body.len()) as u64);
    let att = kim_message::kas::find_attachments(&uploaded.mail)
        .unwrap()
        .remove(0);

    // Not among the recipients (403).
    let err = client.download(&att, PRAXIS, &gate).await.unwrap_err();
    assert!(matches!(err, KasFetchError::Download(_)), "{err:?}");
    assert_eq!(err.code(), 4006);

    // Download 1: correct.
    let ok = client.download(&att, ARZT, &gate).await.unwrap();
    assert_eq!(ok.len, uploaded.size);

    // Download 2: the attachment's hash does not match (4012).
    let mut wrong_hash = att.clone();
    wrong_hash.hash = base64::engine::general_purpose::STANDARD.encode([0u8; 32]);
    let err = client.download(&wrong_hash, ARZT, &gate).await.unwrap_err();
    assert_eq!(err, KasFetchError::HashMismatch);
    assert_eq!(err.code(), 4012);

    // Download 3: the stored blob was altered (4007).
    crate::kas_env::tamper_largest_blob(&chain.dir.path().join("blobs"), 100);
    let err = client.download(&att, ARZT, &gate).await.unwrap_err();
    assert!(matches!(err, KasFetchError::Decrypt(_)), "{err:?}");
    assert_eq!(err.code(), 4007);

    // Download 4: over the KAS's limit of three (4013).
    let err = client.download(&att, ARZT, &gate).await.unwrap_err();
    assert_eq!(err, KasFetchError::TooManyRequests);
    assert_eq!(err.code(), 4013);
    drop(kas);
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_quota_is_answered_521_before_and_after_the_upload() {
    for account_limit in [true, false] {
        let (chain, kas) = kas_chain(account_limit).await;
        set_quota(&chain.fd_state, PRAXIS, 1024 * 1024).await;
        let sent = chain.dir.path().join("sent.eml");
        let out = chain
            .python(&big_mail_script(&sent, &chain.user(PRAXIS), &[ARZT]))
            .await;
        assert!(
            out.contains("error: 521"),
            "getLimits {account_limit}: {out}"
        );
        assert!(chain.fetch(ARZT).await.is_empty());
        drop(kas);
        chain.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_kas_is_answered_451() {
    let (mut chain, kas) = kas_chain(true).await;
    // A KAS that refuses connections.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (upload, _) = http_kas(&format!("https://localhost:{port}"), true).into_seams();
    let cm = chain.start_cm_with(|_| {}, Some(upload)).await;
    chain.cm.replace(cm).unwrap().shutdown().await;
    let sent = chain.dir.path().join("sent.eml");
    let out = chain
        .python(&big_mail_script(&sent, &chain.user(PRAXIS), &[ARZT]))
        .await;
    assert!(out.contains("error: 451"), "{out}");
    assert!(chain.fetch(ARZT).await.is_empty());
    drop(kas);
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_without_consent_to_large_mails_is_dropped_with_4001() {
    let (chain, kas) = kas_chain(true).await;
    let sent = chain.dir.path().join("sent.eml");
    // The HBA's directory entry has version 1.5 without `+`.
    let out = chain
        .python(&big_mail_script(&sent, &chain.user(PRAXIS), &[ARZT, HBA]))
        .await;
    assert!(out.contains("refused: {}"), "{out}");
    assert_eq!(chain.fetch(ARZT).await.len(), 1);
    let dsns = chain.fetch(PRAXIS).await;
    let dsn = dsns
        .iter()
        .map(|m| String::from_utf8_lossy(m).to_string())
        .find(|m| m.contains("X-KIM-Fehlermeldung: 4001"))
        .unwrap_or_else(|| panic!("no DSN with 4001 among {} messages", dsns.len()));
    assert!(dsn.contains(HBA), "{dsn}");

    // Nobody left: 451 (A_19356-06).
    let out = chain
        .python(&big_mail_script(&sent, &chain.user(PRAXIS), &[HBA]))
        .await;
    assert!(out.contains("error: 451"), "{out}");
    drop(kas);
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_mail_that_already_carries_a_kas_part_is_refused_with_451() {
    let (chain, kas) = kas_chain(true).await;
    let sent = chain.dir.path().join("sent.eml");
    // A_22341, found in the spool file beyond the first MiB.
    let script = big_mail_script(&sent, &chain.user(PRAXIS), &[ARZT]).replace(
        "\\r\\n\\r\\n\" + body)",
        "\\r\\n\\r\\n\" + body + b\"--b\\r\\nContent-Disposition: x-kas\\r\\n\\r\\n{}\\r\\n\")",
    );
    assert!(script.contains("x-kas"), "{script}");
    let out = chain.python(&script).await;
    assert!(out.contains("error: 451"), "{out}");
    assert!(chain.fetch(ARZT).await.is_empty());
    drop(kas);
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kas_object_is_deleted_when_the_mta_refuses_the_mail() {
    let (chain, kas) = kas_chain(true).await;
    // In the directory with 1.5+, but without a mailbox at the Fachdienst: the MTA
    // refuses the recipient after the upload.
    crate::kas_env::allow_large_messages(&chain, &[PRAXIS, ARZT, HBA]);
    let sent = chain.dir.path().join("sent.eml");
    let out = chain
        .python(&big_mail_script(&sent, &chain.user(PRAXIS), &[HBA]))
        .await;
    assert!(out.contains("error: 5"), "{out}");
    let stored = chain.fd_state.meta.owner_usage(PRAXIS).await.unwrap();
    assert_eq!(stored, 0, "the KAS object was not deleted");
    drop(kas);
    chain.stop().await;
}

/// A KAS whose certificate comes from a CA the Konnektor does not know (the Clientmodul's
/// trust store has it): VerifyCertificate says INVALID, so nothing is uploaded to it and
/// nothing downloaded from it; the same client uses a KAS the Konnektor accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kas_certificate_the_konnektor_rejects_is_never_used() {
    let chain = Chain::start(|_| {}).await;
    let (stranger, stranger_cas) = crate::harness::stranger_fachdienst().await;
    let good = start_kas(chain.fd_state.clone()).await;
    let bad = crate::kas_env::start_kas_as(chain.fd_state.clone(), stranger).await;
    let mut tls = crate::harness::fachdienst_tls();
    let bundle = crate::harness::pki().ca_bundle_pem().unwrap() + &stranger_cas;
    tls.trust = kim_tls::TrustAnchors::from_pem(bundle.as_bytes()).unwrap();
    let client = |base_url: &str| {
        kim_clientmodul::kas::HttpKas::new(kim_clientmodul::KasSettings::new(base_url), &tls)
            .unwrap()
    };
    let check = KasCheck::new(&chain);
    let gate = check.gate();
    let header = b"From: <praxis.schmidt@test.kim.telematik>\r\nMessage-ID: <c@x>\r\n\r\n";
    let body = vec![b'x'; 100_000];
    let upload = |base_url: String| {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &body).unwrap();
        std::io::Seek::rewind(&mut file).unwrap();
        let recipients = [ARZT.to_string()];
        let client = client(&base_url);
        let (gate, len) = (&gate, body.len() as u64);
        async move {
            client
                .upload(KasInput {
                    sender: PRAXIS,
                    password: PASSWORD,
                    recipients: &recipients,
                    message_id: "<c@x>",
                    header,
                    body: file,
                    body_len: len,
                    server_check: gate,
                })
                .await
        }
    };
    let blobs = chain.dir.path().join("blobs");
    let stored = || crate::kas_env::blob_files(&blobs).len();
    let before = stored();

    let refused = upload(bad.base_url.clone()).await.unwrap_err();
    assert_eq!(refused.code, 451, "{refused:?}");
    assert!(
        format!("{refused:?}").contains("certificate rejected"),
        "{refused:?}"
    );
    assert_eq!(stored(), before, "nothing reached the rejected KAS");

    // The same client configuration with the KAS the Konnektor accepts.
    let uploaded = upload(good.base_url.clone()).await.unwrap();
    let att = kim_message::kas::find_attachments(&uploaded.mail)
        .unwrap()
        .remove(0);
    assert!(stored() > before);

    // Its link moved to the rejected KAS: no download (4006), naming the certificate.
    let mut moved = att.clone();
    moved.link = att.link.replacen(&good.base_url, &bad.base_url, 1);
    assert_ne!(moved.link, att.link);
    let err = client(&good.base_url)
        .download(&moved, ARZT, &gate)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 4006);
    assert!(err.to_string().contains("INVALID"), "{err}");
    let ok = client(&good.base_url)
        .download(&att, ARZT, &gate)
        .await
        .unwrap();
    assert_eq!(ok.len, uploaded.size);
    drop((good, bad));
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_names_the_recipient_and_sends_no_credentials() {
    // The link may name another provider's KAS: readMailData has no authentication
    // besides mutual TLS, so the mailbox password must not travel with it.
    let chain = Chain::start(|_| {}).await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let service = {
        let seen = seen.clone();
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            seen.lock().unwrap().push(request.headers().clone());
            async {
                Ok::<_, std::convert::Infallible>(
                    hyper::Response::builder()
                        .status(404)
                        .body(String::new())
                        .unwrap(),
                )
            }
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = serve_https(listener, crate::harness::identity("fachdienst"), service);
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let att = KimAttachment::parse_json(
        format!(
            r#"{{"link":"{}/attachment/v2.3/attachment/0c7e","k":"{key}","hash":"{key}","size":10}}"#,
            other.base_url
        )
        .as_bytes(),
    )
    .unwrap();
    let check = KasCheck::new(&chain);
    let own = http_kas("https://localhost:9", false);
    let failed = own.download(&att, ARZT, &check.gate()).await.unwrap_err();
    assert!(matches!(failed, KasFetchError::Download(_)), "{failed:?}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "one GET");
    assert_eq!(seen[0].get("recipient").unwrap(), ARZT);
    assert!(seen[0].get("authorization").is_none(), "{:?}", seen[0]);
    drop(other);
    chain.stop().await;
}
