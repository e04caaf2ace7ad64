//! Python's smtplib as the client: plain SMTP and SMTP_SSL with a client certificate.

use std::process::Command;

use crate::harness::{TestServer, clientmodul_cert, config, pki_files, run, tool};

/// Sends with smtplib: login, DSN options, a body with leading dots and bare LFs.
const SCRIPT: &str = r#"
import smtplib, ssl, sys
mode, port, ca, cert, key = sys.argv[1:6]
body = "Subject: smtplib\n\n.leading dot\nline two\n..two dots\n"
if mode == "ssl":
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    s = smtplib.SMTP_SSL("localhost", int(port), context=ctx)
else:
    s = smtplib.SMTP("127.0.0.1", int(port))
s.ehlo("python.test")
assert s.has_extn("pipelining") and s.has_extn("dsn") and s.has_extn("size")
s.login("alice", "secret")
refused = s.sendmail(
    "alice@a.kim.telematik",
    ["bob@b.kim.telematik", "carol@b.kim.telematik", "unknown@b.kim.telematik"],
    body,
    mail_options=["RET=HDRS", "ENVID=py-1"],
    rcpt_options=["NOTIFY=SUCCESS,FAILURE"],
)
assert list(refused) == ["unknown@b.kim.telematik"], refused
assert refused["unknown@b.kim.telematik"][0] == 550
try:
    s.sendmail("alice@a.kim.telematik", ["unknown@b.kim.telematik"], body)
    raise SystemExit("all recipients refused must raise")
except smtplib.SMTPRecipientsRefused:
    pass
s.quit()
print("ok")
"#;

async fn run_smtplib(mode: &str, server: &TestServer) {
    let files = pki_files();
    let mut command = Command::new(tool("python3", "python3"));
    command
        .arg("-c")
        .arg(SCRIPT)
        .arg(mode)
        .arg(server.addr.port().to_string())
        .arg(&files.ca)
        .arg(&files.client_cert)
        .arg(&files.client_key);
    let output = run(command).await;
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "ok");
}

fn check_delivery(server: &TestServer) -> crate::backend::Delivered {
    let delivered = server.backend.delivered();
    assert_eq!(delivered.len(), 1);
    let message = delivered.into_iter().next().unwrap();
    assert_eq!(
        message.content,
        b"Subject: smtplib\r\n\r\n.leading dot\r\nline two\r\n..two dots\r\n"
    );
    assert_eq!(message.envelope.mail_from.envid.as_deref(), Some("py-1"));
    assert_eq!(message.envelope.rcpts.len(), 2);
    assert_eq!(message.envelope.auth_user.as_deref(), Some("alice"));
    message
}

#[tokio::test(flavor = "multi_thread")]
async fn smtplib_over_plain_tcp() {
    let server = TestServer::plain(config()).await;
    run_smtplib("plain", &server).await;
    let message = check_delivery(&server);
    assert!(!message.tls);
    assert!(message.client_cert.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn smtplib_over_implicit_tls_with_client_certificate() {
    let mut cfg = config();
    cfg.require_tls_for_auth = true;
    let server = TestServer::tls(cfg).await;
    run_smtplib("ssl", &server).await;
    let message = check_delivery(&server);
    assert!(message.tls);
    assert_eq!(message.client_cert, Some(clientmodul_cert()));
}
