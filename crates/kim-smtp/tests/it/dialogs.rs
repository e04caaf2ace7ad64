//! Line-level dialogs for the protocol edge cases.

use std::time::Duration;

use kim_smtp::server::SessionError;
use kim_smtp::{Notify, Ret};

use crate::harness::{Raw, TestServer, config, plain_token};

async fn logged_in(server: &TestServer) -> Raw {
    let mut raw = Raw::connect(server).await;
    assert!(raw.command("EHLO client.test").await.starts_with("250-"));
    let reply = raw
        .command(&format!("AUTH PLAIN {}", plain_token("alice", "secret")))
        .await;
    assert_eq!(reply, "235 2.7.0 Authentication successful\r\n");
    raw
}

#[tokio::test]
async fn ehlo_lists_the_extensions() {
    let server = TestServer::plain(config()).await;
    let mut raw = Raw::connect(&server).await;
    let reply = raw.command("EHLO client.test").await;
    assert_eq!(
        reply,
        "250-mx.test.kim.telematik Hello\r\n250-PIPELINING\r\n250-SIZE 33554432\r\n\
250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n"
    );
    assert_eq!(
        raw.command("HELO client.test").await,
        "250 mx.test.kim.telematik Hello\r\n"
    );
    assert_eq!(raw.command("QUIT").await, "221 2.0.0 Bye\r\n");
    raw.expect_closed().await;
    server.next_result().await.unwrap();
}

#[tokio::test]
async fn auth_is_neither_offered_nor_accepted_without_tls_when_required() {
    let mut cfg = config();
    cfg.require_tls_for_auth = true;
    let server = TestServer::plain(cfg).await;
    let mut raw = Raw::connect(&server).await;
    assert!(!raw.command("EHLO client.test").await.contains("AUTH"));
    let reply = raw
        .command(&format!("AUTH PLAIN {}", plain_token("alice", "secret")))
        .await;
    assert!(reply.starts_with("538 5.7.11 "), "{reply}");
    assert!(
        raw.command("MAIL FROM:<a@b.de>")
            .await
            .starts_with("530 5.7.0 ")
    );
}

#[tokio::test]
async fn pipelined_transaction_gets_replies_in_order() {
    let server = TestServer::plain(config()).await;
    let mut raw = logged_in(&server).await;
    raw.send(
        b"MAIL FROM:<alice@a.kim.telematik>\r\nRCPT TO:<bob@b.kim.telematik>\r\n\
RCPT TO:<unknown@b.kim.telematik>\r\nRCPT TO:<carol@b.kim.telematik>\r\nDATA\r\n",
    )
    .await;
    assert_eq!(raw.reply().await, "250 2.1.0 Sender OK\r\n");
    assert_eq!(raw.reply().await, "250 2.1.5 Recipient OK\r\n");
    assert_eq!(raw.reply().await, "550 5.1.1 No such user\r\n");
    assert_eq!(raw.reply().await, "250 2.1.5 Recipient OK\r\n");
    assert!(raw.reply().await.starts_with("354 "));
    raw.send(b"Subject: t\r\n\r\n..dot\r\n.\r\nNOOP\r\nQUIT\r\n")
        .await;
    assert_eq!(raw.reply().await, "250 2.0.0 Queued as 1\r\n");
    assert_eq!(raw.reply().await, "250 2.0.0 OK\r\n");
    assert_eq!(raw.reply().await, "221 2.0.0 Bye\r\n");
    server.next_result().await.unwrap();
    let delivered = server.backend.delivered();
    assert_eq!(delivered.len(), 1);
    let rcpts: Vec<&str> = delivered[0]
        .envelope
        .rcpts
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(rcpts, ["bob@b.kim.telematik", "carol@b.kim.telematik"]);
    assert_eq!(delivered[0].envelope.auth_user.as_deref(), Some("alice"));
    assert_eq!(delivered[0].envelope.helo, "client.test");
    assert_eq!(delivered[0].content, b"Subject: t\r\n\r\n.dot\r\n");
}

