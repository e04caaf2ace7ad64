use kim_store::{BlobStore, FileBlobStore, MailStore, SqliteStore};
use tokio::io::AsyncReadExt;

use crate::harness::{ARZT, Env, PASSWORD, PRAXIS};

fn defs() -> String {
    format!("PRAXIS = {PRAXIS:?}\nARZT = {ARZT:?}\nPW = {PASSWORD:?}\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn submitted_mail_is_retrieved_and_deleted_only_after_quit() {
    let env = Env::start().await;
    let out = env
        .python(&format!(
            "{}\
s = smtplib.SMTP_SSL('localhost', smtp_port, context=ctx())
s.login(PRAXIS, PW)
msg = 'From: Praxis <' + PRAXIS + '>\\r\\nTo: ' + ARZT + '\\r\\nSubject: Befund\\r\\n\\r\\nHallo\\r\\n.leading dot\\r\\n'
print('refused', s.sendmail(PRAXIS, [ARZT], msg))
s.quit()
p = poplib.POP3_SSL('localhost', pop3_port, context=ctx())
p.user(ARZT); p.pass_(PW)
print('count', p.stat()[0])
print('uidl', len(p.uidl()[1]))
resp, lines, octets = p.retr(1)
print('body', b'|'.join(lines).decode())
p.dele(1)
p.sock.close()
p = poplib.POP3_SSL('localhost', pop3_port, context=ctx())
p.user(ARZT); p.pass_(PW)
print('after drop', p.stat()[0])
p.dele(1)
p.quit()
p = poplib.POP3_SSL('localhost', pop3_port, context=ctx())
p.user(ARZT); p.pass_(PW)
print('after quit', p.stat()[0])
p.quit()
",
            defs()
        ))
        .await;
    assert!(out.contains("refused {}"), "{out}");
    assert!(out.contains("count 1"), "{out}");
    assert!(out.contains("uidl 1"), "{out}");
    assert!(out.contains("Subject: Befund||Hallo|.leading dot"), "{out}");
    assert!(out.contains("after drop 1"), "{out}");
    assert!(out.contains("after quit 0"), "{out}");
    // The blob went with the last record.
    assert!(
        env.fd
            .blobs
            .list(kim_store::Namespace::Mail)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn submission_policy_refusals() {
    let env = Env::start().await;
    let out = env
        .python(&format!(
            "{}\
def attempt(name, f):
    try:
        f(); print(name, 'accepted')
    except smtplib.SMTPRecipientsRefused as e:
        print(name, list(e.recipients.values())[0][0])
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError, smtplib.SMTPAuthenticationError) as e:
        print(name, e.smtp_code)
    except (ssl.SSLError, ConnectionError, smtplib.SMTPServerDisconnected) as e:
        print(name, 'tls-refused')
def good():
    return 'From: ' + PRAXIS + '\\r\\nSubject: x\\r\\n\\r\\nx\\r\\n'
s = smtplib.SMTP_SSL('localhost', smtp_port, context=ctx())
attempt('unauthenticated', lambda: s.sendmail(PRAXIS, [ARZT], good()))
s.login(PRAXIS, PW)
attempt('a23421', lambda: s.sendmail(ARZT, [PRAXIS], good()))
s.rset()
attempt('relay', lambda: s.sendmail(PRAXIS, ['x@other.kim.telematik'], good()))
s.rset()
attempt('unknown', lambda: s.sendmail(PRAXIS, ['nobody@test.kim.telematik'], good()))
s.rset()
attempt('forged-from', lambda: s.sendmail(PRAXIS, [ARZT], 'From: chef@test.kim.telematik\\r\\n\\r\\nx\\r\\n'))
attempt('forged-sender', lambda: s.sendmail(PRAXIS, [ARZT], good().replace('Subject', 'Sender: chef@test.kim.telematik\\r\\nSubject')))
attempt('reply-to', lambda: s.sendmail(PRAXIS, [ARZT], good().replace('Subject', 'Reply-To: x@example.com\\r\\nSubject')))
attempt('to-self-without-from', lambda: s.sendmail(PRAXIS, [PRAXIS], 'Subject: note\\r\\n\\r\\nx\\r\\n'))
attempt('ret-full', lambda: s.sendmail(PRAXIS, [ARZT], good(), mail_options=['RET=FULL']))
s.quit()
attempt('no-client-cert', lambda: smtplib.SMTP_SSL('localhost', smtp_port, context=ctx(False)).noop())
",
            defs()
        ))
        .await;
    for expected in [
        "unauthenticated 530",
        "a23421 550",
        "relay 550",
        "unknown 550",
        "forged-from 550",
        "forged-sender 550",
        "reply-to 550",
        "to-self-without-from accepted",
        "ret-full 555",
        "no-client-cert tls-refused",
    ] {
        assert!(
            out.lines().any(|l| l == expected),
            "{expected:?} missing in:\n{out}"
        );
    }
    // Only the message to oneself was delivered.
    assert_eq!(env.fd.meta.mailbox(ARZT).await.unwrap().len(), 0);
    assert_eq!(env.fd.meta.mailbox(PRAXIS).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn third_wrong_password_locks_the_account_for_pop3_and_smtp() {
    let env = Env::start().await;
    let out = env
        .python(&format!(
            "{}\
for i in range(3):
    p = poplib.POP3_SSL('localhost', pop3_port, context=ctx())
    p.user(ARZT)
    try:
        p.pass_('wrong' + str(i)); print('accepted')
    except poplib.error_proto as e:
        print('pop3', e.args[0].decode())
p = poplib.POP3_SSL('localhost', pop3_port, context=ctx())
p.user(ARZT)
try:
    p.pass_(PW); print('correct accepted')
except poplib.error_proto as e:
    print('correct', e.args[0].decode())
s = smtplib.SMTP_SSL('localhost', smtp_port, context=ctx())
try:
    s.login(ARZT, PW); print('smtp accepted')
except smtplib.SMTPAuthenticationError as e:
    print('smtp', e.smtp_code, e.smtp_error.decode())
",
            defs()
        ))
        .await;
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("pop3 -ERR [AUTH]"), "{out}");
    assert!(lines[2].contains("locked"), "{out}");
    assert!(
        lines[3].starts_with("correct -ERR [AUTH]") && lines[3].contains("locked"),
        "{out}"
    );
    assert!(
        lines[4].starts_with("smtp 535") && lines[4].contains("locked"),
        "{out}"
    );
    assert!(env.fd.meta.account(ARZT).await.unwrap().unwrap().locked);
    // The other account is untouched.
    assert!(!env.fd.meta.account(PRAXIS).await.unwrap().unwrap().locked);
}

#[tokio::test(flavor = "multi_thread")]
async fn accepted_mail_survives_a_restart_of_the_storage() {
    let mut env = Env::start().await;
    env.python(&format!(
        "{}\
s = smtplib.SMTP_SSL('localhost', smtp_port, context=ctx())
s.login(PRAXIS, PW)
s.sendmail(PRAXIS, [ARZT], 'From: ' + PRAXIS + '\\r\\nSubject: bleibt\\r\\n\\r\\nInhalt\\r\\n')
s.quit()
",
        defs()
    ))
    .await;
    env.stop().await;
    let meta = SqliteStore::open(&env.dir.path().join("fd.sqlite")).unwrap();
    let blobs = FileBlobStore::open(env.dir.path().join("blobs"), true)
        .await
        .unwrap();
    assert_eq!(kim_store::recover(&meta, &blobs).await.unwrap(), 0);
    let messages = meta.mailbox(ARZT).await.unwrap();
    assert_eq!(messages.len(), 1);
    let mut blob = blobs.open(&messages[0].blob).await.unwrap();
    let mut text = String::new();
    blob.reader.read_to_string(&mut text).await.unwrap();
    assert!(text.contains("Subject: bleibt\r\n\r\nInhalt\r\n"), "{text}");
    assert_eq!(blob.size, messages[0].size);
}

#[tokio::test(flavor = "multi_thread")]
async fn deregistered_account_retrieves_but_neither_sends_nor_receives_and_contract_lock_stops_all()
{
    let env = Env::start().await;
    let mut arzt = env.fd.meta.account(ARZT).await.unwrap().unwrap();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    arzt.state = kim_store::RegState::Deregistered {
        since: now,
        until: now + 30 * 86_400,
    };
    env.fd.meta.update_account(&arzt).await.unwrap();
    let script = format!(
        "{}\
p = poplib.POP3_SSL('localhost', pop3_port, context=ctx())
p.user(ARZT)
try:
    p.pass_(PW); print('pop3 ok'); p.quit()
except poplib.error_proto as e:
    print('pop3', e.args[0].decode())
s = smtplib.SMTP_SSL('localhost', smtp_port, context=ctx())
try:
    s.login(ARZT, PW); print('smtp ok')
except smtplib.SMTPAuthenticationError as e:
    print('smtp', e.smtp_code)
s = smtplib.SMTP_SSL('localhost', smtp_port, context=ctx())
try:
    s.login(PRAXIS, PW)
    s.sendmail(PRAXIS, [ARZT], 'From: ' + PRAXIS + '\\r\\n\\r\\nx\\r\\n'); print('rcpt ok')
except smtplib.SMTPRecipientsRefused as e:
    print('rcpt', list(e.recipients.values())[0][0])
except smtplib.SMTPAuthenticationError as e:
    print('praxis', e.smtp_code)
",
        defs()
    );
    let out = env.python(&script).await;
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["pop3 ok", "smtp 535", "rcpt 550"],
        "{out}"
    );

    // The provider locks the contract: nobody of it logs in any more (manual §3.6).
    let mut contract = env.fd.meta.contract("V-100").await.unwrap().unwrap();
    contract.locked = true;
    env.fd.meta.update_contract(&contract).await.unwrap();
    let out = env.python(&script).await;
    assert!(out.starts_with("pop3 -ERR [AUTH]"), "{out}");
    assert!(out.lines().any(|l| l == "praxis 535"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn local_delivery_with_notify_success_returns_a_dsn_but_none_about_a_dsn() {
    let env = Env::start().await;
    let out = env
        .python(&format!(
            "{}\
s = smtplib.SMTP_SSL('localhost', smtp_port, context=ctx())
s.login(PRAXIS, PW)
msg = 'From: ' + PRAXIS + '\\r\\nMessage-ID: <local-1@test>\\r\\n\\r\\nInhalt\\r\\n'
print('refused', s.sendmail(PRAXIS, [ARZT], msg, mail_options=['RET=HDRS', 'ENVID=L1'],
      rcpt_options=['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;' + ARZT]))
s.sendmail(PRAXIS, [ARZT], 'From: ' + PRAXIS + '\\r\\n\\r\\nno dsn\\r\\n', rcpt_options=['NOTIFY=FAILURE'])
s.quit()
",
            defs()
        ))
        .await;
    assert!(out.contains("refused {}"), "{out}");
    // The DSN is stored before the 250; exactly one, for the NOTIFY=SUCCESS message.
    let dsn = &env.wait_for_mail(PRAXIS, 1).await[0];
    for needle in [
        "Subject: Zustellbestaetigung\r\n",
        "In-Reply-To: <local-1@test>\r\n",
        "Original-Envelope-Id: L1\r\n",
        "Final-Recipient: rfc822; zahnarzt.weber@test.kim.telematik\r\n",
        "Original-Recipient: rfc822; zahnarzt.weber@test.kim.telematik\r\n",
        "Action: delivered\r\nStatus: 2.0.0\r\n",
    ] {
        assert!(dsn.contains(needle), "{needle:?} missing in\n{dsn}");
    }
    assert!(!dsn.contains("Inhalt"));
    env.wait_for_mail(ARZT, 2).await;
}
