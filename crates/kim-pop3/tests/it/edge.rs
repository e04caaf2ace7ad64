//! Protocol edge cases over raw TCP: pipelining, long lines, unknown commands, message
//! numbers, connection loss in the middle of RETR, SASL cancel, error limits, shutdown and
//! the idle timeout.

use std::net::SocketAddr;
use std::time::Duration;

use kim_pop3::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{M1, M3, Mode, PASSWORD, Server, USER, WAIT, m2};

struct Raw {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut raw = Raw {
            tcp,
            buf: Vec::new(),
        };
        assert_eq!(raw.line().await, "+OK POP3 server ready");
        raw
    }

    async fn login(addr: SocketAddr) -> Raw {
        let mut raw = Raw::connect(addr).await;
        raw.send(format!("USER {USER}\r\nPASS {PASSWORD}\r\n").as_bytes())
            .await;
        assert_eq!(raw.line().await, "+OK send PASS");
        assert!(raw.line().await.starts_with("+OK maildrop has "));
        raw
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).await.unwrap();
    }

    /// One line without CRLF; panics at EOF.
    async fn line(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..end + 2).collect();
                return String::from_utf8_lossy(&line[..end]).into_owned();
            }
            let n = self.read_more().await;
            assert!(
                n > 0,
                "EOF while waiting for a line; buffer {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        }
    }

    /// Everything until the server closes the connection.
    async fn rest(&mut self) -> String {
        while self.read_more().await > 0 {}
        String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned()
    }

    async fn read_more(&mut self) -> usize {
        let mut chunk = [0u8; 8192];
        let n = tokio::time::timeout(WAIT, self.tcp.read(&mut chunk))
            .await
            .expect("server answers")
            .unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_commands_are_answered_in_order() {
    let mut server = Server::start(Mode::Plain, ServerConfig::default()).await;
    let mut raw = Raw::connect(server.addr).await;
    let m2 = m2();
    let total = M1.len() + m2.len() + M3.len();
    raw.send(
        format!(
            "CAPA\r\nUSER {USER}\r\nPASS {PASSWORD}\r\nSTAT\r\nLIST\r\nUIDL 1\r\nTOP 1 0\r\nRETR 1\r\n\
             DELE 3\r\nSTAT\r\nNOOP\r\nQUIT\r\n"
        )
        .as_bytes(),
    )
    .await;
    let expected = format!(
        "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\nRESP-CODES\r\n\
         AUTH-RESP-CODE\r\nPIPELINING\r\n.\r\n\
         +OK send PASS\r\n+OK maildrop has 3 messages ({total} octets)\r\n+OK 3 {total}\r\n\
         +OK 3 messages ({total} octets)\r\n1 {}\r\n2 {}\r\n3 {}\r\n.\r\n+OK 1 1-first\r\n\
         +OK top of message follows\r\nFrom: a@test.kim.telematik\r\nSubject: first\r\n\r\n.\r\n\
         +OK {} octets\r\nFrom: a@test.kim.telematik\r\nSubject: first\r\n\r\nHello\r\n\
         ..leading dot\r\n...two dots\r\n..\r\nend\r\n.\r\n\
         +OK message 3 deleted\r\n+OK 2 {}\r\n+OK\r\n+OK bye, 1 messages deleted\r\n",
        M1.len(),
        m2.len(),
        M3.len(),
        M1.len(),
        M1.len() + m2.len(),
    );
    assert_eq!(raw.rest().await, expected);
    server.session_result().await.unwrap();
    assert_eq!(server.backend.stored(USER), vec!["1-first", "2-second"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lines_unknown_commands_and_bad_numbers_get_err_and_the_session_goes_on() {
    let cfg = ServerConfig {
        max_bad_commands: 100,
        ..ServerConfig::default()
    };
    let server = Server::start(Mode::Plain, cfg).await;
    let mut raw = Raw::connect(server.addr).await;
    let long = format!("NOOP {}\r\nSTAT\r\n", "x".repeat(5000));
    raw.send(long.as_bytes()).await;
    assert_eq!(raw.line().await, "-ERR line too long");
    assert_eq!(raw.line().await, "-ERR not allowed before login");
    raw.send(b"XYZZY\r\nRETR 1\r\n\r\n").await;
    assert_eq!(raw.line().await, "-ERR unknown command");
    assert_eq!(raw.line().await, "-ERR not allowed before login");
    assert_eq!(raw.line().await, "-ERR empty command");
    raw.send(b"PASS nobody\r\n").await;
    assert_eq!(raw.line().await, "-ERR USER first");
    raw.send(format!("USER {USER}\r\nPASS {PASSWORD}\r\n").as_bytes())
        .await;
    assert_eq!(raw.line().await, "+OK send PASS");
    assert!(raw.line().await.starts_with("+OK maildrop has 3"));
    for (command, answer) in [
        (
            "RETR 0",
            "-ERR no such message, only 3 messages in maildrop",
        ),
        (
            "RETR 999",
            "-ERR no such message, only 3 messages in maildrop",
        ),
        (
            "RETR 4294967295",
            "-ERR no such message, only 3 messages in maildrop",
        ),
        ("RETR 99999999999999999999", "-ERR invalid message number"),
        ("RETR -1", "-ERR invalid message number"),
        ("RETR abc", "-ERR invalid message number"),
        ("TOP 1 x", "-ERR invalid message number"),
        (
            "LIST 0",
            "-ERR no such message, only 3 messages in maildrop",
        ),
        (
            "UIDL 4",
            "-ERR no such message, only 3 messages in maildrop",
        ),
        (
            "DELE 0",
            "-ERR no such message, only 3 messages in maildrop",
        ),
        ("USER x", "-ERR already logged in"),
    ] {
        raw.send(format!("{command}\r\n").as_bytes()).await;
        assert_eq!(raw.line().await, answer, "{command}");
    }
    raw.send(b"STAT\r\n").await;
    assert!(raw.line().await.starts_with("+OK 3 "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_bad_commands_and_failed_logins_close_the_connection() {
    let cfg = ServerConfig {
        max_bad_commands: 2,
        ..ServerConfig::default()
    };
    let mut server = Server::start(Mode::Plain, cfg).await;
    let mut raw = Raw::connect(server.addr).await;
    raw.send(b"A\r\nB\r\nC\r\nNOOP\r\n").await;
    assert_eq!(
        raw.rest().await,
        "-ERR unknown command\r\n-ERR unknown command\r\n\
         -ERR too many invalid commands, closing connection\r\n"
    );
    assert_eq!(
        server.session_result().await.unwrap_err(),
        "too many invalid commands"
    );

    let mut raw = Raw::connect(server.addr).await;
    raw.send(
        format!("USER {USER}\r\nPASS a\r\nUSER {USER}\r\nPASS b\r\nUSER {USER}\r\nPASS c\r\n")
            .as_bytes(),
    )
    .await;
    let rest = raw.rest().await;
    assert_eq!(
        rest.matches("-ERR [AUTH] authentication failed\r\n")
            .count(),
        3,
        "{rest}"
    );
    assert!(server.session_result().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_plain_continuation_cancel_and_garbage() {
    let server = Server::start(Mode::Plain, ServerConfig::default()).await;
    let mut raw = Raw::connect(server.addr).await;
    raw.send(b"AUTH\r\nAUTH CRAM-MD5\r\nAUTH PLAIN\r\n").await;
    assert_eq!(raw.line().await, "+OK SASL mechanisms follow");
    assert_eq!(raw.line().await, "PLAIN");
    assert_eq!(raw.line().await, ".");
    assert_eq!(raw.line().await, "-ERR unsupported SASL mechanism");
    assert_eq!(raw.line().await, "+ ");
    raw.send(b"*\r\n").await;
    assert_eq!(raw.line().await, "-ERR authentication cancelled");
    raw.send(b"AUTH PLAIN not-base64!\r\nAUTH PLAIN =\r\n")
        .await;
    assert_eq!(raw.line().await, "-ERR invalid SASL PLAIN response");
    assert_eq!(raw.line().await, "-ERR invalid SASL PLAIN response");
    // authzid different from authcid: no proxy logins.
    use base64::Engine as _;
    let proxy =
        base64::engine::general_purpose::STANDARD.encode(format!("admin\0{USER}\0{PASSWORD}"));
    raw.send(format!("AUTH PLAIN {proxy}\r\n").as_bytes()).await;
    assert_eq!(raw.line().await, "-ERR invalid SASL PLAIN response");
    let same =
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}\0{USER}\0{PASSWORD}"));
    raw.send(b"AUTH PLAIN\r\n").await;
    assert_eq!(raw.line().await, "+ ");
    raw.send(format!("{same}\r\n").as_bytes()).await;
    assert!(raw.line().await.starts_with("+OK maildrop has 3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_lost_in_the_middle_of_retr_deletes_nothing() {
    let mut server = Server::start(Mode::Plain, ServerConfig::default()).await;
    // A message large enough that the server is still sending when the client goes away.
    let big: Vec<u8> = (0..200_000)
        .flat_map(|i| format!("line {i:07} ..........\r\n").into_bytes())
        .collect();
    server.backend.deliver(USER, "4-big", &big);
    let mut raw = Raw::connect(server.addr).await;
    raw.send(
        format!("USER {USER}\r\nPASS {PASSWORD}\r\nDELE 1\r\nDELE 2\r\nRETR 4\r\n").as_bytes(),
    )
    .await;
    for _ in 0..4 {
        assert!(raw.line().await.starts_with("+OK"));
    }
    assert_eq!(raw.line().await, format!("+OK {} octets", big.len()));
    assert_eq!(raw.line().await, "line 0000000 ..........");
    drop(raw);
    let result = server.session_result().await;
    assert!(result.unwrap_err().starts_with("connection:"));
    assert_eq!(server.backend.commits(), 0);
    assert_eq!(server.backend.stored(USER).len(), 4);
    assert!(!server.backend.is_locked(USER));
    // The mailbox can be opened again right away.
    let mut raw = Raw::login(server.addr).await;
    raw.send(b"QUIT\r\n").await;
    assert_eq!(raw.line().await, "+OK bye, 0 messages deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_login_gets_in_use_and_eof_without_quit_releases_the_lock() {
    let mut server = Server::start(Mode::Plain, ServerConfig::default()).await;
    let mut first = Raw::login(server.addr).await;
    first.send(b"DELE 1\r\n").await;
    assert_eq!(first.line().await, "+OK message 1 deleted");
    let mut second = Raw::connect(server.addr).await;
    second
        .send(format!("USER {USER}\r\nPASS {PASSWORD}\r\n").as_bytes())
        .await;
    assert_eq!(second.line().await, "+OK send PASS");
    assert_eq!(second.line().await, "-ERR [IN-USE] maildrop already locked");
    drop(first);
    server.session_result().await.unwrap();
    assert_eq!(
        server.backend.stored(USER).len(),
        3,
        "no UPDATE without QUIT"
    );
    second
        .send(format!("USER {USER}\r\nPASS {PASSWORD}\r\n").as_bytes())
        .await;
    assert_eq!(second.line().await, "+OK send PASS");
    assert!(second.line().await.starts_with("+OK maildrop has 3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_a_waiting_client_with_sys_temp() {
    let mut server = Server::start(Mode::Plain, ServerConfig::default()).await;
    let mut raw = Raw::login(server.addr).await;
    raw.send(b"DELE 1\r\nNOOP\r\n").await;
    assert_eq!(raw.line().await, "+OK message 1 deleted");
    assert_eq!(raw.line().await, "+OK");
    server.shutdown.cancel();
    assert_eq!(raw.rest().await, "-ERR [SYS/TEMP] server shutting down\r\n");
    server.session_result().await.unwrap();
    assert_eq!(server.backend.stored(USER).len(), 3);
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_ends_the_session_without_update() {
    let dir = tempfile::tempdir().unwrap();
    let backend = crate::backend::DirBackend::new(dir.path());
    backend.add_user(USER, PASSWORD);
    backend.deliver(USER, "1", M1);
    let (mut client, server_end) = tokio::io::duplex(4096);
    let info = kim_pop3::SessionInfo {
        peer: "127.0.0.1:1".parse().unwrap(),
        tls: false,
        client_cert: None,
    };
    let cfg = ServerConfig::default();
    let session = kim_pop3::serve(server_end, info, &cfg, &backend);
    let dialog = async {
        client
            .write_all(format!("USER {USER}\r\nPASS {PASSWORD}\r\nDELE 1\r\n").as_bytes())
            .await
            .unwrap();
        let mut seen = Vec::new();
        client.read_to_end(&mut seen).await.unwrap();
        seen
    };
    let started = tokio::time::Instant::now();
    let (result, seen) = tokio::join!(session, dialog);
    assert!(
        matches!(result, Err(kim_pop3::SessionError::IdleTimeout)),
        "{result:?}"
    );
    assert!(
        String::from_utf8(seen)
            .unwrap()
            .ends_with("+OK message 1 deleted\r\n")
    );
    assert_eq!(started.elapsed(), Duration::from_secs(600));
    assert_eq!(backend.stored(USER), vec!["1"]);
    assert!(!backend.is_locked(USER));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_failures_map_to_sys_temp() {
    let mut server = Server::start(Mode::Plain, ServerConfig::default()).await;
    let mut raw = Raw::login(server.addr).await;
    // The stored files vanish behind the session's back.
    let dir = server.backend.mailbox_dir(USER);
    std::fs::remove_file(dir.join("2-second")).unwrap();
    std::fs::remove_file(dir.join("3-third")).unwrap();
    raw.send(b"RETR 2\r\nTOP 2 0\r\nDELE 3\r\nRETR 1\r\n").await;
    assert_eq!(raw.line().await, "-ERR [SYS/TEMP] message cannot be read");
    assert_eq!(raw.line().await, "-ERR [SYS/TEMP] message cannot be read");
    assert_eq!(raw.line().await, "+OK message 3 deleted");
    assert_eq!(raw.line().await, format!("+OK {} octets", M1.len()));
    raw.send(b"QUIT\r\n").await;
    let rest = raw.rest().await;
    assert!(
        rest.ends_with(".\r\n-ERR [SYS/TEMP] some deleted messages not removed\r\n"),
        "{rest}"
    );
    let result = server.session_result().await.unwrap_err();
    assert!(result.starts_with("backend: maildrop I/O"), "{result}");
    assert!(!server.backend.is_locked(USER));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_long_sasl_response_is_refused_and_the_session_resyncs() {
    let server = Server::start(Mode::Plain, ServerConfig::default()).await;
    let mut raw = Raw::connect(server.addr).await;
    raw.send(format!("AUTH PLAIN\r\n{}\r\nNOOP\r\n", "A".repeat(3000)).as_bytes())
        .await;
    assert_eq!(raw.line().await, "+ ");
    assert_eq!(raw.line().await, "-ERR line too long");
    assert_eq!(raw.line().await, "-ERR not allowed before login");
}
