//! The portal's mailer against relays with implicit TLS and with STARTTLS. The SMTP session
//! after the handshake is kim-smtp's server engine in both cases; for STARTTLS a small front
//! speaks the plain-text prelude (greeting, EHLO, STARTTLS) and then hands the TLS stream to
//! the engine.

use std::sync::Arc;
use std::time::Duration;

use kim_portal::{Mail, MailError, Mailer, Security, Transport};
use kim_smtp::server::{ListenerConfig, ServerConfig, SessionEnd, SessionInfo, accept_loop};
use kim_tls::{ClientAuth, ClientOptions, Identity, TrustAnchors};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

use crate::{Sink, SinkBackend, pki};

fn server_tls() -> Arc<rustls::ServerConfig> {
    let issued = &pki().tls_entity("fachdienst").unwrap().issued;
    let mut chain = vec![issued.certificate_der.clone()];
    chain.extend(issued.chain_der.iter().cloned());
    let identity = Identity::from_der(chain, issued.private_key_pkcs8_der.to_vec()).unwrap();
    kim_tls::server_config(&identity, ClientAuth::None).unwrap()
}

fn client_tls(trusted: bool) -> Arc<rustls::ClientConfig> {
    let trust = if trusted {
        TrustAnchors::from_pem(pki().ca_bundle_pem().unwrap().as_bytes()).unwrap()
    } else {
        // Only a card's AUT certificate: the relay's certificate does not chain to it.
        let card = pki().card(crate::PRAXIS_TID).unwrap();
        let aut = card.aut(kim_testkit::pki::KeyAlgorithm::Rsa2048);
        TrustAnchors::from_der(vec![aut.certificate_der.clone()]).unwrap()
    };
    kim_tls::client_config(ClientOptions {
        trust,
        identity: None,
        danger_accept_any_hostname: false,
    })
    .unwrap()
}

fn mailer(port: u16, security: Security, trusted: bool) -> Mailer {
    Mailer {
        transport: Transport::Smtp {
            host: "localhost".into(),
            port,
            security,
            tls: Some(client_tls(trusted)),
            timeout: Duration::from_secs(10),
        },
        sender: "portal@fd.test.kim.telematik".into(),
        hostname: "fd.test.kim.telematik".into(),
    }
}

fn mail() -> Mail {
    Mail {
        to: "praxis@beispiel.de".into(),
        subject: "Grüße über TLS".into(),
        body: "Inhalt".into(),
    }
}

fn sink_config() -> ServerConfig {
    let mut cfg = ServerConfig::new("relay.example");
    cfg.require_auth = false;
    cfg.auth_mechanisms = Vec::new();
    cfg
}

#[tokio::test(flavor = "multi_thread")]
async fn implicit_tls_relay_gets_the_mail_and_an_untrusted_one_does_not() {
    let sink = Arc::new(Sink::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = CancellationToken::new();
    tokio::spawn(accept_loop(
        listener,
        ListenerConfig::tls(server_tls()),
        Arc::new(sink_config()),
        Arc::new(SinkBackend(sink.clone())),
        stop.clone(),
        |_: SessionEnd| {},
    ));
    mailer(port, Security::Tls, true)
        .send(&mail(), 0)
        .await
        .unwrap();
    let mails = sink.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "praxis@beispiel.de");
    assert_eq!(mails[0].subject(), "Grüße über TLS");
    let err = mailer(port, Security::Tls, false)
        .send(&mail(), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Tls(_)), "{err}");
    stop.cancel();
}

/// A relay offering STARTTLS (or refusing it with 454 when `refuse`).
async fn starttls_relay(sink: Arc<Sink>, refuse: bool) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = listener.accept().await.unwrap();
            let sink = sink.clone();
            tokio::spawn(async move {
                let mut plain = BufReader::new(tcp);
                plain
                    .get_mut()
                    .write_all(b"220 relay.example ESMTP\r\n")
                    .await
                    .unwrap();
                let mut line = String::new();
                plain.read_line(&mut line).await.unwrap();
                assert!(line.starts_with("EHLO "), "{line:?}");
                plain
                    .get_mut()
                    .write_all(b"250-relay.example\r\n250 STARTTLS\r\n")
                    .await
                    .unwrap();
                line.clear();
                plain.read_line(&mut line).await.unwrap();
                assert_eq!(line, "STARTTLS\r\n");
                if refuse {
                    plain
                        .get_mut()
                        .write_all(b"454 4.7.0 TLS not available\r\n")
                        .await
                        .unwrap();
                    return;
                }
                plain
                    .get_mut()
                    .write_all(b"220 2.0.0 go ahead\r\n")
                    .await
                    .unwrap();
                let tls = kim_tls::tokio_rustls::TlsAcceptor::from(server_tls())
                    .accept(plain.into_inner())
                    .await
                    .unwrap();
                // The engine greets first; after STARTTLS the client does not expect a
                // greeting, so it is read off a pipe and the rest is copied through.
                let (engine_side, mut front) = tokio::io::duplex(64 * 1024);
                let backend = SinkBackend(sink);
                let info = SessionInfo {
                    peer,
                    tls: true,
                    client_cert: None,
                };
                tokio::spawn(async move {
                    let _ = kim_smtp::server::serve(
                        engine_side,
                        info,
                        &sink_config(),
                        &backend,
                        CancellationToken::new(),
                    )
                    .await;
                });
                let mut greeting = Vec::new();
                while !greeting.ends_with(b"\r\n") {
                    let mut byte = [0u8; 1];
                    front.read_exact(&mut byte).await.unwrap();
                    greeting.push(byte[0]);
                }
                let mut tls = tls;
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut front).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn starttls_relay_gets_the_mail_and_a_refusal_is_an_error() {
    let sink = Arc::new(Sink::default());
    let port = starttls_relay(sink.clone(), false).await;
    mailer(port, Security::StartTls, true)
        .send(&mail(), 0)
        .await
        .unwrap();
    let mails = sink.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].body(), "Inhalt");

    let refusing = starttls_relay(sink.clone(), true).await;
    let err = mailer(refusing, Security::StartTls, true)
        .send(&mail(), 0)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("STARTTLS refused"), "{err}");
    assert_eq!(
        sink.mails.lock().unwrap().len(),
        1,
        "nothing sent in plain text"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_relay_is_an_error_not_a_hang() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let err = mailer(port, Security::Plain, true)
        .send(&mail(), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Connect { .. }), "{err}");
}
