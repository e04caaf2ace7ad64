//! curl as the client: `smtps://` with client certificate and CA check.

use std::process::Command;

use crate::harness::{TestServer, clientmodul_cert, config, pki_files, run, tool};

#[tokio::test(flavor = "multi_thread")]
async fn curl_smtps_with_client_certificate() {
    let mut cfg = config();
    cfg.require_tls_for_auth = true;
    let server = TestServer::tls(cfg).await;
    let files = pki_files();
    let dir = tempfile::tempdir().unwrap();
    let message = dir.path().join("message.eml");
    std::fs::write(&message, "Subject: curl\r\n\r\n.first\r\n..second\r\n").unwrap();
    let mut command = Command::new(tool("curl", "curl"));
    command
        .arg("--silent")
        .arg("--show-error")
        .arg(format!(
            "smtps://localhost:{}/curl.test",
            server.addr.port()
        ))
        .arg("--cacert")
        .arg(&files.ca)
        .arg("--cert")
        .arg(&files.client_cert)
        .arg("--key")
        .arg(&files.client_key)
        .args(["--user", "alice:secret"])
        .args(["--mail-from", "alice@a.kim.telematik"])
        .args(["--mail-rcpt", "bob@b.kim.telematik"])
        .arg("--upload-file")
        .arg(&message);
    run(command).await;
    let delivered = server.backend.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].client_cert, Some(clientmodul_cert()));
    assert_eq!(delivered[0].envelope.helo, "curl.test");
    assert_eq!(delivered[0].envelope.auth_user.as_deref(), Some("alice"));
    assert_eq!(
        delivered[0].content,
        b"Subject: curl\r\n\r\n.first\r\n..second\r\n"
    );
}
