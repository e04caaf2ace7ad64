//! Two Fachdienste relaying to each other over mutual TLS, DSNs, bounces, no open relay.

use std::sync::Arc;
use std::time::Duration;

use kim_fachdienst::mta::{Mta, Role};
use kim_smtp::server::{ListenerConfig, ServerConfig, SessionEnd, accept_loop};
use kim_store::Namespace;
use tokio_util::sync::CancellationToken;

use crate::harness::{Env, PASSWORD, Setup, free_port, tls};

const PRAXIS_A: &str = "praxis@a.kim.telematik";
const ARZT_B: &str = "arzt@b.kim.telematik";

/// A (praxis) and B (arzt), each routing the other's domain to the other's inbound port.
async fn pair() -> (Env, Env) {
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = Setup::new("a.kim.telematik", &[PRAXIS_A]);
    a.inbound_port = port_a;
    a.routes = vec![("b.kim.telematik".into(), format!("localhost:{port_b}"))];
    let mut b = Setup::new("b.kim.telematik", &[ARZT_B]);
    b.inbound_port = port_b;
    b.routes = vec![("*.kim.telematik".into(), format!("localhost:{port_a}"))];
    (Env::start_with(a).await, Env::start_with(b).await)
}

fn send(to: &[&str], mail_options: &str, rcpt_options: &str) -> String {
    format!(
        "s = smtplib.SMTP_SSL('localhost', smtp_port, context=ctx())
s.login({PRAXIS_A:?}, {PASSWORD:?})
msg = 'From: {PRAXIS_A}\\r\\nTo: {to}\\r\\nMessage-ID: <orig-1@a.kim.telematik>\\r\\nSubject: KOM-LE-Nachricht\\r\\n\\r\\nGeheimer Inhalt\\r\\n'
print('refused', s.sendmail({PRAXIS_A:?}, {to_list:?}, msg, mail_options=[{mail_options}], rcpt_options=[{rcpt_options}]))
s.quit()
",
        to = to.join(", "),
        to_list = to,
    )
}