#[tokio::test]
async fn sequence_errors_unknown_commands_and_syntax() {
    let mut cfg = config();
    cfg.max_errors = 50;
    let server = TestServer::plain(cfg).await;
    let mut raw = Raw::connect(&server).await;
    assert!(
        raw.command("MAIL FROM:<a@b.de>")
            .await
            .starts_with("503 5.5.1 ")
    );
    assert!(raw.command("AUTH PLAIN").await.starts_with("503 5.5.1 "));
    assert_eq!(
        raw.command("XYZZY").await,
        "500 5.5.1 Command unrecognized\r\n"
    );
    assert!(raw.command("EHLO client.test").await.starts_with("250-"));
    assert!(
        raw.command("RCPT TO:<b@c.de>")
            .await
            .starts_with("503 5.5.1 ")
    );
    assert!(raw.command("DATA").await.starts_with("503 5.5.1 "));
    assert!(
        raw.command("MAIL FROM:<a@b.de>")
            .await
            .starts_with("530 5.7.0 ")
    );
    assert!(
        raw.command(&format!("AUTH PLAIN {}", plain_token("alice", "secret")))
            .await
            .starts_with("235 ")
    );
    assert!(raw.command("AUTH PLAIN").await.starts_with("503 5.5.1 "));
    assert!(raw.command("MAIL FROM:a@b.de").await.starts_with("501 "));
    assert!(raw.command("MAIL FROM:<a@b.de>").await.starts_with("250 "));
    assert!(
        raw.command("MAIL FROM:<a@b.de>")
            .await
            .starts_with("503 5.5.1 ")
    );
    assert!(raw.command("DATA").await.starts_with("554 5.5.1 "));
    assert!(
        raw.command("RCPT TO:<b@c.de> FOO=BAR")
            .await
            .starts_with("555 5.5.4 ")
    );
    assert_eq!(
        raw.command("VRFY alice").await.get(..10),
        Some("252 2.5.0 ")
    );
    assert!(raw.command("HELP").await.starts_with("214 2.0.0 "));
    assert!(raw.command("STARTTLS").await.starts_with("502 5.5.1 "));
    assert!(raw.command("BDAT 10 LAST").await.starts_with("502 5.5.1 "));
    assert_eq!(raw.command("RSET").await, "250 2.0.0 OK\r\n");
    assert!(
        raw.command("RCPT TO:<b@c.de>")
            .await
            .starts_with("503 5.5.1 ")
    );
}

#[tokio::test]
async fn long_command_line_is_refused_without_losing_sync() {
    let server = TestServer::plain(config()).await;
    let mut raw = Raw::connect(&server).await;
    let long = format!("NOOP {}\r\nNOOP\r\n", "x".repeat(5000));
    raw.send(long.as_bytes()).await;
    assert_eq!(raw.reply().await, "500 5.5.2 Line too long\r\n");
    assert_eq!(raw.reply().await, "250 2.0.0 OK\r\n");
    let exactly = format!("NOOP {}", "y".repeat(505));
    assert_eq!(exactly.len() + 2, 512);
    assert_eq!(raw.command(&exactly).await, "250 2.0.0 OK\r\n");
    assert_eq!(
        raw.command(&format!("{exactly}y")).await,
        "500 5.5.2 Line too long\r\n"
    );
}

#[tokio::test]
async fn too_many_errors_close_the_connection() {
    let mut cfg = config();
    cfg.max_errors = 3;
    let server = TestServer::plain(cfg).await;
    let mut raw = Raw::connect(&server).await;
    raw.send(b"A\r\nB\r\nC\r\nD\r\nNOOP\r\n").await;
    for _ in 0..3 {
        assert!(raw.reply().await.starts_with("500 5.5.1"));
    }
    assert_eq!(
        raw.reply().await,
        "421 4.7.0 Too many errors, closing connection\r\n"
    );
    raw.expect_closed().await;
    assert!(matches!(
        server.next_result().await,
        Err(SessionError::TooManyErrors)
    ));
}

