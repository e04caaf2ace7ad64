//! Real POP3 clients against the server: python3 poplib (POP3 and POP3_SSL with client
//! certificate), curl (pop3s:// with client certificate) and fetchmail (--ssl, --keep, --flush).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kim_pop3::ServerConfig;
use serde_json::{Value, json};

use crate::harness::{M1, M3, Mode, PASSWORD, Server, USER, m2, pem_files, run};

const POPLIB_SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/peers/poplib_session.py"
);

async fn poplib(server: &Server, mode: &str) -> Value {
    let pem = pem_files();
    let mut args = vec![
        POPLIB_SCRIPT.to_string(),
        "localhost".into(),
        server.addr.port().to_string(),
        mode.into(),
        USER.into(),
        PASSWORD.into(),
    ];
    for path in [&pem.ca, &pem.cert, &pem.key] {
        args.push(path.display().to_string());
    }
    let out = run("python3", args, vec![]).await;
    assert!(
        out.status.success(),
        "poplib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn text(report: &Value, key: &str) -> String {
    report[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {report}"))
        .to_owned()
}

async fn check_poplib_session(mode: Mode, script_mode: &str) {
    let mut server = Server::start(mode, ServerConfig::default()).await;
    let report = poplib(&server, script_mode).await;
    let m2 = m2();
    let total = M1.len() + m2.len() + M3.len();
    assert_eq!(text(&report, "welcome"), "+OK POP3 server ready");
    assert_eq!(
        report["capa"],
        json!([
            "AUTH-RESP-CODE",
            "PIPELINING",
            "RESP-CODES",
            "SASL",
            "TOP",
            "UIDL",
            "USER"
        ])
    );
    assert_eq!(
        text(&report, "pass"),
        format!("+OK maildrop has 3 messages ({total} octets)")
    );
    assert_eq!(report["stat"], json!([3, total]));
    assert_eq!(
        report["list"],
        json!([
            format!("1 {}", M1.len()),
            format!("2 {}", m2.len()),
            format!("3 {}", M3.len())
        ])
    );
    assert_eq!(
        report["uidl"],
        json!(["1 1-first", "2 2-second", "3 3-third"])
    );
    assert_eq!(text(&report, "uidl_2"), "+OK 2 2-second");
    let top = STANDARD.decode(text(&report, "top")).unwrap();
    assert_eq!(
        top,
        b"From: a@test.kim.telematik\r\nSubject: first\r\n\r\nHello\r\n"
    );
    assert_eq!(STANDARD.decode(text(&report, "retr_1")).unwrap(), M1);
    assert_eq!(report["retr_2_lines"], json!(2003));
    assert_eq!(text(&report, "dele_1"), "+OK message 1 deleted");
    assert_eq!(
        text(&report, "retr_deleted"),
        "-ERR message 1 already deleted"
    );
    assert_eq!(
        text(&report, "rset"),
        format!("+OK maildrop has 3 messages ({total} octets)")
    );
    assert_eq!(text(&report, "dele_3"), "+OK message 3 deleted");
    assert_eq!(text(&report, "noop"), "+OK");
    assert_eq!(text(&report, "quit"), "+OK bye, 1 messages deleted");
    server.session_result().await.unwrap();
    assert_eq!(server.backend.stored(USER), vec!["1-first", "2-second"]);
    assert_eq!(server.backend.commits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_poplib_over_plain_tcp() {
    check_poplib_session(Mode::Plain, "plain").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_poplib_over_pop3s_with_client_certificate() {
    check_poplib_session(Mode::TlsClientCert, "tls").await;
}

fn curl_args(server: &Server, pem: &crate::harness::PemFiles, path: &str) -> Vec<String> {
    let port = server.addr.port();
    vec![
        "--silent".into(),
        "--show-error".into(),
        "--max-time".into(),
        "60".into(),
        "--cacert".into(),
        pem.ca.display().to_string(),
        "--cert".into(),
        pem.cert.display().to_string(),
        "--key".into(),
        pem.key.display().to_string(),
        "--resolve".into(),
        format!("localhost:{port}:127.0.0.1"),
        "--user".into(),
        format!("{USER}:{PASSWORD}"),
        format!("pop3s://localhost:{port}/{path}"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_lists_retrieves_and_runs_uidl_over_pop3s() {
    let mut server = Server::start(Mode::TlsClientCert, ServerConfig::default()).await;
    let pem = pem_files();
    let m2 = m2();

    let out = run("curl", curl_args(&server, &pem, ""), vec![]).await;
    assert!(
        out.status.success(),
        "curl LIST: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = format!("1 {}\r\n2 {}\r\n3 {}\r\n", M1.len(), m2.len(), M3.len());
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    server.session_result().await.unwrap();

    let out = run("curl", curl_args(&server, &pem, "1"), vec![]).await;
    assert!(
        out.status.success(),
        "curl RETR: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, M1);
    server.session_result().await.unwrap();

    let mut args = curl_args(&server, &pem, "");
    args.extend(["--request".into(), "UIDL".into()]);
    let out = run("curl", args, vec![]).await;
    assert!(
        out.status.success(),
        "curl UIDL: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1 1-first\r\n2 2-second\r\n3 3-third\r\n"
    );
    server.session_result().await.unwrap();

    // DELE through curl: curl sends DELE then QUIT, which commits.
    let mut args = curl_args(&server, &pem, "3");
    args.extend(["--request".into(), "DELE".into(), "--list-only".into()]);
    let out = run("curl", args, vec![]).await;
    assert!(
        out.status.success(),
        "curl DELE: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.session_result().await.unwrap();
    assert_eq!(server.backend.stored(USER), vec!["1-first", "2-second"]);

    // Without the client certificate the handshake fails.
    let args: Vec<String> = curl_args(&server, &pem, "")
        .into_iter()
        .filter(|a| {
            !a.ends_with("client.pem")
                && !a.ends_with("client.key")
                && a != "--cert"
                && a != "--key"
        })
        .collect();
    let out = run("curl", args, vec![]).await;
    assert!(
        !out.status.success(),
        "curl without client certificate must fail"
    );
    assert!(
        server
            .session_result()
            .await
            .unwrap_err()
            .starts_with("handshake")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetchmail_keep_then_flush_over_pop3s() {
    let mut server = Server::start(Mode::TlsClientCert, ServerConfig::default()).await;
    let pem = pem_files();
    let home = pem.dir.path();
    let rc = home.join("fetchmailrc");
    std::fs::write(
        &rc,
        format!(
            "poll localhost protocol pop3 port {}\n  user \"{USER}\" password \"{PASSWORD}\"\n",
            server.addr.port()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mbox = home.join("delivered.mbox");
    let fetch = |keep: bool| {
        let mut args: Vec<String> = vec![
            "--fetchmailrc".into(),
            rc.display().to_string(),
            "--nodetach".into(),
            "--ssl".into(),
            "--sslcertck".into(),
            "--sslcertfile".into(),
            pem.ca.display().to_string(),
            "--sslcert".into(),
            pem.cert.display().to_string(),
            "--sslkey".into(),
            pem.key.display().to_string(),
            "--auth".into(),
            "password".into(),
            "--mda".into(),
            format!("cat >> {}", mbox.display()),
            "--idfile".into(),
            home.join("fetchids").display().to_string(),
        ];
        args.push(if keep { "--keep" } else { "--flush" }.into());
        let env = vec![("FETCHMAILHOME".to_string(), home.display().to_string())];
        run("fetchmail", args, env)
    };

    let out = fetch(true).await;
    assert!(
        out.status.success(),
        "fetchmail --keep: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    server.session_result().await.unwrap();
    let delivered = std::fs::read(&mbox).unwrap();
    assert!(
        contains(&delivered, b"Subject: first"),
        "first message delivered"
    );
    assert!(
        contains(&delivered, b"line 01999"),
        "second message delivered whole"
    );
    assert!(
        contains(&delivered, b"Subject: empty"),
        "third message delivered"
    );
    assert!(contains(&delivered, b"\n.leading dot"), "un-stuffed");
    assert_eq!(
        server.backend.stored(USER).len(),
        3,
        "--keep deletes nothing"
    );

    // A new message arrives; --flush deletes the three already seen (fetchmail tracks
    // them by UIDL in its idfile), the new one is fetched and deleted.
    server
        .backend
        .deliver(USER, "4-fourth", b"Subject: fourth\r\n\r\nnew\r\n");
    std::fs::remove_file(&mbox).unwrap();
    let out = fetch(false).await;
    assert!(
        out.status.success(),
        "fetchmail --flush: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    server.session_result().await.unwrap();
    let delivered = std::fs::read(&mbox).unwrap();
    assert!(contains(&delivered, b"Subject: fourth"));
    assert!(
        !contains(&delivered, b"Subject: first"),
        "seen messages are not fetched again"
    );
    assert!(
        server.backend.stored(USER).is_empty(),
        "seen and fetched messages are deleted"
    );
    assert_eq!(server.backend.commits(), 2);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
