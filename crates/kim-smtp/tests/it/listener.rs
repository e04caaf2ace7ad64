//! The accept loop: TLS handshake bound, session limit, graceful stop.

use std::time::Duration;

use std::sync::Arc;

use kim_smtp::server::{ListenerConfig, SessionEnd, SessionError, accept_loop};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::backend::TestBackend;
use crate::harness::{PATIENCE, Raw, TestServer, config, tls_config};

#[tokio::test]
async fn silent_tls_client_is_dropped_after_the_handshake_timeout() {
    let mut listen = ListenerConfig::tls(tls_config());
    listen.handshake_timeout = Duration::from_millis(200);
    let server = TestServer::start(config(), listen).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let result = server.next_result().await;
    assert!(
        matches!(result, Err(SessionError::Handshake(_))),
        "{result:?}"
    );
    let mut buf = [0u8; 16];
    assert_eq!(tcp.read(&mut buf).await.unwrap_or(0), 0);
}

#[tokio::test]
async fn plain_client_on_the_tls_port_fails_the_handshake() {
    let server = TestServer::tls(config()).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut tcp, b"EHLO plain.test\r\n")
        .await
        .unwrap();
    assert!(matches!(
        server.next_result().await,
        Err(SessionError::Handshake(_))
    ));
}

#[tokio::test]
async fn sessions_beyond_the_limit_wait_for_a_free_slot() {
    let mut listen = ListenerConfig::plain();
    listen.max_sessions = 1;
    let server = TestServer::start(config(), listen).await;
    let mut first = Raw::connect(&server).await;
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    let mut buf = [0u8; 64];
    // Not served while the first session runs (the greeting would come at once).
    let early = tokio::time::timeout(Duration::from_millis(300), second.read(&mut buf)).await;
    assert!(early.is_err(), "second session served beyond the limit");
    assert!(first.command("QUIT").await.starts_with("221 "));
    let count = tokio::time::timeout(PATIENCE, second.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(buf[..count].starts_with(b"220 "));
}

#[tokio::test]
async fn stop_lets_sessions_say_goodbye_then_returns() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let ended = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = ended.clone();
    let accept = tokio::spawn(accept_loop(
        listener,
        ListenerConfig::plain(),
        Arc::new(config()),
        Arc::new(TestBackend::new()),
        shutdown.clone(),
        move |end: SessionEnd| record.lock().unwrap().push(end.result),
    ));
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 256];
    let count = tcp.read(&mut buf).await.unwrap();
    assert!(buf[..count].starts_with(b"220 "));
    shutdown.cancel();
    tokio::time::timeout(PATIENCE, accept)
        .await
        .expect("accept loop returns")
        .unwrap();
    let results: Vec<_> = std::mem::take(&mut *ended.lock().unwrap());
    assert!(
        matches!(results.as_slice(), [Err(SessionError::Shutdown)]),
        "{results:?}"
    );
    let count = tcp.read(&mut buf).await.unwrap();
    assert!(buf[..count].starts_with(b"421 4.3.2 "));
}
