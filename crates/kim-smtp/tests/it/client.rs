//! The crate's client against its server (implicit TLS with client certificate, as
//! between Fachdienste) and against misbehaving peers.

use std::time::Duration;

use kim_smtp::client::{ClientError, SmtpClient};
use kim_smtp::{Body, MailFrom, Notify, RcptTo, Ret};
use kim_tls::ClientOptions;
use kim_tls::tokio_rustls::TlsConnector;
use kim_tls::tokio_rustls::client::TlsStream;
use rustls_pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::harness::{TestServer, clientmodul_cert, config, identity, trust};

const TIMEOUT: Duration = Duration::from_secs(30);

async fn tls_client(server: &TestServer) -> SmtpClient<TlsStream<TcpStream>> {
    let options = ClientOptions {
        trust: trust(),
        identity: Some(identity("clientmodul")),
        danger_accept_any_hostname: false,
    };
    let connector = TlsConnector::from(kim_tls::client_config(options).unwrap());
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let (client, greeting) = SmtpClient::connect(tls, TIMEOUT).await.unwrap();
    assert_eq!(greeting.code, 220);
    client
}

async fn logged_in(server: &TestServer) -> SmtpClient<TlsStream<TcpStream>> {
    let mut client = tls_client(server).await;
    let caps = client.ehlo("fd1.test").await.unwrap();
    assert!(caps.pipelining && caps.dsn && caps.auth_plain && caps.auth_login);
    assert!(caps.size.is_some());
    client.auth_plain("alice", "secret").await.unwrap();
    client
}

fn sender() -> MailFrom {
    MailFrom {
        address: "alice@a.kim.telematik".into(),
        size: Some(100),
        ret: Some(Ret::Hdrs),
        envid: Some("env id+1".into()),
        body: Some(Body::EightBitMime),
    }
}

#[tokio::test]
async fn relay_with_per_recipient_results_and_dsn_forwarding() {
    let server = TestServer::tls(config()).await;
    let mut client = logged_in(&server).await;
    assert_eq!(client.capabilities().size, Some(32 * 1024 * 1024));
    let rcpts = [
        RcptTo {
            address: "bob@b.kim.telematik".into(),
            notify: Notify::On {
                success: true,
                failure: true,
                delay: false,
            },
            orcpt: Some("bob@b.kim.telematik".into()),
        },
        RcptTo::new("unknown@b.kim.telematik"),
        RcptTo::new("full@b.kim.telematik"),
    ];
    let content: &[u8] = b"Subject: relay\n\n.dot\nline\r\n..two";
    let outcome = client.send(&sender(), &rcpts, content).await.unwrap();
    assert!(outcome.accepted());
    assert_eq!(outcome.recipient(0).unwrap().unwrap().code, 250);
    let unknown = outcome.recipient(1).unwrap().unwrap_err();
    assert!(unknown.is_permanent());
    assert_eq!(unknown.enhanced, Some((5, 1, 1)));
    assert!(outcome.recipient(2).unwrap().unwrap_err().is_transient());
    client.quit().await.unwrap();
    server.next_result().await.unwrap();

    let delivered = server.backend.delivered();
    assert_eq!(delivered.len(), 1);
    let message = &delivered[0];
    assert_eq!(
        message.content,
        b"Subject: relay\r\n\r\n.dot\r\nline\r\n..two\r\n"
    );
    assert_eq!(message.client_cert, Some(clientmodul_cert()));
    assert_eq!(message.envelope.mail_from, sender());
    assert_eq!(message.envelope.rcpts, rcpts[..1]);
}

#[tokio::test]
async fn dsn_parameters_are_not_sent_to_a_server_without_dsn() {
    let mut cfg = config();
    cfg.dsn = false;
    let server = TestServer::tls(cfg).await;
    let mut client = tls_client(&server).await;
    assert!(!client.ehlo("fd1.test").await.unwrap().dsn);
    client.auth_plain("alice", "secret").await.unwrap();
    let rcpt = RcptTo {
        address: "bob@b.kim.telematik".into(),
        notify: Notify::Never,
        orcpt: None,
    };
    let outcome = client
        .send(&sender(), &[rcpt], &b"x\r\n"[..])
        .await
        .unwrap();
    assert!(outcome.accepted());
    let envelope = &server.backend.delivered()[0].envelope;
    assert_eq!(envelope.mail_from.ret, None);
    assert_eq!(envelope.mail_from.envid, None);
    assert_eq!(envelope.rcpts[0].notify, Notify::Default);
}

