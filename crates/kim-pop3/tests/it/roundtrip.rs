//! The crate's client against the crate's server over implicit TLS with client certificate.

use kim_pop3::{ClientError, ResponseCode, ServerConfig};
use tokio::io::AsyncReadExt;

use crate::harness::{M1, M3, Mode, OTHER_USER, PASSWORD, Server, USER, connect_tls, m2, pki};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_session_over_mutual_tls() {
    let cfg = ServerConfig {
        implementation: Some("kim-rs test".into()),
        ..ServerConfig::default()
    };
    let mut server = Server::start(Mode::TlsClientCert, cfg).await;
    let mut client = connect_tls(server.addr, true).await;
    assert_eq!(client.greeting(), "POP3 server ready");
    let capa = client.capa().await.unwrap();
    for expected in [
        "TOP",
        "UIDL",
        "USER",
        "SASL PLAIN",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
    ] {
        assert!(capa.iter().any(|c| c == expected), "{expected} in {capa:?}");
    }
    assert!(capa.contains(&"IMPLEMENTATION kim-rs test".to_string()));

    let ok = client.auth_plain(USER, PASSWORD, true).await.unwrap();
    let m2 = m2();
    let total = M1.len() + m2.len() + M3.len();
    assert_eq!(ok, format!("maildrop has 3 messages ({total} octets)"));
    assert_eq!(client.stat().await.unwrap(), (3, total as u64));
    assert_eq!(
        client.list().await.unwrap(),
        vec![
            (1, M1.len() as u64),
            (2, m2.len() as u64),
            (3, M3.len() as u64)
        ]
    );
    assert_eq!(client.list_one(2).await.unwrap(), m2.len() as u64);
    assert_eq!(
        client.uidl().await.unwrap(),
        vec![
            (1, "1-first".into()),
            (2, "2-second".into()),
            (3, "3-third".into())
        ]
    );
    assert_eq!(client.uidl_one(3).await.unwrap(), "3-third");

    // Dot-stuffing round trip, byte-exact, and a multi-chunk message.
    assert_eq!(client.retr(1).await.unwrap().to_vec().await.unwrap(), M1);
    let mut sink = Vec::new();
    assert_eq!(
        client.retr_into(2, &mut sink).await.unwrap(),
        m2.len() as u64
    );
    assert_eq!(sink, m2);
    assert_eq!(client.retr(3).await.unwrap().to_vec().await.unwrap(), M3);
    let top = client.top(1, 2).await.unwrap().to_vec().await.unwrap();
    assert_eq!(
        top,
        b"From: a@test.kim.telematik\r\nSubject: first\r\n\r\nHello\r\n.leading dot\r\n"
    );
    let top = client.top(2, 0).await.unwrap().to_vec().await.unwrap();
    assert_eq!(
        top,
        b"From: b@test.kim.telematik\r\nSubject: second\r\n\r\n"
    );

    // A reader dropped after a few bytes: the next command still works.
    {
        let mut reader = client.retr(2).await.unwrap();
        let mut head = [0u8; 10];
        reader.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"From: b@te");
    }
    assert_eq!(client.noop().await.unwrap(), "");

    // DELE hides the message; RSET brings it back; DELE again and QUIT commits.
    client.dele(1).await.unwrap();
    assert_eq!(
        client.stat().await.unwrap(),
        (2, (m2.len() + M3.len()) as u64)
    );
    let err = client.retr(1).await.map(|_| ()).unwrap_err();
    assert!(
        matches!(&err, ClientError::Negative { code: None, text } if text == "message 1 already deleted"),
        "{err}"
    );
    assert!(client.dele(1).await.is_err());
    assert_eq!(client.list().await.unwrap().len(), 2);
    assert_eq!(client.uidl().await.unwrap()[0], (2, "2-second".into()));
    client.rset().await.unwrap();
    assert_eq!(client.stat().await.unwrap().0, 3);
    client.dele(3).await.unwrap();
    assert_eq!(client.quit().await.unwrap(), "bye, 1 messages deleted");
    server.session_result().await.unwrap();
    assert_eq!(server.backend.stored(USER), vec!["1-first", "2-second"]);
    assert_eq!(server.backend.commits(), 1);
    assert!(!server.backend.is_locked(USER));

    // The backend saw the Clientmodul certificate.
    let clientmodul = &pki()
        .tls_entity("clientmodul")
        .unwrap()
        .issued
        .certificate_der;
    let seen = server.backend.client_certs.lock().unwrap().clone();
    assert_eq!(seen, vec![Some(clientmodul.clone())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_forms_and_refusals() {
    let mut server = Server::start(Mode::Tls, ServerConfig::default()).await;
    let mut client = connect_tls(server.addr, false).await;
    // SASL PLAIN after a continuation, then a second session holding the lock.
    client.auth_plain(USER, PASSWORD, false).await.unwrap();
    let mut second = connect_tls(server.addr, false).await;
    second.user(USER).await.unwrap();
    let err = second.pass(PASSWORD).await.unwrap_err();
    assert_eq!(err.code(), Some(&ResponseCode::InUse), "{err}");
    let err = second.auth_plain(USER, "wrong", true).await.unwrap_err();
    assert_eq!(err.code(), Some(&ResponseCode::Auth), "{err}");
    let err = second
        .auth_plain("locked", "locked", false)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Negative { code: Some(ResponseCode::Auth), text } if text == "account locked"),
        "{err}"
    );
    // The other mailbox is not locked; QUIT without DELE commits nothing.
    second.user(OTHER_USER).await.unwrap();
    assert_eq!(
        second.pass("other").await.unwrap(),
        "maildrop has 0 messages (0 octets)"
    );
    second.quit().await.unwrap();
    server.session_result().await.unwrap();
    client.quit().await.unwrap();
    server.session_result().await.unwrap();
    assert_eq!(server.backend.commits(), 2);
    // After QUIT the lock is free again.
    let mut again = connect_tls(server.addr, false).await;
    again.user(USER).await.unwrap();
    again.pass(PASSWORD).await.unwrap();
    assert_eq!(server.backend.stored(USER).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_pass_can_be_switched_off() {
    let cfg = ServerConfig {
        allow_user_pass: false,
        ..ServerConfig::default()
    };
    let server = Server::start(Mode::Tls, cfg).await;
    let mut client = connect_tls(server.addr, false).await;
    let capa = client.capa().await.unwrap();
    assert!(!capa.iter().any(|c| c == "USER"), "{capa:?}");
    assert!(client.user(USER).await.is_err());
    client.auth_plain(USER, PASSWORD, true).await.unwrap();
    // After login CAPA no longer offers login mechanisms.
    let capa = client.capa().await.unwrap();
    assert!(!capa.iter().any(|c| c.starts_with("SASL")), "{capa:?}");
    assert!(client.auth_plain(USER, PASSWORD, true).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn client_times_out_on_a_server_that_stalls_mid_body() {
    use tokio::io::AsyncWriteExt;
    let (client_end, mut server_end) = tokio::io::duplex(4096);
    server_end
        .write_all(b"+OK hi\r\n+OK 100 octets\r\npartial line\r\n")
        .await
        .unwrap();
    let timeout = std::time::Duration::from_secs(300);
    let mut client = kim_pop3::Pop3Client::connect(client_end, timeout)
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let err = client.retr(1).await.unwrap().to_vec().await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout), "{err}");
    assert_eq!(started.elapsed(), timeout);
    // A status line that is not POP3 is a protocol violation, not a refusal.
    let (client_end, mut server_end) = tokio::io::duplex(4096);
    server_end.write_all(b"* OK IMAP4rev1\r\n").await.unwrap();
    let err = kim_pop3::Pop3Client::connect(client_end, timeout)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Protocol(_)), "{err}");
    drop(server_end);
}

#[tokio::test]
async fn client_debug_output_shows_no_message_bytes() {
    use tokio::io::AsyncWriteExt;
    let (client_end, mut server_end) = tokio::io::duplex(4096);
    server_end
        .write_all(b"+OK hi\r\n+OK 40 octets\r\nSubject: secret diagnosis\r\n\r\nbody\r\n.\r\n")
        .await
        .unwrap();
    let mut client = kim_pop3::Pop3Client::connect(client_end, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let reader = client.retr(1).await.unwrap();
    let debug = format!("{reader:?}");
    assert!(
        debug.contains("Pop3Client") && !debug.contains("diagnosis"),
        "{debug}"
    );
    drop(reader);
    assert!(!format!("{client:?}").contains("diagnosis"));
}
