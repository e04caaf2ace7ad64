//! Property tests: any input to a session ends it cleanly, every byte the server writes
//! belongs to a well-formed reply, and content survives the client's encoder and the
//! server's decoder unchanged.

use kim_smtp::client::DotStuffer;
use kim_smtp::server::decoder::{Decoder, Event};
use kim_smtp::server::{ServerConfig, SessionInfo, serve};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::backend::TestBackend;
use crate::harness::{PATIENCE, config};

fn fragment() -> impl Strategy<Value = Vec<u8>> {
    let fixed: Vec<&'static [u8]> = vec![
        b"EHLO client.test\r\n",
        b"HELO x\r\n",
        b"AUTH PLAIN\r\n",
        b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
        b"AUTH LOGIN\r\n",
        b"YWxpY2U=\r\n",
        b"*\r\n",
        b"MAIL FROM:<a@b.de> SIZE=50 RET=HDRS ENVID=x\r\n",
        b"MAIL FROM:<>\r\n",
        b"RCPT TO:<b@c.de> NOTIFY=SUCCESS ORCPT=rfc822;b@c.de\r\n",
        b"RCPT TO:<unknown@c.de>\r\n",
        b"DATA\r\n",
        b".\r\n",
        b"..\r\n",
        b"\r\n",
        b"\r",
        b"\n",
        b"RSET\r\n",
        b"NOOP\r\n",
        b"BDAT 5 LAST\r\n",
    ];
    prop_oneof![
        4 => proptest::sample::select(fixed).prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => (0usize..1500).prop_map(|n| vec![b'x'; n]),
    ]
}

/// Runs one session over an in-memory stream with `input` from the client, then EOF.
/// Returns everything the server wrote.
async fn session(input: Vec<u8>, cfg: ServerConfig) -> Vec<u8> {
    let (mut client, server) = tokio::io::duplex(4096);
    let backend = TestBackend::new();
    let info = SessionInfo {
        peer: "127.0.0.1:2525".parse().unwrap(),
        tls: false,
        client_cert: None,
    };
    let session = tokio::spawn(async move {
        let _ = serve(server, info, &cfg, &backend, CancellationToken::new()).await;
        backend.spool_files()
    });
    let (mut reader, mut writer) = tokio::io::split(&mut client);
    let write = async {
        // The server may close first (QUIT, too many errors): write errors are expected.
        let _ = writer.write_all(&input).await;
        let _ = writer.shutdown().await;
    };
    let mut output = Vec::new();
    let read = reader.read_to_end(&mut output);
    let (_, read_result) = tokio::time::timeout(PATIENCE, async { tokio::join!(write, read) })
        .await
        .expect("session ends");
    read_result.unwrap();
    let leftover_spools = tokio::time::timeout(PATIENCE, session)
        .await
        .expect("session task ends")
        .expect("session task did not panic");
    assert_eq!(
        leftover_spools, 0,
        "an aborted transaction left its spool file"
    );
    output
}

fn assert_replies_well_formed(output: &[u8]) {
    let text = String::from_utf8(output.to_vec()).expect("replies are UTF-8");
    assert!(text.is_empty() || text.ends_with("\r\n"), "{text:?}");
    for line in text.split_terminator("\r\n") {
        let bytes = line.as_bytes();
        assert!(
            bytes.len() >= 4
                && bytes[..3].iter().all(u8::is_ascii_digit)
                && matches!(bytes[3], b' ' | b'-')
                && !line.contains('\r')
                && !line.contains('\n'),
            "malformed reply line {line:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_input_ends_the_session_with_well_formed_replies(
        fragments in proptest::collection::vec(fragment(), 0..40)
    ) {
        let input: Vec<u8> = fragments.concat();
        let mut cfg = config();
        cfg.require_auth = false;
        cfg.max_message_size = 200;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let output = runtime.block_on(session(input, cfg));
        assert!(output.starts_with(b"220 "));
        assert_replies_well_formed(&output);
    }

    #[test]
    fn content_survives_stuffing_and_unstuffing(
        content in proptest::collection::vec(
            prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), Just(b'a')], 0..200),
        chunk in 1usize..17,
    ) {
        let mut wire = b"DATA\r\n".to_vec();
        let mut stuffer = DotStuffer::new();
        for piece in content.chunks(chunk) {
            stuffer.push(piece, &mut wire);
        }
        stuffer.finish(&mut wire);
        let mut decoder = Decoder::new();
        let mut received = Vec::new();
        let mut ended = false;
        for piece in wire.chunks(chunk) {
            decoder.push(piece);
            while let Some(event) = decoder.next_event() {
                match event {
                    Event::Command(Ok(_)) => decoder.start_data(),
                    Event::Data(bytes) => received.extend(bytes),
                    Event::DataEnd => ended = true,
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        prop_assert!(ended);
        prop_assert_eq!(received, normalise(&content));
    }
}

/// What the encoder promises: bare LF becomes CRLF, the content ends with CRLF.
fn normalise(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut last_cr = false;
    for &byte in content {
        if byte == b'\n' && !last_cr {
            out.push(b'\r');
        }
        out.push(byte);
        last_cr = byte == b'\r';
    }
    if !out.is_empty() && !out.ends_with(b"\n") {
        if last_cr {
            out.push(b'\n');
        } else {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}