#[tokio::test]
async fn refusals_are_classified_and_the_session_stays_usable() {
    let server = TestServer::tls(config()).await;
    let mut client = tls_client(&server).await;
    client.ehlo("fd1.test").await.unwrap();
    let error = client.auth_plain("alice", "wrong").await.unwrap_err();
    assert!(error.is_permanent(), "{error}");
    let error = client.auth_login("alice", "wrong").await.unwrap_err();
    assert!(matches!(&error, ClientError::Rejected { reply, .. } if reply.code == 535));
    client.auth_login("alice", "secret").await.unwrap();

    let mut refused = sender();
    refused.address = "refused@a.kim.telematik".into();
    let error = client
        .send(&refused, &[RcptTo::new("bob@b.kim.telematik")], &b"x"[..])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Rejected { command: "MAIL FROM", reply } if reply.code == 550)
    );
    assert!(error.is_permanent());

    let outcome = client
        .send(
            &sender(),
            &[RcptTo::new("unknown@b.kim.telematik")],
            &b"x"[..],
        )
        .await
        .unwrap();
    assert!(!outcome.accepted());
    assert_eq!(outcome.data_reply, None);
    assert!(outcome.recipient(0).unwrap().unwrap_err().is_permanent());

    let injected = RcptTo::new("bob@b.kim.telematik>\r\nRCPT TO:<eve@e.de");
    let error = client
        .send(&sender(), &[injected], &b"x"[..])
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::InvalidInput(_)) && error.is_permanent());
    let error = client.send(&sender(), &[], &b"x"[..]).await.unwrap_err();
    assert!(matches!(error, ClientError::InvalidInput(_)));

    let outcome = client
        .send(&sender(), &[RcptTo::new("bob@b.kim.telematik")], &b"y"[..])
        .await
        .unwrap();
    assert!(outcome.accepted());
    client.quit().await.unwrap();
    assert_eq!(server.backend.delivered().len(), 1);
}

#[tokio::test]
async fn oversized_content_is_a_permanent_refusal() {
    let mut cfg = config();
    cfg.max_message_size = 10_000;
    let server = TestServer::tls(cfg).await;
    let mut client = logged_in(&server).await;
    let content = vec![b'a'; 20_000];
    let mut mail = sender();
    mail.size = None;
    let outcome = client
        .send(&mail, &[RcptTo::new("bob@b.kim.telematik")], &content[..])
        .await
        .unwrap();
    let reply = outcome.recipient(0).unwrap().unwrap_err();
    assert_eq!((reply.code, reply.enhanced), (552, Some((5, 3, 4))));
    assert!(server.backend.delivered().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn thirty_mib_message_is_streamed_in_chunks() {
    let server = TestServer::tls(config()).await;
    let mut client = logged_in(&server).await;
    let line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n";
    let content: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(30 * 1024 * 1024)
        .collect();
    let mut mail = sender();
    mail.size = Some(content.len() as u64);
    let outcome = client
        .send(&mail, &[RcptTo::new("bob@b.kim.telematik")], &content[..])
        .await
        .unwrap();
    assert!(outcome.accepted(), "{outcome:?}");
    let delivered = server.backend.delivered();
    let mut expected = content.clone();
    expected.extend_from_slice(b"\r\n");
    assert_eq!(delivered[0].content.len(), expected.len());
    assert!(delivered[0].content == expected);
    assert!(
        server.backend.largest_chunk() <= 64 * 1024,
        "{}",
        server.backend.largest_chunk()
    );
}

#[tokio::test]
async fn dropped_and_silent_servers_are_transient_failures() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut first, _) = listener.accept().await.unwrap();
        first.shutdown().await.unwrap();
        let (_silent, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let error = SmtpClient::connect(tcp, TIMEOUT).await.unwrap_err();
    assert!(
        matches!(error, ClientError::Io(_)) && error.is_transient(),
        "{error}"
    );
    let tcp = TcpStream::connect(addr).await.unwrap();
    let error = SmtpClient::connect(tcp, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Timeout(_)) && error.is_transient(),
        "{error}"
    );
}

/// What the scripted server saw: command lines, raw DATA content, and whether a command
/// arrived together with the next one (pipelined although not offered).
#[derive(Debug, Default)]
struct Script {
    commands: Vec<String>,
    content: Vec<u8>,
    pipelined: bool,
}