/// Waits (bounded) until the relay queue of `env` is empty.
async fn wait_for_empty_queue(env: &Env) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !env.fd.meta.queue().await.unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "queue not drained");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn relayed_mail_arrives_and_the_success_dsn_comes_back() {
    let (a, b) = pair().await;
    let out = a
        .python(&send(
            &[ARZT_B],
            "'RET=HDRS', 'ENVID=ENV-42'",
            &format!("'NOTIFY=SUCCESS', 'ORCPT=rfc822;{ARZT_B}'"),
        ))
        .await;
    assert!(out.contains("refused {}"), "{out}");

    let at_b = b.wait_for_mail(ARZT_B, 1).await;
    assert!(at_b[0].contains("Geheimer Inhalt"), "{}", at_b[0]);
    let popped = b
        .python(&format!(
            "p = poplib.POP3_SSL('localhost', pop3_port, context=ctx())
p.user({ARZT_B:?}); p.pass_({PASSWORD:?})
print('count', p.stat()[0])
print(b'|'.join(p.retr(1)[1]).decode())
p.quit()
"
        ))
        .await;
    assert!(
        popped.contains("count 1") && popped.contains("Geheimer Inhalt"),
        "{popped}"
    );

    // B reports the delivery to A's sender through B's own relay queue.
    let dsn = &a.wait_for_mail(PRAXIS_A, 1).await[0];
    for needle in [
        "Subject: Zustellbestaetigung\r\n",
        "In-Reply-To: <orig-1@a.kim.telematik>\r\n",
        "report-type=delivery-status",
        "Reporting-MTA: dns; fd.b.kim.telematik\r\n",
        "Original-Envelope-Id: ENV-42\r\n",
        "Arrival-Date: ",
        "Final-Recipient: rfc822; arzt@b.kim.telematik\r\n",
        "Original-Recipient: rfc822; arzt@b.kim.telematik\r\n",
        "Action: delivered\r\n",
        "Content-Type: text/rfc822-headers\r\n",
    ] {
        assert!(dsn.contains(needle), "{needle:?} missing in\n{dsn}");
    }
    assert!(!dsn.contains("Geheimer Inhalt"), "RET=HDRS: headers only");

    // Both queues drained; A keeps only the DSN's blob, B only the delivered message's.
    wait_for_empty_queue(&a).await;
    wait_for_empty_queue(&b).await;
    assert_eq!(a.fd.blobs.list(Namespace::Mail).await.unwrap().len(), 1);
    assert_eq!(b.fd.blobs.list(Namespace::Mail).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_refusal_by_the_peer_bounces_at_once() {
    let (a, b) = pair().await;
    let nobody = "nobody@b.kim.telematik";
    let out = a.python(&send(&[ARZT_B, nobody], "", "")).await;
    assert!(out.contains("refused {}"), "{out}");
    b.wait_for_mail(ARZT_B, 1).await;
    let bounce = &a.wait_for_mail(PRAXIS_A, 1).await[0];
    for needle in [
        "Subject: Unzustellbar\r\n",
        "Final-Recipient: rfc822; nobody@b.kim.telematik\r\n",
        "Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550",
    ] {
        assert!(bounce.contains(needle), "{needle:?} missing in\n{bounce}");
    }
    assert!(
        !bounce.contains("Final-Recipient: rfc822; arzt@"),
        "{bounce}"
    );
    wait_for_empty_queue(&a).await;
}

/// A Fachdienst whose route for `b.kim.telematik` points at a closed port.
async fn with_dead_peer(window: Duration) -> Env {
    let mut a = Setup::new("a.kim.telematik", &[PRAXIS_A]);
    a.routes = vec![(
        "b.kim.telematik".into(),
        format!("localhost:{}", free_port()),
    )];
    a.retry.window = window;
    Env::start_with(a).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_peer_is_retried_with_back_off_and_a_delay_dsn() {
    let a = with_dead_peer(Duration::from_secs(86_400)).await;
    a.python(&send(&[ARZT_B], "", "'NOTIFY=DELAY,FAILURE'"))
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let entry = loop {
        let queue = a.fd.meta.queue().await.unwrap();
        assert_eq!(queue.len(), 1, "one entry per destination domain");
        if queue[0].attempts == 1 {
            break queue[0].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no attempt made");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // First retry 60 s after the failed attempt (fast_retry), not before.
    assert!(entry.next_attempt >= entry.created + 60, "{entry:?}");
    assert!(entry.last_error.is_some(), "{entry:?}");
    assert_eq!(entry.recipients[0].address, ARZT_B);
    // One delay DSN (stored before the entry was updated), no bounce.
    let delayed = &a.wait_for_mail(PRAXIS_A, 1).await[0];
    for needle in [
        "Subject: Zustellung verzoegert\r\n",
        "Final-Recipient: rfc822; arzt@b.kim.telematik\r\n",
        "Action: delayed\r\nStatus: 4.4.1\r\n",
    ] {
        assert!(delayed.contains(needle), "{needle:?} missing in\n{delayed}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_peer_bounces_when_the_window_ends() {
    let a = with_dead_peer(Duration::ZERO).await;
    a.python(&send(&[ARZT_B], "'ENVID=E-7'", "")).await;
    let bounce = &a.wait_for_mail(PRAXIS_A, 1).await[0];
    for needle in [
        "Subject: Unzustellbar\r\n",
        "Original-Envelope-Id: E-7\r\n",
        "Final-Recipient: rfc822; arzt@b.kim.telematik\r\n",
        "Action: failed\r\nStatus: 4.4.7\r\n",
        "In-Reply-To: <orig-1@a.kim.telematik>\r\n",
    ] {
        assert!(bounce.contains(needle), "{needle:?} missing in\n{bounce}");
    }
    wait_for_empty_queue(&a).await;
    // The relayed message's blob is gone; only the bounce is stored.
    assert_eq!(a.fd.blobs.list(Namespace::Mail).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn notify_never_suppresses_the_bounce() {
    let a = with_dead_peer(Duration::ZERO).await;
    a.python(&send(&[ARZT_B], "", "'NOTIFY=NEVER'")).await;
    wait_for_empty_queue(&a).await;
    assert!(a.fd.meta.mailbox(PRAXIS_A).await.unwrap().is_empty());
    assert!(a.fd.blobs.list(Namespace::Mail).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn there_is_no_open_relay() {
    let (a, b) = pair().await;
    let out = a
        .python(&format!(
            "def attempt(name, s, frm, to):
    try:
        s.sendmail(frm, [to], 'From: ' + frm + '\\r\\n\\r\\nx\\r\\n'); print(name, 'accepted')
    except smtplib.SMTPRecipientsRefused as e:
        print(name, list(e.recipients.values())[0][0])
    except smtplib.SMTPSenderRefused as e:
        print(name, e.smtp_code)
s = smtplib.SMTP_SSL('localhost', smtp_port, context=ctx())
attempt('no-auth', s, {PRAXIS_A:?}, {ARZT_B:?})
s.login({PRAXIS_A:?}, {PASSWORD:?})
attempt('unrouted', s, {PRAXIS_A:?}, 'x@example.org')
attempt('routed', s, {PRAXIS_A:?}, {ARZT_B:?})
s.quit()
i = smtplib.SMTP_SSL('localhost', inbound_port, context=ctx())
print('inbound-auth', 'auth' in i.ehlo_resp.decode().lower() if i.ehlo()[0] == 250 else 'x')
attempt('inbound-foreign', i, 'someone@c.kim.telematik', 'x@b.kim.telematik')
attempt('inbound-local', i, 'someone@c.kim.telematik', {PRAXIS_A:?})
attempt('inbound-spoof', i, {PRAXIS_A:?}, {PRAXIS_A:?})
i.quit()
try:
    smtplib.SMTP_SSL('localhost', inbound_port, context=ctx(with_cert=False)).ehlo()
    print('inbound-nocert accepted')
except (ssl.SSLError, ConnectionError, smtplib.SMTPServerDisconnected):
    print('inbound-nocert refused')
"
        ))
        .await;
    for line in [
        "no-auth 530",
        "unrouted 550",
        "routed accepted",
        "inbound-auth False",
        "inbound-foreign 550",
        "inbound-local accepted",
        "inbound-spoof 550",
        "inbound-nocert refused",
    ] {
        assert!(out.contains(line), "{line:?} missing in\n{out}");
    }
    b.wait_for_mail(ARZT_B, 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_without_dsn_gets_the_message_and_the_sender_a_relayed_dsn() {
    // B's store behind an inbound listener that does not offer DSN.
    let b = Env::start_with(Setup::new("b.kim.telematik", &[ARZT_B])).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut cfg = ServerConfig::new("legacy.b.kim.telematik");
    cfg.dsn = false;
    cfg.require_auth = false;
    cfg.auth_mechanisms = Vec::new();
    let stop = CancellationToken::new();
    tokio::spawn(accept_loop(
        listener,
        ListenerConfig::tls(tls()),
        Arc::new(cfg),
        Arc::new(Mta::with_role(b.fd.clone(), Role::Inbound)),
        stop.clone(),
        |_: SessionEnd| {},
    ));
    let mut a = Setup::new("a.kim.telematik", &[PRAXIS_A]);
    a.routes = vec![("b.kim.telematik".into(), format!("localhost:{port}"))];
    let a = Env::start_with(a).await;

    a.python(&send(&[ARZT_B], "'ENVID=R-1'", "'NOTIFY=SUCCESS,FAILURE'"))
        .await;
    b.wait_for_mail(ARZT_B, 1).await;
    let dsn = &a.wait_for_mail(PRAXIS_A, 1).await[0];
    for needle in [
        "Subject: Weitergeleitet\r\n",
        "Original-Envelope-Id: R-1\r\n",
        "Final-Recipient: rfc822; arzt@b.kim.telematik\r\n",
        "Action: relayed\r\nStatus: 2.0.0\r\n",
    ] {
        assert!(dsn.contains(needle), "{needle:?} missing in\n{dsn}");
    }
    wait_for_empty_queue(&a).await;
    stop.cancel();
}
