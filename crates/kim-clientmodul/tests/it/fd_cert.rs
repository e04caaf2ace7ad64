//! The Fachdienst's server certificate checked at the Konnektor (KOM-LE-A_2075-01,
//! A_22348): cached VALID results, INVALID certificates and an unreachable Konnektor on
//! the SMTP and the POP3 side.

use std::sync::Arc;

use kim_clientmodul::fd_cert::{FachdienstCertCheck, FdCertSettings};
use kim_ti_sim::knobs::{Knob, Operation, Unavailable};
use kim_tls::TrustAnchors;

use crate::harness::{ARZT, Chain, PRAXIS, pki, start_fachdienst_as};
use crate::receive::start_recv;

/// Logs in at the SMTP proxy on `port` with AUTH PLAIN; prints the reply as `AUTH <code>
/// <text>`, then (after 235) sends one mail to ARZT and prints `SENT`.
fn login_and_send(port: u16, user: &str, id: &str) -> String {
    format!(
        r#"
s = smtplib.SMTP('127.0.0.1', {port})
s.ehlo('pvs')
raw = ('\0' + {user:?} + '\0' + password).encode()
code, text = s.docmd('AUTH', 'PLAIN ' + base64.b64encode(raw).decode())
print('AUTH', code, text.decode())
if code == 235:
    msg = b"From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nMessage-ID: <{id}@praxis.test>\r\n\r\nText.\r\n"
    s.sendmail({PRAXIS:?}, [{ARZT:?}], msg)
    print('SENT')
s.quit()
"#
    )
}

/// Logs in at the POP3 proxy on `port`; prints `OK` or `ERR <text>`.
fn pop3_login(port: u16, user: &str) -> String {
    format!(
        r#"
p = poplib.POP3('127.0.0.1', {port})
try:
    p.user({user:?})
    p.pass_(password)
    print('OK')
    p.quit()
except poplib.error_proto as e:
    print('ERR', e.args[0].decode())
"#
    )
}