/// A one-connection server without PIPELINING and DSN that answers each command only
/// after reading it.
async fn scripted_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<Script>) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut stream = BufReader::new(tcp);
        let mut script = Script::default();
        stream
            .get_mut()
            .write_all(b"220 fake ESMTP\r\n")
            .await
            .unwrap();
        loop {
            let mut line = String::new();
            if stream.read_line(&mut line).await.unwrap() == 0 {
                return script;
            }
            script.pipelined |= !stream.buffer().is_empty();
            let line = line.trim_end().to_string();
            let reply: &[u8] = match line.split(' ').next().unwrap_or("") {
                "EHLO" => b"250-fake\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250 AUTH PLAIN\r\n",
                "AUTH" => b"235 ok\r\n",
                "RCPT" if line.contains("unknown@") => b"550 5.1.1 no\r\n",
                "MAIL" | "RCPT" | "RSET" => b"250 ok\r\n",
                "DATA" => b"354 go\r\n",
                "QUIT" => b"221 bye\r\n",
                _ => b"500 what\r\n",
            };
            let is_data = line == "DATA";
            let is_quit = line == "QUIT";
            script.commands.push(line);
            stream.get_mut().write_all(reply).await.unwrap();
            if is_data {
                loop {
                    let mut content = Vec::new();
                    stream.read_until(b'\n', &mut content).await.unwrap();
                    if content == b".\r\n" {
                        break;
                    }
                    script.content.extend(content);
                }
                stream.get_mut().write_all(b"250 queued\r\n").await.unwrap();
            }
            if is_quit {
                return script;
            }
        }
    });
    (addr, task)
}

#[tokio::test]
async fn without_pipelining_commands_go_one_by_one_and_dsn_is_not_forwarded() {
    let (addr, server) = scripted_server().await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut client, _) = SmtpClient::connect(tcp, TIMEOUT).await.unwrap();
    let caps = client.ehlo("fd1.test").await.unwrap().clone();
    assert!(!caps.pipelining && !caps.dsn && caps.eight_bit_mime);
    assert_eq!(caps.size, Some(1000));
    client.auth_plain("alice", "secret").await.unwrap();
    let rcpts = [
        RcptTo {
            address: "bob@b.kim.telematik".into(),
            notify: Notify::Never,
            orcpt: Some("bob@b.kim.telematik".into()),
        },
        RcptTo::new("unknown@b.kim.telematik"),
    ];
    let outcome = client
        .send(&sender(), &rcpts, &b".dot\nend"[..])
        .await
        .unwrap();
    assert!(outcome.accepted());
    assert_eq!(outcome.recipient(1).unwrap().unwrap_err().code, 550);
    let outcome = client
        .send(&sender(), &rcpts[1..], &b"never sent"[..])
        .await
        .unwrap();
    assert!(!outcome.accepted());
    client.quit().await.unwrap();

    let script = server.await.unwrap();
    assert!(!script.pipelined, "{:?}", script.commands);
    assert_eq!(
        script.commands,
        [
            "EHLO fd1.test",
            "AUTH PLAIN AGFsaWNlAHNlY3JldA==",
            "MAIL FROM:<alice@a.kim.telematik> SIZE=100 BODY=8BITMIME",
            "RCPT TO:<bob@b.kim.telematik>",
            "RCPT TO:<unknown@b.kim.telematik>",
            "DATA",
            "MAIL FROM:<alice@a.kim.telematik> SIZE=100 BODY=8BITMIME",
            "RCPT TO:<unknown@b.kim.telematik>",
            "RSET",
            "QUIT",
        ]
    );
    assert_eq!(script.content, b"..dot\r\nend\r\n");
}

#[tokio::test]
async fn tls_connection_cut_mid_data_aborts_the_transaction() {
    use tokio::io::AsyncReadExt;
    let server = TestServer::tls(config()).await;
    let options = ClientOptions {
        trust: trust(),
        identity: None,
        danger_accept_any_hostname: false,
    };
    let connector = TlsConnector::from(kim_tls::client_config(options).unwrap());
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(
        b"EHLO x\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<a@b.de>\r\nRCPT TO:<c@d.de>\r\nDATA\r\n",
    )
    .await
    .unwrap();
    let mut seen = Vec::new();
    while !seen.windows(4).any(|w| w == b"354 ") {
        let mut chunk = [0u8; 1024];
        let count = tls.read(&mut chunk).await.unwrap();
        assert!(count > 0, "{}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..count]);
    }
    tls.write_all(b"Subject: cut\r\n\r\npart").await.unwrap();
    tls.flush().await.unwrap();
    // Drop the TCP connection without a TLS close_notify.
    drop(tls);
    assert!(matches!(
        server.next_result().await,
        Err(kim_smtp::server::SessionError::PeerClosed { in_data: true })
    ));
    assert!(server.backend.delivered().is_empty());
    assert_eq!(server.backend.aborted(), 1);
    assert_eq!(server.backend.spool_files(), 0);
}
