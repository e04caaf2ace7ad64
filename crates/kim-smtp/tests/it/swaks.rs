//! swaks as the client: implicit TLS with client certificate, AUTH PLAIN and LOGIN,
//! pipelining.

use std::process::Command;

use crate::harness::{TestServer, clientmodul_cert, config, pki_files, run, tool};

fn swaks(server: &TestServer, auth: &str, extra: &[&str]) -> Command {
    let files = pki_files();
    let mut command = Command::new(tool("swaks", "swaks"));
    command
        .args(["--server", "localhost", "--port"])
        .arg(server.addr.port().to_string())
        .args(["--tls-on-connect", "--tls-verify", "--tls-ca-path"])
        .arg(&files.ca)
        .arg("--tls-cert")
        .arg(&files.client_cert)
        .arg("--tls-key")
        .arg(&files.client_key)
        .args([
            "--auth",
            auth,
            "--auth-user",
            "bob",
            "--auth-password",
            "hunter2",
        ])
        .args([
            "--from",
            "bob@b.kim.telematik",
            "--to",
            "alice@a.kim.telematik",
        ])
        .args(["--helo", "swaks.test"])
        .args(extra);
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn swaks_tls_auth_plain_pipelined() {
    let server = TestServer::tls(config()).await;
    let output = run(swaks(
        &server,
        "PLAIN",
        &[
            "--pipeline",
            "--header",
            "Subject: swaks plain",
            "--body",
            ".dot line\nsecond",
        ],
    ))
    .await;
    let transcript = String::from_utf8_lossy(&output.stdout);
    assert!(transcript.contains("PIPELINING"), "{transcript}");
    let delivered = server.backend.delivered();
    assert_eq!(delivered.len(), 1);
    let message = &delivered[0];
    assert_eq!(message.client_cert, Some(clientmodul_cert()));
    assert_eq!(message.envelope.auth_user.as_deref(), Some("bob"));
    assert_eq!(message.envelope.helo, "swaks.test");
    let content = String::from_utf8_lossy(&message.content);
    assert!(content.contains("Subject: swaks plain\r\n"), "{content}");
    assert!(content.contains("\r\n.dot line\r\nsecond\r\n"), "{content}");
}

#[tokio::test(flavor = "multi_thread")]
async fn swaks_tls_auth_login() {
    let server = TestServer::tls(config()).await;
    run(swaks(
        &server,
        "LOGIN",
        &["--header", "Subject: swaks login"],
    ))
    .await;
    assert_eq!(server.backend.logins(), ["bob"]);
    assert_eq!(server.backend.delivered().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn swaks_with_wrong_password_is_refused() {
    let server = TestServer::tls(config()).await;
    let mut command = swaks(&server, "PLAIN", &[]);
    command.args(["--auth-password", "wrong"]);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    assert!(!output.status.success());
    let transcript = String::from_utf8_lossy(&output.stdout);
    assert!(transcript.contains("535 5.7.8"), "{transcript}");
    assert!(server.backend.delivered().is_empty());
}
