//! What the engine logs: commands and outcomes, never passwords, SASL responses or
//! message contents.

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use kim_pop3::{ServerConfig, SessionInfo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend::DirBackend;
use crate::harness::{M1, PASSWORD, USER};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_no_passwords_sasl_responses_or_bodies() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let backend = DirBackend::new(dir.path());
    backend.add_user(USER, PASSWORD);
    backend.deliver(USER, "1", M1);
    let sasl = base64::engine::general_purpose::STANDARD.encode(format!("\0{USER}\0wrong-secret"));
    let (mut client, server_end) = tokio::io::duplex(64 * 1024);
    let info = SessionInfo {
        peer: "127.0.0.1:9".parse().unwrap(),
        tls: false,
        client_cert: None,
    };
    let cfg = ServerConfig::default();
    let dialog = format!(
        "USER {USER}\r\nPASS other-secret\r\nAUTH PLAIN {sasl}\r\nUSER {USER}\r\nPASS {PASSWORD}\r\nRETR 1\r\nQUIT\r\n"
    );
    client.write_all(dialog.as_bytes()).await.unwrap();
    let (result, _) = tokio::join!(kim_pop3::serve(server_end, info, &cfg, &backend), async {
        let mut seen = Vec::new();
        client.read_to_end(&mut seen).await.unwrap();
        seen
    });
    result.unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("POP3 login"), "{logs}");
    assert!(logs.contains("PASS") && logs.contains("RETR"), "{logs}");
    for secret in [
        "other-secret",
        PASSWORD,
        "wrong-secret",
        sasl.as_str(),
        "leading dot",
        "Hello",
    ] {
        assert!(!logs.contains(secret), "{secret:?} in logs:\n{logs}");
    }
}