#[tokio::test]
async fn auth_plain_with_continuation_login_and_failures() {
    let server = TestServer::plain(config()).await;
    let mut raw = Raw::connect(&server).await;
    raw.command("EHLO client.test").await;
    assert_eq!(raw.command("AUTH PLAIN").await, "334 \r\n");
    assert_eq!(
        raw.command("*").await,
        "501 5.7.0 Authentication cancelled\r\n"
    );
    assert_eq!(raw.command("AUTH PLAIN").await, "334 \r\n");
    assert!(raw.command("%%%").await.starts_with("501 5.5.2 "));
    let wrong = raw
        .command(&format!("AUTH PLAIN {}", plain_token("alice", "wrong")))
        .await;
    assert_eq!(wrong, "535 5.7.8 Authentication credentials invalid\r\n");
    assert!(raw.command("AUTH CRAM-MD5").await.starts_with("504 5.7.4 "));
    assert_eq!(raw.command("AUTH LOGIN").await, "334 VXNlcm5hbWU6\r\n");
    assert_eq!(raw.command("Ym9i").await, "334 UGFzc3dvcmQ6\r\n");
    assert_eq!(
        raw.command("aHVudGVyMg==").await,
        "235 2.7.0 Authentication successful\r\n"
    );
    assert!(raw.command("AUTH LOGIN").await.starts_with("503 5.5.1 "));
    assert_eq!(server.backend.logins(), ["bob"]);
    let mut second = Raw::connect(&server).await;
    second.command("EHLO client.test").await;
    assert_eq!(second.command("AUTH PLAIN").await, "334 \r\n");
    let reply = second.command(&plain_token("alice", "secret")).await;
    assert!(reply.starts_with("235 "), "{reply}");
}

