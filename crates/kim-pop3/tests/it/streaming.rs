//! RETR of a 30 MiB message in constant memory: the server may run ahead of what the
//! client has received only by its buffers, never by the whole message.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use kim_pop3::{
    AuthError, Maildrop, MaildropError, MessageInfo, Pop3Backend, Pop3Client, ServerConfig,
    SessionInfo,
};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

use crate::harness::WAIT;

/// Just over 30 MiB, whole lines.
const SIZE: u64 = 314_573 * 100;
/// Far below the message size; above the server's chunk, output buffer and the pipe.
const MAX_AHEAD: u64 = 1024 * 1024;

/// Byte `pos` of the generated message: 100-byte CRLF lines that all begin with a dot,
/// so every line is stuffed on the wire.
fn byte_at(pos: u64) -> u8 {
    match pos % 100 {
        0 => b'.',
        98 => b'\r',
        99 => b'\n',
        _ => b'a' + ((pos / 100) % 26) as u8,
    }
}

struct Generated {
    pos: u64,
    produced: Arc<AtomicU64>,
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = (SIZE - self.pos).min(buf.remaining() as u64);
        for i in 0..n {
            buf.put_slice(&[byte_at(self.pos + i)]);
        }
        self.pos += n;
        self.produced.store(self.pos, Ordering::SeqCst);
        Poll::Ready(Ok(()))
    }
}

struct GenBackend {
    produced: Arc<AtomicU64>,
}

struct GenMaildrop {
    messages: Vec<MessageInfo>,
    produced: Arc<AtomicU64>,
}

impl Pop3Backend for GenBackend {
    type Maildrop = GenMaildrop;

    async fn authenticate(
        &self,
        _: &SessionInfo,
        _: &str,
        _: &str,
    ) -> Result<GenMaildrop, AuthError> {
        Ok(GenMaildrop {
            messages: vec![MessageInfo {
                uid: "big".into(),
                size: SIZE,
            }],
            produced: self.produced.clone(),
        })
    }
}

impl Maildrop for GenMaildrop {
    type Reader = Generated;

    fn messages(&self) -> &[MessageInfo] {
        &self.messages
    }

    async fn open(&mut self, _: usize) -> Result<Generated, MaildropError> {
        Ok(Generated {
            pos: 0,
            produced: self.produced.clone(),
        })
    }

    async fn commit(self, _: Vec<usize>) -> Result<(), MaildropError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_mib_retr_streams_in_constant_memory() {
    let produced = Arc::new(AtomicU64::new(0));
    let backend = GenBackend {
        produced: produced.clone(),
    };
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let info = SessionInfo {
        peer: "127.0.0.1:1".parse().unwrap(),
        tls: false,
        client_cert: None,
    };
    let server = tokio::spawn(async move {
        kim_pop3::serve(server_end, info, &ServerConfig::default(), &backend).await
    });
    let mut client = Pop3Client::connect(client_end, WAIT).await.unwrap();
    client.user("u").await.unwrap();
    client.pass("p").await.unwrap();
    let mut reader = client.retr(1).await.unwrap();
    let mut received = 0u64;
    let mut max_ahead = 0u64;
    let mut chunk = vec![0u8; 4096];
    loop {
        let n = reader.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        for (i, &b) in chunk[..n].iter().enumerate() {
            assert_eq!(
                b,
                byte_at(received + i as u64),
                "byte {}",
                received + i as u64
            );
        }
        received += n as u64;
        let ahead = produced.load(Ordering::SeqCst) - received.min(produced.load(Ordering::SeqCst));
        max_ahead = max_ahead.max(ahead);
        assert!(
            ahead <= MAX_AHEAD,
            "server read {ahead} bytes ahead of the client"
        );
    }
    assert_eq!(received, SIZE);
    assert!(max_ahead > 0);
    client.quit().await.unwrap();
    server.await.unwrap().unwrap();
}