fn knob_unavailable() -> Knob {
    Knob {
        unavailable: Some(Unavailable::Fault4002),
        ..Knob::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_certificate_is_checked_once_for_many_sessions() {
    let chain = Chain::start(|_| {}).await;
    let user = chain.user(PRAXIS);
    let first = chain
        .python(&login_and_send(chain.cm_port(), &user, "c0"))
        .await;
    assert!(
        first.contains("AUTH 235") && first.contains("SENT"),
        "{first}"
    );
    // From now on the Konnektor refuses VerifyCertificate: only the cache lets sessions in.
    let knobs = chain.konnektor.as_ref().unwrap().knobs();
    knobs.set(Operation::VerifyCertificate, knob_unavailable());
    for i in 1..4 {
        let out = chain
            .python(&login_and_send(chain.cm_port(), &user, &format!("c{i}")))
            .await;
        assert!(out.contains("AUTH 235") && out.contains("SENT"), "{out}");
    }
    assert_eq!(chain.fetch(ARZT).await.len(), 4);
    // A Clientmodul with an empty cache has to ask and is refused.
    let fresh = chain.start_cm(|_| {}).await;
    let out = chain
        .python(&login_and_send(fresh.smtp_addr.port(), &user, "c9"))
        .await;
    assert!(
        out.contains("AUTH 454 4.7.0 Konnektor not available"),
        "{out}"
    );
    assert!(!out.contains("SENT"), "{out}");
    fresh.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_and_receive_share_one_cache() {
    let chain = Chain::start(|_| {}).await;
    let check = Arc::new(FachdienstCertCheck::new(FdCertSettings::default()));
    let shared = check.clone();
    let cm = chain.start_cm(|c| c.fachdienst_cert_check = shared).await;
    let shared = check.clone();
    let recv = start_recv(&chain, |c| c.fachdienst_cert_check = shared).await;
    let out = chain
        .python(&login_and_send(
            cm.smtp_addr.port(),
            &chain.user(PRAXIS),
            "s1",
        ))
        .await;
    assert!(out.contains("SENT"), "{out}");
    let knobs = chain.konnektor.as_ref().unwrap().knobs();
    knobs.set(Operation::VerifyCertificate, knob_unavailable());
    let user = crate::receive::pop3_user(&chain, ARZT);
    let out = chain
        .python(&pop3_login(recv.pop3_addr.port(), &user))
        .await;
    assert_eq!(out.trim(), "OK");
    // Control: a receive side with its own (empty) cache must ask and fails.
    let own = start_recv(&chain, |_| {}).await;
    let out = chain.python(&pop3_login(own.pop3_addr.port(), &user)).await;
    assert!(
        out.starts_with("ERR -ERR [SYS/TEMP] Konnektor not available"),
        "{out}"
    );
    for r in [recv, own] {
        r.shutdown().await;
    }
    cm.shutdown().await;
    chain.stop().await;
}

/// A Fachdienst certificate from a CA the Konnektor does not know: the handshake passes
/// (the Clientmodul trusts that CA too), VerifyCertificate says INVALID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_certificate_aborts_smtp_and_pop3() {
    let chain = Chain::start(|_| {}).await;
    let (identity, stranger_cas) = crate::harness::stranger_fachdienst().await;
    let dir = tempfile::tempdir().unwrap();
    let (other_fd, _) = start_fachdienst_as(&dir, identity).await;
    let bundle = pki().ca_bundle_pem().unwrap() + &stranger_cas;
    let both = TrustAnchors::from_pem(bundle.as_bytes()).unwrap();
    let smtp_user =
        |fd_port: u16| format!("{PRAXIS}#localhost:{fd_port}#Mandant1#ClientID1#Workplace1");
    let trust = both.clone();
    let cm = chain.start_cm(|c| c.fachdienst_tls.trust = trust).await;
    let out = chain
        .python(&login_and_send(
            cm.smtp_addr.port(),
            &smtp_user(other_fd.smtp_addr.port()),
            "i1",
        ))
        .await;
    assert!(
        out.contains("AUTH 454 4.7.0 KIM mail server certificate rejected"),
        "{out}"
    );
    assert!(out.contains("INVALID") && !out.contains("SENT"), "{out}");
    // Control: without the check the same Clientmodul setup reaches that Fachdienst.
    let trust = both.clone();
    let unchecked = chain
        .start_cm(|c| {
            c.fachdienst_tls.trust = trust;
            c.fachdienst_cert_check = Arc::new(FachdienstCertCheck::new(FdCertSettings {
                enabled: false,
                ..FdCertSettings::default()
            }));
        })
        .await;
    let out = chain
        .python(&login_and_send(
            unchecked.smtp_addr.port(),
            &smtp_user(other_fd.smtp_addr.port()),
            "i2",
        ))
        .await;
    assert!(out.contains("AUTH 235") && out.contains("SENT"), "{out}");
    let trust = both.clone();
    let recv = start_recv(&chain, |c| c.fachdienst_tls.trust = trust).await;
    let pop3_user = format!(
        "{ARZT}#localhost:{}#Mandant1#ClientID1#Workplace1",
        other_fd.pop3_addr.port()
    );
    let out = chain
        .python(&pop3_login(recv.pop3_addr.port(), &pop3_user))
        .await;
    assert!(
        out.starts_with("ERR -ERR [SYS/TEMP] KIM mail server certificate rejected"),
        "{out}"
    );
    recv.shutdown().await;
    unchecked.shutdown().await;
    cm.shutdown().await;
    other_fd.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_konnektor_means_no_connection() {
    let mut chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |_| {}).await;
    chain.konnektor.take().unwrap().shutdown().await;
    let out = chain
        .python(&login_and_send(chain.cm_port(), &chain.user(PRAXIS), "k1"))
        .await;
    assert!(
        out.contains("AUTH 454 4.7.0 Konnektor not available"),
        "{out}"
    );
    let user = crate::receive::pop3_user(&chain, ARZT);
    let out = chain
        .python(&pop3_login(recv.pop3_addr.port(), &user))
        .await;
    assert!(
        out.starts_with("ERR -ERR [SYS/TEMP] Konnektor not available"),
        "{out}"
    );
    recv.shutdown().await;
    chain.stop().await;
}