#[tokio::test]
async fn oversized_size_parameter_is_refused_at_mail() {
    let mut cfg = config();
    cfg.max_message_size = 1000;
    let server = TestServer::plain(cfg).await;
    let mut raw = logged_in(&server).await;
    let reply = raw.command("MAIL FROM:<a@b.de> SIZE=1001").await;
    assert_eq!(
        reply,
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    assert!(
        raw.command("MAIL FROM:<a@b.de> SIZE=1000")
            .await
            .starts_with("250 ")
    );
}

#[tokio::test]
async fn oversized_content_is_read_to_the_dot_and_dropped() {
    let mut cfg = config();
    cfg.max_message_size = 1000;
    let server = TestServer::plain(cfg).await;
    let mut raw = logged_in(&server).await;
    raw.command("MAIL FROM:<a@b.de>").await;
    raw.command("RCPT TO:<b@c.de>").await;
    assert!(raw.command("DATA").await.starts_with("354 "));
    let line = format!("{}\r\n", "z".repeat(98));
    raw.send(line.repeat(200).as_bytes()).await;
    raw.send(b".\r\n").await;
    assert_eq!(
        raw.reply().await,
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    // The session is in sync and the next transaction works.
    raw.command("MAIL FROM:<a@b.de>").await;
    raw.command("RCPT TO:<b@c.de>").await;
    raw.command("DATA").await;
    raw.send(line.repeat(10).as_bytes()).await;
    assert!(raw.command(".").await.starts_with("250 "));
    assert_eq!(server.backend.delivered().len(), 1);
    assert_eq!(server.backend.delivered()[0].content.len(), 1000);
    assert_eq!(server.backend.aborted(), 1);
    assert_eq!(server.backend.spool_files(), 0);
}

#[tokio::test]
async fn connection_dropped_mid_data_delivers_nothing() {
    let server = TestServer::plain(config()).await;
    let mut raw = logged_in(&server).await;
    raw.command("MAIL FROM:<a@b.de>").await;
    raw.command("RCPT TO:<b@c.de>").await;
    assert!(raw.command("DATA").await.starts_with("354 "));
    raw.send(b"Subject: half\r\n\r\nsome content\r\n").await;
    drop(raw.into_stream());
    assert!(matches!(
        server.next_result().await,
        Err(SessionError::PeerClosed { in_data: true })
    ));
    assert!(server.backend.delivered().is_empty());
    assert_eq!(server.backend.aborted(), 1);
    assert_eq!(server.backend.spool_files(), 0);
}

#[tokio::test]
async fn dsn_parameters_are_parsed_and_validated() {
    let server = TestServer::plain(config()).await;
    let mut raw = logged_in(&server).await;
    assert_eq!(
        raw.command("MAIL FROM:<a@b.de> RET=FULL").await,
        "555 5.5.4 RET=FULL not supported\r\n"
    );
    assert!(
        raw.command("MAIL FROM:<a@b.de> RET=BOGUS")
            .await
            .starts_with("501 5.5.4 ")
    );
    assert!(
        raw.command("MAIL FROM:<a@b.de> RET=HDRS ENVID=QQ+2B1 SIZE=10 BODY=8BITMIME")
            .await
            .starts_with("250 ")
    );
    assert!(
        raw.command("RCPT TO:<b@c.de> NOTIFY=NEVER,SUCCESS")
            .await
            .starts_with("501 ")
    );
    assert!(
        raw.command("RCPT TO:<b@c.de> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2B1@c.de")
            .await
            .starts_with("250 ")
    );
    assert!(
        raw.command("RCPT TO:<c@c.de> NOTIFY=NEVER")
            .await
            .starts_with("250 ")
    );
    raw.command("DATA").await;
    assert!(raw.command("x\r\n.").await.starts_with("250 "));
    let envelope = &server.backend.delivered()[0].envelope;
    assert_eq!(envelope.mail_from.ret, Some(Ret::Hdrs));
    assert_eq!(envelope.mail_from.envid.as_deref(), Some("QQ+1"));
    assert_eq!(envelope.mail_from.size, Some(10));
    assert_eq!(
        envelope.rcpts[0].notify,
        Notify::On {
            success: true,
            failure: true,
            delay: false
        }
    );
    assert_eq!(envelope.rcpts[0].orcpt.as_deref(), Some("b+1@c.de"));
    assert_eq!(envelope.rcpts[1].notify, Notify::Never);
}

#[tokio::test]
async fn dsn_parameters_refused_when_dsn_is_off() {
    let mut cfg = config();
    cfg.dsn = false;
    let server = TestServer::plain(cfg).await;
    let mut raw = logged_in(&server).await;
    assert!(
        raw.command("MAIL FROM:<a@b.de> ENVID=x")
            .await
            .starts_with("555 5.5.4 ")
    );
    assert!(raw.command("MAIL FROM:<a@b.de>").await.starts_with("250 "));
    assert!(
        raw.command("RCPT TO:<b@c.de> NOTIFY=NEVER")
            .await
            .starts_with("555 5.5.4 ")
    );
}

#[tokio::test]
async fn too_many_recipients() {
    let mut cfg = config();
    cfg.max_recipients = 2;
    let server = TestServer::plain(cfg).await;
    let mut raw = logged_in(&server).await;
    raw.command("MAIL FROM:<a@b.de>").await;
    assert!(raw.command("RCPT TO:<1@c.de>").await.starts_with("250 "));
    assert!(raw.command("RCPT TO:<2@c.de>").await.starts_with("250 "));
    assert_eq!(
        raw.command("RCPT TO:<3@c.de>").await,
        "452 4.5.3 Too many recipients\r\n"
    );
}

#[tokio::test]
async fn idle_client_gets_421_and_is_disconnected() {
    let mut cfg = config();
    cfg.command_timeout = Duration::from_millis(200);
    let server = TestServer::plain(cfg).await;
    let mut raw = Raw::connect(&server).await;
    assert_eq!(
        raw.reply().await,
        "421 4.4.2 Idle timeout, closing connection\r\n"
    );
    raw.expect_closed().await;
    assert!(matches!(
        server.next_result().await,
        Err(SessionError::Timeout)
    ));
}

#[tokio::test]
async fn shutdown_ends_sessions_with_421() {
    let server = TestServer::plain(config()).await;
    let mut raw = Raw::connect(&server).await;
    raw.command("EHLO client.test").await;
    server.shutdown.cancel();
    assert_eq!(
        raw.reply().await,
        "421 4.3.2 Service shutting down, closing connection\r\n"
    );
    assert!(matches!(
        server.next_result().await,
        Err(SessionError::Shutdown)
    ));
}

#[tokio::test]
async fn garbage_never_kills_the_server() {
    let server = TestServer::plain(config()).await;
    let mut raw = Raw::connect(&server).await;
    let mut garbage: Vec<u8> = (0..=255u8).cycle().take(20_000).collect();
    garbage.extend_from_slice(b"\r\n\0\0\r\n\xff\r\n");
    raw.send(&garbage).await;
    drop(raw.into_stream());
    let _ = server.next_result().await;
    let mut again = Raw::connect(&server).await;
    assert!(again.command("NOOP").await.starts_with("250 "));
}

#[tokio::test]
async fn backend_421_closes_the_connection() {
    let server = TestServer::plain(config()).await;
    let mut raw = logged_in(&server).await;
    raw.send(b"MAIL FROM:<a@b.de>\r\nRCPT TO:<overload@c.de>\r\nRCPT TO:<d@c.de>\r\n")
        .await;
    assert!(raw.reply().await.starts_with("250 "));
    assert_eq!(raw.reply().await, "421 4.3.2 Overloaded, closing\r\n");
    raw.expect_closed().await;
    assert!(matches!(
        server.next_result().await,
        Err(SessionError::ServiceClosing)
    ));
}
