//! Refusals and partial delivery: user names, pre-AUTH table, unknown recipients (DSN
//! 4004, or 451 when nobody is left), maxMailSize, the MTA's refusal relayed.

use crate::harness::{ARZT, Chain, HBA, PRAXIS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialogue_before_auth_and_user_name_errors() {
    let chain = Chain::start(|_| {}).await;
    let fd_port = chain.user(PRAXIS).split('#').nth(1).unwrap().to_string();
    let out = chain
        .python(&format!(
            r#"
def auth(user):
    raw = ('\0' + user + '\0' + password).encode()
    return s.docmd('AUTH', 'PLAIN ' + base64.b64encode(raw).decode())
s = smtplib.SMTP('127.0.0.1', cm_port)
s.ehlo('pvs')
print('MAIL', s.docmd('MAIL', 'FROM:<{PRAXIS}>'))
print('RCPT', s.docmd('RCPT', 'TO:<{ARZT}>'))
print('DATA', s.docmd('DATA'))
print('NOOP', s.docmd('NOOP'))
print('RSET', s.docmd('RSET'))
print('UNKNOWN', s.docmd('FROBNICATE'))
print('CRAM', s.docmd('AUTH', 'CRAM-MD5'))
print('FEW', auth('{PRAXIS}#{fd_port}#Mandant1'))
print('ADDR', auth('kein-kim@#{fd_port}#Mandant1#ClientID1#Workplace1'))
print('PORT', auth('{PRAXIS}#localhost:99999#Mandant1#ClientID1#Workplace1'))
print('DOWN', auth('{PRAXIS}#localhost:1#Mandant1#ClientID1#Workplace1'))
print('CTX', auth('{PRAXIS}#{fd_port}#Unbekannt#ClientID1#Workplace1'))
print('PW', s.docmd('AUTH', 'PLAIN ' + base64.b64encode(b'\0{PRAXIS}#{fd_port}#Mandant1#ClientID1#Workplace1\0falsch').decode()))
print('OK', auth('{PRAXIS}#{fd_port}#Mandant1#ClientID1#Workplace1'))
print('QUIT', s.docmd('QUIT'))
"#
        ))
        .await;
    let line = |tag: &str| -> String {
        out.lines()
            .find(|l| l.starts_with(&format!("{tag} ")))
            .unwrap_or_else(|| panic!("{tag} in {out}"))
            .to_string()
    };
    assert!(line("MAIL").contains("(530, b'5.7.0"), "{out}");
    // Tab_SMTP_Ant_Init: anything else is `502 5.5.1`.
    assert!(line("UNKNOWN").contains("(502, b'5.5.1"), "{out}");
    assert!(
        line("RCPT").starts_with("RCPT (503") || line("RCPT").contains("(530"),
        "{out}"
    );
    assert!(
        line("DATA").starts_with("DATA (503") || line("DATA").contains("(530"),
        "{out}"
    );
    assert!(line("NOOP").contains("(250"), "{out}");
    assert!(line("RSET").contains("(250"), "{out}");
    assert!(line("CRAM").contains("(504, b'5.7.4"), "{out}");
    assert!(line("FEW").contains("(501, b'5.5.4"), "{out}");
    assert!(line("FEW").contains("too few fields"), "{out}");
    assert!(line("ADDR").contains("(501, b'5.5.4"), "{out}");
    assert!(line("ADDR").contains("KIM address"), "{out}");
    assert!(line("PORT").contains("(501, b'5.5.4"), "{out}");
    assert!(line("DOWN").contains("(454, b'4.7.0"), "{out}");
    assert!(line("CTX").contains("(501, b'5.5.4"), "{out}");
    assert!(line("PW").contains("(535, b'5.7.8"), "{out}");
    assert!(line("OK").contains("(235, b'2.7.0"), "{out}");
    assert!(line("QUIT").contains("(221"), "{out}");
    chain.stop().await;
}

fn mail(to: &[&str], id: &str) -> String {
    format!(
        "From: <{PRAXIS}>\\r\\nTo: {}\\r\\nSubject: Test\\r\\nMessage-ID: <{id}@praxis.test>\\r\\n\\r\\nHallo.\\r\\n",
        to.join(", ")
    )
}

/// Sends one mail with smtplib; prints `OK <refused>` or `ERR <code> <text>`.
fn send_script(user: &str, to: &[&str], id: &str) -> String {
    format!(
        r#"
s = smtplib.SMTP('127.0.0.1', cm_port)
s.login({user:?}, password)
try:
    print('OK', s.sendmail({PRAXIS:?}, {to:?}, b"{msg}"))
except smtplib.SMTPResponseException as e:
    print('ERR', e.smtp_code, e.smtp_error.decode())
s.quit()
"#,
        msg = mail(to, id)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipient_without_directory_entry_is_dropped_with_a_4004_dsn() {
    let chain = Chain::start(|_| {}).await;
    let user = chain.user(PRAXIS);
    let unknown = "niemand@test.kim.telematik";
    let out = chain
        .python(&send_script(&user, &[ARZT, unknown], "partial"))
        .await;
    assert!(out.starts_with("OK {}"), "{out}");
    let received = chain.fetch(ARZT).await;
    assert_eq!(received.len(), 1, "the known recipient got it");
    // A_23174 / KOM-LE-A_2028: the dropped address is gone from To, outside and inside.
    let outer = String::from_utf8_lossy(&received[0]).into_owned();
    assert!(outer.contains(&format!("To: <{ARZT}>\r\n")), "{outer}");
    assert!(!outer.contains(unknown), "{outer}");
    let (inner, _) = crate::send::open_as_weber(&received[0]);
    let inner = String::from_utf8_lossy(&inner);
    assert!(inner.contains(&format!("To: <{ARZT}>\r\n")), "{inner}");
    assert!(!inner.contains(unknown), "{inner}");
    let dsns = chain.fetch(PRAXIS).await;
    assert_eq!(dsns.len(), 1, "one DSN for the sender");
    let dsn = String::from_utf8_lossy(&dsns[0]);
    assert!(dsn.contains("X-KIM-Fehlermeldung: 4004"), "{dsn}");
    assert!(dsn.contains("multipart/report"), "{dsn}");
    assert!(
        dsn.contains(&format!("Final-Recipient: rfc822; {unknown}")),
        "{dsn}"
    );
    assert!(
        !dsn.contains("X-KOM-LE-Version"),
        "a DSN is not sealed: {dsn}"
    );

    // Nobody left: 451, and nothing reaches the Fachdienst.
    let out = chain.python(&send_script(&user, &[unknown], "none")).await;
    assert!(out.starts_with("ERR 451 4.7.5"), "{out}");
    assert!(out.contains(unknown), "{out}");
    assert!(chain.fetch(PRAXIS).await.is_empty());
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mails_above_max_mail_size_get_552_and_the_mta_refusal_is_relayed() {
    let mut chain = Chain::start(|_| {}).await;
    let small = chain.start_cm(|c| c.max_mail_size = 50_000).await;
    let big_port = small.smtp_addr.port();
    let user = chain.user(PRAXIS);
    let out = chain
        .python(&format!(
            r#"
s = smtplib.SMTP('127.0.0.1', {big_port})
s.login({user:?}, password)
body = b"From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nMessage-ID: <big@x>\r\n\r\n" + b"x" * 60000 + b"\r\n"
code, _ = s.docmd('MAIL', 'FROM:<{PRAXIS}>')
s.docmd('RCPT', 'TO:<{ARZT}>')
s.docmd('DATA')
s.send(body + b".\r\n")
print('BIG', s.getreply())
s.quit()
"#
        ))
        .await;
    assert!(out.contains("BIG (552, b'5.3.4"), "{out}");
    small.shutdown().await;

    // In the directory, but no mailbox at the Fachdienst: its RCPT refusal reaches the client.
    let out = chain.python(&send_script(&user, &[HBA], "hba")).await;
    assert!(out.starts_with("ERR 550"), "{out}");
    assert!(chain.fetch(ARZT).await.is_empty());
    chain.cm.take().unwrap().shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outdated_clientmodul_large_mails_without_kas_and_kas_parts() {
    let mut chain = Chain::start(|c| c.kim_version = kim_types::KimVersion::V1_0).await;
    let user = chain.user(PRAXIS);
    // A_21387-01: the directory knows 1.5 for the sender, this Clientmodul only 1.0.
    let out = chain.python(&send_script(&user, &[ARZT], "old")).await;
    assert!(out.starts_with("OK {}"), "{out}");
    assert_eq!(chain.fetch(ARZT).await.len(), 1);
    let dsns = chain.fetch(PRAXIS).await;
    assert_eq!(dsns.len(), 1);
    let dsn = String::from_utf8_lossy(&dsns[0]);
    assert!(dsn.contains("X-KIM-Fehlermeldung: 4017"), "{dsn}");
    chain.cm.take().unwrap().shutdown().await;

    // Above the KAS threshold without a KAS: 451 (A_19363-03), nothing sent.
    chain.cm = Some(chain.start_cm(|c| c.kas_threshold = 10_000).await);
    let out = chain
        .python(&format!(
            r#"
s = smtplib.SMTP('127.0.0.1', cm_port)
s.login({user:?}, password)
body = b"From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nMessage-ID: <large@x>\r\n\r\n" + (b"y" * 70 + b"\r\n") * 300
try:
    s.sendmail({PRAXIS:?}, [{ARZT:?}], body)
    print('OK')
except smtplib.SMTPResponseException as e:
    print('ERR', e.smtp_code, e.smtp_error.decode())
kas = (b"From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nMessage-ID: <kas@x>\r\nContent-Type: text/plain; charset=utf-8\r\n"
       b"Content-Disposition: x-kas\r\n\r\n{{}}\r\n")
try:
    s.sendmail({PRAXIS:?}, [{ARZT:?}], kas)
    print('OK')
except smtplib.SMTPResponseException as e:
    print('ERR', e.smtp_code, e.smtp_error.decode())
s.quit()
"#
        ))
        .await;
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("ERR 451 4.3.0"), "{out}");
    assert!(lines[1].starts_with("ERR 451 4.3.0"), "{out}");
    assert!(lines[1].contains("x-kas"), "{out}");
    assert!(chain.fetch(ARZT).await.is_empty());
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn konnektor_faults_on_sign_and_encrypt_give_451_and_the_session_goes_on() {
    use kim_ti_sim::knobs::{Knob, Operation};
    let chain = Chain::start(|_| {}).await;
    let user = chain.user(PRAXIS);
    let knobs = chain.konnektor.as_ref().unwrap().knobs();
    let script = format!(
        r#"
s = smtplib.SMTP('127.0.0.1', cm_port)
s.login({user:?}, password)
for i in range(3):
    msg = b"From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nMessage-ID: <k%d@x>\r\n\r\nText.\r\n" % i
    try:
        print('OK', s.sendmail({PRAXIS:?}, [{ARZT:?}], msg))
    except smtplib.SMTPResponseException as e:
        print('ERR', e.smtp_code, e.smtp_error.decode())
s.quit()
"#
    );
    // KOM-LE-A_2021 (signing) and KOM-LE-A_2025 (encryption): RSET + 451.
    knobs.set(
        Operation::SignDocument,
        Knob {
            fail_next: 1,
            fail_code: 4126,
            ..Knob::default()
        },
    );
    // Two failures per message: the first attempt and the retry with fresh directory data.
    knobs.set(
        Operation::EncryptDocument,
        Knob {
            fail_next: 4,
            fail_code: 4000,
            ..Knob::default()
        },
    );
    let out = chain.python(&script).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("ERR 451 4.7.0 Signing"), "{out}");
    assert!(lines[1].starts_with("ERR 451 4.7.0 Encryption"), "{out}");
    assert!(lines[2].starts_with("ERR 451 4.7.0 Encryption"), "{out}");
    assert!(chain.fetch(ARZT).await.is_empty());
    // One failure: the retry with fresh directory data delivers.
    knobs.set(
        Operation::EncryptDocument,
        Knob {
            fail_next: 1,
            fail_code: 4000,
            ..Knob::default()
        },
    );
    let out = chain.python(&script).await;
    assert_eq!(out.matches("OK {}").count(), 3, "{out}");
    assert_eq!(chain.fetch(ARZT).await.len(), 3);
    chain.stop().await;
}
